//! Reading the daemon: a project's containers, network, volumes and images, converted
//! into [`crate::model`] types.
//!
//! Read-only: nothing here creates, stops or removes anything. `observe` is on the
//! no-op `up` path (budget < 20 ms), so its calls run concurrently and it does not
//! inspect containers; `ps` adds the inspect details.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerInspectResponse, ContainerSummary, HealthStatusEnum, PortMap, PortSummaryTypeEnum,
};
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};
use futures_util::future::{join_all, try_join_all};

use super::error::is_404;
use super::{Engine, Error};
use crate::model::{
    ContainerId, ContainerInfo, ContainerState, Health, Observed, ProjectName, Protocol,
    PublishedPort, ServiceName, VolumeInfo, labels,
};
use crate::stack::Stack;

impl Engine {
    /// Everything of the stack's project that exists on the daemon.
    pub async fn observe(&self, stack: &Stack) -> Result<Observed, Error> {
        let mut images: Vec<&str> = stack.services.values().map(|s| s.image.as_str()).collect();
        images.sort_unstable();
        images.dedup();
        let volume_names: Vec<&str> = stack.volumes.values().map(|v| v.name.as_str()).collect();

        let default_network = stack.network_name("default");
        let network_names: Vec<String> = std::iter::once(default_network.clone())
            .chain(stack.used_networks().iter().map(|k| stack.network_name(k)))
            .collect();
        let (mut containers, compose, mut networks, volumes, images) = tokio::try_join!(
            self.list_project_containers(&stack.project),
            self.list_compose_containers(&stack.project),
            self.find_networks(&network_names),
            try_join_all(volume_names.iter().map(|n| self.inspect_volume(n))),
            try_join_all(images.iter().map(|i| self.image_id(i))),
        )?;
        let (network, network_labels) = match networks.remove(&default_network) {
            Some((id, labels)) => (Some(id), labels),
            None => (None, BTreeMap::new()),
        };
        // Docker Compose's containers of this project: adopted only when made from this
        // very directory for a service of this file (another checkout of the same name
        // is someone else's project).
        let here = stack.dir.display().to_string();
        let mut compose_elsewhere = Vec::new();
        for c in compose {
            let dir = c.labels.get(labels::COMPOSE_WORKING_DIR).cloned();
            if dir.as_deref() == Some(here.as_str()) {
                if stack.services.contains_key(&c.service) {
                    containers.push(c);
                }
            } else {
                compose_elsewhere.push((c.name, dir.unwrap_or_default()));
            }
        }
        Ok(Observed {
            network,
            network_labels,
            networks: networks
                .into_iter()
                .map(|(name, (_, labels))| (name, labels))
                .collect(),
            volumes: volumes
                .into_iter()
                .flatten()
                .map(|v| (v.name.clone(), v))
                .collect(),
            containers,
            compose_elsewhere,
            images: images.into_iter().flatten().collect(),
        })
    }

    /// The project's containers with inspect details (start time, restarts, health),
    /// ordered by service.
    pub async fn ps(&self, project: &ProjectName) -> Result<Vec<ContainerInfo>, Error> {
        let listed = self.list_project_containers(project).await?;
        let inspected = join_all(listed.iter().map(|c| self.inspect(&c.id.0))).await;
        let mut out = Vec::with_capacity(listed.len());
        for (summary, detail) in listed.into_iter().zip(inspected) {
            match detail {
                Ok(Some(info)) => out.push(info),
                // Removed between the list and the inspect: it is simply gone.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
                Ok(None) => out.push(summary),
            }
        }
        out.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
        Ok(out)
    }

    /// All containers (any state) labelled with the project, from the list endpoint.
    pub(crate) async fn list_project_containers(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<ContainerInfo>, Error> {
        let list = self
            .list_containers_where(super::project_filters(project, &[]))
            .await?;
        Ok(list.into_iter().filter_map(from_summary).collect())
    }

    /// Every container (any state) the label filters select, as the daemon lists them.
    async fn list_containers_where(
        &self,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<bollard::models::ContainerSummary>, Error> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| Error::daemon("list containers", None, e))
    }

