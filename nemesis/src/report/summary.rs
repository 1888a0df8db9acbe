//! Counts of a history and the files of a run: `history.jsonl`, `results.json`,
//! `timeline.svg`, and the summary printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::check::{CheckResult, Validity};
use crate::cluster::Target;
use crate::error::Error;
use crate::history::{self, Op, OpType};
use crate::run::Options;

/// Anomalies listed in the terminal summary (all of them are in `results.json`).
const PRINTED_ANOMALIES: usize = 20;

/// Completions of one function by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Took effect.
    pub ok: u64,
    /// Certainly did not.
    pub fail: u64,
    /// Unknown (including operations still open at the end).
    pub info: u64,
}

/// Client operations by function and outcome, and faults by function.
pub fn counts(history: &[Op]) -> (BTreeMap<String, Counts>, BTreeMap<String, u64>) {
    let mut ops: BTreeMap<String, Counts> = BTreeMap::new();
    for pair in history::pairs(history) {
        let c = ops.entry(pair.invoke.f.clone()).or_default();
        match pair.outcome() {
            OpType::Ok => c.ok += 1,
            OpType::Fail => c.fail += 1,
            _ => c.info += 1,
        }
    }
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    for op in history
        .iter()
        .filter(|o| !o.is_client() && o.kind == OpType::Invoke)
    {
        *faults.entry(op.f.clone()).or_default() += 1;
    }
    (ops, faults)
}

/// Writes the run's files into `opts.out` and returns the summary to print.
pub fn write(
    opts: &Options,
    history: &[Op],
    check: &CheckResult,
    problems: &[String],
) -> Result<String, Error> {
    let dir = &opts.out;
    let path = dir.join("history.jsonl");
    let mut out = BufWriter::new(File::create(&path).map_err(|e| Error::io(&path, e))?);
    history::write_jsonl(history, &mut out).map_err(|e| Error::io(&path, e))?;
    drop(out);

    let (ops, faults) = counts(history);
    let target = match opts.target {
        Target::Ours => "ours",
        Target::C => "c",
    };
    let nemesis: Vec<&str> = opts.schedule.faults.iter().map(|f| f.name()).collect();
    let results = json!({
        "target": target,
        "workload": opts.workload.name(),
        "nemesis": nemesis,
        "time_s": opts.time.as_secs_f64(),
        "concurrency": opts.concurrency,
        "nodes": opts.nodes,
        "seed": opts.seed,
        "operations": ops,
        "faults": faults,
        "check": check,
        "problems": problems,
    });
    write_file(&dir.join("results.json"), &format!("{results:#}\n"))?;
    let title = format!(
        "{} on {target}, nemesis {}, {} s, seed {}: {:?}",
        opts.workload.name(),
        display_list(&nemesis),
        opts.time.as_secs(),
        opts.seed,
        check.validity
    );
    write_file(
        &dir.join("timeline.svg"),
        &super::svg::timeline(history, &title),
    )?;

    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {target} ({} nodes), nemesis {}, {} s, {} clients, seed {}",
        opts.workload.name(),
        opts.nodes,
        display_list(&nemesis),
        opts.time.as_secs(),
        opts.concurrency,
        opts.seed
    );
    for (f, c) in &ops {
        let _ = writeln!(
            s,
            "  {f:<9} {:>7} ok {:>6} fail {:>6} unknown",
            c.ok, c.fail, c.info
        );
    }
    let faults: Vec<String> = faults.iter().map(|(f, n)| format!("{f} x{n}")).collect();
    let _ = writeln!(s, "  faults: {}", display_list(&faults));
    for p in problems {
        let _ = writeln!(s, "  problem: {p}");
    }
    let verdict = match check.validity {
        Validity::Valid => "VALID",
        Validity::Invalid => "INVALID",
        Validity::Unknown => "UNKNOWN",
    };
    let _ = writeln!(
        s,
        "  checker {}: {verdict}  {}",
        check.checker,
        brief(&check.stats)
    );
    for a in check.anomalies.iter().take(PRINTED_ANOMALIES) {
        let note = if a.is_realtime_only() {
            " [real-time order only: allowed under serializability, not linearizable]"
        } else {
            ""
        };
        let _ = writeln!(s, "  - {}{note}: {}", a.kind, a.explanation);
    }
    if check.anomalies.len() > PRINTED_ANOMALIES {
        let _ = writeln!(
            s,
            "  ... {} more in results.json",
            check.anomalies.len() - PRINTED_ANOMALIES
        );
    }
    let _ = writeln!(s, "  files: {}", dir.display());
    write_file(&dir.join("summary.txt"), &s)?;
    Ok(s)
}

/// The checker's counts without its long lists (those stay in `results.json`).
fn brief(stats: &serde_json::Value) -> serde_json::Value {
    match stats {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_array())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn display_list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(",")
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}
