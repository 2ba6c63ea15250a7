//! `devstack exec` and `devstack db`: the arguments, the console question when there
//! are several, then the terminal hand-off (`crate::exec::run`); `db --url` prints
//! where a desktop client connects instead.

use std::io::{BufRead, IsTerminal, Write};

use super::{Error, load_stack, select_services};
use crate::cli::{DbArgs, ExecArgs, GlobalArgs};
use crate::engine::{Engine, ExecRequest};
use crate::ops::database;
use crate::ops::session::{
    console_candidates, console_for_database, exit_status, resolve_console, running_container,
};
use crate::stack::{Service, Stack};

pub async fn exec(global: &GlobalArgs, args: &ExecArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let service = select_services(&stack, std::slice::from_ref(&args.service))?.remove(0);
    let engine = Engine::connect().await?;
    let container = running_container(&engine, &stack, &service).await?;
    let cmd = if args.command.is_empty() {
        match engine
            .detect_shell(&container.id, args.user.as_deref())
            .await?
        {
            Some(shell) => vec![shell.to_string()],
            None => {
                return Err(Error::Usage(format!(
                    "the image of service '{service}' ('{}') has neither bash nor sh; name a command: devstack exec {service} CMD",
                    container.image
                )));
            }
        }
    } else {
        args.command.clone()
    };
    let request = ExecRequest {
        cmd,
        tty: !args.no_tty && crate::exec::has_terminal(),
        stdin: true,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        env: args.env.clone(),
    };
    let code = crate::exec::run(&engine, &container.id, request).await?;
    Ok(exit_status(code))
}

pub async fn db(global: &GlobalArgs, args: &DbArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let console = match resolve_console(&stack, args.service.as_deref())? {
        Some(c) => c,
        None => {
            let names: Vec<String> = console_candidates(&stack)
                .iter()
                .map(|s| s.name.to_string())
                .collect();
            if !std::io::stdin().is_terminal() {
                return Err(Error::Usage(format!(
                    "several Postgres services ({}); name one: devstack db SERVICE",
                    names.join(", ")
                )));
            }
            eprint!("Postgres services: {}. Which one? ", names.join(", "));
            std::io::stderr().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            resolve_console(&stack, Some(answer.trim()))?
                .ok_or_else(|| Error::Usage(format!("no Postgres service '{}'", answer.trim())))?
        }
    };
    let service = stack
        .services
        .get(&console.service)
        .ok_or_else(|| Error::Usage(format!("no service '{}'", console.service)))?;
    let engine = Engine::connect().await?;
    if args.url {
        return print_url(&engine, &stack, service, args).await;
    }
    let console = console_for_database(service, args.database.as_deref());
    let container = running_container(&engine, &stack, &console.service).await?;
    let request = ExecRequest {
        cmd: console.cmd,
        tty: crate::exec::has_terminal(),
        stdin: true,
        ..ExecRequest::default()
    };
    let code = crate::exec::run(&engine, &container.id, request).await?;
    Ok(exit_status(code))
}

/// `db --url`: the URL of the database on the service's published port, the password
/// masked unless `--show-secrets`.
async fn print_url(
    engine: &Engine,
    stack: &Stack,
    service: &Service,
    args: &DbArgs,
) -> Result<u8, Error> {
    let published = engine
        .ps(&stack.project)
        .await?
        .into_iter()
        .find(|c| c.service == service.name)
        .map(|c| c.ports)
        .unwrap_or_default();
    let Some((host, port)) = database::host_endpoint(service, &published) else {
        return Err(Error::Usage(format!(
            "service '{}' publishes no port for {}; add one, e.g. 'ports: [\"127.0.0.1:{}:{}\"]', and run 'devstack up'",
            service.name,
            database::POSTGRES_PORT,
            database::POSTGRES_PORT,
            database::POSTGRES_PORT
        )));
    };
    let target = database::target(service, args.database.as_deref());
    let url = database::url(&target, &host, port, args.show_secrets);
    let mut out = std::io::stdout().lock();
    // Not through the masker: the password is already masked unless asked for.
    out.write_all(crate::logs::escape_controls(&url).as_bytes())?;
    out.write_all(b"\n")?;
    Ok(0)
}
