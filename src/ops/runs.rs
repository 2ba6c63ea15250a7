//! Runs of one-shot job services: running one now (`devstack run`, the UI's rerun key)
//! and the run history every front end records through here — each run's start,
//! duration, exit code, trigger and its last log lines.
//!
//! The history lives on disk, one JSON line per run, one file per service, under
//! `$XDG_STATE_HOME/devstack/<project>/runs/` (else `~/.local/state/…`), so it survives
//! restarts of devstack. It is bounded: the newest [`MAX_RUNS`] runs per service, the
//! last [`MAX_LINES`] lines per run, each cut at [`MAX_LINE_CHARS`]. Everything but
//! [`run_job`] is pure or plain file I/O, unit-tested without a daemon.

use std::collections::{BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::Error;
use crate::engine::{Engine, LogOptions};
use crate::model::{ContainerId, ContainerInfo, ContainerState, EngineEvent, LogLine, ServiceName};
use crate::plan::PlanOptions;
pub use crate::runs::{
    DiffLine, Run, Trigger, diff_last_lines, duration_text, exit_text, is_job, is_one_shot, summary,
};
use crate::stack::Stack;

/// Runs kept per service; older ones are dropped when a new one is recorded.
pub const MAX_RUNS: usize = 100;
/// Log lines kept per run: the last ones, where a job says how it ended.
pub const MAX_LINES: usize = 1000;
/// A longer line is cut here (a run's file stays bounded by lines × this).
pub const MAX_LINE_CHARS: usize = 2000;

/// The bounded tail of a run's output while it runs.
#[derive(Debug, Clone, Default)]
pub struct LineTail {
    /// (daemon timestamp, text): a container's stdout and stderr reach us as two
    /// streams, and the timestamps restore the order it wrote them in.
    lines: VecDeque<(i64, String)>,
    dropped: u64,
    latest: i64,
}

impl LineTail {
    /// A line of our own (after the run's last line).
    pub fn push(&mut self, text: &str) {
        self.push_at(self.latest, text);
    }

    fn push_at(&mut self, ts: i64, text: &str) {
        self.latest = self.latest.max(ts);
        let text = match text.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_string(),
        };
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back((ts, text));
    }

    pub fn push_line(&mut self, line: &LogLine) {
        self.push_at(line.ts_nanos, &line.text);
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The lines kept, in the order they were written, and how many were dropped
    /// before them.
    pub fn finish(self) -> (Vec<String>, u64) {
        let mut lines: Vec<(i64, String)> = self.lines.into();
        // Stable: lines of one timestamp keep their arrival order.
        lines.sort_by_key(|(ts, _)| *ts);
        (lines.into_iter().map(|(_, t)| t).collect(), self.dropped)
    }
}

/// `$XDG_STATE_HOME/devstack/<project>/runs`, else `~/.local/state/devstack/<project>/runs`.
pub fn history_dir(project: &str, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let base = env("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".devstack-state"));
    base.join("devstack").join(file_safe(project)).join("runs")
}

/// Project and service names are Compose names (letters, digits, `-`, `_`, `.`), but a
/// file name must never climb out of the directory whatever they hold.
fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    }
}

/// The run history of one project on disk.
#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
}

/// A history file that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("run history '{}': {source}", .path.display())]
pub struct HistoryError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl From<HistoryError> for Error {
    fn from(e: HistoryError) -> Self {
        Error::Usage(e.to_string())
    }
}

impl History {
    pub fn at(dir: impl Into<PathBuf>) -> History {
        History { dir: dir.into() }
    }

    /// The history of `project` in the user's state directory (from the process
    /// environment).
    pub fn for_project(project: &str) -> History {
        History::at(history_dir(project, &|k| std::env::var(k).ok()))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, service: &str) -> PathBuf {
        self.dir.join(format!("{}.jsonl", file_safe(service)))
    }

