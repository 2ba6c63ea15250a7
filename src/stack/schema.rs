//! Which keys may appear where: the Compose Specification's keys, split into those
//! devstack implements and those it only warns about, plus our `x-devstack` keys.
//!
//! This pass runs on the merged tree before typed deserialisation: it turns an unknown
//! key into an error with the nearest valid key, a known-but-unimplemented key into a
//! warning with its position (and removes it), and drops `x-*` extension fields. It
//! must not interpret values; resolve.rs does.

use std::path::Path;

use super::error::Error;
use super::model::{Diagnostic, Position};
use super::node::{KeyPath, Mark, Node, Value};

struct Rules {
    supported: &'static [&'static str],
    /// Keys of the Compose Specification that devstack reads past with a warning.
    unsupported: &'static [&'static str],
    /// Whether `x-*` extension keys are allowed (and ignored) here.
    extensions: bool,
}

static TOP: Rules = Rules {
    supported: &[
        "name",
        "services",
        "volumes",
        "networks",
        "include",
        "secrets",
        "x-devstack",
    ],
    unsupported: &["version", "models", "configs"],
    extensions: true,
};

static SERVICE: Rules = Rules {
    supported: &[
        "build",
        "cap_add",
        "cap_drop",
        "command",
        "container_name",
        "depends_on",
        "deploy",
        "develop",
        "entrypoint",
        "env_file",
        "environment",
        "expose",
        "extends",
        "extra_hosts",
        "healthcheck",
        "hostname",
        "image",
        "init",
        "ipc",
        "labels",
        "links",
        "logging",
        "network_mode",
        "networks",
        "platform",
        "ports",
        "profiles",
        "read_only",
        "restart",
        "secrets",
        "shm_size",
        "stdin_open",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "stop_grace_period",
        "stop_signal",
        "user",
        "volumes",
        "volumes_from",
        "working_dir",
        "x-devstack",
    ],
    unsupported: &[
        "annotations",
        "attach",
        "blkio_config",
        "cgroup",
        "cgroup_parent",
        "configs",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpu_shares",
        "cpus",
        "cpuset",
        "credential_spec",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "domainname",
        "external_links",
        "gpus",
        "group_add",
        "isolation",
        "label_file",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "mem_swappiness",
        "memswap_limit",
        "models",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "post_start",
        "pre_stop",
        "privileged",
        "provider",
        "pull_policy",
        "pull_refresh_after",
        "runtime",
        "scale",
        "security_opt",
        "storage_opt",
        "use_api_socket",
        "userns_mode",
        "uts",
    ],
    extensions: true,
};

static BUILD: Rules = Rules {
    supported: &["context", "dockerfile", "args", "target"],
    unsupported: &[
        "additional_contexts",
        "cache_from",
        "cache_to",
        "dockerfile_inline",
        "entitlements",
        "extra_hosts",
        "isolation",
        "labels",
        "network",
        "no_cache",
        "platforms",
        "privileged",
        "provenance",
        "pull",
        "sbom",
        "secrets",
        "shm_size",
        "ssh",
        "tags",
        "ulimits",
    ],
    extensions: true,
};

static HEALTHCHECK: Rules = Rules {
    supported: &[
        "test",
        "interval",
        "timeout",
        "retries",
        "start_period",
        "start_interval",
        "disable",
    ],
    unsupported: &[],
    extensions: true,
};

static DEVELOP: Rules = Rules {
    supported: &["watch"],
    unsupported: &[],
    extensions: true,
};

static WATCH: Rules = Rules {
    supported: &["path", "target", "action", "ignore"],
    unsupported: &["exec", "include", "initial_sync"],
    extensions: true,
};

static PORT: Rules = Rules {
    supported: &["target", "published", "host_ip", "protocol"],
    unsupported: &["app_protocol", "mode", "name"],
    extensions: true,
};

static SERVICE_VOLUME: Rules = Rules {
    supported: &["type", "source", "target", "read_only"],
    unsupported: &["bind", "volume", "tmpfs", "image", "consistency"],
    extensions: true,
};

static LOGGING: Rules = Rules {
    supported: &["driver", "options"],
    unsupported: &[],
    extensions: true,
};

static DEPLOY: Rules = Rules {
    supported: &["resources"],
    unsupported: &[
        "endpoint_mode",
        "labels",
        "mode",
        "placement",
        "replicas",
        "restart_policy",
        "rollback_config",
        "update_config",
    ],
    extensions: true,
};

static RESOURCES: Rules = Rules {
    supported: &["limits", "reservations"],
    unsupported: &[],
    extensions: true,
};

