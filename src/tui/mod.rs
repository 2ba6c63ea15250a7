//! The terminal UI: state, update, keymap, views, terminal guard.
//!
//! Elm-shaped: the app loop owns one [`AppState`], feeds every input to [`update`] as an
//! [`Event`], performs the [`Command`]s it returns, and calls [`render`] when the state
//! is dirty. Nothing here talks to Docker or awaits; only `terminal` touches the tty.

pub mod airflow;
pub mod doctor;
mod fixture;
pub mod keymap;
pub mod runs;
pub mod snapshot;
pub mod state;
pub mod terminal;
#[cfg(test)]
mod tests;
pub mod update;
pub mod views;

pub use keymap::Action;
pub use state::{
    About, AppState, EndpointKind, EndpointRow, Focus, Mode, PendingAction, Scroll, ServiceRow,
    ServiceSeed, Status, UpState, VolumeUse,
};
pub use terminal::TerminalGuard;
pub use update::{Command, Event, quit_message, update};
pub use views::render;
