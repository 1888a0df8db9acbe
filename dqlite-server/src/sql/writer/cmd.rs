//! What is asked of a writer and what it answers: the commands its thread serves, the
//! statement job and its outcome, and the handle that sends them.

use std::sync::mpsc;

use bytes::BytesMut;
use dqlite_proto::Value;
use tokio::sync::oneshot;

use crate::command::{Op, Origin};
use crate::error::{Error, Result};
use crate::sql::classify::Keyword;
use crate::sql::exec::{ExecResult, Mode};

/// One statement to run on the writer.
#[derive(Debug)]
pub struct StmtJob {
    /// The client connection asking (owner of the transaction it opens).
    pub owner: u64,
    /// The client believes it has a transaction open here.
    pub in_tx: bool,
    /// SQL text; only its first statement runs.
    pub sql: String,
    /// The leading keyword of that statement ([`crate::sql::classify::keyword`] of `sql`),
    /// classified once by whoever made the job.
    pub keyword: Keyword,
    /// Remaining parameters; the statement takes as many as it has placeholders.
    pub params: Vec<Value>,
    /// EXEC or QUERY (for QUERY, more parameters than placeholders is an error).
    pub mode: Mode,
    /// Where a read-only query streams its ROWS batches; `None` buffers them in
    /// [`Ran::rows`].
    pub rows: Option<RowStream>,
}

/// Streams a query's ROWS batches to the connection as they fill, instead of buffering the
/// whole result on the writer (a read inside a client transaction can be any size). The
/// connection forwards each batch to its client; one that stops reading is dropped after the
/// busy timeout, which closes this channel and stops the statement, so a stalled client cannot
/// hold the writer (and with it applies, snapshots or shutdown) for longer.
pub type RowStream = tokio::sync::mpsc::Sender<BytesMut>;

/// What running one statement produced.
#[derive(Debug)]
pub enum Outcome {
    /// The text held no statement.
    Empty,
    /// Finished; nothing to replicate.
    Done(Ran),
    /// The transaction ended with changes and is (or will be, with the next entry) proposed;
    /// or it changed nothing but read what pending transactions wrote. `visible` is the one
    /// signal to wait for: `Ok` once the transaction (or what it read) is committed and
    /// visible, an error when it failed, closed when its outcome is unknown.
    Commit {
        /// Id in the entry's [`Origin`] (0 for a transaction that changed nothing); the
        /// writer-level tests find their entries by it.
        #[cfg_attr(not(test), allow(dead_code))]
        tx: u64,
        /// Statement results.
        ran: Ran,
        /// Resolves when the transaction is visible (or can never be).
        visible: oneshot::Receiver<Result<()>>,
    },
}

/// Results of one statement.
#[derive(Debug, Default)]
pub struct Ran {
    /// RESULT values after the statement.
    pub result: ExecResult,
    /// The statement was an INSERT, UPDATE or DELETE: `result` belongs to it. Otherwise the
    /// connection keeps its previous (sticky) values, as SQLite's per-connection ones would.
    pub dml: bool,
    /// ROWS batches (QUERY only).
    pub rows: Vec<BytesMut>,
    /// The statement produced its ROWS answer (buffered in `rows`, or streamed). A QUERY of
    /// a statement that steps nothing (BEGIN, COMMIT, VACUUM ...) has not.
    pub produced_rows: bool,
    /// Byte offset of the unparsed tail.
    pub tail: usize,
    /// Parameters consumed.
    pub used: usize,
    /// A transaction is open on the writer for this client afterwards.
    pub in_tx: bool,
    /// The job's SQL text and parameters, handed back (not copied) so that the connection
    /// can go on with the statements after `tail`.
    pub text: String,
    /// See `text`.
    pub params: Vec<Value>,
}

pub(super) type Reply<T> = oneshot::Sender<Result<T>>;

/// Commands a writer thread serves.
pub enum WriterCmd {
    /// Run one statement.
    Stmt(StmtJob, Reply<Outcome>),
    /// Prepare (for PREPARE inside a transaction): parameter count and tail offset.
    Prepare(String, Reply<(usize, usize)>),
    /// Apply committed entries, in log order: one result each (an error every node meets
    /// the same way), or an error for the whole call when this node cannot apply them and
    /// has stopped (see [`crate::fatal`]).
    ApplyMany(Vec<(Origin, Vec<Op>)>, Reply<Vec<Result<()>>>),
    /// Roll back the client transaction of `owner`, or everything when `None` (leadership
    /// lost: pending transactions are dropped).
    Abort(Option<u64>, oneshot::Sender<()>),
    /// Commit everything applied so far (before a snapshot); fails when the writer stopped.
    Flush(Reply<()>),
    /// Stop the thread and close the connection.
    Close(oneshot::Sender<()>),
}

/// Handle to a writer thread.
#[derive(Clone)]
pub struct WriterHandle {
    pub(super) tx: mpsc::Sender<WriterCmd>,
}

impl WriterHandle {
    /// Sends a command; fails when the thread is gone.
    pub fn send(&self, cmd: WriterCmd) -> Result<()> {
        self.tx
            .send(cmd)
            .map_err(|_| Error::internal("database writer stopped"))
    }

    /// Sends a command built around a reply channel and awaits the reply.
    pub async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> WriterCmd) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await
            .map_err(|_| Error::internal("database writer stopped"))
    }
}

impl StmtJob {
    /// QUERY semantics: a single statement taking every parameter given.
    pub fn strict(&self) -> bool {
        self.mode == Mode::Query
    }
}
