//! Airflow seen from devstack, against a real Airflow 3: the stand-in images
//! `devstack-offline/airflow:3` and `devstack-offline/postgres:15` (built offline by
//! ../shared/images/build.sh; never pulled here). Slow — Airflow takes minutes to start
//! on a loaded machine — so `cargo test` leaves this binary out (`test = false` in
//! Cargo.toml) and CI's heavier stage runs it explicitly:
//!
//!     cargo test --test airflow
//!
//! One stack is brought up once and every check runs against it: the health report,
//! an import error with file and line, `airflow -- ARGS` in the scheduler, pause and
//! unpause, a triggered run that succeeds, and the Airflow view following a DAG save.
#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use common::Project;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use devstack::airflow::Client;
use devstack::app::{App, AppConfig};
use devstack::engine::Engine;
use devstack::model::{NoticeLevel, ServiceName};
use devstack::tui::{Event, Focus, Mode};

const AIRFLOW_IMAGE: &str = "devstack-offline/airflow:3";
const POSTGRES_IMAGE: &str = "devstack-offline/postgres:15";

/// Airflow's start (migrations, then four Python processes) on a 2-core machine that
/// other builds share.
const START: Duration = Duration::from_secs(20 * 60);
/// A DAG file parsed, a run scheduled and finished.
const SCHEDULE: Duration = Duration::from_secs(8 * 60);

const STACK: &str = r#"
x-airflow: &airflow
  image: devstack-offline/airflow:3
  user: "50000:0"
  environment: &env
    AIRFLOW__CORE__EXECUTOR: LocalExecutor
    AIRFLOW__CORE__LOAD_EXAMPLES: "false"
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: "true"
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://airflow:pw@postgres:5432/airflow
    AIRFLOW__API_AUTH__JWT_SECRET: test-jwt-secret-for-devstack-tests-only
    AIRFLOW__API__SECRET_KEY: test-secret-key
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: http://api-server:8080/execution/
    AIRFLOW__CORE__AUTH_MANAGER: airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: admin:admin
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: /opt/airflow/passwords.json
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: "5"
    AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL: "5"
    AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: "true"
    AIRFLOW_ADMIN_USER: admin
    AIRFLOW_ADMIN_PASSWORD: ${AIRFLOW_ADMIN_PASSWORD}
  volumes:
    - ./dags:/opt/airflow/dags
  depends_on:
    postgres: {condition: service_healthy}
    airflow-init: {condition: service_completed_successfully}
  restart: unless-stopped

services:
  postgres:
    image: devstack-offline/postgres:15
    environment:
      POSTGRES_USER: airflow
      POSTGRES_PASSWORD: pw
      POSTGRES_DB: airflow
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U airflow -d airflow"]
      interval: 2s
      timeout: 5s
      retries: 100
  airflow-init:
    <<: *airflow
    command: [bash, -c, "airflow db migrate"]
    depends_on:
      postgres: {condition: service_healthy}
    restart: "no"
  api-server:
    <<: *airflow
    x-devstack: {airflow: api-server}
    command:
      - bash
      - -c
      - |
        python -c 'import json, os; json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"], "w"))'
        exec airflow api-server
    ports: ["8080"]
  scheduler:
    <<: *airflow
    x-devstack: {airflow: scheduler}
    command: scheduler
  dag-processor:
    <<: *airflow
    x-devstack: {airflow: dag-processor}
    command: dag-processor
"#;

const HELLO: &str = r#"import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("hello", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False):
    BashOperator(task_id="say", bash_command="echo hello from devstack")
"#;

/// A syntax error on line 3. It names `airflow` and `DAG`: Airflow's safe mode skips
/// files that do not.
const BAD: &str = "from airflow.sdk import DAG\n\nwith DAG(\"bad\" schedule=None):\n    pass\n";

/// Checks `check` every 2 s (each check runs a process or an HTTP call, so not faster)
/// until it gives `Some`, or `None` after `deadline`.
async fn wait_for<T, F: Future<Output = Option<T>>>(
    deadline: Duration,
    mut check: impl FnMut() -> F,
) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Feeds the app's events to it until `done`, for at most a minute.
async fn pump_until(app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    pump_until_for(app, Duration::from_secs(60), what, done).await;
}

