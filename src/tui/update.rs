//! `update(&mut AppState, Event) -> Vec<Command>`: every change to the TUI's state
//! happens here, and every effect leaves as a [`Command`] for the app loop to perform.
//!
//! No I/O, no awaits, no clock, no terminal. Engine work (restart, exec, reset, quit) is
//! only ever asked for, never done.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::logs::{LineKey, Matcher, Scope};
use crate::model::{
    ContainerId, ContainerInfo, ContainerState, EngineEvent, Health, LogLine, NoticeLevel,
    Progress, ServiceName,
};

use super::keymap::{self, Action};
use super::state::{
    About, AppState, ContainerStats, Daemon, Focus, HealthLog, Mode, PendingAction, Prompt, Scroll,
    Status, UpState,
};
use super::views;

/// Everything that can happen to the TUI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// From the engine's tasks (daemon events, stats, progress of `up`).
    Engine(EngineEvent),
    /// A batch from the log streams.
    Logs(Vec<LogLine>),
    /// The time, once a second while the app wants ticks (uptime, notice expiry).
    Tick {
        now_unix: i64,
    },
    /// An exec session started by [`Command::Exec`] ended; the terminal is back.
    ExecFinished {
        service: ServiceName,
        result: Result<i64, String>,
    },
    /// A job's run history changed: its summary line.
    RunSummary {
        service: ServiceName,
        text: String,
    },
    /// The api-server answered a [`Command::Airflow`].
    Airflow(super::airflow::AirflowAnswer),
    /// A job's run history as on disk (oldest first): after [`Command::LoadRuns`], and
    /// after each run recorded.
    RunHistory {
        service: ServiceName,
        result: Result<Vec<crate::runs::Run>, String>,
    },
    /// The doctor's findings, or the daemon's part asked for by [`Command::DoctorInspect`].
    Doctor(super::doctor::DoctorAnswer),
    /// DAG files saved under a dags folder (as the user names them), at Unix seconds `at`.
    DagsSaved {
        files: Vec<String>,
        at: i64,
    },
}

/// What `update` asks the app loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Restart(ServiceName),
    Stop(ServiceName),
    Start(ServiceName),
    /// Suspend the UI and run an interactive session in the service: its shell when
    /// `command` is `None`, else `sh -c <command>`. Answer with `Event::ExecFinished`.
    Exec {
        service: ServiceName,
        command: Option<String>,
    },
    /// `psql` in this Postgres service (user and database from its environment).
    DbConsole(ServiceName),
    /// `psql` on one of the databases the service's console names.
    DbConsoleOn {
        service: ServiceName,
        database: String,
    },
    /// Drop and recreate these volumes (keys in the stack file), after the user said yes.
    Reset {
        volumes: Vec<String>,
    },
    /// Leave the UI; stop the stack first when `stop_stack`. The app prints
    /// [`quit_message`] after restoring the terminal.
    Quit {
        stop_stack: bool,
    },
    /// Restart the log streams after the daemon came back, each from this timestamp
    /// (Unix nanoseconds; `None`: from the start). The store drops the repeated lines.
    ResumeLogs(Vec<(ServiceName, Option<i64>)>),
    /// Ask the Airflow api-server; answer with `Event::Airflow`.
    Airflow(super::airflow::AirflowRequest),
    /// Read a job's run history; answer with `Event::RunHistory`.
    LoadRuns(ServiceName),
    /// The doctor's daemon part (image layers, container users); answer with
    /// `Event::Doctor`.
    DoctorInspect,
    /// Copy these volumes (keys) into a new snapshot, reporting progress as notices;
    /// then reset them when `then_reset` (not when the copy failed).
    Snapshot {
        volumes: Vec<String>,
        then_reset: bool,
    },
}

/// How long notices that are not errors stay, in seconds.
const INFO_SECS: i64 = 5;
const WARNING_SECS: i64 = 10;
/// Lines the mouse wheel scrolls.
const WHEEL_LINES: usize = 3;

