//! From the raw structs to the resolved [`Stack`]: short syntax expanded, paths made
//! absolute, env files read, profiles applied, references between services and volumes
//! checked. Every error names the position of what it is about.
//!
//! Reads only the files the stack names (env files, the existence of bind sources and
//! build contexts); must not parse YAML (yaml.rs) nor know serde (raw.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::model::{ProjectName, Protocol, ServiceName};

use super::envfile;
use super::error::{Error, InterpolationError, MissingBind};
use super::interpolate::interpolate_tracking;
use super::merge::Origins;
use super::model::*;
use super::node::{KeyPath, Node, Value};
use super::raw::*;

pub(crate) const PORT_ALLOWED: &str = "'5432', '8080:80', '0.0.0.0:8080:80', '127.0.0.1::80', '[::1]:8080:80', ranges like '8000-8001:8000-8001', an optional '/tcp', '/udp' or '/sctp', or a mapping with 'target', 'published', 'host_ip', 'protocol'; ports 1-65535";
pub(crate) const VOLUME_ALLOWED: &str = "'name:/path', 'name:/path:ro', './dir:/path', '/abs:/path[:ro]', '~/dir:/path', '/path' (anonymous), or a mapping with 'type' (volume, bind, tmpfs), 'source', 'target', 'read_only'";
pub(crate) const DURATION_ALLOWED: &str = "a duration like '500ms', '10s', '1m30s', '1h'";
const RESTART_ALLOWED: &str = "'no', 'always', 'on-failure', 'on-failure:N', 'unless-stopped'";
const CONDITION_ALLOWED: &str =
    "'service_started', 'service_healthy', 'service_completed_successfully'";
const TEST_ALLOWED: &str =
    "['CMD', 'prog', 'arg'…], ['CMD-SHELL', 'command'], ['NONE'], or a string run by the shell";
const WATCH_ACTIONS: &str = "'sync', 'sync+restart', 'rebuild', 'restart'";
const CONSOLES: &[&str] = &["psql"];

/// What resolution needs besides the raw file.
pub(crate) struct Context<'a> {
    pub root: &'a Node,
    /// Which file each part of `root` came from (several files are merged into it).
    pub origins: &'a Origins,
    pub dir: &'a Path,
    /// Variables for interpolation and for `- KEY` entries: environment over `.env`.
    pub vars: &'a BTreeMap<String, String>,
    pub home: Option<&'a str>,
    pub project: &'a ProjectName,
    pub profiles: &'a BTreeSet<String>,
    /// Bind-mount sources found missing so far: all are reported together.
    pub missing_binds: std::cell::RefCell<Vec<MissingBind>>,
}

impl Context<'_> {
    pub fn at(&self, path: &KeyPath) -> Position {
        self.origins.position(self.root, path, false)
    }

    pub fn at_key(&self, path: &KeyPath) -> Position {
        self.origins.position(self.root, path, true)
    }

    pub fn invalid(&self, path: &KeyPath, message: impl Into<String>, allowed: &str) -> Error {
        Error::Invalid {
            at: self.at(path),
            key: path.to_string(),
            message: message.into(),
            allowed: allowed.to_string(),
        }
    }

    /// A path from the file made absolute: `~` from HOME, relative to the stack's dir.
    pub(crate) fn host_path(&self, raw: &str, path: &KeyPath) -> Result<PathBuf, Error> {
        let expanded = if raw == "~" || raw.starts_with("~/") {
            let Some(home) = self.home else {
                return Err(self.invalid(
                    path,
                    format!("'{raw}' starts with '~' but HOME is not set"),
                    "an absolute path, or one relative to the stack file's directory",
                ));
            };
            PathBuf::from(format!("{home}{}", &raw[1..]))
        } else {
            PathBuf::from(raw)
        };
        Ok(normalise(&self.dir.join(expanded)))
    }

    fn warn(&self, warnings: &mut Vec<Diagnostic>, path: &KeyPath, message: String) {
        warnings.push(Diagnostic {
            position: Some(self.at(path)),
            key: path.to_string(),
            message,
        });
    }
}

/// Lexical clean-up (`a/./b/../c` → `a/c`) so the same directory always has one name.
pub(crate) fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub(crate) fn is_enabled(profiles: &[String], active: &BTreeSet<String>) -> bool {
    profiles.is_empty() || active.contains("*") || profiles.iter().any(|p| active.contains(p))
}

pub(crate) fn raw_profiles(raw: Option<&RawService>) -> Vec<String> {
    raw.and_then(|s| s.profiles.as_ref())
        .map(|p| p.iter().map(|t| t.0.clone()).collect())
        .unwrap_or_default()
}

/// The parts of a [`Stack`] resolution produces.
pub(crate) struct Resolved {
    pub services: BTreeMap<ServiceName, Service>,
    pub volumes: BTreeMap<String, Volume>,
    pub networks: BTreeMap<String, Network>,
    pub settings: StackSettings,
}

/// Resolves the enabled services and the volumes; `warnings` collects what is ignored.
pub(crate) fn resolve(
    cx: &Context,
    raw: RawFile,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Resolved, Error> {
    let top = KeyPath::root();
    let volumes = resolve_volumes(cx, raw.volumes.unwrap_or_default(), &top.key("volumes"))?;
    let networks = super::networks::resolve_networks(
        cx,
        raw.networks.unwrap_or_default(),
        &top.key("networks"),
    )?;
    let settings = resolve_settings(cx, raw.settings, &top.key("x-devstack"))?;
    let raw_services = raw.services.unwrap_or_default();

    let mut all_profiles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, svc) in &raw_services {
        all_profiles.insert(name.clone(), raw_profiles(svc.as_ref()));
    }

    let secrets =
        super::secrets::definitions(cx, raw.secrets.unwrap_or_default(), &top.key("secrets"))?;
    let mut services = BTreeMap::new();
    for (name, mut svc) in raw_services {
        let path = top.key("services").key(&name);
        if !is_enabled(&raw_profiles(svc.as_ref()), cx.profiles) {
            continue;
        }
        let secret_refs = svc.as_mut().and_then(|s| s.secrets.take());
        let mut service = resolve_service(cx, &name, svc, &path, &volumes, &networks, warnings)?;
        if let Some(refs) = secret_refs {
            service.mounts.extend(super::secrets::mounts(
                cx,
                &secrets,
                refs,
                &path.key("secrets"),
                warnings,
            )?);
        }
        services.insert(service.name.clone(), service);
    }

    let mut missing = cx.missing_binds.take().into_iter();
    if let Some(first) = missing.next() {
        return Err(Error::MissingBindSource {
            at: first.at,
            key: first.key,
            path: first.path,
            more: missing.collect(),
        });
    }
    let known: BTreeSet<&str> = all_profiles.keys().map(String::as_str).collect();
    super::networks::check_references(cx, &services, &known)?;
    check_dependencies(cx, &mut services, &all_profiles)?;
    Ok(Resolved {
        services,
        volumes,
        networks,
        settings,
    })
}

