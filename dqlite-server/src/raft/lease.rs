//! Which of this leader's AppendEntries a quorum has answered: the ground for serving reads
//! that are never stale.
//!
//! A follower that takes an AppendEntries of leader L refuses every vote request for
//! openraft's leader lease (`election_timeout_max`, [`Acks::new`]'s `follower_lease`)
//! counted from when it took it, and one that has voted for a newer leader answers L with
//! "higher vote" instead. So when a quorum of voters answered requests that L *sent* at or
//! after time T (its [`Acks::quorum_time`]):
//!
//! - no other leader was elected before T, because such a leader's voters include one of
//!   those that answered L later (a read whose snapshot was taken before T is up to date:
//!   the *read index* rule, which needs no clock);
//! - no other leader can be elected before T + follower lease, measured by the followers'
//!   clocks. Under the assumption that clock *rates* on the nodes differ by at most
//!   [`DRIFT`], this leader may answer reads without asking anyone until
//!   T + [`Acks::lease`], the follower lease shortened by that drift and by [`MARGIN`]
//!   (the *leader lease*). Wall-clock time is never used, only each node's monotonic clock.
//!   A machine that is suspended as a whole (its monotonic clock stops while the others'
//!   run) breaks the assumption, and so does a follower configured with a shorter election
//!   timeout than the leader (its vote lease follows its own setting).
//!
//! Send times are taken before the request is written, so they are never later than the
//! real ones. Only answers to requests of the current term count, and a change of term or
//! of the voters starts the count afresh.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Assumed bound on how much faster one node's monotonic clock may run than another's
/// (0.05: 5 %, a hundred times what NTP allows itself when it slews a clock).
pub const DRIFT: f64 = 0.05;

/// Taken off the lease on top of the drift: the time between answering the lease check and
/// the answer leaving, and scheduling delays of the check itself.
pub const MARGIN: Duration = Duration::from_millis(20);

/// See the module docs.
#[derive(Debug)]
pub struct Acks {
    id: u64,
    base: Instant,
    lease: Duration,
    state: Mutex<State>,
    /// [`Acks::quorum_time`] in nanoseconds since `base` (0: none).
    quorum: AtomicU64,
    changed: Notify,
    /// When a heartbeat was last asked for (see [`Acks::nudge`]).
    nudged: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// The term this node leads in (0: it does not lead).
    term: u64,
    /// The voter sets a quorum is counted in (two during a membership change).
    voters: Vec<BTreeSet<u64>>,
    /// Per follower, the latest send time (ns since base) of a request it answered.
    acked: HashMap<u64, u64>,
}

impl Acks {
    /// Counts for node `id`, whose followers refuse votes for `follower_lease` after each
    /// AppendEntries they take.
    pub fn new(id: u64, follower_lease: Duration) -> Acks {
        Acks {
            id,
            base: Instant::now(),
            lease: leader_lease(follower_lease),
            state: Mutex::default(),
            quorum: AtomicU64::new(0),
            changed: Notify::new(),
            nudged: AtomicU64::new(0),
        }
    }

    /// How long after [`Acks::quorum_time`] reads may be served without asking.
    #[cfg(test)]
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Now, in this structure's clock (nanoseconds since it was made, at least 1).
    pub fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// This node leads in `term` (0: it does not lead) with these voter sets. A change of
    /// either discards every answer counted so far.
    pub fn lead(&self, term: u64, voters: &[BTreeSet<u64>]) {
        let mut st = self.lock();
        if st.term == term && st.voters == voters {
            return;
        }
        st.term = term;
        st.voters = voters.to_vec();
        st.acked.clear();
        self.publish(&st);
    }

    /// `target` answered, without a higher vote, an AppendEntries that leader `leader` of
    /// `term` sent at `sent` (from [`Acks::now`]).
    pub fn answered(&self, leader: u64, term: u64, target: u64, sent: u64) {
        let mut st = self.lock();
        if leader != self.id || term != st.term || term == 0 {
            return;
        }
        let t = st.acked.entry(target).or_insert(0);
        if sent <= *t {
            return;
        }
        *t = sent;
        self.publish(&st);
    }

    /// The latest send time that a quorum has answered (0: none in this term).
    pub fn quorum_time(&self) -> u64 {
        self.quorum.load(Ordering::Acquire)
    }

    /// True while the leader lease holds at `now`.
    pub fn lease_holds(&self, now: u64) -> bool {
        let q = self.quorum_time();
        q != 0 && now < q.saturating_add(self.lease.as_nanos() as u64)
    }

    /// Completes when the quorum time may have changed after this call (enable it before
    /// checking, so that no change is missed in between).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// True when a heartbeat should be asked for on behalf of a read taken at `taken`: none
    /// was asked for since. Reads waiting together share one.
    pub fn nudge(&self, taken: u64) -> bool {
        let last = self.nudged.load(Ordering::Acquire);
        last < taken
            && self
                .nudged
                .compare_exchange(last, self.now(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// The heartbeat asked for was not answered in time: the next read asks again.
    pub fn forget_nudge(&self) {
        self.nudged.store(0, Ordering::Release);
    }

    fn publish(&self, st: &State) {
        let q = if st.term == 0 {
            0
        } else {
            quorum_time(self.id, &st.voters, &st.acked)
        };
        self.quorum.store(q, Ordering::Release);
        self.changed.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The leader lease for a follower lease: what is left of it when the followers' clocks run
/// [`DRIFT`] faster than the leader's, less the margin.
pub fn leader_lease(follower_lease: Duration) -> Duration {
    follower_lease.div_f64(1.0 + DRIFT).saturating_sub(MARGIN)
}

/// The latest time answered by a quorum of every voter set: in each set, the time that a
/// majority has reached (this node counts as always up to date), and the earliest of those.
/// 0 when some set has no majority yet, or there are no voter sets.
pub fn quorum_time(id: u64, voters: &[BTreeSet<u64>], acked: &HashMap<u64, u64>) -> u64 {
    let mut result = u64::MAX;
    for set in voters {
        if set.is_empty() {
            continue;
        }
        let mut times: Vec<u64> = set
            .iter()
            .map(|v| {
                if *v == id {
                    u64::MAX
                } else {
                    acked.get(v).copied().unwrap_or(0)
                }
            })
            .collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        let majority = set.len() / 2 + 1;
        result = result.min(times[majority - 1]);
    }
    match result {
        u64::MAX if voters.iter().all(|s| s.is_empty()) => 0,
        // A single-voter cluster made of this node: every moment is confirmed.
        t => t,
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
