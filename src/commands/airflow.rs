//! `devstack airflow`: the plain-text report (import errors first, in red on a
//! terminal), and `devstack airflow -- ARGS`, the airflow CLI in the stack's scheduler
//! container (or the `--service` named) through the terminal hand-off.

use std::io::{IsTerminal, Write};

use super::{Error, load_stack};
use crate::airflow::report;
use crate::cli::{AirflowArgs, GlobalArgs};
use crate::engine::{Engine, ExecRequest};
use crate::ops::airflow as ops_airflow;
use crate::ops::session::exit_status;

pub async fn airflow(global: &GlobalArgs, args: &AirflowArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let engine = Engine::connect().await?;
    if !args.args.is_empty() {
        let container =
            ops_airflow::cli_container(&engine, &stack, args.service.as_deref()).await?;
        let request = ExecRequest {
            cmd: ops_airflow::cli_command(&args.args),
            tty: !args.no_tty && crate::exec::has_terminal(),
            stdin: true,
            ..ExecRequest::default()
        };
        let code = crate::exec::run(&engine, &container.id, request).await?;
        return Ok(exit_status(code));
    }
    let client = ops_airflow::connect(&engine, &stack).await?;
    let overview = client.overview().await?;
    let text = report::render(&overview, &client.base_url(), &|e| {
        ops_airflow::display_path(&stack, e)
    });
    let colour = super::output::use_colour(
        std::io::stdout().is_terminal(),
        false,
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let text = crate::mask::text(&text);
    let mut out = std::io::stdout().lock();
    for line in text.lines() {
        if colour && line.starts_with("DAG IMPORT ERRORS") {
            writeln!(out, "\x1b[1;31m{line}\x1b[0m")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(0)
}
