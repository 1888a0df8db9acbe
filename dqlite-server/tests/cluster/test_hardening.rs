//! Requests that used to stop raft on every node: an OPEN whose name no data directory can
//! hold, and more databases than a node can keep. Each is refused on the leader before
//! anything is proposed, and the cluster keeps serving.

use dqlite_proto::{code, Request, Response};

use crate::util::*;

/// OPEN of `name` on a fresh connection: `Ok` or the failure code and message.
async fn open_raw(addr: &str, name: &str) -> Result<(), (u64, String)> {
    let mut c = dqlite_server::client::Client::connect(addr, WAIT)
        .await
        .expect("connect");
    let r = c
        .call(&Request::Open {
            name: name.into(),
            flags: 0,
            vfs: "volatile".into(),
        })
        .await;
    match r {
        Ok(Response::Db { .. }) => Ok(()),
        Ok(other) => panic!("OPEN {name}: unexpected {other:?}"),
        Err(e) => Err((e.code().unwrap_or(u64::MAX), e.to_string())),
    }
}

/// Every node is still running raft (no fatal error), and the leader still serves writes.
async fn still_serving(cl: &Cluster, db: &str) {
    for (i, node) in cl.nodes.iter().enumerate() {
        let node = node.as_ref().expect("node running");
        assert!(
            node.metrics().running_state.is_ok(),
            "raft stopped on node {i}: {:?}",
            node.metrics().running_state
        );
    }
    let l = cl.leader().await;
    let mut c = open(&cl.addrs[l], db).await;
    exec(&mut c, "CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        .await
        .expect("create");
    exec(&mut c, "INSERT INTO t VALUES (1)")
        .await
        .expect("the cluster still takes writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_of_a_name_no_node_can_hold_is_refused_and_the_cluster_keeps_serving() {
    let mut cl = Cluster::start("poison-open", 3, |_| {}).await;
    let l = cl.leader().await;
    for name in ["x".repeat(300), "%".repeat(90)] {
        let (failure, message) = open_raw(&cl.addrs[l], &name)
            .await
            .expect_err("the name cannot be a file");
        assert_eq!(failure, code::ERROR, "{message}");
        assert!(message.contains("too long"), "{message}");
    }
    // The longest name that fits is served.
    open_raw(&cl.addrs[l], &"y".repeat(237))
        .await
        .expect("a name that fits");
    still_serving(&cl, "after-poison").await;
    // And the cluster comes back after a full restart (nothing bad was committed).
    for i in 0..3 {
        if let Some(n) = cl.nodes[i].take() {
            n.stop().await;
        }
    }
    for i in 0..3 {
        cl.restart(i, &|_| {}).await;
    }
    still_serving(&cl, "after-restart").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_beyond_the_limit_are_refused_and_the_others_keep_working() {
    let cl = Cluster::start("db-limit", 1, |c| c.max_databases = 3).await;
    let addr = cl.addrs[cl.leader().await].clone();
    for name in ["a", "b", "c"] {
        open_raw(&addr, name).await.expect("within the limit");
    }
    let (failure, message) = open_raw(&addr, "d").await.expect_err("over the limit");
    assert_eq!(failure, code::ERROR, "{message}");
    assert!(message.contains("too many databases"), "{message}");
    // Existing databases still open and take writes.
    open_raw(&addr, "a").await.expect("an existing database");
    still_serving(&cl, "b").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_on_purpose_reports_no_fault() {
    let mut cl = Cluster::start("stop-no-fault", 1, |_| {}).await;
    let node = cl.nodes[0].take().expect("node");
    assert_eq!(
        node.stop().await,
        None,
        "a stop on purpose was reported as a fault"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_raft_stops_by_itself_stops_serving_and_says_why() {
    let cl = Cluster::start("raft-stops", 1, |_| {}).await;
    let node = cl.nodes[0].as_ref().expect("node");
    assert!(node.is_leader());
    // As if raft had met a fatal storage error: it stops without the node being stopped.
    node.stop_raft().await;
    let why = tokio::time::timeout(WAIT, node.failed())
        .await
        .expect("the node must report the fault, not go on as a zombie");
    assert!(why.contains("raft stopped"), "{why}");
    assert!(
        !node.is_leader(),
        "a node without raft still claims to serve"
    );
}
