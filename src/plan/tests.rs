//! Table tests of `diff`: desired stack and observed daemon in, actions out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::model::{ContainerId, ContainerInfo, ContainerState, Health, Observed, ProjectName};
use crate::stack::{Build, Dependency, EnvSource, EnvValue, Service, Stack, StackSettings, Volume};

fn service(name: &str, image: &str) -> Service {
    Service::new(name, image)
}

fn depends(mut s: Service, on: &str, condition: Condition) -> Service {
    s.depends_on.insert(
        ServiceName::new(on),
        Dependency {
            condition,
            required: true,
            restart: false,
        },
    );
    s
}

fn stack(services: Vec<Service>, volumes: &[&str]) -> Stack {
    let project = ProjectName("demo".into());
    Stack {
        networks: BTreeMap::new(),
        volumes: volumes
            .iter()
            .map(|k| {
                (
                    k.to_string(),
                    Volume {
                        key: k.to_string(),
                        name: project.volume_name(k),
                        external: false,
                        labels: BTreeMap::new(),
                    },
                )
            })
            .collect(),
        project,
        file: PathBuf::from("/p/devstack.yaml"),
        dir: PathBuf::from("/p"),
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        warnings: Vec::new(),
        settings: StackSettings::default(),
    }
}

fn container(stack: &Stack, svc: &str, state: ContainerState, exit: Option<i64>) -> ContainerInfo {
    let name = ServiceName::new(svc);
    let hash = stack.services.get(&name).map(|s| config_hash(stack, s));
    ContainerInfo {
        id: ContainerId(format!("id-{svc}")),
        name: stack.project.container_name(&name),
        image: stack
            .services
            .get(&name)
            .map(|s| s.image.clone())
            .unwrap_or_default(),
        image_id: "sha256:img".into(),
        config_hash: hash,
        state,
        health: Health::None,
        exit_code: exit,
        ports: Vec::new(),
        labels: BTreeMap::new(),
        created: 1,
        started_at: None,
        restart_count: 0,
        service: name,
    }
}

/// The daemon after a successful `up` of `stack`: everything exists and runs.
fn converged(stack: &Stack) -> Observed {
    Observed {
        network: Some("net".into()),
        network_labels: BTreeMap::new(),
        networks: BTreeMap::new(),
        volumes: stack
            .volumes
            .values()
            .map(|v| {
                (
                    v.name.clone(),
                    crate::model::VolumeInfo {
                        name: v.name.clone(),
                        labels: BTreeMap::new(),
                    },
                )
            })
            .collect(),
        containers: stack
            .services
            .keys()
            .map(|s| container(stack, s.as_str(), ContainerState::Running, None))
            .collect(),
        compose_elsewhere: Vec::new(),
        images: stack
            .services
            .values()
            .map(|s| (s.image.clone(), "sha256:img".to_string()))
            .collect(),
    }
}

fn three() -> Stack {
    stack(
        vec![
            depends(
                service("web", "busybox"),
                "migrate",
                Condition::CompletedSuccessfully,
            ),
            service("worker", "busybox"),
            service("migrate", "busybox"),
        ],
        &["data"],
    )
}

fn change_of<'a>(plan: &'a Plan, svc: &str) -> &'a Change {
    let found = plan.services.iter().find(|s| s.service.as_str() == svc);
    &found.expect("service in plan").change
}

#[test]
fn converged_stack_is_a_noop() {
    let s = three();
    let plan = diff(&s, &converged(&s), PlanOptions::default());
    assert!(plan.is_noop(), "{plan:#?}");
}

#[test]
fn empty_daemon_creates_everything_in_waves() {
    let s = three();
    let plan = diff(&s, &Observed::default(), PlanOptions::default());
    assert_eq!(
        plan.setup,
        vec![
            SetupAction::CreateNetwork {
                name: "demo_default".into()
            },
            SetupAction::CreateVolume {
                key: "data".into(),
                name: "demo_data".into()
            },
            SetupAction::PullImage {
                image: "busybox".into()
            },
        ]
    );
    let order: Vec<(&str, usize)> = plan
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.wave))
        .collect();
    assert_eq!(order, vec![("migrate", 0), ("worker", 0), ("web", 1)]);
    assert!(plan.services.iter().all(|s| s.change == Change::Create));
    let web = &plan.services[2];
    assert_eq!(
        web.gates,
        vec![Gate {
            service: ServiceName::new("migrate"),
            condition: Condition::CompletedSuccessfully
        }]
    );
    assert_eq!(plan.waves().len(), 2);
}

