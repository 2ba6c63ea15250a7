//! Wrap math: how wide a log line is on screen and how many rows it takes at a width.
//!
//! The TUI draws wrapped lines with [`WrapCursor`] too, so scrolling and drawing cannot
//! disagree about where a line breaks. Pure arithmetic; nothing here draws.

use unicode_width::UnicodeWidthChar;

use super::ansi::{self, Segment};

/// Columns a tab takes. Fixed rather than "to the next stop" so a character's width does
/// not depend on where it lands, which keeps wrapping and prefixes simple.
pub const TAB_WIDTH: usize = 4;

/// How one character of container output is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyph {
    /// Not shown (carriage return, zero-width marks).
    Skip,
    /// Shown as this character, `width` columns wide (1 or 2).
    Char(char, usize),
    /// A tab: this many spaces.
    Spaces(usize),
}

/// The shown form of `c`. Control characters other than tab become U+FFFD so they can
/// neither move the cursor nor hide text.
pub fn glyph(c: char) -> Glyph {
    match c {
        '\t' => Glyph::Spaces(TAB_WIDTH),
        '\r' => Glyph::Skip,
        c if c.is_control() => Glyph::Char('\u{fffd}', 1),
        c => match c.width() {
            Some(0) | None => Glyph::Skip,
            Some(w) => Glyph::Char(c, w),
        },
    }
}

/// Columns `text` takes, escapes removed.
pub fn display_width(text: &str) -> usize {
    let mut w = 0;
    for seg in ansi::segments(text) {
        if let Segment::Text(t) = seg {
            w += t.chars().map(|c| glyph_width(glyph(c))).sum::<usize>();
        }
    }
    w
}

fn glyph_width(g: Glyph) -> usize {
    match g {
        Glyph::Skip => 0,
        Glyph::Char(_, w) => w,
        Glyph::Spaces(n) => n,
    }
}

/// Rows `text` (escapes removed) takes when wrapped at `cols` columns; at least 1.
pub fn rows(text: &str, cols: usize) -> usize {
    let mut cursor = WrapCursor::new(cols);
    for seg in ansi::segments(text) {
        if let Segment::Text(t) = seg {
            for c in t.chars() {
                cursor.place_glyph(glyph(c));
            }
        }
    }
    cursor.rows()
}

/// Places characters on rows of `cols` columns, breaking anywhere (not at words: a log
/// line's tokens are often longer than the screen, and exact breaks keep the math simple).
/// A wide character that does not fit at the end of a row moves to the next one.
#[derive(Debug, Clone)]
pub struct WrapCursor {
    cols: usize,
    indent: usize,
    row: usize,
    col: usize,
}

impl WrapCursor {
    pub fn new(cols: usize) -> Self {
        Self::with_indent(cols, 0)
    }

    /// Continuation rows start at column `indent` (a hanging indent under the text,
    /// past a prefix); ignored when it would leave less than half the row.
    pub fn with_indent(cols: usize, indent: usize) -> Self {
        let cols = cols.max(1);
        let indent = if indent * 2 <= cols { indent } else { 0 };
        Self {
            cols,
            indent,
            row: 0,
            col: 0,
        }
    }

    /// Where a character `width` columns wide goes: `(row, col)`.
    pub fn place(&mut self, width: usize) -> (usize, usize) {
        let width = width.min(self.cols - self.indent);
        if self.col + width > self.cols {
            self.row += 1;
            self.col = self.indent;
        }
        let at = (self.row, self.col);
        self.col += width;
        at
    }

    fn place_glyph(&mut self, g: Glyph) {
        match g {
            Glyph::Skip => {}
            Glyph::Char(_, w) => {
                self.place(w);
            }
            Glyph::Spaces(n) => {
                for _ in 0..n {
                    self.place(1);
                }
            }
        }
    }

    /// Rows used so far; an empty line still takes one.
    pub fn rows(&self) -> usize {
        self.row + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_at_widths() {
        let table: &[(&str, usize, usize)] = &[
            ("", 10, 1),
            ("abc", 10, 1),
            ("abcdefghij", 10, 1),
            ("abcdefghijk", 10, 2),
            (&"x".repeat(25), 10, 3),
            // escapes take no room
            ("\x1b[31mabcdefghij\x1b[0m", 10, 1),
            // a wide char that does not fit at the end of a row moves down
            ("abcdefghi界", 10, 2),
            ("界界界界界", 10, 1),
            ("界界界界界a", 10, 2),
            // tab is 4 columns
            ("\tabcdef", 10, 1),
            ("\tabcdefg", 10, 2),
            // zero columns is treated as one
            ("abc", 0, 3),
        ];
        for (text, cols, want) in table {
            assert_eq!(rows(text, *cols), *want, "{text:?} at {cols}");
        }
    }

    #[test]
    fn hanging_indent() {
        let mut c = WrapCursor::with_indent(10, 4);
        let places: Vec<_> = (0..14).map(|_| c.place(1)).collect();
        assert_eq!(places[9], (0, 9));
        assert_eq!(places[10], (1, 4));
        assert_eq!(places[13], (1, 7));
        assert_eq!(c.rows(), 2);
        // too deep an indent is ignored
        let mut c = WrapCursor::with_indent(10, 6);
        (0..11).for_each(|_| {
            c.place(1);
        });
        assert_eq!(c.place(1), (1, 1));
    }

    #[test]
    fn display_width_ignores_escapes_and_counts_wide_chars() {
        assert_eq!(display_width("\x1b[1mab\x1b[0m界\r"), 4);
        assert_eq!(display_width("a\u{7}b"), 3);
    }
}
