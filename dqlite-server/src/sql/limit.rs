//! Stopping client statements: the per-statement time limit (`Config::statement_timeout`) and
//! the INTERRUPT request, both through one SQLite progress handler per connection.
//!
//! The handler stops a statement only while both hold on the calling thread:
//!
//! - a *client context* is set ([`client`]): the reader runs a client's job, or the writer
//!   runs a client's statement (`Writer::statement`), with the client connection's id and the
//!   time it started;
//! - the thread is *stepping* a client statement ([`stepping`], set by `exec::step_exec` and
//!   `exec::stream_rows` only).
//!
//! Everything else the writer does on its connection (applying committed entries, committing
//! or cutting the batch, re-applying transactions after a reset) never steps through those
//! helpers, so an apply is never interrupted, even when it runs on the writer thread while a
//! client statement's deadline has passed.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_proto::code;
use rusqlite::Connection;

use crate::error::{Error, Result};

/// SQLite virtual-machine steps between two checks of the handler.
const PROGRESS_OPS: i32 = 4096;

/// Default of `Config::statement_timeout`.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Default of `Config::read_queue`.
pub const DEFAULT_READ_QUEUE: usize = 1024;

/// The statement limits of a node, shared by its readers, its writers and its connections.
#[derive(Debug)]
pub struct SqlLimits {
    /// Statement time limit in ms; 0 means none.
    timeout_ms: AtomicU64,
    /// Most read jobs waiting for a reader thread.
    read_queue: AtomicUsize,
    /// Client connections whose running statement must stop (INTERRUPT).
    interrupts: Mutex<HashSet<u64>>,
    /// `interrupts.len()`, read without the lock by the handler.
    pending: AtomicUsize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            timeout_ms: AtomicU64::new(DEFAULT_STATEMENT_TIMEOUT.as_millis() as u64),
            read_queue: AtomicUsize::new(DEFAULT_READ_QUEUE),
            interrupts: Mutex::new(HashSet::new()),
            pending: AtomicUsize::new(0),
        }
    }
}

impl SqlLimits {
    /// Sets the statement time limit (zero: none) and the read queue bound.
    pub fn configure(&self, statement_timeout: Duration, read_queue: usize) {
        let ms = u64::try_from(statement_timeout.as_millis()).unwrap_or(u64::MAX);
        self.timeout_ms.store(ms, Ordering::Relaxed);
        self.read_queue.store(read_queue.max(1), Ordering::Relaxed);
    }

    /// Most read jobs waiting for a reader thread.
    pub fn read_queue(&self) -> usize {
        self.read_queue.load(Ordering::Relaxed)
    }

    /// Asks the statement running for client connection `owner` (if any) to stop.
    pub fn interrupt(&self, owner: u64) {
        let mut set = self.lock();
        set.insert(owner);
        self.pending.store(set.len(), Ordering::Release);
    }

    /// Forgets an interrupt of `owner` (answered, or the connection closed).
    pub fn clear_interrupt(&self, owner: u64) {
        if self.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut set = self.lock();
        set.remove(&owner);
        self.pending.store(set.len(), Ordering::Release);
    }

    fn interrupted(&self, owner: u64) -> bool {
        self.pending.load(Ordering::Acquire) > 0 && self.lock().contains(&owner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        self.interrupts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why the handler stopped the last statement of this thread.
#[derive(Debug, Clone, Copy)]
enum Stopped {
    Timeout(u64),
    Interrupted,
}

thread_local! {
    static CLIENT: Cell<Option<(u64, Instant)>> = const { Cell::new(None) };
    static STEPPING: Cell<bool> = const { Cell::new(false) };
    static STOPPED: Cell<Option<Stopped>> = const { Cell::new(None) };
    static OPENING: RefCell<Option<Arc<SqlLimits>>> = const { RefCell::new(None) };
    /// Handler calls left before a budgeted statement is stopped (see [`budget`]).
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
    static BUDGET_SPENT: Cell<bool> = const { Cell::new(false) };
}

/// Ends a [`budget`] scope.
pub struct BudgetGuard(Option<u32>);

impl BudgetGuard {
    /// True when a statement stepped in this scope was stopped for running past the budget.
    pub fn spent(&self) -> bool {
        BUDGET_SPENT.with(Cell::get)
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.0));
        BUDGET_SPENT.with(|s| s.set(false));
    }
}

/// Client statements stepped on this thread until the guard drops are stopped (with
/// SQLITE_INTERRUPT, and [`BudgetGuard::spent`] set) after about `ops` SQLite
/// virtual-machine steps: how a read tried on a connection's own thread gives up when it
/// turns out long, to run again elsewhere.
pub fn budget(ops: u32) -> BudgetGuard {
    BUDGET_SPENT.with(|s| s.set(false));
    let calls = (ops / PROGRESS_OPS as u32).max(1);
    BudgetGuard(BUDGET.with(|b| b.replace(Some(calls))))
}

/// Restores the previous client context when dropped.
pub struct ClientGuard(Option<(u64, Instant)>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        CLIENT.with(|c| c.set(self.0));
    }
}

