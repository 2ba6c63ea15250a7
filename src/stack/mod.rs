//! Stack files: loading, interpolation, validation, into the resolved [`Stack`].
//!
//! Only this module knows serde_yaml; nothing here talks to Docker.

mod model;

pub use model::*;
