//! A running node: storage, raft, the listener and the background tasks, behind one handle an
//! application can embed (like go-dqlite's `app.App`).

mod join;
mod leadership;
pub mod membership;
mod reads;
mod roles;
pub mod shared;
pub mod transfer;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, ServerState};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::fatal::Fatal;
use crate::raft::floor::SnapshotFloor;
use crate::raft::lease::Acks;
use crate::raft::log_store::LogStore;
use crate::raft::network::Network;
use crate::raft::state_machine::StateMachine;
use crate::raft::Raft;
use crate::serving::Serving;
use crate::sql::registry::Registry;
use crate::sql::writer::WriterEnv;
pub use shared::Shared;

/// A running node.
pub struct Node {
    inner: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    address: std::net::SocketAddr,
}

impl Node {
    /// Opens the data directory, starts raft and serves `listener` (bound to `config.address`).
    pub async fn start(config: Config, listener: TcpListener) -> Result<Node> {
        crate::durable::create_dir_all(&config.dir)?;
        let id =
            crate::identity::load_or_create(&config.dir, &config.address, config.join.is_empty())?;
        if config.max_tx_bytes > crate::config::MAX_TX_BYTES_LIMIT {
            return Err(Error::Config(format!(
                "max_tx_bytes {} is over the limit of {} bytes",
                config.max_tx_bytes,
                crate::config::MAX_TX_BYTES_LIMIT
            )));
        }
        let fatal = Fatal::default();
        let serving = Arc::new(Serving::default());
        let env = WriterEnv {
            node_id: id,
            proposer: Default::default(),
            max_tx_bytes: config.max_tx_bytes,
            fatal: fatal.clone(),
            serving: serving.clone(),
        };
        let registry = Arc::new(Registry::new(&config.dir.join("db"), config.readers, env)?);
        let floor = SnapshotFloor::default();
        let sm = StateMachine::open(
            &config.dir.join("snapshots"),
            registry.clone(),
            floor.clone(),
        )
        .await?;
        let sm_state = sm.state();
        let log =
            LogStore::open_with_floor(&config.dir.join("raft.db"), floor, config.log_cache_bytes)?;
        let raft_config = Arc::new(
            config
                .raft_config()
                .validate()
                .map_err(|e| Error::Raft(e.to_string()))?,
        );
        let acks = Arc::new(Acks::new(
            id,
            Duration::from_millis(raft_config.election_timeout_max),
        ));
        let network = Network {
            id,
            address: config.address.clone(),
            acks: acks.clone(),
        };
        let raft = Raft::new(id, raft_config, network, log, sm)
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        let proposer_raft = raft.clone();
        let runtime = tokio::runtime::Handle::current();
        registry.set_proposer(Arc::new(move |cmd| {
            // Only queues the entry for RaftCore: never waits on the runtime. Its reply is not
            // awaited: the writer learns the outcome from the apply (or the leadership loss).
            runtime.block_on(proposer_raft.client_write_ff(cmd)).is_ok()
        }));
        let bootstrap = config.join.is_empty();
        let inner = Arc::new(Shared {
            id,
            raft: raft.clone(),
            registry,
            sm: sm_state,
            serving,
            acks,
            weight: AtomicU64::new(0),
            admin: tokio::sync::Mutex::new(()),
            next_conn: AtomicU64::new(1),
            shutdown: watch::channel(false).0,
            fatal,
            config,
        });
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        if bootstrap && !initialized {
            let members = BTreeMap::from([(id, BasicNode::new(inner.config.address.clone()))]);
            raft.initialize(members)
                .await
                .map_err(|e| Error::Raft(e.to_string()))?;
            tracing::info!(id, address = %inner.config.address, "bootstrapped a new cluster");
        }
        let address = listener.local_addr()?;
        let mut tasks = vec![
            tokio::spawn(crate::server::run(listener, inner.clone())),
            tokio::spawn(leadership::watch(inner.clone())),
            tokio::spawn(leadership::check_quorum(inner.clone())),
            tokio::spawn(roles::adjust_loop(inner.clone())),
            tokio::spawn(fail_stop(inner.clone())),
        ];
        if !bootstrap && !initialized {
            tasks.push(tokio::spawn(join::join(inner.clone())));
        }
        tracing::info!(id, address = %inner.config.address, "node started");
        Ok(Node {
            inner,
            tasks,
            address,
        })
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.address
    }

