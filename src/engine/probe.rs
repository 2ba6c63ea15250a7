//! Readiness faster than the daemon's health cadence.
//!
//! Docker runs a container's first healthcheck only one `interval` after its start (10 s
//! in the bundled Airflow stack, 30 s by default), and API 1.41 (Docker 20.10) has no
//! `start_interval` to shorten that. So while a service with a healthcheck is starting,
//! devstack runs the container's own test itself through the exec API: right after the
//! start, then every [`PROBE_CADENCE`], each attempt bounded by the test's `timeout`,
//! until the first success, Docker's own status turning healthy, or the container going
//! away. The first success is recorded on the status board (`Status::probe_passed_at`)
//! and counts as `service_healthy`; Docker's own health stays on the board as it is, so
//! what the user sees about it is still the daemon's word. A failing probe never counts.
//!
//! Where the daemon has `start_interval` (API ≥ 1.44) the container is created with one
//! instead ([`fast_start`]) and no exec probe runs. This module only reads containers and
//! runs their test; the rules of what counts live in `track`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ExecConfig, HealthConfig};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::Engine;
use super::track::{Board, now_nanos};
use crate::model::{ContainerId, ContainerState, Health, ServiceName};

/// How soon after a failed attempt the next one runs.
pub(crate) const PROBE_CADENCE: Duration = Duration::from_millis(250);

/// Docker's default healthcheck timeout, for a test that sets none.
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The `start_interval` devstack sets when the daemon has one and the file sets none.
pub(crate) const FAST_START_INTERVAL: Duration = Duration::from_millis(250);

/// Docker probes at `start_interval` only during `start_period`; with none in the file,
/// this one is set with it. A failing probe in it does not count towards `retries`, so an
/// unhealthy service shows as `starting` for up to this long before it turns unhealthy.
pub(crate) const FAST_START_PERIOD: Duration = Duration::from_secs(60);

/// Exec ids of our own probes, so the event follower does not take their `exec_die`
/// for one of Docker's healthchecks.
pub(crate) type OwnExecs = Arc<Mutex<HashSet<String>>>;

/// The command a healthcheck `test` (as the daemon stores it) runs: `CMD-SHELL` through
/// `/bin/sh -c`, `CMD` as its argv. `NONE`, an empty test or anything else: no probe.
pub(crate) fn probe_argv(test: &[String]) -> Option<Vec<String>> {
    match test.split_first() {
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => Some(vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            rest.join(" "),
        ]),
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
        _ => None,
    }
}

/// Whether a daemon speaking API `version` ("1.41") has `start_interval` (1.44 on).
pub(crate) fn supports_start_interval(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (1, 44),
        _ => false,
    }
}

/// The healthcheck a container is created with on a daemon that has `start_interval`:
/// the file's, with a short start interval (and a start period for it to apply in) where
/// the file sets none. A disabled healthcheck stays as it is.
pub(crate) fn fast_start(health: Option<HealthConfig>) -> Option<HealthConfig> {
    let mut h = health.unwrap_or_default();
    if h.test.as_ref().is_some_and(|t| probe_argv(t).is_none()) || h.start_interval.is_some() {
        return Some(h);
    }
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    h.start_interval = Some(nanos(FAST_START_INTERVAL));
    if h.start_period.is_none_or(|p| p == 0) {
        h.start_period = Some(nanos(FAST_START_PERIOD));
    }
    Some(h)
}

impl Engine {
    /// Whether `up` runs its own probes: only where the daemon cannot be asked for a
    /// `start_interval`.
    pub(crate) fn exec_probes(&self) -> bool {
        !supports_start_interval(&self.api_version())
    }

