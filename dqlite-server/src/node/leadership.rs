//! Follows raft metrics: publishes whether this node serves SQL (leader, post-election barrier
//! applied, no transfer running) and, when leadership is lost, voids every client binding and
//! rolls back every open transaction.

use std::sync::Arc;

use openraft::ServerState;

use super::shared::Shared;
use crate::command::Command;

/// Runs until raft shuts down. Reacts to every change of leadership, including a new term
/// in which this node leads again (metrics may coalesce leader(t) -> follower -> leader(t')).
pub async fn watch(inner: Arc<Shared>) {
    let mut rx = inner.raft.metrics();
    let mut led: Option<u64> = None;
    loop {
        let (leads, barrier_done) = {
            let m = rx.borrow_and_update();
            let applied_term = m.last_applied.map(|l| l.leader_id.term);
            (
                (m.state == ServerState::Leader).then_some(m.current_term),
                applied_term == Some(m.current_term),
            )
        };
        if led.is_some() && led != leads {
            tracing::info!(
                id = inner.id,
                "leadership lost; rolling back open transactions"
            );
            inner.serving.set_leader(None, false);
            inner.serving.set_quorum_lost(false);
            inner.void_bindings().await;
        }
        if leads.is_some() && led != leads {
            tracing::info!(id = inner.id, term = ?leads, "became leader");
            register_self(&inner);
            if !barrier_done {
                barrier(&inner);
            }
        }
        inner.serving.set_leader(leads, barrier_done);
        led = leads;
        if rx.changed().await.is_err() {
            // Raft stopped: nothing in flight can be committed by this node any more.
            inner.serving.set_leader(None, false);
            if led.is_some() {
                inner.void_bindings().await;
            }
            return;
        }
    }
}

/// Check-quorum: every election timeout the leader confirms it still reaches a quorum. If two
/// probes in a row fail (each bounded by an election timeout) it stops serving (LEADER answers `(0, "")`, open
/// transactions roll back, in-flight commits answer 10506) until a quorum answers again, like
/// dqlite's leader stepping down.
pub async fn check_quorum(inner: Arc<Shared>) {
    let period = inner.config.election_timeout;
    let mut shutdown = inner.shutdown.subscribe();
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        // A transfer silences heartbeats on purpose: probing would renew the lease it waits out.
        if !inner.serving.is_leader() || inner.serving.is_transferring() {
            continue;
        }
        let ok = matches!(
            tokio::time::timeout(period, inner.raft.get_read_log_id()).await,
            Ok(Ok(_))
        );
        failures = if ok { 0 } else { failures + 1 };
        let lost = inner.serving.quorum_lost();
        // Two failed probes in a row (a busy machine may delay one).
        if failures >= 2 && !lost && inner.serving.is_leader() {
            tracing::warn!(id = inner.id, "leader cannot reach a quorum; not serving");
            inner.serving.set_quorum_lost(true);
            inner.void_bindings().await;
        } else if ok && lost {
            tracing::info!(id = inner.id, "quorum reachable again");
            inner.serving.set_quorum_lost(false);
        }
    }
}

/// Proposes an empty entry in the current term (dqlite's barrier): once it is applied, the
/// state machine holds everything committed before, and the node starts serving. It matters
/// after a restart, when a leader restores its term without a new election and has nothing
/// of its own to commit.
fn barrier(inner: &Arc<Shared>) {
    let inner = inner.clone();
    tokio::spawn(async move {
        if let Err(e) = inner.propose(Command::Noop).await {
            tracing::debug!(error = %e, "barrier entry not committed");
        }
    });
}

/// Records this node in the replicated cluster list when it is missing (bootstrap node).
fn register_self(inner: &Arc<Shared>) {
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
