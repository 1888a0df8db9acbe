//! One `dqlite-demo` node: its addresses, its directory, and how to start it.
//!
//! Node `N` (1-based) lives in `<cluster dir>/nodeN/`: `dqlite-demo -D nodeN` keeps its raft
//! data in `nodeN/<db address>/`, and the testkit appends the process's stdout and stderr
//! to `nodeN/dqlite-demo.log`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::TestkitError;

/// Name of each node's log file inside its directory.
pub(crate) const LOG_FILE: &str = "dqlite-demo.log";

/// The fixed facts about a node: what it is started with, every time.
#[derive(Debug, Clone)]
pub(crate) struct NodeSpec {
    /// 1-based node number.
    pub number: usize,
    /// `--api` address (dqlite-demo's HTTP key/value API).
    pub api: String,
    /// `--db` address (the dqlite wire protocol and raft).
    pub db: String,
    /// `-D` data directory (`nodeN/`).
    pub dir: PathBuf,
    /// `--join` addresses; empty for the bootstrapping node.
    pub join: Vec<String>,
}

impl NodeSpec {
    /// The node's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// Starts `dqlite-demo` for this node, creating its directory if needed and appending
    /// its output to the log (after a marker line, so restarts are easy to tell apart).
    pub fn spawn(&self, demo: &Path) -> Result<Child, TestkitError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| TestkitError::io(format!("create {}", self.dir.display()), e))?;
        let log_path = self.log_path();
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| TestkitError::io(format!("open {}", log_path.display()), e))?;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        writeln!(
            log,
            "=== testkit: starting node {} (db {}, api {}) at unix time {secs:.3} ===",
            self.number, self.db, self.api
        )
        .map_err(|e| TestkitError::io(format!("write {}", log_path.display()), e))?;
        let stderr = log
            .try_clone()
            .map_err(|e| TestkitError::io(format!("clone {}", log_path.display()), e))?;
        let mut cmd = Command::new(demo);
        cmd.args(["--api", &self.api, "--db", &self.db, "--verbose", "--dir"])
            .arg(&self.dir);
        if !self.join.is_empty() {
            cmd.args(["--join", &self.join.join(",")]);
        }
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|e| TestkitError::io(format!("start {}", demo.display()), e))
    }
}
