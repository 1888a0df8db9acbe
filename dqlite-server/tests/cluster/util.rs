//! Helpers: in-process clusters on loopback, spawned server processes, a raw wire client
//! (the library's minimal client over `dqlite-proto`), and bounded waits.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dqlite_proto::{Request, Response, Value};
use dqlite_server::client::Client;
use dqlite_server::{Config, Node};
use tokio::net::TcpListener;

/// Default bound for waits.
pub const WAIT: Duration = Duration::from_secs(30);

/// Polls `f` until it returns `Some`, failing with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `dqlite-server-it-<name>-<pid>-<n>`.
    pub fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "dqlite-server-it-{name}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Kept for inspection when a test fails, or on request.
        if std::thread::panicking() || std::env::var_os("DQLITE_KEEP_TEST_DIRS").is_some() {
            eprintln!("test data kept in {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends the nodes' logs to the test output (filtered by `RUST_LOG`, default `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Fast raft timings for tests.
pub fn test_config(address: &str, dir: PathBuf) -> Config {
    let mut c = Config::new(address, dir);
    c.election_timeout = Duration::from_millis(300);
    c.heartbeat_interval = Duration::from_millis(50);
    c.busy_timeout = Duration::from_secs(10);
    c
}

/// Binds 127.0.0.1:0 and returns the listener and its address.
pub async fn bind() -> (TcpListener, String) {
    // A loopback address of its own, so a restarted node can bind its port again.
    let l = TcpListener::bind(free_addr()).await.expect("bind loopback");
    let a = l.local_addr().expect("local addr").to_string();
    (l, a)
}

/// An in-process cluster.
pub struct Cluster {
    /// Nodes (None once stopped).
    pub nodes: Vec<Option<Node>>,
    /// Their addresses.
    pub addrs: Vec<String>,
    /// Their data directories.
    pub dirs: Vec<PathBuf>,
    _tmp: TempDir,
}

impl Cluster {
    /// Starts `n` nodes: the first bootstraps, the others join it. The first three settle
    /// (three voters, or one voter and spares below three nodes) before the next one joins,
    /// so every later node becomes a stand-by, as go-dqlite's automatic roles intend.
    pub async fn start(name: &str, n: usize, tweak: impl Fn(&mut Config)) -> Cluster {
        init_tracing();
        let tmp = TempDir::new(name);
        let mut c = Cluster {
            nodes: Vec::new(),
            addrs: Vec::new(),
            dirs: Vec::new(),
            _tmp: tmp,
        };
        for i in 0..n {
            c.add_node(i, &tweak).await;
            if i + 1 >= n.min(3) {
                c.settle(i + 1).await;
            }
        }
        c
    }

    /// Waits until the first `count` nodes are all listed with their final roles.
    async fn settle(&self, count: usize) {
        let voters = if count >= 3 { 3 } else { 1 };
        let standbys = count.saturating_sub(3).min(3);
        let addr0 = self.addrs[0].clone();
        wait_for(&format!("{count} nodes with settled roles"), WAIT, || {
            let addr0 = addr0.clone();
            async move {
                let nodes = cluster(&addr0).await.ok()?;
                let v = nodes.iter().filter(|n| n.2 == 0).count();
                let s = nodes.iter().filter(|n| n.2 == 1).count();
                (nodes.len() == count && v == voters && s == standbys).then_some(())
            }
        })
        .await;
    }

    /// Starts node `i` (joining node 0 unless it is node 0).
    pub async fn add_node(&mut self, i: usize, tweak: &impl Fn(&mut Config)) {
        let (listener, addr) = bind().await;
        let dir = self._tmp.0.join(format!("node{i}"));
        let mut config = test_config(&addr, dir.clone());
        if i > 0 {
            config.join = vec![self.addrs[0].clone()];
        }
        tweak(&mut config);
        let node = Node::start(config, listener).await.expect("start node");
        self.nodes.push(Some(node));
        self.addrs.push(addr);
        self.dirs.push(dir);
    }

    /// Starts node `i` again from its data directory, on its address.
    pub async fn restart(&mut self, i: usize, tweak: &impl Fn(&mut Config)) {
        let listener = TcpListener::bind(&self.addrs[i])
            .await
            .expect("bind the old address");
        let mut config = test_config(&self.addrs[i], self.dirs[i].clone());
        if i > 0 {
            config.join = vec![self.addrs[0].clone()];
        }
        tweak(&mut config);
        self.nodes[i] = Some(Node::start(config, listener).await.expect("restart node"));
    }

    /// Index of the serving leader, waiting for one.
    pub async fn leader(&self) -> usize {
        wait_for("a leader", WAIT, || async {
            self.nodes
                .iter()
                .position(|n| n.as_ref().is_some_and(|n| n.is_leader()))
        })
        .await
    }

    /// Stops node `i` (gracefully).
    pub async fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            n.shutdown().await;
        }
    }

    /// Rows of `sql` read directly from node `i`'s database file (any node, no raft).
    pub fn local_rows(&self, i: usize, db: &str, sql: &str) -> Vec<String> {
        local_rows(&self.dirs[i], db, sql)
    }
}

