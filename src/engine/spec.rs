//! Translating a resolved [`Service`] into the daemon's create requests: container,
//! network, volume. Compose-compatible names and labels.
//!
//! Pure: builds request bodies, performs no I/O, so it is unit-tested without a daemon.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig, Ipam, IpamConfig, Mount, MountType, NetworkCreateRequest,
    NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};

use bollard::query_parameters::{CreateContainerOptions, CreateContainerOptionsBuilder};

use crate::model::{ServiceName, labels};
use crate::stack::{
    HealthTest, MountSource, RestartPolicy as Restart, Service, Stack, Volume, VolumesFromSource,
};

/// Compose's record of a container's `depends_on` (`db:service_healthy:false,…`), read
/// back by `down` and reset to stop dependents before what they depend on, also when the
/// stack file is gone or changed.
pub(crate) const DEPENDS_ON_LABEL: &str = "com.docker.compose.depends_on";

/// Mount targets (a JSON list) where the container has a volume carried over from the
/// container it replaced: anonymous, although mounted by name. Removing the container
/// for good removes them, as it does the anonymous volumes the daemon made itself.
pub(crate) const CARRIED_VOLUMES_LABEL: &str = "io.devstack.anonymous-volumes";

/// An anonymous volume of a replaced container, mounted into its successor at the
/// same place so the data in it lives on (Compose does the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CarriedVolume {
    pub target: String,
    pub name: String,
    pub read_only: bool,
}

/// The services a container depends on, from [`DEPENDS_ON_LABEL`].
pub(crate) fn depends_on_of(
    container_labels: &std::collections::BTreeMap<String, String>,
) -> Vec<ServiceName> {
    container_labels
        .get(DEPENDS_ON_LABEL)
        .map(|v| {
            v.split(',')
                .filter_map(|d| d.split(':').next())
                .filter(|d| !d.is_empty())
                .map(ServiceName::new)
                .collect()
        })
        .unwrap_or_default()
}

/// Labels `docker compose` needs to count a container as its project's: without the
/// config hash `compose ps/logs/down` do not list it, and `compose up` then fails on
/// the name. Compose compares the hash with its own, so it recreates (takes over) a
/// devstack container rather than reusing it.
const COMPOSE_CONFIG_HASH: &str = "com.docker.compose.config-hash";
const COMPOSE_VERSION: &str = "com.docker.compose.version";
/// The Compose release whose labels these are (checked against it in tests).
const COMPOSE_VERSION_VALUE: &str = "2.40.3";

