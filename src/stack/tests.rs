//! Table tests of the loader through its public API, and the fixture files under
//! `tests/fixtures/{valid,invalid}/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::model::{Protocol, ServiceName};

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Self {
            dir: tempfile::Builder::new().prefix("shop").tempdir().unwrap(),
        }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
    fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    fn opts(&self) -> LoadOptions {
        LoadOptions {
            cwd: self.path(),
            project_name: Some("proj".into()),
            environment: env(&[("HOME", "/home/u")]),
            ..Default::default()
        }
    }
    fn load(&self, yaml: &str) -> Result<Stack, Error> {
        self.load_with(yaml, &self.opts())
    }
    fn load_with(&self, yaml: &str, opts: &LoadOptions) -> Result<Stack, Error> {
        load_str(yaml, &self.dir.path().join("compose.yaml"), opts)
    }
    fn err(&self, yaml: &str) -> String {
        match self.load(yaml) {
            Ok(_) => panic!("expected an error for:\n{yaml}"),
            Err(e) => e.to_string(),
        }
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn svc<'a>(s: &'a Stack, name: &str) -> &'a Service {
    s.services
        .get(&ServiceName::new(name))
        .unwrap_or_else(|| panic!("no service {name}"))
}

fn one_service(p: &Project, body: &str) -> Result<Stack, Error> {
    let yaml = format!("services:\n  web:\n    image: nginx\n{body}");
    p.load(&yaml)
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(haystack.contains(n), "missing {n:?} in:\n{haystack}");
    }
}

#[test]
fn minimal_service_has_defaults() {
    let p = Project::new();
    let s = p
        .load("services:\n  db:\n    image: postgres:16\n")
        .unwrap();
    let db = svc(&s, "db");
    assert_eq!(db.image, "postgres:16");
    assert_eq!(db.restart, RestartPolicy::No);
    assert!(db.ports.is_empty() && db.mounts.is_empty() && db.environment.is_empty());
    assert_eq!(s.dir, p.path());
    assert!(s.warnings.is_empty());
}

#[test]
fn short_port_syntax() {
    let b = |ip: &str, host: Option<u16>, c: u16, proto: Protocol| PortBinding {
        host_ip: ip.into(),
        host_port: host,
        host_port_end: None,
        container_port: c,
        protocol: proto,
    };
    let lo = "127.0.0.1";
    let cases: Vec<(&str, Vec<PortBinding>)> = vec![
        ("5432", vec![b(lo, None, 5432, Protocol::Tcp)]),
        ("8080:80", vec![b(lo, Some(8080), 80, Protocol::Tcp)]),
        (
            "0.0.0.0:8080:80",
            vec![b("0.0.0.0", Some(8080), 80, Protocol::Tcp)],
        ),
        ("127.0.0.1::80", vec![b(lo, None, 80, Protocol::Tcp)]),
        (
            "[::1]:8080:80",
            vec![b("::1", Some(8080), 80, Protocol::Tcp)],
        ),
        ("53:53/udp", vec![b(lo, Some(53), 53, Protocol::Udp)]),
        (
            "8000-8001:9000-9001",
            vec![
                b(lo, Some(8000), 9000, Protocol::Tcp),
                b(lo, Some(8001), 9001, Protocol::Tcp),
            ],
        ),
        (
            "7000-7001",
            vec![
                b(lo, None, 7000, Protocol::Tcp),
                b(lo, None, 7001, Protocol::Tcp),
            ],
        ),
    ];
    let p = Project::new();
    for (input, want) in cases {
        let s = one_service(&p, &format!("    ports: [\"{input}\"]\n")).unwrap();
        assert_eq!(svc(&s, "web").ports, want, "{input}");
    }
    // An unquoted number is a port too.
    let s = one_service(&p, "    ports:\n      - 5432\n").unwrap();
    assert_eq!(svc(&s, "web").ports[0].container_port, 5432);
}

#[test]
fn long_port_syntax() {
    let p = Project::new();
    let s = one_service(
        &p,
        "    ports:\n      - target: 80\n        published: \"8080\"\n      - target: 53\n        published: 5353\n        host_ip: 0.0.0.0\n        protocol: udp\n      - target: 9000\n",
    )
    .unwrap();
    let ports = &svc(&s, "web").ports;
    assert_eq!(ports[0].host_port, Some(8080));
    assert_eq!(ports[0].host_ip, "127.0.0.1");
    assert_eq!(ports[1].host_ip, "0.0.0.0");
    assert_eq!(ports[1].protocol, Protocol::Udp);
    assert_eq!(ports[2].host_port, None);
}

#[test]
fn bad_ports_are_errors_with_positions() {
    let p = Project::new();
    let cases = [
        ("\"0:80\"", "port 0 is not allowed"),
        ("\"70000:80\"", "port 70000 is out of range"),
        ("\"8080:0\"", "port 0"),
        ("\"abc\"", "not a port number"),
        ("\"8080:80/xtp\"", "unknown protocol 'xtp'"),
        ("\"8000-8002:80-81\"", "differ in length"),
        ("\"1.2.3:80:80\"", "not an IP address"),
    ];
    for (port, msg) in cases {
        let e = one_service(&p, &format!("    ports:\n      - {port}\n"))
            .unwrap_err()
            .to_string();
        assert_contains(
            &e,
            &[
                "compose.yaml:5:9",
                "'services.web.ports[0]'",
                msg,
                "allowed:",
            ],
        );
    }
    let e = one_service(&p, "    ports:\n      - target: 0\n")
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["services.web.ports[0].target", "port 0"]);
}

#[test]
fn volume_syntax() {
    let p = Project::new();
    let data = p.mkdir("data");
    p.mkdir("conf");
    let yaml = "services:\n  web:\n    image: nginx\n    volumes:\n      - pg:/var/lib/pg\n      - ./data:/data:ro\n      - /anon\n      - ~/x:/home\n      - type: bind\n        source: ./conf\n        target: /etc/conf\n        read_only: true\n      - type: tmpfs\n        target: /tmp\n      - type: volume\n        source: pg\n        target: /b\nvolumes:\n  pg:\n";
    let mut opts = p.opts();
    opts.environment
        .insert("HOME".into(), p.path().to_string_lossy().into());
    p.mkdir("x");
    let s = p.load_with(yaml, &opts).unwrap();
    let m = &svc(&s, "web").mounts;
    assert_eq!(m[0].source, MountSource::Volume("pg".into()));
    assert_eq!(m[1].source, MountSource::Bind(data));
    assert!(m[1].read_only);
    assert_eq!(m[2].source, MountSource::Anonymous);
    assert_eq!(m[3].source, MountSource::Bind(p.path().join("x")));
    assert_eq!(m[4].source, MountSource::Bind(p.path().join("conf")));
    assert!(m[4].read_only);
    assert_eq!(m[5].source, MountSource::Tmpfs);
    assert_eq!(m[6].source, MountSource::Volume("pg".into()));
    assert_eq!(s.volumes["pg"].name, "proj_pg");
}

#[test]
fn volume_errors() {
    let p = Project::new();
    let e = p.err("services:\n  web:\n    image: x\n    volumes:\n      - ./missing:/data\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:5:9",
            "services.web.volumes[0]",
            "missing' does not exist",
            "create it first",
        ],
    );
    let e = p.err(
        "services:\n  web:\n    image: x\n    volumes:\n      - pgdata:/data\nvolumes:\n  other:\n",
    );
    assert_contains(
        &e,
        &[
            "compose.yaml:5:9",
            "named volume 'pgdata' is not declared",
            "'other'",
        ],
    );
    let e = p.err(
        "services:\n  web:\n    image: x\n    volumes:\n      - data:relative\nvolumes:\n  data:\n",
    );
    assert_contains(&e, &["must be an absolute path"]);
    let e = p.err(
        "services:\n  web:\n    image: x\n    volumes:\n      - type: npipe\n        target: /x\n",
    );
    assert_contains(
        &e,
        &["services.web.volumes[0].type", "'volume', 'bind', 'tmpfs'"],
    );
}

