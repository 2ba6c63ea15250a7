//! Compose keys and forms of issue 16 (compose-model branch) against the real daemon:
//! each test loads a Compose file as `devstack` does, brings it up through the engine
//! and checks the container as the daemon reports it (inspected with bollard directly,
//! not through the engine). Every test has its own project, removed on drop.

mod common;

use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use common::*;
use devstack::engine::{Engine, Error};
use devstack::model::EngineEvent;
use devstack::plan::{self, PlanOptions};
use devstack::stack::Stack;
use tokio::sync::mpsc;

const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// observe → diff → check ports → apply → wait_ready, as `up --detach` does.
async fn up(engine: &Engine, stack: &Stack) -> Result<(), Error> {
    let observed = engine.observe(stack).await?;
    let plan = plan::diff(stack, &observed, PlanOptions::default());
    engine.check_ports(stack, &observed).await?;
    let (tx, mut rx) = mpsc::channel::<EngineEvent>(1024);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let result = match engine.apply(stack, &plan, tx.clone()).await {
        Ok(()) => engine
            .wait_ready(stack, READY_TIMEOUT, tx)
            .await
            .map(|_| ()),
        Err(e) => {
            drop(tx);
            Err(e)
        }
    };
    drain.await.expect("drain events");
    result
}

async fn inspect(engine: &Engine, project: &Project, service: &str) -> ContainerInspectResponse {
    let c = container(engine, &project.name, service).await;
    Docker::connect_with_defaults()
        .expect("daemon")
        .inspect_container(&c.id.0, None)
        .await
        .expect("inspect the container")
}

/// Item 7: a healthcheck without `test:` keeps the image's test with the file's timings
/// (before: refused), and a host port range publishes one container port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_without_test_and_a_host_port_range() {
    let engine = engine().await;
    let base = fixture_image(&engine).await;
    let p = Project::new();
    // The image's own interval (1h) would keep the container 'starting' past the
    // deadline: becoming healthy shows the file's interval was applied to its test.
    p.write(
        "Dockerfile",
        &format!("FROM {base}\nHEALTHCHECK --interval=1h CMD true\n"),
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("its address").port()
    };
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  web:\n    build: .\n    command: {SLEEPER}\n    healthcheck:\n      interval: 1s\n      retries: 30\n    ports:\n      - \"{port}-{}:80\"\n",
            port + 1
        ),
    );
    let stack = p.load();
    up(&engine, &stack)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));

    let info = inspect(&engine, &p, "web").await;
    let hc = info
        .config
        .as_ref()
        .and_then(|c| c.healthcheck.clone())
        .expect("a healthcheck");
    assert_eq!(
        hc.test,
        Some(vec!["CMD-SHELL".to_string(), "true".to_string()])
    );
    assert_eq!(hc.interval, Some(1_000_000_000));
    let bindings = info
        .host_config
        .and_then(|h| h.port_bindings)
        .and_then(|b| b.get("80/tcp").cloned().flatten())
        .expect("80/tcp published");
    assert_eq!(
        bindings[0].host_port.as_deref(),
        Some(format!("{port}-{}", port + 1).as_str())
    );
    let published = info
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|b| b.get("80/tcp").cloned().flatten())
        .expect("80/tcp bound");
    let bound: u16 = published[0]
        .host_port
        .as_deref()
        .and_then(|p| p.parse().ok())
        .expect("a host port");
    assert!(bound == port || bound == port + 1, "bound {bound}");
}
