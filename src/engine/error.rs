//! The engine's error type: what failed, for which service, and what the daemon said.
//!
//! Owns the mapping from bollard's errors to ours (404 → not found, 409 → conflict,
//! anything else keeps its status); it must not swallow a daemon reply or drop its
//! message. Text here is read by people: values in 'single quotes', and a hint of what
//! to do when there is one.

use std::fmt;

use crate::model::{ContainerState, Protocol, ServiceName};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No daemon answered at any place devstack knows of.
    #[error("{}", no_daemon_message(tried))]
    NoDaemon {
        /// (where, why it failed), in the order tried.
        tried: Vec<(String, String)>,
    },

    /// The daemon refused a request (any status other than 404/409).
    #[error(
        "{op}{}: the Docker daemon answered {status}: {message}",
        for_service(service)
    )]
    Daemon {
        op: &'static str,
        service: Option<ServiceName>,
        status: u16,
        message: String,
    },

    /// 404 from the daemon.
    #[error("{op}{}: not found: {message}", for_service(service))]
    NotFound {
        op: &'static str,
        service: Option<ServiceName>,
        message: String,
    },

    /// devstack will not touch an object it did not create, or one of another directory's
    /// project; each line says which, why, and the ways out.
    #[error("{}", refusals.join("\n"))]
    Refused { refusals: Vec<String> },

    /// A change of several steps failed part-way: what failed, the state it left, and
    /// what to run.
    #[error("{cause}\n{state}\n{next}")]
    PartlyDone {
        cause: String,
        state: String,
        next: String,
    },

    /// `--no-wait`, and another devstack holds the project's lock.
    #[error(
        "another devstack is bringing up project '{project}'{}; wait for it to finish, or run again without --no-wait to wait for it",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Busy { project: String, pid: Option<u32> },

    /// 409 from the daemon (e.g. a name already in use).
    #[error("{op}{}: conflict: {message}", for_service(service))]
    Conflict {
        op: &'static str,
        service: Option<ServiceName>,
        message: String,
    },

    /// The request never got an answer: connection refused or dropped, timeout, bad reply.
    #[error(
        "{op}{}: no answer from the Docker daemon: {message} (is it still running?)",
        for_service(service)
    )]
    Connection {
        op: &'static str,
        service: Option<ServiceName>,
        message: String,
    },

    /// A host port the stack publishes is held by something else.
    #[error(
        "port '{host_ip}:{port}/{}' of service '{service}' is already in use{}; stop it or {}",
        protocol.as_str(),
        holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default(),
        match variable {
            Some(v) => format!("give the variable '{}' another port (it is {})", v.name, v.origin),
            None => "change the port in the stack file".to_string(),
        }
    )]
    PortTaken {
        port: u16,
        host_ip: String,
        protocol: Protocol,
        service: ServiceName,
        /// Who holds it, when that can be known: a container of another project, or a
        /// local process ("process 1234 'python3'").
        holder: Option<String>,
        /// The variable the port number came from, when it was interpolated.
        variable: Option<Box<crate::stack::PortVariable>>,
    },

    /// Several host ports the stack publishes are held: every one, each a `PortTaken`.
    #[error("{} ports the stack publishes are already in use:{}", .0.len(), .0.iter().map(|e| format!("\n- {e}")).collect::<String>())]
    PortsTaken(Vec<Error>),

    /// A service did not become ready: it exited, turned unhealthy, or ran out of time.
    #[error("{}", unhealthy_message(service, reason, *state, *exit_code, health_output.as_deref(), logs))]
    Unhealthy {
        service: ServiceName,
        /// What went wrong, in words ("is unhealthy", "exited with code 3", "not ready after 120 s").
        reason: String,
        state: Option<ContainerState>,
        exit_code: Option<i64>,
        /// The last lines the container printed (stdout and stderr), oldest first.
        logs: Vec<String>,
        /// Output of the last healthcheck probe.
        health_output: Option<String>,
    },

    /// A service could not start because one it depends on failed.
    #[error("service '{service}' was not started: its dependency '{dependency}' {reason}")]
    DependencyFailed {
        service: ServiceName,
        dependency: ServiceName,
        reason: String,
    },

    /// Pulling an image failed.
    #[error(
        "pull image '{image}': {message} (check the name and tag, and that the registry is reachable)"
    )]
    Pull { image: String, message: String },

    /// Building a service's image failed: the step, the builder's message, its output.
    #[error("{0}")]
    Build(Box<BuildFailure>),

    /// Something devstack does not do yet.
    #[error("{what}{}: not supported by devstack yet", for_service(service))]
    Unsupported {
        what: String,
        service: Option<ServiceName>,
    },

    /// Several actions failed at once (e.g. two services of one wave).
    #[error("{}", many_message(.0))]
    Many(Vec<Error>),

    /// A local file operation (reading a changed file to sync it).
    #[error("{op} '{path}': {source}")]
    Io {
        op: &'static str,
        path: String,
        source: std::io::Error,
    },

    /// A background task of the engine ended abnormally.
    #[error("{op}: internal task failed: {message}")]
    Task { op: &'static str, message: String },
}

