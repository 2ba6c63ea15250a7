//! Text bound for the user's terminal that devstack did not write itself: values from a
//! stack file echoed in an error, container and healthcheck output relayed in a message,
//! container log lines printed by `devstack logs`.
//!
//! A cloned repository's stack file or a container must not be able to retitle the
//! terminal, write the clipboard (OSC 52), switch its modes or hide text. Pure string
//! work; borrowed whenever there is nothing to change, since log lines pass here at the
//! daemon's rate.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::ansi::{self, Segment};

/// `text` with every control character shown escaped (`\x1b`, `\r`, `\u{9b}`), for
/// devstack's own messages: errors, warnings, notices and output relayed inside them.
/// Newlines and tabs stay (messages have several lines); so does everything printable.
/// Bidirectional overrides are escaped too: they reorder what the reader sees.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        // Writing into a String cannot fail.
        let _ = match c {
            '\r' => write!(out, "\\r"),
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
            c => write!(out, "\\u{{{:x}}}", c as u32),
        };
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A container's log line as `devstack logs` prints it: SGR colour sequences kept when
/// `keep_sgr` (colour is on), every other escape sequence (titles, clipboard, cursor
/// moves, mode changes, charset selects) and every other control character except tab
/// removed — always, with or without colour.
pub fn log_text(line: &str, keep_sgr: bool) -> Cow<'_, str> {
    if !line.bytes().any(maybe_control) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    for seg in ansi::segments(line) {
        match seg {
            Segment::Text(t) => out.extend(t.chars().filter(|c| !c.is_control() || *c == '\t')),
            Segment::Sgr(params) if keep_sgr => {
                out.push_str("\x1b[");
                out.push_str(params);
                out.push('m');
            }
            Segment::Sgr(_) => {}
        }
    }
    if out == line {
        return Cow::Borrowed(line);
    }
    Cow::Owned(out)
}

/// A byte that is, or may start, a control character: C0 but tab, DEL, and 0xC2 (the
/// first byte of the C1 controls in UTF-8, and of some printable characters too).
fn maybe_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_show_controls_escaped_and_keep_lines() {
        assert!(matches!(
            escape_controls("service 'web' failed\n  | é\tx"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("name '\x1b]0;pwned\x07' \x1b[2J\r\u{9b}6n \u{202e}x\x7f"),
            "name '\\x1b]0;pwned\\x07' \\x1b[2J\\r\\u{9b}6n \\u{202e}x\\x7f"
        );
    }

    #[test]
    fn log_text_keeps_colour_only_when_asked_and_strips_the_rest_always() {
        let line =
            "\x1b]0;title\x07\x1b]52;c;aGk=\x07\x1b[?1049h\x1b[31mred\x1b[0m\x07 \u{9b}x\tend\r";
        assert_eq!(log_text(line, true), "\x1b[31mred\x1b[0m x\tend");
        assert_eq!(log_text(line, false), "red x\tend");
        assert!(matches!(log_text("plain é ©", false), Cow::Borrowed(_)));
        assert!(matches!(log_text("\x1b[1mb\x1b[m", true), Cow::Borrowed(_)));
        assert_eq!(log_text("\x1b[1mb\x1b[m", false), "b");
    }
}