    /// Containers Docker Compose made for a project of this name (its project label,
    /// not ours), as if they were ours: the service from Compose's service label, no
    /// config hash (so a plan replaces them).
    async fn list_compose_containers(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<ContainerInfo>, Error> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={}", labels::COMPOSE_PROJECT, project)],
        )]);
        let list = self.list_containers_where(filters).await?;
        Ok(list
            .into_iter()
            .filter_map(|mut s| {
                let l = s.labels.as_mut()?;
                // A `docker compose run` container is a one-off, not the service's: not
                // devstack's to replace (its `down` removes those).
                if l.contains_key(labels::PROJECT)
                    || l.get(labels::COMPOSE_ONEOFF).is_some_and(|o| o == "True")
                {
                    return None;
                }
                let service = l.get(labels::COMPOSE_SERVICE)?.clone();
                l.insert(labels::SERVICE.to_string(), service);
                let mut info = from_summary(s)?;
                info.labels.remove(labels::SERVICE);
                info.config_hash = None;
                Some(info)
            })
            .collect())
    }

    /// Inspects one of our containers; `Ok(None)` if it lacks our service label.
    pub(crate) async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, Error> {
        let detail = self.inspect_raw(id, None).await?;
        Ok(from_inspect(&detail))
    }

    pub(crate) async fn inspect_raw(
        &self,
        id: &str,
        service: Option<&ServiceName>,
    ) -> Result<ContainerInspectResponse, Error> {
        self.docker
            .inspect_container(id, None)
            .await
            .map_err(|e| Error::daemon("inspect container", service, e))
    }

    /// The id and labels of each of these networks that exists, by name, whoever
    /// created it.
    async fn find_networks(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, (String, BTreeMap<String, String>)>, Error> {
        // The name filter matches substrings; the exact names are checked below.
        let filters = HashMap::from([("name".to_string(), names.to_vec())]);
        let options = ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| Error::daemon("list networks", None, e))?;
        let mut out = BTreeMap::new();
        for n in networks {
            if let (Some(name), Some(id)) = (n.name, n.id)
                && names.contains(&name)
                // Docker 20.10 allows two networks of one name; the first is kept, as
                // before (the duplicate is removed on the next `up`).
                && !out.contains_key(&name)
            {
                out.insert(
                    name,
                    (id, n.labels.unwrap_or_default().into_iter().collect()),
                );
            }
        }
        Ok(out)
    }

    async fn inspect_volume(&self, name: &str) -> Result<Option<VolumeInfo>, Error> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => Ok(Some(VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })),
            Err(e) if is_404(&e) => Ok(None),
            Err(e) => Err(Error::daemon("inspect volume", None, e)),
        }
    }

    /// `(reference, image id)` when the image is present locally.
    pub(crate) async fn image_id(
        &self,
        reference: &str,
    ) -> Result<Option<(String, String)>, Error> {
        match self.docker.inspect_image(reference).await {
            Ok(img) => Ok(img.id.map(|id| (reference.to_string(), id))),
            Err(e) if is_404(&e) => Ok(None),
            Err(e) => Err(Error::daemon("inspect image", None, e)),
        }
    }
}

/// A list entry of one of our containers; `None` when it lacks an id or service label.
pub(crate) fn from_summary(s: ContainerSummary) -> Option<ContainerInfo> {
    let labels: BTreeMap<String, String> = s.labels.unwrap_or_default().into_iter().collect();
    let service = ServiceName::new(labels.get(labels::SERVICE)?.clone());
    let status_text = s.status.unwrap_or_default();
    let state = s
        .state
        .and_then(|st| ContainerState::parse(st.as_ref()))
        .unwrap_or(ContainerState::Created);
    // API ≥ 1.52 reports health in the list; older daemons only in the status text,
    // e.g. "Up 3 seconds (health: starting)".
    let health = match s.health.and_then(|h| h.status) {
        Some(h) => Health::parse(h.as_ref()),
        None => health_from_status(&status_text),
    };
    let exit_code = if matches!(state, ContainerState::Exited | ContainerState::Dead) {
        exit_code_from_status(&status_text)
    } else {
        None
    };
    let mut ports: Vec<PublishedPort> = s
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                container_port: p.private_port,
                protocol: match p.typ {
                    Some(PortSummaryTypeEnum::UDP) => Protocol::Udp,
                    Some(PortSummaryTypeEnum::SCTP) => Protocol::Sctp,
                    _ => Protocol::Tcp,
                },
            })
        })
        .collect();
    ports.sort();
    ports.dedup();
    Some(ContainerInfo {
        id: ContainerId(s.id?),
        name: s
            .names
            .and_then(|n| n.into_iter().next())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        service,
        image: s.image.unwrap_or_default(),
        image_id: s.image_id.unwrap_or_default(),
        config_hash: labels.get(labels::CONFIG_HASH).cloned(),
        state,
        health,
        exit_code,
        ports,
        labels,
        created: s.created.unwrap_or_default(),
        started_at: None,
        restart_count: 0,
    })
}