fn resolve_settings(
    cx: &Context,
    raw: Option<RawStackSettings>,
    path: &KeyPath,
) -> Result<StackSettings, Error> {
    let Some(raw) = raw else {
        return Ok(StackSettings::default());
    };
    let log_lines = match raw.log_lines {
        Some(Count(0)) => {
            return Err(cx.invalid(
                &path.key("log_lines"),
                "must be at least 1",
                "a whole number of lines kept per service, e.g. 10000",
            ));
        }
        Some(Count(n)) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => None,
    };
    let debounce = match raw.debounce {
        Some(t) => Some(duration(cx, &t.0, &path.key("debounce"))?),
        None => None,
    };
    let settle = match raw.settle {
        Some(t) => Some(duration(cx, &t.0, &path.key("settle"))?),
        None => None,
    };
    Ok(StackSettings {
        log_lines,
        debounce,
        settle,
        secret_values: SecretValues::default(),
        port_variables: BTreeMap::new(),
    })
}

fn resolve_volumes(
    cx: &Context,
    raw: BTreeMap<String, Option<RawVolume>>,
    path: &KeyPath,
) -> Result<BTreeMap<String, Volume>, Error> {
    let mut out = BTreeMap::new();
    for (key, vol) in raw {
        let p = path.key(&key);
        check_name(cx, &p, &key, "volume")?;
        let vol = vol.unwrap_or(RawVolume {
            name: None,
            external: None,
            labels: None,
        });
        let external = vol.external.as_ref().is_some_and(RawExternal::is_external);
        let legacy = vol.external.as_ref().and_then(RawExternal::name);
        if let (Some(n), Some(l)) = (&vol.name, legacy)
            && n.0 != l
        {
            return Err(cx.invalid(
                &p.key("external").key("name"),
                format!("'{l}' differs from the volume's 'name: {}'", n.0),
                "one name: 'name: x' with 'external: true' (or the older 'external: {name: x}')",
            ));
        }
        let name = match vol.name {
            Some(n) => n.0,
            None if legacy.is_some() => legacy.map(str::to_string).unwrap_or_default(),
            // An external volume is looked up by its key, as in Compose.
            None if external => key.clone(),
            None => cx.project.volume_name(&key),
        };
        let labels = match vol.labels {
            Some(l) => dict(cx, l, &p.key("labels"), DictMissing::Empty)?,
            None => BTreeMap::new(),
        };
        out.insert(
            key.clone(),
            Volume {
                key,
                name,
                external,
                labels,
            },
        );
    }
    Ok(out)
}

