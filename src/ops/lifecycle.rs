//! Restart, stop or start services, all at once: `devstack restart|stop|start`, the UI's
//! `r`/`s` keys and its "stop the stack and quit".
//!
//! Returns one result per service, in the order given, so each caller decides which
//! failures to show (the UI ignores a service that has no container when stopping all).

use futures_util::future::join_all;

use crate::engine::{self, Engine};
use crate::model::ServiceName;
use crate::stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Restart,
    Stop,
    Start,
}

impl Lifecycle {
    /// The verb, for errors ("restart 'db': …").
    pub fn verb(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Stop => "stop",
            Self::Start => "start",
        }
    }

    /// The past tense, for reports ("db  restarted").
    pub fn done_word(self) -> &'static str {
        match self {
            Self::Restart => "restarted",
            Self::Stop => "stopped",
            Self::Start => "started",
        }
    }
}

/// Runs `what` on every service — a stop in reverse dependency order, in waves (each
/// wave at once, as Compose stops), so no service loses its database while it still
/// runs; a start or restart on all at once. One result per service, in the order given.
pub async fn run(
    engine: &Engine,
    stack: &Stack,
    services: &[ServiceName],
    what: Lifecycle,
) -> Vec<Result<(), engine::Error>> {
    if what == Lifecycle::Stop {
        let mut by_name: std::collections::BTreeMap<_, _> = engine
            .stop_services(stack, services)
            .await
            .into_iter()
            .collect();
        return services
            .iter()
            .map(|s| by_name.remove(s).unwrap_or(Ok(())))
            .collect();
    }
    join_all(services.iter().map(|s| run_one(engine, stack, s, what))).await
}

/// Runs `what` on one service.
pub async fn run_one(
    engine: &Engine,
    stack: &Stack,
    service: &ServiceName,
    what: Lifecycle,
) -> Result<(), engine::Error> {
    match what {
        Lifecycle::Restart => engine.restart(stack, service).await,
        Lifecycle::Stop => engine.stop(stack, service).await,
        Lifecycle::Start => engine.start(stack, service).await,
    }
}
