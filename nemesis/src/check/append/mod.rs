//! The list-append checker, after Elle (Kingsbury and Alvaro, "Elle: Inferring Isolation
//! Anomalies from Experimental Observations", VLDB 2020), written from its description.
//!
//! Workload: `f = "txn"`, the value a JSON array of micro-ops `["append", k, v]` and
//! `["r", k, null]`, the `ok` completion filling each read with the whole list,
//! `["r", k, [v1, v2, ...]]`. Every value is unique per key, so a read tells exactly which
//! appends it saw, in which order; the longest read of a key gives its version order.
//!
//! The checker reports, each with the operations that show it:
//! - `malformed`: an operation it cannot parse (the verdict is then at best unknown);
//! - `internal`: a transaction's read that disagrees with its own earlier micro-ops;
//! - `incompatible-order`: two reads of a key that are not prefixes of one another;
//! - `garbage`, `duplicate-elements`, `G1a` (aborted read), `G1b` (intermediate read),
//!   `lost-append` (an acknowledged append no later read shows);
//! - cycles in the dependency graph: `G0`, `G1c`, `G-single`, `G2`;
//! - with [`Options::realtime`], cycles that need real-time edges: `G0-realtime`,
//!   `G1c-realtime`, `G-single-realtime`, `G2-realtime`. They are listed but only clear
//!   `stats.strict_serializable`; the verdict counts serializability anomalies only.
//!
//! Cost: linear in the size of the history (reads are compared with the longest read of
//! their key once; values are looked up in a per-key index), plus the cycle search, which
//! only runs inside strongly connected components.

mod anomalies;
mod cycle;
mod graph;
mod order;
mod txn;

#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::json;

use super::{Anomaly, CheckResult, Validity};
use crate::history::Op;
use txn::Outcome;

/// What the checker looks for beyond serializability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Also add real-time edges (T1 completed before T2 was invoked) and report the cycles
    /// that need them, with kinds suffixed `-realtime` (strict-serializability violations).
    pub realtime: bool,
}

/// Checks a list-append history for serializability (no real-time edges).
pub fn check(history: &[Op]) -> CheckResult {
    check_with(history, &Options::default())
}

/// Checks a list-append history with the given options.
///
/// The verdict is `invalid` when any anomaly other than `malformed` and the `-realtime`
/// cycles is found, else `unknown` when an operation was malformed, else `valid`.
pub fn check_with(history: &[Op], options: &Options) -> CheckResult {
    let (mut txns, mut found) = txn::parse(history);
    found.extend(txn::internal(&mut txns));
    let (index, order_anomalies) = order::build(&txns);
    found.extend(order_anomalies);
    found.extend(anomalies::check(&txns, &index));
    let graph = graph::build(&txns, &index, options.realtime);
    let cycles = cycle::search(&txns, &graph, options.realtime);
    let cycles_found = cycles.anomalies.len();
    found.extend(cycles.anomalies);

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &found {
        *kinds.entry(a.kind.as_str()).or_default() += 1;
    }
    let serializable = !found.iter().any(counts_against);
    let malformed = found.iter().any(|a| a.kind == "malformed");
    let strict = serializable && !found.iter().any(|a| a.kind.ends_with("-realtime"));
    let outcome = |o: Outcome| txns.iter().filter(|t| t.outcome == o).count();
    let stats = json!({
        "txns": {
            "ok": outcome(Outcome::Ok),
            "fail": outcome(Outcome::Fail),
            "unknown": outcome(Outcome::Info),
        },
        "keys": index.keys.len(),
        "reads": index.reads,
        "appends": index.appends,
        "incompatible_reads": index.incompatible,
        "nodes": graph.nodes.len(),
        "edges": {
            "ww": graph.count(graph::WW),
            "wr": graph.count(graph::WR),
            "rw": graph.count(graph::RW),
            "realtime": graph.count(graph::RT),
        },
        "sccs": cycles.sccs,
        "sccs_realtime": cycles.sccs_realtime,
        "cycles": cycles_found,
        "anomalies": kinds,
        "realtime_checked": options.realtime,
        "serializable": serializable,
        "strict_serializable": if options.realtime { json!(strict) } else { json!(null) },
    });
    let validity = if !serializable {
        Validity::Invalid
    } else if malformed {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    CheckResult {
        checker: "append",
        validity,
        anomalies: found,
        stats,
    }
}

/// True for the anomalies that make the history not serializable.
fn counts_against(a: &Anomaly) -> bool {
    a.kind != "malformed" && !a.kind.ends_with("-realtime")
}

/// A list for explanations: whole when short, else its ends and its length.
fn show_list(list: &[i64]) -> String {
    let join = |l: &[i64]| l.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    if list.len() <= 8 {
        format!("[{}]", join(list))
    } else {
        format!(
            "[{}, .., {}] ({} values)",
            join(&list[..2]),
            join(&list[list.len() - 4..]),
            list.len()
        )
    }
}