pub fn update(state: &mut AppState, event: Event) -> Vec<Command> {
    match event {
        Event::Key(k) => {
            if k.kind == KeyEventKind::Release {
                return Vec::new();
            }
            state.dirty = true;
            on_key(state, k)
        }
        Event::Mouse(m) => on_mouse(state, m),
        Event::Resize(w, h) => {
            state.size = (w, h);
            state.dirty = true;
            Vec::new()
        }
        Event::Engine(e) => on_engine(state, e),
        Event::Logs(batch) => {
            if state.logs.store.push_batch(batch) > 0 {
                state.dirty = true;
            }
            Vec::new()
        }
        Event::Tick { now_unix } => {
            // Redraw only when a shown uptime or the notice list changes: an idle TUI
            // ticking once a second then draws about once a minute.
            let uptimes = |s: &AppState| -> Vec<String> {
                s.services
                    .iter()
                    .filter_map(|r| r.container.as_ref()?.started_at)
                    .map(|t| views::text::duration(s.now_unix - t))
                    .collect()
            };
            let before = (uptimes(state), state.notices.len());
            state.now_unix = now_unix;
            expire_notices(state);
            if (uptimes(state), state.notices.len()) != before {
                state.dirty = true;
            }
            super::airflow::on_tick(state)
        }
        Event::RunSummary { service, text } => {
            if let Some(row) = state.services.iter_mut().find(|r| r.name == service) {
                row.last_run = Some(text);
                state.dirty = true;
            }
            Vec::new()
        }
        Event::Airflow(answer) => super::airflow::on_answer(state, answer),
        Event::RunHistory { service, result } => super::runs::on_history(state, service, result),
        Event::Doctor(answer) => super::doctor::on_answer(state, answer),
        Event::DagsSaved { files, at } => super::airflow::on_dags_saved(state, files, at),
        Event::ExecFinished { service, result } => {
            match result {
                Ok(0) => state.notify(NoticeLevel::Info, format!("session in '{service}' ended")),
                Ok(code) => state.notify(
                    NoticeLevel::Warning,
                    format!("session in '{service}' exited with code {code}"),
                ),
                Err(e) => state.notify(
                    NoticeLevel::Error,
                    format!("exec in '{service}' failed: {e}"),
                ),
            }
            Vec::new()
        }
    }
}

/// Drops the notices whose time is up, and errors that are no longer true.
fn expire_notices(state: &mut AppState) {
    let now = state.now_unix;
    let ready = stack_ready(state);
    state.notices.retain(|n| match (n.level, &n.about) {
        (NoticeLevel::Info, _) => now - n.at_unix < INFO_SECS,
        (NoticeLevel::Warning, _) => now - n.at_unix < WARNING_SECS,
        (NoticeLevel::Error, Some(About::UpFailed)) => !ready,
        (NoticeLevel::Error, None) => true,
    });
}

/// Every service runs (healthy, when it has a healthcheck) or finished with code 0.
fn stack_ready(state: &AppState) -> bool {
    state.services.iter().all(|r| {
        matches!(
            r.status(),
            Status::Running | Status::Healthy | Status::Exited(0)
        )
    })
}

/// What the app prints on the normal screen after quitting: what runs now, and the
/// exact commands (with the `-p`/`-f` this UI was opened with) that reopen or stop it.
pub fn quit_message(state: &AppState, stop_stack: bool) -> String {
    let (cli, project) = (&state.cli, &state.project);
    let failed = match &state.up {
        UpState::Failed(reason) => format!("devstack: up failed: {reason}\n"),
        _ => String::new(),
    };
    if stop_stack {
        return format!("{failed}devstack: stopped the stack '{project}'.");
    }
    let running = state
        .services
        .iter()
        .filter(|r| r.status().is_running() || r.status() == Status::Restarting)
        .count();
    if running == 0 {
        return format!(
            "{failed}devstack: nothing of the stack '{project}' is running. '{cli} up' starts it."
        );
    }
    format!(
        "{failed}devstack: the stack '{project}' is still running ({running} of {} services). '{cli} tui' reopens this view; '{cli} down' stops it.",
        state.services.len()
    )
}

fn on_key(state: &mut AppState, k: KeyEvent) -> Vec<Command> {
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    match &mut state.mode {
        Mode::Normal => match keymap::action_for(&k, state.focus) {
            Some(a) => on_action(state, a),
            None => {
                state.dirty = false;
                Vec::new()
            }
        },
        Mode::Help => {
            // Any key closes help; it never triggers the key's action underneath.
            state.mode = Mode::Normal;
            Vec::new()
        }
        Mode::Endpoints => {
            // Kept open by other keys: a person reads and copies from it. `q` closes
            // rather than quits, as a second `e` does.
            if ctrl_c
                || matches!(
                    k.code,
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('e' | 'q')
                )
            {
                state.mode = Mode::Normal;
            } else {
                state.dirty = false;
            }
            Vec::new()
        }
        Mode::Airflow => super::airflow::on_key(state, k),
        Mode::Runs => super::runs::on_key(state, k),
        Mode::Doctor => super::doctor::on_key(state, k),
        Mode::Confirm(pending) => {
            let pending = pending.clone();
            on_confirm(state, pending, k, ctrl_c)
        }
        Mode::Search(_) | Mode::Filter(_) | Mode::ExecPrompt { .. } => {
            on_prompt_key(state, k, ctrl_c)
        }
        Mode::Messages { scroll } => {
            let scroll = *scroll;
            let (_, rows) = views::logs_viewport(state);
            let page = rows.max(2) - 1;
            let max = views::messages::max_scroll(state);
            let next = match k.code {
                KeyCode::Char('j') | KeyCode::Down => Some(scroll + 1),
                KeyCode::Char('k') | KeyCode::Up => Some(scroll.saturating_sub(1)),
                KeyCode::PageDown | KeyCode::Char(' ') => Some(scroll + page),
                KeyCode::PageUp => Some(scroll.saturating_sub(page)),
                KeyCode::Char('g') | KeyCode::Home => Some(0),
                KeyCode::Char('G') | KeyCode::End => Some(max),
                _ => None,
            };
            match next {
                Some(n) => state.mode = Mode::Messages { scroll: n.min(max) },
                None if ctrl_c
                    || matches!(
                        k.code,
                        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('m' | 'q')
                    ) =>
                {
                    state.mode = Mode::Normal;
                }
                None => state.dirty = false,
            }
            Vec::new()
        }
        Mode::PickDatabase { .. } => on_pick_database(state, k, ctrl_c),
    }
}

