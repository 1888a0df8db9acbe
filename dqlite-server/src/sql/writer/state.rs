//! The state a writer thread owns: its connection, the batch, the open client transaction
//! and the statements waiting their turn. Its behaviour is spread over the sibling modules
//! (`thread`, `statement`, `batch`, `group`, `apply`, `failstop`), each an `impl Writer`.

use std::collections::VecDeque;

use rusqlite::Connection;

use super::cmd::{Outcome, Reply, StmtJob};
use super::env::WriterEnv;
use super::pending::Batch;
use crate::sql::classify::{AuthInfo, AuthSlot};
use crate::sql::exec::StmtCache;
use crate::sql::guard::PkCache;
use crate::sql::session::Session;
use crate::sql::tx::TxState;

/// The state owned by a writer thread.
pub struct Writer {
    pub(super) session: Option<Session>,
    pub(super) cache: StmtCache<AuthInfo>,
    pub(super) pk_cache: PkCache,
    pub(super) auth: AuthSlot,
    pub(super) tx: Option<TxState>,
    pub(super) batch: Batch,
    pub(super) deferred: VecDeque<(StmtJob, Reply<Outcome>)>,
    pub(super) name: String,
    pub(super) env: WriterEnv,
    pub(super) next_tx: u64,
    /// Set once this writer met a fault of its own node: it serves nothing more.
    pub(super) failed: Option<String>,
    /// The term in which the current batch began (see [`Writer::check_term`]).
    pub(super) batch_term: Option<u64>,
    pub(super) conn: Connection,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Statements and the session must go before the connection.
        self.cache.clear();
        self.session = None;
    }
}
