//! The register checker: linearizability of independent registers, one per key (Jepsen's
//! "independent" keys), each checked on its own by a Wing & Gong search with Lowe's
//! memoisation ([`wgl`]).
//!
//! Operations (the value of the `invoke` entry, and of the completion for reads):
//! - `read`: invoke `{"key": k, "value": null}`, ok `{"key": k, "value": v}`, `v` an integer
//!   or `null` (never written: every register starts as `null`);
//! - `write`: `{"key": k, "value": v}`;
//! - `cas`: `{"key": k, "from": a, "to": b}`; `ok` means the register held `a` and now holds `b`.
//!
//! Each operation is an interval from its invocation to its completion. An `ok` operation
//! must be linearized in its interval; a `fail` one certainly did not happen and is dropped;
//! a write or cas with an unknown outcome (`info`, or never completed) may take effect at
//! any single point after its invocation, or never; a read with an unknown outcome observed
//! nothing usable and is dropped.
//!
//! The history is not cut at quiescent points: an unknown write stays pending for ever, so
//! after the first one no cut would be exact. Instead the memo key holds only the
//! concurrency window (see [`wgl`]), which gives the same cost. Each key's search is bounded
//! by a budget of explored configurations; running out makes the verdict
//! [`Validity::Unknown`] with a `"search-bound"` anomaly naming the key.

mod explain;
mod model;
mod wgl;

#[cfg(test)]
mod brute_tests;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Anomaly, CheckResult, Validity};
use crate::history::{pairs, Op, OpType};
use model::{Cmd, KeyOp, Point, Val};
use wgl::{Outcome, Search};

/// The default budget of configurations explored per key.
pub const DEFAULT_BUDGET: u64 = 2_000_000;

/// At most this many `"malformed"` anomalies are listed one by one.
const MAX_MALFORMED: usize = 20;

/// Checks a register history with [`DEFAULT_BUDGET`] configurations per key.
pub fn check(history: &[Op]) -> CheckResult {
    check_with_budget(history, DEFAULT_BUDGET)
}

/// Keys listed one by one in the stats: only those that are not valid, at most this many.
const PER_KEY_LISTED: usize = 100;

/// Checks a register history, exploring at most `budget` configurations per key (and per
/// search made to explain a violation).
pub fn check_with_budget(history: &[Op], budget: u64) -> CheckResult {
    let parsed = parse(history);
    let mut anomalies = parsed.malformed;
    let mut unknown = Vec::new();
    let mut per_key = Vec::new();
    let mut by_result: BTreeMap<&str, u64> = BTreeMap::new();
    let mut states = 0u64;
    let mut max_conc = 0usize;
    for (&key, ops) in &parsed.keys {
        let mut search = Search::new(ops);
        let outcome = search.run(budget, 0);
        states += search.explored;
        let conc = max_concurrency(ops);
        max_conc = max_conc.max(conc);
        let verdict = match outcome {
            Outcome::Linearizable(_) => "valid",
            Outcome::Exhausted => {
                unknown.push(Anomaly {
                    kind: "search-bound".into(),
                    explanation: format!(
                        "key {key}: the linearizability search explored {budget} configurations \
                         without a verdict ({} operations, at most {conc} ok operations at once)",
                        ops.len()
                    ),
                    ops: ops.iter().map(|o| o.invoke).take(20).collect(),
                });
                "unknown"
            }
            Outcome::NotLinearizable => {
                let (anomaly, spent) = explain::explain(key, ops, budget);
                states += spent;
                anomalies.push(anomaly);
                "invalid"
            }
        };
        *by_result.entry(verdict).or_insert(0u64) += 1;
        if verdict == "valid" || per_key.len() >= PER_KEY_LISTED {
            continue;
        }
        per_key.push(json!({
            "key": key,
            "ops": ops.len(),
            "info": ops.iter().filter(|o| !o.required).count(),
            "states": search.explored,
            "max_concurrency": conc,
            "result": verdict,
        }));
    }
    let stats = json!({
        "keys": parsed.keys.len(),
        "ops": parsed.keys.values().map(Vec::len).sum::<usize>(),
        "ok": parsed.ok,
        "info": parsed.info,
        "fail_dropped": parsed.failed,
        "reads_unknown_dropped": parsed.unknown_reads,
        "states": states,
        "max_concurrency": max_conc,
        "keys_by_result": by_result,
        "per_key": per_key,
    });
    let validity = if !anomalies.is_empty() {
        Validity::Invalid
    } else if !unknown.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    anomalies.extend(unknown);
    CheckResult {
        checker: "register",
        validity,
        anomalies,
        stats,
    }
}

