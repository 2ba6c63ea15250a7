//! Loading networks, links, volumes_from, ipc and platform (issue 16.6): the resolved
//! model, Compose's implicit `depends_on`, and errors with positions.

use std::collections::BTreeMap;

use super::*;
use crate::model::ServiceName;

fn load(yaml: &str) -> Result<Stack, Error> {
    let dir = tempfile::Builder::new().prefix("net").tempdir().unwrap();
    let opts = LoadOptions {
        cwd: dir.path().to_path_buf(),
        project_name: Some("proj".into()),
        environment: BTreeMap::from([("HOME".to_string(), "/home/u".to_string())]),
        ..Default::default()
    };
    load_str(yaml, &dir.path().join("compose.yaml"), &opts)
}

fn err(yaml: &str) -> String {
    match load(yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(haystack.contains(n), "missing {n:?} in:\n{haystack}");
    }
}

fn svc<'a>(s: &'a Stack, name: &str) -> &'a Service {
    &s.services[&ServiceName::new(name)]
}

#[test]
fn top_level_networks_resolve_names_and_settings() {
    let s = load(
        "services:\n  a:\n    image: x\n    networks: [back, front, ext, legacy]\nnetworks:\n  back:\n    internal: true\n    driver: bridge\n    driver_opts:\n      com.docker.network.bridge.name: br-x\n    labels:\n      team: data\n    ipam:\n      config:\n        - subnet: 172.28.0.0/16\n          gateway: 172.28.0.1\n  front:\n    name: shop-front\n  ext:\n    external: true\n  legacy:\n    external:\n      name: old-net\n",
    )
    .unwrap();
    let n = &s.networks;
    assert_eq!(n["back"].name, "proj_back");
    assert!(n["back"].internal && !n["back"].external);
    assert_eq!(n["back"].labels["team"], "data");
    assert_eq!(
        n["back"].driver_opts["com.docker.network.bridge.name"],
        "br-x"
    );
    let pool = &n["back"].ipam.as_ref().unwrap().pools[0];
    assert_eq!(pool.subnet.as_deref(), Some("172.28.0.0/16"));
    assert_eq!(pool.gateway.as_deref(), Some("172.28.0.1"));
    assert_eq!(n["front"].name, "shop-front");
    assert!(n["ext"].external);
    assert_eq!(n["ext"].name, "ext");
    assert!(n["legacy"].external);
    assert_eq!(n["legacy"].name, "old-net");
    assert_eq!(s.network_name("default"), "proj_default");
    assert_eq!(s.network_name("front"), "shop-front");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn service_networks_aliases_and_addresses() {
    let s = load(
        "services:\n  a:\n    image: x\n    networks:\n      back:\n        aliases: [db, database]\n        ipv4_address: 172.28.1.5\n      default:\n  b:\n    image: x\n  c:\n    image: x\n    network_mode: host\nnetworks:\n  back:\n    ipam:\n      config:\n        - subnet: 172.28.0.0/16\n",
    )
    .unwrap();
    let a = s.service_networks(svc(&s, "a"));
    assert_eq!(
        a.keys().map(String::as_str).collect::<Vec<_>>(),
        ["back", "default"]
    );
    assert_eq!(a["back"].aliases, ["db", "database"]);
    assert_eq!(a["back"].ipv4_address.as_deref(), Some("172.28.1.5"));
    // No `networks:`: the default network, as before.
    let b = s.service_networks(svc(&s, "b"));
    assert_eq!(b.keys().collect::<Vec<_>>(), ["default"]);
    assert!(s.service_networks(svc(&s, "c")).is_empty());
    assert_eq!(
        s.used_networks().into_iter().collect::<Vec<_>>(),
        ["back", "default"]
    );
}

#[test]
fn network_errors_have_positions() {
    let e = err("services:\n  a:\n    image: x\n    networks: [front]\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:4:16",
            "network 'front' is not declared",
            "'default'",
        ],
    );
    let e = err("services:\n  a:\n    image: x\n    network_mode: host\n    networks: [default]\n");
    assert_contains(
        &e,
        &["compose.yaml:5:", "either 'network_mode' or 'networks'"],
    );
    let e = err(
        "services:\n  a:\n    image: x\n    networks:\n      back:\n        ipv4_address: 999.1.1.1\nnetworks:\n  back:\n",
    );
    assert_contains(
        &e,
        &["compose.yaml:6:23", "'999.1.1.1' is not an IPv4 address"],
    );
    let e = err(
        "services:\n  a:\n    image: x\nnetworks:\n  back:\n    ipam:\n      config:\n        - subnet: 10.0.0.0\n",
    );
    assert_contains(&e, &["compose.yaml:8:19", "'10.0.0.0' is not a subnet"]);
    let e = err("services:\n  a:\n    image: x\nnetworks:\n  back:\n    drivr: bridge\n");
    assert_contains(&e, &["compose.yaml:6:5", "did you mean 'driver'"]);
    let e = err(
        "services:\n  a:\n    image: x\nnetworks:\n  back:\n    name: a\n    external:\n      name: b\n",
    );
    assert_contains(&e, &["'b' differs from the network's 'name: a'"]);
}

