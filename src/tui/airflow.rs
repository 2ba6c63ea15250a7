//! The Airflow view (`A` from the services pane): its state, and what its keys, the
//! api-server's answers and the clock do to it. Pure, like the rest of `update`; the app
//! performs the [`AirflowRequest`]s through `ops::airflow` and answers with
//! [`AirflowAnswer`]s.
//!
//! It refreshes every [`REFRESH_SECS`] while shown and not at all while hidden, and after
//! each change it asks for (pause, trigger, clear). A DAG file saved while it is shown
//! replaces the flat interval with [`AFTER_SAVE_SECS`] until the dag-processor's result
//! for that file shows in an answer.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::airflow::{Overview, TaskInstance};
use crate::model::NoticeLevel;

use super::keymap::{self, Action};
use super::state::{AppState, Mode};
use super::update::Command;

/// Seconds between refreshes while the view is shown: modest, Airflow's own UI polls
/// faster, and a run's state moves in seconds, not milliseconds.
pub const REFRESH_SECS: i64 = 10;

/// Seconds after a DAG file's save at which the view asks again: the dag-processor
/// re-reads a changed file once its `min_file_process_interval` (30 s by default) has
/// passed since the last read, so the schedule spans past it; past the last step the
/// flat interval takes over.
pub const AFTER_SAVE_SECS: [i64; 8] = [1, 3, 6, 10, 20, 30, 45, 60];

/// DAG files saved while the view was shown, whose parse result is awaited.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// As the user names them (relative to the stack's folder).
    pub files: Vec<String>,
    /// Unix seconds of the save.
    pub at: i64,
    /// The answer on screen at the save: one that differs from it is news.
    pub before: Option<Overview>,
    /// Index into [`AFTER_SAVE_SECS`] of the next refresh.
    pub next: usize,
}

impl Saved {
    /// `dags/etl.py`, or `dags/etl.py and 2 more`.
    pub fn what(&self) -> String {
        match self.files.as_slice() {
            [] => "a DAG file".to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        }
    }

    fn names_file(&self, path: &str) -> bool {
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
        self.files.iter().any(|f| base(f) == base(path))
    }
}

/// Whether `after` holds the dag-processor's result for the save: an import error came
/// or went, a DAG came or went, or a saved file's DAG or import error is dated at or
/// after the save.
pub fn parse_result_arrived(saved: &Saved, after: &Overview) -> bool {
    use std::collections::BTreeSet;
    let errors = |o: &Overview| -> BTreeSet<(String, String)> {
        o.import_errors
            .iter()
            .map(|e| (e.filename.clone(), e.stack_trace.clone()))
            .collect()
    };
    let dags = |o: &Overview| -> BTreeSet<String> {
        o.dags.iter().map(|(d, _)| d.dag_id.clone()).collect()
    };
    if let Some(before) = &saved.before
        && (errors(before) != errors(after) || dags(before) != dags(after))
    {
        return true;
    }
    let since = |t: Option<&str>| {
        t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t.timestamp() >= saved.at)
    };
    after
        .dags
        .iter()
        .any(|(d, _)| saved.names_file(&d.fileloc) && since(d.last_parsed_time.as_deref()))
        || after
            .import_errors
            .iter()
            .any(|e| saved.names_file(&e.filename) && since(e.timestamp.as_deref()))
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AirflowView {
    /// The stack has an api-server to ask (set by the app from the stack).
    pub available: bool,
    pub url: Option<String>,
    pub overview: Option<Overview>,
    /// Why the last refresh failed (the api-server still starting, a refused login).
    pub error: Option<String>,
    /// Index into `overview.dags`.
    pub selected: usize,
    /// Unix seconds of the last refresh asked for.
    pub asked_at: i64,
    /// A refresh is out; no second one is asked for meanwhile.
    pub loading: bool,
    /// `Enter`: the task instances of the selected DAG's last run.
    pub tasks: Option<RunTasks>,
    /// `T`: the JSON conf being typed for a run of the selected DAG.
    pub conf_prompt: Option<String>,
    /// A DAG file saved while shown, its parse result not in yet.
    pub saved: Option<Saved>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunTasks {
    pub dag_id: String,
    pub run_id: String,
    pub tasks: Vec<TaskInstance>,
    /// The task `j`/`k` move over while the tasks are shown; `Enter` shows its log.
    pub selected: usize,
    /// The try whose log `Enter` shows (`[`/`]`); `None`: the task's latest.
    pub try_number: Option<u32>,
}

impl RunTasks {
    /// The selected task and the try to show: `(task_id, try, map_index)`.
    pub fn selected_try(&self) -> Option<(String, u32, i64)> {
        let ti = self.tasks.get(self.selected)?;
        let t = self.try_number.unwrap_or(ti.try_number).min(ti.try_number);
        Some((ti.task_id.clone(), t, ti.map_index))
    }
}

impl AirflowView {
    pub fn selected_dag(&self) -> Option<&(crate::airflow::Dag, Option<crate::airflow::DagRun>)> {
        self.overview.as_ref()?.dags.get(self.selected)
    }
}

/// What the view asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AirflowRequest {
    /// Health, import errors, DAGs and their last runs.
    Refresh,
    SetPaused {
        dag_id: String,
        paused: bool,
    },
    /// `conf`: a JSON object's text, checked before it is sent.
    Trigger {
        dag_id: String,
        conf: Option<String>,
    },
    ClearFailed {
        dag_id: String,
        run_id: String,
    },
    /// The logs of these tasks of one run: `(task_id, try_number, map_index)`.
    RunLogs {
        dag_id: String,
        run_id: String,
        tasks: Vec<(String, u32, i64)>,
    },
    /// The task instances of one run.
    Tasks {
        dag_id: String,
        run_id: String,
    },
}

