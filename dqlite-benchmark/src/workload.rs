//! Workloads, their schema and SQL (identical to go-dqlite's `benchmark/worker.go`), key and
//! value generation, and the per-worker choice of the next operation.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Schema created before the run, in database [`DATABASE`].
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS model (key TEXT, value TEXT, UNIQUE(key))";
/// The write: one EXEC_SQL with two TEXT parameters.
pub const WRITE_SQL: &str = "INSERT OR REPLACE INTO model(key, value) VALUES(?, ?)";
/// The read: one QUERY_SQL with one TEXT parameter.
pub const READ_SQL: &str = "SELECT value FROM model WHERE key = ?";
/// The database every workload uses.
pub const DATABASE: &str = "benchmark";
/// Write attempts each `readheavy` worker makes before it only reads.
pub const READ_HEAVY_WRITES: u64 = 100;

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// What the workers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Only writes of new random keys.
    KvWrite,
    /// A 50/50 coin per operation: read one of this worker's keys, or write a new key.
    KvReadWrite,
    /// The original study's variant: [`READ_HEAVY_WRITES`] write attempts, then only reads
    /// of this worker's keys (writes go on until at least one succeeded).
    ReadHeavy,
}

impl Workload {
    /// Parses a name case-insensitively; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Workload> {
        match name.to_ascii_lowercase().as_str() {
            "kvwrite" => Some(Workload::KvWrite),
            "kvreadwrite" => Some(Workload::KvReadWrite),
            "readheavy" => Some(Workload::ReadHeavy),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::KvWrite => "kvwrite",
            Workload::KvReadWrite => "kvreadwrite",
            Workload::ReadHeavy => "readheavy",
        }
    }

    /// Whether workers must remember the keys they wrote (only reading workloads do).
    fn reads(self) -> bool {
        self != Workload::KvWrite
    }
}

/// The kind of operation, as named in result files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    /// A write (`exec`).
    Exec,
    /// A read (`query`).
    Query,
}

impl Work {
    /// Both kinds, in report order.
    pub const ALL: [Work; 2] = [Work::Exec, Work::Query];

