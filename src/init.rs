//! Bundled stacks and project templates: `devstack init`, and the copy of the default
//! stack that `devstack up` runs when there is no stack file.
//!
//! Writes files only where none exist (`init --force FILE` overwrites the files it
//! names, and only those), never removes one.
//! Generated secrets go into `.env` (mode 0600) and nowhere else, not even a log line.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Every file embedded in the binary: (path in the repository, contents).
pub fn embedded_files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// The stack `devstack up` runs when there is no stack file and no `--stack`.
pub const DEFAULT_STACK: &str = "airflow";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no bundled stack '{name}'; bundled stacks: {}", .known.join(", "))]
    UnknownStack { name: String, known: Vec<String> },
    #[error(
        "'{}' is not a file 'devstack init' writes, so '--force' cannot name it; it writes: {}",
        .file.display(),
        .known.iter().map(|p| format!("'{}'", p.display())).collect::<Vec<_>>().join(", ")
    )]
    NotATemplateFile { file: PathBuf, known: Vec<PathBuf> },
    #[error("writing '{}': {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading random bytes from /dev/urandom for the generated secrets: {0}")]
    Random(#[source] io::Error),
}

/// Names of the bundled stacks (`stacks/<name>.yaml`).
pub fn bundled_stacks() -> Vec<String> {
    embedded_files()
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("stacks/")?.strip_suffix(".yaml"))
        .map(str::to_string)
        .collect()
}

/// A file of a project as `init` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// Relative to the project directory.
    pub path: PathBuf,
    pub contents: Vec<u8>,
    pub mode: u32,
}

/// Which template files a bundled stack needs besides its stack file.
fn wanted(stack: &str, asset: &str) -> bool {
    match stack {
        // The small stack needs only its credentials and the ignore file.
        "postgres" => matches!(asset, ".env.example" | ".gitignore"),
        _ => true,
    }
}

/// The files of a new project for `stack`, with `.env` made from `.env.example` with
/// fresh secrets. `random` fills a buffer with random bytes.
pub fn project_files(
    stack: &str,
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), Error>,
) -> Result<Vec<ProjectFile>, Error> {
    let stack_path = format!("stacks/{stack}.yaml");
    let Some((_, stack_file)) = embedded_files().iter().find(|(p, _)| *p == stack_path) else {
        return Err(Error::UnknownStack {
            name: stack.to_string(),
            known: bundled_stacks(),
        });
    };
    let mut files = vec![ProjectFile {
        path: PathBuf::from("devstack.yaml"),
        contents: stack_file.to_vec(),
        mode: 0o644,
    }];
    for (path, contents) in embedded_files() {
        let Some(asset) = path.strip_prefix("assets/") else {
            continue;
        };
        if !wanted(stack, asset) {
            continue;
        }
        let executable = asset.ends_with(".sh");
        files.push(ProjectFile {
            path: PathBuf::from(asset),
            contents: contents.to_vec(),
            mode: if executable { 0o755 } else { 0o644 },
        });
        if asset == ".env.example" {
            let text = String::from_utf8_lossy(contents);
            files.push(ProjectFile {
                path: PathBuf::from(".env"),
                contents: fill_secrets(&text, random)?.into_bytes(),
                mode: 0o600,
            });
        }
    }
    Ok(files)
}

