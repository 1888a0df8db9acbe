//! Short reads served on the calling thread, with no hand-off: each thread that asks keeps its
//! own read connection per database (WAL mode, `query_only`), as the read pool's threads do.
//!
//! A point SELECT takes a few microseconds of SQLite work, much less than waking another
//! thread and being woken back, so a connection's task runs it itself. What is not short is
//! handed back to the caller, which runs it on the read pool instead:
//!
//! - a statement is stepped within a budget of [`BUDGET_OPS`] virtual-machine steps (about a
//!   millisecond), so a long query cannot hold the async runtime's thread for long;
//! - its rows must fit one ROWS batch (one DONE batch is answered at once; a bigger result
//!   streams from the pool, which can wait for a slow client without holding this thread).
//!
//! Either way nothing has been sent yet, and a read-only statement run again later reads a
//! state at least as new, so giving up costs only the work done so far. The thread's
//! connections are kept as the pool's are (`read_conn`).

use std::cell::RefCell;
use std::sync::Arc;

use bytes::BytesMut;
use dqlite_proto::Value;

use super::db::Db;
use super::exec;
use super::limit::{self, SqlLimits};
use super::read_conn::{ReadConn, ReadConns};
use crate::error::{Error, Result};

/// SQLite virtual-machine steps a read may take on the calling thread.
pub const BUDGET_OPS: u32 = 64 * 1024;

/// What a read tried here came to.
#[derive(Debug)]
pub enum Local {
    /// The whole answer: one DONE ROWS batch.
    Rows(BytesMut),
    /// The statement writes (or controls transactions): it belongs on the writer.
    NeedsWriter,
    /// Longer than the budget, or more rows than one batch: run it on the read pool.
    TooLong,
}

thread_local! {
    static CONNS: RefCell<ReadConns> = RefCell::new(ReadConns::default());
}

/// Runs read `sql` (one statement whose first keyword is a read) of client connection `owner`
/// on this thread, unless it turns out to write or to be long.
pub fn query(
    db: &Arc<Db>,
    limits: &Arc<SqlLimits>,
    owner: u64,
    sql: &str,
    params: &[Value],
) -> Result<Local> {
    with_conn(db, limits, |open| {
        let (mut stmt, tail) = open.take_or_prepare(sql)?;
        if !stmt.readonly() {
            return Ok(Local::NeedsWriter);
        }
        exec::check_tail(&open.conn, &sql[tail..])?;
        exec::bind(&mut stmt, params, true)?;
        let _client = limit::client(owner);
        let budget = limit::budget(BUDGET_OPS);
        let mut first: Option<BytesMut> = None;
        let mut overflow = false;
        let res = exec::stream_rows(&mut stmt, &mut |batch| {
            if first.is_some() {
                overflow = true;
                return Err(Error::internal("more than one batch"));
            }
            first = Some(batch);
            Ok(())
        });
        let long = overflow || budget.spent();
        drop(budget);
        match res {
            Ok(()) => {
                open.give_back(sql, tail, stmt);
                first
                    .map(Local::Rows)
                    .ok_or_else(|| Error::internal("a read produced no ROWS"))
            }
            Err(_) if long => {
                open.give_back(sql, tail, stmt);
                Ok(Local::TooLong)
            }
            Err(e) => Err(e),
        }
    })
}

/// Prepares `sql` on this thread: its parameter count and tail offset (PREPARE outside a
/// transaction).
pub fn prepare(db: &Arc<Db>, limits: &Arc<SqlLimits>, sql: &str) -> Result<(usize, usize)> {
    with_conn(db, limits, |open| {
        let (stmt, tail) = open.take_or_prepare(sql)?;
        let params = stmt.param_count();
        open.give_back(sql, tail, stmt);
        Ok((params, tail))
    })
}

/// Runs `f` with this thread's connection to `db`.
fn with_conn<T>(
    db: &Arc<Db>,
    limits: &Arc<SqlLimits>,
    f: impl FnOnce(&mut ReadConn) -> Result<T>,
) -> Result<T> {
    CONNS.with(|conns| f(conns.borrow_mut().get(db, limits)?))
}

/// How many read connections this thread keeps open (tests).
#[cfg(test)]
pub(crate) fn open_here() -> usize {
    CONNS.with(|c| c.borrow().len())
}
