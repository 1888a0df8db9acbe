//! What a writer gets from its node: how finished transactions are proposed, the size limit
//! of a transaction, the node's fatal signal and whether (and in which term) it serves.

use std::sync::{Arc, OnceLock};

use crate::command::Command;
use crate::fatal::Fatal;
use crate::serving::Serving;

/// Hands an entry of finished transactions to the replicated log. It is called on the writer
/// thread, so entries are proposed in execution order, and must not wait for more than
/// queueing the entry. False when the entry could not be proposed (not leader, stopped).
///
/// Nothing comes back through it: a proposed transaction learns its fate when its entry is
/// applied on this writer ([`WriterCmd::ApplyMany`]) or when the node gives up on it
/// ([`WriterCmd::Abort`] on leadership loss).
///
/// [`WriterCmd::ApplyMany`]: super::cmd::WriterCmd::ApplyMany
/// [`WriterCmd::Abort`]: super::cmd::WriterCmd::Abort
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