/// What comes back.
#[derive(Debug, Clone, PartialEq)]
pub enum AirflowAnswer {
    Overview {
        url: String,
        result: Result<Overview, String>,
    },
    Tasks {
        dag_id: String,
        run_id: String,
        result: Result<Vec<TaskInstance>, String>,
    },
    /// A run's task logs, for the logs pane under the name `source`.
    RunLogs {
        source: String,
        result: Result<Vec<String>, String>,
    },
    /// A change was made (or refused); `what` words it for the notice.
    Done {
        what: String,
        result: Result<(), String>,
    },
}

fn refresh(state: &mut AppState) -> Vec<Command> {
    if state.airflow.loading {
        return Vec::new();
    }
    state.airflow.loading = true;
    state.airflow.asked_at = state.now_unix;
    let mut out = vec![Command::Airflow(AirflowRequest::Refresh)];
    if let Some(t) = &state.airflow.tasks {
        out.push(Command::Airflow(AirflowRequest::Tasks {
            dag_id: t.dag_id.clone(),
            run_id: t.run_id.clone(),
        }));
    }
    out
}

/// `A`: open the view and ask for its data at once.
pub fn open(state: &mut AppState) -> Vec<Command> {
    if !state.airflow.available {
        state.notify(
            NoticeLevel::Info,
            "this stack has no Airflow api-server (an 'apache/airflow' image or 'x-devstack: {airflow: api-server}')",
        );
        return Vec::new();
    }
    state.mode = Mode::Airflow;
    refresh(state)
}

/// Typing the conf of `T`: Enter triggers when it is a JSON object, Esc cancels.
fn on_conf_key(state: &mut AppState, k: KeyEvent, ctrl_c: bool) -> Vec<Command> {
    let view = &mut state.airflow;
    let Some(text) = view.conf_prompt.as_mut() else {
        return Vec::new();
    };
    match k.code {
        _ if ctrl_c => view.conf_prompt = None,
        KeyCode::Esc => view.conf_prompt = None,
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) => text.push(c),
        KeyCode::Enter => {
            let conf = text.clone();
            let Some((dag, _)) = view.selected_dag() else {
                view.conf_prompt = None;
                return Vec::new();
            };
            let dag_id = dag.dag_id.clone();
            match serde_json::from_str::<serde_json::Value>(&conf) {
                Ok(serde_json::Value::Object(_)) => {
                    view.conf_prompt = None;
                    return vec![Command::Airflow(AirflowRequest::Trigger {
                        dag_id,
                        conf: Some(conf),
                    })];
                }
                Ok(_) => state.notify(
                    NoticeLevel::Error,
                    "a DAG run's conf is a JSON object, e.g. {\"day\": \"2026-12-01\"}",
                ),
                Err(e) => state.notify(NoticeLevel::Error, format!("not JSON: {e}")),
            }
        }
        _ => state.dirty = false,
    }
    Vec::new()
}

