//! The raft log's thread: runs log writes in order and writes the appends waiting in its queue
//! in one SQLite transaction (one fsync), then tells openraft they are durable.
//!
//! Entries stay in the shared cache until they are on disk; after that, at most
//! [`CACHE_FLUSHED`] of them and a byte budget of their encoded size (`--log-cache-bytes`)
//! are kept (for replication reads), oldest evicted first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;

use openraft::storage::LogFlushed;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::log_store::Shared;
use super::segments::{self, seg_of};
use super::{any_error, se, LogId, StorageError, TypeConfig};

/// Entries kept in memory after they reached the disk (for replication reads).
const CACHE_FLUSHED: usize = 1024;

/// Where a job's result goes.
pub(super) type Reply = oneshot::Sender<Result<(), StorageError>>;

/// Work for the log thread.
pub(super) enum Job {
    /// Append rows `(index, encoded entry)`; the callback fires once they are durable.
    Append(Vec<(u64, Vec<u8>)>, LogFlushed<TypeConfig>),
    /// Store a metadata value (vote).
    Meta(String, Vec<u8>, Reply),
    /// Delete entries from this index on.
    Truncate(u64, Reply),
    /// Delete entries up to this log id and remember it.
    Purge(LogId, Vec<u8>, Reply),
}

/// The log thread: runs jobs in order, batching consecutive appends into one transaction.
/// At most `cache_bytes` of flushed entries stay cached.
pub(super) fn writer(
    mut conn: Connection,
    rx: mpsc::Receiver<Job>,
    shared: std::sync::Weak<Shared>,
    cache_bytes: usize,
) {
    let mut next: Option<Job> = None;
    // Segments with a table, kept in step with the file after every transaction.
    let mut segs: BTreeSet<u64> = segments::list(&conn)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut sizes = Sizes::default();
    loop {
        let job = match next.take() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        match job {
            Job::Append(rows, cb) => {
                let mut batch = vec![(rows, cb)];
                while let Ok(j) = rx.try_recv() {
                    match j {
                        Job::Append(rows, cb) => batch.push((rows, cb)),
                        other => {
                            next = Some(other);
                            break;
                        }
                    }
                }
                let res = write_rows(
                    &mut conn,
                    &mut segs,
                    batch.iter().flat_map(|(rows, _)| rows.iter()),
                );
                if res.is_ok() {
                    if let Some(shared) = shared.upgrade() {
                        mark_flushed(
                            &shared,
                            &mut sizes,
                            cache_bytes,
                            batch
                                .iter()
                                .flat_map(|(rows, _)| rows.iter().map(|r| (r.0, r.1.len()))),
                        );
                    }
                }
                for (_, cb) in batch {
                    cb.log_io_completed(
                        res.as_ref()
                            .map(|_| ())
                            .map_err(|e| std::io::Error::other(e.to_string())),
                    );
                }
            }
            Job::Meta(key, value, reply) => {
                let r = conn
                    .execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                        params![key, value],
                    )
                    .map(|_| ())
                    .map_err(|e| se::write(any_error(e)));
                let _ = reply.send(r);
            }
            Job::Truncate(idx, reply) => {
                let r = truncate(&mut conn, &segs, idx).map_err(|e| se::write_logs(any_error(e)));
                reload(&conn, &mut segs);
                let _ = reply.send(r);
            }
            Job::Purge(log_id, value, reply) => {
                // Whole segments up to the purge point go; rows below it in the segment that
                // holds it stay until that segment goes, and are never read (see `LogStore`).
                let r = (|| {
                    let tx = conn.transaction()?;
                    tx.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_purged', ?1)",
                        [value],
                    )?;
                    for seg in segs.range(..seg_of(log_id.index + 1)) {
                        segments::remove(&tx, *seg)?;
                    }
                    tx.commit()
                })()
                .map_err(|e| se::write_logs(any_error(e)));
                reload(&conn, &mut segs);
                let _ = reply.send(r);
            }
        }
    }
}

fn write_rows<'a>(
    conn: &mut Connection,
    segs: &mut BTreeSet<u64>,
    rows: impl Iterator<Item = &'a (u64, Vec<u8>)>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let mut created = Vec::new();
    // Rows come in index order: the statement changes only when a segment does.
    let (mut seg_of_sql, mut sql) = (None, String::new());
    for (idx, bytes) in rows {
        let seg = seg_of(*idx);
        if seg_of_sql != Some(seg) {
            if !segs.contains(&seg) && !created.contains(&seg) {
                segments::create(&tx, seg)?;
                created.push(seg);
            }
            sql = format!(
                "INSERT OR REPLACE INTO {} (idx, entry) VALUES (?1, ?2)",
                segments::table(seg)
            );
            seg_of_sql = Some(seg);
        }
        tx.prepare_cached(&sql)?
            .execute(params![*idx as i64, bytes])?;
    }
    // synchronous=FULL: the commit is durable when it returns.
    tx.commit()?;
    segs.extend(created);
    Ok(())
}

