//! `dqlite-nemesis`: the command line. Flags follow Jepsen's (`--workload`, `--nemesis`,
//! `--time`, `--concurrency`, `--nodes`) plus `--target ours|c`. Exit status: 0 when every
//! run's history is valid, 1 when a checker found an anomaly (or could not decide), 2 when
//! the tool itself failed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dqlite_nemesis::check::Validity;
use dqlite_nemesis::cluster::Target;
use dqlite_nemesis::fault::{Fault, Schedule};
use dqlite_nemesis::run::{self, Options};
use dqlite_nemesis::workload::Kind;
use tokio_util::sync::CancellationToken;

mod binary;
mod smoke;

/// Jepsen-style fault injection against a dqlite cluster: our dqlite-server or C dqlite.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Workload: set, bank, append or register.
    #[arg(long, default_value = "bank")]
    workload: String,
    /// Faults, comma-separated: kill, pause, partition, member, disk, mixed (all) or none.
    #[arg(long, default_value = "kill")]
    nemesis: String,
    /// Seconds of client operations (faults heal and final reads follow).
    #[arg(long, default_value_t = 60)]
    time: u64,
    /// Logical clients.
    #[arg(long, default_value_t = 5)]
    concurrency: u64,
    /// Nodes in the cluster (3 or 5 are typical).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// ours (dqlite-server) or c (dqlite-demo, C dqlite through go-dqlite).
    #[arg(long, default_value = "ours")]
    target: String,
    /// The server binary; default: dqlite-server beside this program (built when missing
    /// and run through cargo), or dqlite-demo from PATH for --target c.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Seconds between faults.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// Seconds each fault lasts.
    #[arg(long, default_value_t = 5)]
    hold: u64,
    /// Seed of every random choice (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: output/nemesis/<time>-<workload>-<target>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Use loopback addresses instead of network namespaces (no partitions).
    #[arg(long)]
    no_namespaces: bool,
    /// Extra arguments for each server process, e.g. --server-arg=--election-timeout-ms=1000.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Run the short suite CI runs (about 3 minutes) instead of one run.
    #[arg(long)]
    smoke: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,dqlite_client=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dqlite-nemesis: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let interrupt = CancellationToken::new();
        tokio::spawn(watch_signals(interrupt.clone()));
        let result = if args.smoke {
            smoke::run(&args, interrupt).await
        } else {
            match options(&args) {
                Ok(opts) => run_one(&opts, interrupt).await,
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("dqlite-nemesis: {e}");
                ExitCode::from(2)
            }
        }
    })
}

/// Cancels `interrupt` on Ctrl-C or SIGTERM, so the run removes what it made.
async fn watch_signals(interrupt: CancellationToken) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    eprintln!("dqlite-nemesis: interrupted; stopping the cluster and removing what it made");
    interrupt.cancel();
}

/// One run, its summary printed; true when its history is valid.
async fn run_one(opts: &Options, interrupt: CancellationToken) -> Result<bool, String> {
    let outcome = run::run(opts, interrupt).await.map_err(|e| e.to_string())?;
    print!("{}", outcome.summary);
    Ok(outcome.check.validity == Validity::Valid)
}

/// The options of a single run from the command line.
fn options(args: &Args) -> Result<Options, String> {
    let workload = Kind::parse(&args.workload).ok_or_else(|| {
        format!(
            "unknown workload {:?}: expected set, bank, append or register",
            args.workload
        )
    })?;
    let target = match args.target.as_str() {
        "ours" => Target::Ours,
        "c" => Target::C,
        other => return Err(format!("unknown target {other:?}: expected ours or c")),
    };
    if !(1..=7).contains(&args.nodes) {
        return Err(format!("--nodes {} is out of range 1..=7", args.nodes));
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    let server_bin = match &args.server_bin {
        Some(p) => p.clone(),
        None => binary::default_for(target)?,
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("output/nemesis").join(format!(
            "{}-{}-{}",
            seed,
            workload.name(),
            args.target
        ))
    });
    Ok(Options {
        target,
        server_bin,
        workload,
        schedule: Schedule {
            faults: Fault::parse_list(&args.nemesis)?,
            interval: Duration::from_secs(args.interval),
            hold: Duration::from_secs(args.hold),
        },
        time: Duration::from_secs(args.time),
        concurrency: args.concurrency,
        nodes: args.nodes,
        seed,
        out,
        allow_namespaces: !args.no_namespaces,
        extra_args: args.server_args.clone(),
    })
}
