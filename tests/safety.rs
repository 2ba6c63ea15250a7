//! The safety nets against the daemon: `devstack doctor`'s image and container part
//! (image history, running users), through the binary as a user runs it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Project, SLEEPER, block_on, engine, fixture_image};

#[test]
fn doctor_reports_layers_with_their_instruction_and_who_runs_each_container() {
    let base = block_on(async { fixture_image(&engine().await).await });
    let project = Project::new();
    project.write(
        "app/Dockerfile",
        &format!("FROM {base}\nRUN head -c 300000 /dev/zero > /ballast\nUSER 1000\n"),
    );
    project.write(
        "compose.yaml",
        &format!(
            "services:\n  app:\n    build: ./app\n    command: {SLEEPER}\n  plain:\n    image: {base}\n    command: {SLEEPER}\n"
        ),
    );
    project.ok(&["up", "-d", "--build"]);

    let out = project.run(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));

    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{report:#}");
    let ballast = images[0]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["created_by"].as_str().unwrap().contains("head -c 300000"))
        .unwrap_or_else(|| panic!("no layer made by the RUN: {report:#}"));
    assert!(ballast["size"].as_u64().unwrap() >= 300_000, "{ballast}");
    assert!(images[0]["size"].as_u64().unwrap() >= 300_000);

    let users: Vec<(&str, &str, bool)> = report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["service"].as_str().unwrap(),
                c["user"].as_str().unwrap(),
                c["root"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(users, vec![("app", "1000", false), ("plain", "", true)]);

    // The plain text names the biggest layer and flags the root container.
    let text = String::from_utf8_lossy(&project.run(&["doctor"]).stdout).into_owned();
    assert!(text.contains("head -c 300000"), "{text}");
    assert!(text.contains("runs as root"), "{text}");
}

#[test]
fn doctor_exits_1_on_an_error_and_0_on_the_init_project() {
    let project = Project::new();
    let fixture = common::fixtures().join("doctor/bad");
    for f in ["Dockerfile", "Dockerfile.migrate"] {
        project.write(
            &format!("app/{f}"),
            &std::fs::read_to_string(fixture.join(f)).unwrap(),
        );
    }
    project.write("app/.env", "TOKEN=x\n");
    let home = project.path("home");
    std::fs::create_dir_all(&home).unwrap();
    project.write(
        "compose.yaml",
        &std::fs::read_to_string(fixture.join("compose.yaml"))
            .unwrap()
            .replace("HOME_DIR", &home.display().to_string()),
    );
    let out = project
        .cmd(&["doctor", "--json", "--no-daemon"])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "error")
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(errors.contains(&"secret-in-image"), "{report:#}");
    assert!(errors.contains(&"home-bind"), "{report:#}");

    let mut init = Project::new();
    init.file = init.path("devstack.yaml");
    init.ok(&["init", "."]);
    assert_eq!(init.ok(&["doctor", "--no-daemon"]).trim(), "no findings");
}

mod snapshots {
    use std::path::PathBuf;
    use std::process::Output;

    use sha2::{Digest, Sha256};

    use super::common::{Project, SLEEPER, block_on, container, engine, exec, fixture_image};

    /// A project with one service writing into volume `data`, up and holding known files.
    fn project_with_data() -> Project {
        let base = block_on(async { fixture_image(&engine().await).await });
        let project = Project::new();
        project.write(
            "compose.yaml",
            &format!(
                "services:\n  db:\n    image: {base}\n    command: {SLEEPER}\n    volumes:\n      - data:/data\nvolumes:\n  data:\n"
            ),
        );
        project.ok(&["up", "-d"]);
        sh(
            &project,
            "mkdir -p /data/sub && echo one > /data/a.txt && echo two > /data/sub/b.txt \
             && head -c 300000 /dev/urandom > /data/blob",
        );
        project
    }

    fn sh(project: &Project, script: &str) -> String {
        block_on(async {
            let engine = engine().await;
            let c = container(&engine, &project.name, "db").await;
            exec(&engine, &c, &["sh", "-c", script]).await
        })
    }

    fn data_dir(project: &Project) -> PathBuf {
        project.path("xdg")
    }

