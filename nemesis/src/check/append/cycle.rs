//! Cycle search in the dependency graph, and the classification of cycles (Adya's
//! phenomena as Elle reports them):
//! - `G0`: only `ww` edges (dirty write);
//! - `G1c`: `ww` and `wr` edges, at least one `wr` (circular information flow);
//! - `G-single`: exactly one `rw` edge (read skew);
//! - `G2`: two or more `rw` edges (anti-dependency cycle, e.g. write skew);
//! - the same with `-realtime` when the cycle needs a real-time edge (a violation of strict
//!   serializability only).
//!
//! Each strongly connected component is searched in order of severity: a cycle is grown
//! from one edge of the wanted kind (u → v) by a breadth-first search for the shortest way
//! back from v to u over the allowed kinds. For searches whose allowed kinds include the
//! first edge's, the component is first split by those kinds so that only edges that close
//! a cycle are tried; the others try at most [`ATTEMPTS`] first edges.

use std::collections::{HashMap, HashSet, VecDeque};

use super::graph::{sccs, Graph, RT, RW, WR, WW};
use super::txn::Txn;
use crate::check::Anomaly;

/// At most this many first edges are tried per search and component.
const ATTEMPTS: usize = 64;

/// A cycle: its edges, each with the one kind that explains it.
type Cycle = Vec<(usize, usize, u8)>;

/// What the search found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// One anomaly per component and class.
    pub anomalies: Vec<Anomaly>,
    /// Components of the graph without real-time edges.
    pub sccs: usize,
    /// Components of the graph with real-time edges (when asked for).
    pub sccs_realtime: usize,
}

/// Searches every component for cycles; real-time ones only when `realtime`.
pub(super) fn search(txns: &[Txn], g: &Graph, realtime: bool) -> Found {
    let mut found = Found::default();
    let serial = sccs(&g.nodes, &g.adj, WW | WR | RW);
    found.sccs = serial.len();
    let plans = [(WW, WW), (WR, WW | WR), (RW, WW | WR), (RW, WW | WR | RW)];
    for scc in &serial {
        found
            .anomalies
            .extend(component(txns, g, scc, &plans, |_| true));
    }
    if realtime {
        let all = sccs(&g.nodes, &g.adj, WW | WR | RW | RT);
        found.sccs_realtime = all.len();
        let plans = [
            (RT, WW | RT),
            (RT, WW | WR | RT),
            (RW, WW | WR | RT),
            (RT, WW | WR | RW | RT),
        ];
        for scc in &all {
            let cycles = component(txns, g, scc, &plans, |kind| kind.ends_with("-realtime"));
            found.anomalies.extend(cycles);
        }
    }
    found
}

/// Runs the searches `plans` (first edge kind, kinds allowed on the way back) in one
/// component, and reports one cycle per class that `wanted` accepts.
fn component(
    txns: &[Txn],
    g: &Graph,
    scc: &[usize],
    plans: &[(u8, u8)],
    wanted: impl Fn(&str) -> bool,
) -> Vec<Anomaly> {
    let members: HashSet<usize> = scc.iter().copied().collect();
    let mut reported: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for &(first, back) in plans {
        let accept = |kind: &str| wanted(kind) && !reported.contains(kind);
        if let Some(cycle) = find(g, scc, &members, first, back, accept) {
            let kind = classify(&cycle);
            out.push(explain(txns, g, &kind, &cycle));
            reported.insert(kind);
        }
    }
    out
}

/// The most telling kind of an edge among `kinds`: `ww`, then `wr`, `rw`, `rt`.
fn label(kinds: u8) -> u8 {
    [WW, WR, RW, RT]
        .into_iter()
        .find(|&k| kinds & k != 0)
        .unwrap_or(0)
}

