//! `update` tests: events in, state and commands out.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::logs::{LineKind, Scope};
use crate::model::{
    ContainerId, ContainerState, EngineEvent, Health, LogLine, NoticeLevel, ProbeResult, Progress,
    ServiceName, Stream,
};

use super::fixture::{FIXTURE_NOW, fixture_container};
use super::state::{AppState, Daemon, Focus, Mode, PendingAction, Scroll, Status, UpState};
use super::update::{Command, Event, update};
use super::views;

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn send(state: &mut AppState, events: impl IntoIterator<Item = Event>) -> Vec<Command> {
    events.into_iter().flat_map(|e| update(state, e)).collect()
}

fn typed(s: &str) -> Vec<Event> {
    s.chars().map(key).collect()
}

fn svc(s: &str) -> ServiceName {
    ServiceName::new(s)
}

fn lines(svc_name: &str, n: usize, from_offset_secs: i64) -> Vec<LogLine> {
    (0..n)
        .map(|i| LogLine {
            service: svc(svc_name),
            ts_nanos: (FIXTURE_NOW + from_offset_secs) * 1_000_000_000 + i as i64,
            stream: Stream::Stdout,
            text: format!("{svc_name} line {i}"),
        })
        .collect()
}

fn exited(state: &mut AppState, service: &str, n: u8, code: i64) {
    let row = state.row(&svc(service)).unwrap();
    let mut c = row
        .container
        .clone()
        .unwrap_or_else(|| fixture_container(service, "x", n, &[], Health::None));
    c.state = ContainerState::Exited;
    c.health = Health::None;
    c.exit_code = Some(code);
    update(state, Event::Engine(EngineEvent::Container(c)));
}

#[test]
fn r_restarts_the_selected_service() {
    let mut s = AppState::fixture();
    let cmds = send(&mut s, [key('j'), key('r')]);
    assert_eq!(cmds, vec![Command::Restart(svc("airflow-webserver"))]);
}

#[test]
fn selection_is_clamped_to_the_list() {
    let mut s = AppState::fixture();
    send(&mut s, [key('k'), key('k')]);
    assert_eq!(s.selected, 0);
    send(&mut s, (0..10).map(|_| code(KeyCode::Down)));
    assert_eq!(s.selected, 3);
}

#[test]
fn s_stops_a_running_service_and_starts_an_exited_one() {
    let mut s = AppState::fixture();
    assert_eq!(send(&mut s, [key('s')]), vec![Command::Stop(svc("db"))]);
    exited(&mut s, "db", 1, 0);
    assert_eq!(send(&mut s, [key('s')]), vec![Command::Start(svc("db"))]);
}

#[test]
fn q_and_ctrl_c_quit_leaving_the_stack_running() {
    let mut s = AppState::fixture();
    assert_eq!(
        send(&mut s, [key('q')]),
        vec![Command::Quit { stop_stack: false }]
    );
    assert_eq!(
        send(&mut s, [ctrl('c')]),
        vec![Command::Quit { stop_stack: false }]
    );
    assert!(super::quit_message(&s, false).contains("still running"));
}

