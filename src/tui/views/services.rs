//! The services pane: one row per service (state, health, ports, uptime, restarts, CPU,
//! memory, and what it waits for), and detail lines about the selected one (last probe
//! output, exit code and last lines, the reason a start is stuck). Its bottom border
//! names the stack's headline endpoint (the Airflow UI) and the `e` key to the rest.
//!
//! Columns are dropped from the least important when the terminal is narrow; a wide
//! terminal gets an info column with the full waiting/progress text.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};
use unicode_width::UnicodeWidthStr;

use crate::logs::{LineKind, Scope};
use crate::model::{ProbeResult, Progress, PublishedPort};
use crate::stack::Condition;

use super::super::state::{AppState, Focus, ServiceRow, Status};
use super::style;
use super::text::{self, Styled};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    State,
    Health,
    Ports,
    Uptime,
    Restarts,
    Cpu,
    Mem,
    Image,
    Info,
}

const ORDER: [Col; 10] = [
    Col::Name,
    Col::State,
    Col::Health,
    Col::Ports,
    Col::Uptime,
    Col::Restarts,
    Col::Cpu,
    Col::Mem,
    Col::Image,
    Col::Info,
];
/// Which columns go first when the terminal is too narrow for all of them (the info
/// column takes what is left after these).
const DROP_ORDER: [Col; 7] = [
    Col::Image,
    Col::Health,
    Col::Restarts,
    Col::Mem,
    Col::Cpu,
    Col::Uptime,
    Col::Ports,
];
const MAX_WIDTH: [(Col, usize); 4] = [
    (Col::Name, 24),
    (Col::Ports, 36),
    (Col::State, 16),
    (Col::Image, 32),
];
/// Below this the info column is not worth showing.
const MIN_INFO: usize = 20;

fn header(c: Col) -> &'static str {
    match c {
        Col::Name => "SERVICE",
        Col::State => "STATE",
        Col::Health => "HEALTH",
        Col::Ports => "PORTS",
        Col::Uptime => "UP",
        Col::Restarts => "RST",
        Col::Cpu => "CPU",
        Col::Mem => "MEM",
        Col::Image => "IMAGE",
        Col::Info => "INFO",
    }
}

/// One cell: pieces of text with styles.
type Cell = Vec<(Style, String)>;

fn cell(style: Style, s: impl Into<String>) -> Cell {
    vec![(style, s.into())]
}

fn cell_width(c: &Cell) -> usize {
    c.iter().map(|(_, s)| s.width()).sum()
}

fn cells(state: &AppState, row: &ServiceRow) -> Vec<(Col, Cell)> {
    let status = row.status();
    let c = row.container.as_ref();
    let (sym, word, color) = state_cell(row, status);
    let dash = || cell(style::DIM, "—");
    let uptime = match (status.is_running(), c.and_then(|c| c.started_at)) {
        (true, Some(t)) => cell(Style::new(), text::duration(state.now_unix - t)),
        _ => dash(),
    };
    let restarts = match c {
        Some(c) if c.restart_count > 0 => cell(style::WARN, c.restart_count.to_string()),
        Some(c) => cell(Style::new(), c.restart_count.to_string()),
        None => dash(),
    };
    let (cpu, mem) = match (&row.stats, status.is_running()) {
        (Some(s), true) => (
            cell(Style::new(), format!("{:.1}%", s.cpu_percent)),
            cell(Style::new(), text::bytes(s.memory_bytes)),
        ),
        _ => (dash(), dash()),
    };
    let info = match info_text(state, row) {
        Some((t, st)) => cell(st, t),
        None => Vec::new(),
    };
    vec![
        (Col::Name, {
            let mut name = cell(Style::new().add_modifier(Modifier::BOLD), row.name.as_str());
            name.extend(super::doctor::badge(state, row));
            name
        }),
        (
            Col::State,
            cell(Style::new().fg(color), format!("{sym} {word}")),
        ),
        (Col::Health, health_cell(row, status)),
        (Col::Ports, ports_cell(row)),
        (Col::Uptime, uptime),
        (Col::Restarts, restarts),
        (Col::Cpu, cpu),
        (Col::Mem, mem),
        (Col::Image, cell(style::DIM, row.image.as_str())),
        (Col::Info, info),
    ]
}

