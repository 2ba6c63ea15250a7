//! devstack's entry point: parse the command line, run it, report errors as a chain.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use devstack::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The UI keeps two workers, so parsing a log flood runs beside the render loop.
    // Every other command runs on one thread: a log stream hands each chunk from the
    // HTTP connection's task to its reader, and across two workers each hand-off was a
    // wake-up of the other thread (two futex calls per line: `logs` ran at half the
    // daemon's rate).
    let ui = match &cli.command {
        Command::Tui(_) => true,
        Command::Up(args) => {
            !args.detach && std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
        }
        _ => false,
    };
    let mut builder = if ui {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("devstack: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(devstack::commands::run(cli.command, cli.global)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("devstack: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
