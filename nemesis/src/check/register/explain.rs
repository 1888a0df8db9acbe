//! Explains why a key's history is not linearizable, with the smallest window that shows it.
//!
//! The `ok` operations are taken in completion order; a binary search finds `k` such that
//! the first `k - 1` (with the unknown-outcome writes invoked before the last of them
//! completed) are linearizable and the first `k` are not. The `k`-th is the operation that
//! cannot be added; the report lists it, the operations concurrent with it, the values the
//! register could hold after the consistent prefix, and the writes of the value it saw.

use super::model::{Cmd, KeyOp, Point, Val};
use super::wgl::{Outcome, Search};
use crate::check::Anomaly;

/// How many final values of the consistent prefix are looked for.
const FINALS: usize = 4;

/// How many operations of the window are described in words.
const DESCRIBED: usize = 12;

/// The `"nonlinearizable"` anomaly of a key whose operations have no linearization, and the
/// configurations explored to find it.
pub(super) fn explain(key: i64, ops: &[KeyOp], budget: u64) -> (Anomaly, u64) {
    let mut req: Vec<KeyOp> = ops.iter().filter(|o| o.required).copied().collect();
    req.sort_by_key(|o| o.ret);
    // The history cut at the k-th completion: what completed by then must be linearized,
    // writes and cas still in flight may or may not have taken effect, reads in flight
    // are dropped. Any linearization of the whole history, cut at that instant, is one of
    // this, so the cuts fail from some k on and the binary search finds that k.
    let prefix = |k: usize| -> Vec<KeyOp> {
        let until = if k == 0 { 0 } else { req[k - 1].ret };
        ops.iter()
            .filter_map(|o| {
                if o.required && o.ret <= until {
                    Some(*o)
                } else if o.call < until && !matches!(o.cmd, Cmd::Read(_)) {
                    Some(KeyOp {
                        required: false,
                        ret: Point::MAX,
                        ..*o
                    })
                } else {
                    None
                }
            })
            .collect()
    };
    let mut spent = 0;
    let (mut lo, mut hi) = (0, req.len());
    let mut narrowed = true;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let mut search = Search::new(&prefix(mid));
        let outcome = search.run(budget, 0);
        spent += search.explored;
        match outcome {
            Outcome::Linearizable(_) => lo = mid,
            Outcome::NotLinearizable => hi = mid,
            Outcome::Exhausted => {
                narrowed = false;
                break;
            }
        }
    }
    let Some(&bad) = hi.checked_sub(1).and_then(|i| req.get(i)) else {
        let anomaly = Anomaly {
            kind: "nonlinearizable".into(),
            explanation: format!("key {key}: no linearization exists"),
            ops: ops.iter().map(|o| o.invoke).collect(),
        };
        return (anomaly, spent);
    };
    let mut search = Search::new(&prefix(hi - 1));
    let finals = search.run(budget, FINALS);
    spent += search.explored;

    let seen = match bad.cmd {
        Cmd::Read(v) | Cmd::Cas(v, _) => Some(v),
        Cmd::Write(_) => None,
    };
    // Everything invoked before it completed; the window is what was in flight with it, or
    // with the earliest `ok` operation in flight with it.
    let before: Vec<KeyOp> = ops.iter().filter(|o| o.call < bad.ret).copied().collect();
    let earliest = before
        .iter()
        .filter(|o| o.required && o.ret > bad.call)
        .map(|o| o.call)
        .min()
        .unwrap_or(bad.call)
        .min(bad.call);
    let mut window: Vec<&KeyOp> = before
        .iter()
        .filter(|o| o.invoke != bad.invoke && o.ret > earliest)
        .filter(|o| {
            o.required || o.call >= earliest || writes(o.cmd).is_some_and(|w| Some(w) == seen)
        })
        .collect();
    window.sort_by_key(|o| o.call);
    let older_unknown = before
        .iter()
        .filter(|o| !o.required && !window.iter().any(|w| w.invoke == o.invoke))
        .count();

    let mut text = format!("key {key}: {}", describe(key, &bad));
    text += &format!(
        ", but no order of the {} ok operations of key {key} that completed before it{}, \
         with the writes then in flight taking effect or not, admits it",
        hi - 1,
        if hi > 1 {
            format!(" (the last at op {})", req[hi - 2].completion.unwrap_or(0))
        } else {
            String::new()
        },
    );
    text += &match &finals {
        Outcome::Linearizable(v) if v.len() >= FINALS => format!(
            "; they leave the register holding one of {} or more",
            list(v)
        ),
        Outcome::Linearizable(v) => format!("; they leave the register holding {}", list(v)),
        _ => "; the values they could leave were not found within the search bound".into(),
    };
    if let Some(v) = seen {
        text += &hint(key, &before, &bad, v);
    }
    if !window.is_empty() {
        let shown: Vec<String> = window
            .iter()
            .take(DESCRIBED)
            .map(|o| describe(key, o))
            .collect();
        text += &format!(". Concurrent: {}", shown.join("; "));
        if window.len() > DESCRIBED {
            text += &format!(" and {} more", window.len() - DESCRIBED);
        }
    }
    if older_unknown > 0 {
        text += &format!(
            ". {older_unknown} earlier writes of unknown outcome could also have taken effect"
        );
    }
    if !narrowed {
        text += ". (The search bound stopped the narrowing: the window may be larger than needed.)";
    }
    let mut indexes: Vec<usize> = std::iter::once(&bad)
        .chain(window.iter().copied())
        .flat_map(|o| std::iter::once(o.invoke).chain(o.completion))
        .collect();
    indexes.sort_unstable();
    indexes.dedup();
    let anomaly = Anomaly {
        kind: "nonlinearizable".into(),
        explanation: text,
        ops: indexes,
    };
    (anomaly, spent)
}

