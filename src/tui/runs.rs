//! The Runs view (`u` on a one-shot job service): its recorded runs (start, duration,
//! exit code, trigger), the selected run's own log lines or the difference of its last
//! lines from another run's, and a key to run the job again. Pure, like the rest of
//! `update`: the app loads the history from disk on [`Command::LoadRuns`] and answers with
//! `Event::RunHistory`, also after each run it records.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::{NoticeLevel, ServiceName};
use crate::runs::{DiffLine, Run, diff_last_lines};

use super::keymap::{self, Action};
use super::state::{AppState, Mode, Status};
use super::update::Command;

/// Lines of each run compared by the diff: a job says how it went at its end.
pub const DIFF_LINES: usize = 200;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunsView {
    /// The stack's job services (restart `no`, or something waits for them to complete),
    /// set from the stack: the view opens only on these.
    pub jobs: Vec<ServiceName>,
    /// The job shown.
    pub service: Option<ServiceName>,
    /// Its runs, newest first.
    pub runs: Vec<Run>,
    /// Index into `runs`.
    pub selected: usize,
    /// The run the diff compares against (`Space`); else the run before the selected one.
    pub base: Option<usize>,
    /// The lower part shows the diff rather than the selected run's log (`d`).
    pub diff: bool,
    /// Rows scrolled in the lower part.
    pub scroll: usize,
    /// A load is out.
    pub loading: bool,
    pub error: Option<String>,
}

impl RunsView {
    pub fn selected_run(&self) -> Option<&Run> {
        self.runs.get(self.selected)
    }

    /// The run the selected one is compared with: the marked one, else the one before.
    pub fn base_run(&self) -> Option<&Run> {
        match self.base {
            Some(b) if b != self.selected => self.runs.get(b),
            _ => self.runs.get(self.selected + 1),
        }
    }

    /// The diff of the base run's last lines (before) and the selected run's (after).
    pub fn diff_lines(&self) -> Option<Vec<DiffLine>> {
        let (after, before) = (self.selected_run()?, self.base_run()?);
        Some(diff_last_lines(&before.lines, &after.lines, DIFF_LINES))
    }
}

/// `u`: the Runs view of the selected service, when it is a job.
pub fn open(state: &mut AppState) -> Vec<Command> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    let name = row.name.clone();
    if !state.runs.jobs.contains(&name) {
        state.notify(
            NoticeLevel::Info,
            format!(
                "'{name}' is not a one-shot job (restart 'no', or a service_completed_successfully gate): it has no runs"
            ),
        );
        return Vec::new();
    }
    let view = &mut state.runs;
    if view.service.as_ref() != Some(&name) {
        view.runs.clear();
        view.selected = 0;
        view.base = None;
        view.scroll = 0;
        view.error = None;
    }
    view.service = Some(name.clone());
    view.loading = true;
    state.mode = Mode::Runs;
    vec![Command::LoadRuns(name)]
}

/// The history of `service` as read from disk, oldest first (as stored).
pub fn on_history(
    state: &mut AppState,
    service: ServiceName,
    result: Result<Vec<Run>, String>,
) -> Vec<Command> {
    let view = &mut state.runs;
    if view.service.as_ref() != Some(&service) {
        return Vec::new();
    }
    view.loading = false;
    match result {
        Ok(mut runs) => {
            runs.reverse();
            // A new run arrived on top: the same run stays selected.
            let added = runs.len().saturating_sub(view.runs.len());
            if !view.runs.is_empty() && added > 0 {
                view.selected = (view.selected + added).min(runs.len().saturating_sub(1));
                view.base = view.base.map(|b| b + added);
            }
            view.selected = view.selected.min(runs.len().saturating_sub(1));
            view.base = view.base.filter(|b| *b < runs.len());
            view.runs = runs;
            view.error = None;
        }
        Err(e) => view.error = Some(e),
    }
    if state.mode == Mode::Runs {
        state.dirty = true;
    }
    Vec::new()
}

