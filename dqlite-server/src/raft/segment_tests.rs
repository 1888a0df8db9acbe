//! The segmented raft log: migration from the single-table format, reads and truncation across
//! segments, purges that drop whole segments, and the same state after a restart.

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader};

use super::log_store::LogStore;
use super::segments::{self, SEGMENT};
use super::{Entry, LogId};

fn log_id(i: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(1, 1), i)
}

fn entry(i: u64) -> Entry {
    Entry {
        log_id: log_id(i),
        payload: EntryPayload::Blank,
    }
}

fn tables(path: &std::path::Path) -> Vec<u64> {
    let conn = rusqlite::Connection::open(path).expect("open raft.db");
    segments::list(&conn).expect("list segments")
}

async fn indexes(log: &mut LogStore, lo: u64, hi: u64) -> Vec<u64> {
    let got = log.try_get_log_entries(lo..hi).await.expect("read");
    got.iter().map(|e| e.log_id.index).collect()
}

/// The log after the purge at 5000: entries 5001..=8999, nothing below.
async fn purged_at_5000(log: &mut LogStore) {
    assert_eq!(
        indexes(log, 0, 10_000).await,
        (5001..9000).collect::<Vec<_>>()
    );
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_purged_log_id, Some(log_id(5000)));
    assert_eq!(state.last_log_id, Some(log_id(8999)));
}

#[tokio::test]
async fn the_log_migrates_spans_segments_truncates_purges_and_restarts() {
    let dir = std::env::temp_dir().join(format!("dqlite-server-segments-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("raft.db");

    // A log in the single-table format of earlier versions.
    let n = SEGMENT + 904; // 0..5000
    {
        let conn = rusqlite::Connection::open(&path).expect("create raft.db");
        conn.execute_batch(
            "CREATE TABLE log (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);",
        )
        .expect("old schema");
        for i in 0..n {
            let raw = bincode::serialize(&entry(i)).expect("encode");
            conn.execute(
                "INSERT INTO log (idx, entry) VALUES (?1, ?2)",
                rusqlite::params![i as i64, raw],
            )
            .expect("old row");
        }
    }
    let mut log = LogStore::open(&path).expect("open and migrate");
    assert_eq!(tables(&path), vec![0, 1], "rows moved into two segments");
    assert_eq!(indexes(&mut log, 0, n).await, (0..n).collect::<Vec<_>>());

    // Appends open a third segment; truncation reaches back into it.
    log.blocking_append((n..2 * SEGMENT + 1808).map(entry))
        .await
        .expect("append");
    assert_eq!(tables(&path), vec![0, 1, 2]);
    log.truncate(log_id(9000)).await.expect("truncate");
    let state = log.get_log_state().await.expect("state");
    assert_eq!(state.last_log_id, Some(log_id(8999)));

    // A purge inside segment 1 drops segment 0 whole; what is left of segment 1 below the
    // purge point is never read.
    log.purge(log_id(5000)).await.expect("purge");
    assert_eq!(tables(&path), vec![1, 2]);
    purged_at_5000(&mut log).await;
    drop(log);

    // The same after a restart (entries are read from disk, not from the cache).
    let mut log = LogStore::open(&path).expect("reopen");
    purged_at_5000(&mut log).await;
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
