//! The per-database writer queue: one client connection at a time owns the writer (from the
//! first write of a transaction to its end); the others wait in FIFO order for up to the busy
//! timeout, then get `FAILURE(5, "database is locked")`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// FIFO ownership of a database's writer.
#[derive(Default)]
pub struct WriteQueue {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    owner: Option<u64>,
    waiters: VecDeque<(u64, oneshot::Sender<()>)>,
}

impl WriteQueue {
    /// Waits until `conn` owns the writer, at most `timeout`.
    pub async fn acquire(&self, conn: u64, timeout: Duration) -> Result<()> {
        let rx = {
            let mut inner = self.lock();
            match inner.owner {
                None => {
                    inner.owner = Some(conn);
                    return Ok(());
                }
                Some(o) if o == conn => return Ok(()),
                Some(_) => {
                    let (tx, rx) = oneshot::channel();
                    inner.waiters.push_back((conn, tx));
                    rx
                }
            }
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(())) => Ok(()),
            _ => {
                let mut inner = self.lock();
                inner.waiters.retain(|(c, _)| *c != conn);
                // Ownership may have been handed over just as the timer fired.
                if inner.owner == Some(conn) {
                    return Ok(());
                }
                Err(Error::busy())
            }
        }
    }

    /// Gives up ownership (no-op unless `conn` owns it) and wakes the next waiter.
    pub fn release(&self, conn: u64) {
        let mut inner = self.lock();
        if inner.owner == Some(conn) {
            inner.owner = None;
            Self::hand_over(&mut inner);
        }
    }

    /// Drops whoever owns the writer (leadership lost: their transaction is gone).
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.owner = None;
        Self::hand_over(&mut inner);
    }

    /// True when `conn` owns the writer.
    pub fn is_owner(&self, conn: u64) -> bool {
        self.lock().owner == Some(conn)
    }

    fn hand_over(inner: &mut Inner) {
        while let Some((conn, tx)) = inner.waiters.pop_front() {
            if tx.send(()).is_ok() {
                inner.owner = Some(conn);
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fifo_and_timeout() {
        let q = std::sync::Arc::new(WriteQueue::default());
        q.acquire(1, Duration::from_secs(1))
            .await
            .expect("free queue");
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.acquire(2, Duration::from_secs(10)).await });
        assert!(q.acquire(3, Duration::from_millis(10)).await.is_err());
        tokio::task::yield_now().await;
        q.release(1);
        waiter.await.expect("join").expect("handed over");
        assert!(q.is_owner(2));
    }
}
