//! Checkers: each reads a whole history and says whether it is valid, listing every anomaly
//! with the operations that explain it. Pure functions, no I/O; each is tested on hand-made
//! histories (`*_tests.rs` beside it).

use serde::Serialize;

use crate::history::Op;

pub mod append;
pub mod bank;
pub mod register;
pub mod set;

/// The verdict of a checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    /// No anomaly found.
    Valid,
    /// At least one anomaly.
    Invalid,
    /// The checker could not decide (for example the linearizability search hit its bound);
    /// the run fails, as an anomaly would, but the report says why.
    Unknown,
}

/// One anomaly: what kind, a sentence that explains it, and the history entries
/// (indexes into the history) that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// Short name, e.g. `"lost"`, `"unexpected"`, `"wrong-total"`, `"G1c"`, `"G-single"`,
    /// `"nonlinearizable"`.
    pub kind: String,
    /// What was seen, in words, naming the operations by index.
    pub explanation: String,
    /// Indexes of the explaining entries in the history.
    pub ops: Vec<usize>,
}

/// What a checker found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The checker's name (`"set"`, `"bank"`, `"append"`, `"register"`).
    pub checker: &'static str,
    /// The verdict.
    pub validity: Validity,
    /// Every anomaly found (empty when valid).
    pub anomalies: Vec<Anomaly>,
    /// Checker-specific counts (acknowledged, lost, reads checked, ...), as JSON.
    pub stats: serde_json::Value,
}

impl Anomaly {
    /// A `malformed` anomaly: operation `pair` is `what`, and is left out of the check.
    pub fn malformed(pair: &crate::history::Pair<'_>, what: &str) -> Anomaly {
        Anomaly {
            kind: "malformed".into(),
            explanation: format!(
                "op {} is {what}; it is left out of the check",
                pair.invoke.index
            ),
            ops: pair.indexes(),
        }
    }

    /// True for an anomaly that breaks only real-time order: a read that missed a write
    /// acknowledged before it began (`stale`), or a cycle that needs real-time edges
    /// (`*-realtime`). Such a history is still serializable; it is not linearizable (or
    /// strictly serializable). Servers that do not claim linearizable reads may show them,
    /// so they are listed but do not make a history invalid (the register workload, which
    /// tests linearizability itself, reports `nonlinearizable` instead).
    pub fn is_realtime_only(&self) -> bool {
        self.kind == "stale" || self.kind.ends_with("-realtime")
    }
}

impl CheckResult {
    /// A result whose validity follows from its anomalies: invalid when any is more than
    /// [`Anomaly::is_realtime_only`].
    pub fn from_anomalies(
        checker: &'static str,
        anomalies: Vec<Anomaly>,
        stats: serde_json::Value,
    ) -> CheckResult {
        let validity = if anomalies.iter().all(Anomaly::is_realtime_only) {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        CheckResult {
            checker,
            validity,
            anomalies,
            stats,
        }
    }
}

#[cfg(test)]
impl CheckResult {
    /// The kinds of its anomalies, in order (for tests).
    pub(crate) fn kinds(&self) -> Vec<&str> {
        self.anomalies.iter().map(|a| a.kind.as_str()).collect()
    }
}

/// The checker of a workload, by workload name.
pub fn check(workload: &str, history: &[Op]) -> Option<CheckResult> {
    Some(match workload {
        "set" => set::check(history),
        "bank" => bank::check(history),
        "append" => append::check_with(history, &append::Options { realtime: true }),
        "register" => register::check(history),
        _ => return None,
    })
}