#[test]
fn shift_q_asks_then_stops_or_leaves_or_stays() {
    let mut s = AppState::fixture();
    assert!(send(&mut s, [key('Q')]).is_empty());
    assert_eq!(s.mode, Mode::Confirm(PendingAction::StopAndQuit));
    assert_eq!(
        send(&mut s, [key('y')]),
        vec![Command::Quit { stop_stack: true }]
    );

    let mut s = AppState::fixture();
    assert_eq!(
        send(&mut s, [key('Q'), key('n')]),
        vec![Command::Quit { stop_stack: false }]
    );

    let mut s = AppState::fixture();
    assert!(send(&mut s, [key('Q'), code(KeyCode::Esc)]).is_empty());
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn reset_needs_a_yes() {
    let mut s = AppState::fixture();
    assert!(send(&mut s, [key('R')]).is_empty());
    assert!(matches!(s.mode, Mode::Confirm(PendingAction::Reset { .. })));
    // other keys do nothing while the dialog is up
    assert!(send(&mut s, [key('r'), key('q')]).is_empty());
    assert!(send(&mut s, [key('n')]).is_empty());
    assert_eq!(s.mode, Mode::Normal);
    let cmds = send(&mut s, [key('R'), key('y')]);
    assert_eq!(
        cmds,
        vec![Command::Reset {
            volumes: vec!["pgdata".into(), "airflow-logs".into()]
        }]
    );
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn scrolling_pauses_follow_and_counts_new_lines() {
    let mut s = AppState::fixture();
    s.logs.store.push_batch(lines("worker", 100, 1));
    send(&mut s, [code(KeyCode::Tab), key('k')]);
    assert_eq!(s.focus, Focus::Logs);
    let Scroll::Paused { top, .. } = s.logs.scroll else {
        panic!("not paused: {:?}", s.logs.scroll)
    };
    update(&mut s, Event::Logs(lines("db", 7, 2)));
    assert_eq!(views::logs::new_lines(&s), 7);
    // the paused screen does not move when lines arrive
    assert_eq!(
        s.logs.scroll,
        Scroll::Paused {
            top,
            received_at_pause: s.logs.store.view(Scope::All).received() - 7
        }
    );
    send(&mut s, [key('G')]);
    assert_eq!(s.logs.scroll, Scroll::Follow);
    assert_eq!(views::logs::new_lines(&s), 0);
}

#[test]
fn page_up_then_down_to_the_end_resumes_follow() {
    let mut s = AppState::fixture();
    s.logs.store.push_batch(lines("worker", 200, 1));
    send(&mut s, [code(KeyCode::PageUp), code(KeyCode::PageUp)]);
    assert!(matches!(s.logs.scroll, Scroll::Paused { .. }));
    send(&mut s, [code(KeyCode::PageDown)]);
    assert!(matches!(s.logs.scroll, Scroll::Paused { .. }));
    send(&mut s, [code(KeyCode::PageDown)]);
    assert_eq!(s.logs.scroll, Scroll::Follow);
}

#[test]
fn g_goes_to_the_oldest_line() {
    let mut s = AppState::fixture();
    send(&mut s, [key('g')]);
    let Scroll::Paused { top, .. } = s.logs.scroll else {
        panic!()
    };
    let first = s.logs.store.view(Scope::All).forward(None).next().unwrap();
    assert_eq!(top, first.key);
}

#[test]
fn mouse_wheel_scrolls_logs_and_click_selects_a_service() {
    let mut s = AppState::fixture();
    let wheel = |kind| {
        Event::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 15,
            modifiers: KeyModifiers::NONE,
        })
    };
    send(&mut s, [wheel(MouseEventKind::ScrollUp)]);
    assert!(matches!(s.logs.scroll, Scroll::Paused { .. }));
    send(&mut s, [wheel(MouseEventKind::ScrollDown)]);
    assert_eq!(s.logs.scroll, Scroll::Follow);
    // row 0 is the border, 1 the header, 2.. the services
    let click = Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row: 4,
        modifiers: KeyModifiers::NONE,
    });
    send(&mut s, [click]);
    assert_eq!(s.selected, 2);
}

#[test]
fn enter_shows_the_selected_service_and_the_view_follows_selection() {
    let mut s = AppState::fixture();
    send(&mut s, [code(KeyCode::Enter)]);
    let db = s.logs.store.service_idx(&svc("db")).unwrap();
    assert_eq!(s.logs.scope, Scope::Service(db));
    assert_eq!(s.focus, Focus::Logs);
    send(&mut s, [code(KeyCode::Tab), key('j')]);
    let web = s.logs.store.service_idx(&svc("airflow-webserver")).unwrap();
    assert_eq!(s.logs.scope, Scope::Service(web));
    send(&mut s, [key('a')]);
    assert_eq!(s.logs.scope, Scope::All);
}