    /// Appends a run; when the service has [`MAX_RUNS`] already, the oldest go (the
    /// file is rewritten through a temporary file and a rename, never left half-written).
    pub fn record(&self, run: &Run) -> Result<(), HistoryError> {
        let path = self.file(&run.service);
        let err = |source| HistoryError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let mut line = serde_json::to_string(run).map_err(|e| err(std::io::Error::other(e)))?;
        line.push('\n');
        let (existing, torn) = self.read(&run.service)?;
        if existing.len() < MAX_RUNS {
            if torn {
                // A write cut short by a crash left no newline: start on a fresh line.
                line.insert(0, '\n');
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(err)?;
            // One write of the whole line: appends of concurrent recorders interleave
            // by line, not inside one.
            return f.write_all(line.as_bytes()).map_err(err);
        }
        let keep = &existing[existing.len() + 1 - MAX_RUNS..];
        let mut text = String::new();
        for r in keep {
            text.push_str(&serde_json::to_string(r).map_err(|e| err(std::io::Error::other(e)))?);
            text.push('\n');
        }
        text.push_str(&line);
        let tmp = path.with_extension(format!("jsonl.tmp{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// The runs of `service`, oldest first. A line that does not parse (a write cut
    /// short by a crash) is skipped: the rest of the history stays readable.
    pub fn load(&self, service: &str) -> Result<Vec<Run>, HistoryError> {
        self.read(service).map(|(runs, _)| runs)
    }

    /// The runs, and whether the file ends without its last newline.
    fn read(&self, service: &str) -> Result<(Vec<Run>, bool), HistoryError> {
        let path = self.file(service);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
            Err(source) => return Err(HistoryError { path, source }),
        };
        let runs = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Run>(l).ok())
            .collect();
        Ok((runs, !text.is_empty() && !text.ends_with('\n')))
    }

    /// The runs of `services`, each oldest first, in the order given.
    pub fn load_all(&self, services: &[ServiceName]) -> Result<Vec<Run>, HistoryError> {
        let mut all = Vec::new();
        for s in services {
            all.extend(self.load(s.as_str())?);
        }
        Ok(all)
    }
}

/// The local time zone's offset now.
pub fn local_offset() -> chrono::FixedOffset {
    *chrono::Local::now().offset()
}

/// The table `devstack runs` prints: one line per run, newest last.
pub fn table(runs: &[Run], offset: chrono::FixedOffset) -> String {
    let width = runs
        .iter()
        .map(|r| r.service.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<width$}  {:<19}  {:>10}  {:<7}  {:<7}  LINES\n",
        "SERVICE", "STARTED", "DURATION", "EXIT", "TRIGGER"
    );
    for r in runs {
        let started = chrono::DateTime::from_timestamp_millis(r.started_ms)
            .map(|t| {
                t.with_timezone(&offset)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "?".into());
        let exit = r
            .exit_code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into());
        out.push_str(&format!(
            "{:<width$}  {started:<19}  {:>10}  {exit:<7}  {:<7}  {}\n",
            r.service,
            duration_text(r.duration_ms),
            r.trigger.as_str(),
            r.lines.len() as u64 + r.dropped_lines
        ));
    }
    out
}

/// The services `service` depends on, directly or through others (not itself).
pub fn dependencies(stack: &Stack, service: &ServiceName) -> Vec<ServiceName> {
    let mut seen: Vec<ServiceName> = Vec::new();
    let mut todo = vec![service.clone()];
    while let Some(s) = todo.pop() {
        let Some(svc) = stack.services.get(&s) else {
            continue;
        };
        for d in svc.depends_on.keys() {
            if d != service && !seen.contains(d) && stack.services.contains_key(d) {
                seen.push(d.clone());
                todo.push(d.clone());
            }
        }
    }
    seen.sort();
    seen
}

/// Brings up what `service` depends on, as `up` would (services not involved are left
/// alone, a one-shot that completed is not re-run), and builds its image when it has
/// `build:` and no image yet. Returns once every dependency is started; the gates are
/// waited for by the caller.
async fn prepare(
    engine: &Engine,
    stack: &Stack,
    service: &ServiceName,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<(), Error> {
    if let Some(svc) = stack.services.get(service)
        && svc.build.is_some()
        && engine.image_id_of(&svc.image).await?.is_none()
    {
        engine.build_image(stack, service, events).await?;
    }
    let deps = dependencies(stack, service);
    // Only the dependencies: the job itself runs once, in its own container.
    let mut sub = stack.clone();
    sub.services.retain(|name, _| deps.contains(name));
    let options = PlanOptions {
        keep_orphans: true,
        ..PlanOptions::default()
    };
    let observed = engine.observe(&sub).await?;
    let mut plan = crate::plan::diff(&sub, &observed, options);
    // In the whole stack something (maybe only the job) waits for these to complete:
    // one that did with 0 stays as it is, as `up` leaves it.
    for sp in &mut plan.services {
        if let crate::plan::Change::Start { id } = &sp.change
            && is_one_shot(stack, &sp.service)
            && observed
                .containers
                .iter()
                .any(|c| &c.id == id && c.exit_code == Some(0))
        {
            let id = id.clone();
            sp.change = crate::plan::Change::Keep { id };
        }
    }
    if plan.is_noop() {
        return Ok(());
    }
    engine.check_ports(&sub, &observed).await?;
    engine.apply(&sub, &plan, events.clone()).await?;
    Ok(())
}

/// Runs `service` once now, as `devstack run` does: its dependencies brought up and
/// ready as `up` would (services not involved are left alone), its gates met, then a
/// one-off container (`args` replace its command), its output sent to `output` as it
/// comes, removed when it exits. The run is recorded in `history`; the result is the
/// recorded run (its exit code is the job's).
#[allow(clippy::too_many_arguments)]
pub async fn run_job(
    engine: &Engine,
    stack: &Stack,
    service: &ServiceName,
    args: &[String],
    trigger: Trigger,
    timeout: Duration,
    events: mpsc::Sender<EngineEvent>,
    output: mpsc::Sender<LogLine>,
    history: &History,
) -> Result<Run, Error> {
    prepare(engine, stack, service, &events).await?;
    let gates = engine.wait_gates_of(stack, service, timeout, &events);
    match tokio::time::timeout(timeout, gates).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(Error::Usage(format!(
                "the dependencies of '{service}' were not ready after {} s; see 'devstack ps' and 'devstack logs'",
                timeout.as_secs()
            )));
        }
    }

