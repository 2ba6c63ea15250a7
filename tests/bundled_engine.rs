//! Issue 14, items 1–4, against the real daemon: anonymous volumes carried over on a
//! recreate and removed with the container for good; stop in reverse dependency order
//! with each service's stop signal and grace period; `unhealthy` not final during `up`,
//! and one timeout bounding the whole wait.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Project, SLEEPER, engine, fixture_image};
use devstack::engine::Engine;
use devstack::model::{EngineEvent, ServiceName};
use devstack::ops;
use devstack::plan::PlanOptions;
use devstack::stack::Stack;
use tokio::sync::mpsc;

/// Generous, for a loaded 2-core machine: a bound on hanging, not a speed check.
const READY: Duration = Duration::from_secs(120);

/// `up --detach` (plan, apply, wait within one timeout), collecting its progress.
async fn up(
    engine: &Engine,
    stack: &Stack,
    options: PlanOptions,
    timeout: Duration,
) -> (Result<(), ops::Error>, Vec<EngineEvent>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(e) = rx.recv().await {
            all.push(e);
        }
        all
    });
    let result = ops::bring_up::converge_with(engine, stack, options, timeout, tx)
        .await
        .map(|_| ());
    (result, collect.await.unwrap())
}

async fn up_ok(engine: &Engine, stack: &Stack, options: PlanOptions) {
    let (result, events) = up(engine, stack, options, READY).await;
    if let Err(e) = result {
        panic!("up failed: {e}\nprogress: {events:?}");
    }
}

fn docker() -> bollard::Docker {
    bollard::Docker::connect_with_defaults().unwrap()
}

/// The names of the anonymous (unlabelled, daemon-named) volumes mounted in a container.
async fn volume_names(id: &str) -> Vec<(String, String)> {
    let detail = docker().inspect_container(id, None).await.unwrap();
    detail
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .map(|m| (m.destination.unwrap(), m.name.unwrap()))
        .collect()
}

async fn volume_exists(name: &str) -> bool {
    match docker().inspect_volume(name).await {
        Ok(_) => true,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => false,
        Err(e) => panic!("inspect volume {name}: {e}"),
    }
}

/// Removes the given volumes at the end of a test, also after a failure: an anonymous
/// volume has no project label, so the project's own cleanup cannot find it.
struct VolumeGuard(Vec<String>);

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.0);
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                for n in names {
                    let _ = docker()
                        .remove_volume(&n, None::<bollard::query_parameters::RemoveVolumeOptions>)
                        .await;
                }
            })
        });
        let _ = done.join();
    }
}

/// A project whose `db` image declares `VOLUME /data` (as the Postgres image does) and
/// whose stack does not mount anything there.
async fn volume_project(engine: &Engine) -> Project {
    let fixture = fixture_image(engine).await;
    let p = Project::new();
    p.write("db/Dockerfile", &format!("FROM {fixture}\nVOLUME /data\n"));
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  db:\n    build: ./db\n    command: {SLEEPER}\n    environment:\n      GENERATION: \"1\"\n  extra:\n    build: ./db\n    command: {SLEEPER}\n"
        ),
    );
    p
}

/// Issue 14 item 1: a recreate (forced, or by a changed setting) keeps the data in the
/// image's anonymous volume, as Compose does; before, every new container got an empty one.
#[tokio::test]
async fn anonymous_volume_is_carried_over_on_every_recreate() {
    let engine = engine().await;
    let p = volume_project(&engine).await;
    let stack = p.load();
    up_ok(&engine, &stack, PlanOptions::default()).await;
    let db = common::container(&engine, &p.name, "db").await;
    let first = volume_names(&db.id.0).await;
    let _guard = VolumeGuard(first.iter().map(|(_, n)| n.clone()).collect());
    assert_eq!(first.len(), 1, "{first:?}");
    common::exec(&engine, &db, &["sh", "-c", "echo kept > /data/marker"]).await;

    up_ok(
        &engine,
        &stack,
        PlanOptions {
            force_recreate: true,
            ..PlanOptions::default()
        },
    )
    .await;
    let db2 = common::container(&engine, &p.name, "db").await;
    assert_ne!(db2.id, db.id, "recreated");
    assert_eq!(volume_names(&db2.id.0).await, first, "the same volume");
    assert_eq!(
        common::exec(&engine, &db2, &["cat", "/data/marker"])
            .await
            .trim(),
        "kept"
    );

    // A changed setting recreates too (what a watch rebuild or an env edit does).
    p.write(
        "compose.yaml",
        &std::fs::read_to_string(p.path("compose.yaml"))
            .unwrap()
            .replace("GENERATION: \"1\"", "GENERATION: \"2\""),
    );
    let stack = p.load();
    up_ok(&engine, &stack, PlanOptions::default()).await;
    let db3 = common::container(&engine, &p.name, "db").await;
    assert_ne!(db3.id, db2.id, "recreated by the config change");
    assert_eq!(
        common::exec(&engine, &db3, &["cat", "/data/marker"])
            .await
            .trim(),
        "kept"
    );
}

