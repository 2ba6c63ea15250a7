//! The one test-support kit of the integration tests (`mod common;`): `engine()`, the
//! fixture image (built offline from the host's static busybox, `fixture_image`), one
//! [`Project`] guard per test (a unique name and a folder; everything labelled with the
//! name goes on drop, also after a failed assertion), the `devstack` binary run in that
//! folder, [`poll_until`] for waiting on a condition, builders for stacks in code, and
//! helpers to look into a service's container. `daemon` looks at the daemon without
//! devstack; `pty` is a pseudo-terminal.
//!
//! Not every test binary uses all of it.
#![allow(dead_code)]
// Test support: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

pub mod daemon;
pub mod pty;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use devstack::engine::Engine;
use devstack::model::{ContainerInfo, ProjectName, ServiceName};
use devstack::stack::{
    self as stack_file, Condition, Dependency, EnvSource, EnvValue, HealthTest, Healthcheck,
    Service, Stack, StackSettings, Volume,
};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// Where the fixture's busybox comes from (Debian's `busybox-static`).
const BUSYBOX: &str = "/bin/busybox";

/// Connects to the machine's daemon; a missing daemon fails the test with the fix.
pub async fn engine() -> Engine {
    match Engine::connect().await {
        Ok(e) => e.with_stop_timeout(Duration::from_secs(3)),
        Err(e) => panic!(
            "these tests need a running Docker daemon and none answered.\n{e}\n\
             On Debian: 'sudo apt-get install docker.io && sudo systemctl start docker' \
             (or run .ci/run, which does this), or set DOCKER_HOST."
        ),
    }
}

static FIXTURE: OnceCell<String> = OnceCell::const_new();

/// The fixture image's reference, imported on first use. The tag carries a hash of
/// the root filesystem, so it is imported once per content and never replaced under
/// a running test (a re-import would change the image id and make `up` recreate).
pub async fn fixture_image(engine: &Engine) -> String {
    FIXTURE
        .get_or_init(|| async {
            let tar = rootfs_tar();
            let digest: String = Sha256::digest(&tar)
                .iter()
                .take(6)
                .map(|b| format!("{b:02x}"))
                .collect();
            let reference = format!("devstack-fixture:busybox-{digest}");
            let probe = Stack {
                services: BTreeMap::from([(
                    ServiceName::new("probe"),
                    service("probe", &reference),
                )]),
                ..stack(
                    &ProjectName("devstack-fixture-probe".into()),
                    Path::new("/"),
                )
            };
            let present = engine
                .observe(&probe)
                .await
                .expect("observe the fixture image")
                .images
                .contains_key(&reference);
            if !present {
                engine
                    .import_image(&reference, tar)
                    .await
                    .expect("import the fixture image");
            }
            reference
        })
        .await
        .clone()
}

/// A root filesystem with busybox and its applets, users root and app (1000), /tmp.
/// Deterministic (fixed mtimes and owners) so its hash names it.
fn rootfs_tar() -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).unwrap_or_else(|e| {
        panic!(
            "the fixture image needs a static busybox at '{BUSYBOX}': {e}. \
             On Debian: 'sudo apt-get install busybox-static'."
        )
    });
    let list = std::process::Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("run 'busybox --list'");
    let applets = String::from_utf8(list.stdout).expect("applet names are UTF-8");

    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    for (d, mode) in [
        ("bin", 0o755),
        ("etc", 0o755),
        ("root", 0o700),
        ("home", 0o755),
        ("tmp", 0o1777),
        ("var", 0o755),
        ("www", 0o755),
        ("data", 0o755),
    ] {
        dir(&mut b, d, mode);
    }
    let mut home = tar::Header::new_gnu();
    home.set_entry_type(tar::EntryType::Directory);
    home.set_mode(0o755);
    home.set_uid(1000);
    home.set_gid(1000);
    home.set_size(0);
    home.set_mtime(0);
    home.set_cksum();
    b.append_data(&mut home, "home/app", std::io::empty())
        .unwrap();
    file(&mut b, "bin/busybox", 0o755, &busybox);
    let mut names: Vec<&str> = applets
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names.into_iter().filter(|n| *n != "busybox") {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(0);
        b.append_link(&mut h, format!("bin/{name}"), "busybox")
            .unwrap();
    }
    file(
        &mut b,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
    );
    file(&mut b, "etc/group", 0o644, b"root:x:0:\napp:x:1000:\n");
    b.into_inner().expect("finish the rootfs tar")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test's project: a name no other test uses and a folder for its files (stack file,
