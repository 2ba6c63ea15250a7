//! The Doctor view (`D`): the doctor's findings for the selected service or the whole
//! stack — level, file:line, what is wrong and the one-line fix — then what the daemon
//! knows (built images' sizes and biggest layers, each container's user). Also the
//! badge a service row shows when it has findings.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};
use unicode_width::UnicodeWidthStr;

use crate::doctor::Level;

use super::super::doctor::{self, Inspection};
use super::super::state::{AppState, ServiceRow};
use super::style;
use super::text::{self, Styled};

fn level_style(l: Level) -> (Style, &'static str) {
    match l {
        Level::Error => (style::ERROR, "✗"),
        Level::Warning => (style::WARN, "!"),
        Level::Info => (Style::new().fg(Color::Cyan), "i"),
    }
}

/// The row's badge: the worst level's symbol and the count (` ✗2`), or nothing.
pub fn badge(state: &AppState, row: &ServiceRow) -> Option<(Style, String)> {
    let (level, n) = doctor::badge(state, &row.name)?;
    let (st, sym) = level_style(level);
    Some((st, format!(" {sym}{n}")))
}

fn plain(st: Style, s: impl Into<String>) -> Styled {
    let mut l = Styled::new();
    l.push(st, s);
    l
}

/// Columns before a finding's text: `✗ error   `.
const INDENT: usize = 10;

fn findings_lines(state: &AppState, cols: usize) -> Vec<Styled> {
    let mut out = Vec::new();
    if let Some(e) = &state.doctor.error {
        out.push(plain(
            style::ERROR,
            format!("the last check failed: {e} (findings may be stale)"),
        ));
    }
    if state.doctor.findings.is_none() {
        out.push(plain(
            style::DIM,
            "checking the Dockerfiles and the stack file…",
        ));
        return out;
    }
    let shown = doctor::shown(state);
    if shown.is_empty() {
        let name = state.selected_row().map(|r| r.name.as_str()).unwrap_or("");
        out.push(if state.doctor.all {
            plain(
                Style::new().fg(Color::Green),
                "no finding: the stack passes every check",
            )
        } else {
            plain(
                Style::new().fg(Color::Green),
                format!("no finding for '{name}' ('a' shows the whole stack)"),
            )
        });
    }
    // Wrapped at spaces here (a path or a fix cut mid-word reads wrong), under the text.
    let room = cols.saturating_sub(INDENT).max(10);
    let pad = " ".repeat(INDENT);
    for f in shown {
        let (st, sym) = level_style(f.level);
        let mut l = Styled::new();
        l.push(st, format!("{sym} {:<7} ", f.level.as_str()));
        let location = f.location();
        l.push(Style::new().add_modifier(Modifier::BOLD), location.as_str());
        if location.width() + 2 + f.message.width() <= room {
            l.push(Style::new(), format!("  {}", f.message));
            out.push(l);
        } else {
            out.push(l);
            for part in text::words_within(&f.message, room) {
                out.push(plain(Style::new(), format!("{pad}{part}")));
            }
        }
        for (i, part) in text::words_within(&f.fix, room).into_iter().enumerate() {
            let mut fix = Styled::new();
            fix.push(style::DIM, if i == 0 { "     fix  " } else { pad.as_str() });
            fix.push(Style::new(), part);
            out.push(fix);
        }
    }
    out
}

fn inspection_lines(state: &AppState) -> Vec<Styled> {
    let heading = Style::new().add_modifier(Modifier::BOLD);
    let mut out = vec![Styled::new(), plain(heading, "Images and users")];
    match &state.doctor.inspection {
        _ if state.doctor.inspecting && state.doctor.inspection.is_none() => {
            out.push(plain(style::DIM, "asking the daemon…"));
        }
        None => {}
        Some(Err(e)) => out.push(plain(style::ERROR, format!("the daemon: {e}"))),
        Some(Ok(i)) => out.extend(describe(i)),
    }
    out
}

