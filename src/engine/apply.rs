//! Carrying out a [`Plan`]: setup actions at once, then every service concurrently,
//! each held back by its `depends_on` gates; and waiting for a stack to be ready.
//!
//! Gates and readiness are decided from the status board (`track`), which follows the
//! daemon's event stream: nothing here sleeps or polls. This module decides nothing
//! about *what* to change — that is `plan::diff`'s job — it only does it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bollard::query_parameters::{CreateImageOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;
use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::track::{
    Board, Expect, GateStatus, Phase, Status, Tracker, gate_status, now_nanos, now_since,
    readiness, settle_left,
};
use super::{Engine, Error, LogOptions};
use crate::model::{
    ContainerId, ContainerState, EngineEvent, Health, Progress, Readiness, ServiceName, Stream,
    current_container,
};
use crate::plan::{Change, Plan, ServicePlan, SetupAction};
use crate::stack::{Condition, HealthTest, RestartPolicy, Stack};

/// How long a service without a healthcheck must stay running to count as ready
/// (`x-devstack: {settle: …}` on the service or the stack changes it).
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(1);

/// Log lines shown with a service that failed to become ready.
const FAILURE_LOG_LINES: usize = 20;

/// How long [`Engine::apply`] waits for dependencies when no timeout is given: Airflow
/// on a busy 2-core laptop needs minutes, not seconds (also `up`'s default).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// One bound for all the waiting of one `up`.
#[derive(Debug, Clone, Copy)]
pub(super) struct WaitLimit {
    pub(super) deadline: tokio::time::Instant,
    pub(super) timeout: Duration,
}

impl Engine {
    /// Makes the daemon match the plan, reporting progress on `events`. Independent
    /// services are worked on at the same time; a service waits for its gates, and
    /// fails fast when a dependency exits non-zero, turns unhealthy or fails itself.
    pub async fn apply(
        &self,
        stack: &Stack,
        plan: &Plan,
        events: mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        self.apply_within(stack, plan, DEFAULT_WAIT, events)
            .await
            .map(|_| ())
    }

    /// [`Engine::apply`], where waiting for dependencies gives up `timeout` after the
    /// images are in place (a build or pull is work, not waiting). Returns that deadline,
    /// so [`Engine::wait_ready_until`] can finish within the same bound.
    pub async fn apply_within(
        &self,
        stack: &Stack,
        plan: &Plan,
        timeout: Duration,
        events: mpsc::Sender<EngineEvent>,
    ) -> Result<tokio::time::Instant, Error> {
        // Subscribed from before the first write, so no start/die/health event of a
        // container we touch can be missed.
        let since = now_since();

        let setup = join_all(plan.setup.iter().map(|a| self.setup_one(stack, a, &events))).await;
        Error::collect(setup.into_iter().filter_map(Result::err).collect())?;
        let limit = WaitLimit {
            deadline: tokio::time::Instant::now() + timeout,
            timeout,
        };
        let creates = plan
            .services
            .iter()
            .any(|sp| !matches!(sp.change, Change::Keep { .. }));
        if creates {
            self.dedupe_network(&stack.project).await?;
        }
        if plan.services.is_empty() {
            return Ok(limit.deadline);
        }

        // Kept containers may be gates for others: their current state is the start of
        // the board (inspected, for exit code and health).
        let mut board = Board::default();
        let kept = join_all(plan.services.iter().map(|sp| async move {
            match &sp.change {
                Change::Keep { id } => {
                    let info = self.inspect(&id.0).await?;
                    Ok::<_, Error>(info.map(|i| (sp.service.clone(), Status::from_container(&i))))
                }
                Change::Start { id } => Ok(Some((
                    sp.service.clone(),
                    Status {
                        id: Some(id.clone()),
                        ..Status::default()
                    },
                ))),
                _ => Ok(None),
            }
        }))
        .await;
        for k in kept {
            if let Some((svc, status)) = k? {
                board.services.insert(svc, status);
            }
        }
        let tracker = self.track(stack, since, board, &events);

        // Concurrency within this task is enough: the work is waiting on the daemon.
        let results = join_all(
            plan.services
                .iter()
                .map(|sp| self.run_service(stack, sp, limit, &tracker, &events)),
        )
        .await;
        Error::collect(results.into_iter().filter_map(Result::err).collect())?;
        Ok(limit.deadline)
    }

