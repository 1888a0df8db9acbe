//! The write path of a connection: waiting in the database's writer queue, running one
//! statement on the writer (which proposes the entry of a finished transaction, in execution
//! order), and waiting until it is committed, applied and visible.

use std::sync::Arc;

use dqlite_proto::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::{Gateway, Out};
use crate::error::{Error, Result};
use crate::node::shared::Shared;
use crate::sql::classify::{self, Keyword};
use crate::sql::exec::Mode;
use crate::sql::registry::Db;
use crate::sql::writer::{Outcome, Ran, RowStream, StmtJob, WriterCmd};

impl Gateway {
    /// Runs a query on the writer and sends its rows. Inside a client transaction a read
    /// streams its batches as the writer fills them; other queries (those that write) are
    /// answered once their transaction is settled.
    pub(super) async fn query_on_writer(
        &mut self,
        db: &Arc<Db>,
        sql: String,
        keyword: Keyword,
        params: Vec<Value>,
        out: &mut Out<'_>,
    ) -> Result<()> {
        let stream = if self.in_tx { Some(&mut *out) } else { None };
        match self
            .writer_stmt(db, sql, keyword, params, Mode::Query, stream)
            .await?
        {
            None => Err(Error::failure(0, "empty statement")),
            Some(ran) => {
                if !ran.dml && !ran.rows.is_empty() {
                    // Rows that no commit confirmed: confirmed like any read.
                    self.node.confirm_read().await?;
                }
                // Transaction control and VACUUM run without producing ROWS: a QUERY of one
                // still gets its (empty) answer. A streamed query has sent its own.
                if !ran.produced_rows {
                    out.send_raw(&crate::sql::exec::no_rows()?).await?;
                }
                for batch in ran.rows {
                    out.send_raw(&batch).await?;
                }
                Ok(())
            }
        }
    }

    /// Runs the first statement of `sql` on the writer; `None` when there was none. Returns
    /// what is left after it: the rest of the text and the parameters it did not take.
    pub(super) async fn on_writer(
        &mut self,
        db: &Arc<Db>,
        sql: String,
        params: Vec<Value>,
        mode: Mode,
    ) -> Result<Option<(String, Vec<Value>)>> {
        let keyword = classify::keyword(&sql);
        let ran = self
            .writer_stmt(db, sql, keyword, params, mode, None)
            .await?;
        Ok(ran.map(|ran| {
            let (mut text, mut params) = (ran.text, ran.params);
            text.drain(..ran.tail.min(text.len()));
            params.drain(..ran.used.min(params.len()));
            (text, params)
        }))
    }

