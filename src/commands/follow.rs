//! `devstack logs` printing: the backlog of several containers merged by daemon
//! timestamp, then new lines as they come, surviving the daemon going away.
//!
//! Owns the order lines are printed in and the resume after a lost connection; the text
//! of a line is `output::write_log_line`'s. It never holds more than one line per
//! container, and it resumes each container after the last line it printed, so a
//! reconnect repeats nothing.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{FutureExt, Stream, StreamExt, stream};

use super::{Error, output};
use crate::engine::{self, Engine, LogOptions};
use crate::model::{LogLine, ServiceName};

/// First and longest pause between two attempts to reach a daemon that went away.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long one ping may take before it counts as no answer.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// How lines look: the prefix width, each stream's colour, daemon timestamps or not.
pub(crate) struct Format {
    pub width: usize,
    /// Per stream, in the order the streams are given.
    pub colours: Vec<Option<u8>>,
    pub timestamps: bool,
}

impl Format {
    fn write(&self, out: &mut impl Write, stream: usize, line: &LogLine) -> std::io::Result<()> {
        let colour = self.colours.get(stream).copied().flatten();
        output::write_log_line(out, line, self.width, colour, self.timestamps)
    }
}

type Lines = BoxStream<'static, Result<LogLine, engine::Error>>;

/// Prints finite streams merged by timestamp (ties: the earlier stream first) and
/// returns, per stream, the timestamp of the last line printed.
///
/// Each container's log is in time order already, so this is a k-way merge holding one
/// line per stream; and a stream keeps the pen while its lines are older than every
/// other stream's next line, so a flood from one container costs one comparison per
/// line, not a look at every stream.
pub(crate) async fn print_backlog(
    mut streams: Vec<Lines>,
    out: &mut impl Write,
    format: &Format,
) -> Result<Vec<Option<i64>>, Error> {
    let mut last = vec![None; streams.len()];
    let mut heads = Vec::with_capacity(streams.len());
    for s in &mut streams {
        heads.push(s.next().await.transpose()?);
    }
    loop {
        let oldest = |skip: Option<usize>| {
            heads
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != skip)
                .filter_map(|(i, h)| h.as_ref().map(|l| (l.ts_nanos, i)))
                .min()
        };
        let Some((_, i)) = oldest(None) else { break };
        let bound = oldest(Some(i));
        let Some(mut line) = heads[i].take() else {
            break;
        };
        loop {
            format.write(out, i, &line)?;
            last[i] = Some(last[i].map_or(line.ts_nanos, |t: i64| t.max(line.ts_nanos)));
            match streams[i].next().await.transpose()? {
                Some(next) if bound.is_none_or(|b| (next.ts_nanos, i) < b) => line = next,
                other => {
                    heads[i] = other;
                    break;
                }
            }
        }
    }
    Ok(last)
}

/// What a followed container reports.
pub(crate) enum Followed {
    Line(LogLine),
    /// The daemon stopped answering; the follower retries on its own.
    Lost {
        service: ServiceName,
        reason: String,
    },
    /// It answers again; lines from the outage follow.
    Back {
        service: ServiceName,
    },
}

/// Where a follower is.
enum Phase {
    Reading(Lines),
    /// Waiting for the daemon, next attempt after this pause.
    Lost(Duration),
    /// The stream ended or failed for good.
    Done,
}

struct Follower {
    engine: Engine,
    service: ServiceName,
    container: String,
    /// Resume strictly after this daemon timestamp.
    since: i64,
    phase: Phase,
}

/// Follows one container until it stops: new lines after `since` (or from now), and
/// through a daemon outage, `Lost`, retries with backoff, `Back`, then the lines it
/// missed, from the last timestamp printed (the daemon keeps the log meanwhile).
pub(crate) fn follow(
    engine: &Engine,
    service: &ServiceName,
    container: &str,
    since: Option<i64>,
) -> impl Stream<Item = Result<Followed, Error>> + Send + 'static {
    let tail = since.is_none().then_some(0);
    // Without a line printed yet, a reconnect resumes from when following began (the
    // daemon's clock is this machine's for a local daemon).
    let from = since.unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let first = engine.follow_logs(
        service,
        container,
        LogOptions {
            follow: true,
            tail,
            since_nanos: since,
        },
    );
    let follower = Follower {
        engine: engine.clone(),
        service: service.clone(),
        container: container.to_string(),
        since: from,
        phase: Phase::Reading(first.boxed()),
    };
    stream::unfold(follower, |mut f| async move {
        let item = f.step().await?;
        Some((item, f))
    })
}

impl Follower {
    fn open(&self) -> Lines {
        let options = LogOptions {
            follow: true,
            tail: None,
            since_nanos: Some(self.since),
        };
        self.engine
            .follow_logs(&self.service, &self.container, options)
            .boxed()
    }

    fn lost(&mut self, reason: String) -> Option<Result<Followed, Error>> {
        self.phase = Phase::Lost(FIRST_BACKOFF);
        Some(Ok(Followed::Lost {
            service: self.service.clone(),
            reason,
        }))
    }

