//! What each subcommand does, over the library: load the stack, plan, drive the engine,
//! print. Returns the process exit code; errors carry what a person needs to act.

pub mod live;
pub mod output;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::cli::{
    Command, ConfigArgs, DownArgs, GlobalArgs, LogsArgs, PsArgs, ServicesArgs, UpArgs,
};
use crate::engine::{self, Engine, LogOptions};
use crate::model::{ContainerInfo, EngineEvent, LogLine, NoticeLevel, Progress, ServiceName};
use crate::plan::{self, PlanOptions};
use crate::stack::{self, Stack};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Stack(#[from] stack::Error),
    #[error(transparent)]
    Engine(#[from] engine::Error),
    #[error(transparent)]
    Init(#[from] crate::init::Error),
    #[error(transparent)]
    Exec(#[from] crate::exec::Error),
    #[error(transparent)]
    Watch(#[from] crate::watch::Error),
    #[error("no service '{name}' in the stack; services: {}", .known.join(", "))]
    UnknownService { name: String, known: Vec<String> },
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs one parsed command line; the result is the process exit code.
pub async fn run(command: Command, global: GlobalArgs) -> Result<u8, Error> {
    match command {
        Command::Up(args) => up(&global, &args).await,
        Command::Down(args) => down(&global, &args).await,
        Command::Ps(args) => ps(&global, &args).await,
        Command::Logs(args) => logs(&global, &args).await,
        Command::Restart(args) => lifecycle(&global, &args, Lifecycle::Restart).await,
        Command::Stop(args) => lifecycle(&global, &args, Lifecycle::Stop).await,
        Command::Start(args) => lifecycle(&global, &args, Lifecycle::Start).await,
        Command::Config(args) => config(&global, &args),
        Command::Build(args) => live::build(&global, &args).await,
        Command::Watch(args) => live::watch(&global, &args).await,
    }
}

pub fn load_options(global: &GlobalArgs) -> Result<stack::LoadOptions, Error> {
    Ok(stack::LoadOptions {
        file: global.file.clone(),
        cwd: std::env::current_dir()?,
        project_name: global.project_name.clone(),
        env_files: global.env_file.clone(),
        profiles: global.profile.clone(),
        strict: global.strict,
        environment: std::env::vars().collect(),
    })
}

/// Loads and validates the stack, printing its warnings to stderr.
pub fn load_stack(global: &GlobalArgs) -> Result<Stack, Error> {
    let stack = stack::load(&load_options(global)?)?;
    for w in &stack.warnings {
        eprintln!("warning: {w}");
    }
    Ok(stack)
}

/// Services named on the command line, checked against the stack; all when none named.
pub fn select_services(stack: &Stack, names: &[String]) -> Result<Vec<ServiceName>, Error> {
    if names.is_empty() {
        return Ok(stack.services.keys().cloned().collect());
    }
    names
        .iter()
        .map(|n| {
            let name = ServiceName::new(n.as_str());
            if stack.services.contains_key(&name) {
                Ok(name)
            } else {
                Err(Error::UnknownService {
                    name: n.clone(),
                    known: stack.services.keys().map(|s| s.to_string()).collect(),
                })
            }
        })
        .collect()
}

async fn up(global: &GlobalArgs, args: &UpArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = Engine::connect().await?;
    let options = PlanOptions {
        build: args.build,
        force_recreate: args.force_recreate,
        keep_orphans: args.keep_orphans,
    };
    converge(&engine, &stack, options, Duration::from_secs(args.wait_timeout)).await?;
    Ok(0)
}

/// `up --detach`: plan, check ports, apply, wait until ready, printing progress.
pub async fn converge(
    engine: &Engine,
    stack: &Stack,
    options: PlanOptions,
    timeout: Duration,
) -> Result<(), Error> {
    // Built before planning, so the plan recreates only services whose image changed.
    let options = if options.build {
        live::build_for_up(engine, stack).await?;
        PlanOptions {
            build: false,
            ..options
        }
    } else {
        options
    };
    let observed = engine.observe(stack).await?;
    let plan = plan::diff(stack, &observed, options);
    if plan.is_noop() && observed_ready(&observed) {
        eprintln!("{}: everything is up to date", stack.project);
        return Ok(());
    }
    engine.check_ports(stack, &observed).await?;
    let (tx, rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress(rx, service_width(stack)));
    let result = async {
        engine.apply(stack, &plan, tx.clone()).await?;
        engine.wait_ready(stack, timeout, tx.clone()).await
    }
    .await;
    drop(tx);
    let _ = printer.await;
    result?;
    eprintln!("{}: {} services ready", stack.project, stack.services.len());
    Ok(())
}

/// Every container runs (healthy when it has a healthcheck) or finished with 0.
fn observed_ready(observed: &crate::model::Observed) -> bool {
    use crate::model::{ContainerState, Health};
    observed.containers.iter().all(|c| match c.state {
        ContainerState::Running => matches!(c.health, Health::None | Health::Healthy),
        ContainerState::Exited => c.exit_code == Some(0),
        _ => false,
    })
}

fn service_width(stack: &Stack) -> usize {
    stack
        .services
        .keys()
        .map(|s| s.as_str().len())
        .max()
        .unwrap_or(0)
}

/// Progress as lines on stderr, one per change of a service's step.
async fn print_progress(mut rx: mpsc::Receiver<EngineEvent>, width: usize) {
    let mut last: BTreeMap<ServiceName, String> = BTreeMap::new();
    while let Some(event) = rx.recv().await {
        match event {
            EngineEvent::Progress { service, progress } => {
                let text = progress_text(&progress);
                if last.get(&service) != Some(&text) {
                    eprintln!(" {:<width$}  {text}", service.as_str());
                    last.insert(service, text);
                }
            }
            EngineEvent::Notice { level, message } => {
                let tag = match level {
                    NoticeLevel::Info => "",
                    NoticeLevel::Warning => "warning: ",
                    NoticeLevel::Error => "error: ",
                };
                eprintln!("{tag}{message}");
            }
            _ => {}
        }
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
            let mut s = format!("waiting healthy ({probes}/{retries} probes)");
            if let Some(out) = last_output.as_deref().filter(|o| !o.trim().is_empty()) {
                s.push_str(&format!(" — last probe: {}", out.trim()));
            }
            s
        }
        Progress::Done => "ready".into(),
        Progress::Failed { reason } => format!("failed: {reason}"),
    }
}

async fn down(global: &GlobalArgs, args: &DownArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = Engine::connect().await?;
    let report = engine.down(&stack.project, args.volumes).await?;
    for c in &report.containers {
        eprintln!(" removed container {c}");
    }
    for n in &report.networks {
        eprintln!(" removed network {n}");
    }
    for v in &report.volumes {
        eprintln!(" removed volume {v}");
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
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}

async fn logs(global: &GlobalArgs, args: &LogsArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let selected = select_services(&stack, &args.services)?;
    let engine = Engine::connect().await?;
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
    let colour_of = |s: &ServiceName| {
        colour.then(|| output::palette_colour(order.iter().position(|o| *o == s).unwrap_or(0)))
    };
    let width = containers
        .iter()
        .map(|c| c.service.as_str().len())
        .max()
        .unwrap_or(0);
    let tail = args.tail.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut stdout = std::io::stdout().lock();

    // What exists now, merged by timestamp across services.
    let mut backlog: Vec<LogLine> = Vec::new();
    for c in &containers {
        let options = LogOptions {
            follow: false,
            tail,
            since_nanos: None,
        };
        let mut lines = std::pin::pin!(engine.follow_logs(&c.service, &c.id.0, options));
        while let Some(line) = lines.next().await {
            backlog.push(line?);
        }
    }
    backlog.sort_by_key(|l| l.ts_nanos);
    let mut last_seen: BTreeMap<ServiceName, i64> = BTreeMap::new();
    for line in &backlog {
        writeln!(
            stdout,
            "{}",
            output::log_line(line, width, colour_of(&line.service), args.timestamps)
        )?;
        last_seen.insert(line.service.clone(), line.ts_nanos);
    }
    stdout.flush()?;
    drop(stdout);
    if !args.follow {
        return Ok(0);
    }

    // Then new lines as they come, each stream resuming after the last line printed.
    let streams = containers.iter().map(|c| {
        let options = LogOptions {
            follow: true,
            tail: if last_seen.contains_key(&c.service) {
                None
            } else {
                Some(0)
            },
            since_nanos: last_seen.get(&c.service).copied(),
        };
        engine.follow_logs(&c.service, &c.id.0, options).boxed()
    });
    let mut merged = futures_util::stream::select_all(streams);
    let mut stdout = tokio::io::stdout();
    while let Some(line) = merged.next().await {
        let line = line?;
        let text = output::log_line(&line, width, colour_of(&line.service), args.timestamps);
        tokio::io::AsyncWriteExt::write_all(&mut stdout, format!("{text}\n").as_bytes()).await?;
    }
    Ok(0)
}

#[derive(Debug, Clone, Copy)]
enum Lifecycle {
    Restart,
    Stop,
    Start,
}

async fn lifecycle(global: &GlobalArgs, args: &ServicesArgs, what: Lifecycle) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let services = select_services(&stack, &args.services)?;
    let engine = Engine::connect().await?;
    let results = futures_util::future::join_all(services.iter().map(|s| {
        let (engine, stack) = (&engine, &stack);
        async move {
            match what {
                Lifecycle::Restart => engine.restart(stack, s).await,
                Lifecycle::Stop => engine.stop(stack, s).await,
                Lifecycle::Start => engine.start(stack, s).await,
            }
        }
    }))
    .await;
    let verb = match what {
        Lifecycle::Restart => "restarted",
        Lifecycle::Stop => "stopped",
        Lifecycle::Start => "started",
    };
    let mut failed = 0u8;
    for (service, result) in services.iter().zip(results) {
        match result {
            Ok(()) => eprintln!(" {service}  {verb}"),
            Err(e) => {
                eprintln!("error: {e}");
                failed = 1;
            }
        }
    }
    Ok(failed)
}

fn config(global: &GlobalArgs, args: &ConfigArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let text = stack::render_config(&stack, args.show_secrets);
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}

/// Where a bundled stack lives once materialised (for messages).
pub fn describe_path(p: &std::path::Path) -> String {
    let home = std::env::var("HOME").map(PathBuf::from).ok();
    match home.and_then(|h| p.strip_prefix(h).ok().map(|r| r.to_path_buf())) {
        Some(rel) => format!("~/{}", rel.display()),
        None => p.display().to_string(),
    }
}
