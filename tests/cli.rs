//! The `devstack` binary as a user runs it, against the real daemon: `up --detach`,
//! `ps --json`, `logs`, `config`, `exec` (pipes and a real pseudo-terminal), `db`,
//! `reset`, `init`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Project;
use common::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

/// A project whose folder holds `yaml` as its `devstack.yaml`; `IMAGE` in it becomes the
/// fixture image.
async fn project(yaml: &str) -> Project {
    let engine = common::engine().await;
    let image = common::fixture_image(&engine).await;
    let mut p = Project::new();
    p.file = p.write("devstack.yaml", &yaml.replace("IMAGE", &image));
    p
}

fn ps_json(p: &Project) -> Vec<serde_json::Value> {
    serde_json::from_str(&p.ok(&["ps", "--json"])).unwrap()
}

/// `ps --json` once Docker calls `service` healthy. `up` may return on devstack's own
/// run of the service's probe, before Docker's next one: `ps` shows Docker's word.
async fn ps_once_healthy(p: &Project, service: &str) -> Vec<serde_json::Value> {
    common::poll_until(std::time::Duration::from_secs(60), || {
        let ps = ps_json(p);
        (entry(&ps, service)["health"] == "healthy").then_some(ps)
    })
    .await
    .unwrap_or_else(|| panic!("Docker never called '{service}' healthy: {:?}", ps_json(p)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn entry<'a>(ps: &'a [serde_json::Value], service: &str) -> &'a serde_json::Value {
    ps.iter()
        .find(|e| e["service"] == service)
        .unwrap_or_else(|| panic!("no '{service}' in ps: {ps:?}"))
}

const THREE: &str = r#"
services:
  web:
    image: IMAGE
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["127.0.0.1::80"]
    volumes: ["./site:/www:ro"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:80/"]
      interval: 200ms
      retries: 50
    depends_on:
      migrate:
        condition: service_completed_successfully
  worker:
    image: IMAGE
    env_file: app.env
    environment:
      API_TOKEN: tok-inline-9431
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo tick $$i; sleep 0.1; done"]
    volumes: ["data:/data"]
  migrate:
    image: IMAGE
    command: ["sh", "-c", "echo migrated"]
volumes:
  data:
"#;

async fn three() -> Project {
    let p = project(THREE).await;
    std::fs::create_dir(p.path("site")).unwrap();
    std::fs::write(p.path("site/index.html"), "hello\n").unwrap();
    std::fs::write(p.path("app.env"), "DB_PASSWORD=pw-from-file-5521\n").unwrap();
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn up_ps_logs_config_and_a_noop_second_up() {
    let p = three().await;
    p.ok(&["up", "--detach"]);

    let ps = ps_once_healthy(&p, "web").await;
    assert_eq!(ps.len(), 3, "{ps:?}");
    assert_eq!(entry(&ps, "web")["health"], "healthy");
    assert_eq!(entry(&ps, "worker")["state"], "running");
    assert_eq!(entry(&ps, "migrate")["exit_code"], 0);
    let port = &entry(&ps, "web")["ports"][0];
    assert_eq!(port["host_ip"], "127.0.0.1");
    assert_eq!(port["container_port"], 80);
    let host_port = port["host_port"].as_u64().unwrap();
    assert!(common::http_get(host_port as u16, "/").contains("hello"));

    // A second `up` changes nothing.
    let ids: Vec<String> = ps.iter().map(|e| e["id"].to_string()).collect();
    let again = p.run(&["up", "--detach"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("up to date"), "{}", stderr(&again));
    let ids_after: Vec<String> = ps_json(&p).iter().map(|e| e["id"].to_string()).collect();
    assert_eq!(ids, ids_after);

    // Logs: prefixed, no colour when not a terminal, the tail honoured.
    let logs = p.ok(&["logs", "--tail", "3", "worker"]);
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 3, "{logs}");
    assert!(
        lines.iter().all(|l| l.starts_with("worker | tick ")),
        "{logs}"
    );
    assert!(!logs.contains('\x1b'));
    let all = p.ok(&["logs", "--tail", "1"]);
    assert!(all.contains("migrate | migrated"), "{all}");

    // The table.
    let table = p.ok(&["ps"]);
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(table.contains("exited (0)"), "{table}");

    // Secrets stay masked unless asked for.
    let config = p.ok(&["config"]);
    assert!(!config.contains("pw-from-file-5521"), "{config}");
    assert!(!config.contains("tok-inline-9431"), "{config}");
    assert!(config.contains("DB_PASSWORD"), "{config}");
    let shown = p.ok(&["config", "--show-secrets"]);
    assert!(shown.contains("pw-from-file-5521") && shown.contains("tok-inline-9431"));
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_without_a_tty_keeps_streams_apart_and_returns_the_exit_code() {
    let p = three().await;
    p.ok(&["up", "--detach"]);
    let out = p.run_with_input(
        &[
            "exec",
            "-T",
            "worker",
            "sh",
            "-c",
            "echo out; echo err >&2; read line; echo got $line; exit 7",
        ],
        "piped-in\n",
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\ngot piped-in\n");
    assert_eq!(stderr(&out), "err\n");

    // The env file reached the container.
    let env = p.ok(&["exec", "-T", "worker", "sh", "-c", "echo $DB_PASSWORD"]);
    assert_eq!(env, "pw-from-file-5521\n");

    // Without a command: the image's shell (busybox has sh, no bash).
    let shell = p.run_with_input(&["exec", "-T", "worker"], "echo $0\n");
    assert_eq!(
        String::from_utf8_lossy(&shell.stdout),
        "sh\n",
        "{}",
        stderr(&shell)
    );

    // A service that is not running is named with its state.
    let out = p.run(&["exec", "-T", "migrate", "true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("service 'migrate' is not running (it is exited (0))"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["exec", "-T", "nope", "true"]);
    assert!(
        stderr(&out).contains("no service 'nope'"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn db_runs_psql_as_the_services_user_without_a_password() {
    let p = project(
        r#"
services:
  warehouse:
    image: IMAGE
    command: ["sleep", "3600"]
    environment:
      POSTGRES_USER: alice
      POSTGRES_DB: shop
    volumes: ["./psql:/usr/local/bin/psql:ro"]
    x-devstack:
      console: psql
  web:
    image: IMAGE
    command: ["sleep", "3600"]
"#,
    )
    .await;
    let stub = p.path("psql");
    std::fs::write(&stub, "#!/bin/sh\necho \"psql $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.ok(&["up", "--detach"]);
    assert_eq!(p.ok(&["db"]), "psql -U alice -d shop\n");
    let out = p.run(&["db", "web"]);
    assert!(
        stderr(&out).contains("'web' is not a Postgres service"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_empties_our_volume_reruns_init_and_keeps_bind_mounts() {
    let p = project(
        r#"
services:
  db:
    image: IMAGE
    command: ["sh", "-c", "touch /data/ready; exec sleep 3600"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "test", "-f", "/data/ready"]
      interval: 200ms
      retries: 50
  init:
    image: IMAGE
    command: ["sh", "-c", "echo ran >> /host/runs.log"]
    volumes: ["./host:/host"]
    depends_on:
      db:
        condition: service_healthy
  app:
    image: IMAGE
    command: ["sleep", "3600"]
    depends_on:
      init:
        condition: service_completed_successfully
volumes:
  data:
"#,
    )
    .await;
    std::fs::create_dir(p.path("host")).unwrap();
    std::fs::write(p.path("host/keep.txt"), "mine\n").unwrap();
    p.ok(&["up", "--detach"]);
    p.ok(&["exec", "-T", "db", "sh", "-c", "echo precious > /data/file"]);

    // Without a terminal and without --yes, nothing happens.
    let refused = p.run(&["reset"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(
        p.ok(&["exec", "-T", "db", "cat", "/data/file"]),
        "precious\n"
    );

    let out = p.run(&["reset", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("data ("), "{}", stderr(&out));
    let ls = p.run(&["exec", "-T", "db", "ls", "/data"]);
    assert_eq!(String::from_utf8_lossy(&ls.stdout), "ready\n");
    let ps = ps_once_healthy(&p, "db").await;
    assert_eq!(entry(&ps, "db")["health"], "healthy");
    assert_eq!(entry(&ps, "app")["state"], "running");
    assert_eq!(entry(&ps, "init")["exit_code"], 0);
    assert_eq!(
        std::fs::read_to_string(p.path("host/runs.log")).unwrap(),
        "ran\nran\n",
        "the init job ran again against the fresh volume"
    );
    assert_eq!(
        std::fs::read_to_string(p.path("host/keep.txt")).unwrap(),
        "mine\n"
    );

    let out = p.run(&["reset", "--yes", "nope"]);
    assert!(
        stderr(&out).contains("'nope' is not one of this project's volumes")
            && stderr(&out).contains("'data'"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_refuses_a_volume_of_that_name_that_is_not_ours() {
    let p = project(
        "services:\n  db:\n    image: IMAGE\n    command: [\"sleep\", \"3600\"]\n    volumes: [\"data:/data\"]\nvolumes:\n  data:\n",
    )
    .await;
    let name = format!("{}_data", p.name);
    let foreign = ForeignVolume::create(&name).await;
    let out = p.run(&["reset", "--yes"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("was not created by devstack"),
        "{}",
        stderr(&out)
    );
    assert!(foreign.exists().await, "the foreign volume is left intact");
}

/// A volume made behind devstack's back (no project label), removed on drop.
struct ForeignVolume {
    name: String,
}

impl ForeignVolume {
    async fn create(name: &str) -> Self {
        let docker = bollard::Docker::connect_with_defaults().unwrap();
        docker
            .create_volume(bollard::models::VolumeCreateRequest {
                name: Some(name.to_string()),
                labels: Some([("io.devstack.test-foreign".to_string(), "1".to_string())].into()),
                ..Default::default()
            })
            .await
            .unwrap();
        Self {
            name: name.to_string(),
        }
    }

    async fn exists(&self) -> bool {
        let docker = bollard::Docker::connect_with_defaults().unwrap();
        docker.inspect_volume(&self.name).await.is_ok()
    }
}

impl Drop for ForeignVolume {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let docker = bollard::Docker::connect_with_defaults().unwrap();
                let _ = docker
                    .remove_volume(
                        &name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await;
            })
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_with_a_tty_through_a_real_pseudo_terminal() {
    use rustix::termios::{LocalModes, tcgetattr};

    let p = three().await;
    p.ok(&["up", "--detach"]);
    let pty = Pty::open(30, 100);
    let before = tcgetattr(&pty.slave).unwrap();
    assert!(
        before
            .local_modes
            .contains(LocalModes::ICANON | LocalModes::ECHO)
    );

    let (stdin, stdout, stderr) = pty.stdio();
    let mut child = p
        .cmd(&["exec", "worker"])
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut input = pty.input.try_clone().unwrap();

    // A prompt, then a typed command's output.
    pty.wait_for("# ");
    input.write_all(b"echo marker-$((6*7))\r").unwrap();
    pty.wait_for("marker-42");

    // The size at start reached the container, and so does a resize: the kernel would
    // send SIGWINCH to a controlling terminal's process group; the child here has no
    // controlling terminal, so the test sends it as the kernel would.
    input.write_all(b"stty size\r").unwrap();
    pty.wait_for("30 100");
    pty.resize(41, 133);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::WINCH).unwrap();
    // The resize is asynchronous: ask until the container reports the new size.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mark = pty.mark();
        input.write_all(b"stty size\r").unwrap();
        pty.wait_for_after(mark, "# ");
        if pty.text()[mark..].contains("41 133") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "resize never arrived:\n{}",
            pty.text()
        );
    }

    input.write_all(b"exit 3\r").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let after = tcgetattr(&pty.slave).unwrap();
    assert_eq!(
        after.local_modes, before.local_modes,
        "the local terminal mode is restored"
    );
}

/// Also the regression test for the UI quitting after a shell: resuming asked the
/// terminal for the cursor position, whose answer crossterm then never read.
#[tokio::test(flavor = "multi_thread")]
async fn the_ui_suspends_for_a_shell_and_comes_back_with_what_arrived_meanwhile() {
    let p = project(
        r#"
services:
  ticker:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do i=$$((i+1)); echo tick-$$i; sleep 0.1 & wait; done"]
"#,
    )
    .await;
    p.ok(&["up", "--detach"]);
    let pty = Pty::open(30, 120);
    let (stdin, stdout, stderr) = pty.stdio();
    let mut child = p
        .cmd(&["tui"])
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut input = pty.input.try_clone().unwrap();
    pty.wait_for_screen_text("tick-");
    // Show only the ticker's logs: the choice must survive the shell session.
    input.write_all(b"\r").unwrap();
    pty.wait_for_screen_text("Logs · ticker");

    input.write_all(b"x").unwrap();
    pty.wait_for("exit the shell to return to the UI");
    pty.wait_for("# ");
    let mark = pty.mark();
    input.write_all(b"echo shell-done\r").unwrap();
    pty.wait_for_after(mark, "shell-done");
    // While the shell runs, the ticker goes on: a number printed meanwhile.
    let during = p.ok(&["logs", "--tail", "1", "ticker"]);
    let meanwhile: u64 = during.trim().rsplit('-').next().unwrap().parse().unwrap();

    input.write_all(b"exit\r").unwrap();
    // Lines the container printed while the UI was away are drawn after it returns, in
    // the view chosen before. Read from the screen: the UI redraws only changed cells,
    // so `tick-26` after `tick-25` reaches the terminal as a lone `6`.
    let want = meanwhile + 3;
    pty.wait_for_screen(
        &format!("'Logs · ticker' and a 'tick-N' with N >= {want}"),
        |screen| screen.contains("Logs · ticker") && ticks(screen).any(|n| n >= want),
    );

    input.write_all(b"q").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    pty.wait_for("is still running");
    let modes = rustix::termios::tcgetattr(&pty.slave).unwrap();
    assert!(
        modes
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON),
        "the terminal is back in its normal mode"
    );
}

/// The N of every `tick-N` in `text`.
fn ticks(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split("tick-").skip(1).filter_map(|rest| {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..digits].parse().ok()
    })
}

#[test]
fn init_writes_a_project_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("proj");
    let out = Command::new(BIN)
        .args(["init", "--stack", "airflow"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for f in [
        "devstack.yaml",
        ".env",
        ".env.example",
        ".gitignore",
        "pipeline/Dockerfile",
        "pipeline/.dockerignore",
        "pipeline/entrypoint.sh",
        "dags/example_etl.py",
    ] {
        assert!(target.join(f).is_file(), "{f} missing");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| {
        std::fs::metadata(target.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(".env"), 0o600);
    assert_eq!(mode("pipeline/entrypoint.sh"), 0o755);
    let env = std::fs::read_to_string(target.join(".env")).unwrap();
    assert!(
        !env.lines()
            .any(|l| !l.starts_with('#') && l.contains("__GENERATE")),
        "{env}"
    );
    assert!(stderr(&out).contains("devstack up"), "prints next steps");

    let again = Command::new(BIN)
        .args(["init", "--stack", "airflow"])
        .arg(&target)
        .output()
        .unwrap();
    // Issue 14 item 5: an initialised project has nothing missing; nothing is overwritten.
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("nothing to write"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(target.join(".env")).unwrap(), env);

    // The project it wrote loads with no warnings.
    let config = Command::new(BIN)
        .arg("config")
        .current_dir(&target)
        .output()
        .unwrap();
    assert!(config.status.success(), "{}", stderr(&config));
    assert!(!stderr(&config).contains("warning"), "{}", stderr(&config));
}

/// Issue 14 item 5: a cloned project has no `.env` (it is git-ignored); the error names
/// the exact command, and that command writes `.env` and nothing else.
#[test]
fn missing_env_error_names_the_init_command_that_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("clone");
    let made = Command::new(BIN)
        .args(["init", "--stack", "airflow"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    std::fs::remove_file(project.join(".env")).unwrap();
    std::fs::write(project.join("devstack.yaml"), {
        let mut text = std::fs::read_to_string(project.join("devstack.yaml")).unwrap();
        text.push_str("# my edit\n");
        text
    })
    .unwrap();

    let inside = Command::new(BIN)
        .arg("config")
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(!inside.status.success());
    assert!(
        stderr(&inside).contains("'devstack init' writes one"),
        "{}",
        stderr(&inside)
    );
    let outside = Command::new(BIN)
        .arg("-f")
        .arg(project.join("devstack.yaml"))
        .arg("config")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let hint = format!("'devstack init {}' writes one", project.display());
    assert!(stderr(&outside).contains(&hint), "{}", stderr(&outside));

    let init = Command::new(BIN)
        .arg("init")
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(project.join(".env").is_file());
    assert!(
        std::fs::read_to_string(project.join("devstack.yaml"))
            .unwrap()
            .ends_with("# my edit\n"),
        "the edited stack file is kept"
    );
    let config = Command::new(BIN)
        .arg("config")
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(config.status.success(), "{}", stderr(&config));
}

#[test]
fn without_a_stack_file_the_bundled_stack_is_materialised_once() {
    let data = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(BIN)
            .args(["--stack", "postgres", "config"])
            .current_dir(empty.path())
            .env("XDG_DATA_HOME", data.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("bundled stack 'postgres' written to"));
    let stack_file = data.path().join("devstack/postgres/devstack.yaml");
    assert!(stack_file.is_file());
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("postgres:18"), "{stdout}");
    assert!(stdout.contains("host_ip: 127.0.0.1"), "{stdout}");

    let mut edited = std::fs::read_to_string(&stack_file).unwrap();
    edited.push_str("# my edit\n");
    std::fs::write(&stack_file, &edited).unwrap();
    let second = run();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stderr(&second).contains("written to"));
    assert_eq!(std::fs::read_to_string(&stack_file).unwrap(), edited);
}