    let started = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let one_off = engine.start_one_off(stack, service, args).await?;
    let mut tail = LineTail::default();
    let log_options = LogOptions {
        follow: true,
        tail: None,
        since_nanos: None,
    };
    let mut lines = Box::pin(engine.follow_logs(service, &one_off.id.0, log_options));
    let mut log_error = None;
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => {
                tail.push_line(&line);
                // A receiver that went away (the UI closed) does not stop the run.
                let _ = output.send(line).await;
            }
            Err(e) => {
                log_error = Some(e);
                break;
            }
        }
    }
    let exit = engine.wait_exit(&one_off.id).await;
    let duration = clock.elapsed();
    let removed = engine.remove_one_off(&one_off.id).await;
    if let Some(e) = log_error {
        tail.push(&format!("(devstack: the log stream broke: {e})"));
    }
    let (kept, dropped) = tail.finish();
    let run = Run {
        service: service.to_string(),
        started_ms: started.timestamp_millis(),
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        exit_code: exit.as_ref().ok().copied(),
        trigger,
        lines: kept,
        dropped_lines: dropped,
    };
    history.record(&run)?;
    exit?;
    removed?;
    Ok(run)
}

/// Decides which exits of job containers the UI sees are runs to record, and what
/// started each: a key (`r`, `s`, rerun) when one was pressed for the service since its
/// last run, else `up` for its first run in this session, else a save (with restart
/// `no`, nothing but devstack starts a job again). Pure.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Unix seconds: a run that started before (a job `up` left finished) is history
    /// already, not a run of this session.
    since: i64,
    seen: BTreeSet<(ContainerId, i64)>,
    keyed: BTreeSet<ServiceName>,
    ran: BTreeSet<ServiceName>,
}

impl Recorder {
    pub fn new(since_unix: i64) -> Recorder {
        Recorder {
            since: since_unix,
            ..Recorder::default()
        }
    }

    /// A key asked to (re)start `service`.
    pub fn key_pressed(&mut self, service: &ServiceName) {
        self.keyed.insert(service.clone());
    }

