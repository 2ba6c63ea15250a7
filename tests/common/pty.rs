//! A pseudo-terminal for tests that run the `devstack` binary as a person would: the
//! child gets the slave side as stdin/stdout/stderr, the test types into the master and
//! reads everything the child drew.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

pub struct Pty {
    /// Type here.
    pub input: std::fs::File,
    /// The child's side.
    pub slave: std::fs::File,
    seen: Arc<Mutex<Vec<u8>>>,
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
        let pty = Self {
            input: std::fs::File::from(master),
            slave,
            seen: Arc::new(Mutex::new(Vec::new())),
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
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
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
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Bytes written so far; a later `wait_for_after` looks only past this point.
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Waits (up to 30 s) until the output contains `needle`.
    pub fn wait_for(&self, needle: &str) {
        self.wait_for_after(0, needle);
    }

    /// Waits (up to 30 s) until the output after byte `mark` contains `needle`.
    pub fn wait_for_after(&self, mark: usize, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = {
                let seen = self.seen.lock().unwrap();
                String::from_utf8_lossy(&seen[mark.min(seen.len())..]).into_owned()
            };
            if text.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the terminal output:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
