//! [`ReferenceCluster`]: `n` `dqlite-demo` nodes on one loopback IP, node 1 bootstrapping
//! and the others joining it, observed through the `dqlite` shell and stopped by PID.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::node::NodeSpec;
use crate::process::{stop, tail};
use crate::shell::{Member, Shell};
use crate::{free_ports, loopback_ip, reference_binaries, TempDir, TestkitError};

/// How long [`ReferenceCluster::start`] may take in total (all attempts).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many times start-up is tried with fresh addresses when a port was taken.
const START_ATTEMPTS: usize = 5;
/// How long [`ReferenceCluster::restart`] waits for the node's port to accept connections.
const RESTART_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline of one `.leader` query in [`ReferenceCluster::leader`].
const LEADER_QUERY: Duration = Duration::from_secs(5);
/// Deadline of one `.cluster` query in [`ReferenceCluster::members`].
const MEMBERS_QUERY: Duration = Duration::from_secs(10);
/// Lines of each node's log quoted in error messages.
const LOG_TAIL_LINES: usize = 20;

/// How a node's process is doing.
pub(crate) enum NodeState {
    /// The process runs.
    Running,
    /// The process exited by itself; the text describes the exit status.
    Exited(String),
    /// The testkit killed it (or never started it).
    Stopped,
}

/// A running C dqlite cluster of `dqlite-demo` nodes (Debian's `go-dqlite` package).
///
/// Every node listens on the same per-cluster loopback IP, on ports that were free at
/// start-up. Dropping the cluster kills every node it started (SIGKILL, by PID), reaps
/// them, and removes the temporary directory holding their data and logs.
///
/// Node indices in the API are 0-based (`addr(0)` is node 1, in `dir()/node1/`). The
/// cluster is `Send + Sync`; the methods taking `&self` may be called from several threads.
#[derive(Debug)]
pub struct ReferenceCluster {
    pub(crate) demo: PathBuf,
    pub(crate) shell: Shell,
    pub(crate) nodes: Vec<NodeSpec>,
    /// One slot per node; `None` once killed. An exited child stays until reaped by a kill.
    pub(crate) procs: Mutex<Vec<Option<Child>>>,
    dir: TempDir,
}

impl ReferenceCluster {
    /// Starts `n ≥ 1` nodes and waits until `.cluster` lists all of them, `min(n, 3)` of
    /// them as voters, and a leader is known (60 s at most in total). Node 1 bootstraps;
    /// the others join it one at a time and go-dqlite promotes them (beyond three voters it
    /// makes stand-bys, then spares). A 3-node cluster is typically ready in about 2 s.
    ///
    /// If a node exits because one of its ports was taken meanwhile, everything is stopped
    /// and start-up is tried again on fresh addresses (a few times). On any other failure
    /// everything started is stopped and the error says what was last seen, with the tail
    /// of each node's log.
    pub fn start(n: usize) -> Result<ReferenceCluster, TestkitError> {
        Self::start_with_timeout(n, START_TIMEOUT)
    }