/// [`pump_until`] with its own bound, and the UI loop's once-a-second tick (timed
/// refreshes, such as the Airflow view's after a save, run on ticks).
async fn pump_until_for(app: &mut App, within: Duration, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + within;
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    while !done(app) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; notices: {:?}",
            app.state.notices
        );
        match tokio::time::timeout_at(next_tick.into(), app.next_event()).await {
            Ok(Some(event)) => {
                app.handle(event);
            }
            Ok(None) => panic!("the app's feeds closed while waiting for {what}"),
            Err(_) => {
                next_tick += Duration::from_secs(1);
                app.handle(Event::Tick {
                    now_unix: chrono::Utc::now().timestamp(),
                });
            }
        }
    }
}

fn images_present() {
    for image in [AIRFLOW_IMAGE, POSTGRES_IMAGE] {
        let present = common::block_on(async {
            matches!(common::engine().await.image_id_of(image).await, Ok(Some(_)))
        });
        assert!(
            present,
            "image '{image}' is missing: build the stand-ins with ../shared/images/build.sh debian postgres python airflow3 (offline, about 3 minutes)"
        );
    }
}

fn report(p: &Project) -> (bool, String) {
    let out = p.run(&["airflow"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn client(engine: &Engine, p: &Project) -> Client {
    let stack = p.load();
    devstack::ops::airflow::connect(engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("connect to the api-server: {e}"))
}

#[test]
fn airflow_health_import_errors_cli_pause_and_a_triggered_run() {
    images_present();
    let p = Project::new();
    p.write("compose.yaml", STACK);
    p.write(".env", "AIRFLOW_ADMIN_PASSWORD=s3cret-admin\n");
    p.write("dags/hello.py", HELLO);
    p.write("dags/bad.py", BAD);
    let started = Instant::now();
    p.ok(&["up", "-d", "--wait-timeout", &START.as_secs().to_string()]);
    eprintln!("stack up in {:?}", started.elapsed());

    let p = &p;
    common::block_on(async move {
        // The health report: every component we run reports healthy once started.
        let (ok, text) = wait_for(START, || async move {
            let (ok, text) = report(p);
            (ok && text.contains("scheduler      healthy")
                && text.contains("dag_processor  healthy")
                && text.contains("metadatabase   healthy"))
            .then_some((ok, text))
        })
        .await
        .unwrap_or_else(|| panic!("no healthy report; last: {}", report(p).1));
        assert!(ok, "{text}");
        eprintln!("healthy after {:?}", started.elapsed());

        // The DAG with a syntax error: first in the report, as the user's file and line.
        let text = wait_for(SCHEDULE, || async move {
            let (_, text) = report(p);
            (text.contains("dags/bad.py:3") && text.contains("hello")).then_some(text)
        })
        .await
        .unwrap_or_else(|| panic!("no import error for dags/bad.py:3; last: {}", report(p).1));
        let errors_at = text
            .find("DAG IMPORT ERRORS (1)")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(errors_at < text.find("components:").unwrap(), "{text}");
        assert!(text.contains("SyntaxError"), "{text}");
        eprintln!("import error shown after {:?}", started.elapsed());

        // The airflow CLI runs in the scheduler's container.
        let out = p.run(&["airflow", "--", "dags", "list", "--output", "plain"]);
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && listed.contains("hello"),
            "{listed}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = p.run(&["airflow", "--", "dags", "show", "no-such-dag"]);
        assert!(
            !out.status.success(),
            "a failing airflow command fails devstack too"
        );

        // Pause and unpause through the API, seen in the report.
        let engine = common::engine().await;
        let api = &client(&engine, p).await;
        let paused = |o: &devstack::airflow::Overview| {
            o.dags
                .iter()
                .find(|(d, _)| d.dag_id == "hello")
                .map(|(d, _)| d.is_paused)
        };
        assert_eq!(
            paused(&api.overview().await.unwrap()),
            Some(true),
            "paused at creation"
        );
        api.set_paused("hello", false).await.unwrap();
        assert_eq!(paused(&api.overview().await.unwrap()), Some(false));
        let (_, text) = report(p);
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("hello") && l.contains(" no ")),
            "{text}"
        );

        // A triggered run succeeds, with its task instance and its log.
        let run = api
            .trigger("hello", Some(serde_json::json!({"from": "devstack"})))
            .await
            .unwrap();
        let run_id = &run.dag_run_id;
        let done = wait_for(SCHEDULE, || async move {
            let r = api.dag_run("hello", run_id).await.ok()?;
            matches!(r.state.as_str(), "success" | "failed").then_some(r)
        })
        .await
        .unwrap_or_else(|| panic!("run {} did not finish", run.dag_run_id));
        assert_eq!(done.state, "success", "{done:?}");
        let tasks = api.task_instances("hello", &run.dag_run_id).await.unwrap();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0].state.as_deref(), Some("success"));
        let log = api
            .task_log("hello", &run.dag_run_id, &tasks[0])
            .await
            .unwrap();
        assert!(
            log.iter().any(|l| l.contains("hello from devstack")),
            "{log:?}"
        );
        let (_, text) = report(p);
        assert!(text.contains("success"), "{text}");
        eprintln!("run succeeded after {:?}", started.elapsed());

        // The UI: `A` opens the view and fills it from the api-server; Enter shows the
        // run's task instances; `l` brings their logs into the logs pane.
        let config = AppConfig {
            log_lines: 1000,
            up: None,
            watch: false,
            stats_file: None,
            cli: "devstack".into(),
        };
        let mut app = App::start(engine.clone(), p.load(), &config);
        let press = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        app.handle(press(KeyCode::Char('A')));
        assert_eq!(app.state.mode, Mode::Airflow);
        pump_until(&mut app, "the Airflow view's data", |a| {
            a.state.airflow.overview.is_some()
        })
        .await;
        let view = &app.state.airflow;
        let dags = &view.overview.as_ref().unwrap().dags;
        assert_eq!(dags[view.selected].0.dag_id, "hello", "{dags:?}");
        assert_eq!(
            dags[view.selected].1.as_ref().map(|r| r.state.as_str()),
            Some("success")
        );
        app.handle(press(KeyCode::Enter));
        pump_until(&mut app, "the run's task instances", |a| {
            a.state.airflow.tasks.is_some()
        })
        .await;
        app.handle(press(KeyCode::Char('l')));
        pump_until(&mut app, "the task log in the logs pane", |a| {
            a.state.mode == Mode::Normal
                && a.state
                    .logs
                    .store
                    .service_idx(&ServiceName::new("airflow:hello"))
                    .is_some()
        })
        .await;
        assert!(
            !app.state
                .notices
                .iter()
                .any(|n| n.level == NoticeLevel::Error),
            "{:?}",
            app.state.notices
        );

        // A DAG file saved while the view is shown: the view waits for the
        // dag-processor's parse result of it and shows it without a key (here: the
        // import error of dags/bad.py goes once the file is fixed). `l` left the focus
        // on the logs pane; `A` is a services-pane key.
        if matches!(app.state.focus, Focus::Logs) {
            app.handle(press(KeyCode::Tab));
        }
        app.handle(press(KeyCode::Char('A')));
        assert_eq!(app.state.mode, Mode::Airflow);
        pump_until(
            &mut app,
            "the Airflow view with bad.py's import error",
            |a| {
                a.state
                    .airflow
                    .overview
                    .as_ref()
                    .is_some_and(|o| !o.import_errors.is_empty())
            },
        )
        .await;
        p.write("dags/bad.py", &HELLO.replace("\"hello\"", "\"bad\""));
        pump_until(&mut app, "the save seen by the view", |a| {
            a.state.airflow.saved.is_some()
        })
        .await;
        pump_until_for(
            &mut app,
            SCHEDULE,
            "the fixed file's parse result, unasked",
            |a| {
                a.state.airflow.saved.is_none()
                    && a.state.airflow.overview.as_ref().is_some_and(|o| {
                        o.import_errors.is_empty() && o.dags.iter().any(|(d, _)| d.dag_id == "bad")
                    })
            },
        )
        .await;
        drop(app);

        api.set_paused("hello", true).await.unwrap();
        assert_eq!(paused(&api.overview().await.unwrap()), Some(true));
    });
}