    /// Probes the container `id` of `service` until its test first passes (recorded on
    /// the board), Docker calls it healthy, or it stops being the running container of
    /// the service. Returns when there is nothing (more) to do.
    pub(crate) async fn probe_until_ready(
        &self,
        board: Arc<watch::Sender<Board>>,
        own: OwnExecs,
        service: ServiceName,
        id: ContainerId,
    ) {
        // The merged config: a test from the image counts as much as one from the file.
        let Ok(detail) = self.inspect_raw(&id.0, Some(&service)).await else {
            return;
        };
        let started = detail
            .state
            .as_ref()
            .and_then(|s| s.started_at.as_deref())
            .and_then(super::observe::parse_rfc3339_nanos);
        let Some(health) = detail.config.and_then(|c| c.healthcheck) else {
            return;
        };
        let Some(argv) = health.test.as_deref().and_then(probe_argv) else {
            return;
        };
        let timeout = health
            .timeout
            .filter(|t| *t > 0)
            .and_then(|t| u64::try_from(t).ok())
            .map_or(DEFAULT_PROBE_TIMEOUT, Duration::from_nanos);
        loop {
            let go_on = board.borrow().services.get(&service).is_some_and(|s| {
                s.id.as_ref() == Some(&id)
                    && s.probe_passed_at.is_none()
                    && s.health != Health::Healthy
                    && !matches!(
                        s.state,
                        Some(ContainerState::Exited | ContainerState::Dead) | None
                    )
            });
            if !go_on {
                return;
            }
            // A hung test is abandoned at its timeout, as Docker's own probe would be.
            let passed = matches!(
                tokio::time::timeout(timeout, self.probe_once(&id, &argv, &own)).await,
                Ok(Some(0))
            );
            if passed {
                let at = now_nanos();
                board.send_modify(|b| {
                    if let Some(s) = b.services.get_mut(&service)
                        && s.id.as_ref() == Some(&id)
                    {
                        s.probe_passed_at = Some(at);
                        s.probe_after = started
                            .map(|t| Duration::from_nanos(u64::try_from(at - t).unwrap_or(0)));
                    }
                });
                return;
            }
            tokio::time::sleep(PROBE_CADENCE).await;
        }
    }

    /// One run of the test; its exit code, or `None` when the daemon would not run it
    /// (a container that is not running yet, or is gone).
    async fn probe_once(&self, id: &ContainerId, argv: &[String], own: &OwnExecs) -> Option<i64> {
        let config = ExecConfig {
            cmd: Some(argv.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self.docker.create_exec(&id.0, config).await.ok()?.id;
        if let Ok(mut set) = own.lock() {
            set.insert(exec.clone());
        }
        let started = self
            .docker
            .start_exec(
                &exec,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: None,
                }),
            )
            .await
            .ok()?;
        if let StartExecResults::Attached { mut output, .. } = started {
            // Drained, not kept: the output of Docker's own probes is what is shown.
            while let Some(chunk) = output.next().await {
                if chunk.is_err() {
                    break;
                }
            }
        }
        self.exec_wait_exit(&exec).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_test_becomes_the_command_docker_would_run() {
        assert_eq!(
            probe_argv(&strings(&["CMD-SHELL", "pg_isready -U app"])),
            Some(strings(&["/bin/sh", "-c", "pg_isready -U app"]))
        );
        assert_eq!(
            probe_argv(&strings(&["CMD", "curl", "-f", "http://localhost"])),
            Some(strings(&["curl", "-f", "http://localhost"]))
        );
        assert_eq!(probe_argv(&strings(&["NONE"])), None);
        assert_eq!(probe_argv(&strings(&["CMD"])), None);
        assert_eq!(probe_argv(&[]), None);
    }

    #[test]
    fn start_interval_only_from_api_1_44() {
        assert!(!supports_start_interval("1.41"));
        assert!(!supports_start_interval("1.43"));
        assert!(supports_start_interval("1.44"));
        assert!(supports_start_interval("1.51"));
        assert!(supports_start_interval("2.0"));
        assert!(!supports_start_interval("garbage"));
    }

    #[test]
    fn fast_start_fills_only_what_the_file_leaves_open() {
        let ms = |n: i64| n * 1_000_000;
        // The image's test, no timings: both set.
        let h = fast_start(None).unwrap_or_default();
        assert_eq!(h.start_interval, Some(ms(250)));
        assert_eq!(h.start_period, Some(ms(60_000)));
        assert_eq!(h.test, None);
        // The file's own start_interval and start_period are kept.
        let own = HealthConfig {
            test: Some(strings(&["CMD", "true"])),
            start_interval: Some(ms(2000)),
            start_period: Some(ms(5000)),
            ..Default::default()
        };
        assert_eq!(fast_start(Some(own.clone())), Some(own));
        let period_only = HealthConfig {
            test: Some(strings(&["CMD", "true"])),
            start_period: Some(ms(5000)),
            ..Default::default()
        };
        let h = fast_start(Some(period_only)).unwrap_or_default();
        assert_eq!(
            (h.start_interval, h.start_period),
            (Some(ms(250)), Some(ms(5000)))
        );
        // Disabled stays disabled.
        let off = HealthConfig {
            test: Some(strings(&["NONE"])),
            ..Default::default()
        };
        assert_eq!(fast_start(Some(off.clone())), Some(off));
    }
}
