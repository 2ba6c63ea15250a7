//! The daemon going away and coming back, against the real daemon: the test puts a
//! Unix-socket proxy of its own between devstack and Docker (`DOCKER_HOST=unix://…`),
//! cuts it (open connections dropped, new ones refused) and restores it, mid-`logs -f`
//! and mid-TUI. devstack must say so, keep running, resume, and print no line twice —
//! and the lines the container printed during the outage must still arrive (resuming
//! asks the daemon for what came after the last line seen). The machine's own daemon
//! is never stopped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Project, Running, poll_until};
use devstack::app::{App, AppConfig};
use devstack::engine::{DaemonLookup, Engine};
use devstack::model::ServiceName;
use devstack::plan::PlanOptions;
use devstack::tui::state::Daemon;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long the proxy stays cut: an input of the test, not a wait for something.
const OUTAGE: Duration = Duration::from_millis(1500);
/// The counter prints a line every 50 ms: about 30 lines fall into the outage.
const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo \"n $i\"; usleep 50000; done";

/// The socket of the machine's daemon, as the other tests reach it.
fn daemon_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

/// A byte-for-byte proxy of the daemon's Unix socket that can be cut and restored.
struct Proxy {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    target: PathBuf,
    listener: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    fn start(target: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut proxy = Proxy {
            socket: dir.path().join("proxy.sock"),
            _dir: dir,
            target: target.to_path_buf(),
            listener: None,
            connections: Arc::default(),
        };
        proxy.restore();
        proxy
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Listens again (a new socket at the same path).
    fn restore(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let listener = UnixListener::bind(&self.socket).unwrap();
        let (target, connections) = (self.target.clone(), Arc::clone(&self.connections));
        self.listener = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut daemon) = UnixStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut daemon).await;
                    }
                });
                let mut list = connections.lock().unwrap();
                list.retain(|c| !c.is_finished());
                list.push(forward);
            }
        }));
    }

    /// Drops every open connection and stops listening: the socket file stays, so a
    /// new connection is refused (as when a daemon dies), not "no such file".
    async fn cut(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.abort();
            let _ = listener.await;
        }
        let open: Vec<JoinHandle<()>> = self.connections.lock().unwrap().drain(..).collect();
        for c in &open {
            c.abort();
        }
        for c in open {
            let _ = c.await;
        }
        assert!(
            std::os::unix::net::UnixStream::connect(&self.socket).is_err(),
            "the cut proxy still accepts connections"
        );
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(l) = self.listener.take() {
            l.abort();
        }
        for c in self.connections.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

/// The counter's numbers in `lines` (`… n 17`), in the order printed.
fn numbers<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<u64> {
    lines
        .into_iter()
        .filter_map(|l| l.rsplit_once("n ").and_then(|(_, n)| n.trim().parse().ok()))
        .collect()
}

/// Every number once, none missing: exactly 1, 2, …, last.
fn assert_complete_once(numbers: &[u64], what: &str) {
    let mut seen = BTreeSet::new();
    let repeated: Vec<u64> = numbers
        .iter()
        .filter(|n| !seen.insert(**n))
        .copied()
        .collect();
    assert!(
        repeated.is_empty(),
        "{what}: lines shown twice: {repeated:?}"
    );
    let last = numbers.iter().max().copied().unwrap_or(0);
    let missing: Vec<u64> = (1..=last).filter(|n| !seen.contains(n)).collect();
    assert!(missing.is_empty(), "{what}: lines missing: {missing:?}");
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "{what}: lines out of order: {numbers:?}"
    );
}

