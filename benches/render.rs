//! One frame at 250×70 with 100k lines buffered, follow mode and a search active. The
//! budget in docs/ARCHITECTURE.md is < 2 ms a frame.

use criterion::{Criterion, criterion_group, criterion_main};
use devstack::logs::{Matcher, Store, StoreConfig};
use devstack::model::{LogLine, Stream};
use devstack::tui::{AppState, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 250;
const H: u16 = 70;

fn line(svc: &devstack::model::ServiceName, ts: i64, i: usize) -> LogLine {
    let text = match i % 5 {
        0 => format!(
            "2025-06-15 15:06:{:02}.{:03} UTC [64] LOG:  checkpoint starting: time, wrote {i} buffers",
            i % 60,
            i % 1000
        ),
        1 => format!(
            r#"{{"level":"warn","msg":"slow query","ms":{i},"table":"orders","error":"timeout"}}"#
        ),
        2 => format!(
            "\x1b[32mINFO\x1b[0m - 127.0.0.1 - - \"GET /api/v1/dags?limit={i} HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\""
        ),
        3 => format!(
            "[2025-06-15T15:06:20+0000] {{taskinstance.py:2905}} \x1b[33mWARNING\x1b[0m - Task orders_daily.load failed (error: connection reset), retry {i}"
        ),
        _ => format!("Traceback (most recent call last): KeyError: 'customer_id' in batch {i}"),
    };
    LogLine {
        service: svc.clone(),
        ts_nanos: ts,
        stream: if i % 5 == 4 {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        text,
    }
}

/// The fixture's services with 100k lines buffered (25k each), following, searching.
fn state() -> AppState {
    let mut s = AppState::fixture();
    s.size = (W, H);
    s.logs.store = Store::new(StoreConfig::with_lines(25_000));
    let names: Vec<_> = s.services.iter().map(|r| r.name.clone()).collect();
    for n in &names {
        s.logs.store.add_service(n);
    }
    let mut ts = 1_750_000_000_000_000_000i64;
    for chunk in 0..100 {
        let batch = (0..1000)
            .map(|i| {
                ts += 9_000;
                line(&names[(chunk * 7 + i) % names.len()], ts, chunk * 1000 + i)
            })
            .collect();
        s.logs.store.push_batch(batch);
    }
    assert_eq!(s.logs.store.len(), 100_000);
    s.logs.store.set_search(Matcher::literal("error").ok());
    s.logs.current_match = s.logs.store.view(s.logs.scope).prev_match(None);
    s
}

fn frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("render 250x70, 100k lines, follow, search");
    let mut s = state();
    let mut term = Terminal::new(TestBackend::new(W, H)).expect("test backend");
    g.bench_function("unchanged frame", |b| {
        b.iter(|| {
            term.draw(|f| render(&s, f)).expect("draw");
        })
    });
    // New lines each frame: every log row changes, so the diff writes the whole pane.
    let names: Vec<_> = s.services.iter().map(|r| r.name.clone()).collect();
    let mut ts = 1_760_000_000_000_000_000i64;
    let mut i = 0;
    g.bench_function("10 new lines per frame", |b| {
        b.iter(|| {
            let batch = (0..10)
                .map(|_| {
                    ts += 1_000;
                    i += 1;
                    line(&names[i % names.len()], ts, i)
                })
                .collect();
            s.logs.store.push_batch(batch);
            term.draw(|f| render(&s, f)).expect("draw");
        })
    });
    s.logs.wrap = true;
    s.logs.timestamps = true;
    g.bench_function("10 new lines per frame, wrap and timestamps", |b| {
        b.iter(|| {
            let batch = (0..10)
                .map(|_| {
                    ts += 1_000;
                    i += 1;
                    line(&names[i % names.len()], ts, i)
                })
                .collect();
            s.logs.store.push_batch(batch);
            term.draw(|f| render(&s, f)).expect("draw");
        })
    });
    g.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
