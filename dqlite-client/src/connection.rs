//! One connection to one node: handshake, one request in flight, a deadline on every read
//! and write, reused buffers, and a state that records whether the stream is still in step.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use dqlite_proto::{
    DecodeHint, Frame, FrameDecoder, ProtocolVersion, Request, Response, RowsEnd, ROWS_DONE,
    ROWS_PART,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::Instrument;

use crate::dial::{dial, Stream};
use crate::error::{Error, Result};
use crate::Config;

/// `op` of errors raised after a request was completely written: a write's outcome is then
/// unknown.
pub(crate) const OP_RECEIVE: &str = "receive";
const OP_SEND: &str = "send";
const OP_DIAL: &str = "dial";

/// Where the byte stream stands between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Ready for a request.
    Idle,
    /// A request or batch read was started and not finished (for example its future was
    /// dropped): the stream is out of step and the connection must be discarded.
    InFlight,
    /// A result stream is open: more ROWS batches follow a PART marker.
    Streaming,
    /// An I/O or protocol error happened.
    Broken,
}

/// A connection to one dqlite node.
#[derive(Debug)]
pub struct Connection {
    node: String,
    stream: Stream,
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: FrameDecoder,
    timeout: Duration,
    pub(crate) state: State,
    pub(crate) pending_finalize: Vec<u32>,
    pub(crate) params32: Option<bool>,
    pub(crate) database: Option<String>,
    created: Instant,
}

impl Connection {
    /// Dials `node` and sends the protocol version. No request is made, so this works with
    /// any node, leader or not.
    pub async fn connect(node: &str, config: &Config) -> Result<Connection> {
        let deadline = config.dial_timeout;
        let fut = async {
            let stream = dial(node, config.keepalive, config.tcp_user_timeout)
                .await
                .map_err(|e| Error::io(OP_DIAL, node, e))?;
            let mut conn = Connection {
                node: node.to_owned(),
                stream,
                rbuf: BytesMut::with_capacity(8192),
                wbuf: BytesMut::with_capacity(1024),
                decoder: FrameDecoder::new(config.max_frame),
                timeout: config.request_timeout,
                state: State::Idle,
                pending_finalize: Vec::new(),
                params32: None,
                database: None,
                created: Instant::now(),
            };
            ProtocolVersion::One.encode(&mut conn.wbuf);
            conn.flush_wbuf().await?;
            Ok(conn)
        };
        match tokio::time::timeout(deadline, fut).await {
            Ok(res) => res,
            Err(_) => Err(Error::Timeout {
                op: OP_DIAL,
                node: node.to_owned(),
                after: deadline,
            }),
        }
    }

    /// The node's address.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// True when the connection can take another request.
    pub fn is_usable(&self) -> bool {
        matches!(self.state, State::Idle | State::Streaming)
    }

    /// When the connection was opened.
    pub(crate) fn created(&self) -> Instant {
        self.created
    }

    /// Sets the per-request deadline (for example a shorter one while probing for a leader).
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    async fn flush_wbuf(&mut self) -> Result<()> {
        let res = self.stream.write_all(&self.wbuf).await;
        self.wbuf.clear();
        res.map_err(|e| {
            self.state = State::Broken;
            Error::io(OP_SEND, &self.node, e)
        })
    }

    /// Brings the stream in step, then writes one request.
    async fn send(&mut self, req: &Request, schema: u8) -> Result<()> {
        self.ensure_ready().await?;
        self.send_raw(req, schema).await
    }

    /// Writes one request as is. The state is `InFlight` from here until its reply is read.
    async fn send_raw(&mut self, req: &Request, schema: u8) -> Result<()> {
        self.state = State::InFlight;
        self.wbuf.clear();
        if let Err(e) = req.encode_with_schema(schema, &mut self.wbuf) {
            self.state = State::Idle;
            return Err(Error::InvalidRequest(e.to_string()));
        }
        let after = self.timeout;
        match tokio::time::timeout(after, self.flush_wbuf()).await {
            Ok(res) => res,
            Err(_) => {
                self.state = State::Broken;
                Err(Error::Timeout {
                    op: OP_SEND,
                    node: self.node.clone(),
                    after,
                })
            }
        }
    }

    /// Reads one whole frame within the deadline; any failure breaks the connection.
    async fn recv_frame(&mut self) -> Result<Frame> {
        let after = self.timeout;
        let res = match tokio::time::timeout(after, self.read_frame()).await {
            Ok(res) => res,
            Err(_) => Err(Error::Timeout {
                op: OP_RECEIVE,
                node: self.node.clone(),
                after,
            }),
        };
        if res.is_err() {
            self.state = State::Broken;
        }
        res
    }

