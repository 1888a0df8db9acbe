//! The raft log's rows in `raft.db`, split into one table per segment of [`SEGMENT`] entries
//! (`log_0000000000`, `log_0000000001`, ...), so that a purge drops whole tables instead of
//! deleting rows: SQLite rewrites every page a DELETE touches (80–100 ms for 8,192 entries on
//! the log thread, which openraft 0.9 waits on), while DROP TABLE only puts the pages on the
//! free list.

use rusqlite::{params, Connection, OptionalExtension};

/// Entries per segment table.
pub const SEGMENT: u64 = 4096;

/// The segment holding index `idx`.
pub fn seg_of(idx: u64) -> u64 {
    idx / SEGMENT
}

/// The table of segment `seg` (zero-padded, so names sort like numbers).
pub fn table(seg: u64) -> String {
    format!("log_{seg:010}")
}

/// The segments that have a table, in order.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<u64>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'log_[0-9]*' \
         ORDER BY name",
    )?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for name in names {
        if let Some(seg) = name?.strip_prefix("log_").and_then(|n| n.parse().ok()) {
            out.push(seg);
        }
    }
    Ok(out)
}

/// Creates the table of segment `seg`.
pub fn create(conn: &Connection, seg: u64) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL)",
        table(seg)
    ))
}

/// Drops the table of segment `seg`.
pub fn remove(conn: &Connection, seg: u64) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", table(seg)))
}

/// The encoded entries with `lo <= idx < hi`, in order (missing segments give nothing). One
/// read transaction, so a segment dropped meanwhile by the log thread is still there for it.
pub fn read_range(conn: &Connection, lo: u64, hi: u64) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if lo >= hi {
        return Ok(out);
    }
    let tx = conn.unchecked_transaction()?;
    let conn: &Connection = &tx;
    let present = list(conn)?;
    let clamp = |n: u64| n.min(i64::MAX as u64) as i64;
    for seg in present
        .into_iter()
        .filter(|s| *s >= seg_of(lo) && *s <= seg_of(hi - 1))
    {
        let sql = format!(
            "SELECT entry FROM {} WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            table(seg)
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![clamp(lo), clamp(hi)], |r| r.get::<_, Vec<u8>>(0))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The encoded last entry of the log, if any (one read transaction).
pub fn last(conn: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
    let tx = conn.unchecked_transaction()?;
    for seg in list(&tx)?.into_iter().rev() {
        let sql = format!("SELECT entry FROM {} ORDER BY idx DESC LIMIT 1", table(seg));
        if let Some(entry) = tx.query_row(&sql, [], |r| r.get(0)).optional()? {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// Moves the rows of the single `log` table of earlier versions into segment tables.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let old: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'log'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if old.is_none() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let range: (Option<i64>, Option<i64>) =
        tx.query_row("SELECT min(idx), max(idx) FROM log", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if let (Some(lo), Some(hi)) = range {
        for seg in seg_of(lo as u64)..=seg_of(hi as u64) {
            create(&tx, seg)?;
            tx.execute(
                &format!(
                    "INSERT OR REPLACE INTO {} (idx, entry) \
                     SELECT idx, entry FROM log WHERE idx >= ?1 AND idx < ?2",
                    table(seg)
                ),
                params![(seg * SEGMENT) as i64, ((seg + 1) * SEGMENT) as i64],
            )?;
        }
    }
    tx.execute_batch("DROP TABLE log")?;
    tx.commit()
}
