//! The raft log payload: what one committed entry tells every node's state machine to do.
//! Encoded with bincode (compact, binary changesets stay raw bytes).

use serde::{Deserialize, Serialize};

/// One step of a replicated write transaction, applied in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// A session changeset recorded on the leader.
    Changeset(Vec<u8>),
    /// SQL replayed as is: DDL and persistent PRAGMAs (sessions do not capture them).
    Sql(String),
}

impl Op {
    /// Bytes of replicated change this operation carries.
    pub fn size(&self) -> u64 {
        match self {
            Op::Changeset(cs) => cs.len() as u64,
            Op::Sql(sql) => sql.len() as u64,
        }
    }
}

/// Which leader transaction produced an entry; the leader commits its own still-open
/// transaction instead of re-applying the changeset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Node id of the leader that executed the transaction.
    pub node: u64,
    /// Transaction id, unique on that node.
    pub tx: u64,
}

/// A state-machine command (the `D` of the raft type config).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Command {
    /// Nothing to do (also openraft's test default).
    #[default]
    Noop,
    /// Create database `db` on every node (OPEN of an unknown name).
    Open {
        /// Database name.
        db: String,
    },
    /// One committed write transaction on database `db`.
    Tx {
        /// Database name.
        db: String,
        /// Where it was executed.
        origin: Origin,
        /// Changesets and SQL, in execution order.
        ops: Vec<Op>,
    },
    /// Record a node (id, address) in the cluster list (ADD, or the bootstrap node itself).
    AddNode {
        /// Node id.
        id: u64,
        /// Address clients and peers dial.
        address: String,
    },
    /// Forget a node (REMOVE).
    RemoveNode {
        /// Node id.
        id: u64,
    },
}

/// What applying one entry produced (the `R` of the raft type config).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Applied {
    /// Set when a transaction could not be applied (every node rejects it the same way).
    pub error: Option<(u64, String)>,
}