pub fn on_key(state: &mut AppState, k: KeyEvent) -> Vec<Command> {
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    if state.airflow.conf_prompt.is_some() {
        return on_conf_key(state, k, ctrl_c);
    }
    let action = if ctrl_c {
        Some(Action::Cancel)
    } else {
        keymap::airflow_action_for(&k)
    };
    let view = &mut state.airflow;
    if let Some(t) = view.tasks.as_mut() {
        // A run's tasks shown: the keys move over them and pick one's log.
        let latest = t.tasks.get(t.selected).map_or(0, |ti| ti.try_number);
        match action {
            Some(Action::Cancel) => view.tasks = None,
            Some(Action::SelectNext) => {
                t.selected = (t.selected + 1).min(t.tasks.len().saturating_sub(1));
                t.try_number = None;
            }
            Some(Action::SelectPrev) => {
                t.selected = t.selected.saturating_sub(1);
                t.try_number = None;
            }
            Some(Action::AirflowTryPrev) => {
                t.try_number = Some(t.try_number.unwrap_or(latest).saturating_sub(1).max(1));
            }
            Some(Action::AirflowTryNext) => {
                t.try_number = Some((t.try_number.unwrap_or(latest) + 1).min(latest));
            }
            Some(Action::AirflowTasks) => {
                let (dag_id, run_id) = (t.dag_id.clone(), t.run_id.clone());
                return match t.selected_try() {
                    Some((task, 0, _)) => {
                        state.notify(NoticeLevel::Info, format!("'{task}' has not run yet"));
                        Vec::new()
                    }
                    Some(one) => vec![Command::Airflow(AirflowRequest::RunLogs {
                        dag_id,
                        run_id,
                        tasks: vec![one],
                    })],
                    None => Vec::new(),
                };
            }
            _ => return on_dag_key(state, action),
        }
        return Vec::new();
    }
    on_dag_key(state, action)
}

/// A key on the DAG list (no run's tasks shown), or one the task list leaves to it.
fn on_dag_key(state: &mut AppState, action: Option<Action>) -> Vec<Command> {
    let count = state.airflow.overview.as_ref().map_or(0, |o| o.dags.len());
    let view = &mut state.airflow;
    match action {
        Some(Action::Cancel) => state.mode = Mode::Normal,
        Some(Action::SelectNext) => {
            view.selected = (view.selected + 1).min(count.saturating_sub(1));
            view.tasks = None;
        }
        Some(Action::SelectPrev) => {
            view.selected = view.selected.saturating_sub(1);
            view.tasks = None;
        }
        Some(Action::AirflowTasks) => match view.selected_dag() {
            Some((dag, Some(run))) => {
                return vec![Command::Airflow(AirflowRequest::Tasks {
                    dag_id: dag.dag_id.clone(),
                    run_id: run.dag_run_id.clone(),
                })];
            }
            Some((dag, None)) => {
                let text = format!("'{}' has not run yet: 't' triggers it", dag.dag_id);
                state.notify(NoticeLevel::Info, text);
            }
            None => {}
        },
        Some(Action::AirflowRefresh) => return refresh(state),
        Some(Action::AirflowPause) => {
            if let Some((dag, _)) = view.selected_dag() {
                return vec![Command::Airflow(AirflowRequest::SetPaused {
                    dag_id: dag.dag_id.clone(),
                    paused: !dag.is_paused,
                })];
            }
        }
        Some(Action::AirflowTrigger) => {
            if let Some((dag, _)) = view.selected_dag() {
                return vec![Command::Airflow(AirflowRequest::Trigger {
                    dag_id: dag.dag_id.clone(),
                    conf: None,
                })];
            }
        }
        Some(Action::AirflowLogs) => match &view.tasks {
            Some(t) => {
                return vec![Command::Airflow(AirflowRequest::RunLogs {
                    dag_id: t.dag_id.clone(),
                    run_id: t.run_id.clone(),
                    tasks: t
                        .tasks
                        .iter()
                        .map(|ti| (ti.task_id.clone(), ti.try_number, ti.map_index))
                        .collect(),
                })];
            }
            None => state.notify(
                NoticeLevel::Info,
                "Enter first: the logs are those of the run whose tasks are shown",
            ),
        },
        Some(Action::AirflowTriggerConf) => {
            if view.selected_dag().is_some() {
                view.conf_prompt = Some("{}".to_string());
            }
        }
        Some(Action::AirflowClear) => match view.selected_dag() {
            Some((dag, Some(run))) if run.state == "failed" => {
                return vec![Command::Airflow(AirflowRequest::ClearFailed {
                    dag_id: dag.dag_id.clone(),
                    run_id: run.dag_run_id.clone(),
                })];
            }
            Some((dag, _)) => {
                let text = format!(
                    "the last run of '{}' did not fail: nothing to clear",
                    dag.dag_id
                );
                state.notify(NoticeLevel::Info, text);
            }
            None => {}
        },
        _ => state.dirty = false,
    }
    Vec::new()
}