    async fn setup_one(
        &self,
        stack: &Stack,
        action: &SetupAction,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        match action {
            SetupAction::CreateNetwork { name } => {
                let key = stack
                    .networks
                    .values()
                    .find(|n| n.name == *name)
                    .map_or("default", |n| n.key.as_str());
                match self
                    .docker
                    .create_network(super::spec::network(stack, key))
                    .await
                {
                    Ok(_) => Ok(()),
                    // Created meanwhile by a concurrent `up`: that is what we wanted.
                    Err(e) => match Error::daemon("create network", None, e) {
                        Error::Conflict { .. } => Ok(()),
                        other => Err(other),
                    },
                }
            }
            SetupAction::CreateVolume { key, .. } => {
                let Some(volume) = stack.volumes.get(key) else {
                    return Err(Error::NotFound {
                        op: "create volume",
                        service: None,
                        message: format!("volume '{key}' is not in the stack"),
                    });
                };
                // Creating an existing volume returns it unchanged: safe to repeat.
                self.docker
                    .create_volume(super::spec::volume(stack, volume))
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::daemon("create volume", None, e))
            }
            SetupAction::PullImage { image } => {
                let users: Vec<ServiceName> = stack
                    .services
                    .values()
                    .filter(|s| s.image == *image)
                    .map(|s| s.name.clone())
                    .collect();
                self.pull(image, &users, events).await
            }
            SetupAction::BuildImage { service, .. } => {
                self.build_image(stack, service, events).await.map(|_| ())
            }
            // Gone for good (its service left the file, or a leftover twin): its
            // anonymous volumes go with it.
            SetupAction::RemoveContainer { id, .. } => {
                self.remove_for_good(id, None).await.map(|_| ())
            }
        }
    }

    /// Pulls an image, reporting per-layer download progress as one percentage.
    async fn pull(
        &self,
        image: &str,
        users: &[ServiceName],
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        // Layer id → (downloaded, total) bytes.
        let mut layers: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let mut last_percent = None;
        for svc in users {
            emit(events, svc, Progress::Pulling { percent: None }).await;
        }
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| Error::Pull {
                image: image.to_string(),
                message: match e {
                    bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                    other => other.to_string(),
                },
            })?;
            if let (Some(id), Some(detail)) = (info.id, info.progress_detail) {
                match (info.status.as_deref(), detail.current, detail.total) {
                    (Some("Downloading"), Some(cur), Some(total)) if total > 0 => {
                        layers.insert(id, (cur, total));
                    }
                    (Some("Download complete" | "Pull complete" | "Already exists"), _, _) => {
                        let entry = layers.entry(id).or_insert((1, 1));
                        entry.0 = entry.1;
                    }
                    _ => {}
                }
            }
            let (cur, total) = layers
                .values()
                .fold((0i64, 0i64), |(c, t), (lc, lt)| (c + lc, t + lt));
            if total > 0 {
                let percent = u8::try_from((cur * 100 / total).clamp(0, 100)).unwrap_or(100);
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    for svc in users {
                        emit(
                            events,
                            svc,
                            Progress::Pulling {
                                percent: Some(percent),
                            },
                        )
                        .await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Imports a root filesystem tarball as image `reference` (`repo:tag`), offline —
    /// what `docker import` does. Returns the image id.
    pub async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
    ) -> Result<String, Error> {
        let (repo, tag) = match reference.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, t),
            _ => (reference, "latest"),
        };
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(
            Some(options),
            Some(bollard::body_full(rootfs_tar.into())),
            None,
        );
        while let Some(item) = stream.next().await {
            item.map_err(|e| Error::daemon("import image", None, e))?;
        }
        match self.image_id(reference).await? {
            Some((_, id)) => Ok(id),
            None => Err(Error::NotFound {
                op: "import image",
                service: None,
                message: format!("image '{reference}' is missing right after its import"),
            }),
        }
    }

    async fn run_service(
        &self,
        stack: &Stack,
        sp: &ServicePlan,
        limit: WaitLimit,
        tracker: &Tracker,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let result = self
            .run_service_inner(stack, sp, limit, tracker, events)
            .await;
        if let Err(e) = &result {
            // Dependents waiting on this service fail fast with this reason.
            let reason = match e {
                Error::DependencyFailed { dependency, .. } => {
                    format!("was not started because '{dependency}' failed")
                }
                other => other.to_string(),
            };
            tracker.update_service(&sp.service, |s| s.phase = Phase::Failed(reason.clone()));
            emit(events, &sp.service, Progress::Failed { reason }).await;
        }
        result
    }

    async fn run_service_inner(
        &self,
        stack: &Stack,
        sp: &ServicePlan,
        limit: WaitLimit,
        tracker: &Tracker,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let svc = &sp.service;
        // Creating does not depend on anything but the image, network and volumes (the
        // setup step): only the start waits for the service's gates. Except for a service
        // that joins another one's container (`network_mode`/`ipc` of `service:`,
        // `volumes_from`, `links`): the daemon resolves that container at create (a
        // missing one fails the create; `volumes_from` copies its mounts then), so it is
        // created after its gates, once the other exists.
        let joins_another = stack
            .services
            .get(svc)
            .is_some_and(|s| !crate::stack::implicit_dependencies(&s.options).is_empty());
        let created = match &sp.change {
            Change::Create if !joins_another => {
                Some(self.create(stack, sp, &[], tracker, events).await?)
            }
            _ => None,
        };
        self.wait_gates(sp, limit, tracker, events).await?;

        match &sp.change {
            Change::Keep { .. } => {}
            Change::Start { id } => match self.start_tracked(svc, id, tracker, events).await {
                // Gone since it was observed (the daemon rolling back a create that an
                // interrupted devstack left in flight): create it anew.
                Err(Error::NotFound { .. }) => {
                    let id = self.create(stack, sp, &[], tracker, events).await?;
                    self.start_tracked(svc, &id, tracker, events).await?;
                }
                other => other?,
            },
            Change::Create => match &created {
                Some(id) => self.start_tracked(svc, id, tracker, events).await?,
                None => {
                    let id = self.create(stack, sp, &[], tracker, events).await?;
                    self.start_tracked(svc, &id, tracker, events).await?;
                }
            },
            Change::Recreate { old, .. } => {
                // Read before the old container goes: its anonymous volumes move into the
                // new one (never removed on a recreate).
                let carried = self.carried_volumes(stack, svc, old).await?;
                emit(events, svc, Progress::Removing).await;
                self.stop_and_remove(old, Some(svc)).await?;
                let id = self.create(stack, sp, &carried, tracker, events).await?;
                self.start_tracked(svc, &id, tracker, events).await?;
            }
        }
        tracker.update_service(svc, |s| s.phase = Phase::Started);
        emit(events, svc, Progress::Done).await;
        Ok(())
    }

    /// Waits until every gate of the service is met, reporting what it waits for.
    pub(super) async fn wait_gates(
        &self,
        sp: &ServicePlan,
        limit: WaitLimit,
        tracker: &Tracker,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        if sp.gates.is_empty() {
            return Ok(());
        }
        let mut rx = tracker.subscribe();
        let mut last_reported: Option<(ServiceName, Condition, Option<String>)> = None;
        let unknown = Status::default();
        loop {
            let waiting = {
                let board = rx.borrow_and_update();
                if let Some(reason) = &board.stream_error {
                    return Err(Error::Connection {
                        op: "wait for dependencies",
                        service: Some(sp.service.clone()),
                        message: reason.clone(),
                    });
                }
                let mut waiting = None;
                for gate in &sp.gates {
                    let dep = board.services.get(&gate.service).unwrap_or(&unknown);
                    match gate_status(dep, gate.condition) {
                        GateStatus::Met => {}
                        GateStatus::Failed(reason) => {
                            return Err(Error::DependencyFailed {
                                service: sp.service.clone(),
                                dependency: gate.service.clone(),
                                reason,
                            });
                        }
                        GateStatus::Waiting(detail) => {
                            waiting = Some((gate.service.clone(), gate.condition, detail));
                            break;
                        }
                    }
                }
                waiting
            };
            let Some(w) = waiting else { return Ok(()) };
            if last_reported.as_ref() != Some(&w) {
                let (on, condition, detail) = w.clone();
                emit(
                    events,
                    &sp.service,
                    Progress::Waiting {
                        on,
                        condition,
                        detail,
                    },
                )
                .await;
                last_reported = Some(w);
            }
            tokio::select! {
                changed = rx.changed() => changed.map_err(|_| Error::Task {
                    op: "wait for dependencies",
                    message: "the event follower stopped".into(),
                })?,
                _ = tokio::time::sleep_until(limit.deadline) => {
                    let (on, condition, detail) = last_reported.unwrap_or((
                        sp.service.clone(),
                        Condition::Started,
                        None,
                    ));
                    let what = match condition {
                        Condition::Started => "started",
                        Condition::Healthy => "healthy",
                        Condition::CompletedSuccessfully => "completed successfully",
                    };
                    let mut reason = format!(
                        "was not {what} within the wait timeout of {} s",
                        limit.timeout.as_secs()
                    );
                    if let Some(d) = detail {
                        reason.push_str(&format!(" ({})", d.trim()));
                    }
                    reason.push_str("; give it longer with '--wait-timeout SECONDS'");
                    return Err(Error::DependencyFailed {
                        service: sp.service.clone(),
                        dependency: on,
                        reason,
                    });
                }
            }
        }
    }

    /// The anonymous volumes of `old` that its replacement takes over, as Compose does:
    /// those at a place the new image declares a `VOLUME` or the service an anonymous
    /// volume, which the stack does not mount anything else at.
    async fn carried_volumes(
        &self,
        stack: &Stack,
        svc: &ServiceName,
        old: &ContainerId,
    ) -> Result<Vec<super::spec::CarriedVolume>, Error> {
        let Some(service) = stack.services.get(svc) else {
            return Ok(Vec::new());
        };
        let detail = match self.inspect_raw(&old.0, Some(svc)).await {
            Ok(d) => d,
            Err(Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let image_volumes: Vec<String> = match self.docker.inspect_image(&service.image).await {
            Ok(img) => img
                .config
                .and_then(|c| c.volumes)
                .map(|v| v.into_iter().map(|t| clean_target(&t)).collect())
                .unwrap_or_default(),
            Err(e) => return Err(Error::daemon("inspect image", Some(svc), e)),
        };
        let anonymous_in_stack = |target: &str| {
            service.mounts.iter().any(|m| {
                matches!(m.source, crate::stack::MountSource::Anonymous)
                    && clean_target(&m.target) == target
            })
        };
        Ok(anonymous_volumes(&detail)
            .into_iter()
            .filter(|v| image_volumes.contains(&v.target) || anonymous_in_stack(&v.target))
            .collect())
    }

    /// Creates the service's container and records it on the board (not started yet).
    async fn create(
        &self,
        stack: &Stack,
        sp: &ServicePlan,
        carried: &[super::spec::CarriedVolume],
        tracker: &Tracker,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<ContainerId, Error> {
        let svc = &sp.service;
        let service = stack.services.get(svc).ok_or_else(|| Error::NotFound {
            op: "create container",
            service: Some(svc.clone()),
            message: "service is not in the stack".into(),
        })?;
        emit(events, svc, Progress::Creating).await;
        let name = service.container_name(&stack.project);
        let options = super::spec::create_options(&name, service);
        let mut body = super::spec::container(stack, service, &sp.config_hash, carried);
        if !self.exec_probes() {
            // The daemon probes soon after the start itself: no exec probes needed.
            body.healthcheck = super::probe::fast_start(body.healthcheck);
        }
        // The name can be taken by a container that was not there when we looked: one an
        // interrupted devstack had asked for, which the daemon finishes creating (or
        // rolls back) afterwards. If it is ours it goes and we try again; anything else
        // is left alone.
        let mut attempts = 0;
        let created = loop {
            attempts += 1;
            match self
                .docker
                .create_container(Some(options.clone()), body.clone())
                .await
                .map_err(|e| Error::daemon("create container", Some(svc), e))
            {
                Err(Error::Conflict { message, .. })
                    if message.contains("already in use") && attempts < 10 =>
                {
                    if !self
                        .remove_if_ours(&stack.project, &name, svc, message)
                        .await?
                    {
                        // The name is reserved by a create still under way in the daemon
                        // (nothing to inspect yet, and no event announces it): give it a
                        // moment, a little longer each time.
                        tokio::time::sleep(Duration::from_millis(50 * attempts)).await;
                    }
                }
                other => break other?,
            }
        };
        let id = ContainerId(created.id);
        self.connect_networks(stack, service, &id).await?;
        let healthcheck = match &service.healthcheck {
            Some(h) => h.test != HealthTest::Disabled,
            // The image may bring its own HEALTHCHECK: the created container's config
            // has the merged result.
            None => {
                let detail = self.inspect_raw(&id.0, Some(svc)).await?;
                detail
                    .config
                    .and_then(|c| c.healthcheck)
                    .and_then(|h| h.test)
                    .is_some_and(|t| t.first().is_some_and(|f| f != "NONE"))
            }
        };
        tracker.update_service(svc, |s| {
            s.id = Some(id.clone());
            s.healthcheck = healthcheck;
        });
        Ok(id)
    }

    /// Joins a new container to the service's networks after the first (API 1.41 takes
    /// one at create). A container that could not join them all is removed: kept, a
    /// later `up` would find its config current and start it half connected.
    pub(crate) async fn connect_networks(
        &self,
        stack: &Stack,
        service: &crate::stack::Service,
        id: &ContainerId,
    ) -> Result<(), Error> {
        for (network, endpoint) in super::spec::endpoints(stack, service).into_iter().skip(1) {
            let request = bollard::models::NetworkConnectRequest {
                container: id.0.clone(),
                endpoint_config: Some(endpoint),
            };
            if let Err(e) = self.docker.connect_network(&network, request).await {
                let err = Error::daemon("connect network", Some(&service.name), e);
                let options = RemoveContainerOptionsBuilder::default().force(true).build();
                // The connect error is the one to report; a failed clean-up is left for
                // the next `up`, which removes what it cannot use.
                let _ = self.docker.remove_container(&id.0, Some(options)).await;
                return Err(err);
            }
        }
        Ok(())
    }

    /// Starts a container whose id is on the board, resetting its recorded state so an
    /// earlier exit is not taken for this run's.
    async fn start_tracked(
        &self,
        svc: &ServiceName,
        id: &ContainerId,
        tracker: &Tracker,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        tracker.update_service(svc, |s| {
            s.id = Some(id.clone());
            s.state = Some(ContainerState::Created);
            s.exit_code = None;
            s.health = Health::None;
        });
        emit(events, svc, Progress::Starting).await;
        // 304 (already started) is a success in bollard.
        self.docker
            .start_container(&id.0, None)
            .await
            .map_err(|e| Error::daemon("start container", Some(svc), e))?;
        tracker.probe(svc, id);
        Ok(())
    }

    /// The last exit code of each of the project's containers that died between two
    /// event marks, by container id (0 included). The daemon answers a bounded query
    /// from its own record, so nothing before `to` can be missing from it.
    async fn exits_between(
        &self,
        project: &crate::model::ProjectName,
        from: &str,
        to: &str,
    ) -> Result<HashMap<String, i64>, Error> {
        let filters = super::project_filters(project, &[("type", "container"), ("event", "die")]);
        let options = bollard::query_parameters::EventsOptionsBuilder::default()
            .since(from)
            .until(to)
            .filters(&filters)
            .build();
        let mut stream = self.docker.events(Some(options));
        let mut exits = HashMap::new();
        while let Some(event) = stream.next().await {
            let event = event.map_err(|e| Error::daemon("read events", None, e))?;
            let Some(actor) = event.actor else { continue };
            let code = actor
                .attributes
                .as_ref()
                .and_then(|a| a.get("exitCode"))
                .and_then(|c| c.parse::<i64>().ok())
                .unwrap_or(-1);
            if let Some(id) = actor.id {
                exits.insert(id, code);
            }
        }
        Ok(exits)
    }

    /// Starts following the daemon's events for `board`. A stopped container shows no
    /// health, so whether a service has a healthcheck comes from the stack where it says
    /// so; else a `service_healthy` gate on a stopped service would fail.
    pub(super) fn track(
        &self,
        stack: &Stack,
        since: String,
        mut board: Board,
        events: &mpsc::Sender<EngineEvent>,
    ) -> Tracker {
        for (name, svc) in &stack.services {
            if let (Some(s), Some(h)) = (board.services.get_mut(name), &svc.healthcheck) {
                s.healthcheck = h.test != HealthTest::Disabled;
            }
        }
        Tracker::start(
            self,
            &stack.project,
            since,
            board,
            health_retries(stack),
            Some(events.clone()),
        )
    }

    /// Returns once the container is gone (the daemon's wait on `removed`), at most 30 s.
    async fn wait_removed(&self, id: &str, svc: &ServiceName) -> Result<(), Error> {
        let options = bollard::query_parameters::WaitContainerOptionsBuilder::default()
            .condition("removed")
            .build();
        let mut wait = self.docker.wait_container(id, Some(options));
        let gone = async {
            // The first answer settles it: removed, gone before the wait began (404), or
            // an exit on its way out all mean the name is free or about to be.
            match wait.next().await {
                Some(Err(e))
                    if !super::error::is_404(&e)
                        && !matches!(
                            e,
                            bollard::errors::Error::DockerContainerWaitError { .. }
                        ) =>
                {
                    Err(Error::daemon("wait for removal", Some(svc), e))
                }
                _ => Ok(()),
            }
        };
        match tokio::time::timeout(Duration::from_secs(30), gone).await {
            Ok(result) => result,
            Err(_) => Err(Error::Task {
                op: "wait for removal",
                message: format!("container '{id}' of service '{svc}' was not removed within 30 s"),
            }),
        }
    }

    /// Docker 20.10 lets two networks share a name (API 1.41 has no duplicate check in
    /// bollard's request), and an interrupted `up` can leave a create in flight that
    /// lands after the next `up` looked. Containers name their network, so with two of
    /// them every start fails as "ambiguous": keep the oldest of ours, remove the rest.
    async fn dedupe_network(&self, project: &crate::model::ProjectName) -> Result<(), Error> {
        let name = project.network_name();
        let filters = super::project_filters(project, &[("name", &name)]);
        let options = bollard::query_parameters::ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        let mut ours: Vec<(String, String)> = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| Error::daemon("list networks", None, e))?
            .into_iter()
            // The name filter matches substrings.
            .filter(|n| n.name.as_deref() == Some(name.as_str()))
            .filter_map(|n| Some((n.created.map(|c| c.to_string()).unwrap_or_default(), n.id?)))
            .collect();
        if ours.len() < 2 {
            return Ok(());
        }
        ours.sort();
        for (_, id) in ours.into_iter().skip(1) {
            match self.docker.remove_network(&id).await {
                Ok(()) => {}
                Err(e) => match Error::daemon("remove duplicate network", None, e) {
                    Error::NotFound { .. } => {}
                    other => return Err(other),
                },
            }
        }
        Ok(())
    }

    /// Removes the container called `name` when it carries this project's label (`true`);
    /// `false` when there is none to inspect; otherwise the name conflict stands, as the
    /// daemon reported it.
    async fn remove_if_ours(
        &self,
        project: &crate::model::ProjectName,
        name: &str,
        svc: &ServiceName,
        conflict: String,
    ) -> Result<bool, Error> {
        let detail = match self.inspect_raw(name, Some(svc)).await {
            Ok(d) => d,
            // Not there (yet, or any more: the daemon rolled the half-made one back).
            Err(Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let ours = detail
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(crate::model::labels::PROJECT))
            .is_some_and(|p| p == project.as_str());
        match (ours, detail.id) {
            (true, Some(id)) => {
                self.stop_and_remove(&ContainerId(id.clone()), Some(svc))
                    .await?;
                // Another removal of it may still be under way (stop_and_remove accepts
                // "removal already in progress"): the name is free once it is gone.
                self.wait_removed(&id, svc).await?;
                Ok(true)
            }
            _ => Err(Error::Conflict {
                op: "create container",
                service: Some(svc.clone()),
                message: format!(
                    "{conflict} (that container is not one of project '{project}', so devstack leaves it alone; remove or rename it)"
                ),
            }),
        }
    }

    /// Stops (with the grace period) and removes one of our containers. Anonymous
    /// volumes are kept: an image's `VOLUME` may hold data the user expects to survive
    /// a recreate (Compose keeps them too).
    pub(crate) async fn stop_and_remove(
        &self,
        id: &ContainerId,
        service: Option<&ServiceName>,
    ) -> Result<(), Error> {
        match self
            .docker
            .stop_container(&id.0, Some(self.stop_options()))
            .await
        {
            Ok(()) => {}
            Err(e) => match Error::daemon("stop container", service, e) {
                // Already gone: nothing left to remove.
                Error::NotFound { .. } => return Ok(()),
                other => return Err(other),
            },
        }
        let remove = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(&id.0, Some(remove)).await {
            Ok(()) => Ok(()),
            Err(e) => match Error::daemon("remove container", service, e) {
                Error::NotFound { .. } => Ok(()),
                // "removal already in progress" (another down/up racing): it will be gone.
                Error::Conflict { message, .. } if message.contains("in progress") => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Returns once every service is ready (`up --detach`): running, healthy when it
    /// has a healthcheck, and one-shots (services others wait on to complete) exited 0.
    /// Fails at the first service that exits, turns unhealthy, or is not ready in
    /// time, with its state, exit code, last log lines and last probe output.
    pub async fn wait_ready(
        &self,
        stack: &Stack,
        timeout: Duration,
        events: mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        self.wait_ready_after(stack, timeout, None, events).await
    }

    /// A point in the daemon's event history, taken before `apply`, so that
    /// [`Engine::wait_ready_after`] also knows what happened during it.
    pub fn event_mark(&self) -> String {
        now_since()
    }

    /// [`Engine::wait_ready`], also counting the crashes since `mark`: a container that
    /// exited non-zero during `apply` and was already brought back by its restart policy
    /// looks merely running now, but it is crash-looping.
    pub async fn wait_ready_after(
        &self,
        stack: &Stack,
        timeout: Duration,
        mark: Option<String>,
        events: mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.wait_ready_until(stack, deadline, timeout, mark, events)
            .await
    }

    /// [`Engine::wait_ready_after`] ending at `deadline` (from [`Engine::apply_within`],
    /// so one timeout bounds the whole wait of an `up`); `timeout` is named in messages.
    /// An unhealthy service that still runs is waited for — a probe that timed out on a
    /// busy machine may pass later — and reported as slow; only an exit, a crash loop or
    /// the deadline ends the wait with a failure.
    pub async fn wait_ready_until(
        &self,
        stack: &Stack,
        deadline: tokio::time::Instant,
        timeout: Duration,
        mark: Option<String>,
        events: mpsc::Sender<EngineEvent>,
    ) -> Result<(), Error> {
        let since = now_since();
        let exits = match &mark {
            Some(m) => self.exits_between(&stack.project, m, &since).await?,
            None => HashMap::new(),
        };
        // Where the last look for exits starts: everything since `up` began.
        let mark = mark.unwrap_or_else(|| since.clone());
        let mut board = Board::default();
        let containers = self.ps(&stack.project).await?;
        for (name, service) in &stack.services {
            let expected = service.container_name(&stack.project);
            let of_service = containers.iter().filter(|c| &c.service == name);
            if let Some(c) = current_container(of_service, &expected) {
                let mut status = Status::from_container(c);
                let exit = exits.get(&c.id.0).copied();
                status.crashed = status.crashed.or(exit.filter(|code| *code != 0));
                status.died = exit;
                board.services.insert(name.clone(), status);
            }
        }
        let starting: Vec<(ServiceName, ContainerId)> = board
            .services
            .iter()
            .filter(|(_, s)| {
                s.state == Some(ContainerState::Running)
                    && matches!(s.health, Health::Starting | Health::None)
            })
            .filter_map(|(name, s)| Some((name.clone(), s.id.clone()?)))
            .collect();
        let tracker = self.track(stack, since, board, &events);
        // Services still starting are probed by devstack too: their first passing probe
        // makes them ready before Docker's first scheduled one.
        for (name, id) in &starting {
            tracker.probe(name, id);
        }
        let one_shots = one_shots(stack);
        let expect = |name: &ServiceName| {
            if one_shots.contains(name) {
                Expect::Completion
            } else if stack.services.get(name).is_some_and(|s| {
                matches!(s.restart, RestartPolicy::No | RestartPolicy::OnFailure(_))
            }) {
                Expect::RunningOrDone
            } else {
                Expect::Running
            }
        };
        let settle = |name: &ServiceName| {
            stack
                .services
                .get(name)
                .and_then(|s| s.settings.settle)
                .or(stack.settings.settle)
                .unwrap_or(DEFAULT_SETTLE)
        };
        let mut rx = tracker.subscribe();
        let mut done: BTreeSet<ServiceName> = BTreeSet::new();
        loop {
            let mut newly_ready = Vec::new();
            // The soonest a service still settling may count as ready.
            let mut wake: Option<Duration> = None;
            let now = now_nanos();
            let (failed, pending) = {
                let board = rx.borrow_and_update();
                if let Some(reason) = &board.stream_error {
                    return Err(Error::Connection {
                        op: "wait for the stack",
                        service: None,
                        message: reason.clone(),
                    });
                }
                let mut failed = None;
                let mut pending = Vec::new();
                for name in stack.services.keys() {
                    let status = board.services.get(name);
                    let left = status.and_then(|s| settle_left(s, settle(name), now));
                    match readiness(status, expect(name)) {
                        GateStatus::Met if left.is_some() => {
                            let left = left.unwrap_or_default();
                            wake = Some(wake.map_or(left, |w| w.min(left)));
                            pending.push((
                                name.clone(),
                                format!(
                                    "running; ready once it has stayed up {} ms",
                                    settle(name).as_millis()
                                ),
                                status.cloned(),
                            ));
                        }
                        GateStatus::Met => {
                            if done.insert(name.clone()) {
                                let how = match status {
                                    Some(s) if s.health == Health::Healthy => Readiness::Healthy,
                                    Some(s) if super::track::probe_counts(s) => Readiness::Probed {
                                        after_ms: s.probe_after.map(|d| {
                                            u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
                                        }),
                                    },
                                    Some(s) if s.state == Some(ContainerState::Running) => {
                                        Readiness::Running
                                    }
                                    _ => Readiness::Completed,
                                };
                                newly_ready.push((name.clone(), how));
                            }
                        }
                        GateStatus::Failed(reason) => {
                            failed = Some((name.clone(), reason, status.cloned()));
                            break;
                        }
                        GateStatus::Waiting(detail) => pending.push((
                            name.clone(),
                            detail.unwrap_or_else(|| "starting".into()),
                            status.cloned(),
                        )),
                    }
                }
                (failed, pending)
            };
            // Sent after the board's borrow ends: a full channel must not block its writer.
            for (name, how) in &newly_ready {
                emit(&events, name, Progress::Ready(*how)).await;
            }
            if let Some((service, reason, status)) = failed {
                // Seen between its exit and the restart the daemon is about to do: it
                // is crash-looping, whichever of the two the board saw last.
                let restarts = stack
                    .services
                    .get(&service)
                    .is_some_and(|svc| svc.restart != RestartPolicy::No);
                let reason = match status.as_ref().and_then(|s| s.crashed) {
                    Some(code) if restarts && !reason.starts_with("keeps") => format!(
                        "keeps crashing: exited with code {code} and its restart policy restarts it"
                    ),
                    _ => reason,
                };
                let err = self.not_ready(&service, reason, status.as_ref()).await;
                emit(
                    &events,
                    &service,
                    Progress::Failed {
                        reason: err.to_string(),
                    },
                )
                .await;
                return Err(err);
            }
            if pending.is_empty() {
                // One last look, from the daemon's own record: an exit the event stream
                // has not delivered yet (a loaded machine) still counts, so a service
                // that died during its settle time can never pass as ready.
                let exits = self
                    .exits_between(&stack.project, &mark, &now_since())
                    .await?;
                let board = rx.borrow().clone();
                for (name, s) in &board.services {
                    let code = s.id.as_ref().and_then(|id| exits.get(&id.0)).copied();
                    let Some(code) = code else { continue };
                    let restarts = stack
                        .services
                        .get(name)
                        .is_some_and(|svc| svc.restart != RestartPolicy::No);
                    let reason = match expect(name) {
                        Expect::Completion => continue,
                        Expect::RunningOrDone if code == 0 => continue,
                        _ if restarts => format!(
                            "keeps crashing: exited with code {code} and was restarted by its restart policy"
                        ),
                        _ => format!("exited with code {code}"),
                    };
                    return Err(self.not_ready(name, reason, Some(s)).await);
                }
                return Ok(());
            }
            let settle_wake = async {
                match wake {
                    Some(w) => tokio::time::sleep(w).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = rx.changed() => changed.map_err(|_| Error::Task {
                    op: "wait for the stack",
                    message: "the event follower stopped".into(),
                })?,
                () = settle_wake => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let mut errors = Vec::new();
                    for (service, detail, status) in pending {
                        let reason = format!(
                            "was not ready within the wait timeout of {} s ({detail}); give it longer with '--wait-timeout SECONDS'",
                            timeout.as_secs()
                        );
                        errors.push(self.not_ready(&service, reason, status.as_ref()).await);
                    }
                    return Error::collect(errors);
                }
            }
        }
    }

    /// The failure report of a service that is not ready: state, logs, last probe.
    async fn not_ready(
        &self,
        service: &ServiceName,
        reason: String,
        status: Option<&Status>,
    ) -> Error {
        let mut logs = Vec::new();
        let mut health_output = status.and_then(|s| s.last_probe.clone());
        if let Some(id) = status.and_then(|s| s.id.as_ref()) {
            // The report is best effort: a daemon error here must not hide the failure
            // being reported, so it becomes a line of the report instead.
            let options = LogOptions {
                follow: false,
                tail: Some(FAILURE_LOG_LINES),
                since_nanos: None,
            };
            let mut stream = Box::pin(self.follow_logs(service, &id.0, options));
            while let Some(line) = stream.next().await {
                match line {
                    Ok(l) => logs.push(match l.stream {
                        Stream::Stdout => l.text,
                        Stream::Stderr => format!("{} (stderr)", l.text),
                    }),
                    Err(e) => {
                        logs.push(format!("(could not read logs: {e})"));
                        break;
                    }
                }
            }
            if let Ok(detail) = self.inspect_raw(&id.0, Some(service)).await
                && let Some(summary) = super::track::last_probe_summary(&detail)
            {
                health_output = Some(summary);
            }
        }
        Error::Unhealthy {
            service: service.clone(),
            reason,
            state: status.and_then(|s| s.state),
            exit_code: status.and_then(|s| s.exit_code),
            logs,
            health_output,
        }
    }
}

/// A mount target as the daemon compares them: no trailing `/`.
fn clean_target(t: &str) -> String {
    match t.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// The anonymous volumes a container has: volume mounts the daemon made for an image
/// `VOLUME` (no mount asked for there), for a mount without a source, or that devstack
/// carried over from the container it replaced ([`super::spec::CARRIED_VOLUMES_LABEL`]).
/// A named volume of the stack is never one of them.
pub(crate) fn anonymous_volumes(
    detail: &bollard::models::ContainerInspectResponse,
) -> Vec<super::spec::CarriedVolume> {
    let carried: Vec<String> = detail
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(super::spec::CARRIED_VOLUMES_LABEL))
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
        .unwrap_or_default()
        .iter()
        .map(|t| clean_target(t))
        .collect();
    let asked: Vec<(String, Option<String>)> = detail
        .host_config
        .as_ref()
        .and_then(|h| h.mounts.as_ref())
        .map(|ms| {
            ms.iter()
                .filter_map(|m| {
                    Some((
                        clean_target(m.target.as_deref()?),
                        m.source.clone().filter(|s| !s.is_empty()),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    // `-v name:/path` style binds (not made by devstack, but adopted containers have them).
    let binds: Vec<String> = detail
        .host_config
        .as_ref()
        .and_then(|h| h.binds.as_ref())
        .map(|bs| {
            bs.iter()
                .filter_map(|b| {
                    let mut parts = b.split(':');
                    let first = parts.next()?;
                    Some(clean_target(parts.next().unwrap_or(first)))
                })
                .collect()
        })
        .unwrap_or_default();
    detail
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| {
            let target = clean_target(m.destination.as_deref()?);
            let name = m.name.clone()?;
            let anonymous = if carried.contains(&target) {
                true
            } else if binds.contains(&target) {
                false
            } else {
                match asked.iter().find(|(t, _)| *t == target) {
                    None => true,
                    Some((_, source)) => source.is_none(),
                }
            };
            anonymous.then(|| super::spec::CarriedVolume {
                target,
                name,
                read_only: !m.rw.unwrap_or(true),
            })
        })
        .collect()
}

/// Services that others wait on to complete: exiting 0 is their goal state.
fn one_shots(stack: &Stack) -> BTreeSet<ServiceName> {
    stack
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::CompletedSuccessfully)
        .map(|(name, _)| name.clone())
        .collect()
}

fn health_retries(stack: &Stack) -> HashMap<ServiceName, u32> {
    stack
        .services
        .values()
        .filter_map(|s| {
            let h = s.healthcheck.as_ref()?;
            Some((s.name.clone(), h.retries.unwrap_or(3)))
        })
        .collect()
}

/// Sends a progress event; a receiver that went away is not an error of the engine.
async fn emit(events: &mpsc::Sender<EngineEvent>, service: &ServiceName, progress: Progress) {
    let _ = events
        .send(EngineEvent::Progress {
            service: service.clone(),
            progress,
        })
        .await;
}