/// `r` in the view: the job started again (recorded with trigger `key`).
fn rerun(state: &mut AppState) -> Vec<Command> {
    let Some(name) = state.runs.service.clone() else {
        return Vec::new();
    };
    let Some(status) = state.row(&name).map(|r| r.status()) else {
        return Vec::new();
    };
    match status {
        s if s.is_running() || matches!(s, Status::Restarting | Status::Paused) => {
            state.notify(
                NoticeLevel::Info,
                format!("'{name}' is running: its run is recorded when it ends"),
            );
            Vec::new()
        }
        Status::NotCreated => {
            let cli = &state.cli;
            state.notify(
                NoticeLevel::Warning,
                format!("'{name}' has no container yet: '{cli} run {name}' runs it once"),
            );
            Vec::new()
        }
        _ => {
            state.notify(NoticeLevel::Info, format!("running '{name}' again"));
            vec![Command::Start(name)]
        }
    }
}

pub fn on_key(state: &mut AppState, k: KeyEvent) -> Vec<Command> {
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    let action = if ctrl_c {
        Some(Action::Cancel)
    } else {
        keymap::runs_action_for(&k)
    };
    let view = &mut state.runs;
    let count = view.runs.len();
    match action {
        Some(Action::Cancel) => state.mode = Mode::Normal,
        Some(Action::SelectNext) => {
            view.selected = (view.selected + 1).min(count.saturating_sub(1));
            view.scroll = 0;
        }
        Some(Action::SelectPrev) => {
            view.selected = view.selected.saturating_sub(1);
            view.scroll = 0;
        }
        Some(Action::RunsMark) => {
            view.base = if view.base == Some(view.selected) {
                None
            } else {
                Some(view.selected)
            };
        }
        Some(Action::RunsDiff) => {
            view.diff = !view.diff;
            view.scroll = 0;
        }
        Some(Action::PageDown) => view.scroll += 10,
        Some(Action::PageUp) => view.scroll = view.scroll.saturating_sub(10),
        Some(Action::RunsRerun) => return rerun(state),
        _ => state.dirty = false,
    }
    Vec::new()
}