/// Status symbol and word; while `up` works on a service that has no running container
/// yet, its progress instead ("↓ pulling 45%").
fn state_cell(row: &ServiceRow, status: Status) -> (&'static str, String, Color) {
    let busy = matches!(
        status,
        Status::NotCreated | Status::Created | Status::Exited(_)
    );
    match (&row.progress, busy) {
        (Some(Progress::Pulling { percent }), true) => (
            "↓",
            percent.map_or_else(|| "pulling".into(), |p| format!("pulling {p}%")),
            Color::Cyan,
        ),
        (Some(Progress::Building { .. }), true) => ("≡", "building".into(), Color::Cyan),
        (Some(Progress::Waiting { .. }), true) => ("…", "waiting".into(), Color::Yellow),
        (Some(Progress::Creating), true) => ("+", "creating".into(), Color::Cyan),
        (Some(Progress::Starting), true) => ("◐", "starting".into(), Color::Yellow),
        (Some(Progress::Removing), _) => ("−", "removing".into(), Color::DarkGray),
        (Some(Progress::Failed { .. }), true) => ("✗", "failed".into(), Color::Red),
        _ => style::status(status),
    }
}

/// Docker's own failing streak against the healthcheck's `retries` (the streak that
/// makes it unhealthy), and nothing of the kind once healthy: never a count of our own.
fn health_cell(row: &ServiceRow, status: Status) -> Cell {
    let streak = row.health_log.as_ref().map_or(0, |h| h.failing_streak);
    let retries = row.retries;
    match status {
        Status::Healthy => cell(Style::new().fg(Color::Green), "ok"),
        Status::Unhealthy if streak > 0 => cell(style::ERROR, format!("{streak}/{retries}")),
        Status::Unhealthy => cell(style::ERROR, "failing"),
        Status::Starting if streak > 0 => cell(style::WARN, format!("{streak}/{retries}")),
        Status::Starting => cell(style::WARN, "wait"),
        _ => cell(style::DIM, "—"),
    }
}

fn ports_cell(row: &ServiceRow) -> Cell {
    let mut out: Cell = Vec::new();
    let mut push = |text: String, loopback: bool| {
        if !out.is_empty() {
            out.push((Style::new(), " ".into()));
        }
        if loopback {
            out.push((Style::new(), text));
        } else {
            // Flagged with `!` as well as colour: reachable from the network.
            out.push((style::WARN.add_modifier(Modifier::BOLD), format!("{text}!")));
        }
    };
    match &row.container {
        Some(c) if !c.ports.is_empty() => {
            for p in dedupe(&c.ports) {
                let loopback = p.is_loopback();
                push(
                    port_text(
                        &p.host_ip,
                        Some(p.host_port),
                        p.container_port,
                        p.protocol.as_str(),
                    ),
                    loopback,
                );
            }
        }
        _ => {
            for p in &row.declared_ports {
                push(
                    port_text(
                        &p.host_ip,
                        p.host_port,
                        p.container_port,
                        p.protocol.as_str(),
                    ),
                    p.is_loopback(),
                );
            }
        }
    }
    if out.is_empty() {
        out.push((style::DIM, "—".into()));
    }
    out
}

/// The daemon lists a `0.0.0.0` binding twice (IPv4 and IPv6): show it once.
fn dedupe(ports: &[PublishedPort]) -> Vec<&PublishedPort> {
    let mut out: Vec<&PublishedPort> = Vec::new();
    for p in ports {
        let twin = out.iter().any(|q| {
            q.host_port == p.host_port
                && q.container_port == p.container_port
                && q.protocol == p.protocol
        });
        if !twin {
            out.push(p);
        }
    }
    out
}

