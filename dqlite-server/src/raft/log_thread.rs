//! The raft log's thread: runs log writes in order and writes the appends waiting in its queue
//! in one SQLite transaction (one fsync), then tells openraft they are durable.

use std::sync::mpsc;

use openraft::storage::LogFlushed;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::log_store::Shared;
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
pub(super) fn writer(
    mut conn: Connection,
    rx: mpsc::Receiver<Job>,
    shared: std::sync::Weak<Shared>,
) {
    let mut next: Option<Job> = None;
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
                let res = write_rows(&mut conn, batch.iter().flat_map(|(rows, _)| rows.iter()));
                if res.is_ok() {
                    if let Some(shared) = shared.upgrade() {
                        mark_flushed(
                            &shared,
                            batch.iter().flat_map(|(rows, _)| rows.iter().map(|r| r.0)),
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
                let r = conn
                    .execute("DELETE FROM log WHERE idx >= ?1", [idx as i64])
                    .map(|_| ())
                    .map_err(|e| se::write_logs(any_error(e)));
                let _ = reply.send(r);
            }
            Job::Purge(log_id, value, reply) => {
                let r = (|| {
                    let tx = conn.transaction()?;
                    tx.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_purged', ?1)",
                        [value],
                    )?;
                    tx.execute("DELETE FROM log WHERE idx <= ?1", [log_id.index as i64])?;
                    tx.commit()
                })()
                .map_err(|e| se::write_logs(any_error(e)));
                let _ = reply.send(r);
            }
        }
    }
}

fn write_rows<'a>(
    conn: &mut Connection,
    rows: impl Iterator<Item = &'a (u64, Vec<u8>)>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt =
            tx.prepare_cached("INSERT OR REPLACE INTO log (idx, entry) VALUES (?1, ?2)")?;
        for (idx, bytes) in rows {
            stmt.execute(params![*idx as i64, bytes])?;
        }
    }
    // synchronous=FULL: the commit is durable when it returns.
    tx.commit()
}

fn mark_flushed(shared: &Shared, indexes: impl Iterator<Item = u64>) {
    let mut cache = shared.cache.lock().unwrap_or_else(|p| p.into_inner());
    for idx in indexes {
        if let Some(e) = cache.get_mut(&idx) {
            e.1 = true;
        }
    }
    while cache.len() > CACHE_FLUSHED {
        match cache.first_key_value() {
            Some((&k, (_, true))) => {
                cache.remove(&k);
            }
            _ => break,
        }
    }
}
