//! The status board: what each service's current container is doing, kept up to date
//! from the daemon's `/events` stream (start, die, health_status, exec_die, destroy).
//!
//! `apply` waits on it for `depends_on` gates and `wait_ready` for readiness; neither
//! sleeps nor polls. It owns the rules of when a gate is met or has failed
//! ([`gate_status`], [`readiness`]) as pure functions. It must not act on containers:
//! it only reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bollard::models::{EventMessage, HealthStatusEnum};
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::Engine;
use crate::model::{
    ContainerId, ContainerInfo, ContainerState, EngineEvent, Health, Progress, ProjectName,
    ServiceName, labels,
};
use crate::stack::Condition;

/// Where a service's `apply` task is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    /// Not (yet) created or started by this run.
    #[default]
    Pending,
    /// Its container exists and was started (or kept).
    Started,
    /// Its task failed; the reason is shown to dependents.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    /// The container that counts for this service; events of any other id are ignored
    /// (an old container being replaced must not satisfy or fail a gate).
    pub id: Option<ContainerId>,
    pub state: Option<ContainerState>,
    pub health: Health,
    pub exit_code: Option<i64>,
    /// The container has a healthcheck (from the stack or its image).
    pub healthcheck: bool,
    pub phase: Phase,
    /// Probes seen since the last start, and the output of the last one.
    pub probes: u32,
    pub last_probe: Option<String>,
    /// The code of a non-zero exit seen during this run. A start afterwards does not
    /// clear it: a container its restart policy brought back after a crash is not ready,
    /// it is crash-looping.
    pub crashed: Option<i64>,
    /// The exit code of the last `die` of this container seen during this run (0
    /// included): a service `up` expects to keep running that exited at all and was
    /// brought back is not ready.
    pub died: Option<i64>,
    /// Unix nanoseconds of its last start, as the daemon stamped the `start` event (or
    /// rounded up from an inspect): a service without a healthcheck is ready only once
    /// it has stayed running for its settle time since then.
    pub running_since: Option<i64>,
    /// When its health last turned `unhealthy` (cleared by any other health): while it
    /// runs that is not final — a probe that times out on a busy machine can pass later —
    /// so waiters show how long it has been and keep waiting until their deadline.
    pub unhealthy_since: Option<Instant>,
    /// Unix nanoseconds when devstack's own run of its healthcheck test first passed in
    /// this run (`probe`): counts as healthy while Docker still says `starting`.
    pub probe_passed_at: Option<i64>,
    /// How long after the container's start that was (from the daemon's start time).
    pub probe_after: Option<std::time::Duration>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            id: None,
            state: None,
            health: Health::None,
            exit_code: None,
            healthcheck: false,
            phase: Phase::Pending,
            probes: 0,
            last_probe: None,
            crashed: None,
            died: None,
            running_since: None,
            unhealthy_since: None,
            probe_passed_at: None,
            probe_after: None,
        }
    }
}

