//! The `e` overlay: the stack's endpoints (Airflow UI and login, database URLs with the
//! password masked, code folders), and the one-line headline the services pane shows.
//!
//! Lays the rows out for the width it has: `title  value  (note)` on one line when they
//! fit, else the note goes under the value, wrapped. Values wrap rather than being cut —
//! a URL cut short is a wrong URL.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use unicode_width::UnicodeWidthStr;

use super::super::state::{AppState, EndpointKind, EndpointRow};
use super::style;
use super::text::words_within;
use super::text::{self, Styled};

/// Below this many columns for the note, it goes under the title instead of the value.
const MIN_NOTE: usize = 24;

fn value_style(kind: EndpointKind) -> Style {
    match kind {
        EndpointKind::Web | EndpointKind::Database => {
            style::FOCUSED.remove_modifier(Modifier::BOLD)
        }
        EndpointKind::Code => Style::new(),
    }
}

/// The lines of the overlay for `cols` columns of text, and whether each endpoint got
/// one line (else notes are under the values, and the overlay takes all `cols`).
fn lines(rows: &[EndpointRow], cols: usize) -> (Vec<Styled>, bool) {
    let tw = rows.iter().map(|r| r.title.width()).max().unwrap_or(0);
    let vw = rows.iter().map(|r| r.value.width()).max().unwrap_or(0);
    let nw = rows
        .iter()
        .filter_map(|r| r.note.as_ref())
        .map(|n| n.width() + 4)
        .max()
        .unwrap_or(0);
    let one_line = tw + 2 + vw + nw <= cols;
    let indent = if tw + 2 + MIN_NOTE <= cols { tw + 2 } else { 2 };
    let mut out = Vec::new();
    for r in rows {
        let mut l = Styled::new();
        l.indent = indent;
        l.push(
            Style::new().add_modifier(Modifier::BOLD),
            text::fit(&r.title, tw),
        );
        l.push(Style::new(), "  ");
        match &r.note {
            Some(n) if one_line => {
                l.push(value_style(r.kind), text::fit(&r.value, vw));
                l.push(style::DIM, format!("  ({n})"));
                out.push(l);
            }
            Some(n) => {
                l.push(value_style(r.kind), r.value.as_str());
                out.push(l);
                for part in words_within(n, cols.saturating_sub(indent)) {
                    let mut note = Styled::new();
                    note.indent = indent;
                    note.push(Style::new(), " ".repeat(indent));
                    note.push(style::DIM, part);
                    out.push(note);
                }
            }
            None => {
                l.push(value_style(r.kind), r.value.as_str());
                out.push(l);
            }
        }
    }
    (out, one_line)
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    // Border and a one-column margin on each side.
    let room = (area.width as usize).saturating_sub(4);
    let (lines, one_line) = lines(&state.endpoints, room);
    let content_w = lines.iter().map(|l| l.plain().width()).max().unwrap_or(0);
    let cols = if one_line { content_w.min(room) } else { room };
    let content_h: usize = lines.iter().map(|l| l.rows(cols.max(1))).sum();
    let w = u16::try_from(cols + 4).unwrap_or(u16::MAX).min(area.width);
    let h = u16::try_from(content_h + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(" Endpoints ").style(style::FOCUSED))
        .title_bottom(Line::from(" Esc closes ").right_aligned());
    let inner = super::overlay(buf, area, w, h, block);
    let inner = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    let mut y = 0;
    for l in &lines {
        if y >= inner.height {
            break;
        }
        y += text::draw(buf, inner, y, l, true, 0);
    }
}

/// For the services pane's bottom border: the endpoint worth a glance (the first web UI,
/// else the first database) and the key to the rest, as much as fits in `width`.
pub fn headline(state: &AppState, width: u16) -> Option<Line<'static>> {
    if state.endpoints.is_empty() {
        return None;
    }
    let key = [Span::styled("e", style::KEY), Span::raw(" endpoints ")];
    let top = [EndpointKind::Web, EndpointKind::Database]
        .iter()
        .find_map(|k| state.endpoints.iter().find(|r| r.kind == *k));
    let room = (width as usize).saturating_sub(4);
    if let Some(r) = top {
        let mut spans = vec![
            Span::styled(format!(" {} ", r.title), style::DIM),
            Span::styled(r.value.clone(), value_style(r.kind)),
            Span::styled(" · ", style::DIM),
        ];
        spans.extend(key.clone());
        let line = Line::from(spans);
        if line.width() <= room {
            return Some(line);
        }
    }
    let mut spans = vec![Span::raw(" ")];
    spans.extend(key);
    let line = Line::from(spans);
    (line.width() <= room).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::super::text::words_within;

    #[test]
    fn notes_break_at_spaces_and_keep_long_words_whole() {
        assert_eq!(
            words_within("password: X in ~/shop/.env", 16),
            ["password: X in", "~/shop/.env"]
        );
        assert_eq!(
            words_within("in ~/.local/share/devstack/.env", 10),
            ["in", "~/.local/share/devstack/.env"]
        );
        assert_eq!(words_within("mounted live", 40), ["mounted live"]);
    }
}