fn describe(i: &Inspection) -> Vec<Styled> {
    let mut out = Vec::new();
    if i.images.is_empty() {
        out.push(plain(style::DIM, "no built image yet"));
    }
    for image in &i.images {
        let mut l = Styled::new();
        l.indent = 4;
        l.push(Style::new(), format!("{}  ", image.reference));
        l.push(
            style::DIM,
            format!("{} in {} layers", text::bytes(image.size), image.layers),
        );
        out.push(l);
        for (size, by) in &image.biggest {
            let mut b = Styled::new();
            b.indent = 12;
            b.push(style::DIM, format!("  {:>8}  ", text::bytes(*size)));
            b.push(Style::new(), by.as_str());
            out.push(b);
        }
    }
    let w = i
        .users
        .iter()
        .map(|(s, _, _)| s.as_str().len())
        .max()
        .unwrap_or(0);
    for (service, user, root) in &i.users {
        let mut l = Styled::new();
        let who = if user.is_empty() {
            "root (image default)"
        } else {
            user
        };
        l.push(Style::new(), format!("{:<w$}  ", service.as_str()));
        if *root {
            l.push(style::WARN, format!("{who}  ← runs as root"));
        } else {
            l.push(Style::new(), who);
        }
        out.push(l);
    }
    out
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    let w = area.width.saturating_sub(4).max(area.width.min(20));
    let h = area.height.saturating_sub(2).max(area.height.min(5));
    // Border and a one-column margin on each side.
    let mut lines = findings_lines(state, (w as usize).saturating_sub(4));
    lines.extend(inspection_lines(state));
    let scroll = state.doctor.scroll.min(lines.len().saturating_sub(1));
    let title = if state.doctor.all {
        format!(" Doctor · stack '{}' ", state.project)
    } else {
        let name = state.selected_row().map(|r| r.name.as_str()).unwrap_or("");
        format!(" Doctor · '{name}' ")
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style::FOCUSED)
        .title_top(Line::from(title).style(style::FOCUSED))
        .title_bottom(Line::from(" a all/service · Esc closes ").right_aligned());
    let inner = super::overlay(buf, area, w, h, block);
    let inner = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    let mut y = 0;
    for l in &lines[scroll..] {
        if y >= inner.height {
            break;
        }
        y += text::draw(buf, inner, y, l, true, 0);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;

    use crate::doctor::{Check, Finding, Level};
    use crate::model::ServiceName;
    use crate::tui::doctor::{DoctorAnswer, ImageSummary, Inspection};
    use crate::tui::state::AppState;
    use crate::tui::update::{Event, update};
    use crate::tui::views::render;

    fn draw(state: &AppState, w: u16, h: u16) -> Buffer {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(state, f)).unwrap();
        t.backend().buffer().clone()
    }

    fn screen(buf: &Buffer) -> String {
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            let mut skip = 0;
            for x in 0..buf.area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = buf[(x, y)].symbol();
                skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
                line.push_str(sym);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    fn finding(
        check: Check,
        level: Level,
        file: &str,
        line: Option<usize>,
        service: &str,
        message: &str,
        fix: &str,
    ) -> Finding {
        Finding {
            check,
            level,
            file: PathBuf::from(file),
            line,
            service: Some(service.into()),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The fixture with findings on its first service (error) and its second (warning),
    /// and the daemon's answer.
    fn with_findings() -> AppState {
        let mut s = AppState::fixture();
        let first = s.services[0].name.to_string();
        let second = s.services[1].name.to_string();
        let findings = vec![
            finding(
                Check::SecretInImage,
                Level::Error,
                "pipeline/Dockerfile",
                Some(7),
                &first,
                "'ARG DB_PASSWORD' keeps the secret in the image's history",
                "pass it at run time (environment: or secrets:), not as a build argument",
            ),
            finding(
                Check::RootUser,
                Level::Warning,
                "pipeline/Dockerfile",
                Some(14),
                &first,
                "the final stage runs as root",
                "add 'RUN useradd -m app' and 'USER app' at the end",
            ),
            finding(
                Check::NoDockerignore,
                Level::Warning,
                "pipeline",
                None,
                &first,
                "no .dockerignore: everything in the folder is sent to the daemon",
                "add a .dockerignore covering .env*, .git, data/ and .venv/",
            ),
            finding(
                Check::PublicPort,
                Level::Warning,
                "compose.yaml",
                Some(22),
                &second,
                "port 8080 is published on every interface",
                "write '127.0.0.1:8080:8080'",
            ),
        ];
        update(&mut s, Event::Doctor(DoctorAnswer::Findings(Ok(findings))));
        update(
            &mut s,
            Event::Doctor(DoctorAnswer::Inspection(Ok(Inspection {
                images: vec![ImageSummary {
                    reference: "shop-pipeline".into(),
                    size: 182 * 1024 * 1024,
                    layers: 11,
                    biggest: vec![
                        (
                            120 * 1024 * 1024,
                            "RUN pip install -r requirements.txt".into(),
                        ),
                        (48 * 1024 * 1024, "FROM python:3.12.13-slim-bookworm".into()),
                        (2 * 1024 * 1024, "COPY src/ ./src/".into()),
                    ],
                }],
                users: vec![
                    (ServiceName::new(&first), String::new(), true),
                    (ServiceName::new(&second), "airflow".into(), false),
                ],
            }))),
        );
        s
    }

    fn press(s: &mut AppState, c: char) {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        update(
            s,
            Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }

    #[test]
    fn badges_on_the_service_rows() {
        let s = with_findings();
        let small = draw(&s, 80, 24);
        insta::assert_snapshot!("doctor_badges_80x24", screen(&small));
        insta::assert_snapshot!("doctor_badges_200x50", screen(&draw(&s, 200, 50)));
        // The colour says how bad: red for an error, yellow for warnings.
        let text = screen(&small);
        let row = text.lines().position(|l| l.contains(" ✗3")).unwrap();
        let x = text
            .lines()
            .nth(row)
            .unwrap()
            .chars()
            .position(|c| c == '✗');
        let cell = &small[(x.unwrap() as u16, row as u16)];
        assert_eq!(cell.fg, ratatui::style::Color::Red);
        assert!(text.contains(" !1"), "{text}");
    }

    #[test]
    fn the_view_of_the_selected_service_and_of_all() {
        let mut s = with_findings();
        press(&mut s, 'D');
        insta::assert_snapshot!("doctor_view_80x24", screen(&draw(&s, 80, 24)));
        press(&mut s, 'a');
        insta::assert_snapshot!("doctor_view_all_200x50", screen(&draw(&s, 200, 50)));
    }

    #[test]
    fn a_clean_stack_says_so_and_tiny_sizes_do_not_panic() {
        let mut s = AppState::fixture();
        update(&mut s, Event::Doctor(DoctorAnswer::Findings(Ok(vec![]))));
        press(&mut s, 'D');
        let text = screen(&draw(&s, 80, 24));
        assert!(
            text.contains("no finding: the stack passes every check"),
            "{text}"
        );
        assert!(text.contains("asking the daemon"), "{text}");
        let mut s = with_findings();
        press(&mut s, 'D');
        for (w, h) in [(1, 1), (10, 3), (20, 6), (300, 8)] {
            draw(&s, w, h);
        }
    }
}
