//! The snapshot floor: the last log index that the current snapshot *on disk* covers.
//!
//! openraft 0.9 purges the log up to a snapshot it is installing as soon as it has handed
//! the install to the state machine, without waiting for it. Had the purge reached the disk
//! before the new snapshot file was renamed into place, a crash in between would leave a node
//! whose snapshot ends before its log begins. The state machine publishes the floor once a
//! snapshot file is durable (built, installed or found at start); the log store waits for
//! the floor to cover a purge before it writes it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Shared between the state machine (which raises it) and the log store (which waits on it).
#[derive(Clone)]
pub struct SnapshotFloor {
    /// One past the last index covered by the durable snapshot; 0 when there is none.
    tx: Arc<watch::Sender<u64>>,
}

impl Default for SnapshotFloor {
    fn default() -> Self {
        SnapshotFloor {
            tx: Arc::new(watch::channel(0).0),
        }
    }
}

impl SnapshotFloor {
    /// Records that a snapshot covering `index` is durable (the floor never goes down).
    pub fn raise(&self, index: Option<u64>) {
        if let Some(index) = index {
            self.tx.send_if_modified(|f| {
                let covered = index.saturating_add(1);
                let higher = covered > *f;
                if higher {
                    *f = covered;
                }
                higher
            });
        }
    }

    /// The last index covered by the durable snapshot, if any.
    pub fn covered(&self) -> Option<u64> {
        self.tx.borrow().checked_sub(1)
    }

    /// Waits until a durable snapshot covers `index`; false after `patience`.
    pub async fn wait_covers(&self, index: u64, patience: Duration) -> bool {
        let mut rx = self.tx.subscribe();
        let covered = tokio::time::timeout(patience, rx.wait_for(|f| *f > index)).await;
        matches!(covered, Ok(Ok(_)))
    }
}
