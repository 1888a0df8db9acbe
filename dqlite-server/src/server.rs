//! The listener: one address for clients and raft peers. Each connection starts with the
//! protocol version word; a CONNECT request turns it into a raft peer connection, anything
//! else is served by a [`Gateway`].
//!
//! Limits (see [`crate::Config`]): connection slots ([`slots`]), a handshake timeout for the
//! version word and first request, an idle timeout between requests (shorter inside a
//! transaction: closing the connection rolls it back), the client frame size, and TCP
//! keepalive on accepted sockets. While a request runs, the connection keeps reading: an
//! INTERRUPT request seen in what the client sent stops the running statement.

pub mod slots;

use std::sync::Arc;

use bytes::BytesMut;
use dqlite_proto::{code, request_kind, Failure, Frame, FrameDecoder, ProtocolVersion};
use dqlite_proto::{Request, Response, HEADER_SIZE};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::gateway::{write_response as write, Gateway};
use crate::node::shared::Shared;
use slots::Slots;

/// Bytes read ahead while a request runs (to see INTERRUPT); the rest waits in the socket.
const PEEK_LIMIT: usize = 1 << 20;

/// Accepts connections until the node shuts down.
pub async fn run(listener: TcpListener, inner: Arc<Shared>) {
    let config = &inner.config;
    inner
        .registry
        .limits
        .configure(config.statement_timeout, config.read_queue);
    let slots = Slots::new(config.max_connections);
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    // Over the limit the socket is dropped (closed) at once.
                    if let Some(socket) = slots.socket() {
                        tokio::spawn(serve(stream, inner.clone(), slots.clone(), socket));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// What the connection sent next.
enum Next {
    Frame(Frame),
    /// A malformed but skippable frame: answer this FAILURE and go on.
    Bad(Failure),
    /// Close the connection (end of stream, fatal framing, timeout, shutdown).
    Close,
}

/// Serves one connection.
async fn serve(
    mut stream: TcpStream,
    inner: Arc<Shared>,
    slots: Arc<Slots>,
    _socket: slots::Socket,
) {
    let _ = stream.set_nodelay(true);
    keepalive(&stream);
    let config = &inner.config;
    let mut shutdown = inner.shutdown.subscribe();
    let mut buf = BytesMut::with_capacity(8192);
    let decoder = FrameDecoder::new(config.max_frame_bytes);
    let deadline = Instant::now() + config.handshake_timeout;
    let hello = handshake(&mut stream, &mut buf, &decoder, deadline, &mut shutdown);
    let Some((version, first)) = hello.await else {
        return;
    };
    if first.header.kind == request_kind::CONNECT {
        return peer(stream, buf, &first, &inner).await;
    }
    let Some(client_slot) = slots.client() else {
        let msg = format!(
            "too many client connections (limit {})",
            slots.max_clients()
        );
        let _ = write(
            &mut stream,
            &Response::Failure(Failure::new(code::BUSY, msg)),
        )
        .await;
        return;
    };
    let mut gateway = Gateway::new(inner.clone(), version);
    let mut next = Some(first);
    loop {
        let frame = match next.take() {
            Some(f) => f,
            None => {
                let idle = match gateway.in_tx() {
                    true => config.tx_idle_timeout,
                    false => config.idle_timeout,
                };
                let deadline = (!idle.is_zero()).then(|| Instant::now() + idle);
                match next_frame(&mut stream, &mut buf, &decoder, deadline, &mut shutdown).await {
                    Next::Frame(f) => f,
                    Next::Bad(f) => {
                        if write(&mut stream, &Response::Failure(f)).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Next::Close => break,
                }
            }
        };
        if frame.header.kind == request_kind::CONNECT {
            gateway.close().await;
            drop(client_slot);
            return peer(stream, buf, &frame, &inner).await;
        }
        let (mut rd, mut wr) = stream.split();
        let handled = watching(&mut gateway, &frame, &mut rd, &mut wr, &mut buf, &inner).await;
        if handled.is_err() {
            break;
        }
    }
    gateway.close().await;
}

/// Reads the protocol version word and the first request before `deadline`; `None` closes
/// the connection.
async fn handshake(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    decoder: &FrameDecoder,
    deadline: Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<(ProtocolVersion, Frame)> {
    let version = read_version(stream, buf, Some(deadline)).await?;
    loop {
        match next_frame(stream, buf, decoder, Some(deadline), shutdown).await {
            Next::Frame(f) => return Some((version, f)),
            Next::Bad(f) => write(stream, &Response::Failure(f)).await.ok()?,
            Next::Close => return None,
        }
    }
}

/// Hands a connection whose request is CONNECT to raft (anything malformed closes it).
async fn peer(stream: TcpStream, buf: BytesMut, frame: &Frame, inner: &Arc<Shared>) {
    if let Ok(Request::Connect { id, .. }) = frame.request() {
        let hooks: Arc<dyn crate::raft::rpc::TransferHooks> = inner.clone();
        let stop = inner.shutdown.subscribe();
        crate::raft::rpc::serve(stream, buf, inner.raft.clone(), hooks, id, stop).await;
    }
}

/// Reads the protocol version word before `deadline`; `None` closes the connection.
async fn read_version(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    deadline: Option<Instant>,
) -> Option<ProtocolVersion> {
    loop {
        match ProtocolVersion::decode(buf) {
            Ok(Some(v)) => return Some(v),
            Ok(None) => {}
            Err(_) => return None, // unknown version: close, as dqlite does
        }
        match until(deadline, stream.read_buf(buf)).await {
            Some(Ok(n)) if n > 0 => {}
            Some(_) => return None,
            None => {
                tracing::debug!("closing a connection that sent no protocol version in time");
                return None;
            }
        }
    }
}

/// Reads until a whole frame is buffered, the deadline passes or the node shuts down.
async fn next_frame<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    decoder: &FrameDecoder,
    deadline: Option<Instant>,
    shutdown: &mut watch::Receiver<bool>,
) -> Next {
    loop {
        match decoder.decode(buf) {
            Ok(Some(frame)) => return Next::Frame(frame),
            Ok(None) => {}
            Err(e) if e.is_fatal_framing() => return Next::Close,
            // A zero-word body: consumed, answered, and the stream stays in sync.
            Err(e) => return Next::Bad(Failure::new(code::DQLITE_PARSE, e.to_string())),
        }
        let read = tokio::select! {
            r = until(deadline, rd.read_buf(buf)) => r,
            _ = shutdown.changed() => return Next::Close,
        };
        match read {
            Some(Ok(n)) if n > 0 => {}
            Some(_) => return Next::Close,
            None => {
                tracing::debug!("closing a connection that sent no request in time");
                return Next::Close;
            }
        }
    }
}

/// Runs `f` until `deadline` (`None`: no deadline); `None` when the deadline passed first.
async fn until<F: std::future::Future>(deadline: Option<Instant>, f: F) -> Option<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, f).await.ok(),
        None => Some(f.await),
    }
}

