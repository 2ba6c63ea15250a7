//! The CLI's subcommands: read the arguments, load the stack, call the use cases in
//! `ops`, print what happened. Returns the process exit code; errors carry what a person
//! needs to act. The work itself (bring up, reset, watch, consoles) lives in `ops`, so
//! the UI does the same thing as the command line.

mod airflow;
mod build;
mod console;
mod doctor;
mod follow;
pub mod output;
mod reset_volumes;
mod runs;
mod snapshot;
mod watch;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::cli::{
    Command, ConfigArgs, DownArgs, GlobalArgs, InitArgs, LogsArgs, PsArgs, TuiArgs, UpArgs,
};
use crate::engine::{Engine, LogOptions};
use crate::model::{ContainerInfo, EngineEvent, NoticeLevel, Progress, ServiceName};
use crate::ops;
use crate::ops::bring_up::{self, Converged};
use crate::ops::endpoints;
use crate::ops::lifecycle::Lifecycle;
use crate::plan::PlanOptions;
use crate::stack::{self, Stack};

pub use crate::ops::{Error, describe_path, select_services};

/// Runs one parsed command line; the result is the process exit code.
pub async fn run(command: Command, global: GlobalArgs) -> Result<u8, Error> {
    match command {
        Command::Up(args) => up(&global, &args).await,
        Command::Tui(args) => tui(&global, &args).await,
        Command::Down(args) => down(&global, &args).await,
        Command::Ps(args) => ps(&global, &args).await,
        Command::Logs(args) => logs(&global, &args).await,
        Command::Restart(args) => {
            lifecycle(&global, &args.services, None, Lifecycle::Restart).await
        }
        Command::Stop(args) => {
            lifecycle(&global, &args.services, args.timeout, Lifecycle::Stop).await
        }
        Command::Start(args) => lifecycle(&global, &args.services, None, Lifecycle::Start).await,
        Command::Config(args) => config(&global, &args),
        Command::Exec(args) => console::exec(&global, &args).await,
        Command::Db(args) => console::db(&global, &args).await,
        Command::Airflow(args) => airflow::airflow(&global, &args).await,
        Command::Reset(args) => reset_volumes::reset(&global, &args).await,
        Command::Init(args) => init(&args),
        Command::Build(args) => build::build(&global, &args).await,
        Command::Watch(args) => watch::watch(&global, &args).await,
        Command::Doctor(args) => doctor::doctor(&global, &args).await,
        Command::Snapshot(sub) => snapshot::snapshot(&global, sub).await,
        Command::Run(args) => runs::run(&global, &args).await,
        Command::Runs(args) => runs::runs(&global, &args),
    }
}

fn init(args: &InitArgs) -> Result<u8, Error> {
    let cwd = std::env::current_dir()?;
    let dir = match &args.dir {
        Some(d) => cwd.join(d),
        None => cwd,
    };
    let written = crate::init::init(&dir, &args.stack, &args.force)?;
    let place = describe_path(&written.dir);
    if written.files.is_empty() {
        eprintln!("nothing to write in {place}: the project has every file 'devstack init' writes");
    } else if written.existing_project {
        eprintln!("wrote into the existing project in {place}:");
    } else {
        eprintln!("wrote a '{}' project into {place}:", args.stack);
    }
    for f in &written.files {
        let note = if f.as_os_str() == ".env" {
            "  (fresh passwords and keys for the variables '.env.example' lists; mode 0600; git-ignored)"
        } else {
            ""
        };
        eprintln!("  {}{note}", f.display());
    }
    if !written.kept.is_empty() {
        eprintln!("kept as they are (name one with '--force FILE' to overwrite it):");
        for f in &written.kept {
            eprintln!("  {}", f.display());
        }
    }
    eprintln!("\nnext:");
    if args.dir.is_some() {
        eprintln!("  cd {}", describe_path(&written.dir));
    }
    eprintln!("  devstack up          # bring the stack up and watch it");
    eprintln!("  devstack up -d       # or in the background, returning when healthy");
    Ok(0)
}