/// The database list of `p`: `j`/`k` (or arrows) move, `Enter` or a digit opens,
/// `Esc`/`q` closes.
fn on_pick_database(state: &mut AppState, k: KeyEvent, ctrl_c: bool) -> Vec<Command> {
    let Mode::PickDatabase {
        service,
        databases,
        selected,
    } = &mut state.mode
    else {
        return Vec::new();
    };
    let chosen = match k.code {
        _ if ctrl_c => {
            state.mode = Mode::Normal;
            return Vec::new();
        }
        KeyCode::Esc | KeyCode::Char('q') => {
            state.mode = Mode::Normal;
            return Vec::new();
        }
        KeyCode::Char('j') | KeyCode::Down => {
            *selected = (*selected + 1).min(databases.len().saturating_sub(1));
            return Vec::new();
        }
        KeyCode::Char('k') | KeyCode::Up => {
            *selected = selected.saturating_sub(1);
            return Vec::new();
        }
        KeyCode::Enter => *selected,
        KeyCode::Char(c @ '1'..='9') => (c as usize) - ('1' as usize),
        _ => {
            state.dirty = false;
            return Vec::new();
        }
    };
    let Some(database) = databases.get(chosen).cloned() else {
        state.dirty = false;
        return Vec::new();
    };
    let service = service.clone();
    state.mode = Mode::Normal;
    vec![Command::DbConsoleOn { service, database }]
}

fn on_confirm(
    state: &mut AppState,
    pending: PendingAction,
    k: KeyEvent,
    ctrl_c: bool,
) -> Vec<Command> {
    let c = match k.code {
        KeyCode::Char(c) if !ctrl_c => Some(c),
        _ => None,
    };
    if let Some(c) = c
        && let Some(commands) = super::snapshot::on_confirm(state, &pending, c)
    {
        return commands;
    }
    match (pending, c) {
        (PendingAction::Reset { volumes }, Some('y' | 'Y')) => {
            state.mode = Mode::Normal;
            vec![Command::Reset {
                volumes: volumes.into_iter().map(|v| v.key).collect(),
            }]
        }
        (PendingAction::StopAndQuit, Some('y' | 'Y' | 's' | 'Q')) => {
            vec![Command::Quit { stop_stack: true }]
        }
        (PendingAction::StopAndQuit, Some('n' | 'N' | 'q')) => {
            vec![Command::Quit { stop_stack: false }]
        }
        (_, _) if k.code == KeyCode::Esc || ctrl_c || matches!(c, Some('n' | 'N')) => {
            state.mode = Mode::Normal;
            Vec::new()
        }
        _ => {
            state.dirty = false;
            Vec::new()
        }
    }
}

fn prompt_mut(mode: &mut Mode) -> Option<&mut Prompt> {
    match mode {
        Mode::Search(p) | Mode::Filter(p) => Some(p),
        Mode::ExecPrompt { prompt, .. } => Some(prompt),
        _ => None,
    }
}

fn on_prompt_key(state: &mut AppState, k: KeyEvent, ctrl_c: bool) -> Vec<Command> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c || k.code == KeyCode::Esc {
        state.mode = Mode::Normal;
        return Vec::new();
    }
    if k.code == KeyCode::Enter {
        return submit_prompt(state);
    }
    let Some(p) = prompt_mut(&mut state.mode) else {
        return Vec::new();
    };
    match k.code {
        KeyCode::Char('r') if ctrl => p.regex = !p.regex,
        KeyCode::Char('u') if ctrl => p.input.clear(),
        KeyCode::Char(c) if !ctrl => p.input.push(c),
        KeyCode::Backspace => {
            p.input.pop();
        }
        _ => {}
    }
    p.error = None;
    Vec::new()
}

