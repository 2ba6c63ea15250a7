//! The live feed for whoever shows a running stack (the TUI): container changes from
//! the daemon's `/events`, healthcheck output, and CPU/memory from each running
//! container's stats stream, all as [`EngineEvent`]s on one bounded channel.
//!
//! It reports the daemon going away and coming back, and re-reads the project when it
//! returns. It never acts on containers, and it stops as soon as the receiver is gone.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::{EventsOptionsBuilder, StatsOptionsBuilder};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::track::now_since;
use super::{Engine, Error};
use crate::model::{
    ContainerId, ContainerState, EngineEvent, ProbeResult, ProjectName, ServiceName, labels,
};

/// Longest pause between two attempts to reach a daemon that went away.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Engine {
    /// Follows the project until `events` is closed: first one `Container` per existing
    /// container, then changes as they happen, `Stats` about once a second per running
    /// container, `HealthLog` after each probe, and `DaemonLost`/`DaemonBack`.
    pub fn follow_events(
        &self,
        project: &ProjectName,
        events: mpsc::Sender<EngineEvent>,
    ) -> JoinHandle<()> {
        let engine = self.clone();
        let project = project.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let reason = engine.follow_once(&project, &events).await;
                if events.is_closed() {
                    return;
                }
                if events
                    .send(EngineEvent::DaemonLost {
                        reason: reason.to_string(),
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                // Retrying a daemon that is down is the one place that waits on time:
                // there is no event to wait for.
                loop {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    if events.is_closed() {
                        return;
                    }
                    if engine.docker.ping().await.is_ok() {
                        break;
                    }
                }
                backoff = Duration::from_millis(100);
                if events.send(EngineEvent::DaemonBack).await.is_err() {
                    return;
                }
            }
        })
    }

    /// One connected session; returns why it ended.
    async fn follow_once(
        &self,
        project: &ProjectName,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Error {
        let filters = super::project_filters(project, &[("type", "container")]);
        let options = EventsOptionsBuilder::default()
            .since(&now_since())
            .filters(&filters)
            .build();
        let mut stream = self.docker.events(Some(options));
        let mut stats: HashMap<String, JoinHandle<()>> = HashMap::new();
        let result = async {
            for c in self.ps(project).await? {
                if c.state == ContainerState::Running {
                    stats.insert(c.id.0.clone(), self.spawn_stats(&c.id, &c.service, events));
                }
                send(events, EngineEvent::Container(c)).await?;
            }
            while let Some(item) = stream.next().await {
                let ev = item.map_err(|e| Error::daemon("follow daemon events", None, e))?;
                let Some(actor) = ev.actor else { continue };
                let (Some(id), Some(attrs)) = (actor.id, actor.attributes) else {
                    continue;
                };
                let Some(service) = attrs
                    .get(labels::SERVICE)
                    .map(|s| ServiceName::new(s.clone()))
                else {
                    continue;
                };
                let action = ev.action.unwrap_or_default();
                match action.as_str() {
                    "destroy" => {
                        if let Some(h) = stats.remove(&id) {
                            h.abort();
                        }
                        send(
                            events,
                            EngineEvent::ContainerRemoved {
                                service,
                                id: ContainerId(id),
                            },
                        )
                        .await?;
                    }
                    "exec_die" => self.send_health_log(&id, &service, events).await?,
                    a if a.starts_with("health_status") => {
                        self.send_container(&id, events).await?;
                        self.send_health_log(&id, &service, events).await?;
                    }
                    "create" | "start" | "restart" | "die" | "stop" | "kill" | "pause"
                    | "unpause" | "rename" | "oom" => {
                        if let Some(info) = self.send_container(&id, events).await? {
                            let running = info.state == ContainerState::Running;
                            match (running, stats.contains_key(&id)) {
                                (true, false) => {
                                    stats.insert(
                                        id.clone(),
                                        self.spawn_stats(&info.id, &service, events),
                                    );
                                }
                                (false, true) => {
                                    if let Some(h) = stats.remove(&id) {
                                        h.abort();
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            Err::<(), Error>(Error::Connection {
                op: "follow daemon events",
                service: None,
                message: "the daemon closed the event stream".into(),
            })
        }
        .await;
        for h in stats.into_values() {
            h.abort();
        }
        match result {
            Err(e) => e,
            Ok(()) => Error::Connection {
                op: "follow daemon events",
                service: None,
                message: "ended".into(),
            },
        }
    }

    async fn send_container(
        &self,
        id: &str,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<Option<crate::model::ContainerInfo>, Error> {
        match self.inspect(id).await {
            Ok(Some(info)) => {
                send(events, EngineEvent::Container(info.clone())).await?;
                Ok(Some(info))
            }
            Ok(None) => Ok(None),
            // Removed meanwhile; its destroy event follows.
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn send_health_log(
        &self,
        id: &str,
        service: &ServiceName,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let detail = match self.inspect_raw(id, Some(service)).await {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let state = detail.state;
        let started_at = state.as_ref().and_then(|s| s.started_at.clone());
        let Some(health) = state.and_then(|s| s.health) else {
            return Ok(());
        };
        // Docker keeps a container's probe log across restarts: only a probe of the
        // current run describes it now.
        let probe = health
            .log
            .and_then(|l| l.into_iter().last())
            .filter(|r| super::track::probe_of_run(r.start.as_deref(), started_at.as_deref()))
            .map(|r| ProbeResult {
                exit_code: r.exit_code.unwrap_or(0),
                output: r.output.unwrap_or_default(),
            });
        send(
            events,
            EngineEvent::HealthLog {
                service: service.clone(),
                container: ContainerId(id.to_string()),
                failing_streak: health
                    .failing_streak
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0),
                probe,
            },
        )
        .await
    }

    fn spawn_stats(
        &self,
        id: &ContainerId,
        service: &ServiceName,
        events: &mpsc::Sender<EngineEvent>,
    ) -> JoinHandle<()> {
        let options = StatsOptionsBuilder::default().stream(true).build();
        let mut stream = self.docker.stats(&id.0, Some(options));
        let service = service.clone();
        let events = events.clone();
        tokio::spawn(async move {
            // Ends with the container (the daemon closes the stream) or on an error; the
            // event loop starts a new one when the container starts again.
            while let Some(Ok(s)) = stream.next().await {
                let Some(ev) = stats_event(&service, &s) else {
                    continue;
                };
                if events.send(ev).await.is_err() {
                    return;
                }
            }
        })
    }
}

async fn send(events: &mpsc::Sender<EngineEvent>, ev: EngineEvent) -> Result<(), Error> {
    events.send(ev).await.map_err(|_| Error::Task {
        op: "follow daemon events",
        message: "the receiver is gone".into(),
    })
}

/// CPU % (of one core, like `docker stats`) and memory without the page cache.
fn stats_event(service: &ServiceName, s: &ContainerStatsResponse) -> Option<EngineEvent> {
    let cpu = s.cpu_stats.as_ref()?;
    let pre = s.precpu_stats.as_ref();
    let total = cpu.cpu_usage.as_ref()?.total_usage?;
    let pre_total = pre
        .and_then(|p| p.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let system = cpu.system_cpu_usage.unwrap_or(0);
    let pre_system = pre.and_then(|p| p.system_cpu_usage).unwrap_or(0);
    let cpus = cpu
        .online_cpus
        .map(f64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|v| v.len() as f64)
        })
        .unwrap_or(1.0);
    let cpu_delta = total.saturating_sub(pre_total) as f64;
    let system_delta = system.saturating_sub(pre_system) as f64;
    let cpu_percent = if system_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    };
    let mem = s.memory_stats.as_ref()?;
    let usage = mem.usage.unwrap_or(0);
    // cgroup v2 calls the page cache "inactive_file", v1 "total_inactive_file"/"cache".
    let cache = mem
        .stats
        .as_ref()
        .and_then(|st| {
            st.get("inactive_file")
                .or_else(|| st.get("total_inactive_file"))
                .or_else(|| st.get("cache"))
                .copied()
        })
        .unwrap_or(0);
    Some(EngineEvent::Stats {
        service: service.clone(),
        cpu_percent,
        memory_bytes: usage.saturating_sub(cache),
        memory_limit: mem.limit.unwrap_or(0),
    })
}

impl Engine {
    /// For a follower whose stream ended: whether the container runs again. Running
    /// now → `true`; restarting (its restart policy will start it) → waits for the
    /// daemon's `start` event and returns `true`; anything else (stopped for good,
    /// removed) → `false`. Subscribed before looking, so a start in between is not lost.
    pub async fn wait_running_again(&self, container: &str) -> Result<bool, Error> {
        let filters = HashMap::from([
            ("container".to_string(), vec![container.to_string()]),
            (
                "event".to_string(),
                vec!["start".to_string(), "destroy".to_string()],
            ),
        ]);
        let options = EventsOptionsBuilder::default()
            .since(&now_since())
            .filters(&filters)
            .build();
        let mut events = self.docker.events(Some(options));
        match self.inspect(container).await {
            Ok(Some(c)) if c.state == ContainerState::Running => return Ok(true),
            Ok(Some(c)) if c.state == ContainerState::Restarting => {}
            Ok(_) => return Ok(false),
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        }
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| Error::daemon("follow events", None, e))?;
            match event.action.as_deref() {
                Some("start") => return Ok(true),
                Some("destroy") => return Ok(false),
                _ => {}
            }
        }
        Ok(false)
    }
}
