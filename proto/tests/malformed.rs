//! Defensive decoding: each kind of malformed input yields the error that names it, incomplete
//! input is "need more bytes", and encoders refuse what the wire cannot carry.

use bytes::BytesMut;
use dqlite_proto::*;

fn header(words: u32, kind: u8, schema: u8) -> Header {
    Header {
        words,
        kind,
        schema,
        extra: 0,
    }
}

fn req(kind: u8, body: &[u8]) -> Result<Request> {
    Request::decode(&header((body.len() / 8) as u32, kind, 0), body)
}

fn resp(kind: u8, body: &[u8]) -> Result<Response> {
    Response::decode(
        &header((body.len() / 8) as u32, kind, 0),
        body,
        DecodeHint::default(),
    )
}

fn words(ws: &[u64]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

#[test]
fn incomplete_frames_need_more_bytes() {
    let mut wire = BytesMut::new();
    Request::Open {
        name: "db".into(),
        flags: 0,
        vfs: "volatile".into(),
    }
    .encode(&mut wire)
    .expect("encode");
    let all = wire.to_vec();
    let dec = FrameDecoder::default();
    let mut buf = BytesMut::new();
    for (i, b) in all.iter().enumerate() {
        assert_eq!(dec.decode(&mut buf), Ok(None), "after {i} bytes");
        buf.extend_from_slice(&[*b]);
    }
    let frame = dec.decode(&mut buf).expect("ok").expect("complete");
    assert_eq!(frame.body.len(), all.len() - 8);
    assert!(buf.is_empty());
}

#[test]
fn oversized_and_empty_frames() {
    let dec = FrameDecoder::new(1024);
    let mut buf = BytesMut::from(&header(129, 8, 0).to_bytes()[..]);
    let err = dec.decode(&mut buf).expect_err("over the cap");
    assert!(err.is_frame_too_large() && err.is_fatal_framing(), "{err}");
    assert!(
        buf.capacity() < 1024,
        "no memory reserved for a refused frame"
    );
    // u32::MAX words is refused before anything is reserved.
    let mut buf = BytesMut::from(&header(u32::MAX, 9, 0).to_bytes()[..]);
    assert!(FrameDecoder::default().decode(&mut buf).is_err());
    // A zero-word frame is consumed and reported; the next frame still decodes.
    let mut buf = BytesMut::from(&header(0, 0, 0).to_bytes()[..]);
    Request::Leader.encode(&mut buf).expect("encode");
    assert_eq!(dec.decode(&mut buf), Err(Error::EmptyBody { kind: 0 }));
    let next = dec.decode(&mut buf).expect("ok").expect("frame");
    assert_eq!(next.request(), Ok(Request::Leader));
}

#[test]
fn truncated_fields() {
    assert!(req(request_kind::LEADER, &[])
        .expect_err("empty")
        .is_truncated());
    let err = req(request_kind::FINALIZE, &[0, 0, 0, 0]).expect_err("short");
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "FINALIZE stmt",
                offset: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(resp(RESPONSE_RESULT, &words(&[1]))
        .expect_err("short")
        .is_truncated());
    // A blob whose length runs past the body.
    let body = [
        &words(&[0])[..],
        b"SELECT ?\0\0\0\0\0\0\0\0",
        &[1, 4, 0, 0, 0, 0, 0, 0],
        &words(&[100]),
    ]
    .concat();
    let err = req(request_kind::QUERY_SQL, &body).expect_err("blob too long");
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "BLOB value",
                ..
            }
        ),
        "{err}"
    );
    // A parameter header declaring more types than the body holds.
    let body = [
        &words(&[0])[..],
        b"SELECT ?\0\0\0\0\0\0\0\0",
        &[200, 1, 0, 0, 0, 0, 0, 0],
    ]
    .concat();
    let err = req(request_kind::EXEC_SQL, &body).expect_err("tuple header");
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "parameter types",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn text_errors() {
    let err = req(request_kind::DUMP, b"abcdefgh").expect_err("no NUL");
    assert_eq!(
        err,
        Error::MissingNul {
            what: "DUMP name",
            offset: 0
        }
    );
    let err = req(request_kind::DUMP, b"ab\0\0x\0\0\0").expect_err("bad padding");
    assert_eq!(
        err,
        Error::BadPadding {
            what: "DUMP name",
            offset: 4
        }
    );
    let err = req(request_kind::DUMP, b"a\xffb\0\0\0\0\0").expect_err("utf-8");
    assert_eq!(
        err,
        Error::InvalidUtf8 {
            what: "DUMP name",
            offset: 0
        }
    );
}