#[test]
fn changed_environment_recreates_only_that_service() {
    let s = three();
    let observed = converged(&s);
    let mut changed = s.clone();
    if let Some(worker) = changed.services.get_mut(&ServiceName::new("worker")) {
        worker.environment.insert(
            "MODE".into(),
            EnvValue {
                value: "fast".into(),
                source: EnvSource::Inline,
            },
        );
    }
    let plan = diff(&changed, &observed, PlanOptions::default());
    assert!(plan.setup.is_empty());
    assert_eq!(
        change_of(&plan, "worker"),
        &Change::Recreate {
            old: ContainerId("id-worker".into()),
            reason: RecreateReason::ConfigChanged
        }
    );
    assert!(matches!(change_of(&plan, "web"), Change::Keep { .. }));
    assert!(matches!(change_of(&plan, "migrate"), Change::Keep { .. }));
}

#[test]
fn watch_rules_and_settings_do_not_change_the_hash() {
    let a = service("web", "busybox");
    let mut b = a.clone();
    b.settings.restart_on_change = true;
    b.profiles.push("dev".into());
    let s = three();
    assert_eq!(config_hash(&s, &a), config_hash(&s, &b));
    b.user = Some("1000".into());
    assert_ne!(config_hash(&s, &a), config_hash(&s, &b));
}

#[test]
fn stopped_service_is_started_and_completed_one_shot_is_kept() {
    let s = three();
    let mut observed = converged(&s);
    for c in &mut observed.containers {
        match c.service.as_str() {
            "worker" => {
                c.state = ContainerState::Exited;
                c.exit_code = Some(0);
            }
            "migrate" => {
                c.state = ContainerState::Exited;
                c.exit_code = Some(0);
            }
            _ => {}
        }
    }
    let plan = diff(&s, &observed, PlanOptions::default());
    // worker is long-running: an exit, even with 0, means it must be started again.
    assert_eq!(
        change_of(&plan, "worker"),
        &Change::Start {
            id: ContainerId("id-worker".into())
        }
    );
    // migrate is awaited for completion: done is its goal state.
    assert!(matches!(change_of(&plan, "migrate"), Change::Keep { .. }));
}

#[test]
fn failed_one_shot_runs_again() {
    let s = three();
    let mut observed = converged(&s);
    for c in &mut observed.containers {
        if c.service.as_str() == "migrate" {
            c.state = ContainerState::Exited;
            c.exit_code = Some(1);
        }
    }
    let plan = diff(&s, &observed, PlanOptions::default());
    assert!(matches!(change_of(&plan, "migrate"), Change::Start { .. }));
}

#[test]
fn orphans_and_duplicates_are_removed() {
    let s = three();
    let mut observed = converged(&s);
    let mut orphan = container(&s, "old", ContainerState::Running, None);
    orphan.id = ContainerId("id-old".into());
    observed.containers.push(orphan);
    // A second worker left by an interrupted run, older and under another name.
    let mut dup = container(&s, "worker", ContainerState::Created, None);
    dup.id = ContainerId("id-worker-dup".into());
    dup.name = "demo-worker-1-tmp".into();
    dup.created = 0;
    observed.containers.push(dup);

    let plan = diff(&s, &observed, PlanOptions::default());
    assert_eq!(
        plan.setup,
        vec![
            SetupAction::RemoveContainer {
                id: ContainerId("id-old".into()),
                name: "demo-old-1".into(),
                reason: RemoveReason::Orphan
            },
            SetupAction::RemoveContainer {
                id: ContainerId("id-worker-dup".into()),
                name: "demo-worker-1-tmp".into(),
                reason: RemoveReason::Duplicate
            },
        ]
    );
    assert!(matches!(change_of(&plan, "worker"), Change::Keep { .. }));

    let kept = diff(
        &s,
        &observed,
        PlanOptions {
            keep_orphans: true,
            ..PlanOptions::default()
        },
    );
    assert_eq!(kept.setup.len(), 1, "only the duplicate goes");
}

#[test]
fn new_image_recreates_and_missing_image_is_pulled_once() {
    let s = three();
    let mut observed = converged(&s);
    observed
        .images
        .insert("busybox".into(), "sha256:newer".into());
    let plan = diff(&s, &observed, PlanOptions::default());
    assert!(plan.services.iter().all(|p| matches!(
        p.change,
        Change::Recreate {
            reason: RecreateReason::ImageChanged,
            ..
        }
    )));

    observed.images.clear();
    let plan = diff(&s, &observed, PlanOptions::default());
    let pulls = plan
        .setup
        .iter()
        .filter(|a| matches!(a, SetupAction::PullImage { .. }))
        .count();
    assert_eq!(pulls, 1, "three services share one image: {plan:#?}");
}

