//! devstack: a data engineer's local stack from one Compose-compatible file.

pub mod logs;
pub mod model;
pub mod plan;
pub mod stack;
pub mod tui;
