//! Tearing a project down and stopping, starting, restarting one service.
//!
//! Everything here selects objects by our project label, never by name alone, so it
//! cannot touch another project's or a stranger's containers, networks or volumes.

use std::collections::BTreeMap;

use bollard::query_parameters::{
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RestartContainerOptionsBuilder,
};
use futures_util::future::join_all;

use super::{Engine, Error};
use crate::model::{
    ContainerId, ContainerInfo, ProjectName, ServiceName, current_container, labels,
};
use crate::stack::Stack;

/// What `down` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    /// Container names.
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    /// Volumes labelled with the project that `down --volumes` kept because the stack
    /// file no longer declares them, or declares them `external`.
    pub kept_volumes: Vec<String>,
    /// Declared volumes `down --volumes` kept because Docker Compose made them for this
    /// project (a project devstack took over): they lack devstack's label, and a
    /// volume's labels cannot be added afterwards.
    pub compose_volumes: Vec<String>,
}

/// Which of the project's labelled volumes `down` removes.
enum VolumeScope<'a> {
    None,
    /// Every volume labelled with the project (test cleanup, no file to go by).
    AllLabelled,
    /// These Docker names only, and only those labelled with the project.
    Declared(&'a [String]),
}

impl Engine {
    /// `down` of a stack file: the project's containers and network, and with
    /// `volumes` only the non-external named volumes the file declares now (Compose's
    /// `down -v`); other volumes labelled with the project are kept and listed in
    /// [`DownReport::kept_volumes`]. Refuses, before removing anything, when the
    /// project's objects were created from another directory, unless
    /// `adopt_other_directory` (`-p` or `--force`).
    pub async fn down_stack(
        &self,
        stack: &Stack,
        volumes: bool,
        adopt_other_directory: bool,
    ) -> Result<DownReport, Error> {
        let observed = self.observe(stack).await?;
        let refusals: Vec<String> = crate::plan::ownership(stack, &observed, adopt_other_directory)
            .into_iter()
            // Objects devstack did not create are never removed by `down` anyway.
            .filter(|r| matches!(r, crate::plan::Refusal::OtherDirectory { .. }))
            .map(|r| r.to_string())
            .collect();
        if !refusals.is_empty() {
            return Err(Error::Refused { refusals });
        }
        let declared: Vec<String> = stack
            .volumes
            .values()
            .filter(|v| !v.external)
            .map(|v| v.name.clone())
            .collect();
        let scope = if volumes {
            VolumeScope::Declared(&declared)
        } else {
            VolumeScope::None
        };
        let mut report = self.down_scoped(&stack.project, scope).await?;
        if volumes {
            report.kept_volumes = self
                .project_volumes(&stack.project)
                .await?
                .into_iter()
                .filter(|v| !report.volumes.contains(v))
                .collect();
            report.compose_volumes = stack
                .volumes
                .values()
                .filter(|v| !v.external)
                .filter_map(|v| observed.volumes.get(&v.name))
                .filter(|v| {
                    !v.labels.contains_key(labels::PROJECT)
                        && v.labels.get(labels::COMPOSE_PROJECT).map(String::as_str)
                            == Some(stack.project.as_str())
                })
                .map(|v| v.name.clone())
                .collect();
        }
        Ok(report)
    }

    /// Stops the project's containers in reverse dependency order (each wave in
    /// parallel) and removes them with their anonymous volumes, then its network;
    /// with `volumes`, also EVERY volume labelled with this project, whatever a stack
    /// file says now (never external ones or anyone else's). For cleaning up a project
    /// without its file (tests); `down` of a stack is [`Engine::down_stack`].
    pub async fn down(&self, project: &ProjectName, volumes: bool) -> Result<DownReport, Error> {
        let scope = if volumes {
            VolumeScope::AllLabelled
        } else {
            VolumeScope::None
        };
        self.down_scoped(project, scope).await
    }

