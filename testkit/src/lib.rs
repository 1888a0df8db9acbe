//! Dev-only helpers for interop tests: a real C dqlite cluster, started from Debian's
//! `go-dqlite` package (`dqlite-demo` nodes and the `dqlite` shell, on libdqlite 1.11) on
//! free loopback addresses, and stopped by PID when dropped.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! let Some(mut cluster) = dqlite_testkit::reference_cluster_or_skip(3) else {
//!     return; // go-dqlite is not installed and this is not CI
//! };
//! let leader = cluster.leader().expect("ask").expect("a leader");
//! let i = cluster.addrs().iter().position(|a| *a == leader).expect("a member");
//! cluster.kill(i);
//! let new_leader = cluster.wait_for_leader(Duration::from_secs(30)).expect("re-election");
//! cluster.restart(i).expect("restart");
//! cluster.wait_for_node(i, Duration::from_secs(30)).expect("rejoined");
//! # let _ = new_leader;
//! ```
//!
//! Under `CI=true` a missing reference is a test failure, never a silent skip.
//!
//! Layout on disk: [`ReferenceCluster::dir`] holds `nodeN/` per node, with
//! `nodeN/dqlite-demo.log` (stdout and stderr of every run) and `nodeN/<db address>/`
//! (raft data written by dqlite-demo).

mod availability;
mod cluster;
mod error;
mod node;
mod ports;
mod process;
mod shell;
mod tempdir;
mod wait;

pub use availability::{reference_binaries, reference_cluster_or_skip, INSTALL_HINT};
pub use cluster::ReferenceCluster;
pub use error::TestkitError;
pub use ports::{free_port, free_ports, loopback_ip};
pub use shell::Member;
pub use tempdir::TempDir;
