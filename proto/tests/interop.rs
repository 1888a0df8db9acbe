//! Interop: the codec speaks raw protocol to a real 3-node C dqlite cluster (Debian's
//! `dqlite-demo`, libdqlite 1.11.1) and every decoded reply is checked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dqlite_proto::*;
use dqlite_testkit::reference_cluster_or_skip;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking wire connection: one request in flight, replies read with a deadline.
struct RawConn {
    stream: TcpStream,
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl RawConn {
    fn connect(addr: &str) -> RawConn {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("write timeout");
        let mut conn = RawConn {
            stream,
            buf: BytesMut::new(),
            decoder: FrameDecoder::default(),
        };
        let mut hello = BytesMut::new();
        ProtocolVersion::One.encode(&mut hello);
        conn.stream.write_all(&hello).expect("handshake");
        conn
    }

    fn send(&mut self, req: &Request, schema: u8) {
        let mut out = BytesMut::new();
        req.encode_with_schema(schema, &mut out).expect("encode");
        self.stream.write_all(&out).expect("send request");
    }

    fn recv(&mut self, hint: DecodeHint) -> (Header, Response) {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).expect("valid frame") {
                let resp = frame.response(hint).expect("decodable response");
                return (frame.header, resp);
            }
            assert!(Instant::now() < deadline, "no reply within {IO_TIMEOUT:?}");
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a request and returns its single reply.
    fn call(&mut self, req: Request) -> Response {
        self.send(&req, req.schema());
        let hint = DecodeHint {
            nodes_without_role: matches!(req, Request::Cluster { format: 0 }),
            ..DecodeHint::default()
        };
        self.recv(hint).1
    }

    /// Sends a query and collects every ROWS batch up to DONE.
    fn query(&mut self, req: Request) -> Vec<Rows> {
        self.send(&req, req.schema());
        let mut batches = Vec::new();
        for _ in 0..10_000 {
            match self.recv(DecodeHint::default()).1 {
                Response::Rows(rows) => {
                    let end = rows.end;
                    batches.push(rows);
                    if end == RowsEnd::Done {
                        return batches;
                    }
                }
                other => panic!("expected ROWS, got {other:?}"),
            }
        }
        panic!("no DONE after 10000 batches");
    }
}

fn exec(conn: &mut RawConn, sql: &str, params: Vec<Value>) -> (u64, u64) {
    let req = Request::ExecSql {
        db: 0,
        sql: sql.into(),
        params,
        schema: ParamSchema::V0,
    };
    match conn.call(req) {
        Response::Result {
            last_insert_id,
            rows_affected,
        } => (last_insert_id, rows_affected),
        other => panic!("{sql}: expected RESULT, got {other:?}"),
    }
}

fn query_sql(conn: &mut RawConn, sql: &str, params: Vec<Value>) -> Vec<Rows> {
    conn.query(Request::QuerySql {
        db: 0,
        sql: sql.into(),
        params,
        schema: ParamSchema::V0,
    })
}

fn failure(resp: Response) -> Failure {
    match resp {
        Response::Failure(f) => f,
        other => panic!("expected FAILURE, got {other:?}"),
    }
}

/// Asks `addr` for the leader; returns (id, address).
fn leader_of(addr: &str) -> (u64, String) {
    match RawConn::connect(addr).call(Request::Leader) {
        Response::Node { id, address } => (id, address),
        other => panic!("expected NODE, got {other:?}"),
    }
}

#[test]
fn raw_protocol_session_against_c_dqlite() {
    let Some(cluster) = reference_cluster_or_skip(3) else {
        return;
    };
    let addrs = cluster.addrs();
    let (leader_id, leader) = leader_of(&addrs[0]);
    assert!(addrs.contains(&leader), "leader {leader} not in {addrs:?}");
    assert_ne!(leader_id, 0);
    assert_eq!(
        leader_of(&leader),
        (leader_id, leader.clone()),
        "leader names itself"
    );

    let mut conn = RawConn::connect(&leader);
    assert_eq!(
        conn.call(Request::Client { id: 0 }),
        Response::Welcome {
            heartbeat_timeout: 15000
        }
    );
    let open = Request::Open {
        name: "interop".into(),
        flags: 0,
        vfs: "volatile".into(),
    };
    assert_eq!(conn.call(open.clone()), Response::Db { id: 0 });
    let again = failure(conn.call(open));
    assert_eq!(again.code, code::BUSY, "second OPEN: {again}");

    crud_and_errors(&mut conn);
    large_result_in_several_batches(&mut conn);
    prepared_statements(&mut conn);
    value_types_and_quirks(&mut conn);
    admin_requests(&mut conn, leader_id, &leader, &addrs);
    follower_refuses_writes(&addrs, &leader);
}

fn crud_and_errors(conn: &mut RawConn) {
    exec(
        conn,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)",
        vec![],
    );
    let (id1, n1) = exec(
        conn,
        "INSERT INTO t(name) VALUES(?)",
        vec![Value::Text("a".into())],
    );
    let (id2, n2) = exec(
        conn,
        "INSERT INTO t(name) VALUES(?)",
        vec![Value::Text("b".into())],
    );
    assert_eq!((id1, n1, id2, n2), (1, 1, 2, 1));
    let (_, updated) = exec(
        conn,
        "UPDATE t SET name = name || '!' WHERE id > ?",
        vec![Value::Integer(0)],
    );
    assert_eq!(updated, 2);
    let rows = query_sql(conn, "SELECT id, name FROM t ORDER BY id", vec![]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].columns, ["id", "name"]);
    assert_eq!(
        rows[0].rows,
        [
            vec![Value::Integer(1), Value::Text("a!".into())],
            vec![Value::Integer(2), Value::Text("b!".into())]
        ]
    );
    let dup = failure(conn.call(Request::ExecSql {
        db: 0,
        sql: "INSERT INTO t(name) VALUES('a!')".into(),
        params: vec![],
        schema: ParamSchema::V0,
    }));
    assert!(dup.is_constraint(), "{dup}");
    assert_eq!(dup.code, code::CONSTRAINT_UNIQUE);
    let missing = failure(conn.call(Request::QuerySql {
        db: 0,
        sql: "SELECT * FROM nosuch".into(),
        params: vec![],
        schema: ParamSchema::V0,
    }));
    assert_eq!(missing, Failure::new(code::ERROR, "no such table: nosuch"));
    let syntax = failure(conn.call(Request::ExecSql {
        db: 0,
        sql: "INSERT INTO".into(),
        params: vec![],
        schema: ParamSchema::V0,
    }));
    assert_eq!(syntax.code, code::ERROR, "{syntax}");
}

