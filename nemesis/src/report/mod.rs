//! Reports of a run: what happened and what the checker found, for people. [`svg`] draws
//! the timeline (throughput, latency and fault windows).

pub mod svg;
