//! Several stack files as one tree, by Compose's merge rules (`-f a -f b`, the
//! `compose.override.yaml` next to the default file, `COMPOSE_FILE`), and which file
//! each part of the merged tree came from so messages name the right file.
//!
//! The rules follow compose-go's `override` package: mappings are merged key by key;
//! sequences are appended, then made unique per key where the specification says so
//! (`ports` by their whole spec, `volumes` by target, `environment`/`labels` by name,
//! `env_file` by path); `command`, `entrypoint` and `healthcheck.test` are replaced; a
//! value tagged `!reset` removes the key, one tagged `!override` replaces without
//! merging. Works on the positioned tree after interpolation; knows no YAML library and
//! interprets no values beyond what the merge rules need.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::model::Position;
use super::node::{Entry, KeyPath, Mark, Node, Seg, Value};

/// Which file (by index into [`Origins::files`]) each part of a merged tree came from.
/// A part not listed below a `Map`/`Seq` came from the same file as its parent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    File(usize),
    Map(usize, BTreeMap<String, Origin>),
    Seq(usize, Vec<Origin>),
}

impl Origin {
    pub(crate) fn file(&self) -> usize {
        match self {
            Origin::File(f) | Origin::Map(f, _) | Origin::Seq(f, _) => *f,
        }
    }

    fn key(&self, k: &str) -> Origin {
        match self {
            Origin::Map(_, m) => m.get(k).cloned().unwrap_or(Origin::File(self.file())),
            _ => Origin::File(self.file()),
        }
    }

    /// The origin of the part at a path of keys.
    pub(crate) fn child(&self, keys: &[&str]) -> Origin {
        keys.iter().fold(self.clone(), |o, k| o.key(k))
    }

    /// Records that the part at a path of keys came from `child`.
    pub(crate) fn set(&mut self, keys: &[&str], child: Origin) {
        let Some((first, rest)) = keys.split_first() else {
            *self = child;
            return;
        };
        let file = self.file();
        let mut map = match std::mem::replace(self, Origin::File(file)) {
            Origin::Map(_, m) => m,
            _ => BTreeMap::new(),
        };
        let mut c = map.remove(*first).unwrap_or(Origin::File(file));
        c.set(rest, child);
        map.insert((*first).to_string(), c);
        *self = Origin::Map(file, map);
    }

    fn index(&self, i: usize) -> Origin {
        match self {
            Origin::Seq(_, v) => v.get(i).cloned().unwrap_or(Origin::File(self.file())),
            _ => Origin::File(self.file()),
        }
    }
}

/// The files of a stack in merge order, and where each part of the merged tree is from.
#[derive(Debug, Clone)]
pub(crate) struct Origins {
    pub files: Vec<PathBuf>,
    pub tree: Origin,
}

impl Origins {
    /// One file: everything comes from it.
    pub fn single(file: PathBuf) -> Self {
        Self {
            files: vec![file],
            tree: Origin::File(0),
        }
    }

    /// Where the value (or, with `want_key`, the key) at `path` was written: as
    /// `Node::locate`, falling back to the nearest known ancestor, with its file.
    pub fn position(&self, root: &Node, path: &KeyPath, want_key: bool) -> Position {
        let file = |i: usize| self.files.get(i).cloned().unwrap_or_default();
        if let Origin::File(f) = self.tree {
            let m = if want_key {
                root.locate_key(path)
            } else {
                root.locate(path)
            };
            return Position {
                file: file(f),
                line: m.line,
                column: m.column,
            };
        }
        let mut node = root;
        let mut origin = self.tree.clone();
        let mut best = (root.mark, origin.file());
        let last = path.0.len().saturating_sub(1);
        for (i, seg) in path.0.iter().enumerate() {
            let (next, key_mark, next_origin) = match (seg, &node.value) {
                (Seg::Key(k), Value::Map(m)) => match m.iter().find(|e| &e.key == k) {
                    Some(e) => (&e.value, Some(e.key_mark), origin.key(k)),
                    None => break,
                },
                (Seg::Index(idx), Value::Seq(s)) => match s.get(*idx) {
                    Some(n) => (n, None, origin.index(*idx)),
                    None => break,
                },
                _ => break,
            };
            node = next;
            origin = next_origin;
            let here = match key_mark {
                Some(k) if want_key && i == last => k,
                _ => next.mark,
            };
            if here.is_known() {
                best = (here, origin.file());
            } else if let Some(k) = key_mark.filter(|k| k.is_known()) {
                best = (k, origin.file());
            }
        }
        let (mark, at) = best;
        let mark = if mark.is_known() {
            mark
        } else {
            Mark { line: 1, column: 1 }
        };
        Position {
            file: file(at),
            line: mark.line,
            column: mark.column,
        }
    }
}