/// Dockerfile, code). On drop, everything labelled with the name goes — containers,
/// network, volumes, then the images built for it — also after a failed assertion; then
/// the folder.
pub struct Project {
    pub name: ProjectName,
    pub dir: tempfile::TempDir,
    /// The stack file `cmd` passes with `-f` (`compose.yaml` in the folder unless set).
    pub file: PathBuf,
}

impl Project {
    pub fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = tempfile::Builder::new()
            .prefix("devstack-test")
            .tempdir()
            .expect("a temporary folder");
        Self {
            name: ProjectName(format!("devstack-test-{}-{n}", std::process::id())),
            file: dir.path().join("compose.yaml"),
            dir,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file of the project (parents created); returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("create folders");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }

    /// Loads the folder's stack file (`compose.yaml`, `devstack.yaml`, …) as `devstack`
    /// would, with this project's name.
    pub fn load(&self) -> Stack {
        stack_file::load(&stack_file::LoadOptions {
            file: None,
            extra_files: vec![],
            cwd: self.dir.path().to_path_buf(),
            project_name: Some(self.name.to_string()),
            env_files: vec![],
            profiles: vec![],
            strict: false,
            environment: BTreeMap::new(),
        })
        .unwrap_or_else(|e| panic!("load the test stack: {e}"))
    }

