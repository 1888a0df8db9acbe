//! The modes that run our own server: the embedded default (a 3-node cluster inside the
//! benchmark process) and node mode (one node per process, go-dqlite's topology).

use std::path::Path;
use std::time::Duration;

use dqlite_testkit::{free_port, loopback_ip, TempDir};

use crate::util;

const LIMIT: Duration = Duration::from_secs(180);

/// The one `<dir>/<addr>` a run created, and its summary.
fn only_run(dir: &Path) -> (String, serde_json::Value) {
    let mut entries: Vec<String> = std::fs::read_dir(dir)
        .expect("output dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let addr = entries.remove(0);
    let summary = util::summary(dir, &addr);
    (addr, summary)
}

#[test]
fn the_embedded_default_runs_and_leaves_nothing_behind() {
    let out_dir = TempDir::new("bench-embedded").expect("temp dir");
    let dir = out_dir.path().to_str().expect("utf-8 path");
    let mut cmd = util::binary();
    cmd.args([
        "--workers",
        "3",
        "--duration",
        "2",
        "-w",
        "kvreadwrite",
        "-D",
        dir,
    ]);
    let child = util::spawn(cmd);
    let pid = child.id();
    let out = util::wait(child, LIMIT);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains("Benchmark done. Results available here:"),
        "{}",
        out.stdout
    );
    let (addr, summary) = only_run(out_dir.path());
    assert_eq!(summary["config"]["mode"], "embedded");
    assert_eq!(summary["config"]["workers"], 3);
    assert!(
        summary["works"]["exec"]["ops"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert_eq!(
        summary["config"]["cluster"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(util::check_results(out_dir.path(), &addr), summary);
    // The cluster's data lived in <tmp>/dqlite-benchmark-<pid>-*: it must be gone.
    let prefix = format!("dqlite-benchmark-{pid}-");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn node_mode_runs_go_dqlites_three_process_topology() {
    let out_dir = TempDir::new("bench-nodes").expect("temp dir");
    let dir = out_dir.path().to_str().expect("utf-8 path");
    let ip = loopback_ip();
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("{ip}:{}", free_port(ip).expect("port")))
        .collect();
    let cluster = addrs.join(",");
    let mut driver = util::binary();
    driver.args([
        "-d",
        &addrs[0],
        "--driver",
        "-c",
        &cluster,
        "--workers",
        "2",
        "--duration",
        "2",
        "-D",
        dir,
    ]);
    let driver = util::spawn(driver);
    let followers: Vec<_> = addrs[1..]
        .iter()
        .map(|a| {
            let mut cmd = util::binary();
            cmd.args(["-d", a, "-j", &addrs[0], "-D", dir]);
            util::spawn(cmd)
        })
        .collect();
    let out = util::wait(driver, LIMIT);
    // Followers wait for a signal, like go-dqlite's: stop them by PID with SIGTERM.
    for f in followers {
        let pid = f.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let done = util::wait(f, Duration::from_secs(60));
        assert!(done.stdout.contains("Benchmark client ready"), "{done:?}");
    }
    assert!(out.status.success(), "{out:?}");
    let summary = util::check_results(out_dir.path(), &addrs[0]);
    assert_eq!(summary["config"]["mode"], "node");
}
