//! Stack files: finding, loading, interpolation, validation, into the resolved [`Stack`].
//!
//! The pipeline: YAML text → positioned tree (yaml.rs, the only YAML-library user) →
//! `<<` merges (node.rs) → key check (schema.rs) → interpolation → raw serde structs
//! (raw.rs) → resolved `Stack` (resolve.rs). Nothing here talks to Docker.

mod envfile;
mod error;
mod import;
mod interpolate;
mod merge;
mod model;
mod networks;
mod node;
mod raw;
mod render;
mod resolve;
mod schema;
mod secrets;
mod yaml;

#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod network_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trust_tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use envfile::parse_env_file;
pub use error::{Error, InterpolationError, MissingBind};
pub use interpolate::interpolate;
pub use model::*;
pub(crate) use networks::implicit_dependencies;
pub use render::render_config;

use crate::model::ProjectName;
use interpolate::interpolate_tracking;
use merge::{Origin, Origins};
use node::{KeyPath, Node, Value};

/// The names tried, in order, when no file is given (devstack's own first, then
/// Compose's).
pub const FILE_NAMES: [&str; 5] = [
    "devstack.yaml",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// What the CLI passes to [`load`]; tests build it by hand.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The first `-f`; `None` means `COMPOSE_FILE`, else [`find_file`] in `cwd` and the
    /// override file next to it (see [`stack_files`]).
    pub file: Option<PathBuf>,
    /// Further `-f` files, merged over `file` in order.
    pub extra_files: Vec<PathBuf>,
    pub cwd: PathBuf,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--env-file`: replaces the default `.env` next to the stack file.
    pub env_files: Vec<PathBuf>,
    /// `--profile`; when empty, `COMPOSE_PROFILES` in `environment` (or `.env`).
    pub profiles: Vec<String>,
    /// Warnings become errors.
    pub strict: bool,
    /// The process environment (callers pass `std::env::vars()`).
    pub environment: BTreeMap<String, String>,
}

/// The first of [`FILE_NAMES`] present in `cwd`.
pub fn find_file(cwd: &Path) -> Result<PathBuf, Error> {
    FILE_NAMES
        .iter()
        .map(|n| cwd.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::NotFound {
            dir: cwd.to_path_buf(),
            tried: FILE_NAMES.iter().map(|s| s.to_string()).collect(),
        })
}

/// The override file merged over a default file found in a directory, as in Compose.
pub const OVERRIDE_NAMES: [&str; 5] = [
    "devstack.override.yaml",
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// The stack files, in merge order: `-f` (all of them), else `COMPOSE_FILE` (from the
/// environment or the `.env` of the working directory, split at
/// `COMPOSE_PATH_SEPARATOR`, default ':'), else the default file found in `cwd` and
/// the override file next to it when there is one.
pub fn stack_files(opts: &LoadOptions) -> Result<Vec<PathBuf>, Error> {
    let abs = |f: &Path| resolve::normalise(&opts.cwd.join(f));
    if let Some(first) = &opts.file {
        return Ok(std::iter::once(first)
            .chain(opts.extra_files.iter())
            .map(|f| abs(f))
            .collect());
    }
    let dotenv = || -> Result<BTreeMap<String, String>, Error> {
        let path = match opts.env_files.first() {
            Some(f) => abs(f),
            None => opts.cwd.join(".env"),
        };
        match read_text_file(&path) {
            Ok(text) => Ok(resolve::read_env(&text, &path, &opts.environment)?
                .into_iter()
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(reason) => Err(Error::Read { path, reason }),
        }
    };
    let compose_var = |name: &str, dotenv: &BTreeMap<String, String>| {
        opts.environment
            .get(name)
            .or_else(|| dotenv.get(name))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let env = if opts.environment.contains_key("COMPOSE_FILE") {
        BTreeMap::new()
    } else {
        dotenv()?
    };
    if let Some(list) = compose_var("COMPOSE_FILE", &env) {
        let sep = compose_var("COMPOSE_PATH_SEPARATOR", &env).unwrap_or_else(|| ":".into());
        let files: Vec<PathBuf> = list
            .split(sep.as_str())
            .filter(|f| !f.is_empty())
            .map(|f| abs(Path::new(f)))
            .collect();
        if !files.is_empty() {
            return Ok(files);
        }
    }
    let first = find_file(&opts.cwd)?;
    let mut files = vec![first];
    if let Some(over) = OVERRIDE_NAMES
        .iter()
        .map(|n| opts.cwd.join(n))
        .find(|p| p.is_file())
    {
        files.push(over);
    }
    Ok(files)
}

/// Finds (or takes `-f`), reads, merges and loads the stack files.
pub fn load(opts: &LoadOptions) -> Result<Stack, Error> {
    let mut sources = Vec::new();
    for file in stack_files(opts)? {
        let text = read_text_file(&file).map_err(|reason| Error::Read {
            path: file.clone(),
            reason,
        })?;
        sources.push((file, text));
    }
    let mut secrets = SecretValues::default();
    load_sources(&sources, opts, &mut secrets).map_err(|e| e.redact(&secrets))
}

/// A stack or env file, refused when it is not a regular file or is over the size cap.
pub(crate) fn read_text_file(path: &Path) -> std::io::Result<String> {
    crate::capped::read_capped(path, crate::capped::MAX_TEXT_FILE)
}

/// Loads stack-file text as if read from `file` (whose directory is the project dir).
///
/// Values of secret-looking variables (see [`looks_secret`]) are masked in error
/// messages, wherever interpolation put them, and kept in the stack's settings so
/// `config` masks them too.
pub fn load_str(yaml: &str, file: &Path, opts: &LoadOptions) -> Result<Stack, Error> {
    let mut secrets = SecretValues::default();
    load_sources(
        &[(file.to_path_buf(), yaml.to_string())],
        opts,
        &mut secrets,
    )
    .map_err(|e| e.redact(&secrets))
}

/// One file's text as checked trees, one per YAML document (Compose merges a file's
/// documents in order): YAML, `<<` merges, the key check (its warnings go to
/// `warnings`).
fn parse_file(text: &str, file: &Path, warnings: &mut Vec<Diagnostic>) -> Result<Vec<Node>, Error> {
    let mut docs = yaml::parse_documents(text).map_err(|e| Error::Syntax {
        at: Position {
            file: file.to_path_buf(),
            line: e.mark.line,
            column: e.mark.column,
        },
        message: e.message,
    })?;
    // An empty document between `---` lines adds nothing; a file of nothing is refused
    // below like any other top level that is not a mapping.
    if docs.len() > 1 {
        docs.retain(|d| !matches!(d.value, Value::Null));
    }
    docs.into_iter()
        .map(|doc| check_document(doc, file, warnings))
        .collect()
}

fn check_document(
    mut root: Node,
    file: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Node, Error> {
    let single = Origins::single(file.to_path_buf());
    if let Err(e) = node::apply_merges(&mut root, &KeyPath::root()) {
        return Err(Error::Invalid {
            at: single.position(&root, &e.path, false),
            key: e.path.to_string(),
            message: "a merge key takes an alias to a mapping or a list of them".into(),
            allowed: "'<<: *anchor' or '<<: [*a, *b]'".into(),
        });
    }
    if !matches!(root.value, Value::Map(_)) {
        return Err(Error::Invalid {
            at: single.position(&root, &KeyPath::root(), false),
            key: String::new(),
            message: "a stack file is a mapping at its top level".into(),
            allowed: "'name', 'services', 'volumes', 'x-devstack', 'x-*' extension fields".into(),
        });
    }
    warnings.extend(schema::check(&mut root, file)?);
    Ok(root)
}

fn load_sources(
    sources: &[(PathBuf, String)],
    opts: &LoadOptions,
    secrets: &mut SecretValues,
) -> Result<Stack, Error> {
    let given: Vec<PathBuf> = sources
        .iter()
        .map(|(f, _)| resolve::normalise(&opts.cwd.join(f)))
        .collect();
    let Some(file) = given.first().cloned() else {
        return Err(Error::NotFound {
            dir: opts.cwd.clone(),
            tried: FILE_NAMES.iter().map(|s| s.to_string()).collect(),
        });
    };
    // Relative paths in every file resolve against the first file's directory, and
    // its `.env` is the one read (Compose's project directory).
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => opts.cwd.clone(),
    };

    let mut warnings = Vec::new();
    let mut trees = Vec::with_capacity(sources.len());
    // One entry per tree: a file of several documents is listed once per document.
    let mut files = Vec::with_capacity(sources.len());
    for ((_, text), path) in sources.iter().zip(&given) {
        for doc in parse_file(text, path, &mut warnings)? {
            trees.push(doc);
            files.push(path.clone());
        }
    }
    if opts.strict {
        strict(&warnings)?;
    }

    let (vars, from_files) = variables(opts, &dir)?;
    // Secret-looking variables of the env files, and those of the environment that the
    // file uses: their values are masked wherever interpolation puts them.
    let used = std::cell::RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        used.borrow_mut().insert(name.to_string());
        vars.get(name).cloned()
    };
    let mut failed = None;
    let mut port_texts_of_files = Vec::with_capacity(trees.len());
    for (root, path) in trees.iter_mut().zip(&files) {
        let single = Origins::single(path.clone());
        let mut unset: Vec<(String, KeyPath)> = Vec::new();
        let mut typos: Vec<(String, KeyPath)> = Vec::new();
        let raw_ports = port_texts(root);
        let interpolated =
            interpolate_tree(root, &KeyPath::root(), &lookup, &mut unset, &mut typos);
        // Per file: indices of `ports` items shift once files are merged.
        port_texts_of_files.push((raw_ports, port_texts(root)));
        for (text, p) in typos {
            warnings.push(Diagnostic {
                position: Some(single.position(root, &p, false)),
                key: p.to_string(),
                message: format!(
                    "'{text}' is kept as written, '$' included (a '$' without a name after it is literal, as in Compose); for a variable write '${{NAME}}' without the space, for a literal '$' write '$$'"
                ),
            });
        }
        for (name, p) in unset {
            warnings.push(Diagnostic {
                position: Some(single.position(root, &p, false)),
                key: p.to_string(),
                message: format!("variable '{name}' is not set; using an empty string"),
            });
        }
        if let Err((p, e)) = interpolated {
            failed = Some((single.position(root, &p, false), p, e));
            break;
        }
    }
    // `extends` and `include`, per file as in compose-go, before the files are merged.
    let mut all_files = files.clone();
    let mut trees: Vec<(Node, Origin)> = trees
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, Origin::File(i)))
        .collect();
    if failed.is_none() {
        let parse = |path: &Path, warnings: &mut Vec<Diagnostic>| {
            let text = read_text_file(path).map_err(|reason| Error::Read {
                path: path.to_path_buf(),
                reason,
            })?;
            parse_file(&text, path, warnings)
        };
        let interpolate = |node: &mut Node,
                           lookup: &dyn Fn(&str) -> Option<String>,
                           path: &Path,
                           warnings: &mut Vec<Diagnostic>| {
            let (mut unset, mut typos) = (Vec::new(), Vec::new());
            let single = Origins::single(path.to_path_buf());
            interpolate_tree(node, &KeyPath::root(), lookup, &mut unset, &mut typos).map_err(
                |(p, e)| import::interpolation_error(single.position(node, &p, false), &p, e),
            )?;
            for (name, p) in unset {
                warnings.push(Diagnostic {
                    position: Some(single.position(node, &p, false)),
                    key: p.to_string(),
                    message: format!("variable '{name}' is not set; using an empty string"),
                });
            }
            Ok(())
        };
        let mut imports = import::Imports {
            files: &mut all_files,
            warnings: &mut warnings,
            vars: &vars,
            parse: &parse,
            interpolate: &interpolate,
        };
        let mut done = Vec::with_capacity(trees.len());
        for (i, (tree, origin)) in trees.into_iter().enumerate() {
            let own = files.get(i).cloned().unwrap_or_default();
            done.push(imports.apply(tree, origin, &dir, &[own])?);
        }
        trees = done;
    }
    // Text a stack file itself spells out (an image name, a literal class path) is not
    // worth hiding, even when a `.env` value has the same text.
    let spelled_out = |value: &str| sources.iter().any(|(_, text)| text.contains(value));
    let bare_number = |value: &str| value.chars().all(|c| c.is_ascii_digit());
    for (name, value) in &vars {
        let used = used.borrow().contains(name);
        let from_file = from_files.contains(name);
        if looks_secret(name) && (from_file || used) {
            secrets.insert(value);
        }
        // Every `.env` value the file uses, whatever its name (`DB_PASS`, `*_PW`): only
        // text the stack file itself spells out (an image name, a literal class path)
        // is not worth hiding, nor a bare number (a port, a count: masking `27596`
        // hid the port in every message and broke the numbers of `ps --json`); a
        // number under a secret-looking name is masked above.
        if from_file && used && !spelled_out(value) && !bare_number(value) {
            secrets.insert(value);
        }
        if from_file || used {
            secrets.insert_url_passwords(value);
        }
    }
    for (root, _) in &trees {
        collect_url_passwords(root, secrets);
    }
    if !secrets.is_empty() {
        for (root, _) in &trees {
            taint(root, &KeyPath::root(), secrets);
        }
    }
    if let Some((at, path, e)) = failed {
        return Err(match e {
            InterpolationError::Required { variable, message } => Error::MissingVariable {
                at,
                key: path.to_string(),
                variable,
                message,
            },
            InterpolationError::Syntax { text, message } => Error::Invalid {
                at,
                key: path.to_string(),
                message: format!("invalid interpolation in '{text}': {message}"),
                allowed: "$VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, and '$$' for a literal '$'".into(),
            },
        });
    }

    if opts.strict {
        strict(&warnings)?;
    }

    let (root, tree) = merge::merge_with_origins(trees).map_err(|e| Error::Invalid {
        at: Position {
            file: all_files.get(e.file).cloned().unwrap_or_default(),
            line: e.mark.line.max(1),
            column: e.mark.column.max(1),
        },
        key: e.path.to_string(),
        message: e.message,
        allowed: "a value of the same kind as in the earlier file, or one tagged '!override' to replace it, or '!reset' to remove it".into(),
    })?;
    let origins = Origins {
        files: all_files,
        tree,
    };
    let pos = |path: &KeyPath, root: &Node, key: bool| origins.position(root, path, key);
    if let Some((path, first)) = case_collision(&root) {
        return Err(Error::Invalid {
            at: pos(&path, &root, true),
            key: path.to_string(),
            message: format!(
                "service '{}' differs from service '{first}' only in letter case; Docker's DNS does not tell them apart",
                path.last_key().unwrap_or_default()
            ),
            allowed: "service names that differ in more than letter case; rename one".into(),
        });
    }

    let raw = raw::deserialize(&root).map_err(|e| Error::Invalid {
        at: pos(&e.path, &root, false),
        key: e.path.to_string(),
        message: shape_message(&e.message),
        allowed: allowed_for(&e.path, &e.message).into(),
    })?;

    let project = project_name(
        opts,
        vars.get("COMPOSE_PROJECT_NAME").map(String::as_str),
        raw.name.as_ref().map(|t| t.0.as_str()),
        &dir,
        || pos(&KeyPath::root().key("name"), &root, false),
    )?;

    // As Compose: `--profile` replaces COMPOSE_PROFILES (environment or .env), it does
    // not add to it.
    let mut profiles: BTreeSet<String> = opts.profiles.iter().cloned().collect();
    if profiles.is_empty()
        && let Some(p) = vars.get("COMPOSE_PROFILES")
    {
        profiles.extend(
            p.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }

    let env_file_names = match opts.env_files.as_slice() {
        [] => format!("'{}'", dir.join(".env").display()),
        [one] => format!("'{}'", resolve::normalise(&opts.cwd.join(one)).display()),
        _ => "an --env-file".to_string(),
    };
    let origin_of = |name: &str| {
        if opts.environment.contains_key(name) {
            "set in the environment".to_string()
        } else if from_files.contains(name) {
            format!("set in {env_file_names}")
        } else {
            "not set: the file's default applies".to_string()
        }
    };

    let cx = resolve::Context {
        root: &root,
        origins: &origins,
        dir: &dir,
        vars: &vars,
        home: opts.environment.get("HOME").map(String::as_str),
        project: &project,
        profiles: &profiles,
        missing_binds: Default::default(),
    };
    let resolve::Resolved {
        services,
        volumes,
        networks,
        mut settings,
    } = resolve::resolve(&cx, raw, &mut warnings)?;
    // `env_file:` values reach containers only, but a message may still quote one.
    for service in services.values() {
        for env in service.environment.values() {
            if matches!(env.source, EnvSource::EnvFile(_))
                && !spelled_out(&env.value)
                && !bare_number(&env.value)
            {
                secrets.insert(&env.value);
            }
            secrets.insert_url_passwords(&env.value);
        }
    }
    // The project name is in every object's name: masking it would hide nothing.
    secrets.remove(project.as_str());
    settings.secret_values = secrets.clone();
    for (raw, expanded) in &port_texts_of_files {
        for (service, ports) in port_variables(raw, expanded, &vars, &origin_of) {
            settings
                .port_variables
                .entry(service)
                .or_default()
                .extend(ports);
        }
    }
    if opts.strict {
        strict(&warnings)?;
    }
    Ok(Stack {
        project,
        file: file.clone(),
        dir,
        services,
        volumes,
        networks,
        warnings,
        settings,
    })
}

/// The text of each service's published port (a short-syntax string, or a long one's
/// `published`), by service and index: read before and after interpolation.
/// The flag in the key marks a long-syntax port, whose text is only `published`.
fn port_texts(root: &Node) -> BTreeMap<(String, usize, bool), String> {
    let mut out = BTreeMap::new();
    let services = KeyPath::root().key("services");
    let Some(Value::Map(entries)) = root.at(&services).map(|n| &n.value) else {
        return out;
    };
    for e in entries {
        let ports = services.key(&e.key).key("ports");
        let Some(Value::Seq(items)) = root.at(&ports).map(|n| &n.value) else {
            continue;
        };
        for i in 0..items.len() {
            let at = ports.index(i);
            let text = match root.at(&at).map(|n| &n.value) {
                Some(Value::String(s)) => Some((false, s.clone())),
                Some(Value::Map(_)) => match root.at(&at.key("published")).map(|n| &n.value) {
                    Some(Value::String(s)) => Some((true, s.clone())),
                    _ => None,
                },
                _ => None,
            };
            if let Some((long, t)) = text {
                out.insert((e.key.clone(), i, long), t);
            }
        }
    }
    out
}

/// For each port text that used a variable: the host ports it gave, each with the
/// variable whose value (or, unset, whose default) made it.
fn port_variables(
    raw: &BTreeMap<(String, usize, bool), String>,
    expanded: &BTreeMap<(String, usize, bool), String>,
    vars: &BTreeMap<String, String>,
    origin_of: &dyn Fn(&str) -> String,
) -> BTreeMap<crate::model::ServiceName, BTreeMap<u16, PortVariable>> {
    let mut out: BTreeMap<crate::model::ServiceName, BTreeMap<u16, PortVariable>> = BTreeMap::new();
    for (key, text) in raw {
        let names = variable_names(text);
        if names.is_empty() {
            continue;
        }
        let Some(now) = expanded.get(key) else {
            continue;
        };
        let hosts: Vec<u16> = if key.2 {
            // A long syntax's `published`: a port or a range.
            now.split('-')
                .next()
                .and_then(|p| p.trim().parse().ok())
                .into_iter()
                .collect()
        } else {
            resolve::parse_port(now)
                .map(|bindings| bindings.iter().filter_map(|b| b.host_port).collect())
                .unwrap_or_default()
        };
        for host in hosts {
            // The variable whose value is the port; else one that is unset (its default
            // made the port); else the first one used.
            let port = host.to_string();
            let name = names
                .iter()
                .find(|n| vars.get(*n).is_some_and(|v| v.trim() == port))
                .or_else(|| names.iter().find(|n| !vars.contains_key(*n)))
                .unwrap_or(&names[0]);
            out.entry(crate::model::ServiceName::new(key.0.clone()))
                .or_default()
                .insert(
                    host,
                    PortVariable {
                        name: name.clone(),
                        origin: origin_of(name),
                    },
                );
        }
    }
    out
}

/// Names of the variables `$NAME` / `${NAME…}` in `s` (not `$$`), in order.
fn variable_names(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => i += 2,
            Some('{') => {
                let name: String = chars[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                i += 2 + name.len();
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
            }
            _ => {
                let name: String = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                i += 1 + name.len();
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

fn strict(warnings: &[Diagnostic]) -> Result<(), Error> {
    match warnings.first() {
        None => Ok(()),
        Some(w) => Err(Error::Strict {
            at: w.position.clone().unwrap_or(Position {
                file: PathBuf::new(),
                line: 1,
                column: 1,
            }),
            key: w.key.clone(),
            message: w.message.clone(),
        }),
    }
}

/// Interpolation variables: the `.env` next to the stack file (or the `--env-file`s),
/// overridden by the environment, plus `DEVSTACK_UID`/`DEVSTACK_GID` when unset so a
/// stack can run containers as the user who owns the bind-mounted files.
///
/// Also returns the names that came from files (rather than the environment).
fn variables(
    opts: &LoadOptions,
    dir: &Path,
) -> Result<(BTreeMap<String, String>, BTreeSet<String>), Error> {
    let files: Vec<(PathBuf, bool)> = if opts.env_files.is_empty() {
        vec![(dir.join(".env"), false)]
    } else {
        opts.env_files
            .iter()
            .map(|f| (resolve::normalise(&opts.cwd.join(f)), true))
            .collect()
    };
    let mut from_files: BTreeMap<String, String> = BTreeMap::new();
    for (path, required) in files {
        let text = match read_text_file(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(reason) => return Err(Error::Read { path, reason }),
        };
        // `$VAR` in a .env value sees the environment first, then earlier lines.
        let mut scope = from_files.clone();
        scope.extend(opts.environment.clone());
        for (k, v) in resolve::read_env(&text, &path, &scope)? {
            from_files.insert(k, v);
        }
    }
    let names: BTreeSet<String> = from_files.keys().cloned().collect();
    let mut vars = from_files;
    vars.extend(opts.environment.clone());
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        use std::os::unix::fs::MetadataExt;
        vars.entry("DEVSTACK_UID".into())
            .or_insert_with(|| meta.uid().to_string());
        vars.entry("DEVSTACK_GID".into())
            .or_insert_with(|| meta.gid().to_string());
    }
    Ok((vars, names))
}

/// Interpolates every string value (never keys) in place; returns the first failure
/// with its path, and collects the variables used while unset (first path of each).
fn interpolate_tree(
    node: &mut Node,
    path: &KeyPath,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<(String, KeyPath)>,
    typos: &mut Vec<(String, KeyPath)>,
) -> Result<(), (KeyPath, InterpolationError)> {
    match &mut node.value {
        Value::String(s) => {
            if let Some(t) = interpolate::typo_hint(s) {
                typos.push((t, path.clone()));
            }
            let mut names = Vec::new();
            *s = interpolate_tracking(s, lookup, &mut names).map_err(|e| (path.clone(), e))?;
            for n in names {
                if !unset.iter().any(|(u, _)| *u == n) {
                    unset.push((n, path.clone()));
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &path.index(i), lookup, unset, typos)?;
            }
        }
        Value::Map(entries) => {
            for e in entries.iter_mut() {
                let p = path.key(&e.key);
                interpolate_tree(&mut e.value, &p, lookup, unset, typos)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// The second of two service names that differ only in case (`WEB` and `web`: one name
/// on the network's DNS), with the first.
fn case_collision(root: &Node) -> Option<(KeyPath, String)> {
    let Value::Map(top) = &root.value else {
        return None;
    };
    let services = top.iter().find(|e| e.key == "services")?;
    let Value::Map(entries) = &services.value.value else {
        return None;
    };
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for e in entries {
        if let Some(first) = seen.insert(e.key.to_lowercase(), &e.key) {
            return Some((
                KeyPath::root().key("services").key(&e.key),
                first.to_string(),
            ));
        }
    }
    None
}

/// Records the password of every URL written in a string value of the file.
fn collect_url_passwords(node: &Node, secrets: &mut SecretValues) {
    match &node.value {
        Value::String(s) => secrets.insert_url_passwords(s),
        Value::Seq(items) => items.iter().for_each(|i| collect_url_passwords(i, secrets)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|e| collect_url_passwords(&e.value, secrets)),
        _ => {}
    }
}

/// Marks the key paths of string values that hold a secret value.
fn taint(node: &Node, path: &KeyPath, secrets: &mut SecretValues) {
    match &node.value {
        Value::String(s) if secrets.contained_in(s) => secrets.taint(path.to_string()),
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                taint(item, &path.index(i), secrets);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                taint(&e.value, &path.key(&e.key), secrets);
            }
        }
        _ => {}
    }
}

/// Compose's order: `-p`, then `COMPOSE_PROJECT_NAME` (environment, then `.env`), then
/// `name:` in the file, then the directory's name.
fn project_name(
    opts: &LoadOptions,
    from_variable: Option<&str>,
    from_file: Option<&str>,
    dir: &Path,
    name_pos: impl Fn() -> Position,
) -> Result<ProjectName, Error> {
    let (raw, source_desc, at, written) = if let Some(p) = &opts.project_name {
        (p.clone(), "from -p", None, true)
    } else if let Some(v) = from_variable.filter(|v| !v.is_empty()) {
        (v.to_string(), "from COMPOSE_PROJECT_NAME", None, true)
    } else if let Some(n) = from_file.filter(|n| !n.is_empty()) {
        (n.to_string(), "from 'name:'", Some(name_pos()), true)
    } else {
        let d = dir
            .file_name()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        (d, "from the stack file's directory name", None, false)
    };
    let err = |raw: String| Error::ProjectName {
        at: at.clone(),
        raw,
        source_desc: source_desc.into(),
    };
    let name = ProjectName::normalise(&raw).ok_or_else(|| err(raw.clone()))?;
    // A name the user wrote must already be valid, as Compose requires: normalising
    // `../../etc` into `etc` silently would act on another project's objects. Only a
    // directory name is normalised (Compose does that too).
    if written && name.as_str() != raw {
        return Err(err(raw));
    }
    Ok(name)
}

/// serde's message, in the words of a stack file rather than of Rust types.
fn shape_message(m: &str) -> String {
    if m.contains("did not match any variant") {
        "this value has a form that is not allowed here".into()
    } else if m.starts_with("invalid length") && m.contains("expected struct") {
        // A list where a mapping belongs ("expected struct RawVolume with 3 elements").
        "wrong kind of value: a list".into()
    } else if let Some(rest) = m.strip_prefix("invalid type: ") {
        // serde names what it expected in Rust's words ("struct RawHealthcheck", "u16");
        // what is allowed is said separately, in the file's words.
        let got = rest.split(", expected").next().unwrap_or(rest);
        format!("wrong kind of value: {got}")
    } else {
        m.to_string()
    }
}

/// What a key takes, for the message of a value of the wrong shape.
fn allowed_for(path: &KeyPath, serde_message: &str) -> &'static str {
    let in_service = matches!(path.0.first(), Some(node::Seg::Key(k)) if k == "services");
    match path.last_key() {
        Some("ports") => resolve::PORT_ALLOWED,
        Some("volumes") if in_service && path.0.len() > 2 => resolve::VOLUME_ALLOWED,
        Some("secrets") if in_service => secrets::REFERENCE_ALLOWED,
        Some("secrets") => secrets::DEFINITION_ALLOWED,
        Some("volumes") => {
            "a mapping of volume names to settings ('name', 'external', 'labels') or to nothing"
        }
        Some("services") if path.0.len() == 1 => "a mapping of service names to their settings",
        Some("environment") | Some("labels") | Some("args") => {
            "a mapping of KEY: value, or a list of 'KEY=value' / 'KEY'"
        }
        Some("command") | Some("entrypoint") => {
            "a string (split like a shell) or a list of strings"
        }
        Some("test") => "['CMD', 'prog', 'arg'…], ['CMD-SHELL', 'command'], ['NONE'], or a string",
        Some("healthcheck") => {
            "a mapping with 'test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'"
        }
        Some("env_file") => {
            "a path, a list of paths, or a list of mappings with 'path' and 'required'"
        }
        Some("depends_on") => {
            "a list of service names, or a mapping of service names to 'condition', 'required', 'restart'"
        }
        Some("build") => {
            "a path to the build context, or a mapping with 'context', 'dockerfile', 'args', 'target'"
        }
        Some("profiles") | Some("ignore") => "a list of strings",
        Some("interval" | "timeout" | "start_period" | "start_interval" | "debounce") => {
            resolve::DURATION_ALLOWED
        }
        Some("retries" | "log_lines") => "a whole number",
        Some("external") => "true or false (or the older '{name: x}')",
        Some("disable" | "read_only" | "required" | "restart_on_change") => "true or false",
        Some("watch") => "a list of mappings with 'path', 'action', 'target', 'ignore'",
        _ if path.0.len() == 2 && in_service => {
            "a mapping of settings ('image', 'build', 'command', 'environment', 'ports', …)"
        }
        // serde's "expected struct RawX" is not for a user's eyes, but it knows the kind.
        _ if serde_message.contains("expected struct")
            || serde_message.contains("expected a map") =>
        {
            "a mapping"
        }
        _ if serde_message.contains("expected a sequence") => "a list",
        _ => "a string",
    }
}