/// The most `ok` operations of a key in flight at once.
fn max_concurrency(ops: &[KeyOp]) -> usize {
    let mut events: Vec<(Point, bool)> = ops
        .iter()
        .filter(|o| o.required)
        .flat_map(|o| [(o.call, true), (o.ret, false)])
        .collect();
    events.sort_unstable();
    let (mut now, mut max) = (0usize, 0usize);
    for (_, start) in events {
        if start {
            now += 1;
            max = max.max(now);
        } else {
            now = now.saturating_sub(1);
        }
    }
    max
}

/// A history split by key, with counts of what was dropped.
#[derive(Default)]
struct Parsed {
    keys: BTreeMap<i64, Vec<KeyOp>>,
    malformed: Vec<Anomaly>,
    ok: usize,
    info: usize,
    failed: usize,
    unknown_reads: usize,
}

/// A point on the timeline of an entry.
fn point(op: &Op) -> Point {
    (Point::from(op.time) << 64) | op.index as Point
}

/// A register value: an integer or `null`; `Err` for anything else or a missing field.
fn value(v: Option<&Value>) -> Result<Val, ()> {
    match v {
        Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(()),
        None => Err(()),
    }
}

fn parse(history: &[Op]) -> Parsed {
    let mut out = Parsed::default();
    let mut malformed = Vec::new();
    for pair in pairs(history) {
        let inv = pair.invoke;
        let outcome = pair.outcome();
        if outcome == OpType::Fail {
            out.failed += 1;
            continue;
        }
        if inv.f == "read" && outcome != OpType::Ok {
            out.unknown_reads += 1;
            continue;
        }
        let Some(key) = inv.value.get("key").and_then(Value::as_i64) else {
            malformed.push((inv, "has no integer key".to_owned()));
            continue;
        };
        let cmd = match inv.f.as_str() {
            "read" => {
                let done = pair.completion.map(|c| &c.value);
                match done.map(|d| (d.get("key").and_then(Value::as_i64), value(d.get("value")))) {
                    Some((Some(k), Ok(v))) if k == key => Cmd::Read(v),
                    _ => {
                        malformed.push((inv, "completed without the key and a value".into()));
                        continue;
                    }
                }
            }
            "write" => match value(inv.value.get("value")) {
                Ok(v) => Cmd::Write(v),
                Err(()) => {
                    malformed.push((inv, "has no integer value".into()));
                    continue;
                }
            },
            "cas" => match (value(inv.value.get("from")), value(inv.value.get("to"))) {
                (Ok(from), Ok(to)) => Cmd::Cas(from, to),
                _ => {
                    malformed.push((inv, "has no integer from and to".into()));
                    continue;
                }
            },
            other => {
                malformed.push((inv, format!("has an unknown function {other:?}")));
                continue;
            }
        };
        let required = outcome == OpType::Ok;
        if required {
            out.ok += 1;
        } else {
            out.info += 1;
        }
        out.keys.entry(key).or_default().push(KeyOp {
            invoke: inv.index,
            completion: pair.completion.map(|c| c.index),
            call: point(inv),
            ret: pair
                .completion
                .filter(|_| required)
                .map_or(Point::MAX, point),
            cmd,
            required,
        });
    }
    let extra = malformed.len().saturating_sub(MAX_MALFORMED);
    for (op, why) in malformed.into_iter().take(MAX_MALFORMED) {
        out.malformed.push(Anomaly {
            kind: "malformed".into(),
            explanation: format!("{} at op {} {why}: {}", op.f, op.index, op.value),
            ops: vec![op.index],
        });
    }
    if extra > 0 {
        out.malformed.push(Anomaly {
            kind: "malformed".into(),
            explanation: format!("{extra} more malformed operations not listed"),
            ops: Vec::new(),
        });
    }
    out
}
