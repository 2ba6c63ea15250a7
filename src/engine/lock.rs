//! One `up` (or `reset`, `down`) of a project at a time: an exclusive `flock` on a file
//! keyed by the project, in the user's runtime directory (else the state directory).
//!
//! Two runs converging one project at once undo each other's work (one recreates the
//! container the other is waiting on); the second waits here instead, or fails at once
//! with `--no-wait`. The kernel drops the lock when its holder exits, however it exits,
//! so a killed devstack never leaves the project locked. The holder's pid is written
//! into the file only to tell the waiter who it waits for.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use rustix::fs::{FlockOperation, flock};

use super::Error;
use crate::model::ProjectName;

/// Projects this process holds the lock of: `reset` holds it across its removals and
/// the `up` it ends with, which must not wait for itself (a second `flock` on a new
/// open file would).
static HELD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Held while it lives; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct ProjectLock {
    /// `None` when an outer guard of this process already holds the lock.
    held: Option<(String, File)>,
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        if let Some((project, _file)) = self.held.take()
            && let Ok(mut held) = HELD.lock()
        {
            held.remove(&project);
        }
        // The file closes after this, which releases the flock.
    }
}

/// Where the lock file of `project` lives: `$XDG_RUNTIME_DIR/devstack/`, else
/// `$XDG_STATE_HOME/devstack/locks/` (`~/.local/state`), else the temp directory.
pub fn lock_path(project: &ProjectName, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let dir = if let Some(run) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        PathBuf::from(run).join("devstack")
    } else if let Some(state) = env("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        PathBuf::from(state).join("devstack").join("locks")
    } else if let Some(home) = env("HOME").filter(|d| !d.is_empty()) {
        PathBuf::from(home)
            .join(".local")
            .join("state")
            .join("devstack")
            .join("locks")
    } else {
        std::env::temp_dir().join("devstack-locks")
    };
    dir.join(format!("{project}.lock"))
}

/// Takes the project's lock. When another process holds it, `waiting` is told its pid
/// (when known) once, then this waits for it — or, with `no_wait`, fails at once.
pub async fn lock_project(
    project: &ProjectName,
    no_wait: bool,
    waiting: impl FnOnce(Option<u32>),
) -> Result<ProjectLock, Error> {
    let key = project.to_string();
    {
        let mut held = HELD.lock().map_err(|_| Error::Task {
            op: "lock the project",
            message: "the lock registry was poisoned by a panic".into(),
        })?;
        if held.contains(&key) {
            return Ok(ProjectLock { held: None });
        }
        held.insert(key.clone());
    }
    // From here, a failure must give the registry entry back: a guard does it.
    let registered = Registered(key.clone());
    let path = lock_path(project, &|k| std::env::var(k).ok());
    let io = |what: &str, e: std::io::Error| Error::Task {
        op: "lock the project",
        message: format!("{what} '{}': {e}", path.display()),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create the folder of", e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io("cannot open", e))?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            let pid = holder(&mut file);
            if no_wait {
                return Err(Error::Busy { project: key, pid });
            }
            waiting(pid);
            let file_for_wait = file.try_clone().map_err(|e| io("cannot reopen", e))?;
            tokio::task::spawn_blocking(move || {
                flock(&file_for_wait, FlockOperation::LockExclusive)
            })
            .await
            .map_err(|e| Error::Task {
                op: "lock the project",
                message: e.to_string(),
            })?
            .map_err(|e| io("cannot lock", e.into()))?;
        }
        Err(e) => return Err(io("cannot lock", e.into())),
    }
    // Who holds it, for the next waiter's message; a failure only costs that message.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()))
        .and_then(|()| file.flush());
    // The lock's own guard takes the registry entry over.
    std::mem::forget(registered);
    Ok(ProjectLock {
        held: Some((key, file)),
    })
}

/// Removes a registry entry when taking the lock failed part-way.
struct Registered(String);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut held) = HELD.lock() {
            held.remove(&self.0);
        }
    }
}

fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    Read::by_ref(file).take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_prefers_the_runtime_dir() {
        let p = ProjectName("demo".into());
        let env = |k: &str| match k {
            "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            lock_path(&p, &env),
            PathBuf::from("/run/user/1000/devstack/demo.lock")
        );
        let env = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            lock_path(&p, &env),
            PathBuf::from("/home/u/.local/state/devstack/locks/demo.lock")
        );
    }
}