/// Where the stack comes from: `-f`, else a stack file in this directory, else (or with
/// `--stack`) a bundled stack materialised in the user's data directory.
pub fn load_options(global: &GlobalArgs) -> Result<stack::LoadOptions, Error> {
    let cwd = std::env::current_dir()?;
    let environment: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let file = match (global.file.first(), &global.stack) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(name)) => Some(bundled_stack(name)?),
        // Left to stack::load, which also reads COMPOSE_FILE and merges the override file.
        (None, None) if environment.contains_key("COMPOSE_FILE") => None,
        (None, None) => match stack::find_file(&cwd) {
            Ok(_) => None,
            Err(stack::Error::NotFound { .. }) => Some(bundled_stack(crate::init::DEFAULT_STACK)?),
            Err(e) => return Err(e.into()),
        },
    };
    Ok(stack::LoadOptions {
        file,
        extra_files: global.file.iter().skip(1).cloned().collect(),
        cwd,
        project_name: global.project_name.clone(),
        env_files: global.env_file.clone(),
        profiles: global.profile.clone(),
        strict: global.strict,
        environment,
    })
}

/// Writes a bundled stack into the data directory once (never over a user's edits) and
/// returns its stack file.
fn bundled_stack(name: &str) -> Result<PathBuf, Error> {
    let env = |k: &str| std::env::var(k).ok();
    let dir = crate::init::data_dir(name, &env);
    let (file, added) = crate::init::materialize(&dir, name)?;
    if !added.is_empty() {
        eprintln!(
            "bundled stack '{name}' written to {} (your code and settings live there; edits are kept)",
            describe_path(&dir)
        );
        print_live_code(&file);
    }
    Ok(file)
}

/// "live code is at …" for a freshly materialised bundled stack. A stack that does not
/// load prints nothing here: loading it for the command reports the error.
fn print_live_code(file: &std::path::Path) {
    let options = stack::LoadOptions {
        file: Some(file.to_path_buf()),
        cwd: file.parent().map(PathBuf::from).unwrap_or_default(),
        environment: std::env::vars().collect(),
        ..stack::LoadOptions::default()
    };
    let Ok(stack) = stack::load(&options) else {
        return;
    };
    let code: Vec<_> = endpoints::endpoints(&stack)
        .into_iter()
        .filter(|e| matches!(e, endpoints::Endpoint::Code { .. }))
        .collect();
    if code.is_empty() {
        return;
    }
    eprintln!("live code is at:");
    for line in endpoints::lines(&code, &describe_path) {
        eprintln!("  {line}");
    }
}

/// The stack's endpoints (UI, database URLs with the password masked, code folders).
fn print_endpoints(stack: &Stack) {
    let lines = endpoints::lines(&endpoints::endpoints(stack), &describe_path);
    if lines.is_empty() {
        return;
    }
    // In one write: an `eprintln!` per line wrote each piece of it on its own.
    let text: String = std::iter::once("\n".to_string())
        .chain(lines.iter().map(|l| format!("  {l}\n")))
        .collect();
    output::eprint_text(&text);
}

/// A required variable unset in a project that has `.env.example` but no `.env` (a
/// fresh clone: `.env` is git-ignored) gets the exact command that writes `.env`.
fn with_init_hint(e: stack::Error, options: &stack::LoadOptions) -> Error {
    let file = match &options.file {
        Some(f) => Some(options.cwd.join(f)),
        None => stack::find_file(&options.cwd).ok(),
    };
    let dir = file.as_deref().and_then(std::path::Path::parent);
    match (&e, dir) {
        (stack::Error::MissingVariable { .. }, Some(dir))
            if dir.join(".env.example").is_file() && !dir.join(".env").exists() =>
        {
            let command = if dir == options.cwd {
                "devstack init".to_string()
            } else {
                let d = dir.display().to_string();
                if d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c))
                {
                    format!("devstack init {d}")
                } else {
                    format!("devstack init \"{d}\"")
                }
            };
            Error::MissingDotEnv {
                source: Box::new(e),
                hint: format!(
                    "there is no '.env' next to the stack file; '{command}' writes one with fresh secrets for the variables '.env.example' lists (it changes no other file)"
                ),
            }
        }
        _ => Error::Stack(e),
    }
}

