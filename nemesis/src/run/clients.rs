//! The logical clients: each loops generating an operation, recording its invocation,
//! running it, and recording its completion, until the run's time is up. A client whose
//! operation ended `info` takes a new process number, so no process ever has two
//! operations open (Jepsen's rule).
//!
//! Each logical client has a `dqlite-client` cluster handle of its own (its own pool and its
//! own idea of who leads), as Jepsen's clients each hold their own connection: one client
//! learning of a new leader does not move the others, so a deposed leader that still
//! answers is exercised.

use std::sync::Arc;
use std::time::Duration;

use dqlite_client::Db;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

use crate::history::{OpType, Process, Recorder};
use crate::workload::{Invocation, Outcome, Workload};

/// The longest one operation may take, beyond the client's own deadlines; an operation
/// still running then is abandoned as `info` (or `fail` for a read).
pub const OP_DEADLINE: Duration = Duration::from_secs(20);

/// Runs `concurrency` clients until `stop` is cancelled; each finishes its operation in
/// progress (within [`OP_DEADLINE`]) before returning. `open` gives each client its own
/// handle on the database.
pub async fn run(
    workload: Arc<Workload>,
    open: impl Fn() -> Result<Db, dqlite_client::Error>,
    rec: Recorder,
    concurrency: u64,
    seed: u64,
    stop: CancellationToken,
) {
    let mut tasks = Vec::new();
    for client in 0..concurrency {
        let db = match open() {
            Ok(db) => db,
            Err(e) => {
                tracing::error!(error = %e, "client {client} has no database handle");
                continue;
            }
        };
        let (workload, rec, stop) = (Arc::clone(&workload), rec.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed.wrapping_add(client));
            let mut process = client;
            while !stop.is_cancelled() {
                let op = workload.generate(&mut rng);
                if invoke(&workload, &db, &rec, process, &op).await == OpType::Info {
                    process += concurrency;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Runs one operation as `process`, recording it; returns how it ended.
pub async fn invoke(
    workload: &Workload,
    db: &Db,
    rec: &Recorder,
    process: u64,
    op: &Invocation,
) -> OpType {
    let p = Process::Client(process);
    rec.record(p, OpType::Invoke, op.f, op.value.clone(), None, None);
    let (outcome, node) = match tokio::time::timeout(OP_DEADLINE, workload.invoke(db, op)).await {
        Ok(done) => done,
        Err(_) => {
            let why = format!("no answer within {OP_DEADLINE:?}");
            if op.f == "read" {
                (Outcome::Fail(why), None)
            } else {
                (Outcome::Info(why), None)
            }
        }
    };
    match outcome {
        Outcome::Ok(value) => {
            rec.record(p, OpType::Ok, op.f, value, node, None);
            OpType::Ok
        }
        Outcome::Fail(e) => {
            rec.record(p, OpType::Fail, op.f, op.value.clone(), node, Some(e));
            OpType::Fail
        }
        Outcome::Info(e) => {
            rec.record(p, OpType::Info, op.f, op.value.clone(), node, Some(e));
            OpType::Info
        }
    }
}
