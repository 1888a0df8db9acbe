//! What the clients, the nemesis and the run share: the cluster's processes (behind one
//! lock, driven from blocking threads) and a `dqlite-client` cluster handle for admin calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cluster::{Cluster, ClusterError};

/// How long a leader query may take before the nemesis picks a random node instead.
const LEADER_QUERY: Duration = Duration::from_secs(3);

/// A cheap-to-clone handle on the cluster under test.
#[derive(Debug, Clone)]
pub struct Shared {
    cluster: Arc<Mutex<Cluster>>,
    client: dqlite_client::Cluster,
    addresses: Vec<String>,
}

impl Shared {
    /// Wraps a started cluster and a client that knows every node.
    pub fn new(cluster: Cluster, client: dqlite_client::Cluster) -> Shared {
        let addresses = cluster.addresses();
        Shared {
            cluster: Arc::new(Mutex::new(cluster)),
            client,
            addresses,
        }
    }

    /// Runs `f` on the cluster on a blocking thread (cluster operations run commands and
    /// wait for processes). Errors come back as text, for the history.
    pub async fn with<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut Cluster) -> Result<T, ClusterError> + Send + 'static,
    {
        let cluster = Arc::clone(&self.cluster);
        tokio::task::spawn_blocking(move || {
            let mut guard = cluster.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("cluster task failed: {e}"))?
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.addresses.len()
    }

    /// The client-facing addresses, by node index.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// The node index of an address.
    pub fn index_of(&self, address: &str) -> Option<usize> {
        self.addresses.iter().position(|a| a == address)
    }

    /// The admin client.
    pub fn client(&self) -> &dqlite_client::Cluster {
        &self.client
    }

    /// The current leader's index, if one answers quickly.
    pub async fn leader(&self) -> Option<usize> {
        let addr = tokio::time::timeout(LEADER_QUERY, self.client.leader_address())
            .await
            .ok()?
            .ok()?;
        self.index_of(&addr)
    }

    /// Takes the cluster back for shutdown; `None` while another handle still holds it.
    pub fn into_cluster(self) -> Option<Cluster> {
        Arc::into_inner(self.cluster).map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}