#[test]
fn top_level_volumes() {
    let p = Project::new();
    let s = p
        .load("services:\n  a:\n    image: x\nvolumes:\n  plain:\n  named:\n    name: my-data\n  ext:\n    external: true\n  lab:\n    labels:\n      team: data\n")
        .unwrap();
    assert_eq!(s.volumes["plain"].name, "proj_plain");
    assert_eq!(s.volumes["named"].name, "my-data");
    assert!(s.volumes["ext"].external);
    assert_eq!(s.volumes["ext"].name, "ext");
    assert_eq!(s.volumes["lab"].labels["team"], "data");
}

#[test]
fn environment_forms() {
    let p = Project::new();
    let mut opts = p.opts();
    opts.environment.insert("FROM_ENV".into(), "e".into());
    let yaml = "services:\n  a:\n    image: x\n    environment:\n      A: 1\n      B: \"two\"\n      C: true\n      FROM_ENV:\n      NOT_SET:\n  b:\n    image: x\n    environment:\n      - A=1=2\n      - FROM_ENV\n      - NOT_SET\n      - EMPTY=\n";
    let s = p.load_with(yaml, &opts).unwrap();
    let a = &svc(&s, "a").environment;
    let v = |m: &BTreeMap<String, EnvValue>, k: &str| m.get(k).map(|v| v.value.clone());
    assert_eq!(v(a, "A").as_deref(), Some("1"));
    assert_eq!(v(a, "B").as_deref(), Some("two"));
    assert_eq!(v(a, "C").as_deref(), Some("true"));
    assert_eq!(v(a, "FROM_ENV").as_deref(), Some("e"));
    assert_eq!(v(a, "NOT_SET"), None);
    let b = &svc(&s, "b").environment;
    assert_eq!(v(b, "A").as_deref(), Some("1=2"));
    assert_eq!(v(b, "FROM_ENV").as_deref(), Some("e"));
    assert_eq!(v(b, "NOT_SET"), None);
    assert_eq!(v(b, "EMPTY").as_deref(), Some(""));
    assert_eq!(a["A"].source, EnvSource::Inline);
}

#[test]
fn env_file_forms_and_override() {
    let p = Project::new();
    let f = p.write(
        "app.env",
        "# app\nexport DB_PASSWORD='s3cret'\nMODE=file\nURL=http://$HOST_NAME/x\n",
    );
    p.write("extra.env", "EXTRA=1\n");
    let mut opts = p.opts();
    opts.environment.insert("HOST_NAME".into(), "h".into());
    let yaml = "services:\n  a:\n    image: x\n    env_file: app.env\n    environment:\n      MODE: inline\n  b:\n    image: x\n    env_file:\n      - ./app.env\n      - path: extra.env\n      - path: nope.env\n        required: false\n";
    let s = p.load_with(yaml, &opts).unwrap();
    let a = &svc(&s, "a").environment;
    assert_eq!(a["DB_PASSWORD"].value, "s3cret");
    assert_eq!(a["DB_PASSWORD"].source, EnvSource::EnvFile(f.clone()));
    assert_eq!(a["MODE"].value, "inline");
    assert_eq!(a["MODE"].source, EnvSource::Inline);
    assert_eq!(a["URL"].value, "http://h/x");
    let b = &svc(&s, "b").environment;
    assert_eq!(b["EXTRA"].value, "1");
    assert_eq!(b["MODE"].source, EnvSource::EnvFile(f));

    let e = p.err("services:\n  a:\n    image: x\n    env_file:\n      - missing.env\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:5:9",
            "services.a.env_file[0]",
            "missing.env' does not exist",
        ],
    );
}

#[test]
fn depends_on_forms() {
    let p = Project::new();
    let s = p
        .load("services:\n  db:\n    image: x\n  mig:\n    image: x\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_healthy\n        restart: true\n      mig:\n        condition: service_completed_successfully\n        required: false\n  worker:\n    image: x\n    depends_on: [db]\n")
        .unwrap();
    let web = &svc(&s, "web").depends_on;
    let db = &web[&ServiceName::new("db")];
    assert_eq!(db.condition, Condition::Healthy);
    assert!(db.restart && db.required);
    let mig = &web[&ServiceName::new("mig")];
    assert_eq!(mig.condition, Condition::CompletedSuccessfully);
    assert!(!mig.required);
    let w = &svc(&s, "worker").depends_on[&ServiceName::new("db")];
    assert_eq!(w.condition, Condition::Started);
}

#[test]
fn dependency_errors() {
    let p = Project::new();
    let e = p.err("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on:\n      a:\n        condition: service_started\n");
    assert_contains(
        &e,
        &[
            "dependency cycle a -> b -> a",
            "compose.yaml:4:18",
            "services.a.depends_on[0]",
        ],
    );
    let e = p.err("services:\n  a:\n    image: x\n    depends_on: [a]\n");
    assert_contains(&e, &["cycle a -> a"]);
    let e =
        p.err("services:\n  a:\n    image: x\n    depends_on:\n      - dbb\n  db:\n    image: x\n");
    assert_contains(
        &e,
        &["compose.yaml:5:9", "unknown service 'dbb'", "'a', 'db'"],
    );
    let e = p.err("services:\n  a:\n    image: x\n    depends_on:\n      db:\n        condition: service_up\n  db:\n    image: x\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:6:20",
            "unknown condition 'service_up'",
            "service_healthy",
        ],
    );
}

#[test]
fn command_and_entrypoint() {
    let cases: &[(&str, &[&str])] = &[
        ("echo hi", &["echo", "hi"]),
        ("sh -c 'echo $$HOME; ls'", &["sh", "-c", "echo $HOME; ls"]),
        (
            r#"python -m app --name "a b" x\ y"#,
            &["python", "-m", "app", "--name", "a b", "x y"],
        ),
        (r#"say "quote \" inside""#, &["say", "quote \" inside"]),
        ("''", &[""]),
    ];
    let p = Project::new();
    for (cmd, want) in cases {
        let yaml_cmd = serde_json::to_string(cmd).unwrap();
        let s = one_service(&p, &format!("    command: {yaml_cmd}\n")).unwrap();
        let got = svc(&s, "web").command.clone().unwrap();
        assert_eq!(
            got,
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{cmd}"
        );
    }
    let s = one_service(
        &p,
        "    entrypoint: [\"/bin/sh\", \"-c\"]\n    command: [run, 1]\n",
    )
    .unwrap();
    assert_eq!(
        svc(&s, "web").entrypoint.as_ref().unwrap(),
        &["/bin/sh", "-c"]
    );
    assert_eq!(svc(&s, "web").command.as_ref().unwrap(), &["run", "1"]);
    let e = one_service(&p, "    command: \"echo 'unclosed\"\n")
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["services.web.command", "unclosed '"]);
}

#[test]
fn healthcheck_forms() {
    let p = Project::new();
    let cases: &[(&str, HealthTest)] = &[
        (
            "[\"CMD\", \"pg_isready\", \"-h\", \"127.0.0.1\"]",
            HealthTest::Cmd(vec!["pg_isready".into(), "-h".into(), "127.0.0.1".into()]),
        ),
        (
            "[\"CMD-SHELL\", \"curl -f localhost || exit 1\"]",
            HealthTest::Shell("curl -f localhost || exit 1".into()),
        ),
        (
            "curl -f localhost",
            HealthTest::Shell("curl -f localhost".into()),
        ),
        ("[\"NONE\"]", HealthTest::Disabled),
    ];
    for (test, want) in cases {
        let s = one_service(&p, &format!("    healthcheck:\n      test: {test}\n      interval: 1m30s\n      timeout: 500ms\n      retries: 5\n      start_period: 1h\n      start_interval: 2s\n")).unwrap();
        let h = svc(&s, "web").healthcheck.clone().unwrap();
        assert_eq!(&h.test, want);
        assert_eq!(h.interval, Some(Duration::from_secs(90)));
        assert_eq!(h.timeout, Some(Duration::from_millis(500)));
        assert_eq!(h.retries, Some(5));
        assert_eq!(h.start_period, Some(Duration::from_secs(3600)));
        assert_eq!(h.start_interval, Some(Duration::from_secs(2)));
    }
    let s = one_service(&p, "    healthcheck:\n      disable: true\n").unwrap();
    assert_eq!(
        svc(&s, "web").healthcheck.as_ref().unwrap().test,
        HealthTest::Disabled
    );

    let e = one_service(&p, "    healthcheck:\n      test: [\"RUN\", \"x\"]\n")
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            "compose.yaml:5:13",
            "services.web.healthcheck.test",
            "not 'RUN'",
            "CMD-SHELL",
        ],
    );
    let e = one_service(
        &p,
        "    healthcheck:\n      test: x\n      interval: 10 seconds\n",
    )
    .unwrap_err()
    .to_string();
    assert_contains(
        &e,
        &[
            "compose.yaml:6:17",
            "'10 seconds' is not a duration",
            "1m30s",
        ],
    );
}

