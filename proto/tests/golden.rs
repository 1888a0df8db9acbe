//! Byte-exact tests: the worked examples of docs/wire-protocol.md §15 (captured from live
//! 1.11.1 and 1.18 servers) encoded and decoded in both directions, plus further exact layouts.

use bytes::BytesMut;
use dqlite_proto::*;

/// Parses hex bytes, ignoring whitespace and `|` separators.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex"))
        .collect()
}

fn encode_req(req: &Request) -> Vec<u8> {
    let mut buf = BytesMut::new();
    req.encode(&mut buf).expect("encode request");
    buf.to_vec()
}

fn encode_resp(resp: &Response) -> Vec<u8> {
    let mut buf = BytesMut::new();
    resp.encode(&mut buf).expect("encode response");
    buf.to_vec()
}

fn frame(bytes: &[u8]) -> Frame {
    let mut buf = BytesMut::from(bytes);
    let f = FrameDecoder::default()
        .decode(&mut buf)
        .expect("valid frame")
        .expect("whole frame");
    assert!(buf.is_empty(), "bytes left after one frame");
    f
}

/// Asserts `req` encodes to exactly `wire` and `wire` decodes back to `req`.
fn check_req(req: Request, wire: &str) {
    let wire = hex(wire);
    assert_eq!(encode_req(&req), wire, "encoding of {req:?}");
    assert_eq!(frame(&wire).request().expect("decode request"), req);
}

/// Asserts `resp` encodes to exactly `wire` and `wire` decodes back to `resp`.
fn check_resp(resp: Response, hint: DecodeHint, wire: &str) {
    let wire = hex(wire);
    assert_eq!(encode_resp(&resp), wire, "encoding of {resp:?}");
    assert_eq!(frame(&wire).response(hint).expect("decode response"), resp);
}

#[test]
fn handshake_words() {
    let mut buf = BytesMut::new();
    ProtocolVersion::One.encode(&mut buf);
    assert_eq!(buf.to_vec(), hex("01 00 00 00 00 00 00 00"));
    ProtocolVersion::Legacy.encode(&mut buf);
    assert_eq!(&buf[8..], &hex("e5 3f 43 60 d7 4d 10 86")[..]);
    assert_eq!(
        ProtocolVersion::decode(&mut buf),
        Ok(Some(ProtocolVersion::One))
    );
    assert_eq!(
        ProtocolVersion::decode(&mut buf),
        Ok(Some(ProtocolVersion::Legacy))
    );
    assert_eq!(ProtocolVersion::decode(&mut buf), Ok(None));
    let mut bad = BytesMut::from(&hex("02 00 00 00 00 00 00 00")[..]);
    assert_eq!(
        ProtocolVersion::decode(&mut bad),
        Err(Error::UnknownVersion(2))
    );
}

#[test]
fn leader_and_node() {
    check_req(
        Request::Leader,
        "01 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00",
    );
    let node = "03 00 00 00 01 00 00 00 | be 55 31 8c 85 71 c1 2d
                31 32 37 2e 30 2e 30 2e 31 3a 39 31 30 31 00 00";
    let resp = Response::Node {
        id: 0x2dc1_7185_8c31_55be,
        address: "127.0.0.1:9101".into(),
    };
    check_resp(resp, DecodeHint::default(), node);
    let legacy = DecodeHint {
        legacy_node: true,
        ..DecodeHint::default()
    };
    let resp = Response::NodeLegacy {
        address: "127.0.0.1:9101".into(),
    };
    check_resp(
        resp,
        legacy,
        "02 00 00 00 01 00 00 00 | 31 32 37 2e 30 2e 30 2e 31 3a 39 31 30 31 00 00",
    );
}

#[test]
fn client_welcome_open_db() {
    check_req(
        Request::Client { id: 0 },
        "01 00 00 00 01 00 00 00 | 00 00 00 00 00 00 00 00",
    );
    check_resp(
        Response::Welcome {
            heartbeat_timeout: 15000,
        },
        DecodeHint::default(),
        "01 00 00 00 02 00 00 00 | 98 3a 00 00 00 00 00 00",
    );
    check_req(
        Request::Open {
            name: "probe1".into(),
            flags: 0,
            vfs: "volatile".into(),
        },
        "04 00 00 00 03 00 00 00 | 70 72 6f 62 65 31 00 00 | 00 00 00 00 00 00 00 00
         76 6f 6c 61 74 69 6c 65 | 00 00 00 00 00 00 00 00",
    );
    check_resp(
        Response::Db { id: 0 },
        DecodeHint::default(),
        "01 00 00 00 04 00 00 00 | 00 00 00 00 00 00 00 00",
    );
}

