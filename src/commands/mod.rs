//! What each subcommand does, over the library: load the stack, plan, drive the engine.

pub mod output;
