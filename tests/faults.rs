//! Fault tests against the real daemon, driving the `devstack` binary as a user would:
//! SIGKILL at random points of `up`, a container crashing in a loop, secrets kept out
//! of devstack's own output, and bad input rejected with a position before anything is
//! created. Each test has its own project, removed on drop even when it fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Project, Running, block_on, engine, fixture_image, fixtures, poll_until};
use devstack::model::ContainerId;

/// The fixture image, for these synchronous tests.
fn image() -> String {
    block_on(async { fixture_image(&engine().await).await })
}

const SERVICES: [&str; 4] = ["gate", "db", "web", "worker"];

/// A network, two named volumes, four services: `gate` (one-shot, writes to `data`),
/// `db` (waits for the gate to complete; healthcheck), `web` (waits for `db` healthy),
/// `worker`. `ROUND` from `.env` changes `web`'s and `worker`'s config.
fn fault_stack(image: &str) -> String {
    format!(
        r#"services:
  gate:
    image: {image}
    command: ["sh", "-c", "echo gate ran >> /data/gate.log"]
    volumes: ["data:/data"]
  db:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; sleep 100000 & wait"]
    volumes: ["data:/data"]
    depends_on:
      gate:
        condition: service_completed_successfully
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready && test -d /data"]
      interval: 200ms
      timeout: 2s
      retries: 30
  web:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
    environment:
      ROUND: "${{ROUND:-0}}"
    volumes: ["cache:/cache"]
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
    environment:
      ROUND: "${{ROUND:-0}}"
    volumes: ["cache:/cache"]
volumes:
  data: {{}}
  cache: {{}}
"#
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// `down` (volumes kept) first: the kill lands in a cold `up`.
    Cold,
    /// `ROUND` changes: the kill lands while `web` and `worker` are recreated.
    Recreate,
    /// `stop db` first: the kill lands while `db` is started and waited for.
    Restart,
}

fn ps_json(p: &Project) -> Vec<serde_json::Value> {
    let out = p.ok(&["ps", "--json"]);
    match serde_json::from_str(&out) {
        Ok(serde_json::Value::Array(rows)) => rows,
        other => panic!("ps --json is not an array: {other:?}\n{out}"),
    }
}

/// The converged state: one container per service with Compose's name, nothing else
/// labelled with the project but its one network and two volumes, `gate` exited 0,
/// the others running, `db` healthy, and the file written before the kills intact.
fn assert_converged(p: &Project, token: &str, context: &str) {
    let objects = p.objects();
    let names: BTreeSet<&str> = objects.containers.iter().map(|c| c.0.as_str()).collect();
    let want: BTreeSet<String> = SERVICES
        .iter()
        .map(|s| format!("{}-{s}-1", p.name))
        .collect();
    assert_eq!(
        objects.containers.len(),
        SERVICES.len(),
        "{context}: containers: {:?}",
        objects.containers
    );
    assert_eq!(
        names,
        want.iter().map(String::as_str).collect(),
        "{context}: container names"
    );
    assert_eq!(
        objects.networks,
        vec![format!("{}_default", p.name)],
        "{context}: networks"
    );
    let volumes: BTreeSet<String> = objects.volumes.iter().cloned().collect();
    assert_eq!(
        volumes,
        BTreeSet::from([format!("{}_cache", p.name), format!("{}_data", p.name)]),
        "{context}: volumes"
    );

    let rows = ps_json(p);
    let by_service: BTreeMap<&str, &serde_json::Value> = rows
        .iter()
        .map(|r| (r["service"].as_str().unwrap_or_default(), r))
        .collect();
    assert_eq!(rows.len(), SERVICES.len(), "{context}: ps --json: {rows:?}");
    for s in SERVICES {
        let row = by_service
            .get(s)
            .unwrap_or_else(|| panic!("{context}: ps --json lacks '{s}': {rows:?}"));
        if s == "gate" {
            assert_eq!(row["state"], "exited", "{context}: {row}");
            assert_eq!(row["exit_code"], 0, "{context}: {row}");
        } else {
            assert_eq!(row["state"], "running", "{context}: {row}");
        }
    }
    assert_eq!(by_service["db"]["health"], "healthy", "{context}");

    let db = ContainerId(
        by_service["db"]["id"]
            .as_str()
            .expect("an id in ps --json")
            .to_string(),
    );
    let (code, out, err) = block_on(async {
        engine()
            .await
            .exec_capture(&db, &["cat", "/data/keep"], None)
            .await
    })
    .expect("exec in db");
    assert_eq!(
        (code, String::from_utf8_lossy(&out).trim()),
        (0, token),
        "{context}: the volume lost its file: {}",
        String::from_utf8_lossy(&err)
    );
}

/// `up --detach` killed with SIGKILL at ≥ 10 points (delays from a seeded RNG, spread
/// over a measured cold `up`), each followed by a plain `up --detach` that must
/// converge to exactly the stack: no duplicates, no orphans, volumes intact.
#[test]
fn sigkill_during_up_then_up_converges() {
    let image = image();
    let p = Project::new();
    p.write("compose.yaml", &fault_stack(&image));
    let up = ["up", "--detach", "--wait-timeout", "60"];

    // One full cold `up` measures the span the kill points are spread over.
    let start = Instant::now();
    p.ok(&up);
    let cold = start.elapsed();
    let token = format!("kept-{}", std::process::id());
    let db = ContainerId(format!("{}-db-1", p.name));
    let write = ["sh", "-c", &format!("echo {token} > /data/keep")];
    let (code, _, err) = block_on(async { engine().await.exec_capture(&db, &write, None).await })
        .expect("write into the volume");
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_converged(&p, &token, "after the first up");

    let seed: u64 = std::env::var("DEVSTACK_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0007);
    eprintln!(
        "kill points: seed {seed} (set DEVSTACK_FAULT_SEED to replay), cold up took {cold:?}"
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let modes = [Round::Cold, Round::Recreate, Round::Cold, Round::Restart];
    let (mut killed_midway, mut round) = (0, 0);
    // The machine's speed varies between rounds (other tests run beside this one): each
    // kill that comes after `up` already finished narrows the span for the next ones.
    let mut scale = 1.0_f64;
    while killed_midway < 10 {
        assert!(
            round < 24,
            "only {killed_midway} of {round} kills landed during 'up' (cold up: {cold:?})"
        );
        let mode = modes[round % modes.len()];
        match mode {
            Round::Cold => {
                p.ok(&["down"]);
            }
            Round::Recreate => {
                p.write(".env", &format!("ROUND={round}\n"));
            }
            Round::Restart => {
                p.ok(&["stop", "db"]);
            }
        }
        // Spread over the whole cold `up` and a little past it; shorter `up`s (recreate,
        // restart) get the first part of that span.
        let span = match mode {
            Round::Cold => cold.mul_f64(1.1 * scale),
            Round::Recreate | Round::Restart => cold.mul_f64(0.7 * scale),
        };
        let delay = span.mul_f64(rng.f64());
        let mut child = p.spawn(&up);
        std::thread::sleep(delay);
        let midway = child.kill();
        let (_, _, stderr) = child.wait_output(Duration::from_secs(10));
        let last = stderr.lines().last().unwrap_or("(nothing printed yet)");
        eprintln!(
            "round {round:2} {mode:?}: SIGKILL after {delay:?} ({}); last line: {last}",
            if midway {
                "mid-up"
            } else {
                "after it finished"
            }
        );
        killed_midway += usize::from(midway);
        if !midway {
            scale *= 0.6;
        }

        let out = p.run(&up);
        assert!(
            out.status.success(),
            "round {round} ({mode:?}, killed after {delay:?}): the next up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_converged(&p, &token, &format!("round {round} ({mode:?}, {delay:?})"));
        round += 1;
    }

    // Converged means stable: one more `up` changes nothing.
    let before: Vec<String> = ps_json(&p)
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let out = p.run(&up);
    assert!(out.status.success());
    let after: Vec<String> = ps_json(&p)
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(before, after, "a converged stack was changed by another up");
}

fn crash_loop_stack(p: &Project, image: &str) {
    p.write(
        "compose.yaml",
        &format!(
            r#"services:
  crashy:
    image: {image}
    command: ["sh", "-c", "echo boom; exit 3"]
    restart: on-failure
  steady:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
"#
        ),
    );
}

/// Regression: `up --detach` reported a crash-looping service (`restart: on-failure`,
/// exits 3) as ready, because readiness latched on the first moment the container was
/// seen running (the daemon restarts it, so it never stays exited). It must fail naming
/// the service because it crashes — not because the wait timed out.
#[test]
fn crash_loop_fails_up_promptly() {
    let image = image();
    let p = Project::new();
    crash_loop_stack(&p, &image);
    let out = p.run(&["up", "--detach", "--wait-timeout", "600"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "up succeeded with a crashing service:\n{stderr}"
    );
    assert!(
        stderr.contains("crashy") && stderr.contains("keeps crashing"),
        "the failure does not name the service and the crash:\n{stderr}"
    );
    assert!(
        !stderr.contains("not ready after"),
        "up waited for its timeout instead of seeing the crash loop:\n{stderr}"
    );
}

/// Regression (found by the kill test's restart rounds): after `stop db`, `up` failed
/// with "its dependency 'db' has no healthcheck, so 'service_healthy' can never be
/// met" — a stopped container shows no health, and the board took that for none.
#[test]
fn stop_then_up_waits_for_a_healthy_dependency() {
    let image = image();
    let p = Project::new();
    p.write("compose.yaml", &fault_stack(&image));
    let up = ["up", "--detach", "--wait-timeout", "60"];
    p.ok(&up);
    p.ok(&["stop", "db"]);
    p.ok(&up);
    // `up` may return once devstack's own probe of db passed, while Docker's first probe
    // is still to come ("starting"); `ps` shows Docker's word, which must then follow.
    let db_health = |rows: &[serde_json::Value]| {
        rows.iter()
            .find(|r| r["service"] == "db")
            .map(|r| r["health"].as_str().unwrap_or_default().to_string())
    };
    let rows = ps_json(&p);
    let first = db_health(&rows).expect("db in ps --json");
    assert!(first == "healthy" || first == "starting", "{rows:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rows = ps_json(&p);
        if db_health(&rows).as_deref() == Some("healthy") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Docker never called db healthy: {rows:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A service that exits 3 over and over under `restart: on-failure`: `ps --json` shows
/// the growing restart count and the last exit code, and `logs -f` of the stack keeps
/// following it across restarts (its CPU while doing so is a figure in
/// benches/compare.sh).
#[test]
fn crash_loop_shows_restarts_and_logs_keep_following() {
    let image = image();
    let p = Project::new();
    crash_loop_stack(&p, &image);
    // Its verdict on the crash loop is `crash_loop_fails_up_promptly`'s business; here it
    // only starts the stack, bounded by the wait timeout.
    let up = p.run(&["up", "--detach", "--wait-timeout", "20"]);
    eprintln!("up: {}", String::from_utf8_lossy(&up.stderr));

    // The daemon keeps restarting it; ps shows the count growing and the exit code.
    let crashy = |rows: &[serde_json::Value]| -> serde_json::Value {
        rows.iter()
            .find(|r| r["service"] == "crashy")
            .cloned()
            .unwrap_or_else(|| panic!("no crashy in ps --json: {rows:?}"))
    };
    let first = block_on(poll_until(Duration::from_secs(20), || {
        let row = crashy(&ps_json(&p));
        let restarts = row.get("restart_count")?.as_u64()?;
        (restarts >= 2 && row["exit_code"] == 3).then_some((restarts, row))
    }))
    .expect("crashy to restart twice with exit code 3 in ps --json within the deadline");
    eprintln!("ps --json: {}", first.1);
    block_on(poll_until(Duration::from_secs(30), || {
        let row = crashy(&ps_json(&p));
        (row["restart_count"].as_u64()? > first.0).then_some(())
    }))
    .expect("crashy's restart count to grow within the deadline");
    let table = p.ok(&["ps"]);
    assert!(table.contains("crashy"), "{table}");

    // `logs -f` of the stack: crashy's stream keeps ending (see `logs_follow_survives_a_restart`) while
    // steady's stays open, so devstack goes on following through crashy's restarts.
    // Whether it waits on the daemon rather than spinning meanwhile is a CPU figure, in
    // benches/compare.sh (PARTS=crashloop), not a threshold here.
    let out = p.path("logs.out");
    let mut logs = p.cmd(&["logs", "-f"]);
    logs.stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::piped());
    let mut logs = Running::from(logs.spawn().unwrap());
    let booms = || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        (text.matches("crashy | boom").count(), text)
    };
    let backlog = block_on(poll_until(Duration::from_secs(30), || {
        Some(booms().0).filter(|n| *n > 0)
    }))
    .expect("'crashy | boom' in logs -f within the deadline");
    // Two more runs after the backlog: followed across two restarts.
    let seen = block_on(poll_until(Duration::from_secs(30), || {
        Some(booms())
            .filter(|(n, _)| *n >= backlog + 2)
            .map(|(_, text)| text)
    }))
    .expect("'crashy | boom' from two more runs in logs -f within the deadline");
    assert!(logs.is_running(), "logs -f of the stack ended:\n{seen}");
}

/// Regression: `logs -f` ended as soon as the followed container stopped, so a service
/// that restarts (a crash loop, `restart: on-failure`) was no longer followed; Compose's
/// `logs -f` attaches again. Now the follower waits for the daemon's `start` event.
#[test]
fn logs_follow_survives_a_restart() {
    let image = image();
    let p = Project::new();
    crash_loop_stack(&p, &image);
    let _ = p.run(&["up", "--detach", "--wait-timeout", "20"]);
    let out = p.path("follow.out");
    let mut child = Running::from(
        p.cmd(&["logs", "-f", "--tail", "0", "crashy"])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Each run of the crash loop prints one "boom": lines from two runs after following
    // began prove the follower came back after a restart.
    let seen = block_on(poll_until(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        (text.matches("boom").count() >= 2).then_some(text)
    }))
    .expect("two restarts' output within the deadline");
    let still_following = child.is_running();
    assert!(still_following, "logs -f ended:\n{seen}");
}

/// Values from env files and secret-looking variables appear nowhere in devstack's own
/// output — `config`, `ps`, `ps --json`, error messages — unless `--show-secrets`.
#[test]
fn secrets_stay_out_of_output() {
    let image = image();
    let p = Project::new();
    // Literal values the test greps for, whole and by their '-'-separated pieces (a
    // message may quote only the piece that failed to parse); every piece is unique.
    let from_env_file = "envfile7f3a9c-zq81";
    let password = "pgpw51d0e2-kk73";
    let token = "apitok9b8c7-mm21";
    let interpolated = "dotenvsec0c4d21-pp09";
    p.write(
        "app.env",
        &format!("DATABASE_URL=postgres://app:{from_env_file}@db/app\nPLAIN_FROM_FILE=also-{from_env_file}\n"),
    );
    p.write(
        ".env",
        &format!("SECRET_KEY={interpolated}\nPOSTGRES_PASSWORD={password}\n"),
    );
    let stack = format!(
        r#"services:
  app:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; test -n '${{SECRET_KEY}}'; sleep 100000 & wait"]
    env_file: app.env
    environment:
      POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD}}
      APP_DB_URL: postgres://app:${{POSTGRES_PASSWORD}}@db/app
      API_TOKEN: {token}
      SECRET_KEY: ${{SECRET_KEY}}
      VISIBLE: plain-visible-value
"#
    );
    p.write("compose.yaml", &stack);
    let secrets = [from_env_file, password, token, interpolated];
    let assert_clean = |what: &str, text: &str| {
        for s in secrets {
            for piece in std::iter::once(s).chain(s.split('-')) {
                assert!(
                    !text.contains(piece),
                    "{what} shows (a piece of) secret '{s}':\n{text}"
                );
            }
        }
    };
    let both = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    let config = p.run(&["config"]);
    assert!(config.status.success(), "{}", both(&config));
    assert_clean("config", &both(&config));
    assert!(both(&config).contains("plain-visible-value"));
    // The grep would see them: --show-secrets prints every one.
    let shown = both(&p.run(&["config", "--show-secrets"]));
    for s in secrets {
        assert!(
            shown.contains(s),
            "config --show-secrets lacks '{s}':\n{shown}"
        );
    }

    let up = p.run(&["up", "--detach", "--wait-timeout", "60"]);
    assert!(up.status.success(), "{}", both(&up));
    assert_clean("up", &both(&up));
    assert_clean("ps", &both(&p.run(&["ps"])));
    assert_clean("ps --json", &both(&p.run(&["ps", "--json"])));

    // Errors, each provoked in a file that also holds the secrets.
    let broken = [
        (
            "missing variable",
            stack.replace(
                "VISIBLE: plain-visible-value",
                "VISIBLE: ${NOT_SET_ANYWHERE:?set it please}",
            ),
        ),
        (
            "bad port",
            stack.replace(
                "    env_file: app.env\n",
                "    env_file: app.env\n    ports: [\"99999:80\"]\n",
            ),
        ),
        (
            "secret interpolated into a port",
            stack.replace(
                "    env_file: app.env\n",
                "    env_file: app.env\n    ports: [\"${SECRET_KEY}:80\"]\n",
            ),
        ),
        (
            "secret in a bad duration",
            stack.replace(
                "    env_file: app.env\n",
                "    env_file: app.env\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: ${SECRET_KEY}\n",
            ),
        ),
        (
            "secret in a missing bind-mount source",
            stack.replace(
                "    env_file: app.env\n",
                "    env_file: app.env\n    volumes: [\"./${POSTGRES_PASSWORD}:/x\"]\n",
            ),
        ),
        (
            "unknown key",
            stack.replace("    env_file:", "    env_fil:"),
        ),
        (
            "bad env file line",
            {
                p.write(
                    "bad.env",
                    &format!("TOKEN={token}\nDB_PASSWORD=\"{password}\n"),
                );
                stack.replace("env_file: app.env", "env_file: bad.env")
            },
        ),
    ];
    for (what, text) in broken {
        p.write("compose.yaml", &text);
        for args in [&["config"][..], &["up", "--detach"][..], &["ps"][..]] {
            let out = p.run(args);
            let all = both(&out);
            assert!(!out.status.success(), "{what}: {args:?} succeeded:\n{all}");
            assert!(
                all.contains("compose.yaml") || all.contains(".env"),
                "{what}: {all}"
            );
            assert_clean(&format!("the '{what}' error of {args:?}"), &all);
        }
    }
}

/// Every file in `tests/fixtures/invalid/` makes the binary fail with `file:line:col`
/// and the `.expected` fragments, for `config` and for `up`, and `up` creates nothing.
#[test]
fn invalid_fixtures_fail_with_position_and_create_nothing() {
    let dir = fixtures().join("invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read the invalid fixtures")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "only {} invalid fixtures", files.len());
    let p = Project::new();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a file name");
        let expected = std::fs::read_to_string(file.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{name}: no .expected file: {e}"));
        let strict = name.contains("strict");
        for sub in [&["config"][..], &["up", "--detach"][..]] {
            let mut args: Vec<&str> = Vec::new();
            if strict {
                args.push("--strict");
            }
            args.extend_from_slice(sub);
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_devstack"))
                .current_dir(&dir)
                .arg("-f")
                .arg(file)
                .arg("-p")
                .arg(p.name.as_str())
                .args(&args)
                .env("NO_COLOR", "1")
                .env_remove("IMAGE")
                .output()
                .expect("run devstack");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{name} {args:?}: exit 0\n{stderr}");
            assert!(
                has_file_line_col(&stderr, file),
                "{name} {args:?}: no '{}:LINE:COL' in:\n{stderr}",
                file.display()
            );
            for fragment in expected.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    stderr.contains(fragment),
                    "{name} {args:?}: no '{fragment}' in:\n{stderr}"
                );
            }
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        }
    }
    let objects = p.objects();
    assert!(objects.is_empty(), "bad input created objects: {objects:?}");
}

/// Whether `text` holds `<file>:<line>:<col>` with numbers ≥ 1.
fn has_file_line_col(text: &str, file: &Path) -> bool {
    let name = file.display().to_string();
    text.match_indices(&name).any(|(i, _)| {
        let rest = &text[i + name.len()..];
        let mut parts = rest.splitn(3, ':');
        let (Some(""), Some(line), Some(col)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let col: String = col.chars().take_while(char::is_ascii_digit).collect();
        line.parse::<usize>().is_ok_and(|l| l >= 1) && col.parse::<usize>().is_ok_and(|c| c >= 1)
    })
}
