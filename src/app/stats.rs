//! The UI's own counters (`--stats-file`): lines ingested, frames drawn and their render
//! time, lines dropped to stay within bounds, resident memory.
//!
//! The loop bumps plain integers where the work happens; this module only turns them
//! into one JSON object per line, about once a second. It must not be called per line
//! or per frame beyond the increments.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bumped by the app loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Log lines received from the followers (before de-duplication and bounds).
    pub lines_ingested: u64,
    pub frames: u64,
    /// How long the last `draw` took, in microseconds.
    pub last_frame_us: u64,
}

impl Counters {
    pub fn frame(&mut self, took: Duration) {
        self.frames += 1;
        self.last_frame_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    }
}

/// A file the counters are appended to, one JSON object per line.
#[derive(Debug)]
pub struct StatsFile {
    file: std::fs::File,
    previous: Option<(Instant, u64)>,
}

impl StatsFile {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("stats file '{}': {e}", path.display()))
        })?;
        Ok(Self {
            file,
            previous: None,
        })
    }

    /// Appends one line: the counters, the ingest rate since the previous line, the
    /// store's dropped lines and the process's resident memory.
    pub fn write(&mut self, counters: &Counters, dropped_lines: u64) -> std::io::Result<()> {
        let now = Instant::now();
        let lines_per_s = match self.previous {
            Some((at, lines)) => {
                let secs = now.duration_since(at).as_secs_f64();
                if secs > 0.0 {
                    counters.lines_ingested.saturating_sub(lines) as f64 / secs
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.previous = Some((now, counters.lines_ingested));
        let line = serde_json::json!({
            "unix_ms": chrono::Utc::now().timestamp_millis(),
            "lines_ingested": counters.lines_ingested,
            "lines_per_s": lines_per_s.round(),
            "frames": counters.frames,
            "last_frame_us": counters.last_frame_us,
            "dropped_lines": dropped_lines,
            "rss_bytes": rss_bytes(),
        });
        writeln!(self.file, "{line}")
    }
}

/// Resident set size from `/proc/self/status` (`VmRSS`, which is `/proc/self/statm`'s
/// resident pages already multiplied by the page size); `None` where there is no procfs.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_json_object_per_line_with_the_rate_since_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.jsonl");
        let mut stats = StatsFile::create(&path).unwrap();
        let mut c = Counters::default();
        stats.write(&c, 0).unwrap();
        c.lines_ingested = 500;
        c.frame(Duration::from_micros(1234));
        stats.previous = stats
            .previous
            .map(|(at, n)| (at - Duration::from_millis(500), n));
        stats.write(&c, 7).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["lines_per_s"], 0.0);
        let last = &lines[1];
        assert_eq!(last["lines_ingested"], 500);
        assert_eq!(last["frames"], 1);
        assert_eq!(last["last_frame_us"], 1234);
        assert_eq!(last["dropped_lines"], 7);
        // 500 lines over a little more than half a second.
        let rate = last["lines_per_s"].as_f64().unwrap();
        assert!(rate > 500.0 && rate <= 1000.0, "{rate}");
        assert!(last["rss_bytes"].as_u64().unwrap() > 0);
    }

    #[test]
    fn an_unwritable_path_names_the_file() {
        let e = StatsFile::create(Path::new("/nonexistent/dir/stats.jsonl")).unwrap_err();
        assert!(
            e.to_string().contains("'/nonexistent/dir/stats.jsonl'"),
            "{e}"
        );
    }
}
