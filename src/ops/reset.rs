//! Resetting data: drop and recreate named volumes, then bring their services back —
//! `devstack reset` and the UI's `R`.
//!
//! Which volumes and services is decided purely from the stack ([`plan_reset`]); the
//! daemon is only asked to remove volumes that carry this project's label, and bind
//! mounts (the user's files) are never touched.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Error;
use super::bring_up::converge_with;
use crate::engine::Engine;
use crate::model::{EngineEvent, NoticeLevel, ServiceName, labels};
use crate::plan::PlanOptions;
use crate::stack::{MountSource, Stack, Volume};

/// What a reset will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetPlan {
    /// (key in the file, Docker name, services that mount it).
    pub volumes: Vec<(String, String, Vec<ServiceName>)>,
    /// Containers to remove so the volumes are free, and to bring back afterwards:
    /// the services mounting them and everything that depends on those (an init job
    /// gated on the database must run again against the fresh data).
    pub services: Vec<ServiceName>,
}

/// Volumes by key or Docker name (all non-external ones when none are named), plus
/// those mounted by `services`.
pub fn plan_reset(
    stack: &Stack,
    names: &[String],
    services: &[String],
) -> Result<ResetPlan, Error> {
    let keys = requested_volumes(stack, names, services)?;
    let volumes: Vec<(String, String, Vec<ServiceName>)> = keys
        .iter()
        .map(|k| {
            (
                k.clone(),
                stack.volumes[k].name.clone(),
                volume_users(stack, k),
            )
        })
        .collect();
    let users = volumes.iter().flat_map(|(_, _, u)| u.iter().cloned());
    Ok(ResetPlan {
        services: with_dependents(stack, users.collect()),
        volumes,
    })
}

