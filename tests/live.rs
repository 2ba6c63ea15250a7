//! Live code against the real daemon: building images from Dockerfiles (multi-stage,
//! `.dockerignore`, args, target, failures), and what a save does — sync, restart,
//! sync+restart, restart_on_change, rebuild — through the real file watcher.
//!
//! Each test has its own project and folder; containers, network, volumes and built
//! images go when the test ends, also when it fails. Nothing sleeps: tests wait for
//! the watcher's outcomes, with deadlines.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Project, SLEEPER, container, engine, exec, exec_code, fixture_image};
use devstack::commands::{self};
use devstack::model::{ContainerState, EngineEvent, Progress, ServiceName};
use devstack::ops::live::{self, WatchOutcome};
use devstack::plan::PlanOptions;
use devstack::stack::{Stack, WatchAction};
use devstack::watch::Trigger;
use tokio::sync::mpsc;

const READY: Duration = Duration::from_secs(60);
/// Generous: a rebuild on a loaded 2-core machine; the measured numbers are printed.
const OUTCOME: Duration = Duration::from_secs(60);

async fn up(engine: &devstack::engine::Engine, stack: &Stack, build: bool) {
    commands::converge(
        engine,
        stack,
        PlanOptions {
            build,
            ..PlanOptions::default()
        },
        READY,
    )
    .await
    .unwrap_or_else(|e| panic!("up failed: {e}"));
}

/// A sender whose events are drained (and dropped) so senders never block.
fn drained_events() -> mpsc::Sender<EngineEvent> {
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tx
}

struct Watching {
    task: tokio::task::JoinHandle<()>,
    outcomes: mpsc::Receiver<WatchOutcome>,
}

impl Watching {
    fn start(engine: &devstack::engine::Engine, stack: &Stack) -> Self {
        let (tx, outcomes) = mpsc::channel(16);
        let task = live::spawn_watch(
            engine.clone(),
            Arc::new(stack.clone()),
            &[],
            drained_events(),
            tx,
        )
        .expect("start watching");
        Self { task, outcomes }
    }

    async fn next(&mut self) -> WatchOutcome {
        tokio::time::timeout(OUTCOME, self.outcomes.recv())
            .await
            .expect("a watch action within the deadline")
            .expect("the watcher is running")
    }

    /// The next outcome of each of `n` services, by service.
    async fn next_each(&mut self, n: usize) -> std::collections::BTreeMap<String, WatchOutcome> {
        let mut got = std::collections::BTreeMap::new();
        while got.len() < n {
            let o = self.next().await;
            let name = o.service.to_string();
            assert!(
                got.insert(name.clone(), o).is_none(),
                "a second action for '{name}' before every service had one"
            );
        }
        got
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_nanos() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_nanos()).expect("nanoseconds fit an i64 until 2262")
}

fn ms(nanos: i64) -> f64 {
    nanos as f64 / 1e6
}

