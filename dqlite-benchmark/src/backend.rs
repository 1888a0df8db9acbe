//! What the workers talk to: the two operations of the kv workloads, implemented on a
//! `dqlite_client::Db` (and on fakes in tests).

use std::future::Future;

use dqlite_client::{Db, Error};

use crate::tracker::ErrorKind;
use crate::workload::{READ_SQL, WRITE_SQL};

/// go-dqlite's message when a point read finds no row (`sql.ErrNoRows`).
pub const NO_ROWS: &str = "sql: no rows in result set";

/// A failed operation: its kind and the message written to the results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpFailure {
    /// The kind, for `summary.json`.
    pub kind: ErrorKind,
    /// The message, for the `errors` section of the results file.
    pub message: String,
}

impl OpFailure {
    /// Classifies a client error. A plain server failure is reported by its message alone
    /// (e.g. `database is locked`), as go-dqlite's driver does; other errors in full.
    pub fn from_client(e: &Error) -> OpFailure {
        let message = match e {
            Error::Server { failure, .. } => failure.message.clone(),
            other => other.to_string(),
        };
        OpFailure {
            kind: ErrorKind::of(e),
            message,
        }
    }
}

/// The kv operations. Implementations are cheap to clone (one clone per worker).
pub trait Backend: Clone + Send + Sync + 'static {
    /// `INSERT OR REPLACE INTO model(key, value) VALUES(?, ?)`.
    fn write(&self, key: &str, value: &str) -> impl Future<Output = Result<(), OpFailure>> + Send;

    /// `SELECT value FROM model WHERE key = ?`, reading the value as text.
    fn read(&self, key: &str) -> impl Future<Output = Result<(), OpFailure>> + Send;
}

impl Backend for Db {
    async fn write(&self, key: &str, value: &str) -> Result<(), OpFailure> {
        match self.execute(WRITE_SQL, (key, value)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(OpFailure::from_client(&e)),
        }
    }

    async fn read(&self, key: &str) -> Result<(), OpFailure> {
        let row = match self.query_opt(READ_SQL, (key,)).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                return Err(OpFailure {
                    kind: ErrorKind::Other,
                    message: NO_ROWS.to_owned(),
                })
            }
            Err(e) => return Err(OpFailure::from_client(&e)),
        };
        row.get::<String, _>(0)
            .map(drop)
            .map_err(|e| OpFailure::from_client(&e))
    }
}
