//! The per-database writer: one thread owning the database's only read-write connection.
//!
//! Every write transaction runs here, one statement per command, with a session recording its
//! changes. A transaction that ends with changes is not committed: the writer proposes it
//! through the node's [`Proposer`] (on this thread, so entries reach the log in execution
//! order; several transactions share one entry, see the `batch` module), answers
//! [`Outcome::Commit`], and commits only when the entry comes back through
//! [`WriterCmd::ApplyMany`]. Executing and committing are therefore separate steps.
//! Statements are run in arrival order; those that cannot start yet wait here, in order.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::BytesMut;
use dqlite_proto::Value;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::batch::Batch;
use super::classify::{self, AuthInfo, AuthSlot, Keyword};
use super::exec::{ExecResult, Mode, StmtCache};
use super::guard::PkCache;
use super::session::Session;
use super::stmt::RawStmt;
use super::tx::TxState;
use crate::command::{Command, Op, Origin};
use crate::error::{Error, Result};
use crate::fatal::Fatal;
use crate::serving::Serving;

/// Hands an entry of finished transactions to the replicated log. It is called on the writer
/// thread, so entries are proposed in execution order, and must not wait for more than
/// queueing the entry. False when the entry could not be proposed (not leader, stopped).
///
/// Nothing comes back through it: a proposed transaction learns its fate when its entry is
/// applied on this writer ([`WriterCmd::ApplyMany`]) or when the node gives up on it
/// ([`WriterCmd::Abort`] on leadership loss).
pub trait Propose: Send + Sync {
    /// Queues `entry` for the log.
    fn propose(&self, entry: Command) -> bool;
}

impl<F: Fn(Command) -> bool + Send + Sync> Propose for F {
    fn propose(&self, entry: Command) -> bool {
        self(entry)
    }
}

/// The node's [`Propose`].
pub type Proposer = Arc<dyn Propose>;

/// Where writers find the node's [`Proposer`] (set once raft runs).
pub type ProposerSlot = Arc<OnceLock<Proposer>>;

/// What every writer of a node shares.
#[derive(Clone)]
pub struct WriterEnv {
    /// This node's id (the `node` of the origins it proposes).
    pub node_id: u64,
    /// How finished transactions are proposed.
    pub proposer: ProposerSlot,
    /// Transactions with more bytes of changes are refused (SQLITE_TOOBIG).
    pub max_tx_bytes: u64,
    /// Raised when an entry cannot be applied here for reasons of this node alone.
    pub fatal: Fatal,
    /// Whether, and in which term, the node serves: client statements run only then.
    pub serving: Arc<Serving>,
}

#[cfg(test)]
impl WriterEnv {
    /// Node `node_id` with no proposer, default limits, not serving (tests below the node).
    pub(crate) fn standalone(node_id: u64) -> WriterEnv {
        WriterEnv {
            node_id,
            proposer: Default::default(),
            max_tx_bytes: crate::config::DEFAULT_MAX_TX_BYTES,
            fatal: Default::default(),
            serving: Default::default(),
        }
    }
}

/// One statement to run on the writer.
#[derive(Debug)]
pub struct StmtJob {
    /// The client connection asking (owner of the transaction it opens).
    pub owner: u64,
    /// The client believes it has a transaction open here.
    pub in_tx: bool,
    /// SQL text; only its first statement runs.
    pub sql: String,
    /// Remaining parameters; the statement takes as many as it has placeholders.
    pub params: Vec<Value>,
    /// EXEC or QUERY.
    pub mode: Mode,
    /// QUERY: more parameters than placeholders is an error.
    pub strict: bool,
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
        /// Id in the entry's [`Origin`] (0 for a transaction that changed nothing).
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
}

type Reply<T> = oneshot::Sender<Result<T>>;

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
    tx: mpsc::Sender<WriterCmd>,
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

/// The state owned by a writer thread.
pub struct Writer {
    pub(super) session: Option<Session>,
    pub(super) cache: StmtCache<AuthInfo>,
    pub(super) pk_cache: PkCache,
    pub(super) auth: AuthSlot,
    pub(super) tx: Option<TxState>,
    pub(super) batch: Batch,
    pub(super) deferred: VecDeque<(StmtJob, Reply<Outcome>)>,
    pub(super) name: String,
    pub(super) env: WriterEnv,
    pub(super) next_tx: u64,
    /// Set once this writer met a fault of its own node: it serves nothing more.
    pub(super) failed: Option<String>,
    /// The term in which the current batch began (see [`Writer::check_term`]).
    pub(super) batch_term: Option<u64>,
    pub(super) conn: Connection,
}