fn large_result_in_several_batches(conn: &mut RawConn) {
    exec(conn, "CREATE TABLE big (n INTEGER, s TEXT)", vec![]);
    let fill =
        "INSERT INTO big(n, s) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                WHERE x < 1000) SELECT x, printf('row-%05d', x) FROM c";
    assert_eq!(exec(conn, fill, vec![]).1, 1000);
    let batches = query_sql(conn, "SELECT n, s FROM big ORDER BY n", vec![]);
    assert!(
        batches.len() >= 2,
        "1000 rows (> 4 KiB) came in {} batch",
        batches.len()
    );
    let (last, parts) = batches.split_last().expect("batches");
    assert!(parts.iter().all(|b| b.end == RowsEnd::Part));
    assert_eq!(last.end, RowsEnd::Done);
    assert!(
        batches.iter().all(|b| b.columns == ["n", "s"]),
        "names repeat per batch"
    );
    let all: Vec<_> = batches.iter().flat_map(|b| b.rows.iter()).collect();
    assert_eq!(all.len(), 1000);
    for (i, row) in all.iter().enumerate() {
        let n = i as i64 + 1;
        assert_eq!(
            **row,
            vec![Value::Integer(n), Value::Text(format!("row-{n:05}"))]
        );
    }
}

fn prepared_statements(conn: &mut RawConn) {
    let stmt = |conn: &mut RawConn, sql: &str| match conn.call(Request::Prepare {
        db: 0,
        sql: sql.into(),
        with_tail: false,
    }) {
        Response::Stmt {
            db: 0,
            id,
            params,
            tail_offset: None,
        } => (id, params),
        other => panic!("PREPARE {sql}: {other:?}"),
    };
    let (sel, sel_params) = stmt(conn, "SELECT n FROM big WHERE n > ? ORDER BY n");
    let (ins, ins_params) = stmt(conn, "INSERT INTO big(n, s) VALUES(?, ?)");
    assert_eq!((sel, sel_params, ins, ins_params), (0, 1, 1, 2));
    let exec = Request::Exec {
        db: 0,
        stmt: ins,
        params: vec![Value::Integer(1001), Value::Text("extra".into())],
        schema: ParamSchema::V0,
    };
    assert!(matches!(
        conn.call(exec),
        Response::Result {
            rows_affected: 1,
            ..
        }
    ));
    let batches = conn.query(Request::Query {
        db: 0,
        stmt: sel,
        params: vec![Value::Integer(997)],
        schema: ParamSchema::V0,
    });
    let got: Vec<_> = batches
        .iter()
        .flat_map(|b| b.rows.iter().cloned())
        .collect();
    assert_eq!(
        got,
        (998..=1001)
            .map(|n| vec![Value::Integer(n)])
            .collect::<Vec<_>>()
    );
    // Finalize the highest slot first, then the other (never reuse a freed id:
    // docs/wire-protocol.md §5, PREPARE).
    for id in [ins, sel] {
        assert_eq!(
            conn.call(Request::Finalize { db: 0, stmt: id }),
            Response::Empty
        );
    }
}

