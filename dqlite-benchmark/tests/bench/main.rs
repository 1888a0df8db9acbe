//! Integration tests of `dqlite-benchmark`, one binary: the results format (golden files,
//! parsed back by our parser and by `scripts/summarise-results.py`), the runner on a fake
//! backend (deadline, cancellation, Ctrl-C), flag errors of the binary, and client-only
//! mode against a real C dqlite cluster.

mod cli;
mod format;
mod interop;
mod modes;
mod runner;
mod util;