fn network_mode(cx: &Context, mode: &str, path: &KeyPath) -> Result<String, Error> {
    let ok = match mode.split_once(':') {
        None => matches!(mode, "host" | "none" | "bridge"),
        Some(("service", s)) => is_name(s),
        Some(("container", c)) => is_container_name(c),
        Some(_) => false,
    };
    if ok {
        Ok(mode.to_string())
    } else {
        Err(cx.invalid(
            path,
            format!("unknown network mode '{mode}'"),
            "'host', 'none', 'bridge', 'service:NAME' (another service of the file), 'container:NAME'",
        ))
    }
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub(super) fn is_container_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Fails unless `name` (a service, volume or network key at `path`) is a valid name.
pub(super) fn check_name(
    cx: &Context,
    path: &KeyPath,
    name: &str,
    kind: &str,
) -> Result<(), Error> {
    if is_name(name) {
        return Ok(());
    }
    Err(Error::Invalid {
        at: cx.at_key(path),
        key: path.to_string(),
        message: format!("'{name}' is not a valid {kind} name"),
        allowed: "letters, digits, '.', '_', '-'".into(),
    })
}

fn resolve_service(
    cx: &Context,
    name: &str,
    raw: Option<RawService>,
    path: &KeyPath,
    volumes: &BTreeMap<String, Volume>,
    networks: &BTreeMap<String, Network>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Service, Error> {
    check_name(cx, path, name, "service")?;
    let raw = raw.unwrap_or_default();
    let service_name = ServiceName::new(name);

    let build = match raw.build {
        Some(b) => Some(build(cx, b, &path.key("build"))?),
        None => None,
    };
    let image = match (raw.image, &build) {
        (Some(i), _) if !i.0.trim().is_empty() => i.0,
        (_, Some(_)) => cx.project.image_name(&service_name),
        (_, None) => {
            return Err(Error::NoImage {
                at: cx.at_key(path),
                key: path.to_string(),
            });
        }
    };

    let mut environment = BTreeMap::new();
    if let Some(files) = raw.env_file {
        env_files(cx, files, &path.key("env_file"), &mut environment)?;
    }
    if let Some(env) = raw.environment {
        for (k, v) in dict(cx, env, &path.key("environment"), DictMissing::Lookup)? {
            environment.insert(
                k,
                EnvValue {
                    value: v,
                    source: EnvSource::Inline,
                },
            );
        }
    }

    let mut ports = Vec::new();
    for (i, p) in raw.ports.into_iter().flatten().enumerate() {
        ports.extend(port(cx, p, &path.key("ports").index(i))?);
    }

    let mut mounts = Vec::new();
    for (i, m) in raw.volumes.into_iter().flatten().enumerate() {
        mounts.push(mount(
            cx,
            m,
            &path.key("volumes").index(i),
            volumes,
            warnings,
        )?);
    }

    let depends_on = match raw.depends_on {
        Some(d) => dependencies(cx, d, &path.key("depends_on"))?,
        None => BTreeMap::new(),
    };

    let healthcheck = match raw.healthcheck {
        Some(h) => Some(healthcheck(cx, h, &path.key("healthcheck"))?),
        None => None,
    };

    let restart = match raw.restart {
        Some(r) => restart(cx, &r.0, &path.key("restart"))?,
        None => RestartPolicy::No,
    };

    let labels = match raw.labels {
        Some(l) => dict(cx, l, &path.key("labels"), DictMissing::Empty)?,
        None => BTreeMap::new(),
    };

    let mut watch = Vec::new();
    if let Some(dev) = raw.develop {
        for (i, w) in dev.watch.into_iter().flatten().enumerate() {
            watch.push(watch_rule(
                cx,
                w,
                &path.key("develop").key("watch").index(i),
            )?);
        }
    }

    let settings = match raw.settings {
        Some(s) => {
            let (console, databases) = console(cx, s.console, &path.key("x-devstack"))?;
            let settle = match s.settle {
                Some(t) => Some(duration(cx, &t.0, &path.key("x-devstack").key("settle"))?),
                None => None,
            };
            let airflow = match s.airflow {
                Some(a) if super::model::AIRFLOW_ROLES.contains(&a.0.as_str()) => Some(a.0),
                Some(a) => {
                    return Err(cx.invalid(
                        &path.key("x-devstack").key("airflow"),
                        format!("unknown Airflow component '{}'", a.0),
                        &quoted(super::model::AIRFLOW_ROLES),
                    ));
                }
                None => None,
            };
            ServiceSettings {
                restart_on_change: s.restart_on_change.is_some_and(|f| f.0),
                console,
                databases,
                settle,
                airflow,
            }
        }
        None => ServiceSettings::default(),
    };

    let mut depends_on = depends_on;
    if raw.network_mode.is_some() && raw.networks.is_some() {
        return Err(cx.invalid(
            &path.key("networks"),
            "a service with 'network_mode' joins no networks of its own",
            "either 'network_mode' or 'networks', not both",
        ));
    }
    let flag = |f: Option<Flag>| f.is_some_and(|f| f.0);
    let texts = |v: Option<Vec<Text>>| -> Vec<String> {
        v.unwrap_or_default().into_iter().map(|t| t.0).collect()
    };
    let options = ContainerOptions {
        init: raw.init.map(|f| f.0),
        logging: raw
            .logging
            .map(|l| logging(cx, l, &path.key("logging")))
            .transpose()?,
        hostname: raw.hostname.map(|t| t.0),
        network_mode: match raw.network_mode {
            Some(m) => Some(network_mode(cx, &m.0, &path.key("network_mode"))?),
            None => None,
        },
        container_name: match raw.container_name {
            Some(n) if is_container_name(&n.0) => Some(n.0),
            Some(n) => {
                return Err(cx.invalid(
                    &path.key("container_name"),
                    format!("'{}' is not a valid container name", n.0),
                    "a letter or digit, then letters, digits, '_', '.', '-'",
                ));
            }
            None => None,
        },
        stdin_open: flag(raw.stdin_open),
        tty: flag(raw.tty),
        read_only: flag(raw.read_only),
        cap_add: texts(raw.cap_add),
        cap_drop: texts(raw.cap_drop),
        extra_hosts: match raw.extra_hosts {
            Some(h) => extra_hosts(cx, h, &path.key("extra_hosts"))?,
            None => Vec::new(),
        },
        shm_size: raw
            .shm_size
            .map(|t| bytes(cx, &t.0, &path.key("shm_size")))
            .transpose()?,
        sysctls: match raw.sysctls {
            Some(d) => dict(cx, d, &path.key("sysctls"), DictMissing::Empty)?,
            None => BTreeMap::new(),
        },
        tmpfs: tmpfs(cx, raw.tmpfs, &path.key("tmpfs"))?,
        ulimits: ulimits(cx, raw.ulimits, &path.key("ulimits"))?,
        expose: expose(cx, raw.expose, &path.key("expose"))?,
        resources: match raw.deploy.and_then(|d| d.resources) {
            Some(r) => resources(cx, r, &path.key("deploy").key("resources"))?,
            None => Resources::default(),
        },
        networks: match raw.networks {
            Some(n) => super::networks::service_networks(cx, n, &path.key("networks"), networks)?,
            None => BTreeMap::new(),
        },
        links: match raw.links {
            Some(l) => super::networks::links(cx, l, &path.key("links"))?,
            None => Vec::new(),
        },
        volumes_from: match raw.volumes_from {
            Some(v) => super::networks::volumes_from(cx, v, &path.key("volumes_from"))?,
            None => Vec::new(),
        },
        ipc: match raw.ipc {
            Some(m) => Some(super::networks::ipc(cx, &m.0, &path.key("ipc"))?),
            None => None,
        },
        platform: match raw.platform {
            Some(p) => Some(super::networks::platform(cx, &p.0, &path.key("platform"))?),
            None => None,
        },
    };
    // `network_mode`/`ipc: service:x`, `links` and `volumes_from` need x's container
    // first: Compose adds them to `depends_on`.
    for other in super::networks::implicit_dependencies(&options) {
        depends_on.entry(other).or_insert(Dependency {
            condition: Condition::Started,
            required: true,
            restart: false,
        });
    }

    Ok(Service {
        options,
        name: service_name,
        image,
        build,
        command: match raw.command {
            Some(c) => Some(command(cx, c, &path.key("command"))?),
            None => None,
        },
        entrypoint: match raw.entrypoint {
            Some(c) => Some(command(cx, c, &path.key("entrypoint"))?),
            None => None,
        },
        environment,
        ports,
        mounts,
        depends_on,
        healthcheck,
        restart,
        stop_grace_period: match raw.stop_grace_period {
            Some(t) => Some(duration(cx, &t.0, &path.key("stop_grace_period"))?),
            None => None,
        },
        stop_signal: match raw.stop_signal {
            Some(t) => Some(stop_signal(cx, t.0, &path.key("stop_signal"))?),
            None => None,
        },
        working_dir: raw.working_dir.map(|t| t.0),
        user: raw.user.map(|t| t.0),
        labels,
        profiles: raw_profiles_of(raw.profiles),
        watch,
        settings,
    })
}

fn logging(cx: &Context, raw: RawLogging, path: &KeyPath) -> Result<Logging, Error> {
    let driver = raw.driver.map(|t| t.0);
    if let Some(d) = &driver
        && (d.is_empty() || d.contains(char::is_whitespace))
    {
        return Err(cx.invalid(
            &path.key("driver"),
            format!("'{d}' is not a log driver name"),
            "a driver the daemon knows: 'json-file', 'local', 'journald', 'syslog', 'none', …",
        ));
    }
    let mut options = BTreeMap::new();
    for (k, v) in raw.options.unwrap_or_default() {
        // Compose passes options as strings; `max-file: 3` is written as a number.
        options.insert(k, v.map(|t| t.0).unwrap_or_default());
    }
    Ok(Logging { driver, options })
}

const BYTES_ALLOWED: &str = "a size like '64m', '1g', '512k', '1.5gb' or a number of bytes";

/// Docker's sizes (`units.RAMInBytes`): a number with an optional binary unit.
pub(crate) fn parse_bytes(s: &str) -> Result<i64, String> {
    let bad = || format!("'{s}' is not a size");
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    let v = n * mult as f64;
    if v > i64::MAX as f64 {
        return Err(format!("'{s}' is too large"));
    }
    Ok(v as i64)
}

fn bytes(cx: &Context, s: &str, path: &KeyPath) -> Result<i64, Error> {
    parse_bytes(s).map_err(|m| cx.invalid(path, m, BYTES_ALLOWED))
}

fn extra_hosts(cx: &Context, raw: RawExtraHosts, path: &KeyPath) -> Result<Vec<String>, Error> {
    const ALLOWED: &str = "'host:ip' or 'host=ip' entries, or a mapping of host names to addresses; an address is an IP or 'host-gateway'";
    let mut pairs: Vec<(String, String, KeyPath)> = Vec::new();
    match raw {
        RawExtraHosts::List(items) => {
            for (i, t) in items.into_iter().enumerate() {
                let p = path.index(i);
                // `host=ip` is Compose's form that also fits IPv6; `host:ip` the classic.
                let (h, ip) = t
                    .0
                    .split_once('=')
                    .or_else(|| t.0.split_once(':'))
                    .ok_or_else(|| cx.invalid(&p, format!("'{}' has no address", t.0), ALLOWED))?;
                pairs.push((h.to_string(), ip.to_string(), p));
            }
        }
        RawExtraHosts::Map(m) => {
            for (h, ips) in m {
                let p = path.key(&h);
                match ips {
                    RawOneOrMany::One(ip) => pairs.push((h, ip.0, p)),
                    RawOneOrMany::Many(list) => {
                        for (i, ip) in list.into_iter().enumerate() {
                            pairs.push((h.clone(), ip.0, p.index(i)));
                        }
                    }
                }
            }
        }
    }
    pairs
        .into_iter()
        .map(|(h, ip, p)| {
            let addr = ip.trim_start_matches('[').trim_end_matches(']');
            if h.is_empty() || h.contains(char::is_whitespace) {
                return Err(cx.invalid(&p, format!("'{h}' is not a host name"), ALLOWED));
            }
            if addr != "host-gateway" && addr.parse::<std::net::IpAddr>().is_err() {
                return Err(cx.invalid(&p, format!("'{ip}' is not an IP address"), ALLOWED));
            }
            Ok(format!("{h}:{addr}"))
        })
        .collect()
}

fn tmpfs(
    cx: &Context,
    raw: Option<RawOneOrMany>,
    path: &KeyPath,
) -> Result<BTreeMap<String, String>, Error> {
    let items: Vec<(String, KeyPath)> = match raw {
        None => return Ok(BTreeMap::new()),
        Some(RawOneOrMany::One(t)) => vec![(t.0, path.clone())],
        Some(RawOneOrMany::Many(v)) => v
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t.0, path.index(i)))
            .collect(),
    };
    let mut out = BTreeMap::new();
    for (item, p) in items {
        let (target, opts) = item.split_once(':').unwrap_or((item.as_str(), ""));
        if !target.starts_with('/') {
            return Err(cx.invalid(
                &p,
                format!("'{target}' is not an absolute path in the container"),
                "'/path' or '/path:size=64m,mode=1777'",
            ));
        }
        out.insert(target.to_string(), opts.to_string());
    }
    Ok(out)
}

