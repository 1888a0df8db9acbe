//! The read connections one thread keeps, one per database: WAL mode, `query_only`, the
//! statement limits' handler, and a small statement cache. Both the read pool's threads and
//! the connections' own threads (see `local`) read through them.
//!
//! A connection is kept for a database path and generation (unique in the process), so a
//! replaced file is never read through an old connection; those of databases that are gone are
//! closed the next time the thread opens one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use rusqlite::Connection;

use super::db::Db;
use super::exec::StmtCache;
use super::limit::{self, SqlLimits};
use super::stmt::RawStmt;
use crate::error::{Error, Result};

/// One read connection to one database.
pub struct ReadConn {
    generation: u64,
    /// The database the connection belongs to; dead once the node dropped it.
    db: Weak<Db>,
    cache: StmtCache<()>,
    /// The connection.
    pub conn: Connection,
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        // Statements must go before their connection.
        self.cache.clear();
    }
}

impl ReadConn {
    /// The cached statement for `sql`, or `sql`'s first statement prepared now, with the
    /// offset of its tail. Fails with `empty statement` (code 0) when there is none.
    pub fn take_or_prepare(&mut self, sql: &str) -> Result<(RawStmt, usize)> {
        if let Some((stmt, ())) = self.cache.take(sql) {
            return Ok((stmt, sql.len()));
        }
        let prepared = RawStmt::prepare(&self.conn, sql)?;
        match prepared.stmt {
            Some(s) => Ok((s, prepared.tail)),
            None => Err(Error::failure(dqlite_proto::code::OK, "empty statement")),
        }
    }

    /// Keeps a statement for the next run of the same text (when it covered the whole text).
    pub fn give_back(&mut self, sql: &str, tail: usize, stmt: RawStmt) {
        self.cache.give_back(sql, tail, stmt, ());
    }
}

/// The read connections of one thread, by database path.
#[derive(Default)]
pub struct ReadConns {
    map: HashMap<PathBuf, ReadConn>,
}

impl ReadConns {
    /// This thread's connection to `db`, opened (with `limits`' handler) when there is none
    /// for its current generation.
    pub fn get(&mut self, db: &Arc<Db>, limits: &Arc<SqlLimits>) -> Result<&mut ReadConn> {
        let current = self
            .map
            .get(&db.path)
            .is_some_and(|c| c.generation == db.generation);
        if !current {
            self.map.retain(|_, c| c.db.strong_count() > 0);
            self.map.remove(&db.path);
            let mut conn = super::open_connection(&db.path)?;
            limit::install(&mut conn, limits.clone())?;
            conn.execute_batch("PRAGMA query_only = 1")?;
            let open = ReadConn {
                generation: db.generation,
                db: Arc::downgrade(db),
                cache: StmtCache::default(),
                conn,
            };
            self.map.insert(db.path.clone(), open);
        }
        self.map
            .get_mut(&db.path)
            .ok_or_else(|| Error::internal("read connection vanished"))
    }

    /// How many connections are open.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}
