//! Load-level tests of the compose-parse fixes (issue 16: 3, 4, 11; issue 11: 5, 6):
//! positions, YAML scalars as Compose reads them, literal `$`, depth limits.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn opts(dir: &Path) -> LoadOptions {
    LoadOptions {
        cwd: dir.to_path_buf(),
        project_name: Some("proj".into()),
        environment: BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]),
        ..Default::default()
    }
}

fn load_in(dir: &Path, yaml: &str, o: &LoadOptions) -> Result<Stack, Error> {
    load_str(yaml, &dir.join("compose.yaml"), o)
}

fn env_of(s: &Stack, service: &str) -> BTreeMap<String, String> {
    let name = crate::model::ServiceName::new(service);
    s.services[&name]
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

/// The file shape that broke yaml-rust2: a flow sequence whose `]` sits under the key.
const FLOW: &str = "services:\n  web:\n    image: busybox\n    command: [\n      \"sh\",\n      \"-c\",\n    ]\n    environment:\n      A: ${NOPE}\n      B: pay $ {AMOUNT}\n";

/// Regression (issue 16.11): one flow sequence closed at a lower indent made every
/// warning and error of the file say `:1:1`.
#[test]
fn flow_sequence_at_lower_indent_keeps_every_position() {
    let dir = tempfile::tempdir().unwrap();
    let s = load_in(dir.path(), FLOW, &opts(dir.path())).unwrap();
    let w: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w.iter()
            .any(|w| w.contains("compose.yaml:10:10") && w.contains("'$ {AMOUNT}'")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("compose.yaml:9:10") && w.contains("'NOPE' is not set")),
        "{w:?}"
    );
    assert!(w.iter().all(|w| !w.contains(":1:1")), "{w:?}");

    let typo = FLOW.replace("    environment:", "    enviroment:");
    let e = load_in(dir.path(), &typo, &opts(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("compose.yaml:8:5"), "{e}");
    let bad_port = format!("{FLOW}    ports: [\"x:80\"]\n");
    let e = load_in(dir.path(), &bad_port, &opts(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("compose.yaml:11:13"), "{e}");
}

/// Issue 16.4: plain scalars as go-yaml v3 reads them (checked with `docker-compose
/// config`, v2.40.3).
#[test]
fn scalars_read_as_compose_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "services:\n  web:\n    image: busybox\n    environment:\n      INF: .inf\n      NINF: -.Inf\n      NAN: .nan\n      OCT: 010\n      OCT2: 0o10\n      HEX: 0x1F\n      UNDER: 1_000\n      EXP: 1e3\n      FLOAT: 1.50\n      YES: yes\n      ON: on\n      T: True\n    labels:\n      x: 010\n";
    let s = load_in(dir.path(), yaml, &opts(dir.path())).unwrap();
    let want: BTreeMap<String, String> = [
        ("INF", "+Inf"),
        ("NINF", "-Inf"),
        ("NAN", "NaN"),
        ("OCT", "8"),
        ("OCT2", "8"),
        ("HEX", "31"),
        ("UNDER", "1000"),
        ("EXP", "1000"),
        ("FLOAT", "1.5"),
        ("YES", "yes"),
        ("ON", "on"),
        ("T", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(env_of(&s, "web"), want);
    let web = &s.services[&crate::model::ServiceName::new("web")];
    assert_eq!(web.labels["x"], "8");
}

/// Issue 16.4: `!reset` on a key that a `<<` merge supplies keeps the merged value, as
/// Compose does (it dropped the key before).
#[test]
fn reset_under_a_merge_keeps_the_merged_value() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "x-base: &base\n  image: busybox\n  environment: {A: \"1\"}\n  command: [a, b]\nservices:\n  web:\n    <<: *base\n    environment: !reset {}\n    command: !reset null\n    labels: !reset {x: y}\n    entrypoint: !override [sh]\n";
    let s = load_in(dir.path(), yaml, &opts(dir.path())).unwrap();
    let web = &s.services[&crate::model::ServiceName::new("web")];
    assert_eq!(env_of(&s, "web")["A"], "1");
    assert_eq!(
        web.command.as_deref(),
        Some(&["a".to_string(), "b".to_string()][..])
    );
    assert!(web.labels.is_empty());
    assert_eq!(web.entrypoint.as_deref(), Some(&["sh".to_string()][..]));
}

/// Issue 16.4: `--profile` replaces COMPOSE_PROFILES from .env (it took the union).
#[test]
fn profile_flag_wins_over_compose_profiles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "COMPOSE_PROFILES=a\n").unwrap();
    let yaml = "services:\n  db:\n    image: x\n  a:\n    image: x\n    profiles: [a]\n  b:\n    image: x\n    profiles: [b]\n";
    let names = |s: &Stack| s.services.keys().map(|k| k.to_string()).collect::<Vec<_>>();
    let s = load_in(dir.path(), yaml, &opts(dir.path())).unwrap();
    assert_eq!(names(&s), ["a", "db"]);
    let mut o = opts(dir.path());
    o.profiles = vec!["b".into()];
    assert_eq!(names(&load_in(dir.path(), yaml, &o).unwrap()), ["b", "db"]);
}