/// Two values that cannot be merged (a mapping over a list, …), at the later file's
/// value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MergeError {
    pub path: KeyPath,
    pub file: usize,
    pub mark: Mark,
    pub message: String,
}

/// Merges the files' trees in order (each already checked and interpolated); returns
/// the merged tree and where its parts came from.
pub(crate) fn merge_all(trees: Vec<Node>) -> Result<(Node, Origin), MergeError> {
    merge_with_origins(
        trees
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, Origin::File(i)))
            .collect(),
    )
}

/// As [`merge_all`], for trees whose parts already come from several files (a service
/// that `extends` one of another file, resources an `include` brought in).
pub(crate) fn merge_with_origins(trees: Vec<(Node, Origin)>) -> Result<(Node, Origin), MergeError> {
    let mut trees = trees.into_iter();
    let Some((mut first, first_origin)) = trees.next() else {
        return Ok((
            Node::new(Value::Map(Vec::new()), Mark::default()),
            Origin::File(0),
        ));
    };
    drop_resets(&mut first);
    let mut acc = (first, first_origin);
    for (over, origin) in trees {
        acc = merge_value(acc.0, acc.1, over, origin, &KeyPath::root())?;
    }
    let (mut node, mut origin) = acc;
    make_unique(&mut node, &mut origin, &KeyPath::root());
    Ok((node, origin))
}

/// Merges one service over another as `extends` does (compose-go's `ExtendService`: the
/// rules of a merge of files), at `services.NAME`; lists are not made unique here.
pub(crate) fn extend_service(
    base: (Node, Origin),
    over: (Node, Origin),
    name: &str,
) -> Result<(Node, Origin), MergeError> {
    let path = KeyPath::root().key("services").key(name);
    let (mut node, mut origin) = merge_value(base.0, base.1, over.0, over.1, &path)?;
    make_unique(&mut node, &mut origin, &path);
    Ok((node, origin))
}

/// A `!reset` in the first file has nothing to reset: the key is left out.
fn drop_resets(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|e| e.value.tag.as_deref() != Some("!reset"));
            for e in entries.iter_mut() {
                drop_resets(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|n| n.tag.as_deref() != Some("!reset"));
            for n in items.iter_mut() {
                drop_resets(n);
            }
        }
        _ => {}
    }
}

/// How values at a key path merge (compose-go's `mergeSpecials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Mappings merged, sequences appended, scalars replaced.
    Default,
    /// The later value replaces the earlier one.
    Replace,
    /// `KEY: value` mappings and `KEY=value` lists alike, as a list.
    KeyValue,
    /// A list of names or a mapping of names to settings, as a mapping.
    NamesToMap,
    /// `build: ./dir` is `build: {context: ./dir}`.
    Build,
    /// Options merge only when both files name the same driver (or one names none).
    Logging,
    /// A string or a list, as a list (`env_file`).
    OneOrMany,
    /// A number or a mapping (`ulimits.nofile`): a mapping merges, a number replaces.
    Ulimit,
}

fn keys(path: &KeyPath) -> Option<Vec<&str>> {
    path.0
        .iter()
        .map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect()
}

