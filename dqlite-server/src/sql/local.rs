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
//! state at least as new, so giving up costs only the work done so far.
//!
//! Connections are keyed by database path and generation (unique in the process), so a
//! replaced file is never read through an old connection; those of databases that are gone
//! are closed the next time this thread opens one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use bytes::BytesMut;
use dqlite_proto::Value;
use rusqlite::Connection;

use super::exec::{self, StmtCache};
use super::limit::{self, SqlLimits};
use super::registry::Db;
use super::stmt::RawStmt;
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

struct OpenDb {
    generation: u64,
    /// The database the connection belongs to; dead once the node dropped it.
    db: Weak<Db>,
    cache: StmtCache<()>,
    conn: Connection,
}

impl Drop for OpenDb {
    fn drop(&mut self) {
        // Statements must go before their connection.
        self.cache.clear();
    }
}

thread_local! {
    static CONNS: RefCell<HashMap<PathBuf, OpenDb>> = RefCell::new(HashMap::new());
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
        let (mut stmt, tail) = take_or_prepare(open, sql)?;
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
                open.cache.give_back(sql, tail, stmt, ());
                first
                    .map(Local::Rows)
                    .ok_or_else(|| Error::internal("a read produced no ROWS"))
            }
            Err(_) if long => {
                open.cache.give_back(sql, tail, stmt, ());
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
        let (stmt, tail) = take_or_prepare(open, sql)?;
        let params = stmt.param_count();
        open.cache.give_back(sql, tail, stmt, ());
        Ok((params, tail))
    })
}

fn take_or_prepare(open: &mut OpenDb, sql: &str) -> Result<(RawStmt, usize)> {
    if let Some((stmt, ())) = open.cache.take(sql) {
        return Ok((stmt, sql.len()));
    }
    let prepared = RawStmt::prepare(&open.conn, sql)?;
    match prepared.stmt {
        Some(s) => Ok((s, prepared.tail)),
        None => Err(Error::failure(dqlite_proto::code::OK, "empty statement")),
    }
}

/// Runs `f` with this thread's connection to `db`, opening it (and closing those of
/// databases that are gone) when needed.
fn with_conn<T>(
    db: &Arc<Db>,
    limits: &Arc<SqlLimits>,
    f: impl FnOnce(&mut OpenDb) -> Result<T>,
) -> Result<T> {
    CONNS.with(|conns| {
        let mut conns = conns.borrow_mut();
        let current = conns
            .get(&db.path)
            .is_some_and(|o| o.generation == db.generation);
        if !current {
            conns.retain(|_, o| o.db.strong_count() > 0);
            conns.remove(&db.path);
            let mut conn = super::open_connection(&db.path)?;
            limit::install(&mut conn, limits.clone())?;
            conn.execute_batch("PRAGMA query_only = 1")?;
            let open = OpenDb {
                generation: db.generation,
                db: Arc::downgrade(db),
                cache: StmtCache::default(),
                conn,
            };
            conns.insert(db.path.clone(), open);
        }
        let open = conns
            .get_mut(&db.path)
            .ok_or_else(|| Error::internal("local read connection vanished"))?;
        f(open)
    })
}

/// How many read connections this thread keeps open (tests).
#[cfg(test)]
pub(crate) fn open_here() -> usize {
    CONNS.with(|c| c.borrow().len())
}
