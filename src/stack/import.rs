//! Definitions a stack file takes from elsewhere: a service's `extends` (a service of
//! the same file or of another one, recursively) and the top-level `include` (other
//! Compose projects' services, volumes, networks and secrets).
//!
//! Follows compose-go's loader: per file, after interpolation, `extends` is applied
//! (merged by the rules of a merge of files), then `include`; only then are the files
//! merged. Relative paths of what comes from another file are made absolute against
//! that file's directory (for `include`, its project directory), so the resolver reads
//! them as written there. Works on the positioned tree and records, for every part it
//! brings in, which file it came from; interprets no values beyond paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::error::{Error, InterpolationError};
use super::merge::{self, Origin};
use super::model::{Diagnostic, Position};
use super::node::{Entry, KeyPath, Mark, Node, Value};
use super::resolve::normalise;

const EXTENDS_ALLOWED: &str = "'extends: SERVICE', or a mapping with 'service' and an optional 'file' (a path relative to this file)";
const INCLUDE_ALLOWED: &str = "a list of paths, or of mappings with 'path' (one path or a list), 'project_directory' and 'env_file'";

/// What applying `extends` and `include` to one file's tree needs from the loader.
pub(crate) struct Imports<'a> {
    /// Every file a part of the stack came from; a file read here is added to it and its
    /// parts refer to it by index.
    pub files: &'a mut Vec<PathBuf>,
    pub warnings: &'a mut Vec<Diagnostic>,
    /// Interpolation variables (the environment over the project's `.env`).
    pub vars: &'a BTreeMap<String, String>,
    /// Reads, parses and checks a file: one tree per YAML document.
    pub parse: &'a ParseFile,
    /// Interpolates a tree with the given variables, adding the unset ones' warnings.
    pub interpolate: &'a InterpolateTree,
}

pub(crate) type ParseFile = dyn Fn(&Path, &mut Vec<Diagnostic>) -> Result<Vec<Node>, Error>;
pub(crate) type InterpolateTree = dyn Fn(
    &mut Node,
    &dyn Fn(&str) -> Option<String>,
    &Path,
    &mut Vec<Diagnostic>,
) -> Result<(), Error>;

/// A file's services while their `extends` are being applied.
struct Services {
    file: PathBuf,
    /// Where a relative `extends.file` is read from.
    dir: PathBuf,
    entries: BTreeMap<String, (Node, Origin)>,
    /// Order and key positions of the file's services.
    order: Vec<(String, Mark)>,
    done: BTreeSet<String>,
}