#[test]
fn build_services_build_when_missing_or_asked() {
    let mut app = service("app", "demo-app");
    app.build = Some(Build {
        context: PathBuf::from("/p/app"),
        dockerfile: "Dockerfile".into(),
        args: BTreeMap::new(),
        target: None,
    });
    let s = stack(vec![app], &[]);
    let plan = diff(&s, &Observed::default(), PlanOptions::default());
    assert!(plan.setup.contains(&SetupAction::BuildImage {
        service: ServiceName::new("app"),
        image: "demo-app".into()
    }));

    let observed = converged(&s);
    assert!(diff(&s, &observed, PlanOptions::default()).is_noop());
    let rebuild = diff(
        &s,
        &observed,
        PlanOptions {
            build: true,
            ..PlanOptions::default()
        },
    );
    assert!(matches!(
        change_of(&rebuild, "app"),
        Change::Recreate {
            reason: RecreateReason::ImageChanged,
            ..
        }
    ));
}

#[test]
fn unlabelled_container_is_recreated_and_force_recreates_all() {
    let s = three();
    let mut observed = converged(&s);
    for c in &mut observed.containers {
        if c.service.as_str() == "web" {
            c.config_hash = None;
        }
    }
    let plan = diff(&s, &observed, PlanOptions::default());
    assert!(matches!(
        change_of(&plan, "web"),
        Change::Recreate {
            reason: RecreateReason::NotOurs,
            ..
        }
    ));
    let forced = diff(
        &s,
        &converged(&s),
        PlanOptions {
            force_recreate: true,
            ..PlanOptions::default()
        },
    );
    assert!(forced.services.iter().all(|p| matches!(
        p.change,
        Change::Recreate {
            reason: RecreateReason::Forced,
            ..
        }
    )));
}

#[test]
fn external_volumes_are_never_created() {
    let mut s = three();
    if let Some(v) = s.volumes.get_mut("data") {
        v.external = true;
    }
    let plan = diff(&s, &Observed::default(), PlanOptions::default());
    assert!(
        !plan
            .setup
            .iter()
            .any(|a| matches!(a, SetupAction::CreateVolume { .. }))
    );
}

#[test]
fn waves_follow_the_longest_chain_and_survive_a_cycle() {
    let s = stack(
        vec![
            service("db", "pg"),
            depends(service("init", "af"), "db", Condition::Healthy),
            depends(
                service("api", "af"),
                "init",
                Condition::CompletedSuccessfully,
            ),
            depends(
                depends(service("sched", "af"), "init", Condition::Started),
                "db",
                Condition::Healthy,
            ),
        ],
        &[],
    );
    let w = waves(&s);
    assert_eq!(w[&ServiceName::new("db")], 0);
    assert_eq!(w[&ServiceName::new("init")], 1);
    assert_eq!(w[&ServiceName::new("api")], 2);
    assert_eq!(w[&ServiceName::new("sched")], 2);

    let cyclic = stack(
        vec![
            depends(service("a", "x"), "b", Condition::Started),
            depends(service("b", "x"), "a", Condition::Started),
        ],
        &[],
    );
    assert_eq!(waves(&cyclic).len(), 2);
}

/// Regression: renaming a named volume (`volumes.data.name:`) left the container on the
/// old volume, because the hash saw only the volume's key.
#[test]
fn renaming_a_volume_recreates_its_users() {
    let mut mounted = service("db", "pg");
    mounted.mounts.push(crate::stack::Mount {
        source: crate::stack::MountSource::Volume("data".into()),
        target: "/data".into(),
        read_only: false,
    });
    let s = stack(vec![mounted], &["data"]);
    let observed = converged(&s);
    let mut renamed = s.clone();
    if let Some(v) = renamed.volumes.get_mut("data") {
        v.name = "shared_data".into();
    }
    let plan = diff(&renamed, &observed, PlanOptions::default());
    assert!(matches!(
        change_of(&plan, "db"),
        Change::Recreate {
            reason: RecreateReason::ConfigChanged,
            ..
        }
    ));
}

