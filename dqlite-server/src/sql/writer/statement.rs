//! Running one client statement on the writer: transaction control (virtual BEGIN / COMMIT /
//! ROLLBACK inside the batch), DDL and persistent PRAGMAs recorded as SQL in order with the
//! changesets around them, CREATE TABLE AS SELECT, and the deferred-foreign-key check.

use super::cmd::{Outcome, Ran, StmtJob};
use super::pending::Commit;
use super::state::Writer;
use crate::command::Op;
use crate::error::{Error, Result};
use crate::sql::classify::{self, AuthInfo, Keyword};
use crate::sql::exec::{self, ExecResult, Mode};
use crate::sql::session::Session;
use crate::sql::stmt::RawStmt;
use crate::sql::tx::TxState;

impl Writer {
    /// Runs the first statement of `job.sql`.
    pub(super) fn statement(&mut self, job: StmtJob) -> Result<Outcome> {
        // The statement time limit and INTERRUPT apply from here (see `limit`).
        let _client = crate::sql::limit::client(job.owner);
        match &self.tx {
            Some(t) if t.owner != job.owner => return Err(Error::busy()),
            None if job.in_tx => return Err(Error::NotLeader),
            _ => {}
        }
        self.check_term()?;
        if let Ok(mut info) = self.auth.lock() {
            *info = AuthInfo::default();
        }
        let (stmt, tail, info) = match self.cache.take(&job.sql) {
            Some((stmt, info)) => (stmt, job.sql.len(), info),
            None => {
                let prepared = RawStmt::prepare(&self.conn, &job.sql)?;
                let Some(stmt) = prepared.stmt else {
                    return Ok(Outcome::Empty);
                };
                let info = self.auth.lock().map(|i| i.clone()).unwrap_or_default();
                (stmt, prepared.tail, info)
            }
        };
        if job.strict() {
            exec::check_tail(&self.conn, &job.sql[tail..])?;
        }
        let text = &job.sql[..tail];
        let kw = job.keyword;
        let mut ran = Ran {
            tail,
            ..Ran::default()
        };
        let res = self.dispatch(kw, text, stmt, &info, &job, &mut ran);
        ran.text = job.sql;
        ran.params = job.params;
        ran.result = ExecResult::of(&self.conn);
        ran.dml = info.dml;
        ran.in_tx = self.tx.is_some();
        match res? {
            Some((tx, visible)) => Ok(Outcome::Commit { tx, ran, visible }),
            None => Ok(Outcome::Done(ran)),
        }
    }

    fn dispatch(
        &mut self,
        kw: Keyword,
        text: &str,
        mut stmt: RawStmt,
        info: &AuthInfo,
        job: &StmtJob,
        ran: &mut Ran,
    ) -> Result<Option<Commit>> {
        let no_tx = |what: &str| {
            Err(Error::failure(
                1,
                format!("cannot {what} - no transaction is active"),
            ))
        };
        match (self.tx.is_some(), kw) {
            (_, Keyword::Vacuum) if classify::is_vacuum_into(text) => Err(Error::not_authorized()),
            (false, Keyword::Vacuum) => {
                exec::step_exec(&mut stmt)?;
                Ok(None)
            }
            (true, Keyword::Vacuum) => {
                Err(Error::failure(1, "cannot VACUUM from within a transaction"))
            }
            (false, Keyword::Begin) => {
                self.begin_client_tx(job.owner, None)?;
                Ok(None)
            }
            (true, Keyword::Begin) => Err(Error::failure(
                1,
                "cannot start a transaction within a transaction",
            )),
            (false, Keyword::Commit) => no_tx("commit"),
            (false, Keyword::Rollback) => no_tx("rollback"),
            (false, Keyword::Release | Keyword::RollbackTo) => Err(Error::failure(
                1,
                format!(
                    "no such savepoint: {}",
                    classify::savepoint_name(text).unwrap_or_default()
                ),
            )),
            (false, Keyword::Savepoint) => {
                self.begin_client_tx(job.owner, classify::savepoint_name(text))?;
                if let Err(e) = exec::step_exec(&mut stmt) {
                    self.rollback_client_tx();
                    return Err(e);
                }
                Ok(None)
            }
            (false, _) => {
                self.begin_client_tx(job.owner, None)?;
                let res = self
                    .run_in_tx(&mut stmt, text, info, job, ran)
                    .and_then(|()| self.check_deferred_fks());
                if let Err(e) = res {
                    self.undo_after_error();
                    return Err(e);
                }
                self.cache_back(text, ran.tail, stmt, info);
                self.commit_client_tx()
            }
            (true, Keyword::Commit) => {
                self.check_deferred_fks()?;
                self.commit_client_tx()
            }
            (true, Keyword::Rollback) => {
                self.rollback_client_tx();
                Ok(None)
            }
            (true, Keyword::Savepoint | Keyword::Release | Keyword::RollbackTo) => {
                exec::step_exec(&mut stmt)?;
                let name = classify::savepoint_name(text);
                let tx = self
                    .tx
                    .as_mut()
                    .ok_or_else(|| Error::internal("no transaction"))?;
                if tx.savepoint(kw, name) {
                    // RELEASE of the savepoint that opened the transaction commits it.
                    self.check_deferred_fks()?;
                    return self.commit_client_tx();
                }
                Ok(None)
            }
            (true, _) => {
                let res = self.run_in_tx(&mut stmt, text, info, job, ran);
                if res.is_err() && self.conn.is_autocommit() {
                    // SQLite rolled the whole batch back (for example ON CONFLICT ROLLBACK).
                    self.batch.open = false;
                    self.reset(false);
                }
                res?;
                self.cache_back(text, ran.tail, stmt, info);
                Ok(None)
            }
        }
    }

