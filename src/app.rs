//! The TUI's app loop: owns the one [`AppState`], turns the engine's feeds and the
//! terminal's input into `tui::Event`s, performs the `tui::Command`s that `update`
//! returns, and draws when the state is dirty.
//!
//! Docker work runs in tokio tasks that report over bounded channels; the loop itself
//! never awaits the daemon, so a key shows within a frame even under a log flood.
//! The terminal is only touched in [`run`]; [`App`] works without one (tests drive it).

mod airflow;
mod safety;
mod stats;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{Engine, ExecRequest, LogOptions};
use crate::logs::StoreConfig;
use crate::model::{
    ContainerId, ContainerInfo, ContainerState, EngineEvent, LogLine, NoticeLevel, ServiceName,
};
use crate::ops::endpoints::{self, Endpoint};
use crate::ops::lifecycle::{self, Lifecycle};
use crate::ops::session::{console_for_database, running_container};
use crate::ops::{self, bring_up, live, reset};
use crate::plan::PlanOptions;
use crate::stack::Stack;
use crate::tui::terminal::{Signals, TerminalGuard};
use crate::tui::{self, AppState, Command, EndpointKind, EndpointRow, Event};

pub use stats::{Counters, StatsFile};

/// Redraws are coalesced to at most this often (~60 frames/s).
const FRAME: Duration = Duration::from_millis(16);
/// When only log lines arrived: ~30 frames/s. A flood scrolls past faster than anyone
/// reads either way, and each frame of it repaints the whole logs pane (through the
/// terminal emulator too, on the same cores); a key still shows within [`FRAME`].
const LOG_FRAME: Duration = Duration::from_millis(33);
/// Log batches waiting for the loop; the followers wait when it is full, so memory is
/// bounded by this times the batch size, never by the flood.
const LOG_QUEUE: usize = 64;
const LOG_BATCH: usize = 4096;
/// Log lines taken from the queue between two looks at the terminal's input.
const DRAIN_LINES: usize = 2 * LOG_BATCH;

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub log_lines: usize,
    /// Bring the stack up first (`devstack up`), with these options and wait timeout.
    pub up: Option<(PlanOptions, Duration)>,
    /// Run the services' watch rules (sync, restart, rebuild on save) once the stack is up.
    pub watch: bool,
    /// `--stats-file`: append the loop's [`Counters`] here once a second.
    pub stats_file: Option<PathBuf>,
    /// The command line that names this stack (`devstack -p h1`), for the hints the UI
    /// and its quit message give.
    pub cli: String,
}

/// What the user left the UI with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Quit {
        stopped: bool,
        /// The `up` this UI ran failed (the process exits non-zero).
        up_failed: bool,
    },
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT.
    Signalled(crate::tui::terminal::Signal),
}

/// A terminal-side effect the loop around [`App`] must carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handoff {
    Exec {
        service: ServiceName,
        request: ExecRequest,
        /// A command (`X`), not a shell: keep its output on screen until a key.
        hold: bool,
    },
    Quit {
        stopped: bool,
    },
}

struct Follower {
    container: ContainerId,
    task: JoinHandle<()>,
}

/// The stack's endpoints as `up --detach` prints them, for the TUI's `e` overlay (the
/// `tui` module knows nothing of stacks' conventions, so they are worded here).
fn endpoint_rows(stack: &Stack) -> Vec<EndpointRow> {
    let found = endpoints::endpoints(stack);
    endpoints::rows(&found, &ops::describe_path)
        .into_iter()
        .zip(&found)
        .map(|(r, e)| EndpointRow {
            kind: match e {
                Endpoint::Web { .. } => EndpointKind::Web,
                Endpoint::Database { .. } => EndpointKind::Database,
                Endpoint::Code { .. } => EndpointKind::Code,
            },
            title: r.title,
            value: r.value,
            note: r.note,
        })
        .collect()
}

