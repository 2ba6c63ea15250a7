//! The use cases: what devstack does, called alike by the CLI (`commands`) and the UI
//! loop (`app`) — bring a stack up (`bring_up`), reset its data (`reset`), act on saves
//! (`live`), start/stop/restart services (`lifecycle`), pick a console (`session`),
//! word its endpoints (`endpoints`), run a job once and keep its run history (`runs`),
//! and reach Airflow (`airflow`).
//!
//! Each takes a loaded `Stack` and an `Engine` and reports progress as `EngineEvent`s on
//! a channel; none prints, reads stdin or knows a terminal. It must not import `cli`,
//! `commands`, `app` or `tui`: those sit above it.

pub mod airflow;
pub mod bring_up;
pub mod database;
pub mod doctor;
pub mod endpoints;
pub mod lifecycle;
pub mod live;
pub mod reset;
pub mod runs;
pub mod session;
pub mod snapshot;
pub mod timings;

use std::path::{Path, PathBuf};

use crate::engine;
use crate::model::ServiceName;
use crate::stack::{self, Stack};

/// Why a use case (or the command around it) failed; `main` prints the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Stack(#[from] stack::Error),
    #[error(transparent)]
    Engine(#[from] engine::Error),
    #[error(transparent)]
    Init(#[from] crate::init::Error),
    #[error(transparent)]
    Exec(#[from] crate::exec::Error),
    #[error(transparent)]
    Watch(#[from] crate::watch::Error),
    #[error(transparent)]
    Airflow(#[from] crate::airflow::Error),
    #[error("no service '{name}' in the stack; services: {}", .known.join(", "))]
    UnknownService { name: String, known: Vec<String> },
    #[error("{source}\n{hint}")]
    MissingDotEnv {
        source: Box<stack::Error>,
        /// What to run, e.g. "no '.env' next to the stack file: 'devstack init' …".
        hint: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("reading '{}': {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Services named on the command line, checked against the stack; all when none named.
pub fn select_services(stack: &Stack, names: &[String]) -> Result<Vec<ServiceName>, Error> {
    if names.is_empty() {
        return Ok(stack.services.keys().cloned().collect());
    }
    names
        .iter()
        .map(|n| {
            let name = ServiceName::new(n.as_str());
            if stack.services.contains_key(&name) {
                Ok(name)
            } else {
                Err(Error::UnknownService {
                    name: n.clone(),
                    known: stack.services.keys().map(|s| s.to_string()).collect(),
                })
            }
        })
        .collect()
}

/// Where a bundled stack lives once materialised (for messages).
pub fn describe_path(p: &Path) -> String {
    let home = std::env::var("HOME").map(PathBuf::from).ok();
    match home.and_then(|h| p.strip_prefix(h).ok().map(|r| r.to_path_buf())) {
        Some(rel) => format!("~/{}", rel.display()),
        None => p.display().to_string(),
    }
}
