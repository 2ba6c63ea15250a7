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
    /// The directory of the stack file, on every object: two directories with the same
    /// base name make one project, and this tells whose objects they are.
    pub const COMPOSE_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    /// The stack file(s), comma-separated, as Compose writes them.
    pub const COMPOSE_CONFIG_FILES: &str = "com.docker.compose.project.config_files";
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

impl PublishedPort {
    /// Reachable from this machine only.
    pub fn is_loopback(&self) -> bool {
        is_loopback_ip(&self.host_ip)
    }
}

/// Whether a host address is loopback: all of `127.0.0.0/8`, `::1` (also as a
/// v4-mapped `::ffff:127.x.y.z`) and `localhost`. Anything else — `0.0.0.0`, `::`, a
/// LAN address — is reachable from other machines.
pub fn is_loopback_ip(ip: &str) -> bool {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if ip.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
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

impl ContainerInfo {
    /// The state as people read it: "running", or "exited (3)" with the exit code.
    pub fn state_text(&self) -> String {
        match (self.state, self.exit_code) {
            (ContainerState::Exited, Some(code)) => format!("exited ({code})"),
            (state, _) => state.as_str().to_string(),
        }
    }
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
    /// That network's labels (whoever created it).
    pub network_labels: BTreeMap<String, String>,
    /// The stack's other networks that exist, by docker name, with their labels.
    pub networks: BTreeMap<String, BTreeMap<String, String>>,
    /// Volumes by docker name; includes external volumes the stack names, whatever labels.
    pub volumes: BTreeMap<String, VolumeInfo>,
    /// Containers labelled with this project, and those Docker Compose made for a
    /// service of the stack from the stack's own directory (adoptable: `up` replaces
    /// them with ours; they carry no config hash).
    pub containers: Vec<ContainerInfo>,
    /// Containers Docker Compose made for a project of this name elsewhere (name, its
    /// working directory or "" when unlabelled): never adopted, whatever the options.
    pub compose_elsewhere: Vec<(String, String)>,
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
        condition: Condition,
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
    /// Created and started (or kept): its own step of `up` is done.
    Done,
    /// Ready, as `up --detach` waits for it (said after `Done`, once it is).
    Ready(Readiness),
    Failed {
        reason: String,
    },
}

/// How a service became ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Its healthcheck passed.
    Healthy,
    /// devstack's own run of its healthcheck test passed (`after_ms` after the start)
    /// while Docker's first probe is still to come: Docker says `starting`.
    Probed { after_ms: Option<u64> },
    /// Running, and it has no healthcheck.
    Running,
    /// A job that finished with exit code 0.
    Completed,
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
    /// Latest healthcheck result of a service's current container: Docker's own
    /// failing streak, and the last probe of the container's current run (`None` when it
    /// has not probed since it started).
    HealthLog {
        service: ServiceName,
        container: ContainerId,
        failing_streak: u32,
        probe: Option<ProbeResult>,
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
    /// `up` (in the UI) finished: `None` when the stack is ready, else why it failed.
    UpFinished {
        error: Option<String>,
    },
    /// Something the user should read (a failed action, a warning), with its reason.
    Notice {
        level: NoticeLevel,
        message: String,
    },
}

/// One healthcheck probe as Docker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub exit_code: i64,
    pub output: String,
}

/// What a probe's exit code means, when it is known: curl's codes for a probe that runs
/// curl (the usual HTTP healthcheck), and the shell's and Docker's own for any probe.
pub fn probe_exit_meaning(probe_command: &str, code: i64) -> Option<&'static str> {
    // A word of the command, also as the last part of a path (`/usr/bin/curl`).
    let runs = |tool: &str| {
        probe_command
            .split(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .any(|w| w == tool)
    };
    if runs("curl") {
        let m = match code {
            6 => Some("curl: could not resolve the host"),
            7 => Some("curl: connection refused"),
            22 => Some("curl: the server answered with an HTTP error"),
            28 => Some("curl: timed out"),
            35 => Some("curl: TLS handshake failed"),
            52 => Some("curl: empty reply from the server"),
            56 => Some("curl: connection reset while receiving"),
            _ => None,
        };
        if m.is_some() {
            return m;
        }
    }
    if runs("pg_isready") {
        match code {
            1 => return Some("pg_isready: the server rejects connections (still starting?)"),
            2 => return Some("pg_isready: no response from the server"),
            3 => return Some("pg_isready: no attempt made (bad parameters)"),
            _ => {}
        }
    }
    match code {
        // Docker records -1 when it ended a probe that ran past its timeout.
        -1 => Some("the probe ran past its timeout"),
        126 => Some("the probe's command is not executable"),
        127 => Some("the probe's command was not found in the image"),
        137 => Some("the probe was killed"),
        _ => None,
    }
}

