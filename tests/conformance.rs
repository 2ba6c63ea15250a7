//! The Compose conformance corpus (issue 16.13): every `*.yaml`/`*.yml` under
//! `tests/conformance/` is loaded with devstack and compared with what Docker Compose
//! v2.40.3 resolved for it (`tests/conformance/expected/`, written by
//! `tests/conformance/regen.sh`), on the fields devstack's model has.
//!
//! A file devstack knowingly resolves differently, or rejects, is listed in
//! [`KNOWN`] with the reason: the test passes, the gap stays visible, and a listed file
//! that starts to match fails the test until it is taken off the list.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use devstack::stack::{self, HealthTest, LoadOptions, MountSource, RestartPolicy, Stack};
use serde_json::{Value, json};

/// (case, outcome, why). Outcomes: `differ` (both load, some field differs),
/// `rejected` (Compose loads it, devstack refuses it), `accepted` (Compose refuses it,
/// devstack loads it).
const KNOWN: &[(&str, &str, &str)] = &[
    // Deliberate: devstack does not create a missing bind-mount source (Compose creates
    // it owned by root): here in the file these include or extend.
    (
        "compose-go/loader/compose-include.yaml",
        "rejected",
        "missing bind source (in the file it includes)",
    ),
    (
        "compose-go/loader/compose-test-extends.yaml",
        "rejected",
        "missing bind source (in the file it extends)",
    ),
    // Deliberate: remote (git URL) build contexts are not supported.
    (
        "compose-go/loader/compose-test-extends-with-context-url.yaml",
        "rejected",
        "remote build context (in the file it extends)",
    ),
    // Deliberate: devstack does not create a missing bind-mount source (Compose creates
    // it owned by root); it says which directory to create.
    (
        "compose-go/cli/simple/compose-with-paths.yaml",
        "rejected",
        "missing bind source",
    ),
    (
        "compose-go/loader/subdir/compose-test-extends-imported.yaml",
        "rejected",
        "missing bind source",
    ),
    // Deliberate: remote (git URL) build contexts are not supported.
    (
        "compose-go/loader/compose-test-extends-with-context-url-imported.yaml",
        "rejected",
        "remote build context",
    ),
    // devstack checks the build context exists when loading; Compose only when building.
    (
        "compose-go/loader/compose-test-with-version.yaml",
        "rejected",
        "build context is a file",
    ),
    // The `sync+exec` watch action is not implemented.
    (
        "docker-compose/watch/exec.yaml",
        "rejected",
        "watch action sync+exec",
    ),
    (
        "docker-compose/watch/x-initialSync.yaml",
        "rejected",
        "watch action sync+exec",
    ),
    // `platform` / `build.platforms` / `build.ssh` are warned about, not validated.
    (
        "docker-compose/build-test/platforms/compose-service-platform-not-in-build-platforms.yaml",
        "accepted",
        "platform not checked against build.platforms",
    ),
    // Compose fails writing this file's `build.ssh` as JSON (its own bug); devstack
    // warns that `ssh` is not implemented.
    (
        "docker-compose/build-test/ssh/compose.yaml",
        "accepted",
        "Compose's own error on build.ssh",
    ),
];

#[derive(Debug, PartialEq)]
enum Outcome {
    Same,
    BothReject,
    Differ(String),
    Rejected(String),
    Accepted,
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Same => "same",
            Outcome::BothReject => "both reject",
            Outcome::Differ(_) => "differ",
            Outcome::Rejected(_) => "rejected",
            Outcome::Accepted => "accepted",
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "expected") {
                cases(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

/// Go's `time.Duration.String()`, as Compose writes durations.
fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(ns, div));
    }
    let secs_ns = ns % 60_000_000_000;
    let mins = ns / 60_000_000_000;
    let mut out = String::new();
    if mins >= 60 {
        out.push_str(&format!("{}h{}m", mins / 60, mins % 60));
    } else if mins > 0 {
        out.push_str(&format!("{mins}m"));
    }
    out.push_str(&format!("{}s", trim_fraction(secs_ns, 1_000_000_000)));
    out
}

