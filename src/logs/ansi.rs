//! Terminal escape sequences inside container output: splits a line into text and SGR
//! (colour) parameters, or strips every escape.
//!
//! Pure string scanning; it must not know how colours are drawn (the TUI maps SGR
//! parameters to its styles), and it never allocates unless it has to remove something.

use std::borrow::Cow;

const ESC: u8 = 0x1b;

/// A piece of a line: visible text, or the parameters of an SGR sequence (`ESC [ … m`),
/// e.g. `"1;31"` (empty means reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Sgr(&'a str),
}

/// Splits `line` into text and SGR segments. Other escape sequences (cursor moves, OSC
/// titles and hyperlinks, charset selects) are dropped: a log viewer cannot honour them
/// and showing them as text is what makes other viewers unreadable.
pub fn segments(line: &str) -> Segments<'_> {
    Segments { line, pos: 0 }
}

pub struct Segments<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        let bytes = self.line.as_bytes();
        while self.pos < bytes.len() {
            if bytes[self.pos] != ESC {
                let start = self.pos;
                let end = memchr_esc(bytes, start).unwrap_or(bytes.len());
                self.pos = end;
                return Some(Segment::Text(&self.line[start..end]));
            }
            let (len, sgr) = escape_len(&bytes[self.pos..]);
            let start = self.pos;
            self.pos += len;
            if let Some((a, b)) = sgr {
                return Some(Segment::Sgr(&self.line[start + a..start + b]));
            }
        }
        None
    }
}

/// Whether the line holds any escape at all: the fast path for the common plain line.
pub fn has_escape(line: &str) -> bool {
    memchr_esc(line.as_bytes(), 0).is_some()
}

/// The line without escape sequences; borrowed when there were none.
pub fn strip(line: &str) -> Cow<'_, str> {
    if !has_escape(line) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    for seg in segments(line) {
        if let Segment::Text(t) = seg {
            out.push_str(t);
        }
    }
    Cow::Owned(out)
}

fn memchr_esc(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == ESC)
        .map(|i| i + from)
}

/// Length of the escape sequence at the start of `s` (which starts with ESC), and for an
/// SGR sequence the byte range of its parameters. An unterminated sequence runs to the
/// end of the line (a line cut in the middle of an escape must not print its tail).
fn escape_len(s: &[u8]) -> (usize, Option<(usize, usize)>) {
    match s.get(1) {
        None => (1, None),
        // CSI: ESC [ params… intermediates… final (0x40..=0x7e)
        Some(b'[') => {
            let mut i = 2;
            while i < s.len() {
                let b = s[i];
                if (0x40..=0x7e).contains(&b) {
                    let sgr = if b == b'm'
                        && s[2..i]
                            .iter()
                            .all(|c| c.is_ascii_digit() || *c == b';' || *c == b':')
                    {
                        Some((2, i))
                    } else {
                        None
                    };
                    return (i + 1, sgr);
                }
                i += 1;
            }
            (s.len(), None)
        }
        // OSC (and DCS, SOS, PM, APC): terminated by BEL or ST (ESC \)
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let mut i = 2;
            while i < s.len() {
                if s[i] == 0x07 {
                    return (i + 1, None);
                }
                if s[i] == ESC && s.get(i + 1) == Some(&b'\\') {
                    return (i + 2, None);
                }
                i += 1;
            }
            (s.len(), None)
        }
        // ESC ( B and friends: one intermediate byte, then a final byte. The final byte
        // is ASCII; anything else is not part of the sequence (and may be the first byte
        // of a multi-byte character, which must stay whole).
        Some(b'(' | b')' | b'*' | b'+' | b'#' | b'%') => match s.get(2) {
            Some(b) if b.is_ascii() => (3, None),
            _ => (2, None),
        },
        // Two-byte escapes (ESC 7, ESC =, ESC M, …). Keep multi-byte UTF-8 intact.
        Some(b) if b.is_ascii() => (2, None),
        Some(_) => (1, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_is_one_text_segment_and_borrowed() {
        assert_eq!(
            segments("hello").collect::<Vec<_>>(),
            vec![Segment::Text("hello")]
        );
        assert!(matches!(strip("hello"), Cow::Borrowed("hello")));
    }

    #[test]
    fn sgr_params_are_split_out() {
        let segs: Vec<_> = segments("a\x1b[1;31mred\x1b[0m b\x1b[m").collect();
        assert_eq!(
            segs,
            vec![
                Segment::Text("a"),
                Segment::Sgr("1;31"),
                Segment::Text("red"),
                Segment::Sgr("0"),
                Segment::Text(" b"),
                Segment::Sgr(""),
            ]
        );
    }

    #[test]
    fn non_sgr_sequences_are_dropped() {
        assert_eq!(
            strip("\x1b[2Kclear\x1b]0;title\x07 \x1b]8;;http://x\x1b\\link\x1b(B"),
            "clear link"
        );
        // unterminated escape at the end of a (cut) line
        assert_eq!(strip("tail\x1b[38;5"), "tail");
        assert_eq!(strip("é\x1bé"), "éé");
    }

    /// Issue 11 item 4: `printf '\033(\303\251'` cut the `é` in half and panicked.
    #[test]
    fn charset_select_before_a_multibyte_character_keeps_it_whole() {
        for intro in ['(', ')', '*', '+', '#', '%'] {
            let line = format!("\x1b{intro}é\n");
            assert_eq!(strip(&line), "é\n", "{line:?}");
            assert_eq!(strip(&format!("a\x1b{intro}")), "a");
        }
        assert_eq!(strip("\x1b(Bok"), "ok");
    }
}