/// A cycle that starts with an edge labelled `first` and returns over `back` edges, of a
/// class `accept` takes.
fn find(
    g: &Graph,
    scc: &[usize],
    members: &HashSet<usize>,
    first: u8,
    back: u8,
    accept: impl Fn(&str) -> bool,
) -> Option<Cycle> {
    let exact = first & back != 0;
    let split: HashMap<usize, usize> = if exact {
        sccs(scc, &g.adj, back)
            .into_iter()
            .enumerate()
            .flat_map(|(i, c)| c.into_iter().map(move |n| (n, i)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut attempts = 0;
    for &u in scc {
        for &(v, kinds) in &g.adj[u] {
            if !members.contains(&v) || label(kinds & (first | back)) != first {
                continue;
            }
            if exact && (!split.contains_key(&u) || split.get(&u) != split.get(&v)) {
                continue;
            }
            attempts += 1;
            if attempts > ATTEMPTS {
                return None;
            }
            let Some(path) = bfs(g, members, v, u, back) else {
                continue;
            };
            let mut cycle = vec![(u, v, first)];
            cycle.extend(path);
            if accept(&classify(&cycle)) {
                return Some(cycle);
            }
        }
    }
    None
}

/// The shortest path from `from` to `to` inside `members` over edges of kinds `mask`, as
/// labelled edges.
fn bfs(g: &Graph, members: &HashSet<usize>, from: usize, to: usize, mask: u8) -> Option<Cycle> {
    let mut parent: HashMap<usize, (usize, u8)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = HashSet::from([from]);
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut path = Vec::new();
            let mut at = to;
            while let Some(&(p, kind)) = parent.get(&at) {
                path.push((p, at, kind));
                at = p;
            }
            path.reverse();
            return Some(path);
        }
        for &(w, kinds) in &g.adj[n] {
            if kinds & mask != 0 && members.contains(&w) && seen.insert(w) {
                parent.insert(w, (n, label(kinds & mask)));
                queue.push_back(w);
            }
        }
    }
    None
}

/// The class of a cycle from the kinds of its edges.
fn classify(cycle: &Cycle) -> String {
    let count = |k: u8| cycle.iter().filter(|e| e.2 == k).count();
    let base = match (count(RW), count(WR)) {
        (0, 0) => "G0",
        (0, _) => "G1c",
        (1, _) => "G-single",
        _ => "G2",
    };
    if count(RT) > 0 {
        format!("{base}-realtime")
    } else {
        base.to_owned()
    }
}

/// The anomaly for a cycle, explained edge by edge.
fn explain(txns: &[Txn], g: &Graph, kind: &str, cycle: &Cycle) -> Anomaly {
    let steps: Vec<String> = cycle
        .iter()
        .map(|&(from, to, k)| step(txns, g, from, to, k))
        .collect();
    let mut ops: Vec<usize> = cycle.iter().flat_map(|&(t, _, _)| txns[t].ops()).collect();
    ops.sort_unstable();
    ops.dedup();
    let mut path: Vec<String> = cycle.iter().map(|&(t, _, _)| txns[t].label()).collect();
    path.extend(cycle.first().map(|&(t, _, _)| txns[t].label()));
    Anomaly {
        kind: kind.to_owned(),
        explanation: format!(
            "{kind} cycle of {} transactions ({}): {}",
            cycle.len(),
            path.join(" -> "),
            steps.join("; ")
        ),
        ops,
    }
}

/// One edge in words.
fn step(txns: &[Txn], g: &Graph, from: usize, to: usize, kind: u8) -> String {
    let (a, b) = (txns[from].label(), txns[to].label());
    let edge = g.edges.get(&(from, to)).cloned().unwrap_or_default();
    let seen = |n: usize, last: Option<i64>| match (n, last) {
        (_, None) => "[]".to_owned(),
        (1, Some(v)) => format!("[{v}]"),
        (_, Some(v)) => format!("[.., {v}]"),
    };
    match (kind, edge.ww, edge.wr, edge.rw) {
        (WW, Some((k, v1, v2)), _, _) => {
            format!("{a} appended {v1} to key {k}, then {b} appended {v2} right after it (ww)")
        }
        (WR, _, Some((k, v, n)), _) => format!(
            "{a} appended {v} to key {k}, and {b} read key {k} = {} (wr)",
            seen(n, Some(v))
        ),
        (RW, _, _, Some((k, last, n, v))) => format!(
            "{a} read key {k} = {}, and {b} appended {v} to key {k} right after that (rw)",
            seen(n, last)
        ),
        _ => format!(
            "{a} completed (op {}) before {b} was invoked (op {}) (realtime)",
            txns[from].completion.map_or("?".into(), |c| c.to_string()),
            txns[to].invoke
        ),
    }
}
