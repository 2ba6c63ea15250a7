//! The logs pane: which lines are visible (follow or paused, wrapped or cut), how one
//! line looks (service prefix, stderr mark, timestamp, colours, compact JSON, search
//! highlights), and the pane itself.
//!
//! Reads only the lines on screen: the window walks the store's merged view from the
//! bottom (follow) or from the paused top line and stops when the pane is full.
//! `update` uses [`window`] too, to know what is on screen when a scroll starts.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};
use unicode_width::UnicodeWidthStr;

use crate::logs::ansi::{self, Segment};
use crate::logs::structured;
use crate::logs::{LineKey, LineKind, LineRef, Matcher, Scope, Store};
use crate::model::Stream;

use super::super::state::{AppState, Focus, Scroll};
use super::style;
use super::text::{self, Styled};

/// Formats lines for the current view settings. Made once per frame.
pub struct LineFormatter<'a> {
    store: &'a Store,
    merged: bool,
    name_width: usize,
    timestamps: bool,
    raw_json: bool,
    utc_offset: i32,
    search: Option<&'a Matcher>,
    current: Option<LineKey>,
}

impl<'a> LineFormatter<'a> {
    pub fn new(state: &'a AppState) -> Self {
        let store = &state.logs.store;
        let name_width = store
            .services()
            .map(|(_, n)| n.as_str().width())
            .max()
            .unwrap_or(0)
            .min(20);
        Self {
            store,
            merged: state.logs.scope == Scope::All,
            name_width,
            timestamps: state.logs.timestamps,
            raw_json: state.logs.raw_json,
            utc_offset: state.utc_offset_secs,
            search: store.search(),
            current: state.logs.current_match,
        }
    }

    pub fn format(&self, line: LineRef<'_>) -> Styled {
        let mut s = Styled::new();
        let stderr = line.kind == LineKind::Output(Stream::Stderr);
        if self.merged {
            let idx = line.key.service.index();
            let name = self
                .store
                .service_name(line.key.service)
                .map_or("?", |n| n.as_str());
            let color = style::service_color(idx);
            s.push(Style::new().fg(color), text::fit(name, self.name_width));
            if stderr {
                s.push(style::STDERR, " ! ");
            } else {
                s.push(Style::new().fg(color), " │ ");
            }
        } else if stderr {
            s.push(style::STDERR, "! ");
        } else {
            s.push(Style::new(), "  ");
        }
        if self.timestamps {
            s.push(
                style::DIM,
                format!("{} ", text::clock(line.ts_nanos, self.utc_offset)),
            );
        }
        s.indent = s.plain().width();
        match line.kind {
            LineKind::Marker => s.push(style::MARKER, line.text),
            LineKind::Output(_) => {
                let mut content = content(line.text, self.raw_json);
                if let Some(m) = self.search {
                    let plain = content.plain();
                    let ranges: Vec<_> = m.find_ranges(&plain).collect();
                    let hl = if self.current == Some(line.key) {
                        style::CURRENT_MATCH
                    } else {
                        style::MATCH
                    };
                    content.highlight(&ranges, hl);
                }
                s.append(content);
            }
        }
        if line.truncated {
            s.push(style::DIM, " …[cut]");
        }
        s
    }
}

/// A line's own text as shown: escapes turned into styles, or a JSON object compacted
/// (unless `raw_json`).
pub fn content(raw: &str, raw_json: bool) -> Styled {
    if !raw_json {
        let plain = ansi::strip(raw);
        if let Some(st) = structured::parse(&plain) {
            return structured_line(st);
        }
    }
    let mut out = Styled::new();
    let mut st = Style::new();
    for seg in ansi::segments(raw) {
        match seg {
            Segment::Text(t) => out.push(st, t),
            Segment::Sgr(p) => st = style::apply_sgr(st, p),
        }
    }
    out
}

/// `WARN  disk low  free_mb=120 path=/data`: level coloured, message first.
fn structured_line(st: structured::Structured) -> Styled {
    let mut out = Styled::new();
    if let Some(level) = &st.level_text {
        out.push(
            style::level(st.level),
            format!("{:<5} ", level.to_ascii_uppercase()),
        );
    }
    if let Some(msg) = st.message {
        out.push(Style::new().add_modifier(Modifier::BOLD), msg);
    }
    for (k, v) in st.fields {
        out.push(style::DIM, format!("  {k}="));
        out.push(Style::new(), v);
    }
    out
}

/// A line on screen: the line, its formatted text and the rows it takes.
pub struct Shown<'a> {
    pub line: LineRef<'a>,
    pub text: Styled,
    pub rows: usize,
}

/// The lines on screen, top first. In follow mode with wrapping the first line may be
/// partly above the pane: its first `skip_rows` rows are hidden.
pub struct Window<'a> {
    pub lines: Vec<Shown<'a>>,
    pub skip_rows: usize,
}

