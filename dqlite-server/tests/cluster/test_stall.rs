//! Stalls: the statement time limit (on the read pool and on the writer), INTERRUPT, the
//! bounded read queue, and an autocommit reader whose client never reads its rows.

use std::time::Duration;

use dqlite_proto::{code, DecodeHint, Request, Response, Value};
use dqlite_server::client::Client;

use crate::util::*;

/// A read that never ends and sends no row.
const FOREVER: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

/// The failure `c` answers to `sql` (rows are an error).
async fn query_failure(c: &mut Client, sql: &str) -> (u64, String) {
    match c.query(&query_sql(sql, vec![])).await {
        Err(dqlite_server::Error::Failure { code, message }) => (code, message),
        other => panic!("{sql}: expected a failure, got {other:?}"),
    }
}

/// Sends INTERRUPT while `c` runs a statement: the statement fails with SQLITE_INTERRUPT,
/// then the INTERRUPT is answered EMPTY.
async fn interrupt(c: &mut Client) {
    c.send(&Request::Interrupt { db: 0 })
        .await
        .expect("send INTERRUPT");
    match c.recv(DecodeHint::default()).await {
        Ok(Response::Failure(f)) => {
            assert_eq!(f.code, code::INTERRUPT, "{}", f.message);
            assert!(f.message.contains("INTERRUPT"), "{}", f.message);
        }
        other => panic!("the statement was not interrupted: {other:?}"),
    }
    assert!(matches!(
        c.recv(DecodeHint::default()).await,
        Ok(Response::Empty)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_timeout_stops_runaway_statements_on_readers_and_the_writer() {
    let cl = Cluster::start("stall-timeout", 1, |c| {
        c.statement_timeout = Duration::from_millis(300);
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    let mut c = open(addr, "s").await;
    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");

    // An autocommit read, on the read pool.
    let (code, message) = query_failure(&mut c, FOREVER).await;
    assert_eq!(code, code::INTERRUPT);
    assert!(message.contains("statement timeout"), "{message}");

    // Inside a transaction, on the writer: the read fails, the transaction goes on.
    exec(&mut c, "BEGIN").await.expect("begin");
    exec(&mut c, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    assert_eq!(query_failure(&mut c, FOREVER).await.0, code::INTERRUPT);
    exec(&mut c, "INSERT INTO t VALUES (2)")
        .await
        .expect("insert");
    exec(&mut c, "COMMIT").await.expect("commit");

    // A write that never ends is stopped too; SQLite rolls its transaction back.
    exec(&mut c, "BEGIN").await.expect("begin");
    let endless = "INSERT INTO t SELECT x FROM (WITH RECURSIVE c(x) AS \
                   (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)";
    assert_eq!(exec(&mut c, endless).await, Err(code::INTERRUPT));
    let _ = exec(&mut c, "ROLLBACK").await;

    // The node keeps serving, with the committed rows only.
    let mut other = open(addr, "s").await;
    exec(&mut other, "INSERT INTO t VALUES (3)")
        .await
        .expect("insert");
    assert_eq!(
        query(&mut other, "SELECT n FROM t ORDER BY n")
            .await
            .expect("select"),
        vec![
            vec![Value::Integer(1)],
            vec![Value::Integer(2)],
            vec![Value::Integer(3)]
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_stops_a_running_query_on_a_reader_and_on_the_writer() {
    let cl = Cluster::start("stall-interrupt", 1, |c| {
        c.statement_timeout = Duration::ZERO;
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    let mut c = open(addr, "s").await;
    c.send(&query_sql(FOREVER, vec![])).await.expect("send");
    interrupt(&mut c).await;
    assert_eq!(
        query(&mut c, "SELECT 1").await.expect("select"),
        vec![vec![Value::Integer(1)]]
    );

    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");
    exec(&mut c, "BEGIN").await.expect("begin");
    exec(&mut c, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    c.send(&query_sql(FOREVER, vec![])).await.expect("send");
    interrupt(&mut c).await;
    exec(&mut c, "COMMIT").await.expect("commit");
    assert_eq!(
        query(&mut c, "SELECT n FROM t").await.expect("select"),
        vec![vec![Value::Integer(1)]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_read_queue_answers_busy_at_once() {
    let cl = Cluster::start("stall-queue", 1, |c| {
        c.readers = 1;
        c.read_queue = 1;
        c.statement_timeout = Duration::ZERO;
    })
    .await;
    let leader = cl.leader().await;
    let addr = &cl.addrs[leader];
    // (running, queued) on the read pool.
    let pool = || {
        let node = cl.nodes[leader].as_ref().expect("leader node");
        node.read_pool_load()
    };
    let mut running = open(addr, "s").await;
    running
        .send(&query_sql(FOREVER, vec![]))
        .await
        .expect("send");
    wait_for("the reader busy", WAIT, || async {
        (pool().0 == 1).then_some(())
    })
    .await;
    let mut queued = open(addr, "s").await;
    queued
        .send(&query_sql(FOREVER, vec![]))
        .await
        .expect("send");
    wait_for("a queued read", WAIT, || async {
        (pool().1 == 1).then_some(())
    })
    .await;

    // A read too long to be answered on the connection's own thread needs the pool: refused.
    let mut c = open(addr, "s").await;
    let (code, message) = query_failure(&mut c, FOREVER).await;
    assert_eq!(code, code::BUSY, "{message}");
    assert!(message.contains("read queue"), "{message}");
    // A short read never waits behind long ones: it is answered on the connection's thread.
    assert_eq!(
        query(&mut c, "SELECT 1").await.expect("select"),
        vec![vec![Value::Integer(1)]]
    );

    interrupt(&mut running).await;
    interrupt(&mut queued).await;
    assert_eq!(
        query(&mut c, TWO_BATCHES).await.expect("select").len(),
        2,
        "the pool serves again"
    );
}

/// A read whose rows fill more than one ROWS batch: it is served by the read pool.
const TWO_BATCHES: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                           WHERE x < 2) SELECT x, zeroblob(5000) FROM c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autocommit_reader_that_never_reads_is_dropped() {
    let cl = Cluster::start("stall-reader", 1, |c| {
        c.readers = 1;
        c.busy_timeout = Duration::from_millis(500);
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    // ~40 MB of rows that the client never reads, on the only reader thread.
    let mut stalled = open(addr, "s").await;
    let big = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000) \
               SELECT x, zeroblob(10000) FROM c";
    stalled
        .send(&query_sql(big, vec![]))
        .await
        .expect("send the query");

    // Another read that needs the pool gets the reader thread once the stalled client is
    // dropped.
    let mut other = open(addr, "s").await;
    assert_eq!(
        query(&mut other, TWO_BATCHES).await.expect("select").len(),
        2
    );

    // The stalled connection was closed part-way through its rows.
    assert_cut_short(&mut stalled).await;
}