/// The state and its feeds, without a terminal.
pub struct App {
    pub state: AppState,
    engine: Engine,
    stack: Arc<Stack>,
    engine_tx: mpsc::Sender<EngineEvent>,
    engine_rx: mpsc::Receiver<EngineEvent>,
    logs_tx: mpsc::Sender<Vec<LogLine>>,
    logs_rx: mpsc::Receiver<Vec<LogLine>>,
    airflow_tx: mpsc::Sender<crate::tui::airflow::AirflowAnswer>,
    airflow_rx: mpsc::Receiver<crate::tui::airflow::AirflowAnswer>,
    doctor_tx: mpsc::Sender<crate::tui::doctor::DoctorAnswer>,
    doctor_rx: mpsc::Receiver<crate::tui::doctor::DoctorAnswer>,
    followers: HashMap<ServiceName, Follower>,
    background: Vec<JoinHandle<()>>,
    log_lines: usize,
    /// Set while `Quit { stop_stack: true }` stops the stack.
    stopping: Option<JoinHandle<()>>,
    pub counters: Counters,
    stats_file: Option<StatsFile>,
    /// Every engine event passes through it before the state sees it: notices, progress
    /// and health output can quote the daemon's words about values from the file.
    masker: crate::mask::Masker,
    /// Which job exits are runs to record, and what started them.
    recorder: ops::runs::Recorder,
    run_history: ops::runs::History,
    /// Job summaries after a run was recorded, from the recording tasks.
    runs_tx: mpsc::Sender<(ServiceName, String)>,
    runs_rx: mpsc::Receiver<(ServiceName, String)>,
    /// A job's whole history for the Runs view: asked for, or after a run was recorded.
    history_tx: mpsc::Sender<(ServiceName, Result<Vec<ops::runs::Run>, String>)>,
    history_rx: mpsc::Receiver<(ServiceName, Result<Vec<ops::runs::Run>, String>)>,
    /// DAG files saved under the Airflow services' dags folders; the view acts on them
    /// only while shown.
    dags_rx: mpsc::Receiver<Vec<std::path::PathBuf>>,
    _dags_watch: Option<crate::watch::WatchHandle>,
}

impl Drop for App {
    fn drop(&mut self) {
        for f in self.followers.values() {
            f.task.abort();
        }
        for t in &self.background {
            t.abort();
        }
    }
}

impl App {
    /// Starts the feeds (daemon events, then one log follower per container as they are
    /// reported) and, with `config.up`, the convergence of the stack.
    pub fn start(engine: Engine, stack: Stack, config: &AppConfig) -> Self {
        let mut state = AppState::from_stack(
            &stack,
            StoreConfig::with_lines(config.log_lines),
            env!("CARGO_PKG_VERSION"),
        );
        state.utc_offset_secs = chrono::Local::now().offset().local_minus_utc();
        state.endpoints = endpoint_rows(&stack);
        state.cli = config.cli.clone();
        if config.up.is_some() {
            state.up = tui::UpState::Running;
        }
        let masker = crate::mask::Masker::for_stack(&stack);
        for row in &mut state.services {
            row.image = masker.text(&row.image);
        }
        let (engine_tx, engine_rx) = mpsc::channel(1024);
        let (logs_tx, logs_rx) = mpsc::channel(LOG_QUEUE);
        let run_history = ops::runs::History::for_project(stack.project.as_str());
        let (runs_tx, runs_rx) = mpsc::channel(64);
        let (history_tx, history_rx) = mpsc::channel(16);
        let (airflow_tx, airflow_rx) = mpsc::channel(16);
        let (doctor_tx, doctor_rx) = mpsc::channel(4);
        let (dags_tx, dags_rx) = mpsc::channel(4);
        let dags_folders = crate::airflow::roles::dags_folders(&stack);
        let dags_watch = if dags_folders.is_empty() {
            None
        } else {
            // A save's burst (temp file, rename) is one event.
            let quiet = std::time::Duration::from_millis(300);
            match crate::watch::spawn_folders(dags_folders, "py", quiet, dags_tx) {
                Ok(w) => Some(w),
                Err(e) => {
                    state.notify(
                        crate::model::NoticeLevel::Info,
                        format!(
                            "{e}: the Airflow view refreshes every {} s instead of after each save",
                            tui::airflow::REFRESH_SECS
                        ),
                    );
                    None
                }
            }
        };
        let stack = Arc::new(stack);
        let mut background = vec![engine.follow_events(&stack.project, engine_tx.clone())];
        background.push(tokio::spawn(up_then_watch(
            engine.clone(),
            Arc::clone(&stack),
            config.up,
            config.watch,
            engine_tx.clone(),
        )));
        background.push(tokio::spawn(safety::keep_analysing(
            Arc::clone(&stack),
            doctor_tx.clone(),
        )));
        let mut app = Self {
            state,
            engine,
            stack,
            engine_tx,
            engine_rx,
            logs_tx,
            logs_rx,
            airflow_tx,
            airflow_rx,
            doctor_tx,
            doctor_rx,
            followers: HashMap::new(),
            background,
            log_lines: config.log_lines,
            stopping: None,
            counters: Counters::default(),
            stats_file: None,
            masker,
            recorder: ops::runs::Recorder::new(chrono::Utc::now().timestamp()),
            run_history,
            runs_tx,
            runs_rx,
            history_tx,
            history_rx,
            dags_rx,
            _dags_watch: dags_watch,
        };
        app.show_run_history();
        app.handle(Event::Tick {
            now_unix: chrono::Utc::now().timestamp(),
        });
        app
    }

