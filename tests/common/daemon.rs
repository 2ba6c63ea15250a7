//! An independent look at the daemon: what exists under a project's label, listed with
//! bollard directly rather than through `devstack::engine`, so a test does not take the
//! engine's own word for what it created or removed.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};

use super::block_on;

const PROJECT_LABEL: &str = "io.devstack.project";

fn docker() -> Docker {
    let d = Docker::connect_with_defaults().expect("a Docker client for the test's own checks");
    block_on(d.negotiate_version()).expect("negotiate the API version")
}

/// A project's objects as the daemon lists them by label.
#[derive(Debug, Default)]
pub struct Objects {
    /// (name, state, labels) of every container, running or not.
    pub containers: Vec<(String, String, HashMap<String, String>)>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Objects {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

pub fn objects_labelled(project: &str) -> Objects {
    let docker = docker();
    let filter = HashMap::from([("label", vec![format!("{PROJECT_LABEL}={project}")])]);
    block_on(async {
        let containers = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filter)
                    .build(),
            ))
            .await
            .expect("list containers")
            .into_iter()
            .map(|c| {
                let name = c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default();
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                (name, state, c.labels.unwrap_or_default())
            })
            .collect();
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filter)
                    .build(),
            ))
            .await
            .expect("list networks")
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        let volumes = docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filter)
                    .build(),
            ))
            .await
            .expect("list volumes")
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        Objects {
            containers,
            networks,
            volumes,
        }
    })
}
