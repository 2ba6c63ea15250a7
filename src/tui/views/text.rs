//! Styled text written straight into the frame buffer, cut or wrapped with the log
//! store's wrap math, plus small formatting helpers (truncation, durations, sizes).
//!
//! Writing cells directly (rather than through a `Paragraph`) keeps the frame cheap and
//! guarantees that the rows a line takes here are the rows scrolling counted.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::UnicodeWidthStr;

use crate::logs::wrap::{Glyph, WrapCursor, glyph};

/// A line as styled pieces. Text here has no escapes (they were turned into styles).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Styled {
    pub segs: Vec<(Style, String)>,
    /// Continuation rows of a wrapped line start at this column (under the text, past
    /// the service prefix).
    pub indent: usize,
}

impl Styled {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, style: Style, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.segs.push((style, text));
        }
    }

    pub fn append(&mut self, other: Styled) {
        self.segs.extend(other.segs);
    }

    /// The text without styles.
    pub fn plain(&self) -> String {
        self.segs.iter().map(|(_, t)| t.as_str()).collect()
    }

    /// Rows taken when wrapped at `cols`.
    pub fn rows(&self, cols: usize) -> usize {
        let mut cursor = WrapCursor::with_indent(cols, self.indent);
        for (_, t) in &self.segs {
            for c in t.chars() {
                match glyph(c) {
                    Glyph::Skip => {}
                    Glyph::Char(_, w) => {
                        cursor.place(w);
                    }
                    Glyph::Spaces(n) => {
                        for _ in 0..n {
                            cursor.place(1);
                        }
                    }
                }
            }
        }
        cursor.rows()
    }

    /// Patches `style` over the byte ranges (of [`Self::plain`]) given, splitting pieces
    /// where a range starts or ends. Ranges must be sorted and not overlap.
    pub fn highlight(&mut self, ranges: &[Range<usize>], style: Style) {
        if ranges.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.segs.len() + 2 * ranges.len());
        let mut offset = 0;
        for (st, text) in self.segs.drain(..) {
            let (start, end) = (offset, offset + text.len());
            offset = end;
            let mut cut = start;
            for r in ranges.iter().filter(|r| r.start < end && r.end > start) {
                let (a, b) = (r.start.max(start), r.end.min(end));
                if !(text.is_char_boundary(a - start) && text.is_char_boundary(b - start)) {
                    continue;
                }
                if a > cut {
                    out.push((st, text[cut - start..a - start].to_string()));
                }
                out.push((st.patch(style), text[a - start..b - start].to_string()));
                cut = b;
            }
            if cut < end {
                out.push((st, text[cut - start..].to_string()));
            }
        }
        self.segs = out;
    }
}

/// Draws `line` in `area` starting at row `y` (relative to `area`): wrapped over as
/// many rows as it needs (the first `skip_rows` of them hidden) or cut at the right edge
/// with `…`. Returns the rows used inside `area`.
pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    y: u16,
    line: &Styled,
    wrap: bool,
    skip_rows: usize,
) -> u16 {
    let cols = area.width as usize;
    if cols == 0 || y >= area.height {
        return 0;
    }
    let max_rows = (area.height - y) as usize;
    let mut cursor = WrapCursor::with_indent(cols, line.indent);
    let mut last_row = 0;
    let mut overflow = false;
    'outer: for (style, text) in &line.segs {
        for c in text.chars() {
            let (c, w, n) = match glyph(c) {
                Glyph::Skip => continue,
                Glyph::Char(c, w) => (c, w, 1),
                Glyph::Spaces(n) => (' ', 1, n),
            };
            for _ in 0..n {
                let (row, col) = cursor.place(w);
                if !wrap && row > 0 {
                    overflow = true;
                    break 'outer;
                }
                if row < skip_rows {
                    continue;
                }
                let r = row - skip_rows;
                if r >= max_rows {
                    break 'outer;
                }
                last_row = r;
                let (x, yy) = (area.x + col as u16, area.y + y + r as u16);
                if let Some(cell) = buf.cell_mut((x, yy)) {
                    cell.set_char(c).set_style(*style);
                }
                if w == 2
                    && let Some(cell) = buf.cell_mut((x + 1, yy))
                {
                    cell.reset();
                    cell.set_style(*style);
                }
            }
        }
    }
    if overflow && let Some(cell) = buf.cell_mut((area.x + area.width - 1, area.y + y)) {
        cell.set_char('…');
    }
    if wrap { (last_row + 1) as u16 } else { 1 }
}

