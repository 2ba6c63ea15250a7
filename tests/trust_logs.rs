//! Issue 11, container output and the terminal: the whole log path on arbitrary bytes
//! (property test), a line without a newline, escape sequences from containers and
//! stack files, signals from outside while the UI runs, and a closed stdout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/log_path.rs"]
mod log_path;

use proptest::prelude::*;
use proptest::test_runner::Config;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // No persistence files next to the sources; failures print the minimal input.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Bytes biased towards what log lines are made of: escape sequences and their parts,
/// newlines, multi-byte and broken UTF-8, JSON, timestamps as the daemon writes them.
fn log_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\x1b".to_vec()),
        Just(b"\x1b[".to_vec()),
        Just(b"\x1b]".to_vec()),
        Just(b"\x1b(".to_vec()),
        Just(b"\x1b#".to_vec()),
        Just(b"\x1b\\".to_vec()),
        Just(b"\x07".to_vec()),
        Just(b"31;1m".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\t".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just("界".as_bytes().to_vec()),
        Just("\u{9b}".as_bytes().to_vec()),
        Just(vec![0xc3]),
        Just(vec![0xff, 0xfe]),
        Just(b"{\"level\":\"warn\",\"msg\":\"x\"}".to_vec()),
        Just(b"2024-01-02T03:04:05.000000001Z ".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
        "[a-z ]{1,6}".prop_map(String::into_bytes),
    ];
    (any::<u8>(), prop::collection::vec(piece, 0..60)).prop_map(|(ctl, pieces)| {
        let mut data = vec![ctl];
        data.extend(pieces.concat());
        data
    })
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn arbitrary_bytes_through_the_whole_log_path(data in prop::collection::vec(any::<u8>(), 0..1500)) {
        log_path::check(&data);
    }

    #[test]
    fn log_shaped_bytes_through_the_whole_log_path(data in log_bytes()) {
        log_path::check(&data);
    }
}

/// Issue 11 item 4: `printf '\033(\303\251\n'` panicked `up` and `tui` (exit 101).
#[test]
fn a_charset_select_before_a_multibyte_character_does_not_crash_the_ui() {
    for frame_ctl in [0u8, 3, 0x85] {
        let mut data = vec![frame_ctl];
        data.extend_from_slice(b"\x1b(\xc3\xa9\n\x1b)\xe7\x95\x8c tail");
        log_path::check(&data);
    }
}

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};

use common::pty::Pty;
use devstack::engine::CUT_MARK;

/// The test kit's project with `yaml` as its stack file; `IMAGE` in it becomes the
/// fixture image. Its containers go when it drops. `ok` returns raw bytes: these tests
/// look at escape sequences, which may not be UTF-8.
struct Project {
    inner: common::Project,
}

impl Project {
    async fn new(yaml: &str) -> Self {
        let engine = common::engine().await;
        let image = common::fixture_image(&engine).await;
        let inner = common::Project::new();
        inner.write("compose.yaml", &yaml.replace("IMAGE", &image));
        Self { inner }
    }