    async fn read_frame(&mut self) -> Result<Frame> {
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(Error::protocol(&self.node, e)),
            }
            self.rbuf.reserve(8192);
            match self.stream.read_buf(&mut self.rbuf).await {
                Ok(0) => {
                    let eof = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "connection closed by the server",
                    );
                    return Err(Error::io(OP_RECEIVE, &self.node, eof));
                }
                Ok(_) => {}
                Err(e) => return Err(Error::io(OP_RECEIVE, &self.node, e)),
            }
        }
    }

    fn failure(&self, resp: Response) -> Error {
        match resp {
            Response::Failure(failure) => Error::Server {
                node: self.node.clone(),
                failure,
            },
            other => Error::protocol(
                &self.node,
                format!("unexpected response type {}", other.kind()),
            ),
        }
    }

    /// Sends a request that has exactly one reply and returns it; FAILURE becomes
    /// [`Error::Server`].
    pub(crate) async fn call(&mut self, req: &Request) -> Result<Response> {
        self.call_with_schema(req, req.schema()).await
    }

    /// Like [`Connection::call`] with an explicit header schema byte (feature probes).
    pub(crate) async fn call_with_schema(&mut self, req: &Request, schema: u8) -> Result<Response> {
        let span = tracing::debug_span!(
            "dqlite.request",
            node = %self.node,
            db = self.database.as_deref().unwrap_or(""),
            kind = req.kind()
        );
        async {
            self.send(req, schema).await?;
            let frame = self.recv_frame().await?;
            let hint = DecodeHint {
                legacy_node: false,
                nodes_without_role: matches!(req, Request::Cluster { format: 0 }),
            };
            let resp = frame.response(hint).map_err(|e| {
                self.state = State::Broken;
                Error::protocol(&self.node, e)
            })?;
            self.state = State::Idle;
            match resp {
                Response::Failure(_) => Err(self.failure(resp)),
                resp => Ok(resp),
            }
        }
        .instrument(span)
        .await
    }

    /// Sends a query and returns its first ROWS batch (body not yet decoded).
    pub(crate) async fn query_start(&mut self, req: &Request) -> Result<Frame> {
        let span = tracing::debug_span!(
            "dqlite.query",
            node = %self.node,
            db = self.database.as_deref().unwrap_or(""),
            kind = req.kind()
        );
        async {
            self.send(req, req.schema()).await?;
            self.rows_frame().await
        }
        .instrument(span)
        .await
    }

    /// Reads the next ROWS batch of an open result.
    pub(crate) async fn next_batch(&mut self) -> Result<Frame> {
        if self.state != State::Streaming {
            return Err(Error::protocol(&self.node, "no result is streaming"));
        }
        self.state = State::InFlight;
        self.rows_frame().await
    }

    async fn rows_frame(&mut self) -> Result<Frame> {
        let frame = self.recv_frame().await?;
        match frame.header.kind {
            dqlite_proto::RESPONSE_ROWS => {
                self.state = match batch_end(&frame) {
                    Some(RowsEnd::Part) => State::Streaming,
                    Some(RowsEnd::Done) => State::Idle,
                    None => {
                        self.state = State::Broken;
                        return Err(Error::protocol(&self.node, "ROWS batch without marker"));
                    }
                };
                Ok(frame)
            }
            dqlite_proto::RESPONSE_FAILURE => {
                let resp = frame.response(DecodeHint::default()).map_err(|e| {
                    self.state = State::Broken;
                    Error::protocol(&self.node, e)
                })?;
                self.state = State::Idle;
                Err(self.failure(resp))
            }
            other => {
                self.state = State::Broken;
                Err(Error::protocol(
                    &self.node,
                    format!("expected ROWS, got type {other}"),
                ))
            }
        }
    }

    /// Abandons an open result: INTERRUPT, then discard everything up to EMPTY. Gives up and
    /// marks the connection broken after `max_frames` frames (closing is cheaper then).
    pub(crate) async fn interrupt(&mut self, max_frames: usize) -> Result<()> {
        if self.state != State::Streaming {
            return Ok(());
        }
        self.send_raw(&Request::Interrupt { db: 0 }, 0).await?;
        for _ in 0..max_frames {
            let frame = self.recv_frame().await?;
            if frame.header.kind == dqlite_proto::RESPONSE_EMPTY {
                self.state = State::Idle;
                return Ok(());
            }
        }
        self.state = State::Broken;
        Err(Error::protocol(
            &self.node,
            "result too large to drain; connection closed",
        ))
    }

    /// Brings the connection to `Idle`: drains an abandoned result and sends deferred
    /// FINALIZEs.
    async fn ensure_ready(&mut self) -> Result<()> {
        match self.state {
            State::Idle => {}
            State::Streaming => self.interrupt(64).await?,
            State::InFlight | State::Broken => {
                return Err(Error::protocol(
                    &self.node,
                    "connection is out of step after an interrupted or failed request",
                ))
            }
        }
        while let Some(stmt) = self.pending_finalize.pop() {
            self.send_raw(&Request::Finalize { db: 0, stmt }, 0).await?;
            let frame = self.recv_frame().await?;
            // A FAILURE (statement already gone with a lost leadership) is harmless here.
            self.state = State::Idle;
            if frame.header.kind != dqlite_proto::RESPONSE_EMPTY {
                tracing::debug!(node = %self.node, stmt, kind = frame.header.kind, "FINALIZE failed");
            }
        }
        Ok(())
    }
}

/// The PART/DONE marker ending a ROWS body, if its last word is one.
fn batch_end(frame: &Frame) -> Option<RowsEnd> {
    let body = &frame.body;
    let tail: [u8; 8] = body.get(body.len().checked_sub(8)?..)?.try_into().ok()?;
    match u64::from_le_bytes(tail) {
        ROWS_PART => Some(RowsEnd::Part),
        ROWS_DONE => Some(RowsEnd::Done),
        _ => None,
    }
}
