//! `summary.json` (configuration, versions, throughput, errors by kind, latency percentiles
//! from merged HdrHistograms).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::runner::RunOutcome;
use crate::timeline::Timeline;
use crate::tracker::ErrorCounts;
use crate::workload::Work;

/// Versions of the pieces involved.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// This crate.
    pub dqlite_benchmark: &'static str,
    /// The client library. It is a path dependency in the same workspace and inherits the
    /// workspace version, so it is the same as `dqlite_benchmark`.
    pub dqlite_client: &'static str,
    /// The server, when known (the wire protocol does not report it).
    pub server: Option<String>,
    /// `release` or `debug`: how this benchmark (and an embedded cluster) was compiled.
    pub build: &'static str,
}

impl Default for Versions {
    fn default() -> Self {
        Versions {
            dqlite_benchmark: env!("CARGO_PKG_VERSION"),
            dqlite_client: env!("CARGO_PKG_VERSION"),
            server: None,
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        }
    }
}

/// The run's configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// `embedded`, `node` or `client-only`.
    pub mode: &'static str,
    /// Workload name.
    pub workload: &'static str,
    /// Workers.
    pub workers: usize,
    /// Configured duration in seconds.
    pub duration_s: u64,
    /// Key size in bytes.
    pub key_size: usize,
    /// Value size in bytes.
    pub value_size: usize,
    /// Cluster wait in seconds.
    pub cluster_timeout_s: u64,
    /// Whether the client retried SQLITE_BUSY.
    pub retry_busy: bool,
    /// Connection pool size.
    pub pool_size: usize,
    /// Cluster addresses benchmarked.
    pub cluster: Vec<String>,
    /// The results directory.
    pub results_dir: String,
}

/// One node as the leader listed it before the run.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Raft id.
    pub id: u64,
    /// Address.
    pub address: String,
    /// Role (`voter`, `stand-by`, `spare`), if reported.
    pub role: Option<String>,
}

/// What is known about the cluster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerInfo {
    /// The leader when the run started.
    pub leader: Option<String>,
    /// The configuration when the run started.
    pub nodes: Vec<Node>,
}

/// Latencies of successful operations, in ms.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Exact mean.
    pub mean: f64,
    /// Median (HdrHistogram, 3 significant digits).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Exact maximum.
    pub max: f64,
    /// Exact minimum.
    pub min: f64,
}

/// Errors by kind, with their total.
#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    /// Counts by kind.
    #[serde(flatten)]
    pub by_kind: ErrorCounts,
    /// All errors.
    pub total: u64,
}

/// One work type (`exec` or `query`) over all workers.
#[derive(Debug, Clone, Serialize)]
pub struct WorkSummary {
    /// Successful operations.
    pub ops: u64,
    /// Successful operations per second of run time.
    pub ops_per_sec: f64,
    /// Failed operations.
    pub errors: Errors,
    /// Latencies; absent without successes.
    pub latency_ms: Option<Latency>,
}

/// All work types together.
#[derive(Debug, Clone, Serialize)]
pub struct Total {
    /// Successful operations.
    pub ops: u64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Failed operations.
    pub errors: u64,
    /// Operations in flight when the run stopped, cancelled and not counted as errors.
    pub cancelled: u64,
}

/// An error message and how often it occurred.
#[derive(Debug, Clone, Serialize)]
pub struct MessageCount {
    /// `exec` or `query`.
    pub work: &'static str,
    /// The message.
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

/// The content of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Versions.
    pub versions: Versions,
    /// Configuration.
    pub config: Settings,
    /// The cluster.
    pub server: ServerInfo,
    /// Start of the run (unix ns).
    pub start_unix_ns: u64,
    /// End of the run (unix ns).
    pub end_unix_ns: u64,
    /// Seconds from start to stop.
    pub elapsed_s: f64,
    /// True when a signal stopped the run early.
    pub interrupted: bool,
    /// Per work type, only for types that ran.
    pub works: BTreeMap<&'static str, WorkSummary>,
    /// Over all work types.
    pub total: Total,
    /// The most frequent error messages (at most 10).
    pub error_messages: Vec<MessageCount>,
    /// Second by second, and the longest stretch without a success per work type.
    pub timeline: Timeline,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn latency(h: &Histogram<u64>, total_ns: u128, min_ns: u64, max_ns: u64) -> Option<Latency> {
    let n = h.len();
    // The middle of the value's bucket (within 0.05 %), never above the exact maximum.
    let q = |q: f64| ms(h.median_equivalent(h.value_at_quantile(q)).min(max_ns));
    (n > 0).then(|| Latency {
        mean: total_ns as f64 / n as f64 / 1e6,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max: ms(max_ns),
        min: ms(min_ns),
    })
}

fn work_summary(outcome: &RunOutcome, work: Work, secs: f64) -> Option<WorkSummary> {
    let mut h = Histogram::<u64>::new(3).expect("3 significant figures are valid");
    let mut errors = ErrorCounts::default();
    let (mut total_ns, mut min_ns, mut max_ns) = (0u128, u64::MAX, 0u64);
    for t in outcome.workers.iter().map(|w| w.tracker(work)) {
        h.add(t.histogram())
            .expect("auto-resizing histograms merge");
        errors.merge(&t.error_counts());
        total_ns += t.total_ns();
        if t.n() > 0 {
            min_ns = min_ns.min(t.min_ns());
            max_ns = max_ns.max(t.max_ns());
        }
    }
    let ops = h.len();
    if ops == 0 && errors.total() == 0 {
        return None;
    }
    Some(WorkSummary {
        ops,
        ops_per_sec: ops as f64 / secs,
        errors: Errors {
            total: errors.total(),
            by_kind: errors,
        },
        latency_ms: latency(&h, total_ns, min_ns, max_ns),
    })
}

fn top_messages(outcome: &RunOutcome) -> Vec<MessageCount> {
    let mut counts: BTreeMap<(&'static str, &str), u64> = BTreeMap::new();
    for w in &outcome.workers {
        for work in Work::ALL {
            for (message, n) in w.tracker(work).message_counts() {
                *counts.entry((work.name(), message)).or_default() += n;
            }
        }
    }
    let mut list: Vec<MessageCount> = counts
        .into_iter()
        .map(|((work, message), count)| MessageCount {
            work,
            message: message.to_owned(),
            count,
        })
        .collect();
    list.sort_by_key(|m| std::cmp::Reverse(m.count));
    list.truncate(10);
    list
}

impl Summary {
    /// Summarises a run.
    pub fn build(config: Settings, server: ServerInfo, outcome: &RunOutcome) -> Summary {
        let secs = outcome.elapsed.as_secs_f64().max(1e-9);
        let works: BTreeMap<_, _> = Work::ALL
            .into_iter()
            .filter_map(|w| Some((w.name(), work_summary(outcome, w, secs)?)))
            .collect();
        let ops = works.values().map(|w| w.ops).sum::<u64>();
        let total = Total {
            ops,
            ops_per_sec: ops as f64 / secs,
            errors: works.values().map(|w| w.errors.total).sum(),
            cancelled: outcome.workers.iter().map(|w| w.cancelled).sum(),
        };
        Summary {
            versions: Versions::default(),
            config,
            server,
            start_unix_ns: outcome.start_unix_ns,
            end_unix_ns: outcome.end_unix_ns,
            elapsed_s: outcome.elapsed.as_secs_f64(),
            interrupted: outcome.interrupted,
            works,
            total,
            error_messages: top_messages(outcome),
            timeline: Timeline::build(outcome),
        }
    }
}
