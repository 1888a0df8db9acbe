//! Leader discovery: the last known leader first, then every node probed concurrently
//! (bounded); a node is the leader only if it names itself; rounds are retried with
//! exponential backoff and jitter until the budget runs out.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::retry::Backoff;
use crate::store::NodeStore;
use crate::Config;

/// Deadline for re-checking the last known leader before probing every node, and how long a
/// round still waits for silent nodes once the others have answered.
const FAST_PATH_TIMEOUT: Duration = Duration::from_secs(1);

/// Finds the leader and hands out connections to it.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    store: Arc<dyn NodeStore>,
    config: Arc<Config>,
    last_leader: Arc<Mutex<Option<String>>>,
}

/// Why one probe did not produce a leader connection.
type Answer = (String, String);

impl Connector {
    pub fn new(store: Arc<dyn NodeStore>, config: Arc<Config>) -> Connector {
        Connector {
            store,
            config,
            last_leader: Arc::new(Mutex::new(None)),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The leader address that worked last, if any.
    pub fn last_leader(&self) -> Option<String> {
        self.last_leader.lock().ok().and_then(|g| g.clone())
    }

    /// Forgets the last leader, for example after it answered "not leader".
    pub fn forget_leader(&self, addr: &str) {
        if let Ok(mut g) = self.last_leader.lock() {
            if g.as_deref() == Some(addr) {
                *g = None;
            }
        }
    }

    fn remember_leader(&self, addr: &str) {
        if let Ok(mut g) = self.last_leader.lock() {
            *g = Some(addr.to_owned());
        }
    }

    /// The configuration with dial and probe deadlines cut to [`FAST_PATH_TIMEOUT`].
    fn fast(&self) -> Config {
        Config {
            attempt_timeout: self.config.attempt_timeout.min(FAST_PATH_TIMEOUT),
            dial_timeout: self.config.dial_timeout.min(FAST_PATH_TIMEOUT),
            ..Config::clone(&self.config)
        }
    }

    /// A registered connection to the current leader, within the retry budget.
    pub async fn connect(&self) -> Result<Connection> {
        self.connect_until(Instant::now() + self.config.retry_budget)
            .await
    }

    /// Like [`Connector::connect`] with an explicit deadline for all rounds.
    pub async fn connect_until(&self, deadline: Instant) -> Result<Connection> {
        let start = Instant::now();
        let mut backoff = Backoff::new(&self.config);
        let mut rounds = 0;
        loop {
            rounds += 1;
            let answers = match self.round().await {
                Ok(mut conn) => {
                    conn.set_timeout(self.config.request_timeout);
                    return Ok(conn);
                }
                Err(answers) => answers,
            };
            let wait = backoff.next_delay();
            if Instant::now() + wait >= deadline {
                return Err(Error::NoLeader {
                    attempts: rounds,
                    elapsed: start.elapsed(),
                    answers,
                });
            }
            tracing::debug!(rounds, ?wait, "no leader found; backing off");
            tokio::time::sleep(wait).await;
        }
    }

    /// One round: the fast path, then all nodes.
    async fn round(&self) -> std::result::Result<Connection, Vec<Answer>> {
        let mut answers = Vec::new();
        if let Some(addr) = self.last_leader() {
            // A short deadline: a leader that vanished (no reset, just silence) must not
            // hold up the search; if it is merely slow, the round below probes it again.
            match probe(&addr, &self.fast(), &[]).await {
                Ok(conn) => return Ok(conn),
                Err(why) => {
                    self.forget_leader(&addr);
                    answers.push((addr, why));
                }
            }
        }
        let mut nodes = match self.store.get() {
            Ok(nodes) => nodes,
            Err(e) => return Err(vec![("node store".to_owned(), e.to_string())]),
        };
        // Voters first: only they can lead and only they report the leader.
        nodes.sort_by_key(|n| n.role.map_or(0, |r| r.code()));
        let nodes_probed: Vec<String> = nodes.iter().map(|n| n.address.clone()).collect();
        let limit = Arc::new(Semaphore::new(self.config.max_concurrent_probes));
        let mut probes: FuturesUnordered<_> = nodes
            .into_iter()
            .map(|node| {
                let limit = Arc::clone(&limit);
                let config = Arc::clone(&self.config);
                let probed = &nodes_probed;
                async move {
                    let _permit = limit.acquire().await;
                    let res = probe(&node.address, &config, probed).await;
                    (node.address, res)
                }
            })
            .collect();
        let mut pending: Vec<String> = nodes_probed.clone();
        // Once some nodes have answered without naming a reachable leader, the silent rest
        // get FAST_PATH_TIMEOUT more: a vanished node would otherwise hold every round for
        // a whole attempt timeout, long after a new leader was elected.
        let mut last_answer: Option<Instant> = None;
        loop {
            let next = match last_answer {
                None => probes.next().await,
                Some(t) => {
                    let until = tokio::time::Instant::from_std(t + FAST_PATH_TIMEOUT);
                    match tokio::time::timeout_at(until, probes.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            for addr in pending {
                                let why = format!(
                                    "no answer {} ms after the other nodes had answered",
                                    FAST_PATH_TIMEOUT.as_millis()
                                );
                                answers.push((addr, why));
                            }
                            break;
                        }
                    }
                }
            };
            let Some((addr, res)) = next else { break };
            pending.retain(|a| *a != addr);
            last_answer = Some(Instant::now());
            match res {
                Ok(conn) => {
                    self.remember_leader(conn.node());
                    return Ok(conn);
                }
                Err(why) => answers.push((addr, why)),
            }
        }
        Err(answers)
    }
}

impl Connector {
    /// A node other than `current` that leads now, if any: every other node is asked who
    /// leads (each within [`FAST_PATH_TIMEOUT`]), and a node named counts only once it names
    /// itself. For hedging a request that `current` does not answer.
    pub async fn other_leader(&self, current: &str) -> Option<String> {
        let nodes = self.store.get().ok()?;
        let fast = self.fast();
        let ask = |addr: String| {
            let fast = &fast;
            async move {
                let asked = tokio::time::timeout(FAST_PATH_TIMEOUT, ask_leader(&addr, fast));
                asked.await.ok()?.ok().map(|(_, leader)| leader)
            }
        };
        let mut answers: FuturesUnordered<_> = nodes
            .into_iter()
            .filter(|n| n.address != current)
            .map(|n| ask(n.address))
            .collect();
        while let Some(answer) = answers.next().await {
            let Some(named) = answer.filter(|l| !l.is_empty() && l != current) else {
                continue;
            };
            if ask(named.clone()).await.as_deref() == Some(named.as_str()) {
                return Some(named);
            }
        }
        None
    }
}

/// Probes one node: a leader connection if it (or the node it names, one hop) is leader.
/// A hint naming a node in `probed` is not followed: that node is asked directly in the same
/// round, and following a stale hint to a vanished old leader would only wait out a dial.
async fn probe(
    addr: &str,
    config: &Config,
    probed: &[String],
) -> std::result::Result<Connection, String> {
    let deadline = config.attempt_timeout;
    match tokio::time::timeout(deadline, probe_inner(addr, config, probed)).await {
        Ok(res) => res,
        Err(_) => Err(format!("no answer within {deadline:?}")),
    }
}

async fn probe_inner(
    addr: &str,
    config: &Config,
    probed: &[String],
) -> std::result::Result<Connection, String> {
    let (mut conn, leader) = ask_leader(addr, config).await?;
    if leader.is_empty() {
        return Err("knows no leader".to_owned());
    }
    if leader != addr && probed.contains(&leader) {
        return Err(format!("names {leader} as leader (asked directly)"));
    }
    if leader != addr {
        drop(conn);
        let (hinted, confirmed) = ask_leader(&leader, config)
            .await
            .map_err(|e| format!("named {leader} as leader, which failed: {e}"))?;
        if confirmed != leader {
            return Err(format!(
                "named {leader} as leader, but that node names {:?}",
                confirmed
            ));
        }
        conn = hinted;
    }
    conn.register().await.map_err(|e| e.to_string())?;
    Ok(conn)
}

async fn ask_leader(
    addr: &str,
    config: &Config,
) -> std::result::Result<(Connection, String), String> {
    let mut conn = Connection::connect(addr, config)
        .await
        .map_err(|e| e.to_string())?;
    conn.set_timeout(config.attempt_timeout);
    let (_, leader) = conn.leader().await.map_err(|e| e.to_string())?;
    Ok((conn, leader))
}
