//! The safety nets against the daemon: `devstack doctor`'s image and container part
//! (image history, running users), through the binary as a user runs it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Project, SLEEPER, block_on, engine, fixture_image};

#[test]
fn doctor_reports_layers_with_their_instruction_and_who_runs_each_container() {
    let base = block_on(async { fixture_image(&engine().await).await });
    let project = Project::new();
    project.write(
        "app/Dockerfile",
        &format!("FROM {base}\nRUN head -c 300000 /dev/zero > /ballast\nUSER 1000\n"),
    );
    project.write(
        "compose.yaml",
        &format!(
            "services:\n  app:\n    build: ./app\n    command: {SLEEPER}\n  plain:\n    image: {base}\n    command: {SLEEPER}\n"
        ),
    );
    project.ok(&["up", "-d", "--build"]);

    let out = project.run(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));

    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{report:#}");
    let ballast = images[0]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["created_by"].as_str().unwrap().contains("head -c 300000"))
        .unwrap_or_else(|| panic!("no layer made by the RUN: {report:#}"));
    assert!(ballast["size"].as_u64().unwrap() >= 300_000, "{ballast}");
    assert!(images[0]["size"].as_u64().unwrap() >= 300_000);

    let users: Vec<(&str, &str, bool)> = report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["service"].as_str().unwrap(),
                c["user"].as_str().unwrap(),
                c["root"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(users, vec![("app", "1000", false), ("plain", "", true)]);

    // The plain text names the biggest layer and flags the root container.
    let text = String::from_utf8_lossy(&project.run(&["doctor"]).stdout).into_owned();
    assert!(text.contains("head -c 300000"), "{text}");
    assert!(text.contains("runs as root"), "{text}");
}
