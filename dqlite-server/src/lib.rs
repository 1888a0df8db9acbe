//! A replicated SQLite server speaking the dqlite wire protocol, on openraft and rusqlite.
//!
//! # Layout
//!
//! - [`node`]: a running node ([`Node`]): storage, raft, listener, leadership watcher and
//!   check-quorum, membership and roles, leadership transfer, `--join`.
//! - [`server`] and [`gateway`]: the shared listener (clients, and raft peers after CONNECT)
//!   and per-connection request handling; `gateway::write` is the write path (writer queue,
//!   waiting for visibility; the writer proposes entries in execution order).
//! - [`sql`]: SQLite on dedicated threads: the per-database writer (sessions, changesets, the
//!   proposal of each finished transaction, the batch that commits several transactions once
//!   their entries are applied), the read pool, the FIFO writer queue, hand-written session
//!   FFI.
//! - [`raft`]: the openraft type config, the durable log store (one SQLite table per log
//!   segment) and its thread, the state machine, snapshot files, and the peer transport over
//!   CONNECT (AppendEntries cut to a byte budget).
//! - [`command`]: the replicated entry payload.
//! - [`client`]: a minimal wire client used for `--join`, tests and `examples/kvbench.rs`.
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
pub mod command;
pub mod config;
mod durable;
pub mod error;
pub mod fatal;
pub mod gateway;
mod identity;
pub mod node;
pub mod raft;
pub mod server;
pub mod serving;
pub mod sql;

pub use config::Config;
pub use error::{Error, Result};
pub use node::Node;