/// Enter in a prompt: what the typed text does depends on the prompt's mode.
fn submit_prompt(state: &mut AppState) -> Vec<Command> {
    let mode = std::mem::replace(&mut state.mode, Mode::Normal);
    match mode {
        Mode::Search(p) => submit_search(state, p),
        Mode::Filter(p) => submit_filter(state, p),
        Mode::ExecPrompt { service, prompt } => {
            let command = prompt.input.trim().to_string();
            if command.is_empty() {
                return Vec::new();
            }
            return vec![Command::Exec {
                service,
                command: Some(command),
            }];
        }
        other => state.mode = other,
    }
    Vec::new()
}

/// A search: set it and move to the newest match on or above the screen's last line;
/// an invalid pattern stays in the prompt with its error.
fn submit_search(state: &mut AppState, p: Prompt) {
    if p.input.is_empty() {
        clear_search(state);
        return;
    }
    let m = match Matcher::new(&p.input, p.regex) {
        Ok(m) => m,
        Err(e) => {
            state.mode = Mode::Search(Prompt {
                error: Some(e.to_string()),
                ..p
            });
            return;
        }
    };
    state.logs.store.set_search(Some(m));
    let (cols, rows) = views::logs_viewport(state);
    let below = views::logs::window(state, cols, rows)
        .lines
        .last()
        .map(|s| s.line.key);
    let view = state.logs.store.view(state.logs.scope);
    let found = match below {
        Some(k) if view.is_match(k) => Some(k),
        Some(k) => view
            .prev_match(Some(k))
            .or_else(|| view.next_match(Some(k))),
        None => None,
    };
    match found {
        Some(k) => {
            state.logs.current_match = Some(k);
            reveal(state, k);
        }
        None => {
            state.logs.current_match = None;
            state.notify(NoticeLevel::Info, format!("no match for '{}'", p.input));
        }
    }
}

/// A filter: set (or, when empty, clear) it and follow the newest lines; an invalid
/// pattern stays in the prompt with its error.
fn submit_filter(state: &mut AppState, p: Prompt) {
    if p.input.is_empty() {
        state.logs.store.set_filter(None);
    } else {
        match Matcher::new(&p.input, p.regex) {
            Ok(m) => state.logs.store.set_filter(Some(m)),
            Err(e) => {
                state.mode = Mode::Filter(Prompt {
                    error: Some(e.to_string()),
                    ..p
                });
                return;
            }
        }
    }
    state.logs.current_match = None;
    state.logs.scroll = Scroll::Follow;
}

fn clear_search(state: &mut AppState) {
    state.logs.store.set_search(None);
    state.logs.current_match = None;
}

/// What a Normal-mode key's action does: the simple ones here, each group of the rest
/// (moving, acting on the selected service, opening a prompt) in a function of its own.
fn on_action(state: &mut AppState, action: Action) -> Vec<Command> {
    match action {
        Action::SelectNext => select_step(state, true),
        Action::SelectPrev => select_step(state, false),
        Action::ScrollDown
        | Action::ScrollUp
        | Action::PageDown
        | Action::PageUp
        | Action::Top
        | Action::Bottom => scroll_logs(state, action),
        Action::SwitchPane => {
            state.focus = match state.focus {
                Focus::Services => Focus::Logs,
                Focus::Logs => Focus::Services,
            }
        }
        Action::ShowSelectedLogs => {
            if let Some(idx) = state.selected_idx() {
                set_scope(state, Scope::Service(idx));
                state.focus = Focus::Logs;
            }
        }
        Action::ShowAllLogs => set_scope(state, Scope::All),
        Action::Restart => {
            if let Some(row) = state.services.get_mut(state.selected) {
                let name = row.name.clone();
                mark_stopping(row);
                state.notify(NoticeLevel::Info, format!("restarting '{name}'"));
                return vec![Command::Restart(name)];
            }
        }
        Action::StopStart => return stop_or_start(state),
        Action::Exec | Action::ExecCommand => return exec_selected(state, action),
        Action::DbConsole => return db_console(state),
        Action::Airflow => return super::airflow::open(state),
        // Keys of the Airflow view; its own mode reads them.
        Action::AirflowPause
        | Action::AirflowTrigger
        | Action::AirflowClear
        | Action::AirflowRefresh
        | Action::AirflowTasks
        | Action::AirflowTriggerConf
        | Action::AirflowLogs
        | Action::AirflowTryPrev
        | Action::AirflowTryNext => {}
        Action::Runs => return super::runs::open(state),
        // Keys of the Runs view; its own mode reads them.
        Action::RunsMark | Action::RunsDiff | Action::RunsRerun => {}
        Action::Endpoints => {
            if state.endpoints.is_empty() {
                state.notify(
                    NoticeLevel::Info,
                    "this stack publishes no web UI or database port and mounts no code",
                );
            } else {
                state.mode = Mode::Endpoints;
            }
        }
        Action::Reset => {
            if state.volumes.is_empty() {
                state.notify(
                    NoticeLevel::Info,
                    "this stack has no named volumes to reset",
                );
            } else {
                state.mode = Mode::Confirm(PendingAction::Reset {
                    volumes: state.volumes.clone(),
                });
            }
        }
        Action::Snapshot => return super::snapshot::open(state),
        Action::Doctor => return super::doctor::open(state),
        Action::Search => open_search(state),
        Action::Filter => open_filter(state),
        Action::SearchNext | Action::SearchPrev => step_match(state, action == Action::SearchNext),
        Action::ToggleWrap => state.logs.wrap = !state.logs.wrap,
        Action::ToggleTimestamps => state.logs.timestamps = !state.logs.timestamps,
        Action::ToggleRawJson => state.logs.raw_json = !state.logs.raw_json,
        Action::Cancel => cancel_one(state),
        Action::Help => state.mode = Mode::Help,
        Action::Messages => {
            if state.history.is_empty() {
                state.notify(NoticeLevel::Info, "no messages yet");
            } else {
                // Opened at the end: the newest message is the one just seen.
                state.mode = Mode::Messages { scroll: 0 };
                let max = views::messages::max_scroll(state);
                state.mode = Mode::Messages { scroll: max };
            }
        }
        Action::Quit => return vec![Command::Quit { stop_stack: false }],
        Action::StopAndQuit => state.mode = Mode::Confirm(PendingAction::StopAndQuit),
    }
    Vec::new()
}

