use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::tui::state::AppState;

use super::render;

fn draw(state: &AppState, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(state, f)).unwrap();
    t.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing spaces cut; the cell hidden behind a
/// wide character is skipped so lines read as they look.
fn screen(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn peek() {
    let s = AppState::fixture();
    println!("{}", screen(&draw(&s, 80, 24)));
    println!("{}", screen(&draw(&s, 200, 30)));
}
