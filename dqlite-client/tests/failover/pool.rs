//! Pool limits, transactions holding their connection, the transaction helper's retries,
//! and dialling an abstract Unix socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dqlite_client::{Cluster, Error};
use dqlite_proto::{code, request_kind, Request};

use crate::fake::{self, cluster, standard};
use crate::{fail, fast, handler, leader_db};

async fn one_node() -> (Arc<fake::World>, Vec<fake::FakeNode>) {
    let (world, nodes) = cluster(1, Arc::new(standard)).await;
    world.set_leader(&nodes[0].addr);
    (world, nodes)
}

#[tokio::test]
async fn max_open_bounds_connections_and_acquire_times_out() {
    let (_world, nodes) = one_node().await;
    let config = fast()
        .with_max_open(2)
        .with_acquire_timeout(Duration::from_millis(100));
    let db = Cluster::from_addresses([nodes[0].addr.clone()], config)
        .expect("cluster")
        .open("db");
    let a = db.acquire().await.expect("first");
    let _b = db.acquire().await.expect("second");
    let err = db.acquire().await.expect_err("third must wait");
    assert!(
        matches!(err, Error::PoolTimeout(_)) && err.is_timeout(),
        "{err}"
    );
    drop(a);
    db.acquire()
        .await
        .expect("a returned connection is available again");
}

#[tokio::test]
async fn max_idle_and_lifetime_limits() {
    let (world, nodes) = one_node().await;
    let addr = nodes[0].addr.clone();
    let db = Cluster::from_addresses([addr.clone()], fast().with_max_idle(1))
        .expect("cluster")
        .open("db");
    let conns = vec![
        db.acquire().await.expect("1"),
        db.acquire().await.expect("2"),
        db.acquire().await.expect("3"),
    ];
    drop(conns);
    assert_eq!(
        db.idle_connections(),
        1,
        "only max_idle connections are kept"
    );
    let short = fast().with_max_lifetime(Some(Duration::ZERO));
    let db = Cluster::from_addresses([addr.clone()], short)
        .expect("cluster")
        .open("db");
    db.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("exec");
    assert_eq!(
        db.idle_connections(),
        0,
        "an expired connection is closed, not pooled"
    );
    let opens = world.count(&addr, request_kind::OPEN);
    let idle = fast().with_idle_timeout(Some(Duration::ZERO));
    let db = Cluster::from_addresses([addr.clone()], idle)
        .expect("cluster")
        .open("db");
    db.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("exec");
    db.execute("INSERT INTO t VALUES(2)", ())
        .await
        .expect("exec");
    assert_eq!(
        world.count(&addr, request_kind::OPEN),
        opens + 2,
        "idle-expired connections are replaced"
    );
}

#[tokio::test]
async fn a_transaction_keeps_its_connection_to_itself() {
    let (_world, nodes) = one_node().await;
    let config = fast()
        .with_max_open(1)
        .with_acquire_timeout(Duration::from_millis(100));
    let db = Cluster::from_addresses([nodes[0].addr.clone()], config)
        .expect("cluster")
        .open("db");
    let mut tx = db.begin().await.expect("begin");
    tx.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("in tx");
    let err = db
        .execute("INSERT INTO t VALUES(2)", ())
        .await
        .expect_err("no free connection");
    assert!(matches!(err, Error::PoolTimeout(_)), "{err}");
    tx.commit().await.expect("commit");
    db.execute("INSERT INTO t VALUES(2)", ())
        .await
        .expect("the connection is back");
}

#[tokio::test]
async fn the_transaction_helper_reruns_the_closure_on_busy_commit() {
    let commits = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&commits);
    let (_world, _nodes, db) = leader_db(
        handler(move |w, me, req| match req {
            Request::ExecSql { sql, .. }
                if sql == "COMMIT" && seen.fetch_add(1, Ordering::SeqCst) == 0 =>
            {
                fail(code::BUSY, "database is locked")
            }
            _ => standard(w, me, req),
        }),
        fast(),
    )
    .await;
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    db.transaction(|tx| {
        let counter = Arc::clone(&counter);
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tx.execute("UPDATE t SET n = n + 1", ()).await.map(drop)
        })
    })
    .await
    .expect("succeeds on the second run");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(commits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn dials_linux_abstract_unix_sockets() {
    let world = Arc::new(fake::World::default());
    let name = format!("dqlite-client-test-{}", std::process::id());
    let node = fake::start_abstract(Arc::clone(&world), Arc::new(standard), &name).await;
    world.set_leader(&node.addr);
    let db = Cluster::from_addresses([node.addr.clone()], fast())
        .expect("cluster")
        .open("db");
    db.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("exec over @socket");
    assert_eq!(world.count(&node.addr, request_kind::EXEC_SQL), 1);
}
