//! Whole-screen snapshots from `TestBackend` (text), with colour asserted on the cells
//! where colour carries meaning.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use crate::model::{
    ContainerState, EngineEvent, Health, LogLine, NoticeLevel, ProbeResult, Progress, ServiceName,
    Stream,
};
use crate::stack::Condition;
use crate::tui::fixture::FIXTURE_NOW;
use crate::tui::state::AppState;
use crate::tui::update::{Event, update};

use super::render;

fn draw(state: &AppState, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(state, f)).unwrap();
    t.backend().buffer().clone()
}

/// Rows of the buffer as text, trailing spaces cut; the cell hidden behind a wide
/// character is skipped so lines read as they look. Each row also maps char index to x.
fn rows(buf: &Buffer) -> Vec<(String, Vec<u16>)> {
    (0..buf.area.height)
        .map(|y| {
            let mut line = String::new();
            let mut xs = Vec::new();
            let mut skip = 0;
            for x in 0..buf.area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = buf[(x, y)].symbol();
                skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
                for _ in sym.chars() {
                    xs.push(x);
                }
                line.push_str(sym);
            }
            (line, xs)
        })
        .collect()
}

fn screen(buf: &Buffer) -> String {
    rows(buf)
        .into_iter()
        .map(|(l, _)| format!("{}\n", l.trim_end()))
        .collect()
}