impl Status {
    pub(crate) fn from_container(c: &ContainerInfo) -> Self {
        Status {
            id: Some(c.id.clone()),
            state: Some(c.state),
            health: c.health,
            exit_code: c.exit_code,
            healthcheck: c.health != Health::None,
            phase: Phase::Started,
            probes: 0,
            last_probe: None,
            // Only a container caught between crash and restart counts: an old restart
            // (restart_count > 0, long since running fine) is history, not a crash loop.
            crashed: (c.state == ContainerState::Restarting)
                .then_some(c.exit_code)
                .flatten()
                .filter(|code| *code != 0),
            died: None,
            // The inspect gives whole seconds: rounded up, so a settle time is never
            // cut short.
            running_since: (c.state == ContainerState::Running)
                .then(|| {
                    c.started_at
                        .map(|t| t.saturating_add(1).saturating_mul(1_000_000_000))
                })
                .flatten(),
            unhealthy_since: (c.health == Health::Unhealthy).then(Instant::now),
            probe_passed_at: None,
            probe_after: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Board {
    pub services: BTreeMap<ServiceName, Status>,
    /// Set when the event stream broke: waiting on it would hang, so waiters stop.
    pub stream_error: Option<String>,
}

/// Whether a gate on `dep` with `condition` is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GateStatus {
    Met,
    /// Not yet; the detail says what is awaited (shown as `Progress::Waiting`).
    Waiting(Option<String>),
    /// Never will be: the reason completes "its dependency 'db' …".
    Failed(String),
}

pub(crate) fn gate_status(dep: &Status, condition: Condition) -> GateStatus {
    match &dep.phase {
        Phase::Failed(reason) => return GateStatus::Failed(format!("failed: {reason}")),
        Phase::Pending => return GateStatus::Waiting(Some("not started yet".into())),
        Phase::Started => {}
    }
    let exited = matches!(
        dep.state,
        Some(ContainerState::Exited | ContainerState::Dead)
    );
    match condition {
        Condition::Started => GateStatus::Met,
        Condition::Healthy => {
            if exited {
                GateStatus::Failed(exit_text(dep.exit_code))
            } else if dep.health == Health::Healthy {
                GateStatus::Met
            } else if let Some(reason) = crash_loop(dep) {
                GateStatus::Failed(reason)
            } else if probe_counts(dep) {
                GateStatus::Met
            } else if dep.health == Health::Unhealthy {
                // Not final while it runs: the waiter's deadline decides.
                GateStatus::Waiting(Some(slow_text(dep, Instant::now())))
            } else if !dep.healthcheck && dep.state == Some(ContainerState::Running) {
                GateStatus::Failed(
                    "has no healthcheck, so 'service_healthy' can never be met".into(),
                )
            } else {
                GateStatus::Waiting(
                    dep.last_probe
                        .clone()
                        .or(Some("healthcheck starting".into())),
                )
            }
        }
        Condition::CompletedSuccessfully => match (exited, dep.exit_code) {
            (true, Some(0)) => GateStatus::Met,
            (true, _) => GateStatus::Failed(exit_text(dep.exit_code)),
            (false, _) => GateStatus::Waiting(Some("still running".into())),
        },
    }
}

/// What `up --detach` waits for in one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Something depends on its successful exit: it must have exited 0.
    Completion,
    /// Restart policy `no` or `on-failure`: running, or exited 0 — the daemon leaves a
    /// clean exit alone, so it is a job that finished (the bundled stack's pipeline),
    /// not a crash.
    RunningOrDone,
    /// Restart `always` / `unless-stopped`: running.
    Running,
}

/// Readiness for `up --detach`: a one-shot must have exited 0; a job may have exited 0;
/// anything else must be running, and healthy when it has a healthcheck.
pub(crate) fn readiness(status: Option<&Status>, expect: Expect) -> GateStatus {
    let Some(s) = status.filter(|s| s.id.is_some()) else {
        return GateStatus::Waiting(Some("no container".into()));
    };
    let exited = matches!(s.state, Some(ContainerState::Exited | ContainerState::Dead));
    if exited && expect == Expect::RunningOrDone && s.exit_code == Some(0) {
        return GateStatus::Met;
    }
    if expect == Expect::Completion {
        return match (exited, s.exit_code) {
            (true, Some(0)) => GateStatus::Met,
            (true, _) => GateStatus::Failed(exit_text(s.exit_code)),
            (false, _) => GateStatus::Waiting(Some("still running".into())),
        };
    }
    if let Some(reason) = crash_loop(s) {
        return GateStatus::Failed(reason);
    }
    let back = matches!(
        s.state,
        Some(ContainerState::Running | ContainerState::Restarting)
    );
    // Exiting 0 is a job's way to finish, but a service expected to keep running that
    // exits at all and is brought back is looping, not ready.
    if let Some(code) = s.died
        && back
        && expect == Expect::Running
    {
        return GateStatus::Failed(format!(
            "keeps exiting: exited with code {code} and was restarted by its restart policy"
        ));
    }
    match s.state {
        None => GateStatus::Waiting(Some("no container".into())),
        Some(ContainerState::Exited | ContainerState::Dead) => {
            GateStatus::Failed(exit_text(s.exit_code))
        }
        Some(ContainerState::Running) => match s.health {
            // Not final while it runs: the wait's deadline decides.
            Health::Unhealthy => GateStatus::Waiting(Some(slow_text(s, Instant::now()))),
            Health::Healthy => GateStatus::Met,
            Health::None if !s.healthcheck => GateStatus::Met,
            _ if probe_counts(s) => GateStatus::Met,
            _ => GateStatus::Waiting(
                s.last_probe
                    .clone()
                    .or(Some("waiting for its first healthcheck".into())),
            ),
        },
        Some(other) => GateStatus::Waiting(Some(format!("is '{}'", other.as_str()))),
    }
}

/// Whether devstack's own probe having passed makes the service healthy: only while it
/// runs and Docker has not called it unhealthy (Docker's word wins over ours).
pub(crate) fn probe_counts(s: &Status) -> bool {
    s.probe_passed_at.is_some()
        && s.state == Some(ContainerState::Running)
        && s.health != Health::Unhealthy
}

/// How much longer a service that is otherwise ready must stay running before it
/// counts: one without a healthcheck is ready only after `settle` of running since its
/// last start, so a process that crashes right after starting is never called ready.
/// `None`: nothing left to wait (or the rule does not apply).
pub(crate) fn settle_left(
    status: &Status,
    settle: std::time::Duration,
    now_nanos: i64,
) -> Option<std::time::Duration> {
    if status.state != Some(ContainerState::Running) || status.healthcheck {
        return None;
    }
    let settle = i64::try_from(settle.as_nanos()).unwrap_or(i64::MAX);
    // Not seen starting yet (no event, no inspect): the whole settle time is still ahead.
    let since = status.running_since.unwrap_or(now_nanos);
    let left = since.saturating_add(settle).saturating_sub(now_nanos);
    (left > 0).then(|| std::time::Duration::from_nanos(u64::try_from(left).unwrap_or(0)))
}

/// Unix nanoseconds now.
pub(crate) fn now_nanos() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_nanos()).unwrap_or(i64::MAX)
}