    /// `exec` or `query`.
    pub fn name(self) -> &'static str {
        match self {
            Work::Exec => "exec",
            Work::Query => "query",
        }
    }

    /// The inverse of [`Work::name`].
    pub fn from_name(name: &str) -> Option<Work> {
        Work::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// One operation to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// [`WRITE_SQL`] with this key and value.
    Write {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// [`READ_SQL`] with this key.
    Read {
        /// The key.
        key: String,
    },
}

impl Op {
    /// The kind of operation.
    pub fn work(&self) -> Work {
        match self {
            Op::Write { .. } => Work::Exec,
            Op::Read { .. } => Work::Query,
        }
    }
}

/// One worker's state: its random source and the keys it wrote successfully.
#[derive(Debug)]
pub struct WorkerState {
    workload: Workload,
    key_size: usize,
    value_size: usize,
    rng: StdRng,
    keys: Vec<String>,
    writes: u64,
}

impl WorkerState {
    /// A worker with a random seed.
    pub fn new(workload: Workload, key_size: usize, value_size: usize) -> WorkerState {
        WorkerState::with_seed(workload, key_size, value_size, rand::random())
    }

    /// A worker with a fixed seed (tests).
    pub fn with_seed(workload: Workload, key_size: usize, value_size: usize, seed: u64) -> Self {
        WorkerState {
            workload,
            key_size,
            value_size,
            rng: StdRng::seed_from_u64(seed),
            keys: Vec::new(),
            writes: 0,
        }
    }

    /// Keys this worker wrote successfully (kept only by reading workloads).
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Chooses the next operation.
    pub fn next_op(&mut self) -> Op {
        let read = match self.workload {
            Workload::KvWrite => false,
            Workload::KvReadWrite => self.rng.random_bool(0.5),
            Workload::ReadHeavy => self.writes >= READ_HEAVY_WRITES,
        };
        if read && !self.keys.is_empty() {
            let key = self.keys[self.rng.random_range(0..self.keys.len())].clone();
            return Op::Read { key };
        }
        self.writes += 1;
        Op::Write {
            key: self.letters(self.key_size),
            value: self.value(),
        }
    }

    /// Records the outcome of an operation returned by [`WorkerState::next_op`].
    pub fn done(&mut self, op: Op, ok: bool) {
        if let Op::Write { key, .. } = op {
            if ok && self.workload.reads() {
                self.keys.push(key);
            }
        }
    }

    fn letters(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(LETTERS[self.rng.random_range(0..LETTERS.len())]))
            .collect()
    }

    /// Half one repeated random letter, half random letters: `2·⌊size/2⌋` bytes.
    fn value(&mut self) -> String {
        let half = self.value_size / 2;
        let mut v = self.letters(1).repeat(half);
        v.push_str(&self.letters(half));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(Workload::parse("KVWRITE"), Some(Workload::KvWrite));
        assert_eq!(Workload::parse("kvReadWrite"), Some(Workload::KvReadWrite));
        assert_eq!(Workload::parse("ReadHeavy"), Some(Workload::ReadHeavy));
        assert_eq!(Workload::parse("kv"), None);
        assert_eq!(Work::from_name("query"), Some(Work::Query));
    }

    #[test]
    fn keys_and_values_have_go_dqlite_shape() {
        let mut w = WorkerState::with_seed(Workload::KvWrite, 32, 1025, 1);
        let Op::Write { key, value } = w.next_op() else {
            panic!("kvwrite only writes")
        };
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|b| b.is_ascii_alphabetic()));
        assert_eq!(value.len(), 1024);
        let first = value.as_bytes()[0];
        assert!(value.as_bytes()[..512].iter().all(|&b| b == first));
        assert!(value.bytes().all(|b| b.is_ascii_alphabetic()));
    }

    #[test]
    fn kvwrite_keeps_no_keys() {
        let mut w = WorkerState::with_seed(Workload::KvWrite, 4, 4, 2);
        let op = w.next_op();
        w.done(op, true);
        assert!(w.keys().is_empty());
    }

    #[test]
    fn kvreadwrite_reads_only_own_successful_keys() {
        let mut w = WorkerState::with_seed(Workload::KvReadWrite, 8, 8, 3);
        let (mut reads, mut writes) = (0, 0);
        for i in 0..2000 {
            let op = w.next_op();
            match &op {
                Op::Read { key } => {
                    reads += 1;
                    assert!(w.keys().contains(key));
                }
                Op::Write { .. } => writes += 1,
            }
            let ok = i % 3 != 0;
            w.done(op, ok);
        }
        assert!(reads > 500 && writes > 500, "reads {reads} writes {writes}");
    }

    #[test]
    fn readheavy_writes_first_then_reads() {
        let mut w = WorkerState::with_seed(Workload::ReadHeavy, 8, 8, 4);
        for i in 0..READ_HEAVY_WRITES {
            let op = w.next_op();
            assert_eq!(op.work(), Work::Exec);
            w.done(op, i % 2 == 0);
        }
        assert_eq!(w.keys().len() as u64, READ_HEAVY_WRITES / 2);
        for _ in 0..100 {
            assert_eq!(w.next_op().work(), Work::Query);
        }
    }

    #[test]
    fn readheavy_writes_until_one_key_exists() {
        let mut w = WorkerState::with_seed(Workload::ReadHeavy, 8, 8, 5);
        for _ in 0..READ_HEAVY_WRITES + 5 {
            let op = w.next_op();
            assert_eq!(op.work(), Work::Exec);
            w.done(op, false);
        }
        let op = w.next_op();
        w.done(op, true);
        assert_eq!(w.next_op().work(), Work::Query);
    }
}