pub fn on_answer(state: &mut AppState, answer: AirflowAnswer) -> Vec<Command> {
    state.dirty = true;
    match answer {
        AirflowAnswer::Overview { url, result } => {
            let view = &mut state.airflow;
            view.loading = false;
            view.url = Some(url);
            let arrived = match (&view.saved, &result) {
                (Some(saved), Ok(o)) => parse_result_arrived(saved, o),
                _ => false,
            };
            match result {
                Ok(o) => {
                    view.selected = view.selected.min(o.dags.len().saturating_sub(1));
                    view.overview = Some(o);
                    view.error = None;
                }
                // The last good data stays on screen under the error.
                Err(e) => view.error = Some(e),
            }
            if arrived {
                view.saved = None;
            } else if let Some(saved) = view.saved.take_if(|s| s.next >= AFTER_SAVE_SECS.len()) {
                let last = AFTER_SAVE_SECS[AFTER_SAVE_SECS.len() - 1];
                state.notify(
                    NoticeLevel::Info,
                    format!(
                        "no parse result for {} {last} s after the save, though Airflow re-reads a changed file every min_file_process_interval (30 s by default): the dag-processor may be busy or down (the view keeps refreshing every {REFRESH_SECS} s)",
                        saved.what()
                    ),
                );
            }
            Vec::new()
        }
        AirflowAnswer::Tasks {
            dag_id,
            run_id,
            result,
        } => {
            match result {
                Ok(tasks) => {
                    // A refresh of the same run keeps the task and try picked.
                    let (selected, try_number) = match &state.airflow.tasks {
                        Some(t) if t.dag_id == dag_id && t.run_id == run_id => {
                            (t.selected.min(tasks.len().saturating_sub(1)), t.try_number)
                        }
                        _ => (0, None),
                    };
                    state.airflow.tasks = Some(RunTasks {
                        dag_id,
                        run_id,
                        tasks,
                        selected,
                        try_number,
                    })
                }
                Err(e) => state.notify(
                    NoticeLevel::Error,
                    format!("tasks of '{dag_id}' run '{run_id}': {e}"),
                ),
            }
            Vec::new()
        }
        AirflowAnswer::RunLogs { source, result } => {
            match result {
                Ok(lines) => {
                    let service = crate::model::ServiceName::new(source);
                    let idx = state.logs.store.add_service(&service);
                    // Ordered as Airflow sent them, at the time they arrived.
                    let base = state.now_unix.saturating_mul(1_000_000_000);
                    let batch = lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, text)| crate::model::LogLine {
                            service: service.clone(),
                            ts_nanos: base.saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
                            stream: crate::model::Stream::Stdout,
                            text,
                        })
                        .collect();
                    state.logs.store.push_batch(batch);
                    super::update::set_scope(state, crate::logs::Scope::Service(idx));
                    state.mode = Mode::Normal;
                    state.focus = super::state::Focus::Logs;
                }
                Err(e) => state.notify(NoticeLevel::Error, format!("task logs: {e}")),
            }
            Vec::new()
        }
        AirflowAnswer::Done { what, result } => {
            match result {
                Ok(()) => state.notify(NoticeLevel::Info, what),
                Err(e) => state.notify(NoticeLevel::Error, format!("{what}: {e}")),
            }
            if state.mode == Mode::Airflow {
                refresh(state)
            } else {
                Vec::new()
            }
        }
    }
}

/// DAG files were saved: while the view is shown, wait for their parse result on the
/// [`AFTER_SAVE_SECS`] schedule; hidden, nothing.
pub fn on_dags_saved(state: &mut AppState, files: Vec<String>, at: i64) -> Vec<Command> {
    if state.mode != Mode::Airflow {
        return Vec::new();
    }
    state.dirty = true;
    state.airflow.saved = Some(Saved {
        files,
        at,
        before: state.airflow.overview.clone(),
        next: 0,
    });
    Vec::new()
}

