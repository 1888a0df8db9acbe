//! Reads that are never stale: before a read's first rows leave, the leader confirms that no
//! other leader could have been elected when the read took its snapshot (see
//! [`crate::raft::lease`]).

use std::time::Instant;

use super::shared::Shared;
use crate::error::{Error, Result};

impl Shared {
    /// Confirms a read whose snapshot is already taken (every caller has its rows in hand).
    /// While the leader lease holds this costs nothing; otherwise (and always
    /// with `linearizable_reads`, which trusts no clock) it waits until a quorum has answered
    /// an AppendEntries sent after now, asking raft for a heartbeat if none was asked
    /// for since. Fails with "not leader" when this node stops serving, or when no quorum
    /// answers within an election timeout: the client then looks for the leader elsewhere.
    pub async fn confirm_read(&self) -> Result<()> {
        let acks = &self.acks;
        let taken = acks.now();
        if !self.config.linearizable_reads && acks.lease_holds(taken) {
            return Ok(());
        }
        let deadline = Instant::now() + self.config.election_timeout;
        loop {
            let notified = acks.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.is_serving() {
                return Err(Error::NotLeader);
            }
            if acks.quorum_time() >= taken {
                return Ok(());
            }
            if acks.nudge(taken) {
                let _ = self.raft.trigger().heartbeat().await;
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::info!(
                    id = self.id,
                    "no quorum confirmed this node's leadership for a read; refusing it"
                );
                return Err(Error::NotLeader);
            }
            // A lost heartbeat is asked for again after one interval.
            let slice = self.config.heartbeat_interval.min(deadline - now);
            if tokio::time::timeout(slice, notified).await.is_err() {
                acks.forget_nudge();
            }
        }
    }
}