#[test]
fn durations() {
    use resolve::parse_duration;
    let ok = [
        ("10s", 10_000),
        ("1m30s", 90_000),
        ("500ms", 500),
        ("1h", 3_600_000),
        ("1.5s", 1_500),
        ("0", 0),
        ("2h3m4s", 7_384_000),
    ];
    for (s, ms) in ok {
        assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        assert_eq!(
            parse_duration(&render::format_duration(Duration::from_millis(ms))),
            Ok(Duration::from_millis(ms))
        );
    }
    for bad in ["", "10", "s", "1x", "1m30", "-1s"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn restart_policies() {
    let p = Project::new();
    let cases = [
        ("\"no\"", RestartPolicy::No),
        ("always", RestartPolicy::Always),
        ("on-failure", RestartPolicy::OnFailure(None)),
        ("on-failure:3", RestartPolicy::OnFailure(Some(3))),
        ("unless-stopped", RestartPolicy::UnlessStopped),
    ];
    for (r, want) in cases {
        let s = one_service(&p, &format!("    restart: {r}\n")).unwrap();
        assert_eq!(svc(&s, "web").restart, want);
    }
    let e = one_service(&p, "    restart: sometimes\n")
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            "compose.yaml:4:14",
            "unknown restart policy 'sometimes'",
            "unless-stopped",
        ],
    );
}

#[test]
fn build_forms_and_image_names() {
    let p = Project::new();
    let app = p.mkdir("app");
    let yaml = "services:\n  api:\n    build: ./app\n  job:\n    image: reg/job:1\n    build:\n      context: app\n      dockerfile: Dockerfile.dev\n      target: dev\n      args:\n        - VERSION=1\n        - FROM_ENV\n  root:\n    build: {}\n";
    let mut opts = p.opts();
    opts.environment.insert("FROM_ENV".into(), "fe".into());
    let s = p.load_with(yaml, &opts).unwrap();
    let api = svc(&s, "api");
    assert_eq!(api.image, "proj-api");
    let b = api.build.as_ref().unwrap();
    assert_eq!(b.context, app);
    assert_eq!(b.dockerfile, "Dockerfile");
    let job = svc(&s, "job");
    assert_eq!(job.image, "reg/job:1");
    let b = job.build.as_ref().unwrap();
    assert_eq!(b.dockerfile, "Dockerfile.dev");
    assert_eq!(b.target.as_deref(), Some("dev"));
    assert_eq!(b.args["VERSION"], "1");
    assert_eq!(b.args["FROM_ENV"], "fe");
    assert_eq!(svc(&s, "root").build.as_ref().unwrap().context, p.path());

    let e = p.err("services:\n  web:\n    restart: always\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:2:3",
            "'services.web'",
            "neither 'image' nor 'build'",
        ],
    );
    let e = p.err("services:\n  web:\n    build: ./nope\n");
    assert_contains(&e, &["compose.yaml:3:12", "is not a directory"]);
}

#[test]
fn interpolation_in_the_file() {
    let p = Project::new();
    p.write(
        ".env",
        "TAG=16\nPORT=5432\nCOMPOSE_PROFILES=debug\nOVERRIDDEN=file\n",
    );
    let mut opts = p.opts();
    opts.environment.insert("OVERRIDDEN".into(), "env".into());
    let yaml = "services:\n  db:\n    image: postgres:${TAG}\n    ports: [\"${PORT}:5432\"]\n    environment:\n      A: ${OVERRIDDEN}\n      B: ${MISSING:-fallback}\n      C: $$NOT_A_VAR\n      D: ${A_UNSET}\n      UID: ${DEVSTACK_UID}\n      ${NOT_INTERPOLATED}: key\n  dbg:\n    image: busybox\n    profiles: [debug]\n";
    let s = p.load_with(yaml, &opts).unwrap();
    let db = svc(&s, "db");
    assert_eq!(db.image, "postgres:16");
    assert_eq!(db.ports[0].host_port, Some(5432));
    assert_eq!(db.environment["A"].value, "env");
    assert_eq!(db.environment["B"].value, "fallback");
    assert_eq!(db.environment["C"].value, "$NOT_A_VAR");
    assert_eq!(db.environment["D"].value, "");
    assert!(db.environment["UID"].value.parse::<u32>().is_ok());
    assert!(db.environment.contains_key("${NOT_INTERPOLATED}"));
    assert!(
        s.services.contains_key(&ServiceName::new("dbg")),
        "COMPOSE_PROFILES from .env"
    );
    let w: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_contains(
        &w[0],
        &[
            "compose.yaml:9:10",
            "services.db.environment.D",
            "'A_UNSET' is not set",
        ],
    );
}

#[test]
fn interpolation_errors() {
    let p = Project::new();
    let e = p
        .err("services:\n  db:\n    image: x\n    environment:\n      PW: ${PW:?set PW in .env}\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:5:11",
            "services.db.environment.PW",
            "'PW' is not set: set PW in .env",
        ],
    );
    let e = p.err("services:\n  db:\n    image: x\n    command: echo ${1}\n");
    assert_contains(&e, &["compose.yaml:4:14", "invalid interpolation", "'$$'"]);
}

#[test]
fn env_files_option_replaces_dot_env() {
    let p = Project::new();
    p.write(".env", "IMG=from-dot-env\n");
    p.write("ci.env", "IMG=from-ci\n");
    let mut opts = p.opts();
    opts.env_files = vec![PathBuf::from("ci.env")];
    let s = p
        .load_with("services:\n  a:\n    image: ${IMG}\n", &opts)
        .unwrap();
    assert_eq!(svc(&s, "a").image, "from-ci");
    opts.env_files = vec![PathBuf::from("nope.env")];
    let e = p
        .load_with("services:\n  a:\n    image: x\n", &opts)
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["nope.env"]);
}

#[test]
fn airflow_style_merge_keys() {
    let p = Project::new();
    p.mkdir("dags");
    let yaml = r#"
x-airflow-common:
  &airflow-common
  image: ${AIRFLOW_IMAGE_NAME:-apache/airflow:2.9.1}
  environment:
    &airflow-common-env
    AIRFLOW__CORE__EXECUTOR: LocalExecutor
    AIRFLOW__CORE__LOAD_EXAMPLES: 'false'
  volumes:
    - ./dags:/opt/airflow/dags
  user: "${AIRFLOW_UID:-50000}:0"
  depends_on:
    &airflow-common-depends-on
    postgres:
      condition: service_healthy

services:
  postgres:
    image: postgres:13
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "airflow"]
      interval: 10s
  airflow-webserver:
    <<: *airflow-common
    command: webserver
    ports:
      - "8080:8080"
  airflow-init:
    <<: *airflow-common
    environment:
      <<: *airflow-common-env
      _AIRFLOW_DB_MIGRATE: 'true'
      AIRFLOW__CORE__EXECUTOR: SequentialExecutor
    user: "0:0"
    depends_on:
      <<: *airflow-common-depends-on