fn port_text(ip: &str, host: Option<u16>, container: u16, proto: &str) -> String {
    let ip = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    let host = host.map_or_else(|| "?".into(), |p| p.to_string());
    let suffix = if proto == "tcp" { "" } else { proto };
    let slash = if suffix.is_empty() { "" } else { "/" };
    format!("{ip}:{host}→{container}{slash}{suffix}")
}

/// What a service waits for or is doing, in words, when there is something to say.
pub fn info_text(state: &AppState, row: &ServiceRow) -> Option<(String, Style)> {
    match &row.progress {
        Some(Progress::Waiting {
            on,
            condition,
            detail,
        }) => {
            let cond = match condition {
                Condition::Healthy => "healthy",
                Condition::Started => "started",
                Condition::CompletedSuccessfully => "completed",
            };
            let mut s = format!("waiting: {on} {cond}");
            if let Some(dep) = state.row(on) {
                s.push_str(&health_words(dep));
            }
            if let Some(d) = detail {
                s.push_str(&format!(" — {}", one_line(d)));
            }
            Some((s, style::WARN))
        }
        Some(Progress::WaitingHealthy { .. }) => {
            Some((format!("waiting healthy{}", health_words(row)), style::WARN))
        }
        Some(Progress::Pulling { percent: Some(p) }) => {
            Some((format!("pulling {} ({p}%)", row.image), style::DIM))
        }
        Some(Progress::Pulling { percent: None }) => {
            Some((format!("pulling {}", row.image), style::DIM))
        }
        Some(Progress::Building { step }) => {
            Some((format!("building: {}", one_line(step)), style::DIM))
        }
        Some(Progress::Creating) => Some(("creating container".into(), style::DIM)),
        Some(Progress::Starting) => Some(("starting container".into(), style::DIM)),
        Some(Progress::Removing) => Some(("removing container".into(), style::DIM)),
        Some(Progress::Slow { reason }) => Some((one_line(reason), style::WARN)),
        Some(Progress::Failed { reason }) => {
            Some((format!("failed: {}", one_line(reason)), style::ERROR))
        }
        Some(Progress::Done | Progress::Ready(_)) | None => match row.status() {
            Status::Unhealthy => row.health_log.as_ref().and_then(|h| {
                let p = h.probe.as_ref()?;
                Some((
                    format!("last probe: {}", probe_text(row, p)),
                    Style::new().fg(Color::Red),
                ))
            }),
            Status::Exited(code) if code != 0 => last_lines(state, row, 1)
                .pop()
                .map(|l| (format!("last line: {}", l.plain()), style::DIM)),
            _ => None,
        },
    }
}

/// Probe output and reasons are often several lines (and curl's progress meter): one
/// line for a cell.
fn one_line(s: &str) -> String {
    crate::model::one_line(s, " ⏎ ")
}

/// A probe of the current run: its output, and its exit code with what that means.
fn probe_text(row: &ServiceRow, p: &ProbeResult) -> String {
    crate::model::probe_summary(&row.probe_command, p.exit_code, &p.output)
}

/// " — failing 2/5 — last probe: …" from Docker's state of the service's current
/// container; "" when there is nothing to say.
fn health_words(row: &ServiceRow) -> String {
    let Some(h) = &row.health_log else {
        return String::new();
    };
    let mut s = String::new();
    if h.failing_streak > 0 {
        s.push_str(&format!(" — failing {}/{}", h.failing_streak, row.retries));
    }
    if let Some(p) = &h.probe {
        s.push_str(&format!(" — last probe: {}", probe_text(row, p)));
    }
    s
}

/// The last `n` lines a service printed, formatted as in the logs pane, oldest first.
fn last_lines(state: &AppState, row: &ServiceRow, n: usize) -> Vec<Styled> {
    let store = &state.logs.store;
    let Some(idx) = store.service_idx(&row.name) else {
        return Vec::new();
    };
    let mut lines: Vec<Styled> = store
        .view(Scope::Service(idx))
        .backward(None)
        .filter(|l| l.kind != LineKind::Marker)
        .take(n)
        .map(|l| super::logs::content(l.text, state.logs.raw_json))
        .collect();
    lines.reverse();
    lines
}