/// The create-container body for one service; `carried` are the anonymous volumes of
/// the container it replaces.
pub(crate) fn container(
    stack: &Stack,
    service: &Service,
    config_hash: &str,
    carried: &[CarriedVolume],
) -> ContainerCreateBody {
    let project = &stack.project;
    let mut endpoints = endpoints(stack, service).into_iter();
    let first_endpoint = endpoints.next();

    let mut container_labels: HashMap<String, String> = service
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Ours go last so a service label cannot impersonate another project or service.
    for (k, v) in [
        (labels::PROJECT, project.as_str()),
        (labels::SERVICE, service.name.as_str()),
        (labels::CONFIG_HASH, config_hash),
        (labels::COMPOSE_PROJECT, project.as_str()),
        (labels::COMPOSE_SERVICE, service.name.as_str()),
        (labels::COMPOSE_NUMBER, "1"),
        (labels::COMPOSE_ONEOFF, "False"),
        (COMPOSE_CONFIG_HASH, config_hash),
        (COMPOSE_VERSION, COMPOSE_VERSION_VALUE),
    ] {
        container_labels.insert(k.to_string(), v.to_string());
    }
    container_labels.extend(origin(stack));
    if !service.depends_on.is_empty() {
        let deps: Vec<String> = service
            .depends_on
            .iter()
            .map(|(d, dep)| format!("{d}:{}:{}", dep.condition.as_compose(), dep.restart))
            .collect();
        container_labels.insert(DEPENDS_ON_LABEL.to_string(), deps.join(","));
    }

    let env: Vec<String> = service
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={}", v.value))
        .collect();

    let o = &service.options;
    let mut exposed = o.expose.clone();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &service.ports {
        let key = format!("{}/{}", p.container_port, p.protocol.as_str());
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(p.host_ip.clone()),
                // Empty: the daemon picks a free ephemeral port.
                host_port: Some(match (p.host_port, p.host_port_end) {
                    (Some(h), Some(e)) => format!("{h}-{e}"),
                    (Some(h), None) => h.to_string(),
                    (None, _) => String::new(),
                }),
            });
    }

    let mut mounts: Vec<Mount> = service
        .mounts
        .iter()
        .map(|m| {
            let (typ, source) = match &m.source {
                MountSource::Volume(key) => (
                    MountType::VOLUME,
                    Some(
                        stack
                            .volumes
                            .get(key)
                            .map(|v| v.name.clone())
                            // The loader rejects unknown keys; Compose's naming if one slips by.
                            .unwrap_or_else(|| project.volume_name(key)),
                    ),
                ),
                MountSource::Anonymous => (MountType::VOLUME, None),
                MountSource::Bind(path) => (MountType::BIND, Some(path.display().to_string())),
                MountSource::Tmpfs => (MountType::TMPFS, None),
            };
            Mount {
                target: Some(m.target.clone()),
                source,
                typ: Some(typ),
                read_only: Some(m.read_only),
                ..Default::default()
            }
        })
        .collect();
    let mut applied: Vec<&str> = Vec::new();
    for c in carried {
        // The stack's own mount at a target wins; a carried volume only fills the place
        // an anonymous one would take.
        match mounts
            .iter_mut()
            .find(|m| m.target.as_deref() == Some(c.target.as_str()))
        {
            Some(m) if m.typ == Some(MountType::VOLUME) && m.source.is_none() => {
                m.source = Some(c.name.clone());
            }
            Some(_) => continue,
            None => mounts.push(Mount {
                target: Some(c.target.clone()),
                source: Some(c.name.clone()),
                typ: Some(MountType::VOLUME),
                read_only: Some(c.read_only),
                ..Default::default()
            }),
        }
        applied.push(&c.target);
    }
    if !applied.is_empty() {
        // A list of plain strings always serialises.
        container_labels.insert(
            CARRIED_VOLUMES_LABEL.to_string(),
            serde_json::to_string(&applied).unwrap_or_default(),
        );
    }

    let healthcheck = service.healthcheck.as_ref().map(|h| HealthConfig {
        // No test: the daemon keeps the image's and takes the timings given here.
        test: (!matches!(h.test, HealthTest::FromImage)).then(|| match &h.test {
            HealthTest::FromImage | HealthTest::Disabled => vec!["NONE".to_string()],
            HealthTest::Cmd(args) => std::iter::once("CMD".to_string())
                .chain(args.iter().cloned())
                .collect(),
            HealthTest::Shell(cmd) => vec!["CMD-SHELL".to_string(), cmd.clone()],
        }),
        interval: h.interval.map(nanos),
        timeout: h.timeout.map(nanos),
        retries: h.retries.map(i64::from),
        start_period: h.start_period.map(nanos),
        start_interval: h.start_interval.map(nanos),
    });

    let restart_policy = match service.restart {
        Restart::No => RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        },
        Restart::Always => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            maximum_retry_count: None,
        },
        Restart::UnlessStopped => RestartPolicy {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        },
        Restart::OnFailure(max) => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: max.map(i64::from),
        },
    };

    ContainerCreateBody {
        image: Some(service.image.clone()),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: Some(env),
        labels: Some(container_labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        hostname: o.hostname.clone(),
        open_stdin: o.stdin_open.then_some(true),
        tty: o.tty.then_some(true),
        healthcheck,
        working_dir: service.working_dir.clone(),
        user: service.user.clone(),
        stop_signal: service.stop_signal.clone(),
        // Whole seconds, as the daemon keeps it; rounded up so a grace period is never cut.
        stop_timeout: service.stop_grace_period.map(|d| {
            i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
        }),
        host_config: Some(HostConfig {
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            mounts: (!mounts.is_empty()).then_some(mounts),
            restart_policy: Some(restart_policy),
            network_mode: match o.network_mode.as_deref() {
                None => first_endpoint.as_ref().map(|(name, _)| name.clone()),
                Some(m) => Some(of_service(stack, m)),
            },
            ipc_mode: o.ipc.as_deref().map(|m| of_service(stack, m)),
            volumes_from: (!o.volumes_from.is_empty()).then(|| {
                o.volumes_from
                    .iter()
                    .map(|v| {
                        let name = match &v.from {
                            VolumesFromSource::Service(s) => {
                                container_of(stack, &ServiceName::new(s.as_str()))
                            }
                            VolumesFromSource::Container(c) => c.clone(),
                        };
                        if v.read_only {
                            format!("{name}:ro")
                        } else {
                            name
                        }
                    })
                    .collect()
            }),
            init: o.init,
            readonly_rootfs: o.read_only.then_some(true),
            cap_add: (!o.cap_add.is_empty()).then(|| o.cap_add.clone()),
            cap_drop: (!o.cap_drop.is_empty()).then(|| o.cap_drop.clone()),
            extra_hosts: (!o.extra_hosts.is_empty()).then(|| o.extra_hosts.clone()),
            shm_size: o.shm_size,
            sysctls: (!o.sysctls.is_empty()).then(|| {
                o.sysctls
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
            tmpfs: (!o.tmpfs.is_empty()).then(|| {
                o.tmpfs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
            ulimits: (!o.ulimits.is_empty()).then(|| {
                o.ulimits
                    .iter()
                    .map(|(name, u)| ResourcesUlimits {
                        name: Some(name.clone()),
                        soft: Some(u.soft),
                        hard: Some(u.hard),
                    })
                    .collect()
            }),
            nano_cpus: o.resources.nano_cpus,
            memory: o.resources.memory,
            pids_limit: o.resources.pids,
            memory_reservation: o.resources.memory_reservation,
            log_config: service
                .options
                .logging
                .as_ref()
                .map(|l| HostConfigLogConfig {
                    typ: l.driver.clone(),
                    config: (!l.options.is_empty()).then(|| {
                        l.options
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    }),
                }),
            ..Default::default()
        }),
        // API 1.41 takes one network at create; the others are connected before start
        // (`endpoints`). With a network mode of its own, the container is on none.
        networking_config: first_endpoint.map(|(name, ep)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(name, ep)])),
        }),
        ..Default::default()
    }
}