/// Issue 16.3: passwords and regexes with a `$` load, as in Compose.
#[test]
fn dollar_without_a_name_is_literal() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "services:\n  web:\n    image: busybox\n    environment:\n      PRICE: costs 5$\n      PW: pa$ word\n      RE: ^foo$\n      ARG: $1\n    command: [\"sed\", \"s/$/x/\"]\n";
    let s = load_in(dir.path(), yaml, &opts(dir.path())).unwrap();
    let env = env_of(&s, "web");
    assert_eq!(env["PRICE"], "costs 5$");
    assert_eq!(env["PW"], "pa$ word");
    assert_eq!(env["RE"], "^foo$");
    assert_eq!(env["ARG"], "$1");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

/// Issue 11.5: 50k nested `${X:-…}` aborted the process; now a positioned error.
#[test]
fn deeply_nested_interpolation_is_a_positioned_error() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}x{}", "${X:-".repeat(50_000), "}".repeat(50_000));
    let yaml =
        format!("services:\n  web:\n    image: busybox\n    environment:\n      A: \"{deep}\"\n");
    let e = load_in(dir.path(), &yaml, &opts(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("compose.yaml:5:10"),
        "{}",
        &e[..200.min(e.len())]
    );
    assert!(
        e.contains("nested more than 64 levels"),
        "{}",
        &e[..200.min(e.len())]
    );
    assert!(
        e.len() < 2_000,
        "the message quotes only the start of the value"
    );
}

/// Issue 11.6: 50k levels of `[` took 44 s before failing; now refused at once, at the
/// first level too deep.
#[test]
fn deeply_nested_flow_yaml_is_a_positioned_error() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "services:\n  web:\n    image: busybox\n    command: {}\n",
        "[".repeat(50_000)
    );
    let e = load_in(dir.path(), &yaml, &opts(dir.path()))
        .unwrap_err()
        .to_string();
    // Three mappings above, so the 126th '[' (column 14 + 125) is level 129.
    assert!(e.contains("compose.yaml:4:139"), "{e}");
    assert!(e.contains("nested more than 128 levels"), "{e}");
}

/// Issue 11.5 in `.env`: a value nested too deep is kept as written (Compose's dotenv is
/// lenient with interpolation it cannot read), and nothing overflows.
#[test]
fn deeply_nested_interpolation_in_dot_env_does_not_crash() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}x{}", "${X:-".repeat(50_000), "}".repeat(50_000));
    std::fs::write(dir.path().join(".env"), format!("DEEP={deep}\n")).unwrap();
    let yaml = "services:\n  web:\n    image: busybox\n";
    load_in(dir.path(), yaml, &opts(dir.path())).unwrap();
}