/// Lines under the table about the selected service.
pub fn detail_lines(state: &AppState) -> Vec<Styled> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    // Most telling first: when space is short the last lines are the ones cut.
    let mut out = Vec::new();
    let status = row.status();
    match status {
        Status::Unhealthy => {
            let mut l = Styled::new();
            match row
                .health_log
                .as_ref()
                .and_then(|h| Some((h, h.probe.as_ref()?)))
            {
                Some((h, p)) => {
                    l.push(
                        style::ERROR,
                        format!(
                            "unhealthy — last probe (failing {}/{}): ",
                            h.failing_streak, row.retries
                        ),
                    );
                    l.push(Style::new(), probe_text(row, p));
                }
                None => l.push(style::ERROR, "unhealthy — no probe since it started"),
            }
            out.push(l);
        }
        Status::Exited(code) => {
            let mut l = Styled::new();
            let st = if code == 0 { style::DIM } else { style::ERROR };
            l.push(st, format!("exited with code {code}"));
            let lines = last_lines(state, row, 3);
            if !lines.is_empty() {
                l.push(style::DIM, " — last lines:");
            }
            out.push(l);
            for line in lines {
                let mut l = Styled::new();
                l.push(style::DIM, "  │ ");
                l.append(line);
                out.push(l);
            }
        }
        _ => {
            if let Some((t, st)) = info_text(state, row) {
                let mut l = Styled::new();
                l.push(st, t);
                out.push(l);
            }
        }
    }
    if let Some(run) = &row.last_run {
        let mut l = Styled::new();
        l.push(style::DIM, run.clone());
        out.push(l);
    }
    let mut ident = Styled::new();
    ident.push(Style::new().add_modifier(Modifier::BOLD), row.name.as_str());
    ident.push(style::DIM, format!("  {}", row.image));
    if let Some(c) = &row.container {
        ident.push(
            style::DIM,
            format!("  id {}  restarts {}", c.id.short(), c.restart_count),
        );
    }
    out.push(ident);
    out
}

/// Rows the pane wants: borders, header, one per service, details.
pub fn wanted_height(state: &AppState) -> u16 {
    (3 + state.services.len() + detail_lines(state).len()) as u16
}

/// First service row shown, so the selection is always visible.
pub fn first_visible(state: &AppState, visible_rows: usize) -> usize {
    if visible_rows == 0 {
        return 0;
    }
    state.selected.saturating_sub(visible_rows - 1)
}

/// Rows of the table body (services) that fit in a pane of `height`: every service if
/// it can, keeping one row for details; details get what is left.
pub fn table_rows(state: &AppState, height: u16) -> usize {
    let inner = height.saturating_sub(3) as usize; // borders and header
    if inner == 0 {
        return 0;
    }
    let keep = detail_lines(state).len().min(1);
    state.services.len().min(inner.saturating_sub(keep).max(1))
}

