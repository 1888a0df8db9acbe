//! The register checker on large histories of a simulated atomic register: concurrent
//! clients, operations that take effect at one instant inside their interval, unknown
//! outcomes that take effect later or never. Such a history is linearizable by
//! construction; corrupting one read makes it not.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::check;
use super::tests::H;
use crate::check::Validity;
use crate::history::OpType;

/// An operation in flight: its function, argument, and what it returned once applied.
struct Pending {
    f: &'static str,
    arg: Value,
    key: i64,
    result: Option<Value>,
}

/// Simulates `invocations` operations of `clients` concurrent clients on `keys` registers.
fn simulate(seed: u64, invocations: usize, clients: usize, keys: i64) -> H {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut h = H::default();
    let mut regs: Vec<Option<i64>> = vec![None; keys as usize];
    let mut slots: Vec<(u64, Option<Pending>)> = (0..clients as u64).map(|p| (p, None)).collect();
    let mut next_process = clients as u64;
    let mut deferred: Vec<(i64, &'static str, Value)> = Vec::new();
    let mut next_value = 0i64;
    let mut invoked = 0;
    let apply = |regs: &mut Vec<Option<i64>>, key: i64, f: &str, arg: &Value| -> Value {
        let reg = &mut regs[key as usize];
        match f {
            "read" => json!({"key": key, "value": *reg}),
            "write" => {
                *reg = arg["value"].as_i64();
                arg.clone()
            }
            _ if reg.is_some() && *reg == arg["from"].as_i64() => {
                *reg = arg["to"].as_i64();
                arg.clone()
            }
            _ => Value::Null,
        }
    };
    while invoked < invocations || slots.iter().any(|s| s.1.is_some()) {
        if !deferred.is_empty() && rng.random_bool(0.01) {
            let (key, f, arg) = deferred.swap_remove(rng.random_range(0..deferred.len()));
            apply(&mut regs, key, f, &arg);
        }
        let s = rng.random_range(0..slots.len());
        let (p, pending) = &mut slots[s];
        let p = *p;
        match pending {
            None if invoked < invocations => {
                let key = rng.random_range(0..keys);
                next_value += 1;
                let (f, arg) = match rng.random_range(0..10) {
                    0..5 => ("read", json!({"key": key, "value": null})),
                    5..8 => ("write", json!({"key": key, "value": next_value % 7})),
                    _ => {
                        let from = match rng.random_bool(0.7) {
                            true => regs[key as usize].unwrap_or(0),
                            false => rng.random_range(0..7),
                        };
                        (
                            "cas",
                            json!({"key": key, "from": from, "to": next_value % 7}),
                        )
                    }
                };
                h.push(p, OpType::Invoke, f, arg.clone());
                invoked += 1;
                *pending = Some(Pending {
                    f,
                    arg,
                    key,
                    result: None,
                });
            }
            None => {}
            Some(op) if op.result.is_none() && op.f != "read" && rng.random_bool(0.02) => {
                // Times out before taking effect: it may still, later, or never.
                h.push(p, OpType::Info, op.f, op.arg.clone());
                if rng.random_bool(0.5) {
                    deferred.push((op.key, op.f, op.arg.clone()));
                }
                slots[s] = (next_process, None);
                next_process += 1;
            }
            Some(op) if op.result.is_none() => {
                op.result = Some(apply(&mut regs, op.key, op.f, &op.arg));
            }
            Some(op) => {
                let result = op.result.take().unwrap_or(Value::Null);
                if result.is_null() {
                    h.push(p, OpType::Fail, op.f, op.arg.clone());
                } else if rng.random_bool(0.02) {
                    h.push(p, OpType::Info, op.f, op.arg.clone());
                    slots[s] = (next_process, None);
                    next_process += 1;
                    continue;
                } else {
                    h.push(p, OpType::Ok, op.f, result);
                }
                *pending = None;
            }
        }
    }
    h
}

#[test]
fn a_simulated_atomic_register_is_linearizable_and_a_corrupt_read_is_not() {
    let h = simulate(7, 10_000, 6, 10);
    let start = Instant::now();
    let r = check(&h.0);
    let took = start.elapsed();
    eprintln!("{} entries checked in {took:?}: {}", h.0.len(), r.stats);
    assert_eq!(r.validity, Validity::Valid, "{:#?}", r.anomalies);
    assert!(r.stats["info"].as_u64().unwrap_or(0) > 50, "{}", r.stats);
    assert!(took.as_secs() < 30, "{took:?}");

    let mut bad = h.0.clone();
    let read = (bad.len() / 2..bad.len())
        .find(|&i| {
            bad[i].f == "read" && bad[i].kind == OpType::Ok && !bad[i].value["value"].is_null()
        })
        .expect("a read");
    bad[read].value["value"] = json!(1_000);
    let start = Instant::now();
    let r = check(&bad);
    eprintln!(
        "corrupt read found in {:?}: {:?}",
        start.elapsed(),
        r.anomalies
    );
    assert_eq!(r.validity, Validity::Invalid);
    assert_eq!(r.anomalies.len(), 1, "{:#?}", r.anomalies);
    let a = &r.anomalies[0];
    assert!(a.ops.contains(&read), "{a:?}");
    assert!(a.explanation.contains("returned 1000"), "{}", a.explanation);
}

#[test]
#[ignore = "large histories, for timing"]
fn large_simulated_histories_check_quickly() {
    // 40,000 entries over 30 keys; then 10,000 entries on one key with 5 clients.
    for (invocations, clients, keys) in [(20_000, 8, 30), (5_000, 5, 1)] {
        let h = simulate(11, invocations, clients, keys);
        let start = Instant::now();
        let r = check(&h.0);
        let took = start.elapsed();
        eprintln!(
            "{} entries, {keys} keys: {took:?}, {} states, concurrency {}",
            h.0.len(),
            r.stats["states"],
            r.stats["max_concurrency"]
        );
        assert_eq!(r.validity, Validity::Valid, "{:#?}", r.anomalies);
        if keys == 1 {
            // Refuting 5,000 operations of one key with ~100 unknown writes exhausts the
            // default budget (Unknown, ~25 s unoptimised): the workload spreads keys.
            continue;
        }
        let mut bad = h.0.clone();
        let read = (bad.len() * 3 / 4..bad.len())
            .find(|&i| bad[i].f == "read" && bad[i].kind == OpType::Ok)
            .expect("a read");
        bad[read].value["value"] = json!(1_000);
        let start = Instant::now();
        let r = check(&bad);
        eprintln!(
            "  corrupt: {:?}, {} states",
            start.elapsed(),
            r.stats["states"]
        );
        assert_eq!(r.validity, Validity::Invalid);
    }
}
