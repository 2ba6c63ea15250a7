//! Serde structs mirroring the stack file's YAML after merge keys, the key check and
//! interpolation: every short and long form is still here as written.
//!
//! Deserialised from the tree's JSON form (the YAML library stays in yaml.rs). Scalars
//! are read leniently (`5432` and `"5432"` alike) because interpolation turns numbers
//! and booleans into strings. Meaning — ports, paths, durations — is resolve.rs's job.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::node::{KeyPath, Node, Seg};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub name: Option<Text>,
    pub services: Option<BTreeMap<String, Option<RawService>>>,
    pub volumes: Option<BTreeMap<String, Option<RawVolume>>>,
    pub secrets: Option<BTreeMap<String, Option<RawSecret>>>,
    pub networks: Option<BTreeMap<String, Option<RawNetwork>>>,
    #[serde(rename = "x-devstack")]
    pub settings: Option<RawStackSettings>,
}

/// A top-level secret.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecret {
    /// The engine-side name, which only Swarm uses: accepted, not needed for a file.
    #[allow(dead_code)]
    pub name: Option<Text>,
    pub file: Option<Text>,
    pub environment: Option<Text>,
    pub external: Option<Flag>,
}

/// A service's reference to a secret: its name, or the long form.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawServiceSecret {
    Short(Text),
    Long(RawServiceSecretLong),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceSecretLong {
    pub source: Text,
    pub target: Option<Text>,
    pub uid: Option<Text>,
    pub gid: Option<Text>,
    pub mode: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub image: Option<Text>,
    pub build: Option<RawBuild>,
    pub command: Option<RawCommand>,
    pub entrypoint: Option<RawCommand>,
    pub environment: Option<RawDict>,
    pub env_file: Option<RawEnvFiles>,
    pub ports: Option<Vec<RawPort>>,
    pub volumes: Option<Vec<RawMount>>,
    pub depends_on: Option<RawDependsOn>,
    pub healthcheck: Option<RawHealthcheck>,
    pub restart: Option<Text>,
    pub stop_grace_period: Option<Text>,
    pub stop_signal: Option<Text>,
    pub working_dir: Option<Text>,
    pub user: Option<Text>,
    pub labels: Option<RawDict>,
    pub profiles: Option<Vec<Text>>,
    pub develop: Option<RawDevelop>,
    #[serde(rename = "x-devstack")]
    pub settings: Option<RawServiceSettings>,
    pub init: Option<Flag>,
    pub logging: Option<RawLogging>,
    pub hostname: Option<Text>,
    pub container_name: Option<Text>,
    pub network_mode: Option<Text>,
    pub stdin_open: Option<Flag>,
    pub tty: Option<Flag>,
    pub read_only: Option<Flag>,
    pub cap_add: Option<Vec<Text>>,
    pub cap_drop: Option<Vec<Text>>,
    pub extra_hosts: Option<RawExtraHosts>,
    pub shm_size: Option<Text>,
    pub sysctls: Option<RawDict>,
    pub tmpfs: Option<RawOneOrMany>,
    pub ulimits: Option<BTreeMap<String, RawUlimit>>,
    pub expose: Option<Vec<Text>>,
    pub deploy: Option<RawDeploy>,
    pub secrets: Option<Vec<RawServiceSecret>>,
    pub networks: Option<RawServiceNetworks>,
    pub links: Option<Vec<Text>>,
    pub volumes_from: Option<Vec<Text>>,
    pub ipc: Option<Text>,
    pub platform: Option<Text>,
}

