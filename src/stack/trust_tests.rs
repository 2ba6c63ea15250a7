//! Regression tests for issue 11's stack items: size-capped reads of stack and env files,
//! masking of everything that came from `.env`/`env_file` and of URL passwords, and the
//! validation messages (shapes, ports, project names, case collisions).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Self {
            dir: tempfile::Builder::new().prefix("trust").tempdir().unwrap(),
        }
    }
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn opts(&self) -> LoadOptions {
        LoadOptions {
            cwd: self.dir.path().to_path_buf(),
            project_name: Some("proj".into()),
            environment: BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]),
            ..Default::default()
        }
    }
    fn load(&self, yaml: &str) -> Result<Stack, Error> {
        load_str(yaml, &self.dir.path().join("compose.yaml"), &self.opts())
    }
    fn err(&self, yaml: &str) -> String {
        match self.load(yaml) {
            Ok(_) => panic!("expected an error for:\n{yaml}"),
            Err(e) => e.to_string(),
        }
    }
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(haystack.contains(n), "missing {n:?} in:\n{haystack}");
    }
}

// Regression (issue 11 item 7): `-f /dev/zero` read until memory ran out.
#[test]
fn a_stack_file_that_is_a_device_is_refused() {
    let p = Project::new();
    let opts = LoadOptions {
        file: Some(PathBuf::from("/dev/zero")),
        ..p.opts()
    };
    let e = load(&opts).unwrap_err().to_string();
    assert_contains(
        &e,
        &["'/dev/zero'", "character device", "not a regular file"],
    );
}

#[test]
fn a_stack_file_over_the_cap_is_refused() {
    let p = Project::new();
    let big = p.dir.path().join("compose.yaml");
    let f = std::fs::File::create(&big).unwrap();
    // Sparse: no 16 MiB written to the test's disk.
    f.set_len(crate::capped::MAX_TEXT_FILE + 1).unwrap();
    let opts = LoadOptions {
        file: Some(big),
        ..p.opts()
    };
    let e = load(&opts).unwrap_err().to_string();
    assert_contains(&e, &["compose.yaml'", "larger than 16 MiB"]);
}

