//! The codec's one error type: every way a frame can be malformed or a message unencodable.

/// What went wrong while encoding or decoding a dqlite message.
///
/// Decoding never panics: every malformed input maps to one of these variants, and the
/// `what` fields name the field being read (for example `"OPEN name"`). An incomplete frame
/// is *not* an error: [`crate::FrameDecoder::decode`] returns `Ok(None)` for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field runs past the end of the message body.
    #[error("truncated {what}: need {needed} bytes at offset {offset}, body has {len}")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Byte offset of the field in the body.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Length of the body.
        len: usize,
    },
    /// A text field has no NUL terminator inside the body.
    #[error("missing NUL terminator in {what} (text starting at offset {offset})")]
    MissingNul {
        /// The field being read.
        what: &'static str,
        /// Byte offset of the text in the body.
        offset: usize,
    },
    /// Padding after a text or blob is not zero.
    #[error("non-zero padding after {what} at offset {offset}")]
    BadPadding {
        /// The field being read.
        what: &'static str,
        /// Byte offset of the first bad padding byte.
        offset: usize,
    },
    /// A text field is not valid UTF-8.
    #[error("invalid UTF-8 in {what} at offset {offset}")]
    InvalidUtf8 {
        /// The field being read.
        what: &'static str,
        /// Byte offset of the text in the body.
        offset: usize,
    },
    /// The header names a message type this side does not know.
    #[error("unknown {direction} type {code}")]
    UnknownType {
        /// `"request"` or `"response"`.
        direction: &'static str,
        /// The type byte from the header.
        code: u8,
    },
    /// A value slot holds a type code that is not a dqlite value type.
    #[error("bad value type {code} in {what}")]
    BadValueType {
        /// The field being read.
        what: &'static str,
        /// The offending type code.
        code: u8,
    },
    /// A node role code that is not voter (0), stand-by (1) or spare (2).
    #[error("unknown node role {code}")]
    UnknownRole {
        /// The offending role code.
        code: u64,
    },
    /// A request carries a schema (revision) this codec cannot decode.
    #[error("unsupported schema {schema} for request type {kind}")]
    UnsupportedSchema {
        /// The request type code.
        kind: u8,
        /// The schema byte from the header.
        schema: u8,
    },
    /// A frame header declares a body of zero words; dqlite never sends one.
    #[error("empty message body (type {kind}): every dqlite message has at least one word")]
    EmptyBody {
        /// The type byte from the header.
        kind: u8,
    },
    /// A frame header declares a body larger than the configured cap.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Declared body length in bytes.
        len: u64,
        /// The configured limit in bytes.
        max: usize,
    },
    /// A ROWS body is malformed (missing or misplaced PART/DONE marker).
    #[error("malformed ROWS body: {reason}")]
    BadRows {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The handshake word is neither the current nor the legacy protocol version.
    #[error("unknown protocol version {0:#x}")]
    UnknownVersion(u64),
    /// Text to encode contains a NUL byte, which the wire format cannot carry.
    #[error("{what} contains an interior NUL byte")]
    InteriorNul {
        /// The field being written.
        what: &'static str,
    },
    /// More parameters than the chosen tuple schema can carry.
    #[error("too many parameters ({count}); schema {schema} allows at most {max}")]
    TooManyParams {
        /// Number of parameters given.
        count: usize,
        /// The tuple schema chosen (0 or 1).
        schema: u8,
        /// The most that schema can carry.
        max: u64,
    },
    /// A message to encode is larger than the 32-bit word count can describe.
    #[error("message body of {len} bytes is too large to encode")]
    TooLarge {
        /// Body length in bytes.
        len: usize,
    },
    /// A row to encode has a different number of values than the result has columns.
    #[error("row has {got} values but the result has {expected} columns")]
    RowWidth {
        /// Number of columns.
        expected: usize,
        /// Number of values in the row.
        got: usize,
    },
    /// NODES entries to encode mix entries with and without a role.
    #[error("NODES entries must all carry a role (format 1) or none (format 0)")]
    MixedNodeFormats,
}

impl Error {
    /// True when the input ended before a field was complete.
    pub fn is_truncated(&self) -> bool {
        matches!(self, Error::Truncated { .. })
    }

    /// True when the header names an unknown message type. A server answers such a request
    /// with FAILURE 1005 "unrecognized request type" rather than closing the connection.
    pub fn is_unknown_type(&self) -> bool {
        matches!(self, Error::UnknownType { .. })
    }

    /// True when a frame exceeded the configured size cap.
    pub fn is_frame_too_large(&self) -> bool {
        matches!(self, Error::FrameTooLarge { .. })
    }

    /// True for errors raised while encoding (the caller's input cannot be put on the wire).
    pub fn is_encode_error(&self) -> bool {
        matches!(
            self,
            Error::InteriorNul { .. }
                | Error::TooManyParams { .. }
                | Error::TooLarge { .. }
                | Error::RowWidth { .. }
                | Error::MixedNodeFormats
        )
    }

    /// True when the framing itself is broken, so the byte stream cannot be resynchronised
    /// and the connection must be closed.
    pub fn is_fatal_framing(&self) -> bool {
        matches!(self, Error::FrameTooLarge { .. } | Error::UnknownVersion(_))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
