//! Tests of the list-append checker on hand-made histories: one per anomaly, and valid
//! ones (the generated histories are in `sim_tests.rs`).

use serde_json::{json, Value};

use super::{check, check_with, Options};
use crate::check::{CheckResult, Validity};
use crate::history::{client_op, Op, OpType, Process};

/// A history under construction; indexes are positions, times follow them.
#[derive(Default)]
pub(super) struct H {
    pub(super) ops: Vec<Op>,
}

impl H {
    pub(super) fn push(&mut self, p: u64, kind: OpType, f: &str, value: Value) -> usize {
        let index = self.ops.len();
        self.ops
            .push(client_op(index, index as u64, p, kind, f, value));
        index
    }

    /// Invokes the transaction whose completed form is `mops` (reads become null).
    pub(super) fn begin(&mut self, p: u64, mops: Value) -> usize {
        self.push(p, OpType::Invoke, "txn", nulled(&mops))
    }

    /// Completes process `p`'s transaction.
    pub(super) fn end(&mut self, p: u64, kind: OpType, mops: Value) -> usize {
        let value = if kind == OpType::Ok {
            mops
        } else {
            nulled(&mops)
        };
        self.push(p, kind, "txn", value)
    }

    /// A transaction invoked and committed at once.
    pub(super) fn ok(&mut self, p: u64, mops: Value) -> usize {
        let i = self.begin(p, mops.clone());
        self.end(p, OpType::Ok, mops);
        i
    }
}

/// `mops` with every read's list replaced by null, as invoked.
fn nulled(mops: &Value) -> Value {
    let Some(items) = mops.as_array() else {
        return mops.clone();
    };
    Value::Array(
        items
            .iter()
            .map(|m| match m.as_array().map(Vec::as_slice) {
                Some([f, k, _]) if f == "r" => json!(["r", k, null]),
                _ => m.clone(),
            })
            .collect(),
    )
}

pub(super) fn kinds(result: &CheckResult) -> Vec<&str> {
    result.anomalies.iter().map(|a| a.kind.as_str()).collect()
}

pub(super) fn assert_valid(result: &CheckResult) {
    assert_eq!(result.validity, Validity::Valid, "{:#?}", result.anomalies);
    assert!(result.anomalies.is_empty(), "{:#?}", result.anomalies);
}

/// The single anomaly of kind `kind`, which must be the only kind found.
fn only(result: &CheckResult, kind: &str) -> crate::check::Anomaly {
    assert_eq!(kinds(result), vec![kind], "{:#?}", result.anomalies);
    result.anomalies[0].clone()
}

#[test]
fn serial_history_is_valid() {
    let mut h = H::default();
    h.ok(1, json!([["append", 1, 1], ["r", 1, [1]]]));
    h.ok(
        2,
        json!([["r", 1, [1]], ["append", 1, 2], ["append", 2, 5]]),
    );
    h.ok(1, json!([["r", 1, [1, 2]], ["r", 2, [5]], ["r", 3, []]]));
    let result = check(&h.ops);
    assert_valid(&result);
    assert_eq!(result.stats["txns"]["ok"], 3);
    assert_eq!(result.stats["edges"]["ww"], 1);
    assert_eq!(result.stats["keys"], 3);
}

#[test]
fn concurrent_history_is_valid() {
    let mut h = H::default();
    let t1 = json!([["append", 1, 1], ["r", 2, []]]);
    let t2 = json!([["append", 2, 1], ["r", 1, [1]]]);
    h.begin(1, t1.clone());
    h.begin(2, t2.clone());
    h.end(1, OpType::Ok, t1);
    h.end(2, OpType::Ok, t2);
    h.ok(3, json!([["r", 1, [1]], ["r", 2, [1]]]));
    assert_valid(&check(&h.ops));
    assert_valid(&check_with(&h.ops, &Options { realtime: true }));
}

