//! Keys to actions, in one table. The footer and the `?` help overlay are generated from
//! this same table, so what the screen says a key does is what it does.
//!
//! Only Normal-mode keys live here; text prompts and dialogs read keys themselves (they
//! are typing, not commands). No behaviour here: `update` decides what an action does.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::Focus;

/// Everything a key can ask for in Normal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// The tests list the variants from the type itself, so a new action without a key fails.
#[cfg_attr(test, derive(strum::EnumIter))]
pub enum Action {
    SelectNext,
    SelectPrev,
    ScrollDown,
    ScrollUp,
    PageDown,
    PageUp,
    Top,
    Bottom,
    SwitchPane,
    ShowSelectedLogs,
    ShowAllLogs,
    Restart,
    StopStart,
    Exec,
    ExecCommand,
    DbConsole,
    Endpoints,
    Reset,
    /// `S`: snapshot volumes (asks which).
    Snapshot,
    /// `D`: the doctor's findings.
    Doctor,
    Search,
    SearchNext,
    SearchPrev,
    Filter,
    ToggleWrap,
    ToggleTimestamps,
    ToggleRawJson,
    Cancel,
    Help,
    /// `m`: every notice of the session, whole.
    Messages,
    Quit,
    StopAndQuit,
    /// `A`: the Airflow view.
    Airflow,
    AirflowPause,
    AirflowTrigger,
    AirflowClear,
    AirflowRefresh,
    AirflowTasks,
    AirflowTriggerConf,
    AirflowLogs,
    /// `[`/`]` on a task: an earlier or later try's log.
    AirflowTryPrev,
    AirflowTryNext,
    /// `u`: the Runs view of the selected job.
    Runs,
    RunsMark,
    RunsDiff,
    RunsRerun,
}

/// Where a binding applies: in the focused pane, or anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Services,
    Logs,
    Anywhere,
    /// In the Airflow view (its own mode, whatever the focus).
    Airflow,
    /// In the Runs view.
    Runs,
}

impl Context {
    fn applies(self, focus: Focus) -> bool {
        match self {
            Self::Anywhere => true,
            Self::Services => focus == Focus::Services,
            Self::Logs => focus == Focus::Logs,
            Self::Airflow | Self::Runs => false,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Services => "Services pane",
            Self::Logs => "Logs pane",
            Self::Anywhere => "Anywhere",
            Self::Airflow => "Airflow view",
            Self::Runs => "Runs view",
        }
    }
}

/// A key: a code plus whether Ctrl is held. Shift is part of the character (`R`, `?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn key(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

