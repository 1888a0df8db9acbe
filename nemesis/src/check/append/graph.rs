//! The dependency graph between committed transactions, and its strongly connected
//! components.
//!
//! Nodes are the `ok` transactions and the `info` ones whose appends were observed (they
//! committed). Edges, per key, from the version order and the reads:
//! - `ww`: T1 appended v, T2 appended the next value of the order;
//! - `wr`: T2 read a list that (without T2's own appends) ends at T1's value;
//! - `rw`: T1 read a prefix of the order, T2 appended the value right after it;
//! - `rt` (real time, optional): T1 completed before T2 was invoked. Only a transitive
//!   reduction is kept: each invocation gets edges from the "frontier" of completed
//!   transactions not yet followed by another completed one, so the edges stay about
//!   linear in the history while every real-time order remains a path.
//!
//! Values appended by failed transactions or by nobody are skipped over: the edges join
//! the nearest committed writers on either side.

use std::collections::HashMap;

use super::order::Index;
use super::txn::{Mop, Outcome, Txn};

/// Write-write edge kind.
pub(super) const WW: u8 = 1;
/// Write-read edge kind.
pub(super) const WR: u8 = 2;
/// Read-write (anti-dependency) edge kind.
pub(super) const RW: u8 = 4;
/// Real-time edge kind.
pub(super) const RT: u8 = 8;

/// Why an edge exists, kept for the first reason of each kind.
#[derive(Debug, Clone, Default)]
pub(super) struct Edge {
    /// The kinds of the edge (bits [`WW`], [`WR`], [`RW`], [`RT`]).
    pub kinds: u8,
    /// `ww`: key, the value of the source, the next value (of the target).
    pub ww: Option<(i64, i64, i64)>,
    /// `wr`: key, the value read last, the length of the list read.
    pub wr: Option<(i64, i64, usize)>,
    /// `rw`: key, the last value read (if any), the length read, the next value.
    pub rw: Option<(i64, Option<i64>, usize, i64)>,
}

/// The dependency graph; nodes are transaction indexes.
#[derive(Debug, Default)]
pub(super) struct Graph {
    /// The transactions that are nodes, in order.
    pub nodes: Vec<usize>,
    /// Every edge with its reasons.
    pub edges: HashMap<(usize, usize), Edge>,
    /// Successors of each transaction with the edge's kinds, sorted.
    pub adj: Vec<Vec<(usize, u8)>>,
}

impl Graph {
    fn add(&mut self, from: usize, to: usize, kind: u8, set: impl FnOnce(&mut Edge)) {
        if from == to {
            return;
        }
        let edge = self.edges.entry((from, to)).or_default();
        if edge.kinds & kind == 0 {
            edge.kinds |= kind;
            set(edge);
        }
    }

    /// How many edges have the given kind.
    pub(super) fn count(&self, kind: u8) -> usize {
        self.edges.values().filter(|e| e.kinds & kind != 0).count()
    }
}