/// Rows of `sql` from the file of database `db` under data directory `dir`.
pub fn local_rows(dir: &std::path::Path, db: &str, sql: &str) -> Vec<String> {
    let path = dir.join("db").join(format!("db-{db}"));
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(sql) else {
        return Vec::new();
    };
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get_ref(i).expect("column")))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

/// CLUSTER(1) from `addr`: (id, address, role).
pub async fn cluster(addr: &str) -> dqlite_server::Result<Vec<(u64, String, u64)>> {
    let mut c = Client::connect(addr, Duration::from_secs(5)).await?;
    match c.call(&Request::Cluster { format: 1 }).await? {
        Response::Nodes(nodes) => Ok(nodes
            .into_iter()
            .map(|n| (n.id, n.address, n.role.map(|r| r.code()).unwrap_or(9)))
            .collect()),
        other => panic!("unexpected {other:?}"),
    }
}

/// A connection with database `db` open; retries while the node is not (yet) serving, for
/// example right after an election, before its barrier is applied.
pub async fn open(addr: &str, db: &str) -> Client {
    wait_for(&format!("OPEN {db} on {addr}"), WAIT, || async {
        let mut c = Client::connect(addr, Duration::from_secs(20)).await.ok()?;
        let r = c
            .call(&Request::Open {
                name: db.into(),
                flags: 0,
                vfs: "volatile".into(),
            })
            .await;
        match r {
            Ok(Response::Db { id: 0 }) => Some(c),
            Err(e) if matches!(e.code(), Some(10250 | 10506)) => None,
            other => panic!("OPEN {db} on {addr}: {other:?}"),
        }
    })
    .await
}

/// EXEC_SQL.
pub fn exec_sql(sql: &str, params: Vec<Value>) -> Request {
    Request::ExecSql {
        db: 0,
        sql: sql.into(),
        params,
        schema: Default::default(),
    }
}

/// QUERY_SQL.
pub fn query_sql(sql: &str, params: Vec<Value>) -> Request {
    Request::QuerySql {
        db: 0,
        sql: sql.into(),
        params,
        schema: Default::default(),
    }
}

/// Runs EXEC_SQL and returns RESULT or the failure code.
pub async fn exec(c: &mut Client, sql: &str) -> Result<(u64, u64), u64> {
    match c.call(&exec_sql(sql, vec![])).await {
        Ok(Response::Result {
            last_insert_id,
            rows_affected,
        }) => Ok((last_insert_id, rows_affected)),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => Err(e.code().unwrap_or(u64::MAX)),
    }
}

/// Runs QUERY_SQL and returns all rows.
pub async fn query(c: &mut Client, sql: &str) -> Result<Vec<Vec<Value>>, u64> {
    match c.query(&query_sql(sql, vec![])).await {
        Ok(batches) => Ok(batches.into_iter().flat_map(|b| b.rows).collect()),
        Err(e) => Err(e.code().unwrap_or(u64::MAX)),
    }
}

