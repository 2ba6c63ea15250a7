//! `devstack build`: which services, then their builds at once, each step printed.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::{Error, load_stack, print_progress, select_services, service_width};
use crate::cli::{GlobalArgs, ServicesArgs};
use crate::engine::Engine;
use crate::model::ServiceName;
use crate::ops::live::short_id;
use crate::stack::Stack;

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
                super::output::eprint_line(&format!(
                    " {service}  built '{image}' ({}) in {:.1} s",
                    short_id(&id),
                    took.as_secs_f64()
                ));
                ids.insert(service.clone(), id);
            }
            Err(e) => errors.push(e),
        }
    }
    crate::engine::Error::collect(errors)?;
    Ok(ids)
}
