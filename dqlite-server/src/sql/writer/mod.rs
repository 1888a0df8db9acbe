//! The per-database writer: one thread owning the database's only read-write connection.
//!
//! Every write transaction runs here, one statement per command, with a session recording its
//! changes. A transaction that ends with changes is not committed: the writer proposes it
//! through the node's [`Proposer`] (on this thread, so entries reach the log in execution
//! order; several transactions share one entry, see the `batch` module), answers
//! [`Outcome::Commit`], and commits only when the entry comes back through
//! [`WriterCmd::ApplyMany`]. Executing and committing are therefore separate steps.
//! Statements are run in arrival order; those that cannot start yet wait here, in order.//!
//! The [`Writer`] state is defined in `state`, on the small types it holds (`env`, `cmd`,
//! `pending`); each behaviour module adds its `impl Writer` on top and none is imported by
//! those below it: `thread` (the loop), `statement` (one client statement), `batch` (the
//! batch and its commit, cut and reset), `group` (which transactions go in which entry),
//! `apply` (committed entries) and `failstop` (what a writer refuses, and when it stops).

mod apply;
mod batch;
mod cmd;
mod env;
mod failstop;
mod group;
mod pending;
mod state;
mod statement;
mod thread;

pub use cmd::{Outcome, Ran, RowStream, StmtJob, WriterCmd, WriterHandle};
pub use env::{Proposer, WriterEnv};
pub use state::Writer;
