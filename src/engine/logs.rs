//! Container logs as a stream of [`LogLine`]s: demultiplexed stdout/stderr, daemon
//! timestamps parsed into nanoseconds, lines reassembled across chunks.
//!
//! Owns only the reading and splitting; storing, merging and colouring lines belong to
//! `logs/` and the views. It never buffers more than one partial line per stream.

use std::collections::VecDeque;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::{Stream, StreamExt, stream};

use super::observe::parse_rfc3339_nanos;
use super::{Engine, Error};
use crate::model::{LogLine, ServiceName, Stream as OutStream};

/// What to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open for new lines.
    pub follow: bool,
    /// Only the last N lines of what exists now; `None` for all.
    pub tail: Option<usize>,
    /// Only lines strictly after this daemon timestamp (Unix nanoseconds): resuming
    /// after a reconnect with the last `ts_nanos` seen duplicates nothing.
    pub since_nanos: Option<i64>,
}

impl Engine {
    /// The logs of one container (by id or name), labelled with `service`.
    pub fn follow_logs(
        &self,
        service: &ServiceName,
        container: &str,
        options: LogOptions,
    ) -> impl Stream<Item = Result<LogLine, Error>> + Send + 'static {
        let tail = options
            .tail
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".to_string());
        let mut builder = LogsOptionsBuilder::default()
            .follow(options.follow)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(&tail);
        if let Some(since) = options.since_nanos {
            // The API takes whole seconds here; lines of that second up to `since` are
            // dropped below by their exact timestamp.
            let secs = since.div_euclid(1_000_000_000);
            builder = builder.since(i32::try_from(secs).unwrap_or(i32::MAX));
        }
        let inner = self.docker.logs(container, Some(builder.build())).boxed();
        let max_line = crate::logs::StoreConfig::default().max_line_bytes;
        let splitter = Splitter::new(service.clone(), options.since_nanos, max_line);
        let service = service.clone();
        stream::unfold(
            (inner, splitter, VecDeque::new(), false),
            move |(mut inner, mut splitter, mut queue, mut done)| {
                let service = service.clone();
                async move {
                    loop {
                        if let Some(line) = queue.pop_front() {
                            return Some((Ok(line), (inner, splitter, queue, done)));
                        }
                        if done {
                            return None;
                        }
                        match inner.next().await {
                            Some(Ok(chunk)) => splitter.push(chunk, &mut queue),
                            Some(Err(e)) => {
                                done = true;
                                let err = Error::daemon("read logs", Some(&service), e);
                                return Some((Err(err), (inner, splitter, queue, done)));
                            }
                            None => {
                                splitter.flush(&mut queue);
                                done = true;
                            }
                        }
                    }
                }
            },
        )
    }
}

/// Reassembles lines per output stream. The daemon sends one frame per log message,
/// each prefixed with its timestamp; a message longer than the log driver's buffer
/// (16 KiB) arrives as several frames without newlines, each with its own prefix.
///
/// Work is linear in the bytes received (each byte is looked at once: a frame that
/// continues a line is searched for a newline on its own, never with what came before)
/// and memory is bounded by `max_line` per stream whatever the daemon sends. A line
/// that reaches `max_line` is sent at once, cut, with [`CUT_MARK`] after its text; the
/// rest of it, up to its newline, is counted in [`Splitter::dropped_bytes`] and dropped.
pub struct Splitter {
    service: ServiceName,
    since_nanos: Option<i64>,
    max_line: usize,
    stdout: Partial,
    stderr: Partial,
    dropped_bytes: u64,
    scanned_bytes: u64,
}

/// Follows the text of a cut line, so a reader of `devstack logs` sees that the line
/// went on. The log store (whose cap is the splitter's) cuts it off again and shows the
/// line as cut in its own way.
pub const CUT_MARK: &str = " …[line cut: too long]";

/// Where one stream is between frames.
#[derive(Debug, Default)]
enum Partial {
    /// At the start of a line.
    #[default]
    Idle,
    /// Inside a line that started with the timestamp `ts`.
    Line { ts: i64, text: Vec<u8> },
    /// Inside a line already sent cut: bytes are dropped up to its newline.
    Skipping,
}

impl Splitter {
    /// `max_line` is the most text kept of one line (the store's cap).
    pub fn new(service: ServiceName, since_nanos: Option<i64>, max_line: usize) -> Self {
        Self {
            service,
            since_nanos,
            max_line: max_line.max(1),
            stdout: Partial::Idle,
            stderr: Partial::Idle,
            dropped_bytes: 0,
            scanned_bytes: 0,
        }
    }

