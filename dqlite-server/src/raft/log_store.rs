//! The durable raft log: a SQLite file (`raft.db`) in WAL mode with `synchronous=FULL`, so a
//! committed transaction is on disk. Entries live in one table per segment (see `segments`),
//! so a purge drops whole tables; reads never go below the last purge point.
//!
//! Appends are handed to a dedicated log thread and `append` returns at once; the thread writes
//! every append waiting in its queue as one transaction and tells openraft the entries are
//! durable only after that transaction committed. Entries not yet on disk (and recent ones)
//! are kept in memory, so readers see them immediately. Votes are durable before `save_vote`
//! returns.
//!
//! openraft 0.9 itself awaits each append's callback inside `RaftCore` (`append_to_log`), and
//! it appends one client write at a time, so in practice every entry a leader proposes costs
//! one log transaction and one fsync, one after the other (measured: 1.00 entry per log write
//! at any load), and the leader's replication starts only after its own fsync. The queue
//! groups appends only once openraft stops waiting (its 0.10 line appends without blocking).

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogReader, Vote};
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::floor::SnapshotFloor;
use super::log_cache::{Entries, EntryCache};
use super::log_thread::{writer, Job, Reply};
use super::segments;
use super::{any_error, se, Entry, LogId, StorageError, TypeConfig};

/// The log store; cheap to clone (clones share the thread and the cache).
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
}

struct Shared {
    /// Recent entries; the log thread holds it weakly to mark them on disk.
    cache: Arc<EntryCache>,
    /// First index not purged. Rows below it may remain in the segment that holds the purge
    /// point until that whole segment is dropped; they are never read.
    first: AtomicU64,
    jobs: mpsc::Sender<Job>,
    read: Mutex<Connection>,
    /// When set, a purge waits until a durable snapshot covers it (see [`SnapshotFloor`]).
    floor: Option<SnapshotFloor>,
}

/// How long a purge waits for the snapshot that covers it to be on disk: installing a large
/// snapshot means fsyncing all of it first.
const FLOOR_PATIENCE: Duration = Duration::from_secs(600);

fn open_conn(path: &Path) -> crate::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);",
    )?;
    Ok(conn)
}

impl LogStore {
    /// Opens or creates the log at `path` and starts its thread. Purges are written as soon
    /// as openraft asks (tests; a node's log is opened with [`LogStore::open_with_floor`]).
    #[cfg(test)]
    pub fn open(path: &Path) -> crate::Result<LogStore> {
        Self::open_inner(path, None, crate::config::DEFAULT_LOG_CACHE_BYTES)
    }

    /// Like [`LogStore::open`], but a purge waits until `floor` shows a durable snapshot that
    /// covers it, so the log never begins after the snapshot on disk ends. Fails when the log
    /// on disk already does (the data directory is then inconsistent). At most `cache_bytes`
    /// of entries already on disk stay cached in memory.
    pub fn open_with_floor(
        path: &Path,
        floor: SnapshotFloor,
        cache_bytes: usize,
    ) -> crate::Result<LogStore> {
        let store = Self::open_inner(path, Some(floor.clone()), cache_bytes)?;
        let first = store.shared.first.load(Ordering::Acquire);
        if first > floor.covered().map_or(0, |i| i + 1) {
            return Err(crate::Error::Config(format!(
                "{}: the raft log is purged up to index {} but the snapshot on disk covers only \
                 up to {}; this data directory is inconsistent (remove it and rejoin the node)",
                path.display(),
                first - 1,
                floor
                    .covered()
                    .map_or("nothing".to_owned(), |i| i.to_string()),
            )));
        }
        Ok(store)
    }

    fn open_inner(
        path: &Path,
        floor: Option<SnapshotFloor>,
        cache_bytes: usize,
    ) -> crate::Result<LogStore> {
        let mut write = open_conn(path)?;
        segments::migrate(&mut write)?;
        let read = open_conn(path)?;
        let purged: Option<LogId> = Self::get_meta(&read, "last_purged")
            .map_err(|e| crate::Error::internal(e.to_string()))?;
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            cache: Arc::new(EntryCache::default()),
            first: AtomicU64::new(purged.map_or(0, |l| l.index + 1)),
            jobs: tx,
            read: Mutex::new(read),
            floor,
        });
        let weak = Arc::downgrade(&shared.cache);
        std::thread::Builder::new()
            .name("raft-log".into())
            .spawn(move || writer(write, rx, weak, cache_bytes))?;
        Ok(LogStore { shared })
    }

    fn cache(&self) -> MutexGuard<'_, Entries> {
        self.shared.cache.lock()
    }

    async fn submit(&self, make: impl FnOnce(Reply) -> Job) -> Result<(), StorageError> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .jobs
            .send(make(tx))
            .map_err(|_| se::write_logs(any_error(crate::Error::internal("log thread stopped"))))?;
        rx.await
            .map_err(|_| se::write_logs(any_error(crate::Error::internal("log thread stopped"))))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let conn = shared.read.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| se::read_logs(any_error(e)))?
    }

    fn get_meta<T: serde::de::DeserializeOwned>(
        conn: &Connection,
        key: &str,
    ) -> Result<Option<T>, StorageError> {
        let raw: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| se::read(any_error(e)))?;
        raw.map(|b| bincode::deserialize(&b).map_err(|e| se::read(any_error(e))))
            .transpose()
    }
}

