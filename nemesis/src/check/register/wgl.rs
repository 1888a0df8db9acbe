//! The linearizability search of one key's operations: Wing & Gong's backtracking search
//! with Lowe's memoisation of every configuration already explored.
//!
//! A configuration is the set of operations linearized so far and the register's value. The
//! search repeatedly picks a *minimal* operation (one not yet linearized whose invocation
//! precedes the completion of every required operation not yet linearized), applies it to
//! the register and goes on; when nothing fits it undoes the last choice and tries the next
//! candidate. It runs on an explicit stack, never recursing.
//!
//! Operations are *required* (completed `ok`: they must all be linearized) or *optional*
//! (outcome unknown, `info`: they may be linearized at any point after their invocation, or
//! never). Three reductions keep optional operations from multiplying the configurations,
//! none of which loses a linearization:
//! - an optional operation that would not change the value is never linearized (dropping it
//!   from any linearization leaves it valid);
//! - an optional operation is linearized only when the next operation linearized observes
//!   the value it wrote (a read of that value or a cas from it): any linearization can drop
//!   each optional operation whose value is overwritten unobserved, after which each one
//!   left is immediately followed by its observer. The configuration records this pending
//!   obligation;
//! - of optional operations with the same command, all invoked already, only the earliest
//!   not yet linearized is tried: they are interchangeable.
//!
//! The memo key stores the linearized required operations compactly: the *frontier* (every
//! operation before it, in invocation order, is linearized) and the bits from there to the
//! end of the concurrency window (a linearized operation was invoked before the earliest
//! completion still pending), so a key costs the window's size, not the history's.
//!
//! The memo goes beyond equality (Lowe) to dominance: for the same required operations and
//! value, a configuration that used a subset of the optional operations (and owes no more
//! observation) can do everything the other can, so the other is skipped. The memo keeps,
//! per required part and value, the minimal optional parts seen.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::model::{Cmd, KeyOp, Point, Val};

/// Explored configurations: the required part and value, to the minimal optional parts.
type Memo = HashMap<Box<[u64]>, Vec<Box<[u64]>>, BuildHasherDefault<FxHasher>>;

/// The verdict of one search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A linearization exists; holds the final values found (at most the number asked for,
    /// at least one).
    Linearizable(Vec<Val>),
    /// Every configuration was explored and none linearizes all required operations.
    NotLinearizable,
    /// The budget of configurations ran out first.
    Exhausted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cand {
    Req(usize),
    Opt(usize),
}

/// A choice made, on the stack, with what is needed to undo it.
struct Frame {
    cand: Cand,
    value: Val,
    need_obs: bool,
}

/// The search over one key's operations.
pub(super) struct Search {
    /// Required operations, in invocation order.
    req: Vec<KeyOp>,
    /// Optional operations, in invocation order.
    opt: Vec<KeyOp>,
    /// For each optional operation, the previous one with the same command.
    opt_prev_same: Vec<Option<usize>>,
    lin_req: Vec<u64>,
    lin_opt: Vec<u64>,
    frontier: usize,
    remaining: usize,
    value: Val,
    need_obs: bool,
    /// Explored configurations: for each set of required operations and value, the
    /// minimal optional parts (see [`Search::visit`]).
    memo: Memo,
    /// Configurations explored so far.
    pub explored: u64,
}

fn bit(set: &[u64], i: usize) -> bool {
    set[i / 64] & (1 << (i % 64)) != 0
}

fn flip(set: &mut [u64], i: usize) {
    set[i / 64] ^= 1 << (i % 64);
}

impl Search {
    /// A search over these operations, starting from the empty register.
    pub(super) fn new(ops: &[KeyOp]) -> Search {
        let mut req: Vec<KeyOp> = ops.iter().filter(|o| o.required).copied().collect();
        let mut opt: Vec<KeyOp> = ops.iter().filter(|o| !o.required).copied().collect();
        req.sort_by_key(|o| o.call);
        opt.sort_by_key(|o| o.call);
        let mut last: HashMap<Cmd, usize> = HashMap::new();
        let opt_prev_same = (0..opt.len()).map(|j| last.insert(opt[j].cmd, j)).collect();
        Search {
            lin_req: vec![0; req.len().div_ceil(64)],
            lin_opt: vec![0; opt.len().div_ceil(64)],
            remaining: req.len(),
            req,
            opt,
            opt_prev_same,
            frontier: 0,
            value: None,
            need_obs: false,
            memo: HashMap::default(),
            explored: 0,
        }
    }

    /// Runs the search with at most `budget` configurations. With `finals` = 0 it stops at
    /// the first linearization; otherwise it goes on until it has found that many distinct
    /// final values (or explored everything).
    pub(super) fn run(&mut self, budget: u64, finals: usize) -> Outcome {
        let mut stack: Vec<Frame> = Vec::new();
        let mut found: Vec<Val> = Vec::new();
        let mut after: Option<Cand> = None;
        loop {
            let step = if self.remaining == 0 {
                if !found.contains(&self.value) {
                    found.push(self.value);
                }
                if found.len() >= finals.max(1) {
                    return Outcome::Linearizable(found);
                }
                None
            } else {
                self.next(after)
            };
            if let Some((cand, value, need_obs)) = step {
                let frame = Frame {
                    cand,
                    value: self.value,
                    need_obs: self.need_obs,
                };
                self.toggle(cand);
                self.value = value;
                self.need_obs = need_obs;
                if self.visit() {
                    self.explored += 1;
                    if self.explored > budget {
                        return Outcome::Exhausted;
                    }
                    stack.push(frame);
                    after = None;
                } else {
                    self.undo(&frame);
                    after = Some(cand);
                }
            } else if let Some(frame) = stack.pop() {
                self.undo(&frame);
                after = Some(frame.cand);
            } else if found.is_empty() {
                return Outcome::NotLinearizable;
            } else {
                return Outcome::Linearizable(found);
            }
        }
    }

