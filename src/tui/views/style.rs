//! Colours and symbols: per-service prefix colours, status symbols, log levels, and the
//! mapping of SGR parameters from container output to styles.
//!
//! Every status has a symbol as well as a colour, so the screen reads without colour.

use ratatui::style::{Color, Modifier, Style};

use crate::logs::structured::Level;

use super::super::state::Status;

/// Service prefix colours in merged logs, by store index.
const PALETTE: [Color; 10] = [
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
    Color::Yellow,
    Color::Green,
    Color::LightRed,
    Color::LightCyan,
    Color::LightMagenta,
    Color::LightBlue,
    Color::LightGreen,
];

pub fn service_color(idx: usize) -> Color {
    PALETTE[idx % PALETTE.len()]
}

pub const FOCUSED: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const MATCH: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
pub const CURRENT_MATCH: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::LightRed)
    .add_modifier(Modifier::BOLD);
pub const MARKER: Style = Style::new()
    .fg(Color::Yellow)
    .add_modifier(Modifier::ITALIC);
pub const STDERR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);

/// Symbol, word and colour of a status.
pub fn status(s: Status) -> (&'static str, String, Color) {
    match s {
        Status::NotCreated => ("·", "not created".into(), Color::DarkGray),
        Status::Created => ("○", "created".into(), Color::Gray),
        Status::Starting => ("◐", "starting".into(), Color::Yellow),
        Status::Running => ("●", "running".into(), Color::Green),
        Status::Healthy => ("✓", "healthy".into(), Color::Green),
        Status::Unhealthy => ("▲", "unhealthy".into(), Color::Red),
        Status::Restarting => ("↻", "restarting".into(), Color::Yellow),
        Status::Paused => ("‖", "paused".into(), Color::Blue),
        Status::Exited(0) => ("■", "exited(0)".into(), Color::Gray),
        Status::Exited(code) => ("✗", format!("exited({code})"), Color::Red),
        Status::Dead => ("✗", "dead".into(), Color::Red),
        Status::Removing => ("−", "removing".into(), Color::DarkGray),
        Status::Stopping => ("◑", "stopping".into(), Color::Yellow),
    }
}

pub fn level(l: Option<Level>) -> Style {
    match l {
        Some(Level::Fatal | Level::Error) => {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        }
        Some(Level::Warn) => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Some(Level::Info) => Style::new().fg(Color::Green),
        Some(Level::Debug) => Style::new().fg(Color::Blue),
        Some(Level::Trace) | None => Style::new().fg(Color::DarkGray),
    }
}

/// `style` after the SGR parameters `params` (`"1;31"`, `"38;5;208"`, `""` = reset).
pub fn apply_sgr(style: Style, params: &str) -> Style {
    let mut nums = params.split([';', ':']).map(|p| {
        if p.is_empty() {
            0
        } else {
            p.parse::<u16>().unwrap_or(u16::MAX)
        }
    });
    let mut st = style;
    while let Some(n) = nums.next() {
        st = match n {
            0 => Style::new(),
            1 => st.add_modifier(Modifier::BOLD),
            2 => st.add_modifier(Modifier::DIM),
            3 => st.add_modifier(Modifier::ITALIC),
            4 => st.add_modifier(Modifier::UNDERLINED),
            5 | 6 => st.add_modifier(Modifier::SLOW_BLINK),
            7 => st.add_modifier(Modifier::REVERSED),
            8 => st.add_modifier(Modifier::HIDDEN),
            9 => st.add_modifier(Modifier::CROSSED_OUT),
            22 => st.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => st.remove_modifier(Modifier::ITALIC),
            24 => st.remove_modifier(Modifier::UNDERLINED),
            25 => st.remove_modifier(Modifier::SLOW_BLINK),
            27 => st.remove_modifier(Modifier::REVERSED),
            28 => st.remove_modifier(Modifier::HIDDEN),
            29 => st.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 => st.fg(ansi_color(n - 30)),
            39 => st.fg(Color::Reset),
            40..=47 => st.bg(ansi_color(n - 40)),
            49 => st.bg(Color::Reset),
            90..=97 => st.fg(ansi_color(n - 90 + 8)),
            100..=107 => st.bg(ansi_color(n - 100 + 8)),
            38 | 48 => {
                let color = match nums.next() {
                    Some(5) => nums.next().map(|i| Color::Indexed(i.min(255) as u8)),
                    Some(2) => {
                        let (r, g, b) = (nums.next(), nums.next(), nums.next());
                        match (r, g, b) {
                            (Some(r), Some(g), Some(b)) => {
                                Some(Color::Rgb(clamp(r), clamp(g), clamp(b)))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match color {
                    Some(c) if n == 38 => st.fg(c),
                    Some(c) => st.bg(c),
                    None => st,
                }
            }
            _ => st,
        };
    }
    st
}

fn clamp(v: u16) -> u8 {
    v.min(255) as u8
}

fn ansi_color(i: u16) -> Color {
    match i {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        7 => Color::Gray,
        8 => Color::DarkGray,
        9 => Color::LightRed,
        10 => Color::LightGreen,
        11 => Color::LightYellow,
        12 => Color::LightBlue,
        13 => Color::LightMagenta,
        14 => Color::LightCyan,
        _ => Color::White,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgr_table() {
        let base = Style::new();
        let table: &[(&str, Style)] = &[
            ("", Style::new()),
            ("31", Style::new().fg(Color::Red)),
            (
                "1;32",
                Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
            ),
            ("38;5;208", Style::new().fg(Color::Indexed(208))),
            ("48;2;10;20;30", Style::new().bg(Color::Rgb(10, 20, 30))),
            ("94", Style::new().fg(Color::LightBlue)),
            ("38;2;1", Style::new()),
        ];
        for (params, want) in table {
            assert_eq!(apply_sgr(base, params), *want, "{params}");
        }
        let bold_red = apply_sgr(base, "1;31");
        assert_eq!(apply_sgr(bold_red, "0"), Style::new());
        let normal = apply_sgr(bold_red, "22");
        assert!(!normal.add_modifier.contains(Modifier::BOLD));
        assert_eq!(normal.fg, Some(Color::Red));
    }
}
