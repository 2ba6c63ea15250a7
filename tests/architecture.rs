//! The import rules of docs/ARCHITECTURE.md, checked on the source text: which top-level
//! module may use which, bollard only in `engine/`, and no cycle between modules. A rule
//! broken here means either the code drifted from the design or the design changed —
//! then change docs/ARCHITECTURE.md and this test together.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the modules it uses (`crate::x` paths), from `src/`.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// One source file: its top-level module and its code with comments cut off.
struct Source {
    path: PathBuf,
    module: String,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap();
            let first = rel.components().next().unwrap().as_os_str();
            let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            Source {
                code: strip_comments(&text),
                path,
                module,
            }
        })
        .collect()
}

/// The code of each line before a `//`: doc comments name modules in prose (and a `//`
/// inside a string only hides the rest of that line, never adds an import).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `crate::x` modules a piece of code names (also in `use crate::{x, y}` groups).
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        // `devstack::crate::` does not occur; a preceding identifier char means `xcrate::`.
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.insert(name.to_string());
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name.to_string());
            }
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

fn graph(sources: &[Source]) -> Graph {
    let mut g = Graph::new();
    for s in sources {
        let entry = g.entry(s.module.clone()).or_default();
        for m in used_modules(&s.code) {
            if m != s.module {
                entry.insert(m);
            }
        }
    }
    g
}

/// A cycle between modules, as the path that closes it, if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        g: &Graph,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in g.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

/// Files of modules outside `allowed` that use `module`.
fn users_outside(sources: &[Source], module: &str, allowed: &[&str]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| !allowed.contains(&s.module.as_str()))
        .filter(|s| used_modules(&s.code).contains(module))
        .map(|s| s.path.display().to_string())
        .collect()
}

#[test]
fn the_scan_sees_the_modules_and_their_imports() {
    // Guards the rules below against passing on an empty or misread tree.
    let g = graph(&sources());
    for module in ["app", "commands", "engine", "ops", "stack", "tui"] {
        assert!(g.contains_key(module), "no module '{module}' found: {g:?}");
    }
    assert!(g["app"].contains("ops"), "{g:?}");
    assert!(g["commands"].contains("ops"), "{g:?}");
    assert!(g["ops"].contains("engine"), "{g:?}");
    assert_eq!(
        used_modules(&strip_comments(
            "use crate::{model::X, stack};\nlet _ = crate::plan::diff; // crate::app"
        )),
        ["model", "plan", "stack"].map(String::from).into(),
    );
}

#[test]
fn bollard_is_used_only_in_engine() {
    let outside: Vec<_> = sources()
        .into_iter()
        .filter(|s| s.module != "engine" && s.code.contains("bollard::"))
        .map(|s| s.path.display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "bollard outside src/engine/: {outside:?}"
    );
}

#[test]
fn only_the_ui_loop_uses_the_tui() {
    let outside = users_outside(&sources(), "tui", &["app", "tui"]);
    assert!(
        outside.is_empty(),
        "crate::tui outside app/tui: {outside:?}"
    );
}

#[test]
fn nothing_below_the_cli_uses_it() {
    let sources = sources();
    for upper in ["commands", "cli"] {
        let outside = users_outside(&sources, upper, &["commands", "cli", "main", "lib"]);
        assert!(
            outside.is_empty(),
            "crate::{upper} used below the CLI: {outside:?}"
        );
    }
    let outside = users_outside(&sources, "app", &["commands", "app", "main", "lib"]);
    assert!(
        outside.is_empty(),
        "crate::app outside commands: {outside:?}"
    );
}

#[test]
fn the_core_does_not_reach_up() {
    // The pure core (and the engine under the use cases) never calls a use case or a
    // front end: ops is called, never calls back.
    let sources = sources();
    let core = [
        "model", "stack", "plan", "logs", "tui", "watch", "build", "engine", "runs",
    ];
    for upper in ["ops", "app", "commands", "exec"] {
        let offenders: Vec<_> = sources
            .iter()
            .filter(|s| core.contains(&s.module.as_str()))
            .filter(|s| used_modules(&s.code).contains(upper))
            .map(|s| s.path.display().to_string())
            .collect();
        assert!(
            offenders.is_empty(),
            "crate::{upper} used from the core: {offenders:?}"
        );
    }
}

#[test]
fn no_cycle_between_top_level_modules() {
    let g = graph(&sources());
    assert_eq!(find_cycle(&g), None, "modules: {g:#?}");
    let looped: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(x, y)| (x.to_string(), [y.to_string()].into()))
        .collect();
    assert_eq!(
        find_cycle(&looped),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
}
