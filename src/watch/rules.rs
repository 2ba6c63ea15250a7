//! Which service cares about a changed path, and what it wants done.
//!
//! Pure: paths in, `Trigger`s out. Built once from the stack; no file system access
//! beyond reading `.dockerignore` files at construction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::Dockerignore;
use crate::model::ServiceName;
use crate::stack::{MountSource, Stack, WatchAction};

/// Paths no rule ever wants: version control, bytecode caches, editors' scratch files.
const ALWAYS_IGNORED: &str = "
**/.git
**/.hg
**/__pycache__
**/*.pyc
**/*.pyo
**/.pytest_cache
**/.mypy_cache
**/.ruff_cache
**/*.swp
**/*.swx
**/*.swo
**/*~
**/.#*
**/#*#
**/4913
**/.DS_Store
**/*.tmp
";

#[derive(Debug, Clone)]
struct Rule {
    service: ServiceName,
    root: PathBuf,
    target: Option<String>,
    action: WatchAction,
    ignore: Dockerignore,
}

/// What a service should do about a burst of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub service: ServiceName,
    pub action: WatchAction,
    /// For sync: (host path, path in the container) of each changed file.
    pub files: Vec<(PathBuf, String)>,
    /// The first changed path, relative to the rule's root, for messages
    /// ("restarted after change to src/load.py").
    pub first: String,
    pub count: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    always: Dockerignore,
}

impl Rules {
    /// Rules from every service's `develop.watch`, and a restart rule for each bind mount
    /// of a service with `x-devstack: {restart_on_change: true}`.
    pub fn from_stack(stack: &Stack) -> Self {
        let mut rules = Vec::new();
        for service in stack.services.values() {
            for w in &service.watch {
                let mut ignore: Vec<String> = w.ignore.clone();
                // A rebuild only sees what the build context sends; changes to files the
                // context leaves out cannot change the image.
                if w.action == WatchAction::Rebuild
                    && let Some(build) = &service.build
                    && let Ok(text) = std::fs::read_to_string(build.context.join(".dockerignore"))
                    && let Ok(rel) = build
                        .context
                        .strip_prefix(&w.path)
                        .or_else(|_| w.path.strip_prefix(&build.context).map(|_| Path::new("")))
                {
                    let prefix = rel.to_string_lossy();
                    ignore.extend(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty() && !l.starts_with('#'))
                            .map(|l| {
                                if prefix.is_empty() {
                                    l.to_string()
                                } else {
                                    format!("{prefix}/{l}")
                                }
                            }),
                    );
                }
                rules.push(Rule {
                    service: service.name.clone(),
                    root: w.path.clone(),
                    target: w.target.clone(),
                    action: w.action,
                    ignore: Dockerignore::from_patterns(ignore.iter().map(String::as_str)),
                });
            }
            if service.settings.restart_on_change {
                for m in &service.mounts {
                    if let MountSource::Bind(src) = &m.source {
                        rules.push(Rule {
                            service: service.name.clone(),
                            root: src.clone(),
                            target: Some(m.target.clone()),
                            action: WatchAction::Restart,
                            ignore: Dockerignore::default(),
                        });
                    }
                }
            }
        }
        Self {
            rules,
            always: Dockerignore::parse(ALWAYS_IGNORED),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// (service, watched host path, action) of every rule, for telling the user what
    /// is watched.
    pub fn describe(&self) -> Vec<(ServiceName, PathBuf, WatchAction)> {
        self.rules
            .iter()
            .map(|r| (r.service.clone(), r.root.clone(), r.action))
            .collect()
    }

    /// Host paths to watch (recursively).
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self.rules.iter().map(|r| r.root.clone()).collect();
        roots.sort();
        roots.dedup();
        roots
    }

    /// One trigger per service for a burst of changed paths; the strongest action wins
    /// (rebuild > sync+restart > restart > sync), since a rebuild also picks up what a
    /// sync would have copied.
    pub fn triggers(&self, changed: &[PathBuf]) -> Vec<Trigger> {
        let mut by_service: BTreeMap<ServiceName, Trigger> = BTreeMap::new();
        for path in changed {
            // Two rules of one service matching one path still count it once.
            let mut counted: Vec<&ServiceName> = Vec::new();
            for rule in &self.rules {
                let Ok(rel) = path.strip_prefix(&rule.root) else {
                    continue;
                };
                let rel_str = rel.to_string_lossy().replace('\\', "/");
                if self.always.is_excluded(&rel_str)
                    || (!rel_str.is_empty() && rule.ignore.is_excluded(&rel_str))
                {
                    continue;
                }
                let shown = if rel_str.is_empty() {
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    rel_str.clone()
                };
                let entry = by_service
                    .entry(rule.service.clone())
                    .or_insert_with(|| Trigger {
                        service: rule.service.clone(),
                        action: rule.action,
                        files: Vec::new(),
                        first: shown,
                        count: 0,
                    });
                if !counted.contains(&&rule.service) {
                    counted.push(&rule.service);
                    entry.count += 1;
                }
                if strength(rule.action) > strength(entry.action) {
                    entry.action = rule.action;
                }
                if let Some(target) = &rule.target {
                    let in_container = if rel_str.is_empty() {
                        target.clone()
                    } else {
                        format!("{}/{}", target.trim_end_matches('/'), rel_str)
                    };
                    entry.files.push((path.clone(), in_container));
                }
            }
        }
        by_service.into_values().collect()
    }
}

impl Trigger {
    /// Folds a later burst for the same service into this one (while an action for the
    /// service is still running): the stronger action, every file, the first name kept.
    pub fn merge(&mut self, later: Trigger) {
        if strength(later.action) > strength(self.action) {
            self.action = later.action;
        }
        self.count += later.count;
        self.files.extend(later.files);
    }
}

fn strength(action: WatchAction) -> u8 {
    match action {
        WatchAction::Sync => 0,
        WatchAction::Restart => 1,
        WatchAction::SyncRestart => 2,
        WatchAction::Rebuild => 3,
    }
}
