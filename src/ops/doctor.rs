//! `devstack doctor`'s use case: read the stack file, each built service's Dockerfile and
//! build context, run the pure checks of `crate::doctor`, and, where a daemon answers, add
//! what it knows (built images' sizes and layers, the user each container runs as).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Error;
use crate::build::Dockerignore;
use crate::doctor::checks::{self, Entry};
use crate::doctor::{Finding, stack as stack_checks};
use crate::engine::{ContainerUser, Engine, ImageReport};
use crate::stack::Stack;

/// A walk of a build context stops here: the checks need names, not every file of a
/// huge data folder the user forgot to ignore.
const MAX_ENTRIES: usize = 200_000;

/// Everything `devstack doctor` reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Built images present locally.
    pub images: Vec<ImageReport>,
    pub containers: Vec<ContainerUser>,
    /// Why the daemon part is missing, when it is.
    pub daemon_skipped: Option<String>,
}

/// The file checks: the stack file, then each Dockerfile and build context once.
/// `home` is the user's home folder (for the whole-home bind mount check).
pub fn analyse(stack: &Stack, home: Option<&Path>) -> Result<Vec<Finding>, Error> {
    let text = read(&stack.file)?;
    let mut findings = stack_checks::check_stack(stack, &text, home);
    let mut dockerfiles: BTreeSet<PathBuf> = BTreeSet::new();
    let mut contexts: BTreeSet<PathBuf> = BTreeSet::new();
    for service in stack.services.values() {
        let Some(build) = &service.build else {
            continue;
        };
        let name = Some(service.name.as_str());
        let path = build.context.join(&build.dockerfile);
        if dockerfiles.insert(path.clone()) {
            let dockerfile = read(&path)?;
            let role = stack_checks::role(stack, service);
            findings.extend(checks::check_dockerfile(
                &path,
                &dockerfile,
                &build.args,
                role,
                name,
            ));
        }
        if !contexts.insert(build.context.clone()) {
            continue;
        }
        let ignore_path = build.context.join(".dockerignore");
        let ignore_text = match fs::read_to_string(&ignore_path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Read {
                    path: ignore_path,
                    source,
                });
            }
        };
        let ignore = Dockerignore::parse(ignore_text.as_deref().unwrap_or(""));
        let entries = context_entries(&build.context, &ignore)?;
        findings.extend(checks::check_context(
            &build.context,
            ignore_text.as_deref(),
            &entries,
            name,
        ));
    }
    findings.sort_by(|a, b| {
        (a.level, &a.file, a.line, a.check).cmp(&(b.level, &b.file, b.line, b.check))
    });
    Ok(findings)
}

/// The files whose change can change [`analyse`]'s findings: the stack file, each built
/// service's Dockerfile and its context's `.dockerignore`.
pub fn watched_files(stack: &Stack) -> Vec<PathBuf> {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    files.insert(stack.file.clone());
    for build in stack.services.values().filter_map(|s| s.build.as_ref()) {
        files.insert(build.context.join(&build.dockerfile));
        files.insert(build.context.join(".dockerignore"));
    }
    // Lexically, as the watcher reports them: `ctx/./Dockerfile` is `ctx/Dockerfile`.
    files
        .into_iter()
        .map(|f| f.components().collect())
        .collect()
}

/// What the daemon knows: each built service's image (if built) and each container's user.
pub async fn inspect(
    engine: &Engine,
    stack: &Stack,
) -> Result<(Vec<ImageReport>, Vec<ContainerUser>), Error> {
    let mut images = Vec::new();
    let mut seen = BTreeSet::new();
    for service in stack.services.values().filter(|s| s.build.is_some()) {
        if seen.insert(service.image.clone())
            && let Some(report) = engine.image_report(&service.image).await?
        {
            images.push(report);
        }
    }
    let containers = engine.container_users(&stack.project).await?;
    Ok((images, containers))
}

/// The three biggest layers of an image, biggest first.
pub fn biggest_layers(image: &ImageReport) -> Vec<&crate::engine::Layer> {
    let mut layers: Vec<_> = image.layers.iter().collect();
    layers.sort_by_key(|l| std::cmp::Reverse(l.size));
    layers.truncate(3);
    layers
}