/// A few runs of the fixture's `worker` job for tests and snapshots: the newest failed,
/// the one before loaded rows.
#[cfg(test)]
pub fn fixture_runs() -> Vec<Run> {
    use crate::runs::Trigger;
    let t = super::fixture::FIXTURE_NOW * 1000;
    let run = |ago_s: i64, ms: u64, exit: i64, trigger, lines: &[&str]| Run {
        service: "worker".into(),
        started_ms: t - ago_s * 1000,
        duration_ms: ms,
        exit_code: Some(exit),
        trigger,
        lines: lines.iter().map(|l| l.to_string()).collect(),
        dropped_lines: 0,
    };
    vec![
        run(
            7200,
            2900,
            0,
            Trigger::Up,
            &["extract: 5000 rows", "load: 5000 rows", "done"],
        ),
        run(
            3600,
            3100,
            0,
            Trigger::Save,
            &["extract: 5200 rows", "load: 5200 rows", "done"],
        ),
        run(
            120,
            850,
            2,
            Trigger::Key,
            &[
                "extract: 5200 rows",
                "load: relation \"sales\" does not exist",
                "failed",
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::update::{Event, update};

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn svc(s: &str) -> ServiceName {
        ServiceName::new(s)
    }

    /// The fixture with `worker` a job, selected, its exit seen.
    fn on_worker() -> AppState {
        let mut s = AppState::fixture();
        s.runs.jobs = vec![svc("worker")];
        s.selected = s
            .services
            .iter()
            .position(|r| r.name == svc("worker"))
            .unwrap();
        s
    }

    fn shown() -> AppState {
        let mut s = on_worker();
        assert_eq!(
            update(&mut s, key('u')),
            vec![Command::LoadRuns(svc("worker"))]
        );
        assert_eq!(s.mode, Mode::Runs);
        update(
            &mut s,
            Event::RunHistory {
                service: svc("worker"),
                result: Ok(fixture_runs()),
            },
        );
        s
    }

    #[test]
    fn only_a_job_has_runs() {
        let mut s = AppState::fixture();
        assert!(update(&mut s, key('u')).is_empty());
        assert_eq!(s.mode, Mode::Normal);
        assert!(
            s.notices
                .iter()
                .any(|n| n.message.contains("not a one-shot job"))
        );
    }

    #[test]
    fn runs_are_listed_newest_first_and_diffed_with_the_one_before_or_the_marked_one() {
        let mut s = shown();
        let v = &s.runs;
        assert_eq!(v.runs[0].exit_code, Some(2), "newest first");
        assert_eq!(v.selected, 0);
        let diff = v.diff_lines().unwrap();
        assert!(diff.contains(&DiffLine::Removed("load: 5200 rows".into())));
        assert!(diff.contains(&DiffLine::Added("failed".into())));
        update(&mut s, key('d'));
        assert!(s.runs.diff);
        // Space on the oldest marks it: the newest is then compared with it.
        update(&mut s, key('j'));
        update(&mut s, key('j'));
        update(&mut s, key('j'));
        assert_eq!(s.runs.selected, 2, "stops at the oldest run");
        update(&mut s, key(' '));
        assert_eq!(s.runs.base, Some(2));
        update(&mut s, key('k'));
        update(&mut s, key('k'));
        let diff = s.runs.diff_lines().unwrap();
        assert!(diff.contains(&DiffLine::Removed("extract: 5000 rows".into())));
        // The oldest run has nothing before it to compare with.
        s.runs.base = None;
        s.runs.selected = 2;
        assert_eq!(s.runs.diff_lines(), None);
    }

    #[test]
    fn a_new_run_keeps_the_selection_on_the_same_run() {
        let mut s = shown();
        update(&mut s, key('j'));
        let before = s.runs.selected_run().cloned();
        let mut runs = fixture_runs();
        let mut newer = runs[2].clone();
        newer.started_ms += 60_000;
        newer.exit_code = Some(0);
        runs.push(newer);
        update(
            &mut s,
            Event::RunHistory {
                service: svc("worker"),
                result: Ok(runs),
            },
        );
        assert_eq!(s.runs.runs.len(), 4);
        assert_eq!(s.runs.selected_run().cloned(), before);
        // Another job's history does not land in this view.
        update(
            &mut s,
            Event::RunHistory {
                service: svc("db"),
                result: Ok(Vec::new()),
            },
        );
        assert_eq!(s.runs.runs.len(), 4);
    }

    #[test]
    fn r_runs_a_finished_job_again_and_not_a_running_one() {
        let mut s = shown();
        // The fixture's worker runs.
        assert!(update(&mut s, key('r')).is_empty());
        assert!(s.notices.iter().any(|n| n.message.contains("is running")));
        let row = s.row_mut(&svc("worker")).unwrap();
        if let Some(c) = row.container.as_mut() {
            c.state = crate::model::ContainerState::Exited;
            c.exit_code = Some(2);
        }
        assert_eq!(
            update(&mut s, key('r')),
            vec![Command::Start(svc("worker"))]
        );
        update(
            &mut s,
            Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        assert_eq!(s.mode, Mode::Normal);
        // `r` outside the view restarts the selected service, as before.
        assert_eq!(
            update(&mut s, key('r')),
            vec![Command::Restart(svc("worker"))]
        );
    }

    #[test]
    fn a_history_that_cannot_be_read_says_why() {
        let mut s = on_worker();
        update(&mut s, key('u'));
        update(
            &mut s,
            Event::RunHistory {
                service: svc("worker"),
                result: Err("run history '/x/worker.jsonl': permission denied".into()),
            },
        );
        assert_eq!(
            s.runs.error.as_deref(),
            Some("run history '/x/worker.jsonl': permission denied")
        );
        assert!(!s.runs.loading);
    }
}
