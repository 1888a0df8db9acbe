//! The set checker. Clients add unique integers to a set (`f = "add"`, the element as the
//! value of both the invocation and its completion) and read the whole set (`f = "read"`,
//! an `ok` read's value is the JSON array of its elements), during the run and at its end.
//!
//! An element is *known present* from the earliest of: its add's `ok` completion, or the
//! completion of an `ok` read that showed it. Every `ok` read invoked after that must show
//! it. One that does not is either *stale* (the element shows up again in a later read) or
//! the element is *lost* (it never comes back, through the final read: the read invoked
//! last). Elements nobody added are *unexpected*; elements whose add failed are
//! *failed-present*; an element twice in one read is a *duplicate*. Values of the wrong
//! shape are *malformed* (and the entry is left out), and a history without an `ok` read
//! is *no-read*, [`Validity::Unknown`].

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{Anomaly, CheckResult, Validity};
use crate::history::{pairs, Op, OpType, Pair};

/// Everything known about one element.
struct Element<'h> {
    value: i64,
    /// The adds of this element (one, unless the workload broke uniqueness).
    adds: Vec<Pair<'h>>,
    /// When it became known present (`u64::MAX`: never).
    known: u64,
    /// The read (position in read order) whose completion made it known, if a read did.
    known_by: Option<usize>,
    /// The first read that showed it.
    first_seen: Option<usize>,
    /// The first read of the current run of misses (since it was last seen).
    pending_miss: Option<usize>,
    /// The first miss the element came back from, and the read it came back in.
    stale: Option<(usize, usize)>,
}

impl Element<'_> {
    fn outcome(&self) -> OpType {
        if self.adds.iter().any(|a| a.outcome() == OpType::Ok) {
            OpType::Ok
        } else if self.adds.iter().all(|a| a.outcome() == OpType::Fail) {
            OpType::Fail
        } else {
            OpType::Info
        }
    }
}

/// An `ok` read with its elements.
struct Read<'h> {
    pair: Pair<'h>,
    elements: Vec<i64>,
}

