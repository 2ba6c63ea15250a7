//! Trust in the engine, against the real daemon, through the `devstack` binary: what
//! `down --volumes` and `reset` may remove, objects devstack did not create or that
//! belong to another directory, `reset` blocked by a foreign container, readiness that
//! cannot race with a crash, one `up` per project at a time, and ports bound beyond
//! loopback flagged on the CLI. Each test has its own project, removed on drop.

// Test code: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bollard::Docker;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

/// A project directory (the test kit's folder's `<project name>` subfolder, so the name
/// can come from the directory as Compose derives it) with its cleanup guard.
struct Dir {
    guard: common::Project,
    dir: PathBuf,
    image: String,
}

impl Dir {
    async fn new() -> Self {
        let engine = common::engine().await;
        let image = common::fixture_image(&engine).await;
        let guard = common::Project::new();
        let dir = guard.path(guard.name.as_str());
        std::fs::create_dir_all(&dir).unwrap();
        Self { guard, dir, image }
    }

    fn name(&self) -> &str {
        self.guard.name.as_str()
    }

    /// Writes `compose.yaml`; `IMAGE` becomes the fixture image.
    fn write(&self, yaml: &str) {
        std::fs::write(
            self.dir.join("compose.yaml"),
            yaml.replace("IMAGE", &self.image),
        )
        .unwrap();
    }

    /// `devstack -p <name> ARGS` from the project directory.
    fn run(&self, args: &[&str]) -> Output {
        run_in(&self.dir, &[&["-p", self.name()], args].concat())
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "devstack {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn docker() -> Docker {
    Docker::connect_with_defaults().unwrap()
}

async fn volume_exists(name: &str) -> bool {
    docker().inspect_volume(name).await.is_ok()
}

// ---- item 9: readiness that cannot race with a crash -------------------------------

/// A service that exits 3 at once, nothing depends on it, no healthcheck: `up --detach`
/// called it ready 8 runs in 10. It is never ready: it did not stay running for its
/// settle time.
#[tokio::test]
async fn a_service_that_exits_at_once_is_never_ready() {
    let p = Dir::new().await;
    p.write(
        r#"services:
  quick:
    image: IMAGE
    command: ["sh", "-c", "echo bye; exit 3"]
  steady:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
"#,
    );
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "up called it ready:\n{err}");
    assert!(
        err.contains("quick") && err.contains("exited with code 3"),
        "{err}"
    );
    assert!(
        !err.contains("not ready after"),
        "it waited for the timeout:\n{err}"
    );
}

/// The same under `restart: on-failure` (2 runs in 6 passed): the daemon brings it back,
/// so it is seen running, but its die during `up` counts.
#[tokio::test]
async fn a_service_that_exits_at_once_under_on_failure_is_never_ready() {
    let p = Dir::new().await;
    p.write(
        r#"services:
  quick:
    image: IMAGE
    command: ["sh", "-c", "exit 3"]
    restart: on-failure
"#,
    );
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "up called it ready:\n{err}");
    assert!(
        err.contains("quick") && err.contains("keeps crashing"),
        "{err}"
    );
    assert!(
        !err.contains("not ready after"),
        "it waited for the timeout:\n{err}"
    );
}

/// The settle time is configurable: a service that dies after 5 s passes a 100 ms
/// settle (it was up long enough; 5 s leaves a loaded machine room to finish `up`) and
/// fails a 10 s one.
#[tokio::test]
async fn settle_time_comes_from_x_devstack() {
    let p = Dir::new().await;
    let yaml = |settle: &str| {
        format!(
            r#"services:
  slow:
    image: IMAGE
    command: ["sh", "-c", "sleep 5; exit 3"]
{settle}"#
        )
    };
    p.write(&yaml("    x-devstack: {settle: 100ms}\n"));
    p.ok(&["up", "--detach", "--wait-timeout", "600"]);
    p.ok(&["down"]);
    p.write(&yaml("x-devstack: {settle: 10s}\n"));
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a 10 s settle let a 5 s crash pass:\n{err}"
    );
    assert!(err.contains("exited with code 3"), "{err}");
}

// ---- item 1: down --volumes and reset own only what the file declares -------------

const SLEEPER: &str = r#"["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]"#;

