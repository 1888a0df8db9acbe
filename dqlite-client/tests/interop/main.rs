//! The client against a real 3-node C dqlite cluster (Debian's dqlite-demo, libdqlite 1.11.1).

mod chaos;
mod sql;

use std::time::Duration;

use dqlite_client::{Cluster, Config};
use dqlite_testkit::ReferenceCluster;

/// Settings for a reference cluster: C dqlite elects in 3–6 s, so the budget covers a
/// failover with room to spare.
pub fn config() -> Config {
    Config::default()
        .with_retry_budget(Duration::from_secs(40))
        .with_request_timeout(Duration::from_secs(20))
        .with_attempt_timeout(Duration::from_secs(2))
        .with_dial_timeout(Duration::from_secs(2))
}

/// A client cluster handle for a reference cluster.
pub fn client(reference: &ReferenceCluster, config: Config) -> Cluster {
    Cluster::from_addresses(reference.addrs(), config).expect("valid configuration")
}