#[test]
fn fail_and_info_transactions_are_valid() {
    let mut h = H::default();
    h.ok(1, json!([["append", 1, 1]]));
    let failed = json!([["append", 1, 2]]);
    h.begin(2, failed.clone());
    h.end(2, OpType::Fail, failed);
    // Never seen: its outcome stays unknown, which is fine.
    let lost = json!([["append", 1, 3], ["r", 2, null]]);
    h.begin(3, lost.clone());
    h.end(3, OpType::Info, lost);
    // Seen: it committed after all, and joins the graph.
    let seen = json!([["append", 1, 4]]);
    h.begin(4, seen.clone());
    h.end(4, OpType::Info, seen);
    // Never completed at all.
    h.begin(5, json!([["append", 1, 5]]));
    h.ok(6, json!([["r", 1, [1, 4]]]));
    let result = check_with(&h.ops, &Options { realtime: true });
    assert_valid(&result);
    assert_eq!(result.stats["txns"]["fail"], 1);
    assert_eq!(result.stats["txns"]["unknown"], 3);
    assert_eq!(
        result.stats["nodes"], 3,
        "two ok transactions and the seen info one"
    );
    assert_eq!(result.stats["strict_serializable"], true);
}

#[test]
fn malformed_operations_are_reported_not_panicked_on() {
    let mut h = H::default();
    h.push(1, OpType::Invoke, "txn", json!("nonsense"));
    h.push(1, OpType::Ok, "txn", json!(null));
    h.push(2, OpType::Invoke, "txn", json!([["append", "k", 1]]));
    h.push(2, OpType::Ok, "txn", json!([["append", "k", 1]]));
    h.push(3, OpType::Invoke, "txn", json!([["r", 1, null]]));
    h.push(3, OpType::Ok, "txn", json!([["r", 1, [1, "x"]]]));
    h.push(4, OpType::Invoke, "txn", json!([["append", 1, 7]]));
    h.push(4, OpType::Ok, "txn", json!([["append", 1, 8]]));
    h.push(5, OpType::Invoke, "write", json!(3));
    h.push(6, OpType::Invoke, "txn", json!([["x", 1, 2], ["r", 1]]));
    h.ops.push(Op {
        process: Process::NEMESIS,
        ..h.ops[0].clone()
    });
    let result = check(&h.ops);
    assert_eq!(
        kinds(&result),
        vec!["malformed"; 6],
        "{:#?}",
        result.anomalies
    );
    assert_eq!(result.validity, Validity::Unknown);
    assert_eq!(result.anomalies[3].ops, vec![6, 7]);
    assert_eq!(
        result.stats["txns"]["unknown"], 2,
        "the two bad ok completions"
    );
}

#[test]
fn internal_inconsistency() {
    let mut h = H::default();
    let t = h.ok(1, json!([["append", 1, 5], ["r", 1, [1]]]));
    h.ok(2, json!([["append", 1, 1]]));
    let a = only(&check(&h.ops), "internal");
    assert_eq!(a.ops, vec![t, t + 1]);
    assert!(a.explanation.contains("appended [5]"), "{}", a.explanation);

    let mut h = H::default();
    h.ok(2, json!([["append", 1, 1]]));
    let t = h.ok(
        1,
        json!([
            ["r", 1, [1]],
            ["append", 1, 2],
            ["r", 1, [1, 3]],
            ["append", 1, 3]
        ]),
    );
    let result = check(&h.ops);
    let a = &result.anomalies[0];
    assert_eq!(a.kind, "internal", "{:#?}", result.anomalies);
    assert_eq!(a.ops, vec![t, t + 1]);
    assert!(
        a.explanation.contains("expected [1, 2]"),
        "{}",
        a.explanation
    );
}

#[test]
fn incompatible_orders() {
    let mut h = H::default();
    h.ok(1, json!([["append", 1, 1]]));
    h.ok(1, json!([["append", 1, 2]]));
    h.ok(1, json!([["append", 1, 3]]));
    let a = h.ok(2, json!([["r", 1, [1, 2]]]));
    let b = h.ok(3, json!([["r", 1, [1, 3, 2]]]));
    let result = check(&h.ops);
    let found = only(&result, "incompatible-order");
    assert_eq!(found.ops, vec![a, a + 1, b, b + 1]);
    assert!(found.explanation.contains("position 1 (2 against 3)"));
    assert_eq!(result.validity, Validity::Invalid);
}

