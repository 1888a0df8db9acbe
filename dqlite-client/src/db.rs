//! [`Db`]: a cheap-to-clone handle on one database of a cluster, with a connection pool and
//! the retry rules (docs/wire-protocol.md §11, docs/go-dqlite.md §1.2, done safely).

use std::sync::Arc;
use std::time::Instant;

use dqlite_proto::{Frame, Value};

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::hedge::hedged;
use crate::ops::ExecResult;
use crate::outcome::{judge, Kind};
use crate::pool::{Pool, PooledConn};
use crate::retry::{retry_delay, Backoff};
use crate::row::Row;
use crate::rows::{Rows, Source};
use crate::sql;
use crate::stmt::Conn;
use crate::types::IntoParams;

/// One request the retry loop may send several times.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Request<'a> {
    /// EXEC_SQL.
    Exec(&'a str, &'a [Value]),
    /// QUERY_SQL.
    Query(&'a str, &'a [Value]),
    /// Nothing: just a connection.
    Nothing,
}

/// What a [`Request`] produced.
#[derive(Debug)]
pub(crate) enum Output {
    Exec(ExecResult),
    Rows(Frame),
    Nothing,
}

/// A request with its retry rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op<'a> {
    kind: Kind,
    retry_busy: bool,
    request: Request<'a>,
}

impl<'a> Op<'a> {
    pub fn new(kind: Kind, retry_busy: bool, request: Request<'a>) -> Op<'a> {
        Op {
            kind,
            retry_busy,
            request,
        }
    }

    async fn run(&self, conn: &mut Connection) -> Result<Output> {
        match self.request {
            Request::Exec(sql, params) => {
                conn.exec_sql(sql, params.to_vec()).await.map(Output::Exec)
            }
            Request::Query(sql, params) => {
                conn.query_sql(sql, params.to_vec()).await.map(Output::Rows)
            }
            Request::Nothing => Ok(Output::Nothing),
        }
    }
}

/// A handle on one database, shared by clones. Each call takes a pooled connection to the
/// leader, and retries on the new leader when the request certainly did not execute.
///
/// A write whose outcome is unknown (leadership lost while committing, or the connection
/// dropped after the request was sent) is never retried: it fails with
/// [`Error::CommitUnknown`]. So does any failure of a multi-statement write once it was
/// sent (see [`Db::execute`]).
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: Arc<Pool>,
}

impl Db {
    /// The database name.
    pub fn name(&self) -> &str {
        self.pool.database()
    }

    /// Runs `op` on a pooled leader connection, retrying within the budget as [`judge`]
    /// allows. Returns the result and the connection it ran on.
    pub(crate) async fn with_retry(&self, op: Op<'_>) -> Result<(Output, PooledConn)> {
        let config = self.pool.connector().config();
        let deadline = Instant::now() + config.retry_budget;
        let mut backoff = Backoff::new(config);
        loop {
            let mut conn = match self.pool.acquire_until(deadline).await {
                Ok(conn) => conn,
                Err(e)
                    if (e.is_not_leader() || e.is_connection_error())
                        && Instant::now() < deadline =>
                {
                    tracing::debug!(error = %e, "opening a leader connection failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let node = conn.node().to_owned();
            let err = match hedged(self.pool.connector(), &node, op.run(&mut conn)).await {
                Ok(v) => return Ok((v, conn)),
                Err(e) => e,
            };
            if err.shows_leader_change() {
                conn.leader_changed();
            } else if !conn.is_usable() {
                conn.discard();
            } else {
                drop(conn);
            }
            let (err, action) = judge(err, op.kind, op.retry_busy);
            let Some(delay) = retry_delay(action, &mut backoff, deadline) else {
                return Err(err);
            };
            tracing::debug!(error = %err, ?action, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    fn retry_busy(&self) -> bool {
        self.pool.connector().config().retry_busy
    }

    fn max_empty(&self) -> u32 {
        self.pool.connector().config().max_empty_batches
    }

    /// Executes one or more statements (EXEC_SQL) in autocommit mode; the result describes
    /// the last statement. Text that opens a transaction without closing it is refused: use
    /// [`Db::begin`] or [`Db::transaction`].
    ///
    /// # Several statements
    ///
    /// The server runs the statements of one text one after the other, each as its own
    /// transaction, and stops at the first failure, whose FAILURE does not say which
    /// statement failed. So a text of several statements of which one may write (split as
    /// SQLite does: `;` inside strings, comments or a `CREATE TRIGGER ... END` body, and
    /// a trailing `;`, do not count) is sent at most once: any failure after it was sent,
    /// even not-leader (10250) or busy with [`Config::retry_busy`](crate::Config), fails with
    /// [`Error::CommitUnknown`] because earlier statements may have committed; the wrapped
    /// error tells what the server said. Only failures before the text reached the server
    /// (no leader, dial or send errors) are retried. To have a group of writes retried
    /// safely, run them in [`Db::transaction`] or as separate calls. Texts made only of
    /// SELECT, VALUES and EXPLAIN statements are retried like any read.
    pub async fn execute(&self, sql: &str, params: impl IntoParams) -> Result<ExecResult> {
        if sql::leaves_transaction_open(sql) {
            return Err(Error::InvalidRequest(
                "this SQL leaves a transaction open on a pooled connection; use Db::begin".into(),
            ));
        }
        let params = params.into_params()?;
        let op = Op::new(
            Kind::of_sql(sql),
            self.retry_busy(),
            Request::Exec(sql, &params),
        );
        match self.with_retry(op).await?.0 {
            Output::Exec(res) => Ok(res),
            _ => Err(Error::protocol(
                self.name(),
                "internal: exec gave no RESULT",
            )),
        }
    }

    /// Runs a query (QUERY_SQL) and streams its rows. The returned [`Rows`] holds a pooled
    /// connection until it is read to the end or dropped. A text that may write is retried
    /// under the same rules as [`Db::execute`].
    pub async fn query(&self, sql: &str, params: impl IntoParams) -> Result<Rows<'static>> {
        let params = params.into_params()?;
        let op = Op::new(
            Kind::of_sql(sql),
            self.retry_busy(),
            Request::Query(sql, &params),
        );
        match self.with_retry(op).await? {
            (Output::Rows(frame), conn) => Rows::new(Source::Pooled(conn), frame, self.max_empty()),
            _ => Err(Error::protocol(self.name(), "internal: query gave no ROWS")),
        }
    }

    /// All rows of a query.
    pub async fn query_all(&self, sql: &str, params: impl IntoParams) -> Result<Vec<Row>> {
        self.query(sql, params).await?.all().await
    }

    /// The first row of a query; [`Error::NoRows`] when there is none.
    pub async fn query_one(&self, sql: &str, params: impl IntoParams) -> Result<Row> {
        self.query_opt(sql, params).await?.ok_or(Error::NoRows)
    }

    /// The first row of a query, if any. The rest of the result is discarded.
    pub async fn query_opt(&self, sql: &str, params: impl IntoParams) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params).await?;
        rows.next().await
    }

    /// Takes a connection out of the pool for exclusive use (prepared statements, several
    /// requests on one connection). It returns to the pool when dropped.
    pub async fn acquire(&self) -> Result<Conn> {
        let (_, conn) = self
            .with_retry(Op::new(Kind::Read, false, Request::Nothing))
            .await?;
        Ok(Conn::new(conn, self.max_empty()))
    }

    /// Closes the pool: idle connections now, the others as they are returned.
    pub fn close(&self) {
        self.pool.close();
    }

    /// Idle connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }
}
