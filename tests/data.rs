//! The data stack out of the box (issue 6).
//!
//! Without a daemon: every bundled stack, written out as `devstack init` writes it (with
//! a freshly generated `.env`), loads with no warnings; its plan has the expected
//! services, gates, waves, loopback ports, volume paths, users and watch rules; secrets
//! come only from `.env`; its endpoints name where passwords live without showing them.
//! The pipeline's own Python tests run here too.
//!
//! Against the daemon: a stack of the same shape on the fixture image proves the order
//! and gating of a real bring-up (`devstack up --detach`), the endpoints it prints, and
//! that saving the pipeline's code reruns it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devstack::init;
use devstack::model::{ContainerState, Observed, ServiceName};
use devstack::ops::endpoints::{self, Endpoint, Live, SecretRef};
use devstack::ops::live::{self, WatchOutcome};
use devstack::plan::{self, Change, PlanOptions, SetupAction};
use devstack::stack::{self, Condition, MountSource, RestartPolicy, Stack, WatchAction};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

// ---------------------------------------------------------------------------------------
// Bundled stacks, no daemon

/// A bundled stack written into a folder as `devstack init` writes it.
struct Bundled {
    dir: tempfile::TempDir,
    /// The stack file's text.
    yaml: String,
    /// The generated `.env`, parsed.
    env: BTreeMap<String, String>,
    /// Variables `.env.example` marks for generation: the secrets.
    secrets: Vec<String>,
}

