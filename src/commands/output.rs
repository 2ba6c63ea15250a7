//! Text the CLI prints: `ps` tables and JSON, prefixed log lines, colours, and errors
//! (control characters escaped, see [`error_text`]).
//!
//! Pure formatting of our own types; no I/O, no Docker.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{ContainerInfo, Health, LogLine, PublishedPort, Stream};

/// Colours for service prefixes, cycled in service order (as Compose does).
const PALETTE: [u8; 6] = [36, 33, 32, 35, 34, 31];

/// Whether to colour output: a terminal, and `NO_COLOR` unset (https://no-color.org).
pub fn use_colour(is_terminal: bool, no_color_flag: bool, no_color_env: Option<&str>) -> bool {
    is_terminal && !no_color_flag && no_color_env.is_none_or(str::is_empty)
}

pub fn palette_colour(index: usize) -> u8 {
    PALETTE[index % PALETTE.len()]
}

/// `svc    | text`, the prefix padded to `width` and coloured when `colour` is given.
pub fn log_line(line: &LogLine, width: usize, colour: Option<u8>, timestamps: bool) -> String {
    let mut out = Vec::with_capacity(line.text.len() + width + 40);
    // Writing into a Vec cannot fail.
    let _ = write_log_line(&mut out, line, width, colour, timestamps);
    out.pop();
    String::from_utf8_lossy(&out).into_owned()
}

