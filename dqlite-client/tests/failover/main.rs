//! Deterministic failover tests against scripted fake nodes: leader discovery, stale hints,
//! not-leader retries, cut streams, stalls, budget exhaustion, unknown commits, busy policy.

mod batch;
mod fake;
mod hedge;
mod pool;
mod raw;
mod silent;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dqlite_client::{Cluster, Config, Db, Error};
use dqlite_proto::{code, request_kind, Failure, Request, Response, Rows, RowsEnd, Value};
use fake::{cluster, standard, Action, Handler};

pub fn fast() -> Config {
    Config::default()
        .with_dial_timeout(Duration::from_millis(500))
        .with_attempt_timeout(Duration::from_millis(500))
        .with_request_timeout(Duration::from_millis(500))
        .with_retry_budget(Duration::from_secs(3))
        .with_backoff_base(Duration::from_millis(10))
        .with_backoff_cap(Duration::from_millis(50))
}

/// One fake node, leader of its world, with a pool on it.
pub async fn leader_db(h: Handler, config: Config) -> (Arc<fake::World>, Vec<fake::FakeNode>, Db) {
    let (world, nodes) = cluster(1, h).await;
    world.set_leader(&nodes[0].addr);
    let db = Cluster::from_addresses([nodes[0].addr.clone()], config)
        .expect("cluster")
        .open("db");
    (world, nodes, db)
}

pub fn handler(
    f: impl Fn(&fake::World, &str, &Request) -> Action + Send + Sync + 'static,
) -> Handler {
    Arc::new(f)
}

pub fn fail(code: u64, msg: &str) -> Action {
    Action::Reply(vec![Response::Failure(Failure::new(code, msg))])
}

#[tokio::test]
async fn finds_the_leader_through_any_node() {
    let (world, nodes) = cluster(3, Arc::new(standard)).await;
    world.set_leader(&nodes[2].addr);
    let c = Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), fast()).expect("cluster");
    let res = c
        .open("db")
        .execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("exec");
    assert_eq!((res.last_insert_id, res.rows_affected), (1, 1));
    assert_eq!(world.count(&nodes[2].addr, request_kind::EXEC_SQL), 1);
    assert_eq!(world.count(&nodes[0].addr, request_kind::EXEC_SQL), 0);
    assert_eq!(c.leader_address().await.expect("leader"), nodes[2].addr);
}

#[tokio::test]
async fn stale_hints_are_not_trusted_and_the_error_says_what_each_node_answered() {
    // Every node names the next one as leader; none names itself.
    let ring: Arc<Mutex<Vec<String>>> = Arc::default();
    let names = Arc::clone(&ring);
    let (_world, nodes) = cluster(
        3,
        handler(move |w, me, req| match req {
            Request::Leader => {
                let ring = names.lock().expect("lock");
                let i = ring.iter().position(|a| a == me).unwrap_or(0);
                let address = ring[(i + 1) % ring.len()].clone();
                Action::Reply(vec![Response::Node { id: 9, address }])
            }
            _ => standard(w, me, req),
        }),
    )
    .await;
    let seeds: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    *ring.lock().expect("lock") = seeds.clone();
    let config = fast().with_retry_budget(Duration::from_millis(300));
    let err = Cluster::from_addresses(seeds.clone(), config)
        .expect("cluster")
        .open("db")
        .execute("SELECT 1", ())
        .await
        .expect_err("no node names itself");
    assert!(err.is_no_leader(), "{err}");
    let msg = err.to_string();
    for a in &seeds {
        assert!(msg.contains(a.as_str()), "{a} missing from: {msg}");
    }
    assert!(msg.contains("names"), "{msg}");
}

