//! Fail-stop: a fault that only this node has (disk full, I/O error, out of memory or file
//! descriptors, a replica that no longer matches the leader) must stop the node instead of
//! letting it skip an entry and carry on with different data.
//!
//! Whoever meets such a fault calls [`Fatal::raise`] with one line saying what happened. The
//! node then stops serving and raft is shut down; the `dqlite-server` binary exits non-zero.
//! On restart the node rebuilds its databases from its snapshot and log and catches up.

use std::sync::Arc;

use tokio::sync::watch;

/// The node's fail-stop signal; cheap to clone (clones share it).
#[derive(Clone)]
pub struct Fatal {
    tx: Arc<watch::Sender<Option<String>>>,
}

impl Default for Fatal {
    fn default() -> Self {
        Fatal {
            tx: Arc::new(watch::channel(None).0),
        }
    }
}

impl std::fmt::Debug for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Fatal").field(&self.reason()).finish()
    }
}

impl Fatal {
    /// Records why the node must stop. The first reason wins and is logged once.
    pub fn raise(&self, why: impl Into<String>) {
        let why = why.into();
        let first = self.tx.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(why.clone());
            true
        });
        if first {
            tracing::error!(reason = %why, "fatal: this node stops (restart it to rebuild from its snapshot and log)");
        }
    }

    /// Why the node stopped, once it has.
    pub fn reason(&self) -> Option<String> {
        self.tx.borrow().clone()
    }

    /// Waits until a fatal fault is raised and returns its reason.
    pub async fn wait(&self) -> String {
        let mut rx = self.tx.subscribe();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                // Unreachable while `self` holds the sender; never report a false stop.
                std::future::pending::<()>().await;
            }
        }
    }
}