/// Reads what a connection that stopped reading its rows still gets: some ROWS batches, never
/// the last one, then the close.
pub async fn assert_cut_short(stalled: &mut Client) {
    let mut batches = 0;
    loop {
        match stalled.recv(dqlite_proto::DecodeHint::default()).await {
            Ok(Response::Rows(r)) => {
                assert_ne!(
                    r.end,
                    dqlite_proto::RowsEnd::Done,
                    "the whole result was sent"
                );
                batches += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => break,
        }
    }
    assert!(batches > 0, "some rows were sent before the client stalled");
}

/// A server process.
pub struct Proc {
    /// The child.
    pub child: Option<Child>,
    /// Its address.
    pub addr: String,
    /// Its data directory.
    pub dir: PathBuf,
    join: Vec<String>,
    timings: [String; 2],
    extra: Vec<String>,
}

impl Proc {
    /// Spawns `dqlite-server` (fast raft timings).
    pub fn spawn(addr: &str, dir: PathBuf, join: &[String]) -> Proc {
        Proc::spawn_with_timings(addr, dir, join, 300, 50)
    }

    /// Spawns `dqlite-server` with this election timeout and heartbeat, in ms (for tests
    /// that load a debug build heavily, where the fastest timings cause needless elections).
    pub fn spawn_with_timings(
        addr: &str,
        dir: PathBuf,
        join: &[String],
        election_ms: u64,
        heartbeat_ms: u64,
    ) -> Proc {
        Proc::spawn_with_args(addr, dir, join, election_ms, heartbeat_ms, &[])
    }

    /// Like [`Proc::spawn_with_timings`], with `extra` flags appended to the command line
    /// (kept for restarts), e.g. `["--snapshot-threshold", "20"]`.
    pub fn spawn_with_args(
        addr: &str,
        dir: PathBuf,
        join: &[String],
        election_ms: u64,
        heartbeat_ms: u64,
        extra: &[&str],
    ) -> Proc {
        let mut p = Proc {
            child: None,
            addr: addr.to_owned(),
            dir,
            join: join.to_vec(),
            timings: [election_ms.to_string(), heartbeat_ms.to_string()],
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        p.restart();
        p
    }

    /// The file its stderr (its log) is appended to, across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.dir.with_extension("log")
    }

    /// Starts the process again with the same flags.
    pub fn restart(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dqlite-server"));
        cmd.args(["--db", &self.addr, "--dir"]).arg(&self.dir);
        let [election, heartbeat] = &self.timings;
        cmd.args([
            "--election-timeout-ms",
            election,
            "--heartbeat-ms",
            heartbeat,
        ]);
        if !self.join.is_empty() {
            cmd.args(["--join", &self.join.join(",")]);
        }
        cmd.args(&self.extra);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        cmd.stdout(Stdio::null())
            .stderr(log)
            .env("RUST_LOG", "info,openraft=warn");
        self.child = Some(cmd.spawn().expect("spawn dqlite-server"));
    }

    /// Sends a signal to the process by its PID.
    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
        }
    }

    /// kill -9 (SIGKILL straight to its PID, also when it is stopped), then reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Starts three server processes in `base/n0..n2` (node 0 bootstraps, the others join it)
/// with `spawn(address, data dir, join list)`, and waits until all three are voters.
pub async fn start_three(
    base: &std::path::Path,
    spawn: impl Fn(&str, PathBuf, &[String]) -> Proc,
) -> Vec<Proc> {
    let addrs: Vec<String> = (0..3).map(|_| free_addr()).collect();
    let mut procs = Vec::new();
    for (i, a) in addrs.iter().enumerate() {
        let join = if i == 0 {
            vec![]
        } else {
            vec![addrs[0].clone()]
        };
        procs.push(spawn(a, base.join(format!("n{i}")), &join));
        if i == 0 {
            wait_for("bootstrap node", WAIT, || async {
                cluster(&addrs[0]).await.ok()
            })
            .await;
        }
    }
    wait_for("3 voters", WAIT, || async {
        let nodes = cluster(&addrs[0]).await.ok()?;
        (nodes.iter().filter(|n| n.2 == 0).count() == 3).then_some(())
    })
    .await;
    procs
}

/// A free port on a loopback address of its own (`127.a.b.c`, bound with port 0 and
/// released), so a restarted process gets its port back even while other tests bind
/// `127.0.0.1:0` in parallel.
pub fn free_addr() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = std::process::id()
        .wrapping_mul(2_654_435_761)
        .wrapping_add(n.wrapping_mul(40_503));
    let ip = format!(
        "127.{}.{}.{}",
        100 + seed % 100,
        (seed >> 8) % 250 + 1,
        (seed >> 16) % 250 + 1
    );
    let l = std::net::TcpListener::bind(format!("{ip}:0")).expect("bind");
    l.local_addr().expect("addr").to_string()
}
