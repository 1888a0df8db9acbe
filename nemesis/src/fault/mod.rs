//! The nemesis: which faults a run injects, and the schedule that injects them. Faults
//! alternate with quiet periods; at most one is active at a time, and each is healed before
//! the next starts and before the run's final reads. Every start is recorded in the history
//! as a nemesis `invoke` and every heal as a nemesis `info` with the same function.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::history::{OpType, Process, Recorder};
use crate::run::shared::Shared;

pub mod grudge;
mod member;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// kill -9 of the leader or a random node, then a restart on the same data.
    Kill,
    /// SIGSTOP of the leader or a random node, then SIGCONT.
    Pause,
    /// A network partition between nodes (isolated leader, halves, bridge, ring).
    Partition,
    /// A node removed through the admin API, wiped, and joined again as a new node.
    Member,
    /// One node's file system filled up, then freed (a node that stopped is restarted).
    Disk,
}

impl Fault {
    /// Every fault, in the order `mixed` lists them.
    pub const ALL: [Fault; 5] = [
        Fault::Kill,
        Fault::Pause,
        Fault::Partition,
        Fault::Member,
        Fault::Disk,
    ];

    /// The command-line and history name.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Partition => "partition",
            Fault::Member => "member",
            Fault::Disk => "disk",
        }
    }

    /// Parses a comma-separated list: fault names, `mixed` (all of them) or `none`.
    pub fn parse_list(text: &str) -> Result<Vec<Fault>, String> {
        let mut faults = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "none" => {}
                "mixed" | "all" => faults.extend(Fault::ALL),
                _ => faults.push(
                    Fault::ALL
                        .into_iter()
                        .find(|f| f.name() == name)
                        .ok_or_else(|| {
                            format!(
                                "unknown nemesis {name:?}: expected kill, pause, partition, \
                                 member, disk, mixed or none"
                            )
                        })?,
                ),
            }
        }
        faults.dedup();
        Ok(faults)
    }
}

/// When faults start and how long they last.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The faults to choose from (empty: no nemesis).
    pub faults: Vec<Fault>,
    /// Quiet time before each fault.
    pub interval: Duration,
    /// How long each fault lasts before it is healed.
    pub hold: Duration,
}

/// Injects faults until `stop` is cancelled, then heals the one in progress and returns.
pub async fn run(
    schedule: Schedule,
    shared: Shared,
    rec: Recorder,
    stop: CancellationToken,
    mut rng: StdRng,
) {
    if schedule.faults.is_empty() {
        return;
    }
    loop {
        if sleep_or_stop(schedule.interval, &stop).await {
            return;
        }
        let Some(&fault) = schedule.faults.choose(&mut rng) else {
            return;
        };
        inject(fault, &schedule, &shared, &rec, &stop, &mut rng).await;
    }
}

/// Sleeps for `d`; true when `stop` was cancelled first.
async fn sleep_or_stop(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => stop.is_cancelled(),
        _ = stop.cancelled() => true,
    }
}

/// One fault: start, hold, heal, each step recorded.
async fn inject(
    fault: Fault,
    schedule: &Schedule,
    shared: &Shared,
    rec: &Recorder,
    stop: &CancellationToken,
    rng: &mut StdRng,
) {
    let f = fault.name();
    // Kill, pause and disk hit one node; partitions and membership choose their own.
    let target = match fault {
        Fault::Kill | Fault::Pause | Fault::Disk => pick_target(shared, rng).await,
        Fault::Partition | Fault::Member => 0,
    };
    let started: Result<Value, String> = match fault {
        Fault::Kill => shared
            .with(move |c| c.kill(target))
            .await
            .map(|_| json!({"node": target})),
        Fault::Pause => shared
            .with(move |c| c.pause(target))
            .await
            .map(|_| json!({"node": target})),
        Fault::Partition => {
            let n = shared.node_count();
            let shape = *grudge::Shape::applicable(n)
                .choose(rng)
                .unwrap_or(&grudge::Shape::Halves);
            let leader = shared.leader().await;
            let drops = grudge::drops(shape, n, leader, rng);
            let value = json!({"shape": shape.name(), "drops": drops.clone()});
            shared
                .with(move |c| c.partition(&drops))
                .await
                .map(|_| value)
        }
        Fault::Member => member::remove(shared, rng).await,
        Fault::Disk => shared
            .with(move |c| c.fill_disk(target))
            .await
            .map(|_| json!({"node": target})),
    };
    let value = match started {
        Ok(value) => value,
        Err(e) => {
            tracing::warn!(fault = f, error = %e, "could not start fault");
            rec.record(
                Process::NEMESIS,
                OpType::Invoke,
                f,
                json!({"error": e}),
                None,
                None,
            );
            rec.record(
                Process::NEMESIS,
                OpType::Info,
                f,
                Value::Null,
                None,
                Some(e),
            );
            return;
        }
    };
    tracing::info!(fault = f, %value, "fault started");
    rec.record(
        Process::NEMESIS,
        OpType::Invoke,
        f,
        value.clone(),
        None,
        None,
    );
    sleep_or_stop(schedule.hold, stop).await;
    let healed: Result<Value, String> = match fault {
        Fault::Kill => shared
            .with(move |c| c.restart(target))
            .await
            .map(|_| Value::Null),
        Fault::Pause => shared
            .with(move |c| c.resume(target))
            .await
            .map(|_| Value::Null),
        Fault::Partition => shared
            .with(|c| c.heal_partition())
            .await
            .map(|_| Value::Null),
        Fault::Member => member::rejoin(shared, &value).await,
        Fault::Disk => {
            let freed = shared.with(move |c| c.free_disk(target)).await;
            match freed {
                Ok(()) => restart_if_stopped(shared, target).await,
                Err(e) => Err(e),
            }
        }
    };
    let (value, error) = match healed {
        Ok(v) => (v, None),
        Err(e) => (Value::Null, Some(e)),
    };
    tracing::info!(fault = f, ?error, "fault healed");
    rec.record(Process::NEMESIS, OpType::Info, f, value, None, error);
}

/// The leader half of the time (when one is known), otherwise a random node.
async fn pick_target(shared: &Shared, rng: &mut StdRng) -> usize {
    use rand::Rng;
    if rng.random_bool(0.5) {
        if let Some(leader) = shared.leader().await {
            return leader;
        }
    }
    rng.random_range(0..shared.node_count())
}

/// Restarts a node whose process exited (a node of ours stops itself when its disk fails).
async fn restart_if_stopped(shared: &Shared, i: usize) -> Result<Value, String> {
    let had_stopped = shared
        .with(move |c| {
            let stopped = !c.is_running(i);
            if stopped {
                c.restart(i)?;
            }
            Ok(stopped)
        })
        .await?;
    Ok(json!({"node": i, "had_stopped": had_stopped}))
}

/// Heals everything at the end of a run: no partition, every node resumed, every disk
/// freed ([`crate::cluster::Cluster::heal_all`]), and every node running.
pub async fn heal_all(shared: &Shared) -> Result<(), String> {
    shared.with(|c| c.heal_all()).await?;
    for i in 0..shared.node_count() {
        restart_if_stopped(shared, i).await?;
    }
    Ok(())
}
