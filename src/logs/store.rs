//! The log store: a bounded ring of lines per service, merged views over them, and the
//! match lists of the active filter and search.
//!
//! Memory is bounded by [`StoreConfig`] (lines and text bytes per service, bytes per
//! line), never by how fast a container prints. Views merge the rings lazily (a k-way
//! merge over the lines actually read), so nothing is copied to show "all services".
//! The store does no I/O and knows nothing about the terminal.

use std::collections::VecDeque;

use crate::model::{LogLine, ServiceName, Stream};

use super::ansi;
use super::matcher::Matcher;

/// Limits of the store. The defaults keep a flooding service well under the 100 MB
/// budget: 20 000 lines, at most 8 MiB of text, a line cut at 16 KiB (Docker's own
/// json-file driver splits at 16 KiB too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    pub lines_per_service: usize,
    pub bytes_per_service: usize,
    pub max_line_bytes: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            lines_per_service: Self::DEFAULT_LINES,
            bytes_per_service: 8 << 20,
            max_line_bytes: 16 << 10,
        }
    }
}

impl StoreConfig {
    pub const DEFAULT_LINES: usize = 20_000;

    /// Defaults with `lines` per service (`--log-lines`, `x-devstack: log_lines`).
    pub fn with_lines(lines: usize) -> Self {
        Self {
            lines_per_service: lines.max(1),
            ..Self::default()
        }
    }

    /// Most memory one service's buffer can hold: its text plus per-line bookkeeping
    /// (the entry and one slot in each of the filter and search lists).
    pub fn bound_per_service(&self) -> usize {
        self.bytes_per_service
            + self.lines_per_service
                * (std::mem::size_of::<Entry>() + 2 * std::mem::size_of::<u64>())
    }
}

/// A service's position in the store (registration order, which the TUI keeps equal to
/// its row order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceIdx(pub u32);

impl ServiceIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Identity and merge order of a line. Ordered by time, then service, then arrival, so
/// every view orders lines the same way and a line can be found again after the rings
/// moved (a paused view anchors on a key, not on an index that eviction would shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    /// The line's timestamp, raised to the service's previous one if it was earlier, so
    /// each ring stays sorted even when stdout and stderr interleave out of order.
    pub order_ts: i64,
    pub service: ServiceIdx,
    /// Per-service arrival number, never reused.
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Output(Stream),
    /// Written by devstack, not the container ("— container restarted —").
    Marker,
}

#[derive(Debug)]
struct Entry {
    ts_nanos: i64,
    order_ts: i64,
    kind: LineKind,
    truncated: bool,
    text: String,
}

/// A line as read from a view; borrows the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRef<'a> {
    pub key: LineKey,
    /// The daemon's timestamp, as received (Unix nanoseconds).
    pub ts_nanos: i64,
    pub kind: LineKind,
    /// The line was longer than `max_line_bytes` and was cut.
    pub truncated: bool,
    pub text: &'a str,
}

/// Counters of one service's buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Lines held now.
    pub lines: usize,
    /// Text bytes held now.
    pub bytes: usize,
    /// Lines ever stored (markers included).
    pub stored: u64,
    /// Lines dropped from the front of the ring to keep it within bounds.
    pub dropped: u64,
    /// Lines discarded as repeats after a resumed stream.
    pub duplicates: u64,
    /// Lines cut to `max_line_bytes`.
    pub truncated: u64,
}

#[derive(Debug)]
struct Ring {
    name: ServiceName,
    entries: VecDeque<Entry>,
    first_seq: u64,
    bytes: usize,
    stats: ServiceStats,
    last_ts: Option<i64>,
    order_floor: i64,
    /// After a reconnect, lines at or before this timestamp are repeats.
    dedup_until: Option<i64>,
}

impl Ring {
    fn new(name: ServiceName) -> Self {
        Self {
            name,
            entries: VecDeque::new(),
            first_seq: 0,
            bytes: 0,
            stats: ServiceStats::default(),
            last_ts: None,
            order_floor: i64::MIN,
            dedup_until: None,
        }
    }

    fn entry(&self, seq: u64) -> Option<&Entry> {
        let i = seq.checked_sub(self.first_seq)?;
        self.entries.get(usize::try_from(i).ok()?)
    }
}

/// Lines matching a pattern, per service, as sorted arrival numbers. Kept up to date at
/// ingest and trimmed with the rings, so it is bounded by them.
#[derive(Debug)]
struct MatchIndex {
    matcher: Matcher,
    hits: Vec<VecDeque<u64>>,
    /// Matches ever seen per service (for "N new lines" in a filtered view).
    total: Vec<u64>,
}

