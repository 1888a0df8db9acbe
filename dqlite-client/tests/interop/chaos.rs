//! Failures of a real C cluster under load: the leader killed with -9 mid-write-loop, and
//! leadership transferred while the pool is busy. Acknowledged writes must all survive.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_client::{Db, NodeInfo, Role};
use dqlite_testkit::reference_cluster_or_skip;

use crate::{client, config};

/// Inserts increasing ids until `stop`; returns (acknowledged ids, ids whose outcome is
/// unknown). Any other error fails the test.
async fn write_loop(db: Db, worker: i64, stop: Arc<AtomicBool>) -> (Vec<i64>, Vec<i64>) {
    let (mut acked, mut unknown) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut i = 0;
    while !stop.load(Ordering::Acquire) {
        assert!(Instant::now() < deadline, "write loop ran past 120 s");
        let id = worker * 1_000_000 + i;
        match db.execute("INSERT INTO acked (id) VALUES (?)", (id,)).await {
            Ok(_) => acked.push(id),
            Err(e) if e.is_commit_unknown() => unknown.push(id),
            Err(e) => panic!("write {id}: {e}"),
        }
        i += 1;
    }
    (acked, unknown)
}

async fn stored_ids(db: &Db) -> BTreeSet<i64> {
    db.query_all("SELECT id FROM acked", ())
        .await
        .expect("read back")
        .iter()
        .map(|r| r.get::<i64, _>(0).expect("id"))
        .collect()
}

/// Waits until `count` writes have been acknowledged in the table, polling the count.
async fn wait_for_rows(db: &Db, count: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: i64 = db
            .query_one("SELECT count(*) FROM acked", ())
            .await
            .expect("count")
            .get(0)
            .expect("n");
        if n >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: only {n} of {count} rows after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn leader_killed_mid_write_loop_loses_no_acknowledged_write() {
    let Some(mut reference) = reference_cluster_or_skip(3) else {
        return;
    };
    let db = client(&reference, config()).open("chaos");
    db.execute("CREATE TABLE acked (id INTEGER PRIMARY KEY)", ())
        .await
        .expect("create");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_loop(db.clone(), 1, Arc::clone(&stop)));
    wait_for_rows(&db, 100, "before the kill").await;
    let leader = reference.leader().expect("ask leader").expect("a leader");
    let index = reference
        .addrs()
        .iter()
        .position(|a| *a == leader)
        .expect("leader is a member");
    reference.kill(index);
    // Progress after the kill means the client found the new leader by itself.
    let before = stored_ids(&db).await.len() as i64;
    wait_for_rows(&db, before + 100, "after the kill").await;
    stop.store(true, Ordering::Release);
    let (acked, unknown) = writer.await.expect("writer task");
    let stored = stored_ids(&db).await;
    let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(unknown.len() <= 2, "unknown outcomes are rare: {unknown:?}");
    let new_leader = reference
        .wait_for_leader(Duration::from_secs(30))
        .expect("new leader");
    assert_ne!(new_leader, leader);
}

#[tokio::test]
async fn leadership_transfer_while_the_pool_is_busy() {
    let Some(reference) = reference_cluster_or_skip(3) else {
        return;
    };
    // Four writers on dqlite 1.11 collide with SQLITE_BUSY: the busy policy absorbs that.
    let cluster = client(&reference, config().with_retry_busy(true));
    let db = cluster.open("transfer");
    db.execute("CREATE TABLE acked (id INTEGER PRIMARY KEY)", ())
        .await
        .expect("create");
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (1..=4)
        .map(|w| tokio::spawn(write_loop(db.clone(), w, Arc::clone(&stop))))
        .collect();
    wait_for_rows(&db, 50, "before the transfer").await;
    let before = cluster.leader_address().await.expect("leader");
    cluster.transfer(0).await.expect("transfer");
    let after = cluster.leader_address().await.expect("leader");
    assert_ne!(before, after, "leadership moved");
    let count = stored_ids(&db).await.len() as i64;
    wait_for_rows(&db, count + 50, "after the transfer").await;
    stop.store(true, Ordering::Release);
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer task").0);
    }
    let stored = stored_ids(&db).await;
    let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}

#[tokio::test]
async fn membership_changes_through_the_leader() {
    let Some(reference) = reference_cluster_or_skip(3) else {
        return;
    };
    let cluster = client(&reference, config());
    let leader = cluster.leader_address().await.expect("leader");
    let nodes = cluster.nodes().await.expect("nodes");
    let node = nodes
        .iter()
        .find(|n| n.address != leader)
        .expect("a follower")
        .clone();
    let role_of = |nodes: &[NodeInfo], id| nodes.iter().find(|n| n.id == id).and_then(|n| n.role);
    cluster
        .assign(node.id, Role::StandBy)
        .await
        .expect("demote");
    assert_eq!(
        role_of(&cluster.nodes().await.expect("nodes"), node.id),
        Some(Role::StandBy)
    );
    cluster.assign(node.id, Role::Voter).await.expect("promote");
    assert_eq!(
        role_of(&cluster.nodes().await.expect("nodes"), node.id),
        Some(Role::Voter)
    );
    cluster.remove(node.id).await.expect("remove");
    let after = cluster.nodes().await.expect("nodes");
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(role_of(&after, node.id).is_none());
    let back = NodeInfo {
        role: Some(Role::Voter),
        ..node.clone()
    };
    cluster.add(&back).await.expect("add back as voter");
    let after = cluster.nodes().await.expect("nodes");
    assert_eq!(role_of(&after, node.id), Some(Role::Voter), "{after:?}");
    let err = cluster
        .assign(0xdead_beef, Role::Voter)
        .await
        .expect_err("unknown node");
    assert!(err.failure().is_some(), "{err}");
}
