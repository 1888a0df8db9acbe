//! `dqlite-server` binary: parses go-dqlite-style flags, starts a [`dqlite_server::Node`], and
//! shuts it down gracefully (handing leadership over first) on SIGINT or SIGTERM. When the
//! node meets a fault of its own (disk full, I/O error, a diverged replica, a fatal raft
//! error) it exits with status 1 after one log line saying why.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use dqlite_server::{Config, Node};
use tokio::net::TcpListener;

/// A dqlite-compatible replicated SQLite server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on and to advertise (clients and peers), e.g. 127.0.0.1:9001.
    #[arg(long)]
    db: String,
    /// Comma-separated addresses of existing nodes to join (omit to bootstrap a cluster).
    #[arg(long, value_delimiter = ',')]
    join: Vec<String>,
    /// Data directory.
    #[arg(long)]
    dir: PathBuf,
    /// Raft election timeout E in milliseconds: followers stand for election E to 4E/3 after
    /// the leader went silent; a leader that hears from no quorum for E stops serving.
    #[arg(long, default_value_t = dqlite_server::config::DEFAULT_ELECTION_TIMEOUT_MS)]
    election_timeout_ms: u64,
    /// Raft heartbeat interval in milliseconds (also the deadline of one AppendEntries).
    #[arg(long, default_value_t = dqlite_server::config::DEFAULT_HEARTBEAT_MS)]
    heartbeat_ms: u64,
    /// How long a writer waits for another connection's transaction, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    busy_timeout_ms: u64,
    /// Log entries between snapshots.
    #[arg(long, default_value_t = 8192)]
    snapshot_threshold: u64,
    /// Log entries kept behind a snapshot.
    #[arg(long, default_value_t = 8192)]
    snapshot_trailing: u64,
    /// Read threads.
    #[arg(long, default_value_t = 2)]
    readers: usize,
    /// How often the leader re-balances roles, in milliseconds (0 disables).
    #[arg(long, default_value_t = 30_000)]
    role_adjust_ms: u64,
    /// Largest write transaction in bytes of changes; a bigger one fails with SQLITE_TOOBIG
    /// (at most 128 MiB). One raft entry must replicate within a heartbeat: raise
    /// --heartbeat-ms and --election-timeout-ms with it.
    #[arg(long, default_value_t = dqlite_server::config::DEFAULT_MAX_TX_BYTES)]
    max_tx_bytes: u64,
    /// Most databases the cluster holds; an OPEN of a new name beyond it fails.
    #[arg(long, default_value_t = dqlite_server::config::DEFAULT_MAX_DATABASES)]
    max_databases: usize,
    /// Most client connections at once; more are refused (raft peers have headroom beyond it).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Time a new connection has to send its protocol version and first request, in ms.
    #[arg(long, default_value_t = 5000)]
    handshake_timeout_ms: u64,
    /// A client connection silent for this long is closed, in ms (0: never).
    #[arg(long, default_value_t = 300_000)]
    idle_timeout_ms: u64,
    /// Same inside an open transaction, which closing rolls back, in ms (0: never).
    #[arg(long, default_value_t = 30_000)]
    tx_idle_timeout_ms: u64,
    /// Most prepared statements per connection.
    #[arg(long, default_value_t = 1024)]
    max_statements: usize,
    /// Largest client request frame body, in bytes.
    #[arg(long, default_value_t = dqlite_proto::DEFAULT_MAX_BODY)]
    max_frame_bytes: usize,
    /// Most reads waiting for a read thread; more fail at once with SQLITE_BUSY.
    #[arg(long, default_value_t = 1024)]
    read_queue: usize,
    /// Longest a client statement may run before it fails with SQLITE_INTERRUPT, in ms
    /// (0: no limit).
    #[arg(long, default_value_t = 60_000)]
    statement_timeout_ms: u64,
    /// Bytes of raft log entries already on disk kept in memory for lagging followers.
    #[arg(long, default_value_t = dqlite_server::config::DEFAULT_LOG_CACHE_BYTES)]
    log_cache_bytes: usize,
    /// Confirm every read with a quorum round instead of the leader lease (which assumes
    /// that no node's clock runs more than 5 % faster than another's).
    #[arg(long)]
    linearizable_reads: bool,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Err(e) = run(args).await {
        tracing::error!(error = %e, "dqlite-server failed");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> dqlite_server::Result<()> {
    let mut config = Config::new(args.db.clone(), args.dir);
    config.join = args.join.into_iter().filter(|s| !s.is_empty()).collect();
    config.election_timeout = Duration::from_millis(args.election_timeout_ms);
    config.heartbeat_interval = Duration::from_millis(args.heartbeat_ms);
    config.busy_timeout = Duration::from_millis(args.busy_timeout_ms);
    config.snapshot_threshold = args.snapshot_threshold;
    config.snapshot_trailing = args.snapshot_trailing;
    config.readers = args.readers;
    config.max_tx_bytes = args.max_tx_bytes;
    config.max_databases = args.max_databases;
    config.max_connections = args.max_connections;
    config.handshake_timeout = Duration::from_millis(args.handshake_timeout_ms);
    config.idle_timeout = Duration::from_millis(args.idle_timeout_ms);
    config.tx_idle_timeout = Duration::from_millis(args.tx_idle_timeout_ms);
    config.max_statements = args.max_statements;
    config.max_frame_bytes = args.max_frame_bytes;
    config.read_queue = args.read_queue;
    config.statement_timeout = Duration::from_millis(args.statement_timeout_ms);
    config.log_cache_bytes = args.log_cache_bytes;
    config.linearizable_reads = args.linearizable_reads;
    config.role_adjust_interval =
        (args.role_adjust_ms > 0).then(|| Duration::from_millis(args.role_adjust_ms));
    let listener = TcpListener::bind(&args.db).await?;
    let node = Node::start(config, listener).await?;
    tokio::select! {
        _ = wait_for_signal() => {}
        why = node.failed() => {
            // Fail-stop: the reason was logged where it was raised.
            node.stop().await;
            return Err(dqlite_server::Error::Internal(format!("stopped: {why}")));
        }
    }
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