impl Imports<'_> {
    fn position(&self, origin: &Origin, mark: Mark) -> Position {
        Position {
            file: self.files.get(origin.file()).cloned().unwrap_or_default(),
            line: mark.line.max(1),
            column: mark.column.max(1),
        }
    }

    /// Applies `extends` then `include` to one file's tree. `dir` is where the file's
    /// relative references are read from (the project directory for the files given,
    /// the file's own folder for an extended one, the project directory of an include).
    pub fn apply(
        &mut self,
        tree: Node,
        origin: Origin,
        dir: &Path,
        included: &[PathBuf],
    ) -> Result<(Node, Origin), Error> {
        let (tree, origin) = self.apply_extends(tree, origin, dir)?;
        self.apply_include(tree, origin, dir, included)
    }

    fn apply_extends(
        &mut self,
        mut tree: Node,
        mut origin: Origin,
        dir: &Path,
    ) -> Result<(Node, Origin), Error> {
        // A `services` that is not a mapping is left for the typed layer to refuse.
        if !matches!(tree.get("services").map(|n| &n.value), Some(Value::Map(_))) {
            return Ok((tree, origin));
        }
        let services_origin = origin.child(&["services"]);
        let Some(services_node) = take_key(&mut tree, "services") else {
            return Ok((tree, origin));
        };
        let file = self.files.get(origin.file()).cloned().unwrap_or_default();
        let (services_node, key_mark) = services_node;
        let mark = services_node.mark;
        let mut services = split_services(services_node, &services_origin, file, dir);
        let names: Vec<String> = services.order.iter().map(|(n, _)| n.clone()).collect();
        for name in names {
            self.extend(&mut services, &name, &mut Vec::new())?;
        }
        let (node, services_origin) = join_services(services, mark, &services_origin);
        put_key(&mut tree, "services", (node, key_mark));
        origin.set(&["services"], services_origin);
        Ok((tree, origin))
    }

    /// Applies the `extends` of service `name` (and of the services it extends), in
    /// place; `chain` is the (file, service) path that led here, for cycles.
    fn extend(
        &mut self,
        services: &mut Services,
        name: &str,
        chain: &mut Vec<(PathBuf, String)>,
    ) -> Result<(), Error> {
        if services.done.contains(name) {
            return Ok(());
        }
        let Some((mut node, origin)) = services.entries.remove(name) else {
            return Ok(());
        };
        let Some((extends, _)) = take_key(&mut node, "extends") else {
            services.entries.insert(name.to_string(), (node, origin));
            services.done.insert(name.to_string());
            return Ok(());
        };
        let extends_origin = origin.child(&["extends"]);
        let at = self.position(&extends_origin, extends.mark);
        let bad = |message: String| Error::Invalid {
            at: at.clone(),
            key: format!("services.{name}.extends"),
            message,
            allowed: EXTENDS_ALLOWED.into(),
        };
        let (base_name, base_file) = match &extends.value {
            Value::String(s) => (s.clone(), None),
            Value::Map(entries) => {
                let text = |k: &str| {
                    entries
                        .iter()
                        .find(|e| e.key == k)
                        .map(|e| match &e.value.value {
                            Value::String(s) => Some(s.clone()),
                            _ => None,
                        })
                };
                let Some(Some(service)) = text("service") else {
                    return Err(bad("'service' (a service name) is required".into()));
                };
                match text("file") {
                    None => (service, None),
                    Some(Some(f)) => (service, Some(f)),
                    Some(None) => return Err(bad("'file' is a path".into())),
                }
            }
            _ => return Err(bad("wrong kind of value".into())),
        };
        chain.push((services.file.clone(), name.to_string()));
        let target = match &base_file {
            None => services.file.clone(),
            Some(f) => normalise(&services.dir.join(f)),
        };
        if let Some(first) = chain
            .iter()
            .position(|(f, s)| *f == target && *s == base_name)
        {
            let mut names: Vec<String> = chain[first..]
                .iter()
                .map(|(f, s)| format!("'{s}' ({})", f.display()))
                .collect();
            names.push(format!("'{base_name}'"));
            return Err(bad(format!(
                "circular extends: {}",
                names.join(" extends ")
            )));
        }
        let base = match base_file {
            None => {
                if !services.entries.contains_key(&base_name) {
                    return Err(bad(format!(
                        "service '{base_name}' not found in {}",
                        services.file.display()
                    )));
                }
                self.extend(services, &base_name, chain)?;
                services.entries.get(&base_name).cloned()
            }
            Some(_) => {
                let mut other = self.load_services(&target).map_err(|e| match e {
                    Error::Read { reason, .. } => {
                        bad(format!("cannot read '{}': {reason}", target.display()))
                    }
                    e => e,
                })?;
                if !other.entries.contains_key(&base_name) {
                    return Err(bad(format!(
                        "service '{base_name}' not found in {}",
                        target.display()
                    )));
                }
                self.extend(&mut other, &base_name, chain)?;
                other.entries.remove(&base_name)
            }
        };
        chain.pop();
        let merged = match base {
            Some(base) => {
                merge::extend_service(base, (node, origin), name).map_err(|e| Error::Invalid {
                    at: Position {
                        file: self.files.get(e.file).cloned().unwrap_or_default(),
                        line: e.mark.line.max(1),
                        column: e.mark.column.max(1),
                    },
                    key: e.path.to_string(),
                    message: e.message,
                    allowed: "a value of the same kind as in the service it extends".into(),
                })?
            }
            None => (node, origin),
        };
        services.entries.insert(name.to_string(), merged);
        services.done.insert(name.to_string());
        Ok(())
    }

    /// Another file's services, for `extends.file`: read, checked, interpolated with the
    /// project's variables, relative paths made absolute against its folder.
    fn load_services(&mut self, path: &Path) -> Result<Services, Error> {
        let mut docs = (self.parse)(path, self.warnings)?;
        let index = self.files.len();
        self.files.push(path.to_path_buf());
        let vars = self.vars;
        let lookup = |n: &str| vars.get(n).cloned();
        for d in docs.iter_mut() {
            (self.interpolate)(d, &lookup, path, self.warnings)?;
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let (mut tree, _) = merge::merge_all(docs).map_err(|e| Error::Invalid {
            at: Position {
                file: path.to_path_buf(),
                line: e.mark.line.max(1),
                column: e.mark.column.max(1),
            },
            key: e.path.to_string(),
            message: e.message,
            allowed: "a value of the same kind as in the earlier document".into(),
        })?;
        rebase_paths(&mut tree, &dir);
        let services = take_key(&mut tree, "services")
            .map(|(n, _)| n)
            .unwrap_or_else(|| Node::new(Value::Map(Vec::new()), Mark::default()));
        Ok(split_services(
            services,
            &Origin::File(index),
            path.to_path_buf(),
            &dir,
        ))
    }

    fn apply_include(
        &mut self,
        mut tree: Node,
        mut origin: Origin,
        dir: &Path,
        included: &[PathBuf],
    ) -> Result<(Node, Origin), Error> {
        let include_origin = origin.child(&["include"]);
        let Some((include, _)) = take_key(&mut tree, "include") else {
            return Ok((tree, origin));
        };
        let bad = |this: &Self, at: &Node, key: String, message: String| Error::Invalid {
            at: this.position(&include_origin, at.mark),
            key,
            message,
            allowed: INCLUDE_ALLOWED.into(),
        };
        let items = match include.value {
            Value::Seq(items) => items,
            Value::Null => Vec::new(),
            _ => {
                return Err(bad(
                    self,
                    &include,
                    "include".into(),
                    "wrong kind of value".into(),
                ));
            }
        };
        for (i, item) in items.iter().enumerate() {
            let key = format!("include[{i}]");
            let strings = |n: &Node| -> Option<Vec<String>> {
                match &n.value {
                    Value::String(s) => Some(vec![s.clone()]),
                    Value::Seq(v) => v
                        .iter()
                        .map(|x| match &x.value {
                            Value::String(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => None,
                }
            };
            let (paths, project_dir, env_files) = match &item.value {
                Value::String(s) => (vec![s.clone()], None, None),
                Value::Map(_) => {
                    let get = |k: &str| item.get_entry(k).map(|e| &e.value);
                    let Some(paths) = get("path").and_then(strings).filter(|p| !p.is_empty())
                    else {
                        return Err(bad(
                            self,
                            item,
                            format!("{key}.path"),
                            "'path' (a file, or a list of files merged in order) is required"
                                .into(),
                        ));
                    };
                    let project_dir = match get("project_directory").map(|n| &n.value) {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(_) => {
                            return Err(bad(
                                self,
                                item,
                                format!("{key}.project_directory"),
                                "'project_directory' is a path".into(),
                            ));
                        }
                    };
                    let env_files = match get("env_file") {
                        None => None,
                        Some(n) => Some(strings(n).ok_or_else(|| {
                            bad(
                                self,
                                n,
                                format!("{key}.env_file"),
                                "'env_file' is a path or a list of paths".into(),
                            )
                        })?),
                    };
                    (paths, project_dir, env_files)
                }
                _ => {
                    return Err(bad(self, item, key, "wrong kind of value".into()));
                }
            };
            let paths: Vec<PathBuf> = paths.iter().map(|p| normalise(&dir.join(p))).collect();
            let project_dir = match project_dir {
                Some(p) => normalise(&dir.join(p)),
                None => paths[0]
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.to_path_buf()),
            };
            if included.contains(&paths[0]) {
                let mut chain: Vec<String> = included
                    .iter()
                    .map(|p| format!("'{}'", p.display()))
                    .collect();
                chain.push(format!("'{}'", paths[0].display()));
                return Err(bad(
                    self,
                    item,
                    key,
                    format!("include cycle: {}", chain.join(" includes ")),
                ));
            }
            // The included project's own variables: its `.env` (or `env_file`), under
            // what the including project already has.
            let env_paths: Vec<PathBuf> = match env_files {
                None => {
                    let f = project_dir.join(".env");
                    if f.is_file() { vec![f] } else { Vec::new() }
                }
                Some(list) => list
                    .iter()
                    .filter(|f| *f != "/dev/null")
                    .map(|f| normalise(&dir.join(f)))
                    .collect(),
            };
            let mut vars = self.vars.clone();
            for f in env_paths {
                let text = super::read_text_file(&f).map_err(|reason| Error::Read {
                    path: f.clone(),
                    reason,
                })?;
                let scope = vars.clone();
                for (k, v) in super::resolve::read_env(&text, &f, &scope)? {
                    vars.entry(k).or_insert(v);
                }
            }
            let mut chain = included.to_vec();
            chain.push(paths[0].clone());
            let mut trees = Vec::new();
            for path in &paths {
                let docs = (self.parse)(path, self.warnings)?;
                let index = self.files.len();
                self.files.push(path.clone());
                for mut d in docs {
                    let lookup = |n: &str| vars.get(n).cloned();
                    (self.interpolate)(&mut d, &lookup, path, self.warnings)?;
                    let mut inner = Imports {
                        files: self.files,
                        warnings: self.warnings,
                        vars: &vars,
                        parse: self.parse,
                        interpolate: self.interpolate,
                    };
                    trees.push(inner.apply(d, Origin::File(index), &project_dir, &chain)?);
                }
            }
            let (mut imported, imported_origin) =
                merge::merge_with_origins(trees).map_err(|e| Error::Invalid {
                    at: Position {
                        file: self.files.get(e.file).cloned().unwrap_or_default(),
                        line: e.mark.line.max(1),
                        column: e.mark.column.max(1),
                    },
                    key: e.path.to_string(),
                    message: e.message,
                    allowed: "a value of the same kind as in the earlier file".into(),
                })?;
            rebase_paths(&mut imported, &project_dir);
            self.import_resources(&mut tree, &mut origin, imported, &imported_origin)?;
        }
        Ok((tree, origin))
    }

    /// Adds the included project's resources to the including tree; a resource of the
    /// same name that is not identical is an error, as in Compose.
    fn import_resources(
        &self,
        tree: &mut Node,
        origin: &mut Origin,
        imported: Node,
        imported_origin: &Origin,
    ) -> Result<(), Error> {
        let Value::Map(sections) = imported.value else {
            return Ok(());
        };
        for section in sections {
            if !matches!(
                section.key.as_str(),
                "services" | "volumes" | "networks" | "secrets" | "configs" | "models"
            ) {
                continue;
            }
            let Value::Map(resources) = section.value.value else {
                continue;
            };
            if tree.get_entry(&section.key).is_none() {
                put_key(
                    tree,
                    &section.key,
                    (
                        Node::new(Value::Map(Vec::new()), section.value.mark),
                        section.key_mark,
                    ),
                );
                origin.set(
                    &[section.key.as_str()],
                    imported_origin.child(&[section.key.as_str()]),
                );
            }
            let Some(target) = tree.get_mut(&section.key) else {
                continue;
            };
            if matches!(target.value, Value::Null) {
                target.value = Value::Map(Vec::new());
            }
            let Value::Map(existing) = &mut target.value else {
                continue;
            };
            for r in resources {
                match existing.iter().find(|e| e.key == r.key) {
                    None => {
                        origin.set(
                            &[section.key.as_str(), r.key.as_str()],
                            imported_origin.child(&[section.key.as_str(), r.key.as_str()]),
                        );
                        existing.push(r);
                    }
                    Some(e) if same(&e.value, &r.value) => {}
                    Some(e) => {
                        let here = origin.child(&[section.key.as_str(), e.key.as_str()]);
                        let from = imported_origin.child(&[section.key.as_str(), r.key.as_str()]);
                        return Err(Error::Invalid {
                            at: self.position(&here, e.key_mark),
                            key: format!("{}.{}", section.key, e.key),
                            message: format!(
                                "{}.{} conflicts with the one that 'include' brings in from {}",
                                section.key,
                                e.key,
                                self.files.get(from.file()).cloned().unwrap_or_default().display()
                            ),
                            allowed: "a name that no included project uses; to change an included service, list an override file in the include's 'path'".into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Takes `key` out of a mapping: its value and the key's position.
fn take_key(node: &mut Node, key: &str) -> Option<(Node, Mark)> {
    let Value::Map(entries) = &mut node.value else {
        return None;
    };
    let i = entries.iter().position(|e| e.key == key)?;
    let e = entries.remove(i);
    Some((e.value, e.key_mark))
}

fn put_key(node: &mut Node, key: &str, (value, key_mark): (Node, Mark)) {
    if let Value::Map(entries) = &mut node.value {
        entries.push(Entry {
            key: key.to_string(),
            key_mark,
            value,
        });
    }
}

fn split_services(node: Node, origin: &Origin, file: PathBuf, dir: &Path) -> Services {
    let mut entries = BTreeMap::new();
    let mut order = Vec::new();
    if let Value::Map(list) = node.value {
        for e in list {
            order.push((e.key.clone(), e.key_mark));
            let o = origin.child(&[e.key.as_str()]);
            entries.insert(e.key, (e.value, o));
        }
    }
    Services {
        file,
        dir: dir.to_path_buf(),
        entries,
        order,
        done: BTreeSet::new(),
    }
}

fn join_services(mut services: Services, mark: Mark, origin: &Origin) -> (Node, Origin) {
    let mut out = origin.clone();
    let mut list = Vec::with_capacity(services.order.len());
    for (name, key_mark) in services.order {
        if let Some((value, o)) = services.entries.remove(&name) {
            out.set(&[name.as_str()], o);
            list.push(Entry {
                key: name,
                key_mark,
                value,
            });
        }
    }
    (Node::new(Value::Map(list), mark), out)
}

/// Two values alike, wherever they were written.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|e| {
                    y.iter()
                        .find(|f| f.key == e.key)
                        .is_some_and(|f| same(&e.value, &f.value))
                })
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (x, y) => x == y,
    }
}

/// Makes the relative paths of a file's services and secrets absolute against `dir`
/// (compose-go's `ResolveRelativePaths`): build contexts, bind-mount sources,
/// `env_file`, watch paths, secret and config files.
pub(crate) fn rebase_paths(tree: &mut Node, dir: &Path) {
    let abs = |s: &str| -> Option<String> {
        if s.starts_with('/') || s.starts_with('~') || s.contains("://") || s.is_empty() {
            return None;
        }
        Some(normalise(&dir.join(s)).to_string_lossy().into_owned())
    };
    let rewrite = |n: &mut Node, f: &dyn Fn(&str) -> Option<String>| {
        if let Value::String(s) = &mut n.value
            && let Some(new) = f(s)
        {
            *s = new;
        }
    };
    let remote_context =
        |s: &str| s.starts_with("git@") || s.starts_with("github.com/") || s.contains("://");
    for section in ["secrets", "configs"] {
        if let Some(Value::Map(items)) = tree.get_mut(section).map(|n| &mut n.value) {
            for item in items {
                if let Some(file) = item.value.get_mut("file") {
                    rewrite(file, &abs);
                }
            }
        }
    }
    let Some(Value::Map(services)) = tree.get_mut("services").map(|n| &mut n.value) else {
        return;
    };
    for svc in services.iter_mut() {
        let svc = &mut svc.value;
        if let Some(build) = svc.get_mut("build") {
            let ctx = |s: &str| if remote_context(s) { None } else { abs(s) };
            match &mut build.value {
                Value::String(_) => rewrite(build, &ctx),
                Value::Map(entries) => match entries.iter_mut().find(|e| e.key == "context") {
                    Some(c) => rewrite(&mut c.value, &ctx),
                    // The default context, '.', is this file's folder too.
                    None => entries.push(Entry {
                        key: "context".into(),
                        key_mark: build.mark,
                        value: Node::new(
                            Value::String(dir.to_string_lossy().into_owned()),
                            build.mark,
                        ),
                    }),
                },
                _ => {}
            }
        }
        if let Some(env_file) = svc.get_mut("env_file") {
            match &mut env_file.value {
                Value::String(_) => rewrite(env_file, &abs),
                Value::Seq(items) => {
                    for item in items {
                        match &mut item.value {
                            Value::String(_) => rewrite(item, &abs),
                            Value::Map(_) => {
                                if let Some(p) = item.get_mut("path") {
                                    rewrite(p, &abs);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(Value::Seq(items)) = svc.get_mut("volumes").map(|n| &mut n.value) {
            for item in items {
                match &mut item.value {
                    Value::String(s) => {
                        if let Some((source, rest)) = s.split_once(':')
                            && source.starts_with('.')
                            && let Some(new) = abs(source)
                        {
                            *s = format!("{new}:{rest}");
                        }
                    }
                    Value::Map(_) => {
                        let bind = matches!(
                            item.get("type").map(|n| &n.value),
                            Some(Value::String(t)) if t == "bind"
                        );
                        if bind && let Some(src) = item.get_mut("source") {
                            rewrite(src, &abs);
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(develop) = svc.get_mut("develop")
            && let Some(Value::Seq(rules)) = develop.get_mut("watch").map(|n| &mut n.value)
        {
            for rule in rules {
                if let Some(p) = rule.get_mut("path") {
                    rewrite(p, &abs);
                }
            }
        }
    }
}

/// An interpolation failure in a file read for `extends` or `include`, at its position.
pub(crate) fn interpolation_error(at: Position, key: &KeyPath, e: InterpolationError) -> Error {
    match e {
        InterpolationError::Required { variable, message } => Error::MissingVariable {
            at,
            key: key.to_string(),
            variable,
            message,
        },
        InterpolationError::Syntax { text, message } => Error::Invalid {
            at,
            key: key.to_string(),
            message: format!("invalid interpolation in '{text}': {message}"),
            allowed: "$VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, and '$$' for a literal '$'".into(),
        },
    }
}