    /// `devstack -p <name> -f <file> ARGS…` in the project's folder, with no stdin and
    /// without the caller's `NO_COLOR` (colour is decided by the test, not the machine).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_devstack"));
        c.current_dir(self.dir.path())
            .arg("-p")
            .arg(self.name.as_str())
            .arg("-f")
            .arg(&self.file)
            .args(args)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        c
    }

    /// Runs to completion; output captured.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run devstack")
    }

    /// Runs with `input` on stdin; output captured.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn devstack");
        child
            .stdin
            .take()
            .expect("a stdin pipe")
            .write_all(input.as_bytes())
            .expect("write devstack's stdin");
        child.wait_with_output().expect("collect devstack's output")
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

    /// Starts devstack with stdout and stderr piped; killed if the test lets go of it.
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
    pub fn objects(&self) -> daemon::Objects {
        daemon::objects_labelled(self.name.as_str())
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let project = self.name.clone();
        // Drop cannot await, and the test's runtime may be the one panicking: a fresh
        // runtime on its own thread does the cleanup synchronously.
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
                        // After the containers: an image still in use cannot go.
                        if let Err(e) = engine.remove_project_images(&project).await {
                            eprintln!("cleanup of the images of project '{project}' failed: {e}");
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
        if block_on(poll_until(deadline, || (!self.is_running()).then_some(()))).is_none() {
            self.kill();
            panic!("devstack did not exit within {deadline:?}");
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

impl From<Child> for Running {
    fn from(child: Child) -> Self {
        Self(Some(child))
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

/// Calls `check` every 20 ms until it returns `Some`, and returns that; `None` once
/// `deadline` has passed, for the caller to fail with what it knows then
/// (`.expect("…")`, or `unwrap_or_else(|| panic!(…))` with the state seen). Deadlines are
/// generous: other builds share the machine. Async, so that the test's own tasks run
/// while it waits; a test without a runtime wraps it in [`block_on`].
pub async fn poll_until<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One runtime for the synchronous tests of a binary (those that drive the `devstack`
/// binary as a user would and make a few daemon calls of their own).
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

/// The directory of stack-file fixtures (`tests/fixtures/{valid,invalid}`).
pub fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// A command that keeps a container running and stops at once on SIGTERM (as PID 1 a
/// shell ignores SIGTERM without a trap, and every restart would take the grace period).
pub const SLEEPER: &str = r#"["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"#;

/// The service's container, inspected.
pub async fn container(engine: &Engine, project: &ProjectName, service: &str) -> ContainerInfo {
    engine
        .ps(project)
        .await
        .expect("ps")
        .into_iter()
        .find(|c| c.service == ServiceName::new(service))
        .unwrap_or_else(|| panic!("no container for service '{service}'"))
}

/// Output of a command in the service's container; panics on a non-zero exit.
pub async fn exec(engine: &Engine, c: &ContainerInfo, cmd: &[&str]) -> String {
    let (code, out, err) = engine
        .exec_capture(&c.id, cmd, None)
        .await
        .expect("exec in the container");
    assert_eq!(
        code,
        0,
        "{cmd:?} exited {code}: {}",
        String::from_utf8_lossy(&err)
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// Exit code of a command in the container.
pub async fn exec_code(engine: &Engine, c: &ContainerInfo, cmd: &[&str]) -> i64 {
    engine
        .exec_capture(&c.id, cmd, None)
        .await
        .expect("exec in the container")
        .0
}

/// An empty stack of `project` rooted at `dir`.
pub fn stack(project: &ProjectName, dir: &Path) -> Stack {
    Stack {
        project: project.clone(),
        file: dir.join("compose.yaml"),
        dir: dir.to_path_buf(),
        services: BTreeMap::new(),
        volumes: BTreeMap::new(),
        networks: BTreeMap::new(),
        warnings: vec![],
        settings: StackSettings::default(),
    }
}

/// A service with nothing but a name and an image.
pub fn service(name: &str, image: &str) -> Service {
    Service::new(name, image)
}

/// `sh -c SCRIPT`, exiting promptly on SIGTERM (as PID 1, a shell ignores it otherwise
/// and every stop would take the whole grace period).
pub fn sh(script: &str) -> Option<Vec<String>> {
    Some(vec![
        "sh".into(),
        "-c".into(),
        format!("trap 'exit 0' TERM; {script}"),
    ])
}

pub fn inline(value: &str) -> EnvValue {
    EnvValue {
        value: value.into(),
        source: EnvSource::Inline,
    }
}

pub fn from_env_file(value: &str, file: PathBuf) -> EnvValue {
    EnvValue {
        value: value.into(),
        source: EnvSource::EnvFile(file),
    }
}

pub fn depends(on: &str, condition: Condition) -> (ServiceName, Dependency) {
    (
        ServiceName::new(on),
        Dependency {
            condition,
            required: true,
            restart: false,
        },
    )
}

pub fn shell_healthcheck(cmd: &str, interval_ms: u64, retries: u32) -> Option<Healthcheck> {
    Some(Healthcheck {
        test: HealthTest::Shell(cmd.into()),
        interval: Some(Duration::from_millis(interval_ms)),
        timeout: Some(Duration::from_secs(2)),
        retries: Some(retries),
        start_period: None,
        start_interval: None,
    })
}

pub fn named_volume(project: &ProjectName, key: &str) -> (String, Volume) {
    (
        key.to_string(),
        Volume {
            key: key.into(),
            name: project.volume_name(key),
            external: false,
            labels: BTreeMap::new(),
        },
    )
}

pub fn add(stack: &mut Stack, service: Service) {
    stack.services.insert(service.name.clone(), service);
}

/// A plain HTTP/1.0 GET; returns the body.
pub fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the published port");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    match response.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_string(),
        None => panic!("not an HTTP response: {response:?}"),
    }
}
