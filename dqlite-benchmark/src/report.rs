//! Writes a finished run: the go-dqlite results files in `<dir>/<addr>/results/`,
//! `summary.json` next to that directory (`<dir>/<addr>/summary.json`, so tools that read
//! every file of `results/` see only go-dqlite's files), and the table on stdout.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::results;
use crate::runner::{unix_ns, RunOutcome};
use crate::summary::Summary;
use crate::tracker::ErrorCounts;

/// A write that failed.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {source}")]
pub struct ReportError {
    /// The file or directory.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// Where a run was written.
#[derive(Debug, Clone)]
pub struct Written {
    /// The results directory.
    pub results_dir: PathBuf,
    /// The results files.
    pub files: Vec<PathBuf>,
    /// `summary.json`.
    pub summary: PathBuf,
}

fn count_existing(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| results::parse_file_name(&e.file_name().to_string_lossy()).is_some())
                .count()
        })
        .unwrap_or(0)
}

/// Writes the results files (file timestamp taken now, at report time) and `summary.json`.
pub fn write(
    results_dir: &Path,
    outcome: &RunOutcome,
    summary: &Summary,
) -> Result<Written, ReportError> {
    let existing = count_existing(results_dir);
    if existing > 0 {
        eprintln!(
            "warning: {} already holds {existing} results files from an earlier run; the new files are added beside them",
            results_dir.display()
        );
    }
    let trackers: Vec<_> = outcome
        .workers
        .iter()
        .map(|w| [&w.exec, &w.query])
        .collect();
    let unix_s = unix_ns() / 1_000_000_000;
    let files =
        results::write_dir(results_dir, &trackers, unix_s).map_err(|source| ReportError {
            path: results_dir.to_owned(),
            source,
        })?;
    let summary_path = results_dir
        .parent()
        .unwrap_or(results_dir)
        .join("summary.json");
    let json = serde_json::to_string_pretty(summary).expect("the summary serialises");
    std::fs::write(&summary_path, json + "\n").map_err(|source| ReportError {
        path: summary_path.clone(),
        source,
    })?;
    Ok(Written {
        results_dir: results_dir.to_owned(),
        files,
        summary: summary_path,
    })
}

/// Prints the table and go-dqlite's closing lines on stdout.
pub fn print(summary: &Summary, written: &Written) {
    print!("{}", table(summary));
    println!("Summary: {}", written.summary.display());
    println!(
        "Benchmark done. Results available here:\n{}",
        written.results_dir.display()
    );
}

/// The short table printed on stdout at the end of a run.
pub fn table(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "work", "ops", "ops/s", "errors", "mean ms", "p50", "p90", "p99", "p99.9", "max"
    );
    for (name, w) in &summary.works {
        let _ = write!(
            out,
            "{name:<6} {:>10} {:>10.1} {:>10}",
            w.ops, w.ops_per_sec, w.errors.total
        );
        match &w.latency_ms {
            Some(l) => {
                for v in [l.mean, l.p50, l.p90, l.p99, l.p999, l.max] {
                    let _ = write!(out, " {v:>9.3}");
                }
            }
            None => out.push_str(&format!(" {:>9}", "-").repeat(6)),
        }
        out.push('\n');
    }
    let mut kinds = ErrorCounts::default();
    summary
        .works
        .values()
        .for_each(|w| kinds.merge(&w.errors.by_kind));
    let _ = writeln!(
        out,
        "{} workers, {} for {:.1} s{}; errors: busy {}, commit-unknown {}, timeout {}, other {}; cancelled at stop: {}",
        summary.config.workers,
        summary.config.workload,
        summary.elapsed_s,
        if summary.interrupted { " (interrupted)" } else { "" },
        kinds.busy,
        kinds.commit_unknown,
        kinds.timeout,
        kinds.other,
        summary.total.cancelled
    );
    out
}
