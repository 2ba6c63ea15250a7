//! `devstack build` and `devstack watch`: which services, then the builds or the watch
//! loop of `ops::live`, printing each step and each action.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::{Error, load_stack, print_progress, select_services, service_width};
use crate::cli::{GlobalArgs, ServicesArgs};
use crate::engine::Engine;
use crate::model::ServiceName;
use crate::ops::live::{short_id, spawn_watch, watch_rules};
use crate::stack::{Stack, WatchAction};
use crate::watch;

/// `devstack build [SVC..]`: builds the named services' images (all with `build:` when
/// none named), printing each step.
pub async fn build(global: &GlobalArgs, args: &ServicesArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let selected = select_services(&stack, &args.services)?;
    let (buildable, others): (Vec<ServiceName>, Vec<ServiceName>) = selected
        .into_iter()
        .partition(|s| stack.services.get(s).is_some_and(|svc| svc.build.is_some()));
    if !args.services.is_empty() {
        for s in &others {
            eprintln!(" {s}  has no 'build:'; nothing to build");
        }
    }
    if buildable.is_empty() {
        eprintln!("{}: no service has a 'build:' section", stack.project);
        return Ok(0);
    }
    let engine = Engine::connect().await?;
    build_services(&engine, &stack, &buildable).await?;
    Ok(0)
}

/// Builds the images of `services` at once, printing progress and each result; every
/// failure is reported, the first few together.
pub async fn build_services(
    engine: &Engine,
    stack: &Stack,
    services: &[ServiceName],
) -> Result<BTreeMap<ServiceName, String>, Error> {
    let (tx, rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress(rx, service_width(stack)));
    let results = join_all(services.iter().map(|s| {
        let tx = tx.clone();
        async move {
            let started = Instant::now();
            let built = engine.build_image(stack, s, &tx).await;
            (s, built, started.elapsed())
        }
    }))
    .await;
    drop(tx);
    let _ = printer.await;
    let mut ids = BTreeMap::new();
    let mut errors = Vec::new();
    for (service, result, took) in results {
        match result {
            Ok(id) => {
                let image = stack
                    .services
                    .get(service)
                    .map(|s| s.image.as_str())
                    .unwrap_or_default();
                eprintln!(
                    " {service}  built '{image}' ({}) in {:.1} s",
                    short_id(&id),
                    took.as_secs_f64()
                );
                ids.insert(service.clone(), id);
            }
            Err(e) => errors.push(e),
        }
    }
    crate::engine::Error::collect(errors)?;
    Ok(ids)
}

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
    for (service, path, action) in rules.describe() {
        let shown = path
            .strip_prefix(&stack.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string());
        let shown = if shown.is_empty() { ".".into() } else { shown };
        eprintln!(
            " {service}  {} on changes in '{shown}'",
            action_word(action)
        );
    }
    eprintln!(
        "watching ({} ms debounce); Ctrl-C to stop",
        quiet.as_millis()
    );

    let engine = Engine::connect().await?;
    let stack = Arc::new(stack);
    let (events_tx, events_rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress(events_rx, service_width(&stack)));
    let (out_tx, mut out_rx) = mpsc::channel(64);
    let mut watcher = spawn_watch(engine, stack, &selected, events_tx, out_tx)?;
    let mut failed = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            outcome = out_rx.recv() => {
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
                        eprintln!("error: {}: {e}", o.service);
                    }
                }
            }
            _ = &mut ctrl_c => {
                // Stops at once, also mid-action: a rebuild interrupted before its
                // recreate leaves the old container; `devstack up` repairs anything else.
                watcher.abort();
                break;
            }
            joined = &mut watcher => {
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
    let _ = printer.await;
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