    /// The databases this node holds, by name, sorted.
    pub fn databases(&self) -> Vec<String> {
        self.inner.registry.names()
    }

    /// Why this node stopped for a fault of its own, if it did (see [`Node::failed`]).
    pub fn fault(&self) -> Option<String> {
        self.inner.fatal.reason()
    }

    /// Reads running on, and waiting for, the read pool's threads (tests).
    #[doc(hidden)]
    pub fn read_pool_load(&self) -> (usize, usize) {
        let pool = &self.inner.registry.readers;
        (pool.running(), pool.queued())
    }

    /// Stops raft alone, as a fatal raft error would (tests of the fail-stop path).
    #[doc(hidden)]
    pub async fn stop_raft(&self) {
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }

    /// True when this node is the leader and serves SQL.
    pub fn is_leader(&self) -> bool {
        self.inner.is_serving()
    }

    /// Raft metrics.
    pub fn metrics(&self) -> openraft::RaftMetrics<u64, BasicNode> {
        self.inner.raft.metrics().borrow().clone()
    }

    /// Waits until this node has stopped for a fault of its own (disk full, I/O error, a
    /// diverged replica, a fatal raft error) and returns the reason. The node serves nothing
    /// from then on; call [`Node::stop`] and restart it, which rebuilds its databases from
    /// its snapshot and log.
    pub async fn failed(&self) -> String {
        self.inner.fatal.wait().await
    }

    /// Hands leadership over (when leading and another voter exists), then stops everything.
    pub async fn shutdown(self) {
        let m = self.metrics();
        if m.state == ServerState::Leader
            && m.membership_config.membership().voter_ids().count() > 1
        {
            match transfer(&self.inner, 0).await {
                Ok(()) => tracing::info!("leadership handed over before shutdown"),
                Err(e) => tracing::warn!(error = %e, "could not hand leadership over"),
            }
        }
        self.stop().await;
    }

    /// Stops everything at once, without handing leadership over (for tearing down a whole
    /// cluster, where there is no one to hand it to). Returns the fault that had stopped this
    /// node, if one had (a stop on purpose is none).
    pub async fn stop(self) -> Option<String> {
        let _ = self.inner.shutdown.send(true);
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        for t in &self.tasks {
            t.abort();
        }
        self.inner.registry.close_all().await;
        tracing::info!(id = self.inner.id, "node stopped");
        self.inner.fatal.reason()
    }
}

use transfer::transfer;

/// Turns a fatal raft error into a fail-stop, and a fail-stop into a stopped node: nothing
/// is served and raft is shut down, so this node cannot vote or answer for data it lacks.
async fn fail_stop(inner: Arc<Shared>) {
    let mut metrics = inner.raft.metrics();
    let mut shutdown = inner.shutdown.subscribe();
    let why = tokio::select! {
        // A node being stopped on purpose stops its raft too: that is no fault.
        _ = shutdown.wait_for(|stop| *stop) => return,
        why = inner.fatal.wait() => why,
        stopped = metrics.wait_for(|m| m.running_state.is_err()) => match stopped {
            Ok(_) if *inner.shutdown.borrow() => return,
            Ok(m) => match &m.running_state {
                Err(e) => format!("raft stopped: {e}"),
                Ok(()) => return,
            },
            Err(_) => return,
        },
    };
    inner.fatal.raise(why);
    inner.serving.stop();
    inner.serving.end_epoch();
    if let Err(e) = inner.raft.shutdown().await {
        tracing::debug!(error = %e, "raft shutdown after a fatal fault");
    }
}
