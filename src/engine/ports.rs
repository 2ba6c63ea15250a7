//! Host ports, checked before anything is created: is each port the stack publishes
//! free, and if not, who holds it — another project's container (by its labels) or a
//! local process (Linux: `/proc/net/*` socket inode → `/proc/<pid>/fd`).
//!
//! It only probes (a bind that is released at once) and reads; it never frees a port.

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};

use bollard::models::PortSummaryTypeEnum;
use bollard::query_parameters::ListContainersOptionsBuilder;

use super::{Engine, Error};
use crate::model::{ContainerState, Observed, Protocol, ServiceName, labels};
use crate::stack::Stack;

impl Engine {
    /// Fails with [`Error::PortTaken`] for a fixed host port a service would bind that
    /// is in use, or [`Error::PortsTaken`] listing every one when several are, unless
    /// the service's own container already holds it (it is kept, or freed by its
    /// recreate). A port that came from a variable names the variable.
    pub async fn check_ports(&self, stack: &Stack, observed: &Observed) -> Result<(), Error> {
        let mut wanted = Vec::new();
        for service in stack.services.values() {
            for p in &service.ports {
                // A range leaves the daemon a choice: no single port to check.
                let (Some(host_port), None) = (p.host_port, p.host_port_end) else {
                    continue;
                };
                let own = observed.containers.iter().any(|c| {
                    c.service == service.name
                        && matches!(
                            c.state,
                            ContainerState::Running | ContainerState::Restarting
                        )
                        && c.ports
                            .iter()
                            .any(|cp| cp.host_port == host_port && cp.protocol == p.protocol)
                });
                if !own {
                    wanted.push((
                        service.name.clone(),
                        p.host_ip.clone(),
                        host_port,
                        p.protocol,
                    ));
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }

        // Containers publishing a port, of any project: Docker would refuse the port,
        // and with its userland proxy disabled a bind probe would not notice them.
        let options = ListContainersOptionsBuilder::default().build();
        let running = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| Error::daemon("list containers", None, e))?;
        let mut clashes: Vec<(ServiceName, String, u16, Protocol, Option<String>)> = Vec::new();
        let mut free = Vec::new();
        for (service, host_ip, port, protocol) in wanted {
            let holder = running.iter().find(|c| {
                c.ports.iter().flatten().any(|p| {
                    p.public_port == Some(port)
                        && summary_protocol(p.typ) == protocol
                        && ips_overlap(p.ip.as_deref().unwrap_or(""), &host_ip)
                })
            });
            match holder {
                Some(c) => clashes.push((
                    service,
                    host_ip,
                    port,
                    protocol,
                    Some(describe_container(c)),
                )),
                None => free.push((service, host_ip, port, protocol)),
            }
        }

        // A local process: probe with a bind that is dropped right away. /proc is read
        // only when one fails; all of it is blocking file-system work.
        let taken = tokio::task::spawn_blocking(move || {
            free.into_iter()
                .filter_map(|(service, host_ip, port, protocol)| {
                    let holder = probe(&host_ip, port, protocol)?;
                    Some((service, host_ip, port, protocol, holder))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Error::Task {
            op: "check ports",
            message: e.to_string(),
        })?;
        clashes.extend(taken);
        let mut errors: Vec<Error> = clashes
            .into_iter()
            .map(
                |(service, host_ip, port, protocol, holder)| Error::PortTaken {
                    variable: stack
                        .settings
                        .port_variables
                        .get(&service)
                        .and_then(|m| m.get(&port))
                        .cloned()
                        .map(Box::new),
                    port,
                    host_ip,
                    protocol,
                    service,
                    holder,
                },
            )
            .collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::PortsTaken(errors)),
        }
    }
}

fn summary_protocol(t: Option<PortSummaryTypeEnum>) -> Protocol {
    match t {
        Some(PortSummaryTypeEnum::UDP) => Protocol::Udp,
        Some(PortSummaryTypeEnum::SCTP) => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

fn is_wildcard(ip: &str) -> bool {
    matches!(ip, "" | "0.0.0.0" | "::" | "[::]")
}

fn ips_overlap(a: &str, b: &str) -> bool {
    is_wildcard(a) || is_wildcard(b) || a == b
}

fn describe_container(c: &bollard::models::ContainerSummary) -> String {
    let name = c
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let labels = c.labels.clone().unwrap_or_default();
    let project = labels
        .get(labels::PROJECT)
        .map(|p| ("devstack", p))
        .or_else(|| labels.get(labels::COMPOSE_PROJECT).map(|p| ("Compose", p)));
    let service = labels
        .get(labels::SERVICE)
        .or_else(|| labels.get(labels::COMPOSE_SERVICE));
    match (project, service) {
        (Some((tool, p)), Some(s)) => {
            format!("container '{name}' (service '{s}' of {tool} project '{p}')")
        }
        _ => format!("container '{name}'"),
    }
}

/// `None` when the port can be bound; else `Some(holder)` (the holder itself may be
/// unknown). Errors other than "in use" (e.g. a privileged port for a non-root user)
/// are left for the daemon, which binds as root, to judge.
fn probe(host_ip: &str, port: u16, protocol: Protocol) -> Option<Option<String>> {
    let ip = host_ip.trim_start_matches('[').trim_end_matches(']');
    let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
    let result = match protocol {
        Protocol::Tcp => TcpListener::bind((ip, port)).map(drop),
        Protocol::Udp => UdpSocket::bind((ip, port)).map(drop),
        // No std socket for SCTP; the daemon reports a conflict itself.
        Protocol::Sctp => Ok(()),
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Some(holder_process(port, protocol)),
        _ => None,
    }
}

/// "process 1234 'python3'" for the socket listening on `port`, when /proc tells.
fn holder_process(port: u16, protocol: Protocol) -> Option<String> {
    let (tables, listen_state) = match protocol {
        Protocol::Tcp => (["/proc/net/tcp", "/proc/net/tcp6"], "0A"),
        Protocol::Udp => (["/proc/net/udp", "/proc/net/udp6"], "07"),
        Protocol::Sctp => return None,
    };
    let mut inodes = BTreeSet::new();
    for table in tables {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        inodes.extend(listening_inodes(&text, port, listen_state));
    }
    if inodes.is_empty() {
        return None;
    }
    let procs = std::fs::read_dir("/proc").ok()?;
    for entry in procs.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // Other users' processes are not readable without privileges: skipped.
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if inodes.contains(&inode) {
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                let comm = comm.trim();
                return Some(if comm == "docker-proxy" {
                    format!("process {pid} 'docker-proxy' (a container's published port)")
                } else {
                    format!("process {pid} '{comm}'")
                });
            }
        }
    }
    Some("a process devstack cannot see (another user's?)".to_string())
}

/// Inodes of sockets in `state` on `port` from a /proc/net/{tcp,udp}{,6} table.
fn listening_inodes(table: &str, port: u16, state: &str) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let st = fields.get(3)?;
            let inode = fields.get(9)?.parse::<u64>().ok()?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let p = u16::from_str_radix(hex_port, 16).ok()?;
            (p == port && *st == state && inode != 0).then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_parsing() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 8080, "0A"), vec![12345]);
        assert!(listening_inodes(table, 8081, "0A").is_empty());
    }

    #[test]
    fn overlap() {
        assert!(ips_overlap("0.0.0.0", "127.0.0.1"));
        assert!(ips_overlap("127.0.0.1", "127.0.0.1"));
        assert!(!ips_overlap("127.0.0.1", "192.168.1.2"));
    }

    #[test]
    fn bound_port_names_this_process() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = probe("127.0.0.1", port, Protocol::Tcp).expect("port is taken");
        let holder = holder.expect("holder is known");
        assert!(holder.contains(&std::process::id().to_string()), "{holder}");
    }
}
