//! Outbound raft RPCs. A peer connection is an ordinary dqlite connection that switches to
//! raft traffic: protocol version word, `CONNECT(id, address)`, then this module's frames
//! (`u32` length, `u8` kind, bincode body; answers carry a `u8` status instead of the kind).

use std::io;
use std::sync::Arc;
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

use super::lease::Acks;
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
    /// Where answered AppendEntries are counted (the leader lease).
    pub acks: Arc<Acks>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerClient {
        PeerClient::new(self.id, self.address.clone(), target, node.addr.clone())
            .counting(self.acks.clone())
    }
}

/// A connection to one peer, opened lazily and dropped on any error or cancellation.
pub struct PeerClient {
    id: u64,
    address: String,
    target_id: u64,
    target: String,
    stream: Option<BufStream<TcpStream>>,
    budget: append_split::Budget,
    /// An AppendEntries call is running; still set at the next call when openraft dropped
    /// the last one at its own timeout.
    appending: bool,
    acks: Option<Arc<Acks>>,
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
            budget: Default::default(),
            appending: false,
            acks: None,
        }
    }

    /// Counts this client's answered AppendEntries in `acks`.
    pub fn counting(mut self, acks: Arc<Acks>) -> PeerClient {
        self.acks = Some(acks);
        self
    }

    /// The connection, opened if needed. It is taken out of `self` for the duration of one
    /// call and put back only once the answer was read, so a call that is cancelled halfway
    /// (openraft drops RPC futures at its own timeouts) takes its connection with it: the
    /// next call never reads the answer meant for an earlier request.
    async fn connect(&mut self) -> io::Result<BufStream<TcpStream>> {
        if let Some(stream) = self.stream.take() {
            return Ok(stream);
        }
        {
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
            Ok(stream)
        }
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
            let mut stream = self.connect().await?;
            write_frame(&mut stream, kind, &body).await?;
            let (status, body) = read_frame(&mut stream).await?;
            // Only a connection whose request was answered in full is used again.
            self.stream = Some(stream);
            Ok::<_, io::Error>((status, body))
        })
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "raft rpc timed out",
            ))
        });
        let (status, body) = res?;
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
        if std::mem::replace(&mut self.appending, true) {
            self.budget.timed_out();
        }
        let sent = append_split::trim(&mut rpc, self.budget.bytes());
        if let Some(last) = sent {
            tracing::debug!(target = self.target_id, %last, budget = self.budget.bytes(),
                "AppendEntries cut to the byte budget");
        }
        let leader = rpc.vote.leader_id();
        let (term, from) = (leader.term, leader.voted_for());
        let committed = rpc.vote.is_committed();
        let sent_at = self.acks.as_ref().map(|a| a.now());
        let r = self.call(kind::APPEND, &rpc, option.hard_ttl()).await;
        self.appending = false;
        if let (Some(acks), Some(sent_at), Some(from), Ok(Ok(resp))) =
            (&self.acks, sent_at, from, &r)
        {
            // Any answer but "higher vote" means the follower took this leader's vote and
            // refuses other candidates for its lease (see `lease`).
            if committed && !matches!(resp, AppendEntriesResponse::HigherVote(_)) {
                acks.answered(from, term, self.target_id, sent_at);
            }
        }
        match &r {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => self.budget.timed_out(),
            Ok(_) => self.budget.answered(),
            Err(_) => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that answers each frame with its own body, the first one late.
    async fn echo_peer() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut s = BufStream::new(tcp);
                    // The version word and CONNECT are not frames of this module: skip them.
                    let mut word = [0u8; 8];
                    if s.read_exact(&mut word).await.is_err() {
                        return;
                    }
                    let mut header = [0u8; 8];
                    if s.read_exact(&mut header).await.is_err() {
                        return;
                    }
                    let words = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
                    let mut connect = vec![0u8; words as usize * 8];
                    if s.read_exact(&mut connect).await.is_err() {
                        return;
                    }
                    let mut first = true;
                    while let Ok((_, body)) = read_frame(&mut s).await {
                        if std::mem::take(&mut first) {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                        if write_frame(&mut s, 0, &body).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_cancelled_call_never_hands_its_answer_to_the_next_one() {
        let addr = echo_peer().await;
        let mut peer = PeerClient::new(1, "127.0.0.1:1".into(), 2, addr);
        let ttl = Duration::from_secs(10);
        // openraft's own timeout drops the call while the peer still owes the answer.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            peer.call::<u64, u64, String>(kind::VOTE, &1, ttl),
        )
        .await;
        assert!(
            cancelled.is_err(),
            "the first call should have been cut short"
        );
        let second = peer
            .call::<u64, u64, String>(kind::VOTE, &2, ttl)
            .await
            .expect("second call");
        assert_eq!(second, Ok(2), "got the answer meant for the cancelled call");
    }
}
