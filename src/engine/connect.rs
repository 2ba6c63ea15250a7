//! Finding the daemon: `DOCKER_HOST`, the current Docker context, then the usual sockets.
//!
//! Owns the list of places and the ping + API-version negotiation. It must not fall back
//! past an explicit `DOCKER_HOST` (the user asked for that daemon, not another one), and
//! it reads its inputs from a [`DaemonLookup`] rather than the process environment so
//! tests can vary them without touching global state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};
use sha2::{Digest, Sha256};

use super::Error;

/// How long one place may take to answer a ping before the next is tried.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// bollard's per-request timeout (seconds) for response headers; streams are not cut by it.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// The inputs of the daemon search, normally read from the environment.
#[derive(Debug, Clone, Default)]
pub struct DaemonLookup {
    pub docker_host: Option<String>,
    /// `DOCKER_CONTEXT`, which overrides `currentContext` of the config file.
    pub docker_context: Option<String>,
    /// `DOCKER_CONFIG`, else `~/.docker`.
    pub docker_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
}

impl DaemonLookup {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
        }
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }
}

/// One place to try, and why it is on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `unix:///…` or `tcp://…`.
    pub host: String,
    /// "DOCKER_HOST", "context 'colima'", "default socket", …
    pub source: String,
}

/// Places to try, in order. An explicit `DOCKER_HOST` is the only candidate; a context
/// that cannot be read is reported as a tried place with its reason.
pub fn candidates(lookup: &DaemonLookup) -> (Vec<Candidate>, Vec<(String, String)>) {
    let mut list = Vec::new();
    let mut problems = Vec::new();
    if let Some(host) = &lookup.docker_host {
        list.push(Candidate {
            host: host.clone(),
            source: "DOCKER_HOST".into(),
        });
        return (list, problems);
    }
    match context_host(lookup) {
        Ok(Some(c)) => list.push(c),
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
    let mut sockets: Vec<(PathBuf, &str)> =
        vec![(PathBuf::from("/var/run/docker.sock"), "default socket")];
    if let Some(x) = &lookup.xdg_runtime_dir {
        sockets.push((x.join("docker.sock"), "rootless Docker"));
    }
    if let Some(h) = &lookup.home {
        sockets.push((h.join(".docker/run/docker.sock"), "Docker Desktop"));
        sockets.push((h.join(".colima/default/docker.sock"), "Colima"));
        sockets.push((h.join(".orbstack/run/docker.sock"), "OrbStack"));
    }
    if let Some(x) = &lookup.xdg_runtime_dir {
        sockets.push((x.join("podman/podman.sock"), "Podman (rootless)"));
    }
    sockets.push((PathBuf::from("/run/podman/podman.sock"), "Podman"));
    for (path, source) in sockets {
        let host = format!("unix://{}", path.display());
        if !list.iter().any(|c| c.host == host) {
            list.push(Candidate {
                host,
                source: source.into(),
            });
        }
    }
    (list, problems)
}

/// The endpoint of the current Docker context, if one other than `default` is selected.
fn context_host(lookup: &DaemonLookup) -> Result<Option<Candidate>, (String, String)> {
    let Some(dir) = lookup.config_dir() else {
        return Ok(None);
    };
    let name = match &lookup.docker_context {
        Some(n) => n.clone(),
        None => {
            let path = dir.join("config.json");
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err((path.display().to_string(), e.to_string())),
            };
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| (path.display().to_string(), format!("not valid JSON: {e}")))?;
            match json.get("currentContext").and_then(|v| v.as_str()) {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => return Ok(None),
            }
        }
    };
    if name == "default" {
        return Ok(None);
    }
    let digest: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = dir.join("contexts/meta").join(digest).join("meta.json");
    let place = format!("context '{name}' ({})", meta.display());
    let text = std::fs::read_to_string(&meta).map_err(|e| (place.clone(), e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| (place.clone(), format!("not valid JSON: {e}")))?;
    let host = json
        .pointer("/Endpoints/docker/Host")
        .and_then(|v| v.as_str())
        .ok_or_else(|| (place.clone(), "has no 'Endpoints.docker.Host'".to_string()))?;
    Ok(Some(Candidate {
        host: host.to_string(),
        source: format!("context '{name}'"),
    }))
}