#[test]
fn search_jumps_to_matches_and_n_steps() {
    let mut s = AppState::fixture();
    s.logs.store.push_batch(lines("worker", 100, 1));
    let mut ev = vec![key('/')];
    ev.extend(typed("ORDERS_staging"));
    ev.push(code(KeyCode::Enter));
    send(&mut s, ev);
    assert_eq!(s.mode, Mode::Normal);
    let current = s.logs.current_match.expect("a match");
    assert!(
        s.logs
            .store
            .line(current)
            .unwrap()
            .text
            .contains("orders_staging")
    );
    // the match was scrolled into view
    let (cols, rows) = views::logs_viewport(&s);
    assert!(
        views::logs::window(&s, cols, rows)
            .lines
            .iter()
            .any(|l| l.line.key == current)
    );
    // only one match: n says so and stays
    send(&mut s, [key('n')]);
    assert_eq!(s.logs.current_match, Some(current));
    assert!(
        s.notices
            .iter()
            .any(|n| n.message.contains("no newer match"))
    );
}

#[test]
fn n_and_shift_n_walk_matches_in_time_order() {
    let mut s = AppState::fixture();
    let mut ev = vec![key('/')];
    ev.extend(typed("orders"));
    ev.push(code(KeyCode::Enter));
    send(&mut s, ev);
    let newest = s.logs.current_match.unwrap();
    send(&mut s, [key('N')]);
    let older = s.logs.current_match.unwrap();
    assert!(older < newest);
    send(&mut s, [key('n')]);
    assert_eq!(s.logs.current_match, Some(newest));
}

#[test]
fn a_bad_regex_keeps_the_prompt_open_with_the_reason() {
    let mut s = AppState::fixture();
    let mut ev = vec![key('/'), ctrl('r')];
    ev.extend(typed("(unclosed"));
    ev.push(code(KeyCode::Enter));
    send(&mut s, ev);
    let Mode::Search(p) = &s.mode else {
        panic!("{:?}", s.mode)
    };
    assert!(p.regex);
    assert!(p.error.as_deref().unwrap().contains("(unclosed"));
    send(&mut s, [code(KeyCode::Esc)]);
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.logs.store.search().is_none());
}

#[test]
fn filter_limits_the_view_and_esc_clears_it() {
    let mut s = AppState::fixture();
    let mut ev = vec![key('f')];
    ev.extend(typed("checkpoint"));
    ev.push(code(KeyCode::Enter));
    send(&mut s, ev);
    let view = s.logs.store.view(Scope::All);
    // two db lines, plus the worker's restart marker (markers always pass)
    let kinds: Vec<_> = view.forward(None).map(|l| l.kind).collect();
    assert_eq!(kinds.len(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == LineKind::Marker).count(), 1);
    send(&mut s, [code(KeyCode::Esc)]);
    assert!(s.logs.store.filter().is_none());
}

#[test]
fn exec_needs_a_running_service() {
    let mut s = AppState::fixture();
    assert_eq!(
        send(&mut s, [key('x')]),
        vec![Command::Exec {
            service: svc("db"),
            command: None
        }]
    );
    exited(&mut s, "db", 1, 0);
    assert!(send(&mut s, [key('x')]).is_empty());
    assert!(
        s.notices
            .last()
            .unwrap()
            .message
            .contains("'db' is exited(0)")
    );
}

