//! The register checker on hand-made histories.

use serde_json::{json, Value};

use super::{check, check_with_budget};
use crate::check::{CheckResult, Validity};
use crate::history::{client_op, Op, OpType};

/// Builds a history; each entry is 10 ns after the previous one.
#[derive(Default)]
pub(super) struct H(pub Vec<Op>);

impl H {
    pub fn push(&mut self, p: u64, kind: OpType, f: &str, value: Value) -> usize {
        let index = self.0.len();
        self.0
            .push(client_op(index, 10 * index as u64, p, kind, f, value));
        index
    }
    fn inv(&mut self, p: u64, f: &str, value: Value) -> usize {
        self.push(p, OpType::Invoke, f, value)
    }
    fn ok(&mut self, p: u64, f: &str, value: Value) -> usize {
        self.push(p, OpType::Ok, f, value)
    }
    /// A whole write by `p`, invoked and completed with `kind`.
    fn write(&mut self, p: u64, k: i64, v: i64, kind: OpType) -> (usize, usize) {
        let i = self.inv(p, "write", json!({"key": k, "value": v}));
        (
            i,
            self.push(p, kind, "write", json!({"key": k, "value": v})),
        )
    }
    /// A whole read by `p` that returned `v`.
    fn read(&mut self, p: u64, k: i64, v: Value) -> (usize, usize) {
        let i = self.inv(p, "read", json!({"key": k, "value": null}));
        (i, self.ok(p, "read", json!({"key": k, "value": v})))
    }
    /// A whole cas by `p`, completed with `kind`.
    fn cas(&mut self, p: u64, k: i64, from: i64, to: i64, kind: OpType) -> (usize, usize) {
        let v = json!({"key": k, "from": from, "to": to});
        let i = self.inv(p, "cas", v.clone());
        (i, self.push(p, kind, "cas", v))
    }
}

fn assert_valid(r: &CheckResult) {
    assert_eq!(r.validity, Validity::Valid, "{:#?}", r.anomalies);
    assert!(r.anomalies.is_empty());
}

fn single_violation(r: &CheckResult) -> &crate::check::Anomaly {
    assert_eq!(r.validity, Validity::Invalid, "{:#?}", r.stats);
    assert_eq!(r.anomalies.len(), 1, "{:#?}", r.anomalies);
    assert_eq!(r.anomalies[0].kind, "nonlinearizable");
    &r.anomalies[0]
}

#[test]
fn sequential_history_is_valid() {
    let mut h = H::default();
    h.read(1, 1, Value::Null);
    h.write(1, 1, 1, OpType::Ok);
    h.read(2, 1, json!(1));
    h.cas(2, 1, 1, 2, OpType::Ok);
    h.read(1, 1, json!(2));
    h.cas(1, 1, 5, 6, OpType::Fail);
    h.read(1, 1, json!(2));
    let r = check(&h.0);
    assert_valid(&r);
    assert_eq!(r.checker, "register");
    assert_eq!(r.stats["keys"], 1);
    assert_eq!(r.stats["ops"], 6);
    assert_eq!(r.stats["fail_dropped"], 1);
}

#[test]
fn a_read_concurrent_with_a_write_may_return_either_value() {
    for seen in [1, 2] {
        let mut h = H::default();
        h.write(1, 7, 1, OpType::Ok);
        h.inv(1, "write", json!({"key": 7, "value": 2}));
        h.read(2, 7, json!(seen));
        h.ok(1, "write", json!({"key": 7, "value": 2}));
        h.read(2, 7, json!(2));
        assert_valid(&check(&h.0));
    }
}

#[test]
fn a_stale_read_is_reported_with_its_ops() {
    let mut h = H::default();
    h.write(1, 3, 1, OpType::Ok);
    let (w2, w2_done) = h.write(1, 3, 2, OpType::Ok);
    h.read(2, 3, json!(2));
    let (r, r_done) = h.read(2, 3, json!(1));
    let result = check(&h.0);
    let a = single_violation(&result);
    assert!(a.ops.contains(&r) && a.ops.contains(&r_done), "{a:?}");
    let text = &a.explanation;
    assert!(
        text.contains(&format!("read of key 3 at op {r} returned 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!("wrote 2 (op {w2}, completed at op {w2_done}")),
        "{text}"
    );
    assert!(text.contains("holding 2"), "{text}");
    assert!(text.contains("all completed before op"), "{text}");
}

#[test]
fn a_read_of_a_value_never_written_is_invalid() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    let (r, _) = h.read(2, 1, json!(5));
    let a = single_violation(&check(&h.0)).clone();
    assert!(a.ops.contains(&r));
    assert!(
        a.explanation.contains("no operation ever wrote 5"),
        "{}",
        a.explanation
    );

    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.read(2, 1, Value::Null);
    single_violation(&check(&h.0));
}

#[test]
fn cas_takes_effect_only_from_the_value_it_names() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    let (c, _) = h.cas(1, 1, 2, 3, OpType::Ok);
    let a = single_violation(&check(&h.0)).clone();
    assert!(a.ops.contains(&c));
    assert!(a.explanation.contains("from 2 to 3"), "{}", a.explanation);

    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.cas(1, 1, 1, 3, OpType::Ok);
    h.read(1, 1, json!(3));
    h.cas(1, 1, 1, 4, OpType::Fail);
    h.read(1, 1, json!(3));
    assert_valid(&check(&h.0));
}

#[test]
fn an_unknown_write_may_take_effect_long_after() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.write(2, 1, 2, OpType::Info);
    for v in 3..20 {
        h.write(3, 1, v, OpType::Ok);
        h.read(4, 1, json!(v));
    }
    h.read(4, 1, json!(2));
    h.read(4, 1, json!(2));
    let r = check(&h.0);
    assert_valid(&r);
    assert_eq!(r.stats["info"], 1);
    // Once only: after it showed, the value of a later write cannot revert to 2.
    h.write(3, 1, 30, OpType::Ok);
    h.read(4, 1, json!(2));
    single_violation(&check(&h.0));
}

