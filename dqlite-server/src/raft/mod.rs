//! Raft plumbing: the openraft type configuration, the durable log store, the state machine,
//! and the peer transport that rides on the dqlite port after a CONNECT.

// openraft fixes the error type of its storage traits; it is large by design.
#![allow(clippy::result_large_err)]

mod append_split;
pub mod floor;
pub mod lease;
mod log_cache;
pub mod log_store;
mod log_thread;
pub mod network;
pub mod rpc;
mod segments;
pub mod snapshot;
pub mod state_machine;

#[cfg(test)]
mod hardening_tests;
#[cfg(test)]
mod segment_tests;
#[cfg(test)]
mod tests;

use openraft::{BasicNode, TokioRuntime};

use crate::command::{Applied, Command};

openraft::declare_raft_types!(
    /// The openraft type configuration of a dqlite-server node.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = u64,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = TokioRuntime,
);

/// The raft handle of a node.
pub type Raft = openraft::Raft<TypeConfig>;
/// Raft log id.
pub type LogId = openraft::LogId<u64>;
/// Raft storage error.
pub type StorageError = openraft::StorageError<u64>;
/// Stored membership.
pub type StoredMembership = openraft::StoredMembership<u64, BasicNode>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<u64, BasicNode>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// Wraps any error as openraft's `AnyError`.
pub fn any_error(e: impl std::error::Error + 'static) -> openraft::AnyError {
    openraft::AnyError::new(&e)
}

/// Storage-error constructors (openraft keeps them on `StorageIOError`).
pub mod se {
    use openraft::{AnyError, StorageIOError};

    use super::StorageError;

    /// Reading the log failed.
    pub fn read_logs(e: AnyError) -> StorageError {
        StorageIOError::read_logs(e).into()
    }
    /// Writing the log failed.
    pub fn write_logs(e: AnyError) -> StorageError {
        StorageIOError::write_logs(e).into()
    }
    /// Writing the vote failed.
    pub fn write_vote(e: AnyError) -> StorageError {
        StorageIOError::write_vote(e).into()
    }
    /// A generic read failed.
    pub fn read(e: AnyError) -> StorageError {
        StorageIOError::read(e).into()
    }
    /// A generic write failed.
    pub fn write(e: AnyError) -> StorageError {
        StorageIOError::write(e).into()
    }
    /// Applying to the state machine failed.
    pub fn write_state_machine(e: AnyError) -> StorageError {
        StorageIOError::write_state_machine(e).into()
    }
    /// Writing a snapshot failed.
    pub fn write_snapshot(
        sig: Option<openraft::storage::SnapshotSignature<u64>>,
        e: AnyError,
    ) -> StorageError {
        StorageIOError::write_snapshot(sig, e).into()
    }
    /// Reading a snapshot failed.
    pub fn read_snapshot(
        sig: Option<openraft::storage::SnapshotSignature<u64>>,
        e: AnyError,
    ) -> StorageError {
        StorageIOError::read_snapshot(sig, e).into()
    }
}