/// Loads and validates the stack, printing its warnings to stderr.
pub fn load_stack(global: &GlobalArgs) -> Result<Stack, Error> {
    let options = load_options(global)?;
    let stack = stack::load(&options).map_err(|e| with_init_hint(e, &options))?;
    crate::mask::install(crate::mask::Masker::for_stack(&stack));
    for w in &stack.warnings {
        output::eprint_line(&format!(
            "warning: {}",
            crate::logs::escape_controls(&w.to_string())
        ));
    }
    Ok(stack)
}

async fn up(global: &GlobalArgs, args: &UpArgs) -> Result<u8, Error> {
    let mut stack = load_stack(global)?;
    if !args.services.is_empty() {
        let named = select_services(&stack, &args.services)?;
        stack = stack.only_with_dependencies(&named);
    }
    let engine = Engine::connect().await?;
    let options = PlanOptions {
        build: args.build,
        force_recreate: args.force_recreate,
        // The services not named are not orphans: they are left as they are.
        keep_orphans: args.keep_orphans || !args.services.is_empty(),
        adopt_other_directory: global.project_name.is_some() || args.force,
        no_wait: args.no_wait,
    };
    let timeout = Duration::from_secs(args.wait_timeout);
    let history = crate::ops::runs::History::for_project(stack.project.as_str());
    let began = chrono::Utc::now().timestamp();
    if args.detach {
        converge_timed(&engine, &stack, options, timeout, args.timings).await?;
        record_job_runs(&engine, &stack, &history).await;
        print_endpoints(&stack);
        return Ok(0);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        // No terminal for the UI: do what `docker compose up` does, converge and follow
        // the logs.
        converge_timed(&engine, &stack, options, timeout, args.timings).await?;
        record_job_runs(&engine, &stack, &history).await;
        let recorder = tokio::spawn(crate::ops::runs::record_while_following(
            engine.clone(),
            std::sync::Arc::new(stack.clone()),
            history.clone(),
            began,
        ));
        print_endpoints(&stack);
        let follow = LogsArgs {
            services: Vec::new(),
            follow: true,
            tail: Some(0),
            timestamps: false,
            no_color: false,
        };
        let followed = logs_of(&engine, &stack, &follow).await;
        recorder.abort();
        // The logs end when the last container stops: a job that just ended may not be
        // recorded by the follower yet.
        record_job_runs(&engine, &stack, &history).await;
        return followed;
    }
    let ui = UiOptions {
        log_lines: args.log_lines,
        stats_file: args.stats_file.clone(),
        cli: output::command_prefix(global),
    };
    run_ui(engine, stack, ui, Some((options, timeout))).await
}

async fn tui(global: &GlobalArgs, args: &TuiArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = Engine::connect().await?;
    let ui = UiOptions {
        log_lines: args.log_lines,
        stats_file: args.stats_file.clone(),
        cli: output::command_prefix(global),
    };
    run_ui(engine, stack, ui, None).await
}

/// The options `up` and `tui` share.
struct UiOptions {
    log_lines: Option<usize>,
    stats_file: Option<PathBuf>,
    /// `devstack` with the global flags that name this stack.
    cli: String,
}

async fn run_ui(
    engine: Engine,
    stack: Stack,
    ui: UiOptions,
    up: Option<(PlanOptions, Duration)>,
) -> Result<u8, Error> {
    let config = crate::app::AppConfig {
        log_lines: ui
            .log_lines
            .or(stack.settings.log_lines)
            .unwrap_or(crate::logs::StoreConfig::DEFAULT_LINES),
        up,
        watch: true,
        stats_file: ui.stats_file,
        cli: ui.cli,
    };
    match crate::app::run(engine, stack, config).await? {
        // `devstack up` whose up failed reports it, as `up --detach` does.
        crate::app::Outcome::Quit {
            up_failed: true, ..
        } => Ok(1),
        crate::app::Outcome::Quit { .. } => Ok(0),
        crate::app::Outcome::Signalled(signal) => Ok(signal.exit_code()),
    }
}

/// The job runs `up` saw finish go into the run history (`devstack runs`); one that
/// cannot be recorded is a warning, not a failed `up`.
async fn record_job_runs(engine: &Engine, stack: &Stack, history: &crate::ops::runs::History) {
    if let Err(e) = crate::ops::runs::record_finished_jobs(engine, stack, history).await {
        output::eprint_line(&format!("warning: a job's run was not recorded: {e}"));
    }
}

