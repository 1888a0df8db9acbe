//! The NULL-primary-key guardrail (docs/server-behaviour.md §4.2): the session extension silently
//! skips rows whose PRIMARY KEY columns hold NULL, so such a write would never reach the
//! followers. After each write the tables it touched are checked and the write is refused.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Nullable PK columns per table, learnt from the schema; cleared on any schema change.
#[derive(Default)]
pub struct PkCache {
    map: HashMap<String, Vec<String>>,
}

impl PkCache {
    /// Forgets everything (after DDL, an apply, or a rollback).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Fails when any of `tables` has a row with NULL in a (nullable, non-rowid) PK column.
    pub fn check(&mut self, conn: &Connection, tables: &[String]) -> Result<()> {
        for table in tables {
            if !self.map.contains_key(table) {
                let cols = nullable_pk_columns(conn, table)?;
                self.map.insert(table.clone(), cols);
            }
            let cols = self.map.get(table).map(Vec::as_slice).unwrap_or_default();
            if cols.is_empty() {
                continue;
            }
            let cond = cols
                .iter()
                .map(|c| format!("{} IS NULL", quote(c)))
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!("SELECT 1 FROM {} WHERE {cond} LIMIT 1", quote(table));
            if conn.prepare_cached(&sql)?.exists([])? {
                return Err(Error::failure(
                    1299,
                    format!(
                        "NOT NULL constraint failed: {table} primary key (NULL primary keys cannot be replicated)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// PK columns of `table` that may hold NULL (excluding an INTEGER PRIMARY KEY rowid alias).
fn nullable_pk_columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")?;
    let rows = stmt.query_map([table], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let pks: Vec<_> = rows.filter_map(|r| r.ok()).filter(|c| c.3 > 0).collect();
    if pks.len() == 1 && pks[0].1.eq_ignore_ascii_case("INTEGER") {
        return Ok(Vec::new());
    }
    // WITHOUT ROWID tables enforce NOT NULL on their PK themselves.
    let without_rowid: bool = conn
        .prepare_cached(
            "SELECT sql LIKE '%WITHOUT%ROWID%' FROM sqlite_schema WHERE type='table' AND name=?1",
        )?
        .query_row([table], |r| r.get(0))
        .unwrap_or(false);
    if without_rowid {
        return Ok(Vec::new());
    }
    Ok(pks.into_iter().filter(|c| c.2 == 0).map(|c| c.0).collect())
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
