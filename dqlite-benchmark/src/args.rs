//! Command-line flags: go-dqlite's `dqlite-benchmark` flags with the same names, meanings and
//! defaults (docs/go-dqlite.md §3.1), plus `--retry-busy`. The default `--dir` is
//! `output` instead of go-dqlite's `/tmp/dqlite-benchmark`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::workload::Workload;

/// Connections the workload's pool may open, as go-dqlite's `SetMaxOpenConns(500)`.
pub const POOL_SIZE: usize = 500;

/// Benchmark a dqlite cluster with go-dqlite's workloads and result files.
///
/// Modes: with no cluster flags, a local 3-node cluster is started (embedded mode); with
/// `--cluster` and no `--db`, an already running cluster is benchmarked (client-only mode,
/// results under `<dir>/<first --cluster address>/results`); with `--db`, this process is a
/// cluster node and the `--driver` node runs the workload (node mode).
#[derive(Debug, Clone, Parser)]
#[command(name = "dqlite-benchmark", version, about, long_about = None)]
pub struct Args {
    /// Address of this node (node mode); its data and results live under `<dir>/<db>`.
    #[arg(short = 'd', long = "db", value_name = "ADDRESS")]
    pub db: Option<String>,

    /// Addresses of existing nodes to join (node mode; comma-separated or repeated).
    #[arg(
        short = 'j',
        long = "join",
        value_name = "ADDRESSES",
        value_delimiter = ','
    )]
    pub join: Vec<String>,

    /// Addresses of every node of the cluster (comma-separated or repeated). The workload
    /// starts once all of them are online. Without `--db`: the cluster to benchmark.
    #[arg(
        short = 'c',
        long = "cluster",
        value_name = "ADDRESSES",
        value_delimiter = ','
    )]
    pub cluster: Vec<String>,

    /// Run the workload from this node (node mode; exactly one node is the driver).
    #[arg(long)]
    pub driver: bool,

    /// Root directory for node data and results.
    #[arg(
        short = 'D',
        long = "dir",
        value_name = "DIR",
        default_value = "output"
    )]
    pub dir: PathBuf,

    /// Workload: kvwrite, kvreadwrite or readheavy (case-insensitive; anything else falls
    /// back to kvwrite with a warning, as go-dqlite does silently).
    #[arg(
        short = 'w',
        long = "workload",
        value_name = "NAME",
        default_value = "kvwrite"
    )]
    pub workload: String,

    /// Run time in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,

    /// Number of concurrent workers.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub workers: u64,

    /// Key length in bytes (random letters).
    #[arg(long = "key-size", value_name = "BYTES", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub key_size: u64,

    /// Value length in bytes: half one repeated letter, half random letters (an odd size
    /// gives one byte less, as in go-dqlite).
    #[arg(long = "value-size", value_name = "BYTES", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(0..=64 << 20))]
    pub value_size: u64,

    /// Seconds to wait for the cluster (every `--cluster` node online) before starting.
    #[arg(long = "cluster-timeout", value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub cluster_timeout: u64,

    /// Retry "database is locked" (SQLITE_BUSY) inside the client instead of recording it as
    /// an error. Off by default, like go-dqlite.
    #[arg(long = "retry-busy")]
    pub retry_busy: bool,
}

impl Args {
    /// The workload, and a warning when the name was not recognised (go-dqlite falls back
    /// to kvwrite for any unknown name).
    pub fn workload(&self) -> (Workload, Option<String>) {
        match Workload::parse(&self.workload) {
            Some(w) => (w, None),
            None => (
                Workload::KvWrite,
                Some(format!(
                    "unknown workload {:?}; using kvwrite (known: kvwrite, kvreadwrite, readheavy)",
                    self.workload
                )),
            ),
        }
    }

    /// `--duration` as a [`Duration`].
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration)
    }

    /// `--cluster-timeout` as a [`Duration`].
    pub fn cluster_timeout(&self) -> Duration {
        Duration::from_secs(self.cluster_timeout)
    }

    /// `--workers` as a count.
    pub fn workers(&self) -> usize {
        usize::try_from(self.workers).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("dqlite-benchmark").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_go_dqlite() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.duration, 60);
        assert_eq!(a.workers, 1);
        assert_eq!(a.key_size, 32);
        assert_eq!(a.value_size, 1024);
        assert_eq!(a.cluster_timeout, 120);
        assert_eq!(a.dir, PathBuf::from("output"));
        assert_eq!(a.workload().0, Workload::KvWrite);
        assert!(!a.retry_busy && !a.driver && a.db.is_none() && a.cluster.is_empty());
    }

    #[test]
    fn short_flags_and_lists() {
        let a = parse(&[
            "-d",
            "127.0.0.1:9001",
            "-j",
            "127.0.0.1:9002",
            "-c",
            "a:1,b:2",
            "-c",
            "c:3",
            "-D",
            "/tmp/x",
            "-w",
            "KvReadWrite",
            "--driver",
        ])
        .unwrap();
        assert_eq!(a.db.as_deref(), Some("127.0.0.1:9001"));
        assert_eq!(a.join, ["127.0.0.1:9002"]);
        assert_eq!(a.cluster, ["a:1", "b:2", "c:3"]);
        assert_eq!(a.dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.workload(), (Workload::KvReadWrite, None));
        assert!(a.driver);
    }

    #[test]
    fn unknown_workload_falls_back_with_warning() {
        let (w, warning) = parse(&["-w", "bogus"]).unwrap().workload();
        assert_eq!(w, Workload::KvWrite);
        assert!(warning.unwrap().contains("\"bogus\""));
    }

    #[test]
    fn zero_values_are_rejected() {
        for flag in ["--workers", "--duration", "--key-size", "--cluster-timeout"] {
            let err = parse(&[flag, "0"]).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{flag}"
            );
            assert!(err.to_string().contains(flag), "{flag}: {err}");
        }
        assert!(parse(&["--workers", "-3"]).is_err());
        assert!(parse(&["--duration", "ten"]).is_err());
        assert!(parse(&["--value-size", "0"]).is_ok());
    }
}
