//! [`TestkitError`]: everything that can go wrong while running the reference cluster.

use std::fmt;

/// What went wrong while starting, querying or restarting the reference cluster.
///
/// Messages are written for a failing test's output: they say what was being done, what
/// was last seen and, where a node is involved, the tail of its log.
#[derive(Debug)]
pub enum TestkitError {
    /// `dqlite-demo` or the `dqlite` shell is not on `PATH`.
    Missing(String),
    /// A caller asked for something impossible (for example a cluster of 0 nodes).
    InvalidArgument(String),
    /// Starting a process, creating a directory or another I/O step failed.
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A node's process exited while it was expected to run.
    NodeExited {
        /// 1-based node number, as in the `nodeN/` directory name.
        node: usize,
        /// The node's database address.
        addr: String,
        /// The exit status, as text.
        status: String,
        /// The last lines of the node's log.
        log_tail: String,
    },
    /// The cluster did not reach the expected state within the time allowed.
    Timeout(String),
    /// The `dqlite` shell failed or printed something unexpected.
    Shell(String),
}

impl TestkitError {
    /// An [`TestkitError::Io`] with a description of what was being done.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io {
            what: what.into(),
            source,
        }
    }

    /// True if a node exited because one of its addresses was already taken, so that
    /// starting again on other ports may succeed.
    pub(crate) fn is_address_conflict(&self) -> bool {
        match self {
            TestkitError::NodeExited { log_tail, .. } => {
                log_tail.contains("address already in use")
                    || log_tail.contains("failed to set bind address")
            }
            _ => false,
        }
    }
}

impl fmt::Display for TestkitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestkitError::Missing(what) => write!(
                f,
                "C dqlite reference missing: {what} (install it with: apt-get install -y go-dqlite)"
            ),
            TestkitError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            TestkitError::Io { what, source } => write!(f, "{what}: {source}"),
            TestkitError::NodeExited {
                node,
                addr,
                status,
                log_tail,
            } => write!(
                f,
                "dqlite-demo node {node} ({addr}) exited unexpectedly ({status}); log tail:\n{log_tail}"
            ),
            TestkitError::Timeout(what) => write!(f, "timed out: {what}"),
            TestkitError::Shell(what) => write!(f, "dqlite shell: {what}"),
        }
    }
}

impl std::error::Error for TestkitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestkitError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TestkitError;

    fn exited(log_tail: &str) -> TestkitError {
        TestkitError::NodeExited {
            node: 2,
            addr: "127.1.2.3:4".into(),
            status: "exit status: 1".into(),
            log_tail: log_tail.into(),
        }
    }

    #[test]
    fn address_conflicts_are_recognised_from_the_log() {
        // The two messages dqlite-demo prints when its --api or --db port is taken.
        let api = "Error: listen tcp 127.3.4.5:9002: bind: address already in use";
        let db = "Error: create node: failed to set bind address \"127.3.4.5:9103\": 1";
        assert!(exited(api).is_address_conflict());
        assert!(exited(db).is_address_conflict());
        assert!(!exited("Error: open /x: permission denied").is_address_conflict());
        assert!(!TestkitError::Timeout("x".into()).is_address_conflict());
    }

    #[test]
    fn messages_name_the_node_and_quote_the_log() {
        let msg = exited("last log line").to_string();
        assert!(msg.contains("node 2 (127.1.2.3:4)"), "{msg}");
        assert!(msg.contains("exit status: 1"), "{msg}");
        assert!(msg.ends_with("last log line"), "{msg}");
        let missing = TestkitError::Missing("dqlite not found on PATH".into()).to_string();
        assert!(
            missing.contains("apt-get install -y go-dqlite"),
            "{missing}"
        );
    }
}
