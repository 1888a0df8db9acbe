//! The runner on a fake backend: measurements, errors by kind, the in-flight operation at
//! the deadline (cancelled, not an error), and a Ctrl-C stop that still yields results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dqlite_benchmark::backend::{Backend, OpFailure};
use dqlite_benchmark::runner::{self, RunConfig, RunOutcome};
use dqlite_benchmark::signal::Shutdown;
use dqlite_benchmark::summary::{ServerInfo, Settings, Summary};
use dqlite_benchmark::tracker::ErrorKind;
use dqlite_benchmark::workload::{Work, Workload};
use dqlite_benchmark::{report, results};
use dqlite_testkit::TempDir;

use crate::util;

/// Answers after `delay`; every `fail_every`-th call fails as busy; `hang` never answers.
#[derive(Clone)]
struct Fake {
    delay: Duration,
    fail_every: u64,
    hang: bool,
    calls: Arc<AtomicU64>,
}

impl Fake {
    fn new(delay_ms: u64, fail_every: u64) -> Fake {
        Fake {
            delay: Duration::from_millis(delay_ms),
            fail_every,
            hang: false,
            calls: Arc::default(),
        }
    }

    async fn answer(&self) -> Result<(), OpFailure> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(self.delay).await;
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if n % self.fail_every == 0 {
            return Err(OpFailure {
                kind: ErrorKind::Busy,
                message: "database is locked".into(),
            });
        }
        Ok(())
    }
}

impl Backend for Fake {
    async fn write(&self, _key: &str, _value: &str) -> Result<(), OpFailure> {
        self.answer().await
    }

    async fn read(&self, _key: &str) -> Result<(), OpFailure> {
        self.answer().await
    }
}

fn config(workload: Workload, workers: usize, duration: Duration) -> RunConfig {
    RunConfig {
        workload,
        workers,
        duration,
        key_size: 32,
        value_size: 64,
        progress: false,
    }
}

async fn run_bounded(fake: Fake, config: &RunConfig, shutdown: Shutdown) -> RunOutcome {
    tokio::time::timeout(
        Duration::from_secs(60),
        runner::run(fake, config, shutdown.wait()),
    )
    .await
    .expect("the run stops")
}

fn settings(config: &RunConfig) -> Settings {
    Settings {
        mode: "test",
        workload: config.workload.name(),
        workers: config.workers,
        duration_s: config.duration.as_secs(),
        key_size: config.key_size,
        value_size: config.value_size,
        cluster_timeout_s: 1,
        retry_busy: false,
        pool_size: 500,
        cluster: vec!["127.0.0.1:1".into()],
        results_dir: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_successes_and_errors_and_writes_consistent_results() {
    let fake = Fake::new(1, 3);
    let calls = fake.calls.clone();
    let config = config(Workload::KvReadWrite, 3, Duration::from_millis(400));
    let outcome = run_bounded(fake, &config, Shutdown::manual().0).await;
    assert!(!outcome.interrupted);
    assert_eq!(outcome.workers.len(), 3);
    let (mut ok, mut err, mut busy) = (0, 0, 0);
    for w in &outcome.workers {
        assert!(w.cancelled <= 1);
        for work in Work::ALL {
            let t = w.tracker(work);
            ok += t.n();
            err += t.n_err();
            busy += t.error_counts().busy;
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok} err {err}");
    assert_eq!(busy, err);
    // Every answered call was recorded once; a cancelled call was never answered.
    assert_eq!(ok + err, calls.load(Ordering::Relaxed));

    let summary = Summary::build(settings(&config), ServerInfo::default(), &outcome);
    assert_eq!(summary.total.ops, ok);
    assert_eq!(summary.total.errors, err);
    let exec = &summary.works["exec"];
    assert_eq!(exec.errors.by_kind.busy, exec.errors.total);
    let table = report::table(&summary);
    assert!(
        table.starts_with("work ") && table.contains("\nexec "),
        "{table}"
    );
    assert!(table.contains(&format!("busy {busy},")), "{table}");
    let lat = exec.latency_ms.as_ref().unwrap();
    assert!(lat.min <= lat.p50 && lat.p50 <= lat.p99 && lat.p999 <= lat.max);

    let dir = TempDir::new("bench-runner").unwrap();
    let results_dir = dir.path().join("127.0.0.1:1").join("results");
    let written = report::write(&results_dir, &outcome, &summary).unwrap();
    let files = util::read_dir(&results_dir);
    assert_eq!(files.len(), written.files.len());
    let file_ops: u64 = files.values().map(|f| f.n).sum();
    assert_eq!(file_ops, ok);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written.summary).unwrap()).unwrap();
    assert_eq!(json["total"]["ops"], ok);
    assert_eq!(json["config"]["workload"], "kvreadwrite");
    assert_eq!(json["works"]["exec"]["errors"]["busy"], exec.errors.total);
    util::check_with_python(&results_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operation_in_flight_at_the_deadline_is_cancelled_not_an_error() {
    let mut fake = Fake::new(0, u64::MAX);
    fake.hang = true;
    let config = config(Workload::KvWrite, 4, Duration::from_millis(200));
    let outcome = run_bounded(fake, &config, Shutdown::manual().0).await;
    for w in &outcome.workers {
        assert_eq!(w.cancelled, 1);
        assert_eq!((w.exec.n(), w.exec.n_err(), w.query.n()), (0, 0, 0));
    }
    let summary = Summary::build(settings(&config), ServerInfo::default(), &outcome);
    assert_eq!((summary.total.cancelled, summary.total.errors), (4, 0));
    assert!(summary.works.is_empty());
    let dir = TempDir::new("bench-cancel").unwrap();
    let trackers: Vec<_> = outcome
        .workers
        .iter()
        .map(|w| [&w.exec, &w.query])
        .collect();
    assert!(results::write_dir(dir.path(), &trackers, 1)
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stops_the_run_early_and_keeps_the_results() {
    let fake = Fake::new(1, 1_000);
    let config = config(Workload::ReadHeavy, 2, Duration::from_secs(3600));
    let (shutdown, trigger) = Shutdown::manual();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.send(true).unwrap();
        // Keep the sender alive until the run has seen the flag.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let outcome = run_bounded(fake, &config, shutdown).await;
    assert!(outcome.interrupted);
    assert!(outcome.workers.iter().all(|w| w.exec.n() > 0));
}
