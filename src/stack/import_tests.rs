//! `extends` and `include` through the loader's public API, on files in a temporary
//! folder (issue 16.6).

use std::path::{Path, PathBuf};

use super::*;

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn load_main(dir: &Path) -> Result<Stack, Error> {
    load(&LoadOptions {
        file: Some(dir.join("compose.yaml")),
        cwd: dir.to_path_buf(),
        project_name: Some("proj".into()),
        environment: [("HOME".to_string(), "/home/u".to_string())].into(),
        ..Default::default()
    })
}

fn service<'a>(s: &'a Stack, name: &str) -> &'a Service {
    &s.services[&crate::model::ServiceName::new(name.to_string())]
}

#[test]
fn extends_in_the_same_file_merges_as_compose_does() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  base:\n    image: busybox\n    environment: {A: '1', B: '1'}\n    command: [sleep, '1']\n  web:\n    extends: base\n    environment: {B: '2'}\n    command: [sleep, '2']\n  api:\n    extends: {service: web}\n",
    );
    let s = load_main(tmp.path()).unwrap();
    for name in ["web", "api"] {
        let web = service(&s, name);
        assert_eq!(web.image, "busybox", "{name}");
        assert_eq!(web.environment["A"].value, "1", "{name}");
        assert_eq!(web.environment["B"].value, "2", "{name}");
        assert_eq!(
            web.command.as_deref(),
            Some(&["sleep".to_string(), "2".to_string()][..]),
            "{name}"
        );
    }
}

#[test]
fn extends_of_another_file_reads_its_relative_paths_from_that_files_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let common = tmp.path().join("common");
    std::fs::create_dir_all(common.join("app")).unwrap();
    std::fs::create_dir_all(common.join("data")).unwrap();
    write(&common, "app/Dockerfile", "FROM busybox\n");
    write(
        &common,
        "base.yaml",
        "services:\n  app:\n    build: ./app\n    volumes: ['./data:/data']\n    env_file: [./base.env]\n",
    );
    write(&common, "base.env", "FROM_BASE=yes\n");
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: app\n    environment: {OWN: '1'}\n",
    );
    let s = load_main(tmp.path()).unwrap();
    let web = service(&s, "web");
    assert_eq!(
        web.build.as_ref().map(|b| b.context.clone()),
        Some(common.join("app"))
    );
    assert_eq!(web.mounts[0].source, MountSource::Bind(common.join("data")));
    assert_eq!(web.environment["FROM_BASE"].value, "yes");
    assert_eq!(web.environment["OWN"].value, "1");
}

#[test]
fn an_extends_cycle_is_an_error_at_the_extends_that_closes_it() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    extends: b\n  b:\n    extends:\n      service: a\n",
    );
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("circular extends"), "{e}");
    assert!(e.contains("compose.yaml:7:"), "{e}");

    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  a:\n    extends: {service: nope}\n",
    );
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("service 'nope' not found"), "{e}");
    assert!(e.contains("compose.yaml:3:"), "{e}");
}

#[test]
fn include_brings_in_another_projects_services_with_its_paths_and_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let inc = tmp.path().join("db");
    std::fs::create_dir_all(inc.join("init")).unwrap();
    write(&inc, ".env", "DB_IMAGE=postgres:18.1\n");
    write(
        &inc,
        "compose.yaml",
        "services:\n  db:\n    image: ${DB_IMAGE}\n    volumes: ['./init:/docker-entrypoint-initdb.d', 'data:/var/lib/postgresql']\nvolumes:\n  data: {}\n",
    );
    write(
        tmp.path(),
        "compose.yaml",
        "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: busybox\n    depends_on: [db]\n",
    );
    let s = load_main(tmp.path()).unwrap();
    let db = service(&s, "db");
    assert_eq!(db.image, "postgres:18.1");
    assert_eq!(db.mounts[0].source, MountSource::Bind(inc.join("init")));
    assert!(s.volumes.contains_key("data"), "{:?}", s.volumes.keys());
    assert!(service(&s, "web").depends_on.len() == 1);
}

#[test]
fn include_conflicts_and_errors_name_the_file_they_are_in() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "db/compose.yaml",
        "services:\n  db:\n    image: postgres:18.1\n",
    );
    write(
        tmp.path(),
        "compose.yaml",
        "include:\n  - path: db/compose.yaml\nservices:\n  db:\n    image: postgres:17\n",
    );
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("conflicts"), "{e}");
    assert!(e.contains("compose.yaml:4:"), "{e}");

    write(
        tmp.path(),
        "db/compose.yaml",
        "services:\n  db:\n    image: postgres:18.1\n    ports: ['not-a-port']\n",
    );
    write(tmp.path(), "compose.yaml", "include: [db/compose.yaml]\n");
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("db/compose.yaml:4:"), "{e}");

    write(
        tmp.path(),
        "db/compose.yaml",
        "include: [../compose.yaml]\n",
    );
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("include cycle"), "{e}");
}

#[test]
fn a_file_secret_is_mounted_read_only_under_run_secrets_and_config_shows_no_content() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "db_password.txt", "s3cr3t-content\n");
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  app:\n    image: busybox\n    secrets:\n      - db_password\n      - source: db_password\n        target: other\n      - source: api\n        target: /etc/api\nsecrets:\n  db_password:\n    file: ./db_password.txt\n  api:\n    file: db_password.txt\n  from_env:\n    environment: API_TOKEN\n",
    );
    let s = load_main(tmp.path()).unwrap();
    let file = tmp.path().join("db_password.txt");
    let mounts: Vec<(String, bool)> = service(&s, "app")
        .mounts
        .iter()
        .map(|m| {
            assert_eq!(m.source, MountSource::Bind(file.clone()));
            (m.target.clone(), m.read_only)
        })
        .collect();
    assert_eq!(
        mounts,
        [
            ("/run/secrets/db_password".to_string(), true),
            ("/run/secrets/other".to_string(), true),
            ("/etc/api".to_string(), true)
        ]
    );
    let config = render_config(&s, false);
    assert!(!config.contains("s3cr3t"), "{config}");

    // An undefined secret is an error at the reference; a missing file at its definition.
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  app:\n    image: busybox\n    secrets: [nope]\n",
    );
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("secret 'nope' is not defined"), "{e}");
    assert!(e.contains("compose.yaml:4:"), "{e}");
    write(
        tmp.path(),
        "compose.yaml",
        "services:\n  app:\n    image: busybox\n    secrets: [x]\nsecrets:\n  x:\n    file: ./missing.txt\n",
    );
    let e = load_main(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("missing.txt' does not exist"), "{e}");
    assert!(e.contains("compose.yaml:7:"), "{e}");
}