    /// Names of the volumes labelled with the project.
    async fn project_volumes(&self, project: &ProjectName) -> Result<Vec<String>, Error> {
        let label = super::project_filters(project, &[]);
        let list = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default().filters(&label).build(),
            ))
            .await
            .map_err(|e| Error::daemon("list volumes", None, e))?;
        let mut names: Vec<String> = list
            .volumes
            .unwrap_or_default()
            .into_iter()
            // The filter already did this; checked again because removal is forever.
            .filter(|v| v.labels.get(labels::PROJECT).map(String::as_str) == Some(project.as_str()))
            .map(|v| v.name)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn down_scoped(
        &self,
        project: &ProjectName,
        volumes: VolumeScope<'_>,
    ) -> Result<DownReport, Error> {
        let containers = self.list_project_containers(project).await?;
        let mut errors = self.stop_scheduled(&containers, true).await;
        let mut report = DownReport {
            containers: containers.iter().map(|c| c.name.clone()).collect(),
            ..Default::default()
        };
        report.containers.sort();
        // A network still in use by a container we failed to remove cannot go either.
        if !errors.is_empty() {
            return Error::collect(errors).map(|_| report);
        }

        // The network and the volumes go at the same time: nothing orders them.
        let (networks, volumes) = tokio::join!(
            self.remove_project_networks(project),
            self.remove_project_volumes(project, volumes)
        );
        let (names, mut failed) = networks?;
        report.networks = names;
        errors.append(&mut failed);
        let (names, mut failed) = volumes?;
        report.volumes = names;
        errors.append(&mut failed);
        Error::collect(errors).map(|_| report)
    }

    /// Removes the project's networks; (names removed, failures).
    async fn remove_project_networks(
        &self,
        project: &ProjectName,
    ) -> Result<(Vec<String>, Vec<Error>), Error> {
        let label = super::project_filters(project, &[]);
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&label)
                    .build(),
            ))
            .await
            .map_err(|e| Error::daemon("list networks", None, e))?;
        let mut removed = Vec::new();
        let mut errors = Vec::new();
        for n in networks {
            let (Some(id), Some(name)) = (n.id, n.name) else {
                continue;
            };
            match self.docker.remove_network(&id).await {
                Ok(()) => removed.push(name),
                Err(e) => match Error::daemon("remove network", None, e) {
                    Error::NotFound { .. } => {}
                    other => errors.push(other),
                },
            }
        }
        Ok((removed, errors))
    }

    /// Removes the project's volumes in `scope`; (names removed, failures).
    async fn remove_project_volumes(
        &self,
        project: &ProjectName,
        scope: VolumeScope<'_>,
    ) -> Result<(Vec<String>, Vec<Error>), Error> {
        let names: Vec<String> = match scope {
            VolumeScope::None => Vec::new(),
            VolumeScope::AllLabelled => self.project_volumes(project).await?,
            VolumeScope::Declared(declared) => self
                .project_volumes(project)
                .await?
                .into_iter()
                .filter(|v| declared.contains(v))
                .collect(),
        };
        let results = join_all(names.iter().map(|n| {
            self.docker
                .remove_volume(n, None::<bollard::query_parameters::RemoveVolumeOptions>)
        }))
        .await;
        let mut removed = Vec::new();
        let mut errors = Vec::new();
        for (name, r) in names.into_iter().zip(results) {
            match r {
                Ok(()) => removed.push(name),
                Err(e) => match Error::daemon("remove volume", None, e) {
                    Error::NotFound { .. } => {}
                    other => errors.push(other),
                },
            }
        }
        Ok((removed, errors))
    }

    /// Stops containers of this project in reverse dependency order, read from their
    /// `depends_on` labels (so it works without the stack file, for orphans too): each
    /// container the moment every container depending on it has stopped
    /// (`plan::stop_schedule`), not wave by wave; with `remove`, removes it for good
    /// right after its stop. Returns the failures; a failed stop does not hold back
    /// what waits for it (the old wave order did not either).
    pub(crate) async fn stop_scheduled(
        &self,
        containers: &[ContainerInfo],
        remove: bool,
    ) -> Vec<Error> {
        use futures_util::FutureExt;
        use futures_util::future::{BoxFuture, Shared};

        let mut deps: BTreeMap<ServiceName, Vec<ServiceName>> = BTreeMap::new();
        for c in containers {
            deps.entry(c.service.clone())
                .or_default()
                .extend(super::spec::depends_on_of(&c.labels));
        }
        let errors = std::sync::Mutex::new(Vec::new());
        let errors_ref = &errors;
        let mut done: BTreeMap<ServiceName, Shared<BoxFuture<'_, ()>>> = BTreeMap::new();
        for (service, after) in crate::plan::stop_schedule(&deps) {
            let before: Vec<_> = after.iter().filter_map(|a| done.get(a).cloned()).collect();
            let own: Vec<&ContainerInfo> =
                containers.iter().filter(|c| c.service == service).collect();
            let task: BoxFuture<'_, ()> = Box::pin(async move {
                let before = &before;
                let results = join_all(own.into_iter().map(|c| async move {
                    // What to remove with it is read while its dependents still stop.
                    let anonymous = if remove {
                        match self.inspect_raw(&c.id.0, Some(&c.service)).await {
                            Ok(detail) => Some(super::apply::anonymous_volumes(&detail)),
                            Err(Error::NotFound { .. }) => return Ok(()),
                            Err(e) => return Err(e),
                        }
                    } else {
                        None
                    };
                    join_all(before.iter().cloned()).await;
                    match anonymous {
                        Some(anonymous) => {
                            self.stop_and_remove(&c.id, Some(&c.service)).await?;
                            self.remove_anonymous(anonymous, Some(&c.service))
                                .await
                                .map(|_| ())
                        }
                        None => self.stop_container(&c.id, &c.service).await,
                    }
                }))
                .await;
                if let Ok(mut errors) = errors_ref.lock() {
                    errors.extend(results.into_iter().filter_map(Result::err));
                }
            });
            done.insert(service, task.shared());
        }
        join_all(done.into_values()).await;
        errors.into_inner().unwrap_or_default()
    }

    /// Stops `services` of the stack in reverse dependency order (`stop`, `Q` in the UI),
    /// each wave in parallel. One result per service, in the order given.
    pub async fn stop_services(
        &self,
        stack: &Stack,
        services: &[ServiceName],
    ) -> Vec<(ServiceName, Result<(), Error>)> {
        let mut results = BTreeMap::new();
        for wave in crate::plan::stack_stop_waves(stack, services) {
            let done = join_all(wave.iter().map(|s| self.stop(stack, s))).await;
            results.extend(wave.into_iter().zip(done));
        }
        services
            .iter()
            .filter_map(|s| Some((s.clone(), results.remove(s)?)))
            .collect()
    }

    /// Stops one container; one that is gone counts as stopped.
    async fn stop_container(&self, id: &ContainerId, service: &ServiceName) -> Result<(), Error> {
        match self
            .docker
            .stop_container(&id.0, Some(self.stop_options()))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => match Error::daemon("stop container", Some(service), e) {
                Error::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Removes one of our containers for good (`down`, orphans, reset), with its
    /// anonymous volumes — the image's `VOLUME`s it got fresh or carried over from the
    /// container it replaced. Never used on a recreate, which keeps them. Returns the
    /// volumes removed; one still used by another container stays.
    pub(crate) async fn remove_for_good(
        &self,
        id: &ContainerId,
        service: Option<&ServiceName>,
    ) -> Result<Vec<String>, Error> {
        let anonymous = match self.inspect_raw(&id.0, service).await {
            Ok(detail) => super::apply::anonymous_volumes(&detail),
            Err(Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        self.stop_and_remove(id, service).await?;
        self.remove_anonymous(anonymous, service).await
    }

    /// Removes a removed container's anonymous volumes; returns those removed.
    async fn remove_anonymous(
        &self,
        anonymous: Vec<super::spec::CarriedVolume>,
        service: Option<&ServiceName>,
    ) -> Result<Vec<String>, Error> {
        let mut removed = Vec::new();
        for v in anonymous {
            // A named volume is never anonymous; checked again because removal is forever.
            match self.docker.inspect_volume(&v.name).await {
                Ok(vol) if vol.labels.contains_key(labels::PROJECT) => continue,
                Ok(_) => {}
                Err(e) if super::error::is_404(&e) => continue,
                Err(e) => return Err(Error::daemon("inspect volume", service, e)),
            }
            match self
                .docker
                .remove_volume(
                    &v.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await
            {
                Ok(()) => removed.push(v.name),
                Err(e) => match Error::daemon("remove volume", service, e) {
                    // Gone already, or in use by another container (a duplicate's twin).
                    Error::NotFound { .. } | Error::Conflict { .. } => {}
                    other => return Err(other),
                },
            }
        }
        Ok(removed)
    }

    /// Stops the service's container (its stop signal, then SIGKILL after its grace period).
    pub async fn stop(&self, stack: &Stack, service: &ServiceName) -> Result<(), Error> {
        let c = self
            .service_container(&stack.project, service, "stop")
            .await?;
        let options = self.stop_options();
        // 304 (already stopped) is a success in bollard.
        self.docker
            .stop_container(&c.id.0, Some(options))
            .await
            .map_err(|e| Error::daemon("stop container", Some(service), e))
    }

    /// Starts the service's existing container (it does not create one: that is `up`).
    pub async fn start(&self, stack: &Stack, service: &ServiceName) -> Result<(), Error> {
        let c = self
            .service_container(&stack.project, service, "start")
            .await?;
        self.docker
            .start_container(&c.id.0, None)
            .await
            .map_err(|e| Error::daemon("start container", Some(service), e))
    }

    pub async fn restart(&self, stack: &Stack, service: &ServiceName) -> Result<(), Error> {
        let c = self
            .service_container(&stack.project, service, "restart")
            .await?;
        let mut options = RestartContainerOptionsBuilder::default();
        if let Some(t) = self.stop_timeout_secs() {
            options = options.t(t);
        }
        let options = options.build();
        self.docker
            .restart_container(&c.id.0, Some(options))
            .await
            .map_err(|e| Error::daemon("restart container", Some(service), e))
    }

    /// The container of one service (Compose's name preferred when there are several).
    pub(crate) async fn service_container(
        &self,
        project: &ProjectName,
        service: &ServiceName,
        op: &'static str,
    ) -> Result<ContainerInfo, Error> {
        let all = self.list_project_containers(project).await?;
        let expected = project.container_name(service);
        let ours = all.iter().filter(|c| &c.service == service);
        current_container(ours, &expected)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                op,
                service: Some(service.clone()),
                message: format!(
                    "project '{project}' has no container for it; run 'devstack up' first"
                ),
            })
    }
}
