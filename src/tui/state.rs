//! The TUI's whole state: one plain struct, owned by the app loop's task.
//!
//! Changed only by [`crate::tui::update`], read by [`crate::tui::render`]. It must hold no
//! handles (channels, sockets, the terminal) and read no clock: time arrives as
//! `Event::Tick`, so a fixture state renders the same on every machine.

use crate::logs::{LineKey, Scope, ServiceIdx, Store, StoreConfig};
use crate::model::{
    ContainerId, ContainerInfo, ContainerState, Health, NoticeLevel, ProbeResult, Progress,
    ServiceName,
};
use crate::stack::{HealthTest, MountSource, PortBinding, Stack};

/// Notices the `m` overlay keeps.
const HISTORY: usize = 50;

/// Everything the TUI shows. See the module documentation.
#[derive(Debug)]
pub struct AppState {
    /// Shown in the title; the fixture uses a fixed one so snapshots do not churn.
    pub version: String,
    pub project: String,
    pub services: Vec<ServiceRow>,
    /// The project's named volumes and who mounts them (for the reset dialog).
    pub volumes: Vec<VolumeUse>,
    /// Index into `services`.
    pub selected: usize,
    pub focus: Focus,
    pub mode: Mode,
    pub logs: LogsState,
    /// Notices on screen, newest last.
    pub notices: Vec<Notice>,
    /// Every notice of this session, newest last (bounded): the `m` overlay shows them
    /// whole, also after they left the screen.
    pub history: Vec<Notice>,
    pub daemon: Daemon,
    /// Where the `up` this UI was opened with is.
    pub up: UpState,
    /// How this stack is named on the command line (`devstack -p h1`), for hints that
    /// must name the exact command.
    pub cli: String,
    /// What a person reaches once the stack is up (the `e` overlay), filled by the app
    /// from the stack: passwords are masked or named, never held.
    pub endpoints: Vec<EndpointRow>,
    /// The Airflow view's data (`A`).
    pub airflow: super::airflow::AirflowView,
    /// The Runs view's data (`u`).
    pub runs: super::runs::RunsView,
    /// The doctor's findings and the Doctor view (`D`).
    pub doctor: super::doctor::DoctorView,
    /// Terminal size in cells (width, height); from `Event::Resize`.
    pub size: (u16, u16),
    /// Unix seconds of the last `Event::Tick` (uptime and notice expiry are computed
    /// from it, never from the system clock).
    pub now_unix: i64,
    /// Offset of local time, for the timestamps column; set by the app at start.
    pub utc_offset_secs: i32,
    /// Something visible changed since the last draw. The app loop draws when set and
    /// clears it, so an idle TUI draws nothing.
    pub dirty: bool,
    pub next_notice_id: u64,
}

/// Which pane takes `j`/`k` and the arrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Services,
    Logs,
}

/// What the keyboard is doing. One enum, so two modes can never be on at once.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    /// `e`: the endpoints overlay.
    Endpoints,
    Search(Prompt),
    Filter(Prompt),
    /// `X`: typing a command to run in `service`.
    ExecPrompt {
        service: ServiceName,
        prompt: Prompt,
    },
    /// A dialog that needs `y` before its command is sent.
    Confirm(PendingAction),
    /// `A`: the Airflow view.
    Airflow,
    /// `u`: the Runs view of a job.
    Runs,
    /// `p` on a service that names several databases: which one (`j`/`k`, a digit,
    /// `Enter`).
    PickDatabase {
        service: ServiceName,
        databases: Vec<String>,
        selected: usize,
    },
    /// `m`: every notice of the session, whole and wrapped; `scroll` rows from the top.
    Messages {
        scroll: usize,
    },
    /// `D`: the doctor's findings.
    Doctor,
}

/// The `up` that opened the UI (`devstack up`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpState {
    /// Opened by `devstack tui`.
    NotAsked,
    Running,
    Ready,
    Failed(String),
}

/// A one-line text input at the bottom of the screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompt {
    pub input: String,
    /// Search and filter: the input is a regex rather than a literal (Ctrl-R toggles).
    pub regex: bool,
    /// Why the last Enter did not work (e.g. a regex that does not compile).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingAction {
    /// Drop and recreate these volumes.
    Reset { volumes: Vec<VolumeUse> },
    /// Quit dialog: stop the stack, then quit (or quit and leave it running).
    StopAndQuit,
    /// Copy these volumes into a snapshot (their services stop for the copy).
    Snapshot { volumes: Vec<VolumeUse> },
}