/// "keeps crashing: …" when the container crashed during this run and its restart
/// policy brought it back.
fn crash_loop(s: &Status) -> Option<String> {
    let code = s.crashed?;
    matches!(
        s.state,
        Some(ContainerState::Running | ContainerState::Restarting)
    )
    .then(|| {
        format!("keeps crashing: exited with code {code} and was restarted by its restart policy")
    })
}

/// "slow: unhealthy for 40 s (probe timed out after 20 s), still waiting".
pub(crate) fn slow_text(s: &Status, now: Instant) -> String {
    let secs = s
        .unhealthy_since
        .map_or(0, |t| now.saturating_duration_since(t).as_secs());
    let probe = match s.last_probe.as_deref().map(str::trim) {
        // The daemon's words for a probe it killed: "Health check exceeded timeout (20s)".
        Some(out) if out.contains("exceeded timeout") => {
            let limit = out
                .split_once("timeout (")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(t, _)| t.trim());
            match limit {
                Some(t) => match t.strip_suffix('s').filter(|n| n.parse::<f64>().is_ok()) {
                    Some(n) => format!("probe timed out after {n} s"),
                    None => format!("probe timed out after {t}"),
                },
                None => "probe timed out".to_string(),
            }
        }
        Some(out) if !out.is_empty() => {
            let line = out.lines().last().unwrap_or(out).trim();
            let short: String = line.chars().take(80).collect();
            format!("last probe: {short}")
        }
        _ => "its probe fails".to_string(),
    };
    format!("slow: unhealthy for {secs} s ({probe}), still waiting")
}

fn exit_text(code: Option<i64>) -> String {
    match code {
        Some(c) => format!("exited with code {c}"),
        None => "exited".into(),
    }
}

/// Whether a probe that started at `probe_start` belongs to the container's run that
/// started at `started_at` (both as the daemon writes them). Docker keeps the probe log
/// across restarts, so an older probe describes a previous run. Unknown times count as
/// the current run.
pub(crate) fn probe_of_run(probe_start: Option<&str>, started_at: Option<&str>) -> bool {
    use super::observe::parse_rfc3339_nanos;
    match (
        probe_start.and_then(parse_rfc3339_nanos),
        started_at.and_then(parse_rfc3339_nanos),
    ) {
        (Some(probe), Some(run)) => probe >= run,
        _ => true,
    }
}

/// The last probe of the container's current run, in one line with its exit code and
/// what that code means ("no output; exit code 7: curl: connection refused").
pub(crate) fn last_probe_summary(
    detail: &bollard::models::ContainerInspectResponse,
) -> Option<String> {
    let state = detail.state.as_ref()?;
    let last = state.health.as_ref()?.log.as_ref()?.last()?;
    if !probe_of_run(last.start.as_deref(), state.started_at.as_deref()) {
        return None;
    }
    let command = detail
        .config
        .as_ref()
        .and_then(|c| c.healthcheck.as_ref())
        .and_then(|h| h.test.as_ref())
        .map(|t| t.join(" "))
        .unwrap_or_default();
    Some(crate::model::probe_summary(
        &command,
        last.exit_code.unwrap_or(0),
        last.output.as_deref().unwrap_or(""),
    ))
}

