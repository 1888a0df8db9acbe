//! Node configuration: identity, data directory, raft timings, SQL limits and the limits that
//! keep one client from exhausting the node (connections, timeouts, queues, frame sizes).

use std::path::PathBuf;
use std::time::Duration;

/// go-dqlite's id for the node that bootstraps a cluster.
pub const BOOTSTRAP_ID: u64 = 0x2dc1_7185_8c31_55be;

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address clients and peers dial; reported verbatim by LEADER and CLUSTER.
    pub address: String,
    /// Data directory (identity, raft log, snapshots, databases).
    pub dir: PathBuf,
    /// Addresses of existing nodes to join through; empty means bootstrap a new cluster.
    pub join: Vec<String>,
    /// Election timeout E: a follower stands for election `[E, 4E/3)` after it last heard
    /// from the leader, and a leader that hears from no quorum for E stops serving.
    pub election_timeout: Duration,
    /// Leader heartbeat interval.
    pub heartbeat_interval: Duration,
    /// How long a writer waits in the per-database queue before "database is locked".
    pub busy_timeout: Duration,
    /// Take a snapshot after this many log entries since the last one.
    pub snapshot_threshold: u64,
    /// Log entries kept behind a snapshot, for lagging followers.
    pub snapshot_trailing: u64,
    /// Read threads serving queries in parallel with the writer.
    pub readers: usize,
    /// DESCRIBE's failure domain.
    pub failure_domain: u64,
    /// Automatic roles: how many voters and stand-bys a joining node aims for.
    pub voters: usize,
    /// See `voters`.
    pub standbys: usize,
    /// How often the leader re-balances roles (promotes stand-bys or spares, demotes offline
    /// nodes); `None` disables it. go-dqlite's app uses 30 s.
    pub role_adjust_interval: Option<Duration>,
    /// Largest write transaction, in bytes of replicated changes (at most
    /// [`MAX_TX_BYTES_LIMIT`]). A bigger one is rolled back and fails with SQLITE_TOOBIG (18)
    /// instead of being proposed: one raft entry must reach a follower, and be written there,
    /// within a heartbeat interval, or its replication is retried with no end and the
    /// followers, hearing nothing, elect another leader. Size it to the network and disk:
    /// about what a follower receives and writes in half a heartbeat.
    pub max_tx_bytes: u64,
    /// Most databases a cluster holds. Each costs every node a thread, a connection and its
    /// files; an OPEN of a new name beyond it fails before anything is proposed.
    pub max_databases: usize,
    /// Most client connections served at once; a connection over it is answered
    /// FAILURE(SQLITE_BUSY, "too many client connections") and closed. Raft peers (CONNECT)
    /// do not count: [`PEER_HEADROOM`] more sockets are accepted so that they still get in.
    pub max_connections: usize,
    /// A connection must send its protocol version and first request within this time.
    pub handshake_timeout: Duration,
    /// A client connection that sends no request for this long is closed (zero: never).
    pub idle_timeout: Duration,
    /// Same, while the connection holds an open transaction (zero: never); closing it rolls
    /// the transaction back and frees the database for other writers.
    pub tx_idle_timeout: Duration,
    /// Most prepared statements per connection; PREPARE over it fails with SQLITE_ERROR.
    pub max_statements: usize,
    /// Largest client request frame body in bytes (the raft peer frame is bounded by
    /// [`crate::raft::network::MAX_FRAME`]).
    pub max_frame_bytes: usize,
    /// Most reads waiting for a reader thread; one more fails at once with SQLITE_BUSY.
    pub read_queue: usize,
    /// Longest a client statement may run before it fails with SQLITE_INTERRUPT (zero: no
    /// limit). Applying committed entries is never limited.
    pub statement_timeout: Duration,
    /// Bytes of raft log entries already on disk kept in memory for replication to lagging
    /// followers (entries not yet on disk are always kept).
    pub log_cache_bytes: usize,
    /// Confirm every read with a quorum instead of trusting the leader lease (see
    /// [`crate::raft::lease`]): no assumption about clocks, one heartbeat round more per
    /// read (shared by the reads that wait together).
    pub linearizable_reads: bool,
}

/// Sockets accepted beyond [`Config::max_connections`], so that raft peers (which start like
/// clients: version word, then CONNECT) still get in while clients use every slot. A client
/// that lands in this headroom is refused at its first request.
pub const PEER_HEADROOM: usize = 64;

/// Default of [`Config::log_cache_bytes`]: 64 MiB (entries can be up to 128 MiB each, so a
/// count alone does not bound the cache).
pub const DEFAULT_LOG_CACHE_BYTES: usize = 64 << 20;

/// Default of [`Config::max_databases`].
pub const DEFAULT_MAX_DATABASES: usize = 1024;

/// Default of [`Config::max_tx_bytes`]: 8 MiB, what replicates within the default 150 ms
/// heartbeat with room to spare (on loopback, on a busy two-core machine, 8 MB rows committed
/// every time and 16 MB rows failed two times in three as the leader lost its followers). Raise
/// it together with the heartbeat and the election timeout: with 3000/500 ms, 64 MB rows
/// commit.
pub const DEFAULT_MAX_TX_BYTES: u64 = 8 << 20;

/// Upper bound of [`Config::max_tx_bytes`]: an entry must fit in one raft frame with room for
/// its envelope.
pub const MAX_TX_BYTES_LIMIT: u64 = (crate::raft::network::MAX_FRAME as u64) / 2;

