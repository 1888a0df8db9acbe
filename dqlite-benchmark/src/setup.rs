//! Before the run: wait (within `--cluster-timeout`) until the leader lists every target
//! address and each one accepts a connection within 2 s, as go-dqlite's driver does; then
//! create the schema.

use std::time::Duration;

use dqlite_client::{Client, Cluster, Config, Db};
use tokio::time::Instant;

use crate::signal::Shutdown;
use crate::summary::{Node, ServerInfo};
use crate::workload::SCHEMA;

/// How long one node may take to accept a connection (go-dqlite's `nodeOnline`).
const NODE_ONLINE_TIMEOUT: Duration = Duration::from_secs(2);
/// Retry budget of one check (finding the leader, listing the nodes).
const ROUND_BUDGET: Duration = Duration::from_secs(5);
/// Pause between two checks of the cluster.
const POLL: Duration = Duration::from_millis(200);

/// Why the cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The cluster was not complete in time.
    #[error("timed out after {0:?} waiting for the cluster: {1}")]
    Timeout(Duration, String),
    /// A signal arrived while waiting.
    #[error("benchmark stopped: signal received while waiting for the cluster")]
    Interrupted,
    /// The client configuration was rejected.
    #[error("client: {0}")]
    Client(#[source] dqlite_client::Error),
    /// Creating the table failed.
    #[error("creating the schema failed: {0}")]
    Schema(#[source] dqlite_client::Error),
}

/// Waits until every address in `addrs` is a member of the cluster and online. Returns the
/// leader and the membership seen then.
pub async fn wait_for_cluster(
    config: &Config,
    addrs: &[String],
    timeout: Duration,
    shutdown: &Shutdown,
) -> Result<ServerInfo, SetupError> {
    // Short budgets per round (at most half the wait), so that failed rounds say why.
    let round = (timeout / 2).clamp(Duration::from_millis(200), ROUND_BUDGET);
    let probe = config
        .clone()
        .with_retry_budget(round)
        .with_dial_timeout(NODE_ONLINE_TIMEOUT.min(round))
        .with_attempt_timeout(NODE_ONLINE_TIMEOUT.min(round))
        .with_request_timeout(round);
    let cluster = Cluster::from_addresses(addrs.to_vec(), probe).map_err(SetupError::Client)?;
    let cluster = &cluster;
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    loop {
        let check = tokio::time::timeout_at(deadline, check_once(cluster, addrs));
        tokio::select! {
            r = check => match r {
                Ok(Ok(info)) => return Ok(info),
                Ok(Err(why)) => last = why,
                Err(_) => {}
            },
            _ = shutdown.clone().wait() => return Err(SetupError::Interrupted),
        }
        if Instant::now() >= deadline {
            return Err(SetupError::Timeout(timeout, last));
        }
        tracing::debug!(%last, "cluster not ready");
        tokio::select! {
            _ = tokio::time::sleep_until((Instant::now() + POLL).min(deadline)) => {}
            _ = shutdown.clone().wait() => return Err(SetupError::Interrupted),
        }
    }
}

async fn check_once(cluster: &Cluster, addrs: &[String]) -> Result<ServerInfo, String> {
    let nodes = cluster
        .nodes()
        .await
        .map_err(|e| format!("cannot list the cluster's nodes: {e}"))?;
    tracing::debug!(?nodes, "cluster nodes");
    let missing: Vec<&str> = addrs
        .iter()
        .filter(|a| !nodes.iter().any(|n| &n.address == *a))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "not (yet) members of the cluster: {}",
            missing.join(", ")
        ));
    }
    let config = cluster
        .config()
        .clone()
        .with_dial_timeout(NODE_ONLINE_TIMEOUT);
    for addr in addrs {
        match tokio::time::timeout(NODE_ONLINE_TIMEOUT, Client::connect(addr, &config)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("{addr} is not online: {e}")),
            Err(_) => return Err(format!("{addr} is not online: no answer within 2 s")),
        }
    }
    Ok(ServerInfo {
        leader: cluster.leader_address().await.ok(),
        nodes: nodes
            .into_iter()
            .map(|n| Node {
                id: n.id,
                address: n.address,
                role: n.role.map(|r| r.to_string()),
            })
            .collect(),
    })
}

/// Creates the workload's table (`CREATE TABLE IF NOT EXISTS`).
pub async fn create_schema(db: &Db) -> Result<(), SetupError> {
    db.execute(SCHEMA, ())
        .await
        .map(drop)
        .map_err(SetupError::Schema)
}