#[test]
fn shift_x_asks_for_a_command() {
    let mut s = AppState::fixture();
    let mut ev = vec![key('X')];
    ev.extend(typed("psql -c 'select 1'"));
    ev.push(code(KeyCode::Enter));
    let cmds = send(&mut s, ev);
    assert_eq!(
        cmds,
        vec![Command::Exec {
            service: svc("db"),
            command: Some("psql -c 'select 1'".into())
        }]
    );
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn p_offers_the_named_databases_and_opens_the_chosen_one() {
    let mut s = AppState::fixture();
    s.services[0].databases = vec!["warehouse".into(), "airflow".into()];
    assert_eq!(send(&mut s, [key('p')]), vec![]);
    assert_eq!(
        s.mode,
        Mode::PickDatabase {
            service: svc("db"),
            databases: vec!["warehouse".into(), "airflow".into()],
            selected: 0,
        }
    );
    // `j` moves (not past the end), Enter opens the selected one.
    send(&mut s, [key('j'), key('j')]);
    assert_eq!(
        send(
            &mut s,
            [Event::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE
            ))]
        ),
        vec![Command::DbConsoleOn {
            service: svc("db"),
            database: "airflow".into()
        }]
    );
    assert_eq!(s.mode, Mode::Normal);
    // A digit opens directly; Esc closes without a command.
    send(&mut s, [key('p')]);
    assert_eq!(
        send(&mut s, [key('1')]),
        vec![Command::DbConsoleOn {
            service: svc("db"),
            database: "warehouse".into()
        }]
    );
    send(&mut s, [key('p')]);
    assert_eq!(
        send(
            &mut s,
            [Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))]
        ),
        vec![]
    );
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn p_opens_psql_in_the_postgres_service_from_anywhere() {
    let mut s = AppState::fixture();
    send(&mut s, [key('j'), key('j')]);
    assert_eq!(
        send(&mut s, [key('p')]),
        vec![Command::DbConsole(svc("db"))]
    );
}

#[test]
fn help_closes_on_any_key_without_doing_it() {
    let mut s = AppState::fixture();
    send(&mut s, [key('?')]);
    assert_eq!(s.mode, Mode::Help);
    assert!(send(&mut s, [key('q')]).is_empty());
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn e_shows_the_endpoints_until_esc_e_or_q_and_other_keys_do_nothing() {
    for close in [code(KeyCode::Esc), key('e'), key('q'), ctrl('c')] {
        let mut s = AppState::fixture();
        send(&mut s, [key('e')]);
        assert_eq!(s.mode, Mode::Endpoints);
        // Not the keys' actions underneath: no restart, no quit, selection kept.
        s.dirty = false;
        assert!(send(&mut s, [key('r'), key('j'), key('Q')]).is_empty());
        assert_eq!(
            (s.mode.clone(), s.selected, s.dirty),
            (Mode::Endpoints, 0, false)
        );
        assert!(send(&mut s, [close.clone()]).is_empty(), "{close:?}");
        assert_eq!(s.mode, Mode::Normal, "{close:?}");
        assert!(s.dirty);
    }
    // From the logs pane too.
    let mut s = AppState::fixture();
    send(&mut s, [code(KeyCode::Tab), key('e')]);
    assert_eq!(s.mode, Mode::Endpoints);
}

#[test]
fn e_without_endpoints_says_so_instead_of_an_empty_overlay() {
    let mut s = AppState::fixture();
    s.endpoints.clear();
    send(&mut s, [key('e')]);
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.notices[0].message.contains("no web UI or database port"));
}

#[test]
fn toggles() {
    let mut s = AppState::fixture();
    send(&mut s, [key('w'), key('t'), key('J')]);
    assert!(s.logs.wrap && s.logs.timestamps && s.logs.raw_json);
    send(&mut s, [key('w'), key('t'), key('J')]);
    assert!(!s.logs.wrap && !s.logs.timestamps && !s.logs.raw_json);
}

#[test]
fn unbound_keys_and_releases_do_not_redraw() {
    let mut s = AppState::fixture();
    s.dirty = false;
    send(&mut s, [key('z')]);
    assert!(!s.dirty);
    let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert!(send(&mut s, [Event::Key(release)]).is_empty());
    assert!(!s.dirty);
}

