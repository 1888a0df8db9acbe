//! Outbound raft RPCs. A peer connection is an ordinary dqlite connection that switches to
//! raft traffic: protocol version word, `CONNECT(id, address)`, then this module's frames
//! (`u32` length, `u8` kind, bincode body; answers carry a `u8` status instead of the kind).

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use dqlite_proto::{ProtocolVersion, Request};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use super::{append_split, TypeConfig};

#[cfg(test)]
#[path = "frame_tests.rs"]
mod frame_tests;

/// RPC kinds on a peer connection.
pub mod kind {
    /// AppendEntries.
    pub const APPEND: u8 = 1;
    /// RequestVote.
    pub const VOTE: u8 = 2;
    /// One InstallSnapshot chunk.
    pub const SNAPSHOT: u8 = 3;
    /// Leadership transfer: start elections now (body: deadline in ms).
    pub const TIMEOUT_NOW: u8 = 4;
    /// Leadership transfer: stop (false) or resume (true) starting elections.
    pub const SET_ELECT: u8 = 5;
}

/// Largest RPC frame accepted (snapshot chunks are far smaller).
pub const MAX_FRAME: usize = 256 << 20;

/// Creates [`PeerClient`]s for openraft.
#[derive(Clone)]
pub struct Network {
    /// This node's id, sent in CONNECT.
    pub id: u64,
    /// This node's address, sent in CONNECT.
    pub address: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerClient {
        PeerClient::new(self.id, self.address.clone(), target, node.addr.clone())
    }
}

/// A connection to one peer, opened lazily and dropped on any error.
pub struct PeerClient {
    id: u64,
    address: String,
    target_id: u64,
    target: String,
    stream: Option<BufStream<TcpStream>>,
}

impl PeerClient {
    /// A client for the peer at `target`.
    pub fn new(id: u64, address: String, target_id: u64, target: String) -> PeerClient {
        PeerClient {
            id,
            address,
            target_id,
            target,
            stream: None,
        }
    }

    async fn connect(&mut self) -> io::Result<&mut BufStream<TcpStream>> {
        if self.stream.is_none() {
            let tcp = TcpStream::connect(&self.target).await?;
            tcp.set_nodelay(true)?;
            let mut buf = BytesMut::new();
            ProtocolVersion::One.encode(&mut buf);
            Request::Connect {
                id: self.id,
                address: self.address.clone(),
            }
            .encode(&mut buf)
            .map_err(io::Error::other)?;
            let mut stream = BufStream::new(tcp);
            stream.write_all(&buf).await?;
            self.stream = Some(stream);
        }
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::other("no stream"))
    }

    /// Sends one RPC and reads its answer: `Ok(Ok(resp))`, `Ok(Err(remote error))`, or an
    /// I/O error (the connection is dropped).
    pub async fn call<Q, P, E>(
        &mut self,
        kind: u8,
        req: &Q,
        ttl: Duration,
    ) -> io::Result<Result<P, E>>
    where
        Q: Serialize,
        P: DeserializeOwned,
        E: DeserializeOwned,
    {
        let body = bincode::serialize(req).map_err(io::Error::other)?;
        let res = tokio::time::timeout(ttl, async {
            let stream = self.connect().await?;
            write_frame(stream, kind, &body).await?;
            let (status, body) = read_frame(stream).await?;
            Ok::<_, io::Error>((status, body))
        })
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "raft rpc timed out",
            ))
        });
        let (status, body) = match res {
            Ok(r) => r,
            Err(e) => {
                self.stream = None;
                return Err(e);
            }
        };
        if status == 0 {
            Ok(Ok(bincode::deserialize(&body).map_err(io::Error::other)?))
        } else {
            Ok(Err(bincode::deserialize(&body).map_err(io::Error::other)?))
        }
    }
}

/// Writes one frame.
pub async fn write_frame<S: tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
    kind: u8,
    body: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| io::Error::other("rpc too large"))?;
    s.write_all(&len.to_le_bytes()).await?;
    s.write_all(&[kind]).await?;
    s.write_all(body).await?;
    s.flush().await
}

/// Body bytes allocated before any arrive; the buffer grows with what the peer really sends.
const FIRST_READ: usize = 64 << 10;

/// Reads one frame: kind (or status) and body. The body buffer grows as bytes arrive, so a
/// peer claiming [`MAX_FRAME`] bytes and sending few costs little memory.
pub async fn read_frame<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> io::Result<(u8, Vec<u8>)> {
    let len = s.read_u32_le().await? as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other("raft frame too large"));
    }
    let kind = s.read_u8().await?;
    let mut body = Vec::with_capacity(len.min(FIRST_READ));
    let read = (&mut *s).take(len as u64).read_to_end(&mut body).await?;
    if read < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok((kind, body))
}

type Rpc<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

fn map<T, E: std::error::Error>(
    target: u64,
    r: io::Result<Result<T, RaftError<u64, E>>>,
) -> Rpc<T, E> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(RPCError::RemoteError(RemoteError::new(target, e))),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            Err(RPCError::Network(NetworkError::new(&e)))
        }
        Err(e) => Err(RPCError::Unreachable(Unreachable::new(&e))),
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        mut rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<u64>> {
        let sent = append_split::trim(&mut rpc, append_split::APPEND_BUDGET);
        if let Some(last) = sent {
            tracing::debug!(target = self.target_id, %last, "AppendEntries cut to the byte budget");
        }
        let r = self.call(kind::APPEND, &rpc, option.hard_ttl()).await;
        map(self.target_id, r).map(|resp| append_split::answer(resp, sent))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        let r = self.call(kind::SNAPSHOT, &rpc, option.hard_ttl()).await;
        map(self.target_id, r)
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, option: RPCOption) -> Rpc<VoteResponse<u64>> {
        let r = self.call(kind::VOTE, &rpc, option.hard_ttl()).await;
        map(self.target_id, r)
    }
}