/// The keys of the volumes to reset: those named (by key or Docker name), those the
/// named services mount, or every volume of ours when nothing is named. An external
/// volume, an unknown name or a service without a volume of ours is an error listing
/// the project's volumes.
fn requested_volumes(
    stack: &Stack,
    names: &[String],
    services: &[String],
) -> Result<BTreeSet<String>, Error> {
    let ours: Vec<&Volume> = stack.volumes.values().filter(|v| !v.external).collect();
    let listing = || {
        if ours.is_empty() {
            "this stack has no named volumes".to_string()
        } else {
            format!(
                "the project's volumes: {}",
                ours.iter()
                    .map(|v| format!("'{}' ({})", v.key, v.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for n in names {
        match stack.volumes.values().find(|v| v.key == *n || v.name == *n) {
            Some(v) if v.external => {
                return Err(Error::Usage(format!(
                    "volume '{n}' is external (created outside devstack); devstack never resets it. {}",
                    listing()
                )));
            }
            Some(v) => {
                keys.insert(v.key.clone());
            }
            None => {
                return Err(Error::Usage(format!(
                    "'{n}' is not one of this project's volumes; {}",
                    listing()
                )));
            }
        }
    }
    for s in super::select_services(stack, services)?
        .into_iter()
        .filter(|_| !services.is_empty())
    {
        let mounted: Vec<String> = stack.services[&s]
            .mounts
            .iter()
            .filter_map(|m| match &m.source {
                MountSource::Volume(k) if stack.volumes.get(k).is_some_and(|v| !v.external) => {
                    Some(k.clone())
                }
                _ => None,
            })
            .collect();
        if mounted.is_empty() {
            return Err(Error::Usage(format!(
                "service '{s}' mounts no named volume of this project; {}",
                listing()
            )));
        }
        keys.extend(mounted);
    }
    if names.is_empty() && services.is_empty() {
        keys.extend(ours.iter().map(|v| v.key.clone()));
    }
    if keys.is_empty() {
        return Err(Error::Usage(listing()));
    }
    Ok(keys)
}

/// The services that mount volume `key`.
fn volume_users(stack: &Stack, key: &str) -> Vec<ServiceName> {
    stack
        .services
        .values()
        .filter(|s| {
            s.mounts
                .iter()
                .any(|m| matches!(&m.source, MountSource::Volume(k) if k == key))
        })
        .map(|s| s.name.clone())
        .collect()
}

/// `services` and everything that depends on them, directly or not, in name order:
/// everything downstream of a service that loses its data restarts from scratch.
fn with_dependents(stack: &Stack, services: BTreeSet<ServiceName>) -> Vec<ServiceName> {
    let mut affected = services;
    loop {
        let more: Vec<ServiceName> = stack
            .services
            .values()
            .filter(|s| !affected.contains(&s.name))
            .filter(|s| s.depends_on.keys().any(|d| affected.contains(d)))
            .map(|s| s.name.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        affected.extend(more);
    }
    affected.into_iter().collect()
}

pub fn describe(plan: &ResetPlan) -> String {
    let mut out =
        String::from("devstack will delete all data in these volumes and recreate them empty:\n");
    for (key, name, users) in &plan.volumes {
        let used = if users.is_empty() {
            "not mounted by any service".to_string()
        } else {
            format!(
                "used by {}",
                users
                    .iter()
                    .map(|u| u.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push_str(&format!("  {key} ({name}), {used}\n"));
    }
    if !plan.services.is_empty() {
        out.push_str(&format!(
            "these services are removed and brought back: {}\n",
            plan.services
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

/// Refuses, before anything is touched: a volume of the plan's name that is not this
/// project's (it lacks our project label), a project of this name that belongs to
/// another directory (unless `adopt`), or a container the reset would not remove that
/// uses one of the volumes.
pub async fn check_owned(
    engine: &Engine,
    stack: &Stack,
    plan: &ResetPlan,
    adopt: bool,
) -> Result<(), Error> {
    let observed = engine.observe(stack).await?;
    let mut refusals: Vec<String> = crate::plan::ownership(stack, &observed, adopt)
        .iter()
        .map(ToString::to_string)
        .collect();
    refusals.extend(blockers(engine, stack, plan).await?);
    if !refusals.is_empty() {
        refusals.push("nothing was changed".into());
        return Err(crate::engine::Error::Refused { refusals }.into());
    }
    for (_, name, _) in &plan.volumes {
        if let Some(v) = observed.volumes.get(name)
            && v.labels.get(labels::PROJECT).map(String::as_str) != Some(stack.project.as_str())
        {
            if v.labels.get(labels::COMPOSE_PROJECT).map(String::as_str)
                == Some(stack.project.as_str())
            {
                return Err(Error::Usage(format!(
                    "volume '{name}' was created by Docker Compose for project '{}' (it lacks the label '{}={}', and a volume's labels cannot be added later); devstack uses it but removes only volumes it created, so nothing was changed. To reset it, remove it yourself ('docker volume rm {name}', after 'devstack stop'), then run 'devstack up'",
                    stack.project,
                    labels::PROJECT,
                    stack.project
                )));
            }
            return Err(Error::Usage(format!(
                "volume '{name}' exists but was not created by devstack for project '{}' (it lacks the label '{}={}'); devstack leaves it alone, nothing was changed",
                stack.project,
                labels::PROJECT,
                stack.project
            )));
        }
    }

    Ok(())
}

/// Removes the services' containers and the volumes, then converges as `up --detach`;
/// what it does goes to `events` as notices and progress.
pub async fn run_reset(
    engine: &Engine,
    stack: &Stack,
    plan: &ResetPlan,
    timeout: Duration,
    events: mpsc::Sender<EngineEvent>,
) -> Result<(), Error> {
    run_reset_with(engine, stack, plan, timeout, PlanOptions::default(), events).await
}

/// Containers that use a volume of the plan and that the reset would not remove.
async fn blockers(engine: &Engine, stack: &Stack, plan: &ResetPlan) -> Result<Vec<String>, Error> {
    let names: Vec<String> = plan.volumes.iter().map(|(_, n, _)| n.clone()).collect();
    Ok(engine.reset_blockers(stack, &names, &plan.services).await?)
}

/// [`run_reset`] with the options of the `up` it ends with.
pub async fn run_reset_with(
    engine: &Engine,
    stack: &Stack,
    plan: &ResetPlan,
    timeout: Duration,
    options: PlanOptions,
    events: mpsc::Sender<EngineEvent>,
) -> Result<(), Error> {
    // Checked again here for callers that did not (the TUI): before any change.
    let refusals = blockers(engine, stack, plan).await?;
    if !refusals.is_empty() {
        return Err(crate::engine::Error::Refused {
            refusals: [refusals, vec!["nothing was changed".into()]].concat(),
        }
        .into());
    }
    let notice = |message: String| EngineEvent::Notice {
        level: NoticeLevel::Info,
        message,
    };
    let services = plan
        .services
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let removed = match engine.remove_services(&stack.project, &plan.services).await {
        Ok(r) => r,
        Err(e) => {
            return Err(crate::engine::Error::PartlyDone {
                cause: format!("reset stopped: {e}"),
                state: format!(
                    "no volume was removed; some of the containers of {services} may have been stopped or removed"
                ),
                next: "run 'devstack up' to bring the stack back as it was, or fix the cause and run 'devstack reset' again".into(),
            }
            .into());
        }
    };
    for name in removed {
        let _ = events
            .send(notice(format!("removed container {name}")))
            .await;
    }
    let mut done: Vec<&str> = Vec::new();
    for (_, name, _) in &plan.volumes {
        match engine.remove_project_volume(&stack.project, name).await {
            Ok(true) => {
                let _ = events.send(notice(format!("removed volume {name}"))).await;
                done.push(name);
            }
            Ok(false) => done.push(name),
            Err(e) => {
                let left: Vec<&str> = plan
                    .volumes
                    .iter()
                    .map(|(_, n, _)| n.as_str())
                    .filter(|n| !done.contains(n))
                    .collect();
                let emptied = if done.is_empty() {
                    "no volume was reset".to_string()
                } else {
                    format!("reset (empty now): {}", done.join(", "))
                };
                return Err(crate::engine::Error::PartlyDone {
                    cause: format!("reset stopped part-way: {e}"),
                    state: format!(
                        "the stack is partly down: the containers of {services} were removed; {emptied}; kept with their data: {}",
                        left.join(", ")
                    ),
                    next: "run 'devstack up' to bring the services back (with the data that is left), or fix the cause and run 'devstack reset' again".into(),
                }
                .into());
            }
        }
    }
    if let Err(e) = converge_with(engine, stack, options, timeout, events).await {
        return Err(crate::engine::Error::PartlyDone {
            cause: format!("the services did not come back after the reset: {e}"),
            state: format!("the volumes were reset (empty now): {}", done.join(", ")),
            next: "fix the cause and run 'devstack up'".into(),
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{LoadOptions, load_str};
    use std::path::Path;

    fn stack() -> Stack {
        let yaml = "
name: demo
services:
  db:
    image: postgres
    volumes: [pgdata:/var/lib/postgresql]
  init:
    image: busybox
    depends_on: {db: {condition: service_healthy}}
  api:
    image: busybox
    depends_on: {init: {condition: service_completed_successfully}}
  cache:
    image: busybox
    volumes: [cachedata:/data]
  other:
    image: busybox
volumes:
  pgdata:
  cachedata:
  shared:
    external: true
";
        let opts = LoadOptions {
            cwd: "/".into(),
            ..LoadOptions::default()
        };
        load_str(yaml, Path::new("/p/devstack.yaml"), &opts).unwrap()
    }

    fn names(v: &[ServiceName]) -> Vec<&str> {
        v.iter().map(|s| s.as_str()).collect()
    }

    #[test]
    fn all_volumes_by_default_and_dependents_come_back() {
        let plan = plan_reset(&stack(), &[], &[]).unwrap();
        let vols: Vec<&str> = plan.volumes.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            vols,
            vec!["cachedata", "pgdata"],
            "external 'shared' is never reset"
        );
        assert_eq!(names(&plan.services), vec!["api", "cache", "db", "init"]);
    }

    #[test]
    fn one_volume_by_key_or_name_and_by_service() {
        let s = stack();
        let by_key = plan_reset(&s, &["pgdata".into()], &[]).unwrap();
        let by_name = plan_reset(&s, &["demo_pgdata".into()], &[]).unwrap();
        let by_service = plan_reset(&s, &[], &["db".into()]).unwrap();
        assert_eq!(by_key, by_name);
        assert_eq!(by_key, by_service);
        assert_eq!(
            by_key.volumes,
            vec![(
                "pgdata".to_string(),
                "demo_pgdata".to_string(),
                vec![ServiceName::new("db")]
            )]
        );
        assert_eq!(names(&by_key.services), vec!["api", "db", "init"]);
        let text = describe(&by_key);
        assert!(text.contains("pgdata (demo_pgdata), used by db"), "{text}");
    }

    #[test]
    fn unknown_and_external_volumes_are_refused_with_the_list() {
        let s = stack();
        let err = plan_reset(&s, &["nope".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'nope' is not one of this project's volumes"),
            "{err}"
        );
        assert!(err.contains("'pgdata' (demo_pgdata)"), "{err}");
        let err = plan_reset(&s, &["shared".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("external"), "{err}");
        let err = plan_reset(&s, &[], &["other".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("mounts no named volume"), "{err}");
    }
}
