//! Domain words shared by every layer: names, ids, observed container state.
//!
//! These are plain data. They must not import bollard (the engine converts daemon
//! replies into these at its boundary) nor serde_yaml (the stack loader owns YAML).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A service's key in the stack file (`services.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceName(pub String);

impl ServiceName {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Compose project name, already normalised (lowercase, `[a-z0-9_-]`, starts with a
/// letter or digit).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectName(pub String);

impl ProjectName {
    /// Compose's normalisation: lowercase, drop every character outside `[a-z0-9_-]`,
    /// and strip leading `_`/`-`. Returns `None` when nothing usable is left.
    pub fn normalise(raw: &str) -> Option<Self> {
        let cleaned: String = raw
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
            .collect();
        let trimmed = cleaned.trim_start_matches(['_', '-']);
        if trimmed.is_empty() {
            None
        } else {
            Some(Self(trimmed.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `<project>-<service>-1`, Compose's container name.
    pub fn container_name(&self, service: &ServiceName) -> String {
        format!("{}-{}-1", self.0, service.0)
    }
    /// `<project>_<key>`, Compose's volume name for a volume without `name:`.
    pub fn volume_name(&self, key: &str) -> String {
        format!("{}_{}", self.0, key)
    }
    /// `<project>_default`.
    pub fn network_name(&self) -> String {
        format!("{}_default", self.0)
    }
    /// `<project>-<service>`, the tag of an image devstack builds when `image:` is absent.
    pub fn image_name(&self, service: &ServiceName) -> String {
        format!("{}-{}", self.0, service.0)
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container id as the daemon reports it (full 64 hex chars).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerId(pub String);

impl ContainerId {
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Labels devstack writes on everything it creates, and reads to find its objects.
pub mod labels {
    pub const PROJECT: &str = "io.devstack.project";
    pub const SERVICE: &str = "io.devstack.service";
    pub const CONFIG_HASH: &str = "io.devstack.config-hash";
    /// The volume's key in the stack file (`volumes.<key>`), so `reset` can map names back.
    pub const VOLUME: &str = "io.devstack.volume";
    pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
    pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
    pub const COMPOSE_NUMBER: &str = "com.docker.compose.container-number";
    pub const COMPOSE_ONEOFF: &str = "com.docker.compose.oneoff";
    pub const COMPOSE_VOLUME: &str = "com.docker.compose.volume";
    pub const COMPOSE_NETWORK: &str = "com.docker.compose.network";
}

/// A container's lifecycle state, as the daemon names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" => Self::Exited,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }
}

/// Health as reported by the container's healthcheck; `None` when it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn parse(s: &str) -> Self {
        match s {
            "starting" => Self::Starting,
            "healthy" => Self::Healthy,
            "unhealthy" => Self::Unhealthy,
            _ => Self::None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

/// A published port as the daemon reports it on a container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

/// One of our containers, as observed on the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: ContainerId,
    pub name: String,
    pub service: ServiceName,
    pub image: String,
    /// `sha256:…` of the image the container was created from.
    pub image_id: String,
    /// The `io.devstack.config-hash` label; `None` on a container devstack did not create
    /// (e.g. adopted from `docker compose`), which is therefore recreated.
    pub config_hash: Option<String>,
    pub state: ContainerState,
    pub health: Health,
    pub exit_code: Option<i64>,
    pub ports: Vec<PublishedPort>,
    pub labels: BTreeMap<String, String>,
    /// Unix seconds; from the list endpoint.
    pub created: i64,
    /// Unix seconds of the last start; only known after an inspect (the list endpoint
    /// does not carry it), else `None`.
    pub started_at: Option<i64>,
    /// Restarts done by the daemon's restart policy; only known after an inspect.
    pub restart_count: u32,
}

/// Which of a service's containers is *the* service's when an interrupted run left
/// several: the one with Compose's name (`expected_name`), else the newest.
pub fn current_container<'a>(
    containers: impl IntoIterator<Item = &'a ContainerInfo>,
    expected_name: &str,
) -> Option<&'a ContainerInfo> {
    containers
        .into_iter()
        .max_by_key(|c| (c.name == expected_name, c.created))
}

/// One of our named volumes, as observed on the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// Everything of a project that exists on the daemon: the input of `plan::diff`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Network id of `<project>_default` if it exists.
    pub network: Option<String>,
    /// Volumes by docker name; includes external volumes the stack names, whatever labels.
    pub volumes: BTreeMap<String, VolumeInfo>,
    /// Containers labelled with this project.
    pub containers: Vec<ContainerInfo>,
    /// Local images by the reference the stack uses (`postgres:16`), value = image id.
    /// A reference missing here is not present locally.
    pub images: BTreeMap<String, String>,
}

/// Which output stream of a container a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a container's output, without its trailing newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub service: ServiceName,
    /// Daemon timestamp in Unix nanoseconds (from `timestamps: true`); lines are merged
    /// across services by it and a reconnect resumes after the last one seen.
    pub ts_nanos: i64,
    pub stream: Stream,
    pub text: String,
}

/// What a service is doing while `up`, `restart` or `reset` works on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Pulling {
        percent: Option<u8>,
    },
    Building {
        step: String,
    },
    /// Held back by a gate; `detail` says why it is not met yet, e.g. the last probe's output.
    Waiting {
        on: ServiceName,
        condition: crate::stack::Condition,
        detail: Option<String>,
    },
    Removing,
    Creating,
    Starting,
    /// Started; waiting for its healthcheck (probes so far, and retries allowed).
    WaitingHealthy {
        probes: u32,
        retries: u32,
        last_output: Option<String>,
    },
    /// Unhealthy but still running, which `up` does not take as final before its
    /// deadline: "slow: unhealthy for 40 s (probe timed out after 20 s), still waiting".
    Slow {
        reason: String,
    },
    Done,
    Failed {
        reason: String,
    },
}

/// Messages from the engine's background tasks to whoever shows the stack (CLI or TUI).
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    Progress {
        service: ServiceName,
        progress: Progress,
    },
    /// A container of ours changed (from the daemon's event stream, then an inspect).
    Container(ContainerInfo),
    /// A container of ours is gone.
    ContainerRemoved {
        service: ServiceName,
        id: ContainerId,
    },
    /// Latest healthcheck result of a service (output of the last probe).
    HealthLog {
        service: ServiceName,
        failing_streak: u32,
        output: String,
    },
    Stats {
        service: ServiceName,
        cpu_percent: f64,
        memory_bytes: u64,
        memory_limit: u64,
    },
    /// The daemon stopped answering; streams are retrying.
    DaemonLost {
        reason: String,
    },
    DaemonBack,
    /// Something the user should read (a failed action, a warning), with its reason.
    Notice {
        level: NoticeLevel,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}