/// A service's `networks:`: `[a, b]` or `{a: {aliases: [..]}, b: }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawServiceNetworks {
    List(Vec<Text>),
    Map(BTreeMap<String, Option<RawServiceNetwork>>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceNetwork {
    pub aliases: Option<Vec<Text>>,
    pub ipv4_address: Option<Text>,
    pub ipv6_address: Option<Text>,
}

/// A top-level network.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub name: Option<Text>,
    pub driver: Option<Text>,
    pub driver_opts: Option<RawDict>,
    pub ipam: Option<RawIpam>,
    pub external: Option<RawExternal>,
    pub internal: Option<Flag>,
    pub attachable: Option<Flag>,
    pub enable_ipv6: Option<Flag>,
    pub labels: Option<RawDict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIpam {
    pub driver: Option<Text>,
    pub config: Option<Vec<RawIpamPool>>,
    pub options: Option<RawDict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIpamPool {
    pub subnet: Option<Text>,
    pub ip_range: Option<Text>,
    pub gateway: Option<Text>,
    pub aux_addresses: Option<RawDict>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawOneOrMany {
    One(Text),
    Many(Vec<Text>),
}

/// `["host:ip", "host=ip"]` or `{host: ip}` (or `{host: [ip, ip]}`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawExtraHosts {
    List(Vec<Text>),
    Map(BTreeMap<String, RawOneOrMany>),
}

/// `nofile: 20000` or `nofile: {soft: 20000, hard: 40000}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawUlimit {
    Single(Text),
    Pair(RawUlimitPair),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUlimitPair {
    pub soft: Text,
    pub hard: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeploy {
    pub resources: Option<RawResources>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResources {
    pub limits: Option<RawResource>,
    pub reservations: Option<RawResource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResource {
    pub cpus: Option<Text>,
    pub memory: Option<Text>,
    pub pids: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogging {
    pub driver: Option<Text>,
    pub options: Option<BTreeMap<String, Option<Text>>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawBuild {
    Context(Text),
    Full(RawBuildFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuildFull {
    pub context: Option<Text>,
    pub dockerfile: Option<Text>,
    pub args: Option<RawDict>,
    pub target: Option<Text>,
}

/// `command`, `entrypoint`, healthcheck `test`: a string or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawCommand {
    String(String),
    List(Vec<Text>),
}

/// `environment`, `labels`, build `args`: a mapping, or a list of `KEY=VALUE`/`KEY`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDict {
    Map(BTreeMap<String, Option<Text>>),
    List(Vec<Text>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawEnvFiles {
    One(Text),
    Many(Vec<RawEnvFile>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawEnvFile {
    Path(Text),
    Full { path: Text, required: Option<Flag> },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawPort {
    Short(Text),
    Long(RawPortLong),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPortLong {
    pub target: Text,
    pub published: Option<Text>,
    pub host_ip: Option<Text>,
    pub protocol: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMount {
    Short(Text),
    Long(RawMountLong),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMountLong {
    #[serde(rename = "type")]
    pub kind: Text,
    pub source: Option<Text>,
    pub target: Text,
    pub read_only: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDependsOn {
    List(Vec<Text>),
    Map(BTreeMap<String, Option<RawDependency>>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDependency {
    pub condition: Option<Text>,
    pub required: Option<Flag>,
    pub restart: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealthcheck {
    pub test: Option<RawCommand>,
    pub interval: Option<Text>,
    pub timeout: Option<Text>,
    pub retries: Option<Count>,
    pub start_period: Option<Text>,
    pub start_interval: Option<Text>,
    pub disable: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDevelop {
    pub watch: Option<Vec<RawWatch>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWatch {
    pub path: Text,
    pub target: Option<Text>,
    pub action: Text,
    pub ignore: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceSettings {
    pub restart_on_change: Option<Flag>,
    pub airflow: Option<Text>,
    pub settle: Option<Text>,
    pub console: Option<RawConsole>,
}

/// `console: psql`, or `console: {type: psql, databases: [..], default: .., user_env: ..}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawConsole {
    Short(Text),
    Full(RawConsoleFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsoleFull {
    #[serde(rename = "type")]
    pub kind: Text,
    pub databases: Option<Vec<Text>>,
    pub default: Option<Text>,
    pub user_env: Option<Text>,
    pub password_env: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVolume {
    pub name: Option<Text>,
    pub external: Option<RawExternal>,
    pub labels: Option<RawDict>,
}

/// `external: true`, or the legacy `external: {name: x}` (Compose still reads it).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawExternal {
    Flag(Flag),
    Named(RawExternalName),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExternalName {
    pub name: Option<Text>,
}

impl RawExternal {
    pub fn is_external(&self) -> bool {
        match self {
            RawExternal::Flag(f) => f.0,
            RawExternal::Named(_) => true,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            RawExternal::Named(n) => n.name.as_ref().map(|n| n.0.as_str()),
            RawExternal::Flag(_) => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStackSettings {
    pub log_lines: Option<Count>,
    pub debounce: Option<Text>,
    pub settle: Option<Text>,
}

/// A scalar (string, number or boolean) kept as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(super::yaml::go_float_text(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean, also written as the string `"true"`/`"false"` (after interpolation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(Flag(true)),
                    "false" => Ok(Flag(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A non-negative integer, also written as a string of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map(Count)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                v.trim()
                    .parse()
                    .map(Count)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A typed-layer failure: where, and serde's reason.
#[derive(Debug)]
pub(crate) struct ShapeError {
    pub path: KeyPath,
    pub message: String,
}

pub(crate) fn deserialize(root: &Node) -> Result<RawFile, ShapeError> {
    let json = root.to_json();
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = KeyPath(
            e.path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                    serde_path_to_error::Segment::Enum { variant } => {
                        Some(Seg::Key(variant.clone()))
                    }
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect(),
        );
        ShapeError {
            path,
            message: e.into_inner().to_string(),
        }
    })
}