#[test]
fn ownership_refuses_foreign_names_and_other_directories() {
    let s = stack(vec![service("db", "postgres")], &["pgdata"]);
    let mut observed = converged(&s);
    let ours = |dir: Option<&str>| {
        let mut l = BTreeMap::from([(labels::PROJECT.to_string(), "demo".to_string())]);
        if let Some(d) = dir {
            l.insert(labels::COMPOSE_WORKING_DIR.to_string(), d.to_string());
        }
        l
    };
    observed.network_labels = ours(Some("/p"));
    for v in observed.volumes.values_mut() {
        v.labels = ours(Some("/p"));
    }
    assert_eq!(
        ownership(&s, &observed, false),
        vec![],
        "all ours, from here"
    );

    // Unlabelled objects with our names: refused whatever -p says.
    let mut foreign = observed.clone();
    foreign.network_labels = BTreeMap::new();
    foreign.volumes.get_mut("demo_pgdata").unwrap().labels = BTreeMap::new();
    let refusals = ownership(&s, &foreign, true);
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    let text = refusals[1].to_string();
    assert!(
        text.contains("volume 'demo_pgdata' exists but was not created by devstack")
            && text.contains("external: true"),
        "{text}"
    );

    // Another directory's objects: refused unless adopted (-p / --force).
    let mut other = observed.clone();
    other.containers[0]
        .labels
        .insert(labels::COMPOSE_WORKING_DIR.into(), "/elsewhere/p".into());
    let refusals = ownership(&s, &other, false);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].to_string().contains("'/elsewhere/p'"));
    assert_eq!(ownership(&s, &other, true), vec![]);

    // Objects from before the directory label existed count as this directory's.
    let mut old = observed;
    old.network_labels = ours(None);
    assert_eq!(ownership(&s, &old, false), vec![]);
}

/// Docker Compose's containers of this project name from another directory are another
/// checkout's: refused even when adopting (-p / --force adopt only devstack's own).
#[test]
fn compose_containers_of_another_directory_are_refused_even_when_adopting() {
    let s = stack(vec![service("db", "postgres")], &["pgdata"]);
    let mut observed = converged(&s);
    observed
        .compose_elsewhere
        .push(("demo-db-1".into(), "/other/demo".into()));
    for adopt in [false, true] {
        let refusals: Vec<_> = ownership(&s, &observed, adopt)
            .into_iter()
            .filter(|r| matches!(r, super::Refusal::ComposeElsewhere { .. }))
            .collect();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        let text = refusals[0].to_string();
        assert!(
            text.contains("container 'demo-db-1' was started by Docker Compose")
                && text.contains("from '/other/demo'"),
            "{text}"
        );
    }
}