static RESOURCE: Rules = Rules {
    supported: &["cpus", "memory", "pids"],
    unsupported: &["devices", "generic_resources"],
    extensions: true,
};

static ULIMIT: Rules = Rules {
    supported: &["soft", "hard"],
    unsupported: &[],
    extensions: false,
};

static DEPENDENCY: Rules = Rules {
    supported: &["condition", "required", "restart"],
    unsupported: &[],
    extensions: true,
};

static ENV_FILE: Rules = Rules {
    supported: &["path", "required"],
    unsupported: &["format"],
    extensions: false,
};

static VOLUME: Rules = Rules {
    supported: &["name", "external", "labels"],
    unsupported: &["driver", "driver_opts"],
    extensions: true,
};

static NETWORK: Rules = Rules {
    supported: &[
        "name",
        "driver",
        "driver_opts",
        "ipam",
        "external",
        "internal",
        "attachable",
        "enable_ipv6",
        "labels",
    ],
    unsupported: &["enable_ipv4"],
    extensions: true,
};

static IPAM: Rules = Rules {
    supported: &["driver", "config", "options"],
    unsupported: &[],
    extensions: true,
};

static EXTENDS: Rules = Rules {
    supported: &["service", "file"],
    unsupported: &[],
    extensions: false,
};

static INCLUDE: Rules = Rules {
    supported: &["path", "project_directory", "env_file"],
    unsupported: &[],
    extensions: true,
};

static IPAM_POOL: Rules = Rules {
    supported: &["subnet", "ip_range", "gateway", "aux_addresses"],
    unsupported: &[],
    extensions: true,
};

static SECRET: Rules = Rules {
    supported: &["name", "file", "environment", "external"],
    unsupported: &["labels", "driver", "driver_opts", "template_driver"],
    extensions: true,
};

static SERVICE_SECRET: Rules = Rules {
    supported: &["source", "target", "uid", "gid", "mode"],
    unsupported: &[],
    extensions: true,
};

static SERVICE_NETWORK: Rules = Rules {
    supported: &["aliases", "ipv4_address", "ipv6_address"],
    unsupported: &[
        "driver_opts",
        "gw_priority",
        "interface_name",
        "link_local_ips",
        "mac_address",
        "priority",
    ],
    extensions: true,
};

static STACK_SETTINGS: Rules = Rules {
    supported: &["log_lines", "debounce", "settle"],
    unsupported: &[],
    extensions: false,
};

static SERVICE_SETTINGS: Rules = Rules {
    supported: &["restart_on_change", "console", "settle", "airflow"],
    unsupported: &[],
    extensions: false,
};

/// Why a Compose key devstack does not implement is ignored, where there is more to say.
fn unsupported_note(key: &str) -> &'static str {
    match key {
        "version" => "obsolete in Compose and ignored",
        _ => "a Compose key devstack does not implement yet; ignored",
    }
}

