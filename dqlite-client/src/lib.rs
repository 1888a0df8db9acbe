//! An async client for [dqlite](https://github.com/canonical/dqlite) clusters, the Rust
//! counterpart of go-dqlite's `client` and `driver` packages. It works against the C dqlite
//! server and against this workspace's `dqlite-server`.
//!
//! ```no_run
//! use dqlite_client::{Cluster, Config};
//!
//! # async fn demo() -> dqlite_client::Result<()> {
//! let cluster = Cluster::from_addresses(["127.0.0.1:9001", "127.0.0.1:9002"], Config::default())?;
//! let db = cluster.open("app");
//! db.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)", ()).await?;
//! db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", ("a", "1")).await?;
//! let row = db.query_one("SELECT v FROM kv WHERE k = ?", ("a",)).await?;
//! assert_eq!(row.get::<String, _>(0)?, "1");
//! db.transaction(|tx| Box::pin(async move {
//!     tx.execute("UPDATE kv SET v = v || '!' WHERE k = ?", ("a",)).await?;
//!     Ok(())
//! }))
//! .await?;
//! # Ok(()) }
//! ```
//!
//! # How it behaves
//!
//! - **Leader discovery** ([`Cluster`]): the last known leader is tried first, then every node
//!   in the [`NodeStore`] is asked concurrently (at most [`Config::max_concurrent_probes`] at
//!   a time). A node is accepted only if it names itself as leader; a hint is followed one
//!   hop. Rounds repeat with exponential backoff and jitter within [`Config::retry_budget`];
//!   the final [`Error::NoLeader`] says what each node answered.
//! - **Pool** ([`Db`]): bounded open and idle connections, acquire timeout, idle and lifetime
//!   limits. When an error shows the leader moved (10250, 10506, 12, I/O errors) the pool
//!   drops its connections and the next call finds the leader again.
//! - **Retries**: requests that certainly did not execute (not-leader, connect failures,
//!   reads) are retried on the new leader. A write whose outcome is unknown is never retried:
//!   it fails with [`Error::CommitUnknown`]. SQLITE_BUSY is retried only with
//!   [`Config::retry_busy`]; [`Db::transaction`] always retries a whole transaction on busy or
//!   a leader change before commit (so its closure may run more than once).
//! - **Hedging** ([`Config::hedge_after`], default 500 ms): a [`Db`] request that has had no
//!   answer for that long makes the client ask the other nodes, at that interval, who leads.
//!   Once another node confirms that it leads, the request is given up: a read is retried
//!   there, a write fails with [`Error::CommitUnknown`]. A paused leader process (whose
//!   kernel still acknowledges the bytes) or a vanished host otherwise holds a request until
//!   [`Config::request_timeout`]. Requests on a [`Conn`], a [`Statement`] or a
//!   [`Transaction`] are hedged too but never retried: a read keeps its error, a statement
//!   that may commit (COMMIT among them) fails with [`Error::CommitUnknown`]. A result
//!   already streaming is not hedged.
//! - **Several statements in one text** (`"INSERT ..; INSERT .."`): the server commits them
//!   one by one and its FAILURE does not say which one failed, so once such a write was
//!   sent *any* failure (not-leader and busy included) is [`Error::CommitUnknown`] and it is
//!   never sent again; see [`Db::execute`]. `;` in strings, comments and trigger bodies, and
//!   a trailing `;`, do not make a text multi-statement.
//! - **Paths without retries** ([`Conn`], [`Statement`], [`Transaction`]) classify failures
//!   with the same rule: a write that may have committed (10506, or a lost reply after it
//!   was sent) is [`Error::CommitUnknown`]; reads keep their error. Inside a
//!   [`Transaction`] only text that may commit (COMMIT, END) counts as a write, since the
//!   server rolls an unfinished transaction back.
//! - **Deadlines**: dialling, every request and every follow-up ROWS batch are bounded.
//! - **Results** stream batch by batch ([`Rows`]); dropping one early interrupts the rest.
//! - **Servers**: schema-1 parameter tuples (more than 255 parameters) are sent only after a
//!   probe shows the server is ≥ 1.12; HEARTBEAT and unknown requests are never sent.
//!
//! # Layout
//!
//! `dial` → `connection` (framed I/O, one request in flight) → `ops` (typed requests) →
//! `connector` (leader discovery) → `pool` → `db`, `tx`, `stmt` (public API); `cluster`
//! (admin), `rows`/`row` (results), `types` (conversions), `store` (node stores), `error`,
//! `outcome` (which failures leave a write's outcome unknown), `retry` (backoff), `sql`
//! (statement splitting).
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod cluster;
mod config;
mod connection;
mod connector;
mod db;
mod dial;
mod error;
mod hedge;
mod ops;
mod outcome;
mod pool;
mod retry;
mod row;
mod rows;
mod sql;
mod stmt;
mod store;
mod tx;
mod types;

pub use cluster::{Client, Cluster};
pub use config::Config;
pub use db::Db;
pub use dqlite_proto as proto;
pub use dqlite_proto::{File, NodeInfo, Role, Value, ValueType};
pub use error::{Error, Result, RetryAction};
pub use ops::{ExecResult, NodeMetadata};
pub use row::{ColumnIndex, Row};
pub use rows::Rows;
pub use stmt::{Conn, Statement};
pub use store::{InMemoryNodeStore, NodeStore, YamlNodeStore};
pub use tx::Transaction;
pub use types::{FromValue, IntoParams, Params, ToValue};
