//! The `p` list when a Postgres service's console names several databases: numbered,
//! the selected one highlighted. Pure drawing of the mode's data.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};
use unicode_width::UnicodeWidthStr;

use super::style;
use crate::model::ServiceName;

pub fn render(
    service: &ServiceName,
    databases: &[String],
    selected: usize,
    buf: &mut Buffer,
    area: Rect,
) {
    let title = format!(" psql in '{service}' ");
    let rows: Vec<String> = databases
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let default = if i == 0 { "  (default)" } else { "" };
            match i {
                0..=8 => format!("{}  {d}{default}", i + 1),
                _ => format!("   {d}{default}"),
            }
        })
        .collect();
    let content_w = rows
        .iter()
        .map(|r| r.width())
        .chain([title.width()])
        .max()
        .unwrap_or(0);
    let w = u16::try_from(content_w + 4)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let h = u16::try_from(rows.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(title).style(style::FOCUSED));
    let inner = super::overlay(buf, area, w, h, block);
    for (i, row) in rows.iter().enumerate() {
        let Ok(y) = u16::try_from(i) else { break };
        if y >= inner.height {
            break;
        }
        let s = if i == selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let width = usize::from(inner.width.saturating_sub(1));
        buf.set_stringn(inner.x + 1, inner.y + y, row, width, s);
    }
}
