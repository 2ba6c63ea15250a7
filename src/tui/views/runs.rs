//! The Runs view (`u`): a job's runs newest first (start, duration, exit code, trigger,
//! lines kept), the run the diff compares against marked; below, the selected run's own
//! log lines or the diff of its last lines from that run's. Drawn over the panes, the
//! footer keeps the view's keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};

use super::super::runs::DIFF_LINES;
use super::super::state::AppState;
use super::style;
use super::text::{self, Styled};
use crate::runs::{DiffLine, Run, duration_text, exit_text};

fn styled(s: Style, t: impl Into<String>) -> Styled {
    let mut l = Styled::new();
    l.push(s, t.into());
    l
}

/// A run's start in local time: `2026-12-01 14:02:11`, or `14:02:11` when narrow.
fn started(state: &AppState, run: &Run, wide: bool) -> String {
    use chrono::Offset;
    let offset =
        chrono::FixedOffset::east_opt(state.utc_offset_secs).unwrap_or_else(|| chrono::Utc.fix());
    let format = if wide {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%m-%d %H:%M"
    };
    chrono::DateTime::from_timestamp_millis(run.started_ms)
        .map(|t| t.with_timezone(&offset).format(format).to_string())
        .unwrap_or_else(|| "?".into())
}

fn exit_style(code: Option<i64>) -> Style {
    match code {
        Some(0) => Style::new().fg(Color::Green),
        Some(_) => style::ERROR,
        None => style::DIM,
    }
}

fn run_row(state: &AppState, i: usize, run: &Run, wide: bool) -> Styled {
    let view = &state.runs;
    let selected = i == view.selected;
    let base = if selected {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    };
    let mark = if view.base == Some(i) { "◆" } else { " " };
    let mut l = Styled::new();
    l.push(base, if selected { "▶" } else { " " });
    l.push(style::KEY, mark);
    l.push(base, format!("{}  ", started(state, run, wide)));
    l.push(base, format!("{:>10}  ", duration_text(run.duration_ms)));
    l.push(
        exit_style(run.exit_code),
        format!("{:<8}", exit_text(run.exit_code)),
    );
    l.push(base, format!(" {:<7}", run.trigger.as_str()));
    let kept = run.lines.len() as u64 + run.dropped_lines;
    l.push(style::DIM, format!(" {kept} lines"));
    l
}

