//! Client-only mode against a real 3-node C dqlite cluster (Debian's dqlite-demo, via
//! `dqlite-testkit`): a kvreadwrite run, a readheavy run, and SIGTERM mid-run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dqlite_benchmark::workload::{Work, READ_HEAVY_WRITES};
use dqlite_client::{Cluster, Config};
use dqlite_testkit::TempDir;

use crate::util;

const LIMIT: Duration = Duration::from_secs(120);

/// Checks the results directory against summary.json and scripts/summarise-results.py.
fn check_run(dir: &Path, addr: &str, workers: u64) -> serde_json::Value {
    let s = util::check_results(dir, addr);
    assert_eq!(s["config"]["mode"], "client-only");
    assert_eq!(s["config"]["workers"], workers);
    s
}

fn rows(addrs: &[String]) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cluster = Cluster::from_addresses(addrs.to_vec(), Config::default()).unwrap();
        let db = cluster.open("benchmark");
        match db.query_opt("SELECT count(*) FROM model", ()).await {
            Ok(Some(row)) => row.get::<i64, _>(0).unwrap_or(0),
            _ => 0,
        }
    })
}

#[test]
fn client_only_mode_against_c_dqlite() {
    let Some(reference) = dqlite_testkit::reference_cluster_or_skip(3) else {
        return;
    };
    let addrs = reference.addrs();
    let cluster = addrs.join(",");
    let first = addrs[0].as_str();
    let dir = TempDir::new("bench-interop").unwrap();
    let d = dir.path().to_str().unwrap();

    // kvreadwrite, 2 workers.
    let args = [
        "-c",
        &cluster,
        "-D",
        d,
        "-w",
        "kvreadwrite",
        "--workers",
        "2",
        "--duration",
        "2",
    ];
    let out = util::run(&args, LIMIT);
    assert!(out.status.success(), "{out:?}");
    let done = format!("Benchmark done. Results available here:\n{d}/{first}/results\n");
    assert!(out.stdout.ends_with(&done), "{}", out.stdout);
    let s = check_run(dir.path(), first, 2);
    assert!(s["works"]["exec"]["ops"].as_u64().unwrap() > 0, "{s}");
    assert!(s["works"]["query"]["ops"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["server"]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(s["interrupted"], false);

    // readheavy, 2 workers, into a fresh dir: 100 write attempts each, then reads.
    let dir2 = TempDir::new("bench-interop-rh").unwrap();
    let d2 = dir2.path().to_str().unwrap();
    let args = [
        "-c",
        &cluster,
        "-D",
        d2,
        "-w",
        "ReadHeavy",
        "--workers",
        "2",
        "--duration",
        "3",
    ];
    let out = util::run(&args, LIMIT);
    assert!(out.status.success(), "{out:?}");
    let s = check_run(dir2.path(), first, 2);
    assert_eq!(s["config"]["workload"], "readheavy");
    let files = util::read_dir(&dir2.path().join(first).join("results"));
    for ((worker, _), f) in files.iter().filter(|(k, _)| k.1 == Work::Query) {
        let exec = &files[&(*worker, Work::Exec)];
        let attempts = exec.n + exec.n_err;
        assert!(attempts >= READ_HEAVY_WRITES && (attempts == READ_HEAVY_WRITES || exec.n == 1));
        assert!(f.n > 0);
    }

    // SIGTERM during a long run: stops cleanly and still writes the results.
    let dir3 = TempDir::new("bench-interop-term").unwrap();
    let d3 = dir3.path().to_str().unwrap();
    let before = rows(&addrs);
    let mut cmd = util::binary();
    cmd.args(["-c", &cluster, "-D", d3, "--duration", "600"]);
    let child = util::spawn(cmd);
    let pid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows(&addrs) <= before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    let out = util::wait(child, LIMIT);
    assert!(sent.unwrap().success());
    assert!(out.status.success(), "{out:?}");
    let s = check_run(dir3.path(), first, 1);
    assert_eq!(s["interrupted"], true);
    assert!(s["works"]["exec"]["ops"].as_u64().unwrap() > 0);
}
