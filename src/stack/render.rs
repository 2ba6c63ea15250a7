//! `devstack config`: the resolved stack written back as Compose YAML, with secrets
//! masked unless asked for.
//!
//! Output only; it must not be read back by the loader (paths are absolute, ports are
//! expanded, and masked values are gone).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::model::*;
use super::yaml;

/// The resolved stack as Compose YAML. Environment values from env files and values
/// whose names look secret (and such build args) show as `********` unless
/// `show_secrets`.
pub fn render_config(stack: &Stack, show_secrets: bool) -> String {
    let mut top = Map::new();
    top.insert("name".into(), json!(stack.project.as_str()));
    let services: Map<String, Value> = stack
        .services
        .iter()
        .map(|(name, s)| (name.to_string(), service(s, show_secrets)))
        .collect();
    top.insert("services".into(), Value::Object(services));
    if !stack.volumes.is_empty() {
        let volumes: Map<String, Value> = stack
            .volumes
            .iter()
            .map(|(k, v)| {
                let mut m = Map::new();
                m.insert("name".into(), json!(v.name));
                if v.external {
                    m.insert("external".into(), json!(true));
                }
                if !v.labels.is_empty() {
                    m.insert("labels".into(), json!(v.labels));
                }
                (k.clone(), Value::Object(m))
            })
            .collect();
        top.insert("volumes".into(), Value::Object(volumes));
    }
    if !stack.networks.is_empty() {
        let networks: Map<String, Value> = stack
            .networks
            .iter()
            .map(|(k, n)| {
                let mut m = Map::new();
                m.insert("name".into(), json!(n.name));
                if n.external {
                    m.insert("external".into(), json!(true));
                }
                if let Some(d) = &n.driver {
                    m.insert("driver".into(), json!(d));
                }
                if !n.driver_opts.is_empty() {
                    m.insert("driver_opts".into(), json!(n.driver_opts));
                }
                for (flag, on) in [
                    ("internal", n.internal),
                    ("attachable", n.attachable),
                    ("enable_ipv6", n.enable_ipv6),
                ] {
                    if on {
                        m.insert(flag.into(), json!(true));
                    }
                }
                if let Some(i) = &n.ipam {
                    let mut ipam = Map::new();
                    if let Some(d) = &i.driver {
                        ipam.insert("driver".into(), json!(d));
                    }
                    if !i.pools.is_empty() {
                        ipam.insert(
                            "config".into(),
                            serde_json::to_value(&i.pools).unwrap_or(Value::Null),
                        );
                    }
                    if !i.options.is_empty() {
                        ipam.insert("options".into(), json!(i.options));
                    }
                    m.insert("ipam".into(), Value::Object(ipam));
                }
                if !n.labels.is_empty() {
                    m.insert("labels".into(), json!(n.labels));
                }
                (k.clone(), Value::Object(m))
            })
            .collect();
        top.insert("networks".into(), Value::Object(networks));
    }
    let mut settings = Map::new();
    if let Some(n) = stack.settings.log_lines {
        settings.insert("log_lines".into(), json!(n));
    }
    if let Some(d) = stack.settings.debounce {
        settings.insert("debounce".into(), json!(format_duration(d)));
    }
    if let Some(d) = stack.settings.settle {
        settings.insert("settle".into(), json!(format_duration(d)));
    }
    if !settings.is_empty() {
        top.insert("x-devstack".into(), Value::Object(settings));
    }
    let mut top = Value::Object(top);
    if !show_secrets {
        mask_strings(&mut top, &stack.settings.secret_values);
    }
    yaml::to_yaml(&top)
}

