//! Transactions of the list-append workload, parsed from the history, and the internal
//! consistency of each one (what its reads show against its own earlier micro-ops).
//!
//! An invocation's value is a JSON array of micro-ops, `["append", k, v]` or
//! `["r", k, null]`; an `ok` completion repeats it with every read filled in,
//! `["r", k, [v1, v2, ...]]`. Anything else is reported as `malformed`, never a panic: a
//! malformed invocation is left out, a malformed `ok` completion makes the transaction's
//! outcome unknown (its appends may still have happened, its reads are not trusted).

use std::collections::HashMap;

use serde_json::Value;

use super::show_list;
use crate::check::Anomaly;
use crate::history::{pairs, Op, OpType};

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Committed; its reads are known.
    Ok,
    /// Certainly did not commit.
    Fail,
    /// May or may not have committed (`info`, never completed, or a malformed completion).
    Info,
}

/// One micro-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mop {
    /// `["append", key, value]`.
    Append { key: i64, value: i64 },
    /// `["r", key, list]`; the list is known only in an `ok` transaction.
    Read { key: i64, list: Option<Vec<i64>> },
}

impl Mop {
    /// The key the micro-op touches.
    pub(super) fn key(&self) -> i64 {
        match self {
            Mop::Append { key, .. } | Mop::Read { key, .. } => *key,
        }
    }
}

/// A transaction: its history entries, outcome and micro-ops.
#[derive(Debug, Clone)]
pub(super) struct Txn {
    /// Index of the invocation in the history.
    pub invoke: usize,
    /// Index of the completion, if any.
    pub completion: Option<usize>,
    /// How it ended.
    pub outcome: Outcome,
    /// The micro-ops, with reads filled in when `ok`.
    pub mops: Vec<Mop>,
    /// Per micro-op: for the first read of a key in this transaction, when it is internally
    /// consistent, how many leading elements of its list other transactions wrote (the list
    /// without this transaction's own earlier appends); `None` otherwise.
    pub external: Vec<Option<usize>>,
}

impl Txn {
    /// How the transaction is named in explanations: by its invocation.
    pub(super) fn label(&self) -> String {
        format!("T(op {})", self.invoke)
    }

    /// The history entries of the transaction: invocation and completion.
    pub(super) fn ops(&self) -> Vec<usize> {
        let mut ops = vec![self.invoke];
        ops.extend(self.completion);
        ops
    }

    /// The list read by micro-op `mop` (empty when not a known read).
    pub(super) fn read_list(&self, mop: usize) -> &[i64] {
        match self.mops.get(mop) {
            Some(Mop::Read {
                list: Some(list), ..
            }) => list,
            _ => &[],
        }
    }
}

/// Parses every client operation of the history into a transaction, in invocation order.
pub(super) fn parse(history: &[Op]) -> (Vec<Txn>, Vec<Anomaly>) {
    let mut txns = Vec::new();
    let mut anomalies = Vec::new();
    for pair in pairs(history) {
        let invoke = pair.invoke;
        let completion = pair.completion;
        let mut ops = vec![invoke.index];
        ops.extend(completion.map(|c| c.index));
        let malformed = |why: String| Anomaly {
            kind: "malformed".into(),
            explanation: format!("operation {}: {why}", invoke.index),
            ops: ops.clone(),
        };
        if invoke.f != "txn" {
            anomalies.push(malformed(format!("f is {:?}, not \"txn\"", invoke.f)));
            continue;
        }
        let mops = match parse_mops(&invoke.value, false) {
            Ok(mops) => mops,
            Err(why) => {
                anomalies.push(malformed(format!("invocation: {why}")));
                continue;
            }
        };
        let (outcome, mops) = match pair.outcome() {
            OpType::Ok => {
                let done = completion.map_or(&Value::Null, |c| &c.value);
                match parse_mops(done, true).and_then(|done| same_shape(&mops, done)) {
                    Ok(done) => (Outcome::Ok, done),
                    Err(why) => {
                        anomalies.push(malformed(format!(
                            "ok completion: {why}; its outcome is taken as unknown"
                        )));
                        (Outcome::Info, mops)
                    }
                }
            }
            OpType::Fail => (Outcome::Fail, mops),
            OpType::Info | OpType::Invoke => (Outcome::Info, mops),
        };
        let external = vec![None; mops.len()];
        txns.push(Txn {
            invoke: invoke.index,
            completion: completion.map(|c| c.index),
            outcome,
            mops,
            external,
        });
    }
    (txns, anomalies)
}