/// Moves the selection one service down (`forward`) or up; a single-service log view
/// follows it.
fn select_step(state: &mut AppState, forward: bool) {
    let n = state.services.len();
    if n == 0 {
        return;
    }
    state.selected = if forward {
        (state.selected + 1).min(n - 1)
    } else {
        state.selected.saturating_sub(1)
    };
    if matches!(state.logs.scope, Scope::Service(_))
        && let Some(idx) = state.selected_idx()
    {
        set_scope(state, Scope::Service(idx));
    }
}

/// Line, page, top and bottom moves of the logs pane.
fn scroll_logs(state: &mut AppState, action: Action) {
    let (_, rows) = views::logs_viewport(state);
    let page = rows.saturating_sub(1).max(1);
    match action {
        Action::ScrollDown => scroll_down(state, 1),
        Action::ScrollUp => scroll_up(state, 1),
        Action::PageDown => scroll_down(state, page),
        Action::PageUp => scroll_up(state, page),
        Action::Top => {
            let view = state.logs.store.view(state.logs.scope);
            if let Some(first) = view.forward(None).next() {
                let received = view.received();
                state.logs.scroll = Scroll::Paused {
                    top: first.key,
                    received_at_pause: paused_base(state, received),
                };
            }
        }
        Action::Bottom => state.logs.scroll = Scroll::Follow,
        _ => {}
    }
}

/// `s`: stops a service that runs (or restarts, or is paused), starts one that does not.
fn stop_or_start(state: &mut AppState) -> Vec<Command> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    let name = row.name.clone();
    match row.status() {
        Status::Stopping => {
            state.notify(NoticeLevel::Info, format!("'{name}' is already stopping"));
            Vec::new()
        }
        s if s.is_running() || matches!(s, Status::Restarting | Status::Paused) => {
            if let Some(row) = state.services.get_mut(state.selected) {
                mark_stopping(row);
            }
            state.notify(NoticeLevel::Info, format!("stopping '{name}'"));
            vec![Command::Stop(name)]
        }
        Status::NotCreated => {
            state.notify(
                NoticeLevel::Warning,
                format!("'{name}' has no container yet: 'devstack up' creates it"),
            );
            Vec::new()
        }
        _ => {
            state.notify(NoticeLevel::Info, format!("starting '{name}'"));
            vec![Command::Start(name)]
        }
    }
}

/// `x` hands the terminal to a shell in the selected service; `X` asks for a command
/// first.
fn exec_selected(state: &mut AppState, action: Action) -> Vec<Command> {
    let Some(name) = running_selected(state) else {
        return Vec::new();
    };
    if action == Action::Exec {
        return vec![Command::Exec {
            service: name,
            command: None,
        }];
    }
    state.mode = Mode::ExecPrompt {
        service: name,
        prompt: Prompt::default(),
    };
    Vec::new()
}

