//! Notifications (bottom right, over the logs) and the banner shown while the Docker
//! daemon is not reachable.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Clear, Widget};

use crate::model::NoticeLevel;

use super::super::state::{AppState, Daemon};
use super::text::{self, Styled};

/// Rows a notice takes at most: errors carry reasons worth reading whole.
const MAX_ROWS: usize = 3;

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    if state.notices.is_empty() || area.width < 10 || area.height < 2 {
        return;
    }
    let w = (area.width as usize).min(64);
    let text_w = w - 2;
    // newest at the bottom, stacked upwards while there is room
    let mut bottom = area.y + area.height;
    for n in state.notices.iter().rev() {
        let (sym, st) = match n.level {
            NoticeLevel::Info => ("i", Style::new().fg(Color::Black).bg(Color::Cyan)),
            NoticeLevel::Warning => ("!", Style::new().fg(Color::Black).bg(Color::Yellow)),
            NoticeLevel::Error => ("✗", Style::new().fg(Color::White).bg(Color::Red)),
        };
        let mut line = Styled::new();
        line.push(st.add_modifier(Modifier::BOLD), format!("{sym} "));
        line.push(st, n.message.as_str());
        if n.level == NoticeLevel::Error {
            line.push(st.add_modifier(Modifier::DIM), "  (Esc)");
        }
        let rows = line.rows(text_w).min(MAX_ROWS) as u16;
        if bottom < area.y + rows {
            break;
        }
        let rect = Rect::new(
            area.x + area.width - w as u16,
            bottom - rows,
            w as u16,
            rows,
        );
        Clear.render(rect, buf);
        buf.set_style(rect, st);
        let inner = Rect::new(rect.x + 1, rect.y, rect.width - 2, rect.height);
        text::draw(buf, inner, 0, &line, true, 0);
        bottom -= rows;
        if bottom <= area.y {
            break;
        }
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
