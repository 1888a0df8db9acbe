//! A pool of connections to the leader, all bound to one database.
//!
//! A semaphore bounds open connections; idle ones wait in a queue. Each connection is stamped
//! with the pool's leader epoch: when an error shows the leader moved, the epoch is bumped,
//! idle connections are dropped, and the next acquire finds the leader again. A connection
//! is only ever used by the holder of its [`PooledConn`] guard.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::connection::{Connection, State};
use crate::connector::Connector;
use crate::error::{Error, Result};

/// Frames read while draining an abandoned result before closing is judged cheaper.
const DRAIN_FRAMES: usize = 64;

#[derive(Debug)]
struct Idle {
    conn: Connection,
    epoch: u64,
    since: Instant,
}

/// The shared state behind a [`crate::Db`].
#[derive(Debug)]
pub(crate) struct Pool {
    connector: Connector,
    database: String,
    permits: Arc<Semaphore>,
    idle: Mutex<VecDeque<Idle>>,
    epoch: AtomicU64,
    closed: AtomicBool,
}

/// A connection checked out of the pool; it returns on drop.
#[derive(Debug)]
pub(crate) struct PooledConn {
    conn: Option<Connection>,
    epoch: u64,
    pool: Arc<Pool>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Pool {
    pub fn new(connector: Connector, database: &str) -> Arc<Pool> {
        let max_open = connector.config().max_open;
        Arc::new(Pool {
            connector,
            database: database.to_owned(),
            permits: Arc::new(Semaphore::new(max_open)),
            idle: Mutex::new(VecDeque::new()),
            epoch: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        })
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// A connection to the leader with the database open: an idle one of the current epoch,
    /// or a new one through leader discovery bounded by `deadline`.
    pub async fn acquire_until(self: &Arc<Self>, deadline: Instant) -> Result<PooledConn> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::PoolClosed);
        }
        let wait = self.connector.config().acquire_timeout;
        let permit =
            match tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(Error::PoolClosed),
                Err(_) => return Err(Error::PoolTimeout(wait)),
            };
        let epoch = self.epoch.load(Ordering::Acquire);
        let conn = match self.take_idle(epoch) {
            Some(conn) => conn,
            None => self.open_new(deadline).await?,
        };
        Ok(PooledConn {
            conn: Some(conn),
            epoch,
            pool: Arc::clone(self),
            permit: Some(permit),
        })
    }

    fn take_idle(&self, epoch: u64) -> Option<Connection> {
        let config = self.connector.config();
        let mut idle = self.idle.lock().ok()?;
        while let Some(entry) = idle.pop_back() {
            let stale = entry.epoch != epoch
                || !entry.conn.is_usable()
                || config
                    .idle_timeout
                    .is_some_and(|t| entry.since.elapsed() > t)
                || expired(&entry.conn, config.max_lifetime);
            if !stale {
                return Some(entry.conn);
            }
        }
        None
    }

    async fn open_new(&self, deadline: Instant) -> Result<Connection> {
        let mut conn = self.connector.connect_until(deadline).await?;
        if let Err(e) = conn.open_database(&self.database).await {
            if e.shows_leader_change() {
                self.connector.forget_leader(conn.node());
            }
            return Err(e);
        }
        Ok(conn)
    }

    /// Drops every pooled connection of `epoch` or older because the leader moved.
    pub fn leader_changed(&self, epoch: u64, node: &str) {
        if self
            .epoch
            .compare_exchange(epoch, epoch + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::debug!(node, epoch, "leader change: dropping pooled connections");
            if let Ok(mut idle) = self.idle.lock() {
                idle.clear();
            }
        }
        self.connector.forget_leader(node);
    }

    /// Closes the pool: idle connections are dropped now, checked-out ones on return.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Number of idle connections (for tests and metrics).
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|i| i.len()).unwrap_or(0)
    }

    fn release(&self, conn: Connection, epoch: u64) {
        let config = self.connector.config();
        let keep = conn.state == State::Idle
            && !self.closed.load(Ordering::Acquire)
            && epoch == self.epoch.load(Ordering::Acquire)
            && !expired(&conn, config.max_lifetime);
        if !keep {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < config.max_idle {
                idle.push_back(Idle {
                    conn,
                    epoch,
                    since: Instant::now(),
                });
            }
        }
    }
}

fn expired(conn: &Connection, max_lifetime: Option<Duration>) -> bool {
    max_lifetime.is_some_and(|t| conn.created().elapsed() > t)
}

impl PooledConn {
    /// Closes the connection instead of returning it to the pool.
    pub fn discard(mut self) {
        self.conn = None;
    }

    /// Reports that an error on this connection showed a leader change; the connection
    /// stays with its holder but will not return to the pool.
    pub fn note_leader_change(&self) {
        if let Some(conn) = &self.conn {
            self.pool.leader_changed(self.epoch, conn.node());
        }
    }

    /// Reports that an error on this connection showed a leader change, and closes it.
    /// The connector of the pool this connection came from (for hedging its requests).
    pub fn connector(&self) -> Connector {
        self.pool.connector().clone()
    }

    pub fn leader_changed(mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.leader_changed(self.epoch, conn.node());
        }
    }
}

impl std::ops::Deref for PooledConn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop`, `discard` and `leader_changed` take the connection, and the latter two
        // consume the guard: the connection is always present while the guard is usable.
        self.conn
            .as_ref()
            .expect("pooled connection present until drop")
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("pooled connection present until drop")
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let permit = self.permit.take();
        if conn.state != State::Streaming {
            self.pool.release(conn, self.epoch);
            return;
        }
        // An abandoned result: drain it in the background (the permit stays held so the
        // pool's limit counts the connection), or close it if no runtime is available.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = Arc::clone(&self.pool);
        let epoch = self.epoch;
        handle.spawn(async move {
            if conn.interrupt(DRAIN_FRAMES).await.is_ok() {
                pool.release(conn, epoch);
            }
            drop(permit);
        });
    }
}
