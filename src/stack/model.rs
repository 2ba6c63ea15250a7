//! The validated stack: what the rest of devstack works from.
//!
//! Every value here is resolved: variables interpolated, env files read, relative paths
//! made absolute against the stack file's directory, short syntax expanded, profiles
//! applied. No serde_yaml or bollard types appear here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use crate::model::Condition;
use crate::model::{ProjectName, Protocol, ServiceName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    pub project: ProjectName,
    /// The stack file, as given or found.
    pub file: PathBuf,
    /// The directory relative paths resolve against (the stack file's directory).
    pub dir: PathBuf,
    /// Enabled services only (profiles applied), by name.
    pub services: BTreeMap<ServiceName, Service>,
    /// Top-level named volumes by their key in the file.
    pub volumes: BTreeMap<String, Volume>,
    /// Top-level networks by their key in the file; `default` is here only when the
    /// file declares it (see [`Stack::network_name`]).
    pub networks: BTreeMap<String, Network>,
    /// Things devstack read but does not implement (yet): shown, never dropped silently.
    pub warnings: Vec<Diagnostic>,
    pub settings: StackSettings,
}

impl Stack {
    /// The daemon's name of network `key`: `name:` if the file gives one, else
    /// Compose's `<project>_<key>` (`<project>_default` for the implicit default).
    pub fn network_name(&self, key: &str) -> String {
        match self.networks.get(key) {
            Some(n) => n.name.clone(),
            None => format!("{}_{key}", self.project),
        }
    }

    /// The keys of the networks some service joins, `default` included when one does.
    pub fn used_networks(&self) -> BTreeSet<String> {
        self.services
            .values()
            .flat_map(|s| self.service_networks(s).into_keys())
            .collect()
    }

    /// Whether the file declares network `key` as made outside the project.
    pub fn network_is_external(&self, key: &str) -> bool {
        self.networks.get(key).is_some_and(|n| n.external)
    }

    /// The networks `service` joins, by key, with its settings on each: those it lists,
    /// else `default`; none with a `network_mode`.
    pub fn service_networks(&self, service: &Service) -> BTreeMap<String, ServiceNetwork> {
        if service.options.network_mode.is_some() {
            return BTreeMap::new();
        }
        if service.options.networks.is_empty() {
            return BTreeMap::from([("default".to_string(), ServiceNetwork::default())]);
        }
        service.options.networks.clone()
    }

    /// The stack reduced to `names` and everything they depend on, directly or not
    /// (`up SVC..`). Volumes and settings are kept.
    pub fn only_with_dependencies(&self, names: &[ServiceName]) -> Stack {
        let mut keep: BTreeSet<ServiceName> = BTreeSet::new();
        let mut todo: Vec<ServiceName> = names.to_vec();
        while let Some(n) = todo.pop() {
            if let Some(svc) = self.services.get(&n)
                && keep.insert(n)
            {
                todo.extend(svc.depends_on.keys().cloned());
            }
        }
        let mut out = self.clone();
        out.services.retain(|n, _| keep.contains(n));
        out
    }
}

/// A position in a stack file, 1-based, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Position {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A warning about the stack file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub position: Option<Position>,
    /// Dotted path of the key, e.g. `services.web.deploy`.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.position {
            Some(p) => write!(f, "{p}: '{}': {}", self.key, self.message),
            None => write!(f, "'{}': {}", self.key, self.message),
        }
    }
}

/// `x-devstack:` at the top level.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StackSettings {
    /// Lines kept per service in the log store.
    pub log_lines: Option<usize>,
    /// Quiet period before a watch action fires.
    pub debounce: Option<Duration>,
    /// How long a service without a healthcheck must stay running before `up` calls it
    /// ready (default 1 s); a service's own `settle` wins.
    pub settle: Option<Duration>,
    /// Values of secret-looking variables that interpolation may have put anywhere in
    /// the file (not only under a secret-looking key), for output to mask. Kept here
    /// rather than on `Stack` so code that builds a `Stack` by hand is unaffected.
    #[serde(skip)]
    pub secret_values: SecretValues,
    /// Host ports whose number came from a variable, by service: a port clash then names
    /// the variable to change rather than the file. Kept here for the same reason.
    #[serde(skip)]
    pub port_variables: BTreeMap<ServiceName, BTreeMap<u16, PortVariable>>,
}

/// The variable a published host port was interpolated from, and where its value is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortVariable {
    pub name: String,
    /// "set in '/p/.env'", "set in the environment", or "not set: the file's default
    /// applies".
    pub origin: String,
}

