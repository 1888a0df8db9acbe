//! A scripted fake dqlite node built on `dqlite-proto`: each request goes to a handler that
//! decides the reply (or to close the connection, or to stall), so failover paths run
//! deterministically without a real cluster.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use dqlite_proto::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the node does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send these responses (several for a multi-batch result).
    Reply(Vec<Response>),
    /// Send these responses, then close the connection.
    ReplyThenClose(Vec<Response>),
    /// Close the connection without replying.
    Close,
    /// Never reply (the connection stays open).
    Stall,
}

/// Shared state of a set of fake nodes.
#[derive(Debug, Default)]
pub struct World {
    /// Address of the node every voter reports as leader ("" for none).
    pub leader: Mutex<String>,
    /// Requests received, as (node address, request type).
    pub log: Mutex<Vec<(String, u8)>>,
    /// Rows inserted through EXEC_SQL on the leader.
    pub inserts: AtomicUsize,
}

impl World {
    pub fn set_leader(&self, addr: &str) {
        *self.leader.lock().expect("lock") = addr.to_owned();
    }

    pub fn leader(&self) -> String {
        self.leader.lock().expect("lock").clone()
    }

    /// How many requests of `kind` node `addr` received.
    pub fn count(&self, addr: &str, kind: u8) -> usize {
        let log = self.log.lock().expect("lock");
        log.iter().filter(|(a, k)| a == addr && *k == kind).count()
    }
}

/// Decides the reply to a request: (world, this node's address, request) → action.
pub type Handler = Arc<dyn Fn(&World, &str, &Request) -> Action + Send + Sync>;

/// The ordinary behaviour: voters report `world.leader`; the leader serves SQL; others
/// answer 10250.
pub fn standard(world: &World, me: &str, req: &Request) -> Action {
    let leader = world.leader();
    let not_leader = || {
        Action::Reply(vec![Response::Failure(Failure::new(
            code::NOT_LEADER,
            "not leader",
        ))])
    };
    let reply = |r: Response| Action::Reply(vec![r]);
    match req {
        Request::Leader => reply(Response::Node {
            id: if leader.is_empty() { 0 } else { 1 },
            address: leader,
        }),
        Request::Client { .. } => reply(Response::Welcome {
            heartbeat_timeout: 15000,
        }),
        Request::Open { .. } if leader == me => reply(Response::Db { id: 0 }),
        Request::ExecSql { .. } if leader == me => {
            let n = world.inserts.fetch_add(1, Ordering::SeqCst) + 1;
            reply(Response::Result {
                last_insert_id: n as u64,
                rows_affected: 1,
            })
        }
        Request::QuerySql { .. } if leader == me => reply(Response::Rows(Rows {
            columns: vec!["n".into()],
            rows: vec![vec![Value::Integer(
                world.inserts.load(Ordering::SeqCst) as i64
            )]],
            end: RowsEnd::Done,
        })),
        Request::Interrupt { .. } => reply(Response::Empty),
        _ => not_leader(),
    }
}

/// One fake node listening on a loopback port.
pub struct FakeNode {
    pub addr: String,
    task: JoinHandle<()>,
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeNode {
    /// Starts a node on a free port of 127.0.0.1.
    pub async fn start(world: Arc<World>, handler: Handler) -> FakeNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let addr = addr.to_string();
        let me = addr.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (world, handler, me) = (Arc::clone(&world), Arc::clone(&handler), me.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, &world, &me, &handler).await;
                });
            }
        });
        FakeNode { addr, task }
    }
}

/// Starts a node on the Linux abstract Unix socket `@name`.
pub async fn start_abstract(world: Arc<World>, handler: Handler, name: &str) -> FakeNode {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
    let std = std::os::unix::net::UnixListener::bind_addr(&addr).expect("bind abstract");
    std.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::UnixListener::from_std(std).expect("listener");
    let me = format!("@{name}");
    let addr = me.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (world, handler, me) = (Arc::clone(&world), Arc::clone(&handler), me.clone());
            tokio::spawn(async move {
                let _ = serve(sock, &world, &me, &handler).await;
            });
        }
    });
    FakeNode { addr, task }
}

async fn serve<S>(mut sock: S, world: &World, me: &str, handler: &Handler) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = BytesMut::new();
    let dec = FrameDecoder::default();
    let mut handshake_done = false;
    loop {
        if !handshake_done {
            if ProtocolVersion::decode(&mut buf).ok().flatten().is_some() {
                handshake_done = true;
                continue;
            }
        } else if let Some(frame) = dec.decode(&mut buf).ok().flatten() {
            let Ok(req) = frame.request() else {
                return Ok(());
            };
            world
                .log
                .lock()
                .expect("lock")
                .push((me.to_owned(), req.kind()));
            match handler(world, me, &req) {
                Action::Reply(resps) => write_all(&mut sock, &resps).await?,
                Action::ReplyThenClose(resps) => {
                    write_all(&mut sock, &resps).await?;
                    return Ok(());
                }
                Action::Close => return Ok(()),
                Action::Stall => {
                    // Hold the connection open without answering until the test ends.
                    std::future::pending::<()>().await;
                }
            }
            continue;
        }
        if sock.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

async fn write_all<S>(sock: &mut S, resps: &[Response]) -> std::io::Result<()>
where
    S: tokio::io::AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    for r in resps {
        r.encode(&mut out).expect("encodable response");
    }
    sock.write_all(&out).await
}

/// `n` fake nodes sharing one world, all with the same handler.
pub async fn cluster(n: usize, handler: Handler) -> (Arc<World>, Vec<FakeNode>) {
    let world = Arc::new(World::default());
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(FakeNode::start(Arc::clone(&world), Arc::clone(&handler)).await);
    }
    (world, nodes)
}
