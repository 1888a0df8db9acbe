//! The per-(worker, work type) tracker: every successful measurement, every failure (start
//! time + interned message), a latency histogram, and error counts by kind.

use std::collections::HashMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Why an operation failed, for `summary.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// SQLITE_BUSY: "database is locked" (a concurrent writer held the write lock).
    Busy,
    /// A write whose outcome is unknown (leadership lost, or the connection broke after
    /// the request was sent).
    CommitUnknown,
    /// A client deadline passed (request, dial or pool acquisition).
    Timeout,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Classifies a client error.
    pub fn of(e: &dqlite_client::Error) -> ErrorKind {
        if e.is_busy() {
            ErrorKind::Busy
        } else if e.is_commit_unknown() {
            ErrorKind::CommitUnknown
        } else if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Other
        }
    }
}

/// Error counts by kind. Operations cancelled at the end of the run are not errors: they
/// are counted in `cancelled` by the runner and appear in no results file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// [`ErrorKind::Busy`].
    pub busy: u64,
    /// [`ErrorKind::CommitUnknown`].
    pub commit_unknown: u64,
    /// [`ErrorKind::Timeout`].
    pub timeout: u64,
    /// [`ErrorKind::Other`].
    pub other: u64,
}

impl ErrorCounts {
    /// Adds one error of `kind`.
    pub fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Busy => self.busy += 1,
            ErrorKind::CommitUnknown => self.commit_unknown += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Other => self.other += 1,
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, o: &ErrorCounts) {
        self.busy += o.busy;
        self.commit_unknown += o.commit_unknown;
        self.timeout += o.timeout;
        self.other += o.other;
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.busy + self.commit_unknown + self.timeout + self.other
    }
}

/// Measurements of one work type of one worker (go-dqlite's `tracker` for one `work`).
#[derive(Debug, Clone)]
pub struct Tracker {
    samples: crate::samples::Samples,
    errors: Vec<(u64, u32)>,
    messages: Vec<String>,
    message_ids: HashMap<String, u32>,
    histogram: Histogram<u64>,
    total_ns: u128,
    min_ns: u64,
    max_ns: u64,
    kinds: ErrorCounts,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new()
    }
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Tracker {
        Tracker {
            samples: crate::samples::Samples::new(),
            errors: Vec::new(),
            messages: Vec::new(),
            message_ids: HashMap::new(),
            histogram: Histogram::new(3).expect("3 significant figures are valid"),
            total_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            kinds: ErrorCounts::default(),
        }
    }

    /// Records a success that started at `start_ns` (unix ns) and took `duration_ns`.
    pub fn record_ok(&mut self, start_ns: u64, duration_ns: u64) {
        self.samples.push(start_ns, duration_ns);
        // `record` grows the (auto-resizing) histogram; `saturating_record` would clamp.
        if self.histogram.record(duration_ns.max(1)).is_err() {
            self.histogram.saturating_record(duration_ns.max(1));
        }
        self.total_ns += u128::from(duration_ns);
        self.min_ns = self.min_ns.min(duration_ns);
        self.max_ns = self.max_ns.max(duration_ns);
    }

    /// Records a failure that started at `start_ns`. Line breaks in `message` become spaces
    /// so that the results file keeps one error per line.
    pub fn record_err(&mut self, start_ns: u64, kind: ErrorKind, message: &str) {
        self.kinds.add(kind);
        let id = match self.message_ids.get(message) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.messages.len()).unwrap_or(u32::MAX);
                let clean = message.replace(['\r', '\n'], " ");
                self.messages.push(clean);
                self.message_ids.insert(message.to_owned(), id);
                id
            }
        };
        self.errors.push((start_ns, id));
    }

    /// Successful operations.
    pub fn n(&self) -> u64 {
        self.samples.len() as u64
    }

    /// Failed operations.
    pub fn n_err(&self) -> u64 {
        self.errors.len() as u64
    }

    /// Sum of the successful durations.
    pub fn total_ns(&self) -> u128 {
        self.total_ns
    }

    /// go-dqlite's average: total / n with integer division; 0 when n = 0.
    pub fn avg_ns(&self) -> u64 {
        match self.n() {
            0 => 0,
            n => u64::try_from(self.total_ns / u128::from(n)).unwrap_or(u64::MAX),
        }
    }

    /// Shortest successful duration (0 when none).
    pub fn min_ns(&self) -> u64 {
        if self.samples.is_empty() {
            0
        } else {
            self.min_ns
        }
    }

    /// Longest successful duration (0 when none).
    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// Error counts by kind.
    pub fn error_counts(&self) -> ErrorCounts {
        self.kinds
    }

    /// Latency histogram of the successes, in ns.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }

    /// (start unix ns, duration ns) of each success, in execution order.
    pub fn measurements(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.samples.iter()
    }

    /// (start unix ns, message) of each failure, in execution order.
    pub fn errors(&self) -> impl Iterator<Item = (u64, &str)> + '_ {
        self.errors
            .iter()
            .map(|&(start, id)| (start, self.messages[id as usize].as_str()))
    }

    /// Each distinct error message with its count.
    pub fn message_counts(&self) -> Vec<(&str, u64)> {
        let mut counts = vec![0u64; self.messages.len()];
        for &(_, id) in &self.errors {
            counts[id as usize] += 1;
        }
        self.messages
            .iter()
            .map(String::as_str)
            .zip(counts)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_go_dqlite_statistics() {
        let mut t = Tracker::new();
        t.record_ok(10, 3);
        t.record_ok(20, 2);
        t.record_ok(30, 2);
        t.record_err(40, ErrorKind::Busy, "database is locked");
        t.record_err(50, ErrorKind::Other, "line\nbreak");
        t.record_err(60, ErrorKind::Busy, "database is locked");
        assert_eq!((t.n(), t.n_err()), (3, 3));
        assert_eq!((t.avg_ns(), t.min_ns(), t.max_ns()), (2, 2, 3));
        assert_eq!(t.error_counts().busy, 2);
        assert_eq!(t.error_counts().total(), 3);
        let errors: Vec<_> = t.errors().collect();
        assert_eq!(errors[1], (50, "line break"));
        assert_eq!(errors[2], (60, "database is locked"));
        assert_eq!(t.message_counts()[0], ("database is locked", 2));
        assert_eq!(t.histogram().len(), 3);
        assert_eq!(t.histogram().value_at_quantile(1.0), 3);
    }

    #[test]
    fn histogram_grows_to_long_durations() {
        let mut t = Tracker::new();
        t.record_ok(1, 1_000_000);
        t.record_ok(2, 5_000_000_000);
        assert!(t
            .histogram()
            .equivalent(t.histogram().value_at_quantile(0.4), 1_000_000));
        assert!(t.histogram().equivalent(t.histogram().max(), 5_000_000_000));
    }

    #[test]
    fn empty_tracker_reports_zeroes() {
        let t = Tracker::new();
        assert_eq!((t.n(), t.avg_ns(), t.min_ns(), t.max_ns()), (0, 0, 0, 0));
    }
}
