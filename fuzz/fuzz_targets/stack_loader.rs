//! The whole loader on arbitrary text: it must not panic (nor hang), every error names
//! the file and a position inside it, and what loads also renders for `config`.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use devstack::stack::{LoadOptions, load_str, render_config};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// A project directory with an `.env`, an env file and a bind-mount source, so inputs
/// that name them get past the existence checks.
fn project_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("devstack-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).expect("create the fuzz project dir");
        std::fs::write(dir.join(".env"), "IMAGE=busybox\nPORT=8080\nEMPTY=\n").expect("write .env");
        std::fs::write(dir.join("app.env"), "A=1\nexport B='two'\nC=\"3 $IMAGE\"\n")
            .expect("write app.env");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = project_dir();
    let file = dir.join("compose.yaml");
    for strict in [false, true] {
        let opts = LoadOptions {
            cwd: dir.clone(),
            strict,
            environment: BTreeMap::from([
                ("HOME".to_string(), "/home/u".to_string()),
                ("API_TOKEN".to_string(), "s3cr3t".to_string()),
            ]),
            ..LoadOptions::default()
        };
        match load_str(text, &file, &opts) {
            Ok(stack) => {
                let _ = render_config(&stack, false);
                let _ = render_config(&stack, true);
            }
            Err(e) => common::check_error(&e, &file, text),
        }
    }
});
