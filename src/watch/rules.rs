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
    /// For a service with `build:`: the context and its `.dockerignore`. What the
    /// context leaves out is not the service's code (and cannot change its image).
    context: Option<BuildContext>,
}

#[derive(Debug, Clone)]
struct BuildContext {
    dir: PathBuf,
    ignore: Dockerignore,
    /// Always sent, whatever `.dockerignore` says (Docker does the same).
    always: [String; 2],
}

impl BuildContext {
    fn leaves_out(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.dir) else {
            return false;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        !rel.is_empty() && !self.always.contains(&rel) && self.ignore.is_excluded(&rel)
    }
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
                // As in Compose, every rule of a built service skips what its build
                // context leaves out. An unreadable `.dockerignore` leaves nothing out
                // here; the build itself reports the problem.
                let context = service.build.as_ref().and_then(|build| {
                    crate::build::read_dockerignore(&build.context)
                        .ok()
                        .map(|ignore| BuildContext {
                            dir: build.context.clone(),
                            ignore,
                            always: [
                                build.dockerfile.trim_start_matches("./").to_string(),
                                ".dockerignore".to_string(),
                            ],
                        })
                });
                rules.push(Rule {
                    service: service.name.clone(),
                    root: w.path.clone(),
                    target: w.target.clone(),
                    action: w.action,
                    ignore: Dockerignore::from_patterns(w.ignore.iter().map(String::as_str)),
                    context,
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
                            context: None,
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
                    || rule.context.as_ref().is_some_and(|c| c.leaves_out(path))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Loads `yaml` as the stack file of a fresh folder holding `files` (relative path →
    /// contents): rules are built from a real stack, as `devstack watch` builds them.
    fn load(yaml: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Stack) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        let stack = crate::stack::load(&crate::stack::LoadOptions {
            file: None,
            extra_files: vec![],
            cwd: dir.path().to_path_buf(),
            project_name: Some("rules".into()),
            env_files: vec![],
            profiles: vec![],
            strict: false,
            environment: BTreeMap::new(),
        })
        .unwrap();
        (dir, stack)
    }

    fn actions(rules: &Rules, root: &Path, changed: &[&str]) -> Vec<(String, WatchAction)> {
        let paths: Vec<PathBuf> = changed.iter().map(|c| root.join(c)).collect();
        rules
            .triggers(&paths)
            .into_iter()
            .map(|t| (t.service.to_string(), t.action))
            .collect()
    }

    const TWO_SERVICES: &str = "
services:
  pipeline:
    build: .
    develop:
      watch:
        - path: ./src
          target: /app/src
          action: sync
          ignore: [\"fixtures/\"]
        - path: ./requirements.txt
          action: rebuild
        - path: ./conf
          action: restart
  dags:
    image: x
    develop:
      watch:
        - path: ./dags
          target: /opt/dags
          action: sync+restart
";

    const FILES: &[(&str, &str)] = &[
        ("Dockerfile", "FROM x\n"),
        ("requirements.txt", "pandas\n"),
        ("src/load.py", ""),
        ("conf/app.ini", ""),
        ("dags/etl.py", ""),
    ];

    #[test]
    fn the_rule_of_the_changed_path_fires() {
        let (dir, stack) = load(TWO_SERVICES, FILES);
        let root = dir.path();
        let rules = Rules::from_stack(&stack);
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, WatchAction)]);
        let table: &[Case] = &[
            (&["src/load.py"], &[("pipeline", WatchAction::Sync)]),
            (&["requirements.txt"], &[("pipeline", WatchAction::Rebuild)]),
            (&["conf/app.ini"], &[("pipeline", WatchAction::Restart)]),
            (&["dags/etl.py"], &[("dags", WatchAction::SyncRestart)]),
            (
                &["dags/etl.py", "src/load.py"],
                &[
                    ("dags", WatchAction::SyncRestart),
                    ("pipeline", WatchAction::Sync),
                ],
            ),
            // Outside every rule, or a sibling whose name only starts like a rule's path.
            (&["README.md"], &[]),
            (&["srcs/x.py"], &[]),
            (&["requirements.txt.bak"], &[]),
            // The rule's own `ignore:`.
            (&["src/fixtures/big.csv"], &[]),
        ];
        for (changed, want) in table {
            let want: Vec<(String, WatchAction)> =
                want.iter().map(|(s, a)| (s.to_string(), *a)).collect();
            assert_eq!(actions(&rules, root, changed), want, "{changed:?}");
        }
    }

