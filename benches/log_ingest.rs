//! Ingest throughput of the log store: 1M lines from 3 services in batches of 1000, as
//! the log streams deliver them. The daemon delivers ~140k lines/s; the store must be
//! far above that.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use devstack::logs::{Matcher, Store, StoreConfig};
use devstack::model::{LogLine, ServiceName, Stream};

const LINES: usize = 1_000_000;
const BATCH: usize = 1_000;

fn batches() -> Vec<Vec<LogLine>> {
    let services = [
        ServiceName::new("db"),
        ServiceName::new("airflow-scheduler"),
        ServiceName::new("worker"),
    ];
    let mut ts = 1_750_000_000_000_000_000i64;
    (0..LINES / BATCH)
        .map(|b| {
            let svc = &services[b % services.len()];
            (0..BATCH)
                .map(|i| {
                    ts += 7_000;
                    let text = match i % 4 {
                        0 => format!("2025-06-15 15:06:{:02}.{i:03} UTC [64] LOG:  checkpoint starting: time", i % 60),
                        1 => format!(r#"{{"level":"info","msg":"processed batch","batch":{b},"rows":{i}}}"#),
                        2 => format!("\x1b[32mINFO\x1b[0m - 127.0.0.1 - - \"GET /api/v1/dags?limit={i} HTTP/1.1\" 200"),
                        _ => format!("[2025-06-15T15:06:20+0000] {{taskinstance.py:2905}} WARNING - retry {i} of batch {b}"),
                    };
                    LogLine {
                        service: svc.clone(),
                        ts_nanos: ts,
                        stream: if i % 10 == 0 { Stream::Stderr } else { Stream::Stdout },
                        text,
                    }
                })
                .collect()
        })
        .collect()
}

fn ingest(c: &mut Criterion) {
    let data = batches();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(LINES as u64));
    g.sample_size(10);
    g.bench_function("1M lines, 3 services", |b| {
        b.iter_batched(
            || data.clone(),
            |batches| {
                let mut store = Store::new(StoreConfig::default());
                for batch in batches {
                    store.push_batch(batch);
                }
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("1M lines, 3 services, filter and search active", |b| {
        b.iter_batched(
            || data.clone(),
            |batches| {
                let mut store = Store::new(StoreConfig::default());
                store.set_filter(Matcher::literal("info").ok());
                store.set_search(Matcher::regex(r"batch \d+").ok());
                for batch in batches {
                    store.push_batch(batch);
                }
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