/// `p`: psql in the selected database service, or in the only one there is.
fn db_console(state: &mut AppState) -> Vec<Command> {
    let consoles: Vec<usize> = state
        .services
        .iter()
        .enumerate()
        .filter(|(_, r)| r.console)
        .map(|(i, _)| i)
        .collect();
    let pick = if consoles.contains(&state.selected) {
        Some(state.selected)
    } else if consoles.len() == 1 {
        Some(consoles[0])
    } else {
        None
    };
    match (pick, consoles.len()) {
        (Some(i), _) => {
            let row = &state.services[i];
            let name = row.name.clone();
            if row.status().is_running() {
                if row.databases.len() > 1 {
                    state.mode = Mode::PickDatabase {
                        service: name,
                        databases: row.databases.clone(),
                        selected: 0,
                    };
                    return Vec::new();
                }
                return vec![Command::DbConsole(name)];
            }
            let (_, word, _) = views::style::status(row.status());
            state.notify(
                NoticeLevel::Warning,
                format!("'{name}' is {word}: start it with 's' first"),
            );
        }
        (None, 0) => state.notify(
            NoticeLevel::Warning,
            "no database service: use a 'postgres' image or set 'x-devstack: {console: psql}'",
        ),
        (None, _) => state.notify(
            NoticeLevel::Info,
            "several database services: select one, then press 'p'",
        ),
    }
    Vec::new()
}

/// `/`: the search prompt, keeping whether the last search was a regex.
fn open_search(state: &mut AppState) {
    let regex = state.logs.store.search().is_some_and(Matcher::is_regex);
    state.mode = Mode::Search(Prompt {
        regex,
        ..Prompt::default()
    });
}

/// `f`: the filter prompt, holding the current filter to edit.
fn open_filter(state: &mut AppState) {
    let (input, regex) = state
        .logs
        .store
        .filter()
        .map_or((String::new(), false), |m| {
            (m.pattern().to_string(), m.is_regex())
        });
    state.mode = Mode::Filter(Prompt {
        input,
        regex,
        error: None,
    });
}

/// Esc: undoes one thing per press, most transient first — a notice, the search, the
/// filter.
fn cancel_one(state: &mut AppState) {
    if let Some(i) = state.notices.iter().rposition(|_| true) {
        state.notices.remove(i);
    } else if state.logs.store.search().is_some() {
        clear_search(state);
    } else if state.logs.store.filter().is_some() {
        state.logs.store.set_filter(None);
        state.logs.scroll = Scroll::Follow;
    } else {
        state.dirty = false;
    }
}

/// A stop or restart was asked for: the row shows "stopping" until its container stops
/// (or is replaced), however long the container takes over its stop signal.
fn mark_stopping(row: &mut super::state::ServiceRow) {
    if let Some(c) = row
        .container
        .as_ref()
        .filter(|c| c.state == ContainerState::Running)
    {
        row.stopping = Some(c.id.clone());
    }
}

/// The selected service's name if it runs; otherwise says why not (exec needs it).
fn running_selected(state: &mut AppState) -> Option<ServiceName> {
    let row = state.selected_row()?;
    let name = row.name.clone();
    let status = row.status();
    if status.is_running() {
        return Some(name);
    }
    let (_, word, _) = views::style::status(status);
    state.notify(
        NoticeLevel::Warning,
        format!("'{name}' is {word}: start it with 's' first"),
    );
    None
}

pub(super) fn set_scope(state: &mut AppState, scope: Scope) {
    if state.logs.scope != scope {
        state.logs.scope = scope;
        state.logs.scroll = Scroll::Follow;
        state.logs.current_match = None;
    }
}

/// `received_at_pause` for a pause starting now: kept if already paused.
fn paused_base(state: &AppState, received_now: u64) -> u64 {
    match state.logs.scroll {
        Scroll::Paused {
            received_at_pause, ..
        } => received_at_pause,
        Scroll::Follow => received_now,
    }
}

/// The first line on screen now.
fn current_top(state: &AppState) -> Option<LineKey> {
    let (cols, rows) = views::logs_viewport(state);
    match state.logs.scroll {
        Scroll::Paused { top, .. } => state
            .logs
            .store
            .view(state.logs.scope)
            .forward(Some(top))
            .next()
            .map(|l| l.key),
        Scroll::Follow => views::logs::bottom_window(state, cols, rows)
            .lines
            .first()
            .map(|s| s.line.key),
    }
}

fn scroll_up(state: &mut AppState, n: usize) {
    let Some(top) = current_top(state) else {
        return;
    };
    let view = state.logs.store.view(state.logs.scope);
    let new_top = view
        .backward(Some(top))
        .take(n)
        .last()
        .map_or(top, |l| l.key);
    let received = view.received();
    state.logs.scroll = Scroll::Paused {
        top: new_top,
        received_at_pause: paused_base(state, received),
    };
}