/// The visible lines of the pane's current view at `cols`×`rows`.
pub fn window(state: &AppState, cols: usize, rows: usize) -> Window<'_> {
    match state.logs.scroll {
        Scroll::Follow => bottom_window(state, cols, rows),
        Scroll::Paused { top, .. } => {
            let view = state.logs.store.view(state.logs.scope);
            let fmt = LineFormatter::new(state);
            let mut lines = Vec::new();
            let mut used = 0;
            for line in view.forward(Some(top)) {
                if used >= rows {
                    break;
                }
                let text = fmt.format(line);
                let r = if state.logs.wrap { text.rows(cols) } else { 1 };
                used += r;
                lines.push(Shown {
                    line,
                    text,
                    rows: r,
                });
            }
            Window {
                lines,
                skip_rows: 0,
            }
        }
    }
}

/// The window that follow mode shows: the newest lines, filling the pane upwards.
pub fn bottom_window(state: &AppState, cols: usize, rows: usize) -> Window<'_> {
    let view = state.logs.store.view(state.logs.scope);
    let fmt = LineFormatter::new(state);
    let mut lines = Vec::new();
    let mut used = 0;
    for line in view.backward(None) {
        if used >= rows {
            break;
        }
        let text = fmt.format(line);
        let r = if state.logs.wrap { text.rows(cols) } else { 1 };
        used += r;
        lines.push(Shown {
            line,
            text,
            rows: r,
        });
    }
    lines.reverse();
    Window {
        lines,
        skip_rows: used.saturating_sub(rows),
    }
}

/// Lines that arrived in the view since it paused.
pub fn new_lines(state: &AppState) -> u64 {
    match state.logs.scroll {
        Scroll::Follow => 0,
        Scroll::Paused {
            received_at_pause, ..
        } => state
            .logs
            .store
            .view(state.logs.scope)
            .received()
            .saturating_sub(received_at_pause),
    }
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    let focused = state.focus == Focus::Logs;
    let view = state.logs.store.view(state.logs.scope);
    let scope_name = match state.logs.scope {
        Scope::All => "all services".to_string(),
        Scope::Service(idx) => state
            .logs
            .store
            .service_name(idx)
            .map_or_else(|| "?".into(), |n| n.to_string()),
    };
    let title_style = if focused {
        style::FOCUSED
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    let mut flags: Vec<Span> = Vec::new();
    let mut flag = |s: Span<'static>| {
        flags.push(Span::raw(" "));
        flags.push(s);
    };
    if let Some(m) = state.logs.store.search() {
        let total = view.match_count();
        let at = state
            .logs
            .current_match
            .map_or(0, |k| view.match_rank(k) + 1);
        flag(Span::styled(
            format!("search '{}' {at}/{total}", m.pattern()),
            style::WARN,
        ));
    }
    if let Some(m) = state.logs.store.filter() {
        flag(Span::styled(
            format!("filter '{}' {} lines", m.pattern(), view.len()),
            style::WARN,
        ));
    }
    if state.logs.wrap {
        flag(Span::raw("wrap"));
    }
    if state.logs.timestamps {
        flag(Span::raw("time"));
    }
    if state.logs.raw_json {
        flag(Span::raw("raw json"));
    }
    match state.logs.scroll {
        Scroll::Follow => flag(Span::styled("following", Style::new().fg(Color::Green))),
        Scroll::Paused { .. } => flag(Span::styled(
            format!("paused · {} new", new_lines(state)),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )),
    }
    flags.push(Span::raw(" "));
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(if focused { style::FOCUSED } else { style::DIM })
        .title_top(Line::from(Span::styled(
            format!(" Logs · {scope_name} "),
            title_style,
        )))
        .title_top(Line::from(flags).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if view.is_empty() {
        let msg = match state.logs.store.filter() {
            Some(m) => format!(
                "no lines match '{}' (f to change, Esc to clear)",
                m.pattern()
            ),
            None => "no log lines yet".to_string(),
        };
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            msg,
            inner.width.saturating_sub(1) as usize,
            style::DIM,
        );
        return;
    }
    let win = window(state, inner.width as usize, inner.height as usize);
    let mut y = 0;
    for (i, shown) in win.lines.iter().enumerate() {
        let skip = if i == 0 { win.skip_rows } else { 0 };
        y += text::draw(buf, inner, y, &shown.text, state.logs.wrap, skip);
        if y >= inner.height {
            break;
        }
    }
    let new = new_lines(state);
    if new > 0 {
        let label = format!(
            " ↓ {new} new line{} · G to follow ",
            if new == 1 { "" } else { "s" }
        );
        let w = (label.width() as u16).min(inner.width);
        let x = inner.x + inner.width - w;
        buf.set_stringn(
            x,
            inner.y + inner.height - 1,
            label,
            w as usize,
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        );
    }
}