    /// The next event from the engine or the log followers (not the terminal).
    pub async fn next_event(&mut self) -> Option<Event> {
        tokio::select! {
            biased;
            // Engine events first: they are few and change what the logs mean.
            Some(e) = self.engine_rx.recv() => Some(Event::Engine(e)),
            Some(batch) = self.logs_rx.recv() => Some(Event::Logs(batch)),
            Some((service, text)) = self.runs_rx.recv() => Some(Event::RunSummary { service, text }),
            Some(a) = self.airflow_rx.recv() => Some(Event::Airflow(a)),
            Some((service, result)) = self.history_rx.recv() => Some(Event::RunHistory { service, result }),
            Some(d) = self.doctor_rx.recv() => Some(Event::Doctor(d)),
            Some(files) = self.dags_rx.recv() => Some(self.dags_saved(files)),
            else => None,
        }
    }

    /// What is already queued, without waiting: the loop draws once per drain. At most
    /// `limit` events and about `max_lines` log lines, so that under a flood the loop
    /// returns to the terminal's input (and draws) every few milliseconds instead of
    /// emptying a queue that refills as fast as it drains.
    pub fn ready_events(&mut self, limit: usize, max_lines: usize) -> Vec<Event> {
        let mut out = Vec::new();
        let mut lines = 0;
        while out.len() < limit {
            if let Ok(e) = self.engine_rx.try_recv() {
                out.push(Event::Engine(e));
            } else if lines >= max_lines {
                break;
            } else if let Ok(batch) = self.logs_rx.try_recv() {
                lines += batch.len();
                out.push(Event::Logs(batch));
            } else if let Ok((service, text)) = self.runs_rx.try_recv() {
                out.push(Event::RunSummary { service, text });
            } else if let Ok(a) = self.airflow_rx.try_recv() {
                out.push(Event::Airflow(a));
            } else if let Ok((service, result)) = self.history_rx.try_recv() {
                out.push(Event::RunHistory { service, result });
            } else if let Ok(d) = self.doctor_rx.try_recv() {
                out.push(Event::Doctor(d));
            } else if let Ok(files) = self.dags_rx.try_recv() {
                out.push(self.dags_saved(files));
            } else {
                break;
            }
        }
        out
    }

    /// Saved DAG files as the user names them (relative to the stack's folder), now.
    fn dags_saved(&self, files: Vec<std::path::PathBuf>) -> Event {
        let files = files
            .iter()
            .map(|f| {
                f.strip_prefix(&self.stack.dir)
                    .unwrap_or(f)
                    .display()
                    .to_string()
            })
            .collect();
        Event::DagsSaved {
            files,
            at: chrono::Utc::now().timestamp(),
        }
    }

    /// Feeds one event to `update` and performs what it asks; terminal hand-offs are
    /// returned for the caller.
    pub fn handle(&mut self, event: Event) -> Vec<Handoff> {
        let event = match event {
            Event::Engine(e) => Event::Engine(self.masker.event(e)),
            Event::ExecFinished { service, result } => Event::ExecFinished {
                service,
                result: result.map_err(|e| self.masker.text(&e)),
            },
            other => other,
        };
        if let Event::Logs(batch) = &event {
            self.counters.lines_ingested += batch.len() as u64;
        }
        if let Event::Engine(EngineEvent::Container(info)) = &event {
            self.follow_container(&info.service, &info.id, info.state);
            if let Some(trigger) = self.recorder.on_container(&self.stack, info) {
                self.record_run(info.clone(), trigger);
            }
        }
        let commands = tui::update(&mut self.state, event);
        commands
            .into_iter()
            .filter_map(|c| self.perform(c))
            .collect()
    }