/// An inspected container of ours; `None` when it lacks an id or service label.
pub(crate) fn from_inspect(i: &ContainerInspectResponse) -> Option<ContainerInfo> {
    let config = i.config.as_ref();
    let labels: BTreeMap<String, String> = config
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let service = ServiceName::new(labels.get(labels::SERVICE)?.clone());
    let state = i.state.as_ref();
    let container_state = state
        .and_then(|s| s.status)
        .and_then(|s| ContainerState::parse(s.as_ref()))
        .unwrap_or(ContainerState::Created);
    let health = match state.and_then(|s| s.health.as_ref()).and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => Health::Starting,
        Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
        _ => Health::None,
    };
    // While the daemon waits to restart a container, its exit code is the last run's.
    let exit_code = if matches!(
        container_state,
        ContainerState::Exited | ContainerState::Dead | ContainerState::Restarting
    ) {
        state.and_then(|s| s.exit_code)
    } else {
        None
    };
    let started_at = state
        .and_then(|s| s.started_at.as_deref())
        .and_then(parse_rfc3339_secs)
        // The daemon writes year 1 for a container that never started.
        .filter(|t| *t > 0);
    let ports = i
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .map(ports_from_map)
        .unwrap_or_default();
    Some(ContainerInfo {
        id: ContainerId(i.id.clone()?),
        name: i
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        service,
        image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        image_id: i.image.clone().unwrap_or_default(),
        config_hash: labels.get(labels::CONFIG_HASH).cloned(),
        state: container_state,
        health,
        exit_code,
        ports,
        labels,
        created: i
            .created
            .as_deref()
            .and_then(parse_rfc3339_secs)
            .unwrap_or_default(),
        started_at,
        restart_count: i
            .restart_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    })
}

/// Published ports from an inspect's `NetworkSettings.Ports` (`"80/tcp": [{HostIp, HostPort}]`).
pub(crate) fn ports_from_map(map: &PortMap) -> Vec<PublishedPort> {
    let mut out = Vec::new();
    for (key, bindings) in map {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        let protocol = match proto {
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => Protocol::Tcp,
        };
        for b in bindings.iter().flatten() {
            let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse().ok()) else {
                continue;
            };
            out.push(PublishedPort {
                host_ip: b.host_ip.clone().unwrap_or_default(),
                host_port,
                container_port,
                protocol,
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

pub(crate) fn parse_rfc3339_secs(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

pub(crate) fn parse_rfc3339_nanos(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

fn health_from_status(status: &str) -> Health {
    if status.contains("(healthy)") {
        Health::Healthy
    } else if status.contains("(unhealthy)") {
        Health::Unhealthy
    } else if status.contains("(health: starting)") {
        Health::Starting
    } else {
        Health::None
    }
}

/// "Exited (137) 5 seconds ago" → 137.
fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_parsing() {
        assert_eq!(
            health_from_status("Up 3 seconds (health: starting)"),
            Health::Starting
        );
        assert_eq!(
            health_from_status("Up 3 minutes (healthy)"),
            Health::Healthy
        );
        assert_eq!(
            health_from_status("Up 3 minutes (unhealthy)"),
            Health::Unhealthy
        );
        assert_eq!(health_from_status("Up 3 minutes"), Health::None);
        assert_eq!(
            exit_code_from_status("Exited (137) 5 seconds ago"),
            Some(137)
        );
        assert_eq!(
            exit_code_from_status("Exited (0) About a minute ago"),
            Some(0)
        );
        assert_eq!(exit_code_from_status("Created"), None);
    }

    #[test]
    fn rfc3339_nanos() {
        assert_eq!(
            parse_rfc3339_nanos("2024-01-02T03:04:05.123456789Z"),
            Some(1_704_164_645_123_456_789)
        );
        assert_eq!(
            parse_rfc3339_secs("0001-01-01T00:00:00Z").map(|t| t > 0),
            Some(false)
        );
    }
}
