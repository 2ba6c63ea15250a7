//! devstack's entry point: parse the command line, run it, report errors as a chain.

use std::process::ExitCode;

use clap::Parser;
use devstack::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread, also for the UI. A log stream hands every chunk (one per line) from the
    // HTTP connection's task to its reader; across worker threads each hand-off woke the
    // other thread (two futex calls per line). On one thread `logs` went from half the
    // daemon's rate to its rate, and the UI under a live flood took in 1.6x the lines at
    // half the CPU. Nothing here is CPU-bound: reading and drawing a flood take ~15% of a
    // core; blocking work (tar, port probes, stdin) has its own threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("devstack: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The command runs as a task, not as `block_on`'s own future: a task woken by
    // another task (the HTTP connection handing over a chunk) runs next from the run
    // queue, while `block_on`'s future is only polled again after the scheduler has
    // looked at the I/O driver: one `epoll_wait` per log line, half of `logs`' CPU.
    let task = runtime.spawn(devstack::commands::run(cli.command, cli.global));
    let result = match runtime.block_on(task) {
        Ok(result) => result,
        // The task panicked: the panic hook has printed why.
        Err(_) => return ExitCode::FAILURE,
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let text = devstack::commands::output::error_text(e);
            devstack::commands::output::eprint_line(&format!("devstack: {text}"));
            ExitCode::FAILURE
        }
    }
}
