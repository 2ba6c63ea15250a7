//! Dialogs that wait for `y`: the quit dialog (stop the stack or leave it running) and
//! the reset confirmation (which volumes, used by which services; `s` snapshots them
//! first), and the snapshot dialog of `S`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};
use unicode_width::UnicodeWidthStr;

use super::super::state::{AppState, PendingAction, VolumeUse};
use super::style;
use super::text::{self, Styled};

pub fn render(state: &AppState, pending: &PendingAction, buf: &mut Buffer, area: Rect) {
    let (title, lines) = match pending {
        PendingAction::StopAndQuit => (" Quit devstack ", quit_lines(state)),
        PendingAction::Reset { volumes } => {
            let mut lines = Vec::new();
            lines.push(plain(
                Style::new().add_modifier(Modifier::BOLD),
                "Delete all data in these volumes?",
            ));
            for v in volumes {
                let users: Vec<&str> = v.services.iter().map(|s| s.as_str()).collect();
                let mut l = Styled::new();
                l.push(style::WARN, format!("  {}", v.name));
                if !users.is_empty() {
                    l.push(style::DIM, format!("  used by {}", users.join(", ")));
                }
                lines.push(l);
            }
            lines.push(plain(
                style::DIM,
                "Their services stop, the volumes are recreated empty,",
            ));
            lines.push(plain(
                style::DIM,
                "then the services start again (init services rerun).",
            ));
            lines.push(Styled::new());
            lines.push(keys(&[("y", "reset"), ("n/Esc", "cancel")]));
            lines.push(keys(&[("s", "snapshot first, then reset")]));
            (" Reset volumes ", lines)
        }
        PendingAction::Snapshot { volumes } => {
            (" Snapshot volumes ", snapshot_lines(state, volumes))
        }
    };
    let content_w = lines.iter().map(|l| l.plain().width()).max().unwrap_or(0);
    let w = u16::try_from(content_w)
        .unwrap_or(u16::MAX)
        .saturating_add(4)
        .min(area.width);
    let h = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(area.height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::WARN)
        .title_top(Line::from(title).style(style::WARN.add_modifier(Modifier::BOLD)));
    let inner = super::overlay(buf, area, w, h, block);
    let inner = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(1),
        inner.height,
    );
    for (i, l) in lines.iter().enumerate() {
        text::draw(buf, inner, i as u16, l, false, 0);
    }
}

fn snapshot_lines(state: &AppState, volumes: &[VolumeUse]) -> Vec<Styled> {
    let mut lines = vec![plain(
        Style::new().add_modifier(Modifier::BOLD),
        "Copy these volumes into a snapshot?",
    )];
    for v in volumes {
        let users: Vec<&str> = v.services.iter().map(|s| s.as_str()).collect();
        let mut l = Styled::new();
        l.push(Style::new(), format!("  {}", v.name));
        if !users.is_empty() {
            l.push(style::DIM, format!("  used by {}", users.join(", ")));
        }
        lines.push(l);
    }
    lines.push(plain(
        style::DIM,
        "Their services stop for the copy and start again after;",
    ));
    lines.push(plain(
        style::DIM,
        format!("'{} snapshot restore NAME' puts it back.", state.cli),
    ));
    lines.push(Styled::new());
    let mut k = vec![("y", "snapshot")];
    if volumes.len() < state.volumes.len() {
        k.push(("a", "all volumes"));
    }
    k.push(("n/Esc", "cancel"));
    lines.push(keys(&k));
    lines
}

fn quit_lines(state: &AppState) -> Vec<Styled> {
    let running = state
        .services
        .iter()
        .filter(|r| r.status().is_running())
        .count();
    vec![
        plain(
            Style::new().add_modifier(Modifier::BOLD),
            format!("Stop the stack '{}' before quitting?", state.project),
        ),
        plain(
            style::DIM,
            format!(
                "{running} of {} services are running.",
                state.services.len()
            ),
        ),
        Styled::new(),
        keys(&[("y", "stop them, then quit")]),
        keys(&[("n", "quit, leave them running")]),
        keys(&[("Esc", "stay")]),
    ]
}

fn plain(st: Style, s: impl Into<String>) -> Styled {
    let mut l = Styled::new();
    l.push(st, s);
    l
}

fn keys(items: &[(&str, &str)]) -> Styled {
    let mut l = Styled::new();
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            l.push(Style::new(), "   ");
        }
        l.push(style::KEY, format!("[{k}]"));
        l.push(Style::new(), format!(" {v}"));
    }
    l
}
