//! Live code: what a file change does to a service (`apply_trigger`), and the watch
//! loop that turns debounced bursts into actions (`spawn_watch`) — used by
//! `devstack watch` and by the UI.
//!
//! Owns the order of things — build before touching a container, so a failed build
//! leaves the running one alone; one action at a time per service, later changes folded
//! into the next one. It does not watch files itself (`watch`) nor talk to Docker
//! except through the engine, and prints nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::Error;
use crate::engine::Engine;
use crate::model::{EngineEvent, ServiceName};
use crate::plan::{self, Plan, PlanOptions, SetupAction};
use crate::stack::{Stack, WatchAction};
use crate::watch::{self, Batch, Rules, Trigger};

/// What a change does to one service: sync, restart, both, or rebuild and recreate.
/// Returns what happened, in words ("restarted after change to src/load.py (3 files)").
/// A failed rebuild returns its error and leaves the running container as it was.
pub async fn apply_trigger(
    engine: &Engine,
    stack: &Stack,
    trigger: &Trigger,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<String, Error> {
    let service = &trigger.service;
    let cause = cause(trigger);
    let synced = |r: crate::engine::SyncReport| {
        let mut s = format!("synced {}", plural(r.copied, "file"));
        if r.removed > 0 {
            s.push_str(&format!(", removed {}", plural(r.removed, "file")));
        }
        s
    };
    let what = match trigger.action {
        WatchAction::Sync => {
            let report = engine.sync_files(stack, service, &trigger.files).await?;
            synced(report)
        }
        WatchAction::SyncRestart => {
            let report = engine.sync_files(stack, service, &trigger.files).await?;
            engine.restart(stack, service).await?;
            format!("{} and restarted", synced(report))
        }
        WatchAction::Restart => {
            engine.restart(stack, service).await?;
            "restarted".to_string()
        }
        WatchAction::Rebuild => {
            let id = engine.build_image(stack, service, events).await?;
            if recreate_service(engine, stack, service, events).await? {
                format!("rebuilt ({}) and recreated", short_id(&id))
            } else {
                format!(
                    "rebuilt ({}), image unchanged, container kept",
                    short_id(&id)
                )
            }
        }
    };
    Ok(format!("{service}: {what} after change to {cause}"))
}

/// Recreates one service if its container no longer matches (after a build: its image
/// id changed). Its dependencies are running already and are not waited for, nor are
/// other services touched (Compose's `up --no-deps`). Returns whether it recreated.
pub async fn recreate_service(
    engine: &Engine,
    stack: &Stack,
    service: &ServiceName,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<bool, Error> {
    let observed = engine.observe(stack).await?;
    let full = plan::diff(stack, &observed, PlanOptions::default());
    let Some(mut sp) = full.services.into_iter().find(|sp| sp.service == *service) else {
        return Ok(false);
    };
    if matches!(sp.change, plan::Change::Keep { .. }) {
        return Ok(false);
    }
    sp.gates.clear();
    sp.wave = 0;
    let plan = Plan {
        // Only what the one service needs (its network and volumes): never another
        // service's build, pull or orphan removal.
        setup: full
            .setup
            .into_iter()
            .filter(|a| {
                matches!(
                    a,
                    SetupAction::CreateNetwork { .. } | SetupAction::CreateVolume { .. }
                )
            })
            .collect(),
        services: vec![sp],
    };
    engine.apply(stack, &plan, events.clone()).await?;
    Ok(true)
}

/// One finished watch action, with how long it took.
#[derive(Debug)]
pub struct WatchOutcome {
    pub service: ServiceName,
    /// What happened, or why it failed.
    pub result: Result<String, Error>,
    /// Last change of the burst → action done (container running again, or files in).
    pub since_save: Duration,
    /// Debounce fired → action done: devstack's own share (includes waiting for an
    /// earlier action of the same service).
    pub own: Duration,
    /// Last change → the action began (debounce included): DESIGN's "save → restart
    /// issued" budget.
    pub issued: Duration,
}

/// Starts the watchers of `services` (all when empty) and returns the task that turns
/// each debounced burst into one action per service; while a service's action runs,
/// later bursts for it fold into one follow-up action. Watching has begun when this
/// returns (a save right after it is seen); aborting the task stops it. Progress (build
/// steps) goes to `events`, which the caller must drain; results go to `outcomes`.
pub fn spawn_watch(
    engine: Engine,
    stack: Arc<Stack>,
    services: &[ServiceName],
    events: mpsc::Sender<EngineEvent>,
    outcomes: mpsc::Sender<WatchOutcome>,
) -> Result<JoinHandle<()>, Error> {
    let rules = watch_rules(&stack, services);
    let quiet = stack.settings.debounce.unwrap_or(watch::DEFAULT_QUIET);
    let (tx, batches) = mpsc::channel::<Batch>(16);
    let handle = watch::spawn(rules, quiet, tx)?;
    Ok(tokio::spawn(async move {
        // Owned by the task: aborting the task drops the file watcher too.
        let _handle = handle;
        watch_loop(engine, stack, batches, events, outcomes).await;
    }))
}

async fn watch_loop(
    engine: Engine,
    stack: Arc<Stack>,
    mut batches: mpsc::Receiver<Batch>,
    events: mpsc::Sender<EngineEvent>,
    outcomes: mpsc::Sender<WatchOutcome>,
) {
    let mut running: JoinSet<WatchOutcome> = JoinSet::new();
    let mut busy: BTreeSet<ServiceName> = BTreeSet::new();
    // Folded triggers waiting for their service, with the latest save time and fire time.
    let mut pending: BTreeMap<ServiceName, (Trigger, Instant, Instant)> = BTreeMap::new();
    let launch =
        |running: &mut JoinSet<WatchOutcome>, t: Trigger, saved: Instant, fired: Instant| {
            let (engine, stack, events) = (engine.clone(), stack.clone(), events.clone());
            running.spawn(async move {
                let issued = saved.elapsed();
                let result = apply_trigger(&engine, &stack, &t, &events).await;
                WatchOutcome {
                    issued,
                    service: t.service,
                    result,
                    since_save: saved.elapsed(),
                    own: fired.elapsed(),
                }
            });
        };
    loop {
        tokio::select! {
            batch = batches.recv() => {
                let Some(batch) = batch else { break };
                for t in batch.triggers {
                    if busy.contains(&t.service) {
                        match pending.get_mut(&t.service) {
                            Some((p, saved, _)) => {
                                p.merge(t);
                                *saved = batch.last_change;
                            }
                            None => {
                                pending.insert(
                                    t.service.clone(),
                                    (t, batch.last_change, batch.fired),
                                );
                            }
                        }
                    } else {
                        busy.insert(t.service.clone());
                        launch(&mut running, t, batch.last_change, batch.fired);
                    }
                }
            }
            Some(done) = running.join_next(), if !running.is_empty() => {
                let Ok(outcome) = done else {
                    // An action panicked: its service stays busy rather than being
                    // worked on concurrently by a follow-up; the others go on.
                    continue;
                };
                busy.remove(&outcome.service);
                if let Some((t, saved, fired)) = pending.remove(&outcome.service) {
                    busy.insert(t.service.clone());
                    launch(&mut running, t, saved, fired);
                }
                if outcomes.send(outcome).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// The watch rules of the selected services (all when none selected).
pub fn watch_rules(stack: &Stack, services: &[ServiceName]) -> Rules {
    if services.is_empty() {
        return Rules::from_stack(stack);
    }
    let mut only = stack.clone();
    only.services.retain(|name, _| services.contains(name));
    Rules::from_stack(&only)
}

/// "src/load.py", or "src/load.py (3 files)".
fn cause(t: &Trigger) -> String {
    if t.count > 1 {
        format!("{} ({} files)", t.first, t.count)
    } else {
        t.first.clone()
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_first_file_and_the_count() {
        let mut t = Trigger {
            service: ServiceName::new("pipeline"),
            action: WatchAction::Restart,
            files: vec![],
            first: "src/load.py".into(),
            count: 1,
        };
        assert_eq!(cause(&t), "src/load.py");
        t.count = 3;
        assert_eq!(cause(&t), "src/load.py (3 files)");
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(2, "file"), "2 files");
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
