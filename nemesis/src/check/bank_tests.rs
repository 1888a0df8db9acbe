//! Tests of the bank checker on hand-made histories.

use serde_json::{json, Value};

use super::check;
use crate::check::Validity;
use crate::history::{OpType, TestHistory};

type H = TestHistory;

/// Hand-made transfers and reads of the bank.
trait BankOps {
    /// The history being built.
    fn history(&mut self) -> &mut TestHistory;

    fn transfer(&mut self, p: u64, from: u64, to: u64, amount: i64, outcome: OpType) {
        let v = json!({"from": from, "to": to, "amount": amount});
        self.history()
            .push(p, OpType::Invoke, "transfer", v.clone());
        self.history().push(p, outcome, "transfer", v);
    }

    /// A read of 3 accounts expected to total 30, completed ok with `balances`.
    fn read(&mut self, p: u64, balances: Value) -> (usize, usize) {
        (
            self.history().push(
                p,
                OpType::Invoke,
                "read",
                json!({"expected_total": 30, "accounts": 3}),
            ),
            self.history().push(p, OpType::Ok, "read", balances),
        )
    }
}

impl BankOps for H {
    fn history(&mut self) -> &mut TestHistory {
        self
    }
}

#[test]
fn valid_history_with_failures_unknowns_and_concurrency_passes() {
    let mut h = H::default();
    h.read(1, json!({"0": 10, "1": 10, "2": 10}));
    h.transfer(2, 0, 1, 5, OpType::Ok);
    h.transfer(3, 1, 2, 50, OpType::Fail);
    h.transfer(4, 2, 0, 3, OpType::Info);
    h.push(
        5,
        OpType::Invoke,
        "transfer",
        json!({"from": 1, "to": 0, "amount": 1}),
    );
    h.push(
        6,
        OpType::Invoke,
        "read",
        json!({"expected_total": 30, "accounts": 3}),
    );
    h.push(
        7,
        OpType::Invoke,
        "read",
        json!({"expected_total": 30, "accounts": 3}),
    );
    h.push(6, OpType::Ok, "read", json!({"0": 8, "1": 15, "2": 7}));
    h.push(7, OpType::Fail, "read", Value::Null);
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Valid, "{:?}", r.anomalies);
    assert_eq!(r.checker, "bank");
    assert_eq!(
        r.stats["transfers"],
        json!({"ok": 1, "fail": 1, "unknown": 2})
    );
    assert_eq!(r.stats["reads_ok"], 2);
    assert_eq!(r.stats["reads_checked"], 2);
    assert_eq!(r.stats["distinct_totals"], 1);
}

#[test]
fn no_ok_read_is_unknown() {
    let mut h = H::default();
    h.transfer(1, 0, 1, 5, OpType::Ok);
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Unknown);
    assert_eq!(r.kinds(), ["no-read"]);
}

#[test]
fn detects_a_wrong_total() {
    let mut h = H::default();
    let (ri, rc) = h.read(1, json!({"0": 10, "1": 10, "2": 11}));
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Invalid);
    assert_eq!(r.kinds(), ["wrong-total"]);
    assert_eq!(r.anomalies[0].ops, [ri, rc]);
    let text = &r.anomalies[0].explanation;
    assert!(text.contains("31") && text.contains("30"), "{text}");
    assert_eq!(r.stats["distinct_totals"], 1);
}

#[test]
fn detects_a_negative_balance() {
    let mut h = H::default();
    h.read(1, json!({"0": -5, "1": 20, "2": 15}));
    let r = check(&h.ops);
    assert_eq!(r.kinds(), ["negative"]);
    assert!(r.anomalies[0].explanation.contains("-5"));
}

#[test]
fn detects_missing_and_extra_accounts() {
    let mut h = H::default();
    h.read(1, json!({"0": 10, "1": 20}));
    h.read(2, json!({"0": 10, "1": 10, "2": 5, "3": 5}));
    h.read(3, json!({"0": 10, "1": 10, "02": 10}));
    let r = check(&h.ops);
    assert_eq!(
        r.kinds(),
        [
            "missing-account",
            "extra-account",
            "missing-account",
            "extra-account"
        ]
    );
    assert_eq!(r.stats["reads_checked"], 0);
}

#[test]
fn malformed_values_are_anomalies_not_panics() {
    let mut h = H::default();
    h.push(1, OpType::Invoke, "transfer", json!("x"));
    h.push(1, OpType::Ok, "transfer", json!("x"));
    h.read(2, json!({"0": 10, "1": "ten", "2": 10.5}));
    h.read(3, json!([10, 10, 10]));
    h.push(4, OpType::Invoke, "read", Value::Null);
    h.push(4, OpType::Ok, "read", json!({"0": 30}));
    let r = check(&h.ops);
    assert_eq!(r.validity, Validity::Invalid);
    assert_eq!(
        r.kinds(),
        ["malformed", "malformed", "malformed", "malformed"]
    );
    assert_eq!(r.stats["reads_ok"], 3);
    assert_eq!(r.stats["reads_checked"], 0);
}