#[tokio::test]
async fn not_leader_is_retried_on_the_new_leader_and_the_pool_is_flushed() {
    let (world, nodes) = cluster(3, Arc::new(standard)).await;
    world.set_leader(&nodes[0].addr);
    let c = Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), fast()).expect("cluster");
    let db = c.open("db");
    db.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("first");
    assert_eq!(db.idle_connections(), 1);
    world.set_leader(&nodes[1].addr);
    db.execute("INSERT INTO t VALUES(2)", ())
        .await
        .expect("second, on the new leader");
    assert_eq!(
        world.count(&nodes[0].addr, request_kind::EXEC_SQL),
        2,
        "first try hit 10250"
    );
    assert_eq!(world.count(&nodes[1].addr, request_kind::EXEC_SQL), 1);
    assert_eq!(world.inserts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_stream_cut_mid_way_is_an_error_and_the_pool_recovers() {
    let part = Response::Rows(Rows {
        columns: vec!["n".into()],
        rows: vec![vec![Value::Integer(1)]],
        end: RowsEnd::Part,
    });
    let cut = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&cut);
    let (_world, _nodes, db) = leader_db(
        handler(move |w, me, req| match req {
            Request::QuerySql { sql, .. } if sql.contains("big") => {
                seen.fetch_add(1, Ordering::SeqCst);
                Action::ReplyThenClose(vec![part.clone()])
            }
            _ => standard(w, me, req),
        }),
        fast(),
    )
    .await;
    let mut rows = db
        .query("SELECT * FROM big", ())
        .await
        .expect("first batch");
    assert!(rows.next().await.expect("row").is_some());
    let err = rows.next().await.expect_err("the stream was cut");
    assert!(err.is_connection_error(), "{err}");
    drop(rows);
    let row = db
        .query_one("SELECT count(*) FROM t", ())
        .await
        .expect("pool recovered");
    assert_eq!(row.get::<i64, _>(0).expect("int"), 0);
    assert_eq!(
        cut.load(Ordering::SeqCst),
        1,
        "a started stream is not retried"
    );
}

#[tokio::test]
async fn a_stalled_write_is_an_unknown_outcome_and_is_not_resent() {
    let (world, nodes, db) = leader_db(
        handler(|w, me, req| match req {
            Request::ExecSql { .. } => Action::Stall,
            _ => standard(w, me, req),
        }),
        fast(),
    )
    .await;
    let err = db
        .execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect_err("stalls");
    assert!(err.is_commit_unknown(), "{err}");
    assert!(
        matches!(&err, Error::CommitUnknown { source } if source.is_timeout()),
        "{err}"
    );
    assert_eq!(
        world.count(&nodes[0].addr, request_kind::EXEC_SQL),
        1,
        "never resent"
    );
}

