//! The history of a run: every client operation as an `invoke` followed by its completion
//! (`ok`, `fail` or `info`), and every fault the nemesis started or healed, in the order
//! they happened, with monotonic timestamps. Written and read as JSON lines.
//!
//! The meaning of a completion is the one Jepsen gives it:
//! - `ok`: the operation took effect, and its value is what it observed;
//! - `fail`: the operation certainly did not take effect;
//! - `info`: the outcome is unknown: it may or may not have taken effect, at any time after
//!   its invocation (a write whose commit could not be confirmed, [`dqlite_client::Error::CommitUnknown`]).

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an entry of the history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation was sent.
    Invoke,
    /// It took effect; its value holds what it observed.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Its outcome is unknown.
    Info,
}

/// Who performed an operation: a logical client (by number) or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Process {
    /// A logical client. A client that sees an `info` completion is retired and a new
    /// number takes its place, as in Jepsen, so a process never has two open operations.
    Client(u64),
    /// The fault injector (always the string `"nemesis"` in JSON).
    Nemesis(NemesisTag),
}

/// The single value of [`Process::Nemesis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NemesisTag {
    /// Serialised as `"nemesis"`.
    #[serde(rename = "nemesis")]
    Nemesis,
}

impl Process {
    /// The nemesis.
    pub const NEMESIS: Process = Process::Nemesis(NemesisTag::Nemesis);

    /// The client number, if this is a client.
    pub fn client(self) -> Option<u64> {
        match self {
            Process::Client(n) => Some(n),
            Process::Nemesis(_) => None,
        }
    }
}

/// One entry of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, from 0.
    pub index: usize,
    /// Nanoseconds since the run started (monotonic clock).
    pub time: u64,
    /// Who did it.
    pub process: Process,
    /// What kind of entry.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The function: `"add"`, `"read"`, `"transfer"`, `"txn"`, `"write"`, `"cas"`, ... for
    /// clients; `"kill"`, `"pause"`, `"partition"`, ... for the nemesis (with `"start"` or
    /// `"stop"` events told apart by [`Op::kind`]: `invoke` starts a fault, `info` ends it).
    pub f: String,
    /// The operation's argument on `invoke`; what it observed on `ok`. The shape depends
    /// on the workload (see each checker).
    #[serde(default)]
    pub value: Value,
    /// The node the request went to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The error of a `fail` or `info` completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Op {
    /// True for a client entry (not the nemesis).
    pub fn is_client(&self) -> bool {
        self.process.client().is_some()
    }
}

/// An invocation and its completion, if the history holds one (an operation still open at
/// the end of the run has none, and counts as `info`).
#[derive(Debug, Clone, Copy)]
pub struct Pair<'h> {
    /// The `invoke` entry.
    pub invoke: &'h Op,
    /// The `ok`, `fail` or `info` entry that completed it.
    pub completion: Option<&'h Op>,
}

impl Pair<'_> {
    /// The completion's type; `Info` when there is none.
    pub fn outcome(&self) -> OpType {
        self.completion.map_or(OpType::Info, |c| c.kind)
    }

    /// When the operation ended; `u64::MAX` when it never completed or its outcome is
    /// unknown (it may take effect at any later time).
    pub fn end_time(&self) -> u64 {
        match self.completion {
            Some(c) if c.kind != OpType::Info => c.time,
            _ => u64::MAX,
        }
    }
}

impl Pair<'_> {
    /// The history indexes of the invocation and, when there is one, the completion.
    pub fn indexes(&self) -> Vec<usize> {
        std::iter::once(self.invoke.index)
            .chain(self.completion.map(|c| c.index))
            .collect()
    }
}

/// A client entry, for hand-made histories in tests.
#[cfg(test)]
pub(crate) fn client_op(
    index: usize,
    time: u64,
    p: u64,
    kind: OpType,
    f: &str,
    value: Value,
) -> Op {
    Op {
        index,
        time,
        process: Process::Client(p),
        kind,
        f: f.into(),
        value,
        node: None,
        error: None,
    }
}

/// A hand-made history for tests: each entry gets the next index and a time 1 ms after the
/// previous one.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct TestHistory {
    /// The entries so far.
    pub ops: Vec<Op>,
}

