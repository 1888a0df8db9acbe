//! Automatic role management on the leader, like go-dqlite's `app` (`Adjust`): every
//! interval it probes the other nodes with DESCRIBE and makes one change per round:
//! promote an online stand-by (else spare) while fewer voters than wanted are online, demote
//! an offline voter once enough online voters remain, then the same for stand-bys.

use std::sync::Arc;
use std::time::Duration;

use dqlite_proto::{NodeInfo, Request, Role};

use super::membership;
use super::shared::Shared;
use crate::client::Client;

/// How long a node has to answer DESCRIBE to count as online (go-dqlite uses 2 s).
const PROBE: Duration = Duration::from_secs(2);

/// Runs until the node shuts down.
pub async fn adjust_loop(inner: Arc<Shared>) {
    let Some(period) = inner.config.role_adjust_interval else {
        return;
    };
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        if inner.is_serving() {
            if let Err(e) = adjust(&inner).await {
                tracing::debug!(error = %e, "role adjustment skipped");
            }
        }
    }
}

async fn online(inner: &Shared, node: &NodeInfo) -> bool {
    if node.id == inner.id {
        return true;
    }
    let probe = async {
        let mut c = Client::connect(&node.address, PROBE).await.ok()?;
        c.call(&Request::Describe { format: 0 }).await.ok()
    };
    matches!(tokio::time::timeout(PROBE, probe).await, Ok(Some(_)))
}

/// One round: at most one role change.
async fn adjust(inner: &Shared) -> crate::Result<()> {
    let nodes = membership::cluster(inner);
    if nodes.len() < 3 {
        return Ok(());
    }
    let mut status = Vec::with_capacity(nodes.len());
    for n in nodes {
        let up = online(inner, &n).await;
        status.push((n, up));
    }
    let role = |n: &NodeInfo| n.role.unwrap_or(Role::Spare);
    let count = |r: Role, up: bool| {
        status
            .iter()
            .filter(|(n, u)| role(n) == r && *u == up)
            .count()
    };
    let pick = |r: Role, up: bool| {
        status
            .iter()
            .find(|(n, u)| role(n) == r && *u == up && n.id != inner.id)
            .map(|(n, _)| n.id)
    };
    let (want_voters, want_standbys) = (inner.config.voters, inner.config.standbys);
    let change = if count(Role::Voter, true) < want_voters {
        pick(Role::StandBy, true)
            .or(pick(Role::Spare, true))
            .map(|id| (id, Role::Voter))
    } else if let Some(id) = pick(Role::Voter, false) {
        Some((id, Role::Spare))
    } else if count(Role::StandBy, true) < want_standbys {
        pick(Role::Spare, true).map(|id| (id, Role::StandBy))
    } else {
        pick(Role::StandBy, false).map(|id| (id, Role::Spare))
    };
    if let Some((id, role)) = change {
        tracing::info!(id, %role, "adjusting roles");
        membership::assign(inner, id, role).await?;
    }
    Ok(())
}
