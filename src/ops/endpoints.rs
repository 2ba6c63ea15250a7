//! What a person reaches once the stack is up — the Airflow UI and its login, the
//! `postgresql://` URLs of the databases, the folders whose code runs live — derived
//! from the resolved stack alone, for `up --detach` to print and the TUI to show.
//!
//! Pure: no daemon, no files read. An [`Endpoint`] never holds a secret's value: URLs
//! carry `****` for the password, and a login names the variable (and the env file)
//! that holds it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{Protocol, ServiceName};
use crate::stack::{EnvSource, MountSource, Service, Stack, WatchAction, image_name};

/// Stands for a password in a URL.
pub const MASK: &str = "****";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Endpoint {
    /// A web UI on a port published on the host.
    Web {
        service: ServiceName,
        title: String,
        url: String,
        user: Option<String>,
        password: Option<SecretRef>,
    },
    /// A PostgreSQL database reachable from the host; the password in `url` is masked.
    Database {
        service: ServiceName,
        title: String,
        url: String,
        password: Option<SecretRef>,
    },
    /// A host folder whose code the stack runs.
    Code {
        service: ServiceName,
        title: String,
        path: PathBuf,
        live: Live,
    },
}

/// Where a secret is kept: a variable of an env file — never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    pub variable: String,
    pub file: PathBuf,
    /// The env file does not set it: the value is the stack file's own (`file` is the
    /// stack file), a default like `${POSTGRES_PASSWORD:-airflow}` or a literal.
    pub from_stack_file: bool,
}

impl SecretRef {
    /// "POSTGRES_PASSWORD in ~/p/.env", or where the stack file sets it.
    fn place(&self, show_path: &dyn Fn(&Path) -> String) -> String {
        if self.from_stack_file {
            format!(
                "{}, as {} sets it (not in .env)",
                self.variable,
                show_path(&self.file)
            )
        } else {
            format!("{} in {}", self.variable, show_path(&self.file))
        }
    }
}

/// What a save in a code folder does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Live {
    /// Bind-mounted: the containers see the change at once (Airflow re-parses DAGs).
    Mounted,
    /// A save restarts (reruns) the service.
    Rerun,
    /// A save rebuilds the image and recreates the service.
    Rebuild,
    /// Built from here; changes need `devstack up --build`.
    Built,
}

/// The endpoints of `stack`, in a stable order: web UIs, databases, code folders.
pub fn endpoints(stack: &Stack) -> Vec<Endpoint> {
    let mut web = Vec::new();
    let mut databases = Vec::new();
    for service in stack.services.values() {
        if let Some(e) = airflow_ui(stack, service) {
            web.push(e);
        }
        if service.has_psql_console() {
            databases.extend(postgres_databases(stack, service));
        }
    }
    let mut out = web;
    out.extend(databases);
    out.extend(code_folders(stack));
    out
}

/// An endpoint in words: what it is, the value a person copies (a URL or a folder), and
/// a note (login, where the password is kept, what a save does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub title: String,
    pub value: String,
    pub note: Option<String>,
}

/// `title  value  (note)` lines, aligned; `show_path` shortens paths for the reader
/// (the CLI writes `~` for the home folder).
pub fn lines(endpoints: &[Endpoint], show_path: &dyn Fn(&Path) -> String) -> Vec<String> {
    let rows = rows(endpoints, show_path);
    let title_width = rows.iter().map(|r| r.title.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|r| r.value.len()).max().unwrap_or(0);
    rows.into_iter()
        .map(|Row { title, value, note }| match note {
            Some(n) => format!("{title:<title_width$}  {value:<value_width$}  ({n})"),
            None => format!("{title:<title_width$}  {value}"),
        })
        .collect()
}

