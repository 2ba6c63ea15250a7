//! The `?` overlay: every key of the keymap table, grouped by where it applies. Generated
//! from the table, so it cannot drift from what the keys do.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};

use super::super::keymap;
use super::style;
use super::text::{self, Styled};

const KEY_W: usize = 9;
const HELP_W: usize = 28;
const COL_W: usize = KEY_W + 1 + HELP_W;

pub fn render(buf: &mut Buffer, area: Rect) {
    let mut lines: Vec<Styled> = Vec::new();
    for (title, rows) in keymap::help_sections() {
        let mut h = Styled::new();
        h.push(
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            title,
        );
        lines.push(h);
        for (keys, help) in rows {
            let mut l = Styled::new();
            l.push(style::KEY, text::fit(keys, KEY_W));
            l.push(Style::new(), " ");
            l.push(Style::new(), text::fit(help, HELP_W));
            lines.push(l);
        }
    }
    let notes = [
        "Mouse: wheel scrolls the logs, click selects.",
        "Prompts: Enter applies, Esc cancels, Ctrl-R regex.",
    ];
    // Two columns when one would not fit the height.
    let avail_h = area.height.saturating_sub(2 + notes.len() as u16 + 1) as usize;
    let two = lines.len() > avail_h && area.width as usize >= 2 * COL_W + 4;
    let per_col = if two {
        lines.len().div_ceil(2)
    } else {
        lines.len()
    };
    let inner_w = if two { 2 * COL_W + 2 } else { COL_W };
    let w = (inner_w as u16 + 2).min(area.width);
    let h = ((per_col + 1 + notes.len()) as u16 + 2).min(area.height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(" Keys ").style(style::FOCUSED))
        .title_bottom(Line::from(" Esc closes ").right_aligned());
    let inner = super::overlay(buf, area, w, h, block);
    let col_area = |c: usize| {
        let x = inner.x + (c * (COL_W + 2)) as u16;
        Rect::new(
            x,
            inner.y,
            (inner.x + inner.width).saturating_sub(x).min(COL_W as u16),
            inner.height,
        )
    };
    for (i, l) in lines.iter().enumerate() {
        let (c, y) = (i / per_col, i % per_col);
        text::draw(buf, col_area(c), y as u16, l, false, 0);
    }
    for (k, n) in notes.iter().enumerate() {
        let mut l = Styled::new();
        l.push(style::DIM, *n);
        text::draw(buf, inner, (per_col + 1 + k) as u16, &l, false, 0);
    }
}
