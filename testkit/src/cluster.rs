//! [`ReferenceCluster`]: N `dqlite-demo` nodes on one loopback IP, node 1 bootstrapping and
//! the others joining it, checked through the `dqlite` shell.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{run_with_timeout, stop};
use crate::{free_port, loopback_ip, reference_binaries, TempDir, TestkitError};

/// How long a cluster may take to show all its voters and a leader.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Deadline for one shell command.
const SHELL_TIMEOUT: Duration = Duration::from_secs(5);
/// Database name the shell uses for admin commands (any name works).
const SHELL_DB: &str = "testkit";

#[derive(Debug)]
struct Node {
    api: String,
    db: String,
    child: Option<Child>,
}

/// A running C dqlite cluster. Dropping it kills every node by PID and removes its data.
#[derive(Debug)]
pub struct ReferenceCluster {
    demo: PathBuf,
    shell: PathBuf,
    nodes: Vec<Node>,
    dir: TempDir,
}

impl ReferenceCluster {
    /// Starts `n` nodes and waits until every node is listed by `.cluster` (as a voter, for
    /// the first three) and a leader is known. Retries with new ports if one was taken.
    pub fn start(n: usize) -> Result<ReferenceCluster, TestkitError> {
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(n) {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| TestkitError::Timeout("no attempt made".into())))
    }

    fn try_start(n: usize) -> Result<ReferenceCluster, TestkitError> {
        let (demo, shell) = reference_binaries()?;
        let dir = TempDir::new("dqlite-ref").map_err(|e| TestkitError::Io("temp dir".into(), e))?;
        let ip = loopback_ip();
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            let port = |what| {
                free_port(ip).map_err(|e| TestkitError::Io(format!("{what} port on {ip}"), e))
            };
            nodes.push(Node {
                api: format!("{ip}:{}", port("api")?),
                db: format!("{ip}:{}", port("db")?),
                child: None,
            });
        }
        let mut cluster = ReferenceCluster {
            demo,
            shell,
            nodes,
            dir,
        };
        for i in 0..n {
            cluster.spawn(i)?;
        }
        cluster.wait_ready(n, START_TIMEOUT)?;
        Ok(cluster)
    }

    fn spawn(&mut self, i: usize) -> Result<(), TestkitError> {
        let data = self.dir.path().join(format!("node{}", i + 1));
        std::fs::create_dir_all(&data).map_err(|e| TestkitError::Io(format!("{data:?}"), e))?;
        let log_path = self.log_path(i);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| TestkitError::Io(format!("{log_path:?}"), e))?;
        let err = log
            .try_clone()
            .map_err(|e| TestkitError::Io("log".into(), e))?;
        let mut cmd = Command::new(&self.demo);
        cmd.args(["--api", &self.nodes[i].api, "--db", &self.nodes[i].db, "-D"])
            .arg(&data)
            .arg("-v");
        if i > 0 {
            cmd.args(["--join", &self.nodes[0].db]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| TestkitError::Io(format!("start {:?}", self.demo), e))?;
        self.nodes[i].child = Some(child);
        Ok(())
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{}.log", i + 1))
    }

    /// Runs a shell command against the given nodes; returns its output.
    fn shell(&self, servers: &[String], command: &str) -> Result<String, TestkitError> {
        let mut cmd = Command::new(&self.shell);
        cmd.args(["-s", &servers.join(","), SHELL_DB, command]);
        match run_with_timeout(cmd, SHELL_TIMEOUT)? {
            (true, out) => Ok(out),
            (false, out) => Err(TestkitError::Shell(format!("{command}: {}", out.trim()))),
        }
    }

    fn running_addrs(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.nodes.len() {
            if self.is_running(i) {
                out.push(self.nodes[i].db.clone());
            }
        }
        out
    }

    /// `.cluster` as (address, role) pairs, asked through the running nodes.
    pub fn members(&mut self) -> Result<Vec<(String, String)>, TestkitError> {
        let servers = self.running_addrs();
        let out = self.shell(&servers, ".cluster")?;
        let mut members = Vec::new();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            let parts: Vec<&str> = line.trim().split('|').collect();
            match parts.as_slice() {
                [_id, addr, role] => members.push(((*addr).to_owned(), (*role).to_owned())),
                _ => {
                    return Err(TestkitError::Shell(format!(
                        "unexpected .cluster line {line:?}"
                    )))
                }
            }
        }
        Ok(members)
    }

    fn wait_ready(&mut self, n: usize, timeout: Duration) -> Result<(), TestkitError> {
        let deadline = Instant::now() + timeout;
        let want_voters = n.min(3);
        let mut seen = String::from("nothing yet");
        while Instant::now() < deadline {
            for i in 0..self.nodes.len() {
                if !self.is_running(i) {
                    return Err(TestkitError::Shell(format!(
                        "node {} exited during start-up\n{}",
                        i + 1,
                        self.log_tails()
                    )));
                }
            }
            match self.members() {
                Ok(m) => {
                    let voters = m.iter().filter(|(_, r)| r == "voter").count();
                    if m.len() == n && voters >= want_voters && matches!(self.leader(), Ok(Some(_)))
                    {
                        return Ok(());
                    }
                    seen = format!("{m:?}");
                }
                Err(e) => seen = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(TestkitError::Timeout(format!(
            "cluster of {n} not ready after {timeout:?}; last .cluster: {seen}\n{}",
            self.log_tails()
        )))
    }

    fn log_tails(&self) -> String {
        (0..self.nodes.len())
            .map(|i| {
                let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(10).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!(
                    "--- node {} ({}) log tail:\n{}",
                    i + 1,
                    self.nodes[i].db,
                    tail.join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The nodes' database addresses, in node order.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.db.clone()).collect()
    }

    /// Database address of node `i`.
    pub fn addr(&self, i: usize) -> &str {
        &self.nodes[i].db
    }

    /// The directory holding every node's data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The leader's address as the shell reports it (`.leader`), if one is known.
    pub fn leader(&mut self) -> Result<Option<String>, TestkitError> {
        let servers = self.running_addrs();
        let out = self.shell(&servers, ".leader")?;
        let addr = out.trim();
        Ok((!addr.is_empty()).then(|| addr.to_owned()))
    }

    /// Waits until a running node is reported as leader.
    pub fn wait_for_leader(&mut self, timeout: Duration) -> Result<String, TestkitError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            let running = self.running_addrs();
            match self.leader() {
                Ok(Some(l)) if running.contains(&l) => return Ok(l),
                Ok(other) => last = format!("{other:?}"),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(TestkitError::Timeout(format!(
            "no leader after {timeout:?}: {last}"
        )))
    }

    /// Kills node `i` with SIGKILL (by its PID) and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            stop(&mut child);
        }
    }

    /// Starts node `i` again with its addresses and data directory.
    pub fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        self.kill(i);
        self.spawn(i)
    }

    /// True while node `i`'s process runs.
    pub fn is_running(&mut self, i: usize) -> bool {
        match self.nodes[i].child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                if let Some(mut c) = self.nodes[i].child.take() {
                    stop(&mut c);
                }
                false
            }
            None => false,
        }
    }

    /// PIDs of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter_map(|n| n.child.as_ref().map(Child::id))
            .collect()
    }

    /// The loopback IP the nodes listen on.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        self.nodes.first()?.db.split(':').next()?.parse().ok()
    }
}

impl Drop for ReferenceCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
