//! Membership and roles (ADD, ASSIGN, REMOVE, CLUSTER).
//!
//! Roles map onto openraft as: voter = voter, stand-by = learner, spare = outside openraft's
//! membership (listed only in the replicated cluster list, which also keeps insertion order).

use std::collections::{BTreeMap, BTreeSet};

use dqlite_proto::{NodeInfo, Role};
use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};

use super::shared::Shared;
use crate::command::Command;
use crate::error::{Error, Result};

/// The cluster as this node sees it, in insertion order, with roles.
pub fn cluster(inner: &Shared) -> Vec<NodeInfo> {
    let m = inner.raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let voters: BTreeSet<u64> = membership.voter_ids().collect();
    let listed: Vec<(u64, String)> = inner.sm.lock().map(|s| s.nodes.clone()).unwrap_or_default();
    let mut out: Vec<NodeInfo> = Vec::new();
    let role = |id: u64| {
        if voters.contains(&id) {
            Role::Voter
        } else if membership.get_node(&id).is_some() {
            Role::StandBy
        } else {
            Role::Spare
        }
    };
    for (id, address) in &listed {
        out.push(NodeInfo {
            id: *id,
            address: address.clone(),
            role: Some(role(*id)),
        });
    }
    for (id, node) in membership.nodes() {
        if !out.iter().any(|n| n.id == *id) {
            out.push(NodeInfo {
                id: *id,
                address: node.addr.clone(),
                role: Some(role(*id)),
            });
        }
    }
    out
}

fn one_change_at_a_time(inner: &Shared) -> Result<tokio::sync::MutexGuard<'_, ()>> {
    inner
        .admin
        .try_lock()
        .map_err(|_| Error::failure(5, "a configuration change is already in progress"))
}

fn leader_only(inner: &Shared) -> Result<()> {
    if inner.is_serving() {
        Ok(())
    } else {
        Err(Error::NotLeader)
    }
}

/// ADD: records a node as spare.
pub async fn add(inner: &Shared, id: u64, address: String) -> Result<()> {
    leader_only(inner)?;
    let _guard = one_change_at_a_time(inner)?;
    let nodes = cluster(inner);
    if id == 0 || nodes.iter().any(|n| n.id == id) {
        return Err(Error::failure(1, "server ID already in use"));
    }
    if nodes.iter().any(|n| n.address == address) {
        return Err(Error::failure(1, "server address already in use"));
    }
    inner.propose(Command::AddNode { id, address }).await?;
    Ok(())
}

/// ASSIGN: changes a node's role; promotion to voter catches the node up first.
pub async fn assign(inner: &Shared, id: u64, role: Role) -> Result<()> {
    leader_only(inner)?;
    let _guard = one_change_at_a_time(inner)?;
    let Some(node) = cluster(inner).into_iter().find(|n| n.id == id) else {
        return Err(Error::failure(1, "Resource not found"));
    };
    let current = node.role.unwrap_or(Role::Spare);
    if current == role {
        return Err(Error::failure(1, "server role is not valid"));
    }
    let raft = &inner.raft;
    let basic = BasicNode::new(node.address.clone());
    let ids = BTreeSet::from([id]);
    match (current, role) {
        (Role::Spare, Role::Voter) => {
            raft.add_learner(id, basic, true)
                .await
                .map_err(change_error)?;
            change(inner, ChangeMembers::AddVoterIds(ids), false).await
        }
        (Role::StandBy, Role::Voter) => change(inner, ChangeMembers::AddVoterIds(ids), false).await,
        (Role::Spare, Role::StandBy) => raft
            .add_learner(id, basic, true)
            .await
            .map(|_| ())
            .map_err(change_error),
        (Role::Voter, Role::StandBy) => change(inner, ChangeMembers::RemoveVoters(ids), true).await,
        (Role::Voter, Role::Spare) => change(inner, ChangeMembers::RemoveVoters(ids), false).await,
        (Role::StandBy, Role::Spare) => change(inner, ChangeMembers::RemoveNodes(ids), false).await,
        _ => Err(Error::failure(1, "server role is not valid")),
    }
}

/// REMOVE: takes a node out of the configuration and the cluster list.
pub async fn remove(inner: &Shared, id: u64) -> Result<()> {
    leader_only(inner)?;
    let _guard = one_change_at_a_time(inner)?;
    let Some(node) = cluster(inner).into_iter().find(|n| n.id == id) else {
        return Err(Error::failure(1, "server ID is not valid"));
    };
    let ids = BTreeSet::from([id]);
    match node.role {
        Some(Role::Voter) => change(inner, ChangeMembers::RemoveVoters(ids), false).await?,
        Some(Role::StandBy) => change(inner, ChangeMembers::RemoveNodes(ids), false).await?,
        _ => {}
    }
    inner.propose(Command::RemoveNode { id }).await?;
    Ok(())
}

async fn change(
    inner: &Shared,
    members: ChangeMembers<u64, BasicNode>,
    retain: bool,
) -> Result<()> {
    inner
        .raft
        .change_membership(members, retain)
        .await
        .map(|_| ())
        .map_err(change_error)
}

fn change_error(e: RaftError<u64, ClientWriteError<u64, BasicNode>>) -> Error {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => Error::NotLeader,
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(_),
        )) => Error::failure(5, "a configuration change is already in progress"),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            Error::failure(1, e.to_string())
        }
        RaftError::Fatal(e) => Error::Raft(e.to_string()),
    }
}

/// Voter and stand-by ids with their addresses (for transfer and shutdown).
pub fn voters(inner: &Shared) -> BTreeMap<u64, String> {
    cluster(inner)
        .into_iter()
        .filter(|n| n.role == Some(Role::Voter))
        .map(|n| (n.id, n.address))
        .collect()
}