impl MatchIndex {
    fn new(matcher: Matcher, services: usize) -> Self {
        Self {
            matcher,
            hits: vec![VecDeque::new(); services],
            total: vec![0; services],
        }
    }

    fn record(&mut self, svc: usize, seq: u64) {
        self.hits[svc].push_back(seq);
        self.total[svc] += 1;
    }

    fn trim(&mut self, svc: usize, evicted_seq: u64) {
        if self.hits[svc].front() == Some(&evicted_seq) {
            self.hits[svc].pop_front();
        }
    }

    fn add_service(&mut self) {
        self.hits.push(VecDeque::new());
        self.total.push(0);
    }
}

/// The log store. See the module documentation.
#[derive(Debug)]
pub struct Store {
    config: StoreConfig,
    rings: Vec<Ring>,
    filter: Option<MatchIndex>,
    search: Option<MatchIndex>,
    /// Batches usually carry one service's lines: remember the last one found.
    last_service: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(StoreConfig::default())
    }
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        let config = StoreConfig {
            lines_per_service: config.lines_per_service.max(1),
            bytes_per_service: config.bytes_per_service.max(1),
            max_line_bytes: config.max_line_bytes.max(16),
        };
        Self {
            config,
            rings: Vec::new(),
            filter: None,
            search: None,
            last_service: 0,
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Registers a service (idempotent) and returns its index. Lines of unknown services
    /// register them too; registering up front fixes the order.
    pub fn add_service(&mut self, name: &ServiceName) -> ServiceIdx {
        if let Some(idx) = self.service_idx(name) {
            return idx;
        }
        self.rings.push(Ring::new(name.clone()));
        for index in [&mut self.filter, &mut self.search].into_iter().flatten() {
            index.add_service();
        }
        ServiceIdx(u32::try_from(self.rings.len() - 1).unwrap_or(u32::MAX))
    }

    pub fn service_idx(&self, name: &ServiceName) -> Option<ServiceIdx> {
        self.service_idx_str(name.as_str())
    }

    fn service_idx_str(&self, name: &str) -> Option<ServiceIdx> {
        if self
            .rings
            .get(self.last_service)
            .is_some_and(|r| r.name.as_str() == name)
        {
            return Some(ServiceIdx(self.last_service as u32));
        }
        self.rings
            .iter()
            .position(|r| r.name.as_str() == name)
            .map(|i| ServiceIdx(i as u32))
    }

    pub fn service_name(&self, idx: ServiceIdx) -> Option<&ServiceName> {
        self.rings.get(idx.index()).map(|r| &r.name)
    }

    pub fn services(&self) -> impl Iterator<Item = (ServiceIdx, &ServiceName)> {
        self.rings
            .iter()
            .enumerate()
            .map(|(i, r)| (ServiceIdx(i as u32), &r.name))
    }

    pub fn service_count(&self) -> usize {
        self.rings.len()
    }

    /// Stores a batch from the log streams. Returns how many lines were kept (repeats
    /// after a resume are not).
    pub fn push_batch(&mut self, batch: Vec<LogLine>) -> usize {
        let mut kept = 0;
        for LogLine {
            service,
            ts_nanos,
            stream,
            text,
        } in batch
        {
            let idx = match self.service_idx_str(service.as_str()) {
                Some(i) => i,
                None => self.add_service(&service),
            };
            self.last_service = idx.index();
            kept += usize::from(self.push(idx.index(), ts_nanos, LineKind::Output(stream), text));
        }
        kept
    }

    /// Inserts a line written by devstack (e.g. "— container restarted —") into a
    /// service's buffer. It shows in every view of that service, filtered or not.
    pub fn push_marker(&mut self, service: &ServiceName, ts_nanos: i64, text: impl Into<String>) {
        let idx = self.add_service(service);
        self.push(idx.index(), ts_nanos, LineKind::Marker, text.into());
    }

    fn push(&mut self, svc: usize, ts_nanos: i64, kind: LineKind, mut text: String) -> bool {
        let Store {
            config,
            rings,
            filter,
            search,
            ..
        } = self;
        let ring = &mut rings[svc];
        if kind != LineKind::Marker {
            if let Some(until) = ring.dedup_until {
                if ts_nanos <= until {
                    ring.stats.duplicates += 1;
                    return false;
                }
                ring.dedup_until = None;
            }
            ring.last_ts = Some(ring.last_ts.map_or(ts_nanos, |t| t.max(ts_nanos)));
        }
        let truncated = text.len() > config.max_line_bytes;
        if truncated {
            text.truncate(floor_char_boundary(&text, config.max_line_bytes));
            ring.stats.truncated += 1;
        }
        // Keep byte accounting honest: a string with a lot of spare capacity holds more
        // memory than its length says.
        if text.capacity() > 2 * text.len() + 64 {
            text.shrink_to_fit();
        }
        let cost = text.capacity();
        while !ring.entries.is_empty()
            && (ring.entries.len() >= config.lines_per_service
                || ring.bytes + cost > config.bytes_per_service)
        {
            evict_front(ring, svc, filter, search);
        }
        let order_ts = ts_nanos.max(ring.order_floor);
        ring.order_floor = order_ts;
        let seq = ring.first_seq + ring.entries.len() as u64;

        if filter.is_some() || search.is_some() {
            let plain = ansi::strip(&text);
            let in_filter = match filter {
                Some(f) => {
                    let hit = kind == LineKind::Marker || f.matcher.is_match(&plain);
                    if hit {
                        f.record(svc, seq);
                    }
                    hit
                }
                None => true,
            };
            if let Some(s) = search
                && in_filter
                && s.matcher.is_match(&plain)
            {
                s.record(svc, seq);
            }
        }

        ring.bytes += cost;
        ring.stats.stored += 1;
        ring.entries.push_back(Entry {
            ts_nanos,
            order_ts,
            kind,
            truncated,
            text,
        });
        true
    }

    /// The last daemon timestamp seen from a service's output.
    pub fn last_ts(&self, service: &ServiceName) -> Option<i64> {
        self.service_idx(service)
            .and_then(|i| self.rings[i.index()].last_ts)
    }

    /// Prepares a service for a resumed log stream: returns the timestamp to resume from
    /// and discards lines at or before it until a newer one arrives. The daemon's `since`
    /// has whole-second resolution, so a resumed stream repeats up to a second of lines.
    pub fn resume(&mut self, service: &ServiceName) -> Option<i64> {
        let idx = self.service_idx(service)?;
        let ring = &mut self.rings[idx.index()];
        ring.dedup_until = ring.last_ts;
        ring.last_ts
    }

    pub fn stats(&self, idx: ServiceIdx) -> Option<ServiceStats> {
        self.rings.get(idx.index()).map(|r| ServiceStats {
            lines: r.entries.len(),
            bytes: r.bytes,
            ..r.stats.clone()
        })
    }

    /// Lines dropped from all rings to stay within bounds.
    pub fn dropped(&self) -> u64 {
        self.rings.iter().map(|r| r.stats.dropped).sum()
    }

    /// Lines held, all services.
    pub fn len(&self) -> usize {
        self.rings.iter().map(|r| r.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Text bytes held, all services.
    pub fn bytes(&self) -> usize {
        self.rings.iter().map(|r| r.bytes).sum()
    }

    /// Restricts views to lines matching `matcher` (markers always pass), or lifts the
    /// filter. Rescans the buffer once, and the search too, since search matches are
    /// kept relative to what the filter lets through.
    pub fn set_filter(&mut self, matcher: Option<Matcher>) {
        self.filter = matcher.map(|m| self.scan(m, None, true));
        if let Some(s) = self.search.take() {
            self.search = Some(self.scan(s.matcher, self.filter.as_ref(), false));
        }
    }

    /// Starts (rescanning the buffer once) or ends a search.
    pub fn set_search(&mut self, matcher: Option<Matcher>) {
        self.search = matcher.map(|m| self.scan(m, self.filter.as_ref(), false));
    }

    pub fn filter(&self) -> Option<&Matcher> {
        self.filter.as_ref().map(|f| &f.matcher)
    }

    pub fn search(&self) -> Option<&Matcher> {
        self.search.as_ref().map(|s| &s.matcher)
    }

    fn scan(
        &self,
        matcher: Matcher,
        within: Option<&MatchIndex>,
        markers_pass: bool,
    ) -> MatchIndex {
        let mut index = MatchIndex::new(matcher, self.rings.len());
        for (svc, ring) in self.rings.iter().enumerate() {
            let mut allowed = within.map(|w| w.hits[svc].iter().copied().peekable());
            for (i, e) in ring.entries.iter().enumerate() {
                let seq = ring.first_seq + i as u64;
                if let Some(allowed) = allowed.as_mut() {
                    while allowed.next_if(|s| *s < seq).is_some() {}
                    if allowed.peek() != Some(&seq) {
                        continue;
                    }
                }
                let hit = (markers_pass && e.kind == LineKind::Marker)
                    || index.matcher.is_match(&ansi::strip(&e.text));
                if hit {
                    index.record(svc, seq);
                }
            }
        }
        index
    }

    /// A view of one service or all of them, through the filter when one is set.
    pub fn view(&self, scope: Scope) -> View<'_> {
        let filtered = self.filter.as_ref();
        let lane = |svc: usize| Lane {
            svc: ServiceIdx(svc as u32),
            ring: &self.rings[svc],
            hits: filtered.map(|f| &f.hits[svc]),
            search: self.search.as_ref().map(|s| &s.hits[svc]),
            filter_total: filtered.map(|f| f.total[svc]),
        };
        let lanes = match scope {
            Scope::All => (0..self.rings.len()).map(lane).collect(),
            Scope::Service(idx) if idx.index() < self.rings.len() => vec![lane(idx.index())],
            Scope::Service(_) => Vec::new(),
        };
        View { lanes }
    }

    /// The line with this key, if still held.
    pub fn line(&self, key: LineKey) -> Option<LineRef<'_>> {
        let ring = self.rings.get(key.service.index())?;
        ring.entry(key.seq)
            .map(|e| line_ref(key.service, key.seq, e))
    }
}

