//! Container output held for viewing: bounded per-service rings, merged views, search
//! and filter, plus the text helpers views need (escapes, wrap math, JSON lines) and the
//! one rule for showing text devstack did not write ([`sanitize`]).
//!
//! No I/O, no terminal, no Docker: the engine sends [`crate::model::LogLine`] batches in,
//! the TUI reads views out.

pub mod ansi;
pub mod matcher;
pub mod sanitize;
mod store;
pub mod structured;
pub mod wrap;

#[cfg(test)]
mod tests;

pub use matcher::{Matcher, PatternError};
pub use sanitize::escape_controls;
pub use store::{
    Backward, Forward, LineKey, LineKind, LineRef, Scope, ServiceIdx, ServiceStats, Store,
    StoreConfig, View,
};
