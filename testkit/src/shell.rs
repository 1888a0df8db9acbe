//! The `dqlite` shell (from go-dqlite), run once per query: `.cluster` and `.leader`.
//!
//! `dqlite -s <servers> <database> <command>` runs one command and exits; the database name
//! does not matter for dot-commands. The shell's client first finds the leader, and retries
//! forever while none is reachable, so every call here has a deadline.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{run_with_timeout, Output};
use crate::TestkitError;

/// Database name passed to the shell; dot-commands ignore it.
const SHELL_DB: &str = "testkit";

/// One line of the shell's `.cluster` output: `<hex id>|<address>|<role>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The node's raft ID (printed in hex by the shell).
    pub id: u64,
    /// The node's database address, `IP:PORT`.
    pub address: String,
    /// `voter`, `stand-by` or `spare`, as the shell prints it.
    pub role: String,
}

impl Member {
    /// True for a voting member.
    pub fn is_voter(&self) -> bool {
        self.role == "voter"
    }
}

/// Parses the tabular `.cluster` output.
pub(crate) fn parse_cluster(out: &str) -> Result<Vec<Member>, TestkitError> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let parts: Vec<&str> = line.split('|').collect();
            let bad = || TestkitError::Shell(format!("unexpected .cluster line {line:?}"));
            match parts.as_slice() {
                [id, address, role] => Ok(Member {
                    id: u64::from_str_radix(id, 16).map_err(|_| bad())?,
                    address: (*address).to_owned(),
                    role: (*role).to_owned(),
                }),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// The `dqlite` shell binary.
#[derive(Debug, Clone)]
pub(crate) struct Shell {
    path: PathBuf,
}

impl Shell {
    /// The shell at `path`.
    pub fn new(path: &Path) -> Self {
        Shell {
            path: path.to_path_buf(),
        }
    }

    /// Runs `command` against `servers` within `timeout`. `Ok(None)` means the shell was
    /// still waiting (for a leader, usually) at the deadline; a failing shell is an error.
    fn run(
        &self,
        servers: &[String],
        command: &str,
        timeout: Duration,
    ) -> Result<Option<String>, TestkitError> {
        if servers.is_empty() {
            return Ok(None);
        }
        let mut cmd = Command::new(&self.path);
        cmd.args(["-s", &servers.join(","), SHELL_DB, command]);
        let out: Output = run_with_timeout(cmd, timeout)?;
        match out.status {
            None => Ok(None),
            Some(s) if s.success() => Ok(Some(out.stdout)),
            Some(s) => Err(TestkitError::Shell(format!(
                "`{command}` against {} failed ({s}): {}",
                servers.join(","),
                out.both()
            ))),
        }
    }

    /// `.cluster`: every member with its role, or `None` if no answer came in time.
    pub fn cluster(
        &self,
        servers: &[String],
        timeout: Duration,
    ) -> Result<Option<Vec<Member>>, TestkitError> {
        self.run(servers, ".cluster", timeout)?
            .map(|out| parse_cluster(&out))
            .transpose()
    }

    /// `.leader`: the leader's address, or `None` if no leader was found in time.
    pub fn leader(
        &self,
        servers: &[String],
        timeout: Duration,
    ) -> Result<Option<String>, TestkitError> {
        Ok(self
            .run(servers, ".leader", timeout)?
            .map(|out| out.trim().to_owned())
            .filter(|addr| !addr.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_output() {
        let out = "2dc171858c3155be|127.3.4.5:9101|voter\n\
                   deab731f8025f997|127.3.4.5:9103|spare\n";
        let members = parse_cluster(out).expect("parse");
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].id, 0x2dc1_7185_8c31_55be);
        assert_eq!(members[0].address, "127.3.4.5:9101");
        assert!(members[0].is_voter());
        assert_eq!(members[1].role, "spare");
        assert!(!members[1].is_voter());
        assert!(parse_cluster("").expect("empty").is_empty());
    }

    #[test]
    fn rejects_unexpected_lines() {
        let err = parse_cluster("dqlite> nonsense").expect_err("bad line");
        assert!(
            err.to_string().contains("unexpected .cluster line"),
            "{err}"
        );
        assert!(parse_cluster("zz|127.0.0.1:1|voter").is_err());
    }
}