/// Checks a set history (see the module documentation); checker name `"set"`.
pub fn check(history: &[Op]) -> CheckResult {
    let mut anomalies = Vec::new();
    let mut ids: HashMap<i64, usize> = HashMap::new();
    let mut elements: Vec<Element<'_>> = Vec::new();
    let mut reads: Vec<Read<'_>> = Vec::new();
    let mut counts = [0usize; 3]; // acknowledged, failed, unknown
    for pair in pairs(history) {
        match pair.invoke.f.as_str() {
            "add" => {
                counts[match pair.outcome() {
                    OpType::Ok => 0,
                    OpType::Fail => 1,
                    _ => 2,
                }] += 1;
                let Some(value) = pair.invoke.value.as_i64() else {
                    anomalies.push(Anomaly::malformed(
                        &pair,
                        "an add whose value is not an integer",
                    ));
                    continue;
                };
                let id = *ids.entry(value).or_insert_with(|| {
                    elements.push(Element {
                        value,
                        adds: Vec::new(),
                        known: u64::MAX,
                        known_by: None,
                        first_seen: None,
                        pending_miss: None,
                        stale: None,
                    });
                    elements.len() - 1
                });
                let e = &mut elements[id];
                if let Some(first) = e.adds.first() {
                    anomalies.push(Anomaly {
                        kind: "malformed".into(),
                        explanation: format!(
                            "element {value} is added twice, by op {} and op {}; adds must be unique",
                            first.invoke.index, pair.invoke.index
                        ),
                        ops: vec![first.invoke.index, pair.invoke.index],
                    });
                }
                if pair.outcome() == OpType::Ok {
                    e.known = e.known.min(pair.end_time());
                }
                e.adds.push(pair);
            }
            "read" if pair.outcome() == OpType::Ok => {
                let parsed = pair.completion.and_then(|c| {
                    c.value
                        .as_array()?
                        .iter()
                        .map(Value::as_i64)
                        .collect::<Option<Vec<_>>>()
                });
                match parsed {
                    Some(elements) => reads.push(Read { pair, elements }),
                    None => anomalies.push(Anomaly::malformed(
                        &pair,
                        "an ok read whose value is not an array of integers",
                    )),
                }
            }
            _ => {}
        }
    }
    let [acknowledged, failed, unknown] = counts;
    let mut stats = json!({
        "attempted": acknowledged + failed + unknown, "acknowledged": acknowledged,
        "failed": failed, "unknown": unknown, "unknown_present": 0, "lost": 0, "stale": 0,
        "unexpected": 0, "reads": reads.len(), "final_size": 0,
    });
    if reads.is_empty() {
        anomalies.push(Anomaly {
            kind: "no-read".into(),
            explanation: "no read completed ok, so nothing can be said of the set".into(),
            ops: Vec::new(),
        });
        return CheckResult {
            checker: "set",
            validity: Validity::Unknown,
            anomalies,
            stats,
        };
    }
    reads.sort_by_key(|r| (r.pair.invoke.time, r.pair.invoke.index));

    // What each read shows: duplicates, unexpected elements, and when elements became known.
    let mut unexpected: HashMap<i64, (usize, usize)> = HashMap::new(); // first read, reads
    for (pos, read) in reads.iter().enumerate() {
        let mut sorted = read.elements.clone();
        sorted.sort_unstable();
        let mut dups: Vec<i64> = sorted
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        dups.dedup();
        if !dups.is_empty() {
            anomalies.push(Anomaly {
                kind: "duplicate".into(),
                explanation: format!("{} shows elements {dups:?} more than once", name(read)),
                ops: read_ops(read),
            });
        }
        sorted.dedup();
        for v in sorted {
            let Some(&id) = ids.get(&v) else {
                unexpected.entry(v).or_insert((pos, 0)).1 += 1;
                continue;
            };
            let e = &mut elements[id];
            e.first_seen.get_or_insert(pos);
            if read.pair.end_time() < e.known {
                e.known = read.pair.end_time();
                e.known_by = Some(pos);
            }
        }
    }

    // Sweep the reads in invocation order; each must show every element known before it.
    let mut order: Vec<usize> = (0..elements.len())
        .filter(|&i| elements[i].known < u64::MAX)
        .collect();
    order.sort_by_key(|&i| elements[i].known);
    let mut stamp = vec![0usize; elements.len()];
    let (mut active, mut next) = (Vec::new(), 0);
    for (pos, read) in reads.iter().enumerate() {
        for v in &read.elements {
            if let Some(&id) = ids.get(v) {
                stamp[id] = pos + 1;
            }
        }
        while next < order.len() && elements[order[next]].known < read.pair.invoke.time {
            active.push(order[next]);
            next += 1;
        }
        for &id in &active {
            let e = &mut elements[id];
            if stamp[id] == pos + 1 {
                if let Some(miss) = e.pending_miss.take() {
                    e.stale.get_or_insert((miss, pos));
                }
            } else {
                e.pending_miss.get_or_insert(pos);
            }
        }
    }
    let last = reads.len() - 1;
    let mut unexpected: Vec<(i64, (usize, usize))> = unexpected.into_iter().collect();
    unexpected.sort_unstable();
    for &(v, (pos, n)) in &unexpected {
        let read = &reads[pos];
        anomalies.push(Anomaly {
            kind: "unexpected".into(),
            explanation: format!(
                "{} shows element {v}, which no add invoked ({n} reads show it)",
                name(read)
            ),
            ops: read_ops(read),
        });
    }
    let mut by_value: Vec<usize> = (0..elements.len()).collect();
    by_value.sort_by_key(|&id| elements[id].value);
    let (mut lost, mut stale, mut unknown_present) = (0, 0, 0);
    for id in by_value {
        let e = &elements[id];
        let adds = e.adds.iter().map(add_name).collect::<Vec<_>>().join(", ");
        let mut add_ops: Vec<usize> = e.adds.iter().flat_map(Pair::indexes).collect();
        if let Some(by) = e.known_by {
            add_ops.extend(read_ops(&reads[by]));
        }
        let since = match e.known_by {
            Some(by) => format!("shown by {}", name(&reads[by])),
            None => "acknowledged".into(),
        };
        if let (OpType::Fail, Some(pos)) = (e.outcome(), e.first_seen) {
            anomalies.push(Anomaly {
                kind: "failed-present".into(),
                explanation: format!(
                    "{} shows element {}, whose {adds} failed",
                    name(&reads[pos]),
                    e.value
                ),
                ops: [e.adds[0].indexes(), read_ops(&reads[pos])].concat(),
            });
        }
        if e.outcome() == OpType::Info && stamp[id] == last + 1 {
            unknown_present += 1;
        }
        if let Some(miss) = e.pending_miss {
            lost += 1;
            let mut ops = [
                add_ops.clone(),
                read_ops(&reads[miss]),
                read_ops(&reads[last]),
            ]
            .concat();
            ops.sort_unstable();
            ops.dedup();
            anomalies.push(Anomaly {
                kind: "lost".into(),
                explanation: format!(
                    "element {} ({adds}; {since}) is missing from {}, invoked after that, and from every read since, through the final {}",
                    e.value, name(&reads[miss]), name(&reads[last])
                ),
                ops,
            });
        }
        if let Some((miss, back)) = e.stale {
            stale += 1;
            anomalies.push(Anomaly {
                kind: "stale".into(),
                explanation: format!(
                    "element {} ({adds}; {since}) is missing from {}, invoked after that, then shown again by {}",
                    e.value, name(&reads[miss]), name(&reads[back])
                ),
                ops: [add_ops, read_ops(&reads[miss]), read_ops(&reads[back])].concat(),
            });
        }
    }
    let mut final_set = reads[last].elements.clone();
    final_set.sort_unstable();
    final_set.dedup();
    stats["unknown_present"] = json!(unknown_present);
    stats["lost"] = json!(lost);
    stats["stale"] = json!(stale);
    stats["linearizable"] = json!(stale == 0);
    stats["unexpected"] = json!(unexpected.len());
    stats["final_size"] = json!(final_set.len());
    CheckResult::from_anomalies("set", anomalies, stats)
}

/// The indexes of a read's invocation and completion.
fn read_ops(read: &Read<'_>) -> Vec<usize> {
    read.pair.indexes()
}

/// A read, named by its entries.
fn name(read: &Read<'_>) -> String {
    match read.pair.completion {
        Some(c) => format!("read op {} (ok op {})", read.pair.invoke.index, c.index),
        None => format!("read op {}", read.pair.invoke.index),
    }
}

/// An add, named by its entries and outcome.
fn add_name(pair: &Pair<'_>) -> String {
    match pair.completion {
        Some(c) => format!(
            "add op {} ({} op {})",
            pair.invoke.index,
            kind_name(c.kind),
            c.index
        ),
        None => format!("add op {} (never completed)", pair.invoke.index),
    }
}

fn kind_name(kind: OpType) -> &'static str {
    match kind {
        OpType::Invoke => "invoke",
        OpType::Ok => "ok",
        OpType::Fail => "fail",
        OpType::Info => "info",
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