// Regression (issue 11 item 7): `env_file: /dev/zero` grew to 2 GB, and an env_file
// that is a FIFO hung `up`; both are errors at the entry's position now.
#[test]
fn env_files_that_are_not_regular_files_are_positioned_errors() {
    let p = Project::new();
    let fifo = p.dir.path().join("pipe.env");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    for (file, what) in [
        ("/dev/zero", "character device"),
        ("pipe.env", "FIFO"),
        (".", "a directory"),
    ] {
        let e = p.err(&format!(
            "services:\n  a:\n    image: x\n    env_file: {file}\n"
        ));
        assert_contains(&e, &["compose.yaml:4:15", "cannot read env file", what]);
    }
    // `--env-file` (and `.env`) go through the same read.
    let opts = LoadOptions {
        env_files: vec![PathBuf::from("/dev/zero")],
        ..p.opts()
    };
    let e = load_str(
        "services:\n  a:\n    image: x\n",
        &p.dir.path().join("compose.yaml"),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert_contains(&e, &["'/dev/zero'", "character device"]);
}

// Regression (issue 11 item 12): `.env` values whose names do not look secret
// (`DB_PASS`, `*_PW`) and URL passwords were printed by `config`.
#[test]
fn every_dotenv_value_and_url_password_is_masked_in_config() {
    let p = Project::new();
    p.write(
        ".env",
        "DB_PASS=hunter22pass\nWAREHOUSE_PW=pw-of-warehouse\nDATABASE_URL=postgres://app:url-secret-9@db/app\nCLASS=org.example.Main\n",
    );
    let yaml = "services:
  a:
    image: x
    command: [java, -cp, org.example.Main, '${CLASS}', 'mysql://root:literal-pw@mysql/db']
    user: '${WAREHOUSE_PW}'
    environment:
      PLAIN: '${DB_PASS}'
      URL: ${DATABASE_URL}
      ALSO: url-secret-9
";
    let stack = p.load(yaml).unwrap();
    let text = render_config(&stack, false);
    for secret in [
        "hunter22pass",
        "pw-of-warehouse",
        "url-secret-9",
        "literal-pw",
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert_contains(
        &text,
        &[
            // The whole `.env` value is masked; a URL written in the file keeps all
            // but its password.
            "URL: '********'",
            "mysql://root:********@mysql/db",
            // Written literally in the file: not a secret, shown.
            "org.example.Main",
        ],
    );
    let shown = render_config(&stack, true);
    assert_contains(&shown, &["hunter22pass", "pw-of-warehouse", "url-secret-9"]);
}

#[test]
fn a_literal_non_secret_in_the_file_is_not_masked() {
    let p = Project::new();
    p.write(".env", "TAG=3.1.0\n");
    let stack = p
        .load("services:\n  a:\n    image: 'apache/airflow:${TAG}'\n    command: [run, com.example.KeyStoreLoader]\n    environment:\n      JAVA_CLASS: com.example.Main\n")
        .unwrap();
    let text = render_config(&stack, false);
    assert_contains(
        &text,
        &[
            "com.example.KeyStoreLoader",
            "com.example.Main",
            "apache/airflow:",
        ],
    );
    // The .env value is masked where it went, the rest of the image name is not.
    assert!(!text.contains("3.1.0"), "{text}");
}

#[test]
fn env_file_values_are_masked_in_messages_too() {
    let p = Project::new();
    p.write("app.env", "SIGNING=value-from-env-file\n");
    p.write(".env", "HOSTPORT=notaport\n");
    let stack = p
        .load("services:\n  a:\n    image: x\n    env_file: app.env\n")
        .unwrap();
    assert_eq!(
        stack
            .settings
            .secret_values
            .mask("echo value-from-env-file"),
        "echo ********"
    );
    // A message quoting a `.env` value that does not look secret.
    let e = p.err("services:\n  a:\n    image: x\n    ports: ['${HOSTPORT}:80']\n");
    assert!(!e.contains("notaport"), "{e}");
    assert_contains(&e, &["compose.yaml:4:13"]);
}

// Regression: `healthcheck: yes` said "expected struct RawHealthcheck".
#[test]
fn a_wrong_shape_never_names_a_rust_type() {
    let p = Project::new();
    let e = p.err("services:\n  a:\n    image: x\n    healthcheck: yes\n");
    assert!(!e.contains("Raw") && !e.contains("struct"), "{e}");
    assert_contains(&e, &["compose.yaml:4:18", "a mapping with 'test'"]);
    let e = p.err("services:\n  a:\n    image: x\n    ports: [[1]]\n");
    assert!(!e.contains("struct") && !e.contains("enum"), "{e}");
    // Where no key-specific wording exists, the kind serde expected, in plain words.
    let e = p.err("services:\n  a:\n    image: x\n    develop: 5\n");
    assert!(!e.contains("Raw") && !e.contains("struct"), "{e}");
    assert_contains(&e, &["compose.yaml:4:14", "allowed: a mapping"]);
    let e = p.err("volumes:\n  v: [1]\nservices: {}\n");
    assert!(!e.contains("Raw") && !e.contains("struct"), "{e}");
    assert_contains(&e, &["compose.yaml:2:6", "a list", "allowed: a mapping"]);
}

// Regression: `ports: ["-1:80"]` said "'' is not a port number".
#[test]
fn a_port_with_half_a_range_quotes_what_was_written() {
    let p = Project::new();
    for (port, quoted) in [("-1:80", "'-1'"), ("80-:80", "'80-'"), ("8080:-1", "'-1'")] {
        let e = p.err(&format!(
            "services:\n  a:\n    image: x\n    ports: ['{port}']\n"
        ));
        assert!(!e.contains("''"), "{e}");
        assert_contains(&e, &[quoted, "compose.yaml:4:13"]);
    }
}

// Regression: `name: "../../etc"` became project `etc` silently.
#[test]
fn project_names_normalisation_would_change_are_rejected() {
    let p = Project::new();
    let mut opts = p.opts();
    opts.project_name = None;
    for name in ["../../etc", "MyApp", "_x"] {
        let e = load_str(
            &format!("name: '{name}'\nservices: {{}}\n"),
            &p.dir.path().join("compose.yaml"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert_contains(
            &e,
            &[
                "compose.yaml:1:7",
                &format!("'{name}'"),
                "lowercase letters (a-z), digits, '-' and '_'",
                "start with a letter or digit",
            ],
        );
    }
    opts.project_name = Some("Web.App".into());
    let e = load_str("services: {}\n", &p.dir.path().join("compose.yaml"), &opts)
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["'Web.App'", "from -p"]);
}

// Regression: `WEB` and `web` in one file were two services with one DNS name.
#[test]
fn service_names_differing_only_in_case_are_rejected() {
    let p = Project::new();
    let e = p.err("services:\n  WEB:\n    image: x\n  web:\n    image: x\n");
    assert_contains(
        &e,
        &["compose.yaml:4:3", "'web'", "'WEB'", "only in letter case"],
    );
}

// Regression (found by the bundled stack's end-to-end run): a `.env` port was masked
// like a password, so `ps --json` printed `"host_port": ********` (not JSON) and every
// message hid the port. A bare number is shown; under a secret-looking name it is not.
#[test]
fn a_dotenv_port_is_shown_and_a_numeric_secret_is_not() {
    let p = Project::new();
    p.write(".env", "WEB_PORT=27596\nAPI_TOKEN=918273\n");
    let yaml = "services:
  a:
    image: x
    ports: ['${WEB_PORT}:80']
    environment:
      TOKEN: '${API_TOKEN}'
";
    let stack = p.load(yaml).unwrap();
    let text = render_config(&stack, false);
    assert!(text.contains("27596"), "{text}");
    assert!(!text.contains("918273"), "{text}");
    // The same through `env_file:` (the bundled pipeline reads all of `.env` so).
    let with_env_file = format!("{yaml}    env_file: .env\n");
    let stack = p.load(&with_env_file).unwrap();
    assert!(!stack.settings.secret_values.mask("27596").contains('*'));
    assert!(stack.settings.secret_values.mask("918273").contains('*'));
}