/// Tries every candidate in order; the first that answers a ping wins.
pub(crate) async fn connect(lookup: &DaemonLookup) -> Result<(Docker, String), Error> {
    let (list, mut tried) = candidates(lookup);
    for c in list {
        let place = format!("{} ({})", c.host, c.source);
        match try_one(&c.host).await {
            Ok(docker) => return Ok((docker, c.host)),
            Err(why) => tried.push((place, why)),
        }
    }
    Err(Error::NoDaemon { tried })
}

async fn try_one(host: &str) -> Result<Docker, String> {
    let docker = if let Some(path) = host.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err("no such socket".into());
        }
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .map_err(|e| e.to_string())?
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .map_err(|e| e.to_string())?
    } else if host.starts_with("ssh://") || host.starts_with("https://") {
        return Err(
            "ssh:// and TLS endpoints are not supported yet; use a unix socket or tcp://".into(),
        );
    } else {
        return Err("unknown scheme; expected unix:// or tcp://".into());
    };
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Err(_) => return Err(format!("no answer within {} s", PING_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Err(describe(&e)),
        Ok(Ok(_)) => {}
    }
    // Downgrades to the daemon's API version when it is older (1.41 on Docker 20.10);
    // a newer daemon accepts our version as is.
    let docker = tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| "no answer to /version".to_string())?
        .map_err(|e| format!("version negotiation failed: {}", describe(&e)))?;
    Ok(docker)
}

fn describe(e: &bollard::errors::Error) -> String {
    // hyper's errors hide the useful part (e.g. "Permission denied") in their sources.
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    if s.contains("Permission denied") {
        s.push_str(" (add your user to the 'docker' group, or use rootless Docker)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_is_the_only_candidate() {
        let lookup = DaemonLookup {
            docker_host: Some("unix:///nope.sock".into()),
            home: Some("/home/u".into()),
            ..Default::default()
        };
        let (list, problems) = candidates(&lookup);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].source, "DOCKER_HOST");
        assert!(problems.is_empty());
    }

    #[test]
    fn usual_sockets_in_order() {
        let lookup = DaemonLookup {
            home: Some("/home/u".into()),
            xdg_runtime_dir: Some("/run/user/1000".into()),
            docker_config: Some("/nonexistent/docker-config".into()),
            ..Default::default()
        };
        let (list, _) = candidates(&lookup);
        let hosts: Vec<&str> = list.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "unix:///var/run/docker.sock",
                "unix:///run/user/1000/docker.sock",
                "unix:///home/u/.docker/run/docker.sock",
                "unix:///home/u/.colima/default/docker.sock",
                "unix:///home/u/.orbstack/run/docker.sock",
                "unix:///run/user/1000/podman/podman.sock",
                "unix:///run/podman/podman.sock",
            ]
        );
    }

    #[test]
    fn current_context_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"colima"}"#,
        )
        .unwrap();
        let digest: String = Sha256::digest(b"colima")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = dir.path().join("contexts/meta").join(digest);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"colima","Endpoints":{"docker":{"Host":"unix:///x/colima.sock"}}}"#,
        )
        .unwrap();
        let lookup = DaemonLookup {
            docker_config: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let (list, problems) = candidates(&lookup);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(list[0].host, "unix:///x/colima.sock");
        assert_eq!(list[0].source, "context 'colima'");
        assert_eq!(list[1].host, "unix:///var/run/docker.sock");
    }

    #[test]
    fn unreadable_context_is_reported_not_fatal() {
        let lookup = DaemonLookup {
            docker_context: Some("gone".into()),
            docker_config: Some("/nonexistent/docker-config".into()),
            ..Default::default()
        };
        let (list, problems) = candidates(&lookup);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].0.contains("context 'gone'"));
        assert_eq!(list[0].host, "unix:///var/run/docker.sock");
    }
}
