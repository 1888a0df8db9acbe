//! The dqlite wire protocol, sans-IO.
//!
//! Every request (types 0–19) and every response (types 0–10) of the protocol spoken by
//! [dqlite](https://github.com/canonical/dqlite) servers and clients, encoded into and decoded
//! from [`bytes`] buffers. Nothing here touches a socket: connections live in `dqlite-client`
//! and `dqlite-server`. The layout follows `docs/wire-protocol.md`.
//!
//! # Framing
//!
//! A client opens a stream by writing one 8-byte word, the protocol version
//! ([`ProtocolVersion`]); the server does not answer it. After that every message is an
//! 8-byte [`Header`] (body length in words, type, schema, unused `extra`) followed by the body.
//! All integers are little-endian and every field group is padded to 8 bytes.
//!
//! [`FrameDecoder::decode`] splits buffered bytes into [`Frame`]s, returning `Ok(None)` until a
//! whole frame has arrived and refusing bodies over a configurable cap before reserving
//! memory. A frame is then decoded as a [`Request`] (server side) or a [`Response`] (client
//! side). Decoding never panics: malformed input becomes an [`Error`] naming what is wrong.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use dqlite_proto::{FrameDecoder, Request, Response, DecodeHint, Value, ParamSchema};
//!
//! let mut wire = BytesMut::new();
//! Request::ExecSql {
//!     db: 0,
//!     sql: "INSERT INTO t VALUES(?)".into(),
//!     params: vec![Value::Integer(42)],
//!     schema: ParamSchema::V0,
//! }
//! .encode(&mut wire)?;
//! assert_eq!(wire.len(), 8 + 6 * 8);
//!
//! // The server side splits frames and decodes the request.
//! let frame = FrameDecoder::default().decode(&mut wire)?.expect("a whole frame");
//! assert!(matches!(frame.request()?, Request::ExecSql { .. }));
//!
//! // ... and answers; the client decodes the reply.
//! let mut reply = BytesMut::new();
//! Response::Result { last_insert_id: 1, rows_affected: 1 }.encode(&mut reply)?;
//! let frame = FrameDecoder::default().decode(&mut reply)?.expect("a whole frame");
//! assert_eq!(
//!     frame.response(DecodeHint::default())?,
//!     Response::Result { last_insert_id: 1, rows_affected: 1 }
//! );
//! # Ok::<(), dqlite_proto::Error>(())
//! ```
//!
//! # Layout
//!
//! - `buf`: bounds-checked body [`Reader`] and the text/blob writers.
//! - `header`: [`Header`], the handshake word, and frame writing.
//! - `frame`: [`FrameDecoder`] and [`Frame`].
//! - `value`, `tuple`: [`Value`]/[`ValueRef`] and parameter tuples (schemas 0 and 1).
//! - `rows`: ROWS batches, read without copying ([`RowsReader`]) or built ([`RowsWriter`]).
//! - `request`, `response`: the two message tables.
//! - `failure`, `node`: failure codes with predicates, roles and NODES entries.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod buf;
mod error;
mod failure;
mod frame;
mod header;
mod node;
mod request;
mod response;
mod rows;
mod tuple;
mod value;

pub use buf::{pad8, Reader, WORD};
pub use error::{Error, Result};
pub use failure::{code, Failure};
pub use frame::{Frame, FrameDecoder, DEFAULT_MAX_BODY};
pub use header::{Header, ProtocolVersion, HEADER_SIZE, PROTOCOL_VERSION, PROTOCOL_VERSION_LEGACY};
pub use node::{NodeInfo, Role};
pub use request::{kind as request_kind, Request};
pub use response::{
    DecodeHint, File, Response, RESPONSE_DB, RESPONSE_EMPTY, RESPONSE_FAILURE, RESPONSE_FILES,
    RESPONSE_METADATA, RESPONSE_NODE, RESPONSE_NODES, RESPONSE_RESULT, RESPONSE_ROWS,
    RESPONSE_STMT, RESPONSE_WELCOME,
};
pub use rows::{row_header_size, Rows, RowsEnd, RowsReader, RowsWriter, ROWS_DONE, ROWS_PART};
pub use tuple::{decode_params, encode_param_refs, encode_params, ParamSchema};
pub use value::{Value, ValueRef, ValueType};