fn evict_front(
    ring: &mut Ring,
    svc: usize,
    filter: &mut Option<MatchIndex>,
    search: &mut Option<MatchIndex>,
) {
    if let Some(e) = ring.entries.pop_front() {
        ring.bytes -= e.text.capacity();
        let seq = ring.first_seq;
        ring.first_seq += 1;
        ring.stats.dropped += 1;
        for index in [filter, search].into_iter().flatten() {
            index.trim(svc, seq);
        }
    }
}

/// Largest index `<= at` on a char boundary (`str::floor_char_boundary` is newer than
/// our minimum Rust).
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_ref(svc: ServiceIdx, seq: u64, e: &Entry) -> LineRef<'_> {
    LineRef {
        key: LineKey {
            order_ts: e.order_ts,
            service: svc,
            seq,
        },
        ts_nanos: e.ts_nanos,
        kind: e.kind,
        truncated: e.truncated,
        text: &e.text,
    }
}

/// Which services a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Service(ServiceIdx),
}

/// One service's sorted lines as seen by a view: the whole ring, or its filter hits.
#[derive(Debug, Clone, Copy)]
struct Lane<'a> {
    svc: ServiceIdx,
    ring: &'a Ring,
    hits: Option<&'a VecDeque<u64>>,
    search: Option<&'a VecDeque<u64>>,
    filter_total: Option<u64>,
}