/// The lower part's heading and lines.
fn detail(state: &AppState, wide: bool) -> (Styled, Vec<Styled>) {
    let view = &state.runs;
    let Some(run) = view.selected_run() else {
        return (Styled::new(), Vec::new());
    };
    let at = started(state, run, wide);
    if !view.diff {
        let mut head = format!("log of the run at {at}");
        if run.dropped_lines > 0 {
            head.push_str(&format!(" (its last {} lines)", run.lines.len()));
        }
        let lines = if run.lines.is_empty() {
            vec![styled(style::DIM, "(no output)")]
        } else {
            run.lines
                .iter()
                .map(|l| styled(Style::new(), l.clone()))
                .collect()
        };
        return (styled(style::DIM, head), lines);
    }
    let (Some(base), Some(diff)) = (view.base_run(), view.diff_lines()) else {
        return (
            styled(
                style::DIM,
                format!("diff: no earlier run than the one at {at}"),
            ),
            Vec::new(),
        );
    };
    let head = format!(
        "diff of the last {DIFF_LINES} lines: - run at {} · + run at {at}",
        started(state, base, wide)
    );
    let lines = if diff.iter().all(|d| matches!(d, DiffLine::Same(_))) {
        vec![styled(style::DIM, "(the same last lines)")]
    } else {
        diff.into_iter()
            .map(|d| match d {
                DiffLine::Same(t) => styled(Style::new(), format!("  {t}")),
                DiffLine::Removed(t) => styled(style::ERROR, format!("- {t}")),
                DiffLine::Added(t) => styled(Style::new().fg(Color::Green), format!("+ {t}")),
            })
            .collect()
    };
    (styled(style::DIM, head), lines)
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    let view = &state.runs;
    // Everything but the footer row, which keeps the view's keys.
    let h = area.height.saturating_sub(1).max(3).min(area.height);
    let w = area.width;
    let name = view.service.as_ref().map(|s| s.as_str()).unwrap_or("");
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(format!(" Runs of '{name}' ")).style(style::FOCUSED));
    let block = if view.loading {
        block.title_bottom(Line::from(" reading… ").right_aligned())
    } else {
        block
    };
    let inner = super::overlay(buf, Rect::new(area.x, area.y, w, h), w, h, block);
    let inner = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    let wide = inner.width >= 100;
    let mut y = 0;
    if let Some(e) = &view.error {
        y += text::draw(
            buf,
            inner,
            y,
            &styled(style::ERROR, format!("✗ {e}")),
            true,
            0,
        );
    }
    if view.runs.is_empty() {
        if !view.loading && view.error.is_none() {
            let l = styled(
                style::DIM,
                format!("no runs recorded yet: 'r' runs '{name}', 'devstack run {name}' too"),
            );
            text::draw(buf, inner, y, &l, true, 0);
        }
        return;
    }
    let when_w = if wide { 19 } else { 11 };
    let head = format!(
        "  {}  {:>10}  {:<8} {:<7} KEPT",
        text::fit("STARTED", when_w),
        "DURATION",
        "EXIT",
        "TRIGGER"
    );
    y += text::draw(buf, inner, y, &styled(style::DIM, head), false, 0);
    // The list takes up to a third of the view; it scrolls to keep the selection shown.
    let list_rows = (inner.height.saturating_sub(y) / 3).max(3) as usize;
    let first = view.selected.saturating_sub(list_rows.saturating_sub(1));
    for (i, run) in view.runs.iter().enumerate().skip(first).take(list_rows) {
        if y >= inner.height {
            return;
        }
        y += text::draw(buf, inner, y, &run_row(state, i, run, wide), false, 0);
    }
    if view.runs.len() > first + list_rows && y < inner.height {
        let more = view.runs.len() - first - list_rows;
        y += text::draw(
            buf,
            inner,
            y,
            &styled(style::DIM, format!("  … {more} older")),
            false,
            0,
        );
    }
    let (head, lines) = detail(state, wide);
    if y + 1 >= inner.height {
        return;
    }
    y += 1;
    y += text::draw(buf, inner, y, &head, false, 0);
    let rows = inner.height.saturating_sub(y) as usize;
    // Scrolled no further than the last page.
    let scroll = view.scroll.min(lines.len().saturating_sub(rows));
    for l in lines.iter().skip(scroll) {
        if y >= inner.height {
            break;
        }
        y += text::draw(buf, inner, y, l, false, 0);
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::model::ServiceName;
    use crate::tui::runs::fixture_runs;
    use crate::tui::state::{AppState, Mode};

    fn screen(state: &AppState, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| crate::tui::render(state, f)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                let mut line = String::new();
                let mut skip = 0;
                for x in 0..w {
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    let sym = buf[(x, y)].symbol();
                    skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
                    line.push_str(sym);
                }
                format!("{}\n", line.trim_end())
            })
            .collect()
    }

    fn state(diff: bool) -> AppState {
        let mut s = AppState::fixture();
        s.mode = Mode::Runs;
        s.runs.jobs = vec![ServiceName::new("worker")];
        s.runs.service = Some(ServiceName::new("worker"));
        let mut runs = fixture_runs();
        runs.reverse();
        s.runs.runs = runs;
        s.runs.base = Some(2);
        s.runs.diff = diff;
        s
    }

    #[test]
    fn runs_view_80x24() {
        let text = screen(&state(false), 80, 24);
        assert!(text.contains("Runs of 'worker'"), "{text}");
        assert!(
            text.find("exit 2").unwrap() < text.find("exit 0").unwrap(),
            "newest first: {text}"
        );
        assert!(text.contains("relation \"sales\" does not exist"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn runs_view_diff_200x50() {
        let text = screen(&state(true), 200, 50);
        assert!(text.contains("- extract: 5000 rows"), "{text}");
        assert!(text.contains("+ failed"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn runs_view_diff_80x24_and_log_200x50() {
        insta::assert_snapshot!("runs_view_diff_80x24", screen(&state(true), 80, 24));
        insta::assert_snapshot!("runs_view_log_200x50", screen(&state(false), 200, 50));
    }
}