fn ulimits(
    cx: &Context,
    raw: Option<BTreeMap<String, RawUlimit>>,
    path: &KeyPath,
) -> Result<BTreeMap<String, Ulimit>, Error> {
    const ALLOWED: &str = "a number, or a mapping with 'soft' and 'hard' numbers ('soft' not above 'hard'); -1 for unlimited";
    let mut out = BTreeMap::new();
    for (name, limit) in raw.unwrap_or_default() {
        let p = path.key(&name);
        let num = |t: &Text, p: &KeyPath| {
            t.0.trim()
                .parse::<i64>()
                .map_err(|_| cx.invalid(p, format!("'{}' is not a number", t.0), ALLOWED))
        };
        let u = match &limit {
            RawUlimit::Single(t) => {
                let n = num(t, &p)?;
                Ulimit { soft: n, hard: n }
            }
            RawUlimit::Pair(pair) => Ulimit {
                soft: num(&pair.soft, &p.key("soft"))?,
                hard: num(&pair.hard, &p.key("hard"))?,
            },
        };
        if u.hard >= 0 && (u.soft > u.hard || u.soft < 0) {
            return Err(cx.invalid(
                &p,
                format!("soft limit {} is above hard limit {}", u.soft, u.hard),
                ALLOWED,
            ));
        }
        out.insert(name, u);
    }
    Ok(out)
}

fn expose(cx: &Context, raw: Option<Vec<Text>>, path: &KeyPath) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for (i, t) in raw.unwrap_or_default().into_iter().enumerate() {
        let bad = |m: String| cx.invalid(&path.index(i), m, "'80', '80/udp', '8000-8010'");
        let (spec, proto) = match t.0.rsplit_once('/') {
            Some((s, p)) => (s, protocol(p).map_err(bad)?),
            None => (t.0.as_str(), Protocol::Tcp),
        };
        let (a, b) = port_range(spec).map_err(bad)?;
        for port in a..=b {
            let key = format!("{port}/{}", proto.as_str());
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    Ok(out)
}

fn resources(cx: &Context, raw: RawResources, path: &KeyPath) -> Result<Resources, Error> {
    let mut out = Resources::default();
    if let Some(l) = raw.limits {
        let p = path.key("limits");
        if let Some(c) = l.cpus {
            let n: f64 =
                c.0.trim()
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite() && *n > 0.0)
                    .ok_or_else(|| {
                        cx.invalid(
                            &p.key("cpus"),
                            format!("'{}' is not a number of CPUs", c.0),
                            "a positive number like '0.5' or '2'",
                        )
                    })?;
            out.nano_cpus = Some((n * 1e9) as i64);
        }
        if let Some(m) = l.memory {
            out.memory = Some(bytes(cx, &m.0, &p.key("memory"))?);
        }
        if let Some(n) = l.pids {
            out.pids = Some(n.0.trim().parse().map_err(|_| {
                cx.invalid(
                    &p.key("pids"),
                    format!("'{}' is not a number", n.0),
                    "a whole number of processes",
                )
            })?);
        }
    }
    if let Some(r) = raw.reservations {
        // CPU and pids reservations are Swarm's; Compose passes only memory to a container.
        if let Some(m) = r.memory {
            out.memory_reservation =
                Some(bytes(cx, &m.0, &path.key("reservations").key("memory"))?);
        }
    }
    Ok(out)
}

