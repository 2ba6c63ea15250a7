//! The stack-file checks: public ports, literal secrets, `:latest`, the home directory
//! bind-mounted, restart policies; and each built service's [`Role`]. Lines are found in
//! the file's text, since the validated `Stack` keeps no positions.

use std::path::Path;

use super::checks::{Role, secret_name};
use super::{Check, Finding, Level};
use crate::model::Condition;
use crate::stack::{EnvSource, MountSource, RestartPolicy, Service, Stack};

/// Whether `service` runs until stopped, is a job, or neither is clear from the stack.
pub fn role(stack: &Stack, service: &Service) -> Role {
    let conditions: Vec<Condition> = stack
        .services
        .values()
        .filter_map(|s| s.depends_on.get(&service.name))
        .map(|d| d.condition)
        .collect();
    if conditions.contains(&Condition::CompletedSuccessfully) {
        return Role::OneShot;
    }
    if service.restart != RestartPolicy::No
        || !service.ports.is_empty()
        || conditions.contains(&Condition::Healthy)
    {
        return Role::LongRunning {
            stack_healthcheck: service.healthcheck.is_some(),
        };
    }
    Role::Unknown
}

/// The stack checks; `text` is the stack file's content, `home` the user's home folder.
pub fn check_stack(stack: &Stack, text: &str, home: Option<&Path>) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for service in stack.services.values() {
        let name = service.name.as_str();
        let block = service_block(&lines, name);
        let line_of = |needle: &str| -> Option<usize> {
            let (start, end) = block?;
            (start..end)
                .find(|&i| lines[i].contains(needle))
                .map(|i| i + 1)
                .or(Some(start + 1))
        };
        let mut add = |check, level, line: Option<usize>, message: String, fix: String| {
            out.push(Finding {
                check,
                level,
                file: stack.file.clone(),
                line,
                service: Some(name.to_string()),
                message,
                fix,
            });
        };
        for port in service.ports.iter().filter(|p| !p.is_loopback()) {
            add(
                Check::PublicPort,
                Level::Warning,
                line_of(&port.host_ip),
                format!(
                    "port {} is published on '{}': reachable from the network, not only this machine",
                    port.container_port, port.host_ip
                ),
                format!(
                    "publish on loopback: '127.0.0.1:{}:{}'",
                    port.host_port.map(|p| p.to_string()).unwrap_or_default(),
                    port.container_port
                ),
            );
        }
        for (key, value) in &service.environment {
            if value.source != EnvSource::Inline || value.value.is_empty() || !secret_name(key) {
                continue;
            }
            // Only a value written out is a finding; `${VAR}` came from the environment.
            if let Some(i) = literal_line(&lines, key) {
                add(
                    Check::LiteralSecret,
                    Level::Error,
                    Some(i + 1),
                    format!(
                        "'{key}' is written in the stack file: it ends up in git and in every copy"
                    ),
                    format!("write '{key}: ${{{key}}}' and put the value in .env (git-ignored)"),
                );
            }
        }
        if service.build.is_none() && is_latest(&service.image) {
            add(
                Check::LatestImage,
                Level::Warning,
                line_of("image:"),
                format!(
                    "image '{}' is ':latest': what runs changes whenever it is pulled again",
                    service.image
                ),
                "pin a release tag (e.g. 'postgres:18.1') or a digest".to_string(),
            );
        }
        if let Some(home) = home {
            for mount in &service.mounts {
                if let MountSource::Bind(path) = &mount.source
                    && path == home
                {
                    add(
                        Check::HomeBind,
                        Level::Error,
                        line_of(&mount.target),
                        format!(
                            "the whole home folder is mounted at '{}': SSH keys and cloud credentials are visible inside",
                            mount.target
                        ),
                        "mount only the folder the service needs (e.g. './data:/data')".to_string(),
                    );
                }
            }
        }
        let needed_by: Vec<&str> = stack
            .services
            .values()
            .filter(|s| {
                s.depends_on
                    .get(&service.name)
                    .is_some_and(|d| d.condition != Condition::CompletedSuccessfully)
            })
            .map(|s| s.name.as_str())
            .collect();
        if service.restart == RestartPolicy::No && !needed_by.is_empty() {
            add(
                Check::NoRestart,
                Level::Warning,
                line_of("restart:"),
                format!(
                    "'{}' depend on it but it has no restart policy: after a crash or a daemon restart it stays down",
                    needed_by.join("', '")
                ),
                "add 'restart: unless-stopped'".to_string(),
            );
        }
    }
    out
}

/// The 0-based line range of `name:` under `services:` (up to the next key at its indent).
fn service_block(lines: &[&str], name: &str) -> Option<(usize, usize)> {
    let services = lines.iter().position(|l| l.trim_end() == "services:")?;
    let key = format!("{name}:");
    let start = (services + 1..lines.len()).find(|&i| {
        let l = lines[i];
        l.trim() == key && l.starts_with(' ')
    })?;
    let indent = indent_of(lines[start]);
    let end = (start + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent_of(l) <= indent
        })
        .unwrap_or(lines.len());
    Some((start, end))
}

fn indent_of(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

/// The line where `key` is set to a literal value (`KEY: value`, `- KEY=value`), if any.
fn literal_line(lines: &[&str], key: &str) -> Option<usize> {
    lines.iter().position(|l| {
        let t = l.trim_start().trim_start_matches('-').trim_start();
        let t = t.trim_start_matches(['"', '\'']);
        let Some(rest) = t.strip_prefix(key) else {
            return false;
        };
        let rest = rest.trim_start_matches(['"', '\'']);
        let value = match rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
            Some(v) => v.trim(),
            None => return false,
        };
        let value = value.split(" #").next().unwrap_or("").trim();
        !value.is_empty() && !value.contains('$') && value != "\"\"" && value != "''"
    })
}

fn is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}
