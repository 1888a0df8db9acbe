//! The bank checker. Clients move money between accounts (`f = "transfer"`, value
//! `{"from": a, "to": b, "amount": x}`) and read every balance in one transaction
//! (`f = "read"`, invocation value `{"expected_total": T, "accounts": N}`, an `ok` read's value
//! an object from account number, `"0"` to `"N-1"`, to integer balance).
//!
//! Transfers keep the total, so every `ok` read must show exactly the accounts `0..N`, each
//! with an integer balance, none negative, summing to `T`. Anomalies: `wrong-total`,
//! `negative`, `missing-account`, `extra-account`, and `malformed` (a value of the wrong
//! shape; the entry is left out). A history without an `ok` read is `no-read`,
//! [`Validity::Unknown`].

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{Anomaly, CheckResult, Validity};
use crate::history::{pairs, Op, OpType, Pair};

/// Checks a bank history (see the module documentation); checker name `"bank"`.
pub fn check(history: &[Op]) -> CheckResult {
    let mut anomalies = Vec::new();
    let (mut ok, mut fail, mut unknown) = (0usize, 0usize, 0usize);
    let (mut reads, mut checked) = (0usize, 0usize);
    let mut totals: BTreeSet<i128> = BTreeSet::new();
    for pair in pairs(history) {
        match pair.invoke.f.as_str() {
            "transfer" => {
                match pair.outcome() {
                    OpType::Ok => ok += 1,
                    OpType::Fail => fail += 1,
                    _ => unknown += 1,
                }
                let v = &pair.invoke.value;
                if ["from", "to", "amount"]
                    .iter()
                    .any(|k| v.get(k).and_then(Value::as_i64).is_none())
                {
                    anomalies.push(Anomaly::malformed(
                        &pair,
                        "a transfer without integer from, to and amount",
                    ));
                }
            }
            "read" if pair.outcome() == OpType::Ok => {
                reads += 1;
                if let Some(total) = check_read(&pair, &mut anomalies) {
                    checked += 1;
                    totals.insert(total);
                }
            }
            _ => {}
        }
    }
    let stats = json!({
        "transfers": {"ok": ok, "fail": fail, "unknown": unknown},
        "reads_ok": reads,
        "reads_checked": checked,
        "distinct_totals": totals.len(),
        "totals": totals.iter().take(10).map(|t| t.to_string()).collect::<Vec<_>>(),
    });
    if reads == 0 {
        anomalies.push(Anomaly {
            kind: "no-read".into(),
            explanation: "no read completed ok, so no balance was checked".into(),
            ops: Vec::new(),
        });
        return CheckResult {
            checker: "bank",
            validity: Validity::Unknown,
            anomalies,
            stats,
        };
    }
    CheckResult::from_anomalies("bank", anomalies, stats)
}

/// Checks one `ok` read, pushing its anomalies; returns its total when its shape was right
/// (exactly the accounts `0..N`, every balance an integer) so the total could be checked.
fn check_read(pair: &Pair<'_>, anomalies: &mut Vec<Anomaly>) -> Option<i128> {
    let spec = &pair.invoke.value;
    let expected = spec.get("expected_total").and_then(Value::as_i64);
    let accounts = spec.get("accounts").and_then(Value::as_u64);
    let (Some(expected), Some(accounts)) = (expected, accounts) else {
        anomalies.push(Anomaly::malformed(
            pair,
            "a read whose invocation lacks integer expected_total and accounts",
        ));
        return None;
    };
    let Some(balances) = pair.completion.and_then(|c| c.value.as_object()) else {
        anomalies.push(Anomaly::malformed(
            pair,
            "an ok read whose value is not an object",
        ));
        return None;
    };
    let name = read_name(pair);
    let ops = pair.indexes();
    let mut push = |kind: &str, explanation: String| {
        anomalies.push(Anomaly {
            kind: kind.into(),
            explanation,
            ops: ops.clone(),
        })
    };
    let mut complete = true;
    let mut extra: Vec<&str> = Vec::new();
    let mut bad: Vec<&str> = Vec::new();
    let mut negative: Vec<String> = Vec::new();
    let mut sum: i128 = 0;
    for (key, value) in balances {
        if !key
            .parse::<u64>()
            .is_ok_and(|n| n < accounts && n.to_string() == *key)
        {
            extra.push(key);
        }
        match value.as_i64() {
            Some(b) => {
                sum += i128::from(b);
                if b < 0 {
                    negative.push(format!("{key}: {b}"));
                }
            }
            None => bad.push(key),
        }
    }
    let missing: Vec<u64> = (0..accounts)
        .filter(|n| !balances.contains_key(&n.to_string()))
        .take(20)
        .collect();
    if !missing.is_empty() {
        complete = false;
        push(
            "missing-account",
            format!("{name} lacks accounts {missing:?} of 0..{accounts}"),
        );
    }
    if !extra.is_empty() {
        complete = false;
        push(
            "extra-account",
            format!("{name} shows accounts {extra:?}, not in 0..{accounts}"),
        );
    }
    if !bad.is_empty() {
        complete = false;
        push(
            "malformed",
            format!("{name} shows non-integer balances for accounts {bad:?}"),
        );
    }
    if !negative.is_empty() {
        push(
            "negative",
            format!("{name} shows negative balances {{{}}}", negative.join(", ")),
        );
    }
    if !complete {
        return None;
    }
    if sum != i128::from(expected) {
        push(
            "wrong-total",
            format!("{name} shows balances summing to {sum}, not the expected total {expected}"),
        );
    }
    Some(sum)
}

/// A read, named by its entries.
fn read_name(pair: &Pair<'_>) -> String {
    match pair.completion {
        Some(c) => format!("read op {} (ok op {})", pair.invoke.index, c.index),
        None => format!("read op {}", pair.invoke.index),
    }
}

#[cfg(test)]
#[path = "bank_tests.rs"]
mod tests;
