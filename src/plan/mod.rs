//! Desired versus observed: what must change on the daemon for the stack to converge.
//!
//! Pure functions over plain data. Nothing here performs I/O, awaits, or knows about
//! bollard; `engine::apply` carries a [`Plan`] out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{
    ContainerId, ContainerInfo, ContainerState, Observed, ServiceName, current_container, labels,
};
use crate::stack::{Condition, Service, Stack};

#[cfg(test)]
mod tests;

/// Work that does not belong to one service and can all run at once, before services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SetupAction {
    CreateNetwork {
        name: String,
    },
    CreateVolume {
        key: String,
        name: String,
    },
    /// The image is not present locally and the service has no `build:`.
    PullImage {
        image: String,
    },
    BuildImage {
        service: ServiceName,
        image: String,
    },
    /// A container of ours that must go: its service left the file, or it is a second
    /// container of one service (left by an interrupted run).
    RemoveContainer {
        id: ContainerId,
        name: String,
        reason: RemoveReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RemoveReason {
    Orphan,
    Duplicate,
}

/// What happens to one service's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Change {
    /// Running (or a one-shot that completed successfully) with the current config.
    Keep { id: ContainerId },
    /// Exists with the current config but is not running.
    Start { id: ContainerId },
    /// No container yet.
    Create,
    /// Exists with a different config or image: remove, create, start.
    Recreate {
        old: ContainerId,
        reason: RecreateReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecreateReason {
    ConfigChanged,
    ImageChanged,
    /// Not created by devstack (no config-hash label), e.g. adopted from Compose.
    NotOurs,
    Forced,
}

/// A gate: this service waits until `service` satisfies `condition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gate {
    pub service: ServiceName,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePlan {
    pub service: ServiceName,
    /// 0 for services without dependencies, else 1 + the highest wave of a dependency.
    /// Services of one wave are independent and start in parallel.
    pub wave: usize,
    pub gates: Vec<Gate>,
    pub change: Change,
    /// The hash to label a created container with.
    pub config_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub setup: Vec<SetupAction>,
    /// In dependency order (by wave, then name).
    pub services: Vec<ServicePlan>,
}

impl Plan {
    /// True when applying the plan writes nothing to the daemon.
    pub fn is_noop(&self) -> bool {
        self.setup.is_empty()
            && self
                .services
                .iter()
                .all(|s| matches!(s.change, Change::Keep { .. }))
    }

    pub fn waves(&self) -> Vec<Vec<&ServicePlan>> {
        let mut waves: Vec<Vec<&ServicePlan>> = Vec::new();
        for s in &self.services {
            if waves.len() <= s.wave {
                waves.resize_with(s.wave + 1, Vec::new);
            }
            waves[s.wave].push(s);
        }
        waves
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `up --build`: build every service that has `build:`, even when its image exists.
    pub build: bool,
    /// `up --force-recreate`.
    pub force_recreate: bool,
    /// Keep containers of services that are no longer in the file.
    pub keep_orphans: bool,
    /// `-p` given or `--force`: objects of this project name created from another
    /// directory are this stack's to change (see [`ownership`]).
    pub adopt_other_directory: bool,
    /// `up --no-wait`: fail at once when another devstack is bringing the project up,
    /// instead of waiting for it to finish.
    pub no_wait: bool,
}

/// The hash stored in `io.devstack.config-hash`: everything about a service that shapes
/// its container, with named volumes by their Docker name (renaming a volume must move
/// the container to it). Watch rules and devstack-only settings are left out, since
/// changing them must not recreate anything.
pub fn config_hash(stack: &Stack, service: &Service) -> String {
    #[derive(Serialize)]
    struct Shape<'a> {
        // Left out when unset, so adding these keys changed no existing container's hash.
        #[serde(skip_serializing_if = "Option::is_none")]
        stop_grace_period: Option<std::time::Duration>,
        #[serde(skip_serializing_if = "Option::is_none")]
        stop_signal: Option<&'a str>,
        image: &'a str,
        command: &'a Option<Vec<String>>,
        entrypoint: &'a Option<Vec<String>>,
        environment: BTreeMap<&'a str, &'a str>,
        ports: &'a [crate::stack::PortBinding],
        mounts: &'a [crate::stack::Mount],
        healthcheck: &'a Option<crate::stack::Healthcheck>,
        restart: &'a crate::stack::RestartPolicy,
        working_dir: &'a Option<String>,
        user: &'a Option<String>,
        labels: &'a BTreeMap<String, String>,
        volume_names: Vec<&'a str>,
        // Left out when unset so the hashes of existing containers stay as they were.
        #[serde(skip_serializing_if = "crate::stack::ContainerOptions::is_unset")]
        options: &'a crate::stack::ContainerOptions,
    }
    let shape = Shape {
        stop_grace_period: service.stop_grace_period,
        stop_signal: service.stop_signal.as_deref(),
        volume_names: service
            .mounts
            .iter()
            .filter_map(|m| match &m.source {
                crate::stack::MountSource::Volume(key) => {
                    stack.volumes.get(key).map(|v| v.name.as_str())
                }
                _ => None,
            })
            .collect(),
        image: &service.image,
        command: &service.command,
        entrypoint: &service.entrypoint,
        environment: service
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect(),
        ports: &service.ports,
        mounts: &service.mounts,
        healthcheck: &service.healthcheck,
        restart: &service.restart,
        working_dir: &service.working_dir,
        user: &service.user,
        labels: &service.labels,
        options: &service.options,
    };
    // Serialising plain owned data with derived impls cannot fail; fall back to Debug
    // rather than panic so the hash stays a total function.
    let json = serde_json::to_vec(&shape).unwrap_or_else(|_| format!("{:?}", service).into_bytes());
    let digest = Sha256::digest(&json);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Dependency depth of every service. The loader rejects cycles; a cycle that slips
/// through still terminates here (the back edge is ignored).
pub fn waves(stack: &Stack) -> BTreeMap<ServiceName, usize> {
    fn visit(
        stack: &Stack,
        name: &ServiceName,
        done: &mut BTreeMap<ServiceName, usize>,
        on_path: &mut BTreeSet<ServiceName>,
    ) -> usize {
        if let Some(w) = done.get(name) {
            return *w;
        }
        if !on_path.insert(name.clone()) {
            return 0;
        }
        let wave = stack
            .services
            .get(name)
            .map(|svc| {
                svc.depends_on
                    .keys()
                    .filter(|d| stack.services.contains_key(*d))
                    .map(|d| visit(stack, d, done, on_path) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        on_path.remove(name);
        done.insert(name.clone(), wave);
        wave
    }
    let mut done = BTreeMap::new();
    let mut on_path = BTreeSet::new();
    for name in stack.services.keys() {
        visit(stack, name, &mut done, &mut on_path);
    }
    done
}

/// The order to stop services in: waves, each stopped together, a service only after
/// every service that depends on it (Compose's reverse dependency order), so nothing
/// loses its database while it still runs. `deps` maps each service to what it depends
/// on; a dependency outside the map is ignored, and a cycle (which the loader rejects)
/// is stopped as one wave.
pub fn stop_waves(deps: &BTreeMap<ServiceName, Vec<ServiceName>>) -> Vec<Vec<ServiceName>> {
    let mut remaining: BTreeSet<&ServiceName> = deps.keys().collect();
    let mut waves = Vec::new();
    while !remaining.is_empty() {
        let needed = |s: &ServiceName| {
            remaining
                .iter()
                .any(|r| *r != s && deps.get(*r).is_some_and(|d| d.contains(s)))
        };
        let mut wave: Vec<ServiceName> = remaining
            .iter()
            .filter(|s| !needed(s))
            .map(|s| (*s).clone())
            .collect();
        if wave.is_empty() {
            wave = remaining.iter().map(|s| (*s).clone()).collect();
        }
        for s in &wave {
            remaining.remove(s);
        }
        waves.push(wave);
    }
    waves
}

/// The stop order without waves: each service with the services that must have stopped
/// before it (its dependents among those stopped), in an order where those always come
/// earlier — so each is stopped the moment its own dependents are gone, not when a
/// whole wave is. A cycle (which the loader rejects) holds nothing back within it.
pub fn stop_schedule(
    deps: &BTreeMap<ServiceName, Vec<ServiceName>>,
) -> Vec<(ServiceName, Vec<ServiceName>)> {
    let waves = stop_waves(deps);
    let wave_of: BTreeMap<&ServiceName, usize> = waves
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.iter().map(move |s| (s, i)))
        .collect();
    waves
        .iter()
        .flatten()
        .map(|s| {
            let after = deps
                .iter()
                .filter(|(d, on)| {
                    *d != s && on.contains(s) && wave_of.get(d).copied() < wave_of.get(s).copied()
                })
                .map(|(d, _)| d.clone())
                .collect();
            (s.clone(), after)
        })
        .collect()
}

/// [`stop_waves`] for services of `stack`, from its `depends_on`.
pub fn stack_stop_waves(stack: &Stack, services: &[ServiceName]) -> Vec<Vec<ServiceName>> {
    let deps = services
        .iter()
        .map(|s| {
            let on = stack
                .services
                .get(s)
                .map(|svc| svc.depends_on.keys().cloned().collect())
                .unwrap_or_default();
            (s.clone(), on)
        })
        .collect();
    stop_waves(&deps)
}

/// What must happen for the daemon to match the stack.
pub fn diff(stack: &Stack, observed: &Observed, options: PlanOptions) -> Plan {
    let mut setup = Vec::new();

    // The default network is made even when every service lists others (as devstack
    // always has); the others only when a service joins them.
    if observed.network.is_none() && !stack.network_is_external("default") {
        setup.push(SetupAction::CreateNetwork {
            name: stack.network_name("default"),
        });
    }
    for key in stack.used_networks() {
        let name = stack.network_name(&key);
        if key != "default"
            && !stack.network_is_external(&key)
            && !observed.networks.contains_key(&name)
        {
            setup.push(SetupAction::CreateNetwork { name });
        }
    }
    for volume in stack.volumes.values() {
        if !volume.external && !observed.volumes.contains_key(&volume.name) {
            setup.push(SetupAction::CreateVolume {
                key: volume.key.clone(),
                name: volume.name.clone(),
            });
        }
    }

    // Images: one action per reference, even when several services share it.
    let mut images_done = BTreeSet::new();
    for service in stack.services.values() {
        let present = observed.images.contains_key(&service.image);
        let wants_build = service.build.is_some() && (options.build || !present);
        if wants_build {
            setup.push(SetupAction::BuildImage {
                service: service.name.clone(),
                image: service.image.clone(),
            });
        } else if !present && images_done.insert(service.image.clone()) {
            setup.push(SetupAction::PullImage {
                image: service.image.clone(),
            });
        }
    }

    // Containers grouped by service; the newest one is the service's, others duplicates.
    let mut by_service: BTreeMap<&ServiceName, Vec<&ContainerInfo>> = BTreeMap::new();
    for c in &observed.containers {
        by_service.entry(&c.service).or_default().push(c);
    }
    let mut current: BTreeMap<&ServiceName, &ContainerInfo> = BTreeMap::new();
    for (service, containers) in by_service {
        if !stack.services.contains_key(service) {
            if !options.keep_orphans {
                for c in containers {
                    setup.push(SetupAction::RemoveContainer {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        reason: RemoveReason::Orphan,
                    });
                }
            }
            continue;
        }
        let expected_name = match stack.services.get(service) {
            Some(s) => s.container_name(&stack.project),
            None => stack.project.container_name(service),
        };
        let keep = current_container(containers.iter().copied(), &expected_name);
        if let Some(keep) = keep {
            current.insert(service, keep);
        }
        for c in containers
            .iter()
            .filter(|c| keep.is_none_or(|k| k.id != c.id))
        {
            setup.push(SetupAction::RemoveContainer {
                id: c.id.clone(),
                name: c.name.clone(),
                reason: RemoveReason::Duplicate,
            });
        }
    }

    let waves = waves(stack);
    // Services something waits on to *complete*: their successful exit is their goal state.
    let one_shots: BTreeSet<&ServiceName> = stack
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::CompletedSuccessfully)
        .map(|(name, _)| name)
        .collect();
    let mut services: Vec<ServicePlan> = stack
        .services
        .values()
        .map(|service| {
            let hash = config_hash(stack, service);
            let rebuilding = setup.iter().any(
                |a| matches!(a, SetupAction::BuildImage { service: s, .. } if *s == service.name),
            );
            let change = match current.get(&service.name) {
                None => Change::Create,
                Some(c) => {
                    let image_now = observed.images.get(&service.image);
                    let reason = if options.force_recreate {
                        Some(RecreateReason::Forced)
                    } else if c.config_hash.is_none() {
                        Some(RecreateReason::NotOurs)
                    } else if c.config_hash.as_deref() != Some(hash.as_str()) {
                        Some(RecreateReason::ConfigChanged)
                    } else if rebuilding || image_now != Some(&c.image_id) {
                        Some(RecreateReason::ImageChanged)
                    } else {
                        None
                    };
                    match reason {
                        Some(reason) => Change::Recreate {
                            old: c.id.clone(),
                            reason,
                        },
                        None if is_settled(c, one_shots.contains(&service.name)) => {
                            Change::Keep { id: c.id.clone() }
                        }
                        None => Change::Start { id: c.id.clone() },
                    }
                }
            };
            ServicePlan {
                service: service.name.clone(),
                wave: waves.get(&service.name).copied().unwrap_or(0),
                gates: service
                    .depends_on
                    .iter()
                    .filter(|(dep, _)| stack.services.contains_key(*dep))
                    .map(|(dep, d)| Gate {
                        service: dep.clone(),
                        condition: d.condition,
                    })
                    .collect(),
                change,
                config_hash: hash,
            }
        })
        .collect();
    services.sort_by(|a, b| (a.wave, &a.service).cmp(&(b.wave, &b.service)));

    Plan { setup, services }
}

/// A container `up` leaves alone: running, restarting on its own, or a one-shot (a
/// service others wait on to complete) that already finished with 0 — re-running a
/// migration on every `up` would make a no-op `up` write and hold back its dependents.
fn is_settled(c: &ContainerInfo, one_shot: bool) -> bool {
    match c.state {
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused => true,
        ContainerState::Exited => one_shot && c.exit_code == Some(0),
        ContainerState::Created | ContainerState::Removing | ContainerState::Dead => false,
    }
}

/// Why `up`, `down` or `reset` must leave an existing object alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A container Docker Compose made for a project of this name from another
    /// directory (or without saying which): another checkout's, never taken over.
    ComposeElsewhere {
        name: String,
        dir: String,
        here: String,
        project: String,
    },
    /// An object with devstack's name for it that devstack did not create (it lacks the
    /// project label): mounting or joining it would hand a service someone else's data
    /// or neighbours.
    NotOurs {
        kind: &'static str,
        name: String,
        /// The volume's key in the file (for the `external: true` way out).
        key: Option<String>,
    },
    /// An object of a same-named project whose stack file is in another directory.
    OtherDirectory {
        kind: &'static str,
        name: String,
        dir: String,
        here: String,
        project: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::ComposeElsewhere {
                name,
                dir,
                here,
                project,
            } => {
                let from = if dir.is_empty() {
                    "from a directory it does not name".to_string()
                } else {
                    format!("from '{dir}'")
                };
                write!(
                    f,
                    "container '{name}' was started by Docker Compose for project '{project}' {from}, and this stack file is in '{here}': \
                     devstack takes over a Compose project only from its own directory, so it leaves that one alone. \
                     Stop it there ('docker compose -p {project} down' in its directory), or give this stack its own name ('name:' in the file, or -p NAME)"
                )
            }
            Refusal::NotOurs {
                kind: "volume",
                name,
                key,
            } => write!(
                f,
                "volume '{name}' exists but was not created by devstack (it has no '{}' label of this project), so devstack will not put a service's data in it. \
                 Either use it as it is: declare it 'external: true' in the stack file (volumes: {}: {{external: true, name: {name}}}); \
                 or remove or rename it ('docker volume rm {name}') and devstack creates its own",
                labels::PROJECT,
                key.as_deref().unwrap_or("KEY"),
            ),
            Refusal::NotOurs { kind, name, .. } => write!(
                f,
                "{kind} '{name}' exists but was not created by devstack (it has no '{}' label of this project), so devstack will not attach services to it: they could reach whatever else is on it. \
                 Either remove or rename it ('docker {kind} rm {name}') and devstack creates its own, \
                 or give this stack another project name ('name:' in the file, or -p NAME)",
                labels::PROJECT,
            ),
            Refusal::OtherDirectory {
                kind,
                name,
                dir,
                here,
                project,
            } => write!(
                f,
                "project '{project}' belongs to another directory: {kind} '{name}' was created from '{dir}', and this stack file is in '{here}'. \
                 Two directories with the same name make one project, so devstack leaves that one's objects alone. \
                 Give this stack its own name ('name:' in the file, or -p NAME); or, if it is the same project moved here, run again with -p {project} or --force"
            ),
        }
    }
}

/// Whether an object's labels make it this project's (devstack's label, or Compose's
/// for a project `docker compose` created).
fn labelled_ours(project: &str, object_labels: &BTreeMap<String, String>) -> bool {
    [labels::PROJECT, labels::COMPOSE_PROJECT]
        .iter()
        .any(|l| object_labels.get(*l).map(String::as_str) == Some(project))
}

/// The objects of the stack's names that must not be touched: a network or a
/// non-external volume that devstack did not create, and — unless
/// `adopt_other_directory` — anything of this project created from another directory
/// (an object without the directory label predates it and counts as this one's).
pub fn ownership(stack: &Stack, observed: &Observed, adopt_other_directory: bool) -> Vec<Refusal> {
    let project = stack.project.as_str();
    let here = stack.dir.display().to_string();
    let mut refusals = Vec::new();
    let other = |kind: &'static str, name: &str, l: &BTreeMap<String, String>| match l
        .get(labels::COMPOSE_WORKING_DIR)
    {
        Some(dir) if !adopt_other_directory && *dir != here => Some(Refusal::OtherDirectory {
            kind,
            name: name.to_string(),
            dir: dir.clone(),
            here: here.clone(),
            project: project.to_string(),
        }),
        _ => None,
    };
    for key in stack.used_networks() {
        let name = stack.network_name(&key);
        if key == "default" || stack.network_is_external(&key) {
            continue;
        }
        let Some(seen) = observed.networks.get(&name) else {
            continue;
        };
        if !labelled_ours(project, seen) {
            refusals.push(Refusal::NotOurs {
                kind: "network",
                name,
                key: Some(key),
            });
        } else if let Some(r) = other("network", &name, seen) {
            refusals.push(r);
        }
    }
    if observed.network.is_some() && !stack.network_is_external("default") {
        let name = stack.network_name("default");
        if !labelled_ours(project, &observed.network_labels) {
            refusals.push(Refusal::NotOurs {
                kind: "network",
                name,
                key: None,
            });
        } else if let Some(r) = other("network", &name, &observed.network_labels) {
            refusals.push(r);
        }
    }
    for v in stack.volumes.values().filter(|v| !v.external) {
        let Some(seen) = observed.volumes.get(&v.name) else {
            continue;
        };
        if !labelled_ours(project, &seen.labels) {
            refusals.push(Refusal::NotOurs {
                kind: "volume",
                name: v.name.clone(),
                key: Some(v.key.clone()),
            });
        } else if let Some(r) = other("volume", &v.name, &seen.labels) {
            refusals.push(r);
        }
    }
    for c in &observed.containers {
        if let Some(r) = other("container", &c.name, &c.labels) {
            refusals.push(r);
        }
    }
    // Not subject to `adopt_other_directory`: it adopts devstack's own objects moved
    // with their project, never another checkout's Compose containers.
    for (name, dir) in &observed.compose_elsewhere {
        refusals.push(Refusal::ComposeElsewhere {
            name: name.clone(),
            dir: dir.clone(),
            here: here.clone(),
            project: project.to_string(),
        });
    }
    refusals
}
