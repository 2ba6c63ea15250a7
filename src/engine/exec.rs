//! Exec sessions on the daemon: create, attach, resize, exit code, shell probing.
//!
//! Bytes only: the local terminal (raw mode, SIGWINCH, stdin) belongs to `crate::exec`.

use std::pin::Pin;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ResizeExecOptionsBuilder;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWrite;

use super::{Engine, Error};
use crate::model::ContainerId;

/// What to run in a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub tty: bool,
    /// Attach our stdin (interactive, or piped input).
    pub stdin: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `K=V` pairs.
    pub env: Vec<String>,
}

/// A chunk of output; with a TTY the daemon merges both streams into `Stdout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutput {
    Stdout(bytes::Bytes),
    Stderr(bytes::Bytes),
}

pub type ExecOutputStream = Pin<Box<dyn Stream<Item = Result<ExecOutput, Error>> + Send>>;

/// A started exec: its id (for resize and exit code), output, and input.
pub struct ExecSession {
    pub id: String,
    pub output: ExecOutputStream,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession").field("id", &self.id).finish()
    }
}

impl Engine {
    pub async fn exec_start(
        &self,
        container: &ContainerId,
        request: &ExecRequest,
    ) -> Result<ExecSession, Error> {
        let config = ExecConfig {
            cmd: Some(request.cmd.clone()),
            attach_stdin: Some(request.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(request.tty),
            user: request.user.clone(),
            working_dir: request.workdir.clone(),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            ..Default::default()
        };
        let id = self
            .docker
            .create_exec(&container.0, config)
            .await
            .map_err(|e| Error::daemon("create exec", None, e))?
            .id;
        let started = self
            .docker
            .start_exec(
                &id,
                Some(StartExecOptions {
                    detach: false,
                    tty: request.tty,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(|e| Error::daemon("start exec", None, e))?;
        match started {
            StartExecResults::Attached { output, input } => {
                let output = output.filter_map(|item| async move {
                    use bollard::container::LogOutput;
                    match item {
                        Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                            Some(Ok(ExecOutput::Stdout(message)))
                        }
                        Ok(LogOutput::StdErr { message }) => Some(Ok(ExecOutput::Stderr(message))),
                        Ok(LogOutput::StdIn { .. }) => None,
                        Err(e) => Some(Err(Error::daemon("read exec output", None, e))),
                    }
                });
                Ok(ExecSession {
                    id,
                    output: Box::pin(output),
                    input,
                })
            }
            StartExecResults::Detached => Err(Error::Task {
                op: "start exec",
                message: "the daemon started the exec detached; devstack asked to attach".into(),
            }),
        }
    }

    /// Tells the daemon the terminal size; called on every resize, not just once.
    pub async fn exec_resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), Error> {
        let options = ResizeExecOptionsBuilder::default()
            .w(i32::from(cols))
            .h(i32::from(rows))
            .build();
        self.docker
            .resize_exec(id, options)
            .await
            .map_err(|e| Error::daemon("resize exec", None, e))
    }

    /// The exit code, or `None` while the daemon still reports the process running
    /// (its output closes a moment before the exit is recorded).
    pub async fn exec_exit_code(&self, id: &str) -> Result<Option<i64>, Error> {
        let inspect = self
            .docker
            .inspect_exec(id)
            .await
            .map_err(|e| Error::daemon("inspect exec", None, e))?;
        if inspect.running == Some(true) {
            return Ok(None);
        }
        Ok(inspect.exit_code)
    }

    /// Waits (bounded, 2 s) for the exit code after the output closed.
    pub async fn exec_wait_exit(&self, id: &str) -> Result<i64, Error> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            if let Some(code) = self.exec_exit_code(id).await? {
                return Ok(code);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Task {
                    op: "inspect exec",
                    message:
                        "the process closed its output but the daemon still reports it running"
                            .into(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Runs `cmd` without input and returns (exit code, stdout, stderr): for probes and
    /// short commands.
    pub async fn exec_capture(
        &self,
        container: &ContainerId,
        cmd: &[&str],
        user: Option<&str>,
    ) -> Result<(i64, Vec<u8>, Vec<u8>), Error> {
        let request = ExecRequest {
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            user: user.map(str::to_string),
            ..ExecRequest::default()
        };
        let mut session = self.exec_start(container, &request).await?;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = session.output.next().await {
            match chunk? {
                ExecOutput::Stdout(b) => out.extend_from_slice(&b),
                ExecOutput::Stderr(b) => err.extend_from_slice(&b),
            }
        }
        let code = self.exec_wait_exit(&session.id).await?;
        Ok((code, out, err))
    }

    /// `bash` when the image has it, else `sh`. Probed by running each, so it works for
    /// a non-root `USER` and for users whose login shell is `/sbin/nologin` (exec does
    /// not go through the login shell).
    pub async fn detect_shell(
        &self,
        container: &ContainerId,
        user: Option<&str>,
    ) -> Result<Option<&'static str>, Error> {
        for shell in ["bash", "sh"] {
            // A missing binary is an exit code (126/127) from the runtime, not an API error.
            let (code, _, _) = self
                .exec_capture(container, &[shell, "-c", "exit 0"], user)
                .await?;
            if code == 0 {
                return Ok(Some(shell));
            }
        }
        Ok(None)
    }
}
