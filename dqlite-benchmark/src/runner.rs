//! Runs the workers until `--duration` passes or a shutdown signal arrives, measuring each
//! operation as go-dqlite does: the start is the wall clock (unix ns) taken before the
//! call, and the duration covers pool acquisition plus the round trip.
//!
//! When the run stops, the operation each worker has in flight is cancelled (its future is
//! dropped, so the client discards the connection). Such an operation is **not** an error:
//! it is counted as `cancelled` in `summary.json` and appears in no results file. go-dqlite
//! instead records it as a `context deadline exceeded` error.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::backend::{Backend, OpFailure};
use crate::progress::Progress;
use crate::tracker::Tracker;
use crate::workload::{Op, Work, WorkerState, Workload};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The workload.
    pub workload: Workload,
    /// Number of workers.
    pub workers: usize,
    /// How long to run.
    pub duration: Duration,
    /// Key length in bytes.
    pub key_size: usize,
    /// Value length in bytes.
    pub value_size: usize,
    /// Print a live progress line (on a terminal only).
    pub progress: bool,
}

/// Operation counts shared with the progress line.
#[derive(Debug, Default)]
pub struct Counters {
    /// Successful operations so far.
    pub ops: AtomicU64,
    /// Failed operations so far.
    pub errors: AtomicU64,
}

/// What one worker measured.
#[derive(Debug, Clone, Default)]
pub struct WorkerResult {
    /// Writes.
    pub exec: Tracker,
    /// Reads.
    pub query: Tracker,
    /// Operations cancelled in flight when the run stopped (not errors).
    pub cancelled: u64,
}

impl WorkerResult {
    /// The tracker of one work type.
    pub fn tracker(&self, work: Work) -> &Tracker {
        match work {
            Work::Exec => &self.exec,
            Work::Query => &self.query,
        }
    }

    fn tracker_mut(&mut self, work: Work) -> &mut Tracker {
        match work {
            Work::Exec => &mut self.exec,
            Work::Query => &mut self.query,
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// One entry per worker, by index.
    pub workers: Vec<WorkerResult>,
    /// When the workers were started (unix ns).
    pub start_unix_ns: u64,
    /// When the run was stopped (unix ns).
    pub end_unix_ns: u64,
    /// Time from start to stop.
    pub elapsed: Duration,
    /// True when a signal stopped the run before `--duration`.
    pub interrupted: bool,
}

/// The wall clock in unix nanoseconds.
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs `config.workers` workers against `backend` until the duration passes or `shutdown`
/// completes, then waits for every worker to stop.
pub async fn run<B: Backend>(
    backend: B,
    config: &RunConfig,
    shutdown: impl Future<Output = ()>,
) -> RunOutcome {
    let (stop_tx, stop_rx) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let start_unix_ns = unix_ns();
    let started = Instant::now();
    let handles: Vec<_> = (0..config.workers)
        .map(|_| {
            let state = WorkerState::new(config.workload, config.key_size, config.value_size);
            let worker = worker(backend.clone(), state, stop_rx.clone(), counters.clone());
            tokio::spawn(worker)
        })
        .collect();
    let progress = config
        .progress
        .then(|| Progress::start(counters.clone(), config.duration));
    let interrupted = tokio::select! {
        _ = tokio::time::sleep(config.duration) => false,
        _ = shutdown => true,
    };
    let _ = stop_tx.send(true);
    let elapsed = started.elapsed();
    let end_unix_ns = unix_ns();
    let mut workers = Vec::with_capacity(handles.len());
    for joined in futures::future::join_all(handles).await {
        // A worker only panics on a bug; keep the others' results.
        workers.push(joined.unwrap_or_else(|e| {
            tracing::error!(error = %e, "a worker task failed");
            WorkerResult::default()
        }));
    }
    if let Some(p) = progress {
        p.finish();
    }
    RunOutcome {
        workers,
        start_unix_ns,
        end_unix_ns,
        elapsed,
        interrupted,
    }
}

async fn worker<B: Backend>(
    backend: B,
    mut state: WorkerState,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) -> WorkerResult {
    let mut result = WorkerResult::default();
    while !*stop.borrow() {
        let op = state.next_op();
        let start_ns = unix_ns();
        let t0 = Instant::now();
        let outcome = tokio::select! {
            biased;
            _ = stop.changed() => None,
            r = execute(&backend, &op) => Some(r),
        };
        let duration_ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let Some(outcome) = outcome else {
            result.cancelled += 1;
            break;
        };
        let tracker = result.tracker_mut(op.work());
        let ok = outcome.is_ok();
        match outcome {
            Ok(()) => {
                tracker.record_ok(start_ns, duration_ns);
                counters.ops.fetch_add(1, Ordering::Relaxed);
            }
            Err(f) => {
                tracker.record_err(start_ns, f.kind, &f.message);
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        state.done(op, ok);
    }
    result
}

async fn execute<B: Backend>(backend: &B, op: &Op) -> Result<(), OpFailure> {
    match op {
        Op::Write { key, value } => backend.write(key, value).await,
        Op::Read { key } => backend.read(key).await,
    }
}
