//! The search against a brute-force oracle on many small random histories: every order of
//! the operations that respects real time, with each unknown-outcome operation included or
//! not, without memo or pruning.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::model::{KeyOp, Val};
use super::tests::H;
use super::wgl::{Outcome, Search};
use super::{check, parse};
use crate::check::Validity;
use crate::history::OpType;

/// True if some order of `ops` not in `done` (all required ones, any optional ones) is legal.
fn brute(ops: &[KeyOp], done: &mut Vec<bool>, state: Val) -> bool {
    if ops.iter().zip(done.iter()).all(|(o, d)| *d || !o.required) {
        return true;
    }
    for i in 0..ops.len() {
        if done[i] {
            continue;
        }
        let blocked = ops
            .iter()
            .zip(done.iter())
            .any(|(o, d)| !*d && o.required && o.ret < ops[i].call);
        let Some(next) = ops[i].cmd.apply(state).filter(|_| !blocked) else {
            continue;
        };
        done[i] = true;
        let ok = brute(ops, done, next);
        done[i] = false;
        if ok {
            return true;
        }
    }
    false
}

/// A random history of one key: `n` operations by 3 clients, small values, every outcome.
fn random_history(rng: &mut StdRng, n: usize) -> H {
    let mut h = H::default();
    let mut open: [Option<(&'static str, Value)>; 3] = [None, None, None];
    let mut procs = [0u64, 1, 2];
    let mut started = 0;
    let val = |rng: &mut StdRng| -> Value {
        match rng.random_range(0..4) {
            0 => Value::Null,
            v => json!(v),
        }
    };
    while started < n || open.iter().any(Option::is_some) {
        let c = rng.random_range(0..3);
        match open[c].take() {
            None if started < n => {
                let (f, v) = match rng.random_range(0..3) {
                    0 => ("read", json!({"key": 0, "value": null})),
                    1 => ("write", json!({"key": 0, "value": rng.random_range(1..4)})),
                    _ => (
                        "cas",
                        json!({"key": 0, "from": val(rng), "to": rng.random_range(1..4)}),
                    ),
                };
                h.push(procs[c], OpType::Invoke, f, v.clone());
                open[c] = Some((f, v));
                started += 1;
            }
            None => {}
            Some((f, mut v)) => {
                let kind = match rng.random_range(0..10) {
                    0 => OpType::Fail,
                    1 => OpType::Info,
                    2 if started >= n => continue, // left open for ever
                    _ => OpType::Ok,
                };
                if f == "read" {
                    v["value"] = val(rng);
                }
                h.push(procs[c], kind, f, v);
                if kind == OpType::Info {
                    procs[c] += 3;
                }
            }
        }
    }
    h
}

#[test]
fn the_search_agrees_with_brute_force() {
    let mut rng = StdRng::seed_from_u64(3);
    let (mut valid, mut invalid) = (0, 0);
    for round in 0..3_000 {
        let n = rng.random_range(1..9);
        let h = random_history(&mut rng, n);
        let parsed = parse(&h.0);
        let ops = parsed.keys.get(&0).cloned().unwrap_or_default();
        let expected = brute(&ops, &mut vec![false; ops.len()], None);
        let got = Search::new(&ops).run(1_000_000, 0);
        assert_eq!(
            matches!(got, Outcome::Linearizable(_)),
            expected,
            "round {round}: {got:?} on {:#?}",
            h.0
        );
        let r = check(&h.0);
        assert_eq!(r.validity == Validity::Valid, expected);
        if expected {
            valid += 1;
        } else {
            invalid += 1;
            assert_eq!(r.anomalies[0].kind, "nonlinearizable");
        }
    }
    assert!(
        valid > 500 && invalid > 500,
        "{valid} valid, {invalid} invalid"
    );
}