impl Bundled {
    fn new(name: &str) -> Self {
        let files = init::project_files(name, &mut init::os_random).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = |rel: &str| {
            let f = files
                .iter()
                .find(|f| f.path == Path::new(rel))
                .unwrap_or_else(|| panic!("'{name}' has no {rel}"));
            String::from_utf8(f.contents.clone()).unwrap()
        };
        for f in &files {
            let path = dir.path().join(&f.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &f.contents).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode)).unwrap();
        }
        let env_path = dir.path().join(".env");
        let env = stack::parse_env_file(&text(".env"), &env_path)
            .unwrap()
            .into_iter()
            .collect();
        let secrets = text(".env.example")
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .filter(|(_, v)| v.trim().starts_with("__GENERATE_"))
            .map(|(k, _)| k.trim().to_string())
            .collect();
        Self {
            yaml: text("devstack.yaml"),
            dir,
            env,
            secrets,
        }
    }

    fn options(&self, environment: &[(&str, &str)], strict: bool) -> stack::LoadOptions {
        stack::LoadOptions {
            file: None,
            extra_files: vec![],
            cwd: self.dir.path().to_path_buf(),
            project_name: Some("bundled".into()),
            env_files: vec![],
            profiles: vec![],
            strict,
            environment: environment
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Loads it as `devstack` would, asserting that there is nothing to warn about.
    fn load_with(&self, environment: &[(&str, &str)]) -> Stack {
        let stack = stack::load(&self.options(environment, false))
            .unwrap_or_else(|e| panic!("the bundled stack does not load: {e}"));
        let warnings: Vec<String> = stack.warnings.iter().map(|w| w.to_string()).collect();
        assert!(warnings.is_empty(), "warnings: {warnings:#?}");
        stack::load(&self.options(environment, true))
            .unwrap_or_else(|e| panic!("the bundled stack fails --strict: {e}"));
        stack
    }

    fn load(&self) -> Stack {
        self.load_with(&[])
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

fn svc<'a>(stack: &'a Stack, name: &str) -> &'a stack::Service {
    stack
        .services
        .get(&ServiceName::new(name))
        .unwrap_or_else(|| panic!("no service '{name}'"))
}

const AIRFLOW_LONG_RUNNING: [&str; 4] = ["api-server", "dag-processor", "scheduler", "triggerer"];

#[test]
fn every_bundled_stack_loads_without_warnings_and_binds_only_loopback() {
    let names = init::bundled_stacks();
    assert!(
        names.contains(&"airflow".to_string()) && names.contains(&"postgres".to_string()),
        "{names:?}"
    );
    for name in names {
        let b = Bundled::new(&name);
        let stack = b.load();
        assert!(!stack.services.is_empty(), "{name}");
        for s in stack.services.values() {
            for p in &s.ports {
                assert!(p.is_loopback(), "{name}: {} publishes {p:?}", s.name);
            }
        }
    }
}

#[test]
fn airflow_plan_has_the_services_gates_and_waves() {
    let b = Bundled::new("airflow");
    let stack = b.load();
    let names: Vec<&str> = stack.services.keys().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "airflow-init",
            "api-server",
            "dag-processor",
            "pipeline",
            "postgres",
            "scheduler",
            "triggerer"
        ]
    );

    let plan = plan::diff(&stack, &Observed::default(), PlanOptions::default());
    let waves: Vec<Vec<&str>> = plan
        .waves()
        .iter()
        .map(|w| w.iter().map(|s| s.service.as_str()).collect())
        .collect();
    assert_eq!(
        waves,
        vec![
            vec!["postgres"],
            vec!["airflow-init", "pipeline"],
            AIRFLOW_LONG_RUNNING.to_vec(),
        ]
    );
    let depth = plan::waves(&stack);
    assert_eq!(depth[&ServiceName::new("postgres")], 0);
    assert_eq!(depth[&ServiceName::new("airflow-init")], 1);
    assert_eq!(depth[&ServiceName::new("pipeline")], 1);

    let gates = |name: &str| -> Vec<(String, &'static str)> {
        let sp = plan
            .services
            .iter()
            .find(|s| s.service.as_str() == name)
            .unwrap();
        let mut g: Vec<_> = sp
            .gates
            .iter()
            .map(|g| (g.service.to_string(), g.condition.as_compose()))
            .collect();
        g.sort();
        g
    };
    let healthy_db = ("postgres".to_string(), "service_healthy");
    assert_eq!(gates("postgres"), vec![]);
    assert_eq!(gates("airflow-init"), vec![healthy_db.clone()]);
    assert_eq!(gates("pipeline"), vec![healthy_db.clone()]);
    for s in AIRFLOW_LONG_RUNNING {
        assert_eq!(
            gates(s),
            vec![
                ("airflow-init".to_string(), "service_completed_successfully"),
                healthy_db.clone()
            ],
            "{s}"
        );
        let dep = &svc(&stack, s).depends_on[&ServiceName::new("airflow-init")];
        assert!(dep.required && dep.condition == Condition::CompletedSuccessfully);
        assert_eq!(svc(&stack, s).restart, RestartPolicy::UnlessStopped, "{s}");
    }
    assert_eq!(svc(&stack, "airflow-init").restart, RestartPolicy::No);
    assert_eq!(svc(&stack, "pipeline").restart, RestartPolicy::No);

    assert!(
        plan.services
            .iter()
            .all(|s| matches!(s.change, Change::Create))
    );
    let mut setup: Vec<String> = plan
        .setup
        .iter()
        .map(|a| match a {
            SetupAction::CreateNetwork { name } => format!("network {name}"),
            SetupAction::CreateVolume { key, .. } => format!("volume {key}"),
            SetupAction::PullImage { image } => format!("pull {}", image_repo(image)),
            SetupAction::BuildImage { service, .. } => format!("build {service}"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    setup.sort();
    assert_eq!(
        setup,
        [
            "build pipeline",
            "network bundled_default",
            "pull apache/airflow",
            "pull postgres",
            "volume airflow-logs",
            "volume pgdata",
        ],
        "one pull per image, the pipeline built"
    );
    let airflow_image = &svc(&stack, "api-server").image;
    assert!(
        airflow_image.starts_with("apache/airflow:3."),
        "{airflow_image}"
    );
}

fn image_repo(image: &str) -> &str {
    image.split(':').next().unwrap()
}

/// Where the official image wants its data volume: from 18 on `/var/lib/postgresql`
/// (it refuses the old path), before that `/var/lib/postgresql/data`.
fn pgdata_path(image: &str) -> &'static str {
    let tag = image.rsplit(':').next().unwrap();
    let major: u32 = tag.split(['.', '-']).next().unwrap().parse().unwrap();
    if major >= 18 {
        "/var/lib/postgresql"
    } else {
        "/var/lib/postgresql/data"
    }
}

#[test]
fn postgres_ports_volume_path_and_tcp_healthcheck_follow_the_pinned_tag() {
    assert_eq!(pgdata_path("postgres:17.6"), "/var/lib/postgresql/data");
    assert_eq!(pgdata_path("postgres:18.1-bookworm"), "/var/lib/postgresql");
    for (stack_name, db, extra) in [("airflow", "postgres", true), ("postgres", "db", false)] {
        let b = Bundled::new(stack_name);
        let stack = b.load();
        let pg = svc(&stack, db);
        assert_eq!(image_repo(&pg.image), "postgres", "{stack_name}");
        let pgdata: Vec<&str> = pg
            .mounts
            .iter()
            .filter(|m| m.source == MountSource::Volume("pgdata".into()))
            .map(|m| m.target.as_str())
            .collect();
        assert_eq!(
            pgdata,
            [pgdata_path(&pg.image)],
            "{stack_name}: {}",
            pg.image
        );
        let ports: Vec<_> = pg
            .ports
            .iter()
            .map(|p| (p.host_ip.as_str(), p.host_port, p.container_port))
            .collect();
        assert_eq!(ports, [("127.0.0.1", Some(5432), 5432)], "{stack_name}");
        let probe = format!("{:?}", pg.healthcheck.as_ref().unwrap().test);
        assert!(probe.contains("pg_isready -h 127.0.0.1"), "{probe}");
        assert_eq!(pg.settings.console.as_deref(), Some("psql"));
        if extra {
            // `db` and `p` open the warehouse as its own role; `-d airflow` the metadata.
            let wh = devstack::ops::database::target(pg, None);
            assert_eq!(
                (wh.database.as_str(), wh.user.as_str()),
                ("warehouse", "warehouse"),
                "{stack_name}"
            );
            assert_eq!(
                devstack::ops::database::databases(pg),
                vec!["warehouse", "airflow"]
            );
        }
        // The warehouse's init script, mounted where the image runs it on first start.
        let init_scripts = pg
            .mounts
            .iter()
            .any(|m| m.target == "/docker-entrypoint-initdb.d" && m.read_only);
        assert_eq!(init_scripts, extra, "{stack_name}");
    }

    let b = Bundled::new("airflow");
    let stack = b.load();
    for s in stack.services.values() {
        let expected: &[_] = match s.name.as_str() {
            "postgres" => &[("127.0.0.1", Some(5432), 5432)],
            "api-server" => &[("127.0.0.1", Some(8080), 8080)],
            _ => &[],
        };
        let ports: Vec<_> = s
            .ports
            .iter()
            .map(|p| (p.host_ip.as_str(), p.host_port, p.container_port))
            .collect();
        assert_eq!(ports, expected, "{}", s.name);
    }
}

#[test]
fn containers_writing_bind_mounts_run_as_devstack_uid_and_gid() {
    let b = Bundled::new("airflow");
    let stack = b.load_with(&[("DEVSTACK_UID", "4242"), ("DEVSTACK_GID", "4343")]);
    for s in stack.services.values() {
        let expected = match s.name.as_str() {
            "postgres" => None,
            // The Airflow image needs the root group; the uid is the user's.
            "pipeline" => Some("4242:4343"),
            _ => Some("4242:0"),
        };
        assert_eq!(s.user.as_deref(), expected, "{}", s.name);
    }
    // Unset, devstack offers the current user's ids.
    let me = std::fs::metadata("/proc/self").unwrap();
    let stack = b.load();
    assert_eq!(
        svc(&stack, "pipeline").user.as_deref(),
        Some(format!("{}:{}", me.uid(), me.gid()).as_str())
    );
    assert_eq!(
        svc(&stack, "scheduler").user.as_deref(),
        Some(format!("{}:0", me.uid()).as_str())
    );
}

/// Lines of a stack file that write a secret out instead of taking it from `.env`: a
/// secret-named key with a literal value, a JSON `"password"` or a URL's password that
/// is not a `${…}` reference.
fn literal_secrets(yaml: &str) -> Vec<String> {
    let secret_key = |k: &str| {
        let k = k.to_ascii_uppercase();
        ["PASSWORD", "SECRET", "FERNET", "TOKEN"]
            .iter()
            .any(|w| k.contains(w))
            || k.ends_with("_KEY")
    };
    let mut found = Vec::new();
    for (n, line) in yaml.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('#') {
            continue;
        }
        let t = t.trim_start_matches("- ");
        if let Some((k, v)) = t.split_once(':') {
            let v = v.trim().trim_matches(['"', '\'']);
            let reference_or_path = v.starts_with("${") || v.starts_with('/') || v.is_empty();
            // `password_env: WAREHOUSE_PASSWORD` names the variable that holds it.
            let names_a_variable = k.trim().ends_with("_env")
                && v.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if secret_key(k.trim().trim_matches('"')) && !reference_or_path && !names_a_variable {
                found.push(format!("{}: {line}", n + 1));
            }
        }
        for (i, _) in line.match_indices("\"password\": \"") {
            if !line[i + 13..].starts_with("${") {
                found.push(format!("{}: {line}", n + 1));
            }
        }
        for (i, _) in line.match_indices("://") {
            let rest = &line[i + 3..];
            let authority = rest.split(['/', ' ', '"', '\'']).next().unwrap_or("");
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
                && !password.starts_with("${")
            {
                found.push(format!("{}: {line}", n + 1));
            }
        }
    }
    found
}

