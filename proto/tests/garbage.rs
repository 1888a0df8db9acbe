//! Hostile input: arbitrary bytes and mutated valid messages never panic and never make the
//! decoder hold more than the declared frame. Case counts honour `PROPTEST_CASES`.

mod strategies;

use bytes::BytesMut;
use dqlite_proto::*;
use proptest::collection::vec;
use proptest::prelude::*;

const MAX_BODY: usize = 4096;

/// Runs every decoder over `bytes` as a stream and as a bare body; only errors are allowed.
fn decode_everything(bytes: &[u8]) {
    let dec = FrameDecoder::new(MAX_BODY);
    let mut buf = BytesMut::from(bytes);
    for _ in 0..bytes.len() + 1 {
        match dec.decode(&mut buf) {
            Ok(Some(frame)) => decode_frame_all_ways(&frame),
            Ok(None) => break,
            Err(e) if e.is_fatal_framing() => break,
            Err(_) => continue,
        }
    }
    assert!(buf.len() <= bytes.len());
    for kind in 0..=u8::MAX {
        for schema in 0..3 {
            let header = Header {
                words: (bytes.len() / 8) as u32,
                kind,
                schema,
                extra: 0,
            };
            let _ = Request::decode(&header, bytes);
            let _ = Response::decode(&header, bytes, DecodeHint::default());
        }
    }
    if let Ok(reader) = RowsReader::new(bytes) {
        for row in reader {
            let _ = row;
        }
    }
    let _ = decode_params(&mut Reader::new(bytes), ParamSchema::V0);
    let _ = decode_params(&mut Reader::new(bytes), ParamSchema::V1);
}

fn decode_frame_all_ways(frame: &Frame) {
    assert!(frame.body.len() <= MAX_BODY && frame.body.len() % 8 == 0);
    let _ = frame.request();
    for legacy_node in [false, true] {
        for nodes_without_role in [false, true] {
            let _ = frame.response(DecodeHint {
                legacy_node,
                nodes_without_role,
            });
        }
    }
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
        ..ProptestConfig::default()
    }
}

/// A mutation of a valid encoding: flip, overwrite, cut or insert bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Xor(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(i, b)| Mutation::Xor(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Xor(i, b) => bytes[i % n] ^= b,
        Mutation::Set(i, b) => bytes[i % n] = b,
        Mutation::Truncate(i) => bytes.truncate(i % n),
        Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
    }
}

proptest! {
    #![proptest_config(config(10_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_requests_never_panic(r in strategies::request(), ms in vec(mutation(), 1..4)) {
        let mut wire = BytesMut::new();
        r.encode(&mut wire).expect("encodable");
        let mut bytes = wire.to_vec();
        ms.iter().for_each(|m| apply(&mut bytes, m));
        decode_everything(&bytes);
        decode_everything(bytes.get(8..).unwrap_or_default());
    }

    #[test]
    fn mutated_responses_never_panic(r in strategies::response(), ms in vec(mutation(), 1..4)) {
        let mut wire = BytesMut::new();
        r.0.encode(&mut wire).expect("encodable");
        let mut bytes = wire.to_vec();
        ms.iter().for_each(|m| apply(&mut bytes, m));
        decode_everything(&bytes);
        decode_everything(bytes.get(8..).unwrap_or_default());
    }
}
