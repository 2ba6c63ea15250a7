//! Bringing a stack up: build what `--build` asks for, plan against what the daemon has,
//! check the ports, apply, and wait until every service is ready — `up` in the CLI, the
//! first thing the UI does, and the last step of a reset.
//!
//! Progress goes to a channel as `EngineEvent`s; printing it is the caller's business.

use std::time::Duration;

use tokio::sync::mpsc;

use super::Error;
use crate::engine::{self, Engine};
use crate::model::{ContainerState, EngineEvent, Health, NoticeLevel, Observed};
use crate::plan::{self, PlanOptions};
use crate::stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Converged {
    /// Nothing was written: the stack was up and ready.
    AlreadyUp,
    Changed,
}

/// Plan, check ports, apply, wait until ready; progress goes to `events` (the CLI's
/// printer or the TUI), nothing is printed.
pub async fn converge_with(
    engine: &Engine,
    stack: &Stack,
    options: PlanOptions,
    timeout: Duration,
    events: mpsc::Sender<EngineEvent>,
) -> Result<Converged, Error> {
    let _lock = lock(stack, options.no_wait, &events).await?;
    // Built before planning, so the plan recreates only services whose image changed.
    let options = if options.build {
        // One at a time: parallel builds with the same first steps each make their own
        // cached layer, so an unchanged service would get a new image and be recreated.
        for service in stack.services.values().filter(|s| s.build.is_some()) {
            engine.build_image(stack, &service.name, &events).await?;
        }
        PlanOptions {
            build: false,
            ..options
        }
    } else {
        options
    };
    let observed = engine.observe(stack).await?;
    let refusals = plan::ownership(stack, &observed, options.adopt_other_directory);
    if !refusals.is_empty() {
        return Err(engine::Error::Refused {
            refusals: refusals.iter().map(ToString::to_string).collect(),
        }
        .into());
    }
    let plan = plan::diff(stack, &observed, options);
    if plan.is_noop() && observed_ready(&observed) {
        return Ok(Converged::AlreadyUp);
    }
    engine.check_ports(stack, &observed).await?;
    let mark = engine.event_mark();
    // One deadline for waiting on dependencies and on readiness alike.
    let deadline = engine
        .apply_within(stack, &plan, timeout, events.clone())
        .await?;
    engine
        .wait_ready_until(stack, deadline, timeout, Some(mark), events)
        .await?;
    Ok(Converged::Changed)
}

/// The project's lock (one `up`, `reset` or `down` of a project at a time); while
/// another devstack holds it, says so on `events` and waits, or fails with `no_wait`.
pub(crate) async fn lock(
    stack: &Stack,
    no_wait: bool,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<engine::ProjectLock, Error> {
    let project = stack.project.clone();
    Ok(engine::lock_project(&stack.project, no_wait, |pid| {
        let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
        // A full or closed channel only loses this message, not the wait.
        let _ = events.try_send(EngineEvent::Notice {
            level: NoticeLevel::Info,
            message: format!(
                "another devstack is bringing up project '{project}'{who}… waiting for it to finish"
            ),
        });
    })
    .await?)
}

/// Every container runs (healthy when it has a healthcheck) or finished with 0.
fn observed_ready(observed: &Observed) -> bool {
    observed.containers.iter().all(|c| match c.state {
        ContainerState::Running => matches!(c.health, Health::None | Health::Healthy),
        ContainerState::Exited => c.exit_code == Some(0),
        _ => false,
    })
}
