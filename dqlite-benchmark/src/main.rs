//! `dqlite-benchmark` binary: parse the flags, set up logging and the runtime, run.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use dqlite_benchmark::{app, args::Args, signal::Shutdown};

/// Log filter when RUST_LOG is unset. openraft is silenced: it logs transient peer errors
/// (a node restarting, the cluster being torn down after a run) at ERROR, while the server's
/// own warnings say what matters. `RUST_LOG=warn,openraft=error` brings them back.
const DEFAULT_LOG: &str = "warn,openraft=off";

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dqlite-benchmark: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async { app::run(&args, Shutdown::listen()).await });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dqlite-benchmark: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
