//! The Dockerfile and build-context checks. Each takes text or a listing and returns
//! findings with the line to look at and a one-line fix.

use std::collections::BTreeMap;
use std::path::Path;

use super::dockerfile::{self, Instruction, Stage};
use super::{Check, Finding, Level};
use crate::build::Dockerignore;

/// What the stack says a built service is, which decides the health-check advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs until stopped; `stack_healthcheck` when the stack file gives it a probe.
    LongRunning { stack_healthcheck: bool },
    /// A job that runs and exits.
    OneShot,
    /// Nothing tells which; no health-check advice.
    Unknown,
}

/// The Dockerfile checks for one service's Dockerfile at `path`.
pub fn check_dockerfile(
    path: &Path,
    text: &str,
    build_args: &BTreeMap<String, String>,
    role: Role,
    service: Option<&str>,
) -> Vec<Finding> {
    let file = dockerfile::parse(text, build_args);
    let mut out = Vec::new();
    let mut add = |check: Check, level: Level, line: usize, message: String, fix: String| {
        out.push(Finding {
            check,
            level,
            file: path.to_path_buf(),
            line: Some(line),
            service: service.map(str::to_string),
            message,
            fix,
        });
    };
    for ins in &file.global_args {
        secret_arg(ins, &mut add);
    }
    let Some(last) = file.stages.last() else {
        return out;
    };
    let mut first_of_repo: BTreeMap<String, &Stage> = BTreeMap::new();
    for stage in &file.stages {
        if !stage.from_stage && !is_scratch(&stage.base) {
            let image = ImageRef::parse(&stage.base);
            if !image.pinned() {
                add(
                    Check::BaseUnpinned,
                    Level::Warning,
                    stage.line,
                    format!(
                        "base image '{}' is not pinned: a rebuild can pick up another release",
                        stage.base
                    ),
                    format!(
                        "pin a patch release (e.g. '{}:<major>.<minor>.<patch>-slim') or a digest ('{}@sha256:…')",
                        image.repo, image.repo
                    ),
                );
            }
            match first_of_repo.get(&image.repo) {
                Some(first) if first.base != stage.base => add(
                    Check::StagePinsDiffer,
                    Level::Warning,
                    stage.line,
                    format!(
                        "this stage uses '{}' but line {} uses '{}': what is built is not what runs",
                        stage.base, first.line, first.base
                    ),
                    "use one ARG for the base (ARG BASE=…, FROM ${BASE}) in every stage"
                        .to_string(),
                ),
                Some(_) => {}
                None => {
                    first_of_repo.insert(image.repo.clone(), stage);
                }
            }
        }
        stage_checks(stage, &mut add);
    }

    if !last.from_stage && !is_scratch(&last.base) && !ImageRef::parse(&last.base).slim() {
        add(
            Check::BaseNotSlim,
            Level::Warning,
            last.line,
            format!(
                "the final stage's base '{}' is not a slim variant: the image ships what it never runs",
                last.base
            ),
            "use the image's '-slim' (or alpine/distroless) variant for the runtime stage"
                .to_string(),
        );
    }
    for ins in last.instructions.iter().filter(|i| i.keyword == "RUN") {
        if let Some(tool) = build_tool(&ins.args) {
            let (message, fix) = if file.stages.len() == 1 {
                (
                    format!(
                        "'{tool}' is installed in a single-stage image: the build tools ship with it"
                    ),
                    "build in a 'builder' stage and COPY --from=builder only the result (wheels, binaries)",
                )
            } else {
                (
                    format!("'{tool}' is installed in the final (runtime) stage"),
                    "move it to the builder stage and COPY --from=builder only the result",
                )
            };
            add(
                Check::BuildToolsInRuntime,
                Level::Warning,
                ins.line,
                message,
                fix.to_string(),
            );
        }
    }
    let user = last.instructions.iter().rev().find(|i| i.keyword == "USER");
    match user {
        None => add(
            Check::RootUser,
            Level::Warning,
            last.line,
            "the final stage has no USER: the container runs as root".to_string(),
            "add 'RUN useradd --system --uid 10001 app' and 'USER app' at the end of the final stage"
                .to_string(),
        ),
        Some(u) if is_root(&u.args) => add(
            Check::RootUser,
            Level::Warning,
            u.line,
            format!("the final stage runs as '{}'", u.args.trim()),
            "switch to a non-root user ('USER app', created with useradd) before the end".to_string(),
        ),
        Some(_) => {}
    }
    let healthcheck = last
        .instructions
        .iter()
        .rev()
        .find(|i| i.keyword == "HEALTHCHECK");
    let probes = healthcheck.is_some_and(|h| !h.args.trim().eq_ignore_ascii_case("none"));
    match role {
        Role::LongRunning {
            stack_healthcheck: false,
        } if !probes => add(
            Check::Healthcheck,
            Level::Warning,
            healthcheck.map_or(last.line, |h| h.line),
            "a long-running service without a health check: dependents cannot wait for it to be ready"
                .to_string(),
            "add 'HEALTHCHECK CMD <probe>' here or a 'healthcheck:' to the service in the stack file"
                .to_string(),
        ),
        Role::OneShot if probes => add(
            Check::Healthcheck,
            Level::Warning,
            healthcheck.map_or(last.line, |h| h.line),
            "a one-shot job with a HEALTHCHECK: it reports 'starting' until it exits; its exit code is its health"
                .to_string(),
            "replace it with 'HEALTHCHECK NONE'; dependents wait with 'service_completed_successfully'"
                .to_string(),
        ),
        _ => {}
    }
    out
}

