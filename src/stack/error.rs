//! Why a stack file could not be loaded, in words a user can act on.
//!
//! Every variant about the file carries its position (file, line, column), the key path
//! (`services.web.ports[0]`) and what is allowed there. Nothing here parses or decides.

use std::path::PathBuf;

use super::model::{Position, SecretValues};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no stack file in '{}': looked for {}; name one with -f", dir.display(), tried.join(", "))]
    NotFound { dir: PathBuf, tried: Vec<String> },

    // Not a `#[source]`: the reason is part of the message already, and the printer
    // of a whole chain would say it twice.
    #[error("cannot read '{}': {reason}", path.display())]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },

    #[error("{at}: not valid YAML: {message}")]
    Syntax { at: Position, message: String },

    #[error(
        "{at}: unknown key '{key}'{}; allowed here: {allowed}",
        did_you_mean(suggestion)
    )]
    UnknownKey {
        at: Position,
        key: String,
        suggestion: Option<String>,
        allowed: String,
    },

    /// A Compose key devstack does not implement yet, under `--strict`.
    #[error(
        "{at}: '{key}': {message} (an error because of --strict; without it this is a warning)"
    )]
    Strict {
        at: Position,
        key: String,
        message: String,
    },

    #[error("{at}: '{key}': {message}; allowed: {allowed}")]
    Invalid {
        at: Position,
        key: String,
        message: String,
        allowed: String,
    },

    #[error(
        "{at}: '{key}': required variable '{variable}' is not set: {message} (set it in the environment or in the .env file next to the stack file)"
    )]
    MissingVariable {
        at: Position,
        key: String,
        variable: String,
        message: String,
    },

    #[error(
        "{at}: '{key}': dependency cycle {cycle}; a service cannot wait for itself, directly or through others"
    )]
    DependencyCycle {
        at: Position,
        key: String,
        cycle: String,
    },

    #[error(
        "{at}: '{key}': depends on unknown service '{service}'; services in this file: {allowed}"
    )]
    UnknownDependency {
        at: Position,
        key: String,
        service: String,
        allowed: String,
    },

    #[error(
        "{at}: '{key}': depends on service '{service}', which is disabled by its profiles [{profiles}]; enable one with --profile or COMPOSE_PROFILES, or mark the dependency 'required: false'"
    )]
    DisabledDependency {
        at: Position,
        key: String,
        service: String,
        profiles: String,
    },

    #[error("{at}: '{key}': bind-mount source '{}' does not exist; create it first (mkdir -p '{}') — devstack does not create it for you, unlike Compose which creates it owned by root", path.display(), path.display())]
    MissingBindSource {
        at: Position,
        key: String,
        path: PathBuf,
    },

    #[error("{at}: '{key}': env file '{}' does not exist; create it, fix the path, or mark it 'required: false'", path.display())]
    MissingEnvFile {
        at: Position,
        key: String,
        path: PathBuf,
    },

    #[error(
        "{at}: '{key}': service has neither 'image' nor 'build'; allowed: an 'image:' to run, a 'build:' to build one, or both"
    )]
    NoImage { at: Position, key: String },

    #[error(
        "{at}: '{key}': named volume '{volume}' is not declared under the top-level 'volumes:'; declared: {allowed}"
    )]
    UndeclaredVolume {
        at: Position,
        key: String,
        volume: String,
        allowed: String,
    },

    /// `at` is the `name:` key when the name came from the file; `source` says where
    /// the name came from otherwise (`-p`, the directory).
    #[error(
        "{}project name '{raw}' ({source_desc}) is not allowed: a project name must consist only of lowercase letters (a-z), digits, '-' and '_', and start with a letter or digit (Compose's rule); name the project with -p or 'name:'",
        at_prefix(at)
    )]
    ProjectName {
        at: Option<Position>,
        raw: String,
        source_desc: String,
    },

    /// A syntax error inside a `.env` or `env_file:` file; `key` is the variable, if known.
    #[error(
        "{at}: {message}{}; allowed: KEY=VALUE lines, 'export KEY=VALUE', comments starting with '#', values in 'single' or \"double\" quotes",
        key_hint(key)
    )]
    EnvFile {
        at: Position,
        key: String,
        message: String,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

fn at_prefix(at: &Option<Position>) -> String {
    match at {
        Some(p) => format!("{p}: "),
        None => String::new(),
    }
}

fn key_hint(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(" (variable '{key}')")
    }
}