pub fn render(state: &AppState, buf: &mut Buffer, area: Rect) {
    let focused = state.focus == Focus::Services;
    let title = format!(" devstack {} · {} ", state.version, state.project);
    let running = state
        .services
        .iter()
        .filter(|r| r.status().is_running())
        .count();
    let summary = format!(" {running}/{} running ", state.services.len());
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { style::FOCUSED } else { style::DIM })
        .title_top(Line::from(Span::styled(
            title,
            if focused {
                style::FOCUSED
            } else {
                Style::new().add_modifier(Modifier::BOLD)
            },
        )))
        .title_top(Line::from(summary).right_aligned());
    if let Some(hint) = super::endpoints::headline(state, area.width) {
        block = block.title_bottom(hint);
    }
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || inner.width < 4 {
        return;
    }

    let rows: Vec<Vec<(Col, Cell)>> = state.services.iter().map(|r| cells(state, r)).collect();
    let cols = columns(&rows, inner.width.saturating_sub(3) as usize);

    // header
    let mut h = Styled::new();
    h.push(Style::new(), "  ");
    for (i, (c, w)) in cols.iter().enumerate() {
        if i > 0 {
            h.push(Style::new(), " ");
        }
        h.push(
            style::DIM.add_modifier(Modifier::BOLD),
            text::fit(header(*c), *w),
        );
    }
    text::draw(buf, inner, 0, &h, false, 0);

    let body_rows = table_rows(state, area.height);
    let first = first_visible(state, body_rows);
    for (n, (i, row_cells)) in rows
        .iter()
        .enumerate()
        .skip(first)
        .take(body_rows)
        .enumerate()
    {
        let selected = i == state.selected;
        let mut line = Styled::new();
        let base = if selected && focused {
            Style::new().bg(Color::DarkGray)
        } else {
            Style::new()
        };
        line.push(
            base.add_modifier(Modifier::BOLD),
            if selected { "▸ " } else { "  " },
        );
        for (j, (c, w)) in cols.iter().enumerate() {
            if j > 0 {
                line.push(base, " ");
            }
            let cell = row_cells
                .iter()
                .find(|(cc, _)| cc == c)
                .map(|(_, cell)| cell.clone())
                .unwrap_or_default();
            let mut used = 0;
            for (st, t) in cell {
                let room = w.saturating_sub(used);
                let t = text::truncate(&t, room);
                used += t.width();
                line.push(base.patch(st), t);
            }
            if *c != Col::Info || selected {
                line.push(base, " ".repeat(w.saturating_sub(used)));
            }
        }
        if selected && focused {
            let pad = (inner.width as usize).saturating_sub(line.plain().width());
            line.push(base, " ".repeat(pad));
        }
        text::draw(buf, inner, 1 + n as u16, &line, false, 0);
    }
    let y0 = 1 + body_rows as u16;
    for (k, l) in detail_lines(state).iter().enumerate() {
        let y = y0 + k as u16;
        if y >= inner.height {
            break;
        }
        let mut l2 = Styled::new();
        l2.push(Style::new(), "  ");
        l2.append(l.clone());
        text::draw(buf, inner, y, &l2, false, 0);
    }
}

/// Columns shown at `width` with their widths.
fn columns(rows: &[Vec<(Col, Cell)>], width: usize) -> Vec<(Col, usize)> {
    let mut cols: Vec<(Col, usize)> = ORDER
        .iter()
        .filter(|c| **c != Col::Info)
        .map(|&c| {
            let content = rows
                .iter()
                .flat_map(|r| {
                    r.iter()
                        .filter(|(cc, _)| *cc == c)
                        .map(|(_, cell)| cell_width(cell))
                })
                .max()
                .unwrap_or(0);
            let max = MAX_WIDTH
                .iter()
                .find(|(cc, _)| *cc == c)
                .map_or(usize::MAX, |(_, m)| *m);
            (c, content.max(header(c).width()).min(max))
        })
        .collect();
    let total = |cols: &[(Col, usize)]| {
        cols.iter().map(|(_, w)| w).sum::<usize>() + cols.len().saturating_sub(1)
    };
    for drop in &DROP_ORDER {
        if total(&cols) <= width {
            break;
        }
        cols.retain(|(c, _)| c != drop);
    }
    let rest = width.saturating_sub(total(&cols) + 1);
    let has_info = rows.iter().any(|r| {
        r.iter()
            .any(|(c, cell)| *c == Col::Info && !cell.is_empty())
    });
    if has_info && rest >= MIN_INFO {
        cols.push((Col::Info, rest));
    }
    // The name column can still be too wide on a tiny terminal: cut it last.
    let excess = total(&cols).saturating_sub(width);
    if excess > 0
        && let Some((_, w)) = cols.first_mut()
    {
        *w = w.saturating_sub(excess).max(4);
    }
    cols
}
