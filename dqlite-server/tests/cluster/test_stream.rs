//! Reads inside a client transaction run on the writer and stream their ROWS batches as the
//! writer fills them; a client that stops reading is dropped after the busy timeout, and its
//! transaction no longer holds the database.

use std::time::Duration;

use dqlite_proto::Value;

use crate::util::*;

/// `n` rows of `(x, blob of `width` bytes)`, generated without any table.
fn generated(n: u32, width: u32) -> String {
    format!(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) \
         SELECT x, zeroblob({width}) FROM c"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_inside_a_transaction_stream_and_a_stalled_reader_is_dropped() {
    let cl = Cluster::start("stream", 1, |c| {
        c.busy_timeout = Duration::from_millis(500);
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    let mut c1 = open(addr, "s").await;
    exec(&mut c1, "CREATE TABLE t (n)").await.expect("create");

    // Every row arrives, in order, through many batches.
    exec(&mut c1, "BEGIN").await.expect("begin");
    let rows = query(&mut c1, &generated(20_000, 40))
        .await
        .expect("a large read inside a transaction");
    assert_eq!(rows.len(), 20_000);
    assert_eq!(rows[0][0], Value::Integer(1));
    assert_eq!(rows[19_999][0], Value::Integer(20_000));
    exec(&mut c1, "COMMIT").await.expect("commit");

    // A client inside a transaction asks for ~40 MB of rows and reads none of them.
    let mut stalled = open(addr, "s").await;
    exec(&mut stalled, "BEGIN").await.expect("begin");
    exec(&mut stalled, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert in the stalled transaction");
    stalled
        .send(&query_sql(&generated(4_000, 10_000), vec![]))
        .await
        .expect("send the query");

    // Another writer gets the database once the stalled client is dropped (it would wait
    // forever if the rows were buffered and the connection blocked on its socket).
    let mut other = open(addr, "s").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // Each attempt waits up to the busy timeout in the writer queue.
        match exec(&mut other, "INSERT INTO t VALUES (2)").await {
            Ok(_) => break,
            Err(5) if tokio::time::Instant::now() < deadline => continue,
            Err(code) => panic!("a second writer after the stalled reader failed with {code}"),
        }
    }
    assert_eq!(
        query(&mut other, "SELECT n FROM t").await.expect("select"),
        vec![vec![Value::Integer(2)]],
        "the stalled transaction was rolled back"
    );

    // The stalled connection was closed part-way through its rows.
    assert_cut_short(&mut stalled).await;
}