/// Position of the first cell of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for (y, (line, xs)) in rows(buf).iter().enumerate() {
        if let Some(byte) = line.find(needle) {
            let ci = line[..byte].chars().count();
            return (xs[ci], y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{}", screen(buf));
}

fn fg(buf: &Buffer, needle: &str) -> Color {
    buf[find(buf, needle)].fg
}

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn send(state: &mut AppState, events: impl IntoIterator<Item = Event>) {
    for e in events {
        update(state, e);
    }
}

fn svc(s: &str) -> ServiceName {
    ServiceName::new(s)
}

fn engine(state: &mut AppState, e: EngineEvent) {
    update(state, Event::Engine(e));
}

fn progress(state: &mut AppState, service: &str, progress: Progress) {
    engine(
        state,
        EngineEvent::Progress {
            service: svc(service),
            progress,
        },
    );
}

/// `up` part-way: db started and probed, the webserver waiting on it, the scheduler's
/// image pulling, the worker building.
fn starting_stack() -> AppState {
    let mut s = AppState::fixture();
    for name in ["airflow-webserver", "airflow-scheduler", "worker"] {
        let id = s
            .row(&svc(name))
            .unwrap()
            .container
            .as_ref()
            .unwrap()
            .id
            .clone();
        engine(
            &mut s,
            EngineEvent::ContainerRemoved {
                service: svc(name),
                id,
            },
        );
    }
    // set directly: through update, a new start time would (rightly) add a restart marker
    for r in &mut s.services {
        r.stats = None;
        if let Some(c) = r.container.as_mut() {
            c.health = Health::Starting;
            c.started_at = Some(FIXTURE_NOW - 9);
        }
    }
    progress(
        &mut s,
        "db",
        Progress::WaitingHealthy {
            probes: 3,
            retries: 20,
            last_output: Some("/var/run/postgresql:5432 - no response".into()),
        },
    );
    // Docker's own count: three probes failed in a row, of the 20 allowed.
    let db_id = s
        .row(&svc("db"))
        .unwrap()
        .container
        .as_ref()
        .unwrap()
        .id
        .clone();
    engine(
        &mut s,
        EngineEvent::HealthLog {
            service: svc("db"),
            container: db_id,
            failing_streak: 3,
            probe: Some(ProbeResult {
                exit_code: 2,
                output: "/var/run/postgresql:5432 - no response\n".into(),
            }),
        },
    );
    progress(
        &mut s,
        "airflow-webserver",
        Progress::Waiting {
            on: svc("db"),
            condition: Condition::Healthy,
            detail: None,
        },
    );
    progress(
        &mut s,
        "airflow-scheduler",
        Progress::Pulling { percent: Some(45) },
    );
    progress(
        &mut s,
        "worker",
        Progress::Building {
            step: "Step 3/7 : RUN pip install -r requirements.txt".into(),
        },
    );
    s
}

fn unhealthy_db() -> AppState {
    let mut s = AppState::fixture();
    let mut db = s.row(&svc("db")).unwrap().container.clone().unwrap();
    db.health = Health::Unhealthy;
    engine(&mut s, EngineEvent::Container(db));
    let db_id = s
        .row(&svc("db"))
        .unwrap()
        .container
        .as_ref()
        .unwrap()
        .id
        .clone();
    engine(
        &mut s,
        EngineEvent::HealthLog {
            service: svc("db"),
            container: db_id,
            failing_streak: 3,
            probe: Some(ProbeResult {
                exit_code: 2,
                output: "/var/run/postgresql:5432 - no response\n".into(),
            }),
        },
    );
    s
}

fn worker_exited_3() -> AppState {
    let mut s = AppState::fixture();
    let mut w = s.row(&svc("worker")).unwrap().container.clone().unwrap();
    w.state = ContainerState::Exited;
    w.exit_code = Some(3);
    engine(&mut s, EngineEvent::Container(w));
    send(&mut s, [key('j'), key('j'), key('j')]);
    s
}

#[test]
fn all_healthy_80x24() {
    let s = AppState::fixture();
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("all_healthy_80x24", screen(&buf));
    assert_eq!(fg(&buf, "✓ healthy"), Color::Green);
    assert_eq!(fg(&buf, "● running"), Color::Green);
    // a port reachable from the network is flagged, in colour and with '!'
    assert_eq!(fg(&buf, "0.0.0.0:8080→8080!"), Color::Yellow);
    assert_eq!(fg(&buf, "127.0.0.1:5432→5432"), Color::Reset);
    // stderr is marked
    let (x, y) = find(&buf, "! ERROR upstream");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // compact JSON: level coloured, message first
    assert_eq!(buf[(x + 2, y)].fg, Color::Red);
    assert_eq!(fg(&buf, "WARN  slow query"), Color::Yellow);
}

#[test]
fn all_healthy_wide() {
    let s = AppState::fixture();
    insta::assert_snapshot!("all_healthy_200x50", screen(&draw(&s, 200, 50)));
}

#[test]
fn starting_stack_shows_progress_and_what_it_waits_for() {
    let s = starting_stack();
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("starting_80x24", screen(&buf));
    assert_eq!(fg(&buf, "◐ starting"), Color::Yellow);
    assert_eq!(fg(&buf, "↓ pulling 45%"), Color::Cyan);
    let wide = draw(&s, 200, 50);
    insta::assert_snapshot!("starting_200x50", screen(&wide));
    find(
        &wide,
        "waiting: db healthy — failing 3/20 — last probe: /var/run/postgresql:5432 - no response",
    );
}

#[test]
fn unhealthy_service_shows_its_last_probe() {
    let s = unhealthy_db();
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("unhealthy_80x24", screen(&buf));
    assert_eq!(fg(&buf, "▲ unhealthy"), Color::Red);
    find(
        &buf,
        "last probe (failing 3/20): /var/run/postgresql:5432 - no respon",
    );
}

#[test]
fn exited_service_shows_code_and_last_lines() {
    let s = worker_exited_3();
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("exited_3_80x24", screen(&buf));
    assert_eq!(fg(&buf, "✗ exited(3)"), Color::Red);
    find(&buf, "exited with code 3 — last lines:");
}

#[test]
fn help_overlay() {
    let mut s = AppState::fixture();
    send(&mut s, [key('?')]);
    insta::assert_snapshot!("help_80x24", screen(&draw(&s, 80, 24)));
    insta::assert_snapshot!("help_200x50", screen(&draw(&s, 200, 50)));
}

#[test]
fn a_jobs_row_shows_its_last_run() {
    let mut s = AppState::fixture();
    send(
        &mut s,
        [Event::RunSummary {
            service: ServiceName::new("db"),
            text: "last run 14:02 · 3.1 s · exit 0 · 5 runs today".into(),
        }],
    );
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("last_run_80x24", screen(&buf));
    find(&buf, "last run 14:02 · 3.1 s · exit 0 · 5 runs today");
    insta::assert_snapshot!("last_run_200x50", screen(&draw(&s, 200, 50)));
}

#[test]
fn database_list_of_p() {
    let mut s = AppState::fixture();
    s.services[0].databases = vec!["warehouse".into(), "airflow".into()];
    send(&mut s, [key('p'), key('j')]);
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("databases_80x24", screen(&buf));
    find(&buf, "2  airflow");
    insta::assert_snapshot!("databases_200x50", screen(&draw(&s, 200, 50)));
}

#[test]
fn endpoints_overlay() {
    let mut s = AppState::fixture();
    send(&mut s, [key('e')]);
    // 80 columns: each note under its value, wrapped; no URL cut short.
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("endpoints_80x24", screen(&buf));
    for url in [
        "http://127.0.0.1:8080",
        "postgresql://airflow:****@127.0.0.1:5432/airflow",
        "postgresql://loader:****@127.0.0.1:5432/warehouse",
    ] {
        assert_eq!(fg(&buf, url), Color::Cyan, "{url}");
    }
    find(&buf, "Esc close endpoints");
    // Wide: one aligned line per endpoint.
    let wide = draw(&s, 200, 50);
    insta::assert_snapshot!("endpoints_200x50", screen(&wide));
    find(
        &wide,
        "warehouse DB         postgresql://loader:****@127.0.0.1:5432/warehouse  (password: WAREHOUSE_PASSWORD in ~/shop/.env)",
    );
}

#[test]
fn services_pane_names_the_airflow_ui_and_the_endpoints_key() {
    let s = AppState::fixture();
    let buf = draw(&s, 80, 24);
    find(&buf, "└ Airflow UI http://127.0.0.1:8080 · e endpoints ─");
    // Too narrow for the URL: just the key; narrower still: nothing.
    let narrow = draw(&s, 40, 24);
    find(&narrow, "└ e endpoints ─");
    let tiny = draw(&s, 14, 24);
    assert!(!screen(&tiny).contains("endpoints"));
    // A stack without endpoints: a plain border.
    let mut none = AppState::fixture();
    none.endpoints.clear();
    assert!(!screen(&draw(&none, 80, 24)).contains("endpoints"));
}

#[test]
fn search_highlights_matches() {
    let mut s = AppState::fixture();
    send(&mut s, [key('/')]);
    send(&mut s, "CHECKPOINT".chars().map(key));
    let prompt = draw(&s, 80, 24);
    find(&prompt, "/CHECKPOINT█");
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("search_80x24", screen(&buf));
    // case-insensitive; the current match (the newest) stands out from the others
    assert_eq!(buf[find(&buf, "checkpoint starting")].bg, Color::Yellow);
    assert_eq!(buf[find(&buf, "checkpoint complete")].bg, Color::LightRed);
    assert_eq!(
        buf[find(&buf, "LOG:  checkpoint starting")].bg,
        Color::Reset
    );
    find(&buf, "search 'CHECKPOINT' 2/2");
    send(&mut s, [key('N')]);
    let buf = draw(&s, 80, 24);
    assert_eq!(buf[find(&buf, "checkpoint starting")].bg, Color::LightRed);
    find(&buf, "search 'CHECKPOINT' 1/2");
}

#[test]
fn merged_logs_with_timestamps_wrapped() {
    let mut s = AppState::fixture();
    send(&mut s, [key('t'), key('w')]);
    let buf = draw(&s, 100, 30);
    insta::assert_snapshot!("merged_ts_wrap_100x30", screen(&buf));
    assert_eq!(fg(&buf, "airflow-webserver │"), Color::Magenta);
    assert_eq!(fg(&buf, "db                │"), Color::Cyan);
}

#[test]
fn single_service_logs_and_raw_json() {
    let mut s = AppState::fixture();
    send(&mut s, [key('j'), key('j'), key('j')]);
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    send(&mut s, [key('J')]);
    insta::assert_snapshot!("worker_raw_json_80x24", screen(&draw(&s, 80, 24)));
}

#[test]
fn quit_dialog() {
    let mut s = AppState::fixture();
    send(&mut s, [key('Q')]);
    insta::assert_snapshot!("quit_dialog_80x24", screen(&draw(&s, 80, 24)));
}

#[test]
fn reset_dialog() {
    let mut s = AppState::fixture();
    send(&mut s, [key('R')]);
    insta::assert_snapshot!("reset_dialog_80x24", screen(&draw(&s, 80, 24)));
}

#[test]
fn daemon_lost_banner_and_notices() {
    let mut s = AppState::fixture();
    engine(
        &mut s,
        EngineEvent::DaemonLost {
            reason: "connect /var/run/docker.sock: connection refused".into(),
        },
    );
    s.notify(NoticeLevel::Info, "restarting 'db'");
    s.notify(
        NoticeLevel::Error,
        "restart of 'db' failed: Conflict: container is marked for removal and cannot be started",
    );
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("daemon_lost_80x24", screen(&buf));
    assert_eq!(
        buf[find(&buf, "! Docker daemon not reachable")].bg,
        Color::Red
    );
}

#[test]
fn paused_with_new_lines_and_filter() {
    let mut s = AppState::fixture();
    send(
        &mut s,
        [Event::Key(KeyEvent::new(
            KeyCode::PageUp,
            KeyModifiers::NONE,
        ))],
    );
    let batch: Vec<LogLine> = (0..12)
        .map(|i| LogLine {
            service: svc("worker"),
            ts_nanos: (FIXTURE_NOW + 1) * 1_000_000_000 + i,
            stream: Stream::Stdout,
            text: format!("tick {i}"),
        })
        .collect();
    update(&mut s, Event::Logs(batch));
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("paused_80x24", screen(&buf));
    find(&buf, "↓ 12 new lines · G to follow");

    let mut s = AppState::fixture();
    send(&mut s, [key('f')]);
    send(&mut s, "INFO".chars().map(key));
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    insta::assert_snapshot!("filter_80x24", screen(&draw(&s, 80, 24)));
}

#[test]
fn small_and_odd_sizes_do_not_panic() {
    let mut states = vec![AppState::fixture(), starting_stack(), worker_exited_3()];
    let mut help = AppState::fixture();
    send(&mut help, [key('?')]);
    states.push(help);
    let mut endpoints = AppState::fixture();
    send(&mut endpoints, [key('e')]);
    states.push(endpoints);
    let mut dialog = AppState::fixture();
    send(&mut dialog, [key('R')]);
    engine(&mut dialog, EngineEvent::DaemonLost { reason: "x".into() });
    dialog.notify(NoticeLevel::Error, "e".repeat(300));
    states.push(dialog);
    let mut messages = AppState::fixture();
    messages.notify(NoticeLevel::Error, "word ".repeat(200));
    send(&mut messages, [key('m')]);
    states.push(messages);
    for s in &mut states {
        for w in [1, 2, 5, 10, 20, 40, 79] {
            for h in [1, 2, 3, 5, 8, 12, 23] {
                s.size = (w, h);
                s.logs.wrap = h % 2 == 0;
                draw(s, w, h);
            }
        }
    }
}

// ---- issue 14 items 7, 8, 11 ----

#[test]
fn notices_wrap_at_spaces_under_the_logs_and_point_to_the_whole_message() {
    let mut s = AppState::fixture();
    s.notify(
        NoticeLevel::Info,
        "pipeline: restarted after change to src/load.py",
    );
    s.notify(
        NoticeLevel::Error,
        "up failed: service 'api-server' is unhealthy (state 'running')\nlast healthcheck output: no output; exit code 7: curl: connection refused\nlast 3 log lines:\n  | starting\n  | listening on 8080\n  | ready",
    );
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("notices_80x24", screen(&buf));
    let text = screen(&buf);
    assert!(!text.contains('�'), "{text}");
    assert!(text.contains("(m: whole message, Esc)"), "{text}");
    // The last log line is still on screen, above the notices.
    find(&buf, "checkpoint complete");

    send(&mut s, [key('m')]);
    let buf = draw(&s, 80, 24);
    insta::assert_snapshot!("messages_80x24", screen(&buf));
    find(&buf, "| ready");
}

#[test]
fn health_column_is_dockers_failing_streak_and_nothing_once_healthy() {
    let mut s = AppState::fixture();
    // A stale count from `up` on a healthy service must not show ("9/5").
    progress(
        &mut s,
        "airflow-scheduler",
        Progress::WaitingHealthy {
            probes: 9,
            retries: 5,
            last_output: None,
        },
    );
    let buf = draw(&s, 80, 24);
    assert!(!screen(&buf).contains("9/5"), "{}", screen(&buf));
    // Docker's streak against the file's retries while it fails.
    let mut db = s.row(&svc("db")).unwrap().container.clone().unwrap();
    db.health = Health::Starting;
    engine(&mut s, EngineEvent::Container(db.clone()));
    engine(
        &mut s,
        EngineEvent::HealthLog {
            service: svc("db"),
            container: db.id.clone(),
            failing_streak: 5,
            probe: Some(ProbeResult {
                exit_code: 1,
                output: String::new(),
            }),
        },
    );
    let buf = draw(&s, 100, 24);
    find(&buf, "◐ starting 5/20");
}

#[test]
fn silent_probe_shows_its_exit_code_and_what_it_means() {
    let mut s = AppState::fixture();
    let row = s.row_mut(&svc("airflow-webserver")).unwrap();
    row.probe_command = "CMD curl --fail http://localhost:8080/health".into();
    row.retries = 5;
    let mut web = s
        .row(&svc("airflow-webserver"))
        .unwrap()
        .container
        .clone()
        .unwrap();
    web.health = Health::Unhealthy;
    engine(&mut s, EngineEvent::Container(web.clone()));
    engine(
        &mut s,
        EngineEvent::HealthLog {
            service: svc("airflow-webserver"),
            container: web.id,
            failing_streak: 5,
            probe: Some(ProbeResult {
                exit_code: 7,
                output: String::new(),
            }),
        },
    );
    send(&mut s, [key('j')]);
    let buf = draw(&s, 100, 24);
    insta::assert_snapshot!("silent_probe_100x24", screen(&buf));
    find(&buf, "no output; exit code 7: curl: connection refused");
}

#[test]
fn a_long_stop_shows_stopping() {
    let mut s = AppState::fixture();
    send(&mut s, [key('s')]);
    let buf = draw(&s, 80, 24);
    find(&buf, "◑ stopping");
    assert_eq!(fg(&buf, "◑ stopping"), Color::Yellow);
}