/// Deletes the entries from `idx` on: the tail of its segment and every later segment.
fn truncate(conn: &mut Connection, segs: &BTreeSet<u64>, idx: u64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    if segs.contains(&seg_of(idx)) {
        tx.execute(
            &format!(
                "DELETE FROM {} WHERE idx >= ?1",
                segments::table(seg_of(idx))
            ),
            [idx.min(i64::MAX as u64) as i64],
        )?;
    }
    for seg in segs.range(seg_of(idx) + 1..) {
        segments::remove(&tx, *seg)?;
    }
    tx.commit()
}

/// Re-reads which segments have a table (after a schema change, whether it committed or not).
fn reload(conn: &Connection, segs: &mut BTreeSet<u64>) {
    match segments::list(conn) {
        Ok(list) => *segs = list.into_iter().collect(),
        Err(e) => tracing::error!(error = %e, "listing raft log segments failed"),
    }
}

fn mark_flushed(
    shared: &Shared,
    sizes: &mut Sizes,
    cache_bytes: usize,
    rows: impl Iterator<Item = (u64, usize)>,
) {
    let mut cache = shared.cache.lock().unwrap_or_else(|p| p.into_inner());
    for (idx, len) in rows {
        if let Some(e) = cache.get_mut(&idx) {
            e.1 = true;
            sizes.insert(idx, len);
        }
    }
    evict(&mut cache, sizes, CACHE_FLUSHED, cache_bytes);
}

/// Encoded sizes of the flushed entries in the cache, and their sum.
#[derive(Default)]
pub(super) struct Sizes {
    by_index: BTreeMap<u64, usize>,
    total: usize,
}

impl Sizes {
    fn insert(&mut self, idx: u64, len: usize) {
        if let Some(old) = self.by_index.insert(idx, len) {
            self.total -= old;
        }
        self.total += len;
    }

    fn remove(&mut self, idx: u64) {
        if let Some(old) = self.by_index.remove(&idx) {
            self.total -= old;
        }
    }
}

/// Drops the oldest flushed entries while more than `max_count` entries or `max_bytes` of
/// flushed ones are cached. Entries not yet on disk are never dropped (the cache is one run
/// of indexes, flushed ones first). Sizes of entries the log store removed itself (truncated
/// or purged) are forgotten first.
pub(super) fn evict<E>(
    cache: &mut BTreeMap<u64, (E, bool)>,
    sizes: &mut Sizes,
    max_count: usize,
    max_bytes: usize,
) {
    // The store removes a prefix (purge) or a suffix (truncate) of the cache by itself: their
    // sizes lie outside the cache's range. Only those are visited, so this costs nothing per
    // append (scanning every size on every append cost ~15% CPU per write at 9 workers). A
    // truncated index appended again keeps its old size until it is flushed, which only
    // makes eviction a little early.
    let range = match (cache.first_key_value(), cache.last_key_value()) {
        (Some((&first, _)), Some((&last, _))) => first..=last,
        // An empty cache: every size goes.
        _ => std::ops::RangeInclusive::new(u64::MAX, 0),
    };
    while let Some(k) = sizes.by_index.first_key_value().map(|(k, _)| *k) {
        if range.contains(&k) {
            break;
        }
        sizes.remove(k);
    }
    while let Some(k) = sizes.by_index.last_key_value().map(|(k, _)| *k) {
        if range.contains(&k) {
            break;
        }
        sizes.remove(k);
    }
    while cache.len() > max_count || sizes.total > max_bytes {
        match cache.first_key_value() {
            Some((&k, (_, true))) => {
                cache.remove(&k);
                sizes.remove(k);
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushed_entries_are_bounded_by_bytes_and_unflushed_ones_stay() {
        let mut cache: BTreeMap<u64, ((), bool)> = BTreeMap::new();
        let mut sizes = Sizes::default();
        for idx in 1..=10 {
            cache.insert(idx, ((), idx <= 8));
        }
        for idx in 1..=8 {
            sizes.insert(idx, 100);
        }
        evict(&mut cache, &mut sizes, 1024, 350);
        assert_eq!(
            cache.keys().copied().collect::<Vec<_>>(),
            vec![6, 7, 8, 9, 10]
        );
        assert_eq!(sizes.total, 300);
        // Over the byte bound with nothing flushed left to drop: unflushed entries stay.
        evict(&mut cache, &mut sizes, 1024, 0);
        assert_eq!(cache.keys().copied().collect::<Vec<_>>(), vec![9, 10]);
        assert_eq!(sizes.total, 0);
    }

    #[test]
    fn sizes_of_entries_removed_by_the_store_are_forgotten() {
        let mut cache: BTreeMap<u64, ((), bool)> = BTreeMap::new();
        let mut sizes = Sizes::default();
        for idx in 1..=4 {
            cache.insert(idx, ((), true));
            sizes.insert(idx, 100);
        }
        // Purged by the store (not through `evict`).
        cache.remove(&1);
        cache.remove(&2);
        evict(&mut cache, &mut sizes, 1024, 250);
        assert_eq!(cache.len(), 2, "the purged sizes no longer count");
        assert_eq!(sizes.total, 200);
    }
}