#[test]
fn engine_events_update_rows() {
    let mut s = AppState::fixture();
    exited(&mut s, "worker", 4, 3);
    let worker = s.row(&svc("worker")).unwrap();
    assert_eq!(worker.status(), Status::Exited(3));
    let idx = s.logs.store.service_idx(&svc("worker")).unwrap();
    let last = s
        .logs
        .store
        .view(Scope::Service(idx))
        .backward(None)
        .next()
        .unwrap();
    assert_eq!(
        (last.kind, last.text),
        (LineKind::Marker, "— container exited with code 3 —")
    );

    update(
        &mut s,
        Event::Engine(EngineEvent::Stats {
            service: svc("db"),
            cpu_percent: 99.5,
            memory_bytes: 1 << 30,
            memory_limit: 2 << 30,
        }),
    );
    assert_eq!(s.row(&svc("db")).unwrap().stats.unwrap().cpu_percent, 99.5);

    let db_id = s
        .row(&svc("db"))
        .unwrap()
        .container
        .as_ref()
        .unwrap()
        .id
        .clone();
    update(
        &mut s,
        Event::Engine(EngineEvent::HealthLog {
            service: svc("db"),
            container: db_id,
            failing_streak: 2,
            probe: Some(ProbeResult {
                exit_code: 1,
                output: "no response".into(),
            }),
        }),
    );
    assert_eq!(
        s.row(&svc("db"))
            .unwrap()
            .health_log
            .as_ref()
            .unwrap()
            .failing_streak,
        2
    );

    update(
        &mut s,
        Event::Engine(EngineEvent::Progress {
            service: svc("db"),
            progress: Progress::Pulling { percent: Some(10) },
        }),
    );
    assert!(s.row(&svc("db")).unwrap().progress.is_some());
    update(
        &mut s,
        Event::Engine(EngineEvent::Progress {
            service: svc("db"),
            progress: Progress::Done,
        }),
    );
    assert!(s.row(&svc("db")).unwrap().progress.is_none());

    let id = s
        .row(&svc("db"))
        .unwrap()
        .container
        .as_ref()
        .unwrap()
        .id
        .clone();
    update(
        &mut s,
        Event::Engine(EngineEvent::ContainerRemoved {
            service: svc("db"),
            id,
        }),
    );
    assert_eq!(s.row(&svc("db")).unwrap().status(), Status::NotCreated);

    update(
        &mut s,
        Event::Engine(EngineEvent::Notice {
            level: NoticeLevel::Error,
            message: "boom".into(),
        }),
    );
    assert_eq!(s.notices.last().unwrap().message, "boom");
}

#[test]
fn a_restart_and_a_recreate_leave_markers_in_the_logs() {
    let mut s = AppState::fixture();
    let mut c = s.row(&svc("db")).unwrap().container.clone().unwrap();
    c.started_at = Some(FIXTURE_NOW + 5);
    update(&mut s, Event::Engine(EngineEvent::Container(c.clone())));
    let db = s.logs.store.service_idx(&svc("db")).unwrap();
    let last = s
        .logs
        .store
        .view(Scope::Service(db))
        .backward(None)
        .next()
        .unwrap();
    assert_eq!(last.text, "— container restarted —");
    // recreated: a new id, after the old container was removed
    update(
        &mut s,
        Event::Engine(EngineEvent::ContainerRemoved {
            service: svc("db"),
            id: c.id.clone(),
        }),
    );
    let mut new = c.clone();
    new.id = crate::model::ContainerId("ff".repeat(32));
    update(&mut s, Event::Engine(EngineEvent::Container(new)));
    let last = s
        .logs
        .store
        .view(Scope::Service(db))
        .backward(None)
        .next()
        .unwrap();
    assert_eq!(last.text, "— new container ffffffffffff —");
}

