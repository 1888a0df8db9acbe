//! Keeps each AppendEntries small enough to travel, and be written, within one heartbeat:
//! a request whose entries exceed a byte budget is cut to a prefix (at least one entry), and
//! the follower's success is reported to openraft as a partial success up to that prefix.

use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};

use super::{LogId, TypeConfig};

/// Most bytes of entries sent in one AppendEntries (a single bigger entry still goes alone).
pub const APPEND_BUDGET: u64 = 8 << 20;

/// The smallest budget a slow peer is cut down to.
pub const MIN_BUDGET: u64 = 64 << 10;

/// The byte budget of one peer's AppendEntries. openraft 0.9 gives every AppendEntries one
/// heartbeat interval; a follower that cannot take the full budget in that time (a slow
/// disk, a loaded machine, a long backlog after a restart) would get the same request and
/// the same timeout for ever. So the budget is cut after a timeout and grows back after
/// each success.
#[derive(Debug, Clone, Copy)]
pub struct Budget(u64);

impl Default for Budget {
    fn default() -> Self {
        Budget(APPEND_BUDGET)
    }
}

impl Budget {
    /// Bytes the next request may carry.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// After a request that timed out.
    pub fn timed_out(&mut self) {
        self.0 = (self.0 / 4).max(MIN_BUDGET);
    }

    /// After a request that was answered.
    pub fn answered(&mut self) {
        self.0 = self.0.saturating_mul(2).min(APPEND_BUDGET);
    }
}

/// Cuts `rpc` to the entries that fit in `budget` bytes (at least one). Returns the last
/// entry kept when entries were dropped, `None` when the request is sent whole.
pub fn trim(rpc: &mut AppendEntriesRequest<TypeConfig>, budget: u64) -> Option<LogId> {
    let mut total = 0u64;
    let mut keep = 0;
    for entry in &rpc.entries {
        let size = bincode::serialized_size(entry).unwrap_or(u64::MAX);
        total = total.saturating_add(size);
        if keep > 0 && total > budget {
            break;
        }
        keep += 1;
    }
    if keep == rpc.entries.len() {
        return None;
    }
    rpc.entries.truncate(keep);
    rpc.entries.last().map(|e| e.log_id)
}

/// The answer to give openraft for a request cut after `sent` (see [`trim`]).
pub fn answer(resp: AppendEntriesResponse<u64>, sent: Option<LogId>) -> AppendEntriesResponse<u64> {
    match (resp, sent) {
        (AppendEntriesResponse::Success, Some(last)) => {
            AppendEntriesResponse::PartialSuccess(Some(last))
        }
        (resp, _) => resp,
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, Vote};

    use super::*;
    use crate::command::{Command, Op, Origin};
    use crate::raft::Entry;

    fn entry(index: u64, bytes: usize) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Command::Tx {
                db: "db".into(),
                origin: Origin { node: 1, tx: index },
                ops: vec![Op::Changeset(vec![0; bytes])],
            }),
        }
    }

    fn request(sizes: &[usize]) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            leader_commit: None,
            entries: sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| entry(i as u64 + 1, n))
                .collect(),
        }
    }

    #[test]
    fn small_requests_go_whole_and_big_ones_are_cut_to_a_prefix() {
        let mut rpc = request(&[100, 100, 100]);
        assert_eq!(trim(&mut rpc, 1000), None);
        assert_eq!(rpc.entries.len(), 3);

        let mut rpc = request(&[400, 400, 400, 400]);
        let last = trim(&mut rpc, 1000).expect("cut");
        assert_eq!(
            rpc.entries.len(),
            2,
            "two entries of ~400 bytes fit in 1000"
        );
        assert_eq!(last.index, 2);

        // One entry bigger than the budget still goes, alone.
        let mut rpc = request(&[5000, 10]);
        assert_eq!(trim(&mut rpc, 1000).map(|l| l.index), Some(1));
        assert_eq!(rpc.entries.len(), 1);

        let mut rpc = request(&[]);
        assert_eq!(trim(&mut rpc, 1000), None);
    }

    #[test]
    fn only_success_of_a_cut_request_becomes_partial() {
        let last = LogId::new(CommittedLeaderId::new(1, 1), 2);
        assert_eq!(
            answer(AppendEntriesResponse::Success, Some(last)),
            AppendEntriesResponse::PartialSuccess(Some(last))
        );
        assert_eq!(
            answer(AppendEntriesResponse::Success, None),
            AppendEntriesResponse::Success
        );
        assert_eq!(
            answer(AppendEntriesResponse::Conflict, Some(last)),
            AppendEntriesResponse::Conflict
        );
    }

    #[test]
    fn a_slow_peer_gets_smaller_requests_until_it_keeps_up() {
        let mut b = Budget::default();
        assert_eq!(b.bytes(), APPEND_BUDGET);
        b.timed_out();
        assert!(b.bytes() < APPEND_BUDGET);
        for _ in 0..20 {
            b.timed_out();
        }
        assert_eq!(b.bytes(), MIN_BUDGET, "never below the floor");
        for _ in 0..20 {
            b.answered();
        }
        assert_eq!(b.bytes(), APPEND_BUDGET, "grows back, never above the cap");
    }
}
