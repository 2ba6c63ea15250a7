//! Support for the fault tests: the fixture image (from `tests/common`), a project guard
//! that removes everything labelled with its name on drop (also after a failed
//! assertion), the `devstack` binary, and an independent look at the daemon.
//!
//! The daemon is inspected here with bollard directly, not through `devstack::engine`,
//! so the tests do not take the engine's own word for what exists.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use devstack::engine::Engine;

pub const PROJECT_LABEL: &str = "io.devstack.project";

/// One runtime for the whole test binary: the tests are synchronous (they drive the
/// binary as a user would) and block on the few daemon calls they make.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime")
    })
    .block_on(f)
}

/// Connects to the machine's daemon; a missing daemon fails the test with the fix.
pub fn engine() -> Engine {
    match block_on(Engine::connect()) {
        Ok(e) => e.with_stop_timeout(Duration::from_secs(2)),
        Err(e) => panic!(
            "these tests need a running Docker daemon and none answered.\n{e}\n\
             On Debian: 'sudo apt-get install docker.io && sudo systemctl start docker' \
             (or run .ci/run, which does this), or set DOCKER_HOST."
        ),
    }
}

fn docker() -> Docker {
    let d = Docker::connect_with_defaults().expect("a Docker client for the test's own checks");
    block_on(d.negotiate_version()).expect("negotiate the API version")
}

/// The fixture image's reference (`tests/common` builds and imports it, once per
/// content).
pub fn fixture_image() -> String {
    block_on(async {
        let engine = crate::common::engine().await;
        crate::common::fixture_image(&engine).await
    })
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique project with its own directory for the stack file; on drop, everything
/// labelled with its name goes (containers, network, volumes), also after a failure.
pub struct Project {
    pub name: String,
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Self {
            name: format!("devstack-fault-{}-{n}-{tag}", std::process::id()),
            dir: tempfile::Builder::new()
                .prefix("devstack-fault")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).expect("write a project file");
        p
    }

    /// `devstack -f <dir>/compose.yaml -p <name> ARGS…`, from the project directory.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_devstack"));
        c.current_dir(self.dir.path())
            .arg("-f")
            .arg(self.path("compose.yaml"))
            .arg("-p")
            .arg(&self.name)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Runs to completion; output captured.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run devstack")
    }

    /// Runs and requires success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "devstack {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn spawn(&self, args: &[&str]) -> Running {
        Running(Some(
            self.cmd(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn devstack"),
        ))
    }

    /// What the daemon has under this project's label, seen without devstack.
    pub fn objects(&self) -> Objects {
        objects_labelled(&self.name)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let project = devstack::model::ProjectName(self.name.clone());
        // Drop cannot rely on the test's state (it may be unwinding): a runtime of its
        // own on a fresh thread does the cleanup synchronously.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async {
                match Engine::connect().await {
                    Ok(engine) => {
                        let engine = engine.with_stop_timeout(Duration::ZERO);
                        if let Err(e) = engine.down(&project, true).await {
                            eprintln!("cleanup of project '{project}' failed: {e}");
                        }
                    }
                    Err(e) => eprintln!("cleanup of project '{project}': {e}"),
                }
            })
        });
        if cleanup.join().is_err() {
            eprintln!("cleanup of project '{}' panicked", self.name);
        }
    }
}

/// A devstack process that is killed (SIGKILL) if the test lets go of it running.
pub struct Running(Option<Child>);

impl Running {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the process is still held")
    }

    pub fn pid(&mut self) -> u32 {
        self.child().id()
    }

    /// Whether it has not exited yet.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child().try_wait(), Ok(None))
    }

    /// SIGKILL (what `Child::kill` sends on Unix); says whether it was still running.
    pub fn kill(&mut self) -> bool {
        let running = self.is_running();
        let _ = self.child().kill();
        running
    }

    /// Waits for exit with a deadline (kills it and panics when the deadline passes);
    /// returns the exit status and what it printed.
    pub fn wait_output(mut self, deadline: Duration) -> (std::process::ExitStatus, String, String) {
        let start = Instant::now();
        while self.is_running() {
            if start.elapsed() > deadline {
                self.kill();
                panic!("devstack did not exit within {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let child = self.0.take().expect("the process is still held");
        let out = child.wait_with_output().expect("collect devstack's output");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A project's objects as the daemon lists them by label.
#[derive(Debug, Default)]
pub struct Objects {
    /// (name, state, labels) of every container, running or not.
    pub containers: Vec<(String, String, HashMap<String, String>)>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Objects {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

pub fn objects_labelled(project: &str) -> Objects {
    let docker = docker();
    let filter = HashMap::from([("label", vec![format!("{PROJECT_LABEL}={project}")])]);
    block_on(async {
        let containers = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filter)
                    .build(),
            ))
            .await
            .expect("list containers")
            .into_iter()
            .map(|c| {
                let name = c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default();
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                (name, state, c.labels.unwrap_or_default())
            })
            .collect();
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filter)
                    .build(),
            ))
            .await
            .expect("list networks")
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        let volumes = docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filter)
                    .build(),
            ))
            .await
            .expect("list volumes")
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        Objects {
            containers,
            networks,
            volumes,
        }
    })
}

/// Polls `check` until it returns `Some`, or panics with `what` at the deadline.
pub fn poll_until<T>(deadline: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/pid/stat");
    // The command name is in parentheses and may hold spaces: fields start after ')'.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let field = |i: usize| -> u64 {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("no field {i} in /proc/{pid}/stat: {stat}"))
    };
    let ticks = field(11) + field(12);
    // USER_HZ is 100 on every Linux we run on.
    Duration::from_millis(ticks * 10)
}

/// The `devstack` binary's directory of test fixtures.
pub fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}