/// `s` cut to `width` columns, with `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > width - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `s` in pieces of at most `width` columns, broken at spaces; a word longer than that
/// is a piece of its own (drawing wraps or cuts it).
pub fn words_within(s: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in s.split(' ') {
        match out.last_mut() {
            Some(last) if last.width() + 1 + word.width() <= width => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// A message's lines as a person should see them: split at newlines, tabs as spaces,
/// other control characters (a `\r` redraw, escapes) dropped, blank lines left out.
pub fn paragraphs(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| {
            l.chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// `s` padded with spaces (or cut) to exactly `width` columns.
pub fn fit(s: &str, width: usize) -> String {
    let t = truncate(s, width);
    let pad = width.saturating_sub(t.width());
    format!("{t}{}", " ".repeat(pad))
}

/// `42s`, `12m`, `3h12m`, `2d4h`: short enough for a narrow column, and changes at most
/// once a minute after the first minute (the TUI redraws on change only).
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `820K`, `48M`, `1.2G`.
pub fn bytes(b: u64) -> String {
    const K: u64 = 1024;
    match b {
        0..K => format!("{b}B"),
        K..1_048_576 => format!("{}K", b / K),
        1_048_576..1_073_741_824 => format!("{}M", b / (K * K)),
        _ => format!("{:.1}G", b as f64 / (K * K * K) as f64),
    }
}

/// `HH:MM:SS.mmm` of a Unix-nanosecond timestamp at `offset_secs` from UTC.
pub fn clock(ts_nanos: i64, offset_secs: i32) -> String {
    let secs = ts_nanos.div_euclid(1_000_000_000) + i64::from(offset_secs);
    let ms = ts_nanos.rem_euclid(1_000_000_000) / 1_000_000;
    let day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        day / 3600,
        (day % 3600) / 60,
        day % 60
    )
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};

    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // a list of ranges that has one
    fn highlight_splits_pieces_across_boundaries() {
        let mut s = Styled::new();
        s.push(Style::new().fg(Color::Red), "hello ");
        s.push(Style::new(), "world");
        s.highlight(&[3..8], Style::new().add_modifier(Modifier::REVERSED));
        assert_eq!(s.plain(), "hello world");
        let texts: Vec<_> = s.segs.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["hel", "lo ", "wo", "rld"]);
        assert_eq!(
            s.segs[1].0,
            Style::new().fg(Color::Red).add_modifier(Modifier::REVERSED)
        );
    }

    #[test]
    fn draw_wraps_like_the_math_says() {
        let mut s = Styled::new();
        s.push(Style::new(), "abcdefghij界klm");
        let area = Rect::new(0, 0, 6, 5);
        let mut buf = Buffer::empty(area);
        let rows = draw(&mut buf, area, 0, &s, true, 0);
        assert_eq!(rows as usize, s.rows(6));
        assert_eq!(rows, 3);
        s.indent = 2;
        let mut buf = Buffer::empty(area);
        assert_eq!(draw(&mut buf, area, 0, &s, true, 0) as usize, s.rows(6));
        assert_eq!(buf[(2, 1)].symbol(), "g");
        let mut buf = Buffer::empty(area);
        assert_eq!(draw(&mut buf, area, 0, &s, false, 0), 1);
        assert_eq!(buf[(5, 0)].symbol(), "…");
    }

    #[test]
    fn formats() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(3725), "1h02m");
        assert_eq!(duration(200_000), "2d7h");
        assert_eq!(bytes(50 * 1024 * 1024), "50M");
        assert_eq!(bytes(1288490188), "1.2G");
        assert_eq!(clock(1_750_000_000_123_456_789, 0), "15:06:40.123");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
    }
}