    /// One log follower per service, on its current container; a new container (a
    /// recreate) or a restart after the stream ended gets a new follower that resumes
    /// after the last line seen, so nothing is shown twice.
    fn follow_container(&mut self, service: &ServiceName, id: &ContainerId, state: ContainerState) {
        let current = self.followers.get(service);
        let same = current.is_some_and(|f| &f.container == id);
        let alive = current.is_some_and(|f| !f.task.is_finished());
        if same && (alive || state != ContainerState::Running) {
            return;
        }
        let since = self.state.logs.store.last_ts(service);
        self.spawn_follower(service.clone(), id.clone(), since);
    }

    fn spawn_follower(&mut self, service: ServiceName, container: ContainerId, since: Option<i64>) {
        if let Some(old) = self.followers.remove(&service) {
            old.task.abort();
        }
        let options = LogOptions {
            follow: true,
            tail: if since.is_some() {
                None
            } else {
                Some(self.log_lines)
            },
            since_nanos: since,
        };
        let stream = self.engine.follow_logs(&service, &container.0, options);
        let (logs, events) = (self.logs_tx.clone(), self.engine_tx.clone());
        let name = service.clone();
        let task = tokio::spawn(async move {
            let mut chunks = std::pin::pin!(stream.ready_chunks(LOG_BATCH));
            while let Some(chunk) = chunks.next().await {
                let mut batch = Vec::with_capacity(chunk.len());
                let mut failure = None;
                for item in chunk {
                    match item {
                        Ok(line) => batch.push(line),
                        Err(e) => failure = Some(e),
                    }
                }
                if !batch.is_empty() && logs.send(batch).await.is_err() {
                    return;
                }
                if let Some(e) = failure {
                    // A lost daemon is reported by the event feed, which resumes the logs.
                    if !e.is_connection() {
                        let _ = events
                            .send(EngineEvent::Notice {
                                level: NoticeLevel::Warning,
                                message: format!("logs of '{name}': {e}"),
                            })
                            .await;
                    }
                    return;
                }
            }
        });
        self.followers.insert(service, Follower { container, task });
    }

