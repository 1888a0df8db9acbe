//! Storage hardening: a purge waits for the snapshot that covers it; builds and installs do
//! not trip over each other; a snapshot holds every database or is not built; an OPEN entry
//! no node can hold is refused the same way everywhere.

use std::sync::Arc;
use std::time::Duration;

use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload, RaftSnapshotBuilder};

use super::floor::SnapshotFloor;
use super::log_store::LogStore;
use super::snapshot::{self, SnapshotDir};
use super::state_machine::StateMachine;
use super::{SnapshotMeta, TypeConfig};
use crate::command::Command;
use crate::sql::registry::Registry;
use crate::sql::writer::WriterEnv;

/// A fresh directory, removed on drop.
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "dqlite-server-hardening-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn meta(index: u64) -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: Some(log_id(1, 0, index)),
        last_membership: Default::default(),
        snapshot_id: format!("test-{index}"),
    }
}

fn current_index(dir: &std::path::Path) -> Option<u64> {
    let mut file = std::fs::File::open(dir.join(snapshot::CURRENT)).ok()?;
    let header = snapshot::read_header(&mut file).expect("header");
    header.meta.last_log_id.map(|l| l.index)
}

#[tokio::test]
async fn a_purge_waits_until_a_durable_snapshot_covers_it() {
    let dir = Dir::new("purge-floor");
    let floor = SnapshotFloor::default();
    let mut log =
        LogStore::open_with_floor(&dir.0.join("raft.db"), floor.clone(), 1 << 20).expect("open");
    let mut purge = tokio::spawn(async move { log.purge(log_id(1, 0, 10)).await });
    // Nothing covers index 10 yet: the purge must not reach the disk.
    let early = tokio::time::timeout(Duration::from_millis(300), &mut purge).await;
    assert!(early.is_err(), "purged before any snapshot covered it");
    floor.raise(Some(10));
    tokio::time::timeout(Duration::from_secs(30), purge)
        .await
        .expect("purge finishes once covered")
        .expect("task")
        .expect("purge");
    // A log purged past the snapshot on disk is refused at start, with a clear message.
    let err = match LogStore::open_with_floor(
        &dir.0.join("raft.db"),
        SnapshotFloor::default(),
        1 << 20,
    ) {
        Ok(_) => panic!("opened a log purged past its snapshot"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("inconsistent"), "{err}");
}

#[tokio::test]
async fn an_older_build_never_replaces_a_newer_snapshot() {
    let dir = Dir::new("build-order");
    let floor = SnapshotFloor::default();
    let snapshots = SnapshotDir::open(&dir.0, floor.clone()).expect("open");
    let (_, built) = snapshots.build(meta(10), vec![], vec![]).expect("build 10");
    assert_eq!(built.last_log_id.map(|l| l.index), Some(10));
    // A build that started earlier finishes after the newer snapshot became current.
    let (_, kept) = snapshots.build(meta(5), vec![], vec![]).expect("build 5");
    assert_eq!(
        kept.last_log_id.map(|l| l.index),
        Some(10),
        "reports the newer one"
    );
    assert_eq!(current_index(&dir.0), Some(10));
    assert_eq!(floor.covered(), Some(10));
}

#[tokio::test]
async fn an_install_leaves_a_running_builds_files_alone() {
    let source = Dir::new("install-source");
    let dir = Dir::new("install-target");
    let floor = SnapshotFloor::default();
    let snapshots = SnapshotDir::open(&dir.0, floor.clone()).expect("open");
    // A build in progress in the same directory.
    let building = dir.0.join("build-0123456789abcdef.tmp");
    std::fs::write(&building, b"half a snapshot").expect("write");
    let other = SnapshotDir::open(&source.0, SnapshotFloor::default()).expect("open source");
    let (path, _) = other.build(meta(20), vec![], vec![]).expect("build");
    let (recv, mut file) = snapshots.receive_file().expect("receive");
    std::io::copy(&mut std::fs::File::open(path).expect("open"), &mut file).expect("copy");
    snapshots
        .accept(&recv, &mut file, &meta(20))
        .expect("accept");
    assert!(
        building.exists(),
        "the install removed a running build's file"
    );
    assert_eq!(current_index(&dir.0), Some(20));
    assert_eq!(floor.covered(), Some(20));
}

async fn state_machine(dir: &Dir) -> (Arc<Registry>, StateMachine) {
    let env = WriterEnv::standalone(1);
    let registry = Arc::new(Registry::new(&dir.0.join("db"), 1, env).expect("registry"));
    let sm = StateMachine::open(
        &dir.0.join("snapshots"),
        registry.clone(),
        Default::default(),
    )
    .await
    .expect("state machine");
    (registry, sm)
}

#[tokio::test]
async fn a_snapshot_that_cannot_hold_every_database_is_not_built() {
    let dir = Dir::new("pin-failure");
    let (registry, mut sm) = state_machine(&dir).await;
    registry.ensure("kept").expect("db");
    let lost = registry.ensure("lost").expect("db");
    // The file cannot be opened any more (here: a directory stands in its place).
    crate::sql::registry::remove_files(&lost.path).expect("remove");
    std::fs::create_dir(&lost.path).expect("dir");
    let mut builder = sm.get_snapshot_builder().await;
    let built = builder.build_snapshot().await;
    assert!(built.is_err(), "built a snapshot without database 'lost'");
    assert!(!dir.0.join("snapshots").join(snapshot::CURRENT).exists());
}

#[tokio::test]
async fn an_open_entry_for_a_name_no_node_can_hold_is_refused_on_apply() {
    let dir = Dir::new("open-apply");
    let (registry, mut sm) = state_machine(&dir).await;
    let long = "x".repeat(300);
    let entry = |index, db: &str| Entry::<TypeConfig> {
        log_id: log_id(1, 0, index),
        payload: EntryPayload::Normal(Command::Open { db: db.to_owned() }),
    };
    let applied = sm
        .apply(vec![entry(1, &long), entry(2, "fine")])
        .await
        .expect("a bad name must not stop the state machine");
    let code = applied[0].error.as_ref().map(|e| e.0);
    assert_eq!(code, Some(dqlite_proto::code::ERROR), "{applied:?}");
    assert!(applied[1].error.is_none());
    assert_eq!(registry.names(), ["fine"]);
}
