//! Fuzz target: a byte stream as a client reads it (response frames, every decode hint, and
//! ROWS bodies through the zero-copy reader).
#![no_main]

use bytes::BytesMut;
use dqlite_proto::{DecodeHint, FrameDecoder, RowsReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    let dec = FrameDecoder::new(1 << 16);
    loop {
        match dec.decode(&mut buf) {
            Ok(Some(frame)) => {
                for legacy_node in [false, true] {
                    for nodes_without_role in [false, true] {
                        let hint = DecodeHint { legacy_node, nodes_without_role };
                        if let Ok(resp) = frame.response(hint) {
                            let mut out = BytesMut::new();
                            resp.encode(&mut out).expect("a decoded response re-encodes");
                        }
                    }
                }
                if let Ok(reader) = RowsReader::new(&frame.body) {
                    reader.for_each(drop);
                }
            }
            Ok(None) => break,
            Err(e) if e.is_fatal_framing() => break,
            Err(_) => {}
        }
    }
});