/// A signal as the daemon takes it: a name (`SIGINT`, `INT`) or a number.
fn stop_signal(cx: &Context, s: String, path: &KeyPath) -> Result<String, Error> {
    let t = s.trim();
    let name = t.strip_prefix("SIG").unwrap_or(t);
    let valid = (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        || t.parse::<u8>().is_ok_and(|n| n > 0);
    if valid {
        Ok(t.to_string())
    } else {
        Err(cx.invalid(
            path,
            format!("'{s}' is not a signal"),
            "a signal name such as 'SIGTERM', 'SIGINT' or 'SIGQUIT', or its number",
        ))
    }
}

fn raw_profiles_of(p: Option<Vec<Text>>) -> Vec<String> {
    p.unwrap_or_default().into_iter().map(|t| t.0).collect()
}

pub(super) fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn build(cx: &Context, raw: RawBuild, path: &KeyPath) -> Result<Build, Error> {
    let (context, dockerfile, args, target, context_path) = match raw {
        RawBuild::Context(c) => (c.0, None, None, None, path.clone()),
        RawBuild::Full(f) => (
            f.context.map(|c| c.0).unwrap_or_else(|| ".".into()),
            f.dockerfile.map(|d| d.0),
            f.args,
            f.target.map(|t| t.0),
            path.key("context"),
        ),
    };
    if context.contains("://") || context.starts_with("git@") {
        return Err(cx.invalid(
            &context_path,
            format!("remote build context '{context}' is not supported"),
            "a local directory, relative to the stack file's directory or absolute",
        ));
    }
    let dir = cx.host_path(&context, &context_path)?;
    if !dir.is_dir() {
        return Err(cx.invalid(
            &context_path,
            format!("build context '{}' is not a directory", dir.display()),
            "a local directory, relative to the stack file's directory or absolute",
        ));
    }
    let args = match args {
        Some(a) => dict(cx, a, &path.key("args"), DictMissing::Lookup)?,
        None => BTreeMap::new(),
    };
    Ok(Build {
        context: dir,
        dockerfile: dockerfile.unwrap_or_else(|| "Dockerfile".into()),
        args,
        target,
    })
}

/// What a `KEY` without `=VALUE` means in a dictionary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum DictMissing {
    /// Take it from the variables; leave it out when unset (environment, build args).
    Lookup,
    /// An empty value (labels).
    Empty,
}

pub(super) fn dict(
    cx: &Context,
    raw: RawDict,
    path: &KeyPath,
    missing: DictMissing,
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    let mut put = |k: String, v: Option<String>| match (v, missing) {
        (Some(v), _) => {
            out.insert(k, v);
        }
        (None, DictMissing::Empty) => {
            out.insert(k, String::new());
        }
        (None, DictMissing::Lookup) => {
            if let Some(v) = cx.vars.get(&k) {
                out.insert(k, v.clone());
            }
        }
    };
    match raw {
        RawDict::Map(m) => {
            for (k, v) in m {
                put(k, v.map(|t| t.0));
            }
        }
        RawDict::List(items) => {
            for (i, item) in items.into_iter().enumerate() {
                let (k, v) = match item.0.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (item.0.clone(), None),
                };
                if k.trim().is_empty() || k.contains(char::is_whitespace) {
                    return Err(cx.invalid(
                        &path.index(i),
                        format!("'{}' has no valid name before '='", item.0),
                        "'KEY=VALUE' or 'KEY' (taken from the environment)",
                    ));
                }
                put(k, v);
            }
        }
    }
    Ok(out)
}

fn env_files(
    cx: &Context,
    raw: RawEnvFiles,
    path: &KeyPath,
    into: &mut BTreeMap<String, EnvValue>,
) -> Result<(), Error> {
    let items: Vec<(String, bool, KeyPath)> = match raw {
        RawEnvFiles::One(t) => vec![(t.0, true, path.clone())],
        RawEnvFiles::Many(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, f)| match f {
                RawEnvFile::Path(t) => (t.0, true, path.index(i)),
                RawEnvFile::Full { path: p, required } => {
                    (p.0, required.is_none_or(|r| r.0), path.index(i).key("path"))
                }
            })
            .collect(),
    };
    for (file, required, p) in items {
        let abs = cx.host_path(&file, &p)?;
        let text = match super::read_text_file(&abs) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if required {
                    return Err(Error::MissingEnvFile {
                        at: cx.at(&p),
                        key: p.to_string(),
                        path: abs,
                    });
                }
                continue;
            }
            // A directory (`env_file: .`), no permission…: said at the entry, so the
            // message names the stack file and a position as every other one does.
            Err(source) => {
                return Err(cx.invalid(
                    &p,
                    format!("cannot read env file '{}': {source}", abs.display()),
                    "a path to a readable file of KEY=VALUE lines",
                ));
            }
        };
        for (k, v) in read_env(&text, &abs, cx.vars)? {
            into.insert(
                k,
                EnvValue {
                    value: v,
                    source: EnvSource::EnvFile(abs.clone()),
                },
            );
        }
    }
    Ok(())
}

/// Reads env-file text into values: bare `KEY`s are taken from `vars` (or left out), and
/// `$VAR` in unquoted and double-quoted values is expanded from `vars`, then the file's
/// earlier entries, as Compose does. A value whose `$` is not valid interpolation
/// syntax is kept as written: env files hold passwords, and Compose's dotenv is lenient
/// there too.
pub(crate) fn read_env(
    text: &str,
    path: &Path,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in envfile::parse_entries(text, path)? {
        let value = match e.value {
            None => match vars.get(&e.key) {
                Some(v) => v.clone(),
                None => continue,
            },
            Some(v) if e.expand => {
                // As compose-go: the caller's variables first, then earlier lines.
                let lookup = |name: &str| {
                    vars.get(name).cloned().or_else(|| {
                        out.iter()
                            .rev()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                    })
                };
                match interpolate_tracking(&v, &lookup, &mut Vec::new()) {
                    Ok(x) => x,
                    Err(InterpolationError::Syntax { .. }) => v,
                    Err(InterpolationError::Required { variable, message }) => {
                        return Err(Error::EnvFile {
                            at: Position {
                                file: path.to_path_buf(),
                                line: e.line,
                                column: 1,
                            },
                            key: e.key,
                            message: format!(
                                "required variable '{variable}' is not set: {message}"
                            ),
                        });
                    }
                }
            }
            Some(v) => v,
        };
        out.push((e.key, value));
    }
    Ok(out)
}

