//! The batch's bookkeeping (see `batch`): the transactions it holds, pending or applied,
//! what their clients wait on, and when a new transaction may join it.

use std::collections::VecDeque;

use tokio::sync::oneshot;

use crate::command::Op;
use crate::error::{Error, Result};

/// A transaction that became pending: its id (0 when it changed nothing) and its visibility.
pub(super) type Commit = (u64, oneshot::Receiver<Result<()>>);

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
    /// The savepoint bracketing it in the batch.
    pub savepoint: String,
    /// Statements that changed nothing but ran on top of it (so may have read its effects):
    /// told once it is visible, dropped (outcome unknown) if it never is.
    pub readers: Vec<oneshot::Sender<Result<()>>>,
    /// Its entry was proposed (otherwise it is gathered for the next one).
    pub proposed: bool,
    /// It is the last transaction of its entry.
    pub ends_entry: bool,
}

impl Pending {
    /// Tells its client, and every statement that read its effects, that it is visible.
    pub fn made_visible(self) {
        let _ = self.visible.send(Ok(()));
        for r in self.readers {
            let _ = r.send(Ok(()));
        }
    }

    /// Tells its client it failed with `err`; whoever read its effects learns that their
    /// outcome is unknown (their senders are dropped).
    pub fn failed(self, err: Error) {
        let _ = self.visible.send(Err(err));
    }
}

/// The batch state of a writer.
#[derive(Default)]
pub struct Batch {
    /// A SQLite transaction is open.
    pub open: bool,
    /// Proposed or gathered, not yet applied, in execution (and log) order; the gathered
    /// ones are a suffix.
    pub pending: VecDeque<Pending>,
    /// Applied, waiting for the batch to commit.
    pub applied: Vec<Pending>,
    /// Entries of this writer proposed and not yet wholly applied.
    pub in_flight: usize,
    /// Transactions the last commit made visible: about how many clients write at once.
    pub expect: usize,
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
