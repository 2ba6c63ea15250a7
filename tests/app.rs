//! The TUI's app loop without a terminal, against real fixture containers: `up` from
//! the UI, a worker's lines reaching the state, an outside stop turning its row to
//! exited with its code, and a restart asked for with the `r` key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use devstack::app::{App, AppConfig, Handoff};
use devstack::logs::Scope;
use devstack::model::ServiceName;
use devstack::plan::PlanOptions;
use devstack::stack::{LoadOptions, load_str};
use devstack::tui::{Event, Status};
use tokio::time::Instant;

/// Feeds the app's own events to it until `done` holds, or fails after 30 s.
async fn pump_until(app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(app) {
        let next = tokio::time::timeout_at(deadline, app.next_event()).await;
        match next {
            Ok(Some(event)) => {
                let handoffs = app.handle(event);
                assert!(handoffs.is_empty(), "unexpected hand-off {handoffs:?}");
            }
            Ok(None) => panic!("the app's feeds closed while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; rows: {:#?}\nnotices: {:#?}",
                app.state
                    .services
                    .iter()
                    .map(|r| (&r.name, r.status(), &r.progress))
                    .collect::<Vec<_>>(),
                app.state.notices
            ),
        }
    }
}

fn status(app: &App, service: &str) -> Status {
    app.state
        .row(&ServiceName::new(service))
        .map(|r| r.status())
        .unwrap_or(Status::NotCreated)
}

fn worker_lines(app: &App) -> Vec<String> {
    let store = &app.state.logs.store;
    let Some(idx) = store.service_idx(&ServiceName::new("worker")) else {
        return Vec::new();
    };
    store
        .view(Scope::Service(idx))
        .forward(None)
        .map(|l| l.text.to_string())
        .collect()
}

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_loop_follows_real_containers_and_restarts_from_a_key() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = common::Project::new();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"
services:
  worker:
    image: {image}
    # Exits with 3 on SIGTERM, so a stop shows a code of its own.
    command: ["sh", "-c", "trap 'exit 3' TERM; i=0; while true; do i=$$((i+1)); echo line $$i; sleep 0.05 & wait; done"]
  web:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /etc & wait"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:80/passwd"]
      interval: 200ms
      retries: 50
"#
    );
    let opts = LoadOptions {
        cwd: dir.path().to_path_buf(),
        project_name: Some(project.name.to_string()),
        ..LoadOptions::default()
    };
    let stack = load_str(&yaml, &dir.path().join("devstack.yaml"), &opts).unwrap();
    let config = AppConfig {
        log_lines: 1000,
        up: Some((PlanOptions::default(), Duration::from_secs(60))),
        watch: false,
        stats_file: None,
        cli: "devstack".into(),
    };
    let mut app = App::start(engine.clone(), stack.clone(), &config);

    // `up` from the UI: rows turn running/healthy, and the worker's lines arrive.
    pump_until(&mut app, "the stack up and worker lines", |a| {
        status(a, "web") == Status::Healthy
            && status(a, "worker") == Status::Running
            && worker_lines(a).len() >= 5
    })
    .await;
    let lines = worker_lines(&app);
    assert!(lines.iter().any(|l| l.starts_with("line ")), "{lines:?}");

    // Stopped from outside devstack's UI: the row shows the exit code.
    engine
        .stop(&stack, &ServiceName::new("worker"))
        .await
        .unwrap();
    pump_until(&mut app, "worker exited (3)", |a| {
        status(a, "worker") == Status::Exited(3)
    })
    .await;

    // `r` on the selected worker row asks for a restart, which the app performs.
    let worker_row = app
        .state
        .services
        .iter()
        .position(|r| r.name.as_str() == "worker")
        .unwrap();
    app.state.selected = worker_row;
    let before = worker_lines(&app).len();
    let handoffs: Vec<Handoff> = app.handle(key('r'));
    assert!(handoffs.is_empty());
    pump_until(&mut app, "worker running again with new lines", |a| {
        status(a, "worker") == Status::Running && worker_lines(a).len() > before + 3
    })
    .await;
    // The new container's lines continue in the same view, after a marker, with none
    // of the old ones repeated.
    let lines = worker_lines(&app);
    let numbered: Vec<&String> = lines.iter().filter(|l| l.starts_with("line ")).collect();
    let runs = numbered.iter().filter(|l| l.as_str() == "line 1").count();
    assert_eq!(
        runs, 2,
        "one run before and one after the restart: {lines:?}"
    );
    let mut counts = std::collections::HashMap::new();
    for l in &numbered {
        *counts.entry(l.as_str()).or_insert(0) += 1;
    }
    assert!(
        counts.values().all(|n| *n <= 2),
        "a line shown more often than the two runs printed it: {counts:?}"
    );
    assert!(
        lines.iter().any(|l| !l.starts_with("line ")),
        "a marker line (the container restarted) separates the runs: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_save_restarts_the_service_and_the_ui_says_so() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = common::Project::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/load.py"), "v1\n").unwrap();
    let yaml = format!(
        r#"
services:
  pipeline:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; cat /app/load.py; sleep 3600 & wait"]
    volumes: ["./src:/app"]
    x-devstack:
      restart_on_change: true
"#
    );
    let opts = LoadOptions {
        cwd: dir.path().to_path_buf(),
        project_name: Some(project.name.to_string()),
        ..LoadOptions::default()
    };
    let stack = load_str(&yaml, &dir.path().join("devstack.yaml"), &opts).unwrap();
    let config = AppConfig {
        log_lines: 1000,
        up: Some((PlanOptions::default(), Duration::from_secs(60))),
        watch: true,
        stats_file: None,
        cli: "devstack".into(),
    };
    let mut app = App::start(engine.clone(), stack, &config);
    pump_until(&mut app, "pipeline running and ready notice", |a| {
        status(a, "pipeline") == Status::Running
            && a.state
                .notices
                .iter()
                .any(|n| n.message.contains("all services ready"))
    })
    .await;
    // The watcher starts right after `up`; a save is seen from then on, so keep
    // saving until the UI reports the restart (each save is one more burst).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut version = 2;
    while !app.state.notices.iter().any(|n| {
        n.message
            .contains("pipeline: restarted after change to load.py")
    }) {
        assert!(
            Instant::now() < deadline,
            "no restart notice: {:#?}",
            app.state.notices
        );
        std::fs::write(dir.path().join("src/load.py"), format!("v{version}\n")).unwrap();
        version += 1;
        let until = Instant::now() + Duration::from_millis(500);
        while let Ok(Some(event)) = tokio::time::timeout_at(until, app.next_event()).await {
            app.handle(event);
        }
    }
    pump_until(&mut app, "the new code's output", |a| {
        let store = &a.state.logs.store;
        store
            .view(Scope::All)
            .forward(None)
            .any(|l| l.text.starts_with('v') && l.text != "v1")
    })
    .await;
}
