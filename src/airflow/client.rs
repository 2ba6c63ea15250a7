//! HTTP to the Airflow api-server: HTTP/1.1 over TCP with hyper (already in the tree
//! through bollard), one connection per request — a local server, a few requests a
//! refresh — each bounded by a timeout. Logs in with the simple auth manager's token
//! endpoint and sends the token as a bearer on every API call.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::api::{self, DagRun, Overview, TaskInstance};
use super::roles::Login;

/// How long one request may take; the api-server answers local calls in well under this,
/// also under load.
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot reach the Airflow api-server at {url}: {source}; is it up? ('devstack ps' shows its state)"
    )]
    Connect {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the Airflow api-server at {url} did not answer within {}s", TIMEOUT.as_secs())]
    Timeout { url: String },
    #[error("HTTP to the Airflow api-server at {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: hyper::Error,
    },
    #[error(
        "Airflow refused the login of '{user}' ({status}); check AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD in the stack's .env"
    )]
    Login { user: String, status: u16 },
    #[error(
        "no admin password for Airflow in the stack's environment; set AIRFLOW_ADMIN_PASSWORD (or _AIRFLOW_WWW_USER_PASSWORD) on an Airflow service"
    )]
    NoPassword,
    #[error("Airflow answered {method} {path} with {status}: {detail}")]
    Status {
        method: String,
        path: String,
        status: u16,
        detail: String,
    },
    #[error("Airflow's answer to {path} is not what Airflow 3's REST API v2 sends: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

/// A client for one api-server at `http://host:port`.
#[derive(Debug, Clone)]
pub struct Client {
    /// `host:port` to connect to and send as `Host`.
    authority: String,
    token: Option<String>,
}

impl Client {
    /// A client for `authority` (`127.0.0.1:8080`), not logged in: only the health
    /// endpoint answers.
    pub fn new(authority: impl Into<String>) -> Self {
        Client {
            authority: authority.into(),
            token: None,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.authority)
    }

