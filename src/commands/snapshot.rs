//! `devstack snapshot save|list|restore|rm`: the arguments, then `ops::snapshot`, its
//! progress printed to stderr.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{Error, load_stack, print_progress, service_width};
use crate::cli::{GlobalArgs, SnapshotCommand};
use crate::engine::Engine;
use crate::ops::snapshot;

pub async fn snapshot(global: &GlobalArgs, command: SnapshotCommand) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let env = |k: &str| std::env::var(k).ok();
    let dir = snapshot::project_dir(stack.project.as_str(), &env);
    match command {
        SnapshotCommand::List => {
            for m in snapshot::list(&dir)? {
                let size: u64 = m.volumes.iter().map(|v| v.size).sum();
                let keys: Vec<&str> = m.volumes.iter().map(|v| v.key.as_str()).collect();
                println!(
                    "{:<24} {}  {:>8} MB  {}",
                    m.name,
                    m.created,
                    size / 1_000_000,
                    keys.join(", ")
                );
            }
            Ok(0)
        }
        SnapshotCommand::Rm(args) => {
            snapshot::remove(&dir, &args.name)?;
            eprintln!("removed snapshot '{}'", args.name);
            Ok(0)
        }
        SnapshotCommand::Save(args) => {
            let engine = Engine::connect().await?;
            let name = args
                .name
                .clone()
                .unwrap_or_else(|| chrono::Local::now().format("%Y%m%d-%H%M%S").to_string());
            let (tx, rx) = mpsc::channel(256);
            let printer = tokio::spawn(print_progress(rx, service_width(&stack)));
            let result =
                snapshot::save(&engine, &stack, &dir, &args.volumes, &name, args.live, &tx).await;
            drop(tx);
            let _ = printer.await;
            let manifest = result?;
            eprintln!(
                "saved snapshot '{}' ({} volume(s)) in {}",
                manifest.name,
                manifest.volumes.len(),
                super::describe_path(&dir.join(&manifest.name))
            );
            Ok(0)
        }
        SnapshotCommand::Restore(args) => {
            let engine = Engine::connect().await?;
            let (tx, rx) = mpsc::channel(256);
            let printer = tokio::spawn(print_progress(rx, service_width(&stack)));
            let result = snapshot::restore(
                &engine,
                &stack,
                &dir,
                &args.name,
                &args.volumes,
                Duration::from_secs(args.wait_timeout),
                tx,
            )
            .await;
            let _ = printer.await;
            result?;
            eprintln!("restored snapshot '{}', services ready", args.name);
            Ok(0)
        }
    }
}