/// Masks secret values inside every string (a password interpolated into a URL, a
/// command); keys are never interpolated, so only values are looked at.
fn mask_strings(value: &mut Value, secrets: &SecretValues) {
    match value {
        Value::String(s) => {
            let masked = secrets.mask(s);
            if masked != *s {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask_strings(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| mask_strings(v, secrets)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn masked(value: &str, secret: bool, show: bool) -> Value {
    if secret && !show {
        json!(MASK)
    } else {
        json!(value)
    }
}

fn service(s: &Service, show: bool) -> Value {
    let mut m = Map::new();
    m.insert("image".into(), json!(s.image));
    if let Some(b) = &s.build {
        let mut bm = Map::new();
        bm.insert("context".into(), json!(b.context));
        bm.insert("dockerfile".into(), json!(b.dockerfile));
        if !b.args.is_empty() {
            let args: Map<String, Value> = b
                .args
                .iter()
                .map(|(k, v)| (k.clone(), masked(v, looks_secret(k), show)))
                .collect();
            bm.insert("args".into(), Value::Object(args));
        }
        if let Some(t) = &b.target {
            bm.insert("target".into(), json!(t));
        }
        m.insert("build".into(), Value::Object(bm));
    }
    if let Some(c) = &s.command {
        m.insert("command".into(), json!(c));
    }
    if let Some(e) = &s.entrypoint {
        m.insert("entrypoint".into(), json!(e));
    }
    if !s.environment.is_empty() {
        let env: Map<String, Value> = s
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), masked(&v.value, v.is_secret(k), show)))
            .collect();
        m.insert("environment".into(), Value::Object(env));
    }
    if !s.ports.is_empty() {
        let ports: Vec<Value> = s
            .ports
            .iter()
            .map(|p| {
                let mut pm = Map::new();
                pm.insert("target".into(), json!(p.container_port));
                match (p.host_port, p.host_port_end) {
                    (Some(h), Some(e)) => {
                        pm.insert("published".into(), json!(format!("{h}-{e}")));
                    }
                    (Some(h), None) => {
                        pm.insert("published".into(), json!(h.to_string()));
                    }
                    _ => {}
                }
                pm.insert("host_ip".into(), json!(p.host_ip));
                pm.insert("protocol".into(), json!(p.protocol.as_str()));
                Value::Object(pm)
            })
            .collect();
        m.insert("ports".into(), Value::Array(ports));
    }
    if !s.mounts.is_empty() {
        let mounts: Vec<Value> = s.mounts.iter().map(mount).collect();
        m.insert("volumes".into(), Value::Array(mounts));
    }
    if !s.depends_on.is_empty() {
        let deps: Map<String, Value> = s
            .depends_on
            .iter()
            .map(|(name, d)| {
                (
                    name.to_string(),
                    json!({
                        "condition": d.condition.as_compose(),
                        "required": d.required,
                        "restart": d.restart,
                    }),
                )
            })
            .collect();
        m.insert("depends_on".into(), Value::Object(deps));
    }
    if let Some(h) = &s.healthcheck {
        m.insert("healthcheck".into(), healthcheck(h));
    }
    m.insert("restart".into(), json!(restart(&s.restart)));
    if let Some(w) = &s.working_dir {
        m.insert("working_dir".into(), json!(w));
    }
    if let Some(u) = &s.user {
        m.insert("user".into(), json!(u));
    }
    if !s.labels.is_empty() {
        m.insert("labels".into(), json!(s.labels));
    }
    if !s.profiles.is_empty() {
        m.insert("profiles".into(), json!(s.profiles));
    }
    if !s.watch.is_empty() {
        let rules: Vec<Value> = s
            .watch
            .iter()
            .map(|w| {
                let mut wm = Map::new();
                wm.insert("path".into(), json!(w.path));
                wm.insert("action".into(), json!(watch_action(w.action)));
                if let Some(t) = &w.target {
                    wm.insert("target".into(), json!(t));
                }
                if !w.ignore.is_empty() {
                    wm.insert("ignore".into(), json!(w.ignore));
                }
                Value::Object(wm)
            })
            .collect();
        m.insert("develop".into(), json!({ "watch": rules }));
    }
    if let Ok(Value::Object(options)) = serde_json::to_value(&s.options) {
        m.extend(options);
    }
    if s.settings != ServiceSettings::default() {
        let mut xm = Map::new();
        if s.settings.restart_on_change {
            xm.insert("restart_on_change".into(), json!(true));
        }
        let dbs = &s.settings.databases;
        match &s.settings.console {
            Some(c) if *dbs != Default::default() => {
                let mut cm = Map::new();
                cm.insert("type".into(), json!(c));
                if !dbs.databases.is_empty() {
                    cm.insert("databases".into(), json!(dbs.databases));
                }
                for (k, v) in [
                    ("default", &dbs.default),
                    ("user_env", &dbs.user_env),
                    ("password_env", &dbs.password_env),
                ] {
                    if let Some(v) = v {
                        cm.insert(k.into(), json!(v));
                    }
                }
                xm.insert("console".into(), Value::Object(cm));
            }
            Some(c) => {
                xm.insert("console".into(), json!(c));
            }
            None => {}
        }
        if let Some(d) = s.settings.settle {
            xm.insert("settle".into(), json!(format_duration(d)));
        }
        m.insert("x-devstack".into(), Value::Object(xm));
    }
    Value::Object(m)
}

fn mount(mt: &Mount) -> Value {
    let mut m = Map::new();
    let (kind, source) = match &mt.source {
        MountSource::Volume(name) => ("volume", Some(json!(name))),
        MountSource::Anonymous => ("volume", None),
        MountSource::Bind(p) => ("bind", Some(json!(p))),
        MountSource::Tmpfs => ("tmpfs", None),
    };
    m.insert("type".into(), json!(kind));
    if let Some(s) = source {
        m.insert("source".into(), s);
    }
    m.insert("target".into(), json!(mt.target));
    if mt.read_only {
        m.insert("read_only".into(), json!(true));
    }
    Value::Object(m)
}

fn healthcheck(h: &Healthcheck) -> Value {
    let mut m = Map::new();
    match &h.test {
        HealthTest::Disabled => {
            m.insert("disable".into(), json!(true));
        }
        HealthTest::FromImage => {}
        HealthTest::Cmd(args) => {
            let mut t = vec!["CMD".to_string()];
            t.extend(args.iter().cloned());
            m.insert("test".into(), json!(t));
        }
        HealthTest::Shell(s) => {
            m.insert("test".into(), json!(["CMD-SHELL", s]));
        }
    }
    let durations: BTreeMap<&str, Option<Duration>> = [
        ("interval", h.interval),
        ("timeout", h.timeout),
        ("start_period", h.start_period),
        ("start_interval", h.start_interval),
    ]
    .into_iter()
    .collect();
    for (k, d) in durations {
        if let Some(d) = d {
            m.insert(k.into(), json!(format_duration(d)));
        }
    }
    if let Some(r) = h.retries {
        m.insert("retries".into(), json!(r));
    }
    Value::Object(m)
}

fn restart(r: &RestartPolicy) -> String {
    match r {
        RestartPolicy::No => "no".into(),
        RestartPolicy::Always => "always".into(),
        RestartPolicy::UnlessStopped => "unless-stopped".into(),
        RestartPolicy::OnFailure(None) => "on-failure".into(),
        RestartPolicy::OnFailure(Some(n)) => format!("on-failure:{n}"),
    }
}

fn watch_action(a: WatchAction) -> &'static str {
    match a {
        WatchAction::Sync => "sync",
        WatchAction::SyncRestart => "sync+restart",
        WatchAction::Rebuild => "rebuild",
        WatchAction::Restart => "restart",
    }
}

/// Go-style, as Compose writes durations: `1m30s`, `500ms`, `0s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 && d.as_nanos() > 0 {
        return format!("{}us", d.as_micros());
    }
    if total_ms < 1000 && total_ms > 0 {
        return format!("{total_ms}ms");
    }
    let ms = total_ms % 1000;
    let secs = total_ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if ms > 0 {
        out.push_str(&format!("{s}.{ms:03}s"));
    } else if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}
