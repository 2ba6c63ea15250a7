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
        if !buf.is_empty() {
            // A continuation of a partial message: its own timestamp prefix is dropped,
            // the line keeps the first part's.
            if let Some((_, rest)) = split_timestamp(bytes) {
                bytes = rest;
            }
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
    let ts = std::str::from_utf8(&bytes[..space]).ok()?;
    let nanos = parse_rfc3339_nanos(ts)?;
    Some((nanos, &bytes[space + 1..]))
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
    fn since_drops_lines_up_to_and_including() {
        let mut s = Splitter::new(ServiceName::new("w"), Some(N1));
        assert_eq!(
            lines(&mut s, OutStream::Stdout, &format!("{T1} seen\n{T2} new\n")),
            vec![(N1 + 1, OutStream::Stdout, "new".into())]
        );
    }
}
