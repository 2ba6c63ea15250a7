//! Which database of a Postgres service to open, as whom, and how a desktop client
//! reaches it: `devstack db [SVC] [-d DB]`, `db --url`, and the UI's `p` when a stack
//! names several databases (`x-devstack: {console: {type: psql, databases: [..]}}`).
//!
//! Pure: decided from the stack (and the ports the daemon published); unit-tested here.

use crate::model::{Protocol, PublishedPort};
use crate::stack::Service;

/// The port Postgres listens on inside its container.
pub const POSTGRES_PORT: u16 = 5432;

/// A database of a service and the role that opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub database: String,
    pub user: String,
    /// The role's password from the service's environment, when it is there.
    pub password: Option<String>,
}

/// The official image's own role and database: `POSTGRES_USER` (default `postgres`) and
/// `POSTGRES_DB` (default: the user's name).
fn own(service: &Service) -> (String, String) {
    let user = service
        .env_value("POSTGRES_USER")
        .unwrap_or("postgres")
        .to_string();
    let db = service
        .env_value("POSTGRES_DB")
        .map(str::to_string)
        .unwrap_or_else(|| user.clone());
    (user, db)
}

/// The databases to offer, the default first: the declared ones, else the image's own.
pub fn databases(service: &Service) -> Vec<String> {
    let declared = &service.settings.databases.databases;
    let default = default_database(service);
    let mut out = vec![default.clone()];
    out.extend(declared.iter().filter(|d| **d != default).cloned());
    out
}

/// `default:` of the console, else the image's own database.
pub fn default_database(service: &Service) -> String {
    service
        .settings
        .databases
        .default
        .clone()
        .unwrap_or_else(|| own(service).1)
}

/// The role for `database` (the default one when `None`): the image's own database is
/// opened as `POSTGRES_USER`; any other as the role `user_env` names, when the service's
/// environment has it, else as `POSTGRES_USER` too.
pub fn target(service: &Service, database: Option<&str>) -> Target {
    let (own_user, own_db) = own(service);
    let database = database
        .map(str::to_string)
        .unwrap_or_else(|| default_database(service));
    let settings = &service.settings.databases;
    let role = settings
        .user_env
        .as_deref()
        .and_then(|k| service.env_value(k))
        .filter(|_| database != own_db);
    match role {
        Some(user) => Target {
            database,
            user: user.to_string(),
            password: settings
                .password_env
                .as_deref()
                .and_then(|k| service.env_value(k))
                .map(str::to_string),
        },
        None => Target {
            database,
            user: own_user,
            password: service.env_value("POSTGRES_PASSWORD").map(str::to_string),
        },
    }
}

/// `psql -U USER -d DB`: inside the container psql connects over the Unix socket, which
/// the image trusts, so no password is typed.
pub fn psql_command(target: &Target) -> Vec<String> {
    vec![
        "psql".into(),
        "-U".into(),
        target.user.clone(),
        "-d".into(),
        target.database.clone(),
    ]
}

/// Where a client on this machine reaches the service's Postgres: the published host
/// port of 5432 as the daemon reports it (a port the daemon picked included), else as
/// the stack file writes it. An any-address binding is reached on 127.0.0.1.
pub fn host_endpoint(service: &Service, published: &[PublishedPort]) -> Option<(String, u16)> {
    let host = |ip: &str| match ip {
        "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
        other => other.to_string(),
    };
    if let Some(p) = published
        .iter()
        .find(|p| p.container_port == POSTGRES_PORT && p.protocol == Protocol::Tcp)
    {
        return Some((host(&p.host_ip), p.host_port));
    }
    service
        .ports
        .iter()
        .find(|p| p.container_port == POSTGRES_PORT && p.protocol == Protocol::Tcp)
        .and_then(|p| Some((host(&p.host_ip), p.host_port?)))
}