"#;
    let s = p.load(yaml).unwrap();
    let web = svc(&s, "airflow-webserver");
    assert_eq!(web.image, "apache/airflow:2.9.1");
    assert_eq!(web.user.as_deref(), Some("50000:0"));
    assert_eq!(
        web.environment["AIRFLOW__CORE__EXECUTOR"].value,
        "LocalExecutor"
    );
    assert_eq!(web.command.as_ref().unwrap(), &["webserver"]);
    assert_eq!(
        web.mounts[0].source,
        MountSource::Bind(p.path().join("dags"))
    );
    assert_eq!(
        web.depends_on[&ServiceName::new("postgres")].condition,
        Condition::Healthy
    );
    let init = svc(&s, "airflow-init");
    assert_eq!(init.user.as_deref(), Some("0:0"));
    assert_eq!(
        init.environment["AIRFLOW__CORE__EXECUTOR"].value,
        "SequentialExecutor"
    );
    assert_eq!(init.environment["_AIRFLOW_DB_MIGRATE"].value, "true");
    assert_eq!(
        init.environment["AIRFLOW__CORE__LOAD_EXAMPLES"].value,
        "false"
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn merge_lists_and_chains() {
    let p = Project::new();
    let yaml = "x-a: &a\n  image: a\n  user: ua\nx-b: &b\n  image: b\n  working_dir: /b\nx-c: &c\n  <<: *b\n  restart: always\nservices:\n  s1:\n    <<: [*a, *b]\n  s2:\n    <<: *c\n    image: own\n";
    let s = p.load(yaml).unwrap();
    let s1 = svc(&s, "s1");
    assert_eq!(s1.image, "a", "earlier source wins");
    assert_eq!(s1.working_dir.as_deref(), Some("/b"));
    let s2 = svc(&s, "s2");
    assert_eq!(s2.image, "own", "explicit key wins");
    assert_eq!(s2.working_dir.as_deref(), Some("/b"), "chained merge");
    assert_eq!(s2.restart, RestartPolicy::Always);

    let e = p.err("services:\n  a:\n    <<: 3\n    image: x\n");
    assert_contains(&e, &["compose.yaml:3:9", "services.a.<<", "merge key"]);
}

#[test]
fn profiles() {
    let p = Project::new();
    let yaml = "services:\n  db:\n    image: x\n  debug:\n    image: x\n    profiles: [debug]\n  tools:\n    image: x\n    profiles: [tools, ops]\n";
    let names = |s: &Stack| s.services.keys().map(|k| k.to_string()).collect::<Vec<_>>();
    let s = p.load(yaml).unwrap();
    assert_eq!(names(&s), ["db"]);
    let mut opts = p.opts();
    opts.profiles = vec!["ops".into()];
    assert_eq!(names(&p.load_with(yaml, &opts).unwrap()), ["db", "tools"]);
    let mut opts = p.opts();
    opts.environment
        .insert("COMPOSE_PROFILES".into(), "debug, tools".into());
    assert_eq!(
        names(&p.load_with(yaml, &opts).unwrap()),
        ["db", "debug", "tools"]
    );
    let mut opts = p.opts();
    opts.profiles = vec!["*".into()];
    assert_eq!(names(&p.load_with(yaml, &opts).unwrap()).len(), 3);

    let dep = "services:\n  web:\n    image: x\n    depends_on: [debug]\n  debug:\n    image: x\n    profiles: [debug]\n";
    let e = p.err(dep);
    assert_contains(
        &e,
        &[
            "compose.yaml:4:18",
            "'debug', which is disabled by its profiles [debug]",
            "--profile",
        ],
    );
    let optional = "services:\n  web:\n    image: x\n    depends_on:\n      debug:\n        condition: service_started\n        required: false\n  debug:\n    image: x\n    profiles: [debug]\n";
    let s = p.load(optional).unwrap();
    assert!(svc(&s, "web").depends_on.is_empty());
}

#[test]
fn project_name_rules() {
    let p = Project::new();
    let yaml = "name: from-file\nservices:\n  a:\n    image: x\n";
    let mut opts = p.opts();
    opts.project_name = Some("given".into());
    assert_eq!(p.load_with(yaml, &opts).unwrap().project.as_str(), "given");
    opts.project_name = None;
    assert_eq!(
        p.load_with(yaml, &opts).unwrap().project.as_str(),
        "from-file"
    );
    let from_dir = p
        .load_with("services:\n  a:\n    image: x\n", &opts)
        .unwrap();
    let dir_name = p
        .dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase();
    assert_eq!(
        from_dir.project.as_str(),
        ProjectName::normalise(&dir_name).unwrap().as_str()
    );
    assert!(from_dir.project.as_str().starts_with("shop"));

    opts.project_name = Some("!!!".into());
    let e = p.load_with(yaml, &opts).unwrap_err().to_string();
    assert_contains(&e, &["project name '!!!'", "from -p", "-p"]);
    opts.project_name = None;
    let e = p
        .load_with("name: \"__\"\nservices: {}\n", &opts)
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            "compose.yaml:1:7",
            "from 'name:'",
            "name the project with -p",
        ],
    );
    opts.environment.insert("PROJ".into(), "env_name".into());
    let s = p.load_with("name: ${PROJ}\nservices: {}\n", &opts).unwrap();
    assert_eq!(s.project.as_str(), "env_name");
}

#[test]
fn unknown_keys_are_errors_with_suggestions() {
    let p = Project::new();
    let e = p.err("services:\n  web:\n    image: x\n    enviroment:\n      A: 1\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:4:5",
            "unknown key 'services.web.enviroment'",
            "did you mean 'environment'?",
            "allowed here: 'build', 'cap_add', 'cap_drop', 'command'",
        ],
    );
    let e = p.err("services:\n  web:\n    build:\n      contxt: .\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:4:7",
            "services.web.build.contxt",
            "did you mean 'context'?",
        ],
    );
    let e = p.err("servces:\n  web:\n    image: x\n");
    assert_contains(
        &e,
        &["compose.yaml:1:1", "'servces'", "did you mean 'services'?"],
    );
    let e = p.err(
        "services:\n  web:\n    image: x\n    healthcheck:\n      test: x\n      intervall: 1s\n",
    );
    assert_contains(&e, &["compose.yaml:6:7", "did you mean 'interval'?"]);
    let e = p.err(
        "services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        publish: 8080\n",
    );
    assert_contains(
        &e,
        &[
            "compose.yaml:6:9",
            "services.web.ports[0].publish",
            "did you mean 'published'?",
        ],
    );
    let e = p.err("x-devstack:\n  log_line: 5\nservices: {}\n");
    assert_contains(&e, &["x-devstack.log_line", "did you mean 'log_lines'?"]);
    let e = p.err("services:\n  web:\n    image: x\n    frobnicate: 1\n");
    assert!(!e.contains("did you mean"), "{e}");
}

#[test]
fn unimplemented_keys_warn_and_fail_under_strict() {
    let p = Project::new();
    let yaml = "version: '3.8'\nservices:\n  web:\n    image: x\n    container_name: web\n    deploy:\n      replicas: 2\n    networks: [front]\n    x-note: ignored\n    build:\n      context: .\n      cache_from: [a]\nnetworks:\n  front:\nconfigs:\n  s:\n    file: ./s\nx-anything: {a: 1}\n";
    let s = p.load(yaml).unwrap();
    let w: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    // `networks` (service and top level) is implemented: not among them.
    assert_eq!(w.len(), 4, "{w:#?}");
    assert_contains(&w[0], &["compose.yaml:1:1", "'version'", "obsolete"]);
    assert_contains(
        &w.join("\n"),
        &[
            "compose.yaml:7:7: 'services.web.deploy.replicas'",
            "compose.yaml:12:7: 'services.web.build.cache_from'",
            "compose.yaml:15:1: 'configs'",
        ],
    );
    let mut opts = p.opts();
    opts.strict = true;
    let e = p.load_with(yaml, &opts).unwrap_err().to_string();
    assert_contains(&e, &["compose.yaml:1:1", "'version'", "--strict"]);
    // Unset variables are warnings too, so --strict rejects them.
    let e = p
        .load_with("services:\n  a:\n    image: ${NOPE}\n", &opts)
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["compose.yaml:3:12", "'NOPE' is not set", "--strict"]);
}

#[test]
fn wrong_shapes_name_what_is_allowed() {
    let p = Project::new();
    let e = p.err("services:\n  web:\n    image: x\n    ports: 8080\n");
    assert_contains(
        &e,
        &["compose.yaml:4:12", "services.web.ports", "'8080:80'"],
    );
    let e = p.err("services:\n  web:\n    image: x\n    environment: 5\n");
    assert_contains(&e, &["services.web.environment", "KEY=value"]);
    let e = p.err("services:\n  web:\n    image: [x]\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:3:12",
            "services.web.image",
            "wrong kind of value",
        ],
    );
    let e =
        p.err("services:\n  web:\n    image: x\n    x-devstack:\n      restart_on_change: maybe\n");
    assert_contains(&e, &["compose.yaml:5:26", "true or false"]);
    let e = p.err("services: [a]\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:1:11",
            "'services'",
            "a mapping of service names",
        ],
    );
    let e = p.err("- a\n- b\n");
    assert_contains(&e, &["compose.yaml:1:1", "mapping at its top level"]);
}