#[test]
fn unknown_types_roles_and_schemas() {
    let err = req(20, &words(&[0])).expect_err("type 20");
    assert!(err.is_unknown_type() && !err.is_fatal_framing(), "{err}");
    assert!(resp(11, &words(&[0]))
        .expect_err("type 11")
        .is_unknown_type());
    let body = words(&[1, 1, 0]);
    let nodes = [&words(&[1, 7])[..], b"a\0\0\0\0\0\0\0", &words(&[3])].concat();
    assert_eq!(
        resp(RESPONSE_NODES, &nodes),
        Err(Error::UnknownRole { code: 3 })
    );
    let h = header(3, request_kind::EXEC_SQL, 2);
    assert_eq!(
        Request::decode(&h, &body),
        Err(Error::UnsupportedSchema {
            kind: request_kind::EXEC_SQL,
            schema: 2
        })
    );
    // Non-SQL requests ignore the schema byte, as servers decode them (they validate it).
    let h = header(1, request_kind::LEADER, 1);
    assert_eq!(Request::decode(&h, &words(&[0])), Ok(Request::Leader));
}

#[test]
fn bad_value_types() {
    let body = [
        &words(&[0])[..],
        b"SELECT ?\0\0\0\0\0\0\0\0",
        &[1, 7, 0, 0, 0, 0, 0, 0],
        &words(&[0]),
    ]
    .concat();
    let err = req(request_kind::QUERY_SQL, &body).expect_err("type 7");
    assert_eq!(
        err,
        Error::BadValueType {
            what: "parameter type",
            code: 7
        }
    );
    // A row whose nibble is 0.
    let rows = [
        &words(&[1])[..],
        b"c\0\0\0\0\0\0\0",
        &words(&[0x00, 0, ROWS_DONE]),
    ]
    .concat();
    let err = resp(RESPONSE_ROWS, &rows).expect_err("nibble 0");
    assert_eq!(
        err,
        Error::BadValueType {
            what: "row value type",
            code: 0
        }
    );
}

#[test]
fn rows_markers() {
    let col = b"c\0\0\0\0\0\0\0";
    let no_marker = [&words(&[1])[..], col, &words(&[0x01, 5])].concat();
    assert!(matches!(
        resp(RESPONSE_ROWS, &no_marker),
        Err(Error::BadRows { .. })
    ));
    let after = [&words(&[1])[..], col, &words(&[ROWS_DONE, 0])].concat();
    assert!(matches!(
        resp(RESPONSE_ROWS, &after),
        Err(Error::BadRows { .. })
    ));
    let zero_cols_with_row = words(&[0, 0x01, ROWS_DONE]);
    assert!(matches!(
        resp(RESPONSE_ROWS, &zero_cols_with_row),
        Err(Error::BadRows { .. })
    ));
    // Zero columns and only the marker is valid (latest servers, docs/wire-protocol.md §9.3).
    let zero_cols = words(&[0, ROWS_DONE]);
    let ok = resp(RESPONSE_ROWS, &zero_cols).expect("zero-column result");
    assert_eq!(
        ok,
        Response::Rows(Rows {
            columns: vec![],
            rows: vec![],
            end: RowsEnd::Done
        })
    );
    // A huge column count is refused before allocating for it.
    let huge = words(&[u64::MAX, ROWS_DONE]);
    assert!(resp(RESPONSE_ROWS, &huge).expect_err("huge").is_truncated());
}

#[test]
fn huge_counts_do_not_allocate() {
    assert!(resp(RESPONSE_NODES, &words(&[u64::MAX]))
        .expect_err("nodes")
        .is_truncated());
    let err = resp(RESPONSE_FILES, &words(&[u64::MAX])).expect_err("files");
    assert!(
        matches!(
            err,
            Error::MissingNul {
                what: "FILES name",
                ..
            }
        ),
        "{err}"
    );
    let files = [&words(&[1])[..], b"db\0\0\0\0\0\0", &words(&[u64::MAX])].concat();
    assert!(resp(RESPONSE_FILES, &files)
        .expect_err("file size")
        .is_truncated());
}

#[test]
fn rows_reader_borrows_from_the_body() {
    let rows = Rows {
        columns: vec!["name".into(), "data".into()],
        rows: (0..3)
            .map(|i| vec![Value::Text(format!("row{i}")), Value::Blob(vec![i; 9])])
            .collect(),
        end: RowsEnd::Part,
    };
    let mut wire = BytesMut::new();
    rows.encode(&mut wire).expect("encode");
    let frame = FrameDecoder::default()
        .decode(&mut wire)
        .expect("ok")
        .expect("frame");
    let body = &frame.body[..];
    let range = body.as_ptr_range();
    let mut reader = RowsReader::new(body).expect("columns");
    assert_eq!(reader.columns(), &["name", "data"]);
    let mut row = Vec::new();
    let mut n = 0;
    while reader.next_row(&mut row).expect("row") {
        let (ValueRef::Text(t), ValueRef::Blob(b)) = (row[0], row[1]) else {
            panic!("unexpected row {row:?}");
        };
        assert!(
            range.contains(&t.as_ptr()) && range.contains(&b.as_ptr()),
            "copied"
        );
        assert_eq!(t, format!("row{n}"));
        n += 1;
    }
    assert_eq!((n, reader.end()), (3, Some(RowsEnd::Part)));
}

