//! `devstack reset`: which volumes, the project-label check, the question, then the
//! reset of `ops::reset`, its progress printed.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Error, load_stack, print_progress, service_width};
use crate::cli::{GlobalArgs, ResetArgs};
use crate::engine::Engine;
use crate::model::EngineEvent;
use crate::ops::bring_up::lock;
use crate::ops::reset::ResetPlan;
use crate::ops::reset::{check_owned, describe, plan_reset, run_reset_with};
use crate::plan::PlanOptions;
use crate::stack::Stack;

pub async fn reset(global: &GlobalArgs, args: &ResetArgs) -> Result<u8, Error> {
    let stack = load_stack(global)?;
    let plan = plan_reset(&stack, &args.volumes, &args.services)?;
    let engine = Engine::connect().await?;
    let (tx, rx) = mpsc::channel(256);
    let printer = tokio::spawn(print_progress(rx, service_width(&stack)));
    let result = locked_reset(global, args, &engine, &stack, &plan, tx).await;
    let _ = printer.await;
    if result? {
        eprintln!("{}: reset done, services ready", stack.project);
        Ok(0)
    } else {
        eprintln!("nothing changed");
        Ok(1)
    }
}

/// The checks, the question and the reset, under the project's lock (held across the
/// removals and the `up` after them); `false` when the answer was no.
async fn locked_reset(
    global: &GlobalArgs,
    args: &ResetArgs,
    engine: &Engine,
    stack: &Stack,
    plan: &ResetPlan,
    tx: mpsc::Sender<EngineEvent>,
) -> Result<bool, Error> {
    let _lock = lock(stack, false, &tx).await?;
    let adopt = global.project_name.is_some() || args.force;
    check_owned(engine, stack, plan, adopt).await?;
    eprint!("{}", describe(plan));
    if !args.yes && !confirmed()? {
        return Ok(false);
    }
    let timeout = Duration::from_secs(args.wait_timeout);
    let options = PlanOptions {
        adopt_other_directory: adopt,
        ..PlanOptions::default()
    };
    run_reset_with(engine, stack, plan, timeout, options, tx).await?;
    Ok(true)
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
