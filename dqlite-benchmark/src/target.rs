//! Which mode the flags select, and what to benchmark: the cluster addresses and the address
//! whose directory receives the results (`<dir>/<addr>/results`, as go-dqlite's
//! `<dir>/<db>/results`).
//!
//! * **Embedded** (no `--db`, no `--cluster`): a local 3-node cluster is started.
//! * **Node** (`--db`): this process is a cluster node; the `--driver` node runs the workload.
//! * **Client-only** (`--cluster` without `--db`): an already running cluster is benchmarked
//!   from this process; results go under the **first** `--cluster` address.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The mode selected by the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Start a local 3-node cluster and benchmark it.
    Embedded,
    /// Run a node at `db`; drive the workload when `driver` is set.
    Node {
        /// This node's address.
        db: String,
        /// Nodes to join.
        join: Vec<String>,
        /// Whether this node runs the workload.
        driver: bool,
        /// Every node that must be online before the workload starts (driver only).
        cluster: Vec<String>,
    },
    /// Benchmark a running cluster.
    ClientOnly {
        /// The cluster's addresses.
        cluster: Vec<String>,
    },
}

/// Flags that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    /// `--join` or `--driver` without `--db`.
    #[error("{0} needs --db (node mode); to benchmark a running cluster from this process, pass only --cluster")]
    NeedsDb(&'static str),
    /// A `--driver` node without `--cluster`.
    #[error("--driver needs --cluster with the addresses of every node")]
    DriverNeedsCluster,
    /// An address is not `host:port`.
    #[error("invalid address {0:?} in {1}: expected host:port")]
    BadAddress(String, &'static str),
    /// An address is listed twice.
    #[error("address {0:?} is listed twice in {1}")]
    Duplicate(String, &'static str),
}

/// Checks that `addr` is `host:port` with a numeric port.
pub fn check_address(addr: &str, flag: &'static str) -> Result<(), ModeError> {
    let bad = || ModeError::BadAddress(addr.to_owned(), flag);
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || host.contains(char::is_whitespace) || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

fn check_list(addrs: &[String], flag: &'static str) -> Result<(), ModeError> {
    let mut seen = HashSet::new();
    for a in addrs {
        check_address(a, flag)?;
        if !seen.insert(a.as_str()) {
            return Err(ModeError::Duplicate(a.clone(), flag));
        }
    }
    Ok(())
}

impl Mode {
    /// Chooses the mode from the flags and validates the addresses.
    pub fn from_args(args: &crate::args::Args) -> Result<Mode, ModeError> {
        check_list(&args.cluster, "--cluster")?;
        check_list(&args.join, "--join")?;
        let Some(db) = &args.db else {
            if !args.join.is_empty() {
                return Err(ModeError::NeedsDb("--join"));
            }
            if args.driver {
                return Err(ModeError::NeedsDb("--driver"));
            }
            return Ok(if args.cluster.is_empty() {
                Mode::Embedded
            } else {
                Mode::ClientOnly {
                    cluster: args.cluster.clone(),
                }
            });
        };
        check_address(db, "--db")?;
        if args.driver && args.cluster.is_empty() {
            return Err(ModeError::DriverNeedsCluster);
        }
        Ok(Mode::Node {
            db: db.clone(),
            join: args.join.clone(),
            driver: args.driver,
            cluster: args.cluster.clone(),
        })
    }

    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Node { .. } => "node",
            Mode::ClientOnly { .. } => "client-only",
        }
    }
}

/// What a driver benchmarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Addresses the client uses to find the leader; all must be online before the run.
    pub addrs: Vec<String>,
    /// The address naming the results directory.
    pub results_addr: String,
    /// The server version for `summary.json`, when the mode knows it (embedded, node).
    pub server_version: Option<String>,
}

impl Target {
    /// Client-only mode: the `--cluster` addresses; results under the first one.
    pub fn client_only(cluster: &[String]) -> Target {
        Target {
            addrs: cluster.to_vec(),
            results_addr: cluster.first().cloned().unwrap_or_default(),
            server_version: None,
        }
    }

    /// `<dir>/<addr>`: where `summary.json` goes.
    pub fn run_dir(&self, dir: &Path) -> PathBuf {
        dir.join(&self.results_addr)
    }

    /// `<dir>/<addr>/results`: where the go-dqlite results files go.
    pub fn results_dir(&self, dir: &Path) -> PathBuf {
        self.run_dir(dir).join("results")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Args;
    use clap::Parser;

    fn mode(args: &[&str]) -> Result<Mode, ModeError> {
        let args = Args::try_parse_from(std::iter::once("b").chain(args.iter().copied())).unwrap();
        Mode::from_args(&args)
    }

    #[test]
    fn selects_modes() {
        assert_eq!(mode(&[]), Ok(Mode::Embedded));
        let cluster = vec!["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
        assert_eq!(
            mode(&["-c", "127.0.0.1:1,127.0.0.1:2"]),
            Ok(Mode::ClientOnly {
                cluster: cluster.clone()
            })
        );
        let node = mode(&[
            "-d",
            "127.0.0.1:1",
            "--driver",
            "-c",
            "127.0.0.1:1,127.0.0.1:2",
        ]);
        assert_eq!(node.unwrap().name(), "node");
        assert_eq!(mode(&["-d", "h:1", "-j", "h:2"]).unwrap().name(), "node");
    }

    #[test]
    fn rejects_inconsistent_flags() {
        assert_eq!(mode(&["-j", "h:1"]), Err(ModeError::NeedsDb("--join")));
        assert_eq!(
            mode(&["--driver", "-c", "h:1"]),
            Err(ModeError::NeedsDb("--driver"))
        );
        assert_eq!(
            mode(&["-d", "h:1", "--driver"]),
            Err(ModeError::DriverNeedsCluster)
        );
        assert!(matches!(
            mode(&["-c", "nohost"]),
            Err(ModeError::BadAddress(..))
        ));
        assert!(matches!(
            mode(&["-c", "h:1,,h:2"]),
            Err(ModeError::BadAddress(..))
        ));
        assert!(matches!(
            mode(&["-c", "h:99999"]),
            Err(ModeError::BadAddress(..))
        ));
        assert!(matches!(
            mode(&["-d", ":1"]),
            Err(ModeError::BadAddress(..))
        ));
        assert!(matches!(
            mode(&["-c", "h:1,h:1"]),
            Err(ModeError::Duplicate(..))
        ));
    }

    #[test]
    fn client_only_results_go_under_the_first_address() {
        let t = Target::client_only(&["127.0.0.1:9001".into(), "127.0.0.1:9002".into()]);
        assert_eq!(
            t.results_dir(Path::new("output")),
            PathBuf::from("output/127.0.0.1:9001/results")
        );
    }
}