impl<'a> Lane<'a> {
    fn len(&self) -> usize {
        self.hits.map_or(self.ring.entries.len(), |h| h.len())
    }

    fn seq_at(&self, i: usize) -> u64 {
        self.hits.map_or(self.ring.first_seq + i as u64, |h| h[i])
    }

    fn line_at(&self, i: usize) -> LineRef<'a> {
        self.line_of_seq(self.seq_at(i))
    }

    fn line_of_seq(&self, seq: u64) -> LineRef<'a> {
        // Hit lists are trimmed together with the ring, so every listed seq is held.
        let e = &self.ring.entries[(seq - self.ring.first_seq) as usize];
        line_ref(self.svc, seq, e)
    }

    fn key_of_seq(&self, seq: u64) -> LineKey {
        let e = &self.ring.entries[(seq - self.ring.first_seq) as usize];
        LineKey {
            order_ts: e.order_ts,
            service: self.svc,
            seq,
        }
    }

    fn key_at(&self, i: usize) -> LineKey {
        self.key_of_seq(self.seq_at(i))
    }

    /// How many of this lane's lines sort before `key`.
    fn lower_bound(&self, key: LineKey) -> usize {
        partition(self.len(), |i| self.key_at(i) < key)
    }

    fn search_lower_bound(&self, key: LineKey) -> usize {
        match self.search {
            Some(s) => partition(s.len(), |i| self.key_of_seq(s[i]) < key),
            None => 0,
        }
    }

    fn search_key(&self, i: usize) -> Option<LineKey> {
        self.search
            .and_then(|s| s.get(i))
            .map(|&seq| self.key_of_seq(seq))
    }

    fn received(&self) -> u64 {
        self.filter_total.unwrap_or(self.ring.stats.stored)
    }
}

/// First index in `0..len` where `before(i)` is false; `before` must be monotone.
fn partition(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Lines of a scope in merge order, read lazily. Cheap to make; holds no copies.
#[derive(Debug, Clone)]
pub struct View<'a> {
    lanes: Vec<Lane<'a>>,
}

