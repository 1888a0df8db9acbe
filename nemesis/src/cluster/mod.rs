//! Starting and faulting a real cluster: N processes of our `dqlite-server` or of C dqlite's
//! `dqlite-demo`, each in a network namespace of its own on a bridge (or, without root, all on
//! 127.0.0.1), with partitions (iptables inside the namespaces), kills, pauses, restarts,
//! wipes, membership churn and full disks (a tmpfs per node).
//!
//! Everything created on the system is named `dqn<4 hex>...` for the run, recorded in a
//! registry as it is created, and removed in reverse order by [`Cluster::shutdown`] or,
//! best effort, by `Drop` (also on panic and when [`Cluster::start`] fails half-way). The API
//! is blocking; each call takes at most a few seconds.

mod cmd;
mod disk;
mod firewall;
mod netns;
mod node;
mod ops;
pub(crate) mod registry;
mod start;

/// Whether this process can give each node a network namespace (root, `ip netns` and
/// iptables work); without it, partitions and tmpfs disks are unavailable.
pub fn namespaces_available() -> bool {
    netns::available()
}

use std::path::PathBuf;

use netns::Network;
use node::Node;
use registry::Registry;

/// Which server the cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Our `dqlite-server`.
    Ours,
    /// C dqlite through go-dqlite's `dqlite-demo`.
    C,
}

/// How the nodes are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// One network namespace per node on a bridge: partitions are possible.
    Namespaces,
    /// Every node on 127.0.0.1 with ports of its own: no partitions.
    Loopback,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Our server or C dqlite.
    pub target: Target,
    /// Number of nodes, 1..=7.
    pub nodes: usize,
    /// `dqlite-server` or `dqlite-demo`.
    pub server_bin: PathBuf,
    /// The run directory (exists): node i keeps its data in `node<i>/` and logs to `node<i>.log`.
    pub work_dir: PathBuf,
    /// `false` forces loopback isolation.
    pub allow_namespaces: bool,
    /// Some(n): each node's data directory is a tmpfs of n bytes (for the disk-full fault).
    pub disk_bytes: Option<u64>,
    /// Appended to every node's command line.
    pub extra_args: Vec<String>,
}

/// Anything that went wrong; command failures carry the command line and its stderr.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A system command exited with a failure.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr.
        stderr: String,
    },
    /// An I/O error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A node failed to start or exited.
    #[error("node {node}: {message}")]
    Node {
        /// The node's index.
        node: usize,
        /// What happened, with the end of its log.
        message: String,
    },
    /// The fault is not possible with this cluster.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A bad argument or state.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Some resources could not be removed.
    #[error("cleanup failed: {}", .0.join("; "))]
    Cleanup(Vec<String>),
}

/// A running cluster. Dropping it without [`Cluster::shutdown`] cleans up best effort.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    id: String,
    isolation: Isolation,
    network: Option<Network>,
    nodes: Vec<Node>,
    registry: Registry,
}

impl Cluster {
    /// The run's unique name prefix, e.g. `dqn1a2b`.
    pub fn prefix(&self) -> String {
        format!("dqn{}", self.id)
    }

    /// How the nodes are separated.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes (never true for a started cluster).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node i's dqlite wire address, reachable from the root namespace.
    pub fn address(&self, i: usize) -> &str {
        &self.nodes[i].address
    }

    /// Every node's address, in node order.
    pub fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.address.clone()).collect()
    }

    /// The node listening on `addr`.
    pub fn node_of_address(&self, addr: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.address == addr)
    }

    /// Node i's network namespace (namespaces isolation only).
    pub fn namespace(&self, i: usize) -> Option<&str> {
        self.nodes[i].netns.as_deref()
    }

    /// Whether node i's process is alive (reaps it if it exited).
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes[i].is_running()
    }

    /// Node i's PID while it has a process.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().map(|c| c.id())
    }

    /// Node i's data directory.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.nodes[i].dir.clone()
    }

    /// Node i's log file.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.nodes[i].log.clone()
    }
}
