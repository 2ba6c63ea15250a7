//! devstack: a data engineer's local stack from one Compose-compatible file.

pub mod engine;
pub mod model;
pub mod plan;
pub mod stack;
