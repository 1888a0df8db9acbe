//! openraft's storage conformance suite against the SQLite log store and the state machine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};

use super::log_store::LogStore;
use super::state_machine::StateMachine;
use super::{any_error, se, StorageError, TypeConfig};
use crate::sql::registry::Registry;
use crate::sql::writer::WriterEnv;

/// Removes a test directory when dropped.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Builder;

static NEXT: AtomicU64 = AtomicU64::new(0);

impl StoreBuilder<TypeConfig, LogStore, StateMachine, DirGuard> for Builder {
    async fn build(&self) -> Result<(DirGuard, LogStore, StateMachine), StorageError> {
        let dir = std::env::temp_dir().join(format!(
            "dqlite-server-suite-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| se::write(any_error(e)))?;
        let env = WriterEnv::standalone(1);
        let registry =
            Arc::new(Registry::new(&dir.join("db"), 1, env).map_err(|e| se::write(any_error(e)))?);
        let sm = StateMachine::open(&dir.join("snapshots"), registry, Default::default())
            .await
            .map_err(|e| se::write(any_error(e)))?;
        let log = LogStore::open(&dir.join("raft.db")).map_err(|e| se::write(any_error(e)))?;
        Ok((DirGuard(dir), log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).expect("storage conformance suite");
}
