//! The live progress line (elapsed, ops/s over the last second, totals, errors), printed on
//! stderr once a second, and only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::runner::Counters;

/// A running progress line; [`Progress::finish`] stops and clears it.
#[derive(Debug)]
pub struct Progress {
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts printing, or does nothing when stderr is not a terminal.
    pub fn start(counters: Arc<Counters>, duration: Duration) -> Progress {
        let task = std::io::stderr()
            .is_terminal()
            .then(|| tokio::spawn(print_loop(counters, duration)));
        Progress { task }
    }

    /// Stops printing and clears the line.
    pub fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

async fn print_loop(counters: Arc<Counters>, duration: Duration) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last_ops = 0;
    loop {
        tick.tick().await;
        let ops = counters.ops.load(Ordering::Relaxed);
        let errors = counters.errors.load(Ordering::Relaxed);
        eprint!(
            "\r\x1b[2K{}",
            line(started.elapsed(), duration, ops - last_ops, ops, errors)
        );
        let _ = std::io::stderr().flush();
        last_ops = ops;
    }
}

/// One progress line: `[  12s/60s]  701 ops/s  8412 ops  0 errors`.
pub fn line(elapsed: Duration, duration: Duration, per_sec: u64, ops: u64, errors: u64) -> String {
    format!(
        "[{:>4}s/{}s] {per_sec:>7} ops/s {ops:>10} ops {errors:>9} errors",
        elapsed.as_secs(),
        duration.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_elapsed_rate_and_errors() {
        let l = line(
            Duration::from_millis(12_400),
            Duration::from_secs(60),
            701,
            8412,
            3,
        );
        assert_eq!(
            l,
            "[  12s/60s]     701 ops/s       8412 ops         3 errors"
        );
    }
}