    fn notify_on_error<F>(&mut self, what: String, work: F)
    where
        F: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let tx = self.engine_tx.clone();
        self.background.retain(|t| !t.is_finished());
        self.background.push(tokio::spawn(async move {
            if let Err(e) = work.await {
                let _ = tx
                    .send(EngineEvent::Notice {
                        level: NoticeLevel::Error,
                        message: format!("{what}: {e}"),
                    })
                    .await;
            }
        }));
    }

    fn perform(&mut self, command: Command) -> Option<Handoff> {
        match command {
            Command::Restart(s) => {
                self.recorder.key_pressed(&s);
                self.lifecycle(s, Lifecycle::Restart)
            }
            Command::Stop(s) => self.lifecycle(s, Lifecycle::Stop),
            Command::Start(s) => {
                self.recorder.key_pressed(&s);
                self.lifecycle(s, Lifecycle::Start)
            }
            Command::Exec { service, command } => {
                let hold = command.is_some();
                let request = ExecRequest {
                    cmd: command
                        .map(|c| vec!["sh".to_string(), "-c".to_string(), c])
                        .unwrap_or_default(),
                    tty: true,
                    stdin: true,
                    ..ExecRequest::default()
                };
                return Some(Handoff::Exec {
                    service,
                    request,
                    hold,
                });
            }
            Command::DbConsoleOn { service, database } => {
                return self.db_console(service, Some(&database));
            }
            Command::DbConsole(service) => return self.db_console(service, None),
            Command::Reset { volumes } => self.reset_volumes(volumes),
            Command::Airflow(request) => {
                let task = airflow::perform(
                    self.engine.clone(),
                    Arc::clone(&self.stack),
                    request,
                    self.airflow_tx.clone(),
                );
                self.background.retain(|t| !t.is_finished());
                self.background.push(tokio::spawn(task));
            }
            Command::DoctorInspect => {
                let task = safety::inspect(
                    self.engine.clone(),
                    Arc::clone(&self.stack),
                    self.doctor_tx.clone(),
                );
                self.background.retain(|t| !t.is_finished());
                self.background.push(tokio::spawn(task));
            }
            Command::Snapshot {
                volumes,
                then_reset,
            } => {
                let task = safety::snapshot(
                    self.engine.clone(),
                    Arc::clone(&self.stack),
                    self.state.cli.clone(),
                    volumes,
                    then_reset,
                    self.engine_tx.clone(),
                );
                self.background.retain(|t| !t.is_finished());
                self.background.push(tokio::spawn(task));
            }
            Command::Quit { stop_stack: false } => return Some(Handoff::Quit { stopped: false }),
            Command::Quit { stop_stack: true } => {
                self.stop_stack();
                return Some(Handoff::Quit { stopped: true });
            }
            Command::LoadRuns(service) => self.load_runs(service),
            Command::ResumeLogs(list) => {
                for (service, since) in list {
                    if let Some(container) =
                        self.followers.get(&service).map(|f| f.container.clone())
                    {
                        self.spawn_follower(service, container, since);
                    }
                }
            }
        }
        None
    }

    /// `r` and `s`: one service restarted, stopped or started in the background.
    /// The job rows' run summaries from the history on disk (at start, and when the
    /// history's place changes).
    fn show_run_history(&mut self) {
        let now = chrono::Utc::now().timestamp_millis();
        let offset = ops::runs::local_offset();
        for row in &mut self.state.services {
            if !ops::runs::is_job(&self.stack, &row.name) {
                continue;
            }
            // An unreadable history shows no summary; recording reports the problem.
            let runs = self.run_history.load(row.name.as_str()).unwrap_or_default();
            row.last_run = ops::runs::summary(&runs, now, offset);
        }
        self.state.dirty = true;
    }

    /// Records a job's finished run in the background; a failure is a notice.
    fn record_run(&mut self, info: ContainerInfo, trigger: ops::runs::Trigger) {
        let engine = self.engine.clone();
        let history = self.run_history.clone();
        let tx = self.engine_tx.clone();
        let runs_tx = self.runs_tx.clone();
        let history_tx = self.history_tx.clone();
        tokio::spawn(async move {
            let recorded = ops::runs::record_exit(&engine, &history, &info, trigger).await;
            if recorded.is_ok() {
                let loaded = history
                    .load(info.service.as_str())
                    .map_err(|e| e.to_string());
                let runs = loaded.clone().unwrap_or_default();
                let now = chrono::Utc::now().timestamp_millis();
                if let Some(text) = ops::runs::summary(&runs, now, ops::runs::local_offset()) {
                    let _ = runs_tx.send((info.service.clone(), text)).await;
                }
                // An open Runs view of this job shows the new run.
                let _ = history_tx.send((info.service.clone(), loaded)).await;
            }
            if let Err(e) = recorded {
                let _ = tx
                    .send(EngineEvent::Notice {
                        level: NoticeLevel::Warning,
                        message: format!("{}: the run was not recorded: {e}", info.service),
                    })
                    .await;
            }
        });
    }

    /// The Runs view asked for a job's history: read off the loop (a history holds up to
    /// 100 runs of 1000 lines each).
    fn load_runs(&mut self, service: ServiceName) {
        let history = self.run_history.clone();
        let tx = self.history_tx.clone();
        self.background.retain(|t| !t.is_finished());
        self.background.push(tokio::spawn(async move {
            let name = service.to_string();
            let result = tokio::task::spawn_blocking(move || history.load(&name))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            let _ = tx.send((service, result)).await;
        }));
    }

    /// Where job runs are recorded (the user's state directory unless set here).
    pub fn set_run_history(&mut self, history: ops::runs::History) {
        self.run_history = history;
        self.show_run_history();
    }

    fn lifecycle(&mut self, service: ServiceName, what: Lifecycle) {
        let (engine, stack) = (self.engine.clone(), Arc::clone(&self.stack));
        self.notify_on_error(format!("{} '{service}'", what.verb()), async move {
            lifecycle::run_one(&engine, &stack, &service, what)
                .await
                .map_err(|e| e.to_string())
        });
    }

    /// `R` confirmed: resets the volumes in the background (as `devstack reset --yes`
    /// would); progress and the outcome arrive as notices.
    /// psql in `service` on `database` (its default when `None`), as the terminal's.
    fn db_console(&self, service: ServiceName, database: Option<&str>) -> Option<Handoff> {
        let console = self
            .stack
            .services
            .get(&service)
            .map(|s| console_for_database(s, database))?;
        let request = ExecRequest {
            cmd: console.cmd,
            tty: true,
            stdin: true,
            ..ExecRequest::default()
        };
        Some(Handoff::Exec {
            service,
            request,
            hold: false,
        })
    }

    fn reset_volumes(&mut self, volumes: Vec<String>) {
        let (engine, stack, tx) = (
            self.engine.clone(),
            Arc::clone(&self.stack),
            self.engine_tx.clone(),
        );
        self.notify_on_error("reset".into(), async move {
            let plan = reset::plan_reset(&stack, &volumes, &[]).map_err(|e| e.to_string())?;
            reset::run_reset(
                &engine,
                &stack,
                &plan,
                crate::engine::DEFAULT_WAIT,
                tx.clone(),
            )
            .await
            .map_err(|e| e.to_string())?;
            let _ = tx
                .send(EngineEvent::Notice {
                    level: NoticeLevel::Info,
                    message: "reset done: volumes recreated, services ready".into(),
                })
                .await;
            Ok(())
        });
    }

    /// `Q` confirmed: stops every service; [`App::finish`] waits for it. A service with
    /// no container is not an error here.
    fn stop_stack(&mut self) {
        let (engine, stack, tx) = (
            self.engine.clone(),
            Arc::clone(&self.stack),
            self.engine_tx.clone(),
        );
        self.stopping = Some(tokio::spawn(async move {
            let all: Vec<ServiceName> = stack.services.keys().cloned().collect();
            for r in lifecycle::run(&engine, &stack, &all, Lifecycle::Stop).await {
                if let Err(e) = r
                    && !e.is_not_found()
                {
                    let _ = tx
                        .send(EngineEvent::Notice {
                            level: NoticeLevel::Error,
                            message: format!("stop: {e}"),
                        })
                        .await;
                }
            }
        }));
    }

    /// Appends the counters to the `--stats-file`, if there is one. A failed write is
    /// shown once and ends the writing.
    pub fn write_stats(&mut self) {
        let Some(file) = self.stats_file.as_mut() else {
            return;
        };
        if let Err(e) = file.write(&self.counters, self.state.logs.store.dropped()) {
            self.stats_file = None;
            self.state.notify(
                NoticeLevel::Warning,
                format!("stats file: {e}; no longer written"),
            );
        }
    }

    /// Waits for a `Quit { stop_stack: true }` to finish stopping.
    pub async fn finish(&mut self) {
        if let Some(t) = self.stopping.take() {
            let _ = t.await;
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

/// The UI's own work on the stack: bring it up (with `up`), then run its watch rules
/// (with `watch`), reporting both as notices.
async fn up_then_watch(
    engine: Engine,
    stack: Arc<Stack>,
    up: Option<(PlanOptions, Duration)>,
    watch: bool,
    tx: mpsc::Sender<EngineEvent>,
) {
    if let Some((options, timeout)) = up {
        let result = bring_up::converge_with(&engine, &stack, options, timeout, tx.clone()).await;
        let error = result.err().map(|e| e.to_string());
        let _ = tx.send(EngineEvent::UpFinished { error }).await;
    }
    // Watching starts once the stack is up, so a save during `up` does not restart a
    // container that is still being created.
    if watch {
        watch_and_report(engine, stack, tx).await;
    }
}

/// Runs the stack's watch rules and turns each outcome into a notice
/// ("pipeline: restarted after change to src/load.py").
async fn watch_and_report(engine: Engine, stack: Arc<Stack>, tx: mpsc::Sender<EngineEvent>) {
    let rules = crate::watch::Rules::from_stack(&stack);
    if rules.is_empty() {
        return;
    }
    let (out_tx, mut outcomes) = mpsc::channel(16);
    let watcher = match live::spawn_watch(engine, stack, &[], tx.clone(), out_tx) {
        Ok(w) => w,
        Err(e) => {
            let _ = tx
                .send(EngineEvent::Notice {
                    level: NoticeLevel::Error,
                    message: format!("watching files failed: {e}"),
                })
                .await;
            return;
        }
    };
    while let Some(o) = outcomes.recv().await {
        let (level, message) = watch_notice(&o);
        if tx
            .send(EngineEvent::Notice { level, message })
            .await
            .is_err()
        {
            break;
        }
    }
    watcher.abort();
}

/// The notice for one watch action.
fn watch_notice(o: &live::WatchOutcome) -> (NoticeLevel, String) {
    match &o.result {
        // `what` names the service already ("pipeline: restarted after …").
        Ok(what) => (
            NoticeLevel::Info,
            format!("{what} ({} ms after the save)", o.since_save.as_millis()),
        ),
        Err(e) => (NoticeLevel::Error, format!("{}: {e}", o.service)),
    }
}

/// Runs the UI on the real terminal until the user quits or a signal arrives.
pub async fn run(engine: Engine, stack: Stack, config: AppConfig) -> Result<Outcome, ops::Error> {
    let stats_file = config.stats_file.as_deref().map(StatsFile::create);
    let stats_file = stats_file
        .transpose()
        .map_err(|e| ops::Error::Usage(e.to_string()))?;
    let mut signals = Signals::new()?;
    let mut guard = TerminalGuard::enter()?;
    let mut app = App::start(engine, stack, &config);
    app.stats_file = stats_file;
    let size = guard.terminal().size()?;
    app.handle(Event::Resize(size.width, size.height));
    let outcome = loop {
        let mut input = EventStream::new();
        let step = drive(&mut app, guard.terminal(), &mut input, &mut signals).await?;
        // Dropped before an exec, so no key meant for the shell is read here.
        drop(input);
        match step {
            Step::Exit(outcome) => break outcome,
            Step::Exec {
                service,
                request,
                hold,
            } => {
                guard.suspend()?;
                let result = run_exec(&app, &service, request).await;
                if hold {
                    hold_output(&service, &result).await?;
                }
                guard.resume()?;
                let size = guard.terminal().size()?;
                app.handle(Event::Resize(size.width, size.height));
                app.handle(Event::ExecFinished { service, result });
            }
        }
    };
    app.finish().await;
    drop(guard);
    if let Outcome::Quit { stopped, .. } = outcome {
        println!("{}", tui::quit_message(&app.state, stopped));
    }
    Ok(outcome)
}

/// The line under a command's output (`X`): how it ended and what returns to the UI.
pub fn exec_footer(service: &ServiceName, result: &Result<i64, String>) -> String {
    let how = match result {
        Ok(0) => "exited with code 0".to_string(),
        Ok(code) => format!("exited with code {code}"),
        Err(e) => format!("failed: {e}"),
    };
    format!("devstack: the command in '{service}' {how} — press any key to return to the UI")
}

/// Keeps a command's output on the normal screen until a key is pressed (as lazydocker
/// does): without it the UI would cover the output the moment the command ends.
async fn hold_output(
    service: &ServiceName,
    result: &Result<i64, String>,
) -> Result<(), ops::Error> {
    println!("\r\n{}", exec_footer(service, result));
    crossterm::terminal::enable_raw_mode()?;
    let mut input = EventStream::new();
    let waited = loop {
        match input.next().await {
            Some(Ok(TermEvent::Key(k))) if k.kind != crossterm::event::KeyEventKind::Release => {
                break Ok(());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    drop(input);
    // The guard's resume sets raw mode again; this only undoes ours on every path.
    crossterm::terminal::disable_raw_mode()?;
    Ok(waited?)
}

async fn run_exec(
    app: &App,
    service: &ServiceName,
    mut request: ExecRequest,
) -> Result<i64, String> {
    let container = running_container(app.engine(), app.stack(), service)
        .await
        .map_err(|e| e.to_string())?;
    if request.cmd.is_empty() {
        match app.engine().detect_shell(&container.id, None).await {
            Ok(Some(shell)) => request.cmd = vec![shell.to_string()],
            Ok(None) => return Err(format!("the image of '{service}' has neither bash nor sh")),
            Err(e) => return Err(e.to_string()),
        }
    }
    println!(
        "devstack: {} in '{service}' — exit the shell to return to the UI",
        request.cmd.join(" ")
    );
    crate::exec::run(app.engine(), &container.id, request)
        .await
        .map_err(|e| e.to_string())
}

enum Step {
    Exit(Outcome),
    Exec {
        service: ServiceName,
        request: ExecRequest,
        hold: bool,
    },
}

/// The loop proper: wait for anything, drain what else is ready, draw once if dirty
/// (at most every [`FRAME`]), and hand terminal work back to [`run`].
async fn drive<B: Backend>(
    app: &mut App,
    terminal: &mut Terminal<B>,
    input: &mut EventStream,
    signals: &mut Signals,
) -> Result<Step, ops::Error>
where
    B::Error: Send + Sync + 'static,
{
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_draw: Option<Instant> = None;
    app.state.dirty = true;
    // Whether something other than a stats sample changed since the last frame. Stats
    // arrive about once a second per container, spread out: drawing for each one kept an
    // idle UI with five services at ~7 frames/s, so they wait for the 1 s tick.
    // How soon the changes since the last frame want one: `None` while only stats
    // changed (the tick draws those), [`LOG_FRAME`] for log lines, else [`FRAME`].
    let mut pace: Option<Duration> = Some(FRAME);
    loop {
        let mut events = Vec::new();
        let draw_at = last_draw.zip(pace).map(|(t, p)| t + p);
        // In this order: under a flood the log channel is always ready, and a key, the
        // tick or a due frame must not wait for it to lose a coin toss.
        tokio::select! {
            biased;
            signal = signals.recv() => {
                return Ok(Step::Exit(Outcome::Signalled(signal)));
            }
            Some(term) = input.next() => match term? {
                TermEvent::Key(k) => events.push(Event::Key(k)),
                TermEvent::Mouse(m) => events.push(Event::Mouse(m)),
                TermEvent::Resize(w, h) => events.push(Event::Resize(w, h)),
                _ => {}
            },
            _ = tick.tick() => {
                app.write_stats();
                events.push(Event::Tick { now_unix: chrono::Utc::now().timestamp() });
            }
            () = sleep_until(draw_at), if app.state.dirty && draw_at.is_some() => {}
            Some(e) = app.next_event() => events.push(e),
        }
        events.extend(app.ready_events(256, DRAIN_LINES));
        // Every event is handled, even after one asks for a hand-off, so no log batch
        // already taken from its channel is lost.
        let mut handoff = None;
        for event in events {
            let wants = match event {
                Event::Engine(EngineEvent::Stats { .. }) => None,
                Event::Logs(_) => Some(LOG_FRAME),
                _ => Some(FRAME),
            };
            pace = match (pace, wants) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let asked = app.handle(event).into_iter().next();
            handoff = handoff.or(asked);
        }
        match handoff {
            Some(Handoff::Quit { stopped }) => {
                let up_failed = matches!(app.state.up, tui::UpState::Failed(_));
                return Ok(Step::Exit(Outcome::Quit { stopped, up_failed }));
            }
            Some(Handoff::Exec {
                service,
                request,
                hold,
            }) => {
                return Ok(Step::Exec {
                    service,
                    request,
                    hold,
                });
            }
            None => {}
        }
        let due = pace.is_some_and(|p| last_draw.is_none_or(|t| t.elapsed() >= p));
        if app.state.dirty && due {
            pace = None;
            let started = Instant::now();
            terminal
                .draw(|f| tui::render(&app.state, f))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            app.counters.frame(started.elapsed());
            app.state.dirty = false;
            last_draw = Some(Instant::now());
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::stack::{LoadOptions, load_str};

    /// Issue 14: the restart notice read "pipeline: pipeline: restarted …".
    #[test]
    fn a_watch_notice_names_the_service_once() {
        let outcome = live::WatchOutcome {
            service: ServiceName::new("pipeline"),
            result: Ok("pipeline: restarted after change to src/load.py".into()),
            since_save: Duration::from_millis(120),
            own: Duration::from_millis(20),
            issued: Duration::from_millis(100),
        };
        assert_eq!(
            watch_notice(&outcome),
            (
                NoticeLevel::Info,
                "pipeline: restarted after change to src/load.py (120 ms after the save)".into()
            )
        );
    }

    #[test]
    fn the_line_under_a_commands_output_says_how_it_ended_and_what_returns() {
        let web = ServiceName::new("web");
        assert_eq!(
            exec_footer(&web, &Ok(3)),
            "devstack: the command in 'web' exited with code 3 — press any key to return to the UI"
        );
        assert!(
            exec_footer(&web, &Err("no such container".into()))
                .contains("failed: no such container")
        );
    }

    #[test]
    fn endpoint_rows_for_the_tui_keep_order_kind_and_no_password() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "POSTGRES_PASSWORD=s3cr3t-91\n").unwrap();
        let yaml = "services:\n  db:\n    image: postgres:18\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?}\n    ports: [\"127.0.0.1:5433:5432\"]\n  web:\n    image: apache/airflow:3.1.0\n    ports: [\"8081:8080\"]\n";
        let opts = LoadOptions {
            cwd: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            environment: BTreeMap::new(),
            ..LoadOptions::default()
        };
        let stack = load_str(yaml, &dir.path().join("devstack.yaml"), &opts).unwrap();
        let rows = endpoint_rows(&stack);
        let got: Vec<_> = rows.iter().map(|r| (r.kind, r.value.as_str())).collect();
        assert_eq!(
            got,
            [
                (EndpointKind::Web, "http://127.0.0.1:8081"),
                (
                    EndpointKind::Database,
                    "postgresql://postgres:****@127.0.0.1:5433/postgres"
                ),
            ]
        );
        assert!(!format!("{rows:?}").contains("s3cr3t-91"), "{rows:?}");
    }
}