/// One [`Row`] per endpoint, in the same order, for a reader that lays them out itself
/// (the TUI, at whatever width it has).
pub fn rows(endpoints: &[Endpoint], show_path: &dyn Fn(&Path) -> String) -> Vec<Row> {
    endpoints
        .iter()
        .map(|e| match e {
            Endpoint::Web {
                title,
                url,
                user,
                password,
                ..
            } => {
                let note = match (user, password) {
                    (Some(u), Some(p)) => {
                        Some(format!("user '{u}', password: {}", p.place(show_path)))
                    }
                    (Some(u), None) => Some(format!("user '{u}'")),
                    (None, Some(p)) => Some(format!("password: {}", p.place(show_path))),
                    (None, None) => None,
                };
                (title.as_str(), url.clone(), note)
            }
            Endpoint::Database {
                title,
                url,
                password,
                ..
            } => (
                title.as_str(),
                url.clone(),
                password
                    .as_ref()
                    .map(|p| format!("password: {}", p.place(show_path))),
            ),
            Endpoint::Code {
                title, path, live, ..
            } => {
                let note = match live {
                    Live::Mounted => "mounted live",
                    Live::Rerun => "a save reruns it",
                    Live::Rebuild => "a save rebuilds it",
                    Live::Built => "changes need 'devstack up --build'",
                };
                (title.as_str(), show_path(path), Some(note.to_string()))
            }
        })
        .map(|(title, value, note)| Row {
            title: title.to_string(),
            value,
            note,
        })
        .collect()
}

/// Where the value of `key` in the service's environment comes from. A value read from
/// an `env_file` names that file; an interpolated one names the stack's `.env` under the
/// same variable name — the bundled stacks pass every secret on under its `.env` name
/// (as the official Airflow compose file does), and the tests hold them to it.
fn secret_ref(stack: &Stack, service: &Service, key: &str) -> Option<SecretRef> {
    let value = service.environment.get(key)?;
    let (file, from_stack_file) = match &value.source {
        EnvSource::EnvFile(path) => (path.clone(), false),
        EnvSource::Inline => {
            let dotenv = stack.dir.join(".env");
            if env_file_sets(&dotenv, key) {
                (dotenv, false)
            } else {
                (stack.file.clone(), true)
            }
        }
    };
    Some(SecretRef {
        variable: key.to_string(),
        file,
        from_stack_file,
    })
}

/// Whether the env file at `path` gives `key` a value. An unreadable or invalid file
/// sets nothing (loading the stack reported it already).
fn env_file_sets(path: &Path, key: &str) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| crate::stack::parse_env_file(&text, path).ok())
        .is_some_and(|entries| entries.iter().any(|(k, v)| k == key && !v.is_empty()))
}