/// Replaces each value that is exactly `__GENERATE_PASSWORD__`, `__GENERATE_SECRET__`
/// or `__GENERATE_FERNET_KEY__` with a fresh one (a new value per line). Only `KEY=TOKEN`
/// lines count: the comments that explain the tokens stay as they are.
pub fn fill_secrets(
    template: &str,
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), Error>,
) -> Result<String, Error> {
    let mut out = String::with_capacity(template.len() + 256);
    for line in template.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let kind = body
            .split_once('=')
            .filter(|(key, _)| !key.trim_start().starts_with('#'))
            .and_then(|(_, value)| match value.trim() {
                "__GENERATE_PASSWORD__" => Some(Secret::Password),
                "__GENERATE_SECRET__" => Some(Secret::Token),
                "__GENERATE_FERNET_KEY__" => Some(Secret::FernetKey),
                _ => None,
            });
        match (kind, body.split_once('=')) {
            (Some(kind), Some((key, _))) => {
                out.push_str(key);
                out.push('=');
                out.push_str(&generate(kind, random)?);
                out.push_str(&line[body.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum Secret {
    /// Letters and digits only, so it needs no quoting in a URL, a shell or `.env`.
    Password,
    Token,
    /// Fernet wants URL-safe base64 of exactly 32 bytes.
    FernetKey,
}

fn generate(
    kind: Secret,
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), Error>,
) -> Result<String, Error> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let alnum = |len: usize, random: &mut dyn FnMut(&mut [u8]) -> Result<(), Error>| {
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            random(&mut buf)?;
            // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
            for b in buf.iter().filter(|b| **b < 248) {
                if out.len() == len {
                    break;
                }
                out.push(ALNUM[usize::from(*b) % ALNUM.len()] as char);
            }
        }
        Ok::<_, Error>(out)
    };
    match kind {
        Secret::Password => alnum(24, random),
        Secret::Token => alnum(48, random),
        Secret::FernetKey => {
            let mut key = [0u8; 32];
            random(&mut key)?;
            Ok(base64_url(&key))
        }
    }
}

fn base64_url(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Random bytes from the kernel.
pub fn os_random(buf: &mut [u8]) -> Result<(), Error> {
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(Error::Random)
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub dir: PathBuf,
    /// Written (created, or overwritten because named with `--force`).
    pub files: Vec<PathBuf>,
    /// Existing files left as they were.
    pub kept: Vec<PathBuf>,
    /// The directory already held a project (a stack file): only what it lacks was
    /// considered, `.env` above all.
    pub existing_project: bool,
}

/// `devstack init DIR --stack NAME`: writes what is missing and never overwrites a file,
/// except those named in `force` (paths relative to `dir`). In a directory that
/// already holds a stack file (a cloned project) that is only `.env`, made with fresh
/// secrets from the project's own `.env.example`; in a new one, every template file.
pub fn init(dir: &Path, stack: &str, force: &[PathBuf]) -> Result<Written, Error> {
    let template = project_files(stack, &mut os_random)?;
    let existing_project = crate::stack::find_file(dir).is_ok();
    let forced = |p: &Path| force.iter().any(|f| normal(f) == normal(p));
    for f in force {
        if !template.iter().any(|t| normal(&t.path) == normal(f)) {
            return Err(Error::NotATemplateFile {
                file: f.clone(),
                known: template.iter().map(|t| t.path.clone()).collect(),
            });
        }
    }
    let mut files: Vec<ProjectFile> = template
        .into_iter()
        .filter(|f| !existing_project || f.path == Path::new(".env") || forced(&f.path))
        .collect();
    // `.env` lists exactly what the `.env.example` on disk lists (the project's own,
    // when it has one), with fresh secrets.
    let example = dir.join(".env.example");
    let writes_example = files
        .iter()
        .any(|f| f.path == Path::new(".env.example") && (forced(&f.path) || !example.exists()));
    if example.is_file() && !writes_example {
        let text = fs::read_to_string(&example).map_err(|source| Error::Write {
            path: example.clone(),
            source,
        })?;
        let env = fill_secrets(&text, &mut os_random)?;
        if let Some(f) = files.iter_mut().find(|f| f.path == Path::new(".env")) {
            f.contents = env.into_bytes();
        }
    } else if existing_project && !writes_example {
        // A project without `.env.example`: nothing says which variables `.env` needs.
        files.retain(|f| f.path != Path::new(".env"));
    }
    let mut written = Written {
        dir: dir.to_path_buf(),
        files: Vec::new(),
        kept: Vec::new(),
        existing_project,
    };
    for file in &files {
        if write_file(dir, file, forced(&file.path))? {
            written.files.push(file.path.clone());
        } else {
            written.kept.push(file.path.clone());
        }
    }
    Ok(written)
}

/// `./a/b` and `a/b` name the same file.
fn normal(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// Writes the bundled `stack` into `dir` (the user's data directory), adding only the
/// files that are missing so a user's edits survive; returns the stack file's path.
pub fn materialize(dir: &Path, stack: &str) -> Result<(PathBuf, Vec<PathBuf>), Error> {
    let files = project_files(stack, &mut os_random)?;
    let mut added = Vec::new();
    for file in &files {
        if write_file(dir, file, false)? {
            added.push(file.path.clone());
        }
    }
    Ok((dir.join("devstack.yaml"), added))
}

/// `$XDG_DATA_HOME/devstack/<stack>`, else `~/.local/share/devstack/<stack>`.
pub fn data_dir(stack: &str, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let base = env("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from(".devstack"));
    base.join("devstack").join(stack)
}

/// Returns whether the file was written.
fn write_file(dir: &Path, file: &ProjectFile, overwrite: bool) -> Result<bool, Error> {
    let path = dir.join(&file.path);
    let err = |source| Error::Write {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(err)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).mode(file.mode);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        // create_new: the check and the creation are one step, so a file that appears
        // in between is still never overwritten.
        options.create_new(true);
    }
    match options.open(&path) {
        Ok(mut f) => {
            io::Write::write_all(&mut f, &file.contents).map_err(err)?;
            // `mode` only applies to new files; an overwritten one gets it here.
            fs::set_permissions(&path, fs::Permissions::from_mode(file.mode)).map_err(err)?;
            Ok(true)
        }
        Err(e) if !overwrite && e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut(&mut [u8]) -> Result<(), Error> {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                *b = n;
                n = n.wrapping_add(1);
            }
            Ok(())
        }
    }

    #[test]
    fn base64_matches_the_standard_vectors() {
        assert_eq!(base64_url(b""), "");
        assert_eq!(base64_url(b"f"), "Zg==");
        assert_eq!(base64_url(b"fo"), "Zm8=");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8=");
    }

    #[test]
    fn placeholders_become_distinct_secrets_of_the_right_shape() {
        let text = "# __GENERATE_PASSWORD__ explained\nA=__GENERATE_PASSWORD__\nB=__GENERATE_PASSWORD__\nK=__GENERATE_FERNET_KEY__\nS=__GENERATE_SECRET__\nplain=x\n";
        let filled = fill_secrets(text, &mut counter()).unwrap();
        assert!(filled.starts_with("# __GENERATE_PASSWORD__ explained\n"));
        let values: Vec<&str> = filled
            .lines()
            .skip(1)
            .map(|l| l.split_once('=').unwrap().1)
            .collect();
        assert_eq!(values[0].len(), 24);
        assert!(values[0].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(values[0], values[1]);
        assert_eq!(values[2].len(), 44, "32 bytes in base64");
        assert!(values[2].ends_with('='));
        assert_eq!(values[3].len(), 48);
        assert_eq!(values[4], "x");
        assert_eq!(
            filled.matches("__GENERATE").count(),
            1,
            "only the comment keeps it"
        );
    }

    #[test]
    fn unknown_stack_lists_the_bundled_ones() {
        let err = project_files("nope", &mut counter()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'nope'") && msg.contains("postgres"), "{msg}");
    }

    #[test]
    fn embedded_copy_equals_the_repository_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(!embedded_files().is_empty());
        for (path, contents) in embedded_files() {
            let on_disk = fs::read(root.join(path)).unwrap();
            assert_eq!(
                &on_disk[..],
                *contents,
                "{path} differs from the embedded copy"
            );
        }
        for top in ["stacks", "assets"] {
            let mut stack = vec![root.join(top)];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries {
                    let p = e.unwrap().path();
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    if p.is_dir() {
                        if !rel.ends_with("__pycache__") {
                            stack.push(p);
                        }
                    } else if !rel.ends_with(".pyc") {
                        assert!(
                            embedded_files().iter().any(|(e, _)| *e == rel),
                            "{rel} is not embedded"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn init_writes_modes_keeps_existing_files_and_secrets_differ() {
        let a = tempfile::tempdir().unwrap();
        let written = init(a.path(), "postgres", &[]).unwrap();
        assert!(written.files.contains(&PathBuf::from("devstack.yaml")));
        assert!(!written.existing_project && written.kept.is_empty());
        let env_path = a.path().join(".env");
        let mode = fs::metadata(&env_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let before = fs::read(&env_path).unwrap();

        // Again: nothing to write, nothing overwritten, not an error.
        let again = init(a.path(), "postgres", &[]).unwrap();
        assert!(again.existing_project);
        assert!(again.files.is_empty(), "{again:?}");
        assert_eq!(again.kept, vec![PathBuf::from(".env")]);
        assert_eq!(fs::read(&env_path).unwrap(), before, "nothing overwritten");

        let b = tempfile::tempdir().unwrap();
        init(b.path(), "postgres", &[]).unwrap();
        assert_ne!(fs::read(b.path().join(".env")).unwrap(), before);

        let ignore = fs::read_to_string(a.path().join(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l.trim() == ".env"), "{ignore}");
    }

    /// Issue 14 item 5: in a cloned project (no `.env`, edited files) `init` writes only
    /// `.env`, from the project's own `.env.example`; `--force` overwrites only what it
    /// names. Before, it refused, and `--force` overwrote the user's stack file and code.
    #[test]
    fn init_in_a_cloned_project_writes_only_env_from_its_example() {
        let d = tempfile::tempdir().unwrap();
        init(d.path(), "airflow", &[]).unwrap();
        fs::remove_file(d.path().join(".env")).unwrap();
        let mine = "# my edit\n";
        fs::write(d.path().join("devstack.yaml"), mine).unwrap();
        fs::write(d.path().join("pipeline/src/load.py"), mine).unwrap();
        fs::remove_file(d.path().join("dags/example_etl.py")).unwrap();
        fs::write(
            d.path().join(".env.example"),
            "# mine\nMY_PASSWORD=__GENERATE_PASSWORD__\nMY_PORT=1234\n",
        )
        .unwrap();

        let w = init(d.path(), "airflow", &[]).unwrap();
        assert_eq!(w.files, vec![PathBuf::from(".env")]);
        let env = fs::read_to_string(d.path().join(".env")).unwrap();
        let keys: Vec<&str> = env
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        assert_eq!(keys, ["MY_PASSWORD", "MY_PORT"], "{env}");
        assert!(!env.contains("__GENERATE_PASSWORD__\n"), "{env}");
        let mode = fs::metadata(d.path().join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::read_to_string(d.path().join("devstack.yaml")).unwrap(),
            mine
        );
        assert!(
            !d.path().join("dags/example_etl.py").exists(),
            "a file the project removed is not brought back"
        );

        // --force names one file: that one is rewritten, nothing else.
        let w = init(
            d.path(),
            "airflow",
            &[PathBuf::from("./pipeline/src/load.py")],
        )
        .unwrap();
        assert_eq!(w.files, vec![PathBuf::from("pipeline/src/load.py")]);
        assert_ne!(
            fs::read_to_string(d.path().join("pipeline/src/load.py")).unwrap(),
            mine
        );
        assert_eq!(
            fs::read_to_string(d.path().join("devstack.yaml")).unwrap(),
            mine
        );
        assert_eq!(fs::read_to_string(d.path().join(".env")).unwrap(), env);

        let err = init(d.path(), "airflow", &[PathBuf::from("nope.txt")]).unwrap_err();
        assert!(err.to_string().contains("'nope.txt'"), "{err}");
    }

    #[test]
    fn materialize_keeps_a_users_edit() {
        let dir = tempfile::tempdir().unwrap();
        let (stack, added) = materialize(dir.path(), "postgres").unwrap();
        assert!(stack.is_file());
        assert!(added.contains(&PathBuf::from(".env")));
        fs::write(&stack, "# mine\n").unwrap();
        let env_before = fs::read(dir.path().join(".env")).unwrap();
        let (_, added) = materialize(dir.path(), "postgres").unwrap();
        assert!(added.is_empty());
        assert_eq!(fs::read_to_string(&stack).unwrap(), "# mine\n");
        assert_eq!(fs::read(dir.path().join(".env")).unwrap(), env_before);
    }

    #[test]
    fn data_dir_follows_xdg() {
        let env = |k: &str| match k {
            "XDG_DATA_HOME" => Some("/x".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            data_dir("airflow", &env),
            PathBuf::from("/x/devstack/airflow")
        );
        let env = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            data_dir("airflow", &env),
            PathBuf::from("/home/u/.local/share/devstack/airflow")
        );
    }
}
