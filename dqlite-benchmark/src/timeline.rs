//! The run second by second, for `summary.json`: successes and failures per work type in each
//! second, and the longest stretch without a success — how long a fault stopped the workload.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::runner::RunOutcome;
use crate::workload::Work;

/// One second of the run (by completion time, counted from the start of the run).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Second {
    /// Seconds since the start of the run.
    pub t: u64,
    /// Successful writes completed in this second.
    pub exec: u64,
    /// Successful reads completed in this second.
    pub query: u64,
    /// Failed operations (either kind) started in this second.
    pub errors: u64,
    /// The slowest success completed in this second, in ms.
    pub max_ms: f64,
}

/// The longest time without a successful operation of one work type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Length in ms.
    pub ms: f64,
    /// Where it began, in seconds since the start of the run.
    pub from_s: f64,
}

/// The per-second view and the longest gaps, per work type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// One entry per second, from 0 to the end of the run.
    pub seconds: Vec<Second>,
    /// Per work type that succeeded at least once, and for both together (`any`): the longest
    /// interval without a successful completion (any worker), from the first success to the
    /// end of the run. For a work type that stops by design (readheavy's writes), this is
    /// the time after its phase; `any` is then the workload's longest outage.
    pub longest_gap: BTreeMap<&'static str, Gap>,
}

impl Timeline {
    /// Builds the timeline of a run.
    pub fn build(outcome: &RunOutcome) -> Timeline {
        let start = outcome.start_unix_ns;
        let since = |ns: u64| ns.saturating_sub(start);
        let len = usize::try_from(outcome.elapsed.as_secs()).unwrap_or(0) + 1;
        let mut seconds: Vec<Second> = (0..len as u64)
            .map(|t| Second {
                t,
                ..Second::default()
            })
            .collect();
        // Completions after the last full second (the operation in flight at the end) count
        // in the last one.
        let slot = |ns: u64| -> usize {
            usize::try_from(since(ns) / 1_000_000_000)
                .unwrap_or(usize::MAX)
                .min(len - 1)
        };
        let mut longest_gap = BTreeMap::new();
        let mut all_ends = Vec::new();
        for work in Work::ALL {
            let mut ends = Vec::new();
            for tracker in outcome.workers.iter().map(|w| w.tracker(work)) {
                for (begin, took) in tracker.measurements() {
                    let end = begin.saturating_add(took);
                    let s = &mut seconds[slot(end)];
                    match work {
                        Work::Exec => s.exec += 1,
                        Work::Query => s.query += 1,
                    }
                    s.max_ms = s.max_ms.max(took as f64 / 1e6);
                    ends.push(end);
                }
                for (begin, _) in tracker.errors() {
                    seconds[slot(begin)].errors += 1;
                }
            }
            all_ends.extend_from_slice(&ends);
            if let Some(gap) = widest_gap(ends, outcome.end_unix_ns, start) {
                longest_gap.insert(work.name(), gap);
            }
        }
        if let Some(gap) = widest_gap(all_ends, outcome.end_unix_ns, start) {
            longest_gap.insert("any", gap);
        }
        Timeline {
            seconds,
            longest_gap,
        }
    }
}

/// The longest interval between consecutive completions in `ends` (unix ns), counting the
/// stretch from the last one to `end` (a stall that lasts to the end of the run).
fn widest_gap(mut ends: Vec<u64>, end: u64, start: u64) -> Option<Gap> {
    ends.sort_unstable();
    let last = *ends.last()?;
    ends.push(end.max(last));
    ends.windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .max_by_key(|&(gap, _)| gap)
        .map(|(gap, from)| Gap {
            ms: gap as f64 / 1e6,
            from_s: from.saturating_sub(start) as f64 / 1e9,
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runner::WorkerResult;
    use crate::tracker::ErrorKind;

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

    #[test]
    fn buckets_by_second_and_finds_the_longest_gap() {
        let start = 100 * S;
        let mut a = WorkerResult::default();
        let mut b = WorkerResult::default();
        a.query.record_ok(start + 10 * MS, MS); // ends in second 0
        a.query.record_ok(start + S + 500 * MS, 2 * MS); // second 1
        b.query.record_ok(start + S + 900 * MS, 300 * MS); // ends in second 2
        b.query.record_ok(start + 3 * S + 700 * MS, MS); // second 3, after a 1.5 s gap
        b.query.record_ok(start + 3 * S + 900 * MS, MS); // 0.2 s before the end
        a.exec.record_ok(start, 5 * MS);
        b.exec
            .record_err(start + 2 * S + 1, ErrorKind::Other, "boom");
        let outcome = RunOutcome {
            workers: vec![a, b],
            start_unix_ns: start,
            end_unix_ns: start + 4 * S,
            elapsed: Duration::from_secs(4),
            interrupted: false,
        };
        let t = Timeline::build(&outcome);
        let per: Vec<(u64, u64, u64)> = t
            .seconds
            .iter()
            .map(|s| (s.exec, s.query, s.errors))
            .collect();
        assert_eq!(
            per,
            vec![(1, 1, 0), (0, 1, 0), (0, 1, 1), (0, 2, 0), (0, 0, 0)]
        );
        assert!((t.seconds[2].max_ms - 300.0).abs() < 1e-9);
        let gap = &t.longest_gap["query"];
        assert!((gap.ms - 1501.0).abs() < 1e-6, "{gap:?}");
        assert!((gap.from_s - 2.2).abs() < 1e-9, "{gap:?}");
        // The only write finished at 5 ms; nothing until the end at 4 s.
        let exec = &t.longest_gap["exec"];
        assert!((exec.ms - 3995.0).abs() < 1e-6, "{exec:?}");
        // Both together: the write at 5 ms fills nothing; the widest is still the reads' gap.
        let any = &t.longest_gap["any"];
        assert!((any.ms - 1501.0).abs() < 1e-6, "{any:?}");
    }

    #[test]
    fn late_completions_land_in_the_last_second() {
        let mut a = WorkerResult::default();
        a.exec.record_ok(50 * S, 10 * S);
        let outcome = RunOutcome {
            workers: vec![a],
            start_unix_ns: 50 * S,
            end_unix_ns: 52 * S,
            elapsed: Duration::from_millis(2_500),
            interrupted: false,
        };
        let t = Timeline::build(&outcome);
        assert_eq!(t.seconds.len(), 3);
        assert_eq!(t.seconds[2].exec, 1);
    }
}
