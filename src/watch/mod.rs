//! File watching: notify events → debounced batches → one [`Trigger`] per service.
//!
//! Owns the notify watcher and the debounce loop. It decides *what* should happen; it
//! does not talk to Docker — the receiver of the triggers (CLI `watch`, the TUI) asks the
//! engine to sync, restart or rebuild.

mod debounce;
mod rules;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

pub use debounce::{DEFAULT_QUIET, Debouncer};
pub use rules::{Rules, Trigger};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot watch '{}': {source}", .path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error("cannot start the file watcher: {0}")]
    Start(#[source] notify::Error),
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One debounced burst of changes: what each concerned service should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub triggers: Vec<Trigger>,
    /// When the last change of the burst was seen: a save's "time zero" for measuring
    /// how long until the container runs the new code.
    pub last_change: Instant,
    /// When the quiet period ended and the batch was handed over.
    pub fired: Instant,
}

/// Watch every root of `rules`; each debounced burst that concerns a service arrives on
/// `out` as one [`Batch`].
pub fn spawn(
    rules: Rules,
    quiet: Duration,
    out: mpsc::Sender<Batch>,
) -> Result<WatchHandle, Error> {
    // Bounded: when the debounce loop falls behind, notify's thread waits rather than
    // memory growing; a burst is folded into one set of paths anyway.
    let (raw_tx, mut raw_rx) = mpsc::channel::<Vec<PathBuf>>(1024);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        );
        if relevant && !event.paths.is_empty() {
            // The receiver is gone only when the handle was dropped: nothing to do then.
            let _ = raw_tx.blocking_send(event.paths);
        }
    })
    .map_err(Error::Start)?;
    for root in rules.roots() {
        let mode = if root.is_dir() {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        watcher
            .watch(&root, mode)
            .map_err(|source| Error::Watch { path: root, source })?;
    }

    let task = tokio::spawn(async move {
        let mut debouncer = Debouncer::new(quiet);
        loop {
            let deadline = debouncer.deadline();
            tokio::select! {
                paths = raw_rx.recv() => match paths {
                    Some(paths) => {
                        let now = Instant::now();
                        for p in paths {
                            debouncer.push(p, now);
                        }
                    }
                    None => break,
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    let now = Instant::now();
                    let last_change = deadline.map_or(now, |d| d - quiet);
                    if let Some(paths) = debouncer.take_due(now) {
                        let triggers = rules.triggers(&paths);
                        let batch = Batch { triggers, last_change, fired: now };
                        if !batch.triggers.is_empty() && out.send(batch).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    });
    Ok(WatchHandle {
        _watcher: watcher,
        task,
    })
}

/// Watch these files (each through its folder, so an editor's save-by-rename is seen);
/// each debounced burst that touches one of them sends `()` on `out`. For the doctor,
/// which reruns its checks when a Dockerfile or the stack file changes.
pub fn spawn_files(
    files: Vec<PathBuf>,
    quiet: Duration,
    out: mpsc::Sender<()>,
) -> Result<WatchHandle, Error> {
    let (raw_tx, mut raw_rx) = mpsc::channel::<()>(64);
    let wanted = files.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        );
        if relevant && event.paths.iter().any(|p| wanted.contains(p)) {
            // Full: a change is already waiting to be reported, this one folds into it.
            let _ = raw_tx.try_send(());
        }
    })
    .map_err(Error::Start)?;
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(PathBuf::from))
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|source| Error::Watch { path: dir, source })?;
    }
    let task = tokio::spawn(async move {
        let mut due: Option<Instant> = None;
        loop {
            tokio::select! {
                change = raw_rx.recv() => match change {
                    Some(()) => due = Some(Instant::now() + quiet),
                    None => break,
                },
                () = sleep_until(due), if due.is_some() => {
                    due = None;
                    if out.send(()).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok(WatchHandle {
        _watcher: watcher,
        task,
    })
}

/// Watch these folders and everything under them; each debounced burst that touches
/// files ending in `.{ext}` sends those files (sorted, each once) on `out`. For the
/// Airflow view, which asks for the parse result after a DAG file is saved.
pub fn spawn_folders(
    folders: Vec<PathBuf>,
    ext: &'static str,
    quiet: Duration,
    out: mpsc::Sender<Vec<PathBuf>>,
) -> Result<WatchHandle, Error> {
    let (raw_tx, mut raw_rx) = mpsc::channel::<Vec<PathBuf>>(256);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        );
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        if relevant && !paths.is_empty() {
            // The receiver is gone only when the handle was dropped: nothing to do then.
            let _ = raw_tx.blocking_send(paths);
        }
    })
    .map_err(Error::Start)?;
    for dir in folders {
        watcher
            .watch(&dir, RecursiveMode::Recursive)
            .map_err(|source| Error::Watch { path: dir, source })?;
    }
    let task = tokio::spawn(async move {
        let mut debouncer = Debouncer::new(quiet);
        loop {
            let deadline = debouncer.deadline();
            tokio::select! {
                paths = raw_rx.recv() => match paths {
                    Some(paths) => {
                        let now = Instant::now();
                        for p in paths {
                            debouncer.push(p, now);
                        }
                    }
                    None => break,
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    if let Some(paths) = debouncer.take_due(Instant::now()) {
                        let mut paths: Vec<PathBuf> = paths.into_iter().collect();
                        paths.sort();
                        paths.dedup();
                        if out.send(paths).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    });
    Ok(WatchHandle {
        _watcher: watcher,
        task,
    })
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Real inotify (or the platform's watcher), no sleeps: a burst of 100 writes to
    /// 50 files (each written twice) arrives as one batch with one trigger.
    #[tokio::test]
    async fn a_burst_of_writes_is_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  pipeline:\n    image: x\n    develop:\n      watch:\n        - path: ./src\n          target: /app\n          action: sync+restart\n",
        )
        .unwrap();
        let stack = crate::stack::load(&crate::stack::LoadOptions {
            file: None,
            extra_files: vec![],
            cwd: dir.path().to_path_buf(),
            project_name: Some("spawn".into()),
            env_files: vec![],
            profiles: vec![],
            strict: false,
            environment: BTreeMap::new(),
        })
        .unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let _handle = spawn(Rules::from_stack(&stack), DEFAULT_QUIET, tx).unwrap();

        let src = dir.path().join("src");
        let before_burst = Instant::now();
        for i in 0..100 {
            std::fs::write(src.join(format!("f{}.py", i % 50)), format!("v{i}\n")).unwrap();
            // Noise that must not count: a swap file and bytecode.
            std::fs::write(src.join(".f.py.swp"), "x").unwrap();
        }
        let last_write = Instant::now();
        let batch = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a batch within 10 s")
            .expect("the watcher is running");
        assert_eq!(batch.triggers.len(), 1);
        let t = &batch.triggers[0];
        assert_eq!(t.action, crate::stack::WatchAction::SyncRestart);
        assert_eq!(t.count, 50, "every file of the burst, once, in one batch");
        assert_eq!(t.files.len(), 50);
        assert!(batch.last_change >= before_burst && batch.last_change <= batch.fired);
        assert!(batch.fired >= last_write + DEFAULT_QUIET - Duration::from_millis(5));

        // Nothing of the burst is left over: the next batch is the next save alone.
        std::fs::write(src.join("after.py"), "x").unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a second batch within 10 s")
            .expect("the watcher is running");
        assert_eq!(next.triggers.len(), 1);
        assert_eq!(next.triggers[0].count, 1);
        assert_eq!(next.triggers[0].first, "after.py");
    }

    /// The doctor's watch: a save by rename (as editors do) of a watched file is seen,
    /// as is a plain write, among writes to files nobody watches.
    #[tokio::test]
    async fn a_watched_file_saved_by_rename_or_written_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let dockerfile = dir.path().join("Dockerfile");
        std::fs::write(&dockerfile, "FROM x\n").unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let _handle = spawn_files(vec![dockerfile.clone()], Duration::from_millis(50), tx).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not watched\n").unwrap();
        let tmp = dir.path().join(".Dockerfile.swp");
        std::fs::write(&tmp, "FROM y\n").unwrap();
        std::fs::rename(&tmp, &dockerfile).unwrap();
        tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the rename of the Dockerfile was not reported")
            .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "again\n").unwrap();
        std::fs::write(&dockerfile, "FROM z\n").unwrap();
        tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the write of the Dockerfile was not reported")
            .unwrap();
    }

    /// The Airflow view's watch: a `.py` saved in a sub-folder of a watched folder is
    /// reported, once, without the other files written beside it.
    #[tokio::test]
    async fn a_py_file_saved_in_a_watched_folder_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("etl");
        std::fs::create_dir(&sub).unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let _handle = spawn_folders(
            vec![dir.path().to_path_buf()],
            "py",
            Duration::from_millis(50),
            tx,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a DAG\n").unwrap();
        std::fs::write(sub.join("load.py"), "from airflow import DAG\n").unwrap();
        std::fs::write(sub.join("load.py"), "from airflow.sdk import DAG\n").unwrap();
        let files = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the save of etl/load.py was not reported")
            .unwrap();
        assert_eq!(files, vec![sub.join("load.py")]);
    }
}
