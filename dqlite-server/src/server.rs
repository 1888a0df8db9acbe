//! The listener: one address for clients and raft peers. Each connection starts with the
//! protocol version word; a CONNECT request turns it into a raft peer connection, anything
//! else is served by a [`Gateway`].

use std::sync::Arc;

use bytes::BytesMut;
use dqlite_proto::{request_kind, Failure, FrameDecoder, ProtocolVersion, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::gateway::Gateway;
use crate::node::Inner;

/// Accepts connections until the node shuts down.
pub async fn run(listener: TcpListener, inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, inner.clone()));
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

/// Serves one connection.
async fn serve(mut stream: TcpStream, inner: Arc<Inner>) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(8192);
    let version = loop {
        match ProtocolVersion::decode(&mut buf) {
            Ok(Some(v)) => break v,
            Ok(None) => {}
            Err(_) => return, // unknown version: close, as dqlite does
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    };
    let decoder = FrameDecoder::default();
    let mut gateway = Gateway::new(inner.clone(), version);
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let frame = match decoder.decode(&mut buf) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                let read = tokio::select! {
                    r = stream.read_buf(&mut buf) => r,
                    _ = shutdown.changed() => break,
                };
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            Err(e) if e.is_fatal_framing() => break,
            Err(e) => {
                // A zero-word body: consumed, answered, and the stream stays in sync.
                let f = Failure::new(dqlite_proto::code::DQLITE_PARSE, e.to_string());
                if write(&mut stream, &Response::Failure(f)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        if frame.header.kind == request_kind::CONNECT {
            if let Ok(Request::Connect { id, .. }) = frame.request() {
                gateway.close().await;
                let hooks: Arc<dyn crate::raft::rpc::TransferHooks> = inner.clone();
                let stop = inner.shutdown.subscribe();
                crate::raft::rpc::serve(stream, buf, inner.raft.clone(), hooks, id, stop).await;
                return;
            }
            break;
        }
        if gateway.handle(&frame, &mut stream).await.is_err() {
            break;
        }
    }
    gateway.close().await;
}

/// Encodes and writes one response.
pub async fn write(stream: &mut TcpStream, resp: &Response) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    resp.encode(&mut out).map_err(std::io::Error::other)?;
    stream.write_all(&out).await
}
