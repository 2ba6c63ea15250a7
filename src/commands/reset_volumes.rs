//! `devstack reset`: which volumes, the project-label check, the question, then the
//! reset of `ops::reset`, its progress printed.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Error, load_stack, print_progress, service_width};
use crate::cli::{GlobalArgs, ResetArgs};
use crate::engine::Engine;
use crate::ops::reset::{check_owned, describe, plan_reset, run_reset};

pub async fn reset(global: &GlobalArgs, args: &ResetArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let plan = plan_reset(&stack, &args.volumes, &args.services)?;
    let engine = Engine::connect().await?;

    check_owned(&engine, &stack, &plan).await?;
    eprint!("{}", describe(&plan));
    if !args.yes && !confirmed()? {
        eprintln!("nothing changed");
        return Ok(1);
    }
    let (tx, rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress(rx, service_width(&stack)));
    let timeout = Duration::from_secs(args.wait_timeout);
    let result = run_reset(&engine, &stack, &plan, timeout, tx).await;
    let _ = printer.await;
    result?;
    eprintln!("{}: reset done, services ready", stack.project);
    Ok(0)
}

/// Asks on the terminal whether to delete the data; without a terminal there is no one
/// to ask, which is an error naming `--yes`.
fn confirmed() -> Result<bool, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "reset deletes data and needs a yes: run it in a terminal to be asked, or pass --yes"
                .into(),
        ));
    }
    eprint!("Delete this data? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