#[test]
fn syntax_errors_keep_the_parser_position() {
    let p = Project::new();
    let e = p.err("services:\n  web:\n    image: x\n   ports: [\n");
    assert_contains(&e, &["compose.yaml:", "not valid YAML"]);
    let e = p.err("services:\n  web:\n    image: x\n    image: y\n");
    assert_contains(&e, &["compose.yaml:3:", "duplicate"]);
}

#[test]
fn devstack_settings_and_watch() {
    let p = Project::new();
    p.mkdir("src");
    let yaml = "x-devstack:\n  log_lines: 5000\n  debounce: 100ms\nservices:\n  db:\n    image: postgres\n    x-devstack:\n      console: psql\n      restart_on_change: true\n    develop:\n      watch:\n        - path: ./src\n          target: /app/src\n          action: sync+restart\n          ignore: [\"*.pyc\"]\n        - path: requirements.txt\n          action: rebuild\n";
    let s = p.load(yaml).unwrap();
    assert_eq!(s.settings.log_lines, Some(5000));
    assert_eq!(s.settings.debounce, Some(Duration::from_millis(100)));
    let db = svc(&s, "db");
    assert!(db.settings.restart_on_change);
    assert_eq!(db.settings.console.as_deref(), Some("psql"));
    assert_eq!(db.watch[0].path, p.path().join("src"));
    assert_eq!(db.watch[0].action, WatchAction::SyncRestart);
    assert_eq!(db.watch[0].ignore, ["*.pyc"]);
    assert_eq!(db.watch[1].path, p.path().join("requirements.txt"));
    assert_eq!(db.watch[1].action, WatchAction::Rebuild);

    let e = p.err("services:\n  a:\n    image: x\n    develop:\n      watch:\n        - path: .\n          action: sync+exec\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:7:19",
            "'sync+exec' is not supported",
            "'sync+restart'",
        ],
    );
    let e = p.err("services:\n  a:\n    image: x\n    develop:\n      watch:\n        - path: .\n          action: sync\n");
    assert_contains(&e, &["needs a 'target'"]);
    let e = p.err("services:\n  a:\n    image: x\n    x-devstack:\n      console: mongo\n");
    assert_contains(&e, &["unknown console 'mongo'", "'psql'"]);
}

#[test]
fn render_config_masks_secrets() {
    let p = Project::new();
    p.write("db.env", "DB_USER=admin\n");
    let yaml = "services:\n  db:\n    image: postgres:16\n    env_file: db.env\n    environment:\n      POSTGRES_PASSWORD: hunter2\n      POSTGRES_DB: app\n    ports: [\"5432:5432\"]\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n      interval: 1m30s\n    volumes:\n      - pg:/var/lib/postgresql/data\nvolumes:\n  pg:\n";
    let s = p.load(yaml).unwrap();
    let masked = render_config(&s, false);
    assert_contains(
        &masked,
        &[
            "name: proj",
            "POSTGRES_PASSWORD: '********'",
            "DB_USER: '********'",
            "POSTGRES_DB: app",
            "host_ip: 127.0.0.1",
            "interval: 1m30s",
            "name: proj_pg",
        ],
    );
    assert!(
        !masked.contains("hunter2") && !masked.contains("admin"),
        "{masked}"
    );
    let shown = render_config(&s, true);
    assert_contains(&shown, &["POSTGRES_PASSWORD: hunter2", "DB_USER: admin"]);
}

#[test]
fn find_file_order_and_load() {
    let p = Project::new();
    let e = find_file(&p.path()).unwrap_err().to_string();
    assert_contains(&e, &["devstack.yaml, compose.yaml", "-f"]);
    p.write("docker-compose.yml", "services:\n  a:\n    image: x\n");
    assert_eq!(
        find_file(&p.path()).unwrap(),
        p.path().join("docker-compose.yml")
    );
    p.write("compose.yaml", "services:\n  b:\n    image: x\n");
    assert_eq!(find_file(&p.path()).unwrap(), p.path().join("compose.yaml"));
    p.write("devstack.yaml", "services:\n  c:\n    image: x\n");
    assert_eq!(
        find_file(&p.path()).unwrap(),
        p.path().join("devstack.yaml")
    );
    let s = load(&p.opts()).unwrap();
    assert!(s.services.contains_key(&ServiceName::new("c")));
    let mut opts = p.opts();
    opts.file = Some("compose.yaml".into());
    let s = load(&opts).unwrap();
    assert_eq!(s.file, p.path().join("compose.yaml"));
    assert!(s.services.contains_key(&ServiceName::new("b")));
}

/// Every file in `tests/fixtures/valid/` loads; every file in `tests/fixtures/invalid/`
/// fails with each line of its sibling `.expected` file in the message.
#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let opts = |dir: &Path| LoadOptions {
        cwd: dir.to_path_buf(),
        environment: env(&[("HOME", "/home/u"), ("FIXTURE_SET", "yes")]),
        ..Default::default()
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("valid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let mut o = opts(path.parent().unwrap());
            o.file = Some(path.clone());
            let s = load(&o).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!s.services.is_empty(), "{}", path.display());
            seen += 1;
        }
    }
    for entry in std::fs::read_dir(root.join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let expected = std::fs::read_to_string(path.with_extension("expected"))
                .unwrap_or_else(|_| panic!("{} needs a .expected file", path.display()));
            let mut o = opts(path.parent().unwrap());
            o.file = Some(path.clone());
            o.strict = path.to_string_lossy().contains("strict");
            let e = match load(&o) {
                Ok(_) => panic!("{} loaded but should fail", path.display()),
                Err(e) => e.to_string(),
            };
            for line in expected.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    e.contains(line.trim()),
                    "{}: missing {line:?} in:\n{e}",
                    path.display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} fixtures");
}

#[test]
fn yaml_1_1_lookalikes_stay_strings() {
    // `no` and `8080:80` unquoted: YAML 1.1 would read a boolean and a base-60 number.
    let p = Project::new();
    let s = one_service(&p, "    restart: no\n    ports:\n      - 8080:80\n").unwrap();
    assert_eq!(svc(&s, "web").restart, RestartPolicy::No);
    assert_eq!(svc(&s, "web").ports[0].host_port, Some(8080));
}

#[test]
fn empty_file_is_an_error() {
    let p = Project::new();
    assert_contains(
        &p.err(""),
        &["compose.yaml:1:1", "mapping at its top level"],
    );
}

/// Regression (issue 7, secrets): a secret-looking variable interpolated into a value
/// whose key does not look secret (a URL, a command) showed in `config`, and in error
/// messages quoting a bad value (whole, or the piece that failed to parse).
#[test]
fn secret_variables_are_masked_wherever_interpolated() {
    let p = Project::new();
    p.write(".env", "POSTGRES_PASSWORD=pw-hunter22\nPLAIN=visible\n");
    let stack = p
        .load(
            "services:\n  a:\n    image: x\n    command: [psql, 'postgres://u:${POSTGRES_PASSWORD}@db']\n    environment:\n      URL: postgres://u:${POSTGRES_PASSWORD}@db/${PLAIN}\n",
        )
        .unwrap();
    let masked = render_config(&stack, false);
    assert!(!masked.contains("hunter22"), "{masked}");
    // Every `.env` value is masked (issue 11 item 12), not only secret-looking ones.
    assert!(
        masked.contains("postgres://u:********@db/********"),
        "{masked}"
    );
    assert!(render_config(&stack, true).contains("pw-hunter22"));
    assert!(!format!("{:?}", stack.settings).contains("hunter22"));

    for (yaml, position) in [
        ("ports: ['${POSTGRES_PASSWORD}:80']", "compose.yaml:4:13"),
        ("ports: ['${POSTGRES_PASSWORD}']", "compose.yaml:4:13"),
        (
            "volumes: ['./${POSTGRES_PASSWORD}:/x']",
            "compose.yaml:4:15",
        ),
        (
            "healthcheck: {test: [CMD, 'true'], interval: '${POSTGRES_PASSWORD}'}",
            "compose.yaml:4:",
        ),
    ] {
        let e = p.err(&format!("services:\n  a:\n    image: x\n    {yaml}\n"));
        assert!(!e.contains("hunter22") && !e.contains("'pw'"), "{e}");
        assert!(e.contains(position) && e.contains("********"), "{e}");
    }
}