/// One endpoint as the app words it: `title  value  (note)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub kind: EndpointKind,
    pub title: String,
    /// What a person copies: a URL (password masked) or a folder.
    pub value: String,
    /// Login, where the password is kept, what a save does.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    Web,
    Database,
    Code,
}

/// A named volume of the project and the services that mount it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeUse {
    /// Key in the stack file (`volumes.<key>`).
    pub key: String,
    /// Docker name.
    pub name: String,
    pub services: Vec<ServiceName>,
}

#[derive(Debug)]
pub struct LogsState {
    pub store: Store,
    pub scope: Scope,
    pub scroll: Scroll,
    pub wrap: bool,
    pub timestamps: bool,
    /// Show JSON lines as written instead of compacted (`J`).
    pub raw_json: bool,
    /// The search match `n`/`N` moved to last.
    pub current_match: Option<LineKey>,
}

impl LogsState {
    pub fn new(config: StoreConfig) -> Self {
        Self {
            store: Store::new(config),
            scope: Scope::All,
            scroll: Scroll::Follow,
            wrap: false,
            timestamps: false,
            raw_json: false,
            current_match: None,
        }
    }
}

/// Follow sticks to the newest line; any scroll pauses on a line that stays put while
/// lines arrive (and are evicted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    Follow,
    Paused {
        /// The first line shown (or the first after it, once it has been evicted).
        top: LineKey,
        /// `View::received()` when the view paused: the difference is "N new lines".
        received_at_pause: u64,
    },
}

/// One service as the TUI knows it: from the stack file, then from the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub name: ServiceName,
    pub image: String,
    /// Ports as the file declares them; shown until a container reports real ones.
    pub declared_ports: Vec<PortBinding>,
    /// `p` opens psql here: a `postgres` image or `x-devstack: {console: psql}`.
    pub console: bool,
    /// The databases the console names, its default first (empty: just the default).
    pub databases: Vec<String>,
    /// A job's run history in a line ("last run 14:02 · 3.1 s · exit 0 · 5 runs
    /// today"), from the app.
    pub last_run: Option<String>,
    pub container: Option<ContainerInfo>,
    /// Survives `ContainerRemoved`, so a recreated container is recognised as new.
    pub last_container_id: Option<ContainerId>,
    pub progress: Option<Progress>,
    /// From the current container's current run only.
    pub health_log: Option<HealthLog>,
    pub stats: Option<ContainerStats>,
    /// The healthcheck's `retries` (Docker's default 3): the failing streak that makes
    /// the service unhealthy.
    pub retries: u32,
    /// The healthcheck's command as one string ("" without one), to explain exit codes.
    pub probe_command: String,
    /// A stop or restart asked for this container and not yet seen through: the
    /// container still runs while it handles its stop signal.
    pub stopping: Option<ContainerId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthLog {
    /// Docker's own count of consecutive failed probes.
    pub failing_streak: u32,
    /// The last probe of the current run, if there was one.
    pub probe: Option<ProbeResult>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContainerStats {
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit: u64,
}

/// A service's state as one word: container state and health folded together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotCreated,
    Created,
    /// Running, healthcheck not yet passed.
    Starting,
    /// Running, no healthcheck.
    Running,
    Healthy,
    Unhealthy,
    Restarting,
    Paused,
    Exited(i64),
    Dead,
    Removing,
    /// Still running, but a stop or restart was asked for (shown during a long stop).
    Stopping,
}

impl Status {
    pub fn is_running(self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Running | Self::Healthy | Self::Unhealthy | Self::Stopping
        )
    }
}

impl ServiceRow {
    pub fn new(name: ServiceName, image: impl Into<String>) -> Self {
        Self {
            name,
            image: image.into(),
            declared_ports: Vec::new(),
            console: false,
            databases: Vec::new(),
            last_run: None,
            container: None,
            last_container_id: None,
            progress: None,
            health_log: None,
            stats: None,
            retries: 3,
            probe_command: String::new(),
            stopping: None,
        }
    }