#[test]
fn secrets_come_only_from_dotenv() {
    // The grep itself finds what it is for.
    assert_eq!(
        literal_secrets("      POSTGRES_PASSWORD: hunter2\n").len(),
        1
    );
    assert_eq!(
        literal_secrets("  X: postgresql://a:pw@db:5432/x\n").len(),
        1
    );
    assert_eq!(literal_secrets("  X: '{\"password\": \"pw\"}'\n").len(), 1);
    assert!(literal_secrets("  P_FILE: /run/pw\n  P: ${P:?}\n# PASSWORD: x\n").is_empty());
    assert!(literal_secrets("  password_env: WAREHOUSE_PASSWORD\n").is_empty());
    assert_eq!(literal_secrets("  password_env: hunter2\n").len(), 1);

    for name in init::bundled_stacks() {
        let b = Bundled::new(&name);
        assert!(!b.secrets.is_empty(), "{name}: .env.example generates none");
        assert_eq!(literal_secrets(&b.yaml), Vec::<String>::new(), "{name}");

        // Every reference to a generated secret is required (`${VAR:?…}`): no default
        // anywhere could stand in for the .env value.
        let mut used = Vec::new();
        for var in &b.secrets {
            for (i, _) in b.yaml.match_indices(var.as_str()) {
                let before = &b.yaml[..i];
                let after = &b.yaml[i + var.len()..];
                let word_end = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                if !word_end {
                    continue;
                }
                if before.ends_with("${") {
                    assert!(
                        after.starts_with(":?"),
                        "{name}: '${{{var}' without ':?' at byte {i}"
                    );
                    used.push(var.clone());
                } else {
                    assert!(!before.ends_with('$'), "{name}: bare '${var}'");
                }
            }
        }
        used.dedup();
        let expected: Vec<&str> = if name == "airflow" {
            b.secrets.iter().map(String::as_str).collect()
        } else {
            vec!["POSTGRES_PASSWORD"]
        };
        let mut used_sorted: Vec<&str> = used.iter().map(String::as_str).collect();
        used_sorted.sort();
        used_sorted.dedup();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(used_sorted, expected_sorted, "{name}: secrets used");

        // Taking one out of .env stops the load, naming it.
        let env_text = std::fs::read_to_string(b.path(".env")).unwrap();
        for var in &expected {
            let without: String = env_text
                .lines()
                .filter(|l| !l.starts_with(&format!("{var}=")))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(b.path(".env"), without).unwrap();
            let err = stack::load(&b.options(&[], false))
                .err()
                .unwrap_or_else(|| panic!("{name} loads without {var}"));
            assert!(err.to_string().contains(*var), "{name}: {err}");
        }
        std::fs::write(b.path(".env"), env_text).unwrap();
    }
}

