//! Snapshot install against log purge (hardening finding F4): a follower killed with
//! SIGKILL at any instant of a snapshot install restarts, catches up, and holds every
//! acknowledged row.
//!
//! openraft 0.9 purges a follower's log as soon as it has handed a received snapshot to the
//! state machine, without waiting for it; the log store holds that purge back until the new
//! snapshot file is durable (`raft/floor.rs`). Each round stops a follower (SIGSTOP), writes
//! until the leader has purged its log past what the follower holds, resumes the follower so
//! it must install a snapshot of a database of several MB, and kills it at a varying delay
//! after the line of its log that shows the receive or the install began. It must then start
//! again (a node whose log is purged past its snapshot refuses to start) and catch up.
//!
//! The delays are random; `DQLITE_SNAPKILL_SEED=<n>` repeats a run's choices (the seed is
//! printed).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use dqlite_proto::Value;
use dqlite_server::client::{connect_leader, Client};

use crate::util::*;

/// Small snapshot settings, so a stopped follower falls behind the leader's purged log fast.
const FLAGS: &[&str] = &["--snapshot-threshold", "20", "--snapshot-trailing", "5"];
/// Rounds of stop, write, resume, kill, restart.
const ROUNDS: usize = 8;
/// The bulk of the database: transactions of `BULK_ROWS` rows of `BULK_BLOB` bytes.
const BULK_TXS: i64 = 8;
const BULK_ROWS: i64 = 32;
const BULK_BLOB: i64 = 32 * 1024;
/// Rows written while a follower is stopped are small: the database stays about the same size.
const SMALL_BLOB: i64 = 512;
/// New purges of the leader's log (one per snapshot) to wait for while a follower is stopped:
/// a snapshot is taken every 20 entries and 5 are kept behind it, so after three the log
/// starts past the end of the stopped follower's; one more for slack.
const PURGES: usize = 4;
/// Most rows written in one round while waiting for them.
const MAX_ROUND_ROWS: i64 = 400;
/// How long a restarted follower has to catch up.
const CATCH_UP: Duration = Duration::from_secs(60);

const INSTALL: &str = "snapshot install begins";
const RECEIVE: &str = "snapshot receive begins";
const DURABLE: &str = "snapshot install: file durable and current";
const INSTALLED: &str = "snapshot installed";

/// xorshift64*: enough to vary the kill instants reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Size of a log file (0 while it does not exist).
fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The text of a log file from byte `from` on.
fn log_since(path: &Path, from: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let mut raw = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_ok() {
        let _ = f.read_to_end(&mut raw);
    }
    String::from_utf8_lossy(&raw).into_owned()
}

/// The last `n` lines of `text`, for failure messages.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The ids in the copy of the database under data directory `dir`.
fn ids(dir: &Path) -> Vec<i64> {
    local_rows(dir, "big", "SELECT n FROM t ORDER BY n")
        .iter()
        .filter_map(|r| r.strip_prefix("Integer(")?.strip_suffix(')')?.parse().ok())
        .collect()
}

/// Index of the leader among `addrs`, waiting for one.
async fn leader_of(addrs: &[String]) -> usize {
    wait_for("a leader", WAIT, || async {
        let mut c = connect_leader(addrs, Duration::from_secs(2)).await.ok()?;
        let (_, a) = c.leader().await.ok()??;
        addrs.iter().position(|x| *x == a)
    })
    .await
}

/// Writes to whichever node leads, reconnecting after a failure; records what it tried and
/// what was acknowledged.
struct Writer {
    addrs: Vec<String>,
    conn: Option<Client>,
    next: i64,
    acked: Vec<i64>,
    tried: Vec<i64>,
}

impl Writer {
    /// One transaction inserting `rows` rows of `blob` random bytes; true when acknowledged.
    async fn insert(&mut self, rows: i64, blob: i64) -> bool {
        if self.conn.is_none() {
            let l = leader_of(&self.addrs).await;
            self.conn = Some(open(&self.addrs[l], "big").await);
        }
        let first = self.next;
        self.next += rows;
        let ids: Vec<i64> = (first..first + rows).collect();
        self.tried.extend(&ids);
        let req = exec_sql(
            "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x + 1 < ?2) \
             INSERT INTO t SELECT ?1 + x, randomblob(?3) FROM c",
            vec![
                Value::Integer(first),
                Value::Integer(rows),
                Value::Integer(blob),
            ],
        );
        let c = self.conn.as_mut().expect("connected");
        match tokio::time::timeout(WAIT, c.call(&req)).await {
            Ok(Ok(_)) => {
                self.acked.extend(ids);
                true
            }
            _ => {
                self.conn = None;
                false
            }
        }
    }
}