    pub fn status(&self) -> Status {
        let Some(c) = &self.container else {
            return Status::NotCreated;
        };
        if c.state == ContainerState::Running && self.stopping.as_ref() == Some(&c.id) {
            return Status::Stopping;
        }
        match c.state {
            ContainerState::Created => Status::Created,
            ContainerState::Running => match c.health {
                Health::None => Status::Running,
                Health::Starting => Status::Starting,
                Health::Healthy => Status::Healthy,
                Health::Unhealthy => Status::Unhealthy,
            },
            ContainerState::Paused => Status::Paused,
            ContainerState::Restarting => Status::Restarting,
            ContainerState::Removing => Status::Removing,
            ContainerState::Exited => Status::Exited(c.exit_code.unwrap_or(0)),
            ContainerState::Dead => Status::Dead,
        }
    }
}

/// A message for the user. Infos and warnings expire; an error stays while it is still
/// true (see [`About`]) or, when nothing tells, until dismissed (Esc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: u64,
    pub level: NoticeLevel,
    pub message: String,
    pub at_unix: i64,
    pub about: Option<About>,
}

/// What an error notice is about, so it can leave once that is no longer true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// `up` failed: untrue once every service is ready.
    UpFailed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Daemon {
    Connected,
    Lost { reason: String },
}

/// What the TUI needs to know of a service before the daemon says anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSeed {
    pub name: ServiceName,
    pub image: String,
    pub ports: Vec<PortBinding>,
    pub console: bool,
    /// Healthcheck `retries` (3 when the file does not say) and command ("" without one).
    pub retries: u32,
    pub probe_command: String,
}

impl AppState {
    /// A state with these services (in this order) and volumes, nothing observed yet.
    pub fn new(
        project: &str,
        services: Vec<ServiceSeed>,
        volumes: Vec<VolumeUse>,
        config: StoreConfig,
        version: &str,
    ) -> Self {
        let mut logs = LogsState::new(config);
        let services = services
            .into_iter()
            .map(|s| {
                logs.store.add_service(&s.name);
                ServiceRow {
                    declared_ports: s.ports,
                    console: s.console,
                    retries: s.retries,
                    probe_command: s.probe_command,
                    ..ServiceRow::new(s.name, s.image)
                }
            })
            .collect();
        Self {
            version: version.to_string(),
            project: project.to_string(),
            services,
            volumes,
            selected: 0,
            focus: Focus::Services,
            mode: Mode::Normal,
            logs,
            notices: Vec::new(),
            history: Vec::new(),
            daemon: Daemon::Connected,
            up: UpState::NotAsked,
            cli: "devstack".into(),
            endpoints: Vec::new(),
            airflow: Default::default(),
            runs: Default::default(),
            doctor: Default::default(),
            size: (80, 24),
            now_unix: 0,
            utc_offset_secs: 0,
            dirty: true,
            next_notice_id: 0,
        }
    }

    /// The state for a resolved stack: its services in file-key order, its own
    /// (non-external) volumes.
    pub fn from_stack(stack: &Stack, config: StoreConfig, version: &str) -> Self {
        let seeds = stack
            .services
            .values()
            .map(|s| ServiceSeed {
                name: s.name.clone(),
                image: s.image.clone(),
                ports: s.ports.clone(),
                console: s.has_psql_console(),
                retries: s.healthcheck.as_ref().and_then(|h| h.retries).unwrap_or(3),
                probe_command: match s.healthcheck.as_ref().map(|h| &h.test) {
                    Some(HealthTest::Cmd(args)) => args.join(" "),
                    Some(HealthTest::Shell(cmd)) => cmd.clone(),
                    _ => String::new(),
                },
            })
            .collect();
        let volumes = stack
            .volumes
            .values()
            .filter(|v| !v.external)
            .map(|v| VolumeUse {
                key: v.key.clone(),
                name: v.name.clone(),
                services: stack
                    .services
                    .values()
                    .filter(|s| {
                        s.mounts
                            .iter()
                            .any(|m| m.source == MountSource::Volume(v.key.clone()))
                    })
                    .map(|s| s.name.clone())
                    .collect(),
            })
            .collect();
        let mut state = Self::new(stack.project.as_str(), seeds, volumes, config, version);
        for row in &mut state.services {
            if let Some(s) = stack.services.get(&row.name) {
                let named = &s.settings.databases;
                let mut dbs: Vec<String> = named.default.iter().cloned().collect();
                for d in &named.databases {
                    if !dbs.contains(d) {
                        dbs.push(d.clone());
                    }
                }
                row.databases = dbs;
            }
        }
        state.airflow.available = crate::airflow::roles::api_service(stack).is_some();
        state.runs.jobs = (stack.services.keys())
            .filter(|s| crate::runs::is_job(stack, s))
            .cloned()
            .collect();
        state
    }