/// Checks every mapping devstack knows against its rules. Returns the warnings; an
/// unknown key is an error. Unimplemented keys and `x-*` extensions are removed so the
/// typed layer never sees them.
pub(crate) fn check(root: &mut Node, file: &Path) -> Result<Vec<Diagnostic>, Error> {
    let mut c = Checker {
        file,
        warnings: Vec::new(),
    };
    let top = KeyPath::root();
    c.check_map(root, &top, &TOP)?;
    let Value::Map(entries) = &mut root.value else {
        return Ok(c.warnings);
    };
    for e in entries.iter_mut() {
        let path = top.key(&e.key);
        match e.key.as_str() {
            "services" => {
                for (name, svc) in map_values(&mut e.value) {
                    c.check_service(svc, &path.key(&name))?;
                }
            }
            "volumes" => {
                for (name, vol) in map_values(&mut e.value) {
                    c.check_map(vol, &path.key(&name), &VOLUME)?;
                }
            }
            "networks" => {
                for (name, net) in map_values(&mut e.value) {
                    let np = path.key(&name);
                    c.check_map(net, &np, &NETWORK)?;
                    for (k, ipam) in map_values(net) {
                        if k == "ipam" {
                            let ip = np.key("ipam");
                            c.check_map(ipam, &ip, &IPAM)?;
                            for (k, pools) in map_values(ipam) {
                                if k == "config" {
                                    for (i, pool) in seq_values(pools).into_iter().enumerate() {
                                        c.check_map(pool, &ip.key("config").index(i), &IPAM_POOL)?;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "x-devstack" => c.check_map(&mut e.value, &path, &STACK_SETTINGS)?,
            "secrets" => {
                for (name, secret) in map_values(&mut e.value) {
                    c.check_map(secret, &path.key(&name), &SECRET)?;
                }
            }
            "include" => {
                for (i, item) in seq_values(&mut e.value).into_iter().enumerate() {
                    c.check_map(item, &path.index(i), &INCLUDE)?;
                }
            }
            _ => {}
        }
    }
    Ok(c.warnings)
}

fn map_values(node: &mut Node) -> Vec<(String, &mut Node)> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .map(|e| (e.key.clone(), &mut e.value))
            .collect(),
        _ => Vec::new(),
    }
}

fn seq_values(node: &mut Node) -> Vec<&mut Node> {
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().collect(),
        _ => Vec::new(),
    }
}

struct Checker<'a> {
    file: &'a Path,
    warnings: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn position(&self, mark: Mark) -> Position {
        Position {
            file: self.file.to_path_buf(),
            line: mark.line.max(1),
            column: mark.column.max(1),
        }
    }

    fn check_service(&mut self, svc: &mut Node, path: &KeyPath) -> Result<(), Error> {
        self.check_map(svc, path, &SERVICE)?;
        for (key, child) in map_values(svc) {
            let p = path.key(&key);
            match key.as_str() {
                "build" => self.check_map(child, &p, &BUILD)?,
                "healthcheck" => self.check_map(child, &p, &HEALTHCHECK)?,
                "extends" => self.check_map(child, &p, &EXTENDS)?,
                "logging" => self.check_map(child, &p, &LOGGING)?,
                "ulimits" => {
                    for (name, limit) in map_values(child) {
                        self.check_map(limit, &p.key(&name), &ULIMIT)?;
                    }
                }
                "deploy" => {
                    self.check_map(child, &p, &DEPLOY)?;
                    for (k, res) in map_values(child) {
                        if k == "resources" {
                            let rp = p.key("resources");
                            self.check_map(res, &rp, &RESOURCES)?;
                            for (k, r) in map_values(res) {
                                self.check_map(r, &rp.key(&k), &RESOURCE)?;
                            }
                        }
                    }
                }
                "x-devstack" => self.check_map(child, &p, &SERVICE_SETTINGS)?,
                "develop" => {
                    self.check_map(child, &p, &DEVELOP)?;
                    for (k, watch) in map_values(child) {
                        if k == "watch" {
                            for (i, rule) in seq_values(watch).into_iter().enumerate() {
                                self.check_map(rule, &p.key("watch").index(i), &WATCH)?;
                            }
                        }
                    }
                }
                "ports" | "volumes" | "env_file" | "secrets" => {
                    let rules = match key.as_str() {
                        "ports" => &PORT,
                        "volumes" => &SERVICE_VOLUME,
                        "secrets" => &SERVICE_SECRET,
                        _ => &ENV_FILE,
                    };
                    for (i, item) in seq_values(child).into_iter().enumerate() {
                        self.check_map(item, &p.index(i), rules)?;
                    }
                }
                "networks" => {
                    for (net, settings) in map_values(child) {
                        self.check_map(settings, &p.key(&net), &SERVICE_NETWORK)?;
                    }
                }
                "depends_on" => {
                    for (dep, cond) in map_values(child) {
                        self.check_map(cond, &p.key(&dep), &DEPENDENCY)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks one mapping's keys (a non-mapping is left for the typed layer to reject).
    fn check_map(&mut self, node: &mut Node, path: &KeyPath, rules: &Rules) -> Result<(), Error> {
        let Value::Map(entries) = &mut node.value else {
            return Ok(());
        };
        let mut keep = Vec::with_capacity(entries.len());
        for e in entries.drain(..) {
            let key = e.key.as_str();
            if rules.supported.contains(&key) {
                keep.push(e);
            } else if rules.extensions && key.starts_with("x-") {
                // Extension fields are the user's own (anchors for `<<`); ignored.
            } else if rules.unsupported.contains(&key) {
                // Still read past, but only when Compose would load it: a file Compose
                // refuses must not start here with a warning.
                if let Some(shape) = warned_shape(rules, key)
                    && !shape.fits(&e.value)
                {
                    let at = if e.value.mark.is_known() {
                        e.value.mark
                    } else {
                        e.key_mark
                    };
                    return Err(Error::Invalid {
                        at: self.position(at),
                        key: path.key(key).to_string(),
                        message: format!("{} is not {}", describe(&e.value), shape.what()),
                        allowed: format!(
                            "{} (devstack does not implement '{key}' yet and ignores it, but Compose refuses this file)",
                            shape.what()
                        ),
                    });
                }
                self.warnings.push(Diagnostic {
                    position: Some(self.position(e.key_mark)),
                    key: path.key(key).to_string(),
                    message: unsupported_note(key).to_string(),
                });
            } else {
                return Err(Error::UnknownKey {
                    at: self.position(e.key_mark),
                    key: path.key(key).to_string(),
                    suggestion: nearest(key, rules),
                    allowed: allowed(rules),
                });
            }
        }
        *entries = keep;
        Ok(())
    }
}

/// The shape the Compose Specification's schema gives a value: a key devstack only
/// warns about is still checked against it (values may be interpolated later, so a
/// scalar of any type stands for a boolean or a number, as Compose's schema allows
/// `["boolean", "string"]`). `null` fits every shape: Compose reads it as unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A string, number or boolean.
    Scalar,
    /// A list of scalars.
    List,
    /// A scalar or a list of scalars.
    ScalarOrList,
    /// A mapping.
    Map,
    /// `KEY=VALUE` list or a mapping of scalars.
    ListOrDict,
    /// A list whose items are scalars or mappings.
    Items,
    /// A list of mappings.
    ListOfMaps,
    /// A scalar or a list of mappings (`gpus: all`).
    ScalarOrListOfMaps,
}

impl Shape {
    fn fits(self, node: &Node) -> bool {
        let scalar = |n: &Node| {
            matches!(
                n.value,
                Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Null
            )
        };
        let map = |n: &Node| matches!(n.value, Value::Map(_));
        let all = |f: &dyn Fn(&Node) -> bool| match &node.value {
            Value::Seq(items) => items.iter().all(f),
            _ => false,
        };
        if matches!(node.value, Value::Null) {
            return true;
        }
        match self {
            Shape::Scalar => scalar(node),
            Shape::List => all(&scalar),
            Shape::ScalarOrList => scalar(node) || all(&scalar),
            Shape::Map => map(node),
            Shape::ListOrDict => {
                all(&scalar)
                    || matches!(&node.value, Value::Map(entries) if entries.iter().all(|e| scalar(&e.value)))
            }
            Shape::Items => all(&|n: &Node| scalar(n) || map(n)),
            Shape::ListOfMaps => all(&map),
            Shape::ScalarOrListOfMaps => scalar(node) || all(&map),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Shape::Scalar => "a single value (string, number or boolean)",
            Shape::List => "a list of values",
            Shape::ScalarOrList => "a value or a list of values",
            Shape::Map => "a mapping",
            Shape::ListOrDict => "a mapping of values or a list of 'KEY=VALUE'",
            Shape::Items => "a list of values or mappings",
            Shape::ListOfMaps => "a list of mappings",
            Shape::ScalarOrListOfMaps => "a value or a list of mappings",
        }
    }
}

fn describe(node: &Node) -> &'static str {
    match &node.value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

/// The schema's shape of a key devstack warns about (`None`: not checked here, e.g. a
/// key another part of the loader owns).
fn warned_shape(rules: &Rules, key: &str) -> Option<Shape> {
    use Shape::*;
    // The tables are statics, so each has one address.
    let is = |r: &Rules| std::ptr::eq(rules, r);
    let shape = if is(&SERVICE) {
        match key {
            "annotations" | "storage_opt" => ListOrDict,
            "attach" | "cgroup" | "cgroup_parent" | "cpu_count" | "cpu_percent" | "cpu_period"
            | "cpu_quota" | "cpu_rt_period" | "cpu_rt_runtime" | "cpu_shares" | "cpus"
            | "cpuset" | "domainname" | "isolation" | "mac_address" | "mem_limit"
            | "mem_reservation" | "mem_swappiness" | "memswap_limit" | "oom_kill_disable"
            | "oom_score_adj" | "pid" | "pids_limit" | "privileged" | "pull_policy"
            | "pull_refresh_after" | "runtime" | "scale" | "use_api_socket" | "userns_mode"
            | "uts" => Scalar,
            "blkio_config" | "credential_spec" | "provider" => Map,
            "configs" | "devices" | "models" => Items,
            "device_cgroup_rules" | "dns_opt" | "external_links" | "group_add" | "security_opt" => {
                List
            }
            "dns" | "dns_search" | "label_file" => ScalarOrList,
            "gpus" => ScalarOrListOfMaps,
            "post_start" | "pre_stop" => ListOfMaps,
            _ => return None,
        }
    } else if is(&TOP) {
        match key {
            "version" => Scalar,
            "configs" | "models" => Map,
            _ => return None,
        }
    } else if is(&BUILD) {
        match key {
            "additional_contexts" | "args" => ListOrDict,
            "cache_from" | "cache_to" | "platforms" | "tags" | "entitlements" => List,
            "dockerfile_inline" | "isolation" | "network" | "no_cache" | "privileged" | "pull"
            | "shm_size" | "provenance" | "sbom" => Scalar,
            "extra_hosts" | "ssh" => ListOrDict,
            "labels" => ListOrDict,
            "secrets" => Items,
            "ulimits" => Map,
            _ => return None,
        }
    } else if is(&DEPLOY) {
        match key {
            "endpoint_mode" | "mode" | "replicas" => Scalar,
            "labels" => ListOrDict,
            "placement" | "restart_policy" | "rollback_config" | "update_config" => Map,
            _ => return None,
        }
    } else if is(&PORT) {
        match key {
            "app_protocol" | "mode" | "name" => Scalar,
            _ => return None,
        }
    } else if is(&SERVICE_VOLUME) {
        match key {
            "bind" | "volume" | "tmpfs" | "image" => Map,
            "consistency" => Scalar,
            _ => return None,
        }
    } else if is(&SERVICE_NETWORK) {
        match key {
            "driver_opts" => Map,
            "gw_priority" | "interface_name" | "mac_address" | "priority" => Scalar,
            "link_local_ips" => List,
            _ => return None,
        }
    } else if is(&NETWORK) || is(&VOLUME) {
        match key {
            "enable_ipv4" | "driver" => Scalar,
            "driver_opts" => Map,
            _ => return None,
        }
    } else if is(&RESOURCE) {
        match key {
            "devices" | "generic_resources" => ListOfMaps,
            _ => return None,
        }
    } else if is(&WATCH) {
        match key {
            "exec" => Map,
            "include" => ScalarOrList,
            "initial_sync" => Scalar,
            _ => return None,
        }
    } else if is(&ENV_FILE) {
        match key {
            "format" => Scalar,
            _ => return None,
        }
    } else {
        return None;
    };
    Some(shape)
}

/// The closest known key by edit distance, if it is close enough to be a typo.
fn nearest(key: &str, rules: &Rules) -> Option<String> {
    let lower = key.to_lowercase();
    rules
        .supported
        .iter()
        .chain(rules.unsupported.iter())
        .map(|k| (strsim::levenshtein(&lower, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

fn allowed(rules: &Rules) -> String {
    let mut s = rules
        .supported
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if rules.extensions {
        s.push_str(", and 'x-*' extension fields");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(value: Value) -> Node {
        Node {
            value,
            mark: Mark::default(),
            tag: None,
        }
    }

    #[test]
    fn warned_keys_are_checked_against_the_schemas_shape() {
        let s = |t: &str| node(Value::String(t.into()));
        let seq = |items: Vec<Node>| node(Value::Seq(items));
        let map = || node(Value::Map(Vec::new()));
        assert!(Shape::Scalar.fits(&s("true")));
        assert!(!Shape::Scalar.fits(&seq(vec![s("a")])));
        assert!(Shape::List.fits(&seq(vec![s("a"), s("b")])));
        assert!(!Shape::List.fits(&s("a")));
        assert!(Shape::ScalarOrList.fits(&s("8.8.8.8")));
        assert!(!Shape::ScalarOrList.fits(&map()));
        assert!(Shape::Items.fits(&seq(vec![s("a"), map()])));
        assert!(!Shape::ListOfMaps.fits(&seq(vec![s("a")])));
        assert!(Shape::Map.fits(&node(Value::Null)));
        assert_eq!(warned_shape(&SERVICE, "privileged"), Some(Shape::Scalar));
        assert_eq!(warned_shape(&SERVICE, "dns"), Some(Shape::ScalarOrList));
        // Every key warned about at service level has a shape, save those another
        // part of the loader owns.
        for key in SERVICE.unsupported {
            assert!(
                warned_shape(&SERVICE, key).is_some() || ["extends", "secrets"].contains(key),
                "no shape for services.*.{key}"
            );
        }
    }

    #[test]
    fn nearest_keys() {
        assert_eq!(
            nearest("enviroment", &SERVICE).as_deref(),
            Some("environment")
        );
        assert_eq!(nearest("Image", &SERVICE).as_deref(), Some("image"));
        assert_eq!(
            nearest("dependson", &SERVICE).as_deref(),
            Some("depends_on")
        );
        assert_eq!(
            nearest("helthcheck", &SERVICE).as_deref(),
            Some("healthcheck")
        );
        assert_eq!(
            nearest("contianer_name", &SERVICE).as_deref(),
            Some("container_name")
        );
        assert_eq!(nearest("zzzzzz", &SERVICE), None);
    }
}
