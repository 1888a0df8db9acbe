//! Async dqlite client (skeleton; filled in by its own issue).
//!
//! The wire codec lives in [`dqlite_proto`]; this crate will add connections, leader discovery,
//! a pool, transactions and admin calls on top of it.
#![warn(missing_docs)]

pub use dqlite_proto as proto;