/// Parses a transaction's value; `completed` requires every read to hold a list.
fn parse_mops(value: &Value, completed: bool) -> Result<Vec<Mop>, String> {
    let Some(items) = value.as_array() else {
        return Err(format!("value {value} is not an array of micro-ops"));
    };
    items
        .iter()
        .map(|item| parse_mop(item, completed).map_err(|why| format!("micro-op {item}: {why}")))
        .collect()
}

fn parse_mop(item: &Value, completed: bool) -> Result<Mop, String> {
    let Some([f, key, arg]) = item.as_array().map(Vec::as_slice) else {
        return Err("not an array of three".into());
    };
    let key = key.as_i64().ok_or("the key is not an integer")?;
    match f.as_str() {
        Some("append") => {
            let value = arg.as_i64().ok_or("the appended value is not an integer")?;
            Ok(Mop::Append { key, value })
        }
        Some("r") if !completed => Ok(Mop::Read { key, list: None }),
        Some("r") => {
            let list = arg
                .as_array()
                .ok_or("the read holds no list")?
                .iter()
                .map(|v| v.as_i64().ok_or("the read list holds a non-integer"))
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(Mop::Read {
                key,
                list: Some(list),
            })
        }
        _ => Err("the function is neither \"append\" nor \"r\"".into()),
    }
}

/// Checks that a completion's micro-ops are the invocation's, reads filled in.
fn same_shape(invoked: &[Mop], done: Vec<Mop>) -> Result<Vec<Mop>, String> {
    if invoked.len() != done.len() {
        return Err(format!(
            "{} micro-ops, the invocation had {}",
            done.len(),
            invoked.len()
        ));
    }
    for (i, (a, b)) in invoked.iter().zip(&done).enumerate() {
        let same = match (a, b) {
            (Mop::Append { .. }, Mop::Append { .. }) => a == b,
            (Mop::Read { key: k1, .. }, Mop::Read { key: k2, .. }) => k1 == k2,
            _ => false,
        };
        if !same {
            return Err(format!("micro-op {i} differs from the invocation's"));
        }
    }
    Ok(done)
}

/// What a transaction knows of a key so far: its last read (micro-op index), if any, and
/// its own appends since then (or since the start).
#[derive(Default)]
struct KeyState {
    read: Option<usize>,
    own: Vec<i64>,
}

/// Checks every committed transaction's reads against its own earlier micro-ops (anomaly
/// `internal`) and fills in [`Txn::external`].
///
/// A read after a read of the same key must equal that read followed by the appends made
/// since; a read after appends (and no read) must end with those appends.
pub(super) fn internal(txns: &mut [Txn]) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for txn in txns.iter_mut().filter(|t| t.outcome == Outcome::Ok) {
        let mut state: HashMap<i64, KeyState> = HashMap::new();
        let mut external = vec![None; txn.mops.len()];
        for (i, mop) in txn.mops.iter().enumerate() {
            let (key, list) = match mop {
                Mop::Append { key, value } => {
                    state.entry(*key).or_default().own.push(*value);
                    continue;
                }
                Mop::Read { key, list } => (*key, list.as_deref().unwrap_or(&[])),
            };
            let st = state.entry(key).or_default();
            let problem = match st.read {
                Some(prev) => {
                    let prev = txn.read_list(prev);
                    let consistent = list.len() == prev.len() + st.own.len()
                        && list.starts_with(prev)
                        && list.ends_with(&st.own);
                    (!consistent).then(|| {
                        let mut expected = prev.to_vec();
                        expected.extend_from_slice(&st.own);
                        format!(
                            "read key {key} = {}, then {}read it again = {}, expected {}",
                            show_list(prev),
                            own_text(&st.own),
                            show_list(list),
                            show_list(&expected)
                        )
                    })
                }
                None if list.ends_with(&st.own) => {
                    external[i] = Some(list.len() - st.own.len());
                    None
                }
                None => Some(format!(
                    "{}then read key {key} = {}, which does not end with them",
                    own_text(&st.own),
                    show_list(list)
                )),
            };
            if let Some(why) = problem {
                anomalies.push(Anomaly {
                    kind: "internal".into(),
                    explanation: format!("{} {why}", txn.label()),
                    ops: txn.ops(),
                });
            }
            st.read = Some(i);
            st.own.clear();
        }
        txn.external = external;
    }
    anomalies
}

fn own_text(own: &[i64]) -> String {
    if own.is_empty() {
        String::new()
    } else {
        format!("appended {} ", show_list(own))
    }
}
