//! Sessions in a container — a shell, a command, a psql console — for `exec`, `db` and
//! the UI's `x`, `X` and `p`: which container, which command line.
//!
//! The choice of service and command line is pure (unit-tested); running it is the
//! terminal hand-off in `crate::exec`, done by the caller that owns the terminal.

use super::Error;
use crate::engine::Engine;
use crate::model::{ContainerInfo, ContainerState, ServiceName};
use crate::stack::{Service, Stack};

/// The running container of `service`, or an error that says what state it is in.
pub async fn running_container(
    engine: &Engine,
    stack: &Stack,
    service: &ServiceName,
) -> Result<ContainerInfo, Error> {
    let containers = engine.ps(&stack.project).await?;
    let Some(c) = containers.into_iter().find(|c| &c.service == service) else {
        return Err(Error::Usage(format!(
            "service '{service}' has no container; bring the stack up first with 'devstack up'"
        )));
    };
    if c.state != ContainerState::Running {
        let state = c.state_text();
        return Err(Error::Usage(format!(
            "service '{service}' is not running (it is {state}); start it with 'devstack start {service}'"
        )));
    }
    Ok(c)
}

/// A process exit code as ours: 0–255 pass through, anything else is 1 (still failure).
pub fn exit_status(code: i64) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// The psql session for a Postgres service: its service and command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    pub service: ServiceName,
    pub cmd: Vec<String>,
}

/// Services `db` can open, in name order.
pub fn console_candidates(stack: &Stack) -> Vec<&Service> {
    stack
        .services
        .values()
        .filter(|s| s.has_psql_console())
        .collect()
}

/// The console for `service`: `psql -U <POSTGRES_USER> -d <POSTGRES_DB>` with the
/// official image's defaults (user `postgres`, database = user), or the console's
/// declared default database and its role (`ops::database`). Inside the container psql
/// connects over the Unix socket, which the image trusts: no password typed.
pub fn console_for(service: &Service) -> Console {
    console_for_database(service, None)
}

/// [`console_for`] on `database` (any name; the default when `None`).
pub fn console_for_database(service: &Service, database: Option<&str>) -> Console {
    let target = super::database::target(service, database);
    Console {
        service: service.name.clone(),
        cmd: super::database::psql_command(&target),
    }
}

/// Picks the console service: the one named, else the only candidate. `Ok(None)` when
/// there are several and none was named (the caller asks).
pub fn resolve_console(stack: &Stack, name: Option<&str>) -> Result<Option<Console>, Error> {
    let candidates = console_candidates(stack);
    let names = || {
        candidates
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => match stack.services.get(&ServiceName::new(n)) {
            Some(s) if s.has_psql_console() => Ok(Some(console_for(s))),
            Some(_) => Err(Error::Usage(format!(
                "service '{n}' is not a Postgres service (its image is not 'postgres' and it has no 'x-devstack: {{console: psql}}'); Postgres services: {}",
                if candidates.is_empty() { "none".to_string() } else { names() }
            ))),
            None => Err(Error::UnknownService {
                name: n.to_string(),
                known: stack.services.keys().map(|s| s.to_string()).collect(),
            }),
        },
        None => match candidates.as_slice() {
            [] => Err(Error::Usage(
                "no Postgres service in this stack: none uses the 'postgres' image or declares 'x-devstack: {console: psql}'".into(),
            )),
            [only] => Ok(Some(console_for(only))),
            _ => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{LoadOptions, is_postgres_image, load_str};
    use std::path::Path;

    fn stack(yaml: &str) -> Stack {
        let opts = LoadOptions {
            cwd: "/".into(),
            ..LoadOptions::default()
        };
        load_str(yaml, Path::new("/p/devstack.yaml"), &opts).unwrap()
    }

    #[test]
    fn postgres_images_are_recognised_from_any_registry_and_tag() {
        for image in [
            "postgres",
            "postgres:18.1",
            "docker.io/library/postgres:17-alpine",
            "registry.corp:5000/mirror/postgres@sha256:abc",
            "ghcr.io/x/postgres@sha256:abc",
        ] {
            assert!(is_postgres_image(image), "{image}");
        }
        for image in [
            "postgrest/postgrest",
            "bitnami/postgresql",
            "my-postgres:1",
            "mypostgres:1",
            "redis",
        ] {
            assert!(!is_postgres_image(image), "{image}");
        }
    }

    #[test]
    fn console_uses_the_services_user_and_database() {
        let s = stack(
            "services:\n  db:\n    image: postgres:18.1\n    environment:\n      POSTGRES_USER: airflow\n      POSTGRES_DB: meta\n  web:\n    image: busybox\n",
        );
        assert_eq!(
            resolve_console(&s, None).unwrap(),
            Some(Console {
                service: ServiceName::new("db"),
                cmd: vec!["psql", "-U", "airflow", "-d", "meta"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            })
        );
    }

    #[test]
    fn console_defaults_follow_the_official_image() {
        let s = stack(
            "services:\n  pg:\n    image: postgres\n    environment:\n      POSTGRES_USER: app\n",
        );
        let c = resolve_console(&s, None).unwrap().unwrap();
        assert_eq!(c.cmd, vec!["psql", "-U", "app", "-d", "app"]);
        let s = stack("services:\n  pg:\n    image: postgres\n");
        let c = resolve_console(&s, None).unwrap().unwrap();
        assert_eq!(c.cmd, vec!["psql", "-U", "postgres", "-d", "postgres"]);
    }

    #[test]
    fn declared_console_counts_and_several_need_a_name() {
        let s = stack(
            "services:\n  a:\n    image: postgres:17\n  b:\n    image: busybox\n    x-devstack:\n      console: psql\n  c:\n    image: busybox\n",
        );
        assert_eq!(resolve_console(&s, None).unwrap(), None);
        assert_eq!(
            resolve_console(&s, Some("b")).unwrap().unwrap().service,
            ServiceName::new("b")
        );
        let err = resolve_console(&s, Some("c")).unwrap_err().to_string();
        assert!(
            err.contains("'c' is not a Postgres service") && err.contains("'a', 'b'"),
            "{err}"
        );
        let none = stack("services:\n  c:\n    image: busybox\n");
        assert!(resolve_console(&none, None).is_err());
    }

    #[test]
    fn exit_codes_map_to_ours() {
        assert_eq!(exit_status(0), 0);
        assert_eq!(exit_status(7), 7);
        assert_eq!(exit_status(255), 255);
        assert_eq!(exit_status(-1), 1);
        assert_eq!(exit_status(300), 1);
    }
}
