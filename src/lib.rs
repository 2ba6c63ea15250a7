//! devstack: a data engineer's local stack from one Compose-compatible file.

pub mod airflow;
pub mod app;
pub mod build;
pub mod capped;
pub mod cli;
pub mod commands;
pub mod doctor;
pub mod engine;
pub mod exec;
pub mod init;
pub mod logs;
pub mod mask;
pub mod model;
pub mod ops;
pub mod plan;
pub mod runs;
pub mod stack;
pub mod tui;
pub mod watch;