    /// The writer path shared by every statement: wait in the queue, hand the statement to
    /// the writer, settle the queue, then wait until a finished transaction is committed and
    /// visible. A statement that cannot leave a transaction open (anything but BEGIN or
    /// SAVEPOINT outside a transaction) frees the queue as soon as it is handed over: the
    /// writer runs statements in arrival order and proposes their entries itself, so the
    /// queue's FIFO order is kept while the writer always has the next statement at hand.
    /// With `stream`, a read-only query's rows are forwarded to it while the writer runs.
    async fn writer_stmt(
        &mut self,
        db: &Arc<Db>,
        sql: String,
        keyword: Keyword,
        params: Vec<Value>,
        mode: Mode,
        stream: Option<&mut Out<'_>>,
    ) -> Result<Option<Ran>> {
        self.acquire(db).await?;
        let early = !self.in_tx && !matches!(keyword, Keyword::Begin | Keyword::Savepoint);
        let (rows, rows_rx) = match stream {
            Some(_) => {
                let (tx, rx): (RowStream, _) = mpsc::channel(ROWS_IN_FLIGHT);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let job = StmtJob {
            owner: self.conn,
            in_tx: self.in_tx,
            sql,
            keyword,
            params,
            mode,
            rows,
        };
        // Any leadership change from here on makes the outcome of a commit unknown.
        let mut epoch = self.node.serving.watch_epoch();
        let start = *epoch.borrow_and_update();
        let (tx, rx) = oneshot::channel();
        let sent = db.writer.send(WriterCmd::Stmt(job, tx));
        if early || sent.is_err() {
            db.queue.release(self.conn);
        }
        sent?;
        // The writer drops its sender when the statement is done, which ends the forwarding.
        let stopped = match (stream, rows_rx) {
            (Some(out), Some(rows_rx)) => forward(rows_rx, out, &self.node).await,
            _ => None,
        };
        let res = rx
            .await
            .map_err(|_| Error::internal("database writer stopped"));
        let res = self.outcome(db, res).await;
        self.settle(db);
        if let Some(e) = stopped {
            return Err(e);
        }
        let (ran, wait) = res?;
        if let Some(visible) = wait {
            CommitWait {
                visible,
                epoch,
                start,
            }
            .wait()
            .await?;
        }
        Ok(ran)
    }

    async fn acquire(&mut self, db: &Arc<Db>) -> Result<()> {
        if !self.in_tx {
            db.queue
                .acquire(self.conn, self.node.config.busy_timeout)
                .await?;
        }
        Ok(())
    }

    /// Frees the writer queue unless a transaction stays open.
    fn settle(&mut self, db: &Arc<Db>) {
        if !self.in_tx {
            db.queue.release(self.conn);
        }
    }

    /// Takes the writer's answer: connection state, and what to await for a commit.
    async fn outcome(
        &mut self,
        db: &Arc<Db>,
        res: Result<Result<Outcome>>,
    ) -> Result<(Option<Ran>, Option<oneshot::Receiver<Result<()>>>)> {
        let outcome = match res? {
            Ok(o) => o,
            Err(e) => {
                self.refresh_tx(db).await;
                return Err(e);
            }
        };
        match outcome {
            Outcome::Empty => Ok((None, None)),
            Outcome::Done(ran) => {
                self.in_tx = ran.in_tx;
                if ran.dml {
                    self.sticky = ran.result;
                }
                Ok((Some(ran), None))
            }
            Outcome::Commit { ran, visible, .. } => {
                self.in_tx = false;
                if ran.dml {
                    self.sticky = ran.result;
                }
                Ok((Some(ran), Some(visible)))
            }
        }
    }

    /// After a failed statement: is a transaction still open for this connection?
    async fn refresh_tx(&mut self, db: &Arc<Db>) {
        if self.in_tx {
            // The writer reports `in_tx` on success only; ask it with an empty statement.
            let job = StmtJob {
                owner: self.conn,
                in_tx: true,
                sql: String::new(),
                keyword: Keyword::Other,
                params: Vec::new(),
                mode: Mode::Exec,
                rows: None,
            };
            self.in_tx = matches!(
                db.writer.call(|tx| WriterCmd::Stmt(job, tx)).await,
                Ok(Ok(_))
            );
        }
    }
}

/// ROWS batches a streaming query may have on their way to the connection.
const ROWS_IN_FLIGHT: usize = 8;

/// Sends streamed batches to the client until the writer is done with the statement. On a
/// socket error, or a client that takes no batch for `patience`, the channel is closed (the
/// writer then stops the statement) and the error is returned once the writer let go; the
/// connection is then dropped.
async fn forward(
    mut rows: mpsc::Receiver<bytes::BytesMut>,
    out: &mut Out<'_>,
    node: &Shared,
) -> Option<Error> {
    let patience = node.config.busy_timeout;
    let mut stopped = None;
    let mut confirmed = false;
    while let Some(batch) = rows.recv().await {
        if stopped.is_some() {
            continue;
        }
        if !confirmed {
            // What the transaction read is confirmed like any read before it leaves.
            if let Err(e) = node.confirm_read().await {
                stopped = Some(e);
                rows.close();
                continue;
            }
            confirmed = true;
        }
        let sent = match tokio::time::timeout(patience, out.send_raw(&batch)).await {
            Ok(sent) => sent,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client did not read its rows in time",
            )),
        };
        if let Err(e) = sent {
            stopped = Some(Error::Io(e));
            rows.close();
        }
    }
    stopped
}

/// Waits for a proposed transaction (or for what a statement read to be committed), watching
/// the leadership epoch seen before the statement went to the writer.
struct CommitWait {
    visible: oneshot::Receiver<Result<()>>,
    epoch: watch::Receiver<u64>,
    start: u64,
}

impl CommitWait {
    /// Waits until the transaction is committed, applied and visible: the writer's one
    /// signal carries that, or the error of a transaction that failed on apply. Leadership or
    /// quorum loss on the way (or the writer dropping the signal) gives 10506: the outcome is
    /// then unknown.
    async fn wait(mut self) -> Result<()> {
        let start = self.start;
        tokio::select! {
            biased;
            v = &mut self.visible => v.unwrap_or(Err(Error::LeadershipLost)),
            _ = self.epoch.wait_for(|e| *e != start) => Err(Error::LeadershipLost),
        }
    }
}
