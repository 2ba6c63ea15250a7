//! The whole path container output takes, fed arbitrary bytes: frames into the line
//! splitter, lines into the TUI's store, ANSI parsing, the sanitizing of `devstack logs`
//! and of messages, JSON detection, wrap math, search and filter, and drawing frames of
//! the UI on a `TestBackend`. Panics on a crash or a broken invariant.
//!
//! Shared, as source, by the `log_path` fuzz target (`fuzz/fuzz_targets/log_path.rs`)
//! and the property test in `tests/trust_logs.rs`, so both check the same things.

use std::collections::VecDeque;

use devstack::engine::{CUT_MARK, Splitter};
use devstack::logs::ansi::{self, Segment};
use devstack::logs::sanitize::{escape_controls, log_text};
use devstack::logs::{Matcher, Scope, structured, wrap};
use devstack::model::{ServiceName, Stream};
use devstack::tui::{AppState, Event, render, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Small, so that arbitrary input reaches the cut often.
const CAP: usize = 64;

/// Runs `data` through the path. The first byte picks the frame size, which frames go
/// to stderr, and the search pattern's length.
pub fn check(data: &[u8]) {
    let (ctl, body) = match data.split_first() {
        Some((c, b)) => (*c, b),
        None => (0, data),
    };
    let frame = usize::from(ctl % 32) + 1;
    let mut splitter = Splitter::new(ServiceName::new("worker"), None, CAP);
    let mut lines = VecDeque::new();
    for (i, chunk) in body.chunks(frame).enumerate() {
        let stream = if ctl & 0x80 != 0 && i % 3 == 2 {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        splitter.push_bytes(stream, chunk, &mut lines);
        assert!(
            splitter.buffered_bytes() <= 2 * CAP,
            "{} bytes held",
            splitter.buffered_bytes()
        );
    }
    splitter.flush(&mut lines);
    assert_eq!(splitter.buffered_bytes(), 0);
    assert!(splitter.scanned_bytes() <= body.len() as u64);

    for line in &lines {
        check_line(&line.text);
    }

    let pattern_len = usize::from(ctl >> 4) % 6;
    let pattern = String::from_utf8_lossy(&body[..pattern_len.min(body.len())]).into_owned();
    let mut state = AppState::fixture();
    let before = state.logs.store.len();
    update(&mut state, Event::Logs(lines.iter().cloned().collect()));
    let store = &state.logs.store;
    assert!(store.len() <= before + lines.len());
    for (idx, _) in store.services() {
        let stats = store.stats(idx).unwrap_or_default();
        assert!(stats.bytes <= store.config().bytes_per_service);
        assert!(stats.lines <= store.config().lines_per_service);
    }

    for regex in [false, true] {
        let Ok(matcher) = Matcher::new(&pattern, regex) else {
            continue;
        };
        for line in &lines {
            let plain = ansi::strip(&line.text);
            for r in matcher.find_ranges(&plain) {
                assert!(r.start < r.end && r.end <= plain.len());
                assert!(plain.is_char_boundary(r.start) && plain.is_char_boundary(r.end));
            }
        }
        state.logs.store.set_search(Some(matcher.clone()));
        let view = state.logs.store.view(Scope::All);
        assert!(view.match_count() <= view.len());
        draw_all(&mut state);
        state.logs.store.set_filter(Some(matcher));
        let filtered = state.logs.store.view(Scope::All).len();
        assert!(filtered <= state.logs.store.len());
        draw_all(&mut state);
        state.logs.store.set_filter(None);
        state.logs.store.set_search(None);
    }
    draw_all(&mut state);
}

/// One line's invariants.
fn check_line(text: &str) {
    assert!(!text.contains('\n'), "{text:?}");
    let body = text.strip_suffix(CUT_MARK).unwrap_or(text);
    // The cap is on bytes received; undecodable bytes grow to U+FFFD (3 bytes) each.
    assert!(body.len() <= 3 * CAP, "{} bytes", body.len());

    let plain = ansi::strip(text);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let texts: String = ansi::segments(text)
        .filter_map(|s| match s {
            Segment::Text(t) => Some(t),
            Segment::Sgr(_) => None,
        })
        .collect();
    assert_eq!(texts, plain);

    // `devstack logs`: no control character but tab, and with colour only SGR escapes.
    let shown = log_text(text, false);
    assert!(
        !shown.chars().any(|c| c.is_control() && c != '\t'),
        "{shown:?}"
    );
    let coloured = log_text(text, true);
    assert_eq!(log_text(&coloured, true), coloured);
    assert_eq!(ansi::strip(&coloured), shown);
    // Messages: nothing that drives a terminal.
    let escaped = escape_controls(text);
    assert!(
        !escaped
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{escaped:?}"
    );

    if let Some(s) = structured::parse(&plain) {
        assert!(plain.trim().starts_with('{'));
        let _ = (s.level, s.message, s.fields.len());
    }

    let width = wrap::display_width(text);
    for cols in [1, 2, 7, 80] {
        let rows = wrap::rows(text, cols);
        assert!(
            rows >= 1 && rows <= width + 1,
            "{rows} rows of {width} at {cols}"
        );
    }
}

/// Draws the UI at a few sizes, wrapped and not, JSON raw and compact, and checks no
/// cell holds a control character (which the terminal would act on).
fn draw_all(state: &mut AppState) {
    for (w, h, wrap, raw) in [
        (80, 24, false, false),
        (80, 24, true, true),
        (23, 7, true, false),
        (200, 50, false, true),
    ] {
        update(state, Event::Resize(w, h));
        state.logs.wrap = wrap;
        state.logs.raw_json = raw;
        let mut terminal = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => panic!("a test terminal: {e}"),
        };
        if let Err(e) = terminal.draw(|f| render(state, f)) {
            panic!("drawing: {e}");
        }
        let buf = terminal.backend().buffer();
        for cell in buf.content() {
            assert!(
                !cell.symbol().chars().any(char::is_control),
                "a control character on screen: {:?}",
                cell.symbol()
            );
        }
    }
}
