//! Log store tests: bounds, merge order, search, filter, resume, markers.

use crate::model::{LogLine, ServiceName, Stream};

use super::*;

fn line(svc: &str, ts: i64, text: &str) -> LogLine {
    LogLine {
        service: ServiceName::new(svc),
        ts_nanos: ts,
        stream: Stream::Stdout,
        text: text.to_string(),
    }
}

fn texts<'a>(it: impl Iterator<Item = LineRef<'a>>) -> Vec<String> {
    it.map(|l| l.text.to_string()).collect()
}

fn svc(s: &str) -> ServiceName {
    ServiceName::new(s)
}

#[test]
fn ring_bound_holds_and_counts_drops() {
    let mut store = Store::new(StoreConfig::with_lines(20_000));
    for chunk in 0..100 {
        let batch = (0..1000)
            .map(|i| {
                line(
                    "app",
                    chunk * 1000 + i,
                    &format!("line {}", chunk * 1000 + i),
                )
            })
            .collect();
        store.push_batch(batch);
    }
    let idx = store.service_idx(&svc("app")).unwrap();
    assert_eq!(store.len(), 20_000);
    assert_eq!(store.dropped(), 80_000);
    let stats = store.stats(idx).unwrap();
    assert_eq!(
        (stats.lines, stats.stored, stats.dropped),
        (20_000, 100_000, 80_000)
    );
    let view = store.view(Scope::All);
    assert_eq!(view.forward(None).next().unwrap().text, "line 80000");
    assert_eq!(view.backward(None).next().unwrap().text, "line 99999");
}

#[test]
fn byte_bound_and_line_cut_hold() {
    let config = StoreConfig {
        lines_per_service: 1000,
        bytes_per_service: 10_000,
        max_line_bytes: 100,
    };
    let mut store = Store::new(config);
    let long = "é".repeat(200); // 400 bytes, cut on a char boundary
    store.push_batch((0..500).map(|i| line("a", i, &long)).collect());
    assert!(store.bytes() <= 10_000, "{} bytes held", store.bytes());
    let last = store.view(Scope::All).backward(None).next().unwrap();
    assert!(last.truncated);
    assert_eq!(last.text.len(), 100);
    let stats = store.stats(ServiceIdx(0)).unwrap();
    assert_eq!(stats.truncated, 500);
    assert_eq!(stats.lines as u64 + stats.dropped, 500);
}

#[test]
fn merged_view_is_in_timestamp_order_across_batches() {
    let mut store = Store::default();
    store.add_service(&svc("db"));
    store.add_service(&svc("web"));
    // batches arrive per service and out of step with each other
    store.push_batch(vec![
        line("web", 10, "w10"),
        line("web", 30, "w30"),
        line("web", 50, "w50"),
    ]);
    store.push_batch(vec![
        line("db", 5, "d5"),
        line("db", 20, "d20"),
        line("db", 40, "d40"),
    ]);
    store.push_batch(vec![line("db", 60, "d60"), line("web", 55, "w55")]);
    let view = store.view(Scope::All);
    assert_eq!(
        texts(view.forward(None)),
        ["d5", "w10", "d20", "w30", "d40", "w50", "w55", "d60"]
    );
    assert_eq!(
        texts(view.backward(None)),
        ["d60", "w55", "w50", "d40", "w30", "d20", "w10", "d5"]
    );
    // a window starting in the middle, and the rank of a line
    let k = view.forward(None).nth(3).unwrap().key;
    assert_eq!(texts(view.forward(Some(k)).take(2)), ["w30", "d40"]);
    assert_eq!(texts(view.backward(Some(k)).take(2)), ["d20", "w10"]);
    assert_eq!(view.rank(k), 3);
    // one service alone
    let db = store.view(Scope::Service(ServiceIdx(0)));
    assert_eq!(texts(db.forward(None)), ["d5", "d20", "d40", "d60"]);
}

#[test]
fn equal_timestamps_order_by_service_then_arrival_and_late_lines_keep_ring_sorted() {
    let mut store = Store::default();
    store.add_service(&svc("a"));
    store.add_service(&svc("b"));
    store.push_batch(vec![
        line("b", 7, "b1"),
        line("a", 7, "a1"),
        line("a", 7, "a2"),
    ]);
    // stderr arriving a hair earlier than the last stdout line: shown after it, not lost
    store.push_batch(vec![line("a", 6, "a-late")]);
    let view = store.view(Scope::All);
    assert_eq!(texts(view.forward(None)), ["a1", "a2", "a-late", "b1"]);
    let late = view.backward(None).nth(1).unwrap();
    assert_eq!((late.text, late.ts_nanos), ("a-late", 6));
}

#[test]
fn search_finds_across_services_and_steps_through_matches() {
    let mut store = Store::default();
    store.push_batch(vec![
        line("db", 1, "ERROR: relation missing"),
        line("db", 3, "ok"),
    ]);
    store.push_batch(vec![
        line("web", 2, "GET / 500 error"),
        line("web", 4, "\x1b[31mError\x1b[0m again"),
    ]);
    store.set_search(Some(Matcher::literal("error").unwrap()));
    let view = store.view(Scope::All);
    assert_eq!(view.match_count(), 3);
    let first = view.next_match(None).unwrap();
    let second = view.next_match(Some(first)).unwrap();
    let third = view.next_match(Some(second)).unwrap();
    assert_eq!(view.next_match(Some(third)), None);
    let found: Vec<_> = [first, second, third]
        .iter()
        .map(|k| store.line(*k).unwrap().text)
        .collect();
    assert_eq!(
        found,
        [
            "ERROR: relation missing",
            "GET / 500 error",
            "\x1b[31mError\x1b[0m again"
        ]
    );
    assert_eq!(view.prev_match(None), Some(third));
    assert_eq!(view.prev_match(Some(third)), Some(second));
    assert_eq!(view.match_rank(third), 2);
    assert!(view.is_match(second));
    // new lines are searched as they arrive
    store.push_batch(vec![line("db", 5, "another error")]);
    assert_eq!(store.view(Scope::All).match_count(), 4);
    // the search of one service only
    assert_eq!(store.view(Scope::Service(ServiceIdx(0))).match_count(), 2);
}

