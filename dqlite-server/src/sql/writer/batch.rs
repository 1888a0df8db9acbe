//! Write batching on the writer connection: group commit, in the log and in SQLite.
//!
//! Client transactions run one after another inside one SQLite transaction (the *batch*),
//! each bracketed by its own savepoint. A finished transaction with changes becomes *pending*.
//! Pending transactions are proposed in execution order, several to an entry (see `group`).
//!
//! When a pending transaction's entry comes back through apply it becomes *applied*. Only
//! applied transactions are ever committed, so nothing is visible to other connections before
//! its entry is committed in raft and applied, and clients are answered only after that
//! commit:
//!
//! - once every pending transaction is applied the batch commits; new transactions join the
//!   batch only until its first entry is applied, which bounds how long answers wait;
//! - before a snapshot the batch is *cut*: rolled back to the savepoint of the oldest pending
//!   transaction (undoing every pending one), committed (the applied prefix becomes visible
//!   and its clients are answered), and a new batch re-applies the pending transactions from
//!   their operations, each in a fresh savepoint. Cutting after every round of applies was
//!   measured slower (see `apply_many`). An explicit client transaction only starts on an
//!   empty batch, so there is never anything to cut while one is open.
//!
//! If the batch cannot commit as a whole (leadership lost, a foreign entry, a snapshot needing
//! a clean cut, SQLite rolling everything back) it is *reset*: rolled back, with the applied
//! transactions re-applied from their operations. Pending ones are then either dropped
//! (leadership lost: their clients learn that the outcome is unknown) or marked *lost* and
//! applied from their operations when their entries arrive. Gathered transactions that raft
//! refuses to take are rolled back and answered "not leader": they were never proposed.

use tokio::sync::oneshot;

use super::pending::{Commit, Pending};
use super::state::Writer;
use crate::command::Op;
use crate::error::{Error, Result};
use crate::sql::session::Session;
use crate::sql::tx::TxState;

impl Writer {
    /// Opens the batch transaction if needed.
    pub(super) fn open_batch(&mut self) -> Result<()> {
        if !self.batch.open {
            self.conn.execute_batch("BEGIN")?;
            self.batch.open = true;
        }
        Ok(())
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

    /// Ends the client transaction: with no changes it simply merges into the batch;
    /// otherwise it becomes pending and its operations are returned for proposal.
    ///
    /// A transaction with more than `max_tx_bytes` of changes is rolled back and fails with
    /// SQLITE_TOOBIG (18): its entry could not be replicated within a heartbeat.
    pub(super) fn commit_client_tx(&mut self) -> Result<Option<Commit>> {
        let ops = self.take_ops()?;
        let size: u64 = ops.iter().map(Op::size).sum();
        if size > self.env.max_tx_bytes {
            self.rollback_client_tx();
            return Err(Error::failure(
                dqlite_proto::code::TOOBIG,
                format!(
                    "transaction too large to replicate: {size} bytes of changes (limit {})",
                    self.env.max_tx_bytes
                ),
            ));
        }
        if self.env.serving.term() != self.batch_term {
            // Leadership changed while this transaction ran: it must not be proposed.
            self.rollback_client_tx();
            self.check_term()?;
            return Err(Error::NotLeader);
        }
        self.session = None;
        let t = self
            .tx
            .take()
            .ok_or_else(|| Error::internal("no transaction"))?;
        if ops.is_empty() {
            self.conn
                .execute_batch(&format!("RELEASE {}", t.savepoint))?;
            self.maybe_commit();
            // It changed nothing, but it ran on top of the pending transactions and may have
            // read their effects (an UPDATE that matched nothing, an upsert of the value already
            // there): it is answered only once they are visible, so no client learns of a
            // write before it is committed (and never of one that is lost).
            if let Some(last) = self.batch.pending.back_mut() {
                let (reader, rx) = oneshot::channel();
                last.readers.push(reader);
                return Ok(Some((0, rx)));
            }
            return Ok(None);
        }
        self.next_tx += 1;
        let id = self.next_tx;
        self.make_room(size);
        let (visible, rx) = oneshot::channel();
        self.batch.pending.push_back(Pending {
            tx: id,
            ops,
            visible,
            lost: false,
            savepoint: t.savepoint,
            readers: Vec::new(),
            proposed: false,
            ends_entry: false,
        });
        self.propose_if_ready();
        Ok(Some((id, rx)))
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
                self.batch.expect = self.batch.applied.len();
                for p in self.batch.applied.drain(..) {
                    p.made_visible();
                }
            }
            // Every transaction in the batch is committed in raft: failing to commit them
            // here is a fault of this node alone.
            Err(e) => self.fail(format!("committing applied transactions failed: {e}")),
        }
    }

    /// Commits the applied prefix of the batch and answers its clients, keeping the pending
    /// transactions (rolled back, then re-applied from their operations in a new batch).
    /// Does nothing while a client transaction is open or when nothing is applied.
    pub(super) fn cut(&mut self) {
        if self.batch.applied.is_empty() || self.tx.is_some() {
            return;
        }
        let Some(first) = self.batch.pending.front() else {
            return self.maybe_commit();
        };
        if self.batch.pending.iter().any(|p| p.lost) {
            return;
        }
        let sp = first.savepoint.clone();
        let ops = self.batch.pending.iter().flat_map(|p| &p.ops);
        if ops.clone().any(|op| matches!(op, Op::Sql(_))) {
            // Schema changes are undone and redone: statements are prepared afresh.
            self.pk_cache.clear();
            self.cache.clear();
        }
        let res = self
            .conn
            .execute_batch(&format!("ROLLBACK TO {sp}; RELEASE {sp}; COMMIT"));
        if let Err(e) = res {
            return self.fail(format!("committing applied transactions failed: {e}"));
        }
        self.batch.open = false;
        for p in self.batch.applied.drain(..) {
            p.made_visible();
        }
        if let Err(e) = self.reapply_pending() {
            tracing::error!(error = %e, "re-applying pending transactions failed");
            self.reset(false);
        }
    }

    /// Opens a new batch holding the pending transactions, each in its savepoint.
    fn reapply_pending(&mut self) -> Result<()> {
        self.open_batch()?;
        for p in &self.batch.pending {
            self.conn
                .execute_batch(&format!("SAVEPOINT {}", p.savepoint))?;
            self.run_ops(&p.ops)?;
        }
        Ok(())
    }

    /// Rolls the batch back; re-applies the applied transactions; drops (`drop_pending`) or
    /// marks lost the pending ones. Any client transaction in progress is gone. An applied
    /// transaction is committed in raft, so failing to re-apply it stops the writer.
    pub(super) fn reset(&mut self, drop_pending: bool) {
        self.pk_cache.clear();
        self.tx = None;
        self.session = None;
        if !self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                return self.fail(format!("rolling back the batch failed: {e}"));
            }
        }
        self.batch.open = false;
        for p in std::mem::take(&mut self.batch.applied) {
            match self.apply_ops(&p.ops) {
                Ok(()) => p.made_visible(),
                Err(e) => {
                    return self.fail(format!("re-applying a committed transaction failed: {e}"))
                }
            }
        }
        if drop_pending {
            self.batch.pending.clear();
            self.batch.in_flight = 0;
        } else {
            for p in &mut self.batch.pending {
                p.lost = true;
            }
        }
    }

    /// Commits everything applied (before a snapshot pins the database).
    pub(super) fn flush(&mut self) {
        self.cut();
        if !self.batch.applied.is_empty() {
            self.reset(false);
        }
    }
}
