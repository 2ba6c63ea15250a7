//! Networks and the other ties between containers (issue 16.6), against the real daemon
//! through the `devstack` binary: project networks with their labels and settings,
//! services finding each other by name and alias only where they share a network,
//! `links`, an external network joined and never removed, a recreate when a service's
//! networks change, `volumes_from`, `ipc: service:x`, and a platform the daemon
//! cannot run. Each test has its own project, removed on drop.

// Test code: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::ListNetworksOptionsBuilder;
use common::{SLEEPER, container, exec, exec_code};

fn docker() -> Docker {
    Docker::connect_with_defaults().unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A network made outside the project (as `external: true` expects), removed on drop
/// also after a failed assertion.
struct ExternalNetwork(String);

impl ExternalNetwork {
    async fn create(name: String) -> Self {
        docker()
            .create_network(bollard::models::NetworkCreateRequest {
                name: name.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        Self(name)
    }
}

impl Drop for ExternalNetwork {
    fn drop(&mut self) {
        let name = self.0.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Err(e) = docker().remove_network(&name).await {
                    eprintln!("cleanup of network '{name}' failed: {e}");
                }
            })
        });
        let _ = done.join();
    }
}

/// Every network of that name (exact), with its inspect details.
async fn networks_named(name: &str) -> Vec<bollard::models::Network> {
    let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
    docker()
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.name.as_deref() == Some(name))
        .collect()
}

/// Whether `name` resolves inside the container (busybox `nslookup` through Docker's
/// embedded DNS, which knows a name from the moment its container joined).
async fn resolves(
    engine: &devstack::engine::Engine,
    c: &devstack::model::ContainerInfo,
    name: &str,
) -> bool {
    exec_code(engine, c, &["nslookup", name, "127.0.0.11"]).await == 0
}

#[tokio::test]
async fn services_find_each_other_by_name_and_alias_on_the_networks_they_share() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let p = common::Project::new();
    let ext = ExternalNetwork::create(format!("{}-outside", p.name)).await;
    p.write(
        "compose.yaml",
        &format!(
            "services:
  api:
    image: {image}
    command: {SLEEPER}
    networks:
      back:
        aliases: [database]
      front:
  web:
    image: {image}
    command: {SLEEPER}
    networks: [front, outside]
    links: [\"api:legacy-api\"]
  worker:
    image: {image}
    command: {SLEEPER}
    networks: [back]
  plain:
    image: {image}
    command: {SLEEPER}
networks:
  back:
    internal: true
    labels:
      team: data
  front:
    driver: bridge
  outside:
    external:
      name: {}
",
            ext.0
        ),
    );
    p.ok(&["up", "--detach"]);

    let back = networks_named(&format!("{}_back", p.name)).await;
    assert_eq!(back.len(), 1, "one '{}_back' network", p.name);
    let labels = back[0].labels.clone().unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("data"));
    assert_eq!(
        labels.get("com.docker.compose.network").map(String::as_str),
        Some("back")
    );
    assert_eq!(
        labels.get("io.devstack.project").map(String::as_str),
        Some(p.name.as_str())
    );
    assert_eq!(back[0].internal, Some(true));
    assert_eq!(networks_named(&format!("{}_front", p.name)).await.len(), 1);

    let api = container(&engine, &p.name, "api").await;
    let web = container(&engine, &p.name, "web").await;
    let worker = container(&engine, &p.name, "worker").await;
    let plain = container(&engine, &p.name, "plain").await;
    // Shared `front`: web finds api by its name and through the link's alias.
    assert!(resolves(&engine, &web, "api").await);
    assert!(resolves(&engine, &web, "legacy-api").await);
    // The alias is api's on `back` only: worker finds it, web does not.
    assert!(resolves(&engine, &worker, "database").await);
    assert!(!resolves(&engine, &web, "database").await);
    // Nothing shared: worker does not see web; `plain` stays on the default network.
    assert!(!resolves(&engine, &worker, "web").await);
    assert!(!resolves(&engine, &plain, "api").await);
    assert!(resolves(&engine, &api, "worker").await);
    // The external network was joined, not made.
    let joined: Vec<String> = docker()
        .inspect_container(&web.id.0, None)
        .await
        .unwrap()
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_keys()
        .collect();
    assert!(
        joined.contains(&ext.0),
        "web is not on '{}': {joined:?}",
        ext.0
    );

    // A second `up` with nothing changed changes nothing.
    p.ok(&["up", "--detach"]);
    assert_eq!(container(&engine, &p.name, "web").await.id, web.id);

    // A service whose networks change is recreated onto them.
    let yaml = std::fs::read_to_string(p.path("compose.yaml")).unwrap();
    p.write(
        "compose.yaml",
        &yaml.replace(
            "networks: [front, outside]",
            "networks: [front, back, outside]",
        ),
    );
    p.ok(&["up", "--detach"]);
    let web2 = container(&engine, &p.name, "web").await;
    assert_ne!(web2.id, web.id, "web was not recreated");
    assert!(resolves(&engine, &web2, "database").await);
    assert_eq!(container(&engine, &p.name, "api").await.id, api.id);

    // `down` removes the project's networks and leaves the external one.
    p.ok(&["down"]);
    assert!(networks_named(&format!("{}_back", p.name)).await.is_empty());
    assert!(
        networks_named(&format!("{}_front", p.name))
            .await
            .is_empty()
    );
    assert!(
        networks_named(&format!("{}_default", p.name))
            .await
            .is_empty()
    );
    assert_eq!(networks_named(&ext.0).await.len(), 1);
}

#[tokio::test]
async fn volumes_from_and_ipc_of_a_service_share_its_container() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let p = common::Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:
  data:
    image: {image}
    command: {SLEEPER}
    ipc: shareable
    volumes: [/shared]
  reader:
    image: {image}
    command: {SLEEPER}
    volumes_from: [\"data:ro\"]
    ipc: service:data
"
        ),
    );
    p.ok(&["up", "--detach"]);
    let data = container(&engine, &p.name, "data").await;
    let reader = container(&engine, &p.name, "reader").await;
    exec(
        &engine,
        &data,
        &["sh", "-c", "echo written-by-data > /shared/note"],
    )
    .await;
    assert_eq!(
        exec(&engine, &reader, &["cat", "/shared/note"])
            .await
            .trim(),
        "written-by-data"
    );
    // `:ro`: mounted read-only in the reader.
    assert_ne!(
        exec_code(&engine, &reader, &["sh", "-c", "echo x > /shared/other"]).await,
        0
    );
    let ipc_ns = ["readlink", "/proc/self/ns/ipc"];
    assert_eq!(
        exec(&engine, &data, &ipc_ns).await,
        exec(&engine, &reader, &ipc_ns).await
    );
}

#[test]
fn a_platform_the_daemon_cannot_run_is_an_error_naming_the_service() {
    let image = common::block_on(async {
        let engine = common::engine().await;
        common::fixture_image(&engine).await
    });
    let p = common::Project::new();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  odd:\n    image: {image}\n    command: {SLEEPER}\n    platform: linux/s390x\n"
        ),
    );
    let out = p.run(&["up", "--detach"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "up succeeded:\n{err}");
    assert!(err.contains("odd"), "the service is not named:\n{err}");
    assert!(err.contains("s390x"), "the platform is not named:\n{err}");
}
