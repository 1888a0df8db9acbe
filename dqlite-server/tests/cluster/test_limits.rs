//! Connection limits: the client connection cap (raft peers still get in), the handshake
//! timeout, the idle timeouts (a client silent inside a transaction loses it), and the
//! prepared-statement cap.

use std::time::Duration;

use bytes::BytesMut;
use dqlite_proto::{code, DecodeHint, ProtocolVersion, Request, Response, Value};
use dqlite_server::client::Client;
use dqlite_server::config::PEER_HEADROOM;
use dqlite_server::peer_wire::{kind, read_frame, write_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::*;

/// True once the server closed `stream` (it sent nothing).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(WAIT, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// A connection that sent the protocol version word and nothing else.
async fn version_only(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut hello = BytesMut::new();
    ProtocolVersion::One.encode(&mut hello);
    s.write_all(&hello).await.expect("send the version");
    s
}

/// OPEN on a fresh connection: the connection, or the failure code (`None`: closed).
async fn try_open(addr: &str) -> Result<Client, Option<u64>> {
    let mut c = Client::connect(addr, WAIT).await.map_err(|_| None)?;
    let open = Request::Open {
        name: "l".into(),
        flags: 0,
        vfs: "volatile".into(),
    };
    match c.call(&open).await {
        Ok(Response::Db { .. }) => Ok(c),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => Err(e.code()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_while_peers_and_clients_get_through() {
    let cl = Cluster::start("limits-conns", 1, |c| {
        c.max_connections = 4;
        c.handshake_timeout = Duration::from_secs(60);
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    let mut c0 = open(addr, "l").await;
    exec(&mut c0, "CREATE TABLE t (n)").await.expect("create");
    let mut held = Vec::new();
    for _ in 0..3 {
        // Connections of the cluster's start-up may still be closing on the server.
        let c = wait_for("a client under the cap", WAIT, || async {
            try_open(addr).await.ok()
        })
        .await;
        held.push(c);
    }
    for _ in 0..3 {
        assert_eq!(try_open(addr).await.err(), Some(Some(code::BUSY)));
    }

    // A raft peer still gets in, and is served.
    let mut peer = version_only(addr).await;
    let mut connect = BytesMut::new();
    Request::Connect {
        id: 99,
        address: "127.0.0.1:1".into(),
    }
    .encode(&mut connect)
    .expect("encode CONNECT");
    peer.write_all(&connect).await.expect("send CONNECT");
    let body = bincode::serialize(&(true, 0u64)).expect("encode");
    write_frame(&mut peer, kind::SET_ELECT, &body)
        .await
        .expect("send an rpc");
    let (status, _) = tokio::time::timeout(WAIT, read_frame(&mut peer))
        .await
        .expect("an rpc answer in time")
        .expect("an rpc answer");
    assert_eq!(status, 0);

    // Sockets that never send a request fill the headroom; those beyond it are closed at
    // once (the listener accepts in connection order, so the last one is beyond).
    let mut silent = Vec::new();
    for _ in 0..PEER_HEADROOM + 8 {
        silent.push(version_only(addr).await);
    }
    let mut over = silent.pop().expect("a socket");
    assert!(
        closed(&mut over).await,
        "a socket over the headroom is closed"
    );

    // The clients already in keep working.
    exec(&mut c0, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    assert_eq!(
        query(&mut held[0], "SELECT n FROM t")
            .await
            .expect("select"),
        vec![vec![Value::Integer(1)]]
    );
    drop((silent, held, peer));
    let mut again = wait_for("a client slot once others left", WAIT, || async {
        try_open(addr).await.ok()
    })
    .await;
    query(&mut again, "SELECT n FROM t").await.expect("select");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_handshake_and_idle_timeouts() {
    let cl = Cluster::start("limits-silent", 1, |c| {
        c.handshake_timeout = Duration::from_millis(500);
        c.idle_timeout = Duration::from_millis(1000);
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    let mut nothing = TcpStream::connect(addr).await.expect("connect");
    assert!(closed(&mut nothing).await, "no version word: closed");
    let mut no_request = version_only(addr).await;
    assert!(closed(&mut no_request).await, "no first request: closed");

    let mut idle = open(addr, "l").await;
    match idle.recv(DecodeHint::default()).await {
        Err(dqlite_server::Error::Io(e)) => {
            assert_ne!(e.kind(), std::io::ErrorKind::TimedOut, "not closed: {e}")
        }
        other => panic!("an idle connection was not closed: {other:?}"),
    }
    let mut c = open(addr, "l").await;
    exec(&mut c, "CREATE TABLE t (n)")
        .await
        .expect("a new client is served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_silent_inside_a_transaction_loses_it_and_another_writer_proceeds() {
    let cl = Cluster::start("limits-tx-idle", 1, |c| {
        c.tx_idle_timeout = Duration::from_millis(1000);
        c.busy_timeout = Duration::from_millis(500);
    })
    .await;
    let addr = &cl.addrs[cl.leader().await];
    let mut silent = open(addr, "l").await;
    exec(&mut silent, "CREATE TABLE t (n)")
        .await
        .expect("create");
    exec(&mut silent, "BEGIN").await.expect("begin");
    exec(&mut silent, "INSERT INTO t VALUES (1)")
        .await
        .expect("insert");

    let mut other = open(addr, "l").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match exec(&mut other, "INSERT INTO t VALUES (2)").await {
            Ok(_) => break,
            Err(code::BUSY) if tokio::time::Instant::now() < deadline => continue,
            Err(code) => panic!("the second writer failed with {code}"),
        }
    }
    assert_eq!(
        query(&mut other, "SELECT n FROM t").await.expect("select"),
        vec![vec![Value::Integer(2)]],
        "the silent client's insert was rolled back"
    );
    assert!(
        silent.recv(DecodeHint::default()).await.is_err(),
        "the silent client was disconnected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_per_connection_are_capped() {
    let cl = Cluster::start("limits-stmts", 1, |c| c.max_statements = 3).await;
    let addr = &cl.addrs[cl.leader().await];
    let mut c = open(addr, "l").await;
    let prepare = Request::Prepare {
        db: 0,
        sql: "SELECT 1".into(),
        with_tail: false,
    };
    for _ in 0..3 {
        c.call(&prepare).await.expect("prepare under the cap");
    }
    match c.call(&prepare).await {
        Err(e) => {
            assert_eq!(e.code(), Some(code::ERROR));
            assert!(
                e.to_string().contains("too many prepared statements"),
                "{e}"
            );
        }
        Ok(other) => panic!("a fourth statement was prepared: {other:?}"),
    }
    let finalize = Request::Finalize { db: 0, stmt: 1 };
    c.call(&finalize).await.expect("finalize");
    c.call(&prepare).await.expect("prepare after a finalize");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_frame_size_closes_its_connection_only() {
    let cl = Cluster::start("limits-frame", 1, |c| c.max_frame_bytes = 4096).await;
    let addr = &cl.addrs[cl.leader().await];
    let mut c = open(addr, "l").await;
    exec(&mut c, "CREATE TABLE t (v)").await.expect("create");
    let small = exec_sql("INSERT INTO t VALUES (?)", vec![Value::Blob(vec![1; 1000])]);
    c.call(&small).await.expect("a request under the limit");
    let big = exec_sql("INSERT INTO t VALUES (?)", vec![Value::Blob(vec![2; 8000])]);
    assert!(c.call(&big).await.is_err(), "a request over the limit");
    assert!(
        c.recv(DecodeHint::default()).await.is_err(),
        "its connection is closed"
    );
    let mut other = open(addr, "l").await;
    assert_eq!(
        query(&mut other, "SELECT length(v) FROM t")
            .await
            .expect("select"),
        vec![vec![Value::Integer(1000)]]
    );
}