    pub fn push(&mut self, chunk: LogOutput, out: &mut VecDeque<LogLine>) {
        let (stream, bytes) = match chunk {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (OutStream::Stdout, message)
            }
            LogOutput::StdErr { message } => (OutStream::Stderr, message),
            LogOutput::StdIn { .. } => return,
        };
        self.push_bytes(stream, &bytes, out);
    }

    /// One frame of `stream`'s output.
    pub fn push_bytes(&mut self, stream: OutStream, bytes: &[u8], out: &mut VecDeque<LogLine>) {
        let mut partial = std::mem::take(match stream {
            OutStream::Stdout => &mut self.stdout,
            OutStream::Stderr => &mut self.stderr,
        });
        let mut rest = bytes;
        if !matches!(partial, Partial::Idle) {
            // A continuation of a partial message: its own timestamp prefix is dropped,
            // the line keeps the first part's.
            if let Some((_, r)) = split_timestamp(rest) {
                rest = r;
            }
        }
        loop {
            if matches!(partial, Partial::Idle) {
                if rest.is_empty() {
                    break;
                }
                let (ts, r) = split_timestamp(rest).unwrap_or((0, rest));
                partial = Partial::Line {
                    ts,
                    text: Vec::new(),
                };
                rest = r;
            }
            let newline = rest.iter().position(|b| *b == b'\n');
            let piece = &rest[..newline.unwrap_or(rest.len())];
            self.scanned_bytes += piece.len() as u64 + u64::from(newline.is_some());
            partial = match partial {
                Partial::Skipping => {
                    self.dropped_bytes += piece.len() as u64;
                    Partial::Skipping
                }
                Partial::Line { ts, text }
                    if text.is_empty() && newline.is_some() && piece.len() <= self.max_line =>
                {
                    // The usual case, a whole line in one frame: cut from the frame
                    // itself, never copied into the buffer.
                    self.emit(stream, ts, piece, false, out);
                    Partial::Idle
                }
                Partial::Line { ts, mut text } => {
                    let take = piece.len().min(self.max_line - text.len());
                    let needed = text.len() + take;
                    if needed > text.capacity() {
                        // Doubling as `Vec` does, but never past the cap: the bound on
                        // memory is `max_line`, not twice that.
                        let to = needed.max(2 * text.capacity()).min(self.max_line);
                        text.reserve_exact(to - text.len());
                    }
                    text.extend_from_slice(&piece[..take]);
                    if take == piece.len() {
                        Partial::Line { ts, text }
                    } else {
                        self.dropped_bytes += (piece.len() - take) as u64;
                        self.emit(stream, ts, &text, true, out);
                        Partial::Skipping
                    }
                }
                // Set to `Line` above.
                Partial::Idle => Partial::Idle,
            };
            let Some(pos) = newline else { break };
            if let Partial::Line { ts, text } = &partial {
                self.emit(stream, *ts, text, false, out);
            }
            partial = Partial::Idle;
            rest = &rest[pos + 1..];
        }
        *match stream {
            OutStream::Stdout => &mut self.stdout,
            OutStream::Stderr => &mut self.stderr,
        } = partial;
    }

    /// End of stream: a last line without a newline is still a line.
    pub fn flush(&mut self, out: &mut VecDeque<LogLine>) {
        for stream in [OutStream::Stdout, OutStream::Stderr] {
            let partial = std::mem::take(match stream {
                OutStream::Stdout => &mut self.stdout,
                OutStream::Stderr => &mut self.stderr,
            });
            if let Partial::Line { ts, text } = partial
                && !text.is_empty()
            {
                self.emit(stream, ts, &text, false, out);
            }
        }
    }

    /// Bytes of cut lines dropped so far.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// Bytes looked at so far (not counting timestamp prefixes): at most what came in.
    pub fn scanned_bytes(&self) -> u64 {
        self.scanned_bytes
    }

    /// Bytes held for lines not yet complete.
    pub fn buffered_bytes(&self) -> usize {
        [&self.stdout, &self.stderr]
            .iter()
            .map(|p| match p {
                Partial::Line { text, .. } => text.capacity(),
                _ => 0,
            })
            .sum()
    }

    fn emit(
        &self,
        stream: OutStream,
        ts_nanos: i64,
        text: &[u8],
        cut: bool,
        out: &mut VecDeque<LogLine>,
    ) {
        if self.since_nanos.is_some_and(|since| ts_nanos <= since) {
            return;
        }
        let text = if cut {
            text
        } else {
            text.strip_suffix(b"\r").unwrap_or(text)
        };
        let mut text = String::from_utf8_lossy(text).into_owned();
        if cut {
            text.push_str(CUT_MARK);
        }
        out.push_back(LogLine {
            service: self.service.clone(),
            ts_nanos,
            stream,
            text,
        });
    }
}

