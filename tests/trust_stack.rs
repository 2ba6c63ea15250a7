//! Issue 11's stack items through the `devstack` binary and the app loop: files that are
//! not regular or too big are refused promptly; `.env` values, env-file values and URL
//! passwords are masked in `config` and in the daemon's errors (CLI and TUI notices); a
//! read-only `config` writes nothing; build contexts are streamed, not held.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use devstack::app::{App, AppConfig};
use devstack::plan::PlanOptions;
use devstack::stack::{LoadOptions, load_str};
use devstack::tui::Event;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");
const PASSWORD: &str = "pw-Hunter2-secret";

/// A command that must end by itself: polled until it exits, killed and failed after a
/// generous deadline (a hang is the bug some of these guard against).
fn run_bounded(mut c: Command, what: &str) -> Output {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} did not return: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn devstack(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("NO_COLOR");
    c
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

// Regression (issue 11 item 7): `-f /dev/zero` grew to 2 GB; `env_file: /dev/zero` too;
// an env_file that is a FIFO hung.
#[test]
fn devices_fifos_and_directories_are_refused_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_bounded(
        devstack(dir.path(), &["-f", "/dev/zero", "config"]),
        "-f /dev/zero",
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("'/dev/zero'") && e.contains("character device"),
        "{e}"
    );
    // Said once: the error chain repeated the reason.
    assert_eq!(e.matches("character device").count(), 1, "{e}");

    mkfifo(&dir.path().join("pipe.env"));
    for (file, what) in [
        ("/dev/zero", "character device"),
        ("pipe.env", "FIFO"),
        ("sub", "a directory"),
    ] {
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("devstack.yaml"),
            format!("services:\n  a:\n    image: x\n    env_file: {file}\n"),
        )
        .unwrap();
        let out = run_bounded(
            devstack(dir.path(), &["-p", "trust", "config"]),
            &format!("env_file: {file}"),
        );
        assert!(!out.status.success());
        let e = stderr(&out);
        assert!(
            e.contains("devstack.yaml:4:15") && e.contains(what),
            "{file}: {e}"
        );
    }
}

// Regression (issue 11 item 12): `.env` values named `DB_PASS`, `*_PW` and URL passwords
// were printed by `config`; `--help` did not say what is masked.
#[test]
fn config_masks_every_dotenv_value_and_help_says_what() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("DB_PASS={PASSWORD}\nREPORT_PW=report-pw-77\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("devstack.yaml"),
        "services:\n  a:\n    image: x\n    command: [run, org.example.Main]\n    environment:\n      URL: postgres://app:${DB_PASS}@db/app\n      OTHER: mysql://root:written-in-file@m/db\n      REPORT: ${REPORT_PW}\n",
    )
    .unwrap();
    let out = run_bounded(devstack(dir.path(), &["-p", "trust", "config"]), "config");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for secret in [PASSWORD, "report-pw-77", "written-in-file"] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert!(
        text.contains("postgres://app:********@db/app") && text.contains("org.example.Main"),
        "{text}"
    );
    let out = run_bounded(
        devstack(dir.path(), &["-p", "trust", "config", "--show-secrets"]),
        "config --show-secrets",
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains(PASSWORD) && shown.contains("report-pw-77"),
        "{shown}"
    );

    let out = run_bounded(devstack(dir.path(), &["config", "--help"]), "config --help");
    let help = String::from_utf8(out.stdout).unwrap();
    for part in [
        "every value that came from '.env'",
        "every value of an 'env_file:'",
        "PASSWORD, PASSWD, SECRET, TOKEN, KEY",
        "'scheme://user:PASSWORD@host'",
        "--show-secrets",
    ] {
        assert!(help.contains(part), "missing {part:?} in:\n{help}");
    }
}

// Regression (issue 11 small items): `config` with no stack file wrote the bundled
// project into the data directory.
#[test]
fn config_without_a_stack_file_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_bounded(devstack(dir.path(), &["config"]), "config");
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("no stack file in") && e.contains("devstack init") && e.contains("-f"),
        "{e}"
    );
    let written: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(written.is_empty(), "written: {written:?}");
}

/// The `.env` values the leaky settings below put where the daemon quotes them.
const LEAK: &str = "${DB_PASSWORD}-${DB_PASS}";

/// A stack whose one service has `settings` (with [`LEAK`] in them) and `.env` values
/// for them: a secret-named one and one whose name looks harmless.
fn leaky_project(dir: &Path, image: &str, settings: &str) -> PathBuf {
    std::fs::write(
        dir.join(".env"),
        format!("DB_PASSWORD={PASSWORD}\nDB_PASS=plain-named-value\n"),
    )
    .unwrap();
    let file = dir.join("devstack.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  job:\n    image: {image}\n{}",
            settings.replace("LEAK", LEAK)
        ),
    )
    .unwrap();
    file
}

const LEAKY_COMMAND: &str = "    command: [\"/nonexistent-LEAK\"]\n";

