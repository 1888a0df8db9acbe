//! The read pool: a few threads, each with its own read connection per database (WAL mode),
//! serving the autocommit reads too long to run on a connection's own thread (see `local`),
//! in parallel with the writer.
//!
//! A reader prepares the statement first; if SQLite says it writes, the job comes back as
//! [`ReadOutcome::NeedsWriter`] and the gateway sends it to the database's writer instead.
//!
//! At most `Config::read_queue` jobs wait for a reader; one more is refused at once with
//! SQLITE_BUSY instead of queueing behind reads that may take their full statement time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use bytes::BytesMut;
use dqlite_proto::{code, Value};
use tokio::sync::{mpsc as tmpsc, oneshot};

use super::db::Db;
use super::exec;
use super::limit::{self, SqlLimits};
use super::read_conn::{ReadConn, ReadConns};
use crate::error::{Error, Result};

/// A read job.
pub struct ReadJob {
    /// The client connection asking (for INTERRUPT).
    pub owner: u64,
    /// The database.
    pub db: Arc<Db>,
    /// SQL text: a single read-only statement with at most as many parameters as
    /// placeholders (QUERY_SQL / QUERY semantics).
    pub sql: String,
    /// Parameters.
    pub params: Vec<Value>,
    /// Where its ROWS batches are streamed.
    pub rows: tmpsc::Sender<BytesMut>,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Result<ReadOutcome>>,
}

/// What a read job produced.
#[derive(Debug)]
pub enum ReadOutcome {
    /// Rows were streamed.
    Streamed,
    /// The statement writes (or controls transactions): run it on the writer.
    NeedsWriter,
}

/// Handle to the pool.
#[derive(Clone)]
pub struct ReadPool {
    tx: mpsc::Sender<ReadJob>,
    /// Jobs sent and not yet taken by a reader.
    queued: Arc<AtomicUsize>,
    /// Jobs being served.
    running: Arc<AtomicUsize>,
    limits: Arc<SqlLimits>,
}

impl ReadPool {
    /// Starts `threads` reader threads, whose statements obey `limits`.
    pub fn start(threads: usize, limits: Arc<SqlLimits>) -> Result<ReadPool> {
        let (tx, rx) = mpsc::channel::<ReadJob>();
        let rx = Arc::new(Mutex::new(rx));
        let queued = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let reader = Reader {
                conns: ReadConns::default(),
                queued: queued.clone(),
                running: running.clone(),
                limits: limits.clone(),
            };
            std::thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || reader.run(&rx))?;
        }
        Ok(ReadPool {
            tx,
            queued,
            running,
            limits,
        })
    }

    /// Jobs waiting for a reader thread.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Jobs being served by reader threads.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Queues a job, or fails with SQLITE_BUSY when `Config::read_queue` jobs already wait.
    pub fn submit(&self, job: ReadJob) -> Result<()> {
        let max = self.limits.read_queue();
        if self.queued.fetch_add(1, Ordering::AcqRel) >= max {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::failure(
                code::BUSY,
                format!("too many queued reads (read queue of {max} is full)"),
            ));
        }
        self.tx.send(job).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            Error::internal("read pool stopped")
        })
    }
}

struct Reader {
    conns: ReadConns,
    queued: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    limits: Arc<SqlLimits>,
}

impl Reader {
    fn run(mut self, rx: &Mutex<mpsc::Receiver<ReadJob>>) {
        loop {
            let job = match rx.lock() {
                Ok(rx) => match rx.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
                Err(_) => return,
            };
            self.running.fetch_add(1, Ordering::AcqRel);
            self.queued.fetch_sub(1, Ordering::AcqRel);
            let reply = job.reply;
            // The statement time limit and INTERRUPT apply from here (see `limit`).
            let client = limit::client(job.owner);
            // `rows` goes with `serve`: dropping it ends the connection's forwarding.
            let res = match self.conns.get(&job.db, &self.limits) {
                Ok(conn) => serve(conn, &job.sql, &job.params, job.rows),
                Err(e) => Err(e),
            };
            drop(client);
            self.running.fetch_sub(1, Ordering::AcqRel);
            let _ = reply.send(res);
        }
    }
}

fn serve(
    db: &mut ReadConn,
    sql: &str,
    params: &[Value],
    rows: tmpsc::Sender<BytesMut>,
) -> Result<ReadOutcome> {
    let (mut stmt, tail) = db.take_or_prepare(sql)?;
    // The gateway sends only statements whose keyword reads; SQLite has the last word.
    if !stmt.readonly() {
        return Ok(ReadOutcome::NeedsWriter);
    }
    exec::check_tail(&db.conn, &sql[tail..])?;
    exec::bind(&mut stmt, params, true)?;
    exec::stream_rows(&mut stmt, &mut |b| {
        rows.blocking_send(b)
            .map_err(|_| Error::internal("client went away"))
    })?;
    db.give_back(sql, tail, stmt);
    Ok(ReadOutcome::Streamed)
}
