//! Runs of one-shot job services as data: what started a run, what a recorded run holds,
//! and the pure helpers both front ends show them with (a duration and an exit in words,
//! a job's one-line summary, the difference of two runs' last lines).
//!
//! No I/O here: recording, the history on disk and running a job are `ops::runs`; the
//! UI's Runs view uses these types without reaching the use cases.

use serde::{Deserialize, Serialize};

use crate::model::ServiceName;
use crate::stack::{Condition, RestartPolicy, Stack};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `up` (or the UI's first bring-up) created or started the job.
    Up,
    /// A file save restarted or rebuilt it.
    Save,
    /// `devstack run`.
    Run,
    /// A key in the UI (restart, rerun).
    Key,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Up => "up",
            Trigger::Save => "save",
            Trigger::Run => "run",
            Trigger::Key => "key",
        }
    }
}

/// One recorded run of a job service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub service: String,
    /// Start, Unix milliseconds.
    pub started_ms: i64,
    pub duration_ms: u64,
    /// `None` when the end was not seen (the daemon went away meanwhile).
    pub exit_code: Option<i64>,
    pub trigger: Trigger,
    /// The run's last log lines (stderr lines too, as the container wrote them).
    pub lines: Vec<String>,
    /// Earlier lines not kept (beyond [`MAX_LINES`]).
    #[serde(default)]
    pub dropped_lines: u64,
}

/// Whether a service is a one-shot job whose runs are recorded: restart `no`, or
/// something waits for it to complete successfully.
pub fn is_job(stack: &Stack, service: &ServiceName) -> bool {
    let Some(s) = stack.services.get(service) else {
        return false;
    };
    s.restart == RestartPolicy::No || is_one_shot(stack, service)
}

/// Something in the stack waits for `service` to complete successfully.
pub fn is_one_shot(stack: &Stack, service: &ServiceName) -> bool {
    stack.services.values().any(|other| {
        other
            .depends_on
            .get(service)
            .is_some_and(|d| d.condition == Condition::CompletedSuccessfully)
    })
}

/// One line of the comparison of two runs' last lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    /// Only in the earlier run.
    Removed(String),
    /// Only in the later run.
    Added(String),
}

/// The difference of the last `n` lines of two runs (`before`, then `after`), line by
/// line (a longest common subsequence; `n` is small, so quadratic is fine).
pub fn diff_last_lines(before: &[String], after: &[String], n: usize) -> Vec<DiffLine> {
    let a = &before[before.len().saturating_sub(n)..];
    let b = &after[after.len().saturating_sub(n)..];
    // lcs[i][j]: the common subsequence length of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(DiffLine::Same(a[i].clone()));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(DiffLine::Removed(a[i].clone()));
            i += 1;
        } else {
            out.push(DiffLine::Added(b[j].clone()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().cloned().map(DiffLine::Removed));
    out.extend(b[j..].iter().cloned().map(DiffLine::Added));
    out
}

/// A duration as people read a job's: `850 ms`, `3.1 s`, `2 min 05 s`.
pub fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// "exit 0", "exit 2", "exit ?" (end not seen).
pub fn exit_text(code: Option<i64>) -> String {
    match code {
        Some(c) => format!("exit {c}"),
        None => "exit ?".to_string(),
    }
}

/// The services pane's line for a job: `last run 14:02 · 3.1 s · exit 0 · 5 runs today`.
/// `offset` is the local time zone's offset, `now_ms` the clock (both passed in, so it is
/// testable).
pub fn summary(runs: &[Run], now_ms: i64, offset: chrono::FixedOffset) -> Option<String> {
    let last = runs.iter().max_by_key(|r| r.started_ms)?;
    let local =
        |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&offset));
    let today = local(now_ms).map(|t| t.date_naive());
    let today_count = runs
        .iter()
        .filter(|r| local(r.started_ms).map(|t| t.date_naive()) == today)
        .count();
    let at = local(last.started_ms)
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_else(|| "?".into());
    let runs_word = if today_count == 1 { "run" } else { "runs" };
    Some(format!(
        "last run {at} · {} · {} · {today_count} {runs_word} today",
        duration_text(last.duration_ms),
        exit_text(last.exit_code)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(service: &str, started_ms: i64, exit: Option<i64>) -> Run {
        Run {
            service: service.into(),
            started_ms,
            duration_ms: 3100,
            exit_code: exit,
            trigger: Trigger::Run,
            lines: Vec::new(),
            dropped_lines: 0,
        }
    }

    #[test]
    fn diff_of_two_runs_last_lines() {
        let before: Vec<String> = ["start", "rows: 10", "done"].map(String::from).into();
        let after: Vec<String> = ["start", "rows: 12", "warning", "done"]
            .map(String::from)
            .into();
        assert_eq!(
            diff_last_lines(&before, &after, 50),
            vec![
                DiffLine::Same("start".into()),
                DiffLine::Removed("rows: 10".into()),
                DiffLine::Added("rows: 12".into()),
                DiffLine::Added("warning".into()),
                DiffLine::Same("done".into()),
            ]
        );
        // Only the last n lines are compared.
        assert_eq!(
            diff_last_lines(&before, &after, 1),
            vec![DiffLine::Same("done".into())]
        );
        assert!(diff_last_lines(&[], &[], 10).is_empty());
    }

    #[test]
    fn summary_line_of_a_job() {
        let utc = chrono::FixedOffset::east_opt(0).unwrap();
        // 2026-12-01 14:02:00 UTC and two runs the day before.
        let t = 1_796_133_720_000;
        let runs = vec![
            run("etl", t - 86_400_000, Some(1)),
            run("etl", t - 86_000_000, Some(0)),
            run("etl", t - 60_000, Some(2)),
            run("etl", t, Some(0)),
        ];
        let s = summary(&runs, t + 1000, utc).unwrap();
        assert_eq!(s, "last run 14:02 · 3.1 s · exit 0 · 2 runs today");
        let plus2 = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        assert!(
            summary(&runs, t, plus2)
                .unwrap()
                .starts_with("last run 16:02")
        );
        assert_eq!(summary(&[], t, utc), None);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(3100), "3.1 s");
        assert_eq!(duration_text(125_000), "2 min 05 s");
    }
}
