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
        let splitter = Splitter::new(service.clone(), options.since_nanos);
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
pub(crate) struct Splitter {
    service: ServiceName,
    since_nanos: Option<i64>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Splitter {
    pub(crate) fn new(service: ServiceName, since_nanos: Option<i64>) -> Self {
        Self {
            service,
            since_nanos,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, chunk: LogOutput, out: &mut VecDeque<LogLine>) {
        let (stream, bytes) = match chunk {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (OutStream::Stdout, message)
            }
            LogOutput::StdErr { message } => (OutStream::Stderr, message),
            LogOutput::StdIn { .. } => return,
        };
        self.push_bytes(stream, &bytes, out);
    }

    pub(crate) fn push_bytes(
        &mut self,
        stream: OutStream,
        bytes: &[u8],
        out: &mut VecDeque<LogLine>,
    ) {
        let buf = match stream {
            OutStream::Stdout => &mut self.stdout,
            OutStream::Stderr => &mut self.stderr,
        };
        let mut bytes = bytes;
        if buf.is_empty() {
            // The usual case, one whole message per frame: lines are cut from the frame
            // itself and only a trailing partial line is kept.
            let mut start = 0;
            while let Some(pos) = bytes[start..].iter().position(|b| *b == b'\n') {
                let line = &bytes[start..start + pos];
                start += pos + 1;
                if let Some(l) = make_line(&self.service, stream, line, self.since_nanos) {
                    out.push_back(l);
                }
            }
            buf.extend_from_slice(&bytes[start..]);
            return;
        }
        // A continuation of a partial message: its own timestamp prefix is dropped, the
        // line keeps the first part's.
        if let Some((_, rest)) = split_timestamp(bytes) {
            bytes = rest;
        }
        buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
            let line = &buf[start..start + pos];
            start += pos + 1;
            if let Some(l) = make_line(&self.service, stream, line, self.since_nanos) {
                out.push_back(l);
            }
        }
        buf.drain(..start);
    }

    /// End of stream: a last line without a newline is still a line.
    pub(crate) fn flush(&mut self, out: &mut VecDeque<LogLine>) {
        for stream in [OutStream::Stdout, OutStream::Stderr] {
            let buf = match stream {
                OutStream::Stdout => std::mem::take(&mut self.stdout),
                OutStream::Stderr => std::mem::take(&mut self.stderr),
            };
            if !buf.is_empty()
                && let Some(l) = make_line(&self.service, stream, &buf, self.since_nanos)
            {
                out.push_back(l);
            }
        }
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

fn make_line(
    service: &ServiceName,
    stream: OutStream,
    line: &[u8],
    since_nanos: Option<i64>,
) -> Option<LogLine> {
    let (ts_nanos, text) = split_timestamp(line).unwrap_or((0, line));
    if since_nanos.is_some_and(|since| ts_nanos <= since) {
        return None;
    }
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Some(LogLine {
        service: service.clone(),
        ts_nanos,
        stream,
        text: String::from_utf8_lossy(text).into_owned(),
    })
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
        let mut s = Splitter::new(ServiceName::new("w"), None);
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
        let mut s = Splitter::new(ServiceName::new("w"), None);
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

    #[test]
    fn since_drops_lines_up_to_and_including() {
        let mut s = Splitter::new(ServiceName::new("w"), Some(N1));
        assert_eq!(
            lines(&mut s, OutStream::Stdout, &format!("{T1} seen\n{T2} new\n")),
            vec![(N1 + 1, OutStream::Stdout, "new".into())]
        );
    }
}
