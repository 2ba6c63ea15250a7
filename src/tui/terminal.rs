//! The terminal: raw mode, alternate screen and mouse capture, entered by a guard and
//! restored on every way out — drop (normal quit or an error unwinding through the app
//! loop), a panic (hook), SIGTERM, SIGHUP, SIGINT and SIGQUIT (the app loop awaits
//! [`Signals`] and then drops the guard), and around an exec session
//! ([`TerminalGuard::suspend`]).
//!
//! The only module of the TUI that writes to the tty. It owns no application state.

use std::io::{self, BufWriter, Stdout, Write, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Bytes a frame may take before part of it is written early: a full repaint of a
/// 250x70 terminal with colours is about 100 KiB.
const FRAME_BUFFER: usize = 256 << 10;

/// The writer frames go through: ratatui flushes its backend once per `draw`, so a
/// frame reaches the tty in one `write` instead of one per KiB (stdout's own buffer is
/// a `LineWriter` of 1 KiB, and a frame has no newlines).
pub fn frame_writer<W: Write>(inner: W) -> BufWriter<W> {
    BufWriter::with_capacity(FRAME_BUFFER, inner)
}

/// Whether the terminal is in our mode now: the panic hook and signal paths restore only
/// then, so a panic before the UI started prints normally.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Holds the terminal in TUI mode; restores it when dropped.
pub struct TerminalGuard {
    terminal: Tui,
}

impl TerminalGuard {
    /// Enters raw mode, the alternate screen and mouse capture, and installs the panic
    /// hook. Validate everything that can fail with a message before calling this.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enter_mode()?;
        let terminal = match Terminal::new(CrosstermBackend::new(frame_writer(stdout()))) {
            Ok(t) => t,
            Err(e) => {
                let _ = restore();
                return Err(e);
            }
        };
        Ok(Self { terminal })
    }

    pub fn terminal(&mut self) -> &mut Tui {
        &mut self.terminal
    }

    /// Hands the terminal back to the user's shell (for an exec session). Input must
    /// not be read by the UI meanwhile.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore()
    }

    /// Takes the terminal back after [`Self::suspend`] and forces a full redraw (the
    /// screen's contents are unknown).
    pub fn resume(&mut self) -> io::Result<()> {
        enter_mode()?;
        // A fresh Terminal has an empty previous buffer, so the next draw repaints every
        // cell. (`Terminal::clear` would do that too, but it first asks the terminal
        // where the cursor is and waits up to 2 s for the answer — which, right after a
        // shell session on the same tty, crossterm's reader does not see.)
        execute!(stdout(), Clear(ClearType::All))?;
        self.terminal = Terminal::new(CrosstermBackend::new(frame_writer(stdout())))?;
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

fn enter_mode() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture, Hide)
}

/// Leaves TUI mode if we are in it: every step is tried even if one fails, and the
/// first error is returned. Safe to call any number of times.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let raw = disable_raw_mode();
    let mut out = stdout();
    let screen = execute!(out, DisableMouseCapture, LeaveAlternateScreen, Show);
    let flush = out.flush();
    raw.and(screen).and(flush)
}

/// Chains a hook that restores the terminal before the previous hook prints the panic,
/// so the message lands on the normal screen, readable. Installed once.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}

/// A signal that ends the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Terminate,
    Hangup,
    /// SIGINT from outside (`kill -INT`, `timeout -s INT`): in raw mode Ctrl-C is a key.
    Interrupt,
    Quit,
}

impl Signal {
    /// 128 + the signal's number, as shells report a process ended by it.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Hangup => 129,
            Self::Interrupt => 130,
            Self::Quit => 131,
            Self::Terminate => 143,
        }
    }
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT as a stream for the app loop's `select!`. On a
/// signal the loop breaks and the guard's drop restores the terminal; left to their
/// default action, INT and QUIT would end the process with the terminal still raw, on
/// the alternate screen, with mouse reporting on and the cursor hidden.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Terminate,
            _ = self.hup.recv() => Signal::Hangup,
            _ = self.int.recv() => Signal::Interrupt,
            _ = self.quit.recv() => Signal::Quit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_without_entering_writes_nothing_and_succeeds() {
        // Not active: must not touch the (test runner's) terminal.
        assert!(restore().is_ok());
        assert!(restore().is_ok());
        install_panic_hook();
        install_panic_hook();
    }

    /// Counts the writes that reach the "tty" (calls, bytes); the counts are shared
    /// because the backend owns the writer.
    #[derive(Default, Clone)]
    struct Writes(std::rc::Rc<std::cell::Cell<(usize, usize)>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (calls, bytes) = self.0.get();
            self.0.set((calls + 1, bytes + buf.len()));
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Issue 15 item 5: frames went out through stdout's 1 KiB line buffer, a `write`
    /// per KiB of every frame.
    #[test]
    fn a_whole_frame_reaches_the_terminal_in_one_write() {
        use ratatui::layout::Rect;
        use ratatui::style::{Color, Style};
        use ratatui::text::{Line, Span};
        use ratatui::widgets::Paragraph;
        use ratatui::{TerminalOptions, Viewport};

        let area = Rect::new(0, 0, 250, 70);
        let writes = Writes::default();
        let backend = CrosstermBackend::new(frame_writer(writes.clone()));
        let mut terminal = Terminal::with_options(
            backend,
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )
        .unwrap();
        for round in 0..2 {
            // Every cell changes, in colours that change every few cells: a full repaint.
            let lines: Vec<Line> = (0..70)
                .map(|y| {
                    Line::from(
                        (0..50)
                            .map(|x| {
                                let c = Color::Indexed(((x + y + round) % 200) as u8);
                                Span::styled(format!("{:05}", x * y + round), Style::new().fg(c))
                            })
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            let before = writes.0.get().0;
            terminal
                .draw(|f| f.render_widget(Paragraph::new(lines), area))
                .unwrap();
            let (calls, bytes) = writes.0.get();
            assert_eq!(calls - before, 1, "round {round}: {bytes} bytes");
        }
        assert!(writes.0.get().1 > 70 * 250);
    }

    #[tokio::test]
    async fn signals_can_be_set_up() {
        assert!(Signals::new().is_ok());
    }
}
