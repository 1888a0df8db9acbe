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
            let leads = (m.state == ServerState::Leader).then_some(m.current_term);
            // The lease counts answers in this term and configuration only.
            inner.acks.lead(
                leads.unwrap_or(0),
                m.membership_config.membership().get_joint_config(),
            );
            (leads, applied_term == Some(m.current_term))
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
            inner.acks.lead(0, &[]);
            if led.is_some() {
                inner.void_bindings().await;
            }
            return;
        }
    }
}

/// Check-quorum: the leader steps down from serving (LEADER answers `(0, "")`, open
/// transactions roll back, in-flight commits answer 10506) once no quorum has answered any
/// of its AppendEntries for an election timeout, about when the followers start electing
/// another leader, and serves again when a quorum answers (like dqlite's leader stepping
/// down). It reads the answers that heartbeats and replication already bring (see
/// [`crate::raft::lease`]), so it costs no messages of its own; reads stop earlier, when the
/// lease ends.
pub async fn check_quorum(inner: Arc<Shared>) {
    let period = inner.config.heartbeat_interval;
    let patience = u64::try_from(inner.config.election_timeout.as_nanos()).unwrap_or(u64::MAX);
    let mut shutdown = inner.shutdown.subscribe();
    // The term this loop saw this node lead in, and since when (in the acks' clock).
    let mut leading: Option<(u64, u64)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        let term = inner.raft.metrics().borrow().current_term;
        // A transfer silences heartbeats on purpose: its silence is not a lost quorum.
        if !inner.serving.is_leader() || inner.serving.is_transferring() {
            leading = None;
            continue;
        }
        let now = inner.acks.now();
        let since = match leading {
            Some((t, since)) if t == term => since,
            _ => {
                leading = Some((term, now));
                now
            }
        };
        let heard = inner.acks.quorum_time().max(since);
        let ok = now.saturating_sub(heard) <= patience;
        let lost = inner.serving.quorum_lost();
        if !ok && !lost && inner.serving.is_leader() {
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
