//! Build contexts: the tar the daemon builds from, honouring `.dockerignore`.
//!
//! Reads the user's files and never writes or removes any. The engine sends the result
//! to the daemon; nothing here knows about bollard.

pub mod dockerignore;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use dockerignore::Dockerignore;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("build context '{}' does not exist or is not a directory", .0.display())]
    NoContext(PathBuf),
    #[error("Dockerfile '{}' not found in build context '{}'", .dockerfile, .context.display())]
    NoDockerfile {
        context: PathBuf,
        dockerfile: String,
    },
    #[error("reading '{}' for the build context: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The `.dockerignore` of a context (empty when there is none).
pub fn read_dockerignore(context: &Path) -> Result<Dockerignore, Error> {
    let path = context.join(".dockerignore");
    match crate::capped::read_capped(&path, crate::capped::MAX_TEXT_FILE) {
        Ok(text) => Ok(Dockerignore::parse(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Dockerignore::default()),
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// A tar of `context` without what `.dockerignore` excludes. The Dockerfile and the
/// `.dockerignore` itself are always sent, as Docker does, since the daemon needs them.
pub fn context_tar(context: &Path, dockerfile: &str) -> Result<Vec<u8>, Error> {
    check_context(context, dockerfile)?;
    write_context_tar(context, dockerfile, Vec::new())
}

/// The errors a build can be refused for before anything is sent: no context directory,
/// no Dockerfile in it.
pub fn check_context(context: &Path, dockerfile: &str) -> Result<(), Error> {
    if !context.is_dir() {
        return Err(Error::NoContext(context.to_path_buf()));
    }
    if !context.join(dockerfile).is_file() {
        return Err(Error::NoDockerfile {
            context: context.to_path_buf(),
            dockerfile: dockerfile.to_string(),
        });
    }
    Ok(())
}

/// As [`context_tar`], written into `out` as the files are read, so a caller can send
/// the context while it is being made (a context beside a data folder can be gigabytes;
/// held whole, a 300 MB context took 630 MB of memory). Returns `out` once the archive
/// is complete.
pub fn write_context_tar<W: io::Write>(
    context: &Path,
    dockerfile: &str,
    out: W,
) -> Result<W, Error> {
    check_context(context, dockerfile)?;
    let ignore = read_dockerignore(context)?;
    let always: [&str; 2] = [dockerfile.trim_start_matches("./"), ".dockerignore"];
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    // The daemon's tar reader refuses GNU sparse entries ("unhandled tar header type
    // 83"): a sparse file in a context (a database file, a disk image) broke the build.
    builder.sparse(false);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let dir = context.join(&rel_dir);
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(&dir)
            .map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?
            .collect::<Result<_, _>>()
            .map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
        // Sorted so that an unchanged context gives a byte-identical tar (and build cache hits).
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let rel = rel_dir.join(entry.file_name());
            let rel_str = rel.to_string_lossy().replace('\\', "/");
            let path = entry.path();
            let file_type = entry.file_type().map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let excluded = ignore.is_excluded(&rel_str) && !always.contains(&rel_str.as_str());
            if file_type.is_dir() {
                // Without exceptions nothing below an excluded directory can come back.
                if excluded && !ignore.has_exceptions() {
                    continue;
                }
                if !excluded {
                    builder
                        .append_dir(&rel, &path)
                        .map_err(|source| Error::Read {
                            path: path.clone(),
                            source,
                        })?;
                }
                stack.push(rel);
            } else if !excluded {
                builder
                    .append_path_with_name(&path, &rel)
                    .map_err(|source| Error::Read {
                        path: path.clone(),
                        source,
                    })?;
            }
        }
    }
    builder.into_inner().map_err(|source| Error::Read {
        path: context.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn context_honours_dockerignore_and_always_sends_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("src/__pycache__")).unwrap();
        fs::create_dir_all(root.join("data")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::write(root.join("src/load.py"), "print(1)\n").unwrap();
        fs::write(root.join("src/__pycache__/load.pyc"), "x").unwrap();
        fs::write(root.join("data/big.csv"), "a,b\n").unwrap();
        fs::write(root.join("data/keep.csv"), "a,b\n").unwrap();
        fs::write(root.join(".git/HEAD"), "ref").unwrap();
        fs::write(root.join(".env"), "SECRET=1").unwrap();
        fs::write(
            root.join(".dockerignore"),
            ".git\n**/__pycache__\n.env\ndata\n!data/keep.csv\nDockerfile\n.dockerignore\n",
        )
        .unwrap();

        let tar = context_tar(root, "Dockerfile").unwrap();
        assert_eq!(
            names(&tar),
            vec![
                ".dockerignore",
                "Dockerfile",
                "data/keep.csv",
                "src",
                "src/load.py"
            ]
        );
        // Same input, same bytes: the daemon's cache sees an unchanged context.
        assert_eq!(tar, context_tar(root, "Dockerfile").unwrap());
    }

    #[test]
    fn missing_context_or_dockerfile_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = context_tar(&dir.path().join("nope"), "Dockerfile").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let err = context_tar(dir.path(), "Dockerfile.dev").unwrap_err();
        assert!(
            err.to_string().contains("'Dockerfile.dev' not found"),
            "{err}"
        );
    }
}
