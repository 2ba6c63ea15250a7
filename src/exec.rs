//! The terminal hand-off for `exec`: our stdin/stdout/stderr ⇄ a process in a container.
//!
//! With a terminal: raw mode for the session (restored on every exit path), input passed
//! through byte for byte, the exec resized on *every* SIGWINCH, the exit code returned.
//! Without one: no TTY, stdin piped through until EOF, stdout and stderr kept apart.
//! The TUI calls [`run`] after leaving its alternate screen; the CLI calls it directly.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::engine::{Engine, ExecOutput, ExecRequest};
use crate::model::ContainerId;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
    #[error("terminal: {0}")]
    Terminal(#[source] io::Error),
}

/// Whether our stdin and stdout are a terminal, i.e. whether an exec gets a TTY.
pub fn has_terminal() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Raw mode for as long as this lives.
struct RawMode;

impl RawMode {
    fn enable() -> Result<Self, Error> {
        crossterm::terminal::enable_raw_mode().map_err(Error::Terminal)?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Nothing sensible to do when restoring fails; the shell's `reset` still works.
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Reads stdin on its own thread until told to stop. Polling with a short timeout, not a
/// blocking read, so that after the session the thread really ends and does not swallow
/// the next key meant for the TUI.
struct StdinPump {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StdinPump {
    fn start(tx: mpsc::Sender<Vec<u8>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let stdin = io::stdin();
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            let mut buf = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) {
                let mut fds = [rustix::event::PollFd::new(
                    &stdin,
                    rustix::event::PollFlags::IN,
                )];
                match rustix::event::poll(&mut fds, Some(&timeout)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(_) => break,
                }
                match stdin.lock().read(&mut buf) {
                    // EOF: an empty chunk tells the session to close the exec's input.
                    Ok(0) => {
                        let _ = tx.blocking_send(Vec::new());
                        break;
                    }
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread and waits for it (at most one poll interval).
    async fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for StdinPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs `request` in `container` attached to our terminal or pipes; returns the command's
/// exit code. `request.tty` decides the mode; the caller sets it from [`has_terminal`]
/// and `-T`.
pub async fn run(
    engine: &Engine,
    container: &ContainerId,
    mut request: ExecRequest,
) -> Result<i64, Error> {
    request.stdin = true;
    let raw = if request.tty {
        Some(RawMode::enable()?)
    } else {
        None
    };
    let mut session = engine.exec_start(container, &request).await?;
    let mut resize = if request.tty {
        if let Ok((cols, rows)) = crossterm::terminal::size() {
            // A command that has already ended cannot be resized (the daemon answers
            // 500 "cannot resize a stopped container"); its output and exit code still
            // follow, and a daemon that is really gone fails the exit-code read below.
            let _ = engine.exec_resize(&session.id, cols, rows).await;
        }
        Some(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
                .map_err(Error::Terminal)?,
        )
    } else {
        None
    };

    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(16);
    let pump = StdinPump::start(in_tx);
    let mut input_open = true;
    let mut stdout = tokio::io::stdout();
    let mut stderr = tokio::io::stderr();
    loop {
        tokio::select! {
            chunk = session.output.next() => match chunk {
                Some(Ok(ExecOutput::Stdout(b))) => {
                    stdout.write_all(&b).await.map_err(Error::Terminal)?;
                    stdout.flush().await.map_err(Error::Terminal)?;
                }
                Some(Ok(ExecOutput::Stderr(b))) => {
                    stderr.write_all(&b).await.map_err(Error::Terminal)?;
                    stderr.flush().await.map_err(Error::Terminal)?;
                }
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            bytes = in_rx.recv(), if input_open => match bytes {
                Some(b) if !b.is_empty() => {
                    // The process may have closed its stdin already; its output and exit
                    // code still matter, so a failed write only stops the input side.
                    if session.input.write_all(&b).await.is_err() {
                        input_open = false;
                    }
                }
                _ => {
                    let _ = session.input.shutdown().await;
                    input_open = false;
                }
            },
            Some(()) = recv_resize(&mut resize) => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    // As above: the process may have ended between two reads.
                    let _ = engine.exec_resize(&session.id, cols, rows).await;
                }
            }
        }
    }
    pump.finish().await;
    drop(raw);
    Ok(engine.exec_wait_exit(&session.id).await?)
}

async fn recv_resize(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Flushes our stdout; used before handing the terminal back to the TUI.
pub fn flush_stdout() {
    let _ = io::stdout().flush();
}