    /// A container's new state: the trigger when this is the end of a job's run not
    /// recorded yet.
    pub fn on_container(&mut self, stack: &Stack, info: &ContainerInfo) -> Option<Trigger> {
        if !matches!(info.state, ContainerState::Exited | ContainerState::Dead)
            || !is_job(stack, &info.service)
        {
            return None;
        }
        let started = info.started_at.filter(|s| *s >= self.since)?;
        if !self.seen.insert((info.id.clone(), started)) {
            return None;
        }
        Some(if self.keyed.remove(&info.service) {
            Trigger::Key
        } else if self.ran.insert(info.service.clone()) {
            Trigger::Up
        } else {
            Trigger::Save
        })
    }
}

/// Records the run of a job container that has just exited: its start and end from the
/// daemon, its last lines from the daemon's log of this run.
pub async fn record_exit(
    engine: &Engine,
    history: &History,
    info: &ContainerInfo,
    trigger: Trigger,
) -> Result<Run, Error> {
    let (started, finished) = engine.run_times(&info.id).await?;
    let started = started.unwrap_or_else(|| info.started_at.unwrap_or_default() * 1_000_000_000);
    let since = log_since(
        started,
        &history.load(info.service.as_str()).unwrap_or_default(),
    );
    let mut tail = LineTail::default();
    // The daemon reports the exit before its log copier has always written the last
    // output to the container's log: an empty read is tried again a few times.
    for attempt in 0..5u64 {
        let options = LogOptions {
            follow: false,
            tail: Some(MAX_LINES),
            since_nanos: Some(since),
        };
        let mut lines = Box::pin(engine.follow_logs(&info.service, &info.id.0, options));
        while let Some(line) = lines.next().await {
            tail.push_line(&line?);
        }
        if !tail.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
    }
    let (kept, dropped) = tail.finish();
    let duration_ns = finished.map(|f| f - started).unwrap_or_default().max(0);
    let run = Run {
        service: info.service.to_string(),
        started_ms: started / 1_000_000,
        duration_ms: u64::try_from(duration_ns / 1_000_000).unwrap_or_default(),
        exit_code: info.exit_code,
        trigger,
        lines: kept,
        dropped_lines: dropped,
    };
    history.record(&run)?;
    Ok(run)
}

/// Where a run's own log lines begin (ns since the epoch). The daemon stamps `StartedAt`
/// after the process has begun, and its log copier stamps a line when it reads it: under
/// load a job's first lines carry an earlier time than `StartedAt`, and reading from
/// `started` dropped them (a recorded run with no output). So read from a second before,
/// but never into the service's previous recorded run, whose lines are its own.
fn log_since(started_ns: i64, previous: &[Run]) -> i64 {
    const MARGIN_NS: i64 = 1_000_000_000;
    let previous_end = previous
        .iter()
        .map(|r| {
            let duration = i64::try_from(r.duration_ms).unwrap_or(i64::MAX / 2);
            r.started_ms
                .saturating_add(duration)
                .saturating_mul(1_000_000)
        })
        .filter(|end| *end < started_ns)
        .max();
    let earliest = started_ns.saturating_sub(MARGIN_NS);
    previous_end.map_or(earliest, |end| earliest.max(end + 1))
}

/// Records the run of a finished job container unless the history has it already (its
/// start to the second): `up`, the UI and a later `up` may all see one exit.
pub async fn record_if_new(
    engine: &Engine,
    history: &History,
    info: &ContainerInfo,
    trigger: Trigger,
) -> Result<Option<Run>, Error> {
    // The daemon's container list carries no start time: ask for it.
    let started = match info.started_at {
        Some(s) => s,
        None => match engine.run_times(&info.id).await?.0 {
            Some(nanos) => nanos.div_euclid(1_000_000_000),
            None => return Ok(None),
        },
    };
    let known = history.load(info.service.as_str())?;
    if known
        .iter()
        .any(|r| r.started_ms.div_euclid(1000) == started)
    {
        return Ok(None);
    }
    record_exit(engine, history, info, trigger).await.map(Some)
}

