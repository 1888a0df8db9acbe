//! Tests of the set checker on hand-made histories.

use serde_json::{json, Value};

use super::check;
use crate::check::Validity;
use crate::history::{OpType, TestHistory};

type H = TestHistory;

/// Hand-made adds and reads of a set.
trait SetOps {
    /// The history being built.
    fn history(&mut self) -> &mut TestHistory;

    /// An add invoked and completed right away; returns (invoke, completion).
    fn add(&mut self, p: u64, v: i64, outcome: OpType) -> (usize, usize) {
        (
            self.history().push(p, OpType::Invoke, "add", json!(v)),
            self.history().push(p, outcome, "add", json!(v)),
        )
    }

    /// A read invoked and completed ok right away, showing `seen`.
    fn read(&mut self, p: u64, seen: &[i64]) -> (usize, usize) {
        (
            self.history().push(p, OpType::Invoke, "read", Value::Null),
            self.history().push(p, OpType::Ok, "read", json!(seen)),
        )
    }
}

impl SetOps for H {
    fn history(&mut self) -> &mut TestHistory {
        self
    }
}

#[test]
fn valid_history_with_failures_unknowns_and_concurrency_passes() {
    let mut h = H::default();
    h.add(1, 1, OpType::Ok);
    h.add(2, 2, OpType::Fail);
    h.add(3, 3, OpType::Info); // unknown, never seen
    h.add(4, 4, OpType::Info); // unknown, seen at the end
    h.push(5, OpType::Invoke, "add", json!(5)); // never completes
    h.push(6, OpType::Invoke, "add", json!(6)); // concurrent with the next read
    h.read(7, &[1]);
    h.push(6, OpType::Ok, "add", json!(6));
    h.push(8, OpType::Invoke, "read", Value::Null); // fails: ignored
    h.push(8, OpType::Fail, "read", Value::Null);
    h.read(9, &[4, 1, 6]);
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Valid, "{:?}", r.anomalies);
    assert_eq!(r.checker, "set");
    let s = &r.stats;
    assert_eq!(s["attempted"], 6);
    assert_eq!(s["acknowledged"], 2);
    assert_eq!(s["failed"], 1);
    assert_eq!(s["unknown"], 3);
    assert_eq!(s["unknown_present"], 1);
    assert_eq!(s["reads"], 2);
    assert_eq!(s["final_size"], 3);
    assert_eq!(s["lost"], 0);
}

#[test]
fn a_read_concurrent_with_an_add_or_a_read_may_miss_the_element() {
    let mut h = H::default();
    h.push(1, OpType::Invoke, "add", json!(1));
    h.push(2, OpType::Invoke, "read", Value::Null);
    h.push(1, OpType::Ok, "add", json!(1));
    h.push(2, OpType::Ok, "read", json!([]));
    // An unknown add shown by one read, missed by a read invoked before that one ended.
    h.add(3, 2, OpType::Info);
    h.push(4, OpType::Invoke, "read", Value::Null);
    h.read(5, &[1, 2]);
    h.push(4, OpType::Ok, "read", json!([1]));
    h.read(6, &[1, 2]);
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Valid, "{:?}", r.anomalies);
}

#[test]
fn no_ok_read_is_unknown() {
    let mut h = H::default();
    h.add(1, 1, OpType::Ok);
    h.push(2, OpType::Invoke, "read", Value::Null);
    h.push(2, OpType::Info, "read", Value::Null);
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Unknown);
    assert_eq!(r.kinds(), ["no-read"]);
    assert_eq!(r.stats["acknowledged"], 1);
}

#[test]
fn detects_an_unexpected_element() {
    let mut h = H::default();
    let (ri, rc) = h.read(1, &[9]);
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Invalid);
    assert_eq!(r.kinds(), ["unexpected"]);
    assert_eq!(r.anomalies[0].ops, [ri, rc]);
    assert!(r.anomalies[0].explanation.contains("element 9"));
    assert_eq!(r.stats["unexpected"], 1);
}

#[test]
fn detects_a_failed_add_that_is_present() {
    let mut h = H::default();
    let (ai, ac) = h.add(1, 3, OpType::Fail);
    let (ri, rc) = h.read(2, &[3]);
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["failed-present"]);
    assert_eq!(r.anomalies[0].ops, [ai, ac, ri, rc]);
}

