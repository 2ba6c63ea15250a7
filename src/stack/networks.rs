//! What ties a service's container to others: top-level `networks:` and a service's
//! `networks:`, `links:`, `volumes_from:`, `ipc:`, and its `platform:`. Part of
//! resolution (resolve.rs calls in); each error names the position it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::ServiceName;

use super::error::Error;
use super::model::*;
use super::node::KeyPath;
use super::raw::*;
use super::resolve::{Context, DictMissing, check_name, dict, is_container_name, is_name, quoted};

/// The top-level networks, by key.
pub(crate) fn resolve_networks(
    cx: &Context,
    raw: BTreeMap<String, Option<RawNetwork>>,
    path: &KeyPath,
) -> Result<BTreeMap<String, Network>, Error> {
    let mut out = BTreeMap::new();
    for (key, net) in raw {
        let p = path.key(&key);
        check_name(cx, &p, &key, "network")?;
        let net = net.unwrap_or_default();
        let external = net.external.as_ref().is_some_and(RawExternal::is_external);
        let legacy = net.external.as_ref().and_then(RawExternal::name);
        if let (Some(n), Some(l)) = (&net.name, legacy)
            && n.0 != l
        {
            return Err(cx.invalid(
                &p.key("external").key("name"),
                format!("'{l}' differs from the network's 'name: {}'", n.0),
                "one name: 'name: x' with 'external: true' (or the older 'external: {name: x}')",
            ));
        }
        let name = match net.name {
            Some(n) => n.0,
            None => match legacy {
                Some(l) => l.to_string(),
                // An external network is looked up by its key, as in Compose.
                None if external => key.clone(),
                None => cx.project.volume_name(&key),
            },
        };
        let ipam = match net.ipam {
            Some(i) => Some(ipam(cx, i, &p.key("ipam"))?),
            None => None,
        };
        let flag = |f: Option<Flag>| f.is_some_and(|f| f.0);
        out.insert(
            key.clone(),
            Network {
                key,
                name,
                external,
                driver: net.driver.map(|t| t.0),
                driver_opts: match net.driver_opts {
                    Some(d) => dict(cx, d, &p.key("driver_opts"), DictMissing::Empty)?,
                    None => BTreeMap::new(),
                },
                internal: flag(net.internal),
                attachable: flag(net.attachable),
                enable_ipv6: flag(net.enable_ipv6),
                ipam,
                labels: match net.labels {
                    Some(l) => dict(cx, l, &p.key("labels"), DictMissing::Empty)?,
                    None => BTreeMap::new(),
                },
            },
        );
    }
    Ok(out)
}

fn ipam(cx: &Context, raw: RawIpam, path: &KeyPath) -> Result<Ipam, Error> {
    let mut pools = Vec::new();
    for (i, pool) in raw.config.unwrap_or_default().into_iter().enumerate() {
        let pp = path.key("config").index(i);
        if let Some(s) = &pool.subnet {
            subnet(cx, &s.0, &pp.key("subnet"))?;
        }
        if let Some(s) = &pool.ip_range {
            subnet(cx, &s.0, &pp.key("ip_range"))?;
        }
        if let Some(g) = &pool.gateway {
            address(cx, &g.0, &pp.key("gateway"))?;
        }
        pools.push(IpamPool {
            subnet: pool.subnet.map(|t| t.0),
            ip_range: pool.ip_range.map(|t| t.0),
            gateway: pool.gateway.map(|t| t.0),
            aux_addresses: match pool.aux_addresses {
                Some(d) => dict(cx, d, &pp.key("aux_addresses"), DictMissing::Empty)?,
                None => BTreeMap::new(),
            },
        });
    }
    Ok(Ipam {
        driver: raw.driver.map(|t| t.0),
        pools,
        options: match raw.options {
            Some(d) => dict(cx, d, &path.key("options"), DictMissing::Empty)?,
            None => BTreeMap::new(),
        },
    })
}

/// `10.5.0.0/16` or `fd00::/64`.
fn subnet(cx: &Context, s: &str, path: &KeyPath) -> Result<(), Error> {
    let ok = s.split_once('/').is_some_and(|(ip, bits)| {
        match (
            ip.parse::<Ipv4Addr>(),
            ip.parse::<Ipv6Addr>(),
            bits.parse::<u8>(),
        ) {
            (Ok(_), _, Ok(b)) => b <= 32,
            (_, Ok(_), Ok(b)) => b <= 128,
            _ => false,
        }
    });
    if ok {
        Ok(())
    } else {
        Err(cx.invalid(
            path,
            format!("'{s}' is not a subnet"),
            "an address and a prefix length: '10.5.0.0/16', 'fd00:1::/64'",
        ))
    }
}

