//! Debouncing: a burst of file events becomes one batch once the files go quiet.
//!
//! Pure: the caller passes the time in, so tests need no clock and no sleeps.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Compose waits 500 ms of quiet and Tilt 200 ms; 100 ms still folds an editor's
/// save-rename dance and a `git checkout` into one batch.
pub const DEFAULT_QUIET: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct Debouncer {
    quiet: Duration,
    pending: BTreeSet<PathBuf>,
    last_event: Option<Instant>,
}

impl Debouncer {
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            pending: BTreeSet::new(),
            last_event: None,
        }
    }

    pub fn push(&mut self, path: PathBuf, now: Instant) {
        self.pending.insert(path);
        self.last_event = Some(now);
    }

    /// When the pending batch becomes due, if there is one.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_event.map(|t| t + self.quiet)
    }

    /// The batch, once `quiet` has passed since the last event; the debouncer is then empty.
    pub fn take_due(&mut self, now: Instant) -> Option<Vec<PathBuf>> {
        let deadline = self.deadline()?;
        if now < deadline {
            return None;
        }
        self.last_event = None;
        Some(std::mem::take(&mut self.pending).into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_batch_after_quiet() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Duration::from_millis(100));
        assert_eq!(d.deadline(), None);
        for i in 0..500u64 {
            d.push(
                PathBuf::from(format!("/src/f{}.py", i % 250)),
                t0 + Duration::from_millis(i / 10),
            );
        }
        let last = t0 + Duration::from_millis(49);
        assert_eq!(d.deadline(), Some(last + Duration::from_millis(100)));
        assert_eq!(d.take_due(last + Duration::from_millis(99)), None);
        let batch = d.take_due(last + Duration::from_millis(100)).unwrap();
        assert_eq!(batch.len(), 250, "duplicates fold");
        assert_eq!(d.deadline(), None);
        assert_eq!(d.take_due(last + Duration::from_secs(5)), None);
    }

    #[test]
    fn each_event_pushes_the_deadline_out() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Duration::from_millis(100));
        d.push("/a".into(), t0);
        d.push("/b".into(), t0 + Duration::from_millis(90));
        assert_eq!(d.take_due(t0 + Duration::from_millis(150)), None);
        assert_eq!(
            d.take_due(t0 + Duration::from_millis(190)),
            Some(vec![PathBuf::from("/a"), PathBuf::from("/b")])
        );
    }
}
