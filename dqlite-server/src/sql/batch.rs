//! Write batching on the writer connection (group commit with one raft entry per
//! transaction).
//!
//! Client transactions run one after another inside one SQLite transaction (the *batch*),
//! each bracketed by its own savepoint. A finished transaction with changes becomes *pending*:
//! its entry is proposed while the next client's transaction already runs on top of it. When
//! a pending entry comes back through apply it becomes *applied*; once every pending entry is
//! applied the batch commits and all its clients are answered, so nothing is visible to other
//! connections before its entry is committed. After the first apply no new transaction joins
//! the batch, which bounds how long answers wait.
//!
//! If the batch cannot commit as a whole (leadership lost, a foreign entry, a snapshot needing
//! a clean cut, SQLite rolling everything back) it is *reset*: rolled back, with the applied
//! transactions re-applied from their operations. Pending ones are then either dropped
//! (leadership lost: their clients get 10506) or marked *lost* and applied from their
//! operations when their entries arrive.

use std::collections::VecDeque;

use tokio::sync::oneshot;

use super::session;
use super::writer::Writer;
use crate::command::{Op, Origin};
use crate::error::{Error, Result};

/// Most pending transactions in one batch.
pub const MAX_PENDING: usize = 64;

/// A transaction whose entry was proposed.
pub struct Pending {
    /// Transaction id (in the entry's origin).
    pub tx: u64,
    /// Its operations, kept to re-apply after a reset.
    pub ops: Vec<Op>,
    /// Told once the transaction is committed in SQLite (visible) or can never be.
    pub visible: oneshot::Sender<Result<()>>,
    /// Its effects were rolled back locally: apply its operations when the entry arrives.
    pub lost: bool,
}

/// The batch state of a writer.
#[derive(Default)]
pub struct Batch {
    /// A SQLite transaction is open.
    pub open: bool,
    /// Proposed, not yet applied, in log order.
    pub pending: VecDeque<Pending>,
    /// Applied, waiting for the batch to commit.
    pub applied: Vec<Pending>,
}

impl Batch {
    /// Whether a new client transaction may start now; explicit ones (BEGIN, SAVEPOINT)
    /// and VACUUM only start on an empty batch.
    pub fn can_start(&self, alone: bool) -> bool {
        self.applied.is_empty()
            && self.pending.len() < MAX_PENDING
            && !self.pending.iter().any(|p| p.lost)
            && (!alone || (self.pending.is_empty() && !self.open))
    }
}

impl Writer {
    /// Opens the batch transaction if needed.
    pub(super) fn open_batch(&mut self) -> Result<()> {
        if !self.batch.open {
            self.conn.execute_batch("BEGIN")?;
            self.batch.open = true;
        }
        Ok(())
    }

    /// Commits the batch when nothing runs and nothing is pending, answering its clients.
    pub(super) fn maybe_commit(&mut self) {
        if !self.batch.open || self.tx.is_some() || !self.batch.pending.is_empty() {
            return;
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.batch.open = false;
                tracing::debug!(size = self.batch.applied.len(), "batch committed");
                for p in self.batch.applied.drain(..) {
                    let _ = p.visible.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "batch commit failed; re-applying");
                self.reset(false);
            }
        }
    }

    /// Rolls the batch back; re-applies the applied transactions; drops (`drop_pending`) or
    /// marks lost the pending ones. Any client transaction in progress is gone.
    pub(super) fn reset(&mut self, drop_pending: bool) {
        self.pk_cache.clear();
        self.tx = None;
        self.session = None;
        if !self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "rollback failed");
            }
        }
        self.batch.open = false;
        for p in std::mem::take(&mut self.batch.applied) {
            let res = self.apply_ops(&p.ops);
            if let Err(e) = &res {
                tracing::error!(error = %e, "re-applying a committed transaction failed");
            }
            let _ = p.visible.send(res);
        }
        if drop_pending {
            self.batch.pending.clear();
        } else {
            for p in &mut self.batch.pending {
                p.lost = true;
            }
        }
    }

    /// Applies a committed entry's transaction.
    pub(super) fn apply(&mut self, origin: Origin, ops: Vec<Op>) -> Result<()> {
        let ours = origin.node == self.node_id
            && self
                .batch
                .pending
                .front()
                .is_some_and(|p| p.tx == origin.tx);
        if ours {
            let Some(p) = self.batch.pending.pop_front() else {
                return Err(Error::internal("pending transaction vanished"));
            };
            if p.lost {
                let res = self.apply_ops(&p.ops);
                let _ = p.visible.send(
                    res.as_ref()
                        .map(|_| ())
                        .map_err(|e| Error::failure(e.code().unwrap_or(1), e.to_string())),
                );
                return res;
            }
            self.batch.applied.push(p);
            self.maybe_commit();
            return Ok(());
        }
        if self.batch.open || !self.batch.pending.is_empty() || self.tx.is_some() {
            // Another leader's entry while ours were in flight: this node was deposed.
            tracing::info!("rolling back local transactions superseded by another leader");
            self.reset(true);
        }
        self.apply_ops(&ops)
    }

    /// Applies operations in their own SQLite transaction (the batch must be closed).
    pub(super) fn apply_ops(&mut self, ops: &[Op]) -> Result<()> {
        self.cache.clear();
        self.pk_cache.clear();
        self.conn.execute_batch("BEGIN")?;
        let res = ops.iter().try_for_each(|op| match op {
            Op::Changeset(cs) => session::apply_changeset(&self.conn, cs),
            Op::Sql(sql) => self.conn.execute_batch(sql).map_err(Error::from),
        });
        match res {
            Ok(()) => Ok(self.conn.execute_batch("COMMIT")?),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Makes everything applied durable in SQLite (before a snapshot pins the database).
    pub(super) fn flush(&mut self) {
        if !self.batch.applied.is_empty() {
            self.reset(false);
        }
    }
}