    #[test]
    fn vcs_caches_and_editor_files_are_ignored() {
        let (dir, stack) = load(TWO_SERVICES, FILES);
        let rules = Rules::from_stack(&stack);
        for noise in [
            "src/.git/index",
            "src/.git/objects/ab/cdef",
            "src/__pycache__/load.cpython-312.pyc",
            "src/pkg/__pycache__/x.pyc",
            "src/load.pyc",
            "src/.load.py.swp",
            "src/.load.py.swx",
            "src/load.py~",
            "src/4913",
            "src/.#load.py",
            "src/#load.py#",
            "src/.DS_Store",
            "src/.pytest_cache/v/cache",
        ] {
            assert_eq!(actions(&rules, dir.path(), &[noise]), vec![], "{noise}");
        }
        // A burst of noise plus one real save is the real save alone.
        let t = rules.triggers(&[
            dir.path().join("src/.load.py.swp"),
            dir.path().join("src/load.py"),
            dir.path().join("src/4913"),
        ]);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].count, 1);
        assert_eq!(t[0].first, "load.py");
        assert_eq!(
            t[0].files,
            vec![(dir.path().join("src/load.py"), "/app/src/load.py".into())]
        );
    }

    #[test]
    fn the_strongest_action_of_a_service_wins_and_keeps_the_sync_files() {
        let yaml = "
services:
  pipeline:
    build: .
    develop:
      watch:
        - path: ./src
          target: /app/src
          action: sync
        - path: ./src/deps
          action: restart
        - path: .
          action: rebuild
";
        let (dir, stack) = load(yaml, &[("Dockerfile", "FROM x\n"), ("src/a.py", "")]);
        let rules = Rules::from_stack(&stack);
        let root = dir.path();
        // Only the sync rule's path and the rebuild rule's: rebuild (it picks up the file).
        let t = rules.triggers(&[root.join("src/a.py"), root.join("src/b.py")]);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].action, WatchAction::Rebuild);
        assert_eq!(t[0].count, 2, "a path matched by two rules counts once");
        assert_eq!(t[0].files.len(), 2);
        // restart beats sync.
        let only_src = Rules {
            rules: rules
                .rules
                .iter()
                .filter(|r| r.action != WatchAction::Rebuild)
                .cloned()
                .collect(),
            always: rules.always.clone(),
        };
        assert_eq!(
            actions(&only_src, root, &["src/a.py", "src/deps/x.py"]),
            vec![("pipeline".to_string(), WatchAction::Restart)]
        );
    }

    #[test]
    fn a_rebuild_ignores_what_the_build_context_leaves_out() {
        let yaml = "
services:
  pipeline:
    build: .
    develop:
      watch:
        - path: .
          action: rebuild
";
        let (dir, stack) = load(
            yaml,
            &[
                ("Dockerfile", "FROM x\n"),
                (".dockerignore", "data\n!data/keep.csv\n*.md\n"),
            ],
        );
        let rules = Rules::from_stack(&stack);
        let root = dir.path();
        assert_eq!(actions(&rules, root, &["data/big.csv"]), vec![]);
        assert_eq!(actions(&rules, root, &["NOTES.md"]), vec![]);
        assert_eq!(
            actions(&rules, root, &["data/keep.csv"]),
            vec![("pipeline".to_string(), WatchAction::Rebuild)]
        );
        assert_eq!(
            actions(&rules, root, &["load.py"]),
            vec![("pipeline".to_string(), WatchAction::Rebuild)]
        );
    }

    /// Regression: `.dockerignore` patterns were prefixed with the context's place under
    /// the watched folder, which broke `!` exceptions and never matched when the
    /// watched folder lies inside the context.
    #[test]
    fn context_ignores_apply_wherever_the_watched_folder_is() {
        let yaml = "
services:
  around:
    build: ./app
    develop:
      watch:
        - path: .
          action: rebuild
  inside:
    build: ./app
    develop:
      watch:
        - path: ./app/src
          action: rebuild
";
        let (dir, stack) = load(
            yaml,
            &[
                ("app/Dockerfile", "FROM x\n"),
                (
                    "app/.dockerignore",
                    "src/tests\ndata\n!data/keep.csv\nDockerfile\n",
                ),
            ],
        );
        let rules = Rules::from_stack(&stack);
        let root = dir.path();
        let both = vec![
            ("around".to_string(), WatchAction::Rebuild),
            ("inside".to_string(), WatchAction::Rebuild),
        ];
        assert_eq!(actions(&rules, root, &["app/src/tests/t.py"]), vec![]);
        assert_eq!(actions(&rules, root, &["app/src/load.py"]), both);
        assert_eq!(actions(&rules, root, &["app/data/x.csv"]), vec![]);
        assert_eq!(
            actions(&rules, root, &["app/data/keep.csv"]),
            vec![("around".to_string(), WatchAction::Rebuild)]
        );
        // The Dockerfile is always sent, so it always rebuilds.
        assert_eq!(
            actions(&rules, root, &["app/Dockerfile"]),
            vec![("around".to_string(), WatchAction::Rebuild)]
        );
    }

    #[test]
    fn every_rule_of_a_built_service_skips_what_dockerignore_leaves_out() {
        let yaml = "
services:
  pipeline:
    build: .
    develop:
      watch:
        - path: ./src
          target: /app/src
          action: sync
";
        let (dir, stack) = load(
            yaml,
            &[
                ("Dockerfile", "FROM x\n"),
                (".dockerignore", "src/notebooks\n"),
            ],
        );
        let rules = Rules::from_stack(&stack);
        assert_eq!(
            actions(&rules, dir.path(), &["src/notebooks/a.ipynb"]),
            vec![]
        );
        assert_eq!(
            actions(&rules, dir.path(), &["src/load.py"]),
            vec![("pipeline".to_string(), WatchAction::Sync)]
        );
    }

    #[test]
    fn restart_on_change_restarts_for_bind_mounted_sources() {
        let yaml = "
services:
  pipeline:
    image: x
    volumes:
      - ./code:/app
      - data:/data
    x-devstack:
      restart_on_change: true
  other:
    image: x
    volumes:
      - ./code:/app
volumes:
  data: {}
";
        let (dir, stack) = load(yaml, &[("code/run.py", "")]);
        let rules = Rules::from_stack(&stack);
        assert_eq!(rules.roots(), vec![dir.path().join("code")]);
        let t = rules.triggers(&[dir.path().join("code/run.py")]);
        assert_eq!(t.len(), 1, "only the service that asked for it");
        assert_eq!(t[0].service.as_str(), "pipeline");
        assert_eq!(t[0].action, WatchAction::Restart);
        assert_eq!(t[0].first, "run.py");
    }

    #[test]
    fn later_bursts_fold_into_a_pending_trigger() {
        let mut a = Trigger {
            service: ServiceName::new("p"),
            action: WatchAction::Sync,
            files: vec![("/h/a".into(), "/c/a".into())],
            first: "a".into(),
            count: 1,
        };
        a.merge(Trigger {
            service: ServiceName::new("p"),
            action: WatchAction::Restart,
            files: vec![("/h/b".into(), "/c/b".into())],
            first: "b".into(),
            count: 2,
        });
        assert_eq!(a.action, WatchAction::Restart);
        assert_eq!(a.count, 3);
        assert_eq!(a.first, "a");
        assert_eq!(a.files.len(), 2);
        a.merge(Trigger {
            service: ServiceName::new("p"),
            action: WatchAction::Sync,
            files: vec![],
            first: "c".into(),
            count: 1,
        });
        assert_eq!(
            a.action,
            WatchAction::Restart,
            "a weaker action never downgrades"
        );
    }
}