fn address(cx: &Context, s: &str, path: &KeyPath) -> Result<(), Error> {
    if s.parse::<Ipv4Addr>().is_ok() || s.parse::<Ipv6Addr>().is_ok() {
        Ok(())
    } else {
        Err(cx.invalid(
            path,
            format!("'{s}' is not an IP address"),
            "an address such as '10.5.0.1' or 'fd00::1'",
        ))
    }
}

/// A service's `networks:`, each checked to be declared at the top level (`default`
/// always is).
pub(crate) fn service_networks(
    cx: &Context,
    raw: RawServiceNetworks,
    path: &KeyPath,
    declared: &BTreeMap<String, Network>,
) -> Result<BTreeMap<String, ServiceNetwork>, Error> {
    let entries: Vec<(KeyPath, String, RawServiceNetwork)> = match raw {
        RawServiceNetworks::List(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, t)| (path.index(i), t.0, RawServiceNetwork::default()))
            .collect(),
        RawServiceNetworks::Map(m) => m
            .into_iter()
            .map(|(k, v)| (path.key(&k), k, v.unwrap_or_default()))
            .collect(),
    };
    let mut out = BTreeMap::new();
    for (p, key, settings) in entries {
        if key != "default" && !declared.contains_key(&key) {
            let mut known: Vec<&str> = declared.keys().map(String::as_str).collect();
            known.push("default");
            return Err(Error::Invalid {
                at: cx.at_key(&p),
                key: p.to_string(),
                message: format!("network '{key}' is not declared under the top-level 'networks:'"),
                allowed: format!(
                    "{}; or declare '{key}' under the top-level 'networks:'",
                    quoted(&known)
                ),
            });
        }
        let mut aliases = Vec::new();
        for (i, a) in settings.aliases.unwrap_or_default().into_iter().enumerate() {
            if a.0.is_empty() || a.0.contains(char::is_whitespace) {
                return Err(cx.invalid(
                    &p.key("aliases").index(i),
                    format!("'{}' is not a host name", a.0),
                    "a name without spaces, e.g. 'db' or 'db.internal'",
                ));
            }
            if !aliases.contains(&a.0) {
                aliases.push(a.0);
            }
        }
        let ipv4_address = match settings.ipv4_address {
            Some(a) if a.0.parse::<Ipv4Addr>().is_ok() => Some(a.0),
            Some(a) => {
                return Err(cx.invalid(
                    &p.key("ipv4_address"),
                    format!("'{}' is not an IPv4 address", a.0),
                    "an address in the network's subnet, e.g. '172.28.1.5'",
                ));
            }
            None => None,
        };
        let ipv6_address = match settings.ipv6_address {
            Some(a) if a.0.parse::<Ipv6Addr>().is_ok() => Some(a.0),
            Some(a) => {
                return Err(cx.invalid(
                    &p.key("ipv6_address"),
                    format!("'{}' is not an IPv6 address", a.0),
                    "an address in the network's subnet, e.g. 'fd00:1::5'",
                ));
            }
            None => None,
        };
        out.insert(
            key,
            ServiceNetwork {
                aliases,
                ipv4_address,
                ipv6_address,
            },
        );
    }
    Ok(out)
}

/// `links: [db, "db:database"]` as (service, alias).
pub(crate) fn links(
    cx: &Context,
    raw: Vec<Text>,
    path: &KeyPath,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let (service, alias) = match t.0.split_once(':') {
            Some((s, a)) => (s.to_string(), a.to_string()),
            None => (t.0.clone(), t.0.clone()),
        };
        if !is_name(&service) || alias.is_empty() || alias.contains(char::is_whitespace) {
            return Err(cx.invalid(
                &path.index(i),
                format!("'{}' is not a link", t.0),
                "'SERVICE' or 'SERVICE:ALIAS'",
            ));
        }
        out.push((service, alias));
    }
    Ok(out)
}

const VOLUMES_FROM_ALLOWED: &str =
    "'SERVICE', 'SERVICE:ro', 'container:NAME' or 'container:NAME:ro' ('rw' is the default)";

