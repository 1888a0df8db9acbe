//! Workloads: the schema each one needs, the operations its clients generate, how one
//! operation runs through `dqlite-client`, and the final reads. The value shapes written
//! to the history are the ones the matching checker in [`crate::check`] reads.

use std::sync::atomic::{AtomicU64, Ordering};

use dqlite_client::{Db, Error};
use rand::rngs::StdRng;
use serde_json::Value;

mod append;
mod bank;
mod register;
mod set;

/// The workloads, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Unique inserts into one table; final reads.
    Set,
    /// Transfers between accounts in transactions; reads check the constant total.
    Bank,
    /// Transactions of appends and reads over a few keys (Elle's list-append).
    Append,
    /// Reads, writes and compare-and-set on single keys (linearizability).
    Register,
}

impl Kind {
    /// Every workload, in the order the smoke run and the docs list them.
    pub const ALL: [Kind; 4] = [Kind::Set, Kind::Bank, Kind::Append, Kind::Register];

    /// The command-line (and checker) name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Set => "set",
            Kind::Bank => "bank",
            Kind::Append => "append",
            Kind::Register => "register",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One operation to invoke: its function and argument, as the history records them.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// `"add"`, `"read"`, `"transfer"`, `"txn"`, `"write"`, `"cas"`.
    pub f: &'static str,
    /// The argument.
    pub value: Value,
}

/// How one operation ended, with the node that served it when known.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It took effect; what it observed.
    Ok(Value),
    /// It certainly did not take effect.
    Fail(String),
    /// Its outcome is unknown.
    Info(String),
}

impl Outcome {
    /// The outcome of a failed request: unknown when the client says the commit may have
    /// happened ([`Error::is_commit_unknown`]), otherwise certainly not applied. The client
    /// only reports other errors for requests that did not execute, so this is the one rule.
    pub fn from_error(err: &Error) -> Outcome {
        if err.is_commit_unknown() {
            Outcome::Info(err.to_string())
        } else {
            Outcome::Fail(err.to_string())
        }
    }
}

/// The database every workload uses.
pub const DATABASE: &str = "nemesis";

/// A workload's generator and client: shared by every logical client of a run.
#[derive(Debug)]
pub struct Workload {
    kind: Kind,
    /// The next unique value (set elements, appended values).
    counter: AtomicU64,
    /// Operations generated so far (key rotation of append and register).
    generated: AtomicU64,
}

impl Workload {
    /// A workload of `kind` with fresh counters.
    pub fn new(kind: Kind) -> Workload {
        Workload {
            kind,
            counter: AtomicU64::new(1),
            generated: AtomicU64::new(0),
        }
    }

    /// Which workload.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Creates the tables (and the bank's accounts). Idempotent: safe to retry after an
    /// unknown outcome.
    pub async fn setup(&self, db: &Db) -> Result<(), Error> {
        match self.kind {
            Kind::Set => set::setup(db).await,
            Kind::Bank => bank::setup(db).await,
            Kind::Append => append::setup(db).await,
            Kind::Register => register::setup(db).await,
        }
    }

    /// The next operation for a client.
    pub fn generate(&self, rng: &mut StdRng) -> Invocation {
        let n = self.generated.fetch_add(1, Ordering::Relaxed);
        match self.kind {
            Kind::Set => set::generate(rng, || self.next_unique()),
            Kind::Bank => bank::generate(rng),
            Kind::Append => append::generate(rng, n, || self.next_unique()),
            Kind::Register => register::generate(rng, n),
        }
    }

    /// Runs one operation and says how it ended and on which node.
    pub async fn invoke(&self, db: &Db, op: &Invocation) -> (Outcome, Option<String>) {
        match self.kind {
            Kind::Set => set::invoke(db, op).await,
            Kind::Bank => bank::invoke(db, op).await,
            Kind::Append => append::invoke(db, op).await,
            Kind::Register => register::invoke(db, op).await,
        }
    }

    /// The reads made once every fault has healed.
    pub fn final_reads(&self) -> Vec<Invocation> {
        let generated = self.generated.load(Ordering::Relaxed);
        match self.kind {
            Kind::Set => vec![set::read()],
            Kind::Bank => vec![bank::read()],
            Kind::Append => vec![append::read_all(generated)],
            Kind::Register => register::read_all(generated),
        }
    }

    fn next_unique(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }
}

/// A JSON integer from a SQLite integer value, or `null`.
pub(crate) fn int_or_null(v: &dqlite_client::Value) -> Value {
    match v {
        dqlite_client::Value::Integer(i) => Value::from(*i),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod sim_tests;