    /// After a failed autocommit statement: undo it alone, or recover if SQLite rolled back
    /// the whole batch.
    fn undo_after_error(&mut self) {
        if self.conn.is_autocommit() {
            self.batch.open = false;
            self.reset(false);
        } else {
            self.rollback_client_tx();
        }
    }

    fn cache_back(&mut self, text: &str, tail: usize, stmt: RawStmt, info: &AuthInfo) {
        if !info.ddl && !info.replay {
            self.cache.give_back(text, tail, stmt, info.clone());
        }
    }

    /// Runs a statement inside the open transaction, recording DDL and persistent PRAGMAs as
    /// SQL operations in order with the changesets around them.
    fn run_in_tx(
        &mut self,
        stmt: &mut RawStmt,
        text: &str,
        info: &AuthInfo,
        job: &StmtJob,
        ran: &mut Ran,
    ) -> Result<()> {
        let schema_change = info.ddl || info.replay;
        let version_before = if schema_change {
            self.flush_session()?;
            Some(self.schema_version()?)
        } else {
            None
        };
        ran.used = exec::bind(stmt, &job.params, job.strict())?;
        ran.produced_rows = job.mode == Mode::Query;
        match job.mode {
            Mode::Exec => exec::step_exec(stmt)?,
            Mode::Query => match &job.rows {
                // Only reads stream: a statement that writes must not fail half-way because
                // of its client once its changes are made. Nor does a read running on top of
                // pending transactions: its rows wait in the answer until those are visible.
                Some(sink) if stmt.readonly() && self.batch.pending.is_empty() => {
                    exec::stream_rows(stmt, &mut |b| {
                        sink.blocking_send(b)
                            .map_err(|_| Error::failure(1, "client stopped reading rows"))
                    })?;
                }
                _ => {
                    let rows = &mut ran.rows;
                    exec::stream_rows(stmt, &mut |b| {
                        rows.push(b);
                        Ok(())
                    })?;
                }
            },
        }
        if let Some(before) = version_before {
            let changed = info.replay || self.schema_version()? != before;
            match (&info.created_table, info.selects) {
                (Some(table), true) if changed => self.replicate_ctas(table)?,
                _ if changed => self.tx_mut()?.ops.push(Op::Sql(text.to_owned())),
                _ => {}
            }
            if self.session.is_none() {
                self.session = Some(Session::new(&self.conn)?);
            }
        }
        if info.ddl {
            self.pk_cache.clear();
        }
        self.pk_cache.check(&self.conn, &info.written)
    }

    /// CREATE TABLE ... AS SELECT: sessions do not see the rows it inserts, so the rows are
    /// moved aside, the table's schema (from `sqlite_schema`) is replicated as SQL, and the
    /// rows are inserted again under a fresh session, which records them.
    fn replicate_ctas(&mut self, table: &str) -> Result<()> {
        let schema: String = self.conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )?;
        let cols: Vec<String> = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([table], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let list = cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
        self.conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.dqlite_ctas;
             CREATE TEMP TABLE dqlite_ctas AS SELECT rowid AS dqlite_rowid, {list} FROM main.{t};
             DELETE FROM main.{t};",
            t = q(table)
        ))?;
        self.tx_mut()?.ops.push(Op::Sql(schema));
        self.session = Some(Session::new(&self.conn)?);
        self.conn.execute_batch(&format!(
            "INSERT INTO main.{t}(rowid, {list}) SELECT * FROM temp.dqlite_ctas;
             DROP TABLE temp.dqlite_ctas;",
            t = q(table)
        ))?;
        Ok(())
    }

    /// Fails like SQLite's COMMIT would (the transaction stays open) when deferred foreign
    /// keys are unresolved: such a transaction must never reach the log, because followers
    /// apply changesets without foreign-key checks.
    fn check_deferred_fks(&self) -> Result<()> {
        let (mut cur, mut hi) = (0, 0);
        // SAFETY: live connection handle; out-pointers are valid.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                self.conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_DEFERRED_FKS,
                &mut cur,
                &mut hi,
                0,
            )
        };
        if rc == rusqlite::ffi::SQLITE_OK && cur > 0 {
            return Err(Error::failure(787, "FOREIGN KEY constraint failed"));
        }
        Ok(())
    }

    fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA schema_version", [], |r| r.get(0))?)
    }

    fn tx_mut(&mut self) -> Result<&mut TxState> {
        self.tx
            .as_mut()
            .ok_or_else(|| Error::internal("no transaction open"))
    }

    /// Moves what the session recorded so far into the transaction's operations.
    fn flush_session(&mut self) -> Result<()> {
        if let Some(s) = self.session.take() {
            let cs = s.changeset(&self.conn)?;
            if !cs.is_empty() {
                self.tx_mut()?.ops.push(Op::Changeset(cs));
            }
        }
        Ok(())
    }

    pub(super) fn take_ops(&mut self) -> Result<Vec<Op>> {
        self.flush_session()?;
        Ok(std::mem::take(&mut self.tx_mut()?.ops))
    }
}