#[test]
fn exec_sql_with_one_integer_and_result() {
    check_req(
        Request::ExecSql {
            db: 0,
            sql: "INSERT INTO t VALUES(?)".into(),
            params: vec![Value::Integer(42)],
            schema: ParamSchema::V0,
        },
        "06 00 00 00 08 00 00 00 | 00 00 00 00 00 00 00 00
         49 4e 53 45 52 54 20 49 | 4e 54 4f 20 74 20 56 41 | 4c 55 45 53 28 3f 29 00
         01 01 00 00 00 00 00 00 | 2a 00 00 00 00 00 00 00",
    );
    check_resp(
        Response::Result {
            last_insert_id: 1,
            rows_affected: 1,
        },
        DecodeHint::default(),
        "02 00 00 00 06 00 00 00 | 01 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00",
    );
}

#[test]
fn query_sql_and_two_column_rows() {
    check_req(
        Request::QuerySql {
            db: 0,
            sql: "SELECT id, name FROM people".into(),
            params: vec![],
            schema: ParamSchema::V0,
        },
        "05 00 00 00 09 00 00 00 | 00 00 00 00 00 00 00 00
         53 45 4c 45 43 54 20 69 | 64 2c 20 6e 61 6d 65 20 | 46 52 4f 4d 20 70 65 6f
         70 6c 65 00 00 00 00 00",
    );
    let rows = Rows {
        columns: vec!["id".into(), "name".into()],
        rows: vec![vec![Value::Integer(1), Value::Text("alice".into())]],
        end: RowsEnd::Done,
    };
    check_resp(
        Response::Rows(rows),
        DecodeHint::default(),
        "07 00 00 00 07 00 00 00 | 02 00 00 00 00 00 00 00
         69 64 00 00 00 00 00 00 | 6e 61 6d 65 00 00 00 00
         31 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00 | 61 6c 69 63 65 00 00 00
         ff ff ff ff ff ff ff ff",
    );
}

#[test]
fn failure_no_such_table() {
    let wire = "04 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00
                6e 6f 20 73 75 63 68 20 74 61 62 6c 65 3a 20 6e 6f 73 75 63 68 00 00 00";
    check_resp(
        Response::Failure(Failure::new(1, "no such table: nosuch")),
        DecodeHint::default(),
        wire,
    );
}

#[test]
fn mixed_text_null_blob_params_and_rows() {
    check_req(
        Request::QuerySql {
            db: 0,
            sql: "SELECT ?, ?, ?".into(),
            params: vec![
                Value::Text("hi".into()),
                Value::Null,
                Value::Blob(vec![0xde, 0xad, 0xbe, 0xef, 0x01]),
            ],
            schema: ParamSchema::V0,
        },
        "08 00 00 00 09 00 00 00 | 00 00 00 00 00 00 00 00
         53 45 4c 45 43 54 20 3f 2c 20 3f 2c 20 3f 00 00
         03 03 05 04 00 00 00 00 | 68 69 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00
         05 00 00 00 00 00 00 00 | de ad be ef 01 00 00 00",
    );
    let rows = Rows {
        columns: vec!["?".into(), "?".into(), "?".into()],
        rows: vec![vec![
            Value::Text("hi".into()),
            Value::Null,
            Value::Blob(vec![0xde, 0xad, 0xbe, 0xef, 0x01]),
        ]],
        end: RowsEnd::Done,
    };
    check_resp(
        Response::Rows(rows),
        DecodeHint::default(),
        "0a 00 00 00 07 00 00 00 | 03 00 00 00 00 00 00 00
         3f 00 00 00 00 00 00 00 | 3f 00 00 00 00 00 00 00 | 3f 00 00 00 00 00 00 00
         53 04 00 00 00 00 00 00 | 68 69 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00
         05 00 00 00 00 00 00 00 | de ad be ef 01 00 00 00 | ff ff ff ff ff ff ff ff",
    );
}

#[test]
fn seven_parameters_as_go_encodes_them() {
    let params = vec![
        Value::Integer(-7),
        Value::Text("hello".into()),
        Value::Float(1.5),
        Value::Blob(vec![1, 2, 3]),
        Value::Iso8601("2018-08-01 00:00:00+00:00".into()),
        Value::Boolean(true),
        Value::Null,
    ];
    let req = Request::ExecSql {
        db: 0,
        sql: "INSERT INTO x VALUES(?,?,?,?,?,?,?)".into(),
        params,
        schema: ParamSchema::V0,
    };
    let wire = encode_req(&req);
    // header 8, db 8, SQL 35 chars + NUL -> 40, then the tuple.
    let tuple = &wire[8 + 8 + 40..];
    let expected = hex(
        "07 01 03 02 04 0a 0b 05 | f9 ff ff ff ff ff ff ff | 68 65 6c 6c 6f 00 00 00
         00 00 00 00 00 00 f8 3f | 03 00 00 00 00 00 00 00 | 01 02 03 00 00 00 00 00
         32 30 31 38 2d 30 38 2d 30 31 20 30 30 3a 30 30 3a 30 30 2b 30 30 3a 30 30 00 00 00
         00 00 00 00 | 01 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00",
    );
    assert_eq!(tuple, &expected[..]);
    assert_eq!(frame(&wire).request().expect("decode"), req);
}

