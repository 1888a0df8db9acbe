//! Leadership transfer (TRANSFER, graceful shutdown). openraft 0.9 has no transfer call, so:
//! the leader stops serving writes, waits until the target has its whole log, silences its own
//! heartbeats and elections and those of the other voters, and tells the target to stand for
//! election until it wins (voters refuse votes while the old leader's lease lasts). Everything
//! is switched back on afterwards, whatever happened.

use std::time::Duration;

use openraft::ServerState;

use super::membership;
use super::shared::Shared;
use crate::error::{Error, Result};
use crate::raft::network::{kind, PeerClient};
use crate::raft::rpc::TransferHooks;

/// Moves leadership to `target` (0: the most up-to-date other voter).
pub async fn transfer(inner: &Shared, target: u64) -> Result<()> {
    if !inner.is_serving() {
        return Err(Error::NotLeader);
    }
    let voters = membership::voters(inner);
    let target = if target == 0 {
        pick(inner, &voters)
    } else {
        Some(target)
    };
    let Some(target) = target.filter(|t| *t != inner.id && voters.contains_key(t)) else {
        return Err(Error::failure(1, "server ID is not valid"));
    };
    let election = inner.config.election_timeout;
    let deadline = election * 6 + Duration::from_secs(1);
    inner.serving.set_transferring(true);
    let res = run(inner, target, &voters, deadline).await;
    inner.raft.runtime_config().heartbeat(true);
    inner.raft.runtime_config().elect(true);
    for (id, addr) in voters
        .iter()
        .filter(|(id, _)| **id != inner.id && **id != target)
    {
        let _ = rpc(inner, *id, addr, kind::SET_ELECT, &(true, 0u64)).await;
    }
    inner.serving.set_transferring(false);
    let still_leader = inner.raft.metrics().borrow().state == ServerState::Leader;
    if let Err(e) = res {
        tracing::warn!(error = %e, "leadership transfer failed");
    }
    if still_leader {
        return Err(Error::failure(1, "leadership transfer failed"));
    }
    Ok(())
}

async fn run(
    inner: &Shared,
    target: u64,
    voters: &std::collections::BTreeMap<u64, String>,
    deadline: Duration,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let mut metrics = inner.raft.metrics();
    // 1. The target must hold the whole log.
    let caught_up = tokio::time::timeout(inner.config.election_timeout * 2, async {
        loop {
            let done = {
                let m = metrics.borrow_and_update();
                let last = m.last_log_index;
                let matched = m
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(&target).cloned())
                    .flatten()
                    .map(|l| l.index);
                last.is_some() && matched >= last
            };
            if done || metrics.changed().await.is_err() {
                return done;
            }
        }
    })
    .await
    .unwrap_or(false);
    if !caught_up {
        return Err(Error::failure(1, "leadership transfer failed"));
    }
    // 2. Silence everyone but the target, then let it stand.
    inner.raft.runtime_config().heartbeat(false);
    inner.raft.runtime_config().elect(false);
    let ms = deadline.as_millis() as u64;
    for (id, addr) in voters
        .iter()
        .filter(|(id, _)| **id != inner.id && **id != target)
    {
        let _ = rpc(inner, *id, addr, kind::SET_ELECT, &(false, ms)).await;
    }
    let addr = voters.get(&target).cloned().unwrap_or_default();
    rpc(inner, target, &addr, kind::TIMEOUT_NOW, &ms).await?;
    // 3. Wait until this node is no longer leader.
    let left = deadline.saturating_sub(started.elapsed());
    let _ = tokio::time::timeout(left, async {
        loop {
            if metrics.borrow_and_update().state != ServerState::Leader
                || metrics.changed().await.is_err()
            {
                return;
            }
        }
    })
    .await;
    Ok(())
}

/// The other voter with the highest matched log index.
fn pick(inner: &Shared, voters: &std::collections::BTreeMap<u64, String>) -> Option<u64> {
    let m = inner.raft.metrics().borrow().clone();
    let rep = m.replication.clone().unwrap_or_default();
    voters
        .keys()
        .filter(|id| **id != inner.id)
        .max_by_key(|id| rep.get(id).cloned().flatten().map(|l| l.index))
        .copied()
}

async fn rpc<T: serde::Serialize>(
    inner: &Shared,
    id: u64,
    addr: &str,
    kind: u8,
    body: &T,
) -> Result<()> {
    let mut client = PeerClient::new(inner.id, inner.config.address.clone(), id, addr.to_owned());
    let r: std::io::Result<Result<(), ()>> = client.call(kind, body, Duration::from_secs(2)).await;
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Io(e)),
    }
}

impl TransferHooks for Shared {
    fn timeout_now(&self, deadline: Duration) {
        let raft = self.raft.clone();
        let pause = self.config.election_timeout / 4;
        tokio::spawn(async move {
            let end = tokio::time::Instant::now() + deadline;
            while tokio::time::Instant::now() < end {
                if raft.metrics().borrow().state == ServerState::Leader {
                    return;
                }
                let _ = raft.trigger().elect().await;
                tokio::time::sleep(pause.max(Duration::from_millis(20))).await;
            }
        });
    }

    fn set_elect(&self, enabled: bool, deadline: Duration) {
        self.raft.runtime_config().elect(enabled);
        if !enabled {
            // Never stay silenced if the leader that asked disappears.
            let raft = self.raft.clone();
            tokio::spawn(async move {
                tokio::time::sleep(deadline).await;
                raft.runtime_config().elect(true);
            });
        }
    }
}