    async fn step(&mut self) -> Option<Result<Followed, Error>> {
        loop {
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Lost(pause) => {
                    // Waiting for a daemon that is down is the one wait on time: there is
                    // no event to wait for.
                    tokio::time::sleep(*pause).await;
                    let next = (*pause * 2).min(MAX_BACKOFF);
                    match tokio::time::timeout(PING_TIMEOUT, self.engine.ping()).await {
                        Ok(Ok(())) => {
                            self.phase = Phase::Reading(self.open());
                            return Some(Ok(Followed::Back {
                                service: self.service.clone(),
                            }));
                        }
                        _ => self.phase = Phase::Lost(next),
                    }
                }
                Phase::Reading(lines) => match lines.next().await {
                    Some(Ok(line)) => {
                        self.since = self.since.max(line.ts_nanos);
                        return Some(Ok(Followed::Line(line)));
                    }
                    Some(Err(e)) if e.is_connection() => return self.lost(e.to_string()),
                    Some(Err(e)) => {
                        self.phase = Phase::Done;
                        return Some(Err(e.into()));
                    }
                    // The daemon ends a follow when the container stops; a connection
                    // closed cleanly ends it too. Which one it was, the container says.
                    None => match self.engine.wait_running_again(&self.container).await {
                        // Restarted (by `restart`, or its restart policy after a crash):
                        // keep following it from the last line printed.
                        Ok(true) => self.phase = Phase::Reading(self.open()),
                        Ok(false) => self.phase = Phase::Done,
                        Err(e) if e.is_connection() => return self.lost(e.to_string()),
                        Err(e) => {
                            self.phase = Phase::Done;
                            return Some(Err(e.into()));
                        }
                    },
                },
            }
        }
    }
}

/// Prints followed lines until every container has stopped, and the daemon's outages
/// on stderr: once when it goes away, once when every follower is back.
pub(crate) async fn print_followed(
    streams: Vec<impl Stream<Item = Result<Followed, Error>> + Send + 'static>,
    out: &mut impl Write,
    format: &Format,
) -> Result<(), Error> {
    let tagged = streams
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.map(move |item| (i, item)).boxed());
    let mut merged = stream::select_all(tagged);
    let mut lost: BTreeSet<ServiceName> = BTreeSet::new();
    loop {
        // Lines already here are written without a flush in between; the output is
        // flushed whenever the next one has to be waited for. Under a flood the next line
        // is usually read from the socket already and only waits for its connection's
        // task to hand it over: that task gets a turn first (a flush per line was a
        // write per line, and `logs -f` ran at 0.84x of the daemon).
        let next = match merged.next().now_or_never() {
            Some(next) => next,
            None => {
                tokio::task::yield_now().await;
                match merged.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        out.flush()?;
                        merged.next().await
                    }
                }
            }
        };
        let Some((i, item)) = next else { break };
        match item? {
            Followed::Line(line) => format.write(out, i, &line)?,
            Followed::Lost { service, reason } => {
                if lost.is_empty() {
                    out.flush()?;
                    output::eprint_line(&format!(
                        "devstack: Docker daemon not reachable ({}) — retrying",
                        crate::logs::escape_controls(&reason)
                    ));
                }
                lost.insert(service);
            }
            Followed::Back { service } => {
                if lost.remove(&service) && lost.is_empty() {
                    output::eprint_line(
                        "devstack: reconnected to the Docker daemon — resuming logs",
                    );
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `devstack logs | head`: once the reader has gone, there is no one to tell, so a
/// closed stdout ends the command quietly with 0, as `docker logs` does.
pub(crate) fn quiet_when_closed(result: Result<u8, Error>) -> Result<u8, Error> {
    match result {
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Stream as OutStream;

    fn lines(service: &str, stamps: &[i64]) -> Lines {
        let service = ServiceName::new(service);
        let items: Vec<Result<LogLine, engine::Error>> = stamps
            .iter()
            .map(|ts| {
                Ok(LogLine {
                    service: service.clone(),
                    ts_nanos: *ts,
                    stream: OutStream::Stdout,
                    text: format!("{ts}"),
                })
            })
            .collect();
        stream::iter(items).boxed()
    }

    async fn merged(streams: Vec<Lines>) -> (String, Vec<Option<i64>>) {
        let format = Format {
            width: 1,
            colours: vec![None; streams.len()],
            timestamps: false,
        };
        let mut out = Vec::new();
        let last = print_backlog(streams, &mut out, &format).await.unwrap();
        (String::from_utf8(out).unwrap(), last)
    }

    #[tokio::test]
    async fn backlog_merges_by_timestamp_and_ties_go_to_the_earlier_stream() {
        let (text, last) = merged(vec![
            lines("a", &[1, 2, 3, 7, 8, 9]),
            lines("b", &[3, 4, 10]),
            lines("c", &[]),
            lines("d", &[0, 9]),
        ])
        .await;
        assert_eq!(
            text,
            "d | 0\na | 1\na | 2\na | 3\nb | 3\nb | 4\na | 7\na | 8\na | 9\nd | 9\nb | 10\n"
        );
        assert_eq!(last, vec![Some(9), Some(10), None, Some(9)]);
    }

    #[tokio::test]
    async fn one_container_is_printed_as_it_comes() {
        let (text, last) = merged(vec![lines("a", &[5, 3, 4])]).await;
        // Out-of-order stamps in one log (a clock step) keep the log's own order.
        assert_eq!(text, "a | 5\na | 3\na | 4\n");
        // Resuming after the newest stamp repeats nothing.
        assert_eq!(last, vec![Some(5)]);
    }
}
