//! Local faults of one node: its data directory fills up. The full node stops cleanly (it
//! exits non-zero after one log line), the others keep serving, nothing acknowledged is
//! lost, and the node catches up once space is back.
//!
//! Needs root (the test mounts a small tmpfs of its own and removes it, also on failure);
//! elsewhere it skips with a message, except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dqlite_proto::Value;
use dqlite_server::client::Client;

use crate::util::*;

/// A tmpfs mounted on a directory of the test's own; unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mount(8) syntax) on `dir`, or explains why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs(dir.to_owned()))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("remount");
        assert!(status.success(), "remount {} failed", self.0.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A tmpfs, or `None` when this machine cannot give one (not root) outside CI.
fn small_disk(dir: &Path, size: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(dir, size) {
        Ok(fs) => Some(fs),
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping: cannot mount a tmpfs here ({why}); run as root");
            None
        }
        Err(why) => panic!("cannot mount a tmpfs: {why}"),
    }
}

/// Inserts rows with ids from `ids` until `stop` says so, reconnecting to the leader after a
/// failure; returns the acknowledged ids and every id tried.
async fn write_until(
    addrs: &[String],
    ids: std::ops::Range<i64>,
    mut stop: impl FnMut() -> bool,
) -> (Vec<i64>, Vec<i64>) {
    let mut acked = Vec::new();
    let mut tried = Vec::new();
    let mut conn: Option<Client> = None;
    for id in ids {
        if stop() {
            break;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                let l = leader_addr(addrs).await;
                conn.insert(open(&l, "full").await)
            }
        };
        tried.push(id);
        let req = exec_sql(
            "INSERT INTO t VALUES (?, randomblob(32768))",
            vec![Value::Integer(id)],
        );
        match c.call(&req).await {
            Ok(_) => acked.push(id),
            Err(_) => conn = None,
        }
    }
    (acked, tried)
}

async fn leader_addr(addrs: &[String]) -> String {
    wait_for("a leader", WAIT, || async {
        let mut c = dqlite_server::client::connect_leader(addrs, Duration::from_secs(2))
            .await
            .ok()?;
        c.leader().await.ok()?.map(|(_, a)| a)
    })
    .await
}

/// The ids in node `dir`'s copy of the database.
fn ids(dir: &Path) -> Vec<i64> {
    local_rows(dir, "full", "SELECT n FROM t ORDER BY n")
        .iter()
        .filter_map(|r| r.strip_prefix("Integer(")?.strip_suffix(')')?.parse().ok())
        .collect()
}

async fn disk_full(name: &str, victim: usize) {
    let tmp = TempDir::new(name);
    let Some(disk) = small_disk(&tmp.0.join(format!("n{victim}")), "12m") else {
        return;
    };
    let mut procs = start_three(&tmp.0, |a, dir, join| {
        Proc::spawn_with_timings(a, dir, join, 1500, 150)
    })
    .await;
    let addrs: Vec<String> = procs.iter().map(|p| p.addr.clone()).collect();
    let l = leader_addr(&addrs).await;
    let mut c = open(&l, "full").await;
    exec(&mut c, "CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB)")
        .await
        .expect("create");

    // Write until the victim's disk is full and it has stopped by itself.
    let mut exit = None;
    let (mut acked, mut tried) = write_until(&addrs, 0..100_000, || {
        exit = procs[victim]
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        exit.is_some()
    })
    .await;
    let status = exit.expect("the node with a full disk kept running");
    assert!(!status.success(), "it must exit non-zero, got {status}");
    procs[victim].child = None;
    let log = std::fs::read_to_string(tmp.0.join(format!("n{victim}.log"))).unwrap_or_default();
    assert!(log.contains("fatal"), "no fatal line in its log:\n{log}");

    // The other two keep serving.
    let (more, more_tried) = write_until(&addrs, 100_000..100_020, || false).await;
    assert!(!more.is_empty(), "the cluster stopped serving");
    acked.extend(more);
    tried.extend(more_tried);

    // Space is back: the node restarts, catches up, and holds every acknowledged row.
    disk.resize("512m");
    procs[victim].restart();
    let survivor = (victim + 1) % 3;
    let (victim_dir, survivor_dir) = (
        tmp.0.join(format!("n{victim}")),
        tmp.0.join(format!("n{survivor}")),
    );
    let rows = wait_for("the restarted node to catch up", WAIT, || async {
        let (a, b) = (ids(&victim_dir), ids(&survivor_dir));
        (!a.is_empty() && a == b).then_some(a)
    })
    .await;
    for id in &acked {
        assert!(rows.binary_search(id).is_ok(), "acknowledged row {id} lost");
    }
    for id in &rows {
        assert!(tried.contains(id), "row {id} was never written");
    }
    drop(procs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_whose_disk_fills_stops_and_rejoins_without_losing_a_row() {
    disk_full("full-follower", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_disk_fills_stops_and_rejoins_without_losing_a_row() {
    disk_full("full-leader", 0).await;
}
