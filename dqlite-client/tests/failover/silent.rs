//! A leader that goes silent (its host vanished: no reset, no answer) must not hold up the
//! search for the new one, even with long per-probe deadlines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dqlite_client::{Cluster, Config};

use crate::fake::{cluster, standard, Action};
use crate::handler;

/// Probe deadlines (two minutes) far longer than the tests' 30 s waits: a test passes only if
/// the client stops waiting on a silent node by itself (a short re-check of the last leader, a
/// round cut short once the other nodes have answered).
fn patient() -> Config {
    Config::default()
        .with_dial_timeout(Duration::from_secs(120))
        .with_attempt_timeout(Duration::from_secs(120))
        .with_retry_budget(Duration::from_secs(120))
}

#[tokio::test]
async fn a_silent_last_leader_does_not_hold_up_leader_discovery() {
    let silent = Arc::new(AtomicBool::new(false));
    let gone = Arc::clone(&silent);
    let first = Arc::new(std::sync::Mutex::new(String::new()));
    let first_addr = Arc::clone(&first);
    let (world, nodes) = cluster(
        3,
        handler(move |w, me, req| {
            let is_first = *first_addr.lock().expect("lock") == me;
            if is_first && gone.load(Ordering::SeqCst) {
                Action::Stall
            } else {
                standard(w, me, req)
            }
        }),
    )
    .await;
    *first.lock().expect("lock") = nodes[0].addr.clone();
    world.set_leader(&nodes[0].addr);
    let c =
        Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), patient()).expect("cluster");
    let before = c.leader_address().await.expect("first leader");
    assert_eq!(before, nodes[0].addr);

    silent.store(true, Ordering::SeqCst);
    world.set_leader(&nodes[1].addr);
    let after = tokio::time::timeout(Duration::from_secs(30), c.leader_address())
        .await
        .expect("leader discovery waited on the silent old leader for 30 s")
        .expect("new leader");
    assert_eq!(after, nodes[1].addr);
}

#[tokio::test]
async fn a_silent_node_does_not_hold_up_the_rounds_while_a_leader_is_elected() {
    // Node 0 vanished (never answers). Nobody leads until nodes 1 and 2 have both answered
    // "no leader" once; then node 2 wins, while the first round still waits on node 0.
    let addrs = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let known = Arc::clone(&addrs);
    let (world, nodes) = cluster(
        3,
        handler(move |w, me, req| {
            let a = known.lock().expect("lock").clone();
            if a.first().map(String::as_str) == Some(me) {
                return Action::Stall;
            }
            let reply = standard(w, me, req);
            let leader = dqlite_proto::request_kind::LEADER;
            if a.len() == 3 && w.count(&a[1], leader) >= 1 && w.count(&a[2], leader) >= 1 {
                w.set_leader(&a[2]);
            }
            reply
        }),
    )
    .await;
    world.set_leader("");
    *addrs.lock().expect("lock") = nodes.iter().map(|n| n.addr.clone()).collect();
    let c =
        Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), patient()).expect("cluster");
    let found = tokio::time::timeout(Duration::from_secs(30), c.leader_address())
        .await
        .expect("leader discovery waited on the silent node for 30 s")
        .expect("leader");
    assert_eq!(found, nodes[2].addr);
}
