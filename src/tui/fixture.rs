//! A deterministic state for snapshots and benchmarks: a small Airflow-and-Postgres
//! stack, all healthy, with a few lines of logs in each service (plain, ANSI-coloured,
//! JSON, stderr) and its endpoints. Fixed clock and version; no randomness.

use std::collections::BTreeMap;

use crate::logs::StoreConfig;
use crate::model::{
    ContainerId, ContainerInfo, ContainerState, Health, LogLine, Protocol, PublishedPort,
    ServiceName, Stream,
};
use crate::stack::PortBinding;

use super::state::{AppState, ContainerStats, EndpointKind, EndpointRow, ServiceSeed, VolumeUse};

/// The fixture's clock: 2025-06-15 15:06:40 UTC.
pub const FIXTURE_NOW: i64 = 1_750_000_000;
pub const FIXTURE_VERSION: &str = "0.0.0-fixture";

fn port(ip: &str, host: u16, container: u16) -> PortBinding {
    PortBinding {
        host_ip: ip.into(),
        host_port: Some(host),
        host_port_end: None,
        container_port: container,
        protocol: Protocol::Tcp,
    }
}

/// A container of the fixture's project, running since `up_secs` ago.
pub fn fixture_container(
    service: &str,
    image: &str,
    n: u8,
    ports: &[PortBinding],
    health: Health,
) -> ContainerInfo {
    ContainerInfo {
        id: ContainerId(format!("{:02x}", n).repeat(32)),
        name: format!("shop-{service}-1"),
        service: ServiceName::new(service),
        image: image.into(),
        image_id: format!("sha256:{}", "ab".repeat(32)),
        config_hash: Some("cafe".into()),
        state: ContainerState::Running,
        health,
        exit_code: None,
        ports: ports
            .iter()
            .map(|p| PublishedPort {
                host_ip: p.host_ip.clone(),
                host_port: p.host_port.unwrap_or(0),
                container_port: p.container_port,
                protocol: p.protocol,
            })
            .collect(),
        labels: BTreeMap::new(),
        created: FIXTURE_NOW - 4000,
        started_at: Some(FIXTURE_NOW - 3725),
        restart_count: 0,
    }
}