/// `volumes_from: [app, "app:ro", "container:legacy:rw"]`.
pub(crate) fn volumes_from(
    cx: &Context,
    raw: Vec<Text>,
    path: &KeyPath,
) -> Result<Vec<VolumesFrom>, Error> {
    let mut out = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let bad = || {
            cx.invalid(
                &path.index(i),
                format!("'{}' is not a volumes_from entry", t.0),
                VOLUMES_FROM_ALLOWED,
            )
        };
        let (container, rest) = match t.0.strip_prefix("container:") {
            Some(rest) => (true, rest),
            None => (false, t.0.as_str()),
        };
        let (name, read_only) = match rest.split_once(':') {
            Some((n, "ro")) => (n, true),
            Some((n, "rw")) => (n, false),
            Some(_) => return Err(bad()),
            None => (rest, false),
        };
        let from = if container && is_container_name(name) {
            VolumesFromSource::Container(name.to_string())
        } else if !container && is_name(name) {
            VolumesFromSource::Service(name.to_string())
        } else {
            return Err(bad());
        };
        out.push(VolumesFrom { from, read_only });
    }
    Ok(out)
}

/// `ipc:` as the daemon takes it, with `service:NAME` kept for the engine.
pub(crate) fn ipc(cx: &Context, mode: &str, path: &KeyPath) -> Result<String, Error> {
    let ok = match mode.split_once(':') {
        None => matches!(mode, "none" | "private" | "shareable" | "host"),
        Some(("service", s)) => is_name(s),
        Some(("container", c)) => is_container_name(c),
        Some(_) => false,
    };
    if ok {
        Ok(mode.to_string())
    } else {
        Err(cx.invalid(
            path,
            format!("unknown IPC mode '{mode}'"),
            "'none', 'private', 'shareable', 'host', 'service:NAME', 'container:NAME'",
        ))
    }
}

/// `platform: linux/amd64` (`os/arch[/variant]`), as the daemon's `platform` takes it.
pub(crate) fn platform(cx: &Context, p: &str, path: &KeyPath) -> Result<String, Error> {
    let parts: Vec<&str> = p.split('/').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts.iter().all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        });
    if ok {
        Ok(p.to_ascii_lowercase())
    } else {
        Err(cx.invalid(
            path,
            format!("'{p}' is not a platform"),
            "'OS/ARCH' or 'OS/ARCH/VARIANT', e.g. 'linux/amd64', 'linux/arm64/v8'",
        ))
    }
}

/// The services a service's container needs to exist first, besides `depends_on`:
/// `links`, `volumes_from` of a service, `ipc` and `network_mode` of `service:NAME`
/// (Compose adds these as `depends_on` with `service_started`).
pub(crate) fn implicit_dependencies(options: &ContainerOptions) -> Vec<ServiceName> {
    let mut out: Vec<ServiceName> = Vec::new();
    let mut add = |s: &str| {
        let n = ServiceName::new(s);
        if !out.contains(&n) {
            out.push(n);
        }
    };
    for (s, _) in &options.links {
        add(s);
    }
    for v in &options.volumes_from {
        if let VolumesFromSource::Service(s) = &v.from {
            add(s);
        }
    }
    for mode in [&options.ipc, &options.network_mode].into_iter().flatten() {
        if let Some(s) = mode.strip_prefix("service:") {
            add(s);
        }
    }
    out
}

/// Each service that `links`, `volumes_from`, `ipc` or `network_mode` names must be in
/// the file: the error points at the entry that names it (before the implicit
/// `depends_on` would be reported at a key the file does not have).
pub(crate) fn check_references(
    cx: &Context,
    services: &BTreeMap<ServiceName, Service>,
    known: &BTreeSet<&str>,
) -> Result<(), Error> {
    for (name, svc) in services {
        let base = KeyPath::root().key("services").key(name.as_str());
        let o = &svc.options;
        let mut refs: Vec<(KeyPath, &str)> = Vec::new();
        for (i, (s, _)) in o.links.iter().enumerate() {
            refs.push((base.key("links").index(i), s));
        }
        for (i, v) in o.volumes_from.iter().enumerate() {
            if let VolumesFromSource::Service(s) = &v.from {
                refs.push((base.key("volumes_from").index(i), s));
            }
        }
        for (key, mode) in [("ipc", &o.ipc), ("network_mode", &o.network_mode)] {
            if let Some(s) = mode.as_deref().and_then(|m| m.strip_prefix("service:")) {
                refs.push((base.key(key), s));
            }
        }
        for (p, s) in refs {
            if s == name.as_str() {
                return Err(cx.invalid(
                    &p,
                    format!("service '{s}' refers to itself"),
                    "another service of the file",
                ));
            }
            if !known.contains(s) {
                return Err(Error::UnknownDependency {
                    at: cx.at(&p),
                    key: p.to_string(),
                    service: s.to_string(),
                    allowed: quoted(&known.iter().copied().collect::<Vec<_>>()),
                });
            }
        }
    }
    Ok(())
}