/// A probe in one line: its output (progress meters and control characters dropped)
/// and, when it failed, its exit code and what the code means. A silent probe still
/// says something: "no output; exit code 7: curl: connection refused".
pub fn probe_summary(probe_command: &str, exit_code: i64, output: &str) -> String {
    let out = one_line(output, " ⏎ ");
    let code = match probe_exit_meaning(probe_command, exit_code) {
        Some(m) => format!("exit code {exit_code}: {m}"),
        None => format!("exit code {exit_code}"),
    };
    match (out.is_empty(), exit_code) {
        (true, 0) => "no output; exit code 0".into(),
        (true, _) => format!("no output; {code}"),
        (false, 0) => out,
        (false, _) => format!("{out} ({code})"),
    }
}

/// Text from a probe or a daemon message on one line: control characters (a progress
/// meter's `\r` redraws, escapes) dropped, a redrawn line reduced to its last state,
/// lines joined with `sep`, curl's progress table left out.
pub fn one_line(s: &str, sep: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for line in s.split('\n') {
        // A terminal shows only what follows the last carriage return.
        let shown = line
            .rsplit('\r')
            .find(|p| !p.trim().is_empty())
            .unwrap_or("");
        let clean: String = strip_escapes(shown)
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let clean = clean.trim();
        if clean.is_empty() || is_progress_meter(clean) {
            continue;
        }
        parts.push(clean.to_string());
    }
    parts.join(sep)
}

/// Drops ANSI escape sequences (`ESC [ … final`, and lone `ESC x`) and other control
/// characters but tab: probe and build output made fit for one line of a message.
pub(crate) fn strip_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters and intermediates, then one final byte in '@'..='~'.
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else if !c.is_control() || c == '\t' {
            out.push(c);
        }
    }
    out
}

/// curl's progress table: its two header lines and rows of numbers and `--:--:--`.
fn is_progress_meter(line: &str) -> bool {
    if line.starts_with("% Total") || line.starts_with("Dload") {
        return true;
    }
    let mut fields = 0;
    for w in line.split_whitespace() {
        fields += 1;
        let numeric = w
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-' | 'k' | 'M' | 'G'));
        if !numeric {
            return false;
        }
    }
    fields >= 6
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// A `depends_on` condition: what a service waits for in a dependency. Defined here, not
/// in `stack`, because progress events (`Progress::Waiting`) name it too and `stack`
/// already depends on this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_compose(self) -> &'static str {
        match self {
            Self::Started => "service_started",
            Self::Healthy => "service_healthy",
            Self::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_of_127_slash_8_is_loopback() {
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "::1",
            "[::1]",
            "::ffff:127.0.0.3",
            "localhost",
        ] {
            assert!(is_loopback_ip(ip), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "::",
            "192.168.1.2",
            "128.0.0.1",
            "",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_loopback_ip(ip), "{ip}");
        }
    }

    #[test]
    fn one_line_drops_curls_progress_meter_and_control_characters() {
        let curl = "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0\r  0     0    0     0    0     0      0      0 --:--:--  0:00:01 --:--:--     0\ncurl: (7) Failed to connect to localhost port 8080: Connection refused\n";
        assert_eq!(
            one_line(curl, " ⏎ "),
            "curl: (7) Failed to connect to localhost port 8080: Connection refused"
        );
        assert_eq!(
            one_line("a\x1b[31mred\x1b[0m\tb\nsecond\n\n", " | "),
            "aredb | second"
        );
        assert_eq!(one_line("", " "), "");
    }

    #[test]
    fn probe_exit_codes_are_explained_when_known() {
        let curl = "curl --fail http://localhost:8080/api/v2/monitor/health";
        assert_eq!(
            probe_exit_meaning(curl, 7),
            Some("curl: connection refused")
        );
        assert_eq!(
            probe_exit_meaning(curl, 22),
            Some("curl: the server answered with an HTTP error")
        );
        assert_eq!(probe_exit_meaning(curl, 28), Some("curl: timed out"));
        // Not curl: its 7 means nothing we know.
        assert_eq!(probe_exit_meaning("pg_isready -U postgres", 7), None);
        assert_eq!(
            probe_exit_meaning("pg_isready", 127),
            Some("the probe's command was not found in the image")
        );
        assert_eq!(probe_exit_meaning("true", 1), None);
        assert_eq!(
            probe_exit_meaning("CMD-SHELL pg_isready -h 127.0.0.1", 2),
            Some("pg_isready: no response from the server")
        );
    }
}
