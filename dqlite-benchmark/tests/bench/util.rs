//! Shared helpers: running the binary with a deadline, reading results directories, and
//! cross-checking them with `scripts/summarise-results.py`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use dqlite_benchmark::results::{self, ParsedFile};
use dqlite_benchmark::workload::Work;

/// The benchmark binary built for these tests.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dqlite-benchmark"))
}

/// Output of a finished process.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `cmd` with piped output and no stdin.
pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the benchmark binary")
}

/// Waits for `child` until `timeout`; kills it by PID and panics if it is still running.
pub fn wait(mut child: Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the benchmark (pid {}) ran past {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |s: Option<&mut dyn Read>| {
        let mut out = String::new();
        if let Some(s) = s {
            let _ = s.read_to_string(&mut out);
        }
        out
    };
    let stdout = read(child.stdout.as_mut().map(|s| s as &mut dyn Read));
    let stderr = read(child.stderr.as_mut().map(|s| s as &mut dyn Read));
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Runs the binary with `args` (bounded by `timeout`).
pub fn run(args: &[&str], timeout: Duration) -> Output {
    let mut cmd = binary();
    cmd.args(args);
    wait(spawn(cmd), timeout)
}

/// Every results file of `dir`, parsed, keyed by (worker, work).
pub fn read_dir(dir: &Path) -> BTreeMap<(usize, Work), ParsedFile> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("results dir exists") {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let (worker, work, _) = results::parse_file_name(&name)
            .unwrap_or_else(|| panic!("unexpected file {name} in {dir:?}"));
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let parsed = results::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out.insert((worker, work), parsed).is_none(), "{name} twice");
    }
    out
}

/// `scripts/summarise-results.py` of this repository.
fn summariser() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/summarise-results.py")
}

/// `summarise-results.py --json DIR`, parsed. Panics (never skips) when python3 or the script
/// is missing or the script fails: the check is part of the test.
pub fn python_summary(dir: &Path) -> serde_json::Value {
    let script = summariser();
    assert!(script.is_file(), "{} is missing", script.display());
    let out = Command::new("python3")
        .arg(&script)
        .arg("--json")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("run python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "summarise-results.py failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("summarise-results.py prints JSON")
}

/// Checks that `summarise-results.py` reads the same numbers as our parser from `dir`.
pub fn check_with_python(dir: &Path) {
    let files = read_dir(dir);
    let summary = python_summary(dir);
    assert_eq!(summary["files"], files.len());
    for work in Work::ALL {
        let ours: Vec<&ParsedFile> = files
            .iter()
            .filter(|((_, w), _)| *w == work)
            .map(|(_, f)| f)
            .collect();
        let theirs = &summary["works"][work.name()];
        if ours.is_empty() {
            assert!(theirs.is_null(), "{work:?}: {theirs}");
            continue;
        }
        let n: u64 = ours.iter().map(|f| f.n).sum();
        let n_err: u64 = ours.iter().map(|f| f.n_err).sum();
        let durations: Vec<u64> = ours
            .iter()
            .flat_map(|f| f.measurements.iter().map(|m| m.1))
            .collect();
        let max = *durations.iter().max().unwrap();
        let min = *durations.iter().min().unwrap();
        let mean = durations.iter().map(|&d| d as f64).sum::<f64>() / durations.len() as f64;
        assert_eq!(theirs["n"], n, "{work:?}");
        assert_eq!(theirs["n_header"], n, "{work:?}");
        assert_eq!(theirs["n_err"], n_err, "{work:?}");
        assert!(theirs.get("warning").is_none(), "{theirs}");
        let close = |key: &str, ns: f64| {
            let v = theirs[key].as_f64().unwrap();
            assert!(
                (v - ns / 1e6).abs() < 1e-6,
                "{work:?} {key}: {v} vs {ns} ns"
            );
        };
        close("max_ms", max as f64);
        close("min_ms", min as f64);
        close("avg_ms", mean);
    }
}

/// `<dir>/<addr>/summary.json`, parsed.
pub fn summary(dir: &Path, addr: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(addr).join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// Checks that the results files under `<dir>/<addr>/results` agree with summary.json and
/// that summarise-results.py reads them alike; returns the summary.
pub fn check_results(dir: &Path, addr: &str) -> serde_json::Value {
    let results_dir = dir.join(addr).join("results");
    let files = read_dir(&results_dir);
    assert!(!files.is_empty(), "no results files in {results_dir:?}");
    let summary = summary(dir, addr);
    for work in Work::ALL {
        let n: u64 = files
            .iter()
            .filter(|(k, _)| k.1 == work)
            .map(|(_, f)| f.n)
            .sum();
        let ops = summary["works"][work.name()]["ops"].as_u64().unwrap_or(0);
        assert_eq!(n, ops, "{work:?}");
    }
    check_with_python(&results_dir);
    summary
}
