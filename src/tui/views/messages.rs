//! The `m` overlay: every notice of the session, newest last, each whole and wrapped at
//! spaces, with the time it came; scrolled with `j`/`k`, PgUp/PgDn, `g`/`G`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};

use super::super::state::AppState;
use super::notices::level_style;
use super::style;
use super::text::{self, Styled};

/// The overlay's box in `area`: all of it but a margin.
fn frame(area: Rect) -> Rect {
    let mx = if area.width > 40 { 2 } else { 0 };
    let my = if area.height > 12 { 1 } else { 0 };
    Rect::new(
        area.x + mx,
        area.y + my,
        area.width - 2 * mx,
        area.height - 2 * my,
    )
}

/// Text rows at `cols` columns, oldest message first.
fn lines(state: &AppState, cols: usize) -> Vec<Styled> {
    let mut out = Vec::new();
    for (i, n) in state.history.iter().enumerate() {
        if i > 0 {
            out.push(Styled::new());
        }
        let (sym, st) = level_style(n.level);
        let mut head = Styled::new();
        head.push(st.add_modifier(Modifier::BOLD), format!(" {sym} "));
        head.push(style::DIM, {
            let t = text::clock(
                n.at_unix.saturating_mul(1_000_000_000),
                state.utc_offset_secs,
            );
            // Notices carry whole seconds: the clock's milliseconds would be noise.
            format!(" {}", t.split('.').next().unwrap_or(&t))
        });
        out.push(head);
        for p in text::paragraphs(&n.message) {
            for piece in text::words_within(&p, cols.saturating_sub(2).max(1)) {
                let mut l = Styled::new();
                l.push(Style::new(), format!("  {piece}"));
                out.push(l);
            }
        }
    }
    out
}

/// Inside of the box at the current terminal size: (columns, rows).
fn inner_size(state: &AppState) -> (usize, usize) {
    let f = frame(Rect::new(0, 0, state.size.0, state.size.1));
    (
        f.width.saturating_sub(4) as usize,
        f.height.saturating_sub(2) as usize,
    )
}

/// The largest scroll that still fills the box.
pub fn max_scroll(state: &AppState) -> usize {
    let (cols, rows) = inner_size(state);
    lines(state, cols).len().saturating_sub(rows)
}

pub fn render(state: &AppState, scroll: usize, buf: &mut Buffer, area: Rect) {
    let f = frame(area);
    if f.width < 6 || f.height < 3 {
        return;
    }
    let cols = f.width.saturating_sub(4) as usize;
    let all = lines(state, cols);
    let rows = f.height.saturating_sub(2) as usize;
    let first = scroll.min(all.len().saturating_sub(rows));
    let position = format!(
        " {}-{} of {} ",
        (first + 1).min(all.len()),
        (first + rows).min(all.len()),
        all.len()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(" Messages ").style(style::FOCUSED))
        .title_top(Line::from(position).right_aligned())
        .title_bottom(Line::from(" j/k scroll · Esc closes ").right_aligned());
    let inner = super::overlay(buf, f, f.width, f.height, block);
    let inner = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    for (y, l) in all.iter().skip(first).take(rows).enumerate() {
        text::draw(buf, inner, y as u16, l, false, 0);
    }
}
