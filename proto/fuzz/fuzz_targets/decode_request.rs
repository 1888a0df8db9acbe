//! Fuzz target: a byte stream as a server reads it (handshake, then request frames).
#![no_main]

use bytes::BytesMut;
use dqlite_proto::{FrameDecoder, ProtocolVersion, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    let _ = ProtocolVersion::decode(&mut buf);
    let dec = FrameDecoder::new(1 << 16);
    loop {
        match dec.decode(&mut buf) {
            Ok(Some(frame)) => {
                if let Ok(req) = frame.request() {
                    // Whatever decodes must encode again.
                    let mut out = BytesMut::new();
                    req.encode_with_schema(frame.header.schema, &mut out)
                        .expect("a decoded request re-encodes");
                }
            }
            Ok(None) => break,
            Err(e) if e.is_fatal_framing() => break,
            Err(_) => {}
        }
    }
});
