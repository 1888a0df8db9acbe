//! Joining an existing cluster with `--join`: ADD this node (as spare) through the leader,
//! then pick a role the way go-dqlite's app does: with at least three nodes, become a voter
//! while there are fewer than the target number of voters (and promote spares to fill the
//! voter set), else a stand-by while there are fewer than the target number of those.

use std::sync::Arc;
use std::time::Duration;

use dqlite_proto::{Request, Response, Role};

use super::shared::Shared;
use crate::client::{connect_leader, Client};
use crate::error::Result;

/// Retries until this node is in the cluster with its role settled, or the node stops.
pub async fn join(inner: Arc<Shared>) {
    let mut shutdown = inner.shutdown.subscribe();
    let mut delay = Duration::from_millis(100);
    loop {
        match try_join(&inner).await {
            Ok(()) => {
                tracing::info!(id = inner.id, "joined the cluster");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "joining the cluster failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

async fn try_join(inner: &Shared) -> Result<()> {
    let timeout = Duration::from_secs(5).max(inner.config.election_timeout * 4);
    let mut leader = connect_leader(&inner.config.join, timeout).await?;
    let mut nodes = cluster(&mut leader).await?;
    if !nodes.iter().any(|(id, _, _)| *id == inner.id) {
        leader
            .call(&Request::Add {
                id: inner.id,
                address: inner.config.address.clone(),
            })
            .await?;
        nodes = cluster(&mut leader).await?;
    }
    if nodes.len() < 3 {
        return Ok(());
    }
    let count = |nodes: &[(u64, String, Role)], r: Role| nodes.iter().filter(|n| n.2 == r).count();
    let mine = nodes
        .iter()
        .find(|n| n.0 == inner.id)
        .map(|n| n.2)
        .unwrap_or(Role::Spare);
    if mine != Role::Spare {
        return Ok(());
    }
    if count(&nodes, Role::Voter) < inner.config.voters {
        assign(&mut leader, inner.id, Role::Voter).await?;
        // Fill the voter set from the spares, as go-dqlite's first extra voter does.
        let nodes = cluster(&mut leader).await?;
        let mut voters = count(&nodes, Role::Voter);
        for (id, _, role) in nodes {
            if voters >= inner.config.voters {
                break;
            }
            if role == Role::Spare && assign(&mut leader, id, Role::Voter).await.is_ok() {
                voters += 1;
            }
        }
    } else if count(&nodes, Role::StandBy) < inner.config.standbys {
        assign(&mut leader, inner.id, Role::StandBy).await?;
    }
    Ok(())
}

async fn assign(c: &mut Client, id: u64, role: Role) -> Result<()> {
    c.call(&Request::Assign {
        id,
        role: Some(role.code()),
    })
    .await
    .map(|_| ())
}

async fn cluster(c: &mut Client) -> Result<Vec<(u64, String, Role)>> {
    match c.call(&Request::Cluster { format: 1 }).await? {
        Response::Nodes(nodes) => Ok(nodes
            .into_iter()
            .map(|n| (n.id, n.address, n.role.unwrap_or(Role::Spare)))
            .collect()),
        other => Err(crate::Error::internal(format!(
            "unexpected response {other:?}"
        ))),
    }
}
