//! The membership nemesis: remove a node through the admin API, stop and wipe it, and later
//! join it again as a new node (and make it a voter again, so the cluster keeps its size).

use std::time::{Duration, Instant};

use dqlite_client::Role;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{json, Value};

use crate::run::shared::Shared;

/// Longest wait for an admin call or for a rejoined node to show up.
const ADMIN_WAIT: Duration = Duration::from_secs(30);

/// Removes a node other than the leader, then kills and wipes it. The value names the node
/// and the id it had.
pub(super) async fn remove(shared: &Shared, rng: &mut StdRng) -> Result<Value, String> {
    let leader = shared.leader().await;
    let candidates: Vec<usize> = (0..shared.node_count())
        .filter(|&i| Some(i) != leader)
        .collect();
    let &node = candidates.choose(rng).ok_or("no node to remove")?;
    let address = shared.addresses()[node].clone();
    let nodes = admin(shared.client().nodes()).await?;
    let id = nodes
        .iter()
        .find(|n| n.address == address)
        .map(|n| n.id)
        .ok_or_else(|| format!("{address} is not a member"))?;
    admin(shared.client().remove(id)).await?;
    shared.with(move |c| c.kill(node)).await?;
    shared.with(move |c| c.wipe(node)).await?;
    Ok(json!({"node": node, "id": id}))
}

/// Starts the removed node empty, joining through the others, waits until the cluster lists
/// it, and assigns it the voter role.
pub(super) async fn rejoin(shared: &Shared, removed: &Value) -> Result<Value, String> {
    let node = removed["node"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("no node in the member fault's value")?;
    let address = shared.addresses()[node].clone();
    let others: Vec<String> = shared
        .addresses()
        .iter()
        .filter(|a| **a != address)
        .cloned()
        .collect();
    shared.with(move |c| c.start_joining(node, &others)).await?;
    // The server may promote the new node by itself (go-dqlite's role management does);
    // otherwise it is assigned the voter role once, and then awaited.
    let deadline = Instant::now() + ADMIN_WAIT;
    let mut assign_error: Option<String> = None;
    let mut assigned = false;
    let mut seen = None;
    loop {
        if let Ok(nodes) = admin(shared.client().nodes()).await {
            if let Some(info) = nodes.iter().find(|n| n.address == address) {
                seen = Some(info.id);
                if info.role == Some(Role::Voter) {
                    return Ok(json!({"node": node, "new_id": info.id, "voter": true}));
                }
                if !assigned {
                    assigned = true;
                    if let Err(e) = admin(shared.client().assign(info.id, Role::Voter)).await {
                        assign_error = Some(e);
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            return match seen {
                Some(id) => Ok(json!({
                    "node": node, "new_id": id, "voter": false, "assign_error": assign_error,
                })),
                None => Err(format!("{address} did not rejoin within {ADMIN_WAIT:?}")),
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An admin call with a deadline, its error as text.
async fn admin<T>(
    call: impl std::future::Future<Output = dqlite_client::Result<T>>,
) -> Result<T, String> {
    tokio::time::timeout(ADMIN_WAIT, call)
        .await
        .map_err(|_| format!("admin call timed out after {ADMIN_WAIT:?}"))?
        .map_err(|e| e.to_string())
}
