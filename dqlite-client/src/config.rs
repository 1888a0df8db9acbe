//! Client configuration: deadlines, the retry budget and backoff, pool limits, busy policy.

use std::time::Duration;

/// How the client behaves. Build it with [`Config::default`] and the `with_*` setters.
///
/// Defaults follow go-dqlite where it has a sensible value (5 s dial, 100 ms–1 s backoff, 10
/// concurrent leader probes) and add deadlines go-dqlite lacks (every request and every
/// follow-up ROWS batch).
#[derive(Debug, Clone)]
pub struct Config {
    /// Deadline for dialling one node (TCP/Unix connect + handshake). Default 5 s.
    pub dial_timeout: Duration,
    /// Deadline for one leader probe (dial + LEADER, and CLIENT on the leader). Default 5 s.
    pub attempt_timeout: Duration,
    /// Deadline for one request and for each follow-up ROWS batch. Default 30 s.
    pub request_timeout: Duration,
    /// A request (of [`crate::Db`], [`crate::Conn`], [`crate::Statement`] or
    /// [`crate::Transaction`]) that has had no answer for this long is *hedged*: the
    /// other nodes are asked, every `hedge_after`, whether another node leads now. If one
    /// does (and confirms it), the request is abandoned: a read of `Db` is retried there
    /// (elsewhere a read keeps its error), a write fails with [`crate::Error::CommitUnknown`]. A leader whose process is paused, or
    /// whose host vanished, otherwise holds the request until `request_timeout`: the
    /// kernel of a paused process still acknowledges TCP. Default 500 ms; `None` never
    /// hedges.
    pub hedge_after: Option<Duration>,
    /// Total time allowed for finding a leader and retrying requests that certainly did not
    /// execute (not-leader, connect failures). Default 30 s.
    pub retry_budget: Duration,
    /// First backoff between retry rounds; doubles each round with jitter. Default 100 ms.
    pub backoff_base: Duration,
    /// Largest backoff between retry rounds. Default 1 s.
    pub backoff_cap: Duration,
    /// Nodes probed at once while looking for the leader. Default 10.
    pub max_concurrent_probes: usize,
    /// Most open connections in a pool. Default 32.
    pub max_open: usize,
    /// Most idle connections kept in a pool. Default 8.
    pub max_idle: usize,
    /// How long `acquire` waits for a free connection. Default 30 s.
    pub acquire_timeout: Duration,
    /// Idle connections older than this are closed. Default 5 minutes; `None` keeps them.
    pub idle_timeout: Option<Duration>,
    /// Connections older than this are closed when returned. Default 30 minutes.
    pub max_lifetime: Option<Duration>,
    /// Retry SQLITE_BUSY (5, 261, 517) for autocommit statements within the retry budget.
    /// Off by default: busy errors are surfaced, as go-dqlite does.
    pub retry_busy: bool,
    /// TCP keepalive idle time (probes follow every third of it, at least 1 s apart).
    /// Default 3 s: with [`Config::tcp_user_timeout`] it bounds how long a request waits on
    /// a node whose host vanished (crashed, powered off, cut off), which never resets the
    /// connection. A live but slow server answers probes from its kernel, so long queries
    /// are unaffected.
    pub keepalive: Option<Duration>,
    /// Linux `TCP_USER_TIMEOUT`: a connection whose sent data or keepalive probes stay
    /// unacknowledged this long is closed, failing the request in flight (a read is then
    /// retried on the new leader; a write reports an unknown outcome). Default 5 s; `None`
    /// leaves the kernel's default (about 15 minutes of retransmissions).
    pub tcp_user_timeout: Option<Duration>,
    /// Cap on one message from the server. Default 64 MiB.
    pub max_frame: usize,
    /// Consecutive zero-row PART batches tolerated before a result is abandoned as broken
    /// (a server bug streams them forever, docs/wire-protocol.md §9.2). Default 64.
    pub max_empty_batches: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dial_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            hedge_after: Some(Duration::from_millis(500)),
            retry_budget: Duration::from_secs(30),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(1),
            max_concurrent_probes: 10,
            max_open: 32,
            max_idle: 8,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(300)),
            max_lifetime: Some(Duration::from_secs(1800)),
            retry_busy: false,
            keepalive: Some(Duration::from_secs(3)),
            tcp_user_timeout: Some(Duration::from_secs(5)),
            max_frame: dqlite_proto::DEFAULT_MAX_BODY,
            max_empty_batches: 64,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $field:ident: $ty:ty;)*) => {
        impl Config {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`Config::dial_timeout`].
    with_dial_timeout: dial_timeout: Duration;
    /// Sets [`Config::attempt_timeout`].
    with_attempt_timeout: attempt_timeout: Duration;
    /// Sets [`Config::request_timeout`].
    with_request_timeout: request_timeout: Duration;
    /// Sets [`Config::hedge_after`].
    with_hedge_after: hedge_after: Option<Duration>;
    /// Sets [`Config::retry_budget`].
    with_retry_budget: retry_budget: Duration;
    /// Sets [`Config::backoff_base`].
    with_backoff_base: backoff_base: Duration;
    /// Sets [`Config::backoff_cap`].
    with_backoff_cap: backoff_cap: Duration;
    /// Sets [`Config::max_concurrent_probes`].
    with_max_concurrent_probes: max_concurrent_probes: usize;
    /// Sets [`Config::max_open`].
    with_max_open: max_open: usize;
    /// Sets [`Config::max_idle`].
    with_max_idle: max_idle: usize;
    /// Sets [`Config::acquire_timeout`].
    with_acquire_timeout: acquire_timeout: Duration;
    /// Sets [`Config::idle_timeout`].
    with_idle_timeout: idle_timeout: Option<Duration>;
    /// Sets [`Config::max_lifetime`].
    with_max_lifetime: max_lifetime: Option<Duration>;
    /// Sets [`Config::retry_busy`].
    with_retry_busy: retry_busy: bool;
    /// Sets [`Config::keepalive`].
    with_keepalive: keepalive: Option<Duration>;
    /// Sets [`Config::tcp_user_timeout`].
    with_tcp_user_timeout: tcp_user_timeout: Option<Duration>;
    /// Sets [`Config::max_frame`].
    with_max_frame: max_frame: usize;
    /// Sets [`Config::max_empty_batches`].
    with_max_empty_batches: max_empty_batches: u32;
}

impl Config {
    /// Checks that the limits make sense.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |what: &str| Err(crate::Error::Config(what.to_owned()));
        if self.max_open == 0 {
            return bad("max_open must be at least 1");
        }
        if self.max_concurrent_probes == 0 {
            return bad("max_concurrent_probes must be at least 1");
        }
        if self.backoff_base > self.backoff_cap {
            return bad("backoff_base must not exceed backoff_cap");
        }
        if self.max_frame < 4096 {
            return bad("max_frame must be at least 4096 bytes");
        }
        Ok(())
    }
}
