//! Embeds `stacks/` and `assets/` into the binary, so `devstack up` and `devstack init`
//! work from any directory. Generates a table of `include_bytes!` and tells cargo to
//! rebuild when any of those files change.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if entry.file_name() == "__pycache__" {
                continue;
            }
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?);
    let mut files = Vec::new();
    for top in ["stacks", "assets"] {
        let dir = root.join(top);
        println!("cargo:rerun-if-changed={}", dir.display());
        if dir.is_dir() {
            walk(&dir, &mut files)?;
        }
    }
    let mut code = String::from(
        "/// (path relative to the repository, contents)\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file
            .strip_prefix(&root)
            .map_err(io::Error::other)?
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with(".pyc") {
            continue;
        }
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(io::Error::other)?);
    fs::write(out.join("embedded.rs"), code)
}