impl<'a> View<'a> {
    /// Lines in the view.
    pub fn len(&self) -> usize {
        self.lanes.iter().map(Lane::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines that ever entered this view: a paused screen shows the growth since it
    /// paused as "N new lines", which stays right while old lines are evicted.
    pub fn received(&self) -> u64 {
        self.lanes.iter().map(Lane::received).sum()
    }

    /// Lines from the first one whose key is `>= from` (the start when `None`), oldest first.
    pub fn forward(&self, from: Option<LineKey>) -> Forward<'a> {
        let pos = self
            .lanes
            .iter()
            .map(|l| from.map_or(0, |k| l.lower_bound(k)))
            .collect();
        Forward {
            lanes: self.lanes.clone(),
            pos,
        }
    }

    /// Lines whose key is `< before` (all when `None`), newest first.
    pub fn backward(&self, before: Option<LineKey>) -> Backward<'a> {
        let pos = self
            .lanes
            .iter()
            .map(|l| before.map_or(l.len(), |k| l.lower_bound(k)))
            .collect();
        Backward {
            lanes: self.lanes.clone(),
            pos,
        }
    }

    /// How many lines of the view sort before `key` (its 0-based position if present).
    pub fn rank(&self, key: LineKey) -> usize {
        self.lanes.iter().map(|l| l.lower_bound(key)).sum()
    }

    /// Search matches in this view.
    pub fn match_count(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.search.map_or(0, VecDeque::len))
            .sum()
    }

    /// How many search matches sort before `key`.
    pub fn match_rank(&self, key: LineKey) -> usize {
        self.lanes.iter().map(|l| l.search_lower_bound(key)).sum()
    }

    /// The first match after `key` (from the start when `None`).
    pub fn next_match(&self, after: Option<LineKey>) -> Option<LineKey> {
        self.lanes
            .iter()
            .filter_map(|l| match after {
                None => l.search_key(0),
                Some(k) => {
                    let i = l.search_lower_bound(k);
                    let i = if l.search_key(i) == Some(k) { i + 1 } else { i };
                    l.search_key(i)
                }
            })
            .min()
    }

    /// The last match before `key` (the newest when `None`).
    pub fn prev_match(&self, before: Option<LineKey>) -> Option<LineKey> {
        self.lanes
            .iter()
            .filter_map(|l| {
                let i = match before {
                    None => l.search.map_or(0, VecDeque::len),
                    Some(k) => l.search_lower_bound(k),
                };
                i.checked_sub(1).and_then(|i| l.search_key(i))
            })
            .max()
    }

    /// Whether `key` is a search match in this view.
    pub fn is_match(&self, key: LineKey) -> bool {
        self.lanes.iter().any(|l| {
            l.svc == key.service && l.search.is_some_and(|s| s.binary_search(&key.seq).is_ok())
        })
    }
}

/// See [`View::forward`].
#[derive(Debug, Clone)]
pub struct Forward<'a> {
    lanes: Vec<Lane<'a>>,
    pos: Vec<usize>,
}

impl<'a> Iterator for Forward<'a> {
    type Item = LineRef<'a>;

    fn next(&mut self) -> Option<LineRef<'a>> {
        let mut best: Option<(usize, LineKey)> = None;
        for (li, lane) in self.lanes.iter().enumerate() {
            let p = self.pos[li];
            if p < lane.len() {
                let k = lane.key_at(p);
                if best.is_none_or(|(_, b)| k < b) {
                    best = Some((li, k));
                }
            }
        }
        let (li, _) = best?;
        let line = self.lanes[li].line_at(self.pos[li]);
        self.pos[li] += 1;
        Some(line)
    }
}

/// See [`View::backward`].
#[derive(Debug, Clone)]
pub struct Backward<'a> {
    lanes: Vec<Lane<'a>>,
    pos: Vec<usize>,
}

impl<'a> Iterator for Backward<'a> {
    type Item = LineRef<'a>;

    fn next(&mut self) -> Option<LineRef<'a>> {
        let mut best: Option<(usize, LineKey)> = None;
        for (li, lane) in self.lanes.iter().enumerate() {
            let p = self.pos[li];
            if p > 0 {
                let k = lane.key_at(p - 1);
                if best.is_none_or(|(_, b)| k > b) {
                    best = Some((li, k));
                }
            }
        }
        let (li, _) = best?;
        self.pos[li] -= 1;
        Some(self.lanes[li].line_at(self.pos[li]))
    }
}
