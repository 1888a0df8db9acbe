//! Bookkeeping for the client transaction open on the writer: owner, the internal savepoint
//! that brackets it inside the batch's SQLite transaction, and the client's own savepoints.

use super::classify::Keyword;
use crate::command::Op;

/// The client transaction currently executing on a writer connection.
#[derive(Debug)]
pub struct TxState {
    /// Client connection that owns it.
    pub owner: u64,
    /// Internal savepoint bracketing it (so it can be undone alone).
    pub savepoint: String,
    /// Opened by a top-level SAVEPOINT: releasing that savepoint commits.
    by_savepoint: bool,
    /// The client's open savepoint names, outermost first (lower-cased).
    savepoints: Vec<String>,
    /// Operations recorded so far (changesets flushed at DDL boundaries, SQL).
    pub ops: Vec<Op>,
}

impl TxState {
    /// A new transaction; `user_savepoint` names the SAVEPOINT that opened it, if any.
    pub fn new(owner: u64, savepoint: String, user_savepoint: Option<String>) -> TxState {
        TxState {
            owner,
            savepoint,
            by_savepoint: user_savepoint.is_some(),
            savepoints: user_savepoint.into_iter().collect(),
            ops: Vec::new(),
        }
    }

    /// Tracks SAVEPOINT / RELEASE / ROLLBACK TO after it ran. Returns true when a RELEASE
    /// closed the savepoint that opened the transaction, which therefore commits.
    pub fn savepoint(&mut self, kw: Keyword, name: Option<String>) -> bool {
        let Some(name) = name else { return false };
        match kw {
            Keyword::Savepoint => self.savepoints.push(name),
            Keyword::Release => {
                if let Some(pos) = self.savepoints.iter().rposition(|s| *s == name) {
                    self.savepoints.truncate(pos);
                }
                return self.by_savepoint && self.savepoints.is_empty();
            }
            Keyword::RollbackTo => {
                if let Some(pos) = self.savepoints.iter().rposition(|s| *s == name) {
                    self.savepoints.truncate(pos + 1);
                }
            }
            _ => {}
        }
        false
    }
}
