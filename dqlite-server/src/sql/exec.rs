//! Execution helpers shared by the writer and the readers: binding, stepping, streaming rows
//! in page-sized ROWS batches, and a small prepared-statement cache.

use std::collections::HashMap;

use bytes::BytesMut;
use dqlite_proto::{RowsEnd, RowsWriter, Value};
use rusqlite::Connection;

use super::stmt::{RawStmt, Step};
use crate::error::{Error, Result};

/// A ROWS batch is closed once it reaches one memory page, header included (as dqlite does).
pub const BATCH_BYTES: usize = 4096;

/// What a statement is run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// EXEC / EXEC_SQL: no rows expected; answer RESULT.
    Exec,
    /// QUERY / QUERY_SQL: stream ROWS.
    Query,
}

/// RESULT values: the connection's sticky `last_insert_rowid` and `changes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// `sqlite3_last_insert_rowid`.
    pub last_insert_id: u64,
    /// `sqlite3_changes`.
    pub rows_affected: u64,
}

impl ExecResult {
    /// Reads the sticky values of `conn`.
    pub fn of(conn: &Connection) -> ExecResult {
        ExecResult {
            last_insert_id: conn.last_insert_rowid() as u64,
            rows_affected: conn.changes(),
        }
    }
}

/// Binds parameters for one statement and returns how many were consumed.
///
/// EXEC-style binding takes as many as the statement has placeholders (the rest are left for
/// the next statement of an EXEC_SQL, or ignored); a QUERY that supplies more parameters than
/// its statement takes fails with `bind parameters`, as dqlite HEAD does.
pub fn bind(stmt: &mut RawStmt, params: &[Value], strict: bool) -> Result<usize> {
    let n = stmt.param_count();
    if strict && params.len() > n {
        return Err(Error::failure(1, "bind parameters"));
    }
    let used = n.min(params.len());
    stmt.bind(&params[..used])?;
    Ok(used)
}

/// Steps a statement run through EXEC: a row is an error. A client statement may be stopped
/// here by its time limit or INTERRUPT (see `limit`).
pub fn step_exec(stmt: &mut RawStmt) -> Result<()> {
    let stepping = super::limit::stepping();
    let res = match stmt.step().map_err(super::limit::explain) {
        Ok(Step::Done) => Ok(()),
        Ok(Step::Row) => Err(Error::failure(
            1,
            "rows yielded when none expected for EXEC request",
        )),
        Err(e) => Err(e),
    };
    drop(stepping);
    stmt.reset();
    res
}

/// Steps a statement to completion, sending ROWS batches to `sink`: PART batches as they
/// fill, then the DONE batch (possibly with no rows).
pub fn stream_rows(stmt: &mut RawStmt, sink: &mut dyn FnMut(BytesMut) -> Result<()>) -> Result<()> {
    let stepping = super::limit::stepping();
    let res = stream_inner(stmt, sink).map_err(super::limit::explain);
    drop(stepping);
    stmt.reset();
    res
}

/// The ROWS answer of a statement that yields no rows and no columns (QUERY of BEGIN, COMMIT,
/// VACUUM ...): one DONE batch with zero columns, as dqlite answers it.
pub fn no_rows() -> Result<BytesMut> {
    let mut buf = BytesMut::new();
    RowsWriter::begin::<&str>(&mut buf, &[])
        .map_err(codec)?
        .finish(RowsEnd::Done)
        .map_err(codec)?;
    Ok(buf)
}

fn stream_inner(stmt: &mut RawStmt, sink: &mut dyn FnMut(BytesMut) -> Result<()>) -> Result<()> {
    let n = stmt.column_count();
    let names: Vec<String> = (0..n).map(|i| stmt.column_name(i)).collect();
    let types: Vec<String> = (0..n).map(|i| stmt.column_decltype(i)).collect();
    let mut buf = BytesMut::with_capacity(BATCH_BYTES + 512);
    let mut writer = RowsWriter::begin(&mut buf, &names).map_err(codec)?;
    let mut row = Vec::with_capacity(n);
    loop {
        if stmt.step()? == Step::Done {
            break;
        }
        if n == 0 {
            continue;
        }
        row.clear();
        row.extend((0..n).map(|i| stmt.column_value(i, &types[i])));
        writer
            .push_row(row.iter().map(Value::as_ref))
            .map_err(codec)?;
        if writer.encoded_len() >= BATCH_BYTES {
            writer.finish(RowsEnd::Part).map_err(codec)?;
            sink(std::mem::replace(
                &mut buf,
                BytesMut::with_capacity(BATCH_BYTES + 512),
            ))?;
            writer = RowsWriter::begin(&mut buf, &names).map_err(codec)?;
        }
    }
    writer.finish(RowsEnd::Done).map_err(codec)?;
    sink(buf)
}

fn codec(e: dqlite_proto::Error) -> Error {
    Error::failure(1, e.to_string())
}

/// Fails with `nonempty statement tail` unless `tail` holds only whitespace and comments.
pub fn check_tail(conn: &Connection, tail: &str) -> Result<()> {
    if tail.trim().is_empty() {
        return Ok(());
    }
    match RawStmt::prepare(conn, tail)?.stmt {
        None => Ok(()),
        Some(_) => Err(Error::failure(1, "nonempty statement tail")),
    }
}

/// A per-connection cache of single-statement SQL texts, so hot statements (the benchmark's
/// INSERT and SELECT) are prepared once. Statements with a tail are never cached. `T` is
/// whatever the owner learnt at prepare time (the writer keeps the authorizer's findings).
pub struct StmtCache<T> {
    map: HashMap<String, (RawStmt, T)>,
}

impl<T> Default for StmtCache<T> {
    fn default() -> Self {
        StmtCache {
            map: HashMap::new(),
        }
    }
}

/// Most statements kept per connection.
const CACHE_CAPACITY: usize = 64;

impl<T> StmtCache<T> {
    /// Takes the cached statement for `sql`, if any.
    pub fn take(&mut self, sql: &str) -> Option<(RawStmt, T)> {
        self.map.remove(sql)
    }

    /// Returns a statement to the cache when it covered the whole text.
    pub fn give_back(&mut self, sql: &str, tail: usize, stmt: RawStmt, extra: T) {
        if tail < sql.len() && !sql[tail..].trim().is_empty() {
            return;
        }
        if self.map.len() >= CACHE_CAPACITY {
            self.map.clear();
        }
        self.map.insert(sql.to_owned(), (stmt, extra));
    }

    /// Drops every cached statement (before the connection closes or the schema is replaced).
    pub fn clear(&mut self) {
        self.map.clear();
    }
}