fn rule(path: &KeyPath) -> Rule {
    let Some(k) = keys(path) else {
        return Rule::Default;
    };
    match k.as_slice() {
        ["services", _, "command" | "entrypoint"] | ["services", _, "healthcheck", "test"] => {
            Rule::Replace
        }
        [
            "services",
            _,
            "environment" | "labels" | "sysctls" | "annotations",
        ]
        | [
            "services",
            _,
            "build",
            "args" | "labels" | "additional_contexts",
        ]
        | ["services", _, "deploy", "labels"]
        | ["volumes" | "networks", _, "labels"] => Rule::KeyValue,
        ["services", _, "depends_on" | "networks"] => Rule::NamesToMap,
        ["services", _, "build"] => Rule::Build,
        ["services", _, "logging"] => Rule::Logging,
        ["services", _, "env_file" | "tmpfs" | "dns" | "dns_search"] => Rule::OneOrMany,
        ["services", _, "ulimits", _] => Rule::Ulimit,
        _ => Rule::Default,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) | Value::Number(_) | Value::String(_) => "a single value",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Merges `over` (from file `file`) onto `base`.
fn merge_value(
    base: Node,
    base_origin: Origin,
    mut over: Node,
    over_origin: Origin,
    path: &KeyPath,
) -> Result<(Node, Origin), MergeError> {
    if over.tag.as_deref() == Some("!override") {
        over.tag = None;
        drop_resets(&mut over);
        return Ok((over, over_origin.clone()));
    }
    if matches!(over.value, Value::Null) {
        return Ok((base, base_origin));
    }
    match rule(path) {
        Rule::Replace => return Ok((over, over_origin.clone())),
        Rule::KeyValue => {
            let base = to_key_value_list(base, &base_origin);
            let over = to_key_value_list(over, &over_origin.clone());
            return Ok(append(base, over));
        }
        Rule::OneOrMany => {
            let base = to_list(base, &base_origin);
            let over = to_list(over, &over_origin.clone());
            return Ok(append(base, over));
        }
        Rule::NamesToMap => {
            let depends = path.last_key() == Some("depends_on");
            let base = names_to_map(base, base_origin, depends);
            let over = names_to_map(over, over_origin.clone(), depends);
            return merge_maps(base, over, path);
        }
        Rule::Build => {
            let base = context_to_map(base, base_origin);
            let over = context_to_map(over, over_origin.clone());
            return merge_maps(base, over, path);
        }
        Rule::Logging => {
            let driver = |n: &Node| match &n.value {
                Value::Map(m) => m
                    .iter()
                    .find(|e| e.key == "driver")
                    .and_then(|e| scalar_text(&e.value.value)),
                _ => None,
            };
            if let (Some(a), Some(b)) = (driver(&base), driver(&over))
                && a != b
            {
                return Ok((over, over_origin.clone()));
            }
        }
        Rule::Ulimit => {
            if !matches!(over.value, Value::Map(_)) {
                return Ok((over, over_origin.clone()));
            }
            if !matches!(base.value, Value::Map(_)) {
                return Ok((over, over_origin.clone()));
            }
        }
        Rule::Default => {}
    }
    match (&base.value, &over.value) {
        (Value::Map(_), Value::Map(_)) => {
            merge_maps((base, base_origin), (over, over_origin), path)
        }
        (Value::Seq(_), Value::Seq(_)) => Ok(append((base, base_origin), (over, over_origin))),
        (Value::Map(_) | Value::Seq(_), _) | (_, Value::Map(_) | Value::Seq(_)) => {
            Err(MergeError {
                path: path.clone(),
                file: over_origin.file(),
                mark: over.mark,
                message: format!(
                    "cannot merge {} here over {} from an earlier file",
                    kind(&over.value),
                    kind(&base.value)
                ),
            })
        }
        _ => Ok((over, over_origin.clone())),
    }
}

fn merge_maps(
    (mut base, base_origin): (Node, Origin),
    (over, over_origin): (Node, Origin),
    path: &KeyPath,
) -> Result<(Node, Origin), MergeError> {
    let base_file = base_origin.file();
    let Value::Map(entries) = &mut base.value else {
        return Ok((over, over_origin));
    };
    let Value::Map(over_entries) = over.value else {
        return Ok((base, base_origin));
    };
    let mut children: BTreeMap<String, Origin> = match base_origin {
        Origin::Map(_, m) => m,
        _ => BTreeMap::new(),
    };
    for mut oe in over_entries {
        let at = entries.iter().position(|e| e.key == oe.key);
        if oe.value.tag.as_deref() == Some("!reset") {
            if let Some(i) = at {
                entries.remove(i);
            }
            children.remove(&oe.key);
            continue;
        }
        let over_child = over_origin.key(&oe.key);
        match at {
            // Extension fields are replaced whole, as in Compose.
            Some(i) if !oe.key.starts_with("x-") => {
                let old = entries.remove(i);
                let old_origin = children.remove(&oe.key).unwrap_or(Origin::File(base_file));
                let (value, origin) = merge_value(
                    old.value,
                    old_origin,
                    oe.value,
                    over_child,
                    &path.key(&oe.key),
                )?;
                children.insert(oe.key, origin);
                entries.insert(
                    i,
                    Entry {
                        key: old.key,
                        key_mark: old.key_mark,
                        value,
                    },
                );
            }
            Some(i) => {
                drop_resets(&mut oe.value);
                children.insert(oe.key.clone(), over_child);
                entries[i] = oe;
            }
            None => {
                drop_resets(&mut oe.value);
                children.insert(oe.key.clone(), over_child);
                entries.push(oe);
            }
        }
    }
    Ok((base, Origin::Map(base_file, children)))
}

/// The items of both lists, in order, with their origins.
fn append(
    (mut base, base_origin): (Node, Origin),
    (over, over_origin): (Node, Origin),
) -> (Node, Origin) {
    let base_file = base_origin.file();
    let (Value::Seq(items), Value::Seq(more)) = (&mut base.value, over.value) else {
        return (base, base_origin);
    };
    let mut origins: Vec<Origin> = (0..items.len()).map(|i| base_origin.index(i)).collect();
    for (i, mut n) in more.into_iter().enumerate() {
        drop_resets(&mut n);
        origins.push(over_origin.index(i));
        items.push(n);
    }
    (base, Origin::Seq(base_file, origins))
}

/// `KEY: value` entries as `KEY=value` items (`KEY` alone for no value), keeping each
/// value's position; a list is kept as it is.
fn to_key_value_list(node: Node, origin: &Origin) -> (Node, Origin) {
    let Value::Map(entries) = node.value else {
        return (node, origin.clone());
    };
    let mut origins = Vec::with_capacity(entries.len());
    let items = entries
        .into_iter()
        .map(|e| {
            origins.push(origin.key(&e.key));
            let text = match scalar_text(&e.value.value) {
                Some(v) => format!("{}={v}", e.key),
                None => e.key.clone(),
            };
            let mark = if e.value.mark.is_known() {
                e.value.mark
            } else {
                e.key_mark
            };
            Node::new(Value::String(text), mark)
        })
        .collect();
    (
        Node::new(Value::Seq(items), node.mark),
        Origin::Seq(origin.file(), origins),
    )
}

/// A single value as a one-item list.
fn to_list(node: Node, origin: &Origin) -> (Node, Origin) {
    match node.value {
        Value::Seq(_) => (node, origin.clone()),
        _ => {
            let mark = node.mark;
            (
                Node::new(Value::Seq(vec![node]), mark),
                Origin::Seq(origin.file(), vec![origin.clone()]),
            )
        }
    }
}

/// `[a, b]` as `{a: …, b: …}`: for `depends_on` each with Compose's defaults (so a
/// later list resets an earlier condition, as in Compose), for `networks` empty.
fn names_to_map(node: Node, origin: Origin, depends: bool) -> (Node, Origin) {
    let Value::Seq(items) = node.value else {
        return (node, origin);
    };
    let mut children = BTreeMap::new();
    let entries = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let key = scalar_text(&n.value)?;
            children.insert(key.clone(), origin.index(i));
            let value = if depends {
                let text = |s: &str| Node::new(Value::String(s.into()), n.mark);
                Node::new(
                    Value::Map(vec![
                        Entry {
                            key: "condition".into(),
                            key_mark: n.mark,
                            value: text("service_started"),
                        },
                        Entry {
                            key: "required".into(),
                            key_mark: n.mark,
                            value: Node::new(Value::Bool(true), n.mark),
                        },
                    ]),
                    n.mark,
                )
            } else {
                Node::new(Value::Null, n.mark)
            };
            Some(Entry {
                key,
                key_mark: n.mark,
                value,
            })
        })
        .collect();
    (
        Node::new(Value::Map(entries), node.mark),
        Origin::Map(origin.file(), children),
    )
}