/// `postgresql://USER:PASSWORD@HOST:PORT/DB`; the password is '********' unless
/// `show_secrets`, and percent-encoded where a URL needs it.
pub fn url(target: &Target, host: &str, port: u16, show_secrets: bool) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let password = match (&target.password, show_secrets) {
        (None, _) => String::new(),
        (Some(_), false) => ":********".to_string(),
        (Some(p), true) => format!(":{}", encode(p)),
    };
    format!(
        "postgresql://{}{password}@{host}:{port}/{}",
        encode(&target.user),
        encode(&target.database)
    )
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceName;
    use crate::stack::{LoadOptions, Stack, load_str};
    use std::path::Path;

    fn stack(yaml: &str) -> Stack {
        let opts = LoadOptions {
            cwd: "/".into(),
            ..LoadOptions::default()
        };
        load_str(yaml, Path::new("/p/devstack.yaml"), &opts).unwrap()
    }

    const WAREHOUSE: &str = r#"
services:
  postgres:
    image: postgres:18.1
    environment:
      POSTGRES_USER: airflow
      POSTGRES_PASSWORD: "meta p@ss"
      POSTGRES_DB: airflow
      WAREHOUSE_USER: wh
      WAREHOUSE_PASSWORD: whpass
    ports: ["127.0.0.1:15432:5432"]
    x-devstack:
      console:
        type: psql
        databases: [airflow, warehouse]
        default: warehouse
        user_env: WAREHOUSE_USER
        password_env: WAREHOUSE_PASSWORD
"#;

    fn pg(s: &Stack) -> &Service {
        &s.services[&ServiceName::new("postgres")]
    }

    #[test]
    fn named_databases_open_as_their_role_and_the_default_comes_first() {
        let s = stack(WAREHOUSE);
        assert_eq!(databases(pg(&s)), vec!["warehouse", "airflow"]);
        let wh = target(pg(&s), None);
        assert_eq!(
            psql_command(&wh),
            vec!["psql", "-U", "wh", "-d", "warehouse"]
        );
        let meta = target(pg(&s), Some("airflow"));
        assert_eq!(
            psql_command(&meta),
            vec!["psql", "-U", "airflow", "-d", "airflow"]
        );
        assert_eq!(meta.password.as_deref(), Some("meta p@ss"));
    }

    #[test]
    fn the_short_form_keeps_the_images_own_database() {
        let s = stack(
            "services:\n  db:\n    image: busybox\n    environment:\n      POSTGRES_USER: app\n    x-devstack:\n      console: psql\n",
        );
        let svc = &s.services[&ServiceName::new("db")];
        assert_eq!(databases(svc), vec!["app"]);
        assert_eq!(
            psql_command(&target(svc, Some("other"))),
            vec!["psql", "-U", "app", "-d", "other"]
        );
    }

    #[test]
    fn a_default_outside_the_list_is_an_error_with_its_position() {
        let opts = LoadOptions {
            cwd: "/".into(),
            ..LoadOptions::default()
        };
        let err = load_str(
            "services:\n  db:\n    image: postgres\n    x-devstack:\n      console:\n        type: psql\n        databases: [a, b]\n        default: c\n",
            Path::new("/p/devstack.yaml"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("'c' is not in 'databases'"), "{err}");
        assert!(err.contains("'a', 'b'"), "{err}");
        assert!(err.contains(":8:"), "{err}");
    }

    #[test]
    fn url_masks_the_password_unless_asked_and_encodes_it() {
        let s = stack(WAREHOUSE);
        let (host, port) = host_endpoint(pg(&s), &[]).unwrap();
        assert_eq!((host.as_str(), port), ("127.0.0.1", 15432));
        let meta = target(pg(&s), Some("airflow"));
        assert_eq!(
            url(&meta, &host, port, false),
            "postgresql://airflow:********@127.0.0.1:15432/airflow"
        );
        assert_eq!(
            url(&meta, &host, port, true),
            "postgresql://airflow:meta%20p%40ss@127.0.0.1:15432/airflow"
        );
    }

    #[test]
    fn the_daemons_published_port_wins_over_the_file() {
        let s = stack(WAREHOUSE);
        let published = [PublishedPort {
            host_ip: "0.0.0.0".into(),
            host_port: 49153,
            container_port: 5432,
            protocol: Protocol::Tcp,
        }];
        assert_eq!(
            host_endpoint(pg(&s), &published),
            Some(("127.0.0.1".to_string(), 49153))
        );
        let none = stack("services:\n  db:\n    image: postgres\n");
        assert_eq!(
            host_endpoint(&none.services[&ServiceName::new("db")], &[]),
            None
        );
    }
}
