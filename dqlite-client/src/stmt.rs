//! An exclusively held connection ([`Conn`]) and prepared statements on it ([`Statement`]).

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::ops::{ExecResult, StmtInfo};
use crate::pool::PooledConn;
use crate::row::Row;
use crate::rows::{Rows, Source};
use crate::types::IntoParams;

/// A pooled connection held exclusively until dropped. Requests on it are not retried: a
/// failure is reported as is (a leader change also closes the connection).
#[derive(Debug)]
pub struct Conn {
    conn: PooledConn,
    max_empty: u32,
}

impl Conn {
    pub(crate) fn new(conn: PooledConn, max_empty: u32) -> Conn {
        Conn { conn, max_empty }
    }

    /// The node this connection talks to.
    pub fn node(&self) -> &str {
        self.conn.node()
    }

    /// Passes a result through, noting a leader change so the pool drops its connections.
    pub(crate) fn check<T>(&self, res: Result<T>) -> Result<T> {
        if let Err(e) = &res {
            if e.shows_leader_change() {
                self.conn.note_leader_change();
            }
        }
        res
    }

    /// Executes SQL (EXEC_SQL) on this connection.
    pub async fn execute(&mut self, sql: &str, params: impl IntoParams) -> Result<ExecResult> {
        let params = params.into_params()?;
        let res = self.conn.exec_sql(sql, params).await;
        self.check(res)
    }

    /// Runs a query (QUERY_SQL) on this connection.
    pub async fn query(&mut self, sql: &str, params: impl IntoParams) -> Result<Rows<'_>> {
        let params = params.into_params()?;
        let res = self.conn.query_sql(sql, params).await;
        let frame = self.check(res)?;
        Rows::new(Source::Borrowed(&mut self.conn), frame, self.max_empty)
    }

    /// Prepares a statement on this connection; it is finalized when dropped.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement<'_>> {
        let res = self.conn.prepare_stmt(sql).await;
        let info = self.check(res)?;
        Ok(Statement::new(&mut self.conn, info, self.max_empty))
    }

    pub(crate) fn into_inner(self) -> PooledConn {
        self.conn
    }
}

/// A prepared statement, bound to the connection it was prepared on. Dropping it queues a
/// FINALIZE that is sent before the connection's next request.
#[derive(Debug)]
pub struct Statement<'c> {
    conn: &'c mut Connection,
    id: u32,
    params: u64,
    max_empty: u32,
}

impl<'c> Statement<'c> {
    pub(crate) fn new(conn: &'c mut Connection, info: StmtInfo, max_empty: u32) -> Statement<'c> {
        Statement {
            conn,
            id: info.id,
            params: info.params,
            max_empty,
        }
    }

    /// Number of parameters the statement takes.
    pub fn parameter_count(&self) -> u64 {
        self.params
    }

    /// Executes the statement (EXEC).
    pub async fn execute(&mut self, params: impl IntoParams) -> Result<ExecResult> {
        let params = params.into_params()?;
        self.conn.exec_stmt(self.id, params).await
    }

    /// Runs the statement as a query (QUERY).
    pub async fn query(&mut self, params: impl IntoParams) -> Result<Rows<'_>> {
        let params = params.into_params()?;
        let frame = self.conn.query_stmt(self.id, params).await?;
        Rows::new(Source::Borrowed(self.conn), frame, self.max_empty)
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
        self.conn.finalize_later(self.id);
    }
}
