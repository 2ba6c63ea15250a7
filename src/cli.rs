//! Command-line surface: clap definitions only. Behaviour lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "devstack",
    version,
    about = "Your local data stack (Postgres, Airflow, pipelines) with one command, kept in a terminal UI",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that pick and shape the stack. As in Compose they go before the subcommand
/// (`devstack -f x.yaml logs -f`), which keeps `-f` free for `logs --follow`.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Stack file (default: devstack.yaml, then Compose's file names, in this directory,
    /// with the override file next to it); repeat to merge several, later over earlier
    /// (also COMPOSE_FILE)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Project name (default: COMPOSE_PROJECT_NAME, else `name:` in the file, else the
    /// file's directory name)
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Env file for interpolation, instead of the .env next to the stack file
    #[arg(long = "env-file", value_name = "PATH")]
    pub env_file: Vec<PathBuf>,
    /// Enable services of this profile (also COMPOSE_PROFILES)
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profile: Vec<String>,
    /// Treat Compose keys devstack does not implement as errors, not warnings
    #[arg(long)]
    pub strict: bool,
    /// Use this bundled stack (airflow, postgres) instead of a stack file; it is the
    /// default when the directory has no stack file
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and start the stack (and open the TUI unless --detach)
    Up(UpArgs),
    /// Open the terminal UI on the running stack
    Tui(TuiArgs),
    /// Stop and remove containers and the network; volumes only with --volumes
    Down(DownArgs),
    /// Services, state, health, ports
    Ps(PsArgs),
    /// Merged, prefixed logs of services
    Logs(LogsArgs),
    /// Restart services
    Restart(ServicesArgs),
    /// Stop services (containers are kept)
    Stop(StopArgs),
    /// Start stopped services
    Start(ServicesArgs),
    /// The resolved stack after interpolation, secrets masked
    ///
    /// Masked as '********' (here, and in every message, error and TUI notice devstack
    /// shows): every value that came from '.env' (or '--env-file') and that the stack file
    /// uses, every value of an 'env_file:', the value of every variable whose name contains
    /// PASSWORD, PASSWD, SECRET, TOKEN, KEY, CREDENTIAL, PRIVATE, AUTH or CONN, and the
    /// password of every 'scheme://user:PASSWORD@host' URL wherever it is written. Values
    /// shorter than 4 characters are masked only as a whole value, and a value the stack
    /// file itself spells out (an image name, the project name) is shown. Container log
    /// lines are shown as the container wrote them.
    Config(ConfigArgs),
    /// Run a command in a service's container (default: its shell), with a TTY when interactive
    Exec(ExecArgs),
    /// Open psql in the stack's Postgres service, as its user, no password typed
    Db(DbArgs),
    /// Airflow's health, DAGs and import errors; with `-- ARGS`, run the airflow CLI
    Airflow(AirflowArgs),
    /// Drop and recreate the project's named volumes, then bring their services back
    Reset(ResetArgs),
    /// Write a new pipeline project (stack file, Dockerfile, code, dags, .env)
    Init(InitArgs),
    /// Build the images of services with `build:`
    Build(ServicesArgs),
    /// Run the services' develop.watch rules without the TUI, printing each action
    Watch(ServicesArgs),
    /// Run a job service once now (its dependencies first), stream its output, exit with
    /// its exit code; the run is recorded (see 'runs')
    Run(RunArgs),
    /// The recorded runs of job services: start, duration, exit code, trigger
    Runs(RunsArgs),
    /// Check Dockerfiles, build contexts and the stack file against the Docker lessons;
    /// exit code 1 on an error-level finding
    Doctor(DoctorArgs),
    /// Save, list, restore and remove copies of the stack's named volumes
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Clone, Subcommand)]
pub enum SnapshotCommand {
    /// Copy named volumes (default: all of the stack's) into a compressed snapshot
    Save(SnapshotSaveArgs),
    /// The project's snapshots
    List,
    /// Put a snapshot's volumes back (the services using them are recreated)
    Restore(SnapshotRestoreArgs),
    /// Delete a snapshot
    Rm(SnapshotRmArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotSaveArgs {
    /// Volumes, by their key in the file or their Docker name (default: all)
    pub volumes: Vec<String>,
    /// Snapshot name (default: the time, e.g. 20260101-120000)
    #[arg(long)]
    pub name: Option<String>,
    /// Copy while the services keep running (faster, but a database may be mid-write)
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotRestoreArgs {
    /// Snapshot name
    pub name: String,
    /// Volumes to restore (default: every volume in the snapshot)
    pub volumes: Vec<String>,
    /// Seconds to wait for health afterwards
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The job service
    pub service: String,
    /// Arguments replacing the service's command (after '--')
    #[arg(last = true)]
    pub args: Vec<String>,
    /// Seconds to wait for the dependencies to be ready
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotRmArgs {
    /// Snapshot name
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// One JSON object: findings, images, containers
    #[arg(long)]
    pub json: bool,
    /// Only the file checks; do not ask the Docker daemon about images and containers
    #[arg(long)]
    pub no_daemon: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// Job services (default: all)
    pub services: Vec<String>,
    /// One JSON array of runs, with their log lines
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Service to run in
    pub service: String,
    /// Command and its arguments (default: bash if the image has it, else sh)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// No pseudo-terminal, even when stdin is one
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
    /// Run as this user (name or uid[:gid])
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Extra environment, K=V (repeatable)
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AirflowArgs {
    /// The Airflow service the CLI runs in (default: the scheduler)
    #[arg(short = 's', long, value_name = "SVC")]
    pub service: Option<String>,
    /// No pseudo-terminal for the CLI, even when stdin is one
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
    /// Arguments of the airflow CLI, after `--` (e.g. `-- dags list`)
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The Postgres service (needed when the stack has several)
    pub service: Option<String>,
    /// The database (default: the console's 'default', else POSTGRES_DB)
    #[arg(short = 'd', long = "database", value_name = "DB")]
    pub database: Option<String>,
    /// Print the connection URL for a desktop client instead of opening psql
    #[arg(long)]
    pub url: bool,
    /// With --url: show the password instead of '********'
    #[arg(long, requires = "url")]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ResetArgs {
    /// Volumes to reset, by their key in the file or their Docker name (default: all)
    pub volumes: Vec<String>,
    /// Reset the volumes these services mount
    #[arg(long = "service", value_name = "SVC")]
    pub services: Vec<String>,
    /// Do not ask
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Reset even when the project's objects were created from another directory
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for health afterwards
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Directory to write into (default: the current one)
    pub dir: Option<PathBuf>,
    /// Bundled stack to start from
    #[arg(long = "stack", default_value = crate::init::DEFAULT_STACK, value_name = "NAME")]
    pub stack: String,
    /// Overwrite this file with the template's (repeat for more); any other file that
    /// exists is kept
    #[arg(long, value_name = "FILE")]
    pub force: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Services to bring up, with the services they depend on (default: all); the
    /// others are left as they are
    pub services: Vec<String>,
    /// Return once every service is running/healthy, without the TUI
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Seconds to wait, in all, for dependencies and health
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub wait_timeout: u64,
    /// Build images of services with `build:` before starting
    #[arg(long)]
    pub build: bool,
    /// Recreate containers even when their configuration is unchanged
    #[arg(long)]
    pub force_recreate: bool,
    /// Keep containers of services no longer in the file
    #[arg(long)]
    pub keep_orphans: bool,
    /// Take over objects of this project name created from another directory
    #[arg(long)]
    pub force: bool,
    /// Fail at once when another devstack is bringing this project up, instead of waiting
    #[arg(long)]
    pub no_wait: bool,
    /// With --detach (or without a terminal): print each service's timeline at the end —
    /// pull/build, create, start, first probe, ready — in seconds since `up` began
    #[arg(long)]
    pub timings: bool,
    /// Log lines kept per service in the UI (default: x-devstack.log_lines, else 20000)
    #[arg(long, value_name = "N")]
    pub log_lines: Option<usize>,
    /// Append the UI's counters (lines ingested, lines/s, frames, render time, dropped
    /// lines, memory) to this file once a second, one JSON object per line
    #[arg(long, value_name = "PATH")]
    pub stats_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    /// Log lines kept per service (default: x-devstack.log_lines, else 20000)
    #[arg(long, value_name = "N")]
    pub log_lines: Option<usize>,
    /// Append the UI's counters to this file once a second, one JSON object per line
    /// (as `up --stats-file`)
    #[arg(long, value_name = "PATH")]
    pub stats_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// Also remove the named volumes the stack file declares (not external ones; others
    /// labelled with the project are kept and listed)
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove objects of this project name even when they were created from another
    /// directory
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for each container to stop before killing it
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// Services (default: all)
    pub services: Vec<String>,
    /// Seconds to wait for each container to stop before killing it
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// One JSON array of services
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Services (default: all)
    pub services: Vec<String>,
    /// Keep following
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines from the end of each service's log
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<u64>,
    /// Show the daemon's timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// No colours (also NO_COLOR, or when stdout is not a terminal)
    #[arg(long)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ServicesArgs {
    /// Services (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Show the masked values (from .env and env files, secret-looking variables, URL passwords)
    #[arg(long)]
    pub show_secrets: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_the_command_after_a_double_dash() {
        let cli = Cli::parse_from(["devstack", "run", "etl", "--", "sh", "-c", "exit 3"]);
        let Command::Run(args) = cli.command else {
            panic!("not the run subcommand")
        };
        assert_eq!(args.service, "etl");
        assert_eq!(args.args, vec!["sh", "-c", "exit 3"]);
    }

    #[test]
    fn global_flags_go_before_the_subcommand() {
        let cli = Cli::parse_from(["devstack", "-f", "x.yaml", "-p", "demo", "up", "-d"]);
        assert_eq!(cli.global.file, vec![PathBuf::from("x.yaml")]);
        assert_eq!(cli.global.project_name.as_deref(), Some("demo"));
        assert!(matches!(
            cli.command,
            Command::Up(UpArgs { detach: true, .. })
        ));
    }

    #[test]
    fn compose_verbs_and_flags() {
        let cli = Cli::parse_from(["devstack", "up", "-d", "web", "db"]);
        assert!(
            matches!(cli.command, Command::Up(UpArgs { ref services, detach: true, .. }) if services == &["web", "db"])
        );
        let cli = Cli::parse_from(["devstack", "down", "-t", "3", "-v"]);
        assert!(matches!(
            cli.command,
            Command::Down(DownArgs {
                timeout: Some(3),
                volumes: true,
                force: false
            })
        ));
        let cli = Cli::parse_from(["devstack", "stop", "--timeout", "0", "web"]);
        assert!(
            matches!(cli.command, Command::Stop(StopArgs { timeout: Some(0), ref services }) if services == &["web"])
        );
    }

    #[test]
    fn file_flag_repeats() {
        let cli = Cli::parse_from(["devstack", "-f", "a.yaml", "-f", "b.yaml", "config"]);
        assert_eq!(
            cli.global.file,
            [PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]
        );
    }
}
