//! Hedging: a request to a leader that stopped answering (a paused process still accepts
//! the bytes) is given up once another node leads: a read is retried there, a write becomes
//! an unknown outcome and is never sent again. While no other node leads, the request waits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dqlite_client::{Cluster, Config, Db, Error};
use dqlite_proto::{request_kind, Request};

use crate::fake::{cluster, standard, Action, FakeNode, World};
use crate::handler;

/// Deadlines far longer than the tests' 30 s waits: a test passes only if hedging ends the
/// request, not a deadline.
fn patient() -> Config {
    Config::default()
        .with_request_timeout(Duration::from_secs(120))
        .with_retry_budget(Duration::from_secs(120))
        .with_hedge_after(Some(Duration::from_millis(50)))
        .with_backoff_base(Duration::from_millis(10))
        .with_backoff_cap(Duration::from_millis(50))
}

/// Three fake nodes; the first leads and never answers requests of kind `stalls`.
async fn stalling_leader(stalls: u8, config: Config) -> (Arc<World>, Vec<FakeNode>, Db) {
    stalling_leader_on(move |req| req.kind() == stalls, config).await
}

/// Three fake nodes; the first leads and never answers the requests `stalls` picks.
async fn stalling_leader_on(
    stalls: impl Fn(&Request) -> bool + Send + Sync + 'static,
    config: Config,
) -> (Arc<World>, Vec<FakeNode>, Db) {
    let first = Arc::new(Mutex::new(String::new()));
    let known = Arc::clone(&first);
    let (world, nodes) = cluster(
        3,
        handler(move |w, me, req| {
            let is_first = *known.lock().expect("lock") == me;
            if is_first && stalls(req) {
                Action::Stall
            } else {
                standard(w, me, req)
            }
        }),
    )
    .await;
    *first.lock().expect("lock") = nodes[0].addr.clone();
    world.set_leader(&nodes[0].addr);
    let db = Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), config)
        .expect("cluster")
        .open("db");
    (world, nodes, db)
}

/// Runs `request` until the old leader (the first node) has received one more request of
/// `kind`, then makes node `next` the leader, and returns what `request` ends with (within
/// a bounded wait: without hedging it would wait on the old leader for minutes).
async fn once_leader_moves<T: Send + 'static>(
    world: &World,
    nodes: &[FakeNode],
    kind: u8,
    next: usize,
    request: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let old = &nodes[0].addr;
    let before = world.count(old, kind);
    let running = tokio::spawn(request);
    let mut tries = 0;
    while world.count(old, kind) == before {
        tries += 1;
        assert!(tries < 3000, "the request never reached {old}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    world.set_leader(&nodes[next].addr);
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the request still waited on the silent old leader after 30 s")
        .expect("join")
}

#[tokio::test]
async fn a_read_stalled_on_the_old_leader_is_answered_by_the_new_one() {
    let (world, nodes, db) = stalling_leader(request_kind::QUERY_SQL, patient()).await;
    let read = async move { db.query_all("SELECT n FROM t", ()).await };
    let rows = once_leader_moves(&world, &nodes, request_kind::QUERY_SQL, 1, read)
        .await
        .expect("read");
    assert_eq!(rows.len(), 1);
    let n: i64 = rows[0].get(0).expect("an integer");
    assert_eq!(n, 0, "the new leader's answer");
    assert_eq!(world.count(&nodes[1].addr, request_kind::QUERY_SQL), 1);
}

#[tokio::test]
async fn a_write_stalled_on_the_old_leader_is_unknown_and_never_resent() {
    let (world, nodes, db) = stalling_leader(request_kind::EXEC_SQL, patient()).await;
    let write = async move { db.execute("INSERT INTO t VALUES (1)", ()).await };
    let err = once_leader_moves(&world, &nodes, request_kind::EXEC_SQL, 2, write)
        .await
        .expect_err("its outcome cannot be known");
    assert!(err.is_commit_unknown(), "{err}");
    assert!(
        matches!(&err, Error::CommitUnknown { source } if source.is_timeout()),
        "{err}"
    );
    for n in &nodes[1..] {
        assert_eq!(
            world.count(&n.addr, request_kind::EXEC_SQL),
            0,
            "a write of unknown outcome was sent again"
        );
    }
}

#[tokio::test]
async fn while_no_other_node_leads_the_request_keeps_waiting() {
    let config = patient()
        .with_request_timeout(Duration::from_millis(600))
        .with_retry_budget(Duration::from_millis(700));
    let (world, nodes, db) = stalling_leader(request_kind::QUERY_SQL, config).await;
    db.execute("INSERT INTO t VALUES (1)", ())
        .await
        .expect("the leader answers writes");
    let asked_before = world.count(&nodes[1].addr, request_kind::LEADER);
    let err = db
        .query_all("SELECT n FROM t", ())
        .await
        .expect_err("the leader never answers");
    assert!(err.is_timeout(), "ended by its own deadline: {err}");
    assert!(
        world.count(&nodes[1].addr, request_kind::LEADER) > asked_before,
        "the other nodes were asked who leads"
    );
    for n in &nodes[1..] {
        assert_eq!(
            world.count(&n.addr, request_kind::QUERY_SQL),
            0,
            "the read went to a node that does not lead"
        );
    }
}

#[tokio::test]
async fn a_commit_stalled_on_the_old_leader_is_unknown_once_another_node_leads() {
    let commit = |req: &Request| matches!(req, Request::ExecSql { sql, .. } if sql == "COMMIT");
    let (world, nodes, db) = stalling_leader_on(commit, patient()).await;
    let mut tx = db.begin().await.expect("BEGIN");
    tx.execute("INSERT INTO t VALUES (1)", ())
        .await
        .expect("INSERT");
    let err = once_leader_moves(&world, &nodes, request_kind::EXEC_SQL, 1, tx.commit())
        .await
        .expect_err("its outcome cannot be known");
    assert!(err.is_commit_unknown(), "{err}");
    assert_eq!(
        world.count(&nodes[1].addr, request_kind::EXEC_SQL),
        0,
        "nothing of the transaction went to the new leader"
    );
}
