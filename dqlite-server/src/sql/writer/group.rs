//! Group commit: which pending transactions go out in which entry.
//!
//! Pending transactions (see `batch`) are proposed in execution order, several to an entry:
//! while an entry of this writer is in flight (proposed, not yet applied), those that finish
//! are *gathered*, and go out together as the next entry once it comes back, or sooner when
//! they reach [`MAX_GROUP`] transactions or the byte limit of one transaction. One entry is
//! one log write and one replication round for all of them, where each used to cost its own.
//!
//! With nothing in flight, a finished transaction goes out at once when the last batch
//! committed only one; after a batch of `n`, the writer expects about `n` clients to come
//! back and *lingers*: it gathers until `n` transactions are there, or until no statement
//! arrived for [`LINGER`]. Without lingering, the first client back would go out alone and
//! the others would wait a whole round for the next entry; a single client never waits.

use std::time::Duration;

use super::pending::{Pending, MAX_PENDING};
use super::state::Writer;
use crate::command::{Command, GroupedTx, Op};
use crate::error::Error;

/// Most transactions in one entry.
pub const MAX_GROUP: usize = MAX_PENDING;

/// How long a writer that lingers waits for the next statement before proposing what it
/// gathered.
pub const LINGER: Duration = Duration::from_micros(500);

impl Writer {
    /// Makes room for a new transaction of `size` bytes of changes: a group stays within the
    /// byte limit of one transaction (an entry must replicate in one message), so what is
    /// gathered goes out first if it would not fit.
    pub(super) fn make_room(&mut self, size: u64) {
        let gathered: u64 = self
            .gathered()
            .map(|p| p.ops.iter().map(Op::size).sum::<u64>())
            .sum();
        if gathered > 0 && gathered + size > self.env.max_tx_bytes {
            self.propose_gathered();
        }
    }

    /// The pending transactions not proposed yet.
    fn gathered(&self) -> impl Iterator<Item = &Pending> {
        self.batch.pending.iter().filter(|p| !p.proposed)
    }

    /// Proposes what is gathered when it is a full group, or when none of this writer's
    /// entries is in flight and as many transactions as expected are there.
    pub(super) fn propose_if_ready(&mut self) {
        let gathered = self.gathered().count();
        let idle = self.batch.in_flight == 0 && gathered >= self.batch.expect.max(1);
        if idle || gathered >= MAX_GROUP {
            self.propose_gathered();
        }
    }

    /// True when transactions are gathered, nothing is in flight, and more are expected.
    pub(super) fn lingering(&self) -> bool {
        self.batch.in_flight == 0 && self.gathered().next().is_some()
    }

    /// Proposes every gathered transaction as one entry. Proposed on this thread, so entries
    /// reach the log in execution order (their applies come back through this thread's
    /// queue, after this returns). If the leadership changed since the batch began nothing
    /// is proposed and the batch is rolled back; if raft refuses the entry, the gathered
    /// transactions are rolled back and answered "not leader".
    pub(super) fn propose_gathered(&mut self) {
        let first = self.batch.pending.iter().position(|p| !p.proposed);
        let Some(first) = first else { return };
        if self.env.serving.term() != self.batch_term {
            // Executed under another term: never proposed (see `check_term`).
            let _ = self.check_term();
            return;
        }
        let txs: Vec<GroupedTx> = self
            .batch
            .pending
            .range(first..)
            .map(|p| GroupedTx {
                tx: p.tx,
                ops: p.ops.clone(),
            })
            .collect();
        let entry = Command::Txs {
            db: self.name.clone(),
            node: self.env.node_id,
            txs,
        };
        let accepted = self.env.proposer.get().is_some_and(|p| p.propose(entry));
        if !accepted {
            return self.refuse_gathered(first);
        }
        self.batch.in_flight += 1;
        let len = self.batch.pending.len();
        for (i, p) in self.batch.pending.range_mut(first..).enumerate() {
            p.proposed = true;
            p.ends_entry = first + i + 1 == len;
        }
    }

    /// Raft refused the entry of the gathered transactions (pending from `first` on): their
    /// effects are rolled back before anything more runs on top of them (and any statement
    /// prepared against a schema they changed goes too); their clients are told "not
    /// leader", since nothing was proposed.
    fn refuse_gathered(&mut self, first: usize) {
        self.cache.clear();
        self.pk_cache.clear();
        let sp = self.batch.pending[first].savepoint.clone();
        let res = self
            .conn
            .execute_batch(&format!("ROLLBACK TO {sp}; RELEASE {sp};"));
        let refused: Vec<Pending> = self.batch.pending.drain(first..).collect();
        for p in refused {
            p.failed(Error::NotLeader);
        }
        if let Err(e) = res {
            tracing::error!(error = %e, "rolling back refused transactions failed; resetting the batch");
            self.reset(true);
            return;
        }
        self.maybe_commit();
    }
}
