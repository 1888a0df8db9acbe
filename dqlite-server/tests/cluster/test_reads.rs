//! Reads that are never stale (leader lease and read confirmation, `raft/lease.rs`): a leader
//! paused while the others elect a new leader, which then commits a write, must not answer
//! a read with the overwritten value when it resumes, although the read was waiting in its
//! socket and the resumed node still believes it leads.

use std::time::Duration;

use dqlite_proto::{DecodeHint, Response, Value};

use crate::util::*;

/// The value `t` holds, read through `c`, as text.
fn text(rows: &[Vec<Value>]) -> Vec<String> {
    rows.iter()
        .map(|r| match r.first() {
            Some(Value::Text(s)) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

async fn paused_leader_round(extra: &[&str]) {
    let tmp = TempDir::new("stale-read");
    let procs = start_three(&tmp.0, |a, d, j| {
        Proc::spawn_with_args(a, d, j, 300, 50, extra)
    })
    .await;
    let addrs: Vec<String> = procs.iter().map(|p| p.addr.clone()).collect();
    let leader_among = |candidates: Vec<String>| async move {
        let mut c = dqlite_server::client::connect_leader(&candidates, Duration::from_secs(2))
            .await
            .ok()?;
        let (_, a) = c.leader().await.ok()??;
        candidates.iter().position(|x| *x == a).map(|_| a)
    };
    let old_addr = wait_for("a leader", WAIT, || leader_among(addrs.clone())).await;
    let old = addrs
        .iter()
        .position(|a| *a == old_addr)
        .expect("leader is a node");
    let mut w = open(&old_addr, "reads").await;
    exec(&mut w, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        .await
        .expect("create");
    exec(&mut w, "INSERT INTO t VALUES (1, 'old')")
        .await
        .expect("insert");
    let mut held = open(&old_addr, "reads").await;
    let before = query(&mut held, "SELECT v FROM t WHERE k = 1")
        .await
        .expect("read on the leader");
    assert_eq!(text(&before), ["old"]);

    procs[old].signal("-STOP");
    let others: Vec<String> = addrs.iter().filter(|a| **a != old_addr).cloned().collect();
    let new_addr = wait_for("a new leader among the others", WAIT, || {
        leader_among(others.clone())
    })
    .await;
    let mut w2 = open(&new_addr, "reads").await;
    exec(&mut w2, "UPDATE t SET v = 'new' WHERE k = 1")
        .await
        .expect("the new leader commits the overwrite");

    // The read waits in the paused node's socket; the node resumes believing it leads.
    held.send(&query_sql("SELECT v FROM t WHERE k = 1", vec![]))
        .await
        .expect("send the read");
    procs[old].signal("-CONT");
    let answer = tokio::time::timeout(WAIT, held.recv(DecodeHint::default()))
        .await
        .expect("the resumed node answers the read within the wait");
    match answer {
        Ok(Response::Rows(rows)) => assert_eq!(
            text(&rows.rows),
            ["new"],
            "stale read: the deposed leader answered with the overwritten value"
        ),
        Ok(Response::Failure(f)) => assert_eq!(
            f.code,
            dqlite_proto::code::NOT_LEADER,
            "refused with an unexpected failure: {}",
            f.message
        ),
        Err(e) => assert_eq!(
            e.code(),
            Some(dqlite_proto::code::NOT_LEADER),
            "refused with an unexpected error: {e}"
        ),
        Ok(other) => panic!("unexpected answer {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_old_leader_never_answers_with_an_overwritten_value() {
    paused_leader_round(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_linearizable_reads_a_resumed_old_leader_never_answers_stale() {
    paused_leader_round(&["--linearizable-reads"]).await;
}
