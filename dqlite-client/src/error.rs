//! The client's one error type, its predicates, and the retry decision for each error.

use std::fmt;
use std::time::Duration;

use dqlite_proto::Failure;

/// What a caller (or the client's own retry loop) should do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// Do not retry: the error is final (SQL error, constraint, bad input, unknown outcome).
    None,
    /// The request certainly did not execute; find the leader again and resend it.
    Rediscover,
    /// The database was busy; retrying the same request after a backoff may succeed.
    Backoff,
}

/// Every error the client returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a FAILURE.
    #[error("server error on {node}: {failure}")]
    Server {
        /// The node that answered.
        node: String,
        /// Code and message.
        failure: Failure,
    },
    /// A socket operation failed.
    #[error("{op} {node}: {source}")]
    Io {
        /// What was being done (`"dial"`, `"send"`, `"receive"`).
        op: &'static str,
        /// The node's address.
        node: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An operation did not finish within its deadline.
    #[error("{op} {node}: timed out after {after:?}")]
    Timeout {
        /// What was being done.
        op: &'static str,
        /// The node's address.
        node: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The server sent bytes the codec rejects, or a reply of the wrong type.
    #[error("protocol error from {node}: {detail}")]
    Protocol {
        /// The node that sent it.
        node: String,
        /// What was wrong.
        detail: String,
    },
    /// No node could be confirmed as leader within the retry budget.
    #[error("no leader found after {attempts} rounds in {elapsed:?}: {}", NodeAnswers(.answers))]
    NoLeader {
        /// Rounds of probing made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// What each node answered in the last round: (address, answer).
        answers: Vec<(String, String)>,
    },
    /// A write was sent but its outcome is unknown (leadership lost while committing, or the
    /// connection failed before the reply). It was not retried: check before resending.
    #[error("outcome of the write is unknown: {source}")]
    CommitUnknown {
        /// What happened.
        #[source]
        source: Box<Error>,
    },
    /// No connection became available within the pool's acquire timeout.
    #[error("timed out after {0:?} waiting for a pooled connection")]
    PoolTimeout(Duration),
    /// The pool was closed.
    #[error("the connection pool is closed")]
    PoolClosed,
    /// A value could not be converted to or from the requested Rust type.
    #[error("cannot convert {from} to {to}{}", column_suffix(.column))]
    Conversion {
        /// The source type or value description.
        from: String,
        /// The target type.
        to: &'static str,
        /// The column, when converting a row value.
        column: Option<String>,
    },
    /// A column index or name that the result does not have.
    #[error("no column {0} in the result")]
    NoSuchColumn(String),
    /// `query_one` found no row.
    #[error("query returned no rows")]
    NoRows,
    /// The request cannot be sent (for example more parameters than the server accepts).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Invalid configuration or node store content.
    #[error("configuration error: {0}")]
    Config(String),
    /// A node store could not be read or written.
    #[error("node store {path}: {source}")]
    Store {
        /// The store's file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn column_suffix(column: &Option<String>) -> String {
    column
        .as_ref()
        .map(|c| format!(" (column {c})"))
        .unwrap_or_default()
}

struct NodeAnswers<'a>(&'a [(String, String)]);

impl fmt::Display for NodeAnswers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no nodes to try");
        }
        for (i, (node, answer)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{node}: {answer}")?;
        }
        Ok(())
    }
}

impl Error {
    /// The FAILURE the server sent, if this is a server error.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Error::Server { failure, .. } => Some(failure),
            Error::CommitUnknown { source } => source.failure(),
            _ => None,
        }
    }

    /// The server's failure code, if any.
    pub fn code(&self) -> Option<u64> {
        self.failure().map(|f| f.code)
    }

    /// The node is not the leader (10250).
    pub fn is_not_leader(&self) -> bool {
        self.failure().is_some_and(Failure::is_not_leader)
    }

    /// Leadership was lost while the request was applied (10506).
    pub fn is_leadership_lost(&self) -> bool {
        self.failure().is_some_and(Failure::is_leadership_lost)
    }

    /// SQLITE_BUSY or one of its extended codes (5, 261, 517).
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Server { failure, .. } if failure.is_busy())
    }

    /// A constraint violation (19 and its extended codes).
    pub fn is_constraint(&self) -> bool {
        matches!(self, Error::Server { failure, .. } if failure.is_constraint())
    }

    /// A deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::PoolTimeout(_))
    }

    /// The connection broke (I/O error, timeout or protocol violation) and was discarded.
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::Io { .. } | Error::Timeout { .. } | Error::Protocol { .. }
        )
    }

    /// The outcome of a write is unknown; it was not retried.
    pub fn is_commit_unknown(&self) -> bool {
        matches!(self, Error::CommitUnknown { .. })
    }

    /// No leader could be found.
    pub fn is_no_leader(&self) -> bool {
        matches!(self, Error::NoLeader { .. })
    }

    /// The error shows the connection's node is no longer (or not) the leader, or the
    /// connection itself is gone: pooled connections to it should be dropped.
    pub fn shows_leader_change(&self) -> bool {
        match self {
            Error::Server { failure, .. } => failure.is_bad_connection(),
            Error::CommitUnknown { .. } => true,
            e => e.is_connection_error(),
        }
    }

    /// What to do about this error, assuming the request is known not to have executed when
    /// the error says so. The client applies this itself within its retry budget; callers
    /// see an error only when it is final or the budget ran out.
    pub fn retry_action(&self) -> RetryAction {
        match self {
            Error::Server { failure, .. } if failure.is_busy() => RetryAction::Backoff,
            Error::Server { failure, .. } if failure.is_not_leader() || failure.is_not_found() => {
                RetryAction::Rediscover
            }
            Error::NoLeader { .. } => RetryAction::Rediscover,
            _ => RetryAction::None,
        }
    }

    pub(crate) fn protocol(node: &str, detail: impl fmt::Display) -> Error {
        Error::Protocol {
            node: node.to_owned(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn io(op: &'static str, node: &str, source: std::io::Error) -> Error {
        Error::Io {
            op,
            node: node.to_owned(),
            source,
        }
    }

    pub(crate) fn conversion(from: impl Into<String>, to: &'static str) -> Error {
        Error::Conversion {
            from: from.into(),
            to,
            column: None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