    pub fn selected_row(&self) -> Option<&ServiceRow> {
        self.services.get(self.selected)
    }

    pub fn row_mut(&mut self, name: &ServiceName) -> Option<&mut ServiceRow> {
        self.services.iter_mut().find(|r| &r.name == name)
    }

    pub fn row(&self, name: &ServiceName) -> Option<&ServiceRow> {
        self.services.iter().find(|r| &r.name == name)
    }

    /// The store index of the selected service.
    pub fn selected_idx(&self) -> Option<ServiceIdx> {
        self.selected_row()
            .and_then(|r| self.logs.store.service_idx(&r.name))
    }

    pub fn notify(&mut self, level: NoticeLevel, message: impl Into<String>) {
        self.notify_about(level, message, None);
    }

    /// A notice that leaves once what it is `about` is no longer true.
    pub fn notify_about(
        &mut self,
        level: NoticeLevel,
        message: impl Into<String>,
        about: Option<About>,
    ) {
        self.next_notice_id += 1;
        let notice = Notice {
            id: self.next_notice_id,
            level,
            message: message.into(),
            at_unix: self.now_unix,
            about,
        };
        self.history.push(notice.clone());
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
        self.notices.push(notice);
        // Keep the list short: old infos go first, errors are kept.
        while self.notices.len() > 5 {
            let drop = self
                .notices
                .iter()
                .position(|n| n.level != NoticeLevel::Error)
                .unwrap_or(0);
            self.notices.remove(drop);
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::model::{ProjectName, Protocol};
    use crate::stack::{Mount, Service, StackSettings, Volume};

    fn service(name: &str, image: &str, mounts: &[&str], console: Option<&str>) -> Service {
        let mut s = Service::new(name, image);
        s.ports.push(PortBinding {
            host_ip: "127.0.0.1".into(),
            host_port: Some(8000),
            host_port_end: None,
            container_port: 80,
            protocol: Protocol::Tcp,
        });
        s.mounts = mounts
            .iter()
            .map(|v| Mount {
                source: MountSource::Volume((*v).into()),
                target: "/data".into(),
                read_only: false,
            })
            .collect();
        s.settings.console = console.map(str::to_string);
        s
    }

    #[test]
    fn from_stack_seeds_services_volumes_and_consoles() {
        let services = [
            service("app", "shop-app", &["cache"], None),
            service("db", "docker.io/library/postgres:16", &["pgdata"], None),
            service(
                "warehouse",
                "timescale/timescaledb:latest-pg16",
                &["pgdata", "cache"],
                Some("psql"),
            ),
        ];
        let volume = |key: &str, external: bool| Volume {
            key: key.into(),
            name: format!("shop_{key}"),
            external,
            labels: BTreeMap::new(),
        };
        let stack = Stack {
            networks: Default::default(),
            project: ProjectName("shop".into()),
            file: PathBuf::from("/p/compose.yaml"),
            dir: PathBuf::from("/p"),
            services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
            volumes: [
                volume("pgdata", false),
                volume("cache", false),
                volume("shared", true),
            ]
            .into_iter()
            .map(|v| (v.key.clone(), v))
            .collect(),
            warnings: vec![],
            settings: StackSettings::default(),
        };
        let state = AppState::from_stack(&stack, StoreConfig::with_lines(500), "1.2.3");
        let names: Vec<_> = state
            .services
            .iter()
            .map(|r| (r.name.as_str(), r.console))
            .collect();
        assert_eq!(names, [("app", false), ("db", true), ("warehouse", true)]);
        assert_eq!(state.services[0].declared_ports.len(), 1);
        // external volumes are never reset
        let vols: Vec<_> = state
            .volumes
            .iter()
            .map(|v| {
                (
                    v.key.as_str(),
                    v.services.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            vols,
            [
                ("cache", vec!["app", "warehouse"]),
                ("pgdata", vec!["db", "warehouse"])
            ]
        );
        assert_eq!(state.logs.store.config().lines_per_service, 500);
        assert_eq!(state.logs.store.service_count(), 3);
        assert_eq!(state.version, "1.2.3");
    }
}