    /// [`start`](Self::start) with another bound than 60 s on the whole start-up.
    pub fn start_with_timeout(
        n: usize,
        timeout: Duration,
    ) -> Result<ReferenceCluster, TestkitError> {
        if n == 0 {
            return Err(TestkitError::InvalidArgument(
                "a reference cluster needs at least one node".into(),
            ));
        }
        let (demo, shell) = reference_binaries().map_err(TestkitError::Missing)?;
        let deadline = Instant::now() + timeout;
        let mut attempt = 1;
        loop {
            match Self::try_start(&demo, &shell, n, deadline) {
                Err(e) if e.is_address_conflict() && attempt < START_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// One start-up attempt on a fresh IP, fresh ports and a fresh directory. On error the
    /// half-built cluster is dropped, which stops its nodes and removes its directory.
    fn try_start(
        demo: &Path,
        shell: &Path,
        n: usize,
        deadline: Instant,
    ) -> Result<ReferenceCluster, TestkitError> {
        let dir = TempDir::new("dqlite-testkit")
            .map_err(|e| TestkitError::io("create the cluster's temp dir", e))?;
        let ip: Ipv4Addr = loopback_ip();
        let ports = free_ports(ip, 2 * n)
            .map_err(|e| TestkitError::io(format!("find {} free ports on {ip}", 2 * n), e))?;
        let first_db = format!("{ip}:{}", ports[1]);
        let nodes = (0..n)
            .map(|i| NodeSpec {
                number: i + 1,
                api: format!("{ip}:{}", ports[2 * i]),
                db: format!("{ip}:{}", ports[2 * i + 1]),
                dir: dir.path().join(format!("node{}", i + 1)),
                join: if i == 0 {
                    vec![]
                } else {
                    vec![first_db.clone()]
                },
            })
            .collect();
        let cluster = ReferenceCluster {
            demo: demo.to_path_buf(),
            shell: Shell::new(shell),
            nodes,
            procs: Mutex::new((0..n).map(|_| None).collect()),
            dir,
        };
        // Node 1 must listen before the others try to join it, and joining one node at a
        // time avoids "a configuration change is already in progress" and go-dqlite's ~1 s
        // retry of the join (measured: ~2 s instead of ~3 s for three voters).
        cluster.spawn(0)?;
        cluster.wait_listening(0, deadline)?;
        for i in 1..n {
            cluster.spawn(i)?;
            cluster.wait_listed(i, deadline)?;
        }
        cluster.wait_ready(deadline)?;
        Ok(cluster)
    }

    /// Starts node `i`'s process into its (empty) slot.
    pub(crate) fn spawn(&self, i: usize) -> Result<(), TestkitError> {
        let child = self.nodes[i].spawn(&self.demo)?;
        self.procs()[i] = Some(child);
        Ok(())
    }

    /// The process slots, even if a panicking thread poisoned the lock.
    pub(crate) fn procs(&self) -> MutexGuard<'_, Vec<Option<Child>>> {
        self.procs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn check_index(&self, i: usize) {
        assert!(
            i < self.nodes.len(),
            "node index {i} out of range: the cluster has {} nodes (indices are 0-based)",
            self.nodes.len()
        );
    }

    /// Whether node `i`'s process runs, exited by itself, or was stopped.
    pub(crate) fn state(&self, i: usize) -> NodeState {
        match self.procs()[i].as_mut().map(Child::try_wait) {
            None => NodeState::Stopped,
            Some(Ok(None)) => NodeState::Running,
            Some(Ok(Some(status))) => NodeState::Exited(status.to_string()),
            Some(Err(e)) => NodeState::Exited(format!("cannot get its status: {e}")),
        }
    }

    /// Database addresses of the nodes whose process runs, in node order.
    pub(crate) fn running_addrs(&self) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|&i| matches!(self.state(i), NodeState::Running))
            .map(|i| self.nodes[i].db.clone())
            .collect()
    }

    /// The last lines of node `i`'s log.
    pub(crate) fn log_tail(&self, i: usize) -> String {
        tail(&self.nodes[i].log_path(), LOG_TAIL_LINES)
    }

    /// The last lines of every node's log, each under a header naming the node.
    pub(crate) fn log_tails(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                format!(
                    "--- node {} (db {}) {}:\n{}",
                    node.number,
                    node.db,
                    node.log_path().display(),
                    self.log_tail(i)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The nodes' database addresses (`IP:PORT`, the dqlite wire protocol), in node order.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.db.clone()).collect()
    }

    /// Database address of node `i` (0-based). Panics if `i` is out of range.
    pub fn addr(&self, i: usize) -> &str {
        self.check_index(i);
        &self.nodes[i].db
    }

    /// Address of node `i`'s dqlite-demo HTTP API (`GET`/`PUT /<key>`). Panics if `i` is
    /// out of range.
    pub fn api_addr(&self, i: usize) -> &str {
        self.check_index(i);
        &self.nodes[i].api
    }

    /// The temporary directory holding every node's `nodeN/` directory (data and log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Node `i`'s log file (stdout and stderr of every run of its process). Panics if `i`
    /// is out of range.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.check_index(i);
        self.nodes[i].log_path()
    }

    /// The membership as the shell's `.cluster` prints it, asked through the running nodes
    /// (10 s at most; an error if no leader answered in that time).
    pub fn members(&self) -> Result<Vec<Member>, TestkitError> {
        let servers = self.running_addrs();
        self.shell.cluster(&servers, MEMBERS_QUERY)?.ok_or_else(|| {
            TestkitError::Timeout(format!(
                "`.cluster` got no answer within {MEMBERS_QUERY:?} from {servers:?} (no leader?)"
            ))
        })
    }

    /// The leader's database address as the shell's `.leader` reports it, asked through
    /// the running nodes. `Ok(None)` if no leader was found within 5 s (for example while an
    /// election is under way). A leader that has just lost its quorum is still reported
    /// until it steps down (raft's election timeout).
    pub fn leader(&self) -> Result<Option<String>, TestkitError> {
        self.shell.leader(&self.running_addrs(), LEADER_QUERY)
    }

    /// Kills node `i` with SIGKILL, by its PID ([`Child::kill`]), and reaps it. Does nothing
    /// if it is not running. Panics if `i` is out of range.
    pub fn kill(&mut self, i: usize) {
        self.check_index(i);
        let procs = self.procs.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = procs[i].take() {
            stop(&mut child);
        }
    }

    /// Starts node `i` again with the same addresses, flags and data directory (killing it
    /// first if it still runs), and waits until its database port accepts connections
    /// (30 s at most). It rejoins the cluster on its own; use
    /// [`wait_for_node`](Self::wait_for_node) to wait until it has. Panics if `i` is out of
    /// range.
    pub fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        self.kill(i);
        self.spawn(i)?;
        self.wait_listening(i, Instant::now() + RESTART_TIMEOUT)
    }

    /// True while node `i`'s process runs. Panics if `i` is out of range.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.check_index(i);
        matches!(self.state(i), NodeState::Running)
    }

    /// PIDs of the nodes whose process runs, in node order.
    pub fn pids(&self) -> Vec<u32> {
        self.procs()
            .iter_mut()
            .flatten()
            .filter_map(|c| matches!(c.try_wait(), Ok(None)).then(|| c.id()))
            .collect()
    }
}

impl Drop for ReferenceCluster {
    /// Kills every node by PID, reaps it; the temporary directory is removed afterwards.
    fn drop(&mut self) {
        let procs = self.procs.get_mut().unwrap_or_else(PoisonError::into_inner);
        for mut child in procs.iter_mut().filter_map(Option::take) {
            stop(&mut child);
        }
    }
}