fn command(cx: &Context, raw: RawCommand, path: &KeyPath) -> Result<Vec<String>, Error> {
    match raw {
        RawCommand::List(items) => Ok(items.into_iter().map(|t| t.0).collect()),
        RawCommand::String(s) => split_shell(&s).map_err(|m| {
            cx.invalid(
                path,
                m,
                "a list of arguments, or a string split like a shell does (quotes respected)",
            )
        }),
    }
}

/// Splits a command line into words the way a POSIX shell would, without expansions:
/// 'single' quotes are literal, "double" quotes allow `\"`, `\\`, `\$`, backslash
/// escapes the next character outside quotes.
pub(crate) fn split_shell(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed ' in '{s}'")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed \" in '{s}'")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed \" in '{s}'")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn port_number(s: &str) -> Result<u16, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a port number"))?;
    match n {
        0 => Err("port 0 is not allowed".into()),
        1..=65535 => Ok(n as u16),
        _ => Err(format!("port {n} is out of range")),
    }
}

/// `8000` or `8000-8003`, as an inclusive range.
fn port_range(s: &str) -> Result<(u16, u16), String> {
    match s.split_once('-') {
        Some((a, b)) => {
            // `-1` or `80-`: a half of a range is missing; the message quotes what was
            // written, not the empty half.
            if a.trim().is_empty() || b.trim().is_empty() {
                return Err(format!(
                    "'{s}' is not a port number or a range (a range is 'FROM-TO', e.g. '8000-8010')"
                ));
            }
            let (a, b) = (port_number(a)?, port_number(b)?);
            if b < a {
                return Err(format!("range '{s}' ends before it starts"));
            }
            Ok((a, b))
        }
        None => {
            let p = port_number(s)?;
            Ok((p, p))
        }
    }
}

fn protocol(s: &str) -> Result<Protocol, String> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        "sctp" => Ok(Protocol::Sctp),
        _ => Err(format!("unknown protocol '{s}'")),
    }
}

fn host_ip(s: &str) -> Result<String, String> {
    let inner = s.trim_start_matches('[').trim_end_matches(']');
    inner
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("'{s}' is not an IP address"))
}

/// Expands one host range and one container range into bindings.
fn bindings(
    ip: String,
    host: Option<(u16, u16)>,
    container: (u16, u16),
    proto: Protocol,
) -> Result<Vec<PortBinding>, String> {
    let n = container.1 - container.0;
    // A host range for a single container port: the daemon picks a free one of them.
    if let Some(h) = host
        && n == 0
        && h.1 > h.0
    {
        return Ok(vec![PortBinding {
            host_ip: ip,
            host_port: Some(h.0),
            host_port_end: Some(h.1),
            container_port: container.0,
            protocol: proto,
        }]);
    }
    if let Some(h) = host
        && h.1 - h.0 != n
    {
        return Err(format!(
            "host range {}-{} and container range {}-{} differ in length",
            h.0, h.1, container.0, container.1
        ));
    }
    Ok((0..=n)
        .map(|i| PortBinding {
            host_ip: ip.clone(),
            host_port: host.map(|h| h.0 + i),
            host_port_end: None,
            container_port: container.0 + i,
            protocol: proto,
        })
        .collect())
}