/// A volume the file no longer declares, and one it now marks external, survive
/// `down --volumes`, named in the output with how to remove them; the declared one goes.
#[tokio::test]
async fn down_volumes_removes_only_the_volumes_the_file_declares() {
    let p = Dir::new().await;
    let name = p.name().to_string();
    p.write(&format!(
        r#"services:
  app:
    image: IMAGE
    command: {SLEEPER}
    volumes: ["keep:/keep", "gone:/gone", "ext:/ext"]
volumes:
  keep:
  gone:
  ext:
"#
    ));
    p.ok(&["up", "--detach"]);
    p.write(&format!(
        r#"services:
  app:
    image: IMAGE
    command: {SLEEPER}
    volumes: ["keep:/keep", "ext:/ext"]
volumes:
  keep:
  ext:
    external: true
    name: {name}_ext
"#
    ));
    let out = p.run(&["down", "--volumes"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!volume_exists(&format!("{name}_keep")).await, "{err}");
    for kept in ["gone", "ext"] {
        let v = format!("{name}_{kept}");
        assert!(volume_exists(&v).await, "down -v removed '{v}':\n{err}");
        assert!(
            err.contains(&format!("kept volume {v}"))
                && err.contains(&format!("docker volume rm {v}")),
            "'{v}' is not named with how to remove it:\n{err}"
        );
    }
}

/// Two directories with the same name (no `name:`) make one project: `up` in the
/// second removed the first one's container as an orphan, `down -v` there deleted its
/// volume. Now both refuse, naming the other directory; `--force` overrides.
#[tokio::test]
async fn a_same_named_project_of_another_directory_is_left_alone() {
    let a = Dir::new().await;
    let name = a.name().to_string();
    let other_root = tempfile::tempdir().unwrap();
    let b_dir = other_root.path().join(&name);
    std::fs::create_dir_all(&b_dir).unwrap();
    a.write(&format!(
        "services:\n  a:\n    image: IMAGE\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\nvolumes:\n  data:\n"
    ));
    std::fs::write(
        b_dir.join("compose.yaml"),
        format!(
            "services:\n  b:\n    image: {}\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\nvolumes:\n  data:\n",
            a.image
        ),
    )
    .unwrap();
    // No -p: the name comes from each directory.
    let up_a = run_in(&a.dir, &["up", "--detach"]);
    assert!(up_a.status.success(), "{}", stderr(&up_a));
    let container = format!("{name}-a-1");
    let labels = docker()
        .inspect_container(&container, None)
        .await
        .unwrap()
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default();
    assert_eq!(
        labels.get("com.docker.compose.project.working_dir"),
        Some(&a.dir.display().to_string()),
        "{labels:?}"
    );
    assert_eq!(
        labels.get("com.docker.compose.project.config_files"),
        Some(&a.dir.join("compose.yaml").display().to_string())
    );

    for args in [&["up", "--detach"][..], &["down", "--volumes"][..]] {
        let out = run_in(&b_dir, args);
        let err = stderr(&out);
        assert!(
            !out.status.success(),
            "{args:?} in the second directory passed:\n{err}"
        );
        assert!(
            err.contains("belongs to another directory")
                && err.contains(&a.dir.display().to_string()),
            "{args:?}: the message does not name the other directory:\n{err}"
        );
        assert!(
            docker().inspect_container(&container, None).await.is_ok(),
            "{args:?} removed the first directory's container"
        );
        assert!(volume_exists(&format!("{name}_data")).await);
    }
    // Taking it over is a deliberate act.
    let out = run_in(&b_dir, &["down", "--volumes", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(docker().inspect_container(&container, None).await.is_err());
}

// ---- item 2: objects with devstack's names that devstack did not create -------------

/// Removes a volume or network the test made itself (they carry no project label, so
/// the project guard leaves them), also when the test fails.
struct Foreign {
    volume: Option<String>,
    network: Option<String>,
    container: Option<String>,
}

impl Drop for Foreign {
    fn drop(&mut self) {
        let (volume, network, container) = (
            self.volume.take(),
            self.network.take(),
            self.container.take(),
        );
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let d = docker();
                if let Some(c) = container {
                    let opts = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
                        .force(true)
                        .build();
                    let _ = d.remove_container(&c, Some(opts)).await;
                }
                if let Some(v) = volume {
                    let _ = d
                        .remove_volume(&v, None::<bollard::query_parameters::RemoveVolumeOptions>)
                        .await;
                }
                if let Some(n) = network {
                    let _ = d.remove_network(&n).await;
                }
            })
        });
        let _ = cleanup.join();
    }
}

