//! The program: choose the mode, find the cluster, run the workload, write the report.
//!
//! [`drive`] is the part every mode shares (a cluster is reachable at some addresses; run
//! the workload against it and write the results). Client-only mode calls it directly; the
//! embedded and node modes start their node(s) first and then call it.

use std::path::PathBuf;

use dqlite_client::{Cluster, Config};
use dqlite_server::{Config as ServerConfig, Node};
use tokio::net::TcpListener;

use crate::args::{Args, POOL_SIZE};
use crate::embedded::{EmbeddedCluster, EmbeddedError};
use crate::report::{self, ReportError, Written};
use crate::runner::{self, RunConfig};
use crate::setup::{self, SetupError};
use crate::signal::Shutdown;
use crate::summary::{Settings, Summary};
use crate::target::{Mode, ModeError, Target};
use crate::workload::{Workload, DATABASE};

/// Why the program failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Inconsistent flags.
    #[error(transparent)]
    Mode(#[from] ModeError),
    /// The embedded cluster did not start.
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    /// This process's node (`--db`) did not start.
    #[error("node {0}: {1}")]
    Node(String, String),
    /// The client configuration was rejected.
    #[error("client: {0}")]
    Client(#[from] dqlite_client::Error),
    /// Waiting for the cluster or creating the schema failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Writing the results failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl AppError {
    /// The process exit status: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Mode(_) => 2,
            _ => 1,
        }
    }
}

/// The client configuration of the workload: a pool of up to [`POOL_SIZE`] open and idle
/// connections (go-dqlite's `SetMaxOpenConns(500)`/`SetMaxIdleConns(500)`), and the busy
/// policy of `--retry-busy`.
pub fn client_config(args: &Args) -> Config {
    Config::default()
        .with_max_open(POOL_SIZE)
        .with_max_idle(POOL_SIZE)
        .with_retry_busy(args.retry_busy)
}

/// The server version reported in `summary.json` for the modes that run our server.
fn server_version() -> Option<String> {
    Some(format!("dqlite-server {}", env!("CARGO_PKG_VERSION")))
}

/// Runs the program for parsed flags. Returns the files written (none for a node that does
/// not drive the workload).
pub async fn run(args: &Args, shutdown: Shutdown) -> Result<Option<Written>, AppError> {
    let (workload, warning) = args.workload();
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let mode = Mode::from_args(args)?;
    match &mode {
        Mode::ClientOnly { cluster } => {
            let target = Target::client_only(cluster);
            drive(args, workload, &mode, &target, shutdown)
                .await
                .map(Some)
        }
        Mode::Embedded => {
            if cfg!(debug_assertions) {
                eprintln!(
                    "note: this is a debug build, which runs the embedded servers unoptimised; \
                     for representative numbers use `cargo run --release -p dqlite-benchmark -- ...`"
                );
            }
            eprintln!("starting a local 3-node dqlite-server cluster...");
            let cluster = EmbeddedCluster::start(3, args.cluster_timeout()).await?;
            let target = Target {
                addrs: cluster.addrs().to_vec(),
                results_addr: cluster.addrs()[0].clone(),
                server_version: server_version(),
            };
            let result = drive(args, workload, &mode, &target, shutdown).await;
            cluster.shutdown().await;
            result.map(Some)
        }
        Mode::Node {
            db,
            join,
            driver,
            cluster,
        } => {
            let node = start_node(args, db, join).await?;
            let result = if *driver {
                let target = Target {
                    addrs: cluster.clone(),
                    results_addr: db.clone(),
                    server_version: server_version(),
                };
                drive(args, workload, &mode, &target, shutdown)
                    .await
                    .map(Some)
            } else {
                println!("Benchmark client ready. Send signal to abort or when done.");
                shutdown.wait().await;
                Ok(None)
            };
            node.shutdown().await;
            result
        }
    }
}

/// Starts this process's server node at `db`, with its data in `<dir>/<db>` like go-dqlite.
async fn start_node(args: &Args, db: &str, join: &[String]) -> Result<Node, AppError> {
    let fail = |e: &dyn std::fmt::Display| AppError::Node(db.to_owned(), e.to_string());
    let listener = TcpListener::bind(db).await.map_err(|e| fail(&e))?;
    let mut config = ServerConfig::new(db, args.dir.join(db));
    config.join = join.to_vec();
    Node::start(config, listener).await.map_err(|e| fail(&e))
}

/// Benchmarks the cluster at `target.addrs`: waits for it, creates the schema, runs the
/// workload, writes the results under `<dir>/<target.results_addr>` and prints the table.
pub async fn drive(
    args: &Args,
    workload: Workload,
    mode: &Mode,
    target: &Target,
    shutdown: Shutdown,
) -> Result<Written, AppError> {
    let config = client_config(args);
    let server =
        setup::wait_for_cluster(&config, &target.addrs, args.cluster_timeout(), &shutdown).await?;
    let cluster = Cluster::from_addresses(target.addrs.clone(), config)?;
    let db = cluster.open(DATABASE);
    setup::create_schema(&db).await?;
    let config = RunConfig {
        workload,
        workers: args.workers(),
        duration: args.duration(),
        key_size: usize::try_from(args.key_size).unwrap_or(usize::MAX),
        value_size: usize::try_from(args.value_size).unwrap_or(usize::MAX),
        progress: true,
    };
    tracing::info!(?config, addrs = ?target.addrs, "starting the workload");
    // A fixed line that experiment scripts wait for before they inject a fault.
    eprintln!(
        "workload started: {}, {} workers, {} s",
        config.workload.name(),
        config.workers,
        args.duration
    );
    let outcome = runner::run(db.clone(), &config, shutdown.wait()).await;
    db.close();
    let results_dir = target.results_dir(&args.dir);
    let settings = settings(args, &config, mode, target, &results_dir);
    let mut summary = Summary::build(settings, server, &outcome);
    summary.versions.server = target.server_version.clone();
    let written = report::write(&results_dir, &outcome, &summary)?;
    report::print(&summary, &written);
    Ok(written)
}

fn settings(
    args: &Args,
    config: &RunConfig,
    mode: &Mode,
    target: &Target,
    results_dir: &std::path::Path,
) -> Settings {
    Settings {
        mode: mode.name(),
        workload: config.workload.name(),
        workers: config.workers,
        duration_s: args.duration,
        key_size: config.key_size,
        value_size: config.value_size,
        cluster_timeout_s: args.cluster_timeout,
        retry_busy: args.retry_busy,
        pool_size: POOL_SIZE,
        cluster: target.addrs.clone(),
        results_dir: PathBuf::from(results_dir).display().to_string(),
    }
}