/// `host:port` the host reaches a published TCP port at; `None` when the port is not
/// published at a fixed host port (the daemon picks one: `devstack ps` shows it).
fn host_address(service: &Service, container_port: u16) -> Option<String> {
    let binding = service.ports.iter().find(|p| {
        p.container_port == container_port && p.protocol == Protocol::Tcp && p.host_port.is_some()
    })?;
    let host = match binding.host_ip.as_str() {
        // Every interface includes loopback, the address that always works locally.
        "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    Some(format!("{host}:{}", binding.host_port?))
}

/// Keeps a URL's user or database name a URL: everything outside RFC 3986's unreserved
/// characters is percent-encoded.
fn url_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn postgres_url(user: &str, masked: bool, address: &str, db: &str) -> String {
    let password = if masked {
        format!(":{MASK}")
    } else {
        String::new()
    };
    format!(
        "postgresql://{}{password}@{address}/{}",
        url_part(user),
        url_part(db)
    )
}

/// The server's own database (the official image's `POSTGRES_USER`/`POSTGRES_DB`), and
/// each database an init script makes from a `<NAME>_DB` + `<NAME>_USER` pair in the
/// service's environment (the bundled stack's `WAREHOUSE_*`).
fn postgres_databases(stack: &Stack, service: &Service) -> Vec<Endpoint> {
    let Some(address) = host_address(service, 5432) else {
        return Vec::new();
    };
    let user = service.env_value("POSTGRES_USER").unwrap_or("postgres");
    let db = service.env_value("POSTGRES_DB").unwrap_or(user);
    let password = secret_ref(stack, service, "POSTGRES_PASSWORD");
    let title = if is_airflow_metadata(stack, service) {
        "Airflow metadata DB".to_string()
    } else {
        format!("{} (PostgreSQL)", service.name)
    };
    let mut out = vec![Endpoint::Database {
        service: service.name.clone(),
        title,
        url: postgres_url(user, password.is_some(), &address, db),
        password,
    }];
    for (key, value) in &service.environment {
        let Some(prefix) = key.strip_suffix("_DB") else {
            continue;
        };
        if prefix == "POSTGRES" || prefix.is_empty() || value.value.is_empty() {
            continue;
        }
        let Some(user) = service.env_value(&format!("{prefix}_USER")) else {
            continue;
        };
        let password = secret_ref(stack, service, &format!("{prefix}_PASSWORD"));
        out.push(Endpoint::Database {
            service: service.name.clone(),
            title: format!("{} DB", prefix.to_ascii_lowercase().replace('_', " ")),
            url: postgres_url(user, password.is_some(), &address, &value.value),
            password,
        });
    }
    out
}

/// Whether an Airflow service's database connection points at `db`'s host name.
fn is_airflow_metadata(stack: &Stack, db: &Service) -> bool {
    let host = format!("@{}:", db.name);
    let host_no_port = format!("@{}/", db.name);
    stack.services.values().any(|s| {
        [
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
        ]
        .iter()
        .filter_map(|k| s.env_value(k))
        .any(|conn| conn.contains(&host) || conn.contains(&host_no_port))
    })
}

/// The Airflow UI: an `airflow` image publishing 8080 (api-server in Airflow 3,
/// webserver in 2). The login is looked up on that service, then on the other Airflow
/// services (the official compose file sets it on `airflow-init`).
fn airflow_ui(stack: &Stack, service: &Service) -> Option<Endpoint> {
    if image_name(&service.image) != "airflow" {
        return None;
    }
    let address = host_address(service, 8080)?;
    let airflow: Vec<&Service> = std::iter::once(service)
        .chain(
            stack
                .services
                .values()
                .filter(|s| s.name != service.name && image_name(&s.image) == "airflow"),
        )
        .collect();
    const USERS: [&str; 2] = ["AIRFLOW_ADMIN_USER", "_AIRFLOW_WWW_USER_USERNAME"];
    const PASSWORDS: [&str; 2] = ["AIRFLOW_ADMIN_PASSWORD", "_AIRFLOW_WWW_USER_PASSWORD"];
    let user = airflow
        .iter()
        .find_map(|s| USERS.iter().find_map(|k| s.env_value(k)))
        .map(str::to_string)
        .or_else(|| {
            // The simple auth manager's `user:role,…`.
            airflow.iter().find_map(|s| {
                let users = s.env_value("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")?;
                let first = users.split(',').next()?.split(':').next()?.trim();
                (!first.is_empty()).then(|| first.to_string())
            })
        });
    let password = airflow.iter().find_map(|s| {
        PASSWORDS
            .iter()
            .find(|k| s.env_value(k).is_some())
            .and_then(|k| secret_ref(stack, s, k))
    });
    Some(Endpoint::Web {
        service: service.name.clone(),
        title: "Airflow UI".into(),
        url: format!("http://{address}"),
        user,
        password,
    })
}

/// Folders of code: bind-mounted DAG folders, the build context of each built service,
/// and the watched folders of a service that runs code without building it.
fn code_folders(stack: &Stack) -> Vec<Endpoint> {
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut out = Vec::new();
    for service in stack.services.values() {
        for m in &service.mounts {
            if let MountSource::Bind(path) = &m.source
                && m.target.trim_end_matches('/').ends_with("/dags")
                && seen.insert(path.clone())
            {
                out.push(Endpoint::Code {
                    service: service.name.clone(),
                    title: "DAGs".into(),
                    path: path.clone(),
                    live: Live::Mounted,
                });
            }
        }
    }
    for service in stack.services.values() {
        let reruns = service.settings.restart_on_change
            || service
                .watch
                .iter()
                .any(|w| matches!(w.action, WatchAction::Restart | WatchAction::SyncRestart));
        let rebuilds = service
            .watch
            .iter()
            .any(|w| w.action == WatchAction::Rebuild);
        let live = if reruns {
            Live::Rerun
        } else if rebuilds {
            Live::Rebuild
        } else {
            Live::Built
        };
        let paths: Vec<PathBuf> = match &service.build {
            Some(build) => vec![build.context.clone()],
            None if !service.watch.is_empty() => {
                service.watch.iter().map(|w| w.path.clone()).collect()
            }
            None if service.settings.restart_on_change => service
                .mounts
                .iter()
                .filter_map(|m| match &m.source {
                    MountSource::Bind(p) => Some(p.clone()),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        };
        for path in paths {
            if seen.insert(path.clone()) {
                out.push(Endpoint::Code {
                    service: service.name.clone(),
                    title: format!("{} code", service.name),
                    path,
                    live,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{LoadOptions, load_str};
    use std::collections::BTreeMap;

    const SECRET: &str = "s3cr3t-Value-91";

    /// The stack and the folder it lives in (removed when the folder is dropped).
    fn load(yaml: &str, env: &str) -> (tempfile::TempDir, Stack) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::write(root.join(".env"), env).unwrap();
        for d in ["dags", "pipeline", "pipeline/src", "code"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let opts = LoadOptions {
            cwd: root.clone(),
            project_name: Some("demo".into()),
            environment: BTreeMap::new(),
            ..LoadOptions::default()
        };
        let stack = load_str(yaml, &root.join("devstack.yaml"), &opts).unwrap();
        (dir, stack)
    }

    fn shown(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn airflow_ui_databases_and_code_without_a_secret() {
        let yaml = r#"
services:
  postgres:
    image: postgres:18
    environment:
      POSTGRES_USER: airflow
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?}
      POSTGRES_DB: airflow
      WAREHOUSE_DB: warehouse
      WAREHOUSE_USER: loader
      WAREHOUSE_PASSWORD: ${WAREHOUSE_PASSWORD:?}
    ports: ["127.0.0.1:5433:5432"]
  api-server:
    image: apache/airflow:3.1.0
    environment:
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://airflow:${POSTGRES_PASSWORD}@postgres:5432/airflow
      AIRFLOW_ADMIN_USER: admin
      AIRFLOW_ADMIN_PASSWORD: ${AIRFLOW_ADMIN_PASSWORD:?}
    ports: ["8081:8080"]
    volumes: ["./dags:/opt/airflow/dags"]
  scheduler:
    image: apache/airflow:3.1.0
    volumes: ["./dags:/opt/airflow/dags"]
  pipeline:
    build: ./pipeline
    volumes: ["./pipeline/src:/app/src"]
    develop:
      watch:
        - {path: ./pipeline/src, action: restart}
"#;
        let env = format!(
            "POSTGRES_PASSWORD={SECRET}\nWAREHOUSE_PASSWORD={SECRET}w\nAIRFLOW_ADMIN_PASSWORD={SECRET}a\n"
        );
        let (_dir, stack) = load(yaml, &env);
        let got = endpoints(&stack);
        let dotenv = stack.dir.join(".env");
        let secret = |v: &str| {
            Some(SecretRef {
                variable: v.into(),
                file: dotenv.clone(),
                from_stack_file: false,
            })
        };
        assert_eq!(
            got,
            vec![
                Endpoint::Web {
                    service: ServiceName::new("api-server"),
                    title: "Airflow UI".into(),
                    url: "http://127.0.0.1:8081".into(),
                    user: Some("admin".into()),
                    password: secret("AIRFLOW_ADMIN_PASSWORD"),
                },
                Endpoint::Database {
                    service: ServiceName::new("postgres"),
                    title: "Airflow metadata DB".into(),
                    url: "postgresql://airflow:****@127.0.0.1:5433/airflow".into(),
                    password: secret("POSTGRES_PASSWORD"),
                },
                Endpoint::Database {
                    service: ServiceName::new("postgres"),
                    title: "warehouse DB".into(),
                    url: "postgresql://loader:****@127.0.0.1:5433/warehouse".into(),
                    password: secret("WAREHOUSE_PASSWORD"),
                },
                Endpoint::Code {
                    service: ServiceName::new("api-server"),
                    title: "DAGs".into(),
                    path: stack.dir.join("dags"),
                    live: Live::Mounted,
                },
                Endpoint::Code {
                    service: ServiceName::new("pipeline"),
                    title: "pipeline code".into(),
                    path: stack.dir.join("pipeline"),
                    live: Live::Rerun,
                },
            ]
        );
        let text = lines(&got, &shown).join("\n");
        assert!(!text.contains(SECRET), "{text}");
        assert!(
            format!("{got:?}").find(SECRET).is_none(),
            "no secret in the data either"
        );
        assert!(
            text.contains("user 'admin', password: AIRFLOW_ADMIN_PASSWORD in "),
            "{text}"
        );
        assert!(text.contains("(mounted live)"), "{text}");
        // The same words, unaligned, for the TUI.
        let rows = rows(&got, &shown);
        assert_eq!(
            rows[1],
            Row {
                title: "Airflow metadata DB".into(),
                value: "postgresql://airflow:****@127.0.0.1:5433/airflow".into(),
                note: Some(format!("password: POSTGRES_PASSWORD in {}", shown(&dotenv))),
            }
        );
        assert_eq!(
            (rows[3].value.clone(), rows[3].note.as_deref()),
            (shown(&stack.dir.join("dags")), Some("mounted live"))
        );
    }

    #[test]
    fn a_password_from_an_env_file_names_that_file_and_defaults_follow_the_image() {
        let yaml = "services:\n  db:\n    image: registry.local:5000/library/postgres:17@sha256:abc\n    env_file: .env\n    ports: [\"5432\", \"127.0.0.1:6543:5432\"]\n";
        let (_dir, stack) = load(yaml, &format!("POSTGRES_PASSWORD={SECRET}\n"));
        let got = endpoints(&stack);
        assert_eq!(
            got,
            vec![Endpoint::Database {
                service: ServiceName::new("db"),
                title: "db (PostgreSQL)".into(),
                url: "postgresql://postgres:****@127.0.0.1:6543/postgres".into(),
                password: Some(SecretRef {
                    variable: "POSTGRES_PASSWORD".into(),
                    file: stack.dir.join(".env"),
                    from_stack_file: false,
                }),
            }],
            "the ephemeral binding is skipped, the fixed one used"
        );
    }

    #[test]
    fn unpublished_databases_and_odd_names_are_handled() {
        let yaml = "services:\n  db:\n    image: busybox\n    environment:\n      POSTGRES_USER: \"a b@c\"\n    ports: [\"0.0.0.0:5432:5432\"]\n    x-devstack:\n      console: psql\n  hidden:\n    image: postgres:16\n  job:\n    image: busybox\n    volumes: [\"./code:/code\"]\n    x-devstack:\n      restart_on_change: true\n";
        let (_dir, stack) = load(yaml, "");
        let got = endpoints(&stack);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            Endpoint::Database {
                service: ServiceName::new("db"),
                title: "db (PostgreSQL)".into(),
                url: "postgresql://a%20b%40c@127.0.0.1:5432/a%20b%40c".into(),
                password: None,
            },
            "no password variable: no mask; every interface reached on loopback"
        );
        assert!(matches!(
            &got[1],
            Endpoint::Code { path, live: Live::Rerun, .. } if *path == stack.dir.join("code")
        ));
    }

    #[test]
    fn image_names_ignore_registry_tag_and_digest() {
        assert_eq!(image_name("postgres"), "postgres");
        assert_eq!(image_name("postgres:18.1"), "postgres");
        assert_eq!(image_name("docker.io/apache/airflow:3.1.0"), "airflow");
        assert_eq!(image_name("localhost:5000/postgres@sha256:ab"), "postgres");
        assert_eq!(image_name("postgis/postgis:16"), "postgis");
    }

    /// Issue 14: the closing hint named a `.env` variable the `.env` did not set (the
    /// stack file's default applied).
    #[test]
    fn a_password_the_env_file_does_not_set_names_the_stack_file() {
        let yaml = "services:\n  db:\n    image: postgres:18\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-airflow}\n    ports: [\"127.0.0.1:5433:5432\"]\n";
        let (_dir, stack) = load(yaml, "OTHER=1\n");
        let rows = rows(&endpoints(&stack), &shown);
        let note = rows[0].note.clone().unwrap_or_default();
        let file = stack.file.display().to_string();
        assert_eq!(
            note,
            format!("password: POSTGRES_PASSWORD, as {file} sets it (not in .env)")
        );
    }
}
