//! The state a node's tasks and client connections share: identity, configuration, raft,
//! the databases, the replicated cluster view, and who decides whether SQL is served.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::command::Command;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fatal::Fatal;
use crate::raft::lease::Acks;
use crate::raft::state_machine::SmState;
use crate::raft::Raft;
use crate::serving::Serving;
use crate::sql::registry::Registry;

/// State shared by the node's tasks and client connections.
pub struct Shared {
    /// This node's id.
    pub id: u64,
    /// Configuration.
    pub config: Config,
    /// Raft.
    pub raft: Raft,
    /// Databases.
    pub registry: Arc<Registry>,
    /// State-machine view (cluster list, membership).
    pub sm: Arc<Mutex<SmState>>,
    /// Whether, and in which term and epoch, this node serves SQL.
    pub serving: Arc<Serving>,
    /// Answers to this leader's AppendEntries: its lease and read confirmations.
    pub acks: Arc<Acks>,
    /// DESCRIBE weight (in memory only, as in dqlite).
    pub weight: AtomicU64,
    /// Serialises membership changes.
    pub admin: tokio::sync::Mutex<()>,
    /// Next client connection id.
    pub next_conn: AtomicU64,
    /// Set when the node shuts down.
    pub shutdown: watch::Sender<bool>,
    /// Raised when this node must stop (see [`crate::fatal`]).
    pub fatal: Fatal,
}

impl Shared {
    /// True when SQL may be served here.
    pub fn is_serving(&self) -> bool {
        self.serving.is_serving()
    }

    /// The current leadership epoch (see [`Serving`]).
    pub fn epoch(&self) -> u64 {
        self.serving.epoch()
    }

    /// Voids every binding and rolls back every open transaction (leadership or quorum lost).
    pub async fn void_bindings(&self) {
        self.serving.end_epoch();
        self.registry.abort_all().await;
    }

    /// The leader this node knows of, with its address from the configuration.
    pub fn leader(&self) -> Option<(u64, String)> {
        let m = self.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        // This node names itself only once it serves: a leader restored from disk with a stale
        // term, one still before its barrier, or one without a quorum would only answer 10250.
        if id == self.id && !self.is_serving() {
            return None;
        }
        let addr = m
            .membership_config
            .membership()
            .get_node(&id)
            .map(|n| n.addr.clone())?;
        Some((id, addr))
    }

    /// True when this node is a voter in its current configuration.
    pub fn is_voter(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        m.membership_config
            .membership()
            .voter_ids()
            .any(|v| v == self.id)
    }

    /// Proposes a command and waits until it is committed and applied here.
    pub async fn propose(&self, cmd: Command) -> Result<crate::command::Applied> {
        match self.raft.client_write(cmd).await {
            Ok(resp) => Ok(resp.data),
            Err(e) => {
                tracing::debug!(error = %e, "proposal failed");
                Err(Error::LeadershipLost)
            }
        }
    }
}
