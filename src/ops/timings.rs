//! `up --timings`: a per-service timeline of one `up` — pull/build, create, start, first
//! probe, ready — from the progress events it already reports, so a user sees where the
//! time of their own stack goes. Pure: the caller stamps each event with the time since
//! `up` began.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{Progress, Readiness, ServiceName};

/// When each step of one service first happened, since `up` began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTimes {
    pub pull: Option<Duration>,
    pub create: Option<Duration>,
    pub start: Option<Duration>,
    /// The first healthcheck result seen: Docker's (a probe log entry) or devstack's
    /// own passing probe, whichever came first.
    pub first_probe: Option<Duration>,
    pub ready: Option<Duration>,
    /// How it became ready, as `up` says it.
    pub how: Option<Readiness>,
}

/// The timeline of one `up`, fed with its progress events in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    services: BTreeMap<ServiceName, ServiceTimes>,
}

impl Timeline {
    /// Records `progress` of `service`, `at` after `up` began; only a step's first time
    /// counts (a recreate's removal, a restart, a second probe change nothing).
    pub fn record(&mut self, service: &ServiceName, progress: &Progress, at: Duration) {
        let t = self.services.entry(service.clone()).or_default();
        let first = |slot: &mut Option<Duration>| {
            slot.get_or_insert(at);
        };
        match progress {
            Progress::Pulling { .. } | Progress::Building { .. } => first(&mut t.pull),
            Progress::Creating => first(&mut t.create),
            Progress::Starting => first(&mut t.start),
            Progress::WaitingHealthy { .. } | Progress::Slow { .. } => first(&mut t.first_probe),
            Progress::Ready(how) => {
                if matches!(how, Readiness::Healthy | Readiness::Probed { .. }) {
                    first(&mut t.first_probe);
                }
                if t.ready.is_none() {
                    t.ready = Some(at);
                    t.how = Some(*how);
                }
            }
            Progress::Waiting { .. }
            | Progress::Removing
            | Progress::Done
            | Progress::Failed { .. } => {}
        }
    }

    /// The table `up --timings` prints: one row per service, times in seconds since
    /// `up` began ("-" for a step that did not happen), ordered by when it was ready.
    pub fn table(&self) -> Vec<String> {
        let width = self
            .services
            .keys()
            .map(|s| s.as_str().len())
            .max()
            .unwrap_or(0)
            .max("service".len());
        let secs = |d: Option<Duration>| match d {
            Some(d) => format!("{:.2}", d.as_secs_f64()),
            None => "-".into(),
        };
        let mut rows: Vec<(&ServiceName, &ServiceTimes)> = self.services.iter().collect();
        rows.sort_by_key(|(name, t)| (t.ready.is_none(), t.ready, (*name).clone()));
        let mut out = vec![format!(
            "{:<width$}  {:>7}  {:>7}  {:>7}  {:>11}  {:>7}  how",
            "service", "pull", "create", "start", "first probe", "ready"
        )];
        for (name, t) in rows {
            let how = match t.how {
                Some(Readiness::Healthy) => "healthy (docker)",
                Some(Readiness::Probed { .. }) => "probe passed; docker: starting",
                Some(Readiness::Running) => "running (no healthcheck)",
                Some(Readiness::Completed) => "completed",
                None => "not ready",
            };
            out.push(format!(
                "{:<width$}  {:>7}  {:>7}  {:>7}  {:>11}  {:>7}  {how}",
                name.as_str(),
                secs(t.pull),
                secs(t.create),
                secs(t.start),
                secs(t.first_probe),
                secs(t.ready),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_step_keeps_its_first_time_and_rows_go_by_readiness() {
        let (db, web) = (ServiceName::new("db"), ServiceName::new("web"));
        let mut t = Timeline::default();
        t.record(&db, &Progress::Creating, ms(100));
        t.record(&web, &Progress::Creating, ms(120));
        t.record(&db, &Progress::Starting, ms(200));
        t.record(&db, &Progress::Done, ms(900));
        t.record(
            &db,
            &Progress::Ready(Readiness::Probed {
                after_ms: Some(300),
            }),
            ms(1200),
        );
        // A later Docker probe does not move the first one.
        t.record(
            &db,
            &Progress::WaitingHealthy {
                probes: 1,
                retries: 3,
                last_output: None,
            },
            ms(9000),
        );
        t.record(&web, &Progress::Starting, ms(1300));
        t.record(&web, &Progress::Ready(Readiness::Running), ms(2500));
        t.record(&web, &Progress::Starting, ms(5000));
        assert_eq!(
            t.table(),
            vec![
                "service     pull   create    start  first probe    ready  how",
                "db             -     0.10     0.20         1.20     1.20  probe passed; docker: starting",
                "web            -     0.12     1.30            -     2.50  running (no healthcheck)",
            ]
        );
    }

    #[test]
    fn a_service_never_ready_says_so_last() {
        let mut t = Timeline::default();
        let slow = ServiceName::new("a-slow-one");
        t.record(&slow, &Progress::Pulling { percent: None }, ms(10));
        t.record(&slow, &Progress::Failed { reason: "x".into() }, ms(50));
        t.record(
            &ServiceName::new("b"),
            &Progress::Ready(Readiness::Completed),
            ms(40),
        );
        let table = t.table();
        assert!(table[1].starts_with("b "), "{table:?}");
        assert!(
            table[2].starts_with("a-slow-one") && table[2].ends_with("not ready"),
            "{table:?}"
        );
        assert!(table[2].contains("0.01"), "{table:?}");
    }
}