#[test]
fn detects_a_lost_element_once_with_first_miss_and_final_read() {
    let mut h = H::default();
    let (ai, ac) = h.add(1, 5, OpType::Ok);
    h.read(2, &[5]);
    let (mi, mc) = h.read(2, &[]);
    let (fi, fc) = h.read(3, &[]);
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["lost"]);
    assert_eq!(r.anomalies[0].ops, [ai, ac, mi, mc, fi, fc]);
    let text = &r.anomalies[0].explanation;
    assert!(
        text.contains(&format!("read op {mi}")) && text.contains(&format!("op {fi}")),
        "{text}"
    );
    assert_eq!(r.stats["lost"], 1);
    assert_eq!(r.stats["stale"], 0);
}

#[test]
fn an_unknown_add_shown_by_a_read_then_missing_is_lost() {
    let mut h = H::default();
    h.add(1, 5, OpType::Info);
    let (si, sc) = h.read(2, &[5]);
    let (mi, mc) = h.read(3, &[]);
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["lost"]);
    assert!(
        r.anomalies[0].ops.ends_with(&[si, sc, mi, mc]),
        "{:?}",
        r.anomalies[0].ops
    );
    assert_eq!(r.stats["unknown_present"], 0);
}

#[test]
fn detects_a_stale_read() {
    let mut h = H::default();
    let (ai, ac) = h.add(1, 5, OpType::Ok);
    let (mi, mc) = h.read(2, &[]);
    h.read(2, &[]);
    let (bi, bc) = h.read(3, &[5]);
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["stale"]);
    assert_eq!(r.anomalies[0].ops, [ai, ac, mi, mc, bi, bc]);
    assert_eq!(r.stats["stale"], 1);
    assert_eq!(r.stats["lost"], 0);
    // Serializable, not linearizable: listed, but the history stays valid.
    assert_eq!(r.validity, Validity::Valid);
    assert_eq!(r.stats["linearizable"], false);
}

#[test]
fn an_element_both_stale_and_then_lost_is_reported_as_each() {
    let mut h = H::default();
    h.add(1, 5, OpType::Ok);
    h.read(2, &[]);
    h.read(2, &[5]);
    h.read(2, &[]);
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["lost", "stale"]);
}

#[test]
fn detects_a_duplicate_in_one_read() {
    let mut h = H::default();
    h.add(1, 5, OpType::Ok);
    let (ri, rc) = h.read(2, &[5, 5]);
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["duplicate"]);
    assert_eq!(r.anomalies[0].ops, [ri, rc]);
}

#[test]
fn malformed_values_are_anomalies_not_panics() {
    let mut h = H::default();
    h.push(1, OpType::Invoke, "add", json!("x"));
    h.push(1, OpType::Ok, "add", json!("x"));
    h.add(2, 1, OpType::Ok);
    h.add(3, 1, OpType::Ok); // the same element twice
    h.push(4, OpType::Invoke, "read", Value::Null);
    h.push(4, OpType::Ok, "read", json!({"not": "an array"}));
    h.push(5, OpType::Invoke, "read", Value::Null);
    h.push(5, OpType::Ok, "read", json!([1, "two"]));
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Unknown);
    assert_eq!(
        r.kinds(),
        [
            "malformed",
            "malformed",
            "malformed",
            "malformed",
            "no-read"
        ]
    );
}

#[test]
fn the_final_read_is_the_one_invoked_last() {
    let mut h = H::default();
    h.add(1, 1, OpType::Ok);
    h.add(1, 2, OpType::Ok);
    h.push(2, OpType::Invoke, "read", Value::Null);
    h.read(3, &[1, 2]);
    h.push(2, OpType::Ok, "read", json!([1, 2]));
    h.push(4, OpType::Invoke, "read", Value::Null);
    h.push(4, OpType::Ok, "read", json!([2, 1]));
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Valid, "{:?}", r.anomalies);
    assert_eq!(r.stats["final_size"], 2);
    assert_eq!(r.stats["reads"], 3);
}