#[test]
fn links_volumes_from_ipc_add_implicit_dependencies() {
    // Compose's answer for this file (tests/conformance: compose-go's
    // loader/extends/depends_on.yaml) gives each a `service_started` dependency.
    let s = load(
        "services:\n  web:\n    image: x\n    links: [db, \"cache:redis\"]\n  vol:\n    image: x\n    volumes_from: [\"data:ro\", \"container:legacy\"]\n  ipc:\n    image: x\n    ipc: service:data\n  net:\n    image: x\n    network_mode: service:data\n  db:\n    image: x\n  cache:\n    image: x\n  data:\n    image: x\n",
    )
    .unwrap();
    let deps = |n: &str| {
        svc(&s, n)
            .depends_on
            .iter()
            .map(|(k, d)| (k.to_string(), d.condition, d.required))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        deps("web"),
        [
            ("cache".into(), Condition::Started, true),
            ("db".into(), Condition::Started, true)
        ]
    );
    assert_eq!(deps("vol"), [("data".into(), Condition::Started, true)]);
    assert_eq!(deps("ipc"), [("data".into(), Condition::Started, true)]);
    assert_eq!(deps("net"), [("data".into(), Condition::Started, true)]);
    let web = &svc(&s, "web").options;
    assert_eq!(
        web.links,
        [
            ("db".to_string(), "db".to_string()),
            ("cache".to_string(), "redis".to_string())
        ]
    );
    let vol = &svc(&s, "vol").options.volumes_from;
    assert_eq!(
        vol,
        &[
            VolumesFrom {
                from: VolumesFromSource::Service("data".into()),
                read_only: true
            },
            VolumesFrom {
                from: VolumesFromSource::Container("legacy".into()),
                read_only: false
            },
        ]
    );
    assert_eq!(svc(&s, "ipc").options.ipc.as_deref(), Some("service:data"));
    // Starting order follows: data before those that use it.
    let order = s.only_with_dependencies(&[ServiceName::new("vol")]);
    assert!(order.services.contains_key(&ServiceName::new("data")));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn reference_errors_point_at_the_entry() {
    let e = err("services:\n  a:\n    image: x\n    links: [dbb]\n  db:\n    image: x\n");
    assert_contains(&e, &["compose.yaml:4:13", "'dbb'", "'a', 'db'"]);
    let e =
        err("services:\n  a:\n    image: x\n    volumes_from: [\"b:rx\"]\n  b:\n    image: x\n");
    assert_contains(&e, &["compose.yaml:4:20", "not a volumes_from entry"]);
    let e = err("services:\n  a:\n    image: x\n    ipc: service:a\n");
    assert_contains(&e, &["compose.yaml:4:10", "refers to itself"]);
    let e = err("services:\n  a:\n    image: x\n    ipc: sharable\n");
    assert_contains(&e, &["unknown IPC mode 'sharable'", "'shareable'"]);
}

#[test]
fn platform_is_checked_and_kept() {
    let s = load("services:\n  a:\n    image: x\n    platform: linux/arm64/v8\n").unwrap();
    assert_eq!(
        svc(&s, "a").options.platform.as_deref(),
        Some("linux/arm64/v8")
    );
    let e = err("services:\n  a:\n    image: x\n    platform: amd64\n");
    assert_contains(&e, &["compose.yaml:4:15", "'amd64' is not a platform"]);
}

#[test]
fn config_prints_networks_as_compose_reads_them() {
    let s = load(
        "services:\n  a:\n    image: x\n    networks:\n      back:\n        aliases: [db]\n    links: [\"b:bee\"]\n    volumes_from: [\"b:ro\"]\n  b:\n    image: x\nnetworks:\n  back:\n    internal: true\n    labels: {team: data}\n",
    )
    .unwrap();
    let text = render_config(&s, true);
    // What `config` prints loads again to the same stack.
    let again = load(&text).unwrap();
    assert_eq!(again.networks, s.networks);
    assert_eq!(svc(&again, "a").options, svc(&s, "a").options);
    assert_contains(&text, &["bee", "b:ro", "internal: true"]);
}

#[test]
fn warned_keys_with_a_shape_compose_refuses_are_errors() {
    // Compose v2.40.3: "services.web.privileged must be a boolean or string".
    let e = err("services:\n  web:\n    image: x\n    privileged: [true]\n");
    assert_contains(
        &e,
        &[
            "compose.yaml:4:17",
            "'services.web.privileged'",
            "a list is not a single value",
            "Compose refuses this file",
        ],
    );
    let e = err("services:\n  web:\n    image: x\n    dns:\n      primary: 8.8.8.8\n");
    assert_contains(
        &e,
        &["compose.yaml:5:7", "a mapping is not a value or a list"],
    );
    let e = err("services:\n  web:\n    image: x\n    deploy:\n      placement: [a]\n");
    assert_contains(
        &e,
        &["'services.web.deploy.placement'", "a list is not a mapping"],
    );
    // The shapes Compose accepts still load, with the warning.
    let s = load("services:\n  web:\n    image: x\n    privileged: true\n    dns: 8.8.8.8\n    security_opt: [\"no-new-privileges:true\"]\n").unwrap();
    assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
}