/// `build: ./dir` as `build: {context: ./dir}`.
fn context_to_map(node: Node, origin: Origin) -> (Node, Origin) {
    if matches!(node.value, Value::Map(_) | Value::Null) {
        return (node, origin);
    }
    let mark = node.mark;
    let file = origin.file();
    (
        Node::new(
            Value::Map(vec![Entry {
                key: "context".into(),
                key_mark: mark,
                value: node,
            }]),
            mark,
        ),
        Origin::Map(file, BTreeMap::from([("context".to_string(), origin)])),
    )
}

/// What makes two items of a list the same item, for the lists Compose keeps unique
/// (compose-go's `EnforceUnicity`); `None` for lists that may repeat.
fn unique_key(path: &KeyPath, item: &Node) -> Option<String> {
    let k = keys(path)?;
    let text = scalar_text(&item.value);
    let field = |name: &str| match &item.value {
        Value::Map(m) => m
            .iter()
            .find(|e| e.key == name)
            .and_then(|e| scalar_text(&e.value.value)),
        _ => None,
    };
    match k.as_slice() {
        [
            "services",
            _,
            "environment" | "labels" | "sysctls" | "annotations",
        ]
        | [
            "services",
            _,
            "build",
            "args" | "labels" | "additional_contexts",
        ]
        | ["services", _, "deploy", "labels"]
        | ["volumes" | "networks", _, "labels"] => {
            let t = text?;
            Some(t.split('=').next().unwrap_or(&t).to_string())
        }
        ["services", _, "ports"] => match text {
            Some(t) => Some(t),
            None => Some(format!(
                "{}:{}:{}/{}",
                field("host_ip").unwrap_or_else(|| "0.0.0.0".into()),
                field("published").unwrap_or_default(),
                field("target").unwrap_or_default(),
                field("protocol").unwrap_or_else(|| "tcp".into()),
            )),
        },
        ["services", _, "volumes"] => match text {
            Some(t) => {
                let parts: Vec<&str> = t.split(':').collect();
                Some(match parts.as_slice() {
                    [target] => target.to_string(),
                    [_, target, ..] => target.to_string(),
                    [] => t.clone(),
                })
            }
            None => field("target"),
        },
        ["services", _, "env_file"] => text.or_else(|| field("path")),
        ["services", _, "secrets" | "configs"] => match text {
            Some(t) => Some(t),
            None => field("target").or_else(|| field("source")),
        },
        [
            "services",
            _,
            "expose" | "profiles" | "cap_add" | "cap_drop" | "dns" | "dns_search" | "tmpfs"
            | "links" | "extra_hosts",
        ] => text,
        _ => None,
    }
}