/// Marks this thread as running a statement of client connection `owner` from now on.
pub fn client(owner: u64) -> ClientGuard {
    ClientGuard(CLIENT.with(|c| c.replace(Some((owner, Instant::now())))))
}

/// Restores the previous stepping flag when dropped.
pub struct StepGuard(bool);

impl Drop for StepGuard {
    fn drop(&mut self) {
        STEPPING.with(|s| s.set(self.0));
    }
}

/// Marks this thread as stepping a client statement (which the handler may stop).
pub fn stepping() -> StepGuard {
    STOPPED.with(|s| s.set(None));
    StepGuard(STEPPING.with(|s| s.replace(true)))
}

/// Ends the scope of [`opening`].
pub struct OpeningGuard(Option<Arc<SqlLimits>>);

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        OPENING.with(|o| *o.borrow_mut() = prev);
    }
}

/// Connections opened by this thread (`sql::open_connection`) until the guard drops get the
/// handler for `limits` (how a writer's connection gets it from the registry).
pub fn opening(limits: Arc<SqlLimits>) -> OpeningGuard {
    OpeningGuard(OPENING.with(|o| o.borrow_mut().replace(limits)))
}

/// Installs the handler for the limits of the current [`opening`] scope, if any.
pub fn install_opening(conn: &mut Connection) -> Result<()> {
    match OPENING.with(|o| o.borrow().clone()) {
        Some(limits) => install(conn, limits),
        None => Ok(()),
    }
}

/// Installs the progress handler enforcing `limits` on `conn`.
pub fn install(conn: &mut Connection, limits: Arc<SqlLimits>) -> Result<()> {
    conn.progress_handler(PROGRESS_OPS, Some(move || should_stop(&limits)))?;
    Ok(())
}

fn should_stop(limits: &SqlLimits) -> bool {
    if !STEPPING.with(Cell::get) {
        return false;
    }
    if let Some(left) = BUDGET.with(Cell::get) {
        if left == 0 {
            BUDGET_SPENT.with(|s| s.set(true));
            return true;
        }
        BUDGET.with(|b| b.set(Some(left - 1)));
    }
    let Some((owner, start)) = CLIENT.with(Cell::get) else {
        return false;
    };
    let ms = limits.timeout_ms.load(Ordering::Relaxed);
    let stopped = if ms > 0 && start.elapsed() >= Duration::from_millis(ms) {
        Stopped::Timeout(ms)
    } else if limits.interrupted(owner) {
        Stopped::Interrupted
    } else {
        return false;
    };
    STOPPED.with(|s| s.set(Some(stopped)));
    true
}

/// Gives an SQLITE_INTERRUPT raised by the handler a message saying why.
pub fn explain(e: Error) -> Error {
    let stopped = STOPPED.with(|s| s.take());
    if e.code().map(|c| c & 0xff) != Some(code::INTERRUPT) {
        return e;
    }
    match stopped {
        Some(Stopped::Timeout(ms)) => Error::failure(
            code::INTERRUPT,
            format!("interrupted: statement exceeded the statement timeout of {ms} ms"),
        ),
        Some(Stopped::Interrupted) => {
            Error::failure(code::INTERRUPT, "interrupted by an INTERRUPT request")
        }
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::exec;
    use crate::sql::stmt::RawStmt;

    const FOREVER: &str =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    const LONG: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                        WHERE x < 200000) SELECT count(*) FROM c";

    #[test]
    fn only_a_client_statement_being_stepped_is_stopped() {
        let limits = Arc::new(SqlLimits::default());
        let mut conn = Connection::open_in_memory().expect("open");
        install(&mut conn, limits.clone()).expect("install");
        limits.interrupt(7);
        let _client = client(7);
        // Anything else on the connection (as applies are) runs to the end.
        let n: i64 = conn.query_row(LONG, [], |r| r.get(0)).expect("not stopped");
        assert_eq!(n, 200_000);
        let mut stmt = RawStmt::prepare(&conn, FOREVER)
            .expect("prepare")
            .stmt
            .expect("a statement");
        let e = exec::step_exec(&mut stmt).expect_err("stopped");
        assert_eq!(e.code(), Some(code::INTERRUPT));
        assert!(e.to_string().contains("INTERRUPT request"), "{e}");
        // Another connection's interrupt does not stop this one's statement.
        limits.clear_interrupt(7);
        limits.interrupt(8);
        let mut stmt = RawStmt::prepare(&conn, LONG)
            .expect("prepare")
            .stmt
            .expect("a statement");
        exec::stream_rows(&mut stmt, &mut |_| Ok(())).expect("not stopped");
    }
}