#[tokio::test]
async fn an_unlabelled_volume_with_devstacks_name_is_refused() {
    let p = Dir::new().await;
    let volume = format!("{}_pgdata", p.name());
    let _foreign = Foreign {
        volume: Some(volume.clone()),
        network: None,
        container: None,
    };
    docker()
        .create_volume(bollard::models::VolumeCreateRequest {
            name: Some(volume.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    p.write(&format!(
        "services:\n  db:\n    image: IMAGE\n    command: {SLEEPER}\n    volumes: [\"pgdata:/data\"]\nvolumes:\n  pgdata:\n"
    ));
    let out = p.run(&["up", "--detach"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "the foreign volume was mounted:\n{err}"
    );
    for want in [
        format!("volume '{volume}' exists"),
        "was not created by devstack".to_string(),
        "external: true".to_string(),
        format!("docker volume rm {volume}"),
    ] {
        assert!(err.contains(&want), "missing '{want}':\n{err}");
    }
    let container = format!("{}-db-1", p.name());
    assert!(
        docker().inspect_container(&container, None).await.is_err(),
        "a container was created"
    );
}

#[tokio::test]
async fn an_unlabelled_network_with_devstacks_name_is_refused() {
    let p = Dir::new().await;
    let network = format!("{}_default", p.name());
    let _foreign = Foreign {
        volume: None,
        network: Some(network.clone()),
        container: None,
    };
    docker()
        .create_network(bollard::models::NetworkCreateRequest {
            name: network.clone(),
            internal: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    p.write(&format!(
        "services:\n  app:\n    image: IMAGE\n    command: {SLEEPER}\n"
    ));
    let out = p.run(&["up", "--detach"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "the foreign network was joined:\n{err}"
    );
    for want in [
        format!("network '{network}' exists"),
        "was not created by devstack".to_string(),
        format!("docker network rm {network}"),
    ] {
        assert!(err.contains(&want), "missing '{want}':\n{err}");
    }
}

// ---- item 3: reset checks every blocker before changing anything -------------------

#[tokio::test]
async fn reset_with_a_foreign_user_of_the_volume_changes_nothing() {
    let p = Dir::new().await;
    p.write(&format!(
        "services:\n  db:\n    image: IMAGE\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\nvolumes:\n  data:\n"
    ));
    p.ok(&["up", "--detach"]);
    let db = format!("{}-db-1", p.name());
    let before = docker().inspect_container(&db, None).await.unwrap().id;

    let volume = format!("{}_data", p.name());
    let stranger = format!("{}-stranger", p.name());
    let _foreign = Foreign {
        volume: None,
        network: None,
        container: Some(stranger.clone()),
    };
    let d = docker();
    d.create_container(
        Some(
            bollard::query_parameters::CreateContainerOptionsBuilder::default()
                .name(&stranger)
                .build(),
        ),
        bollard::models::ContainerCreateBody {
            image: Some(p.image.clone()),
            cmd: Some(vec!["sleep".into(), "100000".into()]),
            host_config: Some(bollard::models::HostConfig {
                binds: Some(vec![format!("{volume}:/data")]),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    d.start_container(&stranger, None).await.unwrap();

    let out = p.run(&["reset", "--yes"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "volume '{volume}' is used by container '{stranger}'"
        )) && err.contains("nothing was changed"),
        "{err}"
    );
    let after = docker().inspect_container(&db, None).await.unwrap();
    assert_eq!(after.id, before, "db was removed:\n{err}");
    assert_eq!(
        after.state.and_then(|s| s.running),
        Some(true),
        "db was stopped:\n{err}"
    );
    assert!(volume_exists(&volume).await);
}

// ---- item 10: one up of a project at a time ----------------------------------------

#[tokio::test]
async fn a_second_up_waits_for_the_first_or_fails_fast_with_no_wait() {
    let p = Dir::new().await;
    p.write(&format!(
        "services:\n  app:\n    image: IMAGE\n    command: {SLEEPER}\n"
    ));
    // This test process plays the first devstack.
    let held = devstack::engine::lock_project(&p.guard.name, true, |_| {})
        .await
        .unwrap();

    let out = p.run(&["up", "--detach", "--no-wait"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "another devstack is bringing up project '{}' (pid {})",
            p.name(),
            std::process::id()
        )),
        "{err}"
    );

    let log = tempfile::NamedTempFile::new().unwrap();
    let mut second = Command::new(BIN)
        .args(["-p", p.name(), "up", "--detach"])
        .current_dir(&p.dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(log.path()).unwrap();
        if text.contains("another devstack is bringing up project") {
            break;
        }
        assert!(
            second.try_wait().unwrap().is_none(),
            "the second up did not wait:\n{text}"
        );
        assert!(Instant::now() < deadline, "no waiting message:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        docker()
            .inspect_container(&format!("{}-app-1", p.name()), None)
            .await
            .is_err(),
        "the waiting up went ahead"
    );
    drop(held);
    let status = tokio::task::spawn_blocking(move || second.wait())
        .await
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(status.success(), "{text}");
}

// ---- ports beyond loopback on the CLI ----------------------------------------------

#[tokio::test]
async fn ps_and_up_flag_ports_bound_beyond_loopback() {
    let p = Dir::new().await;
    p.write(&format!(
        "services:\n  app:\n    image: IMAGE\n    command: {SLEEPER}\n    ports: [\"0.0.0.0::80\", \"127.0.0.2::81\"]\n"
    ));
    let out = p.run(&["up", "--detach"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("'0.0.0.0->80' beyond loopback"),
        "up does not flag the public port:\n{err}"
    );
    assert!(!err.contains("127.0.0.2->81' beyond"), "{err}");
    let table = p.ok(&["ps"]);
    let line = table.lines().find(|l| l.starts_with("app")).unwrap();
    let ports: Vec<&str> = line
        .split_whitespace()
        .filter(|w| w.contains("->"))
        .collect();
    assert!(
        ports
            .iter()
            .any(|w| w.starts_with("0.0.0.0:") && w.ends_with("->80!,")
                || w.starts_with("0.0.0.0:") && w.ends_with("->80!")),
        "{table}"
    );
    assert!(
        ports
            .iter()
            .any(|w| w.starts_with("127.0.0.2:") && !w.contains('!')),
        "all of 127.0.0.0/8 is loopback:\n{table}"
    );
    assert!(table.contains("reachable from other machines"), "{table}");
}
