//! Test support for `tests/live.rs`: the offline fixture image, a per-test project in
//! its own folder (stack file, Dockerfile, code) that removes its containers, network,
//! volumes and the images it built when dropped — also after a failed assertion.
//!
//! The fixture import is copied from the engine tests' `common` module (branch
//! `engine`); once both are merged, this file shrinks to the project folder.
#![allow(dead_code)]
// Test support: a failed step is a failed test, reported with its panic message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use devstack::engine::Engine;
use devstack::model::{ContainerInfo, ProjectName, ServiceName};
use devstack::stack::{self, Stack};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

const BUSYBOX: &str = "/bin/busybox";

/// A command that keeps a container running and stops at once on SIGTERM (as PID 1 a
/// shell ignores SIGTERM without a trap, and every restart would take the grace period).
pub const SLEEPER: &str = r#"["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"#;

pub async fn engine() -> Engine {
    match Engine::connect().await {
        Ok(e) => e.with_stop_timeout(Duration::from_secs(3)),
        Err(e) => panic!(
            "these tests need a running Docker daemon and none answered.\n{e}\n\
             On Debian: 'sudo apt-get install docker.io && sudo systemctl start docker', \
             or set DOCKER_HOST."
        ),
    }
}

static FIXTURE: OnceCell<String> = OnceCell::const_new();

/// The fixture image (busybox, users root and app=1000), imported once per content.
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
            if engine
                .image_id_of(&reference)
                .await
                .expect("inspect the fixture image")
                .is_none()
            {
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
    let header = |kind: tar::EntryType, mode: u32, size: u64, uid: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_mtime(0);
        h.set_cksum();
        h
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
        let mut h = header(tar::EntryType::Directory, mode, 0, 0);
        b.append_data(&mut h, d, std::io::empty()).unwrap();
    }
    let mut h = header(tar::EntryType::Directory, 0o755, 0, 1000);
    b.append_data(&mut h, "home/app", std::io::empty()).unwrap();
    let mut h = header(tar::EntryType::Regular, 0o755, busybox.len() as u64, 0);
    b.append_data(&mut h, "bin/busybox", busybox.as_slice())
        .unwrap();
    let mut names: Vec<&str> = applets
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names.into_iter().filter(|n| *n != "busybox") {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0, 0);
        b.append_link(&mut h, format!("bin/{name}"), "busybox")
            .unwrap();
    }
    let passwd = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
    let mut h = header(tar::EntryType::Regular, 0o644, passwd.len() as u64, 0);
    b.append_data(&mut h, "etc/passwd", passwd.as_slice())
        .unwrap();
    let group = b"root:x:0:\napp:x:1000:\n";
    let mut h = header(tar::EntryType::Regular, 0o644, group.len() as u64, 0);
    b.append_data(&mut h, "etc/group", group.as_slice())
        .unwrap();
    b.into_inner().expect("finish the rootfs tar")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A project with a unique name and its own folder. Dropping it removes, in this order,
/// the project's containers, network and volumes, then the images built for it.
pub struct Project {
    pub name: ProjectName,
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Self {
            name: ProjectName(format!("devstack-live-{}-{n}", std::process::id())),
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file of the project (parents created).
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("create folders");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Loads `compose.yaml` of the folder as `devstack` would.
    pub fn load(&self) -> Stack {
        stack::load(&stack::LoadOptions {
            file: None,
            cwd: self.dir.path().to_path_buf(),
            project_name: Some(self.name.to_string()),
            env_files: vec![],
            profiles: vec![],
            strict: false,
            environment: BTreeMap::new(),
        })
        .unwrap_or_else(|e| panic!("load the test stack: {e}"))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let project = self.name.clone();
        // Drop cannot await and the test's runtime may be the one panicking: a fresh
        // runtime on its own thread cleans up synchronously.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async {
                let engine = match Engine::connect().await {
                    Ok(e) => e.with_stop_timeout(Duration::ZERO),
                    Err(e) => return eprintln!("cleanup of project '{project}': {e}"),
                };
                if let Err(e) = engine.down(&project, true).await {
                    eprintln!("cleanup of project '{project}' failed: {e}");
                }
                if let Err(e) = engine.remove_project_images(&project).await {
                    eprintln!("cleanup of the images of project '{project}' failed: {e}");
                }
            })
        });
        if cleanup.join().is_err() {
            eprintln!("cleanup of project '{}' panicked", self.name);
        }
    }
}

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
