//! `devstack doctor`: the Docker lessons' checklist applied to the user's own Dockerfiles,
//! build contexts and stack file. Pure: every function here takes text and listings and
//! returns findings; reading the files and asking the daemon is `ops::doctor`'s job.

pub mod checks;
pub mod dockerfile;
pub mod stack;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::Serialize;

/// How much a finding matters; an `Error` makes `devstack doctor` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

/// Every check the doctor runs, by a stable id (`--json` consumers match on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Base image not pinned to a digest or a patch release.
    BaseUnpinned,
    /// Final stage's base is not a slim variant.
    BaseNotSlim,
    /// Stages use the same image at different tags.
    StagePinsDiffer,
    /// Compilers, `-dev` packages or `pip wheel` in the final stage.
    BuildToolsInRuntime,
    /// Dependencies installed after the code is copied.
    LayerOrder,
    /// The final stage runs as root.
    RootUser,
    /// No `.dockerignore` in the build context.
    NoDockerignore,
    /// Something that exists in the context (`.env*`, `.git`, data, a virtualenv) is sent.
    DockerignoreGap,
    /// A file that looks like a secret would be sent to the daemon.
    SecretInContext,
    /// A secret in `ENV`, `ARG` or copied into the image.
    SecretInImage,
    /// A long-running service without a health check, or a one-shot job with one.
    Healthcheck,
    /// apt/apk package caches left in the layer.
    PackageCache,
    /// `pip install` keeping its cache.
    PipCache,
    /// A port published beyond loopback.
    PublicPort,
    /// A secret written literally in the stack file.
    LiteralSecret,
    /// `:latest` or no tag.
    LatestImage,
    /// The whole home directory bind-mounted.
    HomeBind,
    /// A service others depend on has no restart policy.
    NoRestart,
}

impl Check {
    pub const ALL: [Check; 18] = [
        Check::BaseUnpinned,
        Check::BaseNotSlim,
        Check::StagePinsDiffer,
        Check::BuildToolsInRuntime,
        Check::LayerOrder,
        Check::RootUser,
        Check::NoDockerignore,
        Check::DockerignoreGap,
        Check::SecretInContext,
        Check::SecretInImage,
        Check::Healthcheck,
        Check::PackageCache,
        Check::PipCache,
        Check::PublicPort,
        Check::LiteralSecret,
        Check::LatestImage,
        Check::HomeBind,
        Check::NoRestart,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::BaseUnpinned => "base-unpinned",
            Check::BaseNotSlim => "base-not-slim",
            Check::StagePinsDiffer => "stage-pins-differ",
            Check::BuildToolsInRuntime => "build-tools-in-runtime",
            Check::LayerOrder => "layer-order",
            Check::RootUser => "root-user",
            Check::NoDockerignore => "no-dockerignore",
            Check::DockerignoreGap => "dockerignore-gap",
            Check::SecretInContext => "secret-in-context",
            Check::SecretInImage => "secret-in-image",
            Check::Healthcheck => "healthcheck",
            Check::PackageCache => "package-cache",
            Check::PipCache => "pip-cache",
            Check::PublicPort => "public-port",
            Check::LiteralSecret => "literal-secret",
            Check::LatestImage => "latest-image",
            Check::HomeBind => "home-bind",
            Check::NoRestart => "no-restart",
        }
    }
}

/// One failed check: where, how bad, what is wrong and the one-line fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub level: Level,
    pub file: PathBuf,
    /// 1-based; `None` when the finding is about the file (or folder) as a whole.
    pub line: Option<usize>,
    /// The service it concerns, when there is one.
    pub service: Option<String>,
    pub message: String,
    pub fix: String,
}

impl Finding {
    /// `file:line` (or just `file`).
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

/// Whether `findings` holds one at level error (the doctor's exit code).
pub fn has_error(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == Level::Error)
}