fn read(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The paths of a build context, relative and `/`-separated. An ignored folder is listed
/// but not walked (unless `.dockerignore` has exceptions, which could re-include inside
/// it); nor are `.git` and virtualenvs, whose insides no check needs. Symlinks are not
/// followed, as the build does not follow them.
fn context_entries(context: &Path, ignore: &Dockerignore) -> Result<Vec<Entry>, Error> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel_dir) = dirs.pop() {
        let dir = context.join(&rel_dir);
        let listing = fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in listing {
            let entry = entry.map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
            let rel = rel_dir.join(entry.file_name());
            let path = rel.to_string_lossy().replace('\\', "/");
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let venv = is_dir && entry.path().join("pyvenv.cfg").is_file();
            let walk = is_dir
                && !venv
                && path != ".git"
                && (ignore.has_exceptions() || !ignore.is_excluded(&path));
            out.push(Entry { path, is_dir, venv });
            if out.len() >= MAX_ENTRIES {
                return Ok(out);
            }
            if walk {
                dirs.push(rel);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::doctor::Check;
    use crate::stack::LoadOptions;

    fn load(dir: &Path) -> Stack {
        crate::stack::load(&LoadOptions {
            file: None,
            cwd: dir.to_path_buf(),
            ..LoadOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn the_init_templates_pass_with_no_finding() {
        for name in crate::init::bundled_stacks() {
            let dir = tempfile::tempdir().unwrap();
            crate::init::init(dir.path(), &name, &[]).unwrap();
            let stack = load(dir.path());
            let findings = analyse(&stack, Some(dir.path())).unwrap();
            assert!(findings.is_empty(), "stack '{name}': {findings:#?}");
        }
    }

    #[test]
    fn the_bad_fixture_fires_every_check() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/doctor/bad");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let app = root.join("app");
        let home = root.join("home");
        for d in [
            &app,
            &home,
            &app.join(".git"),
            &app.join("data"),
            &app.join(".venv"),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(app.join(".venv/pyvenv.cfg"), "home = /usr\n").unwrap();
        fs::write(app.join(".env"), "PASSWORD=hunter2\n").unwrap();
        fs::write(app.join("deploy-key.pem"), "-----BEGIN-----\n").unwrap();
        for f in ["Dockerfile", "Dockerfile.migrate"] {
            fs::copy(fixture.join(f), app.join(f)).unwrap();
        }
        let stack_text = fs::read_to_string(fixture.join("compose.yaml"))
            .unwrap()
            .replace("HOME_DIR", &home.display().to_string());
        fs::write(root.join("compose.yaml"), stack_text).unwrap();
        let stack = load(root);

        let findings = analyse(&stack, Some(&home)).unwrap();
        let fired: BTreeSet<Check> = findings.iter().map(|f| f.check).collect();
        let all: BTreeSet<Check> = Check::ALL.into_iter().collect();
        let missing: Vec<_> = all.difference(&fired).map(|c| c.id()).collect();
        assert!(
            missing.is_empty(),
            "did not fire: {missing:?}\n{findings:#?}"
        );
        // The one-shot half of the health-check rule: `migrate` is waited for to complete.
        assert!(
            findings
                .iter()
                .any(|f| f.check == Check::Healthcheck && f.service.as_deref() == Some("migrate")),
            "{findings:#?}"
        );
        let secret = findings
            .iter()
            .find(|f| f.check == Check::SecretInContext)
            .unwrap();
        assert!(secret.file.ends_with(".env") || secret.file.ends_with("deploy-key.pem"));
        assert!(crate::doctor::has_error(&findings));
    }

    #[test]
    fn the_watched_files_are_the_stack_file_dockerfiles_and_dockerignores() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("app")).unwrap();
        fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  job:\n    build:\n      context: ./app\n      dockerfile: ./Dockerfile.job\n",
        )
        .unwrap();
        let stack = load(dir.path());
        let app = stack
            .services
            .values()
            .next()
            .unwrap()
            .build
            .as_ref()
            .unwrap()
            .context
            .clone();
        assert_eq!(
            watched_files(&stack),
            [
                app.join(".dockerignore"),
                app.join("Dockerfile.job"),
                stack.file.clone()
            ]
        );
    }

    #[test]
    fn a_walk_does_not_enter_ignored_folders() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("data/deep")).unwrap();
        fs::write(dir.path().join("data/deep/x.csv"), "1\n").unwrap();
        fs::write(dir.path().join("main.py"), "\n").unwrap();
        let entries = context_entries(dir.path(), &Dockerignore::parse("data\n")).unwrap();
        let paths: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["data", "main.py"].into());
    }
}