fn value_types_and_quirks(conn: &mut RawConn) {
    let rows = query_sql(
        conn,
        "SELECT ?, ?, ?, ?, ?, ?",
        vec![
            Value::Integer(-7),
            Value::Float(1.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 1, 2, 255]),
            Value::Null,
            Value::Boolean(true),
        ],
    );
    let expected = [
        Value::Integer(-7),
        Value::Float(1.5),
        Value::Text("héllo".into()),
        Value::Blob(vec![0, 1, 2, 255]),
        Value::Null,
        Value::Integer(1),
    ];
    assert_eq!(rows[0].rows, [expected.to_vec()]);
    exec(conn, "CREATE TABLE q (b BOOLEAN, d DATETIME)", vec![]);
    exec(
        conn,
        "INSERT INTO q VALUES(?, ?)",
        vec![
            Value::Boolean(true),
            Value::Iso8601("2018-08-01 00:00:00+00:00".into()),
        ],
    );
    exec(conn, "INSERT INTO q VALUES(NULL, NULL)", vec![]);
    exec(conn, "INSERT INTO q VALUES(0, 1533081600)", vec![]);
    let rows = query_sql(conn, "SELECT b, d FROM q ORDER BY rowid", vec![]);
    assert_eq!(
        rows[0].rows,
        [
            vec![
                Value::Boolean(true),
                Value::Iso8601("2018-08-01 00:00:00+00:00".into())
            ],
            vec![Value::Boolean(false), Value::Iso8601(String::new())],
            vec![Value::Boolean(false), Value::UnixTime(1_533_081_600)],
        ],
        "NULL BOOLEAN is false and NULL DATETIME is \"\" (docs/wire-protocol.md §4)"
    );
}

fn admin_requests(conn: &mut RawConn, leader_id: u64, leader: &str, addrs: &[String]) {
    let Response::Nodes(nodes) = conn.call(Request::Cluster { format: 1 }) else {
        panic!("CLUSTER did not answer NODES");
    };
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert!(
        nodes.iter().all(|n| n.role == Some(Role::Voter)),
        "{nodes:?}"
    );
    assert!(nodes
        .iter()
        .any(|n| n.id == leader_id && n.address == leader));
    let mut seen: Vec<_> = nodes.iter().map(|n| n.address.clone()).collect();
    let mut want = addrs.to_vec();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    let Response::Nodes(plain) = conn.call(Request::Cluster { format: 0 }) else {
        panic!("CLUSTER format 0 did not answer NODES");
    };
    assert!(plain.iter().all(|n| n.role.is_none()) && plain.len() == 3);
    assert!(matches!(
        conn.call(Request::Describe { format: 0 }),
        Response::Metadata { .. }
    ));
    let Response::Files(files) = conn.call(Request::Dump {
        name: "interop".into(),
    }) else {
        panic!("DUMP did not answer FILES");
    };
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["interop", "interop-wal"]);
    assert!(
        files[0].data.starts_with(b"SQLite format 3\0"),
        "main file header"
    );
    assert!(files
        .iter()
        .all(|f| f.data.len() % 4096 == 0 || f.name.ends_with("-wal")));
    // Feature probe (docs/wire-protocol.md §13.2): 1.11 ignores the schema byte and answers
    // LEADER normally.
    conn.send(&Request::Leader, 1);
    let (_, probe) = conn.recv(DecodeHint::default());
    assert!(
        matches!(probe, Response::Node { .. })
            || matches!(&probe, Response::Failure(f) if f.is_parse_error()),
        "{probe:?}"
    );
}

fn follower_refuses_writes(addrs: &[String], leader: &str) {
    let follower = addrs.iter().find(|a| *a != leader).expect("a follower");
    let mut conn = RawConn::connect(follower);
    // 1.11 lets a follower OPEN; latest servers already refuse that with 10250.
    let open = conn.call(Request::Open {
        name: "interop".into(),
        flags: 0,
        vfs: "volatile".into(),
    });
    if open != (Response::Db { id: 0 }) {
        assert!(failure(open).is_not_leader());
        return;
    }
    let resp = conn.call(Request::ExecSql {
        db: 0,
        sql: "CREATE TABLE f (x)".into(),
        params: vec![],
        schema: ParamSchema::V0,
    });
    assert!(failure(resp).is_not_leader());
}