/// Handles one request while reading ahead, so that an INTERRUPT sent meanwhile stops the
/// statement running for this connection (the INTERRUPT itself is answered afterwards).
async fn watching<R: AsyncRead + Unpin, W: AsyncWrite + Unpin + Send>(
    gateway: &mut Gateway,
    frame: &Frame,
    rd: &mut R,
    wr: &mut W,
    buf: &mut BytesMut,
    inner: &Shared,
) -> std::io::Result<()> {
    let conn = gateway.conn_id();
    let limits = &inner.registry.limits;
    let mut scanned = 0;
    if has_interrupt(buf, &mut scanned) {
        limits.interrupt(conn);
    }
    let handled = gateway.handle(frame, wr);
    tokio::pin!(handled);
    let mut open = true;
    loop {
        tokio::select! {
            r = &mut handled => return r,
            n = rd.read_buf(buf), if open && buf.len() < PEEK_LIMIT => match n {
                Ok(n) if n > 0 => {
                    if has_interrupt(buf, &mut scanned) {
                        limits.interrupt(conn);
                    }
                }
                _ => open = false,
            },
        }
    }
}

/// Whether an INTERRUPT frame header appears in `buf` from offset `scanned` on; `scanned`
/// moves past every header seen.
fn has_interrupt(buf: &[u8], scanned: &mut usize) -> bool {
    let mut found = false;
    while let Some(h) = buf.get(*scanned..*scanned + HEADER_SIZE) {
        let words = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        found |= h[4] == request_kind::INTERRUPT;
        *scanned += HEADER_SIZE + words * 8;
    }
    found
}

/// Enables TCP keepalive (the operating system's timings) on an accepted socket. tokio sets
/// it only through `TcpSocket`, so a duplicate of the descriptor is wrapped for the call.
fn keepalive(stream: &TcpStream) {
    use std::os::fd::AsFd;
    let Ok(fd) = stream.as_fd().try_clone_to_owned() else {
        return;
    };
    let socket = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
    if let Err(e) = socket.set_keepalive(true) {
        tracing::debug!(error = %e, "enabling TCP keepalive failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_is_found_among_pipelined_frames() {
        let mut buf = BytesMut::new();
        Request::Leader.encode(&mut buf).expect("encode");
        let mut scanned = 0;
        assert!(!has_interrupt(&buf, &mut scanned));
        assert_eq!(scanned, buf.len());
        Request::Interrupt { db: 0 }
            .encode(&mut buf)
            .expect("encode");
        let partial = scanned + 4;
        assert!(
            !has_interrupt(&buf[..partial], &mut scanned),
            "header incomplete"
        );
        assert!(has_interrupt(&buf, &mut scanned));
        assert!(!has_interrupt(&buf, &mut scanned), "seen once");
    }
}