/// After `up` (with `-d`, or without the UI): the runs of job containers that have
/// finished and are not in the history yet, recorded with trigger `up`.
pub async fn record_finished_jobs(
    engine: &Engine,
    stack: &Stack,
    history: &History,
) -> Result<Vec<Run>, Error> {
    let observed = engine.observe(stack).await?;
    let mut out = Vec::new();
    for info in &observed.containers {
        if matches!(info.state, ContainerState::Exited | ContainerState::Dead)
            && is_job(stack, &info.service)
            && let Some(run) = record_if_new(engine, history, info, Trigger::Up).await?
        {
            out.push(run);
        }
    }
    Ok(out)
}

/// While `up` without the UI follows the logs: each job run that ends is recorded, as the
/// UI records them (trigger `up` for a job's first run, `save` after). Ends with the
/// daemon's event feed. `since_unix`: when `up` began (a job it started may end now).
pub async fn record_while_following(
    engine: Engine,
    stack: std::sync::Arc<Stack>,
    history: History,
    since_unix: i64,
) {
    let (tx, mut rx) = mpsc::channel(256);
    let feed = engine.follow_events(&stack.project, tx);
    let mut recorder = Recorder::new(since_unix);
    while let Some(event) = rx.recv().await {
        if let EngineEvent::Container(info) = event
            && let Some(trigger) = recorder.on_container(&stack, &info)
        {
            // A run not recorded is not a reason to stop following the logs.
            let _ = record_if_new(&engine, &history, &info, trigger).await;
        }
    }
    feed.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(service: &str, started_ms: i64, exit: Option<i64>, lines: &[&str]) -> Run {
        Run {
            service: service.into(),
            started_ms,
            duration_ms: 3100,
            exit_code: exit,
            trigger: Trigger::Run,
            lines: lines.iter().map(|s| s.to_string()).collect(),
            dropped_lines: 0,
        }
    }

    #[test]
    fn a_runs_log_is_read_from_a_second_before_its_start_but_never_into_the_run_before() {
        let started = 1_700_000_000_000 * 1_000_000;
        // No run before: a second of margin for lines stamped before StartedAt.
        assert_eq!(log_since(started, &[]), started - 1_000_000_000);
        // The previous run ended 200 ms before this start (3.1 s long): not a line of it.
        let before = run("etl", 1_700_000_000_000 - 3300, Some(0), &[]);
        assert_eq!(log_since(started, &[before]), started - 200_000_000 + 1);
        // One long ago changes nothing; a later one (this run, recorded) is ignored.
        let old = run("etl", 1_600_000_000_000, Some(0), &[]);
        let this = run("etl", 1_700_000_000_000, Some(0), &[]);
        assert_eq!(log_since(started, &[old, this]), started - 1_000_000_000);
    }

    #[test]
    fn history_dir_follows_xdg_state_home() {
        let env = |k: &str| match k {
            "XDG_STATE_HOME" => Some("/s".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            history_dir("demo", &env),
            PathBuf::from("/s/devstack/demo/runs")
        );
        let env = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            history_dir("demo", &env),
            PathBuf::from("/home/u/.local/state/devstack/demo/runs")
        );
        let env = |k: &str| (k == "XDG_STATE_HOME").then(|| "/s".to_string());
        assert_eq!(
            history_dir("../x", &env),
            PathBuf::from("/s/devstack/_.._x/runs")
        );
    }

    #[test]
    fn history_format_is_one_json_line_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::at(dir.path());
        h.record(&run("etl", 1_000, Some(0), &["a", "b"])).unwrap();
        h.record(&run("etl", 2_000, Some(3), &["a", "c"])).unwrap();
        let text = std::fs::read_to_string(dir.path().join("etl.jsonl")).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            r#"{"service":"etl","started_ms":1000,"duration_ms":3100,"exit_code":0,"trigger":"run","lines":["a","b"],"dropped_lines":0}"#
        );
        let loaded = h.load("etl").unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[1].exit_code, Some(3));
        assert!(h.load("other").unwrap().is_empty());
    }

    #[test]
    fn a_torn_line_does_not_lose_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::at(dir.path());
        h.record(&run("etl", 1_000, Some(0), &["a"])).unwrap();
        let path = dir.path().join("etl.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"service\":\"etl\",\"sta");
        std::fs::write(&path, text).unwrap();
        assert_eq!(h.load("etl").unwrap().len(), 1);
        // The next run starts on a line of its own, not glued to the torn one.
        h.record(&run("etl", 2_000, Some(0), &["b"])).unwrap();
        let runs = h.load("etl").unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].lines, vec!["b"]);
    }

    #[test]
    fn history_keeps_the_newest_runs_per_service() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::at(dir.path());
        for i in 0..(MAX_RUNS as i64 + 5) {
            h.record(&run("etl", i, Some(0), &[])).unwrap();
        }
        let runs = h.load("etl").unwrap();
        assert_eq!(runs.len(), MAX_RUNS);
        assert_eq!(runs[0].started_ms, 5);
        assert_eq!(runs[MAX_RUNS - 1].started_ms, MAX_RUNS as i64 + 4);
    }

    #[test]
    fn a_run_keeps_its_last_lines_each_cut() {
        let mut tail = LineTail::default();
        for i in 0..(MAX_LINES + 3) {
            tail.push(&format!("line {i}"));
        }
        tail.push(&"x".repeat(MAX_LINE_CHARS + 10));
        let (lines, dropped) = tail.finish();
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(dropped, 4);
        assert_eq!(lines[0], "line 4");
        assert_eq!(lines.last().unwrap().chars().count(), MAX_LINE_CHARS + 1);
    }

    #[test]
    fn a_runs_lines_keep_the_order_they_were_written_across_streams() {
        let line = |ts: i64, text: &str| LogLine {
            service: ServiceName::new("etl"),
            ts_nanos: ts,
            stream: crate::model::Stream::Stdout,
            text: text.into(),
        };
        let mut tail = LineTail::default();
        tail.push_line(&line(30, "oops"));
        tail.push_line(&line(10, "prepared"));
        tail.push_line(&line(20, "rows-loaded"));
        tail.push("(note)");
        let (lines, _) = tail.finish();
        assert_eq!(lines, vec!["prepared", "rows-loaded", "oops", "(note)"]);
    }

    fn exited(service: &str, id: &str, started_at: i64) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId(id.into()),
            name: format!("p-{service}-1"),
            service: ServiceName::new(service),
            image: "img".into(),
            image_id: "sha256:1".into(),
            config_hash: Some("h".into()),
            state: ContainerState::Exited,
            health: crate::model::Health::None,
            exit_code: Some(0),
            ports: Vec::new(),
            labels: Default::default(),
            created: 0,
            started_at: Some(started_at),
            restart_count: 0,
        }
    }

    #[test]
    fn recorder_names_what_started_each_run_once() {
        let opts = crate::stack::LoadOptions {
            cwd: "/".into(),
            ..Default::default()
        };
        let stack = crate::stack::load_str(
            "services:\n  etl:\n    image: x\n  web:\n    image: x\n    restart: always\n",
            Path::new("/p/devstack.yaml"),
            &opts,
        )
        .unwrap();
        let mut r = Recorder::new(100);
        // Finished before this session: not a run of it.
        assert_eq!(r.on_container(&stack, &exited("etl", "a", 50)), None);
        assert_eq!(
            r.on_container(&stack, &exited("etl", "a", 100)),
            Some(Trigger::Up)
        );
        // The same exit reported again (die, then the inspect) is one run.
        assert_eq!(r.on_container(&stack, &exited("etl", "a", 100)), None);
        assert_eq!(
            r.on_container(&stack, &exited("etl", "a", 120)),
            Some(Trigger::Save)
        );
        r.key_pressed(&ServiceName::new("etl"));
        assert_eq!(
            r.on_container(&stack, &exited("etl", "b", 130)),
            Some(Trigger::Key)
        );
        // Not a job: restart 'always'.
        assert_eq!(r.on_container(&stack, &exited("web", "c", 130)), None);
        let mut running = exited("etl", "d", 140);
        running.state = ContainerState::Running;
        assert_eq!(r.on_container(&stack, &running), None);
    }
}