#[tokio::test]
async fn a_stalled_read_is_retried_until_the_budget_runs_out() {
    let (world, nodes) = cluster(
        1,
        handler(|w, me, req| match req {
            Request::QuerySql { .. } => Action::Stall,
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[0].addr);
    let config = fast()
        .with_request_timeout(Duration::from_millis(100))
        .with_retry_budget(Duration::from_millis(450));
    let db = Cluster::from_addresses([nodes[0].addr.clone()], config)
        .expect("cluster")
        .open("db");
    let err = db.query_all("SELECT 1", ()).await.expect_err("stalls");
    assert!(err.is_timeout(), "{err}");
    assert!(
        world.count(&nodes[0].addr, request_kind::QUERY_SQL) >= 2,
        "reads are retried"
    );
}

#[tokio::test]
async fn leadership_lost_during_commit_is_not_retried() {
    let (world, nodes) = cluster(
        2,
        handler(|w, me, req| match req {
            Request::ExecSql { .. } if w.leader() == me => {
                fail(code::LEADERSHIP_LOST, "leadership lost")
            }
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[0].addr);
    let db = Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), fast())
        .expect("cluster")
        .open("db");
    let err = db
        .execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect_err("10506");
    assert!(err.is_commit_unknown() && err.is_leadership_lost(), "{err}");
    assert_eq!(err.code(), Some(code::LEADERSHIP_LOST));
    assert_eq!(world.count(&nodes[0].addr, request_kind::EXEC_SQL), 1);
}

#[tokio::test]
async fn busy_is_surfaced_by_default_and_retried_with_the_busy_policy() {
    let busy_left = Arc::new(AtomicUsize::new(usize::MAX));
    let left = Arc::clone(&busy_left);
    let (world, nodes) = cluster(
        1,
        handler(move |w, me, req| match req {
            Request::ExecSql { .. } if left.load(Ordering::SeqCst) > 0 => {
                left.fetch_sub(1, Ordering::SeqCst);
                fail(code::BUSY, "database is locked")
            }
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[0].addr);
    let seeds = [nodes[0].addr.clone()];
    let db = Cluster::from_addresses(seeds.clone(), fast())
        .expect("cluster")
        .open("db");
    busy_left.store(2, Ordering::SeqCst);
    let err = db
        .execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect_err("busy");
    assert!(err.is_busy() && !err.is_commit_unknown(), "{err}");
    busy_left.store(2, Ordering::SeqCst);
    let db = Cluster::from_addresses(seeds, fast().with_retry_busy(true))
        .expect("cluster")
        .open("db");
    db.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("retried past busy");
    assert_eq!(world.count(&nodes[0].addr, request_kind::EXEC_SQL), 4);
}

#[tokio::test]
async fn endless_empty_batches_are_an_error_not_a_hang() {
    let empty = Response::Rows(Rows {
        columns: vec!["c".into()],
        rows: vec![],
        end: RowsEnd::Part,
    });
    let (world, nodes) = cluster(
        1,
        handler(move |w, me, req| match req {
            Request::QuerySql { .. } => Action::Reply(vec![empty.clone(); 200]),
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[0].addr);
    let config = fast().with_max_empty_batches(16);
    let db = Cluster::from_addresses([nodes[0].addr.clone()], config)
        .expect("cluster")
        .open("db");
    let err = db
        .query_all("SELECT c FROM wide", ())
        .await
        .expect_err("gives up");
    assert!(err.to_string().contains("empty ROWS batches"), "{err}");
}

#[tokio::test]
async fn dropping_rows_early_interrupts_and_the_connection_is_reused() {
    let batch = |n: i64, end| {
        Response::Rows(Rows {
            columns: vec!["n".into()],
            rows: vec![vec![Value::Integer(n)]],
            end,
        })
    };
    let (world, nodes) = cluster(
        1,
        handler(move |w, me, req| match req {
            Request::QuerySql { sql, .. } if sql.contains("big") => {
                Action::Reply(vec![batch(1, RowsEnd::Part)])
            }
            Request::Interrupt { .. } => Action::Reply(vec![
                batch(2, RowsEnd::Part),
                batch(3, RowsEnd::Done),
                Response::Empty,
            ]),
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[0].addr);
    let addr = nodes[0].addr.clone();
    // One connection only: the next query waits until the background drain returns it.
    let config = fast().with_max_open(1);
    let db = Cluster::from_addresses([addr.clone()], config)
        .expect("cluster")
        .open("db");
    let mut rows = db.query("SELECT n FROM big", ()).await.expect("query");
    assert!(rows.next().await.expect("row").is_some());
    drop(rows);
    let row = db
        .query_one("SELECT count(*) FROM t", ())
        .await
        .expect("query after drain");
    assert_eq!(row.get::<i64, _>(0).expect("int"), 0);
    assert_eq!(world.count(&addr, request_kind::INTERRUPT), 1);
    assert_eq!(
        world.count(&addr, request_kind::OPEN),
        1,
        "the drained connection was reused"
    );
}

#[tokio::test]
async fn a_node_that_drops_connections_is_skipped_and_a_dropped_write_is_unknown() {
    let (world, nodes) = cluster(
        2,
        handler(|w, me, req| match req {
            _ if w.leader() != me => Action::Close,
            Request::ExecSql { sql, .. } if sql.contains("drop") => Action::Close,
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[1].addr);
    let db = Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), fast())
        .expect("cluster")
        .open("db");
    db.execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect("the leader is found past a dead node");
    let err = db
        .execute("INSERT INTO drop VALUES(1)", ())
        .await
        .expect_err("closed");
    assert!(err.is_commit_unknown(), "{err}");
    assert!(
        matches!(&err, Error::CommitUnknown { source } if source.is_connection_error()),
        "{err}"
    );
}

#[tokio::test]
async fn client_futures_can_be_spawned() {
    let (world, nodes) = cluster(1, Arc::new(standard)).await;
    world.set_leader(&nodes[0].addr);
    let c = Cluster::from_addresses([nodes[0].addr.clone()], fast()).expect("cluster");
    let db = c.open("db");
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.execute("INSERT INTO t VALUES(?)", (i,)).await?;
                db.query_all("SELECT n FROM t", ()).await?;
                db.transaction(|tx| {
                    Box::pin(async move { tx.execute("UPDATE t SET n = 1", ()).await })
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("ops");
    }
    let admin = tokio::spawn(async move { c.nodes().await });
    // The fake node answers CLUSTER with "not leader" (10250): reported, not retried forever.
    assert!(admin
        .await
        .expect("task")
        .expect_err("fake has no CLUSTER")
        .is_not_leader());
    assert_eq!(
        world.inserts.load(Ordering::SeqCst),
        4 + 4 * 3,
        "4 inserts + 4 x BEGIN/UPDATE/COMMIT"
    );
}
