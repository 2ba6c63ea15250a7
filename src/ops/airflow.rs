//! Airflow use cases for `devstack airflow` and the UI: reach the api-server of the
//! running stack (its published port, the admin login from the stack's environment), and
//! pick the container the `airflow` CLI runs in.

use super::Error;
use super::session::running_container;
use crate::airflow::{self, Client, roles};
use crate::engine::Engine;
use crate::model::{ContainerInfo, Protocol};
use crate::stack::Stack;

/// A logged-in client for the stack's api-server, at the host port its container
/// publishes now (so an ephemeral port works too).
pub async fn connect(engine: &Engine, stack: &Stack) -> Result<Client, Error> {
    let service = roles::api_service(stack).ok_or_else(|| {
        Error::Usage(
            "no Airflow api-server in this stack: mark it with 'x-devstack: {airflow: api-server}' or run 'apache/airflow' with the 'api-server' command".into(),
        )
    })?;
    let container = running_container(engine, stack, &service.name).await?;
    let authority = api_authority(&container).ok_or_else(|| {
        Error::Usage(format!(
            "service '{}' publishes no port for Airflow's {}; add 'ports: [\"{}:{}\"]' to it",
            service.name,
            roles::API_PORT,
            roles::API_PORT,
            roles::API_PORT
        ))
    })?;
    let mut client = Client::new(authority);
    client.login(&roles::login(stack)).await?;
    Ok(client)
}

/// `host:port` of the api-server's published 8080, loopback when bound to every interface.
pub fn api_authority(container: &ContainerInfo) -> Option<String> {
    let p = container
        .ports
        .iter()
        .find(|p| p.container_port == roles::API_PORT && p.protocol == Protocol::Tcp)?;
    let host = match p.host_ip.as_str() {
        "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    Some(format!("{host}:{}", p.host_port))
}

/// The running container `airflow -- ARGS` runs in (see `roles::cli_service`).
pub async fn cli_container(
    engine: &Engine,
    stack: &Stack,
    named: Option<&str>,
) -> Result<ContainerInfo, Error> {
    let service = roles::cli_service(stack, named).map_err(Error::Usage)?;
    running_container(engine, stack, &service.name).await
}

/// The command line of `airflow ARGS`.
pub fn cli_command(args: &[String]) -> Vec<String> {
    std::iter::once("airflow".to_string())
        .chain(args.iter().cloned())
        .collect()
}

/// The file of an import error as the user's own file when a bind mount holds it, else
/// as Airflow names it.
pub fn display_path(stack: &Stack, error: &airflow::ImportError) -> String {
    airflow::roles::host_path(stack, error.container_path())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| error.filename.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerId, ContainerState, Health, PublishedPort, ServiceName};

    fn container(ports: Vec<PublishedPort>) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId("c".into()),
            name: "p-api-server-1".into(),
            service: ServiceName::new("api-server"),
            image: "apache/airflow:3".into(),
            image_id: String::new(),
            config_hash: None,
            state: ContainerState::Running,
            health: Health::None,
            exit_code: None,
            ports,
            labels: Default::default(),
            created: 0,
            started_at: None,
            restart_count: 0,
        }
    }

    #[test]
    fn the_api_is_reached_on_the_published_port() {
        let port = |ip: &str, host_port, container_port| PublishedPort {
            host_ip: ip.into(),
            host_port,
            container_port,
            protocol: Protocol::Tcp,
        };
        assert_eq!(
            api_authority(&container(vec![
                port("127.0.0.1", 5432, 5432),
                port("127.0.0.1", 18080, 8080)
            ])),
            Some("127.0.0.1:18080".into())
        );
        assert_eq!(
            api_authority(&container(vec![port("0.0.0.0", 8080, 8080)])),
            Some("127.0.0.1:8080".into())
        );
        assert_eq!(api_authority(&container(vec![])), None);
        assert_eq!(
            cli_command(&["dags".into(), "list".into()]),
            ["airflow", "dags", "list"]
        );
    }
}