/// Later items replace earlier ones with the same key, in the earlier one's place.
fn make_unique(node: &mut Node, origin: &mut Origin, path: &KeyPath) {
    match &mut node.value {
        Value::Map(entries) => {
            let file = origin.file();
            let mut children = match std::mem::replace(origin, Origin::File(file)) {
                Origin::Map(_, m) => m,
                _ => BTreeMap::new(),
            };
            for e in entries.iter_mut() {
                let mut child = children.remove(&e.key).unwrap_or(Origin::File(file));
                make_unique(&mut e.value, &mut child, &path.key(&e.key));
                if child != Origin::File(file) {
                    children.insert(e.key.clone(), child);
                }
            }
            if !children.is_empty() {
                *origin = Origin::Map(file, children);
            }
        }
        Value::Seq(items) => {
            let file = origin.file();
            let taken = std::mem::take(items);
            let mut kept: Vec<(Node, Origin)> = Vec::with_capacity(taken.len());
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for (i, item) in taken.into_iter().enumerate() {
                let o = origin.index(i);
                match unique_key(path, &item) {
                    Some(k) => match seen.get(&k) {
                        Some(&j) => kept[j] = (item, o),
                        None => {
                            seen.insert(k, kept.len());
                            kept.push((item, o));
                        }
                    },
                    None => kept.push((item, o)),
                }
            }
            let (nodes, origins): (Vec<Node>, Vec<Origin>) = kept.into_iter().unzip();
            *items = nodes;
            if origins.iter().any(|o| *o != Origin::File(file)) {
                *origin = Origin::Seq(file, origins);
            } else {
                *origin = Origin::File(file);
            }
        }
        _ => {}
    }
}
