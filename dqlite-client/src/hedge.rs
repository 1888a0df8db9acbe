//! Hedging a request on a leader that stopped answering: while it waits, the other nodes are
//! asked whether another node leads now; if one does, the request is given up (see
//! [`crate::Config::hedge_after`]).

use std::future::Future;
use std::time::{Duration, Instant};

use crate::connection::OP_RECEIVE;
use crate::connector::Connector;
use crate::error::{Error, Result};

/// Runs `request` (sent to `node`). If it has no answer after the configured delay, and then
/// at each further delay, the other nodes are asked who leads; once another node confirms
/// that it does, `request` is dropped (its connection is left out of step, so it is
/// discarded) and the result is a receive timeout, which the retry rules turn into a retry
/// for a read and an unknown outcome for a write.
pub(crate) async fn hedged<T>(
    connector: &Connector,
    node: &str,
    request: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(every) = connector.config().hedge_after else {
        return request.await;
    };
    let start = Instant::now();
    tokio::select! {
        res = request => res,
        leader = moved_on(connector, node, every) => {
            tracing::info!(node, %leader, after = ?start.elapsed(),
                "no answer from the old leader and another node leads now; giving up the request");
            connector.forget_leader(node);
            Err(Error::Timeout { op: OP_RECEIVE, node: node.to_owned(), after: start.elapsed() })
        }
    }
}

/// Completes with the address of another leader, once one confirms it leads.
async fn moved_on(connector: &Connector, node: &str, every: Duration) -> String {
    loop {
        tokio::time::sleep(every).await;
        if let Some(leader) = connector.other_leader(node).await {
            return leader;
        }
    }
}