    /// Logs in through the simple auth manager (`POST /auth/token`).
    pub async fn login(&mut self, login: &Login) -> Result<(), Error> {
        let password = login.password.as_deref().ok_or(Error::NoPassword)?;
        let body = serde_json::json!({"username": login.user, "password": password});
        let (status, bytes) = self.send(Method::POST, "/auth/token", Some(body)).await?;
        if !status.is_success() {
            return Err(Error::Login {
                user: login.user.clone(),
                status: status.as_u16(),
            });
        }
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
        }
        let token: Token = serde_json::from_slice(&bytes).map_err(|source| Error::Parse {
            path: "/auth/token".into(),
            source,
        })?;
        self.token = Some(token.access_token);
        Ok(())
    }

    pub async fn health(&self) -> Result<api::Health, Error> {
        self.get("/api/v2/monitor/health", api::parse_health).await
    }

    /// Health, import errors, DAGs and the latest run of each.
    pub async fn overview(&self) -> Result<Overview, Error> {
        let health = self.health().await?;
        let errors = self
            .get("/api/v2/importErrors?limit=100", api::parse_import_errors)
            .await?;
        let dags = self
            .get("/api/v2/dags?limit=200&order_by=dag_id", api::parse_dags)
            .await?;
        let runs = self
            .get(
                "/api/v2/dags/~/dagRuns?limit=200&order_by=-run_after",
                api::parse_dag_runs,
            )
            .await?;
        Ok(Overview::join(health, errors, dags, runs))
    }

    pub async fn set_paused(&self, dag_id: &str, paused: bool) -> Result<(), Error> {
        let path = format!("/api/v2/dags/{}", segment(dag_id));
        self.call(
            Method::PATCH,
            &path,
            Some(serde_json::json!({"is_paused": paused})),
        )
        .await
        .map(drop)
    }

    /// Triggers a run now, with `conf` (a JSON object) when given.
    pub async fn trigger(
        &self,
        dag_id: &str,
        conf: Option<serde_json::Value>,
    ) -> Result<DagRun, Error> {
        let path = format!("/api/v2/dags/{}/dagRuns", segment(dag_id));
        let body = serde_json::json!({
            "logical_date": null,
            "conf": conf.unwrap_or_else(|| serde_json::json!({})),
        });
        let bytes = self.call(Method::POST, &path, Some(body)).await?;
        api::parse_dag_run(&bytes).map_err(|source| Error::Parse { path, source })
    }

    /// Clears the failed task instances of a run so the scheduler runs them again.
    pub async fn clear_failed(&self, dag_id: &str, run_id: &str) -> Result<(), Error> {
        let path = format!(
            "/api/v2/dags/{}/dagRuns/{}/clear",
            segment(dag_id),
            segment(run_id)
        );
        let body = serde_json::json!({"dry_run": false, "only_failed": true});
        self.call(Method::POST, &path, Some(body)).await.map(drop)
    }

    pub async fn dag_runs(&self, dag_id: &str) -> Result<Vec<DagRun>, Error> {
        let path = format!(
            "/api/v2/dags/{}/dagRuns?limit=50&order_by=-run_after",
            segment(dag_id)
        );
        self.get(&path, api::parse_dag_runs).await
    }

    pub async fn dag_run(&self, dag_id: &str, run_id: &str) -> Result<DagRun, Error> {
        let path = format!(
            "/api/v2/dags/{}/dagRuns/{}",
            segment(dag_id),
            segment(run_id)
        );
        self.get(&path, api::parse_dag_run).await
    }

    pub async fn task_instances(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<TaskInstance>, Error> {
        let path = format!(
            "/api/v2/dags/{}/dagRuns/{}/taskInstances",
            segment(dag_id),
            segment(run_id)
        );
        self.get(&path, api::parse_task_instances).await
    }

    pub async fn task_log(
        &self,
        dag_id: &str,
        run_id: &str,
        task: &TaskInstance,
    ) -> Result<Vec<String>, Error> {
        let path = format!(
            "/api/v2/dags/{}/dagRuns/{}/taskInstances/{}/logs/{}?full_content=true&map_index={}",
            segment(dag_id),
            segment(run_id),
            segment(&task.task_id),
            task.try_number.max(1),
            task.map_index
        );
        self.get(&path, api::parse_task_log).await
    }

    async fn get<T>(
        &self,
        path: &str,
        parse: fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<T, Error> {
        let bytes = self.call(Method::GET, path, None).await?;
        parse(&bytes).map_err(|source| Error::Parse {
            path: path.to_string(),
            source,
        })
    }

    /// A call whose answer must be a success; Airflow's `detail` goes into the error.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Bytes, Error> {
        let (status, bytes) = self.send(method.clone(), path, body).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(Error::Status {
            method: method.to_string(),
            path: path.to_string(),
            status: status.as_u16(),
            detail: detail(&bytes),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let url = format!("{}{path}", self.base_url());
        tokio::time::timeout(TIMEOUT, self.exchange(method, path, body, &url))
            .await
            .map_err(|_| Error::Timeout { url: url.clone() })?
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        url: &str,
    ) -> Result<(StatusCode, Bytes), Error> {
        let http = |source| Error::Http {
            url: url.to_string(),
            source,
        };
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|source| Error::Connect {
                url: url.to_string(),
                source,
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        // The connection is driven beside the request; it ends when the answer is read.
        let driver = tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let payload = match body {
            Some(b) => {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| Error::Status {
                method: "request".into(),
                path: path.to_string(),
                status: 0,
                detail: e.to_string(),
            })?;
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(http)?
            .to_bytes();
        driver.abort();
        Ok((status, bytes))
    }
}

/// A path segment with `/`, `?`, `#`, `%`, spaces and non-ASCII percent-encoded (run ids
/// hold `:` and `+`, which are fine in a path).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Airflow's error text: FastAPI's `{"detail": "..."}` (or a list of validation
/// problems), else the body itself, cut short.
fn detail(bytes: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => match v.get("detail") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => v.to_string(),
        },
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_run_ids_and_escape_the_rest() {
        assert_eq!(
            segment("manual__2026-12-01T23:00:00+00:00"),
            "manual__2026-12-01T23:00:00+00:00"
        );
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn error_details_come_from_fastapi_bodies() {
        assert_eq!(
            detail(br#"{"detail":"The Dag with dag_id: `x` was not found"}"#),
            "The Dag with dag_id: `x` was not found"
        );
        assert_eq!(detail(b"Internal Server Error"), "Internal Server Error");
    }
}