/// The create query: the container's name, and the platform the file asks for (an
/// image of another platform is then an error from the daemon, naming the service).
pub(crate) fn create_options(name: &str, service: &Service) -> CreateContainerOptions {
    let mut b = CreateContainerOptionsBuilder::default().name(name);
    if let Some(p) = &service.options.platform {
        b = b.platform(p);
    }
    b.build()
}

/// The container of a service of the stack (its `container_name`, else Compose's).
fn container_of(stack: &Stack, service: &ServiceName) -> String {
    stack
        .services
        .get(service)
        .map(|s| s.container_name(&stack.project))
        .unwrap_or_else(|| stack.project.container_name(service))
}

/// A `service:NAME` mode (`network_mode`, `ipc`) as the daemon's `container:NAME`.
fn of_service(stack: &Stack, mode: &str) -> String {
    match mode.strip_prefix("service:") {
        Some(other) => format!(
            "container:{}",
            container_of(stack, &ServiceName::new(other))
        ),
        None => mode.to_string(),
    }
}

/// The networks the service's container joins, by the daemon's name, in the order
/// they are attached (by key, as the file's keys are sorted), each with the service's
/// name and aliases, its fixed address, and the links to services on that network.
pub(crate) fn endpoints(stack: &Stack, service: &Service) -> Vec<(String, EndpointSettings)> {
    let joined = stack.service_networks(service);
    joined
        .iter()
        .map(|(key, sn)| {
            let mut aliases = vec![service.name.to_string()];
            aliases.extend(
                sn.aliases
                    .iter()
                    .filter(|a| a.as_str() != service.name.as_str())
                    .cloned(),
            );
            let links: Vec<String> = service
                .options
                .links
                .iter()
                .filter(|(other, _)| {
                    stack
                        .services
                        .get(&ServiceName::new(other.as_str()))
                        .is_some_and(|o| stack.service_networks(o).contains_key(key))
                })
                .map(|(other, alias)| {
                    format!(
                        "{}:{alias}",
                        container_of(stack, &ServiceName::new(other.as_str()))
                    )
                })
                .collect();
            let ipam_config = (sn.ipv4_address.is_some() || sn.ipv6_address.is_some()).then(|| {
                EndpointIpamConfig {
                    ipv4_address: sn.ipv4_address.clone(),
                    ipv6_address: sn.ipv6_address.clone(),
                    ..Default::default()
                }
            });
            (
                stack.network_name(key),
                EndpointSettings {
                    aliases: Some(aliases),
                    links: (!links.is_empty()).then_some(links),
                    ipam_config,
                    ..Default::default()
                },
            )
        })
        .collect()
}