#[test]
fn the_small_stack_passes_its_container_only_what_it_needs() {
    // Regression: `env_file: .env` handed the Airflow stack's secrets (Fernet key, JWT
    // secret, admin password) that share the generated .env to the small stack's db.
    let b = Bundled::new("postgres");
    let stack = b.load();
    let keys: Vec<&str> = svc(&stack, "db")
        .environment
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_USER"]);
    assert_eq!(
        svc(&stack, "db").environment["POSTGRES_PASSWORD"].value,
        b.env["POSTGRES_PASSWORD"]
    );
}

#[test]
fn the_pipeline_is_built_mounted_live_and_reruns_on_save() {
    let b = Bundled::new("airflow");
    let stack = b.load();
    let p = svc(&stack, "pipeline");
    let build = p.build.as_ref().unwrap();
    assert_eq!(build.context, b.path("pipeline"));
    assert_eq!(build.dockerfile, "Dockerfile");
    let mounts: Vec<_> = p
        .mounts
        .iter()
        .map(|m| (m.source.clone(), m.target.as_str(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        [
            (MountSource::Bind(b.path("pipeline/src")), "/app/src", true),
            (MountSource::Bind(b.path("data")), "/data", true),
        ]
    );
    let rules: Vec<_> = p.watch.iter().map(|w| (w.path.clone(), w.action)).collect();
    assert_eq!(
        rules,
        [
            (b.path("pipeline/src"), WatchAction::Restart),
            (b.path("pipeline/requirements.txt"), WatchAction::Rebuild),
            (b.path("pipeline/Dockerfile"), WatchAction::Rebuild),
        ]
    );
    assert!(p.watch[0].ignore.iter().any(|i| i.contains("__pycache__")));
    assert!(p.settings.restart_on_change);
    assert_eq!(p.environment["WAREHOUSE_HOST"].value, "postgres");
    assert_eq!(
        p.environment["WAREHOUSE_PASSWORD"].value,
        b.env["WAREHOUSE_PASSWORD"]
    );

    // What a save does, through the same rules the watcher uses.
    let rules = devstack::watch::Rules::from_stack(&stack);
    let action = |rel: &str| -> Vec<(String, WatchAction)> {
        rules
            .triggers(&[b.path(rel)])
            .into_iter()
            .map(|t| (t.service.to_string(), t.action))
            .collect()
    };
    assert_eq!(
        action("pipeline/src/load.py"),
        [("pipeline".to_string(), WatchAction::Restart)]
    );
    assert_eq!(
        action("pipeline/requirements.txt"),
        [("pipeline".to_string(), WatchAction::Rebuild)]
    );
    assert_eq!(
        action("data/orders.csv"),
        [("pipeline".to_string(), WatchAction::Restart)],
        "new data reloads too"
    );
    assert!(action("pipeline/src/__pycache__/load.cpython-312.pyc").is_empty());
    assert!(
        action("dags/example_etl.py").is_empty(),
        "Airflow re-parses DAGs itself"
    );
}

#[test]
fn endpoints_of_the_bundled_stacks_name_where_the_passwords_are_never_what() {
    let b = Bundled::new("airflow");
    let stack = b.load();
    let got = endpoints::endpoints(&stack);
    let dotenv = b.path(".env");
    let secret = |v: &str| {
        Some(SecretRef {
            variable: v.into(),
            file: dotenv.clone(),
            from_stack_file: false,
        })
    };
    assert_eq!(
        got,
        vec![
            Endpoint::Web {
                service: ServiceName::new("api-server"),
                title: "Airflow UI".into(),
                url: "http://127.0.0.1:8080".into(),
                user: Some("admin".into()),
                password: secret("AIRFLOW_ADMIN_PASSWORD"),
            },
            Endpoint::Database {
                service: ServiceName::new("postgres"),
                title: "Airflow metadata DB".into(),
                url: "postgresql://airflow:****@127.0.0.1:5432/airflow".into(),
                password: secret("POSTGRES_PASSWORD"),
            },
            Endpoint::Database {
                service: ServiceName::new("postgres"),
                title: "warehouse DB".into(),
                url: "postgresql://warehouse:****@127.0.0.1:5432/warehouse".into(),
                password: secret("WAREHOUSE_PASSWORD"),
            },
            Endpoint::Code {
                service: ServiceName::new("airflow-init"),
                title: "DAGs".into(),
                path: b.path("dags"),
                live: Live::Mounted,
            },
            Endpoint::Code {
                service: ServiceName::new("pipeline"),
                title: "pipeline code".into(),
                path: b.path("pipeline"),
                live: Live::Rerun,
            },
        ]
    );
    // Each named variable is in .env and holds exactly what the service gets.
    for e in &got {
        if let Endpoint::Web {
            service,
            password: Some(p),
            ..
        }
        | Endpoint::Database {
            service,
            password: Some(p),
            ..
        } = e
        {
            let in_service = &stack.services[service].environment[&p.variable].value;
            assert_eq!(Some(in_service), b.env.get(&p.variable), "{}", p.variable);
        }
    }
    let text = endpoints::lines(&got, &|p: &Path| p.display().to_string()).join("\n");
    for var in &b.secrets {
        assert!(
            !text.contains(&b.env[var]),
            "{var}'s value printed:\n{text}"
        );
    }
    assert!(
        text.contains("password: AIRFLOW_ADMIN_PASSWORD in"),
        "{text}"
    );

    let b = Bundled::new("postgres");
    let got = endpoints::endpoints(&b.load());
    assert_eq!(
        got,
        vec![Endpoint::Database {
            service: ServiceName::new("db"),
            title: "db (PostgreSQL)".into(),
            // The user and database that init's shared .env.example sets.
            url: format!(
                "postgresql://{user}:****@127.0.0.1:5432/{db}",
                user = b.env["POSTGRES_USER"],
                db = b.env["POSTGRES_DB"]
            ),
            password: Some(SecretRef {
                variable: "POSTGRES_PASSWORD".into(),
                file: b.path(".env"),
                from_stack_file: false,
            }),
        }]
    );
}

#[test]
fn the_pipelines_python_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pipeline");
    let out = Command::new("python3")
        .args(["-m", "unittest", "--quiet"])
        .current_dir(&dir)
        // No __pycache__ in assets/: it would be embedded-adjacent noise and make cargo
        // rebuild.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the pipeline's tests need python3 (3.11 or newer) on PATH: {e}. \
                 On Debian: 'sudo apt-get install python3'."
            )
        });
    assert!(
        out.status.success(),
        "python3 -m unittest in {} failed:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// The same shape on the real daemon

const DEADLINE: Duration = Duration::from_secs(60);

/// The airflow stack's shape on the fixture image. Every container appends to
/// `out/events.log` (bind-mounted, written as the user running the test): `db` when it
/// is about to turn healthy, `init` when it starts and ends, each long-running service
/// when it starts, the pipeline the text of its code. The sleeps are part of the
/// fixture, not of the test: they make a gate that is not honoured show up as lines in
/// the wrong order.
fn same_shape(image: &str) -> String {
    let mut yaml = format!(
        r#"x-devstack:
  debounce: 100ms
x-common: &common
  image: {image}
  user: "${{DEVSTACK_UID}}:${{DEVSTACK_GID}}"
  restart: unless-stopped
  volumes:
    - ./out:/out
  depends_on:
    db:
      condition: service_healthy
    init:
      condition: service_completed_successfully
services:
  db:
    image: {image}
    user: "${{DEVSTACK_UID}}:${{DEVSTACK_GID}}"
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; echo db-ready >> /out/events.log; touch /tmp/ready; sleep 3600 & wait"]
    environment:
      POSTGRES_USER: app
      POSTGRES_DB: appdb
      POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}}
    ports:
      - "127.0.0.1:${{DB_PORT}}:5432"
    volumes:
      - ./out:/out
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 100
    x-devstack:
      console: psql
  init:
    image: {image}
    user: "${{DEVSTACK_UID}}:${{DEVSTACK_GID}}"
    command: ["sh", "-c", "echo init-start >> /out/events.log; sleep 1; echo init-done >> /out/events.log"]
    volumes:
      - ./out:/out
    depends_on:
      db:
        condition: service_healthy
    restart: "no"
  pipeline:
    image: {image}
    user: "${{DEVSTACK_UID}}:${{DEVSTACK_GID}}"
    command: ["sh", "/code/run.sh"]
    volumes:
      - ./code:/code:ro
      - ./out:/out
    depends_on:
      db:
        condition: service_healthy
    restart: "no"
    develop:
      watch:
        - path: ./code
          action: restart
"#
    );
    for s in AIRFLOW_LONG_RUNNING {
        yaml.push_str(&format!(
            "  {s}:\n    <<: *common\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo started-{s} >> /out/events.log; sleep 3600 & wait\"]\n"
        ));
    }
    yaml
}

