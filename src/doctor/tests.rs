//! The doctor's parser and checks on Dockerfile text, without files or a daemon.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use super::checks::{Role, check_dockerfile, is_secret_file};
use super::dockerfile::{self, instructions};
use super::{Check, Level};

fn checks_of(text: &str, role: Role) -> Vec<(Check, usize)> {
    check_dockerfile(Path::new("Dockerfile"), text, &BTreeMap::new(), role, None)
        .into_iter()
        .map(|f| (f.check, f.line.unwrap_or(0)))
        .collect()
}

const GOOD: &str = "\
FROM python:3.12.7-slim AS build
COPY requirements.txt .
RUN pip wheel --no-cache-dir -w /w -r requirements.txt
FROM python:3.12.7-slim
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY src/ /app/src/
USER app
HEALTHCHECK CMD true
";

#[test]
fn continuations_comments_and_lines() {
    let text = "# c\nFROM a\n\nRUN one \\\n  # inside\n  two\nUSER x\n";
    let got: Vec<(usize, String, String)> = instructions(text)
        .into_iter()
        .map(|i| (i.line, i.keyword, i.args))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "FROM".into(), "a".into()),
            (4, "RUN".into(), "one two".into()),
            (7, "USER".into(), "x".into()),
        ]
    );
}

#[test]
fn from_takes_global_arg_defaults_and_build_args() {
    let text = "ARG IMG=python:3.12.7-slim\nFROM ${IMG} AS b\nFROM b\n";
    let file = dockerfile::parse(text, &BTreeMap::new());
    assert_eq!(file.stages[0].base, "python:3.12.7-slim");
    assert!(file.stages[1].from_stage);
    let args = BTreeMap::from([("IMG".to_string(), "python:3.11".to_string())]);
    assert_eq!(dockerfile::parse(text, &args).stages[0].base, "python:3.11");
}

#[test]
fn a_good_dockerfile_has_no_finding() {
    assert_eq!(
        checks_of(
            GOOD,
            Role::LongRunning {
                stack_healthcheck: false
            }
        ),
        vec![]
    );
}

#[test]
fn pins_need_a_patch_release_or_a_digest() {
    for (base, pinned) in [
        ("python:3.12.7-slim", true),
        ("python@sha256:abc", true),
        ("postgres:18.1-alpine", true),
        ("python:3.12-slim", false),
        ("python:3-slim", false),
        ("python:latest", false),
        ("python", false),
        ("registry:5000/python-slim", false),
    ] {
        let text = GOOD.replace("python:3.12.7-slim", base);
        let unpinned = checks_of(&text, Role::Unknown)
            .iter()
            .any(|(c, _)| *c == Check::BaseUnpinned);
        assert_eq!(!unpinned, pinned, "{base}");
    }
}

#[test]
fn a_one_shot_job_wants_no_probe_and_a_service_wants_one() {
    assert_eq!(
        checks_of(GOOD, Role::OneShot),
        vec![(Check::Healthcheck, 9)]
    );
    let none = GOOD.replace("HEALTHCHECK CMD true", "HEALTHCHECK NONE");
    assert_eq!(checks_of(&none, Role::OneShot), vec![]);
    assert_eq!(
        checks_of(
            &none,
            Role::LongRunning {
                stack_healthcheck: true
            }
        ),
        vec![]
    );
}

#[test]
fn secrets_in_arg_env_and_copy_are_errors_on_their_line() {
    let text = format!("{GOOD}ARG GITHUB_TOKEN\nENV DB_PASSWORD=x\nCOPY id_rsa /root/.ssh/\n");
    let findings = check_dockerfile(
        Path::new("Dockerfile"),
        &text,
        &BTreeMap::new(),
        Role::Unknown,
        None,
    );
    let lines: Vec<usize> = findings
        .iter()
        .filter(|f| f.check == Check::SecretInImage && f.level == Level::Error)
        .filter_map(|f| f.line)
        .collect();
    assert_eq!(lines, vec![10, 11, 12]);
}

#[test]
fn secret_file_names() {
    for (p, secret) in [
        (".env", true),
        ("sub/.env.local", true),
        (".env.example", false),
        ("certs/tls.pem", true),
        ("gcp-credentials.json", true),
        ("package.json", false),
        ("id_ed25519", true),
    ] {
        assert_eq!(is_secret_file(p), secret, "{p}");
    }
}