/// Once a second: a refresh when due, and only while the view is shown.
pub fn on_tick(state: &mut AppState) -> Vec<Command> {
    if state.mode != Mode::Airflow {
        // A save awaited when the view was left is not news when it is opened again.
        state.airflow.saved = None;
        return Vec::new();
    }
    let now = state.now_unix;
    let loading = state.airflow.loading;
    if let Some(saved) = state.airflow.saved.as_mut() {
        // "saved N s ago" moves.
        state.dirty = true;
        if loading {
            return Vec::new();
        }
        let mut due = false;
        while AFTER_SAVE_SECS
            .get(saved.next)
            .is_some_and(|after| now >= saved.at + after)
        {
            saved.next += 1;
            due = true;
        }
        return if due { refresh(state) } else { Vec::new() };
    }
    if now - state.airflow.asked_at >= REFRESH_SECS {
        refresh(state)
    } else {
        Vec::new()
    }
}

/// A fixed Airflow state for tests and snapshots: an import error, three DAGs (one
/// paused, one whose last run failed), a triggerer that is down.
#[cfg(test)]
pub fn fixture_overview() -> Overview {
    use crate::airflow::api::{self, ImportError};
    let health = api::parse_health(
        br#"{"metadatabase":{"status":"healthy"},"scheduler":{"status":"healthy","latest_scheduler_heartbeat":"2026-12-01T23:20:01+00:00"},"triggerer":{"status":null,"latest_triggerer_heartbeat":null},"dag_processor":{"status":"healthy","latest_dag_processor_heartbeat":"2026-12-01T23:20:00+00:00"}}"#,
    )
    .unwrap_or_default();
    let dags = api::parse_dags(
        br#"{"dags":[{"dag_id":"hello","is_paused":true,"next_dagrun_run_after":"2026-12-02T00:00:00Z"},{"dag_id":"load_warehouse","is_paused":false,"next_dagrun_run_after":"2026-12-01T23:30:00Z"},{"dag_id":"nightly_report","is_paused":false}]}"#,
    )
    .unwrap_or_default();
    let runs = api::parse_dag_runs(
        br#"{"dag_runs":[{"dag_run_id":"scheduled__2026-12-01T23:00:00+00:00","dag_id":"load_warehouse","state":"success","run_after":"2026-12-01T23:00:00Z","start_date":"2026-12-01T23:00:02Z"},{"dag_run_id":"manual__2026-12-01T22:10:00+00:00","dag_id":"nightly_report","state":"failed","run_after":"2026-12-01T22:10:00Z","start_date":"2026-12-01T22:10:01Z"}]}"#,
    )
    .unwrap_or_default();
    let errors = vec![ImportError {
        filename: "dags/broken.py".into(),
        timestamp: None,
        stack_trace: "Traceback (most recent call last):\n  File \"dags/broken.py\", line 3\n    def broken(:\n               ^\nSyntaxError: invalid syntax\n".into(),
    }];
    Overview::join(health, errors, dags, runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::update::{Event, update};

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn shown() -> AppState {
        let mut s = AppState::fixture();
        s.airflow.available = true;
        assert_eq!(
            update(&mut s, key('A')),
            vec![Command::Airflow(AirflowRequest::Refresh)]
        );
        assert_eq!(s.mode, Mode::Airflow);
        update(
            &mut s,
            Event::Airflow(AirflowAnswer::Overview {
                url: "http://127.0.0.1:8080".into(),
                result: Ok(fixture_overview()),
            }),
        );
        s
    }

    #[test]
    fn a_stack_without_airflow_says_so() {
        let mut s = AppState::fixture();
        assert!(update(&mut s, key('A')).is_empty());
        assert_eq!(s.mode, Mode::Normal);
        assert!(
            s.notices
                .iter()
                .any(|n| n.message.contains("no Airflow api-server"))
        );
    }

    #[test]
    fn keys_pause_trigger_and_clear_the_selected_dag() {
        let mut s = shown();
        assert_eq!(
            update(&mut s, key('p')),
            vec![Command::Airflow(AirflowRequest::SetPaused {
                dag_id: "hello".into(),
                paused: false
            })]
        );
        // The last run of 'hello' did not fail: nothing to clear.
        assert!(update(&mut s, key('c')).is_empty());
        update(&mut s, key('j'));
        update(&mut s, key('j'));
        update(&mut s, key('j'));
        assert_eq!(s.airflow.selected, 2, "stops at the last DAG");
        assert_eq!(
            update(&mut s, key('t')),
            vec![Command::Airflow(AirflowRequest::Trigger {
                dag_id: "nightly_report".into(),
                conf: None
            })]
        );
        // `T`: a conf typed, checked, sent; the keys typed are text, not commands.
        update(&mut s, key('T'));
        assert_eq!(s.airflow.conf_prompt.as_deref(), Some("{}"));
        update(
            &mut s,
            Event::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
        );
        for c in "\"p\": 1".chars() {
            assert!(update(&mut s, key(c)).is_empty());
        }
        let enter = Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert!(
            update(&mut s, enter.clone()).is_empty(),
            "not yet an object"
        );
        assert!(s.notices.iter().any(|n| n.message.contains("not JSON")));
        update(&mut s, key('}'));
        assert_eq!(
            update(&mut s, enter),
            vec![Command::Airflow(AirflowRequest::Trigger {
                dag_id: "nightly_report".into(),
                conf: Some("{\"p\": 1}".into())
            })]
        );
        assert_eq!(s.airflow.conf_prompt, None);
        assert_eq!(
            update(&mut s, key('c')),
            vec![Command::Airflow(AirflowRequest::ClearFailed {
                dag_id: "nightly_report".into(),
                run_id: "manual__2026-12-01T22:10:00+00:00".into()
            })]
        );
        // A change done refreshes the view at once.
        let after = update(
            &mut s,
            Event::Airflow(AirflowAnswer::Done {
                what: "cleared the failed run of 'nightly_report'".into(),
                result: Ok(()),
            }),
        );
        assert_eq!(after, vec![Command::Airflow(AirflowRequest::Refresh)]);
        update(
            &mut s,
            Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        assert_eq!(s.mode, Mode::Normal);
    }

    #[test]
    fn enter_asks_for_the_tasks_of_the_last_run_and_the_clock_keeps_them_fresh() {
        let mut s = shown();
        let enter = Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        // 'hello' never ran.
        assert!(update(&mut s, enter.clone()).is_empty());
        update(&mut s, key('j'));
        let ask = Command::Airflow(AirflowRequest::Tasks {
            dag_id: "load_warehouse".into(),
            run_id: "scheduled__2026-12-01T23:00:00+00:00".into(),
        });
        assert_eq!(update(&mut s, enter), vec![ask.clone()]);
        let tasks = crate::airflow::api::parse_task_instances(
            br#"{"task_instances":[{"task_id":"extract","state":"success","duration":2.5,"try_number":1}]}"#,
        )
        .unwrap();
        update(
            &mut s,
            Event::Airflow(AirflowAnswer::Tasks {
                dag_id: "load_warehouse".into(),
                run_id: "scheduled__2026-12-01T23:00:00+00:00".into(),
                result: Ok(tasks),
            }),
        );
        assert_eq!(s.airflow.tasks.as_ref().map(|t| t.tasks.len()), Some(1));
        s.airflow.loading = false;
        let now = s.now_unix;
        assert_eq!(
            update(
                &mut s,
                Event::Tick {
                    now_unix: now + REFRESH_SECS
                }
            ),
            vec![Command::Airflow(AirflowRequest::Refresh), ask]
        );
        // `l`: the run's task logs go to the logs pane, shown there.
        assert_eq!(
            update(&mut s, key('l')),
            vec![Command::Airflow(AirflowRequest::RunLogs {
                dag_id: "load_warehouse".into(),
                run_id: "scheduled__2026-12-01T23:00:00+00:00".into(),
                tasks: vec![("extract".into(), 1, -1)],
            })]
        );
        update(
            &mut s,
            Event::Airflow(AirflowAnswer::RunLogs {
                source: "airflow:load_warehouse".into(),
                result: Ok(vec!["── extract ──".into(), "rows loaded: 5000".into()]),
            }),
        );
        assert_eq!(s.mode, Mode::Normal);
        assert_eq!(s.focus, super::super::state::Focus::Logs);
        let idx = s
            .logs
            .store
            .service_idx(&crate::model::ServiceName::new("airflow:load_warehouse"))
            .unwrap();
        assert_eq!(s.logs.scope, crate::logs::Scope::Service(idx));
        s.mode = Mode::Airflow;
        // Esc leaves the run's tasks for the DAG list; another DAG has other runs.
        update(
            &mut s,
            Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        assert!(s.airflow.tasks.is_none());
        assert_eq!(s.mode, Mode::Airflow);
        update(&mut s, key('k'));
        assert_eq!(s.airflow.selected, 0);
    }

    #[test]
    fn on_a_runs_tasks_enter_shows_the_selected_tasks_log_of_the_try_picked() {
        let mut s = shown();
        update(&mut s, key('j'));
        let tasks = crate::airflow::api::parse_task_instances(
            br#"{"task_instances":[{"task_id":"extract","state":"success","duration":2.5,"try_number":1},{"task_id":"load","state":"success","duration":4.0,"try_number":3},{"task_id":"report","state":null,"try_number":0}]}"#,
        )
        .unwrap();
        let (dag_id, run_id) = (
            "load_warehouse".to_string(),
            "scheduled__2026-12-01T23:00:00+00:00".to_string(),
        );
        update(
            &mut s,
            Event::Airflow(AirflowAnswer::Tasks {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                result: Ok(tasks.clone()),
            }),
        );
        let enter = Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let logs_of = |task: &str, try_number: u32| {
            vec![Command::Airflow(AirflowRequest::RunLogs {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                tasks: vec![(task.to_string(), try_number, -1)],
            })]
        };
        assert_eq!(update(&mut s, enter.clone()), logs_of("extract", 1));
        // j/k move over the tasks now, not the DAGs.
        update(&mut s, key('j'));
        assert_eq!(s.airflow.tasks.as_ref().map(|t| t.selected), Some(1));
        assert_eq!(s.airflow.selected, 1, "the DAG stays selected");
        assert_eq!(update(&mut s, enter.clone()), logs_of("load", 3));
        update(&mut s, key('['));
        update(&mut s, key('['));
        update(&mut s, key('['));
        assert_eq!(
            update(&mut s, enter.clone()),
            logs_of("load", 1),
            "try 1 at least"
        );
        update(&mut s, key(']'));
        assert_eq!(update(&mut s, enter.clone()), logs_of("load", 2));
        // A refresh of the same run keeps the task and the try.
        update(
            &mut s,
            Event::Airflow(AirflowAnswer::Tasks {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                result: Ok(tasks),
            }),
        );
        assert_eq!(update(&mut s, enter.clone()), logs_of("load", 2));
        // A task that has not run has no log to ask for.
        update(&mut s, key('j'));
        assert!(update(&mut s, enter).is_empty());
        assert!(
            s.notices
                .iter()
                .any(|n| n.message.contains("has not run yet"))
        );
    }

    #[test]
    fn refreshes_on_the_clock_only_while_shown_and_one_at_a_time() {
        let mut s = shown();
        let now = s.now_unix;
        assert!(
            update(
                &mut s,
                Event::Tick {
                    now_unix: now + REFRESH_SECS - 1
                }
            )
            .is_empty()
        );
        assert_eq!(
            update(
                &mut s,
                Event::Tick {
                    now_unix: now + REFRESH_SECS
                }
            ),
            vec![Command::Airflow(AirflowRequest::Refresh)]
        );
        // Still out: no second request.
        assert!(
            update(
                &mut s,
                Event::Tick {
                    now_unix: now + 3 * REFRESH_SECS
                }
            )
            .is_empty()
        );
        update(
            &mut s,
            Event::Airflow(AirflowAnswer::Overview {
                url: "http://127.0.0.1:8080".into(),
                result: Err("the api-server is starting".into()),
            }),
        );
        assert!(
            s.airflow.overview.is_some(),
            "the last data stays under the error"
        );
        assert_eq!(
            s.airflow.error.as_deref(),
            Some("the api-server is starting")
        );
        update(&mut s, key('q'));
        assert_eq!(s.mode, Mode::Normal);
        assert!(
            update(
                &mut s,
                Event::Tick {
                    now_unix: now + 100 * REFRESH_SECS
                }
            )
            .is_empty()
        );
    }

    fn tick(s: &mut AppState, now_unix: i64) -> Vec<Command> {
        update(s, Event::Tick { now_unix })
    }

    fn answer(s: &mut AppState, o: Overview) {
        update(
            s,
            Event::Airflow(AirflowAnswer::Overview {
                url: "http://127.0.0.1:8080".into(),
                result: Ok(o),
            }),
        );
    }

    /// A save while shown: refreshes at +1, +3, +6, +10, … +60 s instead of every 10 s,
    /// ticks in between ask nothing, and the schedule ends once the saved file's DAG is
    /// parsed after the save; then the flat interval again.
    #[test]
    fn a_saved_dag_is_asked_for_on_the_schedule_until_its_parse_result_arrives() {
        let mut s = shown();
        let t0 = s.now_unix;
        let refresh = vec![Command::Airflow(AirflowRequest::Refresh)];
        let saved = Event::DagsSaved {
            files: vec!["dags/load_warehouse.py".into()],
            at: t0 + 2,
        };
        assert!(update(&mut s, saved).is_empty());
        assert!(s.dirty);
        let mut asked = Vec::new();
        for now in t0 + 2..=t0 + 2 + 10 {
            if tick(&mut s, now) == refresh {
                asked.push(now - (t0 + 2));
                // Nothing changed yet: the same answer as before the save.
                answer(&mut s, fixture_overview());
            }
        }
        assert_eq!(asked, vec![1, 3, 6, 10], "the schedule, not the flat 10 s");
        assert!(s.airflow.saved.is_some(), "still waiting");
        // The dag-processor parsed the file after the save: the next answer ends it.
        let mut parsed = fixture_overview();
        for (d, _) in &mut parsed.dags {
            d.fileloc = format!("/opt/airflow/dags/{}.py", d.dag_id);
        }
        parsed.dags[1].0.last_parsed_time = Some(
            chrono::DateTime::from_timestamp(t0 + 2 + 15, 0)
                .unwrap()
                .to_rfc3339(),
        );
        assert_eq!(tick(&mut s, t0 + 2 + 20), refresh);
        answer(&mut s, parsed.clone());
        assert_eq!(s.airflow.saved, None, "the result is in");
        // Back to the flat interval from the last refresh.
        assert!(tick(&mut s, t0 + 2 + 20 + REFRESH_SECS - 1).is_empty());
        assert_eq!(tick(&mut s, t0 + 2 + 20 + REFRESH_SECS), refresh);
    }

    #[test]
    fn a_new_import_error_ends_the_wait_early_and_no_news_ends_it_after_the_last_step() {
        let mut s = shown();
        let t0 = s.now_unix;
        update(
            &mut s,
            Event::DagsSaved {
                files: vec!["dags/broken.py".into(), "dags/other.py".into()],
                at: t0,
            },
        );
        assert_eq!(
            s.airflow.saved.as_ref().map(Saved::what).as_deref(),
            Some("dags/broken.py and 1 more")
        );
        assert_eq!(
            tick(&mut s, t0 + 1),
            vec![Command::Airflow(AirflowRequest::Refresh)]
        );
        // The error is gone: news.
        let mut fixed = fixture_overview();
        fixed.import_errors.clear();
        answer(&mut s, fixed.clone());
        assert_eq!(s.airflow.saved, None);

        // Another save whose file never shows a change: after the last step the wait
        // ends with a notice rather than a line that never goes.
        update(
            &mut s,
            Event::DagsSaved {
                files: vec!["dags/etl.py".into()],
                at: t0 + 5,
            },
        );
        // A late tick runs the steps already due as one refresh.
        assert_eq!(
            tick(&mut s, t0 + 5 + 60),
            vec![Command::Airflow(AirflowRequest::Refresh)]
        );
        answer(&mut s, fixed);
        assert_eq!(s.airflow.saved, None);
        assert!(
            s.notices
                .iter()
                .any(|n| n.message.contains("no parse result for dags/etl.py 60 s"))
        );
    }

    #[test]
    fn saves_while_the_view_is_hidden_ask_nothing() {
        let mut s = shown();
        let t0 = s.now_unix;
        update(
            &mut s,
            Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        assert_eq!(s.mode, Mode::Normal);
        s.dirty = false;
        let saved = Event::DagsSaved {
            files: vec!["dags/etl.py".into()],
            at: t0,
        };
        assert!(update(&mut s, saved.clone()).is_empty());
        assert_eq!(s.airflow.saved, None);
        assert!(!s.dirty, "nothing to redraw");
        for now in t0..t0 + 30 {
            assert!(tick(&mut s, now).is_empty());
        }
        // Shown, then left while waiting: the wait is dropped, nothing more is asked.
        s.airflow.loading = false;
        update(&mut s, key('A'));
        s.airflow.loading = false;
        update(&mut s, saved);
        assert!(s.airflow.saved.is_some());
        update(&mut s, key('q'));
        assert!(tick(&mut s, t0 + 1).is_empty());
        assert_eq!(s.airflow.saved, None);
    }
}
