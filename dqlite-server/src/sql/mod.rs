//! The SQLite side of the node: statements, sessions, the per-database writer, the read pool
//! and the registry of databases. Nothing here is async except thin channel handles: every
//! `rusqlite::Connection` lives on a dedicated thread.

pub mod classify;
mod db;
pub mod exec;
mod ffi;
mod guard;
pub mod limit;
pub mod local;
pub mod queue;
mod read_conn;
pub mod reader;
pub mod registry;
pub mod session;
pub mod stmt;
mod tx;
pub mod writer;

#[cfg(test)]
mod failstop_tests;
#[cfg(test)]
mod local_tests;
#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod term_tests;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

/// Opens a connection with the settings every database connection uses: WAL, foreign keys on
/// (as dqlite does), no fsync (durability comes from the raft log: the state machine is rebuilt
/// from the last snapshot plus the log on restart), extended result codes. Inside a
/// [`limit::opening`] scope the connection gets the statement limits' progress handler.
pub fn open_connection(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let mut conn = Connection::open_with_flags(path, flags)?;
    limit::install_opening(&mut conn)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = OFF;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -16000;",
    )?;
    Ok(conn)
}
