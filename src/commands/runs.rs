//! `devstack run` (a job once, its output streamed, its exit code returned) and
//! `devstack runs` (the recorded history). The work and the record are
//! `ops::runs`; this reads the arguments and prints.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Error, load_stack, output, print_progress, select_services, service_width};
use crate::cli::{GlobalArgs, RunArgs, RunsArgs};
use crate::engine::Engine;
use crate::model::{LogLine, Stream};
use crate::ops::runs::{self, History, Trigger};
use crate::ops::session::exit_status;

pub async fn run(global: &GlobalArgs, args: &RunArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let service = select_services(&stack, std::slice::from_ref(&args.service))?.remove(0);
    let engine = Engine::connect().await?;
    let history = History::for_project(stack.project.as_str());

    let (events_tx, events_rx) = mpsc::channel(256);
    let progress = tokio::spawn(print_progress(events_rx, service_width(&stack)));
    let (lines_tx, lines_rx) = mpsc::channel::<LogLine>(1024);
    let colour = output::use_colour(
        std::io::stdout().is_terminal(),
        false,
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let printer = tokio::spawn(print_output(lines_rx, colour));
    let result = runs::run_job(
        &engine,
        &stack,
        &service,
        &args.args,
        Trigger::Run,
        Duration::from_secs(args.wait_timeout),
        events_tx,
        lines_tx,
        &history,
    )
    .await;
    let _ = progress.await;
    let _ = printer.await;
    let run = result?;
    output::eprint_line(&format!(
        " {service}  {} after {}",
        runs::exit_text(run.exit_code),
        runs::duration_text(run.duration_ms)
    ));
    Ok(run.exit_code.map(exit_status).unwrap_or(1))
}

/// The job's output as it wrote it: stdout to stdout, stderr to stderr, without a
/// prefix (only its escape sequences are filtered, as `logs` does).
async fn print_output(mut rx: mpsc::Receiver<LogLine>, colour: bool) {
    while let Some(line) = rx.recv().await {
        let mut text = crate::logs::sanitize::log_text(&line.text, colour).into_owned();
        text.push('\n');
        // A closed stdout (`| head`) must not stop the run: the rest is recorded.
        let _ = match line.stream {
            Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
            _ => std::io::stdout().lock().write_all(text.as_bytes()),
        };
    }
}

pub fn runs(global: &GlobalArgs, args: &RunsArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let services = if args.services.is_empty() {
        stack
            .services
            .keys()
            .filter(|s| runs::is_job(&stack, s))
            .cloned()
            .collect()
    } else {
        select_services(&stack, &args.services)?
    };
    let history = History::for_project(stack.project.as_str());
    let mut all = history.load_all(&services)?;
    all.sort_by_key(|r| r.started_ms);
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&all).map_err(std::io::Error::other)?;
        s.push('\n');
        s
    } else if all.is_empty() {
        output::eprint_line(&format!(
            "no runs recorded yet (history: {})",
            super::describe_path(history.dir())
        ));
        return Ok(0);
    } else {
        runs::table(&all, runs::local_offset())
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}