// Regression (issue 11 item 11): the daemon's error about `command:` printed the
// password on `up`.
#[tokio::test]
async fn daemon_errors_are_masked_on_the_cli() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    // What the daemon quotes back: the command, the user, the healthcheck's program.
    let cases = [
        (LEAKY_COMMAND, "/nonexistent-********-********"),
        (
            "    command: [\"sleep\", \"60\"]\n    user: \"nouser-LEAK\"\n",
            "nouser-********-********",
        ),
        (
            "    command: [\"sleep\", \"60\"]\n    healthcheck:\n      test: [\"CMD\", \"/check-LEAK\"]\n      interval: 200ms\n      retries: 1\n",
            "/check-********-********",
        ),
    ];
    for (settings, masked) in cases {
        let project = common::Project::new();
        let dir = &project.dir;
        leaky_project(dir.path(), &image, settings);
        let out = tokio::task::spawn_blocking({
            let (dir, name) = (dir.path().to_path_buf(), project.name.to_string());
            move || {
                run_bounded(
                    devstack(
                        &dir,
                        &["-p", &name, "up", "--detach", "--wait-timeout", "60"],
                    ),
                    "up --detach",
                )
            }
        })
        .await
        .unwrap();
        assert!(!out.status.success());
        let e = stderr(&out);
        assert!(e.contains(masked), "{settings}: {e}");
        assert!(
            !e.contains(PASSWORD) && !e.contains("plain-named-value"),
            "{e}"
        );
    }
}

// Regression (issue 11 item 11): the same error reached the TUI's notices unmasked.
#[tokio::test]
async fn daemon_errors_are_masked_in_tui_notices() {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = common::Project::new();
    let dir = &project.dir;
    let file = leaky_project(dir.path(), &image, LEAKY_COMMAND);
    let opts = LoadOptions {
        cwd: dir.path().to_path_buf(),
        project_name: Some(project.name.to_string()),
        ..LoadOptions::default()
    };
    let yaml = std::fs::read_to_string(&file).unwrap();
    let stack = load_str(&yaml, &file, &opts).unwrap();
    let config = AppConfig {
        log_lines: 100,
        up: Some((PlanOptions::default(), Duration::from_secs(60))),
        watch: false,
        stats_file: None,
        cli: "devstack".into(),
    };
    let mut app = App::start(engine.clone(), stack, &config);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let failed = |app: &App| {
        app.state
            .notices
            .iter()
            .find(|n| n.message.contains("up failed"))
            .map(|n| n.message.clone())
    };
    while failed(&app).is_none() {
        match tokio::time::timeout_at(deadline, app.next_event()).await {
            Ok(Some(event)) => {
                app.handle(event);
            }
            Ok(None) => panic!("the app's feeds closed before 'up failed'"),
            Err(_) => panic!("no 'up failed' notice: {:?}", app.state.notices),
        }
    }
    app.handle(Event::Tick { now_unix: 0 });
    let message = failed(&app).unwrap();
    assert!(
        message.contains("/nonexistent-********-********"),
        "{message}"
    );
    let everything = format!("{:?}", app.state.notices);
    assert!(
        !everything.contains(PASSWORD) && !everything.contains("plain-named-value"),
        "{everything}"
    );
    app.finish().await;
}

/// The peak resident memory (`VmHWM`) of a running process, `None` once it is gone.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// Regression (issue 11 item 7): the build context was tarred into memory whole before
// it was sent (a 300 MB context took 630 MB of RSS). Streamed, the peak stays at the
// chunks in flight whatever the context's size.
#[tokio::test]
async fn a_big_build_context_is_streamed_not_held() {
    const CONTEXT_MIB: u64 = 192;
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let project = common::Project::new();
    let dir = &project.dir;
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {image}\nCOPY Dockerfile /Dockerfile.copy\n"),
    )
    .unwrap();
    // Sparse: the test's disk holds none of it, the tar reads it all.
    std::fs::File::create(dir.path().join("data.bin"))
        .unwrap()
        .set_len(CONTEXT_MIB * 1024 * 1024)
        .unwrap();
    std::fs::write(dir.path().join(".dockerignore"), "*.tmp\n").unwrap();
    std::fs::write(
        dir.path().join("devstack.yaml"),
        "services:\n  app:\n    build: .\n",
    )
    .unwrap();
    let (dir_path, name) = (dir.path().to_path_buf(), project.name.to_string());
    let (peak, out) = tokio::task::spawn_blocking(move || {
        let mut child = devstack(&dir_path, &["-p", &name, "build"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut peak = 0;
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "build did not return");
            if let Some(kib) = peak_rss_kib(child.id()) {
                peak = peak.max(kib);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        (peak, child.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(peak > 0, "no sample of the build's memory");
    // Held whole, the context alone is CONTEXT_MIB; streamed, the process stays near its
    // base size (≈20 MiB for a debug build).
    assert!(
        peak < CONTEXT_MIB * 1024 / 2,
        "peak RSS {peak} KiB for a {CONTEXT_MIB} MiB context"
    );
}