impl Error {
    /// The error with secret values masked in everything it quotes (values, paths,
    /// names): a message must not show what `config` masks.
    pub(crate) fn redact(self, secrets: &SecretValues) -> Error {
        let key_of = |e: &Error| match e {
            Error::UnknownKey { key, .. }
            | Error::Strict { key, .. }
            | Error::Invalid { key, .. }
            | Error::MissingVariable { key, .. }
            | Error::DependencyCycle { key, .. }
            | Error::UnknownDependency { key, .. }
            | Error::DisabledDependency { key, .. }
            | Error::MissingBindSource { key, .. }
            | Error::MissingEnvFile { key, .. }
            | Error::NoImage { key, .. }
            | Error::UndeclaredVolume { key, .. }
            | Error::EnvFile { key, .. } => key.clone(),
            _ => String::new(),
        };
        let at_key = key_of(&self);
        let m = |s: String| secrets.mask_message(&s, &at_key);
        let p = |path: PathBuf| {
            let text = path.to_string_lossy();
            let masked = secrets.mask(&text);
            if masked == text {
                path
            } else {
                PathBuf::from(masked)
            }
        };
        match self {
            e @ (Error::NotFound { .. } | Error::Syntax { .. }) => e,
            Error::Read { path, reason } => Error::Read {
                path: p(path),
                reason,
            },
            Error::UnknownKey {
                at,
                key,
                suggestion,
                allowed,
            } => Error::UnknownKey {
                at,
                key: m(key),
                suggestion,
                allowed,
            },
            Error::Strict { at, key, message } => Error::Strict {
                at,
                key: m(key),
                message: m(message),
            },
            Error::Invalid {
                at,
                key,
                message,
                allowed,
            } => Error::Invalid {
                at,
                key: m(key),
                message: m(message),
                allowed,
            },
            Error::MissingVariable {
                at,
                key,
                variable,
                message,
            } => Error::MissingVariable {
                at,
                key: m(key),
                variable,
                message: m(message),
            },
            Error::DependencyCycle { at, key, cycle } => Error::DependencyCycle {
                at,
                key: m(key),
                cycle: m(cycle),
            },
            Error::UnknownDependency {
                at,
                key,
                service,
                allowed,
            } => Error::UnknownDependency {
                at,
                key: m(key),
                service: m(service),
                allowed: m(allowed),
            },
            Error::DisabledDependency {
                at,
                key,
                service,
                profiles,
            } => Error::DisabledDependency {
                at,
                key: m(key),
                service: m(service),
                profiles: m(profiles),
            },
            Error::MissingBindSource { at, key, path } => Error::MissingBindSource {
                at,
                key: m(key),
                path: p(path),
            },
            Error::MissingEnvFile { at, key, path } => Error::MissingEnvFile {
                at,
                key: m(key),
                path: p(path),
            },
            Error::NoImage { at, key } => Error::NoImage { at, key: m(key) },
            Error::UndeclaredVolume {
                at,
                key,
                volume,
                allowed,
            } => Error::UndeclaredVolume {
                at,
                key: m(key),
                volume: m(volume),
                allowed: m(allowed),
            },
            Error::ProjectName {
                at,
                raw,
                source_desc,
            } => Error::ProjectName {
                at,
                raw: m(raw),
                source_desc,
            },
            Error::EnvFile { at, key, message } => Error::EnvFile {
                at,
                key,
                message: m(message),
            },
        }
    }

    /// Where in which file the problem is, when it concerns a file.
    pub fn position(&self) -> Option<&Position> {
        match self {
            Error::NotFound { .. } | Error::Read { .. } => None,
            Error::ProjectName { at, .. } => at.as_ref(),
            Error::Syntax { at, .. }
            | Error::UnknownKey { at, .. }
            | Error::Strict { at, .. }
            | Error::Invalid { at, .. }
            | Error::MissingVariable { at, .. }
            | Error::DependencyCycle { at, .. }
            | Error::UnknownDependency { at, .. }
            | Error::DisabledDependency { at, .. }
            | Error::MissingBindSource { at, .. }
            | Error::MissingEnvFile { at, .. }
            | Error::NoImage { at, .. }
            | Error::UndeclaredVolume { at, .. }
            | Error::EnvFile { at, .. } => Some(at),
        }
    }
}

/// Why a string could not be interpolated (the position is added by the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    /// `${VAR:?msg}` / `${VAR?msg}` with `VAR` unset (or empty, for `:?`).
    #[error("required variable '{variable}' is not set: {message}")]
    Required { variable: String, message: String },
    #[error("invalid interpolation in '{text}': {message}; write a literal '$' as '$$'")]
    Syntax { text: String, message: String },
}