fn events(p: &common::Project) -> Vec<String> {
    std::fs::read_to_string(p.path("out/events.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Polls the events file until `done` holds, failing with what it holds at the deadline.
async fn wait_for_events(p: &common::Project, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let lines = events(p);
        if done(&lines) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {DEADLINE:?}; events so far: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn position(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no '{line}' in {lines:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_shape_stack_comes_up_in_order_and_reruns_the_pipeline_on_save() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let p = common::Project::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let password = "pw-not-to-be-printed-7731";
    p.write("devstack.yaml", &same_shape(&image));
    p.write(
        ".env",
        &format!("POSTGRES_PASSWORD={password}\nDB_PORT={port}\n"),
    );
    p.write("code/run.sh", "echo pipeline-v1 >> /out/events.log\n");
    p.write("out/events.log", "");

    let up = Command::new(BIN)
        .args([
            "-p",
            p.name.as_str(),
            "up",
            "--detach",
            "--wait-timeout",
            "60",
        ])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&up.stderr);
    let stdout = String::from_utf8_lossy(&up.stdout);
    // Also a regression test: the pipeline job exits 0 while the rest is still coming
    // up, which made `up --detach` fail with "service 'pipeline' exited with code 0".
    assert!(up.status.success(), "up --detach failed:\n{stderr}{stdout}");
    eprintln!("{stderr}");

    // The endpoints it printed: the database URL with the password masked and where it
    // is kept, the live code folder; the password itself nowhere.
    assert!(
        stderr.contains(&format!("postgresql://app:****@127.0.0.1:{port}/appdb")),
        "{stderr}"
    );
    assert!(
        stderr.contains("password: POSTGRES_PASSWORD in "),
        "{stderr}"
    );
    assert!(stderr.contains("pipeline code"), "{stderr}");
    assert!(stderr.contains("(a save reruns it)"), "{stderr}");
    assert!(
        !stderr.contains(password) && !stdout.contains(password),
        "{stderr}"
    );

    // Order and gating, from the lines the containers wrote.
    wait_for_events(&p, "every service started and the pipeline ran", |lines| {
        AIRFLOW_LONG_RUNNING
            .iter()
            .all(|s| lines.contains(&format!("started-{s}")))
            && lines.iter().any(|l| l == "pipeline-v1")
    })
    .await;
    let lines = events(&p);
    let db_ready = position(&lines, "db-ready");
    let init_start = position(&lines, "init-start");
    let init_done = position(&lines, "init-done");
    assert!(
        db_ready < init_start,
        "init waited for db healthy: {lines:#?}"
    );
    assert!(
        db_ready < position(&lines, "pipeline-v1"),
        "the pipeline waited for db healthy: {lines:#?}"
    );
    for s in AIRFLOW_LONG_RUNNING {
        assert!(
            init_done < position(&lines, &format!("started-{s}")),
            "{s} waited for init to complete: {lines:#?}"
        );
    }

    // What the daemon says: the one-shot completed, the job finished, the rest run.
    let states: BTreeMap<String, (ContainerState, Option<i64>)> = engine
        .ps(&p.name)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.service.to_string(), (c.state, c.exit_code)))
        .collect();
    assert_eq!(states.len(), 7, "{states:?}");
    assert_eq!(states["init"], (ContainerState::Exited, Some(0)));
    for s in ["db"].iter().chain(AIRFLOW_LONG_RUNNING.iter()) {
        assert_eq!(states[*s].0, ContainerState::Running, "{s}: {states:?}");
    }

    // A save of the pipeline's code reruns it with the new code.
    let stack: Arc<Stack> = Arc::new(p.load());
    let (events_tx, mut events_rx) = mpsc::channel(64);
    tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
    let (out_tx, mut outcomes) = mpsc::channel::<WatchOutcome>(16);
    let watcher = live::spawn_watch(engine.clone(), stack, &[], events_tx, out_tx).unwrap();
    p.write("code/run.sh", "echo pipeline-v2 >> /out/events.log\n");
    let outcome = tokio::time::timeout(DEADLINE, outcomes.recv())
        .await
        .expect("a watch action within the deadline")
        .expect("the watcher is running");
    watcher.abort();
    assert_eq!(outcome.service.as_str(), "pipeline");
    let message = outcome
        .result
        .unwrap_or_else(|e| panic!("rerun failed: {e}"));
    assert!(message.contains("restarted"), "{message}");
    wait_for_events(&p, "the pipeline's new output", |lines| {
        lines.iter().any(|l| l == "pipeline-v2")
    })
    .await;
    let lines = events(&p);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("init-")).count(),
        2,
        "a rerun of the pipeline touches nothing else: {lines:#?}"
    );
}