/// A running board: an event-stream task feeding a watch channel.
pub(crate) struct Tracker {
    tx: Arc<watch::Sender<Board>>,
    task: JoinHandle<()>,
    engine: Engine,
    own_execs: super::probe::OwnExecs,
    /// Readiness probes under way (`probe`); they end with the tracker.
    probes: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
        if let Ok(probes) = self.probes.lock() {
            for p in probes.iter() {
                p.abort();
            }
        }
    }
}

/// `since` for `/events`: now, as `secs.nanos`. Events from this instant on are
/// replayed even if they happen before the HTTP request reaches the daemon, so nothing
/// done after this call can be missed.
pub(crate) fn now_since() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

impl Tracker {
    /// Starts following the project's container events from `since` (see [`now_since`]).
    /// `retries` gives each service's healthcheck retry count, for progress messages.
    pub(crate) fn start(
        engine: &Engine,
        project: &ProjectName,
        since: String,
        board: Board,
        retries: HashMap<ServiceName, u32>,
        progress: Option<mpsc::Sender<EngineEvent>>,
    ) -> Tracker {
        let tx = Arc::new(watch::Sender::new(board));
        let filters = super::project_filters(project, &[("type", "container")]);
        let options = EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build();
        let engine = engine.clone();
        let own_execs = super::probe::OwnExecs::default();
        let task_tx = tx.clone();
        let task_engine = engine.clone();
        let task_own = own_execs.clone();
        let task = tokio::spawn(async move {
            let engine = task_engine;
            let mut stream = engine.docker.events(Some(options));
            let reason = loop {
                match stream.next().await {
                    Some(Ok(ev)) => {
                        handle_event(
                            &engine,
                            &task_tx,
                            &ev,
                            &retries,
                            progress.as_ref(),
                            &task_own,
                        )
                        .await
                    }
                    Some(Err(e)) => break format!("daemon event stream failed: {e}"),
                    None => break "daemon closed the event stream".to_string(),
                }
            };
            task_tx.send_modify(|b| b.stream_error = Some(reason));
        });
        Tracker {
            tx,
            task,
            engine,
            own_execs,
            probes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Starts probing the service's container `id` for readiness (`probe`), where the
    /// daemon cannot be asked for a `start_interval` instead.
    pub(crate) fn probe(&self, service: &ServiceName, id: &ContainerId) {
        let has_test = self
            .tx
            .borrow()
            .services
            .get(service)
            .is_some_and(|s| s.healthcheck);
        if !has_test || !self.engine.exec_probes() {
            return;
        }
        let engine = self.engine.clone();
        let (board, own) = (self.tx.clone(), self.own_execs.clone());
        let (service, id) = (service.clone(), id.clone());
        let task = tokio::spawn(async move {
            engine.probe_until_ready(board, own, service, id).await;
        });
        if let Ok(mut probes) = self.probes.lock() {
            probes.retain(|p| !p.is_finished());
            probes.push(task);
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Board> {
        self.tx.subscribe()
    }

    pub(crate) fn update_service(&self, service: &ServiceName, f: impl FnOnce(&mut Status)) {
        self.tx
            .send_modify(|b| f(b.services.entry(service.clone()).or_default()));
    }
}

/// Records a health, keeping when it first turned unhealthy.
fn set_health(s: &mut Status, health: Health) {
    if health != Health::Unhealthy {
        s.unhealthy_since = None;
    } else if s.unhealthy_since.is_none() {
        s.unhealthy_since = Some(Instant::now());
    }
    s.health = health;
}

async fn handle_event(
    engine: &Engine,
    tx: &watch::Sender<Board>,
    ev: &EventMessage,
    retries: &HashMap<ServiceName, u32>,
    progress: Option<&mpsc::Sender<EngineEvent>>,
    own_execs: &super::probe::OwnExecs,
) {
    let Some(actor) = &ev.actor else { return };
    let (Some(id), Some(attrs)) = (&actor.id, &actor.attributes) else {
        return;
    };
    let Some(service) = attrs
        .get(labels::SERVICE)
        .map(|s| ServiceName::new(s.clone()))
    else {
        return;
    };
    let action = ev.action.as_deref().unwrap_or_default();
    let is_current = |b: &Board| {
        b.services
            .get(&service)
            .and_then(|s| s.id.as_ref())
            .is_some_and(|cur| cur.0 == *id)
    };
    if !is_current(&tx.borrow()) {
        return;
    }
    // "health_status: healthy" on API ≤ 1.51; newer daemons may drop the suffix.
    if let Some(rest) = action.strip_prefix("health_status") {
        let status = rest.trim_start_matches(':').trim();
        let health = Health::parse(status);
        tx.send_modify(|b| {
            if let Some(s) = b.services.get_mut(&service) {
                set_health(s, health);
                s.healthcheck = true;
            }
        });
        return;
    }
    match action {
        "start" => tx.send_modify(|b| {
            if let Some(s) = b.services.get_mut(&service) {
                let at = ev.time_nano.unwrap_or_else(now_nanos);
                s.state = Some(ContainerState::Running);
                s.running_since = Some(at);
                // A probe that passed before this start was about an earlier run; one
                // that passed after it (ahead of this event) is about this run.
                s.probe_passed_at = s.probe_passed_at.filter(|p| *p >= at);
                s.exit_code = None;
                s.health = if s.healthcheck {
                    Health::Starting
                } else {
                    Health::None
                };
                s.probes = 0;
                s.last_probe = None;
                s.unhealthy_since = None;
            }
        }),
        "die" => {
            let code = attrs.get("exitCode").and_then(|c| c.parse().ok());
            tx.send_modify(|b| {
                if let Some(s) = b.services.get_mut(&service) {
                    s.state = Some(ContainerState::Exited);
                    let at = ev.time_nano.unwrap_or_else(now_nanos);
                    s.probe_passed_at = s.probe_passed_at.filter(|p| *p > at);
                    s.exit_code = code;
                    s.died = code.or(Some(-1));
                    if code.is_some_and(|c| c != 0) {
                        s.crashed = code;
                    }
                }
            })
        }
        "destroy" => tx.send_modify(|b| {
            if let Some(s) = b.services.get_mut(&service) {
                s.state = None;
            }
        }),
        // A healthcheck probe (or someone's `docker exec`) finished: read the probe log.
        "exec_die" => {
            let ours = attrs.get("execID").is_some_and(|e| {
                own_execs
                    .lock()
                    .map(|mut set| set.remove(e))
                    .unwrap_or(false)
            });
            if ours {
                return;
            }
            let watching = tx
                .borrow()
                .services
                .get(&service)
                .is_some_and(|s| s.healthcheck && s.health != Health::Healthy);
            if !watching {
                return;
            }
            // An inspect that fails here only costs a progress message; the next
            // health_status event still drives the gate.
            let Ok(detail) = engine.inspect_raw(id, Some(&service)).await else {
                return;
            };
            let health = detail.state.as_ref().and_then(|s| s.health.as_ref());
            // One line, with the exit code: a raw probe can be curl's multi-line
            // progress meter, and a silent one says nothing without its code.
            let last = last_probe_summary(&detail);
            let status = health.and_then(|h| h.status);
            let mut snapshot = None;
            tx.send_modify(|b| {
                if let Some(s) = b.services.get_mut(&service) {
                    s.probes += 1;
                    s.last_probe = last.clone();
                    match status {
                        Some(HealthStatusEnum::HEALTHY) => set_health(s, Health::Healthy),
                        Some(HealthStatusEnum::UNHEALTHY) => set_health(s, Health::Unhealthy),
                        _ => {}
                    }
                    snapshot = Some((s.probes, s.health, slow_text(s, Instant::now())));
                }
            });
            let Some((probes, health, slow)) = snapshot else {
                return;
            };
            let update = match health {
                Health::Starting => Progress::WaitingHealthy {
                    probes,
                    retries: retries.get(&service).copied().unwrap_or(3),
                    last_output: last.clone(),
                },
                Health::Unhealthy => Progress::Slow { reason: slow },
                _ => return,
            };
            if let Some(tx) = progress {
                // The receiver may be gone (the caller stopped listening): not an error.
                let _ = tx
                    .send(EngineEvent::Progress {
                        service: service.clone(),
                        progress: update,
                    })
                    .await;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(state: ContainerState, health: Health, code: Option<i64>, hc: bool) -> Status {
        Status {
            id: Some(ContainerId("x".into())),
            state: Some(state),
            health,
            exit_code: code,
            healthcheck: hc,
            phase: Phase::Started,
            ..Default::default()
        }
    }

    #[test]
    fn gates() {
        use ContainerState::*;
        use GateStatus::*;
        let pending = Status::default();
        assert!(matches!(
            gate_status(&pending, Condition::Started),
            Waiting(_)
        ));
        let failed = Status {
            phase: Phase::Failed("pull failed".into()),
            ..Default::default()
        };
        assert!(matches!(
            gate_status(&failed, Condition::Started),
            Failed(_)
        ));

        let running = started(Running, Health::None, None, false);
        assert_eq!(gate_status(&running, Condition::Started), Met);
        assert!(
            matches!(gate_status(&running, Condition::Healthy), Failed(m) if m.contains("no healthcheck"))
        );
        assert!(matches!(
            gate_status(&running, Condition::CompletedSuccessfully),
            Waiting(_)
        ));

        let starting = started(Running, Health::Starting, None, true);
        assert!(matches!(
            gate_status(&starting, Condition::Healthy),
            Waiting(_)
        ));
        let healthy = started(Running, Health::Healthy, None, true);
        assert_eq!(gate_status(&healthy, Condition::Healthy), Met);
        // Issue 14 item 4: a probe that timed out under load is not the end.
        let unhealthy = started(Running, Health::Unhealthy, None, true);
        assert!(matches!(
            gate_status(&unhealthy, Condition::Healthy),
            Waiting(Some(d)) if d.starts_with("slow: unhealthy for")
        ));
        let looping = Status {
            crashed: Some(1),
            ..started(Running, Health::Starting, None, true)
        };
        assert!(matches!(
            gate_status(&looping, Condition::Healthy),
            Failed(m) if m.contains("keeps crashing")
        ));

        let ok = started(Exited, Health::None, Some(0), false);
        assert_eq!(gate_status(&ok, Condition::CompletedSuccessfully), Met);
        let bad = started(Exited, Health::None, Some(3), false);
        assert_eq!(
            gate_status(&bad, Condition::CompletedSuccessfully),
            Failed("exited with code 3".into())
        );
        assert_eq!(
            gate_status(&bad, Condition::Healthy),
            Failed("exited with code 3".into())
        );
    }

    #[test]
    fn a_passed_probe_counts_as_healthy_only_while_docker_does_not_disagree() {
        use ContainerState::*;
        use GateStatus::*;
        let probed = |state, health| Status {
            probe_passed_at: Some(1),
            ..started(state, health, None, true)
        };
        // Issue 15 item 2: Docker still says starting, our run of its test passed.
        assert_eq!(
            gate_status(&probed(Running, Health::Starting), Condition::Healthy),
            Met
        );
        assert_eq!(
            readiness(Some(&probed(Running, Health::Starting)), Expect::Running),
            Met
        );
        // Not before the start event says it runs, never once it has exited, and
        // Docker's own "unhealthy" wins.
        for (state, health) in [
            (Created, Health::None),
            (Running, Health::Unhealthy),
            (Restarting, Health::Starting),
        ] {
            assert!(
                matches!(
                    gate_status(&probed(state, health), Condition::Healthy),
                    Waiting(_)
                ),
                "{state:?} {health:?}"
            );
        }
        assert!(matches!(
            gate_status(&probed(Exited, Health::Starting), Condition::Healthy),
            Failed(_)
        ));
        // A crash loop is not made ready by a probe that passed between crashes.
        let looping = Status {
            crashed: Some(1),
            ..probed(Running, Health::Starting)
        };
        assert!(matches!(
            gate_status(&looping, Condition::Healthy),
            Failed(m) if m.contains("keeps crashing")
        ));
        assert!(matches!(
            readiness(Some(&looping), Expect::Running),
            Failed(_)
        ));
        // No probe passed: still waiting.
        assert!(matches!(
            readiness(
                Some(&started(Running, Health::Starting, None, true)),
                Expect::Running
            ),
            Waiting(_)
        ));
    }

    #[test]
    fn slow_text_says_how_long_and_why() {
        let t0 = Instant::now();
        let s = Status {
            unhealthy_since: Some(t0),
            last_probe: Some("Health check exceeded timeout (20s)".into()),
            ..started(ContainerState::Running, Health::Unhealthy, None, true)
        };
        assert_eq!(
            slow_text(&s, t0 + std::time::Duration::from_secs(40)),
            "slow: unhealthy for 40 s (probe timed out after 20 s), still waiting"
        );
        let s = Status {
            last_probe: Some("  % Total\ncurl: (7) Failed to connect\n".into()),
            ..s
        };
        assert_eq!(
            slow_text(&s, t0),
            "slow: unhealthy for 0 s (last probe: curl: (7) Failed to connect), still waiting"
        );
        let mut s = started(ContainerState::Running, Health::Starting, None, true);
        set_health(&mut s, Health::Unhealthy);
        let first = s.unhealthy_since;
        set_health(&mut s, Health::Unhealthy);
        assert!(
            first.is_some() && s.unhealthy_since == first,
            "kept from the first"
        );
        set_health(&mut s, Health::Healthy);
        assert_eq!(s.unhealthy_since, None);
    }

    #[test]
    fn ready() {
        use ContainerState::*;
        use GateStatus::*;
        assert!(matches!(readiness(None, Expect::Running), Waiting(_)));
        assert_eq!(
            readiness(
                Some(&started(Running, Health::None, None, false)),
                Expect::Running
            ),
            Met
        );
        assert!(matches!(
            readiness(
                Some(&started(Running, Health::Starting, None, true)),
                Expect::Running
            ),
            Waiting(_)
        ));
        assert!(matches!(
            readiness(
                Some(&started(Exited, Health::None, Some(0), false)),
                Expect::Running
            ),
            Failed(_)
        ));
        assert_eq!(
            readiness(
                Some(&started(Exited, Health::None, Some(0), false)),
                Expect::Completion
            ),
            Met
        );
        assert!(matches!(
            readiness(
                Some(&started(Running, Health::None, None, false)),
                Expect::Completion
            ),
            Waiting(_)
        ));
        assert!(matches!(
            readiness(
                Some(&started(Restarting, Health::None, None, false)),
                Expect::Running
            ),
            Waiting(_)
        ));
        // Issue 14 item 4: unhealthy while running keeps `up` waiting.
        assert!(matches!(
            readiness(
                Some(&started(Running, Health::Unhealthy, None, true)),
                Expect::Running
            ),
            Waiting(Some(d)) if d.starts_with("slow:")
        ));
        // A job nothing waits for (the bundled stack's pipeline): running or done is
        // ready, a failure is not.
        let job = Expect::RunningOrDone;
        assert_eq!(
            readiness(Some(&started(Exited, Health::None, Some(0), false)), job),
            Met
        );
        assert_eq!(
            readiness(Some(&started(Running, Health::None, None, false)), job),
            Met
        );
        assert_eq!(
            readiness(Some(&started(Exited, Health::None, Some(2), false)), job),
            Failed("exited with code 2".into())
        );
    }

    #[test]
    fn a_service_without_healthcheck_settles_before_it_counts() {
        use ContainerState::*;
        let second = 1_000_000_000;
        let mut s = started(Running, Health::None, None, false);
        s.running_since = Some(10 * second);
        let settle = std::time::Duration::from_secs(1);
        assert_eq!(
            settle_left(&s, settle, 10 * second + second / 4),
            Some(std::time::Duration::from_millis(750))
        );
        assert_eq!(settle_left(&s, settle, 11 * second), None);
        // Not seen starting: the whole settle time is ahead.
        s.running_since = None;
        assert_eq!(settle_left(&s, settle, 5 * second), Some(settle));
        // A healthcheck decides on its own; an exited one is not settling.
        assert_eq!(
            settle_left(&started(Running, Health::Starting, None, true), settle, 0),
            None
        );
        assert_eq!(
            settle_left(&started(Exited, Health::None, Some(3), false), settle, 0),
            None
        );
        // Any exit of a service expected to keep running, brought back by its policy.
        let mut back = started(Running, Health::None, None, false);
        back.died = Some(0);
        assert!(matches!(
            readiness(Some(&back), Expect::Running),
            GateStatus::Failed(r) if r.contains("keeps exiting")
        ));
        assert_eq!(
            readiness(Some(&back), Expect::RunningOrDone),
            GateStatus::Met
        );
    }
}