/// Regression (issue 7, found by the property tests and by the `stack_loader` fuzz
/// target): an `env_file:` naming a directory (`""`, `.`, `./conf`) or a name longer
/// than the system allows failed with "cannot read '/dir': Is a directory" (or "File
/// name too long"), naming neither the stack file nor where in it.
#[test]
fn unreadable_env_file_is_an_error_at_its_entry() {
    let p = Project::new();
    p.mkdir("conf");
    let long = "n".repeat(300);
    for (value, col) in [
        ("''", 15),
        ("./conf", 15),
        ("[a.env, ./conf]", 23),
        (long.as_str(), 15),
    ] {
        if value.contains("a.env") {
            p.write("a.env", "A=1\n");
        }
        let e = p.err(&format!(
            "services:\n  a:\n    image: x\n    env_file: {value}\n"
        ));
        assert_contains(
            &e,
            &[
                &format!("compose.yaml:4:{col}"),
                "cannot read env file",
                "a readable file",
            ],
        );
    }
}

// ---- Project name and several files (issue 16 items 1 and 2) ----

/// Compose's precedence: `-p`, then COMPOSE_PROJECT_NAME (environment over `.env`), then
/// `name:`, then the directory. Before, COMPOSE_PROJECT_NAME was ignored and an existing
/// install came up on new, empty volumes.
#[test]
fn project_name_precedence_follows_compose() {
    let p = Project::new();
    let yaml = "name: from-file\nservices:\n  a:\n    image: x\nvolumes:\n  data: {}\n";
    let mut o = p.opts();
    o.project_name = None;
    assert_eq!(p.load_with(yaml, &o).unwrap().project.as_str(), "from-file");

    p.write(".env", "COMPOSE_PROJECT_NAME=from-dotenv\n");
    let s = p.load_with(yaml, &o).unwrap();
    assert_eq!(s.project.as_str(), "from-dotenv");
    assert_eq!(s.volumes["data"].name, "from-dotenv_data");

    o.environment
        .insert("COMPOSE_PROJECT_NAME".into(), "from-env".into());
    assert_eq!(p.load_with(yaml, &o).unwrap().project.as_str(), "from-env");
    // As Compose ("invalid project name"): a name the user sets is never normalised.
    o.environment
        .insert("COMPOSE_PROJECT_NAME".into(), "From-Env".into());
    let e = p.load_with(yaml, &o).unwrap_err().to_string();
    assert!(
        e.contains("From-Env") && e.contains("COMPOSE_PROJECT_NAME"),
        "{e}"
    );

    o.project_name = Some("flag".into());
    assert_eq!(p.load_with(yaml, &o).unwrap().project.as_str(), "flag");

    let mut o = p.opts();
    o.project_name = None;
    std::fs::remove_file(p.path().join(".env")).unwrap();
    let s = p.load_with("services:\n  a:\n    image: x\n", &o).unwrap();
    assert!(
        s.project.as_str().starts_with("shop"),
        "{}",
        s.project.as_str()
    );
}

fn files_opts(p: &Project, files: &[&str]) -> LoadOptions {
    let mut o = p.opts();
    o.file = files.first().map(PathBuf::from);
    o.extra_files = files.iter().skip(1).map(PathBuf::from).collect();
    o
}

const BASE: &str = "services:
  web:
    image: nginx
    command: [\"a\", \"b\"]
    environment:
      A: \"1\"
      B: \"2\"
    ports:
      - \"8080:80\"
      - \"9090:90\"
    volumes:
      - ./x:/data
      - ./y:/other
    labels: [l1=a]
    depends_on:
      db:
        condition: service_healthy
  db:
    image: postgres
    healthcheck:
      test: [\"CMD\", \"true\"]
      interval: 5s
";

const OVERRIDE: &str = "services:
  web:
    command: c
    environment:
      - B=3
      - C=4
    ports:
      - \"8080:80\"
      - \"7070:70\"
    volumes:
      - ./z:/data
    labels:
      l2: b
    depends_on: [db]
  db:
    image: !reset null
    healthcheck:
      interval: 9s
    build: .
";

/// The expected values are what `docker compose config` (v2.40.3) prints for the same
/// two files.
fn assert_merged_like_compose(p: &Project, s: &Stack) {
    let web = svc(s, "web");
    assert_eq!(web.command, Some(vec!["c".to_string()]));
    let env: Vec<(&str, &str)> = web
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(env, [("A", "1"), ("B", "3"), ("C", "4")]);
    let ports: Vec<(Option<u16>, u16)> = web
        .ports
        .iter()
        .map(|b| (b.host_port, b.container_port))
        .collect();
    assert_eq!(
        ports,
        [(Some(8080), 80), (Some(9090), 90), (Some(7070), 70)]
    );
    let mounts: Vec<(MountSource, &str)> = web
        .mounts
        .iter()
        .map(|m| (m.source.clone(), m.target.as_str()))
        .collect();
    assert_eq!(
        mounts,
        [
            (MountSource::Bind(p.path().join("z")), "/data"),
            (MountSource::Bind(p.path().join("y")), "/other")
        ]
    );
    assert_eq!(web.labels.get("l1").map(String::as_str), Some("a"));
    assert_eq!(web.labels.get("l2").map(String::as_str), Some("b"));
    assert_eq!(
        web.depends_on[&ServiceName::new("db")].condition,
        Condition::Started
    );
    let db = svc(s, "db");
    assert_eq!(db.image, "proj-db", "image reset, so the built image's tag");
    assert!(db.build.is_some());
    let h = db.healthcheck.as_ref().unwrap();
    assert_eq!(h.test, HealthTest::Cmd(vec!["true".into()]));
    assert_eq!(h.interval, Some(Duration::from_secs(9)));
}

/// Before, the override file was not read and nothing said so.
#[test]
fn override_file_next_to_the_default_file_is_merged() {
    let p = Project::new();
    for d in ["x", "y", "z"] {
        p.mkdir(d);
    }
    p.write("compose.yaml", BASE);
    p.write("compose.override.yaml", OVERRIDE);
    assert_eq!(
        stack_files(&p.opts()).unwrap(),
        [
            p.path().join("compose.yaml"),
            p.path().join("compose.override.yaml")
        ]
    );
    let s = load(&p.opts()).unwrap();
    assert_merged_like_compose(&p, &s);
    // Named with -f, a file comes alone, as in Compose.
    let s = load(&files_opts(&p, &["compose.yaml"])).unwrap();
    assert_eq!(svc(&s, "web").command, Some(vec!["a".into(), "b".into()]));
}

/// Before, a second `-f` was refused.
#[test]
fn several_files_given_with_f_merge_in_order() {
    let p = Project::new();
    for d in ["x", "y", "z"] {
        p.mkdir(d);
    }
    p.write("base.yaml", BASE);
    p.write("sub/dev.yaml", OVERRIDE);
    let s = load(&files_opts(&p, &["base.yaml", "sub/dev.yaml"])).unwrap();
    // Relative paths of every file resolve against the first file's directory.
    assert_merged_like_compose(&p, &s);
    assert_eq!(s.file, p.path().join("base.yaml"));
}

/// Before, COMPOSE_FILE was ignored.
#[test]
fn compose_file_variable_lists_the_files() {
    let p = Project::new();
    for d in ["x", "y", "z"] {
        p.mkdir(d);
    }
    p.write("base.yaml", BASE);
    p.write("dev.yaml", OVERRIDE);
    p.write("compose.yaml", "services:\n  other:\n    image: x\n");
    let mut o = p.opts();
    o.environment
        .insert("COMPOSE_FILE".into(), "base.yaml:dev.yaml".into());
    assert_merged_like_compose(&p, &load(&o).unwrap());

    // From the working directory's .env, with its own separator.
    p.write(
        ".env",
        "COMPOSE_FILE=base.yaml;dev.yaml\nCOMPOSE_PATH_SEPARATOR=;\n",
    );
    assert_merged_like_compose(&p, &load(&p.opts()).unwrap());
}

#[test]
fn override_and_reset_tags() {
    let p = Project::new();
    p.write(
        "a.yaml",
        "services:\n  web:\n    image: x\n    ports: [\"80:80\", \"81:81\"]\n    environment: {A: '1', B: '2'}\n    user: root\n",
    );
    p.write(
        "b.yaml",
        "services:\n  web:\n    ports: !override [\"82:82\"]\n    environment: !override {C: '3'}\n    user: !reset\n",
    );
    let s = load(&files_opts(&p, &["a.yaml", "b.yaml"])).unwrap();
    let web = svc(&s, "web");
    let ports: Vec<u16> = web.ports.iter().map(|b| b.container_port).collect();
    assert_eq!(ports, [82]);
    assert_eq!(web.environment.keys().collect::<Vec<_>>(), ["C"]);
    assert_eq!(web.user, None);
}

/// An error about a value names the file (and line) the value came from.
#[test]
fn errors_name_the_file_the_value_came_from() {
    let p = Project::new();
    p.write(
        "a.yaml",
        "services:\n  web:\n    image: x\n    restart: always\n",
    );
    p.write(
        "b.yaml",
        "services:\n  web:\n    labels: {a: b}\n    restart: sometimes\n",
    );
    let e = load(&files_opts(&p, &["a.yaml", "b.yaml"]))
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            &format!("{}:4:14", p.path().join("b.yaml").display()),
            "'sometimes'",
        ],
    );

    // A value of another kind than the earlier file's cannot merge.
    p.write("c.yaml", "services:\n  web:\n    ports: \"80:80\"\n");
    p.write(
        "d.yaml",
        "services:\n  web:\n    image: x\n    ports: [\"81:81\"]\n",
    );
    let e = load(&files_opts(&p, &["d.yaml", "c.yaml"]))
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            &format!("{}:3:12", p.path().join("c.yaml").display()),
            "'services.web.ports'",
            "!override",
        ],
    );

    // An unknown key in the second file is reported at its own position.
    p.write("e.yaml", "services:\n  web:\n    imgae: y\n");
    let e = load(&files_opts(&p, &["d.yaml", "e.yaml"]))
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            &format!("{}:3:5", p.path().join("e.yaml").display()),
            "image",
        ],
    );

    // In a merged list, each item points at its own file.
    p.write("f.yaml", "services:\n  web:\n    ports: [\"0:81\"]\n");
    p.write(
        "g.yaml",
        "services:\n  web:\n    image: x\n    ports: [\"0:80\"]\n",
    );
    let e = load(&files_opts(&p, &["d.yaml", "f.yaml"]))
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[&format!("{}:3:13", p.path().join("f.yaml").display())],
    );
    let e = load(&files_opts(&p, &["g.yaml", "f.yaml"]))
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[&format!("{}:4:13", p.path().join("g.yaml").display())],
    );
}

