//! The daemon side of `reset`: let go of volumes and drop them — only ours.
//!
//! Deciding *which* volumes and services is the caller's; this module re-checks the
//! project label right before every removal, since a removed volume cannot come back.

use bollard::query_parameters::ListContainersOptionsBuilder;

use super::error::is_404;
use super::{Engine, Error};
use crate::model::{ProjectName, ServiceName, labels};
use crate::stack::Stack;

impl Engine {
    /// Stops every container of `services` in reverse dependency order and removes it
    /// with its anonymous volumes; returns their names.
    pub async fn remove_services(
        &self,
        project: &ProjectName,
        services: &[ServiceName],
    ) -> Result<Vec<String>, Error> {
        let containers: Vec<_> = self
            .list_project_containers(project)
            .await?
            .into_iter()
            .filter(|c| services.contains(&c.service))
            .collect();
        Error::collect(self.stop_scheduled(&containers, true).await)?;
        Ok(containers.into_iter().map(|c| c.name).collect())
    }

    /// Removes volume `name` when it carries `io.devstack.project=<project>`; a volume
    /// without that label is refused and left as it is. `Ok(false)`: it did not exist.
    pub async fn remove_project_volume(
        &self,
        project: &ProjectName,
        name: &str,
    ) -> Result<bool, Error> {
        let volume = match self.docker.inspect_volume(name).await {
            Ok(v) => v,
            Err(e) if is_404(&e) => return Ok(false),
            Err(e) => return Err(Error::daemon("inspect volume", None, e)),
        };
        if volume.labels.get(labels::PROJECT).map(String::as_str) != Some(project.as_str()) {
            return Err(Error::Conflict {
                op: "remove volume",
                service: None,
                message: format!(
                    "volume '{name}' exists but was not created by devstack for project '{project}' \
                     (no '{}={project}' label), so devstack leaves it alone; remove or rename it yourself if it should go",
                    labels::PROJECT
                ),
            });
        }
        self.docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .map_err(|e| Error::daemon("remove volume", None, e))?;
        Ok(true)
    }

    /// What keeps `reset` from removing `volumes` that it would not clear itself: any
    /// container using one of them other than those of the project's `services` (which
    /// reset removes first) — another project's, a stranger's, or an orphan of this one.
    /// Asked before anything changes, so a refused reset leaves the stack as it was.
    pub async fn reset_blockers(
        &self,
        stack: &Stack,
        volumes: &[String],
        services: &[ServiceName],
    ) -> Result<Vec<String>, Error> {
        let mut blockers = Vec::new();
        for volume in volumes {
            let filters =
                std::collections::HashMap::from([("volume".to_string(), vec![volume.clone()])]);
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build();
            let users = self
                .docker
                .list_containers(Some(options))
                .await
                .map_err(|e| Error::daemon("list containers", None, e))?;
            for c in users {
                let l = c.labels.unwrap_or_default();
                let project = l.get(labels::PROJECT);
                let service = l.get(labels::SERVICE);
                let ours = project.map(String::as_str) == Some(stack.project.as_str())
                    && service.is_some_and(|s| services.iter().any(|x| x.as_str() == s));
                if ours {
                    continue;
                }
                let name = c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| c.id.unwrap_or_default());
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                let whose = match (project, service) {
                    (Some(p), Some(s)) if p == stack.project.as_str() => format!(
                        "of service '{s}', which is no longer in the stack file (an orphan; 'devstack up' removes it)"
                    ),
                    (Some(p), _) => format!("of project '{p}'"),
                    (None, _) => "not created by devstack".to_string(),
                };
                blockers.push(format!(
                    "volume '{volume}' is used by container '{name}' ({state}), {whose}; stop and remove it ('docker rm -f {name}'), then run the reset again"
                ));
            }
        }
        Ok(blockers)
    }
}
