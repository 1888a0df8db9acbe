//! A minimal dqlite wire client: enough for a node to join a cluster (LEADER, ADD, ASSIGN,
//! CLUSTER) and for tests to drive a server. Applications should use `dqlite-client`.

use std::time::Duration;

use bytes::BytesMut;
use dqlite_proto::{DecodeHint, FrameDecoder, ProtocolVersion, Request, Response, Rows, RowsEnd};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// One connection to a node, one request at a time.
pub struct Client {
    stream: TcpStream,
    buf: BytesMut,
    decoder: FrameDecoder,
    timeout: Duration,
}

impl Client {
    /// Connects to `address` and sends the protocol version.
    pub async fn connect(address: &str, timeout: Duration) -> Result<Client> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| {
                Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ))
            })??;
        stream.set_nodelay(true)?;
        let mut c = Client {
            stream,
            buf: BytesMut::with_capacity(8192),
            decoder: FrameDecoder::default(),
            timeout,
        };
        let mut hello = BytesMut::new();
        ProtocolVersion::One.encode(&mut hello);
        c.stream.write_all(&hello).await?;
        Ok(c)
    }

    /// Sends raw bytes (for tests of malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        Ok(self.stream.write_all(bytes).await?)
    }

    /// Sends a request.
    pub async fn send(&mut self, req: &Request) -> Result<()> {
        let mut out = BytesMut::new();
        req.encode(&mut out)
            .map_err(|e| Error::internal(e.to_string()))?;
        self.send_raw(&out).await
    }

    /// Reads the next response.
    pub async fn recv(&mut self, hint: DecodeHint) -> Result<Response> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            if let Some(frame) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| Error::internal(e.to_string()))?
            {
                return frame
                    .response(hint)
                    .map_err(|e| Error::internal(e.to_string()));
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf))
                .await
                .map_err(|_| {
                    Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no response",
                    ))
                })??;
            if n == 0 {
                return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// Sends a request and reads one response; a FAILURE becomes an error.
    pub async fn call(&mut self, req: &Request) -> Result<Response> {
        self.send(req).await?;
        let hint = DecodeHint {
            nodes_without_role: matches!(req, Request::Cluster { format: 0 }),
            ..DecodeHint::default()
        };
        match self.recv(hint).await? {
            Response::Failure(f) => Err(Error::Failure {
                code: f.code,
                message: f.message,
            }),
            r => Ok(r),
        }
    }

    /// Sends a query and collects every ROWS batch: column names and rows.
    pub async fn query(&mut self, req: &Request) -> Result<Vec<Rows>> {
        let mut out = Vec::new();
        let mut resp = self.call(req).await?;
        loop {
            match resp {
                Response::Rows(rows) => {
                    let end = rows.end;
                    out.push(rows);
                    if end == RowsEnd::Done {
                        return Ok(out);
                    }
                }
                other => return Err(Error::internal(format!("unexpected response {other:?}"))),
            }
            resp = match self.recv(DecodeHint::default()).await? {
                Response::Failure(f) => {
                    return Err(Error::Failure {
                        code: f.code,
                        message: f.message,
                    })
                }
                r => r,
            };
        }
    }

    /// Asks for the leader; `None` when this node knows none.
    pub async fn leader(&mut self) -> Result<Option<(u64, String)>> {
        match self.call(&Request::Leader).await? {
            Response::Node { id: 0, .. } => Ok(None),
            Response::Node { id, address } => Ok(Some((id, address))),
            other => Err(Error::internal(format!("unexpected response {other:?}"))),
        }
    }
}

/// Connects to the leader, asking each of `seeds` who it is.
pub async fn connect_leader(seeds: &[String], timeout: Duration) -> Result<Client> {
    for seed in seeds {
        let Ok(mut c) = Client::connect(seed, timeout).await else {
            continue;
        };
        match c.leader().await {
            Ok(Some((_, addr))) if &addr == seed => return Ok(c),
            Ok(Some((_, addr))) => {
                if let Ok(mut l) = Client::connect(&addr, timeout).await {
                    if matches!(l.leader().await, Ok(Some((_, a))) if a == addr) {
                        return Ok(l);
                    }
                }
            }
            _ => {}
        }
    }
    Err(Error::NotLeader)
}
