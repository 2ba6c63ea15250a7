//! The doctor in the UI: a badge on each service row with findings, and the Doctor view
//! (`D`) listing them (file:line, level, the one-line fix) for the selected service or
//! the whole stack. Pure, like the rest of `update`.
//!
//! The file checks (`ops::doctor::analyse`) arrive from the app at start and after a
//! watched Dockerfile or the stack file changes, as [`DoctorAnswer::Findings`]; the slower
//! daemon part (image layers, container users) is asked for only when the view opens.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::doctor::{Finding, Level};
use crate::model::ServiceName;

use super::state::{AppState, Mode};
use super::update::Command;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoctorView {
    /// `None` until the first analysis answers.
    pub findings: Option<Vec<Finding>>,
    /// Why the last analysis failed (an unreadable Dockerfile, say).
    pub error: Option<String>,
    /// Every finding of the stack rather than the selected service's.
    pub all: bool,
    /// Rows scrolled from the top of the list.
    pub scroll: usize,
    /// The daemon's part, once asked for.
    pub inspection: Option<Result<Inspection, String>>,
    /// An inspection is out; no second one is asked for meanwhile.
    pub inspecting: bool,
}

/// What the daemon knows, worded for the view by the app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    pub images: Vec<ImageSummary>,
    /// `(service, user)`; an empty user is the image's default, root.
    pub users: Vec<(ServiceName, String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub reference: String,
    pub size: u64,
    pub layers: usize,
    /// The three biggest layers: size and the instruction that made each.
    pub biggest: Vec<(u64, String)>,
}

/// What comes back from the app.
#[derive(Debug, Clone, PartialEq)]
pub enum DoctorAnswer {
    Findings(Result<Vec<Finding>, String>),
    Inspection(Result<Inspection, String>),
}

/// A service's findings: how many and the worst level; `None` without any.
pub fn badge(state: &AppState, service: &ServiceName) -> Option<(Level, usize)> {
    let findings = state.doctor.findings.as_ref()?;
    let mine = findings
        .iter()
        .filter(|f| f.service.as_deref() == Some(service.as_str()));
    let (worst, n) = mine.fold((None::<Level>, 0), |(w, n), f| {
        (Some(w.map_or(f.level, |w| w.min(f.level))), n + 1)
    });
    worst.map(|w| (w, n))
}

/// The findings the view lists now: the selected service's, or all.
pub fn shown(state: &AppState) -> Vec<&Finding> {
    let Some(findings) = &state.doctor.findings else {
        return Vec::new();
    };
    let selected = state.selected_row().map(|r| r.name.as_str());
    findings
        .iter()
        .filter(|f| state.doctor.all || (f.service.is_some() && f.service.as_deref() == selected))
        .collect()
}

/// `D`: opens the view on the selected service (on the whole stack when it has no
/// finding of its own) and asks the daemon for its part.
pub fn open(state: &mut AppState) -> Vec<Command> {
    state.doctor.scroll = 0;
    state.doctor.all = false;
    let has_own = state
        .selected_row()
        .is_some_and(|r| badge(state, &r.name).is_some());
    state.doctor.all = !has_own;
    state.mode = Mode::Doctor;
    inspect(state)
}

fn inspect(state: &mut AppState) -> Vec<Command> {
    if state.doctor.inspecting {
        return Vec::new();
    }
    state.doctor.inspecting = true;
    vec![Command::DoctorInspect]
}

/// Keys of the view: `j`/`k` scroll, `a` selected service / all, `g` asks the daemon
/// again, `Esc`/`q`/`D` close.
pub fn on_key(state: &mut AppState, k: KeyEvent) -> Vec<Command> {
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    match k.code {
        _ if ctrl_c => state.mode = Mode::Normal,
        KeyCode::Esc | KeyCode::Char('q' | 'D') => state.mode = Mode::Normal,
        KeyCode::Char('j') | KeyCode::Down => state.doctor.scroll += 1,
        KeyCode::Char('k') | KeyCode::Up => {
            state.doctor.scroll = state.doctor.scroll.saturating_sub(1)
        }
        KeyCode::Char('a') => {
            state.doctor.all = !state.doctor.all;
            state.doctor.scroll = 0;
        }
        KeyCode::Char('g') => return inspect(state),
        _ => state.dirty = false,
    }
    Vec::new()
}

