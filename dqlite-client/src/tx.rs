//! Interactive transactions: [`Db::begin`] and the retrying [`Db::transaction`] helper.
//!
//! Nothing a transaction runs commits before its COMMIT, and the server rolls an unfinished
//! transaction back when its connection goes. So a failed statement inside one leaves
//! nothing applied and keeps its error, while COMMIT (or any text that may commit, sent
//! through [`Transaction::execute`]) whose outcome is unknown fails with
//! [`Error::CommitUnknown`] and is never retried.

use std::time::Instant;

use futures::future::BoxFuture;

use crate::db::{Db, Op, Request};
use crate::error::{Error, Result, RetryAction};
use crate::ops::ExecResult;
use crate::outcome::{judge, Kind};
use crate::retry::{retry_delay, Backoff};
use crate::row::Row;
use crate::rows::Rows;
use crate::stmt::{Conn, Statement};
use crate::types::IntoParams;

/// An open transaction on one leader connection, which nobody else can use meanwhile.
///
/// Finish it with [`Transaction::commit`] or [`Transaction::rollback`]. Dropped unfinished, it
/// is rolled back in the background and its connection returns to the pool afterwards.
///
/// Requests are not retried. A statement that fails keeps its error (the transaction has
/// committed nothing); text that may commit (COMMIT, END, or a ROLLBACK followed by more
/// statements) whose outcome is unknown fails with [`Error::CommitUnknown`].
#[derive(Debug)]
pub struct Transaction {
    conn: Option<Conn>,
}

impl Db {
    /// Opens a transaction (`BEGIN`) on a leader connection.
    pub async fn begin(&self) -> Result<Transaction> {
        let max_empty = self.pool.connector().config().max_empty_batches;
        let op = Op::new(Kind::Read, false, Request::Exec("BEGIN", &[]));
        let (_, conn) = self.with_retry(op).await?;
        Ok(Transaction {
            conn: Some(Conn::new(conn, max_empty).in_transaction()),
        })
    }

    /// Runs `f` in a transaction and commits it. When the transaction fails because the
    /// database was busy or the leader changed before the commit, the whole closure runs
    /// again on a new transaction, within the retry budget. A commit whose outcome is
    /// unknown is never retried ([`Error::CommitUnknown`]).
    ///
    /// **The closure may run more than once.** Everything it does through `tx` is rolled
    /// back before a new attempt, but a side effect it performs any other way (a write
    /// through another [`Db`] call or transaction, a message sent, a counter bumped) is
    /// repeated on every attempt. Keep such effects out of the closure, or after the call
    /// returns.
    ///
    /// The closure returns a boxed future, so the whole call stays `Send`:
    ///
    /// ```no_run
    /// # async fn demo(db: dqlite_client::Db) -> dqlite_client::Result<()> {
    /// let n: i64 = db
    ///     .transaction(|tx| Box::pin(async move {
    ///         tx.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (1,)).await?;
    ///         tx.query_one("SELECT n FROM counters WHERE id = ?", (1,)).await?.get(0)
    ///     }))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, F>(&self, mut f: F) -> Result<T>
    where
        F: for<'t> FnMut(&'t mut Transaction) -> BoxFuture<'t, Result<T>>,
    {
        let config = self.pool.connector().config();
        let deadline = Instant::now() + config.retry_budget;
        let mut backoff = Backoff::new(config);
        loop {
            let mut tx = self.begin().await?;
            let err = match f(&mut tx).await {
                Ok(value) => match tx.commit().await {
                    Ok(()) => return Ok(value),
                    Err(e) => e,
                },
                Err(e) => {
                    // The closure's error decides; a failed rollback only closes the connection.
                    let _ = tx.rollback().await;
                    e
                }
            };
            let (err, action) = judge(err, Kind::Read, true);
            if err.is_commit_unknown() {
                return Err(err);
            }
            // A whole transaction always backs off before running again.
            let action = if action == RetryAction::None {
                action
            } else {
                RetryAction::Backoff
            };
            let Some(delay) = retry_delay(action, &mut backoff, deadline) else {
                return Err(err);
            };
            tracing::debug!(error = %err, "retrying transaction");
            tokio::time::sleep(delay).await;
        }
    }
}

impl Transaction {
    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("the transaction is finished".into()))
    }

    /// The node (leader) this transaction runs on; `None` once it is finished.
    pub fn node(&self) -> Option<&str> {
        self.conn.as_ref().map(Conn::node)
    }

    /// Executes SQL inside the transaction. Text that may commit (COMMIT, END) and whose
    /// outcome is unknown fails with [`Error::CommitUnknown`]; other failures keep their error.
    pub async fn execute(&mut self, sql: &str, params: impl IntoParams) -> Result<ExecResult> {
        self.conn()?.execute(sql, params).await
    }

    /// Runs a query inside the transaction.
    pub async fn query(&mut self, sql: &str, params: impl IntoParams) -> Result<Rows<'_>> {
        self.conn()?.query(sql, params).await
    }

    /// All rows of a query.
    pub async fn query_all(&mut self, sql: &str, params: impl IntoParams) -> Result<Vec<Row>> {
        self.query(sql, params).await?.all().await
    }

    /// The first row of a query; [`Error::NoRows`] when there is none.
    pub async fn query_one(&mut self, sql: &str, params: impl IntoParams) -> Result<Row> {
        self.query_opt(sql, params).await?.ok_or(Error::NoRows)
    }

    /// The first row of a query, if any.
    pub async fn query_opt(&mut self, sql: &str, params: impl IntoParams) -> Result<Option<Row>> {
        self.query(sql, params).await?.next().await
    }

    /// Prepares a statement inside the transaction.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement<'_>> {
        self.conn()?.prepare(sql).await
    }

    /// Commits. Leadership lost during the commit, or a connection lost after `COMMIT` was
    /// sent, gives [`Error::CommitUnknown`] (the connection classifies COMMIT as a write).
    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| Error::InvalidRequest("finished".into()))?;
        let res = conn.execute("COMMIT", ()).await;
        if res.is_err() {
            // A failed COMMIT may leave the transaction open (deferred constraints):
            // closing the connection makes the server roll it back.
            conn.into_inner().discard();
        }
        res.map(drop)
    }

    /// Rolls back.
    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| Error::InvalidRequest("finished".into()))?;
        let res = conn.execute("ROLLBACK", ()).await.map(drop);
        if res.is_err() {
            conn.into_inner().discard();
        }
        res
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if conn.execute("ROLLBACK", ()).await.is_err() {
                        conn.into_inner().discard();
                    }
                });
            }
            // Without a runtime, closing the connection makes the server roll back.
            Err(_) => conn.into_inner().discard(),
        }
    }
}