fn scroll_down(state: &mut AppState, n: usize) {
    let Scroll::Paused {
        top,
        received_at_pause,
    } = state.logs.scroll
    else {
        return;
    };
    let (cols, rows) = views::logs_viewport(state);
    let view = state.logs.store.view(state.logs.scope);
    let new_top = view.forward(Some(top)).nth(n).map(|l| l.key);
    let bottom_top = views::logs::bottom_window(state, cols, rows)
        .lines
        .first()
        .map(|s| s.line.key);
    state.logs.scroll = match (new_top, bottom_top) {
        // Reaching the newest lines resumes following.
        (Some(t), Some(b)) if t < b => Scroll::Paused {
            top: t,
            received_at_pause,
        },
        _ => Scroll::Follow,
    };
}

/// Scrolls so that `key` is on screen, about a third from the top, unless it already is.
fn reveal(state: &mut AppState, key: LineKey) {
    let (cols, rows) = views::logs_viewport(state);
    let win = views::logs::window(state, cols, rows);
    let visible = win
        .lines
        .iter()
        .skip(usize::from(win.skip_rows > 0))
        .any(|s| s.line.key == key);
    if visible {
        return;
    }
    let view = state.logs.store.view(state.logs.scope);
    let top = view
        .backward(Some(key))
        .take(rows / 3)
        .last()
        .map_or(key, |l| l.key);
    let received = view.received();
    state.logs.scroll = Scroll::Paused {
        top,
        received_at_pause: paused_base(state, received),
    };
    // Near the end, the bottom window shows it anyway: follow instead of pausing.
    let bottom = views::logs::bottom_window(state, cols, rows);
    if bottom.lines.first().is_some_and(|s| s.line.key <= top) && bottom.skip_rows == 0 {
        state.logs.scroll = Scroll::Follow;
    }
}

fn step_match(state: &mut AppState, forward: bool) {
    if state.logs.store.search().is_none() {
        state.notify(NoticeLevel::Info, "no search: press '/' first");
        return;
    }
    let view = state.logs.store.view(state.logs.scope);
    let from = state.logs.current_match;
    let next = if forward {
        view.next_match(from)
    } else {
        view.prev_match(from)
    };
    match next {
        Some(k) => {
            state.logs.current_match = Some(k);
            reveal(state, k);
        }
        None => {
            let which = if forward { "newer" } else { "older" };
            state.notify(NoticeLevel::Info, format!("no {which} match"));
        }
    }
}

fn on_mouse(state: &mut AppState, m: MouseEvent) -> Vec<Command> {
    let a = views::layout(state, Rect::new(0, 0, state.size.0, state.size.1));
    let at = Position::new(m.column, m.row);
    let in_services = a.services.contains(at);
    match m.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            let down = m.kind == MouseEventKind::ScrollDown;
            if in_services {
                return on_action(
                    state,
                    if down {
                        Action::SelectNext
                    } else {
                        Action::SelectPrev
                    },
                );
            }
            if down {
                scroll_down(state, WHEEL_LINES)
            } else {
                scroll_up(state, WHEEL_LINES)
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if in_services {
                state.focus = Focus::Services;
                // Rows start below the top border and the header.
                let body = views::services::table_rows(state, a.services.height);
                let first = views::services::first_visible(state, body);
                let row = m.row.saturating_sub(a.services.y + 2) as usize;
                if m.row >= a.services.y + 2 && row < body {
                    let i = first + row;
                    if i < state.services.len() && i != state.selected {
                        state.selected = i;
                        if matches!(state.logs.scope, Scope::Service(_))
                            && let Some(idx) = state.selected_idx()
                        {
                            set_scope(state, Scope::Service(idx));
                        }
                    }
                }
            } else if a.logs.contains(at) {
                state.focus = Focus::Logs;
            }
        }
        _ => return Vec::new(),
    }
    state.dirty = true;
    Vec::new()
}