impl Writer {
    /// Opens (creating if needed) the database file and starts its thread; finished
    /// transactions are proposed through `env.proposer` once it is set.
    pub fn spawn(path: &Path, name: &str, env: WriterEnv) -> Result<WriterHandle> {
        let mut conn = super::open_connection(path)?;
        let auth: AuthSlot = Arc::new(Mutex::new(AuthInfo::default()));
        classify::install_authorizer(&mut conn, auth.clone())?;
        let writer = Writer {
            session: None,
            cache: StmtCache::default(),
            pk_cache: PkCache::default(),
            auth,
            tx: None,
            batch: Batch::default(),
            deferred: VecDeque::new(),
            name: name.to_owned(),
            env,
            next_tx: rand::random::<u64>() >> 16,
            failed: None,
            batch_term: None,
            conn,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("writer-{name}"))
            .spawn(move || writer.run(rx))?;
        Ok(WriterHandle { tx })
    }

    fn run(mut self, rx: mpsc::Receiver<WriterCmd>) {
        loop {
            // While gathering for an entry (see `batch`), the next statement is waited for
            // only briefly: without one, what is gathered goes out.
            let cmd = if self.lingering() {
                match rx.recv_timeout(super::group::LINGER) {
                    Ok(cmd) => cmd,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.propose_gathered();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(cmd) => cmd,
                    Err(_) => break,
                }
            };
            if self.failed.is_some() {
                if self.serve_failed(cmd) {
                    return;
                }
                continue;
            }
            match cmd {
                WriterCmd::Stmt(job, reply) => {
                    // Jobs queued behind deferred ones keep their order (FIFO).
                    let behind = !self.deferred.is_empty() && !job.in_tx && self.tx.is_none();
                    if behind || self.must_wait(&job) {
                        self.deferred.push_back((job, reply));
                    } else {
                        let _ = reply.send(self.statement(job));
                    }
                }
                WriterCmd::Prepare(sql, reply) => {
                    let _ = reply.send(self.prepare(&sql));
                }
                WriterCmd::ApplyMany(items, reply) => {
                    let results = self.apply_many(items);
                    let _ = reply.send(self.unless_failed(results));
                }
                WriterCmd::Abort(None, reply) => {
                    self.reset(true);
                    for (_, r) in self.deferred.drain(..) {
                        let _ = r.send(Err(Error::NotLeader));
                    }
                    let _ = reply.send(());
                }
                WriterCmd::Abort(Some(owner), reply) => {
                    if self.tx.as_ref().is_some_and(|t| t.owner == owner) {
                        self.rollback_client_tx();
                    }
                    let _ = reply.send(());
                }
                WriterCmd::Flush(reply) => {
                    self.flush();
                    let _ = reply.send(self.unless_failed(()));
                }
                WriterCmd::Close(reply) => {
                    self.reset(true);
                    drop(self);
                    let _ = reply.send(());
                    return;
                }
            }
            if self.failed.is_none() {
                self.run_deferred();
                self.propose_if_ready();
            }
        }
        self.reset(true);
    }

    /// True when `job` would start a transaction the batch cannot take now.
    fn must_wait(&self, job: &StmtJob) -> bool {
        if self.tx.is_some() || job.in_tx {
            return false;
        }
        let alone = match classify::keyword(&job.sql) {
            Keyword::Begin | Keyword::Savepoint | Keyword::Vacuum => true,
            Keyword::Commit | Keyword::Rollback | Keyword::RollbackTo | Keyword::Release => {
                return false
            }
            _ => false,
        };
        !self.batch.can_start(alone)
    }

    fn run_deferred(&mut self) {
        while let Some((job, _)) = self.deferred.front() {
            if self.must_wait(job) {
                return;
            }
            let Some((job, reply)) = self.deferred.pop_front() else {
                return;
            };
            let _ = reply.send(self.statement(job));
        }
    }

    fn prepare(&mut self, sql: &str) -> Result<(usize, usize)> {
        let prepared = RawStmt::prepare(&self.conn, sql)?;
        match prepared.stmt {
            Some(stmt) => Ok((stmt.param_count(), prepared.tail)),
            None => Err(Error::failure(0, "empty statement")),
        }
    }

    /// Starts a client transaction inside the batch, bracketed by its own savepoint.
    pub(super) fn begin_client_tx(
        &mut self,
        owner: u64,
        user_savepoint: Option<String>,
    ) -> Result<()> {
        self.open_batch()?;
        self.next_tx += 1;
        let savepoint = format!("dqlite_internal_tx_{}", self.next_tx);
        self.conn.execute_batch(&format!("SAVEPOINT {savepoint}"))?;
        self.session = Some(Session::new(&self.conn)?);
        self.tx = Some(TxState::new(owner, savepoint, user_savepoint));
        Ok(())
    }

    /// Undoes the current client transaction only.
    pub(super) fn rollback_client_tx(&mut self) {
        self.session = None;
        self.pk_cache.clear();
        if let Some(t) = self.tx.take() {
            let sp = &t.savepoint;
            if let Err(e) = self
                .conn
                .execute_batch(&format!("ROLLBACK TO {sp}; RELEASE {sp};"))
            {
                tracing::error!(error = %e, "rolling back a transaction failed; resetting the batch");
                self.reset(false);
                return;
            }
        }
        self.maybe_commit();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Statements and the session must go before the connection.
        self.cache.clear();
        self.session = None;
    }
}
