//! Volume snapshots: `save` copies named volumes out through the Engine API into zstd
//! files under the user's data folder with a manifest; `restore` puts one back into a new
//! volume first and only then swaps it in, so a damaged or interrupted restore leaves
//! the volume as it was. Data is streamed in chunks, never held whole.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::Error;
use super::bring_up::converge_with;
use super::reset::plan_reset;
use crate::engine::Engine;
use crate::model::{ContainerState, EngineEvent, NoticeLevel, ServiceName};
use crate::plan::PlanOptions;
use crate::stack::{Stack, Volume, is_postgres_image};

/// Read and write chunk size for the snapshot file.
const CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub project: String,
    /// RFC 3339.
    pub created: String,
    /// sha256 of the stack file when the snapshot was taken.
    pub config_hash: String,
    pub volumes: Vec<VolumeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeEntry {
    /// Key in the stack file's `volumes:`.
    pub key: String,
    /// Docker name.
    pub volume: String,
    /// File name beside the manifest.
    pub file: String,
    /// Bytes of the (uncompressed) tar.
    pub size: u64,
    /// sha256 of the compressed file.
    pub sha256: String,
    /// Service → image, of the services that mounted it.
    pub images: BTreeMap<String, String>,
}

/// `$XDG_DATA_HOME/devstack/snapshots/<project>`, else under `~/.local/share`.
pub fn project_dir(project: &str, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let base = env("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env("HOME").unwrap_or_else(|| ".".into())).join(".local/share")
        });
    base.join("devstack").join("snapshots").join(project)
}

/// The snapshots of a project, oldest first.
pub fn list(dir: &Path) -> Result<Vec<Manifest>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(read_error(dir, source)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| read_error(dir, e))?;
        let path = entry.path().join("manifest.json");
        if path.is_file() {
            out.push(read_manifest(&path)?);
        }
    }
    out.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    Ok(out)
}

/// Removes snapshot `name` (its folder under `dir`).
pub fn remove(dir: &Path, name: &str) -> Result<(), Error> {
    let path = snapshot_dir(dir, name)?;
    if !path.join("manifest.json").is_file() {
        return Err(unknown(dir, name));
    }
    fs::remove_dir_all(&path).map_err(|e| read_error(&path, e))
}

fn snapshot_dir(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if !ok {
        return Err(Error::Usage(format!(
            "snapshot name '{name}': use letters, digits, '-', '_' and '.' (not first)"
        )));
    }
    Ok(dir.join(name))
}

