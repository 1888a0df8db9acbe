//! A replicated SQLite server speaking the dqlite wire protocol, on openraft and rusqlite.
//!
//! # Public surface
//!
//! Applications embed a [`Node`] (start it with a [`Config`] and a bound listener, stop it,
//! ask whether it leads, which databases it holds, whether it stopped for a fault); errors
//! are [`Error`]. [`client`] is a minimal wire client (used for `--join`, the tests and
//! `examples/kvbench.rs`); applications should use the `dqlite-client` crate instead.
//!
//! # Inside (private modules)
//!
//! - `node`: the running node: storage, raft, listener, leadership watcher and check-quorum,
//!   membership and roles, leadership transfer, `--join`; `node::shared` is the state its
//!   tasks and connections share.
//! - `serving`: the one owner of whether (in which term and leadership epoch) SQL is served.
//! - `server` and `gateway`: the shared listener (clients, and raft peers after CONNECT) and
//!   per-connection request handling; `gateway::write` waits for a write's visibility.
//! - `sql`: SQLite on dedicated threads: the per-database writer (sessions, changesets, group
//!   commit of finished transactions into raft entries, the batch that commits them once
//!   their entries are applied), short reads on the connection's thread, the read pool, the
//!   FIFO writer queue, hand-written session FFI.
//! - `raft`: the openraft type config, the durable log store (one SQLite table per log
//!   segment) and its thread, the state machine, snapshot files, and the peer transport over
//!   CONNECT (AppendEntries cut to a byte budget).
//! - `command`: the replicated entry payload.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> dqlite_server::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! let config = dqlite_server::Config::new("127.0.0.1:9001", "/var/lib/dqlite");
//! let node = dqlite_server::Node::start(config, listener).await?;
//! // ... serve until asked to stop ...
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod client;
pub(crate) mod command;
pub mod config;
mod durable;
pub mod error;
pub(crate) mod fatal;
pub(crate) mod gateway;
mod identity;
pub(crate) mod node;
pub(crate) mod raft;
pub(crate) mod server;
pub(crate) mod serving;
pub(crate) mod sql;

/// The peer wire (CONNECT, then length-prefixed raft messages), for tests that act as a
/// raft peer.
#[doc(hidden)]
pub mod peer_wire {
    pub use crate::raft::network::{kind, read_frame, write_frame};
}

pub use config::Config;
pub use error::{Error, Result};
pub use node::Node;
