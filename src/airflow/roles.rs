//! Which services of a stack are Airflow, what each one is, and the admin login the
//! stack's environment (its `.env`) gives the simple auth manager. Pure.

use std::path::{Path, PathBuf};

use crate::model::ServiceName;
use crate::stack::{MountSource, Service, Stack, image_name};

/// The port the api-server listens on inside its container.
pub const API_PORT: u16 = 8080;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    ApiServer,
    Scheduler,
    DagProcessor,
    Triggerer,
    Worker,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "api-server" | "webserver" => Role::ApiServer,
            "scheduler" => Role::Scheduler,
            "dag-processor" => Role::DagProcessor,
            "triggerer" => Role::Triggerer,
            "worker" => Role::Worker,
            _ => return None,
        })
    }
}

/// Whether the service runs Airflow: an `apache/airflow` image (any registry, any tag)
/// or `x-devstack: {airflow: …}`.
pub fn is_airflow(service: &Service) -> bool {
    service.settings.airflow.is_some() || image_name(&service.image) == "airflow"
}

/// The component a service runs: `x-devstack: {airflow: …}`, else (an Airflow image) the
/// Airflow subcommand its command names — `scheduler`, or `exec airflow api-server` at
/// the end of a script. `None` for a one-shot such as `airflow db migrate`.
pub fn role(service: &Service) -> Option<Role> {
    if let Some(r) = service.settings.airflow.as_deref() {
        return Role::parse(r);
    }
    if image_name(&service.image) != "airflow" {
        return None;
    }
    let command = service.command.as_ref()?;
    let words: Vec<&str> = command
        .iter()
        .flat_map(|arg| arg.split_whitespace())
        .collect();
    match words.as_slice() {
        // The image's entrypoint runs `airflow <first word>`.
        [first, ..] if Role::parse(first).is_some() => Role::parse(first),
        ["celery", "worker", ..] => Some(Role::Worker),
        _ => words
            .windows(2)
            .find(|w| w[0] == "airflow")
            .and_then(|w| match w[1] {
                "celery" => Some(Role::Worker),
                other => Role::parse(other),
            }),
    }
}

/// The Airflow services of a stack with their role, in name order.
pub fn airflow_services(stack: &Stack) -> Vec<(&Service, Option<Role>)> {
    stack
        .services
        .values()
        .filter(|s| is_airflow(s))
        .map(|s| (s, role(s)))
        .collect()
}

/// The service that serves the REST API: the api-server, else an Airflow service that
/// publishes 8080.
pub fn api_service(stack: &Stack) -> Option<&Service> {
    let airflow = airflow_services(stack);
    airflow
        .iter()
        .find(|(_, r)| *r == Some(Role::ApiServer))
        .or_else(|| {
            airflow
                .iter()
                .find(|(s, _)| s.ports.iter().any(|p| p.container_port == API_PORT))
        })
        .map(|(s, _)| *s)
}

