//! Job runs against the real daemon: `devstack run` (dependencies first, output
//! streamed, the job's exit code returned, the one-off container removed) and the run
//! history `devstack runs` reads back in a later process, and the UI recording a run
//! that `up` started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::Project;
use devstack::app::{App, AppConfig};
use devstack::model::ServiceName;
use devstack::ops::runs::{History, Trigger};
use devstack::plan::PlanOptions;
use devstack::stack::{LoadOptions, load_str};
use devstack::tui::Status;

/// A project whose folder holds `yaml` as its `compose.yaml` (`IMAGE` becomes the
/// fixture image), with its own state directory for the run history.
async fn project(yaml: &str) -> Project {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let p = Project::new();
    p.write("compose.yaml", &yaml.replace("IMAGE", &image));
    p
}

/// `devstack ARGS` with the project's own `XDG_STATE_HOME`.
fn devstack(p: &Project, args: &[&str]) -> Output {
    p.cmd(args)
        .env("XDG_STATE_HOME", p.path("state"))
        .output()
        .expect("run devstack")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const JOB_WITH_A_SLOW_DEPENDENCY: &str = r#"
services:
  prepare:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; echo prepared > /data/ready"]
    volumes: ["data:/data"]
  etl:
    image: IMAGE
    command: ["sh", "-c", "cat /data/ready && echo rows-loaded && echo oops >&2 && exit 3"]
    volumes: ["data:/data"]
    depends_on:
      prepare:
        condition: service_completed_successfully
volumes:
  data: {}
"#;

#[test]
fn run_waits_for_its_dependency_streams_output_and_returns_the_exit_code() {
    // Synchronous: `Project::objects` runs the test kit's own runtime.
    let p = common::block_on(project(JOB_WITH_A_SLOW_DEPENDENCY));
    let out = devstack(&p, &["run", "etl"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // `prepare` had finished: the job read its file.
    assert!(
        stdout.contains("prepared\nrows-loaded\n"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("oops"), "{stderr}");
    assert!(!stdout.contains("oops"), "stderr kept apart: {stdout}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");

    // Arguments after `--` replace the command.
    let out = devstack(&p, &["run", "etl", "--", "sh", "-c", "echo again"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "again\n");

    // The one-off containers are gone; the dependency's container stays, as after `up`.
    let names: Vec<String> = p
        .objects()
        .containers
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    assert!(names.iter().all(|n| !n.contains("-run-")), "{names:?}");
    assert!(
        names.contains(&format!("{}-prepare-1", p.name)),
        "{names:?}"
    );
    // `run` does not create the job's own service container.
    assert!(!names.contains(&format!("{}-etl-1", p.name)), "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_recorded_with_their_logs_and_read_back_by_a_new_process() {
    let p = project(JOB_WITH_A_SLOW_DEPENDENCY).await;
    assert_eq!(devstack(&p, &["run", "etl"]).status.code(), Some(3));
    let out = devstack(&p, &["run", "etl", "--", "sh", "-c", "echo second-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Each `devstack` is its own process: this one reads what the others wrote.
    let out = devstack(&p, &["runs", "etl", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert_eq!(runs[0]["exit_code"], 3);
    assert_eq!(runs[0]["trigger"], "run");
    // The daemon stamps stdout and stderr as it reads each pipe: their order against
    // each other is not the container's, within one stream it is.
    let lines: Vec<&str> = runs[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.contains(&"oops"), "{lines:?}");
    let stdout: Vec<&str> = lines.into_iter().filter(|l| *l != "oops").collect();
    assert_eq!(stdout, ["prepared", "rows-loaded"]);
    assert_eq!(runs[1]["exit_code"], 0);
    assert_eq!(runs[1]["lines"], serde_json::json!(["second-run"]));
    assert!(runs[0]["started_ms"].as_i64() <= runs[1]["started_ms"].as_i64());

    // The history is on disk under the state directory, per project.
    let file = p
        .path("state")
        .join("devstack")
        .join(p.name.as_str())
        .join("runs")
        .join("etl.jsonl");
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);

    // The table lists both jobs' runs (only `etl` has any).
    let out = devstack(&p, &["runs"]);
    let table = text(&out.stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with("etl "), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_of_a_job_whose_dependency_fails_says_so_and_runs_nothing() {
    let p = project(
        r#"
services:
  prepare:
    image: IMAGE
    command: ["sh", "-c", "exit 4"]
  etl:
    image: IMAGE
    command: ["echo", "must not run"]
    depends_on:
      prepare:
        condition: service_completed_successfully
"#,
    )
    .await;
    let out = devstack(&p, &["run", "etl"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("prepare"), "{stderr}");
    assert!(!text(&out.stdout).contains("must not run"));
    let out = devstack(&p, &["runs", "etl", "--json"]);
    assert_eq!(text(&out.stdout).trim(), "[]");
}

const JOB_BEFORE_A_SERVICE: &str = r#"
services:
  etl:
    image: IMAGE
    command: ["sh", "-c", "echo loaded-by-up"]
  web:
    image: IMAGE
    command: ["sleep", "3600"]
    depends_on:
      etl:
        condition: service_completed_successfully
"#;

/// The runs of `service` as `devstack runs SVC --json` prints them.
fn runs_json(p: &Project, service: &str) -> Vec<serde_json::Value> {
    let out = devstack(p, &["runs", service, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_detach_records_the_job_runs_it_saw_finish_once() {
    let p = project(JOB_BEFORE_A_SERVICE).await;
    let out = devstack(&p, &["up", "-d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runs = runs_json(&p, "etl");
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["trigger"], "up");
    assert_eq!(runs[0]["exit_code"], 0);
    assert_eq!(runs[0]["lines"], serde_json::json!(["loaded-by-up"]));
    // A second `up` does not run the finished job again, nor record its run twice.
    let out = devstack(&p, &["up", "-d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(runs_json(&p, "etl").len(), 1);
    assert!(runs_json(&p, "web").is_empty(), "not a job");
}

#[tokio::test(flavor = "multi_thread")]
async fn up_without_the_ui_records_a_job_run_that_ends_while_it_follows_the_logs() {
    let p = project(
        r#"
services:
  slow:
    image: IMAGE
    command: ["sh", "-c", "sleep 2; echo slow-done; exit 5"]
"#,
    )
    .await;
    // No terminal: `up` converges, then follows the logs as `docker compose up` does.
    let mut child = p
        .cmd(&["up"])
        .env("XDG_STATE_HOME", p.path("state"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start devstack up");
    let history = History::at(
        p.path("state")
            .join("devstack")
            .join(p.name.as_str())
            .join("runs"),
    );
    let runs = common::poll_until(Duration::from_secs(90), || {
        Some(history.load("slow").unwrap()).filter(|r| !r.is_empty())
    })
    .await;
    let _ = child.kill();
    let out = child.wait_with_output().expect("devstack up ended");
    let runs = runs.unwrap_or_else(|| panic!("no run recorded; up said: {}", text(&out.stderr)));
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].trigger, Trigger::Up);
    assert_eq!(runs[0].exit_code, Some(5));
    assert_eq!(runs[0].lines, vec!["slow-done"]);
}

/// Feeds the app's own events to it until `done` holds, or fails after 60 s.
async fn pump_until(app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done(app) {
        match tokio::time::timeout_at(deadline, app.next_event()).await {
            Ok(Some(event)) => {
                app.handle(event);
            }
            Ok(None) => panic!("the app's feeds closed while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; notices: {:#?}",
                app.state.notices
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ui_records_a_jobs_run_when_up_ran_it() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = Project::new();
    let yaml = format!(
        r#"
services:
  etl:
    image: {image}
    command: ["sh", "-c", "echo extracting; echo loaded 3 rows; exit 2"]
"#
    );
    let opts = LoadOptions {
        cwd: project.path(""),
        project_name: Some(project.name.to_string()),
        ..LoadOptions::default()
    };
    let stack = load_str(&yaml, &project.path("compose.yaml"), &opts).unwrap();
    let config = AppConfig {
        log_lines: 1000,
        up: Some((PlanOptions::default(), Duration::from_secs(60))),
        watch: false,
        stats_file: None,
        cli: "devstack".into(),
    };
    let mut app = App::start(engine.clone(), stack, &config);
    let history = History::at(project.path("state"));
    app.set_run_history(history.clone());
    pump_until(&mut app, "etl exited (2)", |a| {
        a.state
            .row(&ServiceName::new("etl"))
            .is_some_and(|r| r.status() == Status::Exited(2))
    })
    .await;
    // Recorded in the background from the daemon's log of the run.
    let runs = common::poll_until(Duration::from_secs(60), || {
        Some(history.load("etl").unwrap()).filter(|r| !r.is_empty())
    })
    .await
    .expect("the run recorded");
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].exit_code, Some(2));
    assert_eq!(runs[0].trigger, Trigger::Up);
    assert_eq!(runs[0].lines, vec!["extracting", "loaded 3 rows"]);
    // The job's row says so.
    pump_until(&mut app, "etl's last run in its row", |a| {
        a.state
            .row(&ServiceName::new("etl"))
            .and_then(|r| r.last_run.as_deref())
            .is_some_and(|t| t.contains("exit 2 · 1 run today"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn db_opens_a_named_database_as_its_role_and_prints_the_url() {
    let p = project(
        r#"
services:
  pg:
    image: IMAGE
    command: ["sleep", "3600"]
    environment:
      POSTGRES_USER: airflow
      POSTGRES_PASSWORD: metapass
      POSTGRES_DB: airflow
      WAREHOUSE_USER: wh
      WAREHOUSE_PASSWORD: "s3cret/pw"
    ports: ["127.0.0.1::5432"]
    volumes: ["./psql:/usr/local/bin/psql:ro"]
    x-devstack:
      console:
        type: psql
        databases: [airflow, warehouse]
        default: warehouse
        user_env: WAREHOUSE_USER
        password_env: WAREHOUSE_PASSWORD
"#,
    )
    .await;
    // A psql that says how it was called: the fixture image has no Postgres.
    let stub = p.path("psql");
    std::fs::write(&stub, "#!/bin/sh\necho \"psql $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.ok(&["up", "--detach"]);

    assert_eq!(p.ok(&["db"]), "psql -U wh -d warehouse\n");
    assert_eq!(
        p.ok(&["db", "-d", "airflow"]),
        "psql -U airflow -d airflow\n"
    );
    assert_eq!(
        p.ok(&["db", "pg", "-d", "warehouse"]),
        "psql -U wh -d warehouse\n"
    );

    // The host port is the one the daemon picked.
    let engine = common::engine().await;
    let c = common::container(&engine, &p.name, "pg").await;
    let port = c
        .ports
        .iter()
        .find(|x| x.container_port == 5432)
        .unwrap()
        .host_port;
    assert_eq!(
        p.ok(&["db", "--url"]),
        format!("postgresql://wh:********@127.0.0.1:{port}/warehouse\n")
    );
    assert_eq!(
        p.ok(&["db", "--url", "--show-secrets"]),
        format!("postgresql://wh:s3cret%2Fpw@127.0.0.1:{port}/warehouse\n")
    );
    assert_eq!(
        p.ok(&["db", "-d", "airflow", "--url"]),
        format!("postgresql://airflow:********@127.0.0.1:{port}/airflow\n")
    );
}
