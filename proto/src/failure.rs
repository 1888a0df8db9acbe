//! FAILURE responses and the failure codes a client must recognise (docs/wire-protocol.md §12).

/// Failure codes: SQLite primary and extended result codes plus dqlite's own.
pub mod code {
    /// `SQLITE_OK`; dqlite uses it for "empty statement".
    pub const OK: u64 = 0;
    /// `SQLITE_ERROR`: SQL errors and generic failures.
    pub const ERROR: u64 = 1;
    /// `SQLITE_ABORT`: request cut short by node shutdown (1.11).
    pub const ABORT: u64 = 4;
    /// `SQLITE_BUSY`: "database is locked", "checkpoint in progress", config change in progress.
    pub const BUSY: u64 = 5;
    /// `SQLITE_INTERRUPT`: a statement stopped by INTERRUPT or by the server's statement time
    /// limit.
    pub const INTERRUPT: u64 = 9;
    /// `SQLITE_BUSY_RECOVERY`.
    pub const BUSY_RECOVERY: u64 = 261;
    /// `SQLITE_BUSY_SNAPSHOT`: a stale read snapshot tried to write.
    pub const BUSY_SNAPSHOT: u64 = 517;
    /// `SQLITE_IOERR`: latest servers' "leader exec failed".
    pub const IOERR: u64 = 10;
    /// `SQLITE_IOERR_WRITE`: raft out of space while applying (1.11).
    pub const IOERR_WRITE: u64 = 778;
    /// `SQLITE_IOERR_NOT_LEADER` (`10 | 40 << 8`): the node is not the leader.
    pub const NOT_LEADER: u64 = 10250;
    /// `SQLITE_IOERR_LEADERSHIP_LOST` (`10 | 41 << 8`): leadership lost; commit outcome unknown.
    pub const LEADERSHIP_LOST: u64 = 10506;
    /// Not-leader code of servers older than 1.6 (`10 | 32 << 8`).
    pub const LEGACY_NOT_LEADER: u64 = 8202;
    /// Raft's own `RAFT_NOTLEADER`, which dqlite 1.11 passes through unchanged (message "no
    /// more rows available") when a write meets a leadership transfer: raft refused the
    /// entry, so nothing was applied. The same number is SQLite's `SQLITE_NOMEM`, after
    /// which an autocommit statement has not run either.
    pub const RAFT_NOT_LEADER: u64 = 7;
    /// Leadership-lost code of servers older than 1.6 (`10 | 33 << 8`).
    pub const LEGACY_LEADERSHIP_LOST: u64 = 8458;
    /// `SQLITE_NOTFOUND`: "no database opened", "no statement with the given id".
    pub const NOTFOUND: u64 = 12;
    /// `SQLITE_FULL`.
    pub const FULL: u64 = 13;
    /// `SQLITE_PROTOCOL`: DESCRIBE with a bad format.
    pub const PROTOCOL: u64 = 15;
    /// `SQLITE_SCHEMA`: the schema changed under a prepared statement.
    pub const SCHEMA: u64 = 17;
    /// `SQLITE_TOOBIG`: a string, blob or transaction over a size limit.
    pub const TOOBIG: u64 = 18;
    /// `SQLITE_CONSTRAINT` (primary code; extended codes share its low byte).
    pub const CONSTRAINT: u64 = 19;
    /// `SQLITE_CONSTRAINT_CHECK`.
    pub const CONSTRAINT_CHECK: u64 = 275;
    /// `SQLITE_CONSTRAINT_FOREIGNKEY`.
    pub const CONSTRAINT_FOREIGNKEY: u64 = 787;
    /// `SQLITE_CONSTRAINT_NOTNULL`.
    pub const CONSTRAINT_NOTNULL: u64 = 1299;
    /// `SQLITE_CONSTRAINT_PRIMARYKEY`.
    pub const CONSTRAINT_PRIMARYKEY: u64 = 1555;
    /// `SQLITE_CONSTRAINT_UNIQUE`.
    pub const CONSTRAINT_UNIQUE: u64 = 2067;
    /// `SQLITE_MISMATCH`: a value of the wrong type for its column.
    pub const MISMATCH: u64 = 20;
    /// `SQLITE_AUTH`: a PRAGMA the server refuses.
    pub const AUTH: u64 = 23;
    /// `SQLITE_RANGE`: too many parameters (1.11).
    pub const RANGE: u64 = 25;
    /// `SQLITE_ROW`: EXEC of a row-returning statement (1.11).
    pub const ROW: u64 = 100;
    /// `DQLITE_PROTO`: protocol error.
    pub const DQLITE_PROTO: u64 = 1001;
    /// `DQLITE_NOTFOUND`: DUMP of an unknown database (latest).
    pub const DQLITE_NOTFOUND: u64 = 1002;
    /// `DQLITE_PARSE`: unrecognised request type, schema or format.
    pub const DQLITE_PARSE: u64 = 1005;

    /// The primary SQLite result code: the low byte of an extended code. dqlite's own codes
    /// (1000 and up, below 1100) are returned unchanged.
    pub fn primary(code: u64) -> u64 {
        if (1000..1100).contains(&code) {
            code
        } else {
            code & 0xff
        }
    }
}

/// A FAILURE response: a code and a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Failure {
    /// SQLite or dqlite result code, see [`code`].
    pub code: u64,
    /// Human-readable message (usually `sqlite3_errmsg`).
    pub message: String,
}

impl Failure {
    /// Builds a failure.
    pub fn new(code: u64, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// The node is not the leader (10250, 8202 from servers before 1.6, or raft's code 7
    /// leaked by 1.11 during a leadership transfer): the request was not executed and may
    /// be sent to the leader.
    pub fn is_not_leader(&self) -> bool {
        matches!(
            self.code,
            code::NOT_LEADER | code::LEGACY_NOT_LEADER | code::RAFT_NOT_LEADER
        )
    }

    /// Leadership was lost while the request was applied (10506, or 8458): the outcome of a
    /// write is unknown.
    pub fn is_leadership_lost(&self) -> bool {
        matches!(
            self.code,
            code::LEADERSHIP_LOST | code::LEGACY_LEADERSHIP_LOST
        )
    }

    /// SQLite busy: 5 and its extended codes (261, 517, ...).
    pub fn is_busy(&self) -> bool {
        code::primary(self.code) == code::BUSY
    }

    /// A constraint violation: 19 and its extended codes.
    pub fn is_constraint(&self) -> bool {
        code::primary(self.code) == code::CONSTRAINT
    }

    /// "no database opened" or "no statement with the given id" (12): the server-side state
    /// of this connection is gone (for example after a leadership change).
    pub fn is_not_found(&self) -> bool {
        self.code == code::NOTFOUND
    }

    /// The connection's server-side state cannot be trusted any more and the client should
    /// reconnect through leader discovery, as go-dqlite does for these codes.
    pub fn is_bad_connection(&self) -> bool {
        self.is_not_leader() || self.is_leadership_lost() || self.is_not_found()
    }

    /// The server does not understand the request type, schema or format (1005).
    pub fn is_parse_error(&self) -> bool {
        self.code == code::DQLITE_PARSE
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}