#[test]
fn stop_waves_stop_dependents_first_each_wave_together() {
    let deps = |pairs: &[(&str, &[&str])]| {
        pairs
            .iter()
            .map(|(s, on)| {
                (
                    ServiceName::new(*s),
                    on.iter().map(|d| ServiceName::new(*d)).collect(),
                )
            })
            .collect::<BTreeMap<_, Vec<_>>>()
    };
    let names = |waves: Vec<Vec<ServiceName>>| {
        waves
            .into_iter()
            .map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    // The bundled stack's shape.
    let bundled = deps(&[
        ("postgres", &[]),
        ("airflow-init", &["postgres"]),
        ("api-server", &["postgres", "airflow-init"]),
        ("scheduler", &["postgres", "airflow-init"]),
        ("pipeline", &["postgres"]),
    ]);
    assert_eq!(
        names(stop_waves(&bundled)),
        vec![
            vec!["api-server", "pipeline", "scheduler"],
            vec!["airflow-init"],
            vec!["postgres"],
        ]
    );
    // A dependency that is not being stopped does not hold anything back.
    assert_eq!(
        names(stop_waves(&deps(&[("db", &[]), ("web", &["db", "gone"])]))),
        vec![vec!["web"], vec!["db"]]
    );
    // A cycle still stops everything.
    assert_eq!(
        names(stop_waves(&deps(&[("a", &["b"]), ("b", &["a"])]))),
        vec![vec!["a", "b"]]
    );
    assert!(stop_waves(&BTreeMap::new()).is_empty());
}

#[test]
fn declared_networks_a_service_joins_are_created_unless_external_or_present() {
    let mut web = service("web", "nginx");
    web.options.networks = BTreeMap::from([
        ("back".to_string(), Default::default()),
        ("ext".to_string(), Default::default()),
    ]);
    let mut s = stack(vec![web], &[]);
    for (key, external) in [("back", false), ("ext", true), ("unused", false)] {
        s.networks.insert(
            key.into(),
            crate::stack::Network {
                key: key.into(),
                name: if external {
                    key.into()
                } else {
                    format!("demo_{key}")
                },
                external,
                ..Default::default()
            },
        );
    }
    let mut observed = Observed::default();
    let created = |plan: &Plan| -> Vec<String> {
        plan.setup
            .iter()
            .filter_map(|a| match a {
                SetupAction::CreateNetwork { name } => Some(name.clone()),
                _ => None,
            })
            .collect()
    };
    let plan = diff(&s, &observed, PlanOptions::default());
    assert_eq!(created(&plan), ["demo_default", "demo_back"]);
    observed.network = Some("id".into());
    observed
        .networks
        .insert("demo_back".into(), BTreeMap::new());
    let plan = diff(&s, &observed, PlanOptions::default());
    assert!(created(&plan).is_empty());
    // The existing `demo_back` has no project label: not ours, refused.
    let refusals = ownership(&s, &observed, false);
    assert!(
        refusals.iter().any(
            |r| matches!(r, Refusal::NotOurs { kind: "network", name, .. } if name == "demo_back")
        ),
        "{refusals:?}"
    );
}

#[test]
fn stop_schedule_waits_only_for_a_services_own_dependents() {
    let deps = |pairs: &[(&str, &[&str])]| {
        pairs
            .iter()
            .map(|(s, on)| {
                (
                    ServiceName::new(*s),
                    on.iter().map(|d| ServiceName::new(*d)).collect(),
                )
            })
            .collect::<BTreeMap<_, Vec<_>>>()
    };
    let names = |schedule: Vec<(ServiceName, Vec<ServiceName>)>| {
        schedule
            .into_iter()
            .map(|(s, after)| {
                (
                    s.to_string(),
                    after.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    // Issue 15 item 4: 'cache' is needed only by 'web', so it goes as soon as 'web' is
    // gone, not after the slow 'worker' that 'db' waits for too.
    let stack = deps(&[
        ("db", &[]),
        ("cache", &[]),
        ("web", &["cache", "db"]),
        ("worker", &["db"]),
    ]);
    assert_eq!(
        names(stop_schedule(&stack)),
        vec![
            ("web".to_string(), vec![]),
            ("worker".to_string(), vec![]),
            ("cache".to_string(), vec!["web".to_string()]),
            (
                "db".to_string(),
                vec!["web".to_string(), "worker".to_string()]
            ),
        ]
    );
    // Everything before what it waits for, in the bundled stack's shape.
    let bundled = deps(&[
        ("postgres", &[]),
        ("airflow-init", &["postgres"]),
        ("api-server", &["postgres", "airflow-init"]),
        ("scheduler", &["postgres", "airflow-init"]),
        ("pipeline", &["postgres"]),
    ]);
    let schedule = names(stop_schedule(&bundled));
    for (i, (_, after)) in schedule.iter().enumerate() {
        for a in after {
            assert!(
                schedule[..i].iter().any(|(s, _)| s == a),
                "{a} comes before what waits for it: {schedule:?}"
            );
        }
    }
    assert_eq!(
        schedule.last(),
        Some(&(
            "postgres".to_string(),
            vec![
                "airflow-init".to_string(),
                "api-server".to_string(),
                "pipeline".to_string(),
                "scheduler".to_string()
            ]
        ))
    );
    // A cycle holds nothing back; a dependency outside the map is ignored.
    assert_eq!(
        names(stop_schedule(&deps(&[("a", &["b"]), ("b", &["a"])]))),
        vec![("a".to_string(), vec![]), ("b".to_string(), vec![])]
    );
    assert_eq!(
        names(stop_schedule(&deps(&[("web", &["gone"])]))),
        vec![("web".to_string(), vec![])]
    );
}

// From the networks work (issue 16.6); here because `stack` must not use `plan`.
#[test]
fn a_network_change_changes_the_config_hash() {
    let base = "services:\n  a:\n    image: x\nnetworks:\n  back:\n";
    let with = "services:\n  a:\n    image: x\n    networks: [back]\nnetworks:\n  back:\n";
    let aliased = "services:\n  a:\n    image: x\n    networks:\n      back:\n        aliases: [b]\nnetworks:\n  back:\n";
    let load = |y: &str| {
        let dir = tempfile::Builder::new().prefix("net").tempdir().unwrap();
        let opts = crate::stack::LoadOptions {
            cwd: dir.path().to_path_buf(),
            project_name: Some("proj".into()),
            ..Default::default()
        };
        crate::stack::load_str(y, &dir.path().join("compose.yaml"), &opts).unwrap()
    };
    let hash = |y: &str| {
        let s = load(y);
        config_hash(&s, &s.services[&ServiceName::new("a")])
    };
    assert_ne!(hash(base), hash(with));
    assert_ne!(hash(with), hash(aliased));
    // A service without `networks:` keeps the hash it had before networks existed.
    let s = load("services:\n  a:\n    image: x\n");
    assert!(s.services[&ServiceName::new("a")].options.is_unset());
}