impl Key {
    /// The table's form of a terminal key event; `None` for releases and Alt chords.
    pub fn from_event(ev: &KeyEvent) -> Option<Self> {
        if ev.kind == KeyEventKind::Release || ev.modifiers.contains(KeyModifiers::ALT) {
            return None;
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let code = match ev.code {
            // Some terminals report Ctrl-c as upper-case with Shift.
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            other => other,
        };
        Some(Self { code, ctrl })
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in help.
    pub label: &'static str,
    pub action: Action,
    pub context: Context,
    pub help: &'static str,
    /// Short form for the footer: `(keys, word, priority)`, lower priority shown first
    /// and kept longest; `None` keeps it to the help overlay.
    pub footer: Option<(&'static str, &'static str, u8)>,
}

const fn bind(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    context: Context,
    help: &'static str,
    footer: Option<(&'static str, &'static str, u8)>,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        context,
        help,
        footer,
    }
}

use Action as A;
use Context as C;

/// The table. Order is the footer's priority and the help overlay's order.
pub const BINDINGS: &[Binding] = &[
    bind(
        &[ch('j'), key(KeyCode::Down)],
        "j ↓",
        A::SelectNext,
        C::Services,
        "select next service",
        Some(("j/k", "select", 0)),
    ),
    bind(
        &[ch('k'), key(KeyCode::Up)],
        "k ↑",
        A::SelectPrev,
        C::Services,
        "select previous service",
        None,
    ),
    bind(
        &[key(KeyCode::Enter)],
        "Enter",
        A::ShowSelectedLogs,
        C::Services,
        "logs of selected service",
        Some(("⏎", "logs", 1)),
    ),
    bind(
        &[ch('A')],
        "A",
        A::Airflow,
        C::Services,
        "Airflow DAGs, errors, health",
        Some(("A", "airflow", 11)),
    ),
    bind(
        &[ch('u')],
        "u",
        A::Runs,
        C::Services,
        "a job's runs, diff, rerun",
        Some(("u", "runs", 12)),
    ),
    bind(
        &[ch('j'), key(KeyCode::Down)],
        "j ↓",
        A::ScrollDown,
        C::Logs,
        "scroll down",
        Some(("j/k", "scroll", 0)),
    ),
    bind(
        &[ch('k'), key(KeyCode::Up)],
        "k ↑",
        A::ScrollUp,
        C::Logs,
        "scroll up (pauses follow)",
        None,
    ),
    bind(
        &[key(KeyCode::Tab), key(KeyCode::BackTab)],
        "Tab",
        A::SwitchPane,
        C::Anywhere,
        "switch pane",
        Some(("Tab", "pane", 8)),
    ),
    bind(
        &[ch('a')],
        "a",
        A::ShowAllLogs,
        C::Anywhere,
        "logs of all services, merged",
        Some(("a", "all", 7)),
    ),
    bind(
        &[ch('r')],
        "r",
        A::Restart,
        C::Anywhere,
        "restart selected service",
        Some(("r", "restart", 2)),
    ),
    bind(
        &[ch('s')],
        "s",
        A::StopStart,
        C::Anywhere,
        "stop/start selected service",
        Some(("s", "stop/start", 3)),
    ),
    bind(
        &[ch('x')],
        "x",
        A::Exec,
        C::Anywhere,
        "shell in selected service",
        Some(("x", "shell", 4)),
    ),
    bind(
        &[ch('X')],
        "X",
        A::ExecCommand,
        C::Anywhere,
        "run a command in it",
        None,
    ),
    bind(
        &[ch('p')],
        "p",
        A::DbConsole,
        C::Anywhere,
        "database console (psql)",
        None,
    ),
    bind(
        &[ch('e')],
        "e",
        A::Endpoints,
        C::Anywhere,
        "UI and DB URLs, code folders",
        Some(("e", "endpoints", 10)),
    ),
    bind(
        &[ch('m')],
        "m",
        A::Messages,
        C::Anywhere,
        "every message, whole",
        None,
    ),
    bind(
        &[ch('R')],
        "R",
        A::Reset,
        C::Anywhere,
        "reset volumes (asks first)",
        None,
    ),
    bind(
        &[ch('S')],
        "S",
        A::Snapshot,
        C::Anywhere,
        "snapshot volumes (asks)",
        None,
    ),
    bind(
        &[ch('D')],
        "D",
        A::Doctor,
        C::Anywhere,
        "Dockerfile/stack findings",
        None,
    ),
    bind(
        &[ch('/')],
        "/",
        A::Search,
        C::Anywhere,
        "search the logs",
        Some(("/", "search", 5)),
    ),
    bind(
        &[ch('n')],
        "n",
        A::SearchNext,
        C::Anywhere,
        "next match (newer)",
        None,
    ),
    bind(
        &[ch('N')],
        "N",
        A::SearchPrev,
        C::Anywhere,
        "previous match (older)",
        None,
    ),
    bind(
        &[ch('f')],
        "f",
        A::Filter,
        C::Anywhere,
        "show only matching lines",
        Some(("f", "filter", 6)),
    ),
    bind(
        &[ch('w')],
        "w",
        A::ToggleWrap,
        C::Anywhere,
        "wrap long lines",
        None,
    ),
    bind(
        &[ch('t')],
        "t",
        A::ToggleTimestamps,
        C::Anywhere,
        "show timestamps",
        None,
    ),
    bind(
        &[ch('J')],
        "J",
        A::ToggleRawJson,
        C::Anywhere,
        "JSON lines: raw / compact",
        None,
    ),
    bind(
        &[key(KeyCode::PageDown)],
        "PgDn",
        A::PageDown,
        C::Anywhere,
        "page down",
        None,
    ),
    bind(
        &[key(KeyCode::PageUp)],
        "PgUp",
        A::PageUp,
        C::Anywhere,
        "page up (pauses follow)",
        None,
    ),
    bind(
        &[ch('g'), key(KeyCode::Home)],
        "g Home",
        A::Top,
        C::Anywhere,
        "oldest line",
        None,
    ),
    bind(
        &[ch('G'), key(KeyCode::End)],
        "G End",
        A::Bottom,
        C::Anywhere,
        "newest line, follow",
        Some(("G", "follow", 9)),
    ),
    bind(
        &[key(KeyCode::Esc)],
        "Esc",
        A::Cancel,
        C::Anywhere,
        "dismiss; clear search/filter",
        None,
    ),
    bind(
        &[ch('?')],
        "?",
        A::Help,
        C::Anywhere,
        "this help",
        Some(("?", "help", 20)),
    ),
    bind(
        &[ch('q'), ctrl('c')],
        "q Ctrl-C",
        A::Quit,
        C::Anywhere,
        "quit, stack keeps running",
        Some(("q", "quit", 21)),
    ),
    bind(
        &[ch('Q')],
        "Q",
        A::StopAndQuit,
        C::Anywhere,
        "stop stack, then quit (asks)",
        None,
    ),
    bind(
        &[ch('j'), key(KeyCode::Down)],
        "j ↓",
        A::SelectNext,
        C::Airflow,
        "select next DAG",
        Some(("j/k", "select", 0)),
    ),
    bind(
        &[ch('k'), key(KeyCode::Up)],
        "k ↑",
        A::SelectPrev,
        C::Airflow,
        "select previous DAG",
        None,
    ),
    bind(
        &[ch('p')],
        "p",
        A::AirflowPause,
        C::Airflow,
        "pause/unpause selected DAG",
        Some(("p", "pause", 1)),
    ),
    bind(
        &[ch('t')],
        "t",
        A::AirflowTrigger,
        C::Airflow,
        "trigger a run now",
        Some(("t", "trigger", 2)),
    ),
    bind(
        &[ch('T')],
        "T",
        A::AirflowTriggerConf,
        C::Airflow,
        "trigger with a JSON conf",
        None,
    ),
    bind(
        &[ch('c')],
        "c",
        A::AirflowClear,
        C::Airflow,
        "clear its failed last run",
        Some(("c", "clear", 3)),
    ),
    bind(
        &[key(KeyCode::Enter)],
        "Enter",
        A::AirflowTasks,
        C::Airflow,
        "tasks of its last run",
        Some(("⏎", "tasks", 4)),
    ),
    bind(
        &[ch('l')],
        "l",
        A::AirflowLogs,
        C::Airflow,
        "its tasks' logs → logs pane",
        Some(("l", "logs", 5)),
    ),
    bind(
        &[ch('[')],
        "[",
        A::AirflowTryPrev,
        C::Airflow,
        "earlier try of the task",
        None,
    ),
    bind(
        &[ch(']')],
        "]",
        A::AirflowTryNext,
        C::Airflow,
        "later try of the task",
        Some(("[ ]", "try", 6)),
    ),
    bind(
        &[ch('g')],
        "g",
        A::AirflowRefresh,
        C::Airflow,
        "refresh now",
        None,
    ),
    bind(
        &[key(KeyCode::Esc), ch('q'), ch('A')],
        "Esc q",
        A::Cancel,
        C::Airflow,
        "close the Airflow view",
        Some(("Esc", "close", 9)),
    ),
    bind(
        &[ch('j'), key(KeyCode::Down)],
        "j ↓",
        A::SelectNext,
        C::Runs,
        "select an older run",
        Some(("j/k", "select", 0)),
    ),
    bind(
        &[ch('k'), key(KeyCode::Up)],
        "k ↑",
        A::SelectPrev,
        C::Runs,
        "select a newer run",
        None,
    ),
    bind(
        &[ch('d')],
        "d",
        A::RunsDiff,
        C::Runs,
        "log / diff of last lines",
        Some(("d", "log/diff", 1)),
    ),
    bind(
        &[ch(' ')],
        "Space",
        A::RunsMark,
        C::Runs,
        "mark the run to diff with",
        Some(("Space", "mark", 2)),
    ),
    bind(
        &[ch('r')],
        "r",
        A::RunsRerun,
        C::Runs,
        "run the job again",
        Some(("r", "rerun", 3)),
    ),
    bind(
        &[key(KeyCode::PageDown)],
        "PgDn",
        A::PageDown,
        C::Runs,
        "scroll the log down",
        Some(("PgDn/PgUp", "scroll", 4)),
    ),
    bind(
        &[key(KeyCode::PageUp)],
        "PgUp",
        A::PageUp,
        C::Runs,
        "scroll the log up",
        None,
    ),
    bind(
        &[key(KeyCode::Esc), ch('q'), ch('u')],
        "Esc q",
        A::Cancel,
        C::Runs,
        "close the Runs view",
        Some(("Esc", "close", 9)),
    ),
];

/// The action of a key in Normal mode with this focus.
pub fn action_for(ev: &KeyEvent, focus: Focus) -> Option<Action> {
    let k = Key::from_event(ev)?;
    BINDINGS
        .iter()
        .find(|b| b.context.applies(focus) && b.keys.contains(&k))
        .map(|b| b.action)
}

/// The action of a key in the Airflow view.
pub fn airflow_action_for(ev: &KeyEvent) -> Option<Action> {
    let k = Key::from_event(ev)?;
    BINDINGS
        .iter()
        .find(|b| b.context == C::Airflow && b.keys.contains(&k))
        .map(|b| b.action)
}

/// The action of a key in the Runs view.
pub fn runs_action_for(ev: &KeyEvent) -> Option<Action> {
    let k = Key::from_event(ev)?;
    BINDINGS
        .iter()
        .find(|b| b.context == C::Runs && b.keys.contains(&k))
        .map(|b| b.action)
}

/// Footer hints of the Airflow view, in priority order.
pub fn airflow_footer_hints() -> Vec<(&'static str, &'static str)> {
    view_footer_hints(C::Airflow)
}

/// Footer hints of the Runs view, in priority order.
pub fn runs_footer_hints() -> Vec<(&'static str, &'static str)> {
    view_footer_hints(C::Runs)
}

fn view_footer_hints(view: Context) -> Vec<(&'static str, &'static str)> {
    let mut hints: Vec<_> = BINDINGS
        .iter()
        .filter(|b| b.context == view)
        .filter_map(|b| b.footer)
        .collect();
    hints.sort_by_key(|h| h.2);
    hints.into_iter().map(|(k, w, _)| (k, w)).collect()
}

/// Footer hints for this focus, in priority order; the last two (help, quit) are the
/// ones the footer keeps when space runs out.
pub fn footer_hints(focus: Focus) -> Vec<(&'static str, &'static str)> {
    let mut hints: Vec<_> = BINDINGS
        .iter()
        .filter(|b| b.context.applies(focus))
        .filter_map(|b| b.footer)
        .collect();
    hints.sort_by_key(|h| h.2);
    hints.into_iter().map(|(k, w, _)| (k, w)).collect()
}

/// Help overlay sections: context title and its `(keys, help)` rows. The Airflow view's
/// keys are in its own footer, which is generated from this table too: the `?` overlay
/// must fit 80x24.
pub fn help_sections() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    [C::Services, C::Logs, C::Anywhere]
        .into_iter()
        .map(|c| {
            let rows = BINDINGS
                .iter()
                .filter(|b| b.context == c)
                .map(|b| (b.label, b.help))
                .collect();
            (c.title(), rows)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn same_key_means_one_thing_per_focus() {
        for focus in [Focus::Services, Focus::Logs] {
            let live: Vec<_> = BINDINGS
                .iter()
                .filter(|b| b.context.applies(focus))
                .collect();
            for (i, a) in live.iter().enumerate() {
                for b in &live[i + 1..] {
                    for k in a.keys {
                        assert!(
                            !b.keys.contains(k),
                            "{k:?} bound to {:?} and {:?} in {focus:?}",
                            a.action,
                            b.action
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn j_selects_or_scrolls_by_focus_and_shift_is_part_of_the_char() {
        let j = ev(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(action_for(&j, Focus::Services), Some(Action::SelectNext));
        assert_eq!(action_for(&j, Focus::Logs), Some(Action::ScrollDown));
        let big_r = ev(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&big_r, Focus::Services), Some(Action::Reset));
        let ctrl_c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c, Focus::Logs), Some(Action::Quit));
        let alt_q = ev(KeyCode::Char('q'), KeyModifiers::ALT);
        assert_eq!(action_for(&alt_q, Focus::Logs), None);
    }

    #[test]
    fn every_action_has_a_key_and_help() {
        use strum::IntoEnumIterator;
        let all: Vec<Action> = Action::iter().collect();
        assert!(all.contains(&Action::StopAndQuit), "{all:?}");
        for a in all {
            let b = BINDINGS.iter().find(|b| b.action == a);
            assert!(
                b.is_some_and(|b| !b.keys.is_empty() && !b.help.is_empty()),
                "{a:?}"
            );
        }
        let helped: usize = help_sections().iter().map(|(_, rows)| rows.len()).sum();
        let in_view_footer = BINDINGS
            .iter()
            .filter(|b| matches!(b.context, C::Airflow | C::Runs))
            .count();
        assert_eq!(helped + in_view_footer, BINDINGS.len());
        // Each key of the Airflow view is either in its footer or on a key in it.
        assert!(airflow_footer_hints().len() >= 4);
    }

    #[test]
    fn help_texts_fit_the_overlay_at_80_columns() {
        for b in BINDINGS {
            assert!(
                b.help.chars().count() <= 28,
                "{:?} help too long: {}",
                b.action,
                b.help
            );
            assert!(
                b.label.chars().count() <= 9,
                "{:?} label too long",
                b.action
            );
        }
    }

    #[test]
    fn airflow_view_keys_are_its_own() {
        let p = ev(KeyCode::Char('p'), KeyModifiers::NONE);
        assert_eq!(airflow_action_for(&p), Some(Action::AirflowPause));
        assert_eq!(action_for(&p, Focus::Services), Some(Action::DbConsole));
        let esc = ev(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(airflow_action_for(&esc), Some(Action::Cancel));
        let big_a = ev(KeyCode::Char('A'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&big_a, Focus::Services), Some(Action::Airflow));
        let hints = airflow_footer_hints();
        assert_eq!(hints[..2], [("j/k", "select"), ("p", "pause")]);
        let live: Vec<_> = BINDINGS
            .iter()
            .filter(|b| b.context == C::Airflow)
            .collect();
        for (i, a) in live.iter().enumerate() {
            for b in &live[i + 1..] {
                assert!(a.keys.iter().all(|k| !b.keys.contains(k)), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn runs_view_keys_are_its_own() {
        let r = ev(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(runs_action_for(&r), Some(Action::RunsRerun));
        assert_eq!(action_for(&r, Focus::Services), Some(Action::Restart));
        let u = ev(KeyCode::Char('u'), KeyModifiers::NONE);
        assert_eq!(action_for(&u, Focus::Services), Some(Action::Runs));
        assert_eq!(runs_action_for(&u), Some(Action::Cancel));
        let hints = runs_footer_hints();
        assert_eq!(hints[..2], [("j/k", "select"), ("d", "log/diff")]);
        let live: Vec<_> = BINDINGS.iter().filter(|b| b.context == C::Runs).collect();
        for (i, a) in live.iter().enumerate() {
            for b in &live[i + 1..] {
                assert!(a.keys.iter().all(|k| !b.keys.contains(k)), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn footer_ends_with_help_and_quit() {
        for focus in [Focus::Services, Focus::Logs] {
            let hints = footer_hints(focus);
            assert_eq!(&hints[hints.len() - 2..], &[("?", "help"), ("q", "quit")]);
        }
    }
}
