//! The writer thread: opening the database and starting the thread, the command loop
//! (lingering while transactions are gathered for an entry), and the statements that wait
//! here, in arrival order, until the batch can take them.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::cmd::{StmtJob, WriterCmd, WriterHandle};
use super::env::WriterEnv;
use super::group::LINGER;
use super::pending::Batch;
use super::state::Writer;
use crate::error::{Error, Result};
use crate::sql::classify::{self, AuthInfo, AuthSlot, Keyword};
use crate::sql::exec::StmtCache;
use crate::sql::guard::PkCache;
use crate::sql::stmt::RawStmt;

impl Writer {
    /// Opens (creating if needed) the database file and starts its thread; finished
    /// transactions are proposed through `env.proposer` once it is set.
    pub fn spawn(path: &Path, name: &str, env: WriterEnv) -> Result<WriterHandle> {
        let mut conn = crate::sql::open_connection(path)?;
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
                match rx.recv_timeout(LINGER) {
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
        let alone = match job.keyword {
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
}