type Add<'a> = dyn FnMut(Check, Level, usize, String, String) + 'a;

fn stage_checks(stage: &Stage, add: &mut Add<'_>) {
    let pip_env_no_cache = stage.instructions.iter().any(|i| {
        i.keyword == "ENV"
            && dockerfile::assignments(&i.args)
                .iter()
                .any(|(k, v)| k == "PIP_NO_CACHE_DIR" && v.as_deref() != Some("0"))
    });
    let mut code_copied: Option<&Instruction> = None;
    let mut order_reported = false;
    for ins in &stage.instructions {
        match ins.keyword.as_str() {
            "ENV" => {
                for (k, v) in dockerfile::assignments(&ins.args) {
                    if secret_name(&k) && v.as_deref().is_some_and(|v| !v.is_empty()) {
                        add(
                            Check::SecretInImage,
                            Level::Error,
                            ins.line,
                            format!(
                                "ENV '{k}' writes a secret into the image, readable by anyone who has it"
                            ),
                            format!(
                                "remove it here and pass '{k}' at run time (the stack's 'environment:' from .env)"
                            ),
                        );
                    }
                }
            }
            "ARG" => secret_arg(ins, add),
            "COPY" | "ADD" => {
                let (sources, from) = dockerfile::copy_sources(&ins.args);
                if from.is_none() {
                    for s in &sources {
                        if is_secret_file(s) {
                            add(
                                Check::SecretInImage,
                                Level::Error,
                                ins.line,
                                format!("{} '{s}' copies a secret into an image layer, where it stays", ins.keyword),
                                "remove it; pass secrets at run time, or at build time with 'RUN --mount=type=secret'".to_string(),
                            );
                        }
                    }
                    if code_copied.is_none() && sources.iter().any(|s| !is_manifest(s)) {
                        code_copied = Some(ins);
                    }
                }
            }
            "RUN" => {
                let cmd = ins.args.as_str();
                let cached = cmd.contains("type=cache");
                if !order_reported
                    && let (Some(copy), true) = (code_copied, installs_dependencies(cmd))
                {
                    order_reported = true;
                    add(
                        Check::LayerOrder,
                        Level::Warning,
                        copy.line,
                        format!(
                            "the code is copied before the dependencies are installed (line {}): every code change reinstalls them",
                            ins.line
                        ),
                        "COPY the manifests (requirements.txt, pyproject.toml, lock files) and install first, then COPY the code".to_string(),
                    );
                }
                if !cached {
                    let apt = has_words(cmd, &["apt-get", "install"])
                        || has_words(cmd, &["apt", "install"]);
                    if apt && !cmd.contains("/var/lib/apt/lists") {
                        add(
                            Check::PackageCache,
                            Level::Warning,
                            ins.line,
                            "apt's package lists stay in this layer".to_string(),
                            "end the same RUN with '&& rm -rf /var/lib/apt/lists/*'".to_string(),
                        );
                    }
                    if has_words(cmd, &["apk", "add"]) && !cmd.contains("--no-cache") {
                        add(
                            Check::PackageCache,
                            Level::Warning,
                            ins.line,
                            "apk's index stays in this layer".to_string(),
                            "use 'apk add --no-cache'".to_string(),
                        );
                    }
                    let pip = cmd.contains("pip install")
                        || cmd.contains("pip3 install")
                        || cmd.contains("pip wheel");
                    if pip && !cmd.contains("--no-cache-dir") && !pip_env_no_cache {
                        add(
                            Check::PipCache,
                            Level::Warning,
                            ins.line,
                            "pip keeps its download cache in this layer".to_string(),
                            "add '--no-cache-dir' to the pip command".to_string(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn secret_arg(ins: &Instruction, add: &mut Add<'_>) {
    if ins.keyword != "ARG" {
        return;
    }
    for (k, _) in dockerfile::assignments(&ins.args) {
        if secret_name(&k) {
            add(
                Check::SecretInImage,
                Level::Error,
                ins.line,
                format!("ARG '{k}': build arguments are kept in the image's history"),
                "use a build secret ('RUN --mount=type=secret,id=…') or pass it at run time"
                    .to_string(),
            );
        }
    }
}

/// An image reference split for the pin and slim checks.
struct ImageRef {
    repo: String,
    tag: Option<String>,
    digest: bool,
}

impl ImageRef {
    fn parse(reference: &str) -> Self {
        let (name, digest) = match reference.split_once('@') {
            Some((n, _)) => (n, true),
            None => (reference, false),
        };
        let slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match name[slash..].rfind(':') {
            Some(i) => (
                name[..slash + i].to_string(),
                Some(name[slash + i + 1..].to_string()),
            ),
            None => (name.to_string(), None),
        };
        Self { repo, tag, digest }
    }

    /// A digest, or a tag whose version names a patch release (`3.12.7-slim`); Postgres
    /// numbers its patch releases `major.minor` (`18.1`).
    fn pinned(&self) -> bool {
        if self.digest {
            return true;
        }
        let Some(tag) = &self.tag else {
            return false;
        };
        let version = tag.split('-').next().unwrap_or("");
        let parts: Vec<&str> = version.trim_start_matches('v').split('.').collect();
        let numeric = parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        let needed = if crate::stack::image_name(&self.repo) == "postgres" {
            2
        } else {
            3
        };
        numeric && parts.len() >= needed
    }

    fn slim(&self) -> bool {
        const SMALL: [&str; 5] = ["slim", "alpine", "distroless", "minimal", "busybox"];
        let tag = self.tag.as_deref().unwrap_or("");
        SMALL
            .iter()
            .any(|s| tag.contains(s) || self.repo.contains(s))
    }
}

fn is_scratch(base: &str) -> bool {
    base.eq_ignore_ascii_case("scratch")
}

fn is_root(user: &str) -> bool {
    let name = user.trim().split(':').next().unwrap_or("");
    name == "root" || name == "0"
}

/// Whether each of `words` occurs as a whole word in `cmd`, in order.
fn has_words(cmd: &str, words: &[&str]) -> bool {
    let mut tokens = cmd.split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|');
    words.iter().all(|w| tokens.any(|t| t == *w))
}

/// The first compiler or development package a RUN installs, if any.
fn build_tool(cmd: &str) -> Option<String> {
    if cmd.contains("pip wheel") {
        return Some("pip wheel".to_string());
    }
    let installs = ["install", "add"]
        .iter()
        .any(|v| cmd.split_whitespace().any(|t| t == *v));
    if !installs {
        return None;
    }
    const TOOLS: [&str; 8] = [
        "gcc",
        "g++",
        "clang",
        "build-essential",
        "build-base",
        "make",
        "cmake",
        "gfortran",
    ];
    cmd.split_whitespace()
        .find(|t| TOOLS.contains(t) || t.ends_with("-dev") || t.ends_with("-devel"))
        .map(str::to_string)
}

fn installs_dependencies(cmd: &str) -> bool {
    const INSTALLERS: [&str; 12] = [
        "pip install",
        "pip3 install",
        "pip wheel",
        "poetry install",
        "uv sync",
        "uv pip install",
        "pipenv install",
        "npm ci",
        "npm install",
        "yarn install",
        "go mod download",
        "bundle install",
    ];
    INSTALLERS.iter().any(|i| cmd.contains(i))
}

/// Dependency manifests and lock files, which belong before the code.
fn is_manifest(source: &str) -> bool {
    let name = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(source);
    const NAMES: [&str; 16] = [
        "pyproject.toml",
        "poetry.lock",
        "uv.lock",
        "Pipfile",
        "Pipfile.lock",
        "setup.cfg",
        "package.json",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "go.mod",
        "go.sum",
        "Cargo.toml",
        "Cargo.lock",
        "Gemfile",
        "Gemfile.lock",
    ];
    NAMES.contains(&name)
        || ((name.starts_with("requirements") || name.starts_with("constraints"))
            && name.ends_with(".txt"))
}

/// Variable names that carry credentials. Stricter than the masking rule (which also
/// hides `*_CONN`, `*AUTH*`): here a hit is an error, so `AUTH_MANAGER` must not be one.
pub fn secret_name(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    const WORDS: [&str; 9] = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ];
    const NOT: [&str; 3] = ["_FILE", "_PATH", "_DIR"];
    WORDS.iter().any(|w| upper.contains(w)) && !NOT.iter().any(|n| upper.ends_with(n))
}

/// Files that hold secrets by their name: `.env`, keys, credential JSON.
pub fn is_secret_file(path: &str) -> bool {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    if lower == ".env" {
        return true;
    }
    if let Some(suffix) = lower.strip_prefix(".env.") {
        return !matches!(suffix, "example" | "sample" | "template" | "dist");
    }
    const KEYS: [&str; 7] = [
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        ".netrc",
        ".pgpass",
        ".git-credentials",
    ];
    KEYS.contains(&lower.as_str())
        || [".pem", ".key", ".p12", ".pfx"]
            .iter()
            .any(|e| lower.ends_with(e))
        || (lower.ends_with(".json")
            && (lower.contains("credential")
                || lower.contains("service-account")
                || lower.contains("service_account")))
}

/// One path in a build context, relative to it and `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub is_dir: bool,
    /// A directory holding `pyvenv.cfg`.
    pub venv: bool,
}

/// The `.dockerignore` checks for one build context: `dockerignore` is its text (`None`
/// when the file is missing), `entries` what the context holds.
pub fn check_context(
    context: &Path,
    dockerignore: Option<&str>,
    entries: &[Entry],
    service: Option<&str>,
) -> Vec<Finding> {
    let ignore_file = context.join(".dockerignore");
    let mut out = Vec::new();
    let finding = |check, level, file: &Path, message: String, fix: String| Finding {
        check,
        level,
        file: file.to_path_buf(),
        line: None,
        service: service.map(str::to_string),
        message,
        fix,
    };
    if dockerignore.is_none() {
        out.push(finding(
            Check::NoDockerignore,
            Level::Warning,
            &ignore_file,
            "no .dockerignore: the whole folder (.git, .env, data) is sent to the daemon on every build".to_string(),
            "create .dockerignore with at least '.git', '.env*', '.venv' and your data folders".to_string(),
        ));
    }
    let ignore = Dockerignore::parse(dockerignore.unwrap_or(""));
    for entry in entries {
        if ignore.is_excluded(&entry.path) {
            continue;
        }
        let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
        let what = if name.starts_with(".env") && !entry.is_dir {
            Some("an env file")
        } else if entry.is_dir && entry.path == ".git" {
            Some("the git history")
        } else if entry.is_dir && (entry.venv || matches!(name, ".venv" | "venv" | "virtualenv")) {
            Some("a virtualenv")
        } else if entry.is_dir && matches!(name, "data" | "datasets" | "dataset") {
            Some("a data folder")
        } else {
            None
        };
        if let Some(what) = what {
            out.push(finding(
                Check::DockerignoreGap,
                Level::Warning,
                &ignore_file,
                format!(
                    "'{}' ({what}) is in the build context and not ignored",
                    entry.path
                ),
                format!("add '{}' to .dockerignore", ignore_pattern(entry)),
            ));
        }
        if !entry.is_dir && is_secret_file(&entry.path) {
            out.push(finding(
                Check::SecretInContext,
                Level::Error,
                &context.join(&entry.path),
                "looks like a secret and would be sent to the Docker daemon with every build"
                    .to_string(),
                format!("add '{}' to .dockerignore", ignore_pattern(entry)),
            ));
        }
    }
    out
}

fn ignore_pattern(entry: &Entry) -> String {
    let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
    if name.starts_with(".env") {
        ".env*".to_string()
    } else {
        entry.path.clone()
    }
}
