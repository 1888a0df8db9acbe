//! Replicated dqlite-compatible server (skeleton; filled in by its own issue).
#![warn(missing_docs)]
