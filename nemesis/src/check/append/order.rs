//! Who appended what, and the version order of every key.
//!
//! Every value is appended once per key, so a value names the transaction that appended
//! it. Every committed read of a key is the whole list at some point; under any
//! serializable execution they are all prefixes of the longest one, which then gives the
//! order in which the key's values were appended (anomaly `incompatible-order` otherwise).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::show_list;
use super::txn::{Mop, Outcome, Txn};
use crate::check::Anomaly;

/// At most this many `incompatible-order` anomalies are listed per key (all are counted).
const INCOMPATIBLE_LISTED: usize = 10;

/// The transaction that appended a value to a key.
#[derive(Debug, Clone, Copy)]
pub(super) struct Writer {
    /// Index of the transaction.
    pub txn: usize,
    /// True when the same transaction appended to the same key again later: the value is
    /// an intermediate state that no other transaction may read as the list's end.
    pub intermediate: bool,
}

/// One committed read: micro-op `mop` of transaction `txn`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Read {
    /// Index of the transaction.
    pub txn: usize,
    /// Index of the micro-op.
    pub mop: usize,
}

/// Everything known about one key.
#[derive(Debug, Default)]
pub(super) struct Key {
    /// The committed reads, in invocation order.
    pub reads: Vec<Read>,
    /// The version order: the longest read.
    pub order: Vec<i64>,
    /// Position of each value in [`Key::order`] (its first, if repeated).
    pub pos: HashMap<i64, usize>,
    /// The index in [`Key::reads`] of the longest read.
    pub longest: Option<usize>,
    /// Per read: true when it is a prefix of the longest.
    pub compatible: Vec<bool>,
}

/// The writers of every value and the version order of every key.
#[derive(Debug, Default)]
pub(super) struct Index {
    /// `(key, value)` to the transaction that appended it.
    pub writers: HashMap<(i64, i64), Writer>,
    /// Every key read or appended, in key order.
    pub keys: BTreeMap<i64, Key>,
    /// How many appends the transactions hold (any outcome).
    pub appends: usize,
    /// How many committed reads.
    pub reads: usize,
    /// How many reads were not a prefix of their key's longest read.
    pub incompatible: usize,
}

/// Indexes the writers and reads, derives every key's version order and reports the reads
/// that do not fit it, and values appended twice (`malformed`: the workload promises
/// unique values).
pub(super) fn build(txns: &[Txn]) -> (Index, Vec<Anomaly>) {
    let mut index = Index::default();
    let mut anomalies = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        let mut last_append: HashMap<i64, usize> = HashMap::new();
        for (i, mop) in txn.mops.iter().enumerate() {
            if let Mop::Append { key, .. } = mop {
                last_append.insert(*key, i);
            }
        }
        for (i, mop) in txn.mops.iter().enumerate() {
            let entry = index.keys.entry(mop.key()).or_default();
            match mop {
                Mop::Append { key, value } => {
                    index.appends += 1;
                    let writer = Writer {
                        txn: t,
                        intermediate: last_append.get(key) != Some(&i),
                    };
                    if let Some(first) = index.writers.get(&(*key, *value)) {
                        let first = &txns[first.txn];
                        let mut ops = first.ops();
                        ops.extend(txn.ops());
                        anomalies.push(Anomaly {
                            kind: "malformed".into(),
                            explanation: format!(
                                "{} appended {value} to key {key}, which {} had already \
                                 appended: values must be unique per key",
                                txn.label(),
                                first.label()
                            ),
                            ops,
                        });
                    } else {
                        index.writers.insert((*key, *value), writer);
                    }
                }
                Mop::Read { list: Some(_), .. } if txn.outcome == Outcome::Ok => {
                    index.reads += 1;
                    entry.reads.push(Read { txn: t, mop: i });
                }
                Mop::Read { .. } => {}
            }
        }
    }
    for (&key, entry) in index.keys.iter_mut() {
        let list = |r: &Read| txns[r.txn].read_list(r.mop);
        let longest = (0..entry.reads.len()).max_by_key(|&r| (list(&entry.reads[r]).len(), r));
        let Some(longest) = longest else {
            continue;
        };
        entry.longest = Some(longest);
        let long = list(&entry.reads[longest]);
        entry.order = long.to_vec();
        for (p, &v) in long.iter().enumerate() {
            entry.pos.entry(v).or_insert(p);
        }
        let mut listed = HashSet::new();
        entry.compatible = entry
            .reads
            .iter()
            .map(|r| {
                let l = list(r);
                let ok = long.starts_with(l);
                if !ok {
                    index.incompatible += 1;
                    if listed.len() < INCOMPATIBLE_LISTED && listed.insert(l) {
                        let (a, b) = (&txns[r.txn], &txns[entry.reads[longest].txn]);
                        let mut ops = a.ops();
                        ops.extend(b.ops());
                        let at = l.iter().zip(long).take_while(|(x, y)| x == y).count();
                        anomalies.push(Anomaly {
                            kind: "incompatible-order".into(),
                            explanation: format!(
                                "{} read key {key} = {} and {} read it = {}: they differ at \
                                 position {at} ({} against {}), so the two cannot come from \
                                 one order of appends",
                                a.label(),
                                show_list(l),
                                b.label(),
                                show_list(long),
                                l.get(at).map_or("nothing".into(), i64::to_string),
                                long.get(at).map_or("nothing".into(), i64::to_string),
                            ),
                            ops,
                        });
                    }
                }
                ok
            })
            .collect();
    }
    (index, anomalies)
}