/// Secret values to mask wherever they appear, and the key paths (`services.a.ports[0]`)
/// of the values they were interpolated into. `Debug` shows how many, never which.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues {
    values: BTreeSet<String>,
    paths: BTreeSet<String>,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValues({} masked)", self.values.len())
    }
}

/// What masked text shows instead of a secret.
pub const MASK: &str = "********";

impl SecretValues {
    /// Values shorter than this are not masked inside other text: a one- or two-letter
    /// "secret" would blank out unrelated text everywhere.
    pub const MIN_LEN: usize = 4;

    pub fn insert(&mut self, value: &str) {
        if value.chars().count() >= Self::MIN_LEN {
            self.values.insert(value.to_string());
        }
    }

    /// Forgets `value` (one that is shown anyway, like the project name).
    pub(crate) fn remove(&mut self, value: &str) {
        self.values.remove(value);
    }

    /// Records that the value at `path` holds a secret.
    pub(crate) fn taint(&mut self, path: String) {
        self.paths.insert(path);
    }

    /// Whether some value holds one of the secrets.
    pub fn contained_in(&self, text: &str) -> bool {
        self.values.iter().any(|v| text.contains(v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Also records the password of every `scheme://user:password@host` inside `text`,
    /// so it is masked where it shows up outside the URL too.
    pub fn insert_url_passwords(&mut self, text: &str) {
        for (start, end) in url_passwords(text) {
            self.insert(&text[start..end]);
        }
    }

    /// `text` with every occurrence of a secret value replaced by [`MASK`] (longest
    /// first, so a secret containing another is masked whole), and the password of every
    /// `scheme://user:password@host` masked whatever it is.
    pub fn mask(&self, text: &str) -> String {
        let mut values: Vec<&String> = self.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for v in values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        mask_url_passwords(&out)
    }

    /// A message about the value at key path `key`: as [`SecretValues::mask`], and when
    /// that value holds a secret, also every 'single-quoted' part that is a piece of one
    /// (a message may quote only the piece that failed to parse, like a port's host).
    pub fn mask_message(&self, text: &str, key: &str) -> String {
        let masked = self.mask(text);
        let tainted = self
            .paths
            .iter()
            .any(|p| p.starts_with(key) || key.starts_with(p.as_str()));
        if !tainted || key.is_empty() {
            return masked;
        }
        let mut out = String::with_capacity(masked.len());
        let mut parts = masked.split('\'');
        if let Some(first) = parts.next() {
            out.push_str(first);
        }
        // Every other part is inside quotes (when the quotes pair up).
        for (i, part) in parts.enumerate() {
            out.push('\'');
            if i % 2 == 0 && !part.is_empty() && self.values.iter().any(|v| v.contains(part)) {
                out.push_str(MASK);
            } else {
                out.push_str(part);
            }
        }
        out
    }
}

/// Byte ranges of the passwords in `scheme://user:password@host` URLs inside `text`.
///
/// The userinfo ends at the first `@` before any `/`, `?`, `#` or whitespace, as in a URL;
/// `host:port/path` (no `@`) has no password.
pub fn url_passwords(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        let authority_end = text[start..]
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .map_or(text.len(), |n| start + n);
        let authority = &text[start..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                let (p_start, p_end) = (start + colon + 1, start + at);
                if p_end > p_start && text[p_start..p_end] != *MASK {
                    found.push((p_start, p_end));
                }
            }
        }
        from = start;
    }
    found
}

/// `text` with the password of every URL in it replaced by [`MASK`].
pub fn mask_url_passwords(text: &str) -> String {
    let ranges = url_passwords(text);
    if ranges.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str(MASK);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: ServiceName,
    /// Image reference to run. When the file has `build:` without `image:`, this is
    /// `<project>-<service>` (Compose's tag for built images).
    pub image: String,
    pub build: Option<Build>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: BTreeMap<String, EnvValue>,
    pub ports: Vec<PortBinding>,
    pub mounts: Vec<Mount>,
    pub depends_on: BTreeMap<ServiceName, Dependency>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: RestartPolicy,
    /// Time between the stop signal and SIGKILL (`stop_grace_period`); the daemon's
    /// 10 s when `None`.
    pub stop_grace_period: Option<std::time::Duration>,
    /// The signal that asks the container to stop (`stop_signal`); the image's, else
    /// SIGTERM, when `None`.
    pub stop_signal: Option<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub profiles: Vec<String>,
    pub watch: Vec<WatchRule>,
    pub settings: ServiceSettings,
    /// The other container settings Compose passes to the daemon.
    pub options: ContainerOptions,
}

/// Container settings beyond the basics, named and shaped as in a Compose file (so
/// `config` prints them as such); each unset by default, meaning the daemon's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerOptions {
    /// `init: true`: the daemon's tiny init as PID 1 forwards signals and reaps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// `network_mode:` as written (`host`, `none`, `bridge`, `service:NAME`,
    /// `container:NAME`): the container then does not join the project network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// The container's name instead of `<project>-<service>-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `host:ip` entries for the container's /etc/hosts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Size of /dev/shm in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// Container path → mount options (`size=64m`), possibly empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    /// Ports exposed to other containers only (`80/tcp`), never published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// `deploy.resources`, as Compose maps it onto one container.
    #[serde(skip_serializing_if = "Resources::is_unset")]
    pub resources: Resources,
    /// The networks the service lists, by key; empty: the `default` network only.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, ServiceNetwork>,
    /// `links:` as (service, alias): the alias resolves to that service's container
    /// from this one.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_links"
    )]
    pub links: Vec<(String, String)>,
    /// `volumes_from:`: whose volumes are mounted here too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumesFrom>,
    /// `ipc:` as written (`host`, `shareable`, `service:NAME`, `container:NAME`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// `platform:` (`linux/amd64`): the image variant the container must run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// A service's settings on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    /// Names besides the service's own that resolve to it on this network.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
}