fn decode(bytes: &[u8]) -> Result<Entry, StorageError> {
    bincode::deserialize(bytes).map_err(|e| se::read_logs(any_error(e)))
}

/// `[lo, hi)` of a range of indexes.
fn bounds<RB: RangeBounds<u64>>(range: &RB) -> (u64, u64) {
    use std::ops::Bound::*;
    let lo = match range.start_bound() {
        Included(&n) => n,
        Excluded(&n) => n.saturating_add(1),
        Unbounded => 0,
    };
    let hi = match range.end_bound() {
        Included(&n) => n.saturating_add(1),
        Excluded(&n) => n,
        Unbounded => u64::MAX,
    };
    (lo, hi)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let (lo, hi) = bounds(&range);
        let lo = lo.max(self.shared.first.load(Ordering::Acquire));
        if lo >= hi {
            return Ok(Vec::new());
        }
        // The cache is one contiguous run ending at the last entry of the log, and everything
        // before its first index is on disk.
        let (cache_first, mut tail) = {
            let cache = self.cache();
            let first = cache.first_key_value().map(|(k, _)| *k);
            let tail: Vec<Entry> = cache.range(lo..hi).map(|(_, (e, _))| e.clone()).collect();
            (first, tail)
        };
        let disk_hi = cache_first.map_or(hi, |f| f.min(hi));
        if lo >= disk_hi {
            return Ok(tail);
        }
        let mut out: Vec<Entry> = self
            .read(move |conn| {
                segments::read_range(conn, lo, disk_hi)
                    .map_err(|e| se::read_logs(any_error(e)))?
                    .iter()
                    .map(|raw| decode(raw))
                    .collect()
            })
            .await?;
        out.append(&mut tail);
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let cached_last = self.cache().last_key_value().map(|(_, (e, _))| e.log_id);
        let (last_purged, last_disk) = self
            .read(|conn| {
                let last_purged: Option<LogId> = Self::get_meta(conn, "last_purged")?;
                let raw = segments::last(conn).map_err(|e| se::read_logs(any_error(e)))?;
                Ok((
                    last_purged,
                    raw.map(|b| decode(&b)).transpose()?.map(|e| e.log_id),
                ))
            })
            .await?;
        // Rows below the purge point may linger, so the purge point itself can be the last.
        let last = cached_last.max(last_disk).max(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        let bytes = bincode::serialize(vote).map_err(|e| se::write_vote(any_error(e)))?;
        self.submit(|r| Job::Meta("vote".into(), bytes, r)).await
    }

    /// The saved vote, always as *not committed*. openraft reads it once, at start-up, and
    /// would resume leadership at once from a committed vote for this node, in the same term.
    /// A leader's log may lack entries it had already sent to followers (appended in memory,
    /// not yet written when it died), so it would propose different entries under the same
    /// (term, index) and the replicas would diverge. Uncommitted, the vote keeps the term and
    /// whom this node voted for, which is all Raft needs: leading again takes a new election.
    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        let vote: Option<Vote<u64>> = self.read(|conn| Self::get_meta(conn, "vote")).await?;
        Ok(vote.map(|v| Vote {
            committed: false,
            ..v
        }))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut rows = Vec::with_capacity(entries.len());
        for e in &entries {
            rows.push((
                e.log_id.index,
                bincode::serialize(e).map_err(|e| se::write_logs(any_error(e)))?,
            ));
        }
        {
            let mut cache = self.cache();
            for e in entries {
                cache.insert(e.log_id.index, (e, false));
            }
        }
        self.shared
            .jobs
            .send(Job::Append(rows, callback))
            .map_err(|_| se::write_logs(any_error(crate::Error::internal("log thread stopped"))))
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let idx = log_id.index;
        {
            let mut cache = self.cache();
            let _ = cache.split_off(&idx);
        }
        self.submit(|r| Job::Truncate(idx, r)).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        if let Some(floor) = &self.shared.floor {
            if !floor.wait_covers(log_id.index, FLOOR_PATIENCE).await {
                return Err(se::write_logs(any_error(crate::Error::internal(format!(
                    "no durable snapshot covers log index {} after {FLOOR_PATIENCE:?}: not purging",
                    log_id.index
                )))));
            }
        }
        let bytes = bincode::serialize(&log_id).map_err(|e| se::write_logs(any_error(e)))?;
        self.shared
            .first
            .fetch_max(log_id.index + 1, Ordering::AcqRel);
        {
            let mut cache = self.cache();
            let keep = cache.split_off(&(log_id.index + 1));
            *cache = keep;
        }
        self.submit(|r| Job::Purge(log_id, bytes, r)).await?;
        tracing::info!(upto = log_id.index, "log purged");
        Ok(())
    }
}