#[test]
fn regex_search() {
    let mut store = Store::default();
    store.push_batch(vec![
        line("a", 1, "took 15ms"),
        line("a", 2, "took 2s"),
        line("a", 3, "took 999ms"),
    ]);
    store.set_search(Some(Matcher::regex(r"\d{3,}ms").unwrap()));
    let view = store.view(Scope::All);
    assert_eq!(view.match_count(), 1);
    assert_eq!(
        store.line(view.next_match(None).unwrap()).unwrap().text,
        "took 999ms"
    );
}

#[test]
fn filter_view_keeps_markers_and_follows_new_lines() {
    let mut store = Store::default();
    store.push_batch(vec![
        line("a", 1, "GET /health"),
        line("a", 2, "POST /orders"),
        line("b", 3, "GET /"),
    ]);
    store.push_marker(&svc("a"), 4, "— container restarted —");
    store.set_filter(Some(Matcher::literal("get").unwrap()));
    let view = store.view(Scope::All);
    assert_eq!(
        texts(view.forward(None)),
        ["GET /health", "GET /", "— container restarted —"]
    );
    assert_eq!(view.received(), 3);
    store.push_batch(vec![line("a", 5, "GET /x"), line("a", 6, "PUT /y")]);
    let view = store.view(Scope::All);
    assert_eq!(view.len(), 4);
    assert_eq!(view.received(), 4);
    // search within a filter only counts lines the filter lets through
    store.set_search(Some(Matcher::literal("/").unwrap()));
    assert_eq!(store.view(Scope::All).match_count(), 3);
    store.set_filter(None);
    assert_eq!(store.view(Scope::All).match_count(), 5);
    assert_eq!(store.view(Scope::All).len(), 6);
}

#[test]
fn filter_and_search_lists_stay_bounded_with_the_ring() {
    let mut store = Store::new(StoreConfig::with_lines(100));
    store.set_filter(Some(Matcher::literal("even").unwrap()));
    store.set_search(Some(Matcher::literal("4").unwrap()));
    for i in 0..1000 {
        let text = if i % 2 == 0 {
            format!("even {i}")
        } else {
            format!("odd {i}")
        };
        store.push_batch(vec![line("a", i, &text)]);
    }
    let view = store.view(Scope::All);
    assert_eq!(view.len(), 50);
    assert!(view.forward(None).all(|l| l.text.starts_with("even")));
    let matches = view.forward(None).filter(|l| l.text.contains('4')).count();
    assert_eq!(view.match_count(), matches);
}

#[test]
fn resume_skips_repeated_lines_after_reconnect() {
    let mut store = Store::default();
    store.push_batch(vec![line("db", 1_000, "a"), line("db", 1_500, "b")]);
    assert_eq!(store.last_ts(&svc("db")), Some(1_500));
    assert_eq!(store.last_ts(&svc("nope")), None);
    let since = store.resume(&svc("db"));
    assert_eq!(since, Some(1_500));
    // the daemon repeats from the start of the second
    let kept = store.push_batch(vec![
        line("db", 1_000, "a"),
        line("db", 1_500, "b"),
        line("db", 1_600, "c"),
    ]);
    assert_eq!(kept, 1);
    // after the first new line, equal timestamps are ordinary lines again
    store.push_batch(vec![line("db", 1_600, "d")]);
    assert_eq!(
        texts(store.view(Scope::All).forward(None)),
        ["a", "b", "c", "d"]
    );
    assert_eq!(store.stats(ServiceIdx(0)).unwrap().duplicates, 2);
    assert_eq!(store.last_ts(&svc("db")), Some(1_600));
}

#[test]
fn marker_sorts_after_the_old_container_lines() {
    let mut store = Store::default();
    store.push_batch(vec![line("web", 100, "old 1"), line("web", 300, "old 2")]);
    // the new container's start is known in whole seconds: earlier than the last line
    store.push_marker(&svc("web"), 0, "— container restarted —");
    store.push_batch(vec![line("web", 400, "new 1")]);
    let view = store.view(Scope::All);
    let all: Vec<_> = view
        .forward(None)
        .map(|l| (l.text.to_string(), l.kind))
        .collect();
    assert_eq!(
        all[2],
        ("— container restarted —".to_string(), LineKind::Marker)
    );
    assert_eq!(all[3].0, "new 1");
    // markers do not move the resume point
    assert_eq!(store.last_ts(&svc("web")), Some(400));
}

#[test]
fn paused_anchor_survives_eviction() {
    let mut store = Store::new(StoreConfig::with_lines(10));
    store.push_batch((0..10).map(|i| line("a", i, &i.to_string())).collect());
    let anchor = store.view(Scope::All).forward(None).nth(2).unwrap().key;
    store.push_batch((10..15).map(|i| line("a", i, &i.to_string())).collect());
    // the anchored line is gone; the view continues from the oldest line still held
    assert_eq!(
        store
            .view(Scope::All)
            .forward(Some(anchor))
            .next()
            .unwrap()
            .text,
        "5"
    );
    assert_eq!(store.line(anchor), None);
}

#[test]
fn unknown_scope_is_empty() {
    let store = Store::default();
    assert!(store.view(Scope::Service(ServiceIdx(9))).is_empty());
    assert!(store.view(Scope::All).forward(None).next().is_none());
}