#[test]
fn g1a_aborted_read() {
    let mut h = H::default();
    let w = h.begin(1, json!([["append", 1, 4]]));
    h.end(1, OpType::Fail, json!([["append", 1, 4]]));
    let r = h.ok(2, json!([["r", 1, [4]]]));
    let a = only(&check(&h.ops), "G1a");
    assert_eq!(a.ops, vec![w, w + 1, r, r + 1]);
}

#[test]
fn g1b_intermediate_read() {
    let mut h = H::default();
    let w = h.ok(1, json!([["append", 1, 1], ["append", 1, 2]]));
    let r = h.ok(2, json!([["r", 1, [1]]]));
    h.ok(3, json!([["r", 1, [1, 2]]]));
    let result = check(&h.ops);
    // Reading half of T1 also puts T2 both after (wr) and before (rw) it.
    assert_eq!(
        kinds(&result),
        vec!["G1b", "G-single"],
        "{:#?}",
        result.anomalies
    );
    assert_eq!(result.anomalies[0].ops, vec![w, w + 1, r, r + 1]);
}

#[test]
fn duplicate_elements() {
    let mut h = H::default();
    h.ok(1, json!([["append", 1, 1]]));
    let r = h.ok(2, json!([["r", 1, [1, 1]]]));
    let a = only(&check(&h.ops), "duplicate-elements");
    assert_eq!(a.ops, vec![r, r + 1]);
}

#[test]
fn lost_append() {
    let mut h = H::default();
    h.ok(1, json!([["append", 1, 1]]));
    let w = h.ok(1, json!([["append", 1, 2]]));
    let r = h.ok(2, json!([["r", 1, [1]]]));
    let a = only(&check(&h.ops), "lost-append");
    assert_eq!(a.ops, vec![w, w + 1, r, r + 1]);
}

#[test]
fn garbage_read() {
    let mut h = H::default();
    h.ok(1, json!([["append", 1, 1]]));
    let r = h.ok(2, json!([["r", 1, [1, 7]]]));
    let a = only(&check(&h.ops), "garbage");
    assert_eq!(a.ops, vec![r, r + 1]);
}

#[test]
fn g0_write_cycle() {
    let mut h = H::default();
    let t1 = json!([["append", 1, 1], ["append", 2, 2]]);
    let t2 = json!([["append", 1, 3], ["append", 2, 4]]);
    h.begin(1, t1.clone());
    h.begin(2, t2.clone());
    h.end(1, OpType::Ok, t1);
    h.end(2, OpType::Ok, t2);
    h.ok(3, json!([["r", 1, [1, 3]], ["r", 2, [4, 2]]]));
    let result = check(&h.ops);
    let a = only(&result, "G0");
    assert_eq!(a.ops, vec![0, 1, 2, 3]);
    assert!(a.explanation.contains("(ww)"), "{}", a.explanation);
    assert_eq!(result.stats["sccs"], 1);
}

#[test]
fn g1c_circular_information_flow() {
    let mut h = H::default();
    let t1 = json!([["append", 1, 1], ["r", 2, [2]]]);
    let t2 = json!([["append", 2, 2], ["r", 1, [1]]]);
    h.begin(1, t1.clone());
    h.begin(2, t2.clone());
    h.end(1, OpType::Ok, t1);
    h.end(2, OpType::Ok, t2);
    let a = only(&check(&h.ops), "G1c");
    assert_eq!(a.ops, vec![0, 1, 2, 3]);
    assert!(
        a.explanation
            .contains("T(op 0) appended 1 to key 1, and T(op 1) read key 1 = [1] (wr)"),
        "{}",
        a.explanation
    );
}

