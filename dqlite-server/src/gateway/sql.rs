//! SQL requests: OPEN, PREPARE, FINALIZE, EXEC/EXEC_SQL and QUERY/QUERY_SQL (the write path is
//! in `write.rs`).
//!
//! Reads outside a transaction run on this connection's own thread when they are short
//! (`sql::local`), on the read pool otherwise; everything else goes, one statement at a time,
//! to the database's writer after this connection reaches the head of its queue. A statement
//! that ends a transaction with changes comes back as [`crate::sql::writer::Outcome::Commit`]
//! (the writer proposed its entry) and is answered once it is committed and applied.

use std::sync::Arc;

use dqlite_proto::{code, Response, Value};
use tokio::sync::{mpsc, oneshot};

use super::{reply, Bound, Gateway, Out, Prepared};
use crate::command::Command;
use crate::error::{Error, Result};
use crate::sql::classify::{self, Keyword};
use crate::sql::exec::Mode;
use crate::sql::local::{self, Local};
use crate::sql::reader::{ReadJob, ReadOutcome};
use crate::sql::registry::{check_name, Db};
use crate::sql::writer::WriterCmd;

impl Gateway {
    pub(super) async fn open(&mut self, name: String, out: &mut Out<'_>) -> Result<()> {
        if !self.node.is_serving() {
            return Err(Error::NotLeader);
        }
        if self.bound.is_some() {
            return Err(Error::failure(
                5,
                "a database for this connection is already open",
            ));
        }
        let epoch = self.node.epoch();
        let db = match self.node.registry.get(&name) {
            Some(db) => db,
            None => {
                // Checked before proposing: a committed OPEN must apply on every node.
                check_name(&name)?;
                let limit = self.node.config.max_databases;
                if self.node.registry.len() >= limit {
                    return Err(Error::failure(
                        code::ERROR,
                        format!("too many databases: this cluster holds its limit of {limit}"),
                    ));
                }
                self.node
                    .propose(Command::Open { db: name.clone() })
                    .await?;
                self.node
                    .registry
                    .get(&name)
                    .ok_or_else(|| Error::internal("database not created"))?
            }
        };
        self.bound = Some(Bound { db, epoch });
        reply(out, Response::Db { id: 0 }).await
    }