/// A child's output, line by line, collected by a thread.
fn collect(reader: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_reports_the_outage_resumes_and_repeats_nothing() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = Project::new();
    // In a stack file `$` is interpolation: `$$` is a literal one.
    let script = format!("trap 'exit 0' TERM; {COUNTER}")
        .replace('"', "\\\"")
        .replace('$', "$$");
    project.write(
        "compose.yaml",
        &format!("services:\n  counter:\n    image: {image}\n    command: [\"sh\", \"-c\", \"{script}\"]\n"),
    );
    let devstack = |args: &[&str]| project.cmd(args);
    let up = devstack(&["up", "--detach"]).output().unwrap();
    assert!(
        up.status.success(),
        "up failed: {}",
        String::from_utf8_lossy(&up.stderr)
    );

    let mut proxy = Proxy::start(&daemon_socket());
    let mut child = devstack(&["logs", "-f", "--no-color"])
        .env("DOCKER_HOST", proxy.host())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let mut child = Running::from(child);
    let printed = || numbers(stdout.lock().unwrap().iter().map(String::as_str));
    let said = |what: &str| stderr.lock().unwrap().iter().any(|l| l.contains(what));

    assert!(
        poll_until(Duration::from_secs(20), || (printed().len() >= 10)
            .then_some(()))
        .await
        .is_some(),
        "logs -f printed no lines through the proxy; stderr: {:?}",
        stderr.lock().unwrap()
    );

    proxy.cut().await;
    assert!(
        poll_until(Duration::from_secs(10), || said("not reachable")
            .then_some(()))
        .await
        .is_some(),
        "the outage was not reported; stderr: {:?}",
        stderr.lock().unwrap()
    );
    tokio::time::sleep(OUTAGE).await;
    assert!(
        child.is_running(),
        "logs -f exited during the outage; stderr: {:?}",
        stderr.lock().unwrap()
    );
    // The last line printed before the cut; the ones the container printed during the
    // outage come after it, and only after the reconnect.
    let before = printed().last().copied().unwrap_or(0);

    proxy.restore();
    assert!(
        poll_until(Duration::from_secs(15), || said("reconnected")
            .then_some(()))
        .await
        .is_some(),
        "no reconnect reported; stderr: {:?}",
        stderr.lock().unwrap()
    );
    // The outage is ~30 lines; 60 past the cut are lines printed after the reconnect.
    assert!(
        poll_until(Duration::from_secs(20), || {
            printed()
                .last()
                .is_some_and(|n| *n >= before + 60)
                .then_some(())
        })
        .await
        .is_some(),
        "lines stopped after the reconnect (last before the cut: {before}, now: {:?}); stderr: {:?}",
        printed().last(),
        stderr.lock().unwrap()
    );
    assert!(child.is_running());

    assert_complete_once(&printed(), "logs -f across the outage");
    let stderr = stderr.lock().unwrap();
    assert_eq!(
        stderr
            .iter()
            .filter(|l| l.contains("not reachable"))
            .count(),
        1,
        "one outage, one report: {stderr:?}"
    );
}

/// Drives the app (no terminal) until `done` holds or `within` has passed.
async fn drive_until(app: &mut App, within: Duration, mut done: impl FnMut(&App) -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if done(app) {
            return true;
        }
        match tokio::time::timeout_at(deadline, app.next_event()).await {
            Ok(Some(event)) => {
                app.handle(event);
            }
            Ok(None) | Err(_) => return done(app),
        }
    }
}

fn stored_numbers(app: &App) -> Vec<u64> {
    let store = &app.state.logs.store;
    let view = store.view(devstack::logs::Scope::All);
    let texts: Vec<&str> = view.forward(None).map(|l| l.text).collect();
    numbers(texts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_shows_the_daemon_lost_and_back_and_stores_no_line_twice() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = Project::new();
    let mut stack = common::stack(&project.name, project.dir.path());
    let mut counter = common::service("counter", &image);
    counter.command = common::sh(COUNTER);
    common::add(&mut stack, counter);
    let (tx, mut rx) = mpsc::channel(256);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    devstack::ops::bring_up::converge_with(
        &engine,
        &stack,
        PlanOptions::default(),
        Duration::from_secs(60),
        tx,
    )
    .await
    .expect("bring the counter up");
    drain.await.unwrap();

    let mut proxy = Proxy::start(&daemon_socket());
    let through_proxy = Engine::connect_with(&DaemonLookup {
        docker_host: Some(proxy.host()),
        ..DaemonLookup::default()
    })
    .await
    .expect("connect through the proxy");
    let config = AppConfig {
        log_lines: 10_000,
        up: None,
        watch: false,
        stats_file: None,
        cli: "devstack".into(),
    };
    let mut app = App::start(through_proxy, stack.clone(), &config);

    assert!(
        drive_until(&mut app, Duration::from_secs(20), |a| stored_numbers(a)
            .len()
            >= 10)
        .await,
        "no log lines reached the store through the proxy"
    );
    assert_eq!(app.state.daemon, Daemon::Connected);

    proxy.cut().await;
    assert!(
        drive_until(&mut app, Duration::from_secs(10), |a| {
            matches!(a.state.daemon, Daemon::Lost { .. })
        })
        .await,
        "the UI does not show the daemon lost"
    );
    // The outage lasts OUTAGE while the app keeps running its loop.
    drive_until(&mut app, OUTAGE, |_| false).await;
    assert!(matches!(app.state.daemon, Daemon::Lost { .. }));
    let before = stored_numbers(&app).last().copied().unwrap_or(0);

    proxy.restore();
    assert!(
        drive_until(&mut app, Duration::from_secs(15), |a| {
            a.state.daemon == Daemon::Connected
        })
        .await,
        "the UI does not show the daemon back"
    );
    assert!(
        drive_until(&mut app, Duration::from_secs(20), |a| {
            stored_numbers(a).last().is_some_and(|n| *n >= before + 60)
        })
        .await,
        "log lines stopped after the reconnect (last before: {before}, now: {:?})",
        stored_numbers(&app).last()
    );
    assert_complete_once(&stored_numbers(&app), "the TUI's store across the outage");
    assert!(app.counters.lines_ingested >= stored_numbers(&app).len() as u64);
    let service = ServiceName::new("counter");
    assert!(app.state.logs.store.last_ts(&service).is_some());
}