#[cfg(test)]
impl TestHistory {
    /// Appends a client entry; returns its index.
    pub(crate) fn push(&mut self, p: u64, kind: OpType, f: &str, value: Value) -> usize {
        let index = self.ops.len();
        let time = (index as u64 + 1) * 1_000_000;
        self.ops.push(client_op(index, time, p, kind, f, value));
        index
    }
}

/// Pairs every client invocation with its completion (the next entry of the same process),
/// in invocation order. Nemesis entries are left out.
pub fn pairs(history: &[Op]) -> Vec<Pair<'_>> {
    let mut open: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut out: Vec<Pair<'_>> = Vec::new();
    for op in history {
        let Some(p) = op.process.client() else {
            continue;
        };
        if op.kind == OpType::Invoke {
            open.insert(p, out.len());
            out.push(Pair {
                invoke: op,
                completion: None,
            });
        } else if let Some(slot) = open.remove(&p) {
            out[slot].completion = Some(op);
        }
    }
    out
}

/// Writes a history as JSON lines, one entry per line.
pub fn write_jsonl(history: &[Op], out: &mut impl Write) -> std::io::Result<()> {
    for op in history {
        serde_json::to_writer(&mut *out, op)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads a history written by [`write_jsonl`]; blank lines are skipped. The error names
/// the line that could not be parsed.
pub fn read_jsonl(input: impl BufRead) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let op: Op = serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        ops.push(op);
    }
    Ok(ops)
}

/// Records a history from many tasks at once: each entry gets the next index and a time
/// from one monotonic clock, under one lock, so indexes and times agree.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Vec<Op>>>,
    start: Instant,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty history whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            inner: Arc::new(Mutex::new(Vec::new())),
            start: Instant::now(),
        }
    }

    /// Nanoseconds since the recorder was made.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Appends an entry and returns its index.
    pub fn record(
        &self,
        process: Process,
        kind: OpType,
        f: &str,
        value: Value,
        node: Option<String>,
        error: Option<String>,
    ) -> usize {
        let mut ops = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let index = ops.len();
        ops.push(Op {
            index,
            time: self.now(),
            process,
            kind,
            f: f.to_owned(),
            value,
            node,
            error,
        });
        index
    }

    /// The whole history, without copying it when no other handle is left.
    pub fn into_history(self) -> Vec<Op> {
        match Arc::try_unwrap(self.inner) {
            Ok(ops) => ops.into_inner().unwrap_or_else(|e| e.into_inner()),
            Err(shared) => shared.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    /// A copy of the history so far.
    pub fn snapshot(&self) -> Vec<Op> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_through_json_lines() {
        let rec = Recorder::new();
        rec.record(
            Process::Client(3),
            OpType::Invoke,
            "add",
            json!(7),
            None,
            None,
        );
        rec.record(
            Process::NEMESIS,
            OpType::Invoke,
            "kill",
            json!(["n1"]),
            None,
            None,
        );
        rec.record(
            Process::Client(3),
            OpType::Info,
            "add",
            json!(7),
            Some("10.0.0.1:9001".into()),
            Some("unknown".into()),
        );
        let history = rec.snapshot();
        let mut buf = Vec::new();
        write_jsonl(&history, &mut buf).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.contains(r#""process":"nemesis""#), "{text}");
        assert!(text.contains(r#""type":"invoke""#), "{text}");
        assert_eq!(read_jsonl(&buf[..]).unwrap(), history);
        assert!(read_jsonl(&b"{\"index\":0}\n"[..])
            .unwrap_err()
            .starts_with("line 1"));
    }

    #[test]
    fn pairs_completions_with_their_invocations() {
        let rec = Recorder::new();
        rec.record(
            Process::Client(1),
            OpType::Invoke,
            "add",
            json!(1),
            None,
            None,
        );
        rec.record(
            Process::Client(2),
            OpType::Invoke,
            "add",
            json!(2),
            None,
            None,
        );
        rec.record(Process::Client(2), OpType::Ok, "add", json!(2), None, None);
        let history = rec.snapshot();
        let pairs = pairs(&history);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].outcome(), OpType::Info);
        assert_eq!(pairs[0].end_time(), u64::MAX);
        assert_eq!(pairs[1].outcome(), OpType::Ok);
        assert_eq!(pairs[1].completion.unwrap().index, 2);
    }
}
