//! `devstack watch`: the watch loop of `ops::live` without the UI, one line per action,
//! until Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Error, load_stack, print_progress, select_services, service_width};
use crate::cli::{GlobalArgs, ServicesArgs};
use crate::engine::Engine;
use crate::ops::live::{WatchOutcome, spawn_watch, watch_rules};
use crate::stack::{Stack, WatchAction};
use crate::watch::{self, Rules};

/// `devstack watch [SVC..]`: the watchers without the UI, one line per action, until
/// Ctrl-C. The stack must be up already (`devstack up --detach`).
pub async fn watch(global: &GlobalArgs, args: &ServicesArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let selected = if args.services.is_empty() {
        Vec::new()
    } else {
        select_services(&stack, &args.services)?
    };
    let rules = watch_rules(&stack, &selected);
    if rules.is_empty() {
        return Err(Error::Usage(
            "nothing to watch: no service has 'develop.watch' rules or \
             'x-devstack: {restart_on_change: true}' with a bind mount"
                .into(),
        ));
    }
    let quiet = stack.settings.debounce.unwrap_or(watch::DEFAULT_QUIET);
    print_rules(&stack, &rules, quiet);

    let engine = Engine::connect().await?;
    let stack = Arc::new(stack);
    let (events_tx, events_rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress(events_rx, service_width(&stack)));
    let (out_tx, mut out_rx) = mpsc::channel(64);
    let mut watcher = spawn_watch(engine, stack, &selected, events_tx, out_tx)?;
    let result = report_until_ctrl_c(&mut watcher, &mut out_rx, quiet).await;
    let _ = printer.await;
    result
}

/// What will be watched, one line per rule, and the debounce.
fn print_rules(stack: &Stack, rules: &Rules, quiet: Duration) {
    // A `develop.watch` rule and `restart_on_change` on the same bind mount are two
    // rules with one effect: said once.
    let mut said = Vec::new();
    for (service, path, action) in rules.describe() {
        let shown = path
            .strip_prefix(&stack.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string());
        let shown = if shown.is_empty() { ".".into() } else { shown };
        let line = format!(
            " {service}  {} on changes in '{shown}'",
            action_word(action)
        );
        if !said.contains(&line) {
            eprintln!("{line}");
            said.push(line);
        }
    }
    eprintln!(
        "watching ({} ms debounce); Ctrl-C to stop",
        quiet.as_millis()
    );
}

/// Prints each action's outcome with its timings until Ctrl-C (or the watcher ends);
/// the exit code is 1 when any action failed.
async fn report_until_ctrl_c(
    watcher: &mut JoinHandle<()>,
    outcomes: &mut mpsc::Receiver<WatchOutcome>,
    quiet: Duration,
) -> Result<u8, Error> {
    let mut failed = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            outcome = outcomes.recv() => {
                let Some(o) = outcome else { break };
                match o.result {
                    Ok(message) => eprintln!(
                        "{message} [save → done {} ms: issued at {} ms; devstack's share after \
                         the {} ms debounce {} ms]",
                        o.since_save.as_millis(),
                        o.issued.as_millis(),
                        quiet.as_millis(),
                        o.own.as_millis()
                    ),
                    Err(e) => {
                        failed = true;
                        super::output::eprint_line(&format!("error: {}: {e}", o.service));
                    }
                }
            }
            _ = &mut ctrl_c => {
                // Stops at once, also mid-action: a rebuild interrupted before its
                // recreate leaves the old container; `devstack up` repairs anything else.
                watcher.abort();
                break;
            }
            joined = &mut *watcher => {
                if let Err(e) = joined {
                    return Err(Error::Engine(crate::engine::Error::Task {
                        op: "watch",
                        message: e.to_string(),
                    }));
                }
                break;
            }
        }
    }
    Ok(u8::from(failed))
}

fn action_word(action: WatchAction) -> &'static str {
    match action {
        WatchAction::Sync => "sync",
        WatchAction::SyncRestart => "sync+restart",
        WatchAction::Restart => "restart",
        WatchAction::Rebuild => "rebuild",
    }
}
