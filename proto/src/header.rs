//! The 8-byte message header, the handshake word, and the helper that frames a body.

use bytes::{Buf, BufMut, BytesMut};

use crate::buf::{pad8, WORD};
use crate::error::{Error, Result};

/// The current protocol version, sent by the client as its first word.
pub const PROTOCOL_VERSION: u64 = 1;

/// The pre-1.0 protocol version; servers still accept it (LEADER then answers NODE_LEGACY).
pub const PROTOCOL_VERSION_LEGACY: u64 = 0x8610_4dd7_6043_3fe5;

/// Which protocol a connection speaks, chosen by the client's handshake word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// Version 1, the current protocol.
    One,
    /// The legacy pre-1.0 protocol.
    Legacy,
}

impl ProtocolVersion {
    /// The handshake word for this version.
    pub fn word(self) -> u64 {
        match self {
            ProtocolVersion::One => PROTOCOL_VERSION,
            ProtocolVersion::Legacy => PROTOCOL_VERSION_LEGACY,
        }
    }

    /// Recognises a handshake word.
    pub fn from_word(word: u64) -> Result<Self> {
        match word {
            PROTOCOL_VERSION => Ok(ProtocolVersion::One),
            PROTOCOL_VERSION_LEGACY => Ok(ProtocolVersion::Legacy),
            other => Err(Error::UnknownVersion(other)),
        }
    }

    /// Appends the handshake word to `buf`.
    pub fn encode(self, buf: &mut BytesMut) {
        buf.put_u64_le(self.word());
    }

    /// Consumes the handshake word from `buf`; `Ok(None)` until 8 bytes are buffered.
    pub fn decode(buf: &mut BytesMut) -> Result<Option<Self>> {
        if buf.len() < WORD {
            return Ok(None);
        }
        let word = buf.get_u64_le();
        Self::from_word(word).map(Some)
    }
}

/// A message header: body length in words, message type, schema (revision) and the unused
/// `extra` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Body length in 8-byte words.
    pub words: u32,
    /// Request or response type code.
    pub kind: u8,
    /// Schema (revision) byte; 1.11 servers call it `flags` and ignore it.
    pub schema: u8,
    /// Unused; always 0 from known peers, ignored on decode.
    pub extra: u16,
}

/// Size of a header in bytes.
pub const HEADER_SIZE: usize = 8;

impl Header {
    /// Decodes a header from its 8 bytes.
    pub fn from_bytes(b: [u8; HEADER_SIZE]) -> Header {
        Header {
            words: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            kind: b[4],
            schema: b[5],
            extra: u16::from_le_bytes([b[6], b[7]]),
        }
    }

    /// Encodes the header into its 8 bytes.
    pub fn to_bytes(self) -> [u8; HEADER_SIZE] {
        let w = self.words.to_le_bytes();
        let e = self.extra.to_le_bytes();
        [w[0], w[1], w[2], w[3], self.kind, self.schema, e[0], e[1]]
    }

    /// Length of the body in bytes.
    pub fn body_len(self) -> u64 {
        u64::from(self.words) * WORD as u64
    }
}

/// Writes a header placeholder; the body follows and [`finish_frame`] fills in the length.
pub(crate) fn begin_frame(buf: &mut BytesMut, kind: u8, schema: u8) -> usize {
    let start = buf.len();
    buf.put_slice(&[0, 0, 0, 0, kind, schema, 0, 0]);
    start
}

/// Pads the body started at `start` to a word boundary and writes its length into the header.
pub(crate) fn finish_frame(buf: &mut BytesMut, start: usize) -> Result<()> {
    let body = buf.len() - start - HEADER_SIZE;
    let padded = pad8(body);
    buf.put_bytes(0, padded - body);
    let words = u32::try_from(padded / WORD).map_err(|_| Error::TooLarge { len: padded })?;
    buf[start..start + 4].copy_from_slice(&words.to_le_bytes());
    Ok(())
}

/// Runs `body` between [`begin_frame`] and [`finish_frame`]; on error the buffer is restored.
pub(crate) fn write_frame(
    buf: &mut BytesMut,
    kind: u8,
    schema: u8,
    body: impl FnOnce(&mut BytesMut) -> Result<()>,
) -> Result<()> {
    let start = begin_frame(buf, kind, schema);
    let res = body(buf).and_then(|()| finish_frame(buf, start));
    if res.is_err() {
        buf.truncate(start);
    }
    res
}