    fn snapshot(project: &Project, args: &[&str]) -> Output {
        let mut full = vec!["snapshot"];
        full.extend_from_slice(args);
        project
            .cmd(&full)
            .env("XDG_DATA_HOME", data_dir(project))
            .output()
            .unwrap()
    }

    fn ok(out: Output) -> String {
        assert!(
            out.status.success(),
            "failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    const STATE: &str =
        "cat /data/a.txt /data/sub/b.txt 2>&1; md5sum /data/blob | cut -c1-32; ls /data";

    fn snapshot_file(project: &Project) -> PathBuf {
        data_dir(project)
            .join("devstack/snapshots")
            .join(project.name.as_str())
            .join("s1/data.tar.zst")
    }

    #[test]
    fn a_restore_brings_deleted_files_back() {
        let project = project_with_data();
        let before = sh(&project, STATE);
        ok(snapshot(&project, &["save", "--name", "s1"]));
        assert!(ok(snapshot(&project, &["list"])).contains("s1"));

        sh(
            &project,
            "rm -rf /data/a.txt /data/sub && echo new > /data/c.txt",
        );
        assert_ne!(sh(&project, STATE), before);

        ok(snapshot(&project, &["restore", "s1"]));
        assert_eq!(sh(&project, STATE), before, "the volume is as it was saved");
        let volumes = project.objects();
        assert!(
            !format!("{volumes:?}").contains("-restore"),
            "no staging volume left: {volumes:?}"
        );
        assert_eq!(
            volumes.containers.len(),
            1,
            "no copy helper left: {volumes:?}"
        );
        ok(snapshot(&project, &["rm", "s1"]));
        assert!(!ok(snapshot(&project, &["list"])).contains("s1"));
    }

    fn db(project: &Project) -> devstack::model::ContainerInfo {
        block_on(async { container(&engine().await, &project.name, "db").await })
    }

    /// Issue 13 item 2: without `--live` the service using the volume is stopped for the
    /// copy and started again after; with `--live` it is left running.
    #[test]
    fn save_stops_and_restarts_the_volumes_users_unless_live() {
        let project = project_with_data();
        let before = db(&project);
        let out = snapshot(&project, &["save", "--name", "live", "--live"]);
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        ok(out);
        assert!(!text.contains("stopping db"), "{text}");
        let live = db(&project);
        assert_eq!(
            (live.id, live.started_at),
            (before.id.clone(), before.started_at)
        );

        let out = snapshot(&project, &["save", "--name", "still"]);
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        ok(out);
        let stop = text.find("stopping db for a consistent copy");
        let start = text.find("starting db");
        assert!(stop.is_some() && start > stop, "{text}");
        // The same container, running again.
        let after = db(&project);
        assert_eq!(after.id, before.id);
        assert_eq!(
            after.state,
            devstack::model::ContainerState::Running,
            "{after:?}"
        );
    }

    #[test]
    fn a_damaged_snapshot_leaves_the_volume_as_it_was() {
        let project = project_with_data();
        ok(snapshot(&project, &["save", "--name", "s1"]));
        sh(&project, "rm /data/a.txt && echo later > /data/c.txt");
        let current = sh(&project, STATE);

        // Damaged in the middle: the checksum catches it before anything changes.
        let file = snapshot_file(&project);
        let mut bytes = std::fs::read(&file).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 64] {
            *b ^= 0xff;
        }
        std::fs::write(&file, &bytes).unwrap();
        let out = snapshot(&project, &["restore", "s1"]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("damaged"),
            "{out:?}"
        );
        assert_eq!(sh(&project, STATE), current);

        // Damaged with a matching checksum (as if cut off while being restored): the
        // unpacking into the new volume fails and the original is still untouched.
        let manifest_path = file.with_file_name("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        manifest["volumes"][0]["sha256"] = serde_json::Value::String(sha);
        std::fs::write(&manifest_path, manifest.to_string()).unwrap();
        let out = snapshot(&project, &["restore", "s1"]);
        assert!(!out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not touched"),
            "{out:?}"
        );
        assert_eq!(sh(&project, STATE), current);
        let volumes = project.objects();
        assert!(!format!("{volumes:?}").contains("-restore"), "{volumes:?}");
    }
}

/// Issue 13 in the UI, through a terminal: the doctor's badge and view (`D`), `S`'s
/// snapshot, and the reset dialog's "snapshot first" (`s`).
mod ui {
    use std::io::Write;
    use std::path::Path;
    use std::process::Child;
    use std::time::Duration;

    use super::common::pty::Pty;
    use super::common::{
        Project, SLEEPER, block_on, container, engine, exec, fixture_image, poll_until,
    };

    fn sh(project: &Project, script: &str) -> String {
        block_on(async {
            let engine = engine().await;
            let c = container(&engine, &project.name, "db").await;
            exec(&engine, &c, &["sh", "-c", script]).await
        })
    }

    /// The snapshots saved so far: each one's folder name, with a manifest written.
    fn snapshots(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().join("manifest.json").is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn wait_for_snapshots(dir: &Path, n: usize) -> Vec<String> {
        block_on(poll_until(Duration::from_secs(120), || {
            let s = snapshots(dir);
            (s.len() >= n).then_some(s)
        }))
        .unwrap_or_else(|| panic!("{n} snapshot(s) never appeared in {}", dir.display()))
    }

    fn quit(child: &mut Child, pty: &Pty, input: &mut std::fs::File) {
        // A second 'q' if the first was lost (see tests/ui_truth.rs), never a hang.
        for _ in 0..2 {
            input.write_all(b"q").unwrap();
            let quit = block_on(poll_until(Duration::from_secs(30), || {
                child.try_wait().unwrap()
            }));
            if let Some(status) = quit {
                assert!(status.success(), "{status:?}");
                return;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the UI did not quit on 'q':\n{}", pty.screen());
    }

    #[test]
    fn d_shows_the_findings_s_saves_a_snapshot_and_reset_can_snapshot_first() {
        let base = block_on(async { fixture_image(&engine().await).await });
        let project = Project::new();
        // A password written literally: the doctor's finding on 'db'.
        project.write(
            "compose.yaml",
            &format!(
                "services:\n  db:\n    image: {base}\n    command: {SLEEPER}\n    environment:\n      DB_PASSWORD: hunter2-literal\n    volumes:\n      - data:/data\nvolumes:\n  data:\n"
            ),
        );
        project.ok(&["up", "-d"]);
        sh(&project, "echo one > /data/a.txt");
        let xdg = project.path("xdg");
        let dir = xdg.join("devstack/snapshots").join(project.name.as_str());

        let pty = Pty::open(30, 120);
        let (stdin, stdout, stderr) = pty.stdio();
        let mut child = project
            .cmd(&["tui"])
            .env("XDG_DATA_HOME", &xdg)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut input = pty.input.try_clone().unwrap();

        // The badge, once the checks (off the UI thread) have answered.
        pty.wait_for_screen("a badge on 'db'", |s| {
            s.lines()
                .any(|l| l.contains("db ✗1") || l.contains("db !1"))
        });
        input.write_all(b"D").unwrap();
        let screen = pty.wait_for_screen("the Doctor view with the daemon's part", |s| {
            s.contains("Doctor · 'db'") && s.contains("runs as root")
        });
        assert!(screen.contains("compose.yaml:6"), "{screen}");
        assert!(!screen.contains("hunter2-literal"), "{screen}");
        input.write_all(b"\x1b").unwrap();
        pty.wait_for_screen("the view closed", |s| !s.contains("Doctor ·"));

        input.write_all(b"S").unwrap();
        pty.wait_for_screen_text("Snapshot volumes");
        input.write_all(b"y").unwrap();
        let first = wait_for_snapshots(&dir, 1);
        assert!(!first[0].ends_with("-before-reset"), "{first:?}");

        input.write_all(b"R").unwrap();
        pty.wait_for_screen_text("snapshot first, then reset");
        input.write_all(b"s").unwrap();
        let both = wait_for_snapshots(&dir, 2);
        assert!(
            both.iter().any(|n| n.ends_with("-before-reset")),
            "{both:?}"
        );
        // Then the reset: the volume recreated empty, the service running again.
        let listing = block_on(poll_until(Duration::from_secs(180), || {
            let out = project.run(&["exec", "-T", "db", "ls", "-A", "/data"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && !text.contains("a.txt")).then_some(text)
        }));
        assert_eq!(
            listing.as_deref().map(str::trim),
            Some(""),
            "{}",
            pty.screen()
        );
        quit(&mut child, &pty, &mut input);
    }
}