    fn command(&self, args: &[&str]) -> Command {
        self.inner.cmd(args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "devstack {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        out.stdout
    }

    /// Polls `logs` until `needle` is in what a service printed (`up --detach` may
    /// return while a one-shot service is still printing).
    fn wait_logs(&self, service: &str, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let out = String::from_utf8_lossy(&self.ok(&["logs", service])).into_owned();
            if out.contains(needle) {
                return out;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} in the logs of '{service}': {out:.300}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// Issue 11 item 8: a 3 MB line without a newline, then a newline and a short line.
/// `logs` gives the first 16 KiB of it, marked as cut, and the next line whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_line_without_newline_is_cut_at_the_cap_with_a_marker() {
    let p = Project::new(
        r#"
services:
  long:
    image: IMAGE
    command: ["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo after-the-long-line"]
"#,
    )
    .await;
    p.ok(&["up", "--detach"]);
    let out = p.wait_logs("long", "after-the-long-line");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{:.300}", out);
    let cap = devstack::logs::StoreConfig::default().max_line_bytes;
    assert_eq!(lines[0], format!("long | {}{CUT_MARK}", "a".repeat(cap)));
    assert_eq!(lines[1], "long | after-the-long-line");
}

/// What the escape tests print: a clipboard write (OSC 52), a title (OSC 0), the
/// alternate screen and mouse reporting switched on, a bell, a C1 CSI — and colour.
const HOSTILE: &str = r"\033]52;c;cHduZWQ=\007\033]0;pwned\033\\\033[?1049h\033[?1000h\007\302\2336n\033[31mred\033[0m plain";

/// Issue 11 item 13: `logs` lets only colour through, and only when colour is on.
#[tokio::test(flavor = "multi_thread")]
async fn logs_strip_titles_clipboard_and_modes_and_keep_colour_only_with_colour() {
    let p = Project::new(&format!(
        r#"
services:
  esc:
    image: IMAGE
    command:
      - sh
      - -c
      - |
        printf '{HOSTILE}\n'
"#
    ))
    .await;
    p.ok(&["up", "--detach"]);

    // Piped: no colour, so no escape at all.
    assert_eq!(p.wait_logs("esc", "plain"), "esc | 6nred plain\n");

    // On a terminal: the container's SGR colour stays, nothing else; `--no-color` and
    // NO_COLOR take the colour away too.
    for (args, env, colour) in [
        (&["logs", "esc"][..], None, true),
        (&["logs", "--no-color", "esc"][..], None, false),
        (&["logs", "esc"][..], Some("1"), false),
    ] {
        let pty = Pty::open(24, 200);
        let (stdin, stdout, stderr) = pty.stdio();
        let mut cmd = p.command(args);
        if let Some(v) = env {
            cmd.env("NO_COLOR", v);
        }
        let status = cmd
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}: {}", pty.text());
        pty.wait_for("plain");
        let text = pty.text();
        for bad in ["]52;", "]0;", "?1049h", "?1000h", "\x07", "\u{9b}"] {
            assert!(
                !text.contains(bad),
                "{args:?} {env:?}: {bad:?} passed: {text:?}"
            );
        }
        assert_eq!(
            text.contains("\x1b[31mred\x1b[0m plain"),
            colour,
            "{text:?}"
        );
        if !colour {
            assert!(!text.contains('\x1b'), "{args:?} {env:?}: {text:?}");
        }
    }
}

/// Issue 11 item 13: container output relayed in `up --detach`'s failure text shows
/// its escapes escaped.
#[tokio::test(flavor = "multi_thread")]
async fn up_failure_text_shows_container_escapes_escaped() {
    let p = Project::new(&format!(
        r#"
services:
  bad:
    image: IMAGE
    command:
      - sh
      - -c
      - |
        printf '{HOSTILE}\n'; exit 3
"#
    ))
    .await;
    let out = p.run(&["up", "--detach", "--wait-timeout", "60"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains(r"\x1b]52;c;cHduZWQ=\x07"), "{err}");
    assert!(err.contains(r"\u{9b}6n"), "{err}");
}

/// Issue 11 item 13: a stack file's service name with ESC in it, echoed by the error.
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_file_value_with_escapes_is_shown_escaped_in_errors() {
    let p = Project::new(
        "services:\n  \"we\\e]0;pwned\\ab\":\n    image: IMAGE\n    command: [\"sh\", \"-c\", \"sleep 1\"]\n",
    )
    .await;
    for args in [&["config"][..], &["up", "--detach"][..]] {
        let out = p.run(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains('\x1b') && !err.contains('\x07'),
            "{args:?}: {err:?}"
        );
        assert!(err.contains(r"\x1b]0;pwned\x07"), "{args:?}: {err}");
    }
}

/// Issue 11 item 14: SIGINT and SIGQUIT from outside leave the terminal as TERM does:
/// cooked mode, the normal screen, no mouse reporting, the cursor shown; and the exit
/// code says which signal it was.
#[tokio::test(flavor = "multi_thread")]
async fn signals_from_outside_restore_the_terminal() {
    use rustix::process::{Pid, Signal, kill_process};
    use rustix::termios::{LocalModes, tcgetattr};

    let p = Project::new(
        r#"
services:
  idle:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; echo idle-ready; while true; do sleep 1 & wait; done"]
"#,
    )
    .await;
    p.ok(&["up", "--detach"]);
    for (signal, code) in [
        (Signal::INT, 130),
        (Signal::QUIT, 131),
        (Signal::TERM, 143),
        (Signal::HUP, 129),
    ] {
        let pty = Pty::open(30, 120);
        let (stdin, stdout, stderr) = pty.stdio();
        let mut child = p
            .command(&["tui"])
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        pty.wait_for("idle-ready");
        let raw = tcgetattr(&pty.slave).unwrap();
        assert!(!raw.local_modes.contains(LocalModes::ICANON), "{signal:?}");
        let mark = pty.mark();
        kill_process(Pid::from_raw(child.id() as i32).unwrap(), signal).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{signal:?}: {status:?}");
        let modes = tcgetattr(&pty.slave).unwrap();
        assert!(
            modes
                .local_modes
                .contains(LocalModes::ICANON | LocalModes::ECHO),
            "{signal:?}: the terminal is left raw"
        );
        // What the child wrote before it ended arrives through the pty's reader thread.
        for restore in ["\x1b[?1049l", "\x1b[?25h", "\x1b[?1000l"] {
            pty.wait_for_after(mark, restore);
        }
    }
}

/// `devstack logs | head`: a closed stdout ends the command quietly with 0, both
/// printing the backlog and following.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_ends_logs_quietly() {
    let p = Project::new(
        r#"
services:
  chatty:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while [ $$i -lt 30000 ]; do echo line-$$i; i=$$((i+1)); done; echo chatty-done; while true; do sleep 1 & wait; done"]
"#,
    )
    .await;
    p.ok(&["up", "--detach"]);
    // All 30 000 lines are in the log before `logs` reads it.
    p.wait_logs("chatty", "chatty-done");
    for args in [&["logs", "chatty"][..], &["logs", "-f", "chatty"][..]] {
        let mut child = p
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone (as `head` after its lines): the pipe is closed.
        assert_eq!(first, "chatty | line-0\n");
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}