impl AppState {
    /// The fixture: project 'shop' with `db` (postgres, console), `airflow-webserver`
    /// (published on 0.0.0.0, flagged), `airflow-scheduler` and `worker` (JSON logs, two
    /// restarts), all up; 80×24 terminal.
    pub fn fixture() -> Self {
        let db_ports = vec![port("127.0.0.1", 5432, 5432)];
        let web_ports = vec![port("0.0.0.0", 8080, 8080)];
        let seeds = vec![
            ServiceSeed {
                name: ServiceName::new("db"),
                image: "postgres:16".into(),
                ports: db_ports.clone(),
                console: true,
                retries: 20,
                probe_command: "CMD-SHELL pg_isready -U postgres".into(),
            },
            ServiceSeed {
                name: ServiceName::new("airflow-webserver"),
                image: "apache/airflow:2.9.3".into(),
                ports: web_ports.clone(),
                console: false,
                retries: 3,
                probe_command: String::new(),
            },
            ServiceSeed {
                name: ServiceName::new("airflow-scheduler"),
                image: "apache/airflow:2.9.3".into(),
                ports: vec![],
                console: false,
                retries: 3,
                probe_command: String::new(),
            },
            ServiceSeed {
                name: ServiceName::new("worker"),
                image: "shop-worker".into(),
                ports: vec![],
                console: false,
                retries: 3,
                probe_command: String::new(),
            },
        ];
        let volumes = vec![
            VolumeUse {
                key: "pgdata".into(),
                name: "shop_pgdata".into(),
                services: vec![ServiceName::new("db")],
            },
            VolumeUse {
                key: "airflow-logs".into(),
                name: "shop_airflow-logs".into(),
                services: vec![
                    ServiceName::new("airflow-webserver"),
                    ServiceName::new("airflow-scheduler"),
                ],
            },
        ];
        let mut state = AppState::new(
            "shop",
            seeds,
            volumes,
            StoreConfig::default(),
            FIXTURE_VERSION,
        );
        state.now_unix = FIXTURE_NOW;

        let mut db = fixture_container("db", "postgres:16", 1, &db_ports, Health::Healthy);
        db.started_at = Some(FIXTURE_NOW - 3725);
        let mut web = fixture_container(
            "airflow-webserver",
            "apache/airflow:2.9.3",
            2,
            &web_ports,
            Health::Healthy,
        );
        web.started_at = Some(FIXTURE_NOW - 3480);
        let mut sched = fixture_container(
            "airflow-scheduler",
            "apache/airflow:2.9.3",
            3,
            &[],
            Health::Healthy,
        );
        sched.started_at = Some(FIXTURE_NOW - 3475);
        let mut worker = fixture_container("worker", "shop-worker", 4, &[], Health::None);
        worker.started_at = Some(FIXTURE_NOW - 42);
        worker.restart_count = 2;
        let stats = [(1.2, 48), (3.4, 612), (8.9, 420), (37.5, 96)];
        for ((row, c), (cpu, mem)) in state
            .services
            .iter_mut()
            .zip([db, web, sched, worker])
            .zip(stats)
        {
            row.last_container_id = Some(c.id.clone());
            row.container = Some(c);
            row.stats = Some(ContainerStats {
                cpu_percent: cpu,
                memory_bytes: mem * 1024 * 1024,
                memory_limit: 8 * 1024 * 1024 * 1024,
            });
        }
        state.logs.store.push_batch(fixture_lines());
        state.logs.store.push_marker(
            &ServiceName::new("worker"),
            secs(-42.0),
            "— container restarted —",
        );
        state.logs.store.push_batch(vec![
            line("worker", -41.9, Stream::Stdout, "worker starting (pid 1), queue=orders"),
            line("worker", -30.0, Stream::Stdout, r#"{"level":"info","msg":"processed batch","batch":41,"rows":5000,"ts":"2025-06-15T15:06:10Z"}"#),
            line("worker", -12.5, Stream::Stdout, r#"{"level":"warn","msg":"slow query","ms":1834,"table":"orders"}"#),
            line("worker", -3.2, Stream::Stderr, r#"{"level":"error","msg":"upstream timeout","retry":3,"url":"http://api:9000/v1/orders"}"#),
        ]);
        state.endpoints = fixture_endpoints();
        state.dirty = true;
        state
    }
}

/// As `ops::endpoints` words the fixture's stack: passwords masked or named only.
fn fixture_endpoints() -> Vec<EndpointRow> {
    let row = |kind, title: &str, value: &str, note: &str| EndpointRow {
        kind,
        title: title.into(),
        value: value.into(),
        note: Some(note.into()),
    };
    vec![
        row(
            EndpointKind::Web,
            "Airflow UI",
            "http://127.0.0.1:8080",
            "user 'admin', password: _AIRFLOW_WWW_USER_PASSWORD in ~/shop/.env",
        ),
        row(
            EndpointKind::Database,
            "Airflow metadata DB",
            "postgresql://airflow:****@127.0.0.1:5432/airflow",
            "password: POSTGRES_PASSWORD in ~/shop/.env",
        ),
        row(
            EndpointKind::Database,
            "warehouse DB",
            "postgresql://loader:****@127.0.0.1:5432/warehouse",
            "password: WAREHOUSE_PASSWORD in ~/shop/.env",
        ),
        row(EndpointKind::Code, "DAGs", "~/shop/dags", "mounted live"),
        row(
            EndpointKind::Code,
            "worker code",
            "~/shop/worker",
            "a save rebuilds it",
        ),
    ]
}

fn secs(offset: f64) -> i64 {
    FIXTURE_NOW * 1_000_000_000 + (offset * 1e9) as i64
}

fn line(svc: &str, offset: f64, stream: Stream, text: &str) -> LogLine {
    LogLine {
        service: ServiceName::new(svc),
        ts_nanos: secs(offset),
        stream,
        text: text.into(),
    }
}

fn fixture_lines() -> Vec<LogLine> {
    use Stream::{Stderr, Stdout};
    vec![
        line(
            "db",
            -65.0,
            Stdout,
            "2025-06-15 15:05:35.120 UTC [1] LOG:  starting PostgreSQL 16.3 on x86_64-pc-linux-gnu",
        ),
        line(
            "db",
            -64.8,
            Stdout,
            "2025-06-15 15:05:35.310 UTC [1] LOG:  database system is ready to accept connections",
        ),
        line(
            "airflow-webserver",
            -60.0,
            Stdout,
            "[\x1b[34m2025-06-15T15:05:40.000+0000\x1b[0m] {\x1b[34mdagbag.py:\x1b[0m545} \x1b[32mINFO\x1b[0m - Filling up the DagBag from /opt/airflow/dags",
        ),
        line(
            "airflow-scheduler",
            -58.0,
            Stdout,
            "[2025-06-15T15:05:42.000+0000] {scheduler_job_runner.py:798} INFO - Starting the scheduler",
        ),
        line(
            "airflow-scheduler",
            -50.0,
            Stdout,
            "[2025-06-15T15:05:50.000+0000] {dagrun.py:823} INFO - Marking run <DagRun orders_daily @ 2025-06-15 00:00:00+00:00> successful",
        ),
        line(
            "worker",
            -48.0,
            Stdout,
            r#"{"level":"info","msg":"processed batch","batch":40,"rows":5000}"#,
        ),
        line(
            "worker",
            -43.0,
            Stderr,
            "Traceback (most recent call last): KeyError: 'customer_id'",
        ),
        line(
            "db",
            -40.0,
            Stderr,
            "2025-06-15 15:06:00.004 UTC [77] ERROR:  relation \"orders_staging\" does not exist at character 15",
        ),
        line(
            "airflow-webserver",
            -35.0,
            Stdout,
            "127.0.0.1 - - [15/Jun/2025:15:06:05 +0000] \"GET /health HTTP/1.1\" 200 318 \"-\" \"curl/8.5.0\"",
        ),
        line(
            "airflow-scheduler",
            -20.0,
            Stderr,
            "[2025-06-15T15:06:20.000+0000] {taskinstance.py:2905} \x1b[33mWARNING\x1b[0m - Task orders_daily.load failed, retrying in 300s (error: connection reset)",
        ),
        line(
            "db",
            -15.0,
            Stdout,
            "2025-06-15 15:06:25.500 UTC [64] LOG:  checkpoint starting: time",
        ),
        line(
            "airflow-webserver",
            -5.0,
            Stdout,
            "127.0.0.1 - - [15/Jun/2025:15:06:35 +0000] \"GET /api/v1/dags?limit=100 HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\"",
        ),
        line(
            "db",
            -1.0,
            Stdout,
            "2025-06-15 15:06:39.000 UTC [64] LOG:  checkpoint complete: wrote 42 buffers (0.3%); 0 WAL file(s) added",
        ),
    ]
}