#[test]
fn g_single_read_skew() {
    let mut h = H::default();
    let t1 = json!([["r", 1, []], ["r", 2, [1]]]);
    let t2 = json!([["append", 1, 1], ["append", 2, 1]]);
    h.begin(1, t1.clone());
    h.ok(2, t2);
    h.end(1, OpType::Ok, t1);
    h.ok(3, json!([["r", 1, [1]], ["r", 2, [1]]]));
    let a = only(&check(&h.ops), "G-single");
    assert_eq!(a.ops, vec![0, 1, 2, 3]);
    assert_eq!(
        a.explanation,
        "G-single cycle of 2 transactions (T(op 0) -> T(op 1) -> T(op 0)): T(op 0) read key 1 \
         = [], and T(op 1) appended 1 to key 1 right after that (rw); T(op 1) appended 1 to \
         key 2, and T(op 0) read key 2 = [1] (wr)"
    );
}

#[test]
fn g2_write_skew() {
    let mut h = H::default();
    let t1 = json!([["r", 1, []], ["append", 2, 1]]);
    let t2 = json!([["r", 2, []], ["append", 1, 1]]);
    h.begin(1, t1.clone());
    h.begin(2, t2.clone());
    h.end(1, OpType::Ok, t1);
    h.end(2, OpType::Ok, t2);
    h.ok(3, json!([["r", 1, [1]], ["r", 2, [1]]]));
    let result = check(&h.ops);
    let a = only(&result, "G2");
    assert_eq!(a.ops, vec![0, 1, 2, 3]);
    assert_eq!(
        a.explanation.matches("(rw)").count(),
        2,
        "{}",
        a.explanation
    );
}

#[test]
fn stale_read_is_a_realtime_anomaly_only() {
    let mut h = H::default();
    let w = h.ok(1, json!([["append", 1, 1]]));
    let r = h.ok(2, json!([["r", 1, []]]));
    h.ok(3, json!([["r", 1, [1]]]));
    assert_valid(&check(&h.ops));
    let result = check_with(&h.ops, &Options { realtime: true });
    assert_eq!(result.validity, Validity::Valid);
    let a = only(&result, "G-single-realtime");
    assert_eq!(a.ops, vec![w, w + 1, r, r + 1]);
    assert!(a.explanation.contains("(realtime)"), "{}", a.explanation);
    assert_eq!(result.stats["strict_serializable"], false);
    assert_eq!(result.stats["serializable"], true);
}

#[test]
fn write_order_against_real_time_is_g0_realtime() {
    let mut h = H::default();
    let first = h.ok(1, json!([["append", 1, 2]]));
    let second = h.ok(2, json!([["append", 1, 1]]));
    h.ok(3, json!([["r", 1, [1, 2]]]));
    assert_valid(&check(&h.ops));
    let result = check_with(&h.ops, &Options { realtime: true });
    let a = only(&result, "G0-realtime");
    assert_eq!(a.ops, vec![first, first + 1, second, second + 1]);
    assert!(
        a.explanation.contains(&format!(
            "T(op {first}) completed (op {}) before T(op {second}) was invoked",
            first + 1
        )),
        "{}",
        a.explanation
    );
    assert_eq!(result.validity, Validity::Valid);
}

#[test]
fn info_transaction_in_a_write_cycle() {
    // T1's outcome is unknown, but its appends were seen: it committed, and with T2 it
    // wrote the two keys in opposite orders.
    let mut h = H::default();
    let t1 = json!([["append", 1, 1], ["append", 2, 2]]);
    let t2 = json!([["append", 1, 3], ["append", 2, 4]]);
    h.begin(1, t1.clone());
    h.begin(2, t2.clone());
    h.end(1, OpType::Info, t1);
    h.end(2, OpType::Ok, t2);
    h.ok(3, json!([["r", 1, [1, 3]], ["r", 2, [4, 2]]]));
    let a = only(&check(&h.ops), "G0");
    assert_eq!(a.ops, vec![0, 1, 2, 3]);
    assert!(
        a.explanation
            .contains("T(op 0) appended 1 to key 1, then T(op 1) appended 3 right after it (ww)"),
        "{}",
        a.explanation
    );
}