/// A short-syntax port: `[[ip:]host:]container[/proto]`. No address means 127.0.0.1.
pub(crate) fn parse_port(s: &str) -> Result<Vec<PortBinding>, String> {
    let (spec, proto) = match s.rsplit_once('/') {
        Some((spec, p)) => (spec, protocol(p)?),
        None => (s, Protocol::Tcp),
    };
    let (ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (addr, rest) = after
            .split_once(']')
            .ok_or_else(|| format!("missing ']' in '{s}'"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("expected ':' after ']' in '{s}'"))?;
        (Some(host_ip(addr)?), rest)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (ip, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [i, h, c]) => (Some(host_ip(i)?), Some(*h), *c),
        (Some(ip), [h, c]) => (Some(ip), Some(*h), *c),
        _ => {
            return Err(format!(
                "'{s}' has too many ':' (write an IPv6 address in brackets)"
            ));
        }
    };
    let container = port_range(container)?;
    let host = match host {
        Some(h) if !h.is_empty() => Some(port_range(h)?),
        _ => None,
    };
    bindings(
        ip.unwrap_or_else(|| "127.0.0.1".into()),
        host,
        container,
        proto,
    )
}

fn port(cx: &Context, raw: RawPort, path: &KeyPath) -> Result<Vec<PortBinding>, Error> {
    match raw {
        RawPort::Short(t) => parse_port(&t.0).map_err(|m| cx.invalid(path, m, PORT_ALLOWED)),
        RawPort::Long(l) => {
            let err = |k: &str| {
                let p = path.key(k);
                move |m: String| cx.invalid(&p, m, PORT_ALLOWED)
            };
            let target = port_number(&l.target.0).map_err(err("target"))?;
            let host = match &l.published {
                Some(p) if !p.0.is_empty() => Some(port_range(&p.0).map_err(err("published"))?),
                _ => None,
            };
            let ip = match &l.host_ip {
                Some(i) => host_ip(&i.0).map_err(err("host_ip"))?,
                None => "127.0.0.1".into(),
            };
            let proto = match &l.protocol {
                Some(p) => protocol(&p.0).map_err(err("protocol"))?,
                None => Protocol::Tcp,
            };
            bindings(ip, host, (target, target), proto).map_err(err("published"))
        }
    }
}

fn mount(
    cx: &Context,
    raw: RawMount,
    path: &KeyPath,
    volumes: &BTreeMap<String, Volume>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Mount, Error> {
    let bad = |m: String| cx.invalid(path, m, VOLUME_ALLOWED);
    let (kind, source, target, read_only, source_path) = match raw {
        RawMount::Short(t) => {
            let parts: Vec<&str> = t.0.split(':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [target] => (None, *target, None),
                [source, target] => (Some(*source), *target, None),
                [source, target, mode] => (Some(*source), *target, Some(*mode)),
                _ => return Err(bad(format!("'{}' has too many ':'", t.0))),
            };
            let mut read_only = false;
            for opt in mode.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
                match opt {
                    "ro" => read_only = true,
                    "rw" | "cached" | "delegated" | "consistent" => {}
                    "z" | "Z" | "nocopy" | "shared" | "slave" | "private" | "rshared"
                    | "rslave" | "rprivate" => cx.warn(
                        warnings,
                        path,
                        format!("mount option '{opt}' is not implemented by devstack; ignored"),
                    ),
                    _ => {
                        return Err(bad(format!(
                            "unknown mount option '{opt}' (use 'ro' or 'rw')"
                        )));
                    }
                }
            }
            let kind = match source {
                None => "anonymous",
                Some(s) if s.starts_with(['.', '/', '~']) => "bind",
                Some(_) => "volume",
            };
            (
                kind.to_string(),
                source.map(str::to_string),
                target.to_string(),
                read_only,
                path.clone(),
            )
        }
        RawMount::Long(l) => (
            l.kind.0,
            l.source.map(|s| s.0).filter(|s| !s.is_empty()),
            l.target.0,
            l.read_only.is_some_and(|f| f.0),
            path.key("source"),
        ),
    };
    if !target.starts_with('/') {
        return Err(bad(format!(
            "target '{target}' must be an absolute path in the container"
        )));
    }
    let source = match (kind.as_str(), source) {
        ("anonymous", _) | ("volume", None) => MountSource::Anonymous,
        ("volume", Some(name)) => {
            if !volumes.contains_key(&name) {
                let declared: Vec<&str> = volumes.keys().map(String::as_str).collect();
                return Err(Error::UndeclaredVolume {
                    at: cx.at(&source_path),
                    key: source_path.to_string(),
                    volume: name,
                    allowed: if declared.is_empty() {
                        "none".into()
                    } else {
                        quoted(&declared)
                    },
                });
            }
            MountSource::Volume(name)
        }
        ("bind", Some(src)) => {
            let abs = cx.host_path(&src, &source_path)?;
            if !abs.exists() {
                // Reported with every other missing one at the end of resolution.
                cx.missing_binds.borrow_mut().push(MissingBind {
                    at: cx.at(&source_path),
                    key: source_path.to_string(),
                    path: abs.clone(),
                });
            }
            MountSource::Bind(abs)
        }
        ("bind", None) => {
            return Err(bad("a bind mount needs a 'source'".into()));
        }
        ("tmpfs", _) => MountSource::Tmpfs,
        (other, _) => {
            return Err(cx.invalid(
                &path.key("type"),
                format!("mount type '{other}' is not supported"),
                "'volume', 'bind', 'tmpfs'",
            ));
        }
    };
    Ok(Mount {
        source,
        target,
        read_only,
    })
}

fn dependencies(
    cx: &Context,
    raw: RawDependsOn,
    path: &KeyPath,
) -> Result<BTreeMap<ServiceName, Dependency>, Error> {
    let started = Dependency {
        condition: Condition::Started,
        required: true,
        restart: false,
    };
    let mut out = BTreeMap::new();
    match raw {
        RawDependsOn::List(names) => {
            for n in names {
                out.insert(ServiceName::new(n.0), started.clone());
            }
        }
        RawDependsOn::Map(m) => {
            for (name, dep) in m {
                let p = path.key(&name);
                let dep = match dep {
                    None => started.clone(),
                    Some(d) => Dependency {
                        condition: match d.condition.as_ref().map(|c| c.0.as_str()) {
                            None | Some("service_started") => Condition::Started,
                            Some("service_healthy") => Condition::Healthy,
                            Some("service_completed_successfully") => {
                                Condition::CompletedSuccessfully
                            }
                            Some(other) => {
                                return Err(cx.invalid(
                                    &p.key("condition"),
                                    format!("unknown condition '{other}'"),
                                    CONDITION_ALLOWED,
                                ));
                            }
                        },
                        required: d.required.is_none_or(|f| f.0),
                        restart: d.restart.is_some_and(|f| f.0),
                    },
                };
                out.insert(ServiceName::new(name), dep);
            }
        }
    }
    Ok(out)
}

/// Unknown and disabled dependencies, then cycles (named `a -> b -> a`).
fn check_dependencies(
    cx: &Context,
    services: &mut BTreeMap<ServiceName, Service>,
    profiles: &BTreeMap<String, Vec<String>>,
) -> Result<(), Error> {
    let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
    for (name, svc) in services.iter_mut() {
        let base = KeyPath::root()
            .key("services")
            .key(name.as_str())
            .key("depends_on");
        let mut dropped = Vec::new();
        for (dep, d) in &svc.depends_on {
            let p = dep_path(cx, &base, dep.as_str());
            match profiles.get(dep.as_str()) {
                None if !d.required => dropped.push(dep.clone()),
                None => {
                    return Err(Error::UnknownDependency {
                        at: cx.at_key(&p),
                        key: p.to_string(),
                        service: dep.to_string(),
                        allowed: quoted(&known),
                    });
                }
                Some(dep_profiles) if !is_enabled(dep_profiles, cx.profiles) => {
                    if d.required {
                        return Err(Error::DisabledDependency {
                            at: cx.at_key(&p),
                            key: p.to_string(),
                            service: dep.to_string(),
                            profiles: dep_profiles.join(", "),
                        });
                    }
                    dropped.push(dep.clone());
                }
                Some(_) => {}
            }
        }
        for d in dropped {
            svc.depends_on.remove(&d);
        }
    }

    // Depth-first search; `trail` is the current chain so a back edge names the cycle.
    fn visit<'a>(
        name: &'a ServiceName,
        services: &'a BTreeMap<ServiceName, Service>,
        done: &mut BTreeSet<&'a ServiceName>,
        trail: &mut Vec<&'a ServiceName>,
    ) -> Option<Vec<&'a ServiceName>> {
        if let Some(at) = trail.iter().position(|n| *n == name) {
            let mut cycle = trail[at..].to_vec();
            cycle.push(name);
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        trail.push(name);
        if let Some(svc) = services.get(name) {
            for dep in svc.depends_on.keys() {
                if let Some(c) = visit(dep, services, done, trail) {
                    return Some(c);
                }
            }
        }
        trail.pop();
        done.insert(name);
        None
    }
    let mut done = BTreeSet::new();
    for name in services.keys() {
        if let Some(cycle) = visit(name, services, &mut done, &mut Vec::new()) {
            let (from, to) = (cycle[0], cycle[1]);
            let base = KeyPath::root()
                .key("services")
                .key(from.as_str())
                .key("depends_on");
            let p = dep_path(cx, &base, to.as_str());
            return Err(Error::DependencyCycle {
                at: cx.at_key(&p),
                key: p.to_string(),
                cycle: cycle
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> "),
            });
        }
    }
    Ok(())
}