pub fn on_answer(state: &mut AppState, answer: DoctorAnswer) -> Vec<Command> {
    match answer {
        DoctorAnswer::Findings(Ok(findings)) => {
            state.doctor.findings = Some(findings);
            state.doctor.error = None;
        }
        // The last good findings stay (badges do not flicker off while a file is being
        // edited); the view says why they may be stale.
        DoctorAnswer::Findings(Err(e)) => state.doctor.error = Some(e),
        DoctorAnswer::Inspection(result) => {
            state.doctor.inspecting = false;
            state.doctor.inspection = Some(result);
        }
    }
    state.dirty = true;
    Vec::new()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::doctor::Check;
    use crate::tui::update::{Event, update};

    pub(crate) fn finding(service: Option<&str>, level: Level, line: usize) -> Finding {
        Finding {
            check: Check::RootUser,
            level,
            file: PathBuf::from("pipeline/Dockerfile"),
            line: Some(line),
            service: service.map(str::to_string),
            message: "the final stage runs as root".into(),
            fix: "add 'USER app' after creating the user".into(),
        }
    }

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn a_badge_counts_a_services_findings_and_shows_the_worst() {
        let mut s = AppState::fixture();
        let name = s.services[0].name.clone();
        assert_eq!(badge(&s, &name), None);
        update(
            &mut s,
            Event::Doctor(DoctorAnswer::Findings(Ok(vec![
                finding(Some(name.as_str()), Level::Warning, 1),
                finding(Some(name.as_str()), Level::Error, 2),
                finding(Some("other"), Level::Error, 3),
                finding(None, Level::Info, 4),
            ]))),
        );
        assert_eq!(badge(&s, &name), Some((Level::Error, 2)));
        // A failed re-analysis keeps the last findings and says why.
        update(
            &mut s,
            Event::Doctor(DoctorAnswer::Findings(Err("cannot read".into()))),
        );
        assert_eq!(badge(&s, &name), Some((Level::Error, 2)));
        assert_eq!(s.doctor.error.as_deref(), Some("cannot read"));
    }

    #[test]
    fn d_opens_the_view_asks_the_daemon_once_and_a_toggles_all() {
        let mut s = AppState::fixture();
        let name = s.services[0].name.clone();
        update(
            &mut s,
            Event::Doctor(DoctorAnswer::Findings(Ok(vec![
                finding(Some(name.as_str()), Level::Warning, 1),
                finding(None, Level::Info, 4),
            ]))),
        );
        assert_eq!(update(&mut s, key('D')), vec![Command::DoctorInspect]);
        assert_eq!(s.mode, Mode::Doctor);
        assert!(!s.doctor.all);
        assert_eq!(shown(&s).len(), 1);
        // Closed and opened again before the daemon answered: not asked twice.
        update(&mut s, key('q'));
        assert_eq!(s.mode, Mode::Normal);
        assert_eq!(update(&mut s, key('D')), vec![]);
        update(&mut s, key('a'));
        assert_eq!(shown(&s).len(), 2);
        update(
            &mut s,
            Event::Doctor(DoctorAnswer::Inspection(Ok(Inspection::default()))),
        );
        assert_eq!(update(&mut s, key('g')), vec![Command::DoctorInspect]);
        // Keys of the view do not reach the services underneath.
        assert_eq!(update(&mut s, key('r')), vec![]);
        assert_eq!(s.mode, Mode::Doctor);
    }

    #[test]
    fn the_view_opens_on_the_whole_stack_when_the_service_has_no_finding() {
        let mut s = AppState::fixture();
        update(
            &mut s,
            Event::Doctor(DoctorAnswer::Findings(Ok(vec![finding(
                None,
                Level::Warning,
                1,
            )]))),
        );
        update(&mut s, key('D'));
        assert!(s.doctor.all);
        assert_eq!(shown(&s).len(), 1);
    }
}