/// `up --detach` as the CLI shows it: progress lines on stderr.
pub async fn converge(
    engine: &Engine,
    stack: &Stack,
    options: PlanOptions,
    timeout: Duration,
) -> Result<(), Error> {
    converge_timed(engine, stack, options, timeout, false).await
}

/// [`converge`], with `timings` also printing each service's timeline (`up --timings`).
async fn converge_timed(
    engine: &Engine,
    stack: &Stack,
    options: PlanOptions,
    timeout: Duration,
    timings: bool,
) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress_timed(rx, service_width(stack)));
    let result = bring_up::converge_with(engine, stack, options, timeout, tx).await;
    let timeline = printer.await.unwrap_or_default();
    // Printed whether `up` succeeded or not: where it got stuck is the point.
    if timings {
        output::eprint_line(" timings (seconds since 'up' began):");
        for line in timeline.table() {
            output::eprint_line(&format!("   {line}"));
        }
    }
    match result? {
        Converged::AlreadyUp => {
            output::eprint_line(&format!("{}: everything is up to date", stack.project))
        }
        Converged::Changed => output::eprint_line(&format!(
            "{}: {} services ready",
            stack.project,
            stack.services.len()
        )),
    }
    for service in stack.services.values() {
        for p in service.ports.iter().filter(|p| !p.is_loopback()) {
            // Without a host port the daemon picks one: only the address is known here.
            let host = match p.host_port {
                Some(h) => format!("{}:{h}", p.host_ip),
                None => p.host_ip.clone(),
            };
            eprintln!(
                " warning: {} publishes '{host}->{}' beyond loopback: reachable from other machines on the network",
                service.name, p.container_port
            );
        }
    }
    Ok(())
}

pub(crate) fn service_width(stack: &Stack) -> usize {
    stack
        .services
        .keys()
        .map(|s| s.as_str().len())
        .max()
        .unwrap_or(0)
}

/// Progress as lines on stderr, one per change of a service's step. Lines that are
/// ready together (a wave of services starting) go out in one write.
pub(crate) async fn print_progress(rx: mpsc::Receiver<EngineEvent>, width: usize) {
    print_progress_timed(rx, width).await;
}

/// [`print_progress`], returning each service's timeline (stamped as events arrive).
async fn print_progress_timed(
    mut rx: mpsc::Receiver<EngineEvent>,
    width: usize,
) -> crate::ops::timings::Timeline {
    let began = std::time::Instant::now();
    let mut timeline = crate::ops::timings::Timeline::default();
    let mut last: BTreeMap<ServiceName, String> = BTreeMap::new();
    let mut text = String::new();
    let mut take = |event: EngineEvent, text: &mut String| {
        if let EngineEvent::Progress { service, progress } = &event {
            timeline.record(service, progress, began.elapsed());
        }
        progress_line(event, width, &mut last, text);
    };
    while let Some(event) = rx.recv().await {
        take(event, &mut text);
        while let Ok(event) = rx.try_recv() {
            take(event, &mut text);
        }
        output::eprint_text(&text);
        text.clear();
    }
    timeline
}

/// Appends the line `event` prints, if any, to `out`; `last` is each service's step
/// printed last (a repeat prints nothing).
fn progress_line(
    event: EngineEvent,
    width: usize,
    last: &mut BTreeMap<ServiceName, String>,
    out: &mut String,
) {
    use std::fmt::Write as _;
    match event {
        EngineEvent::Progress { service, progress } => {
            let text = crate::mask::text(&progress_text(&progress));
            if last.get(&service) != Some(&text) {
                let line = format!(
                    " {:<width$}  {}",
                    service.as_str(),
                    crate::logs::escape_controls(&text)
                );
                // Writing into a String cannot fail.
                let _ = writeln!(out, "{}", output::message_text(&line));
                last.insert(service, text);
            }
        }
        EngineEvent::Notice { level, message } => {
            let tag = match level {
                NoticeLevel::Info => "",
                NoticeLevel::Warning => "warning: ",
                NoticeLevel::Error => "error: ",
            };
            let line = format!(" {tag}{}", crate::logs::escape_controls(&message));
            let _ = writeln!(out, "{}", output::message_text(&line));
        }
        _ => {}
    }
}