/// Issue 14 item 2: recreates leave no volume behind and keep the one in use; removing
/// a container for good (orphan removal, `down`) removes its anonymous volumes, which
/// were left unused before.
#[tokio::test]
async fn anonymous_volumes_go_with_the_container_for_good_and_never_on_recreate() {
    let engine = engine().await;
    let p = volume_project(&engine).await;
    let stack = p.load();
    up_ok(&engine, &stack, PlanOptions::default()).await;
    let db = common::container(&engine, &p.name, "db").await;
    let extra = common::container(&engine, &p.name, "extra").await;
    let db_volume = volume_names(&db.id.0).await[0].1.clone();
    let extra_volume = volume_names(&extra.id.0).await[0].1.clone();
    let _guard = VolumeGuard(vec![db_volume.clone(), extra_volume.clone()]);

    up_ok(
        &engine,
        &stack,
        PlanOptions {
            force_recreate: true,
            ..PlanOptions::default()
        },
    )
    .await;
    assert!(volume_exists(&db_volume).await, "a recreate keeps it");

    // `extra` leaves the file: its container is an orphan and goes, with its volume.
    p.write(
        "compose.yaml",
        &format!("services:\n  db:\n    build: ./db\n    command: {SLEEPER}\n    environment:\n      GENERATION: \"1\"\n"),
    );
    let stack = p.load();
    up_ok(&engine, &stack, PlanOptions::default()).await;
    assert!(
        !volume_exists(&extra_volume).await,
        "the orphan's volume is gone"
    );
    assert!(volume_exists(&db_volume).await);

    engine.down(&p.name, false).await.unwrap();
    assert!(
        !volume_exists(&db_volume).await,
        "down removes the anonymous volume (Compose v2's down does too)"
    );
}

/// Three services that append their name to a file in a shared bind mount when they
/// get their stop signal.
async fn order_stack(p: &Project, engine: &Engine) -> Stack {
    let fixture = fixture_image(engine).await;
    shared_folder(p);
    // `app` takes a moment to shut down, as Airflow does: in parallel, `db` would log
    // first; in dependency order it can only log after `app` has exited.
    p.write(
        "compose.yaml",
        &r#"services:
  db:
    image: FIXTURE
    command: ["sh", "-c", "trap 'echo db >> /shared/order; exit 0' TERM; touch /shared/ready-db; sleep 3600 & wait"]
    volumes: ["./shared:/shared"]
  app:
    image: FIXTURE
    command: ["sh", "-c", "trap 'sleep 1; echo app >> /shared/order; exit 0' TERM; touch /shared/ready-app; sleep 3600 & wait"]
    volumes: ["./shared:/shared"]
    depends_on: [db]
  web:
    image: FIXTURE
    command: ["sh", "-c", "trap 'echo web >> /shared/order; exit 0' TERM; touch /shared/ready-web; sleep 3600 & wait"]
    volumes: ["./shared:/shared"]
    depends_on: [app]
"#
        .replace("FIXTURE", &fixture),
    );
    p.load()
}