/// `links` as the file writes them (`db:database`), for `config`.
fn serialize_links<S: serde::Serializer>(
    links: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(links.iter().map(|(service, alias)| {
        if service == alias {
            service.clone()
        } else {
            format!("{service}:{alias}")
        }
    }))
}

/// One `volumes_from:` entry (serialised as the file writes it: `app:ro`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub from: VolumesFromSource,
    pub read_only: bool,
}

impl Serialize for VolumesFrom {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match &self.from {
            VolumesFromSource::Service(n) => n.clone(),
            VolumesFromSource::Container(n) => format!("container:{n}"),
        };
        s.serialize_str(&if self.read_only {
            format!("{name}:ro")
        } else {
            name
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VolumesFromSource {
    /// Another service of the file (its container).
    Service(String),
    /// A container by name, made outside the file.
    Container(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// `deploy.resources.limits` / `.reservations` as the daemon takes them (CPU
/// reservations are a Swarm setting: Compose does not pass them to a container).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    /// CPUs, in billionths (`cpus: 0.5` → 500 000 000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
}

impl Resources {
    pub fn is_unset(&self) -> bool {
        *self == Self::default()
    }
}

impl ContainerOptions {
    pub fn is_unset(&self) -> bool {
        *self == Self::default()
    }
}

/// `logging:`: the daemon's log driver and its options (`max-size`, `max-file`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl Service {
    /// The value of `key` in the service's environment, when it is set and not empty.
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.environment
            .get(key)
            .map(|v| v.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A service with a name and an image and nothing else set, as a file with only
    /// `image:` would give (for building stacks in code and in tests).
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: ServiceName::new(name),
            image: image.into(),
            build: None,
            command: None,
            entrypoint: None,
            environment: BTreeMap::new(),
            ports: Vec::new(),
            mounts: Vec::new(),
            depends_on: BTreeMap::new(),
            healthcheck: None,
            restart: RestartPolicy::No,
            stop_grace_period: None,
            stop_signal: None,
            working_dir: None,
            user: None,
            labels: BTreeMap::new(),
            profiles: Vec::new(),
            watch: Vec::new(),
            settings: ServiceSettings::default(),
            options: ContainerOptions::default(),
        }
    }

    /// The name of the service's container: `container_name:`, else Compose's
    /// `<project>-<service>-1`.
    pub fn container_name(&self, project: &ProjectName) -> String {
        match &self.options.container_name {
            Some(n) => n.clone(),
            None => project.container_name(&self.name),
        }
    }

    /// `devstack db` and the TUI's `p` open psql here: the official Postgres image or
    /// `x-devstack: {console: psql}`.
    pub fn has_psql_console(&self) -> bool {
        self.settings.console.as_deref() == Some("psql") || is_postgres_image(&self.image)
    }
}

/// Whether `image` is the official Postgres image, from any registry, at any tag.
pub fn is_postgres_image(image: &str) -> bool {
    image_name(image) == "postgres"
}

/// The last path component of an image reference without tag or digest:
/// `docker.io/apache/airflow:3.1.0` → `airflow`.
pub fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    /// Absolute path of the build context.
    pub context: PathBuf,
    /// Dockerfile path relative to the context (default `Dockerfile`).
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
}

/// An environment variable's value and where it came from; values from env files and
/// variables whose names look secret are masked in output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvValue {
    pub value: String,
    pub source: EnvSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EnvSource {
    /// Written in the stack file's `environment:` (after interpolation).
    Inline,
    /// Read from this `env_file:`.
    EnvFile(PathBuf),
}

impl EnvValue {
    /// Whether `config`, `ps`, errors and the TUI must mask this value.
    pub fn is_secret(&self, key: &str) -> bool {
        matches!(self.source, EnvSource::EnvFile(_)) || looks_secret(key)
    }
}

/// Names that conventionally carry credentials.
pub fn looks_secret(key: &str) -> bool {
    const WORDS: [&str; 9] = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "KEY",
        "CREDENTIAL",
        "PRIVATE",
        "AUTH",
        "CONN",
    ];
    let upper = key.to_ascii_uppercase();
    WORDS.iter().any(|w| upper.contains(w))
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortBinding {
    /// `127.0.0.1` unless the file writes an address (a deliberate difference from Compose).
    pub host_ip: String,
    /// `None`: the daemon picks an ephemeral port.
    pub host_port: Option<u16>,
    /// With `host_port`, a host range for one container port (`"9000-9001:80"`): the
    /// daemon takes the first free port of `host_port..=host_port_end`.
    pub host_port_end: Option<u16>,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortBinding {
    pub fn is_loopback(&self) -> bool {
        crate::model::is_loopback_ip(&self.host_ip)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub source: MountSource,
    /// Path inside the container.
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MountSource {
    /// A top-level named volume, by its key in `volumes:`.
    Volume(String),
    /// An anonymous volume (`- /data`).
    Anonymous,
    /// A host path, absolute, checked to exist at load time.
    Bind(PathBuf),
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    /// Compose's `required` (default true).
    pub required: bool,
    /// Compose's `restart`: restart this service when the dependency is restarted.
    pub restart: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    pub test: HealthTest,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HealthTest {
    /// A `healthcheck:` without `test:`: the image's own test, with the file's timings.
    FromImage,
    /// `NONE` or `disable: true`: turns off the image's healthcheck.
    Disabled,
    /// `["CMD", args..]`.
    Cmd(Vec<String>),
    /// `["CMD-SHELL", "…"]` or a plain string.
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RestartPolicy {
    No,
    Always,
    OnFailure(Option<u32>),
    UnlessStopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchRule {
    /// Absolute host path watched.
    pub path: PathBuf,
    /// Path in the container (required for the sync actions).
    pub target: Option<String>,
    pub action: WatchAction,
    /// Patterns relative to `path`, `.dockerignore` syntax.
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WatchAction {
    Sync,
    SyncRestart,
    Rebuild,
    Restart,
}

/// `x-devstack:` on a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceSettings {
    /// Restart the service when a bind-mounted source changes.
    pub restart_on_change: bool,
    /// `console: psql` marks a database service for `devstack db`.
    pub console: Option<String>,
    /// `airflow: scheduler` (one of `AIRFLOW_ROLES`) marks an Airflow component.
    pub airflow: Option<String>,
    /// Overrides the stack's `settle` for this service.
    pub settle: Option<std::time::Duration>,
    /// The long form's databases and roles (empty for the short form).
    pub databases: ConsoleDatabases,
}

/// `console: {type: psql, databases: [airflow, warehouse], default: warehouse,
/// user_env: WAREHOUSE_USER, password_env: WAREHOUSE_PASSWORD}`: the databases `db -d`
/// and the UI's `p` offer, the one opened by default, and the service's environment
/// variables naming the role (and its password, for `db --url`) for databases other
/// than the image's own `POSTGRES_DB`, which is opened as `POSTGRES_USER`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsoleDatabases {
    pub databases: Vec<String>,
    pub default: Option<String>,
    pub user_env: Option<String>,
    pub password_env: Option<String>,
}

/// The Airflow 3 components `x-devstack: {airflow: …}` may name.
pub const AIRFLOW_ROLES: &[&str] = &[
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
    "worker",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// Key in the file.
    pub key: String,
    /// Docker name: `name:` if given, else `<project>_<key>`.
    pub name: String,
    /// Created outside devstack; never created, removed or reset by it.
    pub external: bool,
    pub labels: BTreeMap<String, String>,
}

/// A top-level network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    /// Key in the file.
    pub key: String,
    /// Docker name: `name:` if given, else `<project>_<key>` (an external network's
    /// key itself).
    pub name: String,
    /// Created outside devstack; never created or removed by it.
    pub external: bool,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    /// No route out of the network.
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub ipam: Option<Ipam>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ipam {
    pub driver: Option<String>,
    pub pools: Vec<IpamPool>,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}
