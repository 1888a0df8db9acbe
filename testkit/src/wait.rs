//! Bounded waits on a [`ReferenceCluster`]: a node's port, the whole cluster being ready,
//! a leader, a (re)joined node. Each polls a status every ~100 ms until a deadline and
//! fails with what it last saw; none relies on a fixed sleep.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::cluster::NodeState;
use crate::shell::Member;
use crate::{ReferenceCluster, TestkitError};

/// Pause between two polls.
const POLL: Duration = Duration::from_millis(100);
/// Longest a single shell query may take inside a wait loop. The shell blocks while no
/// leader is reachable, so a query is cut short and retried rather than left hanging.
const QUERY: Duration = Duration::from_secs(3);
/// Shortest deadline given to a shell query, even at the very end of a wait.
const MIN_QUERY: Duration = Duration::from_millis(200);

/// The deadline for one shell query made before `deadline`.
fn query_timeout(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .clamp(MIN_QUERY, QUERY)
}

impl ReferenceCluster {
    /// An error if node `i` is not running: it exited by itself, or was killed.
    fn check_running(&self, i: usize) -> Result<(), TestkitError> {
        let node = &self.nodes[i];
        let status = match self.state(i) {
            NodeState::Running => return Ok(()),
            NodeState::Exited(status) => status,
            NodeState::Stopped => "killed by the testkit".to_owned(),
        };
        Err(TestkitError::NodeExited {
            node: node.number,
            addr: node.db.clone(),
            status,
            log_tail: self.log_tail(i),
        })
    }

    /// Waits until node `i`'s database port accepts TCP connections, failing early if the
    /// process exits (for example because the port was taken).
    pub(crate) fn wait_listening(&self, i: usize, deadline: Instant) -> Result<(), TestkitError> {
        let node = &self.nodes[i];
        let addr: SocketAddr = node.db.parse().map_err(|e| {
            TestkitError::InvalidArgument(format!("bad db address {:?}: {e}", node.db))
        })?;
        loop {
            self.check_running(i)?;
            let last = match TcpStream::connect_timeout(&addr, POLL) {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout(format!(
                    "node {} never accepted connections on {} (last error: {last}); log tail:\n{}",
                    node.number,
                    node.db,
                    self.log_tail(i)
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `.cluster`, asked through the running nodes, lists node `i` (in any
    /// role), failing early if a node exits.
    pub(crate) fn wait_listed(&self, i: usize, deadline: Instant) -> Result<(), TestkitError> {
        let node = &self.nodes[i];
        loop {
            for j in 0..=i {
                self.check_running(j)?;
            }
            let seen = match self
                .shell
                .cluster(&self.running_addrs(), query_timeout(deadline))
            {
                Ok(Some(m)) if m.iter().any(|m| m.address == node.db) => return Ok(()),
                Ok(Some(members)) => format!(".cluster: {}", describe(&members)),
                Ok(None) => ".cluster: no answer (no leader yet?)".to_owned(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout(format!(
                    "node {} ({}) never joined; last seen: {seen}\n{}",
                    node.number,
                    node.db,
                    self.log_tails()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until every node runs, `.cluster` lists exactly the cluster's nodes with at
    /// least `min(n, 3)` voters, and `.leader` names a running node.
    pub(crate) fn wait_ready(&self, deadline: Instant) -> Result<(), TestkitError> {
        let n = self.nodes.len();
        let want_voters = n.min(3);
        let mut want: Vec<String> = self.addrs();
        want.sort();
        loop {
            for i in 0..n {
                self.check_running(i)?;
            }
            let servers = self.running_addrs();
            let seen = match self.shell.cluster(&servers, query_timeout(deadline)) {
                Ok(Some(members)) => {
                    let mut listed: Vec<String> =
                        members.iter().map(|m| m.address.clone()).collect();
                    listed.sort();
                    let voters = members.iter().filter(|m| m.is_voter()).count();
                    let mut seen = format!(".cluster: {}", describe(&members));
                    if listed == want && voters >= want_voters {
                        match self.shell.leader(&servers, query_timeout(deadline)) {
                            Ok(Some(l)) if servers.contains(&l) => return Ok(()),
                            Ok(other) => seen.push_str(&format!("; .leader: {other:?}")),
                            Err(e) => seen.push_str(&format!("; .leader: {e}")),
                        }
                    }
                    seen
                }
                Ok(None) => ".cluster: no answer (no leader yet?)".to_owned(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout(format!(
                    "cluster of {n} not ready (want all {n} listed, {want_voters} voters and a \
                     leader); last seen: {seen}\n{}",
                    self.log_tails()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `.leader`, asked through the running nodes, names a running node, and
    /// returns its database address. Useful after killing the leader: dqlite 1.11 with
    /// go-dqlite's defaults typically takes a few seconds to elect a new one. The error
    /// says what was last seen and quotes every node's log.
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<String, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let servers = self.running_addrs();
            let seen = match self.shell.leader(&servers, query_timeout(deadline)) {
                Ok(Some(l)) if servers.contains(&l) => return Ok(l),
                Ok(Some(l)) => format!("{l}, which is not a running node"),
                Ok(None) => "no leader".to_owned(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout(format!(
                    "no leader among running nodes {servers:?} after {timeout:?}; last seen: \
                     {seen}\n{}",
                    self.log_tails()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until node `i` runs and answers `.cluster` by itself, which it does only once
    /// it knows the leader (so, after [`restart`](Self::restart), once it has rejoined).
    /// Returns the membership it reported. Panics if `i` is out of range.
    pub fn wait_for_node(&self, i: usize, timeout: Duration) -> Result<Vec<Member>, TestkitError> {
        self.check_index(i);
        let node = &self.nodes[i];
        let deadline = Instant::now() + timeout;
        let servers = [node.db.clone()];
        loop {
            self.check_running(i)?;
            let seen = match self.shell.cluster(&servers, query_timeout(deadline)) {
                Ok(Some(members)) => return Ok(members),
                Ok(None) => "no answer (no leader known to it?)".to_owned(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout(format!(
                    "node {} ({}) did not answer `.cluster` within {timeout:?}; last seen: \
                     {seen}\n{}",
                    node.number,
                    node.db,
                    self.log_tails()
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

/// `.cluster` members as `address=role` pairs, for messages.
fn describe(members: &[Member]) -> String {
    let parts: Vec<String> = members
        .iter()
        .map(|m| format!("{}={}", m.address, m.role))
        .collect();
    format!("[{}]", parts.join(", "))
}
