//! An exclusively held connection ([`Conn`]) and prepared statements on it ([`Statement`]).
//! Nothing here is retried; failures are classified by [`judge`] like everywhere else.

use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::hedge::hedged;
use crate::ops::{ExecResult, StmtInfo};
use crate::outcome::{judge, Kind};
use crate::pool::PooledConn;
use crate::row::Row;
use crate::rows::{Rows, Source};
use crate::types::IntoParams;

/// A pooled connection held exclusively until dropped. Requests on it are not retried (a
/// leader change also keeps the connection from returning to the pool), but they are
/// hedged like [`crate::Db`]'s: one that a leader stops answering ends once another node
/// leads (see [`crate::Config::hedge_after`]).
///
/// A request that may write and whose outcome is unknown fails with
/// [`Error::CommitUnknown`], as on [`crate::Db`]: leadership lost (10506), or a timeout,
/// I/O or protocol error after it was sent; for a text of several statements any failure
/// after it was sent. Reads and PREPARE keep their error. The connection does not track
/// a transaction opened with `execute("BEGIN")`, so statements inside one are judged as
/// if each committed; use [`crate::Transaction`] for a precise report.
#[derive(Debug)]
pub struct Conn {
    conn: PooledConn,
    /// For hedging requests: the pool's connector and this connection's node, kept beside
    /// the connection so that a request can borrow them while it holds the connection.
    connector: Connector,
    node: String,
    max_empty: u32,
    in_transaction: bool,
}

impl Conn {
    pub(crate) fn new(conn: PooledConn, max_empty: u32) -> Conn {
        Conn {
            connector: conn.connector(),
            node: conn.node().to_owned(),
            conn,
            max_empty,
            in_transaction: false,
        }
    }

    /// Marks the connection as holding an open transaction (see [`Kind`]).
    pub(crate) fn in_transaction(mut self) -> Conn {
        self.in_transaction = true;
        self
    }

    /// What a failure of `sql` may have done on this connection.
    fn kind(&self, sql: &str) -> Kind {
        if self.in_transaction {
            Kind::of_sql_in_transaction(sql)
        } else {
            Kind::of_sql(sql)
        }
    }

    /// Refuses a request on a connection that is out of step, before anything is sent: its
    /// outcome is known (nothing ran), so this error is not judged.
    fn ready(&self) -> Result<()> {
        if self.conn.is_usable() {
            Ok(())
        } else {
            Err(Error::protocol(
                self.node(),
                "connection is out of step after an interrupted or failed request",
            ))
        }
    }

    /// The node this connection talks to.
    pub fn node(&self) -> &str {
        self.conn.node()
    }

    /// Passes a result through, noting a leader change so the pool drops its connections,
    /// and reporting an unknown outcome of a request of `kind` as [`Error::CommitUnknown`].
    fn check<T>(&self, res: Result<T>, kind: Kind) -> Result<T> {
        res.map_err(|e| {
            if e.shows_leader_change() {
                self.conn.note_leader_change();
            }
            judge(e, kind, false).0
        })
    }

    /// Executes SQL (EXEC_SQL) on this connection.
    pub async fn execute(&mut self, sql: &str, params: impl IntoParams) -> Result<ExecResult> {
        let params = params.into_params()?;
        self.ready()?;
        let res = hedged(&self.connector, &self.node, self.conn.exec_sql(sql, params)).await;
        self.check(res, self.kind(sql))
    }

    /// Runs a query (QUERY_SQL) on this connection.
    pub async fn query(&mut self, sql: &str, params: impl IntoParams) -> Result<Rows<'_>> {
        let params = params.into_params()?;
        self.ready()?;
        let res = hedged(
            &self.connector,
            &self.node,
            self.conn.query_sql(sql, params),
        )
        .await;
        let frame = self.check(res, self.kind(sql))?;
        Rows::new(Source::Borrowed(&mut self.conn), frame, self.max_empty)
    }

    /// All rows of a query on this connection.
    pub async fn query_all(&mut self, sql: &str, params: impl IntoParams) -> Result<Vec<Row>> {
        self.query(sql, params).await?.all().await
    }

    /// Prepares a statement on this connection; it is finalized when dropped. PREPARE runs
    /// nothing, so its errors are reported as they are.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement<'_>> {
        self.ready()?;
        let res = self.conn.prepare_stmt(sql).await;
        let info = self.check(res, Kind::Read)?;
        let kind = self.kind(sql);
        Ok(Statement::new(self, info, kind))
    }

    pub(crate) fn into_inner(self) -> PooledConn {
        self.conn
    }
}

/// A prepared statement, bound to the connection it was prepared on. Dropping it queues a
/// FINALIZE that is sent before the connection's next request. Its failures are reported
/// as [`Conn`]'s are: [`Error::CommitUnknown`] when a statement that may write may have
/// committed.
#[derive(Debug)]
pub struct Statement<'c> {
    conn: &'c mut Conn,
    id: u32,
    params: u64,
    kind: Kind,
}

impl<'c> Statement<'c> {
    fn new(conn: &'c mut Conn, info: StmtInfo, kind: Kind) -> Statement<'c> {
        Statement {
            conn,
            id: info.id,
            params: info.params,
            kind,
        }
    }

    /// Number of parameters the statement takes.
    pub fn parameter_count(&self) -> u64 {
        self.params
    }

    /// Executes the statement (EXEC).
    pub async fn execute(&mut self, params: impl IntoParams) -> Result<ExecResult> {
        let params = params.into_params()?;
        self.conn.ready()?;
        let c = &mut *self.conn;
        let res = hedged(&c.connector, &c.node, c.conn.exec_stmt(self.id, params)).await;
        self.conn.check(res, self.kind)
    }

    /// Runs the statement as a query (QUERY).
    pub async fn query(&mut self, params: impl IntoParams) -> Result<Rows<'_>> {
        let params = params.into_params()?;
        self.conn.ready()?;
        let c = &mut *self.conn;
        let res = hedged(&c.connector, &c.node, c.conn.query_stmt(self.id, params)).await;
        let frame = self.conn.check(res, self.kind)?;
        let max_empty = self.conn.max_empty;
        Rows::new(Source::Borrowed(&mut self.conn.conn), frame, max_empty)
    }

    /// All rows of the statement run as a query.
    pub async fn query_all(&mut self, params: impl IntoParams) -> Result<Vec<Row>> {
        self.query(params).await?.all().await
    }

    /// The first row; [`Error::NoRows`] when there is none.
    pub async fn query_one(&mut self, params: impl IntoParams) -> Result<Row> {
        let mut rows = self.query(params).await?;
        rows.next().await?.ok_or(Error::NoRows)
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        self.conn.conn.finalize_later(self.id);
    }
}