#[test]
fn an_unknown_or_open_write_never_seen_is_valid() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.write(2, 1, 2, OpType::Info);
    h.inv(5, "write", json!({"key": 1, "value": 9}));
    h.read(3, 1, json!(1));
    h.write(3, 1, 4, OpType::Ok);
    h.read(3, 1, json!(4));
    assert_valid(&check(&h.0));
}

#[test]
fn an_open_write_seen_later_is_valid() {
    let mut h = H::default();
    h.inv(5, "write", json!({"key": 1, "value": 9}));
    h.read(3, 1, Value::Null);
    h.read(3, 1, json!(9));
    assert_valid(&check(&h.0));
}

#[test]
fn a_failed_write_that_is_read_is_invalid() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.write(1, 1, 2, OpType::Fail);
    let (r, _) = h.read(2, 1, json!(2));
    let a = single_violation(&check(&h.0)).clone();
    assert!(a.ops.contains(&r));
    assert!(
        a.explanation.contains("no operation ever wrote 2"),
        "{}",
        a.explanation
    );
}

#[test]
fn reads_with_unknown_outcome_are_dropped() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.inv(2, "read", json!({"key": 1, "value": null}));
    h.push(2, OpType::Info, "read", json!({"key": 1, "value": null}));
    h.inv(3, "read", json!({"key": 1, "value": null}));
    let r = check(&h.0);
    assert_valid(&r);
    assert_eq!(r.stats["reads_unknown_dropped"], 2);
}

#[test]
fn keys_are_independent() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.write(2, 2, 1, OpType::Ok);
    h.write(1, 1, 2, OpType::Ok);
    h.write(2, 2, 2, OpType::Ok);
    h.read(1, 1, json!(2));
    let (r, _) = h.read(2, 2, json!(1));
    let result = check(&h.0);
    let a = single_violation(&result);
    assert!(a.explanation.starts_with("key 2:"), "{}", a.explanation);
    assert!(a.ops.contains(&r));
    assert!(a.ops.iter().all(|&i| h.0[i].value["key"] == 2), "{a:?}");
    assert_eq!(result.stats["keys"], 2);
}

#[test]
fn the_window_is_the_first_op_that_cannot_be_added() {
    let mut h = H::default();
    for v in 0..50 {
        h.write(1, 1, v, OpType::Ok);
        h.read(2, 1, json!(v));
    }
    h.write(1, 1, 100, OpType::Ok);
    let w = h.inv(1, "write", json!({"key": 1, "value": 101}));
    let (r, r_done) = h.read(2, 1, json!(99));
    h.ok(1, "write", json!({"key": 1, "value": 101}));
    for v in 200..220 {
        h.write(1, 1, v, OpType::Ok);
        h.read(2, 1, json!(v));
    }
    let a = single_violation(&check(&h.0)).clone();
    assert_eq!(a.ops, vec![w, r, r_done, r_done + 1], "{a:?}");
    assert!(a.explanation.contains("holding 100"), "{}", a.explanation);
    assert!(
        a.explanation.contains("Concurrent: write of 101"),
        "{}",
        a.explanation
    );
}

#[test]
fn running_out_of_budget_is_unknown() {
    let mut h = H::default();
    for v in 0..20 {
        h.write(1, 4, v, OpType::Ok);
    }
    let r = check_with_budget(&h.0, 5);
    assert_eq!(r.validity, Validity::Unknown);
    assert_eq!(r.anomalies.len(), 1);
    assert_eq!(r.anomalies[0].kind, "search-bound");
    assert!(r.anomalies[0].explanation.starts_with("key 4:"));
    assert_valid(&check_with_budget(&h.0, 100));
}

#[test]
fn malformed_operations_are_reported() {
    let mut h = H::default();
    h.write(1, 1, 1, OpType::Ok);
    h.inv(2, "read", json!({"key": 1, "value": null}));
    let bad = h.ok(2, "read", json!({"key": 1, "value": "x"}));
    let nokey = h.inv(3, "write", json!({"value": 1}));
    h.ok(3, "write", json!({"value": 1}));
    let r = check(&h.0);
    assert_eq!(r.validity, Validity::Invalid);
    let kinds: Vec<&str> = r.anomalies.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["malformed", "malformed"]);
    assert_eq!(r.anomalies[0].ops, vec![bad - 1]);
    assert_eq!(r.anomalies[1].ops, vec![nokey]);
}