/// The key path of one dependency: `depends_on.db` in the map form, `depends_on[i]` in
/// the list form.
fn dep_path(cx: &Context, base: &KeyPath, dep: &str) -> KeyPath {
    let list_index = match cx.root.at(base).map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .position(|n| matches!(&n.value, Value::String(s) if s == dep)),
        _ => None,
    };
    match list_index {
        Some(i) => base.index(i),
        None => base.key(dep),
    }
}

fn healthcheck(cx: &Context, raw: RawHealthcheck, path: &KeyPath) -> Result<Healthcheck, Error> {
    let test = if raw.disable.is_some_and(|f| f.0) {
        HealthTest::Disabled
    } else {
        let tp = path.key("test");
        match raw.test {
            // Compose keeps the image's test and applies the timings written here.
            None => HealthTest::FromImage,
            Some(RawCommand::String(s)) => HealthTest::Shell(s),
            Some(RawCommand::List(items)) => {
                let items: Vec<String> = items.into_iter().map(|t| t.0).collect();
                match items.split_first() {
                    Some((first, _)) if first == "NONE" => HealthTest::Disabled,
                    Some((first, rest)) if first == "CMD" && !rest.is_empty() => {
                        HealthTest::Cmd(rest.to_vec())
                    }
                    Some((first, rest)) if first == "CMD-SHELL" && !rest.is_empty() => {
                        HealthTest::Shell(rest.join(" "))
                    }
                    Some((first, _)) => {
                        return Err(cx.invalid(
                            &tp,
                            format!("a test list starts with 'CMD', 'CMD-SHELL' or 'NONE', not '{first}', and has a command after it"),
                            TEST_ALLOWED,
                        ));
                    }
                    None => return Err(cx.invalid(&tp, "empty test", TEST_ALLOWED)),
                }
            }
        }
    };
    let dur = |t: Option<Text>, k: &str| -> Result<Option<Duration>, Error> {
        t.map(|t| duration(cx, &t.0, &path.key(k))).transpose()
    };
    Ok(Healthcheck {
        test,
        interval: dur(raw.interval, "interval")?,
        timeout: dur(raw.timeout, "timeout")?,
        retries: match raw.retries {
            Some(Count(n)) => Some(u32::try_from(n).map_err(|_| {
                cx.invalid(
                    &path.key("retries"),
                    format!("{n} is too large"),
                    "a whole number",
                )
            })?),
            None => None,
        },
        start_period: dur(raw.start_period, "start_period")?,
        start_interval: dur(raw.start_interval, "start_interval")?,
    })
}

fn duration(cx: &Context, s: &str, path: &KeyPath) -> Result<Duration, Error> {
    parse_duration(s).map_err(|m| cx.invalid(path, m, DURATION_ALLOWED))
}

/// Go's duration syntax, as Compose uses: `1h2m3.5s`, `500ms`, `10us`, `0`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(n * secs).map_err(|_| bad())?;
    }
    Ok(total)
}

fn restart(cx: &Context, s: &str, path: &KeyPath) -> Result<RestartPolicy, Error> {
    Ok(match s {
        "no" => RestartPolicy::No,
        "always" => RestartPolicy::Always,
        "unless-stopped" => RestartPolicy::UnlessStopped,
        "on-failure" => RestartPolicy::OnFailure(None),
        other => match other.strip_prefix("on-failure:") {
            Some(n) => RestartPolicy::OnFailure(Some(n.parse().map_err(|_| {
                cx.invalid(
                    path,
                    format!("'{n}' is not a number of retries"),
                    RESTART_ALLOWED,
                )
            })?)),
            None => {
                return Err(cx.invalid(
                    path,
                    format!("unknown restart policy '{other}'"),
                    RESTART_ALLOWED,
                ));
            }
        },
    })
}

fn watch_rule(cx: &Context, raw: RawWatch, path: &KeyPath) -> Result<WatchRule, Error> {
    let action = match raw.action.0.as_str() {
        "sync" => WatchAction::Sync,
        "sync+restart" => WatchAction::SyncRestart,
        "rebuild" => WatchAction::Rebuild,
        "restart" => WatchAction::Restart,
        other => {
            return Err(cx.invalid(
                &path.key("action"),
                format!("watch action '{other}' is not supported"),
                WATCH_ACTIONS,
            ));
        }
    };
    let target = raw.target.map(|t| t.0);
    if matches!(action, WatchAction::Sync | WatchAction::SyncRestart) && target.is_none() {
        return Err(cx.invalid(
            path,
            format!(
                "action '{}' needs a 'target' path in the container",
                raw.action.0
            ),
            "'path', 'action', 'target' (for sync actions), 'ignore'",
        ));
    }
    Ok(WatchRule {
        path: cx.host_path(&raw.path.0, &path.key("path"))?,
        target,
        action,
        ignore: raw
            .ignore
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.0)
            .collect(),
    })
}

/// `x-devstack: console`, short (`psql`) or long (`{type: psql, databases: [..], ..}`).
fn console(
    cx: &Context,
    raw: Option<RawConsole>,
    path: &KeyPath,
) -> Result<(Option<String>, ConsoleDatabases), Error> {
    let path = path.key("console");
    let (kind, full) = match raw {
        None => return Ok((None, ConsoleDatabases::default())),
        Some(RawConsole::Short(t)) => (t, None),
        Some(RawConsole::Full(f)) => (f.kind.clone(), Some(f)),
    };
    if !CONSOLES.contains(&kind.0.as_str()) {
        let at = if full.is_some() {
            path.key("type")
        } else {
            path.clone()
        };
        return Err(cx.invalid(
            &at,
            format!("unknown console '{}'", kind.0),
            &quoted(CONSOLES),
        ));
    }
    let Some(f) = full else {
        return Ok((Some(kind.0), ConsoleDatabases::default()));
    };
    let databases: Vec<String> = f.databases.into_iter().flatten().map(|d| d.0).collect();
    let default = f.default.map(|d| d.0);
    if let Some(d) = &default
        && !databases.is_empty()
        && !databases.contains(d)
    {
        return Err(cx.invalid(
            &path.key("default"),
            format!("default database '{d}' is not in 'databases'"),
            &quoted(&databases.iter().map(String::as_str).collect::<Vec<_>>()),
        ));
    }
    Ok((
        Some(kind.0),
        ConsoleDatabases {
            databases,
            default,
            user_env: f.user_env.map(|u| u.0),
            password_env: f.password_env.map(|p| p.0),
        },
    ))
}
