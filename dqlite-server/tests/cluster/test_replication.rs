//! In-process 3-node clusters: replication, determinism, leader-only SQL, transactions and
//! the writer queue, leadership loss, snapshots and catch-up, membership and transfer.

use std::time::Duration;

use dqlite_proto::{code, Request, Response, Value};

use crate::util::*;

/// Waits until every running node's copy of `db` answers `sql` with `expected` rows.
async fn converged(cl: &Cluster, db: &str, sql: &str, expected: usize) -> Vec<String> {
    wait_for(
        &format!("{sql} to show {expected} rows on every node"),
        WAIT,
        || async {
            let first = cl.local_rows(0, db, sql);
            let all_same = (0..cl.nodes.len())
                .filter(|i| cl.nodes[*i].is_some())
                .all(|i| cl.local_rows(i, db, sql) == first);
            (first.len() == expected && all_same).then_some(first)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_replicate_identically_to_every_node() {
    let cl = Cluster::start("repl", 3, |_| {}).await;
    let l = cl.leader().await;
    let mut c = open(&cl.addrs[l], "app").await;
    exec(&mut c, "CREATE TABLE t (id INTEGER PRIMARY KEY, r, ts)")
        .await
        .expect("create");
    for _ in 0..20 {
        exec(&mut c, "INSERT INTO t (r, ts) VALUES (random(), datetime('now', '+' || abs(random() % 100000) || ' seconds'))")
            .await
            .expect("insert");
    }
    exec(
        &mut c,
        "CREATE TABLE kv (key TEXT, value TEXT, UNIQUE(key))",
    )
    .await
    .expect("kv");
    for i in 0..10 {
        let req = exec_sql(
            "INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)",
            vec![
                Value::Text(format!("k{}", i % 5)),
                Value::Text(format!("v{i}")),
            ],
        );
        c.call(&req).await.expect("upsert");
    }
    let rows = converged(&cl, "app", "SELECT * FROM t ORDER BY id", 20).await;
    assert_eq!(rows.len(), 20);
    converged(&cl, "app", "SELECT rowid, * FROM kv ORDER BY rowid", 5).await;
    // Followers refuse SQL with 10250.
    let f = (l + 1) % 3;
    let mut fc = dqlite_server::client::Client::connect(&cl.addrs[f], Duration::from_secs(5))
        .await
        .expect("connect");
    let r = fc
        .call(&Request::Open {
            name: "app".into(),
            flags: 0,
            vfs: String::new(),
        })
        .await;
    assert_eq!(r.err().and_then(|e| e.code()), Some(code::NOT_LEADER));
    assert_eq!(exec(&mut fc, "SELECT 1").await, Err(code::NOT_LEADER));
    // LEADER from a follower names the leader.
    match fc.call(&Request::Leader).await.expect("leader") {
        Response::Node { address, .. } => assert_eq!(address, cl.addrs[l]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_invisible_until_committed_and_writers_queue() {
    let cl = Cluster::start("tx", 3, |_| {}).await;
    let addr = cl.addrs[cl.leader().await].clone();
    let mut a = open(&addr, "tx").await;
    let mut b = open(&addr, "tx").await;
    exec(&mut a, "CREATE TABLE t (n)").await.expect("create");
    exec(&mut a, "BEGIN").await.expect("begin");
    exec(&mut a, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert in tx");
    assert_eq!(
        query(&mut a, "SELECT count(*) FROM t").await,
        Ok(vec![vec![Value::Integer(1)]])
    );
    assert_eq!(
        query(&mut b, "SELECT count(*) FROM t").await,
        Ok(vec![vec![Value::Integer(0)]]),
        "not visible yet"
    );
    // b's write waits in the queue until a commits.
    let writer = tokio::spawn(async move {
        let r = exec(&mut b, "INSERT INTO t VALUES (2)").await;
        (b, r)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !writer.is_finished(),
        "the second writer waits for the first transaction"
    );
    exec(&mut a, "COMMIT").await.expect("commit");
    let (mut b, r) = writer.await.expect("join");
    r.expect("queued write succeeds after commit");
    assert_eq!(
        query(&mut b, "SELECT count(*) FROM t").await,
        Ok(vec![vec![Value::Integer(2)]])
    );
    // Rollback and a dropped connection leave no trace.
    exec(&mut a, "BEGIN").await.expect("begin");
    exec(&mut a, "INSERT INTO t VALUES (3)")
        .await
        .expect("insert");
    exec(&mut a, "ROLLBACK").await.expect("rollback");
    exec(&mut a, "BEGIN").await.expect("begin");
    exec(&mut a, "INSERT INTO t VALUES (4)")
        .await
        .expect("insert");
    drop(a);
    exec(&mut b, "INSERT INTO t VALUES (5)")
        .await
        .expect("write after the holder went away");
    converged(&cl, "tx", "SELECT n FROM t ORDER BY n", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_concurrent_writers_all_succeed() {
    let cl = Cluster::start("nine", 3, |_| {}).await;
    let addr = cl.addrs[cl.leader().await].clone();
    let mut c = open(&addr, "bench").await;
    exec(
        &mut c,
        "CREATE TABLE model (key TEXT, value TEXT, UNIQUE(key))",
    )
    .await
    .expect("create");
    let mut tasks = Vec::new();
    for w in 0..9 {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = open(&addr, "bench").await;
            for i in 0..30 {
                let key = Value::Text(format!("w{w}-{i}"));
                let req = exec_sql(
                    "INSERT OR REPLACE INTO model(key, value) VALUES(?, ?)",
                    vec![key.clone(), Value::Text("x".repeat(1024))],
                );
                c.call(&req).await.expect("every write succeeds");
                // Acknowledged means visible to reads at once.
                let q = query_sql("SELECT count(*) FROM model WHERE key = ?", vec![key]);
                let rows = c.query(&q).await.expect("read back");
                assert_eq!(
                    rows[0].rows,
                    vec![vec![Value::Integer(1)]],
                    "read-your-writes"
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    assert_eq!(
        query(&mut c, "SELECT count(*) FROM model").await,
        Ok(vec![vec![Value::Integer(270)]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_loss_rolls_back_and_answers_not_leader() {
    let cl = Cluster::start("loss", 3, |_| {}).await;
    let l = cl.leader().await;
    let mut c = open(&cl.addrs[l], "loss").await;
    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");
    exec(&mut c, "BEGIN").await.expect("begin");
    exec(&mut c, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    let mut admin = open(&cl.addrs[l], "loss").await;
    admin
        .call(&Request::Transfer { id: 0 })
        .await
        .expect("transfer");
    assert_eq!(exec(&mut c, "COMMIT").await, Err(code::NOT_LEADER));
    let nl = cl.leader().await;
    assert_ne!(nl, l, "leadership moved");
    let mut d = open(&cl.addrs[nl], "loss").await;
    assert_eq!(
        query(&mut d, "SELECT count(*) FROM t").await,
        Ok(vec![vec![Value::Integer(0)]]),
        "rolled back"
    );
    exec(&mut d, "INSERT INTO t VALUES (2)")
        .await
        .expect("new leader accepts writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_catches_up_from_a_snapshot_and_roles_change() {
    let mut cl = Cluster::start("snap", 3, |c| {
        c.snapshot_threshold = 20;
        c.snapshot_trailing = 0;
    })
    .await;
    let l = cl.leader().await;
    let mut c = open(&cl.addrs[l], "snap").await;
    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");
    // Concurrent writers, so snapshots are taken while transactions are batched. Their
    // transactions share entries (at most one per writer in each), so 60 each make at least
    // 60 entries: snapshots at every 20, the log purged behind them.
    let mut writers = Vec::new();
    for w in 0..3 {
        let addr = cl.addrs[l].clone();
        writers.push(tokio::spawn(async move {
            let mut c = open(&addr, "snap").await;
            for i in 0..60 {
                exec(&mut c, &format!("INSERT INTO t VALUES ({})", w * 100 + i))
                    .await
                    .expect("insert");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    wait_for("a snapshot with purged log", WAIT, || async {
        let m = cl.nodes[l].as_ref()?.metrics();
        (m.purged.map(|p| p.index).unwrap_or(0) > 20).then_some(())
    })
    .await;
    cl.add_node(3, &|c: &mut dqlite_server::Config| {
        c.snapshot_threshold = 20
    })
    .await;
    let id3 = cl.nodes[3].as_ref().expect("node 3").id();
    wait_for("node 3 listed", WAIT, || async {
        cluster(&cl.addrs[l])
            .await
            .ok()?
            .iter()
            .any(|n| n.0 == id3)
            .then_some(())
    })
    .await;
    // Joined as a stand-by (three voters exist); it must hold every row via the snapshot.
    wait_for("node 3 caught up", WAIT, || async {
        (cl.local_rows(3, "snap", "SELECT count(*) FROM t") == vec!["Integer(180)"]).then_some(())
    })
    .await;
    wait_for("node 3 to become a stand-by", WAIT, || async {
        let roles = cluster(&cl.addrs[l]).await.ok()?;
        (roles.iter().find(|n| n.0 == id3).map(|n| n.2) == Some(1)).then_some(())
    })
    .await;
    // ASSIGN spare, then REMOVE.
    c.call(&Request::Assign {
        id: id3,
        role: Some(2),
    })
    .await
    .expect("to spare");
    assert_eq!(
        c.call(&Request::Assign {
            id: id3,
            role: Some(2)
        })
        .await
        .err()
        .and_then(|e| e.code()),
        Some(1)
    );
    c.call(&Request::Remove { id: id3 }).await.expect("remove");
    assert!(cluster(&cl.addrs[l])
        .await
        .expect("cluster")
        .iter()
        .all(|n| n.0 != id3));
    assert_eq!(
        c.call(&Request::Remove { id: id3 })
            .await
            .err()
            .and_then(|e| e.code()),
        Some(1)
    );
    cl.stop(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_requests_validate_and_transfer_moves_leadership() {
    let cl = Cluster::start("members", 4, |_| {}).await;
    let l = cl.leader().await;
    let nodes = cluster(&cl.addrs[l]).await.expect("cluster");
    assert_eq!(nodes.iter().filter(|n| n.2 == 0).count(), 3, "three voters");
    assert_eq!(
        nodes.iter().filter(|n| n.2 == 1).count(),
        1,
        "the fourth is a stand-by"
    );
    let standby = nodes.iter().find(|n| n.2 == 1).expect("standby").clone();
    let me = cl.nodes[l].as_ref().expect("leader").id();
    let mut c = dqlite_server::client::Client::connect(&cl.addrs[l], Duration::from_secs(10))
        .await
        .expect("connect");
    let code_of = |r: dqlite_server::Result<Response>| r.err().and_then(|e| e.code());
    // The joining nodes' own role changes may still be finishing.
    wait_for("no configuration change in progress", WAIT, || async {
        let mut c = dqlite_server::client::Client::connect(&cl.addrs[l], Duration::from_secs(5))
            .await
            .ok()?;
        let r = c
            .call(&Request::Assign {
                id: standby.0,
                role: Some(1),
            })
            .await;
        (r.err().and_then(|e| e.code()) == Some(1)).then_some(())
    })
    .await;
    assert_eq!(
        code_of(
            c.call(&Request::Add {
                id: me,
                address: "127.0.0.9:1".into()
            })
            .await
        ),
        Some(1)
    );
    assert_eq!(
        code_of(
            c.call(&Request::Add {
                id: 42,
                address: cl.addrs[l].clone()
            })
            .await
        ),
        Some(1)
    );
    assert_eq!(
        code_of(
            c.call(&Request::Assign {
                id: 4242,
                role: Some(0)
            })
            .await
        ),
        Some(1)
    );
    assert_eq!(
        code_of(
            c.call(&Request::Assign {
                id: standby.0,
                role: Some(1)
            })
            .await
        ),
        Some(1)
    );
    assert_eq!(
        code_of(c.call(&Request::Transfer { id: me }).await),
        Some(1)
    );
    assert_eq!(
        code_of(c.call(&Request::Transfer { id: standby.0 }).await),
        Some(1)
    );
    // A stand-by does not report the leader but answers DESCRIBE.
    let mut s = dqlite_server::client::Client::connect(&standby.1, Duration::from_secs(10))
        .await
        .expect("connect");
    assert_eq!(s.leader().await.expect("leader"), None);
    assert!(matches!(
        s.call(&Request::Describe { format: 0 }).await,
        Ok(Response::Metadata { .. })
    ));
    assert_eq!(
        code_of(s.call(&Request::Transfer { id: 0 }).await),
        Some(code::NOT_LEADER)
    );
    // TRANSFER to a chosen voter.
    let target = nodes
        .iter()
        .find(|n| n.2 == 0 && n.0 != me)
        .expect("another voter")
        .clone();
    c.call(&Request::Transfer { id: target.0 })
        .await
        .expect("transfer");
    let nl = cl.leader().await;
    assert_eq!(cl.addrs[nl], target.1, "the chosen voter leads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_without_quorum_fails_commits_instead_of_hanging() {
    let mut cl = Cluster::start("quorum", 3, |_| {}).await;
    let l = cl.leader().await;
    let addr = cl.addrs[l].clone();
    let mut c = open(&addr, "q").await;
    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");
    for i in (0..3).filter(|i| *i != l) {
        cl.stop(i).await;
    }
    let r = tokio::time::timeout(WAIT, exec(&mut c, "INSERT INTO t VALUES (1)"))
        .await
        .expect("no hang");
    assert!(
        matches!(r, Err(code::LEADERSHIP_LOST) | Err(code::NOT_LEADER)),
        "in-flight commit without quorum: {r:?}"
    );
    wait_for("LEADER to report no leader", WAIT, || async {
        let mut c = dqlite_server::client::Client::connect(&addr, Duration::from_secs(5))
            .await
            .ok()?;
        c.leader().await.ok()?.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_restart_from_a_snapshot_plus_the_log() {
    let tweak = |c: &mut dqlite_server::Config| {
        c.snapshot_threshold = 10;
        c.snapshot_trailing = 0;
    };
    let mut cl = Cluster::start("restart", 3, tweak).await;
    let l = cl.leader().await;
    let mut c = open(&cl.addrs[l], "r").await;
    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");
    for i in 0..40 {
        exec(&mut c, &format!("INSERT INTO t VALUES ({i})"))
            .await
            .expect("insert");
    }
    // Every node compacted its log into a snapshot.
    for i in 0..3 {
        wait_for("a purged log", WAIT, || async {
            let m = cl.nodes[i].as_ref()?.metrics();
            (m.purged.map(|p| p.index).unwrap_or(0) > 10).then_some(())
        })
        .await;
    }
    // A follower restarts: its databases come back from the snapshot and the log after it.
    let f = (l + 1) % 3;
    cl.stop(f).await;
    exec(&mut c, "INSERT INTO t VALUES (100)")
        .await
        .expect("write while it is down");
    cl.restart(f, &tweak).await;
    converged(&cl, "r", "SELECT count(*) FROM t", 1).await;
    assert_eq!(
        cl.local_rows(f, "r", "SELECT count(*) FROM t"),
        vec!["Integer(41)"]
    );
    // The whole cluster restarts.
    for i in 0..3 {
        cl.stop(i).await;
    }
    for i in 0..3 {
        cl.restart(i, &tweak).await;
    }
    let l = cl.leader().await;
    let mut d = open(&cl.addrs[l], "r").await;
    assert_eq!(
        query(&mut d, "SELECT count(*) FROM t").await,
        Ok(vec![vec![Value::Integer(41)]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_rows_replicate_and_rollback_leaves_no_trace() {
    // openraft 0.9 bounds an AppendEntries round by the heartbeat interval, so a multi-MB
    // entry needs one long enough for it (the default, 500 ms, carries tens of MB).
    let tweak = |c: &mut dqlite_server::Config| {
        c.heartbeat_interval = Duration::from_millis(500);
        c.election_timeout = Duration::from_millis(2000);
        c.max_tx_bytes = 6 << 20;
    };
    let mut cl = Cluster::start("huge", 3, tweak).await;
    let l = cl.leader().await;
    let mut c = open(&cl.addrs[l], "h").await;
    exec(&mut c, "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
        .await
        .expect("create");
    let big = Value::Blob(vec![7u8; 4 << 20]);
    for _ in 0..2 {
        let req = exec_sql("INSERT OR REPLACE INTO t VALUES (1, ?)", vec![big.clone()]);
        c.call(&req).await.expect("huge row");
    }
    exec(&mut c, "BEGIN IMMEDIATE").await.expect("begin");
    let req = exec_sql("INSERT OR REPLACE INTO t VALUES (2, ?)", vec![big.clone()]);
    c.call(&req).await.expect("huge row in a transaction");
    exec(&mut c, "ROLLBACK").await.expect("rollback");
    converged(&cl, "h", "SELECT k, length(v) FROM t", 1).await;
    assert_eq!(
        cl.local_rows(l, "h", "SELECT k, length(v) FROM t"),
        vec![format!("Integer(1)|Integer({})", 4 << 20)]
    );

    // Over `max_tx_bytes`: refused with SQLITE_TOOBIG before anything is proposed.
    let r = c
        .call(&exec_sql(
            "INSERT INTO t VALUES (3, zeroblob(7 * 1024 * 1024))",
            vec![],
        ))
        .await;
    assert_eq!(r.err().and_then(|e| e.code()), Some(18));

    // A follower that missed three 4 MiB entries catches up through AppendEntries cut to
    // the byte budget (one entry each) and answered as partial successes.
    let f = (0..3).find(|i| *i != l).expect("a follower");
    cl.stop(f).await;
    for k in 3..6 {
        let req = exec_sql(
            "INSERT INTO t VALUES (?, ?)",
            vec![Value::Integer(k), big.clone()],
        );
        c.call(&req)
            .await
            .expect("huge row while a follower is down");
    }
    cl.restart(f, &tweak).await;
    let rows = converged(&cl, "h", "SELECT k, length(v) FROM t ORDER BY k", 4).await;
    assert_eq!(rows[3], format!("Integer(5)|Integer({})", 4 << 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_replaces_an_offline_voter_with_a_stand_by() {
    let tweak =
        |c: &mut dqlite_server::Config| c.role_adjust_interval = Some(Duration::from_millis(300));
    let mut cl = Cluster::start("adjust", 4, tweak).await;
    let l = cl.leader().await;
    let nodes = cluster(&cl.addrs[l]).await.expect("cluster");
    let me = cl.nodes[l].as_ref().expect("leader").id();
    let victim = nodes
        .iter()
        .find(|n| n.2 == 0 && n.0 != me)
        .expect("a follower voter")
        .0;
    let standby = nodes.iter().find(|n| n.2 == 1).expect("a stand-by").0;
    let i = (0..4)
        .find(|i| cl.nodes[*i].as_ref().map(|n| n.id()) == Some(victim))
        .expect("victim index");
    cl.stop(i).await;
    wait_for(
        "the stand-by promoted and the offline voter demoted",
        WAIT,
        || async {
            let nodes = cluster(&cl.addrs[l]).await.ok()?;
            let role = |id: u64| nodes.iter().find(|n| n.0 == id).map(|n| n.2);
            (role(standby) == Some(0) && role(victim) == Some(2)).then_some(())
        },
    )
    .await;
    let mut c = open(&cl.addrs[l], "adj").await;
    exec(&mut c, "CREATE TABLE t (n)")
        .await
        .expect("the cluster still commits");
}
