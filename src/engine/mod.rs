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
mod images;
mod lifecycle;
mod lock;
mod logs;
mod observe;
mod ports;
mod probe;
mod reset;
mod run;
mod snapshot;
mod spec;
mod sync;
mod track;

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;

pub use apply::DEFAULT_WAIT;
pub use connect::{Candidate, DaemonLookup, candidates};
pub use error::{BuildFailure, Error};
pub use exec::{ExecOutput, ExecRequest, ExecSession};
pub use images::{ContainerUser, ImageReport, Layer};
pub use lifecycle::DownReport;
pub use lock::{ProjectLock, lock_path, lock_project};
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
    /// How long `down`, `stop` and `restart` give a container to exit after its stop
    /// signal, for every container; `None` leaves it to each container's own
    /// `stop_grace_period` (the daemon's 10 s when it has none).
    stop_timeout: Option<Duration>,
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
            stop_timeout: None,
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

    /// One grace period between the stop signal and SIGKILL for `down`, `stop` and
    /// `restart`, over every service's `stop_grace_period` (tests use a short one).
    pub fn with_stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = Some(timeout);
        self
    }

    fn stop_timeout_secs(&self) -> Option<i32> {
        self.stop_timeout
            .map(|t| i32::try_from(t.as_secs()).unwrap_or(i32::MAX))
    }

    /// Without a `t`, the daemon uses the container's own stop timeout and signal (set
    /// from `stop_grace_period` and `stop_signal` when it was created).
    fn stop_options(&self) -> bollard::query_parameters::StopContainerOptions {
        let mut options = bollard::query_parameters::StopContainerOptionsBuilder::default();
        if let Some(t) = self.stop_timeout_secs() {
            options = options.t(t);
        }
        options.build()
    }
}
