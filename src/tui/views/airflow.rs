//! The Airflow view (`A`): DAG import errors first, in red, with file:line and the end of
//! the traceback; the components' health on one line; then the DAGs (paused, last run,
//! next run) with the selected one highlighted. Drawn over the panes, the footer stays.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};
use unicode_width::UnicodeWidthStr;

use super::super::state::AppState;
use super::style;
use super::text::{self, Styled};
use crate::airflow::report::{error_location, short_time};

/// Traceback lines shown per import error: its last ones, where Python names the error.
const TRACE_LINES: usize = 3;

fn line(parts: &[(Style, String)]) -> Styled {
    let mut l = Styled::new();
    for (s, t) in parts {
        l.push(*s, t.clone());
    }
    l
}

fn run_style(state: &str) -> Style {
    match state {
        "success" => Style::new().fg(Color::Green),
        "failed" => style::ERROR,
        "running" | "queued" => Style::new().fg(Color::Cyan),
        _ => Style::new(),
    }
}

fn lines(state: &AppState, cols: usize) -> Vec<(Styled, bool)> {
    let view = &state.airflow;
    let mut out: Vec<(Styled, bool)> = Vec::new();
    let plain = |s: &str| line(&[(Style::new(), s.to_string())]);
    if let Some(e) = &view.error {
        out.push((line(&[(style::ERROR, format!("✗ {e}"))]), true));
    }
    if let Some(saved) = &view.saved {
        let ago = super::text::duration((state.now_unix - saved.at).max(0));
        out.push((
            line(&[(
                Style::new().fg(Color::Yellow),
                format!(
                    "{} saved {ago} ago — waiting for the dag-processor",
                    saved.what()
                ),
            )]),
            true,
        ));
    }
    let Some(o) = &view.overview else {
        if view.error.is_none() {
            out.push((line(&[(style::DIM, "asking Airflow…".into())]), false));
        }
        return out;
    };
    if !o.import_errors.is_empty() {
        out.push((
            line(&[(
                style::ERROR,
                format!(
                    "DAG import errors ({}): these files define no DAG",
                    o.import_errors.len()
                ),
            )]),
            false,
        ));
        for e in &o.import_errors {
            out.push((
                line(&[
                    (style::ERROR, "  ✗ ".into()),
                    (style::ERROR, error_location(e, &|e| e.filename.clone())),
                ]),
                false,
            ));
            let trace: Vec<&str> = e.stack_trace.trim_end().lines().collect();
            for t in &trace[trace.len().saturating_sub(TRACE_LINES)..] {
                out.push((
                    line(&[(Style::new().fg(Color::Red), format!("      {t}"))]),
                    false,
                ));
            }
        }
        out.push((plain(""), false));
    }
    let mut health = Styled::new();
    for c in &o.health.components {
        let (mark, s) = if c.is_healthy() {
            ("✓", Style::new().fg(Color::Green))
        } else {
            ("✗", style::ERROR)
        };
        health.push(Style::new(), format!("{} ", c.name));
        health.push(s, mark);
        health.push(Style::new(), "   ");
    }
    out.push((health, false));
    out.push((plain(""), false));
    if o.dags.is_empty() {
        out.push((
            line(&[(
                style::DIM,
                "no DAGs yet: put DAG files in the dags folder".into(),
            )]),
            false,
        ));
        return out;
    }
    let id_w = o
        .dags
        .iter()
        .map(|(d, _)| d.dag_id.width())
        .max()
        .unwrap_or(0)
        .clamp(3, (cols / 3).max(3));
    let when_w = if cols >= 100 { 19 } else { 11 };
    let when = |t: &str| {
        let t = short_time(t);
        // Narrow: `MM-DD HH:MM`, the part that changes.
        if when_w < 19 {
            t.get(5..16).unwrap_or(&t).to_string()
        } else {
            t
        }
    };
    out.push((
        line(&[(
            style::DIM,
            format!(
                "  {}  {:<6}  {:<8} {}  NEXT RUN",
                text::fit("DAG", id_w),
                "PAUSED",
                "LAST RUN",
                text::fit("", when_w)
            ),
        )]),
        false,
    ));
    for (i, (dag, last)) in o.dags.iter().enumerate() {
        let selected = i == view.selected;
        let base = if selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let (state_text, at) = match last {
            Some(r) => (r.state.clone(), r.when().map(when).unwrap_or_default()),
            None => ("-".to_string(), String::new()),
        };
        let next = dag.next_run().map(when).unwrap_or_else(|| "-".into());
        let mut l = Styled::new();
        l.push(base, if selected { "▶ " } else { "  " });
        l.push(base, text::fit(&dag.dag_id, id_w));
        l.push(base, "  ");
        l.push(
            if dag.is_paused {
                style::DIM
            } else {
                Style::new().fg(Color::Green)
            },
            format!("{:<6}", if dag.is_paused { "yes" } else { "no" }),
        );
        l.push(base, "  ");
        l.push(
            run_style(&state_text),
            format!("{:<8}", text::truncate(&state_text, 8)),
        );
        l.push(base, format!(" {}  {next}", text::fit(&at, when_w)));
        out.push((l, false));
    }
    if let Some(t) = &view.tasks {
        out.push((plain(""), false));
        out.push((
            line(&[(
                style::DIM,
                format!("tasks of '{}' run {}", t.dag_id, t.run_id),
            )]),
            false,
        ));
        let task_w = t
            .tasks
            .iter()
            .map(|ti| ti.task_id.width())
            .max()
            .unwrap_or(0)
            .clamp(4, (cols / 2).max(4));
        for (i, ti) in t.tasks.iter().enumerate() {
            let selected = i == t.selected;
            let base = if selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            let state_text = ti.state.clone().unwrap_or_else(|| "-".into());
            let duration = ti.duration.map(|d| format!("{d:.1} s")).unwrap_or_default();
            let tries = match (selected, t.try_number) {
                (true, Some(n)) if ti.try_number > 1 => format!("try {n}/{}", ti.try_number),
                _ if ti.try_number > 1 => format!("{} tries", ti.try_number),
                _ => String::new(),
            };
            let mut l = Styled::new();
            l.push(base, if selected { "▶ " } else { "  " });
            l.push(base, format!("{}  ", text::fit(&ti.task_id, task_w)));
            l.push(run_style(&state_text), format!("{state_text:<15}"));
            l.push(Style::new(), format!(" {duration:<8} {tries}"));
            out.push((l, false));
        }
        out.push((
            line(&[(
                style::DIM,
                "Enter: the selected task's log · [ ]: its tries · l: every task's log · Esc: back to the DAGs".into(),
            )]),
            true,
        ));
    }
    out
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    // Everything but the footer row, which keeps the view's keys.
    let h = area.height.saturating_sub(1).max(3).min(area.height);
    let w = area.width;
    let title = match &state.airflow.url {
        Some(url) => format!(" Airflow  {url} "),
        None => " Airflow ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(title).style(style::FOCUSED));
    let block = if state.airflow.loading {
        block.title_bottom(Line::from(" refreshing… ").right_aligned())
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
    // The conf being typed (`T`) takes the last row.
    let rows = if state.airflow.conf_prompt.is_some() {
        inner.height.saturating_sub(1)
    } else {
        inner.height
    };
    let body = Rect::new(inner.x, inner.y, inner.width, rows);
    let mut y = 0;
    for (l, wrap) in lines(state, inner.width as usize) {
        if y >= body.height {
            break;
        }
        y += text::draw(buf, body, y, &l, wrap, 0);
    }
    if let (Some(conf), Some((dag, _))) = (&state.airflow.conf_prompt, state.airflow.selected_dag())
    {
        let l = line(&[
            (
                style::KEY,
                format!(
                    "conf for '{}' (JSON, Enter runs, Esc cancels): ",
                    dag.dag_id
                ),
            ),
            (Style::new(), format!("{conf}█")),
        ]);
        text::draw(buf, inner, rows, &l, false, 0);
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::tui::airflow::fixture_overview;
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

    fn state() -> AppState {
        let mut s = AppState::fixture();
        s.mode = Mode::Airflow;
        s.airflow.available = true;
        s.airflow.url = Some("http://127.0.0.1:8080".into());
        s.airflow.overview = Some(fixture_overview());
        s.airflow.selected = 2;
        s.airflow.tasks = Some(crate::tui::airflow::RunTasks {
            dag_id: "nightly_report".into(),
            run_id: "manual__2026-12-01T22:10:00+00:00".into(),
            tasks: crate::airflow::api::parse_task_instances(
                br#"{"task_instances":[{"task_id":"extract","state":"success","duration":2.51,"try_number":1},{"task_id":"report","state":"failed","duration":0.8,"try_number":1},{"task_id":"mail","state":"upstream_failed","try_number":0}]}"#,
            )
            .unwrap(),
            selected: 1,
            try_number: None,
        });
        s
    }

    #[test]
    fn airflow_view_80x24() {
        let text = screen(&state(), 80, 24);
        let errors = text.find("DAG import errors").unwrap();
        assert!(errors < text.find("load_warehouse").unwrap(), "{text}");
        assert!(text.contains("dags/broken.py:3"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn airflow_view_200x50() {
        insta::assert_snapshot!(screen(&state(), 200, 50));
    }

    fn saved_state() -> AppState {
        let mut s = state();
        s.airflow.tasks = None;
        s.airflow.saved = Some(crate::tui::airflow::Saved {
            files: vec!["dags/etl.py".into()],
            at: s.now_unix - 3,
            before: s.airflow.overview.clone(),
            next: 2,
        });
        s
    }

    #[test]
    fn airflow_view_waiting_for_a_saved_dag_80x24() {
        let text = screen(&saved_state(), 80, 24);
        assert!(
            text.contains("dags/etl.py saved 3s ago — waiting for the dag-processor"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn airflow_view_waiting_for_a_saved_dag_200x50() {
        insta::assert_snapshot!(screen(&saved_state(), 200, 50));
    }
}
