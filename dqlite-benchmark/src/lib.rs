//! `dqlite-benchmark`: go-dqlite's `dqlite-benchmark` in Rust, on `dqlite-client`. Same
//! flags, workloads, SQL and results files (docs/go-dqlite.md §3), plus `summary.json`,
//! a live progress line, clean Ctrl-C/SIGTERM handling and the `readheavy` workload of the
//! original study.
//!
//! # Layout
//!
//! `args` (flags) → `target` (mode, addresses, results directory) → `app` (the program;
//! [`app::drive`] is shared by every mode) → `setup` (wait for the cluster, schema) →
//! `runner` (workers, deadline, signals) using `workload` (what to run) and `backend` (how:
//! `dqlite_client::Db`) → `tracker`/`samples` (measurements) → `results` (go-dqlite files and
//! their parser), `summary` (`summary.json`, table) and `report` (writing them). `progress`
//! and `signal` serve the runner.

pub mod app;
pub mod args;
pub mod backend;
pub mod embedded;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod samples;
pub mod setup;
pub mod signal;
pub mod summary;
pub mod target;
pub mod timeline;
pub mod tracker;
pub mod workload;
