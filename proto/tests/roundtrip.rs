//! Property tests: every message survives encode → split into random-sized chunks → frame →
//! decode → re-encode byte for byte. Case counts honour `PROPTEST_CASES`.

mod strategies;

use bytes::BytesMut;
use dqlite_proto::*;
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{request, response};

/// Feeds `wire` to a frame decoder in chunks of the given sizes (cycled), collecting frames.
fn frames_in_chunks(wire: &[u8], chunks: &[usize]) -> Vec<Frame> {
    let dec = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut pos = 0;
    let mut sizes = chunks.iter().cycle();
    while pos < wire.len() {
        let n = (*sizes.next().expect("non-empty chunk list")).min(wire.len() - pos);
        buf.extend_from_slice(&wire[pos..pos + n]);
        pos += n;
        while let Some(frame) = dec.decode(&mut buf).expect("valid stream") {
            frames.push(frame);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    frames
}

/// Floats are compared by bits so NaN payloads count as equal to themselves.
fn same_request(a: &Request, b: &Request) -> bool {
    let mut x = BytesMut::new();
    let mut y = BytesMut::new();
    a.encode(&mut x).is_ok() && b.encode(&mut y).is_ok() && x == y
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn requests_round_trip(reqs in vec(request(), 1..6), chunks in vec(1usize..64, 1..8)) {
        let mut wire = BytesMut::new();
        for r in &reqs {
            r.encode(&mut wire).expect("encodable by construction");
        }
        prop_assert_eq!(wire.len() % 8, 0);
        let frames = frames_in_chunks(&wire, &chunks);
        prop_assert_eq!(frames.len(), reqs.len());
        for (frame, sent) in frames.iter().zip(&reqs) {
            prop_assert_eq!(frame.header.kind, sent.kind());
            prop_assert_eq!(frame.header.schema, sent.schema());
            let got = frame.request().expect("decodes");
            prop_assert!(same_request(&got, sent), "{:?} != {:?}", got, sent);
        }
    }

    #[test]
    fn responses_round_trip(resps in vec(response(), 1..6), chunks in vec(1usize..64, 1..8)) {
        let mut wire = BytesMut::new();
        for (r, _) in &resps {
            r.encode(&mut wire).expect("encodable by construction");
        }
        let frames = frames_in_chunks(&wire, &chunks);
        prop_assert_eq!(frames.len(), resps.len());
        for (frame, (sent, hint)) in frames.iter().zip(&resps) {
            let got = frame.response(*hint).expect("decodes");
            let mut again = BytesMut::new();
            got.encode(&mut again).expect("re-encodes");
            let mut orig = BytesMut::new();
            sent.encode(&mut orig).expect("encodes");
            prop_assert_eq!(again, orig);
        }
    }

    #[test]
    fn rows_reader_agrees_with_owned_decode(rows in strategies::rows()) {
        let mut wire = BytesMut::new();
        rows.encode(&mut wire).expect("encodes");
        let body = &wire[HEADER_SIZE..];
        let mut reader = RowsReader::new(body).expect("columns");
        let mut n = 0;
        for row in reader.by_ref() {
            let row = row.expect("row");
            let owned: Vec<Value> = row.iter().map(ValueRef::to_owned).collect();
            let mut a = BytesMut::new();
            let mut b = BytesMut::new();
            encode_params(&mut a, ParamSchema::V1, &owned).expect("encode");
            encode_params(&mut b, ParamSchema::V1, &rows.rows[n]).expect("encode");
            prop_assert_eq!(a, b);
            n += 1;
        }
        prop_assert_eq!(n, rows.rows.len());
        prop_assert_eq!(reader.end(), Some(rows.end));
    }
}