fn unknown(dir: &Path, name: &str) -> Error {
    let known: Vec<String> = list(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.name)
        .collect();
    Error::Usage(format!(
        "no snapshot '{name}'; snapshots: {} (see 'devstack snapshot list')",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

fn read_error(path: &Path, source: std::io::Error) -> Error {
    Error::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn read_manifest(path: &Path) -> Result<Manifest, Error> {
    let text = fs::read_to_string(path).map_err(|e| read_error(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "snapshot manifest '{}' is damaged: {e}",
            path.display()
        ))
    })
}

fn notice(events: &mpsc::Sender<EngineEvent>, level: NoticeLevel, message: String) {
    let _ = events.try_send(EngineEvent::Notice { level, message });
}

/// Services in dependency order (what others depend on first).
fn dependency_order(stack: &Stack) -> Vec<ServiceName> {
    fn visit(
        stack: &Stack,
        s: &ServiceName,
        out: &mut Vec<ServiceName>,
        seen: &mut Vec<ServiceName>,
    ) {
        if seen.contains(s) {
            return;
        }
        seen.push(s.clone());
        if let Some(svc) = stack.services.get(s) {
            for dep in svc.depends_on.keys() {
                visit(stack, dep, out, seen);
            }
        }
        out.push(s.clone());
    }
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for s in stack.services.keys() {
        visit(stack, s, &mut out, &mut seen);
    }
    out
}

/// `devstack snapshot save`: copies `volumes` (keys or Docker names; all when empty) into
/// snapshot `name` under `dir`. Unless `live`, the services mounting them are stopped
/// (dependents first) for the copy and started again after, also when it fails.
pub async fn save(
    engine: &Engine,
    stack: &Stack,
    dir: &Path,
    volumes: &[String],
    name: &str,
    live: bool,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<Manifest, Error> {
    let target = snapshot_dir(dir, name)?;
    if target.exists() {
        return Err(Error::Usage(format!(
            "snapshot '{name}' exists; pick another --name or remove it with 'devstack snapshot rm {name}'"
        )));
    }
    let plan = plan_reset(stack, volumes, &[])?;
    if plan.volumes.is_empty() {
        return Err(Error::Usage(
            "the stack has no named volume to snapshot".into(),
        ));
    }
    let users: Vec<ServiceName> = plan
        .volumes
        .iter()
        .flat_map(|(_, _, u)| u.iter().cloned())
        .collect();
    let mut stopped = Vec::new();
    if !live {
        let running: Vec<ServiceName> = engine
            .list_project_containers(&stack.project)
            .await?
            .into_iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.service)
            .collect();
        for s in dependency_order(stack).into_iter().rev() {
            if users.contains(&s) && running.contains(&s) {
                notice(
                    events,
                    NoticeLevel::Info,
                    format!("stopping {s} for a consistent copy"),
                );
                engine.stop(stack, &s).await?;
                stopped.push(s);
            }
        }
    }
    let partial = target.with_extension("partial");
    let result = copy_out(engine, stack, &plan.volumes, &partial, events).await;
    for s in stopped.iter().rev() {
        notice(events, NoticeLevel::Info, format!("starting {s}"));
        if let Err(e) = engine.start(stack, s).await {
            notice(
                events,
                NoticeLevel::Warning,
                format!("starting {s} again: {e}"),
            );
        }
    }
    let entries = match result {
        Ok(e) => e,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let stack_text = fs::read(&stack.file).map_err(|e| read_error(&stack.file, e))?;
    let manifest = Manifest {
        name: name.to_string(),
        project: stack.project.to_string(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        config_hash: hex(&Sha256::digest(&stack_text)),
        volumes: entries,
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(std::io::Error::other)?;
    fs::write(partial.join("manifest.json"), json)?;
    fs::rename(&partial, &target)?;
    Ok(manifest)
}

async fn copy_out(
    engine: &Engine,
    stack: &Stack,
    volumes: &[(String, String, Vec<ServiceName>)],
    dir: &Path,
    events: &mpsc::Sender<EngineEvent>,
) -> Result<Vec<VolumeEntry>, Error> {
    fs::create_dir_all(dir)?;
    let mut entries = Vec::new();
    for (key, name, users) in volumes {
        let images: BTreeMap<String, String> = users
            .iter()
            .filter_map(|u| stack.services.get(u))
            .map(|s| (s.name.to_string(), s.image.clone()))
            .collect();
        let image = helper_image(stack, users)?;
        // A helper mounting a missing volume would make the daemon create it, unlabelled.
        if !engine.volume_exists(name).await? {
            return Err(Error::Usage(format!(
                "volume '{name}' does not exist yet; 'devstack up' creates it"
            )));
        }
        let file = format!("{key}.tar.zst");
        let helper = engine
            .create_copy_helper(&stack.project, &image, name)
            .await?;
        let copied = write_compressed(engine.download_volume(&helper), &dir.join(&file), |bytes| {
            notice(
                events,
                NoticeLevel::Info,
                format!("saving volume {name}: {} MB so far", bytes / 1_000_000),
            )
        })
        .await;
        engine.remove_copy_helper(&helper).await?;
        let (size, sha256) = copied?;
        notice(
            events,
            NoticeLevel::Info,
            format!("saved volume {name}: {} MB", size / 1_000_000),
        );
        entries.push(VolumeEntry {
            key: key.clone(),
            volume: name.clone(),
            file,
            size,
            sha256,
            images,
        });
    }
    Ok(entries)
}

/// An image already present to create helpers from: the first user's own image.
fn helper_image(stack: &Stack, users: &[ServiceName]) -> Result<String, Error> {
    users
        .iter()
        .filter_map(|u| stack.services.get(u))
        .map(|s| s.image.clone())
        .next()
        .ok_or_else(|| {
            Error::Usage(
                "no service mounts this volume, so there is no local image to copy it with; run 'devstack up' once".into(),
            )
        })
}

/// Streams `tar` through zstd into `path`; returns (tar bytes, sha256 of the file).
async fn write_compressed(
    tar: impl Stream<Item = Result<Bytes, crate::engine::Error>>,
    path: &Path,
    progress: impl Fn(u64),
) -> Result<(u64, String), Error> {
    // A line every so many bytes, so a large volume shows it is moving.
    const EVERY: u64 = 256 * 1024 * 1024;
    let file = File::create(path).map_err(|e| read_error(path, e))?;
    let mut encoder = zstd::Encoder::new(HashWriter::new(file), 3)?;
    // The frame's checksum makes damage anywhere in the file fail the restore's unpacking.
    encoder.include_checksum(true)?;
    let mut size = 0u64;
    let mut tar = std::pin::pin!(tar);
    while let Some(chunk) = tar.next().await {
        let chunk = chunk?;
        let before = size;
        size += chunk.len() as u64;
        if size / EVERY > before / EVERY {
            progress(size);
        }
        encoder.write_all(&chunk)?;
    }
    let mut inner = encoder.finish()?;
    inner.file.flush()?;
    inner.file.sync_all()?;
    Ok((size, hex(&inner.hash.finalize())))
}

struct HashWriter {
    file: File,
    hash: Sha256,
}

impl HashWriter {
    fn new(file: File) -> Self {
        Self {
            file,
            hash: Sha256::new(),
        }
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn file_sha256(path: &Path) -> Result<String, Error> {
    let mut file = BufReader::new(File::open(path).map_err(|e| read_error(path, e))?);
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| read_error(path, e))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex(&hash.finalize()))
}

/// The major version in a Postgres image's tag (`postgres:17.2-alpine` → 17).
fn postgres_major(image: &str) -> Option<u32> {
    if !is_postgres_image(image) {
        return None;
    }
    let tag = image
        .split('@')
        .next()?
        .rsplit('/')
        .next()?
        .split_once(':')?
        .1;
    tag.split(['.', '-']).next()?.parse().ok()
}

/// Warnings for a restore: a Postgres major version that differs between the snapshot
/// and the stack (its data files cannot be read across majors).
pub fn version_warnings(stack: &Stack, entry: &VolumeEntry) -> Vec<String> {
    let mut out = Vec::new();
    for (service, then) in &entry.images {
        let Some(now) = stack.services.get(&ServiceName::new(service.as_str())) else {
            continue;
        };
        if let (Some(a), Some(b)) = (postgres_major(then), postgres_major(&now.image))
            && a != b
        {
            out.push(format!(
                "volume '{}' was saved by '{then}' (PostgreSQL {a}) and '{service}' now runs '{}' (PostgreSQL {b}): the server will not start on data of another major version",
                entry.key, now.image
            ));
        }
    }
    out
}

/// `devstack snapshot restore`: checks every file, restores each volume into a new
/// volume, and only when that worked swaps it in (the services using it are removed and
/// brought back as `up --detach` does).
pub async fn restore(
    engine: &Engine,
    stack: &Stack,
    dir: &Path,
    name: &str,
    volumes: &[String],
    timeout: Duration,
    events: mpsc::Sender<EngineEvent>,
) -> Result<Vec<String>, Error> {
    let folder = snapshot_dir(dir, name)?;
    let manifest_path = folder.join("manifest.json");
    if !manifest_path.is_file() {
        return Err(unknown(dir, name));
    }
    let manifest = read_manifest(&manifest_path)?;
    let entries: Vec<&VolumeEntry> = manifest
        .volumes
        .iter()
        .filter(|e| volumes.is_empty() || volumes.contains(&e.key) || volumes.contains(&e.volume))
        .collect();
    if entries.is_empty() {
        return Err(Error::Usage(format!(
            "snapshot '{name}' holds no volume {}; it holds: {}",
            volumes.join(", "),
            manifest
                .volumes
                .iter()
                .map(|e| e.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut warnings = Vec::new();
    for entry in &entries {
        let Some(volume) = stack.volumes.get(&entry.key) else {
            return Err(Error::Usage(format!(
                "volume '{}' of snapshot '{name}' is not in the stack file",
                entry.key
            )));
        };
        if volume.external {
            return Err(Error::Usage(format!(
                "volume '{}' is external: devstack does not replace volumes it does not manage",
                entry.key
            )));
        }
        let path = folder.join(&entry.file);
        let sha = file_sha256(&path)?;
        if sha != entry.sha256 {
            return Err(Error::Usage(format!(
                "snapshot file '{}' is damaged (sha256 {sha}, the manifest says {}); nothing was changed",
                path.display(),
                entry.sha256
            )));
        }
        warnings.extend(version_warnings(stack, entry));
    }
    for w in &warnings {
        notice(&events, NoticeLevel::Warning, w.clone());
    }
    let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
    let plan = plan_reset(stack, &keys, &[])?;
    // Stage every volume first: a failure here changes nothing the user has.
    let mut staged: Vec<(&VolumeEntry, Volume, String)> = Vec::new();
    for entry in &entries {
        let users = plan
            .volumes
            .iter()
            .find(|(k, _, _)| *k == entry.key)
            .map(|(_, _, u)| u.clone())
            .unwrap_or_default();
        let image = helper_image(stack, &users)?;
        let staging = Volume {
            key: format!("{}-restore", entry.key),
            name: format!("{}-restore", stack.volumes[&entry.key].name),
            external: false,
            labels: BTreeMap::new(),
        };
        if engine.volume_exists(&staging.name).await? {
            engine
                .remove_project_volume(&stack.project, &staging.name)
                .await?;
        }
        engine.create_project_volume(stack, &staging).await?;
        let result = stage(
            engine,
            stack,
            &image,
            &staging.name,
            &folder.join(&entry.file),
        )
        .await;
        if let Err(e) = result {
            engine
                .remove_project_volume(&stack.project, &staging.name)
                .await?;
            for (_, s, _) in &staged {
                engine
                    .remove_project_volume(&stack.project, &s.name)
                    .await?;
            }
            return Err(e);
        }
        staged.push((entry, staging, image));
    }
    // Swap: free the volumes, recreate them empty, copy the staged data in.
    engine
        .remove_services(&stack.project, &plan.services)
        .await?;
    for (entry, staging, image) in &staged {
        let volume = &stack.volumes[&entry.key];
        engine
            .remove_project_volume(&stack.project, &volume.name)
            .await?;
        engine.create_project_volume(stack, volume).await?;
        let from = engine
            .create_copy_helper(&stack.project, image, &staging.name)
            .await?;
        let to = engine
            .create_copy_helper(&stack.project, image, &volume.name)
            .await?;
        let tar = engine
            .download_volume(&from)
            .map(|r| r.map_err(std::io::Error::other));
        let copied = engine.upload_volume(&to, tar).await;
        engine.remove_copy_helper(&from).await?;
        engine.remove_copy_helper(&to).await?;
        if let Err(e) = copied {
            return Err(Error::Usage(format!(
                "restoring '{}' failed while copying from '{}', which holds the restored data and is kept: {e}",
                volume.name, staging.name
            )));
        }
        engine
            .remove_project_volume(&stack.project, &staging.name)
            .await?;
        notice(
            &events,
            NoticeLevel::Info,
            format!("restored volume {}", volume.name),
        );
    }
    converge_with(engine, stack, PlanOptions::default(), timeout, events).await?;
    Ok(warnings)
}

/// Unpacks snapshot file `path` into volume `volume` through a helper.
async fn stage(
    engine: &Engine,
    stack: &Stack,
    image: &str,
    volume: &str,
    path: &Path,
) -> Result<(), Error> {
    let file = File::open(path).map_err(|e| read_error(path, e))?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    // zstd's decoder is blocking I/O: it runs on its own thread, handing chunks over.
    let reader = tokio::task::spawn_blocking(move || {
        let mut decoder = match zstd::Decoder::new(file) {
            Ok(d) => d,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; CHUNK];
            match decoder.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let tar = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let helper = engine
        .create_copy_helper(&stack.project, image, volume)
        .await?;
    let result = engine.upload_volume(&helper, tar).await;
    engine.remove_copy_helper(&helper).await?;
    let _ = reader.await;
    result.map_err(|e| {
        Error::Usage(format!(
            "restoring from '{}' failed; the volume was not touched: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn postgres_majors() {
        assert_eq!(postgres_major("postgres:17.2-alpine"), Some(17));
        assert_eq!(postgres_major("docker.io/library/postgres:18.1"), Some(18));
        assert_eq!(postgres_major("postgres"), None);
        assert_eq!(postgres_major("python:3.12"), None);
    }

    /// Issue 13 item 2: users stop dependents first, so the order here (what others
    /// depend on first) is walked backwards by `save`.
    #[test]
    fn dependency_order_puts_what_others_depend_on_first() {
        let yaml = "services:\n  report:\n    image: x\n    depends_on: [app]\n  app:\n    image: x\n    depends_on: [db, cache]\n  cache:\n    image: x\n  db:\n    image: x\n";
        let opts = crate::stack::LoadOptions {
            project_name: Some("order".into()),
            ..crate::stack::LoadOptions::default()
        };
        let stack =
            crate::stack::load_str(yaml, std::path::Path::new("/p/compose.yaml"), &opts).unwrap();
        let order: Vec<String> = dependency_order(&stack)
            .iter()
            .map(|s| s.to_string())
            .collect();
        let at = |n: &str| order.iter().position(|s| s == n).unwrap();
        assert!(at("db") < at("app") && at("cache") < at("app"), "{order:?}");
        assert!(at("app") < at("report"), "{order:?}");
        assert_eq!(order.len(), 4);
    }
}
