//! The embedded default: a local cluster of `dqlite-server` nodes in this process, on
//! loopback ports, with its data in a temporary directory removed afterwards.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Config as ClientConfig, Role};
use dqlite_server::{Config as ServerConfig, Node};
use tokio::net::TcpListener;

/// Ports tried first, so that results land in a predictable `<dir>/127.0.0.1:9001/results`.
const PREFERRED_PORTS: [u16; 3] = [9001, 9002, 9003];

/// Why the embedded cluster could not run.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// A directory or socket could not be created.
    #[error("embedded cluster: {0}: {1}")]
    Io(String, std::io::Error),
    /// A node failed to start.
    #[error("embedded cluster: node {0} failed to start: {1}")]
    Node(String, dqlite_server::Error),
    /// The nodes did not all become voters in time.
    #[error("embedded cluster: not all {0} nodes became voters within {1:?} (last seen: {2})")]
    NotReady(usize, Duration, String),
}

/// A running local cluster.
pub struct EmbeddedCluster {
    nodes: Vec<Node>,
    addrs: Vec<String>,
    dir: PathBuf,
}

impl std::fmt::Debug for EmbeddedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCluster")
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// A unique temporary directory for the cluster's data.
fn temp_dir() -> Result<PathBuf, EmbeddedError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("dqlite-benchmark-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| EmbeddedError::Io(format!("create {dir:?}"), e))?;
    Ok(dir)
}

/// Binds the preferred loopback ports when all are free, otherwise free ones.
async fn listeners(n: usize) -> Result<Vec<TcpListener>, EmbeddedError> {
    let mut preferred = Vec::new();
    for port in PREFERRED_PORTS.iter().take(n) {
        match TcpListener::bind(("127.0.0.1", *port)).await {
            Ok(l) => preferred.push(l),
            Err(_) => break,
        }
    }
    if preferred.len() == n {
        return Ok(preferred);
    }
    drop(preferred);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| EmbeddedError::Io("bind 127.0.0.1:0".into(), e))?;
        out.push(l);
    }
    Ok(out)
}

impl EmbeddedCluster {
    /// Starts `n` nodes (the first bootstraps, the others join it) and waits until the
    /// first three are voters.
    pub async fn start(n: usize, timeout: Duration) -> Result<EmbeddedCluster, EmbeddedError> {
        let dir = temp_dir()?;
        let mut cluster = EmbeddedCluster {
            nodes: Vec::with_capacity(n),
            addrs: Vec::with_capacity(n),
            dir,
        };
        let listeners = listeners(n).await?;
        let local: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<Result<_, _>>()
            .map_err(|e| EmbeddedError::Io("local address".into(), e))?;
        cluster.addrs = local.iter().map(SocketAddr::to_string).collect();
        for (i, listener) in listeners.into_iter().enumerate() {
            let addr = cluster.addrs[i].clone();
            let mut config =
                ServerConfig::new(addr.clone(), cluster.dir.join(format!("node{}", i + 1)));
            if i > 0 {
                config.join = vec![cluster.addrs[0].clone()];
            }
            let node = Node::start(config, listener)
                .await
                .map_err(|e| EmbeddedError::Node(addr, e))?;
            cluster.nodes.push(node);
        }
        cluster.wait_for_voters(n.min(3), timeout).await?;
        Ok(cluster)
    }

    async fn wait_for_voters(&self, want: usize, timeout: Duration) -> Result<(), EmbeddedError> {
        let config = ClientConfig::default()
            .with_retry_budget(Duration::from_secs(2))
            .with_dial_timeout(Duration::from_secs(1));
        let client = Cluster::from_addresses(self.addrs.clone(), config)
            .map_err(|e| EmbeddedError::NotReady(want, timeout, e.to_string()))?;
        let deadline = Instant::now() + timeout;
        let mut last = String::from("nothing yet");
        while Instant::now() < deadline {
            match client.nodes().await {
                Ok(nodes) => {
                    let voters = nodes.iter().filter(|n| n.role == Some(Role::Voter)).count();
                    if voters >= want {
                        return Ok(());
                    }
                    last = format!("{voters} voters of {}", nodes.len());
                }
                Err(e) => last = e.to_string(),
            }
            // Roles change through raft; poll the configuration a few times a second.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(EmbeddedError::NotReady(want, timeout, last))
    }

    /// The nodes' addresses, in start order.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Where the nodes keep their data (removed by [`EmbeddedCluster::shutdown`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops every node at once (the whole cluster goes, so no leadership hand-over) and
    /// removes the data directory.
    pub async fn shutdown(self) {
        futures::future::join_all(self.nodes.into_iter().map(Node::stop)).await;
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {:?}: {e}", self.dir);
        }
    }
}
