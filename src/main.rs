//! devstack's entry point: parse the command line, run it, report errors as a chain.

use std::process::ExitCode;

use clap::Parser;
use devstack::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
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