/// Where a kill landed, read from the victim's log of the round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Landed {
    /// While the snapshot was being received (before the state machine got it).
    Receiving,
    /// After the install began, before the line saying the new snapshot file is durable and
    /// current (the kill may still have come after the rename): the window in which an early
    /// purge would leave the log past the snapshot on disk.
    BeforeDurable,
    /// Snapshot file durable; the databases were being restored from it.
    Restoring,
    /// After the install completed.
    AfterInstall,
}

fn landed(log: &str) -> Landed {
    if log.contains(INSTALLED) {
        Landed::AfterInstall
    } else if log.contains(DURABLE) {
        Landed::Restoring
    } else if log.contains(INSTALL) {
        Landed::BeforeDurable
    } else {
        Landed::Receiving
    }
}

/// Panics with the log tail when the process has exited, or its log shows it refused to start.
fn assert_alive(p: &mut Proc, since: u64, what: &str) {
    let exited = p.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
    let log = log_since(&p.log_path(), since);
    if let Some(status) = exited {
        panic!(
            "{what}: the node at {} exited ({status}); its log:\n{}",
            p.addr,
            tail(&log, 30)
        );
    }
    for bad in ["inconsistent", "fatal", "panicked"] {
        assert!(
            !log.contains(bad),
            "{what}: the log of the node at {} says {bad:?}:\n{}",
            p.addr,
            tail(&log, 30)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_killed_during_snapshot_installs_restarts_and_catches_up() {
    let started = Instant::now();
    let seed = std::env::var("DQLITE_SNAPKILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        | 1;
    eprintln!("snapshot-kill: DQLITE_SNAPKILL_SEED={seed}");
    let mut rng = Rng(seed);

    let tmp = TempDir::new("snapkill");
    let mut procs = start_three(&tmp.0, |a, dir, join| {
        Proc::spawn_with_args(a, dir, join, 1500, 150, FLAGS)
    })
    .await;
    let addrs: Vec<String> = procs.iter().map(|p| p.addr.clone()).collect();

    let mut w = Writer {
        addrs: addrs.clone(),
        conn: None,
        next: 0,
        acked: Vec::new(),
        tried: Vec::new(),
    };
    {
        let l = leader_of(&addrs).await;
        let mut c = open(&addrs[l], "big").await;
        exec(&mut c, "CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB)")
            .await
            .expect("create table");
    }
    // Several MB, so a snapshot install takes measurable time.
    let mut bulk = 0;
    while bulk < BULK_TXS {
        if w.insert(BULK_ROWS, BULK_BLOB).await {
            bulk += 1;
        }
        assert!(
            w.tried.len() as i64 <= 4 * BULK_TXS * BULK_ROWS,
            "the bulk load keeps failing"
        );
    }

    let mut hits: Vec<(usize, Landed, &str, u64)> = Vec::new();
    for round in 0..ROUNDS {
        let l = leader_of(&addrs).await;
        let followers: Vec<usize> = (0..3).filter(|&i| i != l).collect();
        let v = followers[round % followers.len()];
        // The follower holds everything so far before it is stopped.
        let want = w.acked.last().copied();
        let vdir = procs[v].dir.clone();
        wait_for(
            &format!("round {round}: node {v} to hold id {want:?} before it is stopped"),
            CATCH_UP,
            || async { (ids(&vdir).last().copied() >= want).then_some(()) },
        )
        .await;
        let offsets: Vec<u64> = procs.iter().map(|p| log_len(&p.log_path())).collect();

        // Stop it, and write until the leader's log starts past the end of the follower's.
        procs[v].signal("-STOP");
        let mut written = 0;
        let mut l = l;
        loop {
            assert_ne!(l, v, "a stopped node became leader");
            let purges = log_since(&procs[l].log_path(), offsets[l])
                .matches("log purged")
                .count();
            if purges >= PURGES {
                break;
            }
            assert!(
                written < MAX_ROUND_ROWS,
                "round {round}: {written} rows written while node {v} was stopped, and the \
                 leader (node {l}) purged its log only {purges} times"
            );
            if !w.insert(1, SMALL_BLOB).await {
                l = leader_of(&addrs).await;
            }
            written += 1;
        }

        // Resume it, wait for the line that shows the receive or the install began, and
        // kill it a little later. Most kills land within a few ms of the install's start:
        // there the purge of its log (issued at once by openraft) races the fsync and rename
        // of the new snapshot file, which take only a few ms here.
        let (anchor, delay_ms) = match rng.next() % 8 {
            0 => (RECEIVE, rng.pick(&[0, 5, 20, 100, 400])),
            1 => (INSTALL, rng.pick(&[10, 20, 50, 100])),
            _ => (INSTALL, rng.pick(&[0, 1, 2, 3, 4, 5, 6])),
        };
        procs[v].signal("-CONT");
        let vlog = procs[v].log_path();
        wait_for(
            &format!("round {round}: node {v} to log {anchor:?} (a snapshot install)"),
            WAIT,
            || async { log_since(&vlog, offsets[v]).contains(anchor).then_some(()) },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        procs[v].kill9();
        let at = landed(&log_since(&vlog, offsets[v]));
        eprintln!(
            "snapshot-kill: round {round}: node {v} killed {delay_ms} ms after {anchor:?}, \
             {written} rows written while stopped; landed {at:?}"
        );
        hits.push((round, at, anchor, delay_ms));

        // It restarts and catches up: same rows as the leader, every acknowledged one.
        let restart_at = log_len(&vlog);
        procs[v].restart();
        let last = w.acked.last().copied();
        let ldir = procs[l].dir.clone();
        let mut check = Instant::now();
        wait_for(
            &format!("round {round}: node {v} to restart and catch up"),
            CATCH_UP,
            || {
                if check.elapsed() > Duration::from_millis(100) {
                    assert_alive(&mut procs[v], restart_at, &format!("round {round}"));
                    check = Instant::now();
                }
                let (vdir, ldir) = (vdir.clone(), ldir.clone());
                async move {
                    let (a, b) = (ids(&vdir), ids(&ldir));
                    (a.last().copied() >= last && a == b).then_some(())
                }
            },
        )
        .await;
        assert_alive(&mut procs[v], restart_at, &format!("round {round}"));
    }

    // Every node still runs, serves as a member, and holds the same rows: every
    // acknowledged one and nothing never written.
    let members = wait_for("the cluster list", WAIT, || async {
        cluster(&addrs[0]).await.ok()
    })
    .await;
    assert_eq!(
        members.iter().filter(|n| n.2 == 0).count(),
        3,
        "three voters at the end: {members:?}"
    );
    for p in procs.iter_mut() {
        assert_alive(p, 0, "at the end");
    }
    let l = leader_of(&addrs).await;
    let rows = ids(&procs[l].dir);
    for p in &procs {
        let dir = p.dir.clone();
        let r = rows.clone();
        wait_for(
            &format!("node at {} to hold the leader's rows", p.addr),
            CATCH_UP,
            || {
                let (dir, r) = (dir.clone(), r.clone());
                async move { (ids(&dir) == r).then_some(()) }
            },
        )
        .await;
    }
    for id in &w.acked {
        assert!(rows.binary_search(id).is_ok(), "acknowledged row {id} lost");
    }
    for id in &rows {
        assert!(w.tried.contains(id), "row {id} was never written");
    }

    let installs: usize = procs
        .iter()
        .map(|p| log_since(&p.log_path(), 0).matches(INSTALL).count())
        .sum();
    let during = hits
        .iter()
        .filter(|h| matches!(h.1, Landed::BeforeDurable | Landed::Restoring))
        .count();
    eprintln!(
        "snapshot-kill: {} rounds, kills during an install {during} (before the snapshot \
         file was durable: {}), installs begun {installs}, rows {} ({} acknowledged), {:?}",
        hits.len(),
        hits.iter().filter(|h| h.1 == Landed::BeforeDurable).count(),
        rows.len(),
        w.acked.len(),
        started.elapsed()
    );
    // Not vacuous: the follower was made to install a snapshot in every round (the anchor
    // line is logged only by an install).
    assert_eq!(hits.len(), ROUNDS);
    drop(procs);
}
