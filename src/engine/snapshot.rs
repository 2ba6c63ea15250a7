//! The daemon side of volume snapshots: a helper container that is created and never
//! started (from an image already present, so nothing is pulled and no image needs
//! `tar`), with the volume mounted, and the archive endpoint streaming the volume's
//! contents out of it and back into it. Helpers carry only the project label, so `up`
//! never takes one for a service and `down` removes one left behind.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};

use super::error::is_404;
use super::{Engine, Error};
use crate::model::{ProjectName, labels};
use crate::stack::{Stack, Volume};

/// Where a helper mounts the volume; the archive's entries start with its name, so a
/// tar taken from one helper unpacks at `/` into another's volume.
const MOUNT: &str = "/devstack-snapshot";

impl Engine {
    /// Creates (does not start) a helper from `image` with volume `volume` mounted.
    pub async fn create_copy_helper(
        &self,
        project: &ProjectName,
        image: &str,
        volume: &str,
    ) -> Result<String, Error> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never run: any command will do, and none of the image's is wanted.
            entrypoint: Some(vec!["/devstack-copy-helper-is-never-started".to_string()]),
            cmd: Some(Vec::new()),
            network_disabled: Some(true),
            labels: Some(HashMap::from([(
                labels::PROJECT.to_string(),
                project.to_string(),
            )])),
            host_config: Some(HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(MOUNT.to_string()),
                    source: Some(volume.to_string()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(None::<CreateContainerOptions>, body)
            .await
            .map_err(|e| Error::daemon("create copy helper", None, e))?;
        Ok(created.id)
    }

    /// The volume's contents as a tar stream, read through helper `id`.
    pub fn download_volume(&self, id: &str) -> impl Stream<Item = Result<Bytes, Error>> + use<> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(MOUNT)
            .build();
        self.docker
            .download_from_container(id, Some(options))
            .map_err(|e| Error::daemon("copy out of volume", None, e))
    }

    /// Unpacks a tar stream (from [`Engine::download_volume`]) into helper `id`'s volume.
    /// An error in `tar` aborts the upload and is returned.
    pub async fn upload_volume(
        &self,
        id: &str,
        tar: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) -> Result<(), Error> {
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_try_stream(tar))
            .await
            .map_err(|e| Error::daemon("copy into volume", None, e))
    }

    /// Removes a helper (its volume stays).
    pub async fn remove_copy_helper(&self, id: &str) -> Result<(), Error> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_404(&e) => Ok(()),
            Err(e) => Err(Error::daemon("remove copy helper", None, e)),
        }
    }

    /// Creates the stack's volume `volume` with our labels (as `up` does).
    pub async fn create_project_volume(&self, stack: &Stack, volume: &Volume) -> Result<(), Error> {
        self.docker
            .create_volume(super::spec::volume(stack, volume))
            .await
            .map(|_| ())
            .map_err(|e| Error::daemon("create volume", None, e))
    }

    /// Whether volume `name` exists.
    pub async fn volume_exists(&self, name: &str) -> Result<bool, Error> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_404(&e) => Ok(false),
            Err(e) => Err(Error::daemon("inspect volume", None, e)),
        }
    }
}
