//! A pseudo-terminal for tests that run the `devstack` binary as a person would: the
//! child gets the slave side as stdin/stdout/stderr, the test types into the master and
//! reads everything the child drew.
//!
//! Two views of the output: the raw bytes (for escape sequences and plain printed
//! text) and the screen a terminal would show (for what the TUI drew). The TUI redraws
//! only the cells that changed, so a line going from `tick-25` to `tick-26` writes just
//! `6`: text on the screen need not appear whole in the byte stream.

use std::io::Read;
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

/// Generous: other builds share the machine.
const DEADLINE: Duration = Duration::from_secs(60);

struct Seen {
    bytes: Vec<u8>,
    screen: vt100::Parser,
}

pub struct Pty {
    /// Type here.
    pub input: std::fs::File,
    /// The child's side.
    pub slave: std::fs::File,
    /// The reader thread notifies the condvar after each chunk it stores.
    seen: Arc<(Mutex<Seen>, Condvar)>,
}

impl Pty {
    pub fn open(rows: u16, cols: u16) -> Self {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let path = ptsname(&master, Vec::new()).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(Path::new(path.to_str().unwrap()))
            .unwrap();
        let seen = Seen {
            bytes: Vec::new(),
            screen: vt100::Parser::new(size(rows), size(cols), 0),
        };
        let pty = Self {
            input: std::fs::File::from(master),
            slave,
            seen: Arc::new((Mutex::new(seen), Condvar::new())),
        };
        pty.resize(rows, cols);
        let mut reader = pty.input.try_clone().unwrap();
        let mut answer = pty.input.try_clone().unwrap();
        let sink = Arc::clone(&pty.seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // Answer "where is the cursor?" as a terminal does (ratatui asks on start).
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = std::io::Write::write_all(&mut answer, b"\x1b[1;1R");
                }
                let (lock, changed) = &*sink;
                let mut seen = lock.lock().unwrap();
                seen.bytes.extend_from_slice(&buf[..n]);
                seen.screen.process(&buf[..n]);
                changed.notify_all();
            }
        });
        pty
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        tcsetwinsize(
            &self.slave,
            Winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )
        .unwrap();
        self.lock().screen.set_size(size(rows), size(cols));
    }

    /// stdin, stdout and stderr for a child.
    pub fn stdio(
        &self,
    ) -> (
        std::process::Stdio,
        std::process::Stdio,
        std::process::Stdio,
    ) {
        let s = || std::process::Stdio::from(self.slave.try_clone().unwrap());
        (s(), s(), s())
    }

    /// Everything the child wrote so far, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock().bytes).into_owned()
    }

    /// Bytes written so far; a later `wait_for_after` looks only past this point.
    pub fn mark(&self) -> usize {
        self.lock().bytes.len()
    }

    /// What the terminal shows now, one line per row.
    pub fn screen(&self) -> String {
        screen_text(&self.lock())
    }

    /// Waits until the output contains `needle`.
    pub fn wait_for(&self, needle: &str) {
        self.wait_for_after(0, needle);
    }

    /// Waits until the output after byte `mark` contains `needle`. For escape sequences
    /// and printed text; what the TUI drew is checked with `wait_for_screen`.
    pub fn wait_for_after(&self, mark: usize, needle: &str) {
        let after = |seen: &Seen| {
            String::from_utf8_lossy(&seen.bytes[mark.min(seen.bytes.len())..]).into_owned()
        };
        if let Err(seen) = self.wait_until(|seen| after(seen).contains(needle)) {
            panic!("no {needle:?} in the terminal output:\n{}", after(&seen));
        }
    }

    /// Waits until the screen shows `needle`.
    pub fn wait_for_screen_text(&self, needle: &str) -> String {
        self.wait_for_screen(&format!("{needle:?}"), |screen| screen.contains(needle))
    }

    /// Waits until the screen, one line per row, satisfies `done` (`what` says what was
    /// awaited when it never does), and returns that screen.
    pub fn wait_for_screen(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        match self.wait_until(|seen| done(&screen_text(seen))) {
            Ok(seen) => screen_text(&seen),
            Err(seen) => panic!("the screen never showed {what}:\n{}", screen_text(&seen)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.0.lock().unwrap()
    }

    /// Checks `done` after each chunk the child writes, until it holds or the deadline.
    fn wait_until(
        &self,
        done: impl Fn(&Seen) -> bool,
    ) -> Result<MutexGuard<'_, Seen>, MutexGuard<'_, Seen>> {
        let deadline = Instant::now() + DEADLINE;
        let (_, changed) = &*self.seen;
        let mut seen = self.lock();
        loop {
            if done(&seen) {
                return Ok(seen);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(seen);
            }
            seen = changed.wait_timeout(seen, left).unwrap().0;
        }
    }
}

fn size(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap()
}

fn screen_text(seen: &Seen) -> String {
    let screen = seen.screen.screen();
    let cols = screen.size().1.get();
    screen.rows(0, cols).collect::<Vec<_>>().join("\n")
}
