//! One run from start to verdict: start the cluster, wait for it to form, set the workload
//! up, run the clients and the nemesis for the run's time, heal every fault, make the final
//! reads, stop the cluster, check the history and write the report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_client::Config;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

use crate::check::{CheckResult, Validity};
use crate::cluster::{Cluster, ClusterSpec, Isolation, Target};
use crate::error::Error;
use crate::fault::{self, Fault, Schedule};
use crate::history::{OpType, Recorder};
use crate::report;
use crate::workload::{Kind, Workload, DATABASE};

mod clients;
pub mod shared;

use shared::Shared;

/// How long the cluster may take to form, and the final reads to succeed.
const SETTLE: Duration = Duration::from_secs(60);
/// Size of each node's file system when the disk nemesis is on.
const DISK_BYTES: u64 = 256 << 20;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Our server or C dqlite.
    pub target: Target,
    /// The server binary (`dqlite-server` or `dqlite-demo`).
    pub server_bin: PathBuf,
    /// The workload.
    pub workload: Kind,
    /// The faults and their timing.
    pub schedule: Schedule,
    /// How long clients run.
    pub time: Duration,
    /// Logical clients.
    pub concurrency: u64,
    /// Cluster size.
    pub nodes: usize,
    /// Seed of every random choice (operations and faults).
    pub seed: u64,
    /// Where the history, results, figure and node logs go (created).
    pub out: PathBuf,
    /// False forces loopback addresses (no partitions).
    pub allow_namespaces: bool,
    /// Extra arguments for each server process.
    pub extra_args: Vec<String>,
}

/// What a run found.
#[derive(Debug)]
pub struct Outcome {
    /// The checker's verdict.
    pub check: CheckResult,
    /// The history's counts and the paths written, as printed.
    pub summary: String,
}

/// Runs once. Errors are failures of the tool or the cluster's set-up, not anomalies.
pub async fn run(opts: &Options, interrupt: CancellationToken) -> Result<Outcome, Error> {
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let spec = ClusterSpec {
        target: opts.target,
        nodes: opts.nodes,
        server_bin: opts.server_bin.clone(),
        work_dir: opts.out.clone(),
        allow_namespaces: opts.allow_namespaces,
        disk_bytes: opts
            .schedule
            .faults
            .contains(&Fault::Disk)
            .then_some(DISK_BYTES),
        extra_args: opts.extra_args.clone(),
    };
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(spec))
        .await
        .map_err(|e| Error::Setup(format!("cluster start task: {e}")))??;
    if cluster.isolation() == Isolation::Loopback
        && opts.schedule.faults.contains(&Fault::Partition)
    {
        let _ = tokio::task::spawn_blocking(move || cluster.shutdown()).await;
        return Err(Error::Setup(
            "the partition nemesis needs network namespaces (run as root on Linux)".into(),
        ));
    }
    let client = dqlite_client::Cluster::from_addresses(cluster.addresses(), client_config())?;
    let shared = Shared::new(cluster, client);
    let result = drive(opts, &shared, interrupt).await;
    let cluster = shared.into_cluster();
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.shutdown())
            .await
            .map_err(|e| Error::Setup(format!("cluster stop task: {e}")))??;
    }
    let (rec, problems) = result?;
    let history = rec.into_history();
    let mut check = crate::check::check(opts.workload.name(), &history)
        .ok_or_else(|| Error::Setup(format!("no checker for {}", opts.workload.name())))?;
    if !problems.is_empty() && check.validity == Validity::Valid {
        // The history may be incomplete (no final read): the run cannot vouch for it.
        check.validity = Validity::Unknown;
    }
    let summary = report::write(opts, &history, &check, &problems)?;
    Ok(Outcome { check, summary })
}

/// The client settings of a run: short deadlines, so operations end (as `fail` or `info`)
/// while a fault lasts instead of waiting it out.
fn client_config() -> Config {
    Config {
        dial_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry_budget: Duration::from_secs(5),
        acquire_timeout: Duration::from_secs(10),
        ..Config::default()
    }
}

/// Formation, set-up, the timed phase, healing and the final reads. Failures after the
/// timed phase do not lose the history: they come back as problems beside it.
async fn drive(
    opts: &Options,
    shared: &Shared,
    interrupt: CancellationToken,
) -> Result<(Recorder, Vec<String>), Error> {
    wait_formed(shared).await?;
    let db = shared.client().open(DATABASE);
    let workload = Arc::new(Workload::new(opts.workload));
    let deadline = Instant::now() + SETTLE;
    loop {
        match workload.setup(&db).await {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline => tracing::debug!(error = %e, "set-up retry"),
            Err(e) => return Err(Error::Setup(format!("workload set-up: {e}"))),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rec = Recorder::new();
    let stop = CancellationToken::new();
    let nemesis = tokio::spawn(fault::run(
        opts.schedule.clone(),
        shared.clone(),
        rec.clone(),
        stop.clone(),
        StdRng::seed_from_u64(opts.seed ^ 0x6e656d65),
    ));
    let addresses = shared.addresses().to_vec();
    let open = move || {
        dqlite_client::Cluster::from_addresses(addresses.clone(), client_config())
            .map(|c| c.open(DATABASE))
    };
    let clients = tokio::spawn(clients::run(
        Arc::clone(&workload),
        open,
        rec.clone(),
        opts.concurrency,
        opts.seed,
        stop.clone(),
    ));
    tokio::select! {
        _ = tokio::time::sleep(opts.time) => {}
        _ = interrupt.cancelled() => {}
    }
    stop.cancel();
    let _ = clients.await;
    let _ = nemesis.await;
    if interrupt.is_cancelled() {
        return Err(Error::Interrupted);
    }
    let mut problems = Vec::new();
    if let Err(e) = fault::heal_all(shared).await {
        problems.push(format!("healing: {e}"));
    }
    if let Err(e) = wait_formed(shared).await {
        problems.push(e.to_string());
    }
    if let Err(e) = final_reads(&workload, &db, &rec, opts.concurrency).await {
        problems.push(e.to_string());
    }
    for p in &problems {
        tracing::warn!("{p}");
    }
    Ok((rec, problems))
}

/// Waits until every node is listed as a member and a leader answers.
async fn wait_formed(shared: &Shared) -> Result<(), Error> {
    let deadline = Instant::now() + SETTLE;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match shared.client().nodes().await {
            Ok(nodes) if nodes.len() == shared.node_count() && shared.leader().await.is_some() => {
                return Ok(())
            }
            Ok(nodes) => last = format!("{} of {} nodes listed", nodes.len(), shared.node_count()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(Error::Setup(format!(
        "the cluster did not form within {SETTLE:?}: {last}"
    )))
}

/// The final reads, each retried (as new operations) until it succeeds or time runs out.
async fn final_reads(
    workload: &Workload,
    db: &dqlite_client::Db,
    rec: &Recorder,
    concurrency: u64,
) -> Result<(), Error> {
    // A process number no client used.
    let mut process = u64::MAX / 2 + concurrency;
    let deadline = Instant::now() + SETTLE;
    for op in workload.final_reads() {
        loop {
            let done = clients::invoke(workload, db, rec, process, &op).await;
            process += 1;
            if done == OpType::Ok {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::Setup(format!(
                    "final read {} did not succeed within {SETTLE:?}",
                    op.value
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}
