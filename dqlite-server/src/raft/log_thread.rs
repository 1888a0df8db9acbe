//! The raft log's thread: runs log writes in order and writes the appends waiting in its queue
//! in one SQLite transaction (one fsync), then tells openraft they are durable and marks them
//! on disk in the entry cache (see `log_cache` for what stays cached).

use std::collections::BTreeSet;
use std::sync::{mpsc, Weak};

use openraft::storage::LogFlushed;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::log_cache::{EntryCache, Sizes};
use super::segments::{self, seg_of};
use super::{any_error, se, LogId, StorageError, TypeConfig};

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
    cache: Weak<EntryCache>,
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
                    if let Some(cache) = cache.upgrade() {
                        cache.mark_flushed(
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