#[test]
fn rows_writer_streams_batches() {
    let mut wire = BytesMut::new();
    let mut batches = 0;
    let mut next = 0i64;
    while next < 1000 {
        let mut w = RowsWriter::begin(&mut wire, &["n"]).expect("begin");
        while next < 1000 && w.encoded_len() < 4096 {
            w.push_row([ValueRef::Integer(next)]).expect("row");
            next += 1;
        }
        w.finish(if next < 1000 {
            RowsEnd::Part
        } else {
            RowsEnd::Done
        })
        .expect("finish");
        batches += 1;
    }
    let dec = FrameDecoder::default();
    let mut seen = Vec::new();
    while let Some(frame) = dec.decode(&mut wire).expect("frame") {
        let Response::Rows(rows) = frame.response(DecodeHint::default()).expect("rows") else {
            panic!("not rows");
        };
        seen.extend(rows.rows.into_iter().map(|r| r[0].clone()));
    }
    assert!(batches > 1);
    assert_eq!(seen, (0..1000).map(Value::Integer).collect::<Vec<_>>());
}

#[test]
fn encoders_refuse_what_the_wire_cannot_carry() {
    let mut buf = BytesMut::new();
    let open = Request::Open {
        name: "a\0b".into(),
        flags: 0,
        vfs: String::new(),
    };
    assert_eq!(
        open.encode(&mut buf),
        Err(Error::InteriorNul { what: "OPEN name" })
    );
    assert!(buf.is_empty(), "failed encode leaves the buffer untouched");
    let params = vec![Value::Null; 256];
    let mut exec = Request::ExecSql {
        db: 0,
        sql: "x".into(),
        params,
        schema: ParamSchema::V0,
    };
    let err = exec.encode(&mut buf).expect_err("256 params in schema 0");
    assert!(err.is_encode_error() && buf.is_empty(), "{err}");
    if let Request::ExecSql { schema, .. } = &mut exec {
        *schema = ParamSchema::V1;
    }
    exec.encode(&mut buf).expect("schema 1 carries 256");
    assert_eq!(buf[5], 1, "header schema byte");
    let mut buf = BytesMut::new();
    let mut w = RowsWriter::begin(&mut buf, &["a", "b"]).expect("begin");
    assert_eq!(
        w.push_row([ValueRef::Null]),
        Err(Error::RowWidth {
            expected: 2,
            got: 1
        })
    );
    let mixed = vec![
        NodeInfo {
            id: 1,
            address: "a".into(),
            role: Some(Role::Voter),
        },
        NodeInfo {
            id: 2,
            address: "b".into(),
            role: None,
        },
    ];
    let mut buf = BytesMut::new();
    assert_eq!(
        Response::Nodes(mixed).encode(&mut buf),
        Err(Error::MixedNodeFormats)
    );
}

#[test]
fn failure_predicates() {
    assert!(Failure::new(code::NOT_LEADER, "not leader").is_not_leader());
    assert!(Failure::new(code::LEGACY_NOT_LEADER, "").is_bad_connection());
    assert!(Failure::new(code::RAFT_NOT_LEADER, "no more rows available").is_not_leader());
    assert!(Failure::new(code::LEADERSHIP_LOST, "").is_leadership_lost());
    for c in [code::BUSY, code::BUSY_RECOVERY, code::BUSY_SNAPSHOT] {
        assert!(Failure::new(c, "database is locked").is_busy(), "{c}");
    }
    assert!(!Failure::new(code::NOT_LEADER, "").is_busy());
    assert!(Failure::new(code::CONSTRAINT_UNIQUE, "").is_constraint());
    assert!(!Failure::new(code::DQLITE_PARSE, "").is_constraint());
    assert!(Failure::new(code::DQLITE_PARSE, "").is_parse_error());
    assert!(Failure::new(code::NOTFOUND, "no database opened").is_bad_connection());
    assert_eq!(code::primary(code::CONSTRAINT_PRIMARYKEY), code::CONSTRAINT);
    assert_eq!(code::primary(code::NOT_LEADER), code::IOERR);
    assert_eq!(code::primary(code::DQLITE_NOTFOUND), code::DQLITE_NOTFOUND);
}
