//! The doctor and snapshots for the UI: the file checks at start and after each change
//! of a watched Dockerfile or the stack file (off the UI thread: they walk build
//! contexts), the daemon's part when the Doctor view asks, and `S`'s snapshots with
//! their progress as notices.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::model::{EngineEvent, NoticeLevel};
use crate::ops::{self, reset, snapshot};
use crate::stack::Stack;
use crate::tui::doctor::{DoctorAnswer, ImageSummary, Inspection};

/// A save's burst of writes (an editor's temp file, rename, chmod) is one re-check.
const QUIET: Duration = Duration::from_millis(300);

async fn analyse(stack: Arc<Stack>, tx: &mpsc::Sender<DoctorAnswer>) -> bool {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let result = tokio::task::spawn_blocking(move || {
        ops::doctor::analyse(&stack, home.as_deref()).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(format!("the check stopped: {e}")));
    tx.send(DoctorAnswer::Findings(result)).await.is_ok()
}

/// Checks now, then again after each change of a watched file, until the UI is gone.
pub async fn keep_analysing(stack: Arc<Stack>, tx: mpsc::Sender<DoctorAnswer>) {
    if !analyse(Arc::clone(&stack), &tx).await {
        return;
    }
    let (changed_tx, mut changed) = mpsc::channel(1);
    let files = ops::doctor::watched_files(&stack);
    // Without a watcher the findings stay those of the start; the view still works.
    let Ok(_watch) = crate::watch::spawn_files(files, QUIET, changed_tx) else {
        return;
    };
    while changed.recv().await.is_some() {
        if !analyse(Arc::clone(&stack), &tx).await {
            return;
        }
    }
}

/// The Doctor view's daemon part: built images and the users containers run as.
pub async fn inspect(engine: Engine, stack: Arc<Stack>, tx: mpsc::Sender<DoctorAnswer>) {
    let result = ops::doctor::inspect(&engine, &stack)
        .await
        .map(|(images, containers)| Inspection {
            images: images
                .iter()
                .map(|i| ImageSummary {
                    reference: i.reference.clone(),
                    size: i.size,
                    layers: i.layers.len(),
                    biggest: ops::doctor::biggest_layers(i)
                        .into_iter()
                        .map(|l| (l.size, l.created_by.clone()))
                        .collect(),
                })
                .collect(),
            users: containers
                .into_iter()
                .map(|c| (c.service, c.user, c.root))
                .collect(),
        })
        .map_err(|e| e.to_string());
    let _ = tx.send(DoctorAnswer::Inspection(result)).await;
}

async fn say(tx: &mpsc::Sender<EngineEvent>, level: NoticeLevel, message: String) {
    let _ = tx.send(EngineEvent::Notice { level, message }).await;
}

/// `S` (or the reset dialog's `s`): a snapshot of `volumes` named after the time, then,
/// with `then_reset` and only if the copy succeeded, the reset.
pub async fn snapshot(
    engine: Engine,
    stack: Arc<Stack>,
    cli: String,
    volumes: Vec<String>,
    then_reset: bool,
    tx: mpsc::Sender<EngineEvent>,
) {
    let env = |k: &str| std::env::var(k).ok();
    let dir = snapshot::project_dir(stack.project.as_str(), &env);
    let mut name = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    if then_reset {
        name.push_str("-before-reset");
    }
    match snapshot::save(&engine, &stack, &dir, &volumes, &name, false, &tx).await {
        Ok(m) => {
            let mb: u64 = m.volumes.iter().map(|v| v.size).sum::<u64>() / 1_000_000;
            say(
                &tx,
                NoticeLevel::Info,
                format!(
                    "saved snapshot '{name}' ({} volume(s), {mb} MB): '{cli} snapshot restore {name}' puts it back",
                    m.volumes.len()
                ),
            )
            .await;
        }
        Err(e) => {
            let and = if then_reset {
                "; nothing was reset"
            } else {
                ""
            };
            say(
                &tx,
                NoticeLevel::Error,
                format!("snapshot failed: {e}{and}"),
            )
            .await;
            return;
        }
    }
    if !then_reset {
        return;
    }
    let result = async {
        let plan = reset::plan_reset(&stack, &volumes, &[])?;
        reset::run_reset(
            &engine,
            &stack,
            &plan,
            crate::engine::DEFAULT_WAIT,
            tx.clone(),
        )
        .await
    }
    .await;
    match result {
        Ok(_) => {
            say(
                &tx,
                NoticeLevel::Info,
                "reset done: volumes recreated, services ready".into(),
            )
            .await
        }
        Err(e) => say(&tx, NoticeLevel::Error, format!("reset: {e}")).await,
    }
}