fn trim_fraction(n: u128, div: u128) -> String {
    let whole = n / div;
    let frac = n % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

fn rel(p: &Path, dir: &Path) -> String {
    match p.strip_prefix(dir) {
        Ok(r) if r.as_os_str().is_empty() => ".".into(),
        Ok(r) => format!("./{}", r.display()),
        Err(_) => p.display().to_string(),
    }
}

/// devstack's resolved stack in the shape regen.sh gives Compose's output.
fn normalise(s: &Stack, dir: &Path) -> Value {
    let mut services = serde_json::Map::new();
    for (name, svc) in &s.services {
        let env: BTreeMap<&str, &str> = svc
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect();
        let mut ports: Vec<String> = svc
            .ports
            .iter()
            .map(|p| {
                let published = p.host_port.map(|h| h.to_string()).unwrap_or_default();
                format!(
                    "{}|{published}|{}|{}",
                    p.host_ip,
                    p.container_port,
                    p.protocol.as_str()
                )
            })
            .collect();
        ports.sort();
        // A file secret is a read-only bind mount under /run/secrets in devstack's
        // model; Compose lists it under `secrets`, which regen.sh does not keep.
        let volumes: Vec<String> = svc
            .mounts
            .iter()
            .filter(|m| {
                !(m.read_only
                    && matches!(m.source, MountSource::Bind(_))
                    && m.target.starts_with("/run/secrets/"))
            })
            .map(|m| {
                let (kind, source) = match &m.source {
                    MountSource::Volume(v) => ("volume", v.clone()),
                    MountSource::Anonymous => ("volume", String::new()),
                    MountSource::Bind(p) => ("bind", rel(p, dir)),
                    MountSource::Tmpfs => ("tmpfs", String::new()),
                };
                let mode = if m.read_only { "ro" } else { "rw" };
                format!("{kind}|{source}|{}|{mode}", m.target)
            })
            .collect();
        let deps: BTreeMap<String, String> = svc
            .depends_on
            .iter()
            .map(|(d, c)| {
                (
                    d.to_string(),
                    format!("{}|{}", c.condition.as_compose(), c.required),
                )
            })
            .collect();
        let healthcheck = svc.healthcheck.as_ref().map(|h| {
            let test = match &h.test {
                HealthTest::Disabled => return json!({"test": ["NONE"]}),
                HealthTest::Cmd(args) => {
                    let mut t = vec!["CMD".to_string()];
                    t.extend(args.iter().cloned());
                    t
                }
                HealthTest::Shell(s) => vec!["CMD-SHELL".to_string(), s.clone()],
                // Compose writes no `test` when the file gives none (the image's own).
                HealthTest::FromImage => Vec::new(),
            };
            let mut o = serde_json::Map::new();
            if !test.is_empty() {
                o.insert("test".into(), json!(test));
            }
            for (k, d) in [
                ("interval", h.interval),
                ("timeout", h.timeout),
                ("start_period", h.start_period),
                ("start_interval", h.start_interval),
            ] {
                if let Some(d) = d {
                    o.insert(k.into(), json!(go_duration(d)));
                }
            }
            if let Some(r) = h.retries {
                o.insert("retries".into(), json!(r));
            }
            Value::Object(o)
        });
        let restart = match svc.restart {
            RestartPolicy::No => "no".to_string(),
            RestartPolicy::Always => "always".to_string(),
            RestartPolicy::OnFailure(None) => "on-failure".to_string(),
            RestartPolicy::OnFailure(Some(n)) => format!("on-failure:{n}"),
            RestartPolicy::UnlessStopped => "unless-stopped".to_string(),
        };
        services.insert(
            name.to_string(),
            json!({
                "image": svc.image,
                "build": svc.build.as_ref().map(|b| rel(&b.context, dir)),
                "command": svc.command,
                "entrypoint": svc.entrypoint,
                "environment": env,
                "ports": ports,
                "volumes": volumes,
                "depends_on": deps,
                "healthcheck": healthcheck,
                "restart": restart,
                "user": svc.user,
                "working_dir": svc.working_dir,
                "labels": svc.labels,
            }),
        );
    }
    json!({ "services": services })
}

/// Field-by-field differences, `service.field: devstack ≠ compose`.
fn differences(mut got: Value, want: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (Some(g), Some(w)) = (
        got["services"].as_object_mut(),
        want["services"].as_object(),
    ) else {
        return vec!["no services".into()];
    };
    let names = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    if names(g) != names(w) {
        out.push(format!("services: {:?} ≠ {:?}", names(g), names(w)));
        return out;
    }
    for (name, ws) in w {
        let gs = &mut g[name];
        // Compose writes no image for a service it builds; devstack names it.
        if ws["image"].is_null() && !ws["build"].is_null() {
            gs["image"] = Value::Null;
        }
        // devstack publishes a port without a host address on loopback only, where
        // Compose publishes it on every interface: a deliberate difference (README).
        let mut ws = ws.clone();
        if let Some(ports) = ws["ports"].as_array_mut() {
            for p in ports.iter_mut() {
                if let Some(s) = p.as_str().filter(|s| s.starts_with('|')) {
                    *p = json!(format!("127.0.0.1{s}"));
                }
            }
            ports.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
        for (field, wv) in ws.as_object().into_iter().flatten() {
            if &gs[field] != wv {
                out.push(format!("{name}.{field}: {} ≠ {}", gs[field], wv));
            }
        }
    }
    out
}

fn outcome(case: &Path) -> Outcome {
    let rel_case = case
        .strip_prefix(root())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let expected_file = root()
        .join("expected")
        .join(format!("{}.json", rel_case.replace('/', "__")));
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&expected_file)
            .unwrap_or_else(|_| panic!("{} has no expectation; run regen.sh", rel_case)),
    )
    .unwrap();
    let want = rehome(want);
    let dir = case.parent().unwrap().to_path_buf();
    let opts = LoadOptions {
        file: Some(case.to_path_buf()),
        cwd: dir.clone(),
        project_name: Some("conformance".into()),
        environment: BTreeMap::from([("HOME".to_string(), "/root".to_string())]),
        ..Default::default()
    };
    let loaded = stack::load(&opts);
    match (loaded, want.get("compose_error")) {
        (Err(_), Some(_)) => Outcome::BothReject,
        (Ok(_), Some(_)) => Outcome::Accepted,
        (Err(e), None) => Outcome::Rejected(e.to_string()),
        (Ok(s), None) => {
            let d = differences(normalise(&s, &dir), &want);
            if d.is_empty() {
                Outcome::Same
            } else {
                Outcome::Differ(d.join("; "))
            }
        }
    }
}

