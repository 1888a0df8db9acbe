//! Backoff between retries: exponential from a base up to a cap, with full jitter on the
//! upper half so that many clients do not retry in lockstep.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::{Config, RetryAction};

/// How long to wait before the next attempt; `None` when the error is final or the budget
/// ending at `deadline` would run out first. A rediscovery retries at once (leader discovery
/// backs off on its own); a busy error waits for the next backoff delay.
pub(crate) fn retry_delay(
    action: RetryAction,
    backoff: &mut Backoff,
    deadline: Instant,
) -> Option<Duration> {
    let delay = match action {
        RetryAction::None => return None,
        RetryAction::Rediscover => Duration::ZERO,
        RetryAction::Backoff => backoff.next_delay(),
    };
    (Instant::now() + delay < deadline).then_some(delay)
}

/// The delays of one retry loop.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(config: &Config) -> Backoff {
        Backoff {
            base: config.backoff_base,
            cap: config.backoff_cap,
            attempt: 0,
        }
    }

    /// The next delay: `base * 2^attempt`, capped, then a random point in its upper half.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(20));
        let ceiling = exp.min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let jitter = rand::rng().random_range(0..=half.as_micros().max(1) as u64);
        half + Duration::from_micros(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_stays_within_it() {
        let config = Config::default()
            .with_backoff_base(Duration::from_millis(10))
            .with_backoff_cap(Duration::from_millis(100));
        let mut b = Backoff::new(&config);
        let delays: Vec<_> = (0..10).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(5) && delays[0] <= Duration::from_millis(10));
        for d in &delays {
            assert!(*d <= Duration::from_millis(100), "{d:?} above the cap");
        }
        assert!(
            delays[9] >= Duration::from_millis(50),
            "{:?} below half the cap",
            delays[9]
        );
    }
}
