//! What the doctor asks the daemon: a built image's size and layers (from its history),
//! and the user each of the project's containers runs as.

use serde::Serialize;

use super::error::is_404;
use super::{Engine, Error};
use crate::model::{ProjectName, ServiceName};

/// A local image: its total size and the layers that make it, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageReport {
    pub reference: String,
    pub id: String,
    pub size: u64,
    pub layers: Vec<Layer>,
}

/// One history entry: the bytes it added and the instruction that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    pub size: u64,
    pub created_by: String,
}

/// The user one container runs as (empty in the daemon's answer means root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerUser {
    pub service: ServiceName,
    pub container: String,
    pub user: String,
    pub root: bool,
}

impl Engine {
    /// The image's size and history; `Ok(None)` when it is not present (not built yet).
    pub async fn image_report(&self, reference: &str) -> Result<Option<ImageReport>, Error> {
        let image = match self.docker.inspect_image(reference).await {
            Ok(i) => i,
            Err(e) if is_404(&e) => return Ok(None),
            Err(e) => return Err(Error::daemon("inspect image", None, e)),
        };
        let history = self
            .docker
            .image_history(reference)
            .await
            .map_err(|e| Error::daemon("image history", None, e))?;
        Ok(Some(ImageReport {
            reference: reference.to_string(),
            id: image.id.unwrap_or_default(),
            size: u64::try_from(image.size.unwrap_or(0)).unwrap_or(0),
            layers: history
                .into_iter()
                .map(|h| Layer {
                    size: u64::try_from(h.size).unwrap_or(0),
                    created_by: h.created_by,
                })
                .collect(),
        }))
    }

    /// The running user of each of the project's containers.
    pub async fn container_users(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<ContainerUser>, Error> {
        let mut out = Vec::new();
        for info in self.list_project_containers(project).await? {
            let detail = self.inspect_raw(&info.id.0, Some(&info.service)).await?;
            let user = detail.config.and_then(|c| c.user).unwrap_or_default();
            let name = user.split(':').next().unwrap_or("");
            out.push(ContainerUser {
                root: name.is_empty() || name == "root" || name == "0",
                service: info.service.clone(),
                container: info.name.clone(),
                user,
            });
        }
        out.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
        Ok(out)
    }
}