// ---- Forms Compose accepts that were refused (issue 16 item 7) ----

/// Before: "a healthcheck needs a 'test'". Compose keeps the image's test.
#[test]
fn healthcheck_without_test_keeps_the_image_test() {
    let p = Project::new();
    let s = one_service(
        &p,
        "    healthcheck:\n      interval: 3s\n      retries: 7\n",
    )
    .unwrap();
    let h = svc(&s, "web").healthcheck.clone().unwrap();
    assert_eq!(h.test, HealthTest::FromImage);
    assert_eq!(h.interval, Some(Duration::from_secs(3)));
    assert_eq!(h.retries, Some(7));
    let yaml = render_config(&s, false);
    assert!(!yaml.contains("test"), "{yaml}");
}

/// Before: "host range 9000-9001 and container range 80-80 differ in length".
#[test]
fn host_port_range_for_one_container_port() {
    let p = Project::new();
    let s = one_service(
        &p,
        "    ports: [\"9000-9001:80\", \"127.0.0.1:7000-7002:70/udp\"]\n",
    )
    .unwrap();
    let ports = &svc(&s, "web").ports;
    assert_eq!(ports.len(), 2);
    assert_eq!(
        (
            ports[0].host_port,
            ports[0].host_port_end,
            ports[0].container_port
        ),
        (Some(9000), Some(9001), 80)
    );
    assert_eq!(
        (
            ports[1].host_port,
            ports[1].host_port_end,
            ports[1].protocol
        ),
        (Some(7000), Some(7002), Protocol::Udp)
    );
    assert!(render_config(&s, false).contains("published: 9000-9001"));
    // Ranges of different lengths, both longer than one, are still an error.
    assert!(
        one_service(&p, "    ports: [\"9000-9002:80-81\"]\n")
            .unwrap_err()
            .to_string()
            .contains("differ in length")
    );
}

/// Before: "wrong kind of value: map, expected true or false".
#[test]
fn legacy_external_name_on_volumes() {
    let p = Project::new();
    let s = p
        .load("services:\n  a:\n    image: x\n    volumes: [data:/d]\nvolumes:\n  data:\n    external:\n      name: shared-data\n")
        .unwrap();
    assert!(s.volumes["data"].external);
    assert_eq!(s.volumes["data"].name, "shared-data");
    let e = p
        .load("services:\n  a:\n    image: x\nvolumes:\n  data:\n    name: a\n    external:\n      name: b\n")
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["compose.yaml:8:13", "'b' differs"]);
}

/// Before: serde_yaml's "more than one document" error. Compose merges the documents
/// (checked with `docker compose config`).
#[test]
fn documents_of_one_file_are_merged() {
    let p = Project::new();
    let s = p
        .load("services:\n  web:\n    image: nginx\n    environment: {A: \"1\"}\n---\n---\nservices:\n  web:\n    environment: {B: \"2\"}\n  db:\n    image: postgres\n    restart: sometimes\n")
        .unwrap_err()
        .to_string();
    // Positions are those of the document the value is in.
    assert_contains(&s, &["compose.yaml:12:14", "'sometimes'"]);
    let s = p
        .load("services:\n  web:\n    image: nginx\n    environment: {A: \"1\"}\n---\nservices:\n  web:\n    environment: {B: \"2\"}\n  db:\n    image: postgres\n")
        .unwrap();
    let env: Vec<&String> = svc(&s, "web").environment.keys().collect();
    assert_eq!(env, ["A", "B"]);
    assert_eq!(svc(&s, "db").image, "postgres");
}

/// Issue 16 item 10: a real file needed 8 runs, one `mkdir` each. Every missing source
/// is listed with its position, and one `mkdir -p` covers them all (each path once).
#[test]
fn every_missing_bind_source_in_one_report() {
    let p = Project::new();
    p.mkdir("present");
    let e = p
        .load("services:\n  a:\n    image: x\n    volumes:\n      - ./logs:/logs\n      - ./present:/p\n      - ./dags:/dags\n  b:\n    image: x\n    volumes:\n      - ./logs:/var/log\n      - type: bind\n        source: ./plugins\n        target: /plugins\n")
        .unwrap_err()
        .to_string();
    let dir = p.path();
    let q = |rel: &str| format!("'{}'", dir.join(rel).display());
    assert_contains(
        &e,
        &[
            "4 bind-mount sources do not exist",
            &format!("compose.yaml:5:9: 'services.a.volumes[0]': {}", q("logs")),
            &format!("compose.yaml:7:9: 'services.a.volumes[2]': {}", q("dags")),
            &format!("compose.yaml:11:9: 'services.b.volumes[0]': {}", q("logs")),
            &format!(
                "compose.yaml:13:17: 'services.b.volumes[1].source': {}",
                q("plugins")
            ),
            &format!("mkdir -p {} {} {} —", q("logs"), q("dags"), q("plugins")),
        ],
    );
    assert_eq!(e.matches("mkdir").count(), 1, "{e}");
}

// ---- Verbs and container settings (issue 16 item 8) ----

/// Before: 'init' and 'logging' were warned about and ignored, so a file's log
/// rotation caps never applied.
#[test]
fn init_and_logging_are_read() {
    let p = Project::new();
    let s = one_service(
        &p,
        "    init: true\n    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n        max-file: 3\n",
    )
    .unwrap();
    let o = &svc(&s, "web").options;
    assert_eq!(o.init, Some(true));
    let l = o.logging.as_ref().unwrap();
    assert_eq!(l.driver.as_deref(), Some("json-file"));
    assert_eq!(
        l.options,
        BTreeMap::from([
            ("max-file".to_string(), "3".to_string()),
            ("max-size".to_string(), "10m".to_string())
        ])
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let yaml = render_config(&s, false);
    assert_contains(&yaml, &["init: true", "driver: json-file", "max-size: 10m"]);
    let e = one_service(&p, "    logging:\n      drvier: local\n")
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["compose.yaml:5:7", "'driver'"]);
}

