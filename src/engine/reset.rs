//! The daemon side of `reset`: let go of volumes and drop them — only ours.
//!
//! Deciding *which* volumes and services is the caller's; this module re-checks the
//! project label right before every removal, since a removed volume cannot come back.

use futures_util::future::join_all;

use super::error::is_404;
use super::{Engine, Error};
use crate::model::{ProjectName, ServiceName, labels};

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
        Error::collect(self.stop_in_order(&containers).await)?;
        let results = join_all(
            containers
                .iter()
                .map(|c| self.remove_for_good(&c.id, Some(&c.service))),
        )
        .await;
        Error::collect(results.into_iter().filter_map(Result::err).collect())?;
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
}