fn report(what: &str, o: &WatchOutcome, daemon_started_after_save: Option<i64>) {
    eprintln!(
        "MEASURE {what}: save→done {:.1} ms (issued at {:.1} ms; devstack's share, debounce excluded: {:.1} ms){}",
        o.since_save.as_secs_f64() * 1e3,
        o.issued.as_secs_f64() * 1e3,
        o.own.as_secs_f64() * 1e3,
        daemon_started_after_save
            .map(|n| format!("; daemon StartedAt − last write: {:.1} ms", ms(n)))
            .unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_stage_build_honours_dockerignore_args_target_and_user() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "Dockerfile",
        &format!(
            "FROM {base} AS builder\n\
             ARG GREETING=unset\n\
             WORKDIR /build\n\
             COPY . .\n\
             RUN echo \"$GREETING\" > greeting.txt && id -u > builder-uid.txt\n\
             \n\
             FROM {base} AS runtime\n\
             COPY --from=builder /build /app\n\
             USER app\n\
             RUN id -u > /tmp/runtime-uid.txt\n\
             \n\
             FROM {base} AS never\n\
             RUN echo this stage must not be built && exit 1\n"
        ),
    );
    p.write(
        ".dockerignore",
        "secret.env\ndata\n!data/keep.csv\n**/*.pyc\n",
    );
    p.write("load.py", "print('load')\n");
    p.write("load.pyc", "bytecode");
    p.write("secret.env", "TOKEN=hunter2\n");
    p.write("data/big.csv", "a,b\n");
    p.write("data/keep.csv", "a,b\n");
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  pipeline:\n    build:\n      context: .\n      target: runtime\n      args:\n        GREETING: hello-from-args\n    command: {SLEEPER}\n"
        ),
    );
    let stack = p.load();
    let service = ServiceName::new("pipeline");

    let (tx, mut rx) = mpsc::channel(1024);
    let id = engine
        .build_image(&stack, &service, &tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(tx);
    let mut steps = Vec::new();
    while let Some(ev) = rx.recv().await {
        if let EngineEvent::Progress {
            progress: Progress::Building { step },
            ..
        } = ev
        {
            steps.push(step);
        }
    }
    assert!(
        steps.iter().any(|s| s.starts_with("Step 1/")),
        "steps: {steps:?}"
    );
    assert!(
        steps.iter().any(|s| s.contains("COPY --from=builder")),
        "steps: {steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.contains("must not be built")),
        "the target stops the build: {steps:?}"
    );
    assert_eq!(
        engine
            .image_id_of("devstack-live-nonexistent:tag")
            .await
            .unwrap(),
        None
    );
    let image = &stack.services[&service].image;
    assert_eq!(image, &format!("{}-pipeline", p.name));
    assert_eq!(engine.image_id_of(image).await.unwrap(), Some(id.clone()));

    // The image exists: `up` does not build again, it runs it.
    up(&engine, &stack, false).await;
    let c = container(&engine, &p.name, "pipeline").await;
    assert_eq!(c.state, ContainerState::Running);
    assert_eq!(c.image_id, id);
    assert_eq!(
        exec(&engine, &c, &["cat", "/app/greeting.txt"]).await,
        "hello-from-args\n"
    );
    assert_eq!(exec(&engine, &c, &["id", "-u"]).await, "1000\n", "USER app");
    assert_eq!(
        exec(&engine, &c, &["cat", "/tmp/runtime-uid.txt"]).await,
        "1000\n"
    );
    assert_eq!(
        exec(&engine, &c, &["cat", "/app/builder-uid.txt"]).await,
        "0\n"
    );
    for present in [
        "/app/load.py",
        "/app/data/keep.csv",
        "/app/Dockerfile",
        "/app/.dockerignore",
    ] {
        assert_eq!(
            exec_code(&engine, &c, &["test", "-e", present]).await,
            0,
            "{present} is in the image"
        );
    }
    for absent in ["/app/secret.env", "/app/data/big.csv", "/app/load.pyc"] {
        assert_eq!(
            exec_code(&engine, &c, &["test", "-e", absent]).await,
            1,
            "{absent} is left out by .dockerignore"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_builds_missing_images_and_up_build_recreates_only_changed_images() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    for svc in ["steady", "edited"] {
        p.write(
            &format!("{svc}/Dockerfile"),
            &format!("FROM {base}\nCOPY app.txt /app/app.txt\n"),
        );
        p.write(&format!("{svc}/app.txt"), "v1\n");
    }
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  steady:\n    build: ./steady\n    command: {SLEEPER}\n  edited:\n    build: ./edited\n    command: {SLEEPER}\n"
        ),
    );
    let stack = p.load();

    // Images missing: `up` builds them.
    up(&engine, &stack, false).await;
    let steady = container(&engine, &p.name, "steady").await;
    let edited = container(&engine, &p.name, "edited").await;

    // `up --build` with one context edited: both build, one image changes, one
    // container is recreated.
    p.write("edited/app.txt", "v2\n");
    up(&engine, &stack, true).await;
    let steady2 = container(&engine, &p.name, "steady").await;
    let edited2 = container(&engine, &p.name, "edited").await;
    assert_eq!(steady2.id, steady.id, "unchanged image: container kept");
    assert_eq!(steady2.image_id, steady.image_id);
    assert_ne!(edited2.id, edited.id, "changed image: container recreated");
    assert_ne!(edited2.image_id, edited.image_id);
    assert_eq!(edited2.state, ContainerState::Running);
    assert_eq!(
        exec(&engine, &edited2, &["cat", "/app/app.txt"]).await,
        "v2\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_names_its_step_and_the_old_container_keeps_running() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    p.write("Dockerfile", &format!("FROM {base}\nCOPY load.py /app/\n"));
    p.write("load.py", "v1\n");
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  pipeline:\n    build: .\n    command: {SLEEPER}\n    develop:\n      watch:\n        - path: .\n          action: rebuild\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack, false).await;
    let before = container(&engine, &p.name, "pipeline").await;
    let started = engine.started_at_nanos(&before.id).await.unwrap();

    p.write(
        "Dockerfile",
        &format!(
            "FROM {base}\nCOPY load.py /app/\nRUN echo about to fail && echo on stderr >&2 && exit 3\n"
        ),
    );
    let err = commands::converge(
        &engine,
        &stack,
        PlanOptions {
            build: true,
            ..PlanOptions::default()
        },
        READY,
    )
    .await
    .expect_err("the build fails")
    .to_string();
    for want in [
        "at 'Step 3/",
        " : RUN echo about to fail && echo on stderr >&2 && exit 3'",
        "returned a non-zero code: 3",
        "  | about to fail",
        "  | on stderr",
        "'devstack build pipeline'",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }

    // The same through the watcher's rebuild action.
    let trigger = Trigger {
        service: ServiceName::new("pipeline"),
        action: WatchAction::Rebuild,
        files: vec![],
        first: "Dockerfile".into(),
        count: 1,
    };
    let err = live::apply_trigger(&engine, &stack, &trigger, &drained_events())
        .await
        .expect_err("the rebuild fails")
        .to_string();
    assert!(err.contains("RUN echo about to fail"), "{err}");

    let after = container(&engine, &p.name, "pipeline").await;
    assert_eq!(after.id, before.id, "same container");
    assert_eq!(after.state, ContainerState::Running);
    assert_eq!(
        engine.started_at_nanos(&after.id).await.unwrap(),
        started,
        "not restarted"
    );
    assert_eq!(
        exec(&engine, &after, &["cat", "/app/load.py"]).await,
        "v1\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_copies_and_removes_files_without_a_restart() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    p.write("src/load.py", "v1\n");
    p.write(
        "compose.yaml",
        &format!(
            "x-devstack:\n  debounce: 100ms\nservices:\n  pipeline:\n    image: {base}\n    command: {SLEEPER}\n    develop:\n      watch:\n        - path: ./src\n          target: /app/src\n          action: sync\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack, false).await;
    let c = container(&engine, &p.name, "pipeline").await;
    let started = engine.started_at_nanos(&c.id).await.unwrap();
    let mut watching = Watching::start(&engine, &stack);

    p.write("src/load.py", "v2\n");
    p.write("src/pkg/util.py", "util\n");
    let o = watching.next().await;
    report("sync (2 files)", &o, None);
    let message = o.result.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        // Three changed paths (the new folder `pkg` too), two files.
        message.starts_with("pipeline: synced 2 files after change to load.py"),
        "{message}"
    );
    assert_eq!(
        exec(&engine, &c, &["cat", "/app/src/load.py"]).await,
        "v2\n"
    );
    assert_eq!(
        exec(&engine, &c, &["cat", "/app/src/pkg/util.py"]).await,
        "util\n"
    );

    std::fs::remove_file(p.path("src/load.py")).unwrap();
    let o = watching.next().await;
    let message = o.result.unwrap_or_else(|e| panic!("{e}"));
    assert!(message.contains("removed 1 file"), "{message}");
    assert_eq!(
        exec_code(&engine, &c, &["test", "-e", "/app/src/load.py"]).await,
        1
    );

    let after = container(&engine, &p.name, "pipeline").await;
    assert_eq!(after.id, c.id);
    assert_eq!(
        engine.started_at_nanos(&c.id).await.unwrap(),
        started,
        "sync does not restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_100_writes_restarts_each_service_once() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    p.write("conf/app.ini", "x\n");
    p.write("src/load.py", "x\n");
    p.write("bound/run.py", "x\n");
    p.write(
        "compose.yaml",
        &format!(
            "services:\n\
             \x20 restarter:\n    image: {base}\n    command: {SLEEPER}\n    develop:\n      watch:\n        - path: ./conf\n          action: restart\n\
             \x20 syncer:\n    image: {base}\n    command: {SLEEPER}\n    develop:\n      watch:\n        - path: ./src\n          target: /app/src\n          action: sync+restart\n\
             \x20 bound:\n    image: {base}\n    command: {SLEEPER}\n    volumes:\n      - ./bound:/bound\n    x-devstack:\n      restart_on_change: true\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack, false).await;
    let services = ["bound", "restarter", "syncer"];
    let mut started = std::collections::BTreeMap::new();
    for s in services {
        let c = container(&engine, &p.name, s).await;
        started.insert(
            s,
            (c.id.clone(), engine.started_at_nanos(&c.id).await.unwrap()),
        );
    }
    let mut watching = Watching::start(&engine, &stack);

    for i in 0..100 {
        for dir in ["conf", "src", "bound"] {
            p.write(&format!("{dir}/f{i:03}.txt"), &format!("{i}\n"));
        }
    }
    let last_write = now_nanos();
    let outcomes = watching.next_each(3).await;
    for s in services {
        let o = &outcomes[s];
        let message = o.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert!(message.contains("restarted"), "{message}");
        assert!(
            message.ends_with("after change to f000.txt (100 files)"),
            "one action for the whole burst: {message}"
        );
        let (id, before) = &started[s];
        let now = engine.started_at_nanos(id).await.unwrap();
        assert_ne!(now, *before, "'{s}' restarted");
        let c = container(&engine, &p.name, s).await;
        assert_eq!(&c.id, id, "restarted, not recreated");
        assert_eq!(c.state, ContainerState::Running);
        report(
            &format!(
                "{s} ({}) burst of 100",
                if s == "syncer" {
                    "sync+restart"
                } else {
                    "restart"
                }
            ),
            o,
            now.map(|n| n - last_write),
        );
        started.insert(s, (id.clone(), now));
    }
    let syncer = container(&engine, &p.name, "syncer").await;
    assert_eq!(
        exec(&engine, &syncer, &["cat", "/app/src/f099.txt"]).await,
        "99\n"
    );

    // Nothing of the burst is left over: the next action of each service is the next
    // save alone, so the burst restarted each exactly once.
    for dir in ["conf", "src", "bound"] {
        p.write(&format!("{dir}/sentinel"), "s\n");
    }
    let last_write = now_nanos();
    let outcomes = watching.next_each(3).await;
    for s in services {
        let o = &outcomes[s];
        let message = o.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert!(message.ends_with("after change to sentinel"), "{message}");
        let (id, before) = &started[s];
        let now = engine.started_at_nanos(id).await.unwrap();
        assert_ne!(now, *before);
        report(&format!("{s} single save"), o, now.map(|n| n - last_write));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_makes_a_new_image_and_recreates_the_container() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    p.write(
        "app/Dockerfile",
        &format!("FROM {base}\nCOPY load.py /app/load.py\n"),
    );
    p.write("app/load.py", "v1\n");
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  pipeline:\n    build: ./app\n    command: {SLEEPER}\n    develop:\n      watch:\n        - path: ./app\n          action: rebuild\n"
        ),
    );
    let stack = p.load();
    up(&engine, &stack, false).await;
    let before = container(&engine, &p.name, "pipeline").await;
    let mut watching = Watching::start(&engine, &stack);

    p.write("app/load.py", "v2\n");
    let last_write = now_nanos();
    let o = watching.next().await;
    let message = o.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert!(message.starts_with("pipeline: rebuilt ("), "{message}");
    assert!(
        message.ends_with("and recreated after change to load.py"),
        "{message}"
    );
    let after = container(&engine, &p.name, "pipeline").await;
    assert_ne!(after.id, before.id, "recreated");
    assert_ne!(after.image_id, before.image_id, "new image");
    assert_eq!(
        engine
            .image_id_of(&stack.services[&ServiceName::new("pipeline")].image)
            .await
            .unwrap(),
        Some(after.image_id.clone())
    );
    assert_eq!(after.state, ContainerState::Running);
    assert_eq!(
        exec(&engine, &after, &["cat", "/app/load.py"]).await,
        "v2\n"
    );
    let started = engine.started_at_nanos(&after.id).await.unwrap();
    report("rebuild", &o, started.map(|n| n - last_write));
}