#[test]
fn only_with_dependencies_keeps_what_the_named_services_need() {
    let p = Project::new();
    let s = p
        .load("services:\n  web:\n    image: x\n    depends_on: [api]\n  api:\n    image: x\n    depends_on: [db]\n  db:\n    image: x\n  other:\n    image: x\n")
        .unwrap();
    let names = |s: &Stack| s.services.keys().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(&s.only_with_dependencies(&[ServiceName::new("web")])),
        ["api", "db", "web"]
    );
    assert_eq!(
        names(&s.only_with_dependencies(&[ServiceName::new("other"), ServiceName::new("db")])),
        ["db", "other"]
    );
}

// ---- Compose keys real files use (issue 16 item 6) ----

/// Before: each of these was a warning and ignored.
#[test]
fn container_settings_are_read_and_validated() {
    let p = Project::new();
    let s = one_service(
        &p,
        "    hostname: box\n    stdin_open: true\n    tty: true\n    read_only: true\n    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    extra_hosts:\n      - \"db.local:10.0.0.5\"\n      - \"v6=::1\"\n    shm_size: 64m\n    sysctls:\n      net.core.somaxconn: 1024\n    tmpfs: [\"/run\", \"/tmp:size=1m\"]\n    ulimits:\n      nproc: 512\n      nofile:\n        soft: 1024\n        hard: 2048\n    expose: [\"80\", \"9000-9001/udp\"]\n    deploy:\n      resources:\n        limits: {cpus: \"0.5\", memory: 256M, pids: 100}\n        reservations: {cpus: \"0.25\", memory: 128m}\n",
    )
    .unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let o = &svc(&s, "web").options;
    assert_eq!(o.hostname.as_deref(), Some("box"));
    assert!(o.stdin_open && o.tty && o.read_only);
    assert_eq!(o.cap_add, ["NET_ADMIN"]);
    assert_eq!(o.cap_drop, ["ALL"]);
    assert_eq!(o.extra_hosts, ["db.local:10.0.0.5", "v6:::1"]);
    assert_eq!(o.shm_size, Some(64 << 20));
    assert_eq!(o.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(o.tmpfs["/run"], "");
    assert_eq!(o.tmpfs["/tmp"], "size=1m");
    assert_eq!(
        o.ulimits["nproc"],
        Ulimit {
            soft: 512,
            hard: 512
        }
    );
    assert_eq!(
        o.ulimits["nofile"],
        Ulimit {
            soft: 1024,
            hard: 2048
        }
    );
    assert_eq!(o.expose, ["80/tcp", "9000/udp", "9001/udp"]);
    assert_eq!(
        o.resources,
        Resources {
            nano_cpus: Some(500_000_000),
            memory: Some(256 << 20),
            pids: Some(100),
            memory_reservation: Some(128 << 20),
        }
    );
    let yaml = render_config(&s, false);
    assert_contains(
        &yaml,
        &[
            "hostname: box",
            "cap_add:",
            "shm_size: 67108864",
            "nano_cpus: 500000000",
        ],
    );

    for (body, wanted) in [
        (
            "    shm_size: lots\n",
            "compose.yaml:4:15: 'services.web.shm_size': 'lots' is not a size",
        ),
        ("    extra_hosts: [\"db\"]\n", "compose.yaml:4:19"),
        (
            "    extra_hosts: {db: not-an-ip}\n",
            "'not-an-ip' is not an IP address",
        ),
        ("    tmpfs: run\n", "'run' is not an absolute path"),
        (
            "    ulimits:\n      nofile: {soft: 9, hard: 3}\n",
            "soft limit 9 is above hard limit 3",
        ),
        ("    expose: [\"http\"]\n", "'http' is not a port number"),
        (
            "    deploy:\n      resources:\n        limits: {cpus: lots}\n",
            "'lots' is not a number of CPUs",
        ),
        (
            "    deploy:\n      resources:\n        limits: {memroy: 1g}\n",
            "did you mean 'memory'",
        ),
    ] {
        let e = one_service(&p, body).unwrap_err().to_string();
        assert!(e.contains(wanted), "{body}: missing {wanted:?} in {e}");
    }
    // What deploy still does not implement is a warning with its position.
    let s = one_service(&p, "    deploy:\n      replicas: 2\n").unwrap();
    assert_eq!(s.warnings[0].key, "services.web.deploy.replicas");
}

#[test]
fn byte_sizes_as_docker_reads_them() {
    use super::resolve::parse_bytes;
    assert_eq!(parse_bytes("1024"), Ok(1024));
    assert_eq!(parse_bytes("1k"), Ok(1024));
    assert_eq!(parse_bytes("1KB"), Ok(1024));
    assert_eq!(parse_bytes("1.5g"), Ok(3 << 29));
    assert_eq!(parse_bytes("2 MiB"), Ok(2 << 20));
    assert!(parse_bytes("-1m").is_err());
    assert!(parse_bytes("m").is_err());
}

/// Before: warned and ignored, so the container had another name than under Compose.
#[test]
fn container_name_is_read_and_validated() {
    let p = Project::new();
    let s = one_service(&p, "    container_name: my-web\n").unwrap();
    let web = svc(&s, "web");
    assert_eq!(web.container_name(&s.project), "my-web");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert!(render_config(&s, false).contains("container_name: my-web"));
    let plain = one_service(&p, "").unwrap();
    assert_eq!(
        svc(&plain, "web").container_name(&plain.project),
        "proj-web-1"
    );
    let e = one_service(&p, "    container_name: \"-bad name\"\n")
        .unwrap_err()
        .to_string();
    assert_contains(
        &e,
        &[
            "compose.yaml:4:21",
            "'-bad name' is not a valid container name",
        ],
    );
}

/// Before: warned and ignored. `service:x` also waits for x, as in Compose.
#[test]
fn network_mode_is_read_and_adds_its_dependency() {
    let p = Project::new();
    let s = p
        .load("services:\n  vpn:\n    image: x\n  app:\n    image: x\n    network_mode: service:vpn\n  tool:\n    image: x\n    network_mode: host\n")
        .unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let app = svc(&s, "app");
    assert_eq!(app.options.network_mode.as_deref(), Some("service:vpn"));
    assert_eq!(
        app.depends_on[&ServiceName::new("vpn")].condition,
        Condition::Started
    );
    assert_eq!(
        svc(&s, "tool").options.network_mode.as_deref(),
        Some("host")
    );
    let e = one_service(&p, "    network_mode: overlay\n")
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["compose.yaml:4:19", "unknown network mode 'overlay'"]);
    let e = p
        .load("services:\n  app:\n    image: x\n    network_mode: service:nope\n")
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["unknown service 'nope'"]);
}

/// Issue 14 item 12: a port clash names the variable a host port came from.
#[test]
fn port_variables_name_the_variable_each_host_port_came_from() {
    let p = Project::new();
    p.write(".env", "WEB_PORT=8089\n");
    let mut opts = p.opts();
    opts.environment.insert("LONG_PORT".into(), "7000".into());
    let s = p
        .load_with(
            r#"
services:
  web:
    image: x
    ports:
      - "${WEB_PORT}:80"
      - "127.0.0.1:${API_PORT:-9001}:9000"
      - "5000:5000"
      - target: 81
        published: "${LONG_PORT}"
"#,
            &opts,
        )
        .unwrap();
    let vars = &s.settings.port_variables[&ServiceName::new("web")];
    let got: Vec<(u16, &str, &str)> = vars
        .iter()
        .map(|(port, v)| (*port, v.name.as_str(), v.origin.as_str()))
        .collect();
    let env_file = format!("set in '{}'", p.path().join(".env").display());
    assert_eq!(
        got,
        [
            (7000, "LONG_PORT", "set in the environment"),
            (8089, "WEB_PORT", env_file.as_str()),
            (9001, "API_PORT", "not set: the file's default applies"),
        ]
    );
}
