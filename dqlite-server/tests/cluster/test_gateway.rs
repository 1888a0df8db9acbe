//! Single-node gateway conformance (docs/server-behaviour.md §6) and the inputs that crash or
//! hang the C server (docs/wire-protocol.md §14, docs/server-behaviour.md §5): each gets a
//! FAILURE or a clean close and the node keeps serving.

use std::time::Duration;

use bytes::BytesMut;
use dqlite_proto::{code, DecodeHint, Request, Response, Value};
use dqlite_server::client::Client;

use crate::util::*;

async fn fail_code(c: &mut Client, req: &Request) -> u64 {
    match c.call(req).await {
        Err(e) => e.code().expect("failure code"),
        Ok(r) => panic!("expected a failure for {req:?}, got {r:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_follow_latest_server_semantics() {
    let cl = Cluster::start("gw", 1, |_| {}).await;
    let addr = cl.addrs[cl.leader().await].clone();
    let mut c = Client::connect(&addr, Duration::from_secs(10))
        .await
        .expect("connect");
    // No OPEN yet.
    assert_eq!(
        fail_code(&mut c, &exec_sql("SELECT 1", vec![])).await,
        code::NOTFOUND
    );
    let r = c.call(&Request::Client { id: 7 }).await.expect("client");
    assert_eq!(
        r,
        Response::Welcome {
            heartbeat_timeout: 15000
        }
    );
    match c.call(&Request::Leader).await.expect("leader") {
        Response::Node { address, .. } => assert_eq!(address, addr),
        other => panic!("{other:?}"),
    }
    c.call(&Request::Open {
        name: "test".into(),
        flags: 0,
        vfs: "volatile".into(),
    })
    .await
    .expect("open");
    let open_twice = Request::Open {
        name: "test".into(),
        flags: 0,
        vfs: "x".into(),
    };
    assert_eq!(fail_code(&mut c, &open_twice).await, code::BUSY);
    // Statement ids: lowest free slot.
    let prep = |sql: &str| Request::Prepare {
        db: 0,
        sql: sql.into(),
        with_tail: false,
    };
    let id = |r: Response| match r {
        Response::Stmt { id, .. } => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(id(c.call(&prep("SELECT 1")).await.expect("p0")), 0);
    assert_eq!(id(c.call(&prep("SELECT 2")).await.expect("p1")), 1);
    assert_eq!(id(c.call(&prep("SELECT 3")).await.expect("p2")), 2);
    c.call(&Request::Finalize { db: 0, stmt: 1 })
        .await
        .expect("finalize");
    // Crash input: a freed, non-last id.
    assert_eq!(
        fail_code(&mut c, &Request::Finalize { db: 0, stmt: 1 }).await,
        code::NOTFOUND
    );
    let exec_freed = Request::Exec {
        db: 0,
        stmt: 1,
        params: vec![],
        schema: Default::default(),
    };
    assert_eq!(fail_code(&mut c, &exec_freed).await, code::NOTFOUND);
    assert_eq!(id(c.call(&prep("SELECT 4")).await.expect("reuse")), 1);
    assert_eq!(fail_code(&mut c, &prep(" -- comment")).await, 0);
    assert_eq!(
        fail_code(&mut c, &prep("CREATE TABLE x (n); SELECT 1")).await,
        1
    );
    c.call(&prep("SELECT 1; /* c */"))
        .await
        .expect("comment tail");
    match c
        .call(&Request::Prepare {
            db: 0,
            sql: "CREATE TABLE test (n INT); SELECT * FROM test".into(),
            with_tail: true,
        })
        .await
    {
        Ok(Response::Stmt { tail_offset, .. }) => assert_eq!(tail_offset, Some(26)),
        other => panic!("{other:?}"),
    }
    // EXEC / EXEC_SQL.
    assert_eq!(
        exec(&mut c, "CREATE TABLE t (n INT, d DATETIME, b BOOLEAN)").await,
        Ok((0, 0))
    );
    assert_eq!(
        exec(&mut c, "INSERT INTO t VALUES (7, NULL, NULL)").await,
        Ok((1, 1))
    );
    assert_eq!(
        exec(&mut c, " -- nothing").await,
        Ok((1, 1)),
        "sticky values for empty SQL"
    );
    assert_eq!(
        exec(&mut c, "SELECT * FROM t").await,
        Err(1),
        "rows yielded"
    );
    assert_eq!(exec(&mut c, "NOT SQL").await, Err(1));
    assert_eq!(exec(&mut c, "INSERT INTO t VALUES (8, 1.5, 'x'); INSERT INTO nosuch VALUES (1); INSERT INTO t VALUES (9, 0, 0)").await, Err(1));
    // Crash inputs: REAL in a DATETIME column, text in a BOOLEAN column.
    let rows = query(&mut c, "SELECT n, d, b FROM t ORDER BY n")
        .await
        .expect("select");
    assert_eq!(
        rows[0],
        vec![
            Value::Integer(7),
            Value::Iso8601(String::new()),
            Value::Boolean(false)
        ]
    );
    assert_eq!(
        rows[1],
        vec![
            Value::Integer(8),
            Value::Float(1.5),
            Value::Text("x".into())
        ]
    );
    assert_eq!(
        rows.len(),
        2,
        "the statement after the failing one did not run"
    );
    // QUERY_SQL edge cases.
    assert_eq!(query(&mut c, "").await, Err(0));
    assert_eq!(query(&mut c, "SELECT 1; SELECT 2").await, Err(1));
    let q = query_sql("SELECT ?", vec![Value::Integer(1), Value::Integer(2)]);
    assert_eq!(
        fail_code(&mut c, &q).await,
        1,
        "too many parameters for a query"
    );
    // A modifying query: zero columns, replicated.
    let batches = c
        .query(&query_sql("INSERT INTO t VALUES (10, NULL, NULL)", vec![]))
        .await
        .expect("modifying query");
    assert!(batches[0].columns.is_empty());
    // Large results: page-sized batches.
    let batches = c
        .query(&query_sql("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 509) SELECT i FROM s", vec![]))
        .await
        .expect("large");
    assert_eq!(
        batches.iter().map(|b| b.rows.len()).collect::<Vec<_>>(),
        vec![255, 254]
    );
    // Denied statements.
    assert_eq!(
        exec(&mut c, "ATTACH DATABASE 'foo' AS foo").await,
        Err(code::AUTH)
    );
    assert_eq!(
        exec(&mut c, "PRAGMA journal_mode=DELETE").await,
        Err(code::AUTH)
    );
    assert_eq!(exec(&mut c, "VACUUM INTO 'x'").await, Err(code::AUTH));
    assert!(
        exec(&mut c, "VACUUM").await.is_ok(),
        "plain VACUUM is allowed"
    );
    // Cluster requests.
    assert_eq!(
        fail_code(&mut c, &Request::Cluster { format: 2 }).await,
        code::DQLITE_PARSE
    );
    assert_eq!(
        fail_code(&mut c, &Request::Describe { format: 1 }).await,
        code::PROTOCOL
    );
    assert!(
        matches!(
            c.call(&Request::Describe { format: 0 }).await,
            Ok(Response::Metadata { .. })
        ),
        "one reply only"
    );
    c.call(&Request::Weight { weight: 5 })
        .await
        .expect("weight");
    assert_eq!(
        fail_code(
            &mut c,
            &Request::Dump {
                name: "nope".into()
            }
        )
        .await,
        code::DQLITE_NOTFOUND
    );
    match c
        .call(&Request::Dump {
            name: "test".into(),
        })
        .await
        .expect("dump")
    {
        Response::Files(files) => {
            assert_eq!(files.len(), 2);
            assert!(files[0].data.len() >= 4096 && files[1].data.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.call(&Request::Interrupt { db: 0 })
            .await
            .expect("interrupt"),
        Response::Empty
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_never_hurts_the_node() {
    let cl = Cluster::start("crash", 1, |_| {}).await;
    let addr = cl.addrs[cl.leader().await].clone();
    let mut c = open(&addr, "crash").await;
    // Zero-word body: answered, connection still usable.
    c.send_raw(&[0, 0, 0, 0, 0, 0, 0, 0]).await.expect("send");
    assert!(matches!(
        c.recv(DecodeHint::default()).await,
        Ok(Response::Failure(_))
    ));
    // Unknown type and HEARTBEAT: 1005.
    c.send_raw(&[1, 0, 0, 0, 123, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        .await
        .expect("send");
    match c.recv(DecodeHint::default()).await {
        Ok(Response::Failure(f)) => assert_eq!(f.code, code::DQLITE_PARSE),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fail_code(&mut c, &Request::Heartbeat { timestamp: 1 }).await,
        code::DQLITE_PARSE
    );
    // Bad schema byte.
    let mut buf = BytesMut::new();
    Request::Leader
        .encode_with_schema(1, &mut buf)
        .expect("encode");
    c.send_raw(&buf).await.expect("send");
    assert!(
        matches!(c.recv(DecodeHint::default()).await, Ok(Response::Failure(f)) if f.code == code::DQLITE_PARSE)
    );
    // Bad parameter type (0xff): "bind parameters".
    let mut body = BytesMut::new();
    exec_sql("SELECT ?", vec![Value::Integer(1)])
        .encode(&mut body)
        .expect("encode");
    let at = 8 + 8 + 16; // header, db, "SELECT ?\0" padded
    body[at + 1] = 0xff;
    c.send_raw(&body).await.expect("send");
    assert!(matches!(c.recv(DecodeHint::default()).await, Ok(Response::Failure(f)) if f.code == 1));
    // Text without NUL inside its body: answered with a failure.
    c.send_raw(&[
        1, 0, 0, 0, 15, 0, 0, 0, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h',
    ])
    .await
    .expect("send");
    assert!(matches!(
        c.recv(DecodeHint::default()).await,
        Ok(Response::Failure(_))
    ));
    assert_eq!(
        exec(&mut c, "CREATE TABLE ok (n)").await,
        Ok((0, 0)),
        "connection still works"
    );
    // A bad protocol version: the server closes that connection only.
    let mut bad = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    bad.write_all(&2u64.to_le_bytes()).await.expect("write");
    let mut b = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(10), bad.read(&mut b))
        .await
        .expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "connection closed");
    // Other connections were never affected.
    let mut d = open(&addr, "crash").await;
    assert_eq!(
        query(&mut d, "SELECT count(*) FROM ok").await,
        Ok(vec![vec![Value::Integer(0)]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_control_behaves_like_sqlite() {
    let cl = Cluster::start("txctl", 1, |_| {}).await;
    let addr = cl.addrs[cl.leader().await].clone();
    let mut c = open(&addr, "txctl").await;
    let msg = |r: Result<Response, dqlite_server::Error>| match r {
        Err(dqlite_server::Error::Failure { code, message }) => (code, message),
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(
        msg(c.call(&exec_sql("COMMIT", vec![])).await),
        (1, "cannot commit - no transaction is active".to_owned())
    );
    assert_eq!(
        msg(c.call(&exec_sql("ROLLBACK", vec![])).await),
        (1, "cannot rollback - no transaction is active".to_owned())
    );
    exec(&mut c, "CREATE TABLE t (n INTEGER PRIMARY KEY)")
        .await
        .expect("create");
    exec(&mut c, "BEGIN").await.expect("begin");
    assert_eq!(
        msg(c.call(&exec_sql("BEGIN", vec![])).await),
        (
            1,
            "cannot start a transaction within a transaction".to_owned()
        )
    );
    exec(&mut c, "ROLLBACK").await.expect("rollback");
    // A failing statement leaves the transaction open; COMMIT then commits the rest.
    assert_eq!(
        exec(
            &mut c,
            "BEGIN; INSERT INTO t VALUES (11); INSERT INTO nosuch VALUES (1); COMMIT"
        )
        .await,
        Err(1)
    );
    exec(&mut c, "INSERT INTO t VALUES (12)")
        .await
        .expect("still in the transaction");
    assert_eq!(
        exec(&mut c, "INSERT INTO t VALUES (12)").await,
        Err(1555),
        "duplicate key"
    );
    assert_eq!(
        exec(&mut c, "COMMIT").await,
        Ok((12, 1)),
        "COMMIT repeats the last DML result"
    );
    assert_eq!(
        query(&mut c, "SELECT n FROM t ORDER BY n").await,
        Ok(vec![vec![Value::Integer(11)], vec![Value::Integer(12)]])
    );
    // Savepoints: a top-level SAVEPOINT opens a transaction its RELEASE commits.
    exec(&mut c, "SAVEPOINT a; INSERT INTO t VALUES (13); SAVEPOINT b; INSERT INTO t VALUES (14); ROLLBACK TO b; RELEASE a")
        .await
        .expect("savepoints");
    assert_eq!(
        query(&mut c, "SELECT count(*) FROM t").await,
        Ok(vec![vec![Value::Integer(3)]])
    );
    // INSERT ... RETURNING through QUERY_SQL.
    let rows = query(&mut c, "INSERT INTO t VALUES (20), (21) RETURNING n")
        .await
        .expect("returning");
    assert_eq!(
        rows,
        vec![vec![Value::Integer(20)], vec![Value::Integer(21)]]
    );
}
