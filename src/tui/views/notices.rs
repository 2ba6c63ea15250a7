//! Notifications (a strip at the bottom of the logs pane, which the log lines make room
//! for) and the banner shown while the Docker daemon is not reachable.
//!
//! A notice is wrapped at spaces inside its strip; one longer than [`MAX_ROWS`] rows
//! says so and names the key (`m`) that shows every message whole.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Clear, Widget};
use unicode_width::UnicodeWidthStr;

use crate::model::NoticeLevel;

use super::super::state::{AppState, Daemon, Notice};
use super::text::{self, Styled};

/// Rows one notice takes at most; the `m` overlay has the rest.
const MAX_ROWS: usize = 3;
const MORE: &str = " … (m: whole message)";
const MORE_ERROR: &str = " … (m: whole message, Esc)";

pub fn level_style(level: NoticeLevel) -> (&'static str, Style) {
    match level {
        NoticeLevel::Info => ("i", Style::new().fg(Color::Black).bg(Color::Cyan)),
        NoticeLevel::Warning => ("!", Style::new().fg(Color::Black).bg(Color::Yellow)),
        NoticeLevel::Error => ("✗", Style::new().fg(Color::White).bg(Color::Red)),
    }
}

/// A notice's rows at `width` columns (margins included), each one row.
fn rows(n: &Notice, width: usize) -> Vec<Styled> {
    let (sym, st) = level_style(n.level);
    // One column of margin each side, and the symbol's two.
    let text_w = width.saturating_sub(4).max(1);
    let mut pieces: Vec<String> = text::paragraphs(&n.message)
        .iter()
        .flat_map(|p| text::words_within(p, text_w))
        .collect();
    if n.level == NoticeLevel::Error {
        let esc = "(Esc)";
        match pieces.last_mut() {
            Some(last) if last.width() + 2 + esc.width() <= text_w => {
                last.push_str("  ");
                last.push_str(esc);
            }
            _ => pieces.push(esc.into()),
        }
    }
    if pieces.len() > MAX_ROWS {
        pieces.truncate(MAX_ROWS);
        // An error cut short still says how to dismiss it.
        let more = if n.level == NoticeLevel::Error {
            MORE_ERROR
        } else {
            MORE
        };
        if let Some(last) = pieces.last_mut() {
            let keep = text_w.saturating_sub(more.width());
            *last = format!("{}{more}", text::truncate(last, keep).trim_end_matches('…'));
        }
    }
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut l = Styled::new();
            let lead = if i == 0 {
                format!(" {sym} ")
            } else {
                "   ".into()
            };
            l.push(st.add_modifier(Modifier::BOLD), lead);
            l.push(st, p);
            l
        })
        .collect()
}

/// Rows the notices want in a logs pane of `width` × `height`: all of them while they
/// leave the log lines at least half the pane.
pub fn height(state: &AppState, width: u16, height: u16) -> u16 {
    let cap = (height / 2) as usize;
    let mut used = 0;
    for n in state.notices.iter().rev() {
        let r = rows(n, width as usize).len();
        if used + r > cap {
            break;
        }
        used += r;
    }
    used as u16
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    Clear.render(area, buf);
    // newest at the bottom, stacked upwards while there is room
    let mut bottom = area.y + area.height;
    for n in state.notices.iter().rev() {
        let lines = rows(n, area.width as usize);
        let h = lines.len() as u16;
        if bottom < area.y + h {
            break;
        }
        let rect = Rect::new(area.x, bottom - h, area.width, h);
        buf.set_style(rect, level_style(n.level).1);
        for (i, l) in lines.iter().enumerate() {
            text::draw(buf, rect, i as u16, l, false, 0);
        }
        bottom -= h;
    }
}

pub fn render_banner(state: &AppState, buf: &mut Buffer, area: Rect) {
    let Daemon::Lost { reason } = &state.daemon else {
        return;
    };
    let st = Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    buf.set_style(area, st);
    let mut line = Styled::new();
    line.push(st, " ! Docker daemon not reachable — retrying");
    line.push(st.remove_modifier(Modifier::BOLD), format!(" ({reason})"));
    text::draw(buf, area, 0, &line, false, 0);
}