pub fn progress_text(p: &Progress) -> String {
    match p {
        Progress::Pulling { percent: Some(n) } => format!("pulling {n}%"),
        Progress::Pulling { percent: None } => "pulling".into(),
        Progress::Building { step } => format!("building: {step}"),
        Progress::Waiting {
            on,
            condition,
            detail,
        } => {
            let what = match condition {
                stack::Condition::Started => "started",
                stack::Condition::Healthy => "healthy",
                stack::Condition::CompletedSuccessfully => "completed",
            };
            match detail {
                Some(d) => format!("waiting: {on} {what} — {d}"),
                None => format!("waiting: {on} {what}"),
            }
        }
        Progress::Removing => "removing".into(),
        Progress::Creating => "creating".into(),
        Progress::Starting => "starting".into(),
        Progress::WaitingHealthy {
            probes,
            retries,
            last_output,
        } => {
            let _ = retries;
            let mut s = format!("waiting healthy (probe {probes})");
            if let Some(out) = last_output.as_deref().filter(|o| !o.trim().is_empty()) {
                s.push_str(&format!(" — last probe: {}", out.trim()));
            }
            s
        }
        // The container runs; whether the service is ready comes next (`Ready`).
        Progress::Slow { reason } => reason.clone(),
        Progress::Done => "started".into(),
        Progress::Ready(how) => match how {
            crate::model::Readiness::Healthy => "healthy".into(),
            crate::model::Readiness::Probed { after_ms } => match after_ms {
                Some(ms) => format!(
                    "ready (probe passed {:.1} s after start); docker: starting",
                    *ms as f64 / 1000.0
                ),
                None => "ready (probe passed); docker: starting".into(),
            },
            crate::model::Readiness::Running => "running (no healthcheck)".into(),
            crate::model::Readiness::Completed => "completed".into(),
        },
        Progress::Failed { reason } => format!("failed: {reason}"),
    }
}

/// `-t/--timeout` of `down` and `stop`: the grace period before SIGKILL.
fn stop_timeout(engine: Engine, seconds: Option<u64>) -> Engine {
    match seconds {
        Some(s) => engine.with_stop_timeout(Duration::from_secs(s)),
        None => engine,
    }
}

async fn down(global: &GlobalArgs, args: &DownArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = stop_timeout(Engine::connect().await?, args.timeout);
    let _lock = crate::engine::lock_project(&stack.project, false, |pid| {
        let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
        output::eprint_line(&format!(
            " another devstack is bringing up project '{}'{who}… waiting for it to finish",
            stack.project
        ));
    })
    .await?;
    let adopt = global.project_name.is_some() || args.force;
    let report = engine.down_stack(&stack, args.volumes, adopt).await?;
    for c in &report.containers {
        eprintln!(" removed container {c}");
    }
    for n in &report.networks {
        eprintln!(" removed network {n}");
    }
    for v in &report.volumes {
        eprintln!(" removed volume {v}");
    }
    for v in &report.kept_volumes {
        eprintln!(
            " kept volume {v}: labelled with this project, but the stack file does not declare it (or declares it external); if its data can go, remove it with 'docker volume rm {v}'"
        );
    }
    for v in &report.compose_volumes {
        eprintln!(
            " kept volume {v}: Docker Compose created it (it lacks the label '{}={}'), and devstack removes only volumes it created; if its data can go, remove it with 'docker volume rm {v}'",
            crate::model::labels::PROJECT,
            stack.project
        );
    }
    if !args.volumes && !stack.volumes.is_empty() {
        eprintln!(" volumes kept (remove them with 'devstack down --volumes')");
    }
    Ok(0)
}

async fn ps(global: &GlobalArgs, args: &PsArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = Engine::connect().await?;
    let mut rows = engine.ps(&stack.project).await?;
    rows.sort_by(|a, b| a.service.cmp(&b.service));
    let text = if args.json {
        let mut s = output::ps_json(&rows).map_err(std::io::Error::other)?;
        s.push('\n');
        s
    } else {
        output::ps_table(&rows)
    };
    std::io::stdout().write_all(crate::mask::text(&text).as_bytes())?;
    Ok(0)
}

async fn logs(global: &GlobalArgs, args: &LogsArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = Engine::connect().await?;
    follow::quiet_when_closed(logs_of(&engine, &stack, args).await)
}