/// Where the project comes from (Compose's labels): the stack file's directory and the
/// file itself. Not part of the config hash, so a container created before these labels
/// existed is not recreated for them.
pub(crate) fn origin(stack: &Stack) -> [(String, String); 2] {
    [
        (
            labels::COMPOSE_WORKING_DIR.to_string(),
            stack.dir.display().to_string(),
        ),
        (
            labels::COMPOSE_CONFIG_FILES.to_string(),
            stack.file.display().to_string(),
        ),
    ]
}

/// The create request of the stack's network `key` (`default` when the file does not
/// declare it: a plain bridge), labelled as the project's, the file's labels kept.
pub(crate) fn network(stack: &Stack, key: &str) -> NetworkCreateRequest {
    let project = &stack.project;
    let declared = stack.networks.get(key).cloned().unwrap_or_default();
    let mut network_labels: HashMap<String, String> = declared
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in [
        (labels::PROJECT, project.as_str()),
        (labels::COMPOSE_PROJECT, project.as_str()),
        (labels::COMPOSE_NETWORK, key),
    ] {
        network_labels.insert(k.to_string(), v.to_string());
    }
    network_labels.extend(origin(stack));
    let map = |m: &std::collections::BTreeMap<String, String>| {
        (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    NetworkCreateRequest {
        name: stack.network_name(key),
        driver: Some(
            declared
                .driver
                .clone()
                .unwrap_or_else(|| "bridge".to_string()),
        ),
        labels: Some(network_labels),
        options: map(&declared.driver_opts),
        internal: declared.internal.then_some(true),
        attachable: declared.attachable.then_some(true),
        enable_ipv6: declared.enable_ipv6.then_some(true),
        ipam: declared.ipam.as_ref().map(|i| Ipam {
            driver: i.driver.clone(),
            config: Some(
                i.pools
                    .iter()
                    .map(|p| IpamConfig {
                        subnet: p.subnet.clone(),
                        ip_range: p.ip_range.clone(),
                        gateway: p.gateway.clone(),
                        auxiliary_addresses: map(&p.aux_addresses),
                    })
                    .collect(),
            ),
            options: map(&i.options),
        }),
        ..Default::default()
    }
}

pub(crate) fn volume(stack: &Stack, volume: &Volume) -> VolumeCreateRequest {
    let project = &stack.project;
    let mut volume_labels: HashMap<String, String> = volume
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in [
        (labels::PROJECT, project.as_str()),
        (labels::VOLUME, volume.key.as_str()),
        (labels::COMPOSE_PROJECT, project.as_str()),
        (labels::COMPOSE_VOLUME, volume.key.as_str()),
    ] {
        volume_labels.insert(k.to_string(), v.to_string());
    }
    volume_labels.extend(origin(stack));
    VolumeCreateRequest {
        name: Some(volume.name.clone()),
        labels: Some(volume_labels),
        ..Default::default()
    }
}

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn carried_volumes_fill_anonymous_places_only() {
        let (stack, mut service) = stack();
        service.mounts.push(StackMount {
            source: MountSource::Anonymous,
            target: "/cache".into(),
            read_only: false,
        });
        let carried = [
            CarriedVolume {
                target: "/cache".into(),
                name: "aaa".into(),
                read_only: false,
            },
            CarriedVolume {
                target: "/data".into(),
                name: "bbb".into(),
                read_only: false,
            },
            CarriedVolume {
                target: "/var/lib/db".into(),
                name: "ccc".into(),
                read_only: false,
            },
        ];
        let body = container(&stack, &service, "abc", &carried);
        let mounts = body.host_config.unwrap().mounts.unwrap();
        let by_target = |t: &str| {
            mounts
                .iter()
                .find(|m| m.target.as_deref() == Some(t))
                .and_then(|m| m.source.clone())
        };
        assert_eq!(by_target("/cache").as_deref(), Some("aaa"));
        assert_eq!(
            by_target("/data").as_deref(),
            Some("custom-data"),
            "the stack's volume wins"
        );
        assert_eq!(by_target("/var/lib/db").as_deref(), Some("ccc"));
        let labels = body.labels.unwrap();
        assert_eq!(labels[CARRIED_VOLUMES_LABEL], r#"["/cache","/var/lib/db"]"#);
    }

    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::model::{ProjectName, Protocol, ServiceName};
    use crate::stack::{
        EnvSource, EnvValue, Healthcheck, Mount as StackMount, PortBinding as StackPort,
        ServiceSettings, StackSettings,
    };

    fn stack() -> (Stack, Service) {
        let name = ServiceName::new("web");
        let service = Service {
            name: name.clone(),
            image: "busybox:1".into(),
            build: None,
            command: Some(vec!["httpd".into(), "-f".into()]),
            entrypoint: None,
            environment: BTreeMap::from([(
                "A".to_string(),
                EnvValue {
                    value: "1".into(),
                    source: EnvSource::Inline,
                },
            )]),
            ports: vec![StackPort {
                host_ip: "127.0.0.1".into(),
                host_port: Some(8080),
                host_port_end: None,
                container_port: 80,
                protocol: Protocol::Tcp,
            }],
            mounts: vec![
                StackMount {
                    source: MountSource::Volume("data".into()),
                    target: "/data".into(),
                    read_only: false,
                },
                StackMount {
                    source: MountSource::Bind(PathBuf::from("/srv/www")),
                    target: "/www".into(),
                    read_only: true,
                },
            ],
            depends_on: BTreeMap::new(),
            healthcheck: Some(Healthcheck {
                test: HealthTest::Shell("true".into()),
                interval: Some(Duration::from_millis(250)),
                timeout: None,
                retries: Some(3),
                start_period: None,
                start_interval: None,
            }),
            restart: Restart::OnFailure(Some(2)),
            stop_grace_period: Some(Duration::from_millis(1500)),
            stop_signal: Some("SIGINT".into()),
            working_dir: None,
            user: None,
            labels: BTreeMap::from([(labels::PROJECT.to_string(), "evil".to_string())]),
            profiles: vec![],
            watch: vec![],
            settings: ServiceSettings::default(),
            options: Default::default(),
        };
        let stack = Stack {
            networks: BTreeMap::new(),
            project: ProjectName("demo".into()),
            file: "/x/compose.yaml".into(),
            dir: "/x".into(),
            services: BTreeMap::from([(name, service.clone())]),
            volumes: BTreeMap::from([(
                "data".to_string(),
                Volume {
                    key: "data".into(),
                    name: "custom-data".into(),
                    external: false,
                    labels: BTreeMap::new(),
                },
            )]),
            warnings: vec![],
            settings: StackSettings::default(),
        };
        (stack, service)
    }

    #[test]
    fn container_body_is_compose_shaped() {
        let (stack, service) = stack();
        let body = container(&stack, &service, "abc", &[]);
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(
            labels[labels::PROJECT],
            "demo",
            "our label wins over the service's"
        );
        assert_eq!(labels[labels::CONFIG_HASH], "abc");
        assert_eq!(labels[labels::COMPOSE_ONEOFF], "False");
        assert_eq!(labels["com.docker.compose.config-hash"], "abc");
        assert_eq!(labels["com.docker.compose.version"], COMPOSE_VERSION_VALUE);
        assert_eq!(labels["com.docker.compose.project.working_dir"], "/x");
        assert_eq!(
            labels["com.docker.compose.project.config_files"],
            "/x/compose.yaml"
        );
        assert_eq!(labels[labels::COMPOSE_WORKING_DIR], "/x");
        assert_eq!(labels[labels::COMPOSE_CONFIG_FILES], "/x/compose.yaml");
        assert_eq!(body.env.as_deref(), Some(&["A=1".to_string()][..]));
        let host = body.host_config.as_ref().unwrap();
        let b = &host.port_bindings.as_ref().unwrap()["80/tcp"]
            .as_ref()
            .unwrap()[0];
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b.host_port.as_deref(), Some("8080"));
        let mounts = host.mounts.as_ref().unwrap();
        assert_eq!(mounts[0].source.as_deref(), Some("custom-data"));
        assert_eq!(mounts[1].typ, Some(MountType::BIND));
        assert_eq!(mounts[1].read_only, Some(true));
        let hc = body.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test.as_ref().unwrap()[0], "CMD-SHELL");
        assert_eq!(hc.interval, Some(250_000_000));
        assert_eq!(
            host.restart_policy.as_ref().unwrap().maximum_retry_count,
            Some(2)
        );
        assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(body.stop_timeout, Some(2), "1.5 s rounds up");
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            eps["demo_default"].aliases.as_deref(),
            Some(&["web".to_string()][..])
        );
    }

    #[test]
    fn volumes_and_networks_carry_the_files_labels_under_the_projects() {
        let (mut stack, mut service) = stack();
        let vol = stack.volumes.get_mut("data").unwrap();
        vol.labels = BTreeMap::from([
            ("team".to_string(), "data".to_string()),
            (labels::PROJECT.to_string(), "evil".to_string()),
        ]);
        let req = volume(&stack, &stack.volumes["data"]);
        let l = req.labels.unwrap();
        assert_eq!(l["team"], "data");
        assert_eq!(l[labels::PROJECT], "demo");

        stack.networks.insert(
            "back".into(),
            crate::stack::Network {
                key: "back".into(),
                name: "demo_back".into(),
                internal: true,
                labels: BTreeMap::from([("team".to_string(), "data".to_string())]),
                ipam: Some(crate::stack::Ipam {
                    pools: vec![crate::stack::IpamPool {
                        subnet: Some("172.30.0.0/16".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        let req = network(&stack, "back");
        assert_eq!(req.name, "demo_back");
        assert_eq!(req.internal, Some(true));
        let l = req.labels.unwrap();
        assert_eq!(l["team"], "data");
        assert_eq!(l[labels::COMPOSE_NETWORK], "back");
        assert_eq!(l[labels::PROJECT], "demo");
        let pools = req.ipam.unwrap().config.unwrap();
        assert_eq!(pools[0].subnet.as_deref(), Some("172.30.0.0/16"));

        // Two networks: the first (by key) at create, with the aliases and address.
        service.options.networks = BTreeMap::from([
            (
                "back".to_string(),
                crate::stack::ServiceNetwork {
                    aliases: vec!["api".into()],
                    ipv4_address: Some("172.30.0.9".into()),
                    ..Default::default()
                },
            ),
            ("default".to_string(), Default::default()),
        ]);
        stack.services.insert(service.name.clone(), service.clone());
        let body = container(&stack, &service, "h", &[]);
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("demo_back"));
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(eps.len(), 1);
        assert_eq!(
            eps["demo_back"].aliases.as_deref(),
            Some(&["web".to_string(), "api".to_string()][..])
        );
        assert_eq!(
            eps["demo_back"]
                .ipam_config
                .as_ref()
                .and_then(|i| i.ipv4_address.as_deref()),
            Some("172.30.0.9")
        );
        let all = endpoints(&stack, &service);
        assert_eq!(
            all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["demo_back", "demo_default"]
        );
    }
}