/// What the value seen by `bad` tells: who wrote it, and the last write before it.
fn hint(key: i64, all: &[KeyOp], bad: &KeyOp, v: Val) -> String {
    let last = all
        .iter()
        .filter(|o| o.required && o.ret < bad.call && writes(o.cmd).is_some())
        .max_by_key(|o| o.ret);
    let writers: Vec<&KeyOp> = all
        .iter()
        .filter(|o| o.invoke != bad.invoke && writes(o.cmd) == Some(v))
        .collect();
    let mut text = String::new();
    if let Some(w) = last {
        text += &format!(
            "; the last write completed before it was invoked wrote {} (op {}, completed at op {})",
            show(writes(w.cmd).flatten()),
            w.invoke,
            w.completion.unwrap_or(0),
        );
    }
    if v.is_none() {
        return text;
    }
    if writers.is_empty() {
        return text + &format!("; no operation ever wrote {} to key {key}", show(v));
    }
    let named: Vec<String> = writers
        .iter()
        .take(5)
        .map(|o| match o.completion.filter(|_| o.required) {
            Some(c) => format!("op {} (completed at op {c})", o.invoke),
            None => format!("op {} (outcome unknown)", o.invoke),
        })
        .collect();
    text += &format!("; {} was written by {}", show(v), named.join(", "));
    if writers.len() > 5 {
        text += &format!(" and {} more", writers.len() - 5);
    }
    if let Some(w) = last {
        if writers.iter().all(|o| o.ret < w.call) {
            text += &format!(", all completed before op {} was invoked", w.invoke);
        }
    }
    text
}

/// The value a command leaves in the register, if it writes one.
fn writes(cmd: Cmd) -> Option<Val> {
    match cmd {
        Cmd::Write(v) | Cmd::Cas(_, v) => Some(v),
        Cmd::Read(_) => None,
    }
}

fn show(v: Val) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

fn list(vals: &[Val]) -> String {
    let shown: Vec<String> = vals.iter().map(|v| show(*v)).collect();
    shown.join(", ")
}

/// An operation in words.
fn describe(key: i64, op: &KeyOp) -> String {
    let what = match op.cmd {
        Cmd::Read(v) => format!("read of key {key} at op {} returned {}", op.invoke, show(v)),
        Cmd::Write(v) => format!("write of {} to key {key} at op {}", show(v), op.invoke),
        Cmd::Cas(a, b) => format!(
            "cas of key {key} at op {} from {} to {}",
            op.invoke,
            show(a),
            show(b)
        ),
    };
    if op.ret == Point::MAX {
        what + " (outcome unknown)"
    } else {
        what
    }
}