/// Builds the graph; real-time edges only when `realtime`.
pub(super) fn build(txns: &[Txn], index: &Index, realtime: bool) -> Graph {
    let writer = |key: i64, v: i64| index.writers.get(&(key, v)).map(|w| w.txn);
    let is_node: Vec<bool> = txns
        .iter()
        .enumerate()
        .map(|(t, txn)| match txn.outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Info => txn.mops.iter().any(|m| match m {
                Mop::Append { key, value } => {
                    writer(*key, *value) == Some(t)
                        && index
                            .keys
                            .get(key)
                            .is_some_and(|e| e.pos.contains_key(value))
                }
                Mop::Read { .. } => false,
            }),
        })
        .collect();
    let mut g = Graph {
        nodes: (0..txns.len()).filter(|&t| is_node[t]).collect(),
        ..Graph::default()
    };
    for (&key, entry) in &index.keys {
        // Positions of the order written by a node (first occurrences only).
        let node_at = |p: usize| {
            let v = entry.order[p];
            let w = writer(key, v).filter(|&w| is_node[w])?;
            (entry.pos.get(&v) == Some(&p)).then_some(w)
        };
        let mut next = vec![None; entry.order.len() + 1];
        for p in (0..entry.order.len()).rev() {
            next[p] = if node_at(p).is_some() {
                Some(p)
            } else {
                next[p + 1]
            };
        }
        let mut prev: Option<(usize, i64)> = None;
        for (p, &v) in entry.order.iter().enumerate() {
            let Some(w) = node_at(p) else {
                continue;
            };
            if let Some((pw, pv)) = prev {
                g.add(pw, w, WW, |e| e.ww = Some((key, pv, v)));
            }
            prev = Some((w, v));
        }
        for (r, read) in entry.reads.iter().enumerate() {
            let reader = &txns[read.txn];
            let Some(n) = reader.external.get(read.mop).copied().flatten() else {
                continue;
            };
            let list = reader.read_list(read.mop);
            let last = n.checked_sub(1).and_then(|i| list.get(i)).copied();
            if let Some(last) = last {
                if let Some(w) = writer(key, last).filter(|&w| is_node[w]) {
                    g.add(w, read.txn, WR, |e| e.wr = Some((key, last, n)));
                }
            }
            if !entry.compatible[r] {
                continue;
            }
            if let Some(q) = next.get(n).copied().flatten() {
                if let Some(w) = node_at(q) {
                    let v = entry.order[q];
                    g.add(read.txn, w, RW, |e| e.rw = Some((key, last, n, v)));
                }
            }
        }
    }
    if realtime {
        realtime_edges(txns, &mut g);
    }
    g.adj = vec![Vec::new(); txns.len()];
    for (&(from, to), edge) in &g.edges {
        g.adj[from].push((to, edge.kinds));
    }
    for succ in &mut g.adj {
        succ.sort_unstable();
    }
    g
}

/// Adds the real-time edges between nodes (see the module's documentation).
fn realtime_edges(txns: &[Txn], g: &mut Graph) {
    // (history index, 0 = completion before 1 = invocation at the same index, txn)
    let mut events: Vec<(usize, u8, usize)> = Vec::new();
    for &t in &g.nodes {
        events.push((txns[t].invoke, 1, t));
        if txns[t].outcome == Outcome::Ok {
            if let Some(c) = txns[t].completion {
                events.push((c, 0, t));
            }
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<usize> = Vec::new();
    let mut before: HashMap<usize, Vec<usize>> = HashMap::new();
    for (_, kind, t) in events {
        if kind == 1 {
            for &f in &frontier {
                g.add(f, t, RT, |_| {});
            }
            before.insert(t, frontier.clone());
        } else {
            let preds = before.remove(&t).unwrap_or_default();
            frontier.retain(|f| !preds.contains(f));
            frontier.push(t);
        }
    }
}

/// The strongly connected components of two or more nodes of the subgraph induced by
/// `nodes` with the edges of the kinds in `mask` (Tarjan's algorithm, iterative).
pub(super) fn sccs(nodes: &[usize], adj: &[Vec<(usize, u8)>], mask: u8) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let local: HashMap<usize, usize> = nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let m = nodes.len();
    let (mut index, mut low, mut on_stack) = (vec![UNSEEN; m], vec![0; m], vec![false; m]);
    let mut stack: Vec<usize> = Vec::new();
    let mut counter = 0;
    let mut out = Vec::new();
    for start in 0..m {
        if index[start] != UNSEEN {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = counter;
        low[start] = counter;
        counter += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&(v, pos)) = call.last() {
            let succ = adj.get(nodes[v]).map_or(&[][..], Vec::as_slice);
            if let Some(&(w, kinds)) = succ.get(pos) {
                if let Some(top) = call.last_mut() {
                    top.1 += 1;
                }
                let Some(&w) = local.get(&w).filter(|_| kinds & mask != 0) else {
                    continue;
                };
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(nodes[w]);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort_unstable();
                    out.push(component);
                }
            }
        }
    }
    out.sort();
    out
}
