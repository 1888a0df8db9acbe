//! Incremental framing: split a byte stream into whole messages without copying bodies.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::header::{Header, HEADER_SIZE};
use crate::request::Request;
use crate::response::{DecodeHint, Response};

/// Default cap on a message body: 64 MiB. Large enough for any ROWS batch and for DUMP of a
/// sizeable database; configurable per decoder.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// One whole message: its header and a body that shares the read buffer's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message header.
    pub header: Header,
    /// The body, exactly `header.words * 8` bytes.
    pub body: Bytes,
}

impl Frame {
    /// Decodes the frame as a request (the server's direction).
    pub fn request(&self) -> Result<Request> {
        Request::decode(&self.header, &self.body)
    }

    /// Decodes the frame as a response (the client's direction).
    pub fn response(&self, hint: DecodeHint) -> Result<Response> {
        Response::decode(&self.header, &self.body, hint)
    }
}

/// Splits buffered bytes into [`Frame`]s.
///
/// `decode` returns `Ok(None)` ("need more bytes") until a whole frame is buffered. It checks the
/// declared length against `max_body` as soon as the header arrives, so a hostile length is
/// refused before any memory is reserved for it.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    max_body: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_BODY)
    }
}

impl FrameDecoder {
    /// A decoder that refuses bodies larger than `max_body` bytes.
    pub fn new(max_body: usize) -> Self {
        FrameDecoder { max_body }
    }

    /// The configured body cap in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Checks a header as soon as it is read: zero-word bodies and bodies over the cap are errors.
    pub fn check_header(&self, header: &Header) -> Result<usize> {
        let len = header.body_len();
        if len == 0 {
            return Err(Error::EmptyBody { kind: header.kind });
        }
        match usize::try_from(len) {
            Ok(n) if n <= self.max_body => Ok(n),
            _ => Err(Error::FrameTooLarge {
                len,
                max: self.max_body,
            }),
        }
    }

    /// Takes one frame off the front of `buf` if it is complete.
    ///
    /// A zero-word frame is consumed and reported as [`Error::EmptyBody`], so the stream stays
    /// in sync. A frame over the cap is reported without consuming anything; the caller should
    /// close the connection.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>> {
        let Some(head) = buf.get(..HEADER_SIZE) else {
            return Ok(None);
        };
        let mut bytes = [0u8; HEADER_SIZE];
        bytes.copy_from_slice(head);
        let header = Header::from_bytes(bytes);
        let len = match self.check_header(&header) {
            Ok(n) => n,
            Err(e @ Error::EmptyBody { .. }) => {
                let _ = buf.split_to(HEADER_SIZE);
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if buf.len() < HEADER_SIZE + len {
            buf.reserve(HEADER_SIZE + len - buf.len());
            return Ok(None);
        }
        let mut frame = buf.split_to(HEADER_SIZE + len);
        let body = frame.split_off(HEADER_SIZE).freeze();
        Ok(Some(Frame { header, body }))
    }
}