    pub(super) async fn prepare(
        &mut self,
        db: u64,
        sql: String,
        with_tail: bool,
        out: &mut Out<'_>,
    ) -> Result<()> {
        let db = self.check_db(db)?;
        let max = self.node.config.max_statements;
        if self.stmts.iter().filter(|s| s.is_some()).count() >= max {
            return Err(Error::failure(
                code::ERROR,
                format!("too many prepared statements (limit {max}): finalize some first"),
            ));
        }
        let (params, tail) = self.prepare_on(&db, sql.clone()).await?;
        if !with_tail && !sql[tail..].trim().is_empty() {
            match self.prepare_on(&db, sql[tail..].to_owned()).await {
                Err(Error::Failure { code: 0, .. }) => {}
                _ => return Err(Error::failure(1, "nonempty statement tail")),
            }
        }
        let slot = self
            .stmts
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.stmts.len());
        let prepared = Prepared {
            sql: sql[..tail].to_owned(),
        };
        if slot == self.stmts.len() {
            self.stmts.push(Some(prepared));
        } else {
            self.stmts[slot] = Some(prepared);
        }
        let resp = Response::Stmt {
            db: 0,
            id: slot as u32,
            params: params as u64,
            tail_offset: with_tail.then_some(tail as u64),
        };
        reply(out, resp).await
    }

    async fn prepare_on(&self, db: &Arc<Db>, sql: String) -> Result<(usize, usize)> {
        if self.in_tx {
            return db.writer.call(|tx| WriterCmd::Prepare(sql, tx)).await?;
        }
        local::prepare(db, &self.node.registry.limits, &sql)
    }

    /// The SQL of prepared statement `id` (after the leader and database checks).
    pub(super) fn statement(&mut self, db: u64, id: u32) -> Result<String> {
        self.check_db(db)?;
        match self.stmts.get(id as usize) {
            Some(Some(p)) => Ok(p.sql.clone()),
            _ => Err(Error::no_statement()),
        }
    }

    pub(super) async fn finalize(&mut self, db: u64, id: u32, out: &mut Out<'_>) -> Result<()> {
        let epoch_ok = self
            .bound
            .as_ref()
            .is_some_and(|b| b.epoch == self.node.epoch());
        if db != 0 || !epoch_ok {
            return Err(Error::no_database());
        }
        match self.stmts.get_mut(id as usize) {
            Some(slot @ Some(_)) => *slot = None,
            _ => return Err(Error::no_statement()),
        }
        while matches!(self.stmts.last(), Some(None)) {
            self.stmts.pop();
        }
        reply(out, Response::Empty).await
    }

    /// EXEC_SQL (and EXEC): every statement in order, parameters consumed sequentially.
    pub(super) async fn exec_sql(
        &mut self,
        sql: String,
        params: Vec<Value>,
        out: &mut Out<'_>,
    ) -> Result<()> {
        let db = self.check_db(0)?;
        // The text and parameters travel to the writer and back, statement by statement,
        // without being copied.
        let (mut rest, mut params) = (sql, params);
        loop {
            if rest.trim().is_empty() {
                break;
            }
            let ran = self.on_writer(&db, rest, params, Mode::Exec).await?;
            let Some(left) = ran else { break };
            (rest, params) = left;
        }
        let r = self.sticky;
        reply(
            out,
            Response::Result {
                last_insert_id: r.last_insert_id,
                rows_affected: r.rows_affected,
            },
        )
        .await
    }

    /// QUERY_SQL (and QUERY): one statement, rows streamed in batches.
    pub(super) async fn query_sql(
        &mut self,
        sql: String,
        params: Vec<Value>,
        out: &mut Out<'_>,
    ) -> Result<()> {
        let db = self.check_db(0)?;
        let keyword = classify::keyword(&sql);
        if !self.in_tx && keyword == Keyword::Read && self.read(&db, &sql, &params, out).await? {
            return Ok(());
        }
        if sql.trim().is_empty() {
            return Err(Error::failure(0, "empty statement"));
        }
        self.query_on_writer(&db, sql, keyword, params, out).await
    }

    /// Answers a read outside a transaction: a short one here, on this connection's thread,
    /// anything longer from the read pool. Returns false when the statement must run on the
    /// writer.
    async fn read(
        &mut self,
        db: &Arc<Db>,
        sql: &str,
        params: &[Value],
        out: &mut Out<'_>,
    ) -> Result<bool> {
        match local::query(db, &self.node.registry.limits, self.conn, sql, params)? {
            Local::Rows(batch) => {
                self.node.confirm_read().await?;
                out.send_raw(&batch).await?;
                Ok(true)
            }
            Local::NeedsWriter => Ok(false),
            Local::TooLong => self.read_on_pool(db, sql, params, out).await,
        }
    }

    /// Streams a read from the pool. Returns false when the statement must run on the writer.
    async fn read_on_pool(
        &mut self,
        db: &Arc<Db>,
        sql: &str,
        params: &[Value],
        out: &mut Out<'_>,
    ) -> Result<bool> {
        let (rows_tx, mut rows_rx) = mpsc::channel(8);
        let (tx, rx) = oneshot::channel();
        let job = ReadJob {
            owner: self.conn,
            db: db.clone(),
            sql: sql.to_owned(),
            params: params.to_vec(),
            rows: rows_tx,
            reply: tx,
        };
        self.node.registry.readers.submit(job)?;
        // A client that takes no batch for the busy timeout is dropped: the channel closes,
        // which stops the statement and frees the reader thread.
        let patience = self.node.config.busy_timeout;
        let mut io_error = None;
        let mut confirmed = false;
        while let Some(batch) = rows_rx.recv().await {
            if !confirmed {
                // The snapshot was taken before the first batch was made.
                self.node.confirm_read().await?;
                confirmed = true;
            }
            if io_error.is_none() {
                let sent = tokio::time::timeout(patience, out.send_raw(&batch))
                    .await
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "client did not read its rows in time",
                        ))
                    });
                if let Err(e) = sent {
                    io_error = Some(e);
                    rows_rx.close();
                }
            }
        }
        if let Some(e) = io_error {
            return Err(Error::Io(e));
        }
        match rx.await.map_err(|_| Error::internal("reader stopped"))?? {
            ReadOutcome::Streamed => Ok(true),
            ReadOutcome::NeedsWriter => Ok(false),
        }
    }
}
