//! The anomalies a single read shows, without the dependency graph: `garbage` (a value
//! nobody appended), `G1a` (a value only a failed transaction appended),
//! `duplicate-elements` (a value twice in one list), `G1b` (a list that ends at a value its
//! transaction appended again later) and `lost-append` (a committed append missing from a
//! key's longest read, though that read began after the append committed).
//!
//! Compatible reads are prefixes of the key's order, so only the order itself (and the
//! rare incompatible reads) are scanned element by element: the cost is the length of the
//! longest read per key, not the sum of every read.

use std::collections::{HashMap, HashSet};

use super::order::{Index, Key, Read};
use super::show_list;
use super::txn::{Mop, Outcome, Txn};
use crate::check::Anomaly;

/// Runs every per-read check.
pub(super) fn check(txns: &[Txn], index: &Index) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (&key, entry) in &index.keys {
        let Some(longest) = entry.longest else {
            continue;
        };
        let mut reported: HashSet<(&str, i64)> = HashSet::new();
        // The compatible reads by length: the shortest that holds position p shows it.
        let mut by_len: Vec<(usize, usize)> = entry
            .reads
            .iter()
            .enumerate()
            .filter(|&(r, _)| entry.compatible[r])
            .map(|(r, read)| (txns[read.txn].read_list(read.mop).len(), r))
            .collect();
        by_len.sort_unstable();
        let holder = |p: usize| {
            let at = by_len.partition_point(|&(len, _)| len <= p);
            by_len.get(at).map_or(longest, |&(_, r)| r)
        };
        for (p, &v) in entry.order.iter().enumerate() {
            let read = entry.reads[holder(p)];
            if entry.pos.get(&v) != Some(&p) && reported.insert(("dup", v)) {
                out.push(duplicate(txns, key, v, read));
            }
            element(txns, index, key, v, read, &mut reported, &mut out);
        }
        for (r, &read) in entry.reads.iter().enumerate() {
            if entry.compatible[r] {
                continue;
            }
            let mut seen = HashSet::new();
            for &v in txns[read.txn].read_list(read.mop) {
                if !seen.insert(v) && reported.insert(("dup", v)) {
                    out.push(duplicate(txns, key, v, read));
                }
                element(txns, index, key, v, read, &mut reported, &mut out);
            }
        }
        intermediate(txns, index, key, entry, &mut out);
    }
    lost(txns, index, &mut out);
    out
}

fn duplicate(txns: &[Txn], key: i64, v: i64, read: Read) -> Anomaly {
    let reader = &txns[read.txn];
    Anomaly {
        kind: "duplicate-elements".into(),
        explanation: format!(
            "{} read key {key} = {}, which holds {v} more than once",
            reader.label(),
            show_list(reader.read_list(read.mop))
        ),
        ops: reader.ops(),
    }
}

/// `garbage` and `G1a` for value `v` of a read of `key`.
fn element(
    txns: &[Txn],
    index: &Index,
    key: i64,
    v: i64,
    read: Read,
    reported: &mut HashSet<(&str, i64)>,
    out: &mut Vec<Anomaly>,
) {
    let reader = &txns[read.txn];
    let list = || show_list(reader.read_list(read.mop));
    match index.writers.get(&(key, v)) {
        None if reported.insert(("garbage", v)) => out.push(Anomaly {
            kind: "garbage".into(),
            explanation: format!(
                "{} read key {key} = {}, which holds {v}, a value no transaction appended",
                reader.label(),
                list()
            ),
            ops: reader.ops(),
        }),
        Some(w) if txns[w.txn].outcome == Outcome::Fail && reported.insert(("G1a", v)) => {
            let writer = &txns[w.txn];
            let mut ops = writer.ops();
            ops.extend(reader.ops());
            out.push(Anomaly {
                kind: "G1a".into(),
                explanation: format!(
                    "{} read key {key} = {}, which holds {v}, appended only by {}, \
                     which failed (aborted read)",
                    reader.label(),
                    list(),
                    writer.label()
                ),
                ops,
            });
        }
        _ => {}
    }
}

/// `G1b`: a read whose list (without the reader's own appends) ends at a value another
/// transaction appended to the key and then appended to again.
fn intermediate(txns: &[Txn], index: &Index, key: i64, entry: &Key, out: &mut Vec<Anomaly>) {
    for read in &entry.reads {
        let reader = &txns[read.txn];
        let Some(n) = reader.external.get(read.mop).copied().flatten() else {
            continue;
        };
        let list = reader.read_list(read.mop);
        let Some(&last) = n.checked_sub(1).and_then(|i| list.get(i)) else {
            continue;
        };
        let Some(w) = index.writers.get(&(key, last)) else {
            continue;
        };
        if w.intermediate && w.txn != read.txn {
            let writer = &txns[w.txn];
            let later: Vec<i64> = writer
                .mops
                .iter()
                .filter_map(|m| match m {
                    Mop::Append { key: k, value } if *k == key => Some(*value),
                    _ => None,
                })
                .collect();
            let mut ops = writer.ops();
            ops.extend(reader.ops());
            out.push(Anomaly {
                kind: "G1b".into(),
                explanation: format!(
                    "{} read key {key} = {}, which ends at {last}, but {} appended {} to \
                     key {key}: {last} is not its final append (intermediate read)",
                    reader.label(),
                    show_list(&list[..n]),
                    writer.label(),
                    show_list(&later)
                ),
                ops,
            });
        }
    }
}

/// `lost-append`: a committed append missing from its key's longest read (and from the
/// latest-invoked read) although that read was invoked after the append committed.
fn lost(txns: &[Txn], index: &Index, out: &mut Vec<Anomaly>) {
    let latest: HashMap<i64, Read> = index
        .keys
        .iter()
        .filter_map(|(&k, e)| Some((k, *e.reads.iter().max_by_key(|r| txns[r.txn].invoke)?)))
        .collect();
    for writer in txns.iter().filter(|t| t.outcome == Outcome::Ok) {
        let Some(done) = writer.completion else {
            continue;
        };
        for mop in &writer.mops {
            let Mop::Append { key, value } = mop else {
                continue;
            };
            let (Some(entry), Some(read)) = (index.keys.get(key), latest.get(key)) else {
                continue;
            };
            if entry.pos.contains_key(value) {
                continue;
            }
            let reader = &txns[read.txn];
            let list = reader.read_list(read.mop);
            if reader.invoke > done && !list.contains(value) {
                let mut ops = writer.ops();
                ops.extend(reader.ops());
                out.push(Anomaly {
                    kind: "lost-append".into(),
                    explanation: format!(
                        "{} appended {value} to key {key} and committed (op {done}), but \
                         {} (invoked at op {}) read key {key} = {}, and no read ever \
                         showed {value}",
                        writer.label(),
                        reader.label(),
                        reader.invoke,
                        show_list(list)
                    ),
                    ops,
                });
            }
        }
    }
}