#[test]
fn schema_one_query_sql() {
    check_req(
        Request::QuerySql {
            db: 0,
            sql: "SELECT ?".into(),
            params: vec![Value::Integer(7)],
            schema: ParamSchema::V1,
        },
        "05 00 00 00 09 01 00 00 | 00 00 00 00 00 00 00 00
         53 45 4c 45 43 54 20 3f | 00 00 00 00 00 00 00 00
         01 00 00 00 01 00 00 00 | 07 00 00 00 00 00 00 00",
    );
}

#[test]
fn cluster_format_one_and_nodes() {
    check_req(
        Request::Cluster { format: 1 },
        "01 00 00 00 10 00 00 00 | 01 00 00 00 00 00 00 00",
    );
    let node = NodeInfo {
        id: 0x2dc1_7185_8c31_55be,
        address: "127.0.0.1:9101".into(),
        role: Some(Role::Voter),
    };
    check_resp(
        Response::Nodes(vec![node.clone()]),
        DecodeHint::default(),
        "05 00 00 00 03 00 00 00 | 01 00 00 00 00 00 00 00 | be 55 31 8c 85 71 c1 2d
         31 32 37 2e 30 2e 30 2e 31 3a 39 31 30 31 00 00 | 00 00 00 00 00 00 00 00",
    );
    let format0 = DecodeHint {
        nodes_without_role: true,
        ..DecodeHint::default()
    };
    check_resp(
        Response::Nodes(vec![NodeInfo { role: None, ..node }]),
        format0,
        "04 00 00 00 03 00 00 00 | 01 00 00 00 00 00 00 00 | be 55 31 8c 85 71 c1 2d
         31 32 37 2e 30 2e 30 2e 31 3a 39 31 30 31 00 00",
    );
}

#[test]
fn prepare_query_finalize_and_stmt() {
    let wire = encode_req(&Request::Prepare {
        db: 0,
        sql: "SELECT n FROM t WHERE n > ?".into(),
        with_tail: false,
    });
    assert_eq!(&wire[..8], &hex("05 00 00 00 04 00 00 00")[..]);
    check_resp(
        Response::Stmt {
            db: 0,
            id: 0,
            params: 1,
            tail_offset: None,
        },
        DecodeHint::default(),
        "02 00 00 00 05 00 00 00 | 00 00 00 00 00 00 00 00 | 01 00 00 00 00 00 00 00",
    );
    check_req(
        Request::Query {
            db: 0,
            stmt: 0,
            params: vec![Value::Integer(0)],
            schema: ParamSchema::V0,
        },
        "03 00 00 00 06 00 00 00 | 00 00 00 00 00 00 00 00
         01 01 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00",
    );
    check_req(
        Request::Finalize { db: 0, stmt: 0 },
        "01 00 00 00 07 00 00 00 | 00 00 00 00 00 00 00 00",
    );
    check_resp(
        Response::Empty,
        DecodeHint::default(),
        "01 00 00 00 08 00 00 00 | 00 00 00 00 00 00 00 00",
    );
    // Schema 1 STMT ("SELECT 1; SELECT 2" on latest): words 3, tail offset 9.
    check_resp(
        Response::Stmt {
            db: 0,
            id: 0,
            params: 0,
            tail_offset: Some(9),
        },
        DecodeHint::default(),
        "03 00 00 00 05 01 00 00 | 00 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00
         09 00 00 00 00 00 00 00",
    );
    let wire = encode_req(&Request::Prepare {
        db: 0,
        sql: "SELECT 1; SELECT 2".into(),
        with_tail: true,
    });
    assert_eq!(&wire[..8], &hex("04 00 00 00 04 01 00 00")[..]);
}

#[test]
fn row_header_nibbles_for_seven_columns() {
    // Types 1,5,5,5,10,11,5 -> 51 55 ba 05, padded to one word (docs/wire-protocol.md §9.1).
    let values = [
        Value::Integer(1),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Iso8601(String::new()),
        Value::Boolean(false),
        Value::Null,
    ];
    let rows = Rows {
        columns: (0..7).map(|i| format!("c{i}")).collect(),
        rows: vec![values.to_vec()],
        end: RowsEnd::Part,
    };
    let wire = encode_resp(&Response::Rows(rows.clone()));
    let header_at = 8 + 8 + 7 * 8;
    assert_eq!(
        &wire[header_at..header_at + 8],
        &hex("51 55 ba 05 00 00 00 00")[..]
    );
    assert_eq!(&wire[wire.len() - 8..], &ROWS_PART.to_le_bytes()[..]);
    assert_eq!(
        frame(&wire).response(DecodeHint::default()),
        Ok(Response::Rows(rows))
    );
}