fn on_engine(state: &mut AppState, e: EngineEvent) -> Vec<Command> {
    state.dirty = true;
    match e {
        EngineEvent::Progress { service, progress } => {
            if let Some(row) = state.row_mut(&service) {
                row.progress = if matches!(progress, Progress::Done | Progress::Ready(_)) {
                    None
                } else {
                    Some(progress)
                };
            }
        }
        EngineEvent::Container(info) => on_container(state, info),
        EngineEvent::ContainerRemoved { service, id } => {
            if let Some(row) = state.row_mut(&service)
                && row.container.as_ref().is_some_and(|c| c.id == id)
            {
                row.container = None;
                row.stats = None;
            }
        }
        EngineEvent::HealthLog {
            service,
            container,
            failing_streak,
            probe,
        } => {
            // A late report about a replaced container must not describe the new one.
            if let Some(row) = state.row_mut(&service)
                && row.container.as_ref().is_some_and(|c| c.id == container)
            {
                row.health_log = Some(HealthLog {
                    failing_streak,
                    probe,
                });
            }
        }
        EngineEvent::Stats {
            service,
            cpu_percent,
            memory_bytes,
            memory_limit,
        } => {
            if let Some(row) = state.row_mut(&service) {
                row.stats = Some(ContainerStats {
                    cpu_percent,
                    memory_bytes,
                    memory_limit,
                });
            }
        }
        EngineEvent::DaemonLost { reason } => state.daemon = Daemon::Lost { reason },
        EngineEvent::DaemonBack => {
            state.daemon = Daemon::Connected;
            return vec![Command::ResumeLogs(resume_points(state))];
        }
        EngineEvent::UpFinished { error } => {
            // `up` is over: nothing pulls, builds or waits any more. A row that failed
            // keeps its reason until its container shows otherwise.
            for row in &mut state.services {
                if !matches!(row.progress, Some(Progress::Failed { .. })) {
                    row.progress = None;
                }
            }
            match error {
                None => {
                    state.up = UpState::Ready;
                    state.notify(
                        NoticeLevel::Info,
                        format!("{}: all services ready", state.project),
                    );
                }
                Some(reason) => {
                    state.notify_about(
                        NoticeLevel::Error,
                        format!("up failed: {reason}"),
                        Some(About::UpFailed),
                    );
                    state.up = UpState::Failed(reason);
                }
            }
        }
        EngineEvent::Notice { level, message } => state.notify(level, message),
    }
    Vec::new()
}

/// A container's new state on its service's row, and a marker line in the logs where
/// the container changed: a new one (recreated), an exit, a restart.
fn on_container(state: &mut AppState, info: ContainerInfo) {
    let service = info.service.clone();
    let Some(row) = state.row_mut(&service) else {
        return;
    };
    let prev = row.container.take();
    let last_id = row.last_container_id.replace(info.id.clone());
    let markers = container_markers(prev.as_ref(), last_id.as_ref(), &info);
    forget_stale(row, prev.as_ref(), last_id.as_ref(), &info);
    // Old probe failures are noise once the service is healthy again.
    if info.health == Health::Healthy {
        row.health_log = None;
    }
    row.container = Some(info);
    expire_notices(state);
    for (ts, text) in markers {
        // A marker goes after what the old container printed: no earlier than
        // its last line (the store keeps order, this keeps the shown time sane).
        let last = state.logs.store.last_ts(&service).unwrap_or(0);
        state.logs.store.push_marker(&service, ts.max(last), text);
    }
}

/// Everything shown about a service describes its current container's current run:
/// probe results, a stop under way, a failure of an earlier attempt go when they no
/// longer do.
fn forget_stale(
    row: &mut super::state::ServiceRow,
    prev: Option<&ContainerInfo>,
    last_id: Option<&ContainerId>,
    info: &ContainerInfo,
) {
    let new_container = last_id.is_some_and(|id| *id != info.id);
    let new_run = new_container || prev.is_some_and(|p| p.started_at != info.started_at);
    if new_run {
        row.health_log = None;
    }
    if new_run || info.state != ContainerState::Running {
        row.stopping = None;
    }
    let ready = info.state == ContainerState::Running
        && matches!(info.health, Health::Healthy | Health::None);
    match &row.progress {
        Some(Progress::Failed { .. }) if new_container || ready => row.progress = None,
        Some(Progress::WaitingHealthy { .. }) if info.health != Health::Starting => {
            row.progress = None
        }
        _ => {}
    }
}

/// The marker lines (timestamp in nanoseconds, text) a container's new state calls for,
/// against the row's previous container and the last container id it showed.
fn container_markers(
    prev: Option<&ContainerInfo>,
    last_id: Option<&ContainerId>,
    info: &ContainerInfo,
) -> Vec<(i64, String)> {
    let mut markers: Vec<(i64, String)> = Vec::new();
    let started_nanos = info.started_at.map(|s| s.saturating_mul(1_000_000_000));
    if last_id.is_some_and(|id| *id != info.id) {
        markers.push((
            started_nanos.unwrap_or(0),
            format!("— new container {} —", info.id.short()),
        ));
    } else if let Some(p) = prev {
        if p.state != ContainerState::Exited && info.state == ContainerState::Exited {
            markers.push((
                0,
                format!(
                    "— container exited with code {} —",
                    info.exit_code.unwrap_or(0)
                ),
            ));
        }
        if p.started_at.is_some()
            && info.started_at != p.started_at
            && info.state == ContainerState::Running
        {
            markers.push((
                started_nanos.unwrap_or(0),
                "— container restarted —".to_string(),
            ));
        }
    }
    markers
}

/// Where each service's logs resume after the daemon came back: after the last line
/// seen.
fn resume_points(state: &mut AppState) -> Vec<(ServiceName, Option<i64>)> {
    state
        .services
        .iter()
        .map(|r| (r.name.clone(), state.logs.store.resume(&r.name)))
        .collect()
}