/// `2024-01-02T03:04:05.123456789Z rest` → (nanos, rest).
fn split_timestamp(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let space = bytes.iter().take(40).position(|b| *b == b' ')?;
    let ts = &bytes[..space];
    let nanos = match parse_utc_nanos(ts) {
        Some(n) => n,
        None => parse_rfc3339_nanos(std::str::from_utf8(ts).ok()?)?,
    };
    Some((nanos, &bytes[space + 1..]))
}

/// The daemon's own timestamp shape, `YYYY-MM-DDTHH:MM:SS[.f…]Z` (Go's RFC3339Nano in
/// UTC, trailing zeros of the fraction trimmed), read without a general parser: it is
/// on every line of a flood. Anything else (an offset, a leap second) is `None` and goes
/// to chrono.
fn parse_utc_nanos(ts: &[u8]) -> Option<i64> {
    let (&b'Z', ts) = ts.split_last()? else {
        return None;
    };
    if ts.len() < 19 || ts[4] != b'-' || ts[7] != b'-' || ts[10] != b'T' {
        return None;
    }
    if ts[13] != b':' || ts[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        ts[range].iter().try_fold(0i64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 59 {
        return None;
    }
    let mut nanos = 0;
    match &ts[19..] {
        [] => {}
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            for b in digits {
                if !b.is_ascii_digit() {
                    return None;
                }
                nanos = nanos * 10 + i64::from(b - b'0');
            }
            nanos *= 10i64.pow(9 - digits.len() as u32);
        }
        _ => return None,
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &mut Splitter, stream: OutStream, chunk: &str) -> Vec<(i64, OutStream, String)> {
        let mut q = VecDeque::new();
        s.push_bytes(stream, chunk.as_bytes(), &mut q);
        q.into_iter()
            .map(|l| (l.ts_nanos, l.stream, l.text))
            .collect()
    }

    const T1: &str = "2024-01-02T03:04:05.000000001Z";
    const T2: &str = "2024-01-02T03:04:05.000000002Z";
    const N1: i64 = 1_704_164_645_000_000_001;

    #[test]
    fn whole_lines_and_streams_apart() {
        let mut s = Splitter::new(ServiceName::new("w"), None, 1 << 14);
        assert_eq!(
            lines(&mut s, OutStream::Stdout, &format!("{T1} a\n{T2} b\r\n")),
            vec![
                (N1, OutStream::Stdout, "a".into()),
                (N1 + 1, OutStream::Stdout, "b".into())
            ]
        );
        assert_eq!(
            lines(&mut s, OutStream::Stderr, &format!("{T1} oops\n")),
            vec![(N1, OutStream::Stderr, "oops".into())]
        );
    }

    #[test]
    fn partial_line_across_chunks_keeps_first_timestamp() {
        let mut s = Splitter::new(ServiceName::new("w"), None, 1 << 14);
        assert!(lines(&mut s, OutStream::Stdout, &format!("{T1} hello ")).is_empty());
        // A stderr line in between does not disturb the pending stdout part.
        assert_eq!(
            lines(&mut s, OutStream::Stderr, &format!("{T1} e\n")).len(),
            1
        );
        assert_eq!(
            lines(&mut s, OutStream::Stdout, &format!("{T2} world\n")),
            vec![(N1, OutStream::Stdout, "hello world".into())]
        );
        let mut q = VecDeque::new();
        s.push_bytes(OutStream::Stdout, format!("{T2} tail").as_bytes(), &mut q);
        s.flush(&mut q);
        assert_eq!(q.pop_front().map(|l| l.text), Some("tail".into()));
    }

    #[test]
    fn fast_timestamps_agree_with_chrono() {
        for ts in [
            "2024-01-02T03:04:05.123456789Z",
            "2024-02-29T23:59:59.5Z",
            "1999-12-31T00:00:00Z",
            "2000-03-01T12:30:45.000000001Z",
            "1970-01-01T00:00:00.1Z",
            "2100-12-31T23:59:59.999999999Z",
        ] {
            assert_eq!(
                parse_utc_nanos(ts.as_bytes()),
                parse_rfc3339_nanos(ts),
                "{ts}"
            );
        }
        // Not the daemon's shape: left to chrono.
        for ts in [
            "2024-01-02T03:04:05+01:00",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05.1234567890Z",
            "2024-13-02T03:04:05Z",
            "2024-01-02 03:04:05Z",
            "x",
        ] {
            assert_eq!(parse_utc_nanos(ts.as_bytes()), None, "{ts}");
        }
        assert_eq!(
            split_timestamp(b"2024-01-02T04:04:05.000000001+01:00 x"),
            Some((N1, &b"x"[..]))
        );
    }

    /// Issue 11 item 8: a line without a newline was rescanned whole on every frame
    /// (quadratic) and held whole (unbounded).
    #[test]
    fn a_fifty_megabyte_line_is_cut_at_the_cap_in_bounded_memory_and_linear_work() {
        const CAP: usize = 16 << 10;
        const FRAME: usize = 16 << 10;
        const TOTAL: usize = 50 << 20;
        let mut s = Splitter::new(ServiceName::new("w"), None, CAP);
        let mut q = VecDeque::new();
        let mut frame = format!("{T1} ").into_bytes();
        frame.extend(std::iter::repeat_n(b'a', FRAME));
        let mut fed = 0;
        while fed < TOTAL {
            s.push_bytes(OutStream::Stdout, &frame, &mut q);
            fed += FRAME;
            assert!(s.buffered_bytes() <= CAP, "{} held", s.buffered_bytes());
            assert!(s.scanned_bytes() <= fed as u64);
        }
        // Sent as soon as it reached the cap, not when (if ever) its newline comes.
        assert_eq!(q.len(), 1);
        let line = q.pop_front().unwrap();
        assert_eq!(line.ts_nanos, N1);
        assert_eq!(line.text, format!("{}{CUT_MARK}", "a".repeat(CAP)));
        assert_eq!(s.dropped_bytes(), (TOTAL - CAP) as u64);

        // Its newline ends it; the next line is whole, and stderr was never disturbed.
        s.push_bytes(
            OutStream::Stdout,
            format!("{T2} aaa\n{T2} next\n").as_bytes(),
            &mut q,
        );
        assert_eq!(s.dropped_bytes(), (TOTAL - CAP + 3) as u64);
        assert_eq!(q.pop_front().map(|l| l.text), Some("next".into()));
        assert!(q.is_empty());
        assert_eq!(s.buffered_bytes(), 0);
        assert!(s.scanned_bytes() <= (TOTAL + 2 * T2.len() + 10) as u64);
    }

    #[test]
    fn a_line_of_exactly_the_cap_is_whole_and_one_byte_more_is_cut() {
        let mut s = Splitter::new(ServiceName::new("w"), None, 4);
        let got = lines(
            &mut s,
            OutStream::Stdout,
            &format!("{T1} abcd\n{T1} abcde\n"),
        );
        assert_eq!(got[0].2, "abcd");
        assert_eq!(got[1].2, format!("abcd{CUT_MARK}"));
        // Across frames too: the cap is reached in one, the newline comes in the next.
        assert!(lines(&mut s, OutStream::Stdout, &format!("{T1} ab")).is_empty());
        assert!(lines(&mut s, OutStream::Stdout, &format!("{T2} cd")).is_empty());
        assert_eq!(
            lines(&mut s, OutStream::Stdout, &format!("{T2} \n")),
            vec![(N1, OutStream::Stdout, "abcd".into())]
        );
        assert_eq!(s.dropped_bytes(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Lines sent as the daemon sends them (each split into frames of any size, every
        /// frame with its own timestamp) come out whole up to the cap and cut beyond it.
        #[test]
        fn lines_in_frames_of_any_size_come_out_as_sent_or_cut(
            lines in proptest::collection::vec(
                (proptest::collection::vec(32u8..127, 0..150), proptest::collection::vec(1usize..40, 1..8)),
                0..12,
            ),
        ) {
            const CAP: usize = 64;
            let mut s = Splitter::new(ServiceName::new("w"), None, CAP);
            let mut q = VecDeque::new();
            let mut want = Vec::new();
            for (i, (text, sizes)) in lines.iter().enumerate() {
                let ts = format!("2024-01-02T03:04:05.{:09}Z", i + 1);
                let mut rest = &text[..];
                let mut k = 0;
                loop {
                    let n = sizes[k % sizes.len()].min(rest.len());
                    k += 1;
                    let mut frame = format!("{ts} ").into_bytes();
                    frame.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    if rest.is_empty() {
                        frame.push(b'\n');
                    }
                    s.push_bytes(OutStream::Stdout, &frame, &mut q);
                    proptest::prop_assert!(s.buffered_bytes() <= CAP);
                    if rest.is_empty() {
                        break;
                    }
                }
                let text = String::from_utf8(text.clone()).unwrap();
                want.push(if text.len() > CAP {
                    format!("{}{CUT_MARK}", &text[..CAP])
                } else {
                    text
                });
            }
            s.flush(&mut q);
            let got: Vec<String> = q.into_iter().map(|l| l.text).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn since_drops_lines_up_to_and_including() {
        let mut s = Splitter::new(ServiceName::new("w"), Some(N1), 1 << 14);
        assert_eq!(
            lines(&mut s, OutStream::Stdout, &format!("{T1} seen\n{T2} new\n")),
            vec![(N1 + 1, OutStream::Stdout, "new".into())]
        );
    }
}
