//! One-off runs of a job service (`devstack run`, the Runs view's rerun): a fresh
//! container from the service's definition, started once its `depends_on` gates are
//! met, waited for, and removed — Compose's `run --rm`.
//!
//! The container carries the project label (so `down` and the tests' cleanup find it)
//! and `io.devstack.run-of`, but not `io.devstack.service`: it is not *the* service's
//! container, so `plan::diff` never takes it for a duplicate to remove, `ps` does not
//! list it, and the readiness tracker ignores its events. Its ports are not published
//! (as with `run` without `--service-ports`), so it never clashes with the service's own.

use bollard::query_parameters::{RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::track::{Board, Status, now_since};
use super::{Engine, Error};
use crate::model::{ContainerId, EngineEvent, ServiceName, current_container, labels};
use crate::plan::{Change, Gate, ServicePlan};
use crate::stack::Stack;

/// The label naming the service a one-off container runs.
pub const RUN_OF: &str = "io.devstack.run-of";

/// A started one-off container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOff {
    pub id: ContainerId,
    pub name: String,
}

impl Engine {
    /// Waits until every `depends_on` gate of `service` is met (healthy, completed, …),
    /// judged as `up` judges them, from the daemon's events. Fails when a dependency
    /// has failed or has no container.
    pub async fn wait_gates_of(
        &self,
        stack: &Stack,
        service: &ServiceName,
        timeout: std::time::Duration,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let svc = stack.services.get(service).ok_or_else(|| Error::NotFound {
            op: "run",
            service: Some(service.clone()),
            message: "service is not in the stack".into(),
        })?;
        let gates: Vec<Gate> = svc
            .depends_on
            .iter()
            .filter(|(name, _)| stack.services.contains_key(*name))
            .map(|(name, d)| Gate {
                service: name.clone(),
                condition: d.condition,
            })
            .collect();
        if gates.is_empty() {
            return Ok(());
        }
        let since = now_since();
        let containers = self.ps(&stack.project).await?;
        let mut board = Board::default();
        for gate in &gates {
            let expected = stack.project.container_name(&gate.service);
            let of_service = containers.iter().filter(|c| c.service == gate.service);
            if let Some(c) = current_container(of_service, &expected) {
                board
                    .services
                    .insert(gate.service.clone(), Status::from_container(c));
            }
        }
        let tracker = self.track(stack, since, board, events);
        let plan = ServicePlan {
            service: service.clone(),
            wave: 0,
            gates,
            change: Change::Create,
            config_hash: String::new(),
        };
        let limit = super::apply::WaitLimit {
            deadline: tokio::time::Instant::now() + timeout,
            timeout,
        };
        self.wait_gates(&plan, limit, &tracker, events).await
    }

    /// Creates and starts a one-off container of `service`; `args`, when given, replace
    /// the service's `command`.
    pub async fn start_one_off(
        &self,
        stack: &Stack,
        service: &ServiceName,
        args: &[String],
    ) -> Result<OneOff, Error> {
        let svc = stack.services.get(service).ok_or_else(|| Error::NotFound {
            op: "run",
            service: Some(service.clone()),
            message: "service is not in the stack".into(),
        })?;
        let hash = crate::plan::config_hash(stack, svc);
        let mut body = super::spec::container(stack, svc, &hash, &[]);
        if let Some(l) = body.labels.as_mut() {
            l.remove(labels::SERVICE);
            l.insert(RUN_OF.to_string(), service.to_string());
            l.insert(labels::COMPOSE_ONEOFF.to_string(), "True".to_string());
        }
        if !args.is_empty() {
            body.cmd = Some(args.to_vec());
        }
        body.exposed_ports = None;
        if let Some(h) = body.host_config.as_mut() {
            h.port_bindings = None;
            // Run once: a restart policy would run it again behind our back.
            h.restart_policy = None;
        }
        let name = format!("{}-{}-run-{}", stack.project, service, run_suffix());
        let options = super::spec::create_options(&name, svc);
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| Error::daemon("create container", Some(service), e))?;
        let id = ContainerId(created.id);
        self.connect_networks(stack, svc, &id).await?;
        if let Err(e) = self.docker.start_container(&id.0, None).await {
            let err = Error::daemon("start container", Some(service), e);
            // Not started: it must not linger as a stopped run.
            let _ = self.remove_one_off(&id).await;
            return Err(err);
        }
        Ok(OneOff { id, name })
    }

    /// Waits for a container to exit and returns its exit code.
    pub async fn wait_exit(&self, id: &ContainerId) -> Result<i64, Error> {
        let options = WaitContainerOptionsBuilder::default()
            .condition("not-running")
            .build();
        let mut wait = self.docker.wait_container(&id.0, Some(options));
        match wait.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(Error::daemon("wait for exit", None, e)),
            None => Err(Error::Task {
                op: "wait for exit",
                message: format!("the daemon ended the wait on container '{id}' without a result"),
            }),
        }
    }

    /// When the container last started and finished, Unix nanoseconds (the finish is
    /// `None` while it runs).
    pub async fn run_times(&self, id: &ContainerId) -> Result<(Option<i64>, Option<i64>), Error> {
        let state = self.inspect_raw(&id.0, None).await?.state;
        let parse = |t: Option<String>| {
            t.and_then(|t| super::observe::parse_rfc3339_nanos(&t))
                .filter(|t| *t > 0)
        };
        Ok(match state {
            Some(s) => (parse(s.started_at), parse(s.finished_at)),
            None => (None, None),
        })
    }

    /// Removes a one-off container (forcefully: it has exited, or it never started).
    pub async fn remove_one_off(&self, id: &ContainerId) -> Result<(), Error> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(&id.0, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match Error::daemon("remove container", None, e) {
                Error::NotFound { .. } => Ok(()),
                Error::Conflict { message, .. } if message.contains("in progress") => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// A short suffix that is unique enough for container names of one project: the
/// clock's nanoseconds and the process id, hashed.
fn run_suffix() -> String {
    use sha2::{Digest, Sha256};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{nanos}-{}", std::process::id()));
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
