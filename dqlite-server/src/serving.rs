//! Whether this node serves SQL, and for which raft term. One owner for what decides it:
//! raft says this node leads (in a term), the post-election barrier of that term is applied,
//! no leadership transfer is running, a quorum answered recently, and the node has not
//! stopped for a fault of its own.
//!
//! The leadership watcher, check-quorum, transfers and the fail-stop path each set their
//! part; the gateway asks [`Serving::is_serving`] and each database writer asks
//! [`Serving::term`] before it starts a transaction, so a writer never executes for a node
//! that is not the serving leader of the current term.
//!
//! It also owns the leadership *epoch*: a counter bumped whenever this node stops being the
//! leader it was (or loses its quorum, or stops). A database binding made in an earlier
//! epoch is void, and a commit that sees the epoch change gives up with "outcome unknown".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::watch;

#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    /// The term this node leads in, per raft.
    leader: Option<u64>,
    /// The barrier of that term is applied.
    barrier: bool,
    transferring: bool,
    quorum_lost: bool,
    stopped: bool,
}

impl Parts {
    fn serving_term(&self) -> Option<u64> {
        let ok = self.barrier && !self.transferring && !self.quorum_lost && !self.stopped;
        self.leader.filter(|_| ok)
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Serving {
    parts: Mutex<Parts>,
    /// The serving term, or 0 (raft terms of a leader start at 1).
    term: AtomicU64,
    epoch: watch::Sender<u64>,
}

impl Default for Serving {
    fn default() -> Self {
        Serving {
            parts: Mutex::default(),
            term: AtomicU64::new(0),
            epoch: watch::channel(1).0,
        }
    }
}

impl Serving {
    /// A node serving as leader of `term` (for tests of the layers below the node).
    #[cfg(test)]
    pub fn leader_of(term: u64) -> Serving {
        let s = Serving::default();
        s.set_leader(Some(term), true);
        s
    }

    /// The term in which this node serves SQL, if it does.
    pub fn term(&self) -> Option<u64> {
        match self.term.load(Ordering::Acquire) {
            0 => None,
            t => Some(t),
        }
    }

    /// True when SQL may be served here.
    pub fn is_serving(&self) -> bool {
        self.term().is_some()
    }

    /// True when raft says this node leads, serving or not.
    pub fn is_leader(&self) -> bool {
        self.lock().leader.is_some()
    }

    /// True while a leadership transfer runs.
    pub fn is_transferring(&self) -> bool {
        self.lock().transferring
    }

    /// True after check-quorum found no quorum (until one answers again).
    pub fn quorum_lost(&self) -> bool {
        self.lock().quorum_lost
    }

    /// What raft says: leader of `term` (with its barrier applied or not), or not leader.
    pub fn set_leader(&self, term: Option<u64>, barrier: bool) {
        self.update(|p| {
            p.leader = term;
            p.barrier = barrier;
        });
    }

    /// A leadership transfer starts or ends.
    pub fn set_transferring(&self, on: bool) {
        self.update(|p| p.transferring = on);
    }

    /// Check-quorum's verdict.
    pub fn set_quorum_lost(&self, lost: bool) {
        self.update(|p| p.quorum_lost = lost);
    }

    /// The node stopped for a fault of its own: it never serves again.
    pub fn stop(&self) {
        self.update(|p| p.stopped = true);
    }

    /// The current leadership epoch.
    pub fn epoch(&self) -> u64 {
        *self.epoch.borrow()
    }

    /// Follows the epoch (to notice that it changed while waiting for something).
    pub fn watch_epoch(&self) -> watch::Receiver<u64> {
        self.epoch.subscribe()
    }

    /// Ends the current epoch: bindings made in it are void, commits waiting in it give up.
    pub fn end_epoch(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }

    fn update(&self, f: impl FnOnce(&mut Parts)) {
        let mut parts = self.lock();
        f(&mut parts);
        self.term
            .store(parts.serving_term().unwrap_or(0), Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parts> {
        self.parts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_as_leader_with_barrier_quorum_no_transfer_and_not_stopped() {
        let s = Serving::default();
        assert_eq!(s.term(), None);
        s.set_leader(Some(3), false);
        assert!(s.is_leader() && !s.is_serving(), "before the barrier");
        s.set_leader(Some(3), true);
        assert_eq!(s.term(), Some(3));
        s.set_transferring(true);
        assert_eq!(s.term(), None);
        s.set_transferring(false);
        s.set_quorum_lost(true);
        assert_eq!(s.term(), None);
        s.set_quorum_lost(false);
        s.set_leader(Some(4), true);
        assert_eq!(s.term(), Some(4), "a new term is a new serving term");
        s.stop();
        assert_eq!(s.term(), None);
        s.set_leader(Some(5), true);
        assert_eq!(s.term(), None, "a stopped node never serves again");
    }
}