#[test]
fn daemon_lost_then_back_resumes_logs_without_repeats() {
    let mut s = AppState::fixture();
    update(
        &mut s,
        Event::Engine(EngineEvent::DaemonLost {
            reason: "connection refused".into(),
        }),
    );
    assert_eq!(
        s.daemon,
        Daemon::Lost {
            reason: "connection refused".into()
        }
    );
    let cmds = update(&mut s, Event::Engine(EngineEvent::DaemonBack));
    assert_eq!(s.daemon, Daemon::Connected);
    let [Command::ResumeLogs(resume)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    let db_since = resume
        .iter()
        .find(|(n, _)| n.as_str() == "db")
        .unwrap()
        .1
        .unwrap();
    assert_eq!(Some(db_since), s.logs.store.last_ts(&svc("db")));
    let before = s.logs.store.len();
    // the resumed stream repeats the last line, then continues
    let again = LogLine {
        service: svc("db"),
        ts_nanos: db_since,
        stream: Stream::Stdout,
        text: "repeat".into(),
    };
    let fresh = LogLine {
        ts_nanos: db_since + 1,
        text: "fresh".into(),
        ..again.clone()
    };
    update(&mut s, Event::Logs(vec![again, fresh]));
    assert_eq!(s.logs.store.len(), before + 1);
}

#[test]
fn ticks_expire_infos_and_keep_errors() {
    let mut s = AppState::fixture();
    s.notify(NoticeLevel::Info, "restarting 'db'");
    s.notify(NoticeLevel::Error, "restart of 'db' failed: conflict");
    update(
        &mut s,
        Event::Tick {
            now_unix: FIXTURE_NOW + 60,
        },
    );
    assert_eq!(s.notices.len(), 1);
    assert_eq!(s.notices[0].level, NoticeLevel::Error);
    // Esc dismisses it
    send(&mut s, [code(KeyCode::Esc)]);
    assert!(s.notices.is_empty());
}

#[test]
fn a_tick_redraws_only_when_something_shown_changes() {
    let mut s = AppState::fixture();
    // db has been up 1h02m05s: the next minute boundary is 55 s away
    s.dirty = false;
    update(
        &mut s,
        Event::Tick {
            now_unix: FIXTURE_NOW + 10,
        },
    );
    // worker's uptime is shown in seconds (42s -> 52s)
    assert!(s.dirty);
    let mut c = s.row(&svc("worker")).unwrap().container.clone().unwrap();
    c.started_at = Some(FIXTURE_NOW - 3600);
    s.row_mut(&svc("worker")).unwrap().container = Some(c);
    update(
        &mut s,
        Event::Tick {
            now_unix: FIXTURE_NOW + 20,
        },
    );
    s.dirty = false;
    update(
        &mut s,
        Event::Tick {
            now_unix: FIXTURE_NOW + 21,
        },
    );
    assert!(!s.dirty);
}

#[test]
fn exec_finished_reports_the_exit_code() {
    let mut s = AppState::fixture();
    update(
        &mut s,
        Event::ExecFinished {
            service: svc("db"),
            result: Ok(7),
        },
    );
    assert!(
        s.notices
            .last()
            .unwrap()
            .message
            .contains("exited with code 7")
    );
}

#[test]
fn flood_memory_is_bounded_by_the_ring() {
    let mut s = AppState::fixture();
    for chunk in 0..50 {
        update(&mut s, Event::Logs(lines("worker", 1000, 10 + chunk)));
    }
    let worker = s.logs.store.service_idx(&svc("worker")).unwrap();
    assert_eq!(
        s.logs.store.stats(worker).unwrap().lines,
        crate::logs::StoreConfig::DEFAULT_LINES
    );
    assert!(s.logs.store.dropped() > 0);
}

// ---- issue 14 item 7: every field from the current container's current state ----

fn container_of(s: &AppState, service: &str) -> crate::model::ContainerInfo {
    s.row(&svc(service)).unwrap().container.clone().unwrap()
}

fn health_log(s: &mut AppState, service: &str, id: &ContainerId, streak: u32, out: &str) {
    update(
        s,
        Event::Engine(EngineEvent::HealthLog {
            service: svc(service),
            container: id.clone(),
            failing_streak: streak,
            probe: Some(ProbeResult {
                exit_code: 1,
                output: out.into(),
            }),
        }),
    );
}

#[test]
fn rows_stop_pulling_when_up_ends_and_the_failure_stays_only_where_it_happened() {
    let mut s = AppState::fixture();
    let progress = |service: &str, progress: Progress| {
        Event::Engine(EngineEvent::Progress {
            service: svc(service),
            progress,
        })
    };
    send(
        &mut s,
        [
            progress("airflow-scheduler", Progress::Pulling { percent: Some(40) }),
            progress(
                "worker",
                Progress::Failed {
                    reason: "pull image 'shop-worker': not found".into(),
                },
            ),
            Event::Engine(EngineEvent::UpFinished {
                error: Some("pull image 'shop-worker': not found".into()),
            }),
        ],
    );
    assert_eq!(s.row(&svc("airflow-scheduler")).unwrap().progress, None);
    assert!(matches!(
        s.row(&svc("worker")).unwrap().progress,
        Some(Progress::Failed { .. })
    ));
    assert_eq!(
        s.up,
        UpState::Failed("pull image 'shop-worker': not found".into())
    );
}

#[test]
fn a_failure_beside_a_service_goes_once_it_is_healthy_again() {
    let mut s = AppState::fixture();
    let mut db = container_of(&s, "db");
    db.health = Health::Unhealthy;
    update(&mut s, Event::Engine(EngineEvent::Container(db.clone())));
    update(
        &mut s,
        Event::Engine(EngineEvent::Progress {
            service: svc("db"),
            progress: Progress::Failed {
                reason: "service 'db' is unhealthy".into(),
            },
        }),
    );
    // Still unhealthy: the reason stays.
    update(&mut s, Event::Engine(EngineEvent::Container(db.clone())));
    assert!(s.row(&svc("db")).unwrap().progress.is_some());
    db.health = Health::Healthy;
    update(&mut s, Event::Engine(EngineEvent::Container(db)));
    assert_eq!(s.row(&svc("db")).unwrap().progress, None);
}

#[test]
fn probe_results_of_a_replaced_or_restarted_container_are_not_shown() {
    let mut s = AppState::fixture();
    let old = container_of(&s, "db");
    health_log(&mut s, "db", &old.id, 2, "old probe");
    assert!(s.row(&svc("db")).unwrap().health_log.is_some());

    // Restarted: same container, a new run.
    let mut restarted = old.clone();
    restarted.started_at = Some(FIXTURE_NOW);
    restarted.health = Health::Starting;
    update(&mut s, Event::Engine(EngineEvent::Container(restarted)));
    assert_eq!(s.row(&svc("db")).unwrap().health_log, None);

    // Recreated: a late report about the old container is dropped.
    let mut new = fixture_container("db", "postgres:16", 9, &[], Health::Starting);
    new.started_at = Some(FIXTURE_NOW + 5);
    update(&mut s, Event::Engine(EngineEvent::Container(new.clone())));
    health_log(&mut s, "db", &old.id, 4, "old probe");
    assert_eq!(s.row(&svc("db")).unwrap().health_log, None);
    health_log(&mut s, "db", &new.id, 1, "new probe");
    assert_eq!(
        s.row(&svc("db"))
            .unwrap()
            .health_log
            .as_ref()
            .unwrap()
            .failing_streak,
        1
    );
}

#[test]
fn a_stop_shows_stopping_until_the_container_has_stopped() {
    let mut s = AppState::fixture();
    assert_eq!(send(&mut s, [key('s')]), vec![Command::Stop(svc("db"))]);
    assert_eq!(s.row(&svc("db")).unwrap().status(), Status::Stopping);
    // A second press does not stop twice.
    assert!(send(&mut s, [key('s')]).is_empty());
    // The daemon's kill event: still running, still stopping.
    let db = container_of(&s, "db");
    update(&mut s, Event::Engine(EngineEvent::Container(db)));
    assert_eq!(s.row(&svc("db")).unwrap().status(), Status::Stopping);
    exited(&mut s, "db", 1, 0);
    assert_eq!(s.row(&svc("db")).unwrap().status(), Status::Exited(0));
    // A restart shows stopping until the container runs again.
    let mut s = AppState::fixture();
    send(&mut s, [key('r')]);
    assert_eq!(s.row(&svc("db")).unwrap().status(), Status::Stopping);
    let mut again = container_of(&s, "db");
    again.started_at = Some(FIXTURE_NOW);
    update(&mut s, Event::Engine(EngineEvent::Container(again)));
    assert_eq!(s.row(&svc("db")).unwrap().status(), Status::Healthy);
}

// ---- item 8: notices ----

#[test]
fn up_failed_notice_stays_while_true_and_leaves_once_the_stack_is_ready() {
    let mut s = AppState::fixture();
    let mut db = container_of(&s, "db");
    db.health = Health::Unhealthy;
    update(&mut s, Event::Engine(EngineEvent::Container(db.clone())));
    update(
        &mut s,
        Event::Engine(EngineEvent::UpFinished {
            error: Some("service 'db' is unhealthy".into()),
        }),
    );
    update(
        &mut s,
        Event::Tick {
            now_unix: FIXTURE_NOW + 600,
        },
    );
    assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
    assert!(s.notices[0].message.starts_with("up failed:"));
    db.health = Health::Healthy;
    update(&mut s, Event::Engine(EngineEvent::Container(db)));
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    // Reachable still, whole.
    assert!(s.history.iter().any(|n| n.message.contains("unhealthy")));

    // An error nobody can judge stays until Esc.
    s.notify(NoticeLevel::Error, "reset: volume in use");
    update(
        &mut s,
        Event::Tick {
            now_unix: FIXTURE_NOW + 6000,
        },
    );
    assert_eq!(s.notices.len(), 1);
    send(&mut s, [code(KeyCode::Esc)]);
    assert!(s.notices.is_empty());
}

#[test]
fn m_opens_every_message_whole_and_scrolls() {
    let mut s = AppState::fixture();
    let long: String = (0..40)
        .map(|i| format!("line {i} of a long reason\n"))
        .collect();
    s.notify(NoticeLevel::Error, long);
    send(&mut s, [key('m')]);
    let Mode::Messages { scroll } = s.mode else {
        panic!("{:?}", s.mode)
    };
    // Opened at the end, where the newest message is.
    assert!(scroll > 0);
    assert_eq!(scroll, views::messages::max_scroll(&s));
    send(&mut s, [key('g')]);
    assert_eq!(s.mode, Mode::Messages { scroll: 0 });
    send(&mut s, [key('j'), key('j')]);
    assert_eq!(s.mode, Mode::Messages { scroll: 2 });
    send(&mut s, [key('k')]);
    assert_eq!(s.mode, Mode::Messages { scroll: 1 });
    // Other keys do nothing underneath; Esc closes.
    assert!(send(&mut s, [key('r')]).is_empty());
    send(&mut s, [code(KeyCode::Esc)]);
    assert_eq!(s.mode, Mode::Normal);
}

// ---- item 10: the quit message names the exact command and tells the truth ----

#[test]
fn quit_message_names_the_command_with_its_flags_and_what_runs() {
    let mut s = AppState::fixture();
    s.cli = "devstack -f stack.yaml -p h1".into();
    let m = super::quit_message(&s, false);
    assert!(m.contains("still running (4 of 4 services)"), "{m}");
    assert!(
        m.contains("'devstack -f stack.yaml -p h1 tui' reopens this view"),
        "{m}"
    );
    assert!(
        m.contains("'devstack -f stack.yaml -p h1 down' stops it"),
        "{m}"
    );

    // An up that failed before creating anything: nothing runs, and it says why.
    for name in ["db", "airflow-webserver", "airflow-scheduler", "worker"] {
        let id = container_of(&s, name).id;
        update(
            &mut s,
            Event::Engine(EngineEvent::ContainerRemoved {
                service: svc(name),
                id,
            }),
        );
    }
    update(
        &mut s,
        Event::Engine(EngineEvent::UpFinished {
            error: Some("port '127.0.0.1:5432/tcp' is already in use".into()),
        }),
    );
    let m = super::quit_message(&s, false);
    assert!(!m.contains("still running"), "{m}");
    assert!(m.contains("up failed: port '127.0.0.1:5432/tcp'"), "{m}");
    assert!(
        m.contains("'devstack -f stack.yaml -p h1 up' starts it"),
        "{m}"
    );
}
