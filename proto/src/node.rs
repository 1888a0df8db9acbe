//! Cluster members as reported by CLUSTER (NODES) and their roles (docs/wire-protocol.md §7).

use crate::error::{Error, Result};

/// A node's role in the cluster, with the wire codes (not raft's internal numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Replicates the log and votes; only voters can lead (code 0).
    Voter,
    /// Replicates the log without voting (code 1).
    StandBy,
    /// Neither replicates nor votes (code 2).
    Spare,
}

impl Role {
    /// The wire code.
    pub fn code(self) -> u64 {
        match self {
            Role::Voter => 0,
            Role::StandBy => 1,
            Role::Spare => 2,
        }
    }

    /// Recognises a wire code.
    pub fn from_code(code: u64) -> Result<Role> {
        match code {
            0 => Ok(Role::Voter),
            1 => Ok(Role::StandBy),
            2 => Ok(Role::Spare),
            code => Err(Error::UnknownRole { code }),
        }
    }

    /// The name go-dqlite prints: `voter`, `stand-by` or `spare`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Voter => "voter",
            Role::StandBy => "stand-by",
            Role::Spare => "spare",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a NODES response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// Raft node id.
    pub id: u64,
    /// Address clients and peers dial.
    pub address: String,
    /// Role; present only in format 1.
    pub role: Option<Role>,
}
