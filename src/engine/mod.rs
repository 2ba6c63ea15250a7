//! The engine: the only module that talks to Docker (bollard).
//!
//! It finds the daemon, observes a project's labelled objects, carries out a
//! [`crate::plan::Plan`], waits for readiness, tears projects down, and streams logs,
//! events and stats. Every daemon reply is converted here into the plain types of
//! [`crate::model`]; no bollard type leaves this module. It only ever stops or removes
//! objects that carry our project label.

mod apply;
mod build;
mod connect;
mod error;
mod events;
mod exec;
mod lifecycle;
mod logs;
mod observe;
mod ports;
mod reset;
mod run;
mod spec;
mod sync;
mod track;

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;

pub use connect::{Candidate, DaemonLookup, candidates};
pub use error::{BuildFailure, Error};
pub use exec::{ExecOutput, ExecRequest, ExecSession};
pub use lifecycle::DownReport;
pub use logs::{CUT_MARK, LogOptions, Splitter};
pub use run::{OneOff, RUN_OF};
pub use sync::SyncReport;

/// The daemon-side filter that selects `project`'s objects (`label=io.devstack.project=…`),
/// with `extra` filters (`("type", "container")`, `("name", …)`) beside it.
fn project_filters(
    project: &crate::model::ProjectName,
    extra: &[(&str, &str)],
) -> std::collections::HashMap<String, Vec<String>> {
    let mut filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{}={}", crate::model::labels::PROJECT, project)],
    )]);
    for (key, value) in extra {
        filters.insert((*key).to_string(), vec![(*value).to_string()]);
    }
    filters
}

/// A connection to one Docker daemon.
///
/// Cheap to clone: clones share the connection settings (bollard's `Docker` is an `Arc`
/// inside), so background tasks take their own copy.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Arc<str>,
    /// How long `down`, `stop` and `restart` give a container to exit after SIGTERM.
    stop_timeout: Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("endpoint", &self.endpoint)
            .field("stop_timeout", &self.stop_timeout)
            .finish()
    }
}

impl Engine {
    /// Finds a daemon from the process environment (see [`Engine::connect_with`]).
    pub async fn connect() -> Result<Engine, Error> {
        Self::connect_with(&DaemonLookup::from_env()).await
    }

    /// `DOCKER_HOST` (`unix://`, `tcp://`) alone when set; else the current Docker
    /// context, then the usual sockets of Docker, rootless Docker, Docker Desktop,
    /// Colima, OrbStack and Podman. Pings each and negotiates the API version.
    pub async fn connect_with(lookup: &DaemonLookup) -> Result<Engine, Error> {
        let (docker, endpoint) = connect::connect(lookup).await?;
        Ok(Engine {
            docker,
            endpoint: endpoint.into(),
            stop_timeout: Duration::from_secs(10),
        })
    }

    /// Where the daemon was found, e.g. `unix:///var/run/docker.sock`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The API version in use after negotiation, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        let v = self.docker.client_version();
        format!("{}.{}", v.major_version, v.minor_version)
    }

    /// One round trip to the daemon: whether it answers now (a follower that lost it
    /// uses this to know when to resume).
    pub async fn ping(&self) -> Result<(), Error> {
        self.docker
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| Error::daemon("ping", None, e))
    }

    /// Grace period between SIGTERM and SIGKILL for `down`, `stop` and `restart`
    /// (Compose's default is 10 s).
    pub fn with_stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    fn stop_timeout_secs(&self) -> i32 {
        i32::try_from(self.stop_timeout.as_secs()).unwrap_or(i32::MAX)
    }
}
