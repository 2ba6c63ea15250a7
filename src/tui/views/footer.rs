//! The footer: key hints generated from the keymap in Normal mode, the input line in
//! prompt modes, the dialog keys otherwise.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use unicode_width::UnicodeWidthStr;

use super::super::keymap;
use super::super::state::{AppState, Mode, PendingAction, Prompt};
use super::style;
use super::text::{self, Styled};

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    let line = match &state.mode {
        Mode::Normal => hints(state, area.width as usize),
        Mode::Help => fixed(&[("Esc", "close help")]),
        Mode::Endpoints => fixed(&[("Esc", "close endpoints")]),
        Mode::Messages { .. } => fixed(&[("j/k PgUp/PgDn", "scroll"), ("Esc", "close messages")]),
        Mode::PickDatabase { .. } => fixed(&[
            ("j/k", "move"),
            ("Enter/1-9", "open psql"),
            ("Esc", "cancel"),
        ]),
        Mode::Airflow => fixed(&keymap::airflow_footer_hints()),
        Mode::Runs => fixed(&keymap::runs_footer_hints()),
        Mode::Confirm(PendingAction::StopAndQuit) => fixed(&[
            ("y", "stop stack, quit"),
            ("n", "quit, leave running"),
            ("Esc", "stay"),
        ]),
        Mode::Confirm(PendingAction::Reset { .. }) => fixed(&[
            ("y", "reset"),
            ("s", "snapshot, then reset"),
            ("n/Esc", "cancel"),
        ]),
        Mode::Confirm(PendingAction::Snapshot { .. }) => {
            fixed(&[("y", "snapshot"), ("a", "all volumes"), ("n/Esc", "cancel")])
        }
        Mode::Doctor => fixed(&[
            ("j/k", "scroll"),
            ("a", "all/service"),
            ("g", "ask daemon"),
            ("Esc", "close"),
        ]),
        Mode::Search(p) => prompt("/", p, "search", true, area.width as usize),
        Mode::Filter(p) => prompt("filter: ", p, "filter", true, area.width as usize),
        Mode::ExecPrompt { service, prompt: p } => prompt(
            &format!("run in '{service}': "),
            p,
            "run",
            false,
            area.width as usize,
        ),
    };
    text::draw(buf, area, 0, &line, false, 0);
}

fn hint(line: &mut Styled, key: &str, word: &str) {
    // The first piece is the one-space margin; separators go between hints.
    if line.segs.len() > 1 {
        line.push(Style::new(), "  ");
    }
    line.push(style::KEY, key);
    line.push(Style::new(), format!(" {word}"));
}

fn fixed(items: &[(&str, &str)]) -> Styled {
    let mut line = Styled::new();
    line.push(Style::new(), " ");
    for (k, w) in items {
        hint(&mut line, k, w);
    }
    line
}

/// As many hints as fit, in table order, always ending with help and quit.
fn hints(state: &AppState, width: usize) -> Styled {
    let all = keymap::footer_hints(state.focus);
    let (body, tail) = all.split_at(all.len().saturating_sub(2));
    let w = |(k, v): &(&str, &str)| k.width() + 1 + v.width();
    // margin + hints + two spaces between hints
    let mut used = 1 + tail.iter().map(w).sum::<usize>() + 2 * tail.len().saturating_sub(1);
    let mut line = Styled::new();
    line.push(Style::new(), " ");
    for h in body {
        if used + w(h) + 2 > width {
            break;
        }
        used += w(h) + 2;
        hint(&mut line, h.0, h.1);
    }
    for h in tail {
        hint(&mut line, h.0, h.1);
    }
    line
}

fn prompt(label: &str, p: &Prompt, verb: &str, has_regex: bool, width: usize) -> Styled {
    let mut right = Styled::new();
    if let Some(err) = &p.error {
        right.push(style::ERROR, format!("{err}  "));
    }
    right.push(style::KEY, "Enter");
    right.push(Style::new(), format!(" {verb}  "));
    right.push(style::KEY, "Esc");
    right.push(Style::new(), " cancel");
    if has_regex {
        right.push(Style::new(), "  ");
        right.push(style::KEY, "^R");
        right.push(
            Style::new(),
            if p.regex {
                " regex: on "
            } else {
                " regex: off "
            },
        );
    }
    let right_w = right.plain().width();
    let mut line = Styled::new();
    let label_style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    line.push(label_style, label);
    // Keep the end of a long input visible: it is where the typing happens.
    let room = width.saturating_sub(label.width() + 2 + right_w.min(width / 2));
    let input = if p.input.width() > room {
        let skip = p.input.width() - room + 1;
        format!("…{}", p.input.chars().skip(skip).collect::<String>())
    } else {
        p.input.clone()
    };
    line.push(Style::new(), input);
    line.push(Style::new().add_modifier(Modifier::SLOW_BLINK), "█");
    let used = line.plain().width();
    if used + right_w < width {
        line.push(Style::new(), " ".repeat(width - used - right_w));
        line.append(right);
    }
    line
}