impl Error {
    /// Converts a bollard error, keeping the daemon's status and message.
    pub(crate) fn daemon(
        op: &'static str,
        service: Option<&ServiceName>,
        err: bollard::errors::Error,
    ) -> Self {
        use bollard::errors::Error as B;
        let service = service.cloned();
        match err {
            B::DockerResponseServerError {
                status_code: 404,
                message,
            } => Error::NotFound {
                op,
                service,
                message,
            },
            B::DockerResponseServerError {
                status_code: 409,
                message,
            } => Error::Conflict {
                op,
                service,
                message,
            },
            B::DockerResponseServerError {
                status_code,
                message,
            } => Error::Daemon {
                op,
                service,
                status: status_code,
                message,
            },
            other => Error::Connection {
                op,
                service,
                message: other.to_string(),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// The daemon could not be reached (as opposed to refusing a request): a caller that
    /// streams (logs, events) retries after this one.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::NoDaemon { .. })
    }

    /// Several errors become one; a single one stays itself.
    pub(crate) fn collect(mut errors: Vec<Error>) -> Result<(), Error> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

/// Whether a bollard error is a 404 (used where "absent" is an answer, not a failure).
pub(crate) fn is_404(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn for_service(service: &Option<ServiceName>) -> String {
    match service {
        Some(s) => format!(" for service '{s}'"),
        None => String::new(),
    }
}

fn no_daemon_message(tried: &[(String, String)]) -> String {
    let mut s = String::from("cannot reach a Docker daemon. Tried:\n");
    for (place, why) in tried {
        s.push_str(&format!("  - {place}: {why}\n"));
    }
    s.push_str(
        "Start Docker (e.g. 'sudo systemctl start docker', or open Docker Desktop / Colima / \
         OrbStack), or point DOCKER_HOST at your daemon (e.g. \
         DOCKER_HOST=unix:///run/user/1000/docker.sock).",
    );
    s
}

fn unhealthy_message(
    service: &ServiceName,
    reason: &str,
    state: Option<ContainerState>,
    exit_code: Option<i64>,
    health_output: Option<&str>,
    logs: &[String],
) -> String {
    let mut s = format!("service '{service}' {reason}");
    match (state, exit_code) {
        (Some(st), Some(code)) if st == ContainerState::Exited || st == ContainerState::Dead => {
            s.push_str(&format!(" (state '{}', exit code {code})", st.as_str()))
        }
        (Some(st), _) => s.push_str(&format!(" (state '{}')", st.as_str())),
        (None, _) => s.push_str(" (no container)"),
    }
    // Two sources, each named: the probe's output and the container's log. "It printed
    // nothing" after a healthcheck line read as if the probe had printed something.
    match health_output.map(str::trim_end) {
        Some("") => s.push_str("\nthe last healthcheck printed nothing"),
        Some(out) => s.push_str(&format!("\nlast healthcheck output: {out}")),
        None => {}
    }
    if logs.is_empty() {
        s.push_str("\nthe container printed no log lines");
    } else {
        s.push_str(&format!(
            "\nlast {} log lines of the container:",
            logs.len()
        ));
        for line in logs {
            s.push_str("\n  | ");
            s.push_str(line);
        }
    }
    s
}

fn many_message(errors: &[Error]) -> String {
    let mut s = format!("{} operations failed:", errors.len());
    for e in errors {
        s.push_str("\n- ");
        s.push_str(&e.to_string().replace('\n', "\n  "));
    }
    s
}

/// Why a build failed: where, what the builder said, and what the step printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFailure {
    pub service: ServiceName,
    pub image: String,
    /// The step that failed (`Step 3/5 : RUN make`), when the build got that far.
    pub step: Option<String>,
    /// The builder's (or the context reader's) message.
    pub message: String,
    /// The last lines the failing step printed, oldest first.
    pub output: Vec<String>,
}

impl fmt::Display for BuildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "building image '{}' for service '{}' failed",
            self.image, self.service
        )?;
        if let Some(step) = &self.step {
            write!(f, " at '{step}'")?;
        }
        write!(f, ": {}", self.message.trim_end())?;
        if !self.output.is_empty() {
            write!(f, "\nlast {} output lines of that step:", self.output.len())?;
            for line in &self.output {
                write!(f, "\n  | {line}")?;
            }
        }
        write!(
            f,
            "\nfix the Dockerfile or the files it uses, then run 'devstack build {}'",
            self.service
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: a probe that printed nothing gave "last healthcheck output: " and then
    // "it printed nothing", which contradicted itself.
    #[test]
    fn unhealthy_wording_names_the_probe_and_the_log_apart() {
        let svc = ServiceName::new("db");
        let m = unhealthy_message(
            &svc,
            "is unhealthy",
            Some(ContainerState::Running),
            None,
            Some("\n"),
            &[],
        );
        assert!(m.contains("the last healthcheck printed nothing"), "{m}");
        assert!(m.contains("the container printed no log lines"), "{m}");
        assert!(!m.contains("last healthcheck output"), "{m}");
        let m = unhealthy_message(
            &svc,
            "is unhealthy",
            Some(ContainerState::Running),
            None,
            Some("connection refused\n"),
            &["starting".to_string()],
        );
        assert!(
            m.contains("last healthcheck output: connection refused"),
            "{m}"
        );
        assert!(
            m.contains("last 1 log lines of the container:\n  | starting"),
            "{m}"
        );
    }
}
