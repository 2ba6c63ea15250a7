//! Views: pure functions from `&AppState` to cells in a frame.
//!
//! They read state and write the frame's buffer, nothing else: no locks, no awaits, no
//! state changes, no clock. [`layout`] is shared with `update`, which needs to know the
//! logs pane's size to scroll by pages and where a mouse click landed.

pub mod airflow;
pub mod databases;
pub mod dialogs;
pub mod doctor;
pub mod endpoints;
pub mod footer;
pub mod help;
pub mod logs;
pub mod messages;
pub mod notices;
pub mod runs;
pub mod services;
pub mod style;
pub mod text;

#[cfg(test)]
mod tests;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::state::{AppState, Daemon, Mode};

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub banner: Option<Rect>,
    pub services: Rect,
    /// The logs pane including its title row.
    pub logs: Rect,
    /// The rows log lines are drawn in.
    pub logs_body: Rect,
    /// Under the log lines, inside the logs pane: the notices (never over a log line).
    pub notices: Rect,
    pub footer: Rect,
}

/// Splits `area`: banner (when the daemon is lost), services pane sized to its rows (at
/// most about half the height), logs pane with the rest, footer.
pub fn layout(state: &AppState, area: Rect) -> Areas {
    let mut y = area.y;
    let mut h = area.height;
    let banner = match state.daemon {
        Daemon::Lost { .. } if h > 0 => {
            let r = Rect::new(area.x, y, area.width, 1);
            y += 1;
            h -= 1;
            Some(r)
        }
        _ => None,
    };
    let footer_h = h.min(1);
    let footer = Rect::new(area.x, y + h - footer_h, area.width, footer_h);
    h -= footer_h;
    let max_services = (h / 2).max(h.min(7));
    let services_h = services::wanted_height(state).min(max_services);
    let services = Rect::new(area.x, y, area.width, services_h);
    let logs = Rect::new(area.x, y + services_h, area.width, h - services_h);
    let body_h = logs.height.saturating_sub(1);
    let notices_h = notices::height(state, logs.width, body_h);
    let logs_body = Rect::new(
        logs.x,
        logs.y + logs.height.min(1),
        logs.width,
        body_h - notices_h,
    );
    let notices = Rect::new(
        logs.x,
        logs_body.y + logs_body.height,
        logs.width,
        notices_h,
    );
    Areas {
        banner,
        services,
        logs,
        logs_body,
        notices,
        footer,
    }
}

/// Size of the logs body for the current terminal size: (columns, rows).
pub fn logs_viewport(state: &AppState) -> (usize, usize) {
    let a = layout(state, Rect::new(0, 0, state.size.0, state.size.1));
    (a.logs_body.width as usize, a.logs_body.height as usize)
}

/// Draws the whole screen.
/// A box of `w`×`h` centred in `area`, cleared, framed by `block`; returns its inside.
/// The overlays (help, dialogs, endpoints) all sit in one of these.
fn overlay(
    buf: &mut ratatui::buffer::Buffer,
    area: ratatui::layout::Rect,
    w: u16,
    h: u16,
    block: ratatui::widgets::Block<'_>,
) -> ratatui::layout::Rect {
    use ratatui::widgets::{Clear, Widget};
    let rect = ratatui::layout::Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(rect, buf);
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}

pub fn render(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    let a = layout(state, area);
    if let Some(b) = a.banner {
        notices::render_banner(state, buf, b);
    }
    services::render(state, buf, a.services);
    // The log lines end where the notices begin.
    let logs_area = Rect {
        height: a.logs.height - a.notices.height,
        ..a.logs
    };
    logs::render(state, buf, logs_area);
    footer::render(state, buf, a.footer);
    notices::render(state, buf, a.notices);
    match &state.mode {
        Mode::Help => help::render(buf, area),
        Mode::Messages { scroll } => messages::render(state, *scroll, buf, area),
        Mode::Endpoints => endpoints::render(state, buf, area),
        Mode::PickDatabase {
            service,
            databases,
            selected,
        } => databases::render(service, databases, *selected, buf, area),
        Mode::Airflow => airflow::render(state, buf, area),
        Mode::Runs => runs::render(state, buf, area),
        Mode::Doctor => doctor::render(state, buf, area),
        Mode::Confirm(p) => dialogs::render(state, p, buf, area),
        _ => {}
    }
}
