//! Copying changed files into a running container (`develop.watch` action `sync`)
//! through the archive API, and removing there what was deleted here.
//!
//! Owns the tar of changed files and the upload. The host side decides nothing: the
//! state of each file *when the sync runs* is what goes over (present → copied, absent →
//! removed), so an editor's delete-and-recreate arrives as the final file. It never
//! restarts anything; `sync+restart` is the caller's two calls.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use bollard::query_parameters::UploadToContainerOptionsBuilder;

use super::{Engine, Error};
use crate::model::{ContainerId, ServiceName};
use crate::stack::Stack;

/// What a sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Files and directories copied in.
    pub copied: usize,
    /// Paths removed in the container because they are gone on the host.
    pub removed: usize,
}

impl Engine {
    /// Puts each `(host path, path in the container)` into the service's container as it
    /// is on the host now: present ones are uploaded (one tar, one request), missing ones
    /// removed with `rm -rf` run as root in the container (so the image needs `rm`; a
    /// distroless image cannot have deletions synced, and the error says so).
    pub async fn sync_files(
        &self,
        stack: &Stack,
        service: &ServiceName,
        files: &[(PathBuf, String)],
    ) -> Result<SyncReport, Error> {
        let container = self
            .service_container(&stack.project, service, "sync files")
            .await?;
        let owned: Vec<(PathBuf, String)> = files.to_vec();
        let (tar, copied, removed) = tokio::task::spawn_blocking(move || changes_tar(&owned))
            .await
            .map_err(|e| Error::Task {
                op: "sync files",
                message: e.to_string(),
            })??;
        if copied > 0 {
            let options = UploadToContainerOptionsBuilder::default().path("/").build();
            self.docker
                .upload_to_container(
                    &container.id.0,
                    Some(options),
                    bollard::body_full(tar.into()),
                )
                .await
                .map_err(|e| Error::daemon("copy files into the container", Some(service), e))?;
        }
        if !removed.is_empty() {
            self.remove_in_container(&container.id, service, &removed)
                .await?;
        }
        Ok(SyncReport {
            copied,
            removed: removed.len(),
        })
    }

    async fn remove_in_container(
        &self,
        id: &ContainerId,
        service: &ServiceName,
        paths: &[String],
    ) -> Result<(), Error> {
        let mut cmd = vec!["rm", "-rf", "--"];
        cmd.extend(paths.iter().map(String::as_str));
        let (code, _, stderr) = self.exec_capture(id, &cmd, Some("0")).await?;
        if code == 0 {
            return Ok(());
        }
        Err(Error::Daemon {
            op: "remove deleted files in the container",
            service: Some(service.clone()),
            status: 0,
            message: format!(
                "'rm -rf {}' exited with {code}: {} (an image without 'rm' cannot have \
                 deletions synced; restart or rebuild the service instead)",
                paths.join(" "),
                String::from_utf8_lossy(&stderr).trim()
            ),
        })
    }

    /// When the container last started, in Unix nanoseconds (`None` if it never did).
    /// Finer than `ContainerInfo::started_at`: a restart within the same second shows.
    pub async fn started_at_nanos(&self, id: &ContainerId) -> Result<Option<i64>, Error> {
        let detail = self.inspect_raw(&id.0, None).await?;
        Ok(detail
            .state
            .and_then(|s| s.started_at)
            .and_then(|t| super::observe::parse_rfc3339_nanos(&t))
            .filter(|t| *t > 0))
    }
}

/// A tar (paths relative to `/`) of the files that exist now, how many files it holds,
/// and the container paths of those that do not exist. The last entry for a target
/// wins. A directory goes with everything in it: one moved in brings no events for its
/// files. (Watch ignores are not applied inside it.)
fn changes_tar(files: &[(PathBuf, String)]) -> Result<(Vec<u8>, usize, Vec<String>), Error> {
    let by_target: BTreeMap<&str, &Path> = files
        .iter()
        .map(|(host, target)| (target.as_str(), host.as_path()))
        .collect();
    let mut builder = tar::Builder::new(Vec::new());
    // A symlink is copied as a link, as `COPY` would; following it could send a file
    // from outside the watched folder.
    builder.follow_symlinks(false);
    let (mut copied, mut removed) = (0, Vec::new());
    // Sorted, so a directory comes before what is below it, which it already sent.
    let mut sent_dir: Option<String> = None;
    for (target, host) in by_target {
        let name = target.trim_start_matches('/');
        if name.is_empty() {
            continue;
        }
        if sent_dir
            .as_deref()
            .is_some_and(|d| name.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
        {
            continue;
        }
        match std::fs::symlink_metadata(host) {
            Ok(meta) if meta.is_dir() => {
                copied += append_tree(&mut builder, host, Path::new(name))?;
                sent_dir = Some(name.to_string());
            }
            Ok(_) => {
                builder
                    .append_path_with_name(host, name)
                    .map_err(|e| read_err(host, e))?;
                copied += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => removed.push(format!("/{name}")),
            Err(e) => return Err(read_err(host, e)),
        }
    }
    let tar = builder
        .into_inner()
        .map_err(|e| read_err(Path::new("/"), e))?;
    Ok((tar, copied, removed))
}

/// Appends a directory and everything below it; returns the number of non-directories.
fn append_tree(
    builder: &mut tar::Builder<Vec<u8>>,
    host: &Path,
    name: &Path,
) -> Result<usize, Error> {
    builder
        .append_dir(name, host)
        .map_err(|e| read_err(host, e))?;
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(host)
        .and_then(|rd| rd.collect::<Result<_, _>>())
        .map_err(|e| read_err(host, e))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut files = 0;
    for entry in entries {
        let path = entry.path();
        let child = name.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| read_err(&path, e))?;
        if kind.is_dir() {
            files += append_tree(builder, &path, &child)?;
        } else {
            builder
                .append_path_with_name(&path, &child)
                .map_err(|e| read_err(&path, e))?;
            files += 1;
        }
    }
    Ok(files)
}

fn read_err(path: &Path, source: io::Error) -> Error {
    Error::Io {
        op: "read changed file",
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_files_are_copied_missing_ones_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(root.join("load.py"), "print(2)\n").unwrap();
        std::fs::write(root.join("pkg/a.py"), "a\n").unwrap();
        let files = vec![
            (root.join("load.py"), "/app/load.py".to_string()),
            (root.join("gone.py"), "/app/gone.py".to_string()),
            (root.join("pkg"), "/app/pkg".to_string()),
            // Inside a directory that is sent whole: not sent twice.
            (root.join("pkg/a.py"), "/app/pkg/a.py".to_string()),
            // The same target twice (two rules): sent once.
            (root.join("load.py"), "/app/load.py".to_string()),
        ];
        let (tar, copied, removed) = changes_tar(&files).unwrap();
        assert_eq!(copied, 2, "load.py and pkg/a.py");
        assert_eq!(removed, vec!["/app/gone.py"]);
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["app/load.py", "app/pkg", "app/pkg/a.py"]);
    }
}