/// Where `airflow -- ARGS` runs: the service named (it must be Airflow), else the
/// scheduler, else any long-running component.
pub fn cli_service<'a>(stack: &'a Stack, named: Option<&str>) -> Result<&'a Service, String> {
    let airflow = airflow_services(stack);
    let names = || {
        airflow
            .iter()
            .map(|(s, _)| format!("'{}'", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(n) = named {
        return match stack.services.get(&ServiceName::new(n)) {
            Some(s) if is_airflow(s) => Ok(s),
            Some(_) => Err(format!(
                "service '{n}' is not an Airflow service (no 'apache/airflow' image, no 'x-devstack: {{airflow: …}}'); Airflow services: {}",
                if airflow.is_empty() {
                    "none".to_string()
                } else {
                    names()
                }
            )),
            None => Err(format!(
                "no service '{n}' in the stack; Airflow services: {}",
                if airflow.is_empty() {
                    "none".to_string()
                } else {
                    names()
                }
            )),
        };
    }
    let by_role = |want: Role| {
        airflow
            .iter()
            .find(|(_, r)| *r == Some(want))
            .map(|(s, _)| *s)
    };
    by_role(Role::Scheduler)
        .or_else(|| airflow.iter().find(|(_, r)| r.is_some()).map(|(s, _)| *s))
        .ok_or_else(|| {
            "no Airflow service in this stack: none uses the 'apache/airflow' image or declares 'x-devstack: {airflow: scheduler}'".to_string()
        })
}

/// The simple auth manager's admin login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    /// `None` when no Airflow service's environment carries it.
    pub password: Option<String>,
}

/// The admin login from the Airflow services' environment (as interpolated from `.env`):
/// `AIRFLOW_ADMIN_USER`/`_PASSWORD` (the bundled stack), `_AIRFLOW_WWW_USER_*` (the
/// official compose file), else the first user of `SIMPLE_AUTH_MANAGER_USERS`.
pub fn login(stack: &Stack) -> Login {
    let airflow: Vec<&Service> = airflow_services(stack)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let env = |k: &str| {
        airflow.iter().find_map(|s| {
            s.environment
                .get(k)
                .map(|v| v.value.clone())
                .filter(|v| !v.is_empty())
        })
    };
    let user = env("AIRFLOW_ADMIN_USER")
        .or_else(|| env("_AIRFLOW_WWW_USER_USERNAME"))
        .or_else(|| {
            let users = env("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")?;
            let first = users
                .split(',')
                .next()?
                .split(':')
                .next()?
                .trim()
                .to_string();
            (!first.is_empty()).then_some(first)
        })
        .unwrap_or_else(|| "admin".to_string());
    let password = env("AIRFLOW_ADMIN_PASSWORD").or_else(|| env("_AIRFLOW_WWW_USER_PASSWORD"));
    Login { user, password }
}

/// A path inside an Airflow container (`/opt/airflow/dags/x.py`) as the user's file,
/// relative to the stack's folder when a bind mount of an Airflow service holds it.
pub fn host_path(stack: &Stack, container_path: &str) -> Option<PathBuf> {
    let path = Path::new(container_path);
    airflow_services(stack).iter().find_map(|(s, _)| {
        s.mounts.iter().find_map(|m| {
            let MountSource::Bind(source) = &m.source else {
                return None;
            };
            let rest = path.strip_prefix(m.target.trim_end_matches('/')).ok()?;
            let host = source.join(rest);
            Some(
                host.strip_prefix(&stack.dir)
                    .map(Path::to_path_buf)
                    .unwrap_or(host),
            )
        })
    })
}

/// Where Airflow reads DAG files inside its containers unless told otherwise.
pub const DAGS_FOLDER: &str = "/opt/airflow/dags";

/// The host folders holding the stack's DAG files: the bind-mount sources of its Airflow
/// services whose target is the dags folder (`AIRFLOW__CORE__DAGS_FOLDER` of that
/// service when set, else [`DAGS_FOLDER`]). Sorted, each once.
pub fn dags_folders(stack: &Stack) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = airflow_services(stack)
        .iter()
        .flat_map(|(s, _)| {
            let folder = s
                .environment
                .get("AIRFLOW__CORE__DAGS_FOLDER")
                .map_or(DAGS_FOLDER, |v| v.value.as_str())
                .trim_end_matches('/')
                .to_string();
            s.mounts.iter().filter_map(move |m| match &m.source {
                MountSource::Bind(source) if m.target.trim_end_matches('/') == folder => {
                    Some(source.clone())
                }
                _ => None,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{LoadOptions, load_str};

    /// Loaded from a temporary folder with a `dags` folder, as bind mounts must exist.
    fn stack(yaml: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dags")).unwrap();
        let opts = LoadOptions {
            cwd: dir.path().to_path_buf(),
            ..LoadOptions::default()
        };
        load_str(yaml, &dir.path().join("devstack.yaml"), &opts).unwrap()
    }

    const OFFICIAL: &str = "services:
  airflow-init:
    image: apache/airflow:3.1.0
    command: [bash, -c, 'airflow db migrate']
    environment:
      _AIRFLOW_WWW_USER_USERNAME: boss
      _AIRFLOW_WWW_USER_PASSWORD: s3cret
  airflow-apiserver:
    image: apache/airflow:3.1.0
    command: api-server
    ports: ['8080:8080']
    volumes: ['./dags:/opt/airflow/dags']
  airflow-scheduler:
    image: docker.io/apache/airflow:3.1.0
    command: scheduler
  airflow-worker:
    image: apache/airflow:3.1.0
    command: celery worker
  postgres:
    image: postgres:16
";

    #[test]
    fn airflow_images_are_recognised_by_their_command() {
        let s = stack(OFFICIAL);
        let roles: Vec<(String, Option<Role>)> = airflow_services(&s)
            .into_iter()
            .map(|(s, r)| (s.name.to_string(), r))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("airflow-apiserver".into(), Some(Role::ApiServer)),
                ("airflow-init".into(), None),
                ("airflow-scheduler".into(), Some(Role::Scheduler)),
                ("airflow-worker".into(), Some(Role::Worker)),
            ]
        );
        assert_eq!(api_service(&s).unwrap().name.as_str(), "airflow-apiserver");
        assert_eq!(
            cli_service(&s, None).unwrap().name.as_str(),
            "airflow-scheduler"
        );
        assert_eq!(
            login(&s),
            Login {
                user: "boss".into(),
                password: Some("s3cret".into())
            }
        );
        assert_eq!(
            host_path(&s, "/opt/airflow/dags/sub/bad.py"),
            Some(PathBuf::from("dags/sub/bad.py"))
        );
        assert_eq!(host_path(&s, "/elsewhere/bad.py"), None);
    }

    #[test]
    fn x_devstack_names_the_component_of_any_image() {
        let s = stack(
            "services:
  web:
    image: my/airflow-build:1
    command: [bash, -c, 'exec airflow api-server']
    x-devstack: {airflow: api-server}
    environment:
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: 'ops:admin,viewer:viewer'
  sched:
    image: my/airflow-build:1
    x-devstack:
      airflow: scheduler
  db:
    image: postgres
",
        );
        assert_eq!(
            role(&s.services[&ServiceName::new("sched")]),
            Some(Role::Scheduler)
        );
        assert_eq!(api_service(&s).unwrap().name.as_str(), "web");
        assert_eq!(cli_service(&s, None).unwrap().name.as_str(), "sched");
        assert_eq!(cli_service(&s, Some("web")).unwrap().name.as_str(), "web");
        let err = cli_service(&s, Some("db")).unwrap_err();
        assert!(
            err.contains("'db' is not an Airflow service") && err.contains("'sched'"),
            "{err}"
        );
        assert_eq!(
            login(&s),
            Login {
                user: "ops".into(),
                password: None
            }
        );
    }

    #[test]
    fn an_unknown_component_is_an_error_with_the_choices() {
        let opts = LoadOptions {
            cwd: "/p".into(),
            ..LoadOptions::default()
        };
        let err = load_str(
            "services:\n  a:\n    image: x\n    x-devstack:\n      airflow: webserverr\n",
            Path::new("/p/devstack.yaml"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("5:") && err.contains("'webserverr'") && err.contains("'api-server'"),
            "{err}"
        );
    }

    #[test]
    fn the_bundled_stack_names_its_components() {
        let text = include_str!("../../stacks/airflow.yaml");
        assert!(text.contains("airflow: scheduler") && text.contains("airflow: api-server"));
    }

    #[test]
    fn the_dags_folders_are_the_binds_on_each_services_dags_folder() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["dags", "other", "plugins"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let opts = LoadOptions {
            cwd: dir.path().to_path_buf(),
            ..LoadOptions::default()
        };
        let yaml = "services:
  airflow-apiserver:
    image: apache/airflow:3.1.0
    command: api-server
    volumes: ['./dags:/opt/airflow/dags', './plugins:/opt/airflow/plugins']
  airflow-dag-processor:
    image: apache/airflow:3.1.0
    command: dag-processor
    environment:
      AIRFLOW__CORE__DAGS_FOLDER: /srv/dags/
    volumes: ['./dags:/opt/airflow/dags', './other:/srv/dags']
  pipeline:
    image: python:3.12
    volumes: ['./plugins:/opt/airflow/dags']
";
        let s = load_str(yaml, &dir.path().join("devstack.yaml"), &opts).unwrap();
        // The dag-processor's own folder is /srv/dags: its ./dags bind is not one; a
        // service that is not Airflow does not count; ./dags appears once.
        let root = dir
            .path()
            .canonicalize()
            .unwrap_or(dir.path().to_path_buf());
        let got: Vec<PathBuf> = dags_folders(&s)
            .into_iter()
            .map(|p| p.canonicalize().unwrap_or(p))
            .collect();
        assert_eq!(got, vec![root.join("dags"), root.join("other")]);
        assert!(dags_folders(&stack("services:\n  db:\n    image: postgres:16\n")).is_empty());
    }
}