/// `shared/`, writable by the containers' users.
fn shared_folder(p: &Project) -> std::path::PathBuf {
    let shared = p.path("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    shared
}

/// Waits until every container has set its trap (a container counts as running before
/// its shell gets that far, and a signal before it would be lost), then clears the marks.
async fn traps_set(p: &Project) {
    let marks = ["db", "app", "web"].map(|s| p.path(&format!("shared/ready-{s}")));
    let deadline = std::time::Instant::now() + READY;
    while !marks.iter().all(|m| m.exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the containers did not start their shells"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for m in marks {
        std::fs::remove_file(m).unwrap();
    }
}

fn order(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path("shared/order"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Issue 14 item 3: `down` and `stop` stop dependents first, in waves; before, every
/// container got its signal at once and the database went first.
#[tokio::test]
async fn down_and_stop_go_in_reverse_dependency_order() {
    let engine = engine().await;
    let p = Project::new();
    let stack = order_stack(&p, &engine).await;
    up_ok(&engine, &stack, PlanOptions::default()).await;
    traps_set(&p).await;

    let all: Vec<ServiceName> = stack.services.keys().cloned().collect();
    for (service, result) in engine.stop_services(&stack, &all).await {
        result.unwrap_or_else(|e| panic!("stop {service}: {e}"));
    }
    assert_eq!(order(&p), ["web", "app", "db"], "stop");

    std::fs::write(p.path("shared/order"), "").unwrap();
    up_ok(&engine, &stack, PlanOptions::default()).await;
    traps_set(&p).await;
    engine.down(&p.name, false).await.unwrap();
    assert_eq!(order(&p), ["web", "app", "db"], "down");
}

/// Issue 14 item 3: `stop_signal` and `stop_grace_period` reach the container (they
/// were only warned about before: SIGTERM and 10 s for everyone).
#[tokio::test]
async fn stop_signal_and_grace_period_are_honoured() {
    // No engine-wide grace period (the test helper sets one): each container's own.
    let engine = Engine::connect().await.unwrap();
    let fixture = fixture_image(&engine).await;
    let p = Project::new();
    let shared = shared_folder(&p);
    p.write(
        "compose.yaml",
        &format!(
            r#"services:
  quits-on-int:
    image: {fixture}
    stop_signal: SIGINT
    command: ["sh", "-c", "trap 'echo int >> /shared/signal; exit 0' INT; trap 'echo term >> /shared/signal; exit 0' TERM; sleep 3600 & wait"]
    volumes: ["./shared:/shared"]
  slow-to-stop:
    image: {fixture}
    stop_grace_period: 1s
    command: ["sh", "-c", "trap 'sleep 8; exit 0' TERM; sleep 3600 & wait"]
"#
        ),
    );
    let stack = p.load();
    assert!(
        stack.warnings.is_empty(),
        "no longer unsupported: {:?}",
        stack.warnings
    );
    up_ok(&engine, &stack, PlanOptions::default()).await;
    let all: Vec<ServiceName> = stack.services.keys().cloned().collect();
    for (service, result) in engine.stop_services(&stack, &all).await {
        result.unwrap_or_else(|e| panic!("stop {service}: {e}"));
    }
    assert_eq!(
        std::fs::read_to_string(shared.join("signal"))
            .unwrap()
            .trim(),
        "int"
    );
    let slow = common::container(&engine, &p.name, "slow-to-stop").await;
    assert_eq!(
        slow.exit_code,
        Some(137),
        "killed after its 1 s grace period, before its 8 s shutdown finished"
    );
}

fn slow_stack(p: &Project, fixture: &str, ok_after: &str) -> Stack {
    // The probe fails until `ok_after` has passed and with one retry turns unhealthy at
    // once: what a probe timing out under load looks like to `up`.
    p.write(
        "compose.yaml",
        &format!(
            r#"services:
  db:
    image: {fixture}
    command: ["sh", "-c", "trap 'exit 0' TERM; {ok_after}; touch /tmp/ok; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 300ms
      timeout: 2s
      retries: 1
  app:
    image: {fixture}
    command: {SLEEPER}
    depends_on:
      db:
        condition: service_healthy
"#
        ),
    );
    p.load()
}

/// Issue 14 item 4: an unhealthy service that still runs is waited for, shown as slow,
/// and `up` succeeds once it turns healthy; before, `up` failed at the first unhealthy.
#[tokio::test]
async fn unhealthy_is_not_final_while_the_container_runs() {
    let engine = engine().await;
    let fixture = fixture_image(&engine).await;
    let p = Project::new();
    // Unhealthy after ~0.3 s, healthy once 4 probes' worth of failures have passed.
    let stack = slow_stack(&p, &fixture, "sleep 4");
    let (result, events) = up(&engine, &stack, PlanOptions::default(), READY).await;
    if let Err(e) = result {
        panic!("up failed: {e}\nprogress: {events:?}");
    }
    let slow = events.iter().find_map(|e| match e {
        EngineEvent::Progress {
            service,
            progress: devstack::model::Progress::Slow { reason },
        } if service.as_str() == "db" => Some(reason.clone()),
        _ => None,
    });
    let slow = slow.unwrap_or_else(|| panic!("no 'slow' progress for db: {events:?}"));
    assert!(
        slow.starts_with("slow: unhealthy for ") && slow.ends_with(", still waiting"),
        "{slow}"
    );
    let app = common::container(&engine, &p.name, "app").await;
    assert_eq!(app.state, devstack::model::ContainerState::Running);
}

/// Issue 14 item 4: `--wait-timeout` bounds waiting for a dependency too; before, a
/// dependency whose probe never passed kept `up` waiting with no end.
#[tokio::test]
async fn wait_timeout_bounds_waiting_for_a_dependency() {
    let engine = engine().await;
    let fixture = fixture_image(&engine).await;
    let p = Project::new();
    let stack = slow_stack(&p, &fixture, "sleep 3600");
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(
        READY,
        up(
            &engine,
            &stack,
            PlanOptions::default(),
            Duration::from_secs(3),
        ),
    )
    .await;
    let (result, _) = outcome.unwrap_or_else(|_| {
        panic!(
            "up was still waiting after {} s with a 3 s wait timeout",
            started.elapsed().as_secs()
        )
    });
    let err = result.expect_err("db never turns healthy").to_string();
    assert!(
        err.contains("'app'") && err.contains("'db'") && err.contains("wait timeout of 3 s"),
        "{err}"
    );
    assert!(
        err.contains("--wait-timeout"),
        "says how to give it longer: {err}"
    );
}