/// Compose writes a path outside the case's folder whole, with the corpus's folder as
/// it was where `regen.sh` ran (another checkout): the same place here.
fn rehome(v: Value) -> Value {
    const MARK: &str = "/tests/conformance/";
    match v {
        Value::String(s) => match s.find(MARK) {
            Some(i) => {
                // A volume is written `bind|SOURCE|…`: only the path is rewritten.
                let start = s[..i].rfind('|').map_or(0, |p| p + 1);
                Value::String(format!(
                    "{}{}/{}",
                    &s[..start],
                    root().display(),
                    &s[i + MARK.len()..]
                ))
            }
            None => Value::String(s),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(rehome).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, rehome(v))).collect()),
        v => v,
    }
}

#[test]
fn corpus_resolves_like_compose() {
    let mut all = Vec::new();
    cases(&root(), &mut all);
    assert!(all.len() >= 90, "corpus has only {} files", all.len());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &all {
        let name = case
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let o = outcome(case);
        *counts.entry(o.name()).or_default() += 1;
        let known = KNOWN.iter().find(|(c, _, _)| *c == name);
        match (&o, known) {
            (Outcome::Same | Outcome::BothReject, None) => {}
            (Outcome::Same | Outcome::BothReject, Some(_)) => {
                unexpected.push(format!("{name}: now {}; take it off KNOWN", o.name()))
            }
            (_, Some((_, k, _))) if *k == o.name() => {}
            (Outcome::Differ(d) | Outcome::Rejected(d), _) => {
                unexpected.push(format!("{name}: {} — {d}", o.name()))
            }
            (Outcome::Accepted, _) => {
                unexpected.push(format!("{name}: accepted, Compose rejects it"))
            }
        }
    }
    eprintln!("conformance: {} files: {counts:?}", all.len());
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

#[test]
fn go_durations() {
    assert_eq!(go_duration(Duration::from_secs(5)), "5s");
    assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
    assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
}