/// Default election timeout, ms. dqlite uses 3 s; a shorter one lets writes resume within
/// about 1.5 s of a leader's crash (elections start 0.75–1 s after its last heartbeat).
pub const DEFAULT_ELECTION_TIMEOUT_MS: u64 = 750;

/// Default heartbeat interval, ms: five per follower lease (2E/3), and below openraft's
/// smallest election timeout (E/3).
pub const DEFAULT_HEARTBEAT_MS: u64 = 150;

impl Config {
    /// Defaults for a node at `address` with data in `dir`.
    pub fn new(address: impl Into<String>, dir: impl Into<PathBuf>) -> Config {
        Config {
            address: address.into(),
            dir: dir.into(),
            join: Vec::new(),
            election_timeout: Duration::from_millis(DEFAULT_ELECTION_TIMEOUT_MS),
            heartbeat_interval: Duration::from_millis(DEFAULT_HEARTBEAT_MS),
            busy_timeout: Duration::from_secs(5),
            snapshot_threshold: 8192,
            snapshot_trailing: 8192,
            readers: 2,
            failure_domain: 0,
            voters: 3,
            standbys: 3,
            role_adjust_interval: Some(Duration::from_secs(30)),
            max_tx_bytes: DEFAULT_MAX_TX_BYTES,
            max_databases: DEFAULT_MAX_DATABASES,
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(300),
            tx_idle_timeout: Duration::from_secs(30),
            max_statements: 1024,
            max_frame_bytes: dqlite_proto::DEFAULT_MAX_BODY,
            read_queue: crate::sql::limit::DEFAULT_READ_QUEUE,
            statement_timeout: crate::sql::limit::DEFAULT_STATEMENT_TIMEOUT,
            log_cache_bytes: DEFAULT_LOG_CACHE_BYTES,
            linearizable_reads: false,
        }
    }

    /// The openraft configuration these settings describe.
    ///
    /// openraft 0.9 makes a follower that saw a leader wait its leader lease
    /// (`election_timeout_max`) *plus* a random `[min, max)` before it stands, and refuse
    /// votes during the lease. Mapping E = `election_timeout` to min = E/3 and max = 2E/3
    /// gives dqlite's behaviour: an election starts `[E, 4E/3)` after the leader went
    /// silent (with the default E = 750 ms: 0.75–1 s; mapping E to min directly made it
    /// 3E–4E). The leader's read lease follows from `max` (see [`crate::raft::lease`]).
    pub fn raft_config(&self) -> openraft::Config {
        let (min, max) = election_window(
            self.election_timeout.as_millis() as u64,
            self.heartbeat_interval.as_millis() as u64,
        );
        openraft::Config {
            cluster_name: "dqlite".into(),
            election_timeout_min: min,
            election_timeout_max: max,
            heartbeat_interval: self.heartbeat_interval.as_millis() as u64,
            install_snapshot_timeout: (self.election_timeout.as_millis() as u64 * 2).max(1000),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_threshold),
            max_in_snapshot_log_to_keep: self.snapshot_trailing,
            snapshot_max_chunk_size: 1 << 20,
            ..Default::default()
        }
    }
}

/// openraft's `(election_timeout_min, election_timeout_max)` for an election timeout of
/// `e` ms: `(e/3, 2e/3)`, raised where needed to stay above the heartbeat interval (openraft
/// requires `heartbeat < min < max`).
fn election_window(e: u64, heartbeat: u64) -> (u64, u64) {
    let max = 2 * e / 3;
    let min = (e - max).max(heartbeat + 1);
    let max = max.max(min + 1);
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest and shortest silence after which a follower that saw a leader stands:
    /// openraft waits the lease (max) plus a random [min, max).
    fn wait_range(c: &openraft::Config) -> (u64, u64) {
        (
            c.election_timeout_max + c.election_timeout_min,
            2 * c.election_timeout_max,
        )
    }

    #[test]
    fn a_follower_stands_between_one_and_two_election_timeouts() {
        for (e, hb) in [(3000, 500), (300, 50), (2000, 500), (10_000, 100)] {
            let mut c = Config::new("127.0.0.1:9001", "/tmp/x");
            c.election_timeout = Duration::from_millis(e);
            c.heartbeat_interval = Duration::from_millis(hb);
            let rc = c.raft_config();
            let (lo, hi) = wait_range(&rc);
            assert!(lo >= e && hi <= 2 * e, "E={e}: waits [{lo}, {hi}) ms");
            assert!(rc.clone().validate().is_ok(), "E={e}: {rc:?}");
        }
    }

    #[test]
    fn the_defaults_elect_within_a_second_and_renew_the_read_lease_several_times() {
        let c = Config::new("127.0.0.1:9001", "/tmp/x");
        let rc = c.raft_config();
        assert!(rc.clone().validate().is_ok(), "{rc:?}");
        assert_eq!(
            wait_range(&rc),
            (750, 1000),
            "elections start 0.75-1 s after silence"
        );
        let lease =
            crate::raft::lease::leader_lease(Duration::from_millis(rc.election_timeout_max));
        assert!(
            lease >= 3 * c.heartbeat_interval,
            "the read lease ({lease:?}) must outlast several heartbeats"
        );
    }

    #[test]
    fn short_timeouts_stay_valid_for_openraft() {
        let mut c = Config::new("127.0.0.1:9001", "/tmp/x");
        c.election_timeout = Duration::from_millis(1000);
        c.heartbeat_interval = Duration::from_millis(500);
        let rc = c.raft_config();
        assert!(rc.election_timeout_min > rc.heartbeat_interval);
        assert!(rc.clone().validate().is_ok(), "{rc:?}");
    }
}
