//! Dev-only helpers for interop tests: a real C dqlite cluster, started from Debian's
//! `go-dqlite` package (`dqlite-demo` nodes and the `dqlite` shell, libdqlite 1.11.1) on
//! free loopback addresses, and stopped by PID when dropped.
//!
//! ```no_run
//! let Some(mut cluster) = dqlite_testkit::reference_cluster_or_skip(3) else {
//!     return; // go-dqlite is not installed and this is not CI
//! };
//! println!("nodes: {:?}, leader: {:?}", cluster.addrs(), cluster.leader());
//! ```
//!
//! Under `CI=true` a missing reference is a test failure, never a silent skip.

mod availability;
mod cluster;
mod ports;
mod process;
mod tempdir;

pub use availability::{reference_binaries, reference_cluster_or_skip};
pub use cluster::ReferenceCluster;
pub use ports::{free_port, loopback_ip};
pub use tempdir::TempDir;

/// What went wrong while running the reference cluster.
#[derive(Debug)]
pub enum TestkitError {
    /// A binary of the reference is not installed.
    Missing(String),
    /// Starting a process or creating a directory failed.
    Io(String, std::io::Error),
    /// The cluster did not reach the expected state in time.
    Timeout(String),
    /// The shell printed something unexpected.
    Shell(String),
}

impl std::fmt::Display for TestkitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestkitError::Missing(what) => write!(f, "missing reference binary: {what}"),
            TestkitError::Io(what, e) => write!(f, "{what}: {e}"),
            TestkitError::Timeout(what) => write!(f, "timed out: {what}"),
            TestkitError::Shell(what) => write!(f, "dqlite shell: {what}"),
        }
    }
}

impl std::error::Error for TestkitError {}