/// [`log_line`] and its newline, written straight into `out`: `devstack logs` prints
/// lines at the daemon's rate, so no line is formatted into a `String` of its own.
pub fn write_log_line<W: std::io::Write>(
    out: &mut W,
    line: &LogLine,
    width: usize,
    colour: Option<u8>,
    timestamps: bool,
) -> std::io::Result<()> {
    let name = line.service.as_str();
    if let Some(c) = colour {
        write!(out, "\x1b[{c}m")?;
    }
    out.write_all(name.as_bytes())?;
    for _ in name.chars().count()..width {
        out.write_all(b" ")?;
    }
    out.write_all(if colour.is_some() {
        b" |\x1b[0m "
    } else {
        b" | "
    })?;
    if timestamps {
        out.write_all(rfc3339_nanos(line.ts_nanos).as_bytes())?;
        out.write_all(b" ")?;
    }
    // Only the container's colours may reach the terminal, and only when colour is on:
    // a title, clipboard write or mode change is removed always (issue 11 item 13).
    let text = crate::logs::sanitize::log_text(&line.text, colour.is_some());
    // stderr is only marked when colour is on, so piped output keeps the container's
    // text as it printed it (less its escape sequences).
    if colour.is_some() && line.stream == Stream::Stderr {
        out.write_all(b"\x1b[31m")?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\x1b[0m\n")
    } else {
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")
    }
}

/// An error as the CLI prints it (`devstack: …`, with its causes): values from a stack
/// file and output relayed from containers inside it show their control characters
/// escaped, so they cannot drive the terminal.
pub fn error_text(error: impl Into<anyhow::Error>) -> String {
    message_text(&format!("{:#}", error.into()))
}

/// What devstack says in its own words, made safe to print: secrets masked (the daemon
/// words some errors with values from the file), then control characters shown escaped
/// (a stack file or a container could otherwise retitle the terminal). Both steps leave
/// text that has been through them unchanged, so calling this twice is harmless.
pub fn message_text(text: &str) -> String {
    crate::logs::escape_controls(&crate::mask::text(text)).into_owned()
}

/// Writes `text` (through [`message_text`]) and a newline to stderr in one system call. Stderr is unbuffered and
/// `eprintln!` writes each piece of its format on its own (five writes for a progress
/// line), so lines came out a few bytes at a time and another writer could split them.
/// A closed stderr is not worth a panic.
pub fn eprint_line(text: &str) {
    let text = message_text(text);
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(&text);
    line.push('\n');
    eprint_text(&line);
}

/// Writes text that went through [`message_text`] already, as it is, in one system call.
pub fn eprint_text(text: &str) {
    use std::io::Write as _;
    if !text.is_empty() {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

pub fn rfc3339_nanos(ts_nanos: i64) -> String {
    let secs = ts_nanos.div_euclid(1_000_000_000);
    let nanos = ts_nanos.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
        None => ts_nanos.to_string(),
    }
}

pub fn port_text(p: &PublishedPort) -> String {
    let proto = if p.protocol == crate::model::Protocol::Tcp {
        String::new()
    } else {
        format!("/{}", p.protocol.as_str())
    };
    format!(
        "{}:{}->{}{}",
        p.host_ip, p.host_port, p.container_port, proto
    )
}

pub fn state_text(c: &ContainerInfo) -> String {
    c.state_text()
}

/// The `ps` table, one row per container, in the order given.
pub fn ps_table(rows: &[ContainerInfo]) -> String {
    let header = ["SERVICE", "NAME", "STATE", "HEALTH", "PORTS"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|c| {
            [
                c.service.to_string(),
                c.name.clone(),
                state_text(c),
                c.health.as_str().to_string(),
                c.ports
                    .iter()
                    // Flagged as in the TUI: reachable from the network.
                    .map(|p| {
                        if p.is_loopback() {
                            port_text(p)
                        } else {
                            format!("{}!", port_text(p))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut push_row = |row: &[&str]| {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}   ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&header);
    for row in &cells {
        push_row(&row.each_ref().map(String::as_str));
    }
    if rows.iter().flat_map(|c| &c.ports).any(|p| !p.is_loopback()) {
        out.push_str("! bound beyond loopback: reachable from other machines on the network\n");
    }
    out
}

#[derive(Debug, Serialize)]
pub struct PsEntry<'a> {
    pub service: &'a str,
    pub name: &'a str,
    pub id: &'a str,
    pub image: &'a str,
    pub state: &'a str,
    pub health: &'a str,
    pub exit_code: Option<i64>,
    pub restart_count: u32,
    pub ports: &'a [PublishedPort],
}

pub fn ps_json(rows: &[ContainerInfo]) -> Result<String, serde_json::Error> {
    let entries: Vec<PsEntry<'_>> = rows
        .iter()
        .map(|c| PsEntry {
            service: c.service.as_str(),
            name: &c.name,
            id: &c.id.0,
            image: &c.image,
            state: c.state.as_str(),
            health: match c.health {
                Health::None => "",
                h => h.as_str(),
            },
            exit_code: c.exit_code,
            restart_count: c.restart_count,
            ports: &c.ports,
        })
        .collect();
    serde_json::to_string_pretty(&entries)
}

/// `devstack` with the global flags that chose this stack (`-f`, `-p`, `--env-file`,
/// `--profile`, `--stack`), so a hint names the command that reaches the same stack.
pub fn command_prefix(global: &crate::cli::GlobalArgs) -> String {
    let mut out = String::from("devstack");
    let mut push = |flag: &str, value: &str| {
        out.push(' ');
        out.push_str(flag);
        out.push(' ');
        out.push_str(&shell_word(value));
    };
    for f in &global.file {
        push("-f", &f.display().to_string());
    }
    if let Some(p) = &global.project_name {
        push("-p", p);
    }
    for e in &global.env_file {
        push("--env-file", &e.display().to_string());
    }
    for p in &global.profile {
        push("--profile", p);
    }
    if let Some(s) = &global.stack {
        push("--stack", s);
    }
    if global.strict {
        out.push_str(" --strict");
    }
    out
}

/// A word as a shell reads it back: quoted when it holds anything but plain characters.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '+' | ',' | '@')
        });
    if plain {
        s.to_string()
    } else {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
                .replace('`', "\\`")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerId, ContainerState, Protocol, ServiceName};
    use std::collections::BTreeMap;

    fn row(service: &str, state: ContainerState, exit: Option<i64>) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId(format!("{service}0123456789abcdef")),
            name: format!("demo-{service}-1"),
            service: ServiceName::new(service),
            image: "busybox".into(),
            image_id: "sha256:x".into(),
            config_hash: None,
            state,
            health: Health::None,
            exit_code: exit,
            ports: Vec::new(),
            labels: BTreeMap::new(),
            created: 0,
            started_at: None,
            restart_count: 0,
        }
    }

    #[test]
    fn colour_follows_terminal_flag_and_no_color() {
        assert!(use_colour(true, false, None));
        assert!(use_colour(true, false, Some("")));
        assert!(!use_colour(true, false, Some("1")));
        assert!(!use_colour(false, false, None));
        assert!(!use_colour(true, true, None));
    }

    #[test]
    fn log_line_prefix_is_padded_and_plain_without_colour() {
        let line = LogLine {
            service: ServiceName::new("db"),
            ts_nanos: 1_700_000_000_123_456_789,
            stream: Stream::Stderr,
            text: "ready".into(),
        };
        assert_eq!(log_line(&line, 6, None, false), "db     | ready");
        assert_eq!(
            log_line(&line, 2, None, true),
            "db | 2023-11-14T22:13:20.123456789Z ready"
        );
        assert_eq!(
            log_line(&line, 2, Some(36), false),
            "\x1b[36mdb |\x1b[0m \x1b[31mready\x1b[0m"
        );
    }

    #[test]
    fn log_lines_lose_every_escape_but_colour_and_colour_too_without_it() {
        let line = LogLine {
            service: ServiceName::new("web"),
            ts_nanos: 0,
            stream: Stream::Stdout,
            text: "\x1b]52;c;cHduZWQ=\x07\x1b]0;title\x1b\\\x1b[32mok\x1b[0m\x1b[?1000h".into(),
        };
        assert_eq!(log_line(&line, 3, None, false), "web | ok");
        assert_eq!(
            log_line(&line, 3, Some(36), false),
            "\x1b[36mweb |\x1b[0m \x1b[32mok\x1b[0m"
        );
    }

    #[test]
    fn ps_table_aligns_and_shows_exit_codes_and_ports() {
        let mut web = row("web", ContainerState::Running, None);
        web.health = Health::Healthy;
        web.ports.push(PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port: 8080,
            container_port: 80,
            protocol: Protocol::Tcp,
        });
        let job = row("migrate", ContainerState::Exited, Some(3));
        let table = ps_table(&[web, job]);
        assert_eq!(
            table,
            "SERVICE   NAME             STATE        HEALTH    PORTS\n\
             web       demo-web-1       running      healthy   127.0.0.1:8080->80\n\
             migrate   demo-migrate-1   exited (3)\n"
        );
    }

    #[test]
    fn ps_json_has_the_documented_fields() {
        let mut web = row("web", ContainerState::Running, None);
        web.ports.push(PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port: 8080,
            container_port: 80,
            protocol: Protocol::Udp,
        });
        let json = ps_json(&[web]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let o = &v[0];
        for key in [
            "service",
            "name",
            "id",
            "image",
            "state",
            "health",
            "exit_code",
            "ports",
        ] {
            assert!(o.get(key).is_some(), "missing {key}: {json}");
        }
        assert_eq!(o["ports"][0]["host_ip"], "127.0.0.1");
        assert_eq!(o["ports"][0]["host_port"], 8080);
        assert_eq!(o["ports"][0]["container_port"], 80);
        assert_eq!(o["ports"][0]["protocol"], "udp");
    }
}
