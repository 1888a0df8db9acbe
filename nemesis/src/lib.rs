//! dqlite-nemesis: a Jepsen-style fault-injection suite for dqlite clusters.
//!
//! A run starts a cluster (our `dqlite-server` or C dqlite's `dqlite-demo`), each node in a
//! network namespace of its own, drives many logical clients through `dqlite-client` while a
//! nemesis injects faults, records every operation in a [`history`], heals the faults, reads
//! the final state, and hands the history to the workload's [`check`]er. The [`report`]
//! counts outcomes, lists anomalies with the operations that explain them, and draws a
//! timeline.

pub mod check;
pub mod cluster;
pub mod history;
