//! Trust in the engine, against the real daemon, through the `devstack` binary: what
//! `down --volumes` and `reset` may remove, objects devstack did not create or that
//! belong to another directory, `reset` blocked by a foreign container, readiness that
//! cannot race with a crash, one `up` per project at a time, and ports bound beyond
//! loopback flagged on the CLI. Each test has its own project, removed on drop.

// Test code: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestProject;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

/// A project directory (the tempdir's `<project name>` subfolder, so the name can come
/// from the directory as Compose derives it) with its cleanup guard.
struct Dir {
    guard: TestProject,
    _root: tempfile::TempDir,
    dir: PathBuf,
    image: String,
}

impl Dir {
    async fn new() -> Self {
        let engine = common::engine().await;
        let image = common::fixture_image(&engine).await;
        let guard = TestProject::new();
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(guard.name.as_str());
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            guard,
            _root: root,
            dir,
            image,
        }
    }

    fn name(&self) -> &str {
        self.guard.name.as_str()
    }

    /// Writes `compose.yaml`; `IMAGE` becomes the fixture image.
    fn write(&self, yaml: &str) {
        std::fs::write(
            self.dir.join("compose.yaml"),
            yaml.replace("IMAGE", &self.image),
        )
        .unwrap();
    }

    /// `devstack -p <name> ARGS` from the project directory.
    fn run(&self, args: &[&str]) -> Output {
        run_in(&self.dir, &[&["-p", self.name()], args].concat())
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "devstack {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---- item 9: readiness that cannot race with a crash -------------------------------

/// A service that exits 3 at once, nothing depends on it, no healthcheck: `up --detach`
/// called it ready 8 runs in 10. It is never ready: it did not stay running for its
/// settle time.
#[tokio::test]
async fn a_service_that_exits_at_once_is_never_ready() {
    let p = Dir::new().await;
    p.write(
        r#"services:
  quick:
    image: IMAGE
    command: ["sh", "-c", "echo bye; exit 3"]
  steady:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
"#,
    );
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "up called it ready:\n{err}");
    assert!(
        err.contains("quick") && err.contains("exited with code 3"),
        "{err}"
    );
    assert!(
        !err.contains("not ready after"),
        "it waited for the timeout:\n{err}"
    );
}

/// The same under `restart: on-failure` (2 runs in 6 passed): the daemon brings it back,
/// so it is seen running, but its die during `up` counts.
#[tokio::test]
async fn a_service_that_exits_at_once_under_on_failure_is_never_ready() {
    let p = Dir::new().await;
    p.write(
        r#"services:
  quick:
    image: IMAGE
    command: ["sh", "-c", "exit 3"]
    restart: on-failure
"#,
    );
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "up called it ready:\n{err}");
    assert!(
        err.contains("quick") && err.contains("keeps crashing"),
        "{err}"
    );
    assert!(
        !err.contains("not ready after"),
        "it waited for the timeout:\n{err}"
    );
}

/// The settle time is configurable: a service that dies after half a second passes a
/// 100 ms settle (it was up long enough) and fails the default 1 s one.
#[tokio::test]
async fn settle_time_comes_from_x_devstack() {
    let p = Dir::new().await;
    let yaml = |settle: &str| {
        format!(
            r#"services:
  slow:
    image: IMAGE
    command: ["sh", "-c", "sleep 2; exit 3"]
{settle}"#
        )
    };
    p.write(&yaml("    x-devstack: {settle: 100ms}\n"));
    p.ok(&["up", "--detach", "--wait-timeout", "600"]);
    p.ok(&["down"]);
    p.write(&yaml("x-devstack: {settle: 5s}\n"));
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a 5 s settle let a 2 s crash pass:\n{err}"
    );
    assert!(err.contains("exited with code 3"), "{err}");
}