async fn logs_of(engine: &Engine, stack: &Stack, args: &LogsArgs) -> Result<u8, Error> {
    let selected = select_services(stack, &args.services)?;
    let containers: Vec<ContainerInfo> = engine
        .ps(&stack.project)
        .await?
        .into_iter()
        .filter(|c| selected.contains(&c.service))
        .collect();
    let colour = output::use_colour(
        std::io::stdout().is_terminal(),
        args.no_color,
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let order: Vec<&ServiceName> = stack.services.keys().collect();
    let format = follow::Format {
        width: containers
            .iter()
            .map(|c| c.service.as_str().len())
            .max()
            .unwrap_or(0),
        colours: containers
            .iter()
            .map(|c| {
                let index = order.iter().position(|o| **o == c.service).unwrap_or(0);
                colour.then(|| output::palette_colour(index))
            })
            .collect(),
        timestamps: args.timestamps,
    };
    let tail = args.tail.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());

    // What exists now, merged by timestamp across services as it streams in.
    let backlog = containers
        .iter()
        .map(|c| {
            let options = LogOptions {
                follow: false,
                tail,
                since_nanos: None,
            };
            engine.follow_logs(&c.service, &c.id.0, options).boxed()
        })
        .collect();
    let last_seen = follow::print_backlog(backlog, &mut out, &format).await?;
    out.flush()?;
    if !args.follow {
        return Ok(0);
    }

    // Then new lines as they come, each container resuming after the last line printed,
    // also after the daemon went away and came back.
    let followers = containers
        .iter()
        .zip(last_seen)
        .map(|(c, since)| follow::follow(engine, &c.service, &c.id.0, since))
        .collect();
    follow::print_followed(followers, &mut out, &format).await?;
    Ok(0)
}

async fn lifecycle(
    global: &GlobalArgs,
    names: &[String],
    timeout: Option<u64>,
    what: Lifecycle,
) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let services = select_services(&stack, names)?;
    let engine = stop_timeout(Engine::connect().await?, timeout);
    let results = ops::lifecycle::run(&engine, &stack, &services, what).await;
    let mut failed = 0u8;
    for (service, result) in services.iter().zip(results) {
        match result {
            Ok(()) => eprintln!(" {service}  {}", what.done_word()),
            Err(e) => {
                eprintln!("error: {}", crate::mask::text(&e.to_string()));
                failed = 1;
            }
        }
    }
    Ok(failed)
}

fn config(global: &GlobalArgs, args: &ConfigArgs) -> Result<u8, Error> {
    // Read-only: without a stack file here, say so rather than writing the bundled
    // project into the data directory as `up` does.
    if global.file.is_empty()
        && global.stack.is_none()
        && let Err(stack::Error::NotFound { dir, tried }) =
            stack::find_file(&std::env::current_dir()?)
    {
        return Err(Error::Usage(format!(
            "no stack file in '{}' (looked for {}); 'devstack config' only reads one. \
             Pass one with '-f FILE', or write a project here with 'devstack init'",
            dir.display(),
            tried.join(", "),
        )));
    }
    let stack = load_stack(global)?;
    let text = stack::render_config(&stack, args.show_secrets);
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(service: &str, p: Progress) -> EngineEvent {
        EngineEvent::Progress {
            service: ServiceName::new(service),
            progress: p,
        }
    }

    /// Issue 15 item 5: progress went out a few bytes per write; lines ready together are
    /// now gathered into one text (one write), each step of a service once.
    #[test]
    fn progress_lines_ready_together_make_one_text_and_repeats_print_nothing() {
        let mut last = BTreeMap::new();
        let mut text = String::new();
        for event in [
            progress("db", Progress::Creating),
            progress("web", Progress::Creating),
            progress("db", Progress::Creating),
            EngineEvent::Notice {
                level: NoticeLevel::Warning,
                message: "slow \x1b]0;title\x07 disk".into(),
            },
            progress("db", Progress::Starting),
        ] {
            progress_line(event, 3, &mut last, &mut text);
        }
        assert_eq!(
            text,
            " db   creating\n web  creating\n warning: slow \\x1b]0;title\\x07 disk\n db   starting\n"
        );
    }
}
