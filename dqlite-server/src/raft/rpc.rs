//! Inbound raft RPCs: serves a peer connection after its CONNECT, one RPC at a time.

use std::io::{self, Cursor};
use std::time::Duration;

use bytes::BytesMut;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncReadExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use super::network::{kind, read_frame, write_frame};
use super::Raft;

/// What a peer may ask of this node besides raft's own RPCs (leadership transfer).
pub trait TransferHooks: Send + Sync + 'static {
    /// Start elections now and keep trying for `deadline` (this node is the transfer target).
    fn timeout_now(&self, deadline: Duration);
    /// Stop or resume starting elections (this node is a bystander of a transfer).
    fn set_elect(&self, enabled: bool, deadline: Duration);
}

/// Serves raft RPCs on `stream` until the peer disconnects; `leftover` holds bytes already
/// read past the CONNECT request.
pub async fn serve(
    stream: TcpStream,
    leftover: BytesMut,
    raft: Raft,
    hooks: std::sync::Arc<dyn TransferHooks>,
    peer: u64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut reader = BufReader::new(Cursor::new(leftover).chain(r));
    let mut writer = BufWriter::new(w);
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut reader) => f,
            // The node stopped: drop the connection so the peer reconnects to its successor.
            _ = shutdown.changed() => return,
        };
        let (kind, body) = match frame {
            Ok(f) => f,
            Err(e) => {
                if e.kind() != io::ErrorKind::UnexpectedEof {
                    tracing::debug!(peer, error = %e, "raft peer connection closed");
                }
                return;
            }
        };
        let reply = match kind {
            kind::APPEND => answer(&body, |req| raft.append_entries(req)).await,
            kind::VOTE => answer(&body, |req| raft.vote(req)).await,
            kind::SNAPSHOT => answer(&body, |req| raft.install_snapshot(req)).await,
            kind::TIMEOUT_NOW => {
                let ms: u64 = bincode::deserialize(&body).unwrap_or(0);
                hooks.timeout_now(Duration::from_millis(ms));
                encode_ok(&())
            }
            kind::SET_ELECT => {
                let (on, ms): (bool, u64) = bincode::deserialize(&body).unwrap_or((true, 0));
                hooks.set_elect(on, Duration::from_millis(ms));
                encode_ok(&())
            }
            other => {
                tracing::warn!(peer, kind = other, "unknown raft rpc; closing");
                return;
            }
        };
        let Some((status, body)) = reply else {
            tracing::warn!(peer, "malformed raft rpc; closing");
            return;
        };
        if write_frame(&mut writer, status, &body).await.is_err() {
            return;
        }
    }
}

async fn answer<Q, P, E, F, Fut>(body: &[u8], call: F) -> Option<(u8, Vec<u8>)>
where
    Q: DeserializeOwned,
    P: Serialize,
    E: Serialize,
    F: FnOnce(Q) -> Fut,
    Fut: std::future::Future<Output = Result<P, E>>,
{
    let req: Q = bincode::deserialize(body).ok()?;
    match call(req).await {
        Ok(resp) => encode_ok(&resp),
        Err(e) => Some((1, bincode::serialize(&e).ok()?)),
    }
}

fn encode_ok<T: Serialize>(v: &T) -> Option<(u8, Vec<u8>)> {
    Some((0, bincode::serialize(v).ok()?))
}