    fn undo(&mut self, frame: &Frame) {
        self.toggle(frame.cand);
        self.value = frame.value;
        self.need_obs = frame.need_obs;
    }

    /// Linearizes a candidate, or undoes it.
    fn toggle(&mut self, cand: Cand) {
        match cand {
            Cand::Opt(j) => flip(&mut self.lin_opt, j),
            Cand::Req(i) => {
                flip(&mut self.lin_req, i);
                if bit(&self.lin_req, i) {
                    self.remaining -= 1;
                    while self.frontier < self.req.len() && bit(&self.lin_req, self.frontier) {
                        self.frontier += 1;
                    }
                } else {
                    self.remaining += 1;
                    self.frontier = self.frontier.min(i);
                }
            }
        }
    }

    /// The earliest completion of a required operation not yet linearized, and the index
    /// of the first required operation invoked after it (the end of the window).
    fn window(&self) -> (Point, usize) {
        let mut min = Point::MAX;
        let mut i = self.frontier;
        while i < self.req.len() && self.req[i].call < min {
            if !bit(&self.lin_req, i) {
                min = min.min(self.req[i].ret);
            }
            i += 1;
        }
        (min, i)
    }

    /// The next candidate after `after` that applies to the current value: its command, the
    /// value after it and the observation obligation after it.
    fn next(&self, after: Option<Cand>) -> Option<(Cand, Val, bool)> {
        let (min_ret, _) = self.window();
        let start = match after {
            None => self.frontier,
            Some(Cand::Req(i)) => i + 1,
            Some(Cand::Opt(_)) => self.req.len(),
        };
        for i in start..self.req.len() {
            let op = &self.req[i];
            if op.call >= min_ret {
                break;
            }
            if bit(&self.lin_req, i) || (self.need_obs && !op.cmd.observes(self.value)) {
                continue;
            }
            if let Some(v) = op.cmd.apply(self.value) {
                return Some((Cand::Req(i), v, false));
            }
        }
        let start = match after {
            Some(Cand::Opt(j)) => j + 1,
            _ => 0,
        };
        let mut observed: Option<Vec<Val>> = None;
        for j in start..self.opt.len() {
            let op = &self.opt[j];
            if op.call >= min_ret {
                break;
            }
            if bit(&self.lin_opt, j)
                || self.opt_prev_same[j].is_some_and(|p| !bit(&self.lin_opt, p))
                || (self.need_obs && !op.cmd.observes(self.value))
            {
                continue;
            }
            let Some(v) = op.cmd.apply(self.value) else {
                continue;
            };
            if v == self.value {
                continue;
            }
            if observed
                .get_or_insert_with(|| self.observers(min_ret))
                .contains(&v)
            {
                return Some((Cand::Opt(j), v, true));
            }
        }
        None
    }

    /// The values that some operation that may be linearized now would observe.
    fn observers(&self, min_ret: Point) -> Vec<Val> {
        let req = self.req[self.frontier..]
            .iter()
            .enumerate()
            .take_while(|(_, o)| o.call < min_ret)
            .filter(|(i, _)| !bit(&self.lin_req, self.frontier + i))
            .map(|(_, o)| o.cmd);
        let opt = self
            .opt
            .iter()
            .enumerate()
            .take_while(|(_, o)| o.call < min_ret)
            .filter(|(j, _)| !bit(&self.lin_opt, *j))
            .map(|(_, o)| o.cmd);
        let mut out: Vec<Val> = Vec::new();
        for cmd in req.chain(opt) {
            if let Cmd::Read(v) | Cmd::Cas(v, _) = cmd {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// Records the current configuration; false if it, or one that dominates it, was
    /// already explored. A configuration dominates another with the same required
    /// operations linearized and the same value when it has linearized a subset of its
    /// optional operations and has no more obligation: whatever the other can still do, it
    /// can do too.
    fn visit(&mut self) -> bool {
        let (_, end) = self.window();
        let first = self.frontier / 64;
        let mut last = end.div_ceil(64).min(self.lin_req.len()).max(first);
        while last > first && self.lin_req[last - 1] == 0 {
            last -= 1;
        }
        let mut key = Vec::with_capacity(3 + last - first);
        key.push(self.frontier as u64);
        key.push(u64::from(self.value.is_none()));
        key.push(self.value.unwrap_or(0) as u64);
        key.extend_from_slice(&self.lin_req[first..last]);
        let mut opt_len = self.lin_opt.len();
        while opt_len > 0 && self.lin_opt[opt_len - 1] == 0 {
            opt_len -= 1;
        }
        let mut opt = Vec::with_capacity(1 + opt_len);
        opt.push(u64::from(self.need_obs));
        opt.extend_from_slice(&self.lin_opt[..opt_len]);
        let seen = self.memo.entry(key.into_boxed_slice()).or_default();
        if seen.iter().any(|s| dominates(s, &opt)) {
            return false;
        }
        seen.retain(|s| !dominates(&opt, s));
        seen.push(opt.into_boxed_slice());
        true
    }
}

/// True if the optional part `a` (obligation flag, then bits) dominates `b`: no obligation
/// `b` lacks, and a subset of its optional operations.
fn dominates(a: &[u64], b: &[u64]) -> bool {
    a.len() <= b.len() && a[0] <= b[0] && a[1..].iter().zip(&b[1..]).all(|(x, y)| x & !y == 0)
}

/// A fast hash for memo keys (multiply-rotate over 64-bit words, finished with a mix).
#[derive(Default)]
pub(super) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}
