//! The crate's one error type. It becomes a wire `FAILURE` only at the gateway edge
//! ([`Error::to_failure`]); SQL errors never travel through openraft as storage errors.

use dqlite_proto::{code, Failure};

/// Everything that can go wrong while serving a request or running the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite reported an error (extended result code and message).
    #[error("{message} (sqlite code {code})")]
    Sql {
        /// SQLite extended result code.
        code: u64,
        /// `sqlite3_errmsg` text.
        message: String,
    },
    /// A dqlite-level failure with a fixed code and message (for example 12 "no database opened").
    #[error("{message} (code {code})")]
    Failure {
        /// Failure code sent to the client.
        code: u64,
        /// Message sent to the client.
        message: String,
    },
    /// This node is not the leader (or has not finished its post-election barrier).
    #[error("not leader")]
    NotLeader,
    /// Leadership was lost while a write was in flight; its outcome is unknown.
    #[error("leadership lost")]
    LeadershipLost,
    /// An I/O error (sockets, files).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The raft layer failed in a way that is not about leadership.
    #[error("raft error: {0}")]
    Raft(String),
    /// The node is shutting down.
    #[error("node is shutting down")]
    Shutdown,
    /// This replica's data no longer matches the leader's (a changeset met rows that differ).
    #[error("replica diverged: {0}")]
    Diverged(String),
    /// A broken invariant inside the server.
    #[error("internal error: {0}")]
    Internal(String),
    /// The node's configuration is not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure with a fixed wire code and message.
    pub fn failure(code: u64, message: impl Into<String>) -> Error {
        Error::Failure {
            code,
            message: message.into(),
        }
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::Internal(message.into())
    }

    /// `FAILURE(5, "database is locked")`: the busy timeout expired in the writer queue.
    pub fn busy() -> Error {
        Error::failure(code::BUSY, "database is locked")
    }

    /// `FAILURE(12, "no database opened")`.
    pub fn no_database() -> Error {
        Error::failure(code::NOTFOUND, "no database opened")
    }

    /// `FAILURE(12, "no statement with the given id")`.
    pub fn no_statement() -> Error {
        Error::failure(code::NOTFOUND, "no statement with the given id")
    }

    /// `FAILURE(23, "not authorized")`.
    pub fn not_authorized() -> Error {
        Error::failure(code::AUTH, "not authorized")
    }

    /// True for [`Error::NotLeader`].
    pub fn is_not_leader(&self) -> bool {
        matches!(self, Error::NotLeader)
    }

    /// True for [`Error::LeadershipLost`].
    pub fn is_leadership_lost(&self) -> bool {
        matches!(self, Error::LeadershipLost)
    }

    /// True for an error that every node meets in the same way when it applies the same entry
    /// to the same data: an SQL error, a constraint, a type mismatch, a value or transaction
    /// too big. Anything else (disk full, I/O error, out of memory or file descriptors, busy,
    /// a diverged replica, an internal failure) depends on this node alone: the entry must not
    /// be skipped, so the node stops (see [`crate::fatal`]).
    pub fn is_deterministic(&self) -> bool {
        match self {
            Error::Sql { code, .. } | Error::Failure { code, .. } => matches!(
                code::primary(*code),
                code::ERROR
                    | code::TOOBIG
                    | code::CONSTRAINT
                    | code::MISMATCH
                    | code::RANGE
                    | code::AUTH
            ),
            _ => false,
        }
    }

    /// The SQLite or wire code this error carries, if any.
    pub fn code(&self) -> Option<u64> {
        match self {
            Error::Sql { code, .. } | Error::Failure { code, .. } => Some(*code),
            Error::NotLeader => Some(code::NOT_LEADER),
            Error::LeadershipLost => Some(code::LEADERSHIP_LOST),
            _ => None,
        }
    }

    /// The FAILURE response a client receives for this error.
    pub fn to_failure(&self) -> Failure {
        match self {
            Error::Sql { code, message } | Error::Failure { code, message } => {
                Failure::new(*code, message.clone())
            }
            Error::NotLeader => Failure::new(code::NOT_LEADER, "not leader"),
            Error::LeadershipLost => Failure::new(code::LEADERSHIP_LOST, "leadership lost"),
            Error::Shutdown => Failure::new(code::ABORT, "node is shutting down"),
            Error::Io(_)
            | Error::Raft(_)
            | Error::Internal(_)
            | Error::Config(_)
            | Error::Diverged(_) => Failure::new(code::IOERR, "leader exec failed"),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(err, msg) => Error::Sql {
                code: err.extended_code as u64,
                message: msg.unwrap_or_else(|| err.to_string()),
            },
            other => Error::Sql {
                code: code::ERROR,
                message: other.to_string(),
            },
        }
    }
}
