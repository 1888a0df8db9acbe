//! Follows raft metrics: publishes whether this node serves SQL (leader, post-election barrier
//! applied, no transfer running) and, when leadership is lost, voids every client binding and
//! rolls back every open transaction.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use openraft::ServerState;

use super::Inner;
use crate::command::Command;

/// Runs until raft shuts down.
pub async fn watch(inner: Arc<Inner>) {
    let mut rx = inner.raft.metrics();
    let mut was_leader = false;
    loop {
        let (is_leader, barrier_done) = {
            let m = rx.borrow_and_update();
            let applied_term = m.last_applied.map(|l| l.leader_id.term);
            (
                m.state == ServerState::Leader,
                applied_term == Some(m.current_term),
            )
        };
        if was_leader && !is_leader {
            tracing::info!(
                id = inner.id,
                "leadership lost; rolling back open transactions"
            );
            inner.quorum_lost.store(false, Ordering::Release);
            inner.void_bindings().await;
        }
        if is_leader && !was_leader {
            tracing::info!(id = inner.id, "became leader");
            register_self(&inner);
            if !barrier_done {
                barrier(&inner);
            }
        }
        inner.leader.store(is_leader, Ordering::Release);
        update_serving(&inner, is_leader, barrier_done);
        was_leader = is_leader;
        if rx.changed().await.is_err() {
            inner.serving.store(false, Ordering::Release);
            return;
        }
    }
}

/// Recomputes whether SQL is served: leader, barrier applied, quorum reachable, no transfer.
fn update_serving(inner: &Inner, is_leader: bool, barrier_done: bool) {
    let serving = is_leader
        && barrier_done
        && !inner.transferring.load(Ordering::Acquire)
        && !inner.quorum_lost.load(Ordering::Acquire);
    inner.serving.store(serving, Ordering::Release);
}

/// Check-quorum: every election timeout the leader confirms it still reaches a quorum. If two
/// probes in a row fail (each bounded by an election timeout) it stops serving (LEADER answers `(0, "")`, open
/// transactions roll back, in-flight commits answer 10506) until a quorum answers again, like
/// dqlite's leader stepping down.
pub async fn check_quorum(inner: Arc<Inner>) {
    let period = inner.config.election_timeout;
    let mut shutdown = inner.shutdown.subscribe();
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        // A transfer silences heartbeats on purpose: probing would renew the lease it waits out.
        if !inner.leader.load(Ordering::Acquire) || inner.transferring.load(Ordering::Acquire) {
            continue;
        }
        let ok = matches!(
            tokio::time::timeout(period, inner.raft.get_read_log_id()).await,
            Ok(Ok(_))
        );
        failures = if ok { 0 } else { failures + 1 };
        let lost = inner.quorum_lost.load(Ordering::Acquire);
        // Two failed probes in a row (a busy machine may delay one).
        if failures >= 2 && !lost && inner.leader.load(Ordering::Acquire) {
            tracing::warn!(id = inner.id, "leader cannot reach a quorum; not serving");
            inner.quorum_lost.store(true, Ordering::Release);
            inner.void_bindings().await;
        } else if ok && lost {
            tracing::info!(id = inner.id, "quorum reachable again");
            inner.quorum_lost.store(false, Ordering::Release);
            let m = inner.raft.metrics().borrow().clone();
            let barrier = m.last_applied.map(|l| l.leader_id.term) == Some(m.current_term);
            update_serving(&inner, m.state == ServerState::Leader, barrier);
        }
    }
}

/// Proposes an empty entry in the current term (dqlite's barrier): once it is applied, the
/// state machine holds everything committed before, and the node starts serving. It matters
/// after a restart, when a leader restores its term without a new election and has nothing
/// of its own to commit.
fn barrier(inner: &Arc<Inner>) {
    let inner = inner.clone();
    tokio::spawn(async move {
        if let Err(e) = inner.propose(Command::Noop).await {
            tracing::debug!(error = %e, "barrier entry not committed");
        }
    });
}

/// Records this node in the replicated cluster list when it is missing (bootstrap node).
fn register_self(inner: &Arc<Inner>) {
    let known = inner
        .sm
        .lock()
        .map(|s| s.nodes.iter().any(|(id, _)| *id == inner.id))
        .unwrap_or(true);
    if known {
        return;
    }
    let inner = inner.clone();
    tokio::spawn(async move {
        let cmd = Command::AddNode {
            id: inner.id,
            address: inner.config.address.clone(),
        };
        if let Err(e) = inner.propose(cmd).await {
            tracing::debug!(error = %e, "could not record this node in the cluster list");
        }
    });
}
