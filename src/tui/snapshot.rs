//! Volume snapshots from the UI: `S` asks which volumes (the selected service's, or all)
//! and the reset dialog offers a snapshot first. Pure; the app performs
//! [`Command::Snapshot`] through `ops::snapshot`, its progress arriving as notices.

use crate::model::NoticeLevel;

use super::state::{AppState, Mode, PendingAction, VolumeUse};
use super::update::Command;

/// `S`: the dialog for the selected service's volumes; all of them when it mounts none.
pub fn open(state: &mut AppState) -> Vec<Command> {
    if state.volumes.is_empty() {
        state.notify(
            NoticeLevel::Info,
            "this stack has no named volumes to snapshot",
        );
        return Vec::new();
    }
    let selected = state.selected_row().map(|r| r.name.clone());
    let mine: Vec<VolumeUse> = state
        .volumes
        .iter()
        .filter(|v| selected.as_ref().is_some_and(|s| v.services.contains(s)))
        .cloned()
        .collect();
    let volumes = if mine.is_empty() {
        state.volumes.clone()
    } else {
        mine
    };
    state.mode = Mode::Confirm(PendingAction::Snapshot { volumes });
    Vec::new()
}

/// A key in the snapshot dialog or the reset dialog's `s`; `None` when the key is not
/// one of these.
pub fn on_confirm(state: &mut AppState, pending: &PendingAction, c: char) -> Option<Vec<Command>> {
    let (volumes, then_reset) = match (pending, c) {
        (PendingAction::Snapshot { volumes }, 'y' | 'Y' | 'S') => (volumes, false),
        (PendingAction::Snapshot { volumes }, 'a') if volumes.len() < state.volumes.len() => {
            state.mode = Mode::Confirm(PendingAction::Snapshot {
                volumes: state.volumes.clone(),
            });
            return Some(Vec::new());
        }
        (PendingAction::Reset { volumes }, 's') => (volumes, true),
        _ => return None,
    };
    let keys: Vec<String> = volumes.iter().map(|v| v.key.clone()).collect();
    let what = if then_reset {
        "snapshot, then reset"
    } else {
        "snapshot"
    };
    state.notify(
        NoticeLevel::Info,
        format!(
            "{what}: {} (services using them stop for the copy)",
            keys.join(", ")
        ),
    );
    state.mode = Mode::Normal;
    Some(vec![Command::Snapshot {
        volumes: keys,
        then_reset,
    }])
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::model::ServiceName;
    use crate::tui::update::{Event, update};

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    /// The fixture with a second volume that only the last service mounts.
    fn two_volumes() -> AppState {
        let mut s = AppState::fixture();
        let last = s.services.last().map(|r| r.name.clone());
        s.volumes.push(VolumeUse {
            key: "cache".into(),
            name: "shop_cache".into(),
            services: last.into_iter().collect(),
        });
        s
    }

    fn keys(pending: &Mode) -> Vec<&str> {
        match pending {
            Mode::Confirm(PendingAction::Snapshot { volumes }) => {
                volumes.iter().map(|v| v.key.as_str()).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn s_snapshots_the_selected_services_volumes_or_all() {
        let mut s = two_volumes();
        s.selected = s.services.len() - 1;
        assert_eq!(update(&mut s, key('S')), vec![]);
        assert_eq!(keys(&s.mode), ["cache"]);
        // `a` widens to every volume; `y` sends it.
        update(&mut s, key('a'));
        let all: Vec<String> = s.volumes.iter().map(|v| v.key.clone()).collect();
        assert_eq!(keys(&s.mode).len(), all.len());
        assert_eq!(
            update(&mut s, key('y')),
            vec![Command::Snapshot {
                volumes: all,
                then_reset: false
            }]
        );
        assert_eq!(s.mode, Mode::Normal);
        assert!(s.notices.iter().any(|n| n.message.starts_with("snapshot:")));
    }

    #[test]
    fn a_service_without_volumes_snapshots_all_and_esc_cancels() {
        let mut s = two_volumes();
        let bare = ServiceName::new("bare");
        s.services.insert(0, crate::tui::ServiceRow::new(bare, "x"));
        s.selected = 0;
        update(&mut s, key('S'));
        assert_eq!(keys(&s.mode).len(), s.volumes.len());
        let esc = Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(update(&mut s, esc), vec![]);
        assert_eq!(s.mode, Mode::Normal);
    }

    #[test]
    fn the_reset_dialog_offers_a_snapshot_first() {
        let mut s = two_volumes();
        update(&mut s, key('R'));
        let all: Vec<String> = s.volumes.iter().map(|v| v.key.clone()).collect();
        assert_eq!(
            update(&mut s, key('s')),
            vec![Command::Snapshot {
                volumes: all,
                then_reset: true
            }]
        );
        assert_eq!(s.mode, Mode::Normal);
    }

    #[test]
    fn no_volumes_no_dialog() {
        let mut s = AppState::fixture();
        s.volumes.clear();
        update(&mut s, key('S'));
        assert_eq!(s.mode, Mode::Normal);
        assert!(
            s.notices
                .iter()
                .any(|n| n.message.contains("no named volumes"))
        );
    }
}
