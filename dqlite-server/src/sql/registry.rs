//! The databases a node knows, by name: file path, writer thread, writer queue and a
//! generation that changes whenever the file is replaced (snapshot install), so readers reopen.
//! Generations are unique in the process, not only in one registry: read connections kept on
//! shared threads (see `local`) must never mistake a later node's file for an earlier one's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::limit::{self, SqlLimits};
use super::queue::WriteQueue;
use super::reader::ReadPool;
use super::writer::{Proposer, Writer, WriterCmd, WriterEnv};
use crate::error::{Error, Result};

pub use super::db::Db;

/// The next database generation of this process.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// All databases of the node.
pub struct Registry {
    dir: PathBuf,
    dbs: Mutex<HashMap<String, Arc<Db>>>,
    env: WriterEnv,
    /// The shared read pool.
    pub readers: ReadPool,
    /// Statement limits of the readers and writers (set from the configuration).
    pub limits: Arc<SqlLimits>,
}

impl Registry {
    /// A registry over `dir` (created if missing), with `readers` read threads; its writers
    /// share `env`.
    pub fn new(dir: &Path, readers: usize, env: WriterEnv) -> Result<Registry> {
        crate::durable::create_dir_all(dir)?;
        let limits = Arc::new(SqlLimits::default());
        Ok(Registry {
            dir: dir.to_owned(),
            dbs: Mutex::new(HashMap::new()),
            env,
            readers: ReadPool::start(readers, limits.clone())?,
            limits,
        })
    }

    /// Sets how writers propose finished transactions (once, when raft runs).
    pub fn set_proposer(&self, proposer: Proposer) {
        let _ = self.env.proposer.set(proposer);
    }

    /// The directory holding the database files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database named `name`, if this node has it.
    pub fn get(&self, name: &str) -> Option<Arc<Db>> {
        self.lock().get(name).cloned()
    }

    /// How many databases this node has.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Names of all databases, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// The database named `name`, creating its file and writer on first use. A name that
    /// [`check_name`] refuses is refused here too, the same way on every node.
    pub fn ensure(&self, name: &str) -> Result<Arc<Db>> {
        let mut dbs = self.lock();
        if let Some(db) = dbs.get(name) {
            return Ok(db.clone());
        }
        check_name(name)?;
        let path = self.path_of(name);
        // The writer's connection gets the statement limits' handler.
        let _limits = limit::opening(self.limits.clone());
        let db = Arc::new(Db {
            writer: Writer::spawn(&path, name, self.env.clone())?,
            path,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            queue: WriteQueue::default(),
        });
        dbs.insert(name.to_owned(), db.clone());
        Ok(db)
    }

    /// Stops every writer and forgets every database (before files are replaced).
    pub async fn close_all(&self) {
        let dbs: Vec<Arc<Db>> = self.lock().drain().map(|(_, d)| d).collect();
        for db in dbs {
            db.queue.reset();
            let _ = db.writer.call(WriterCmd::Close).await;
        }
    }

    /// Rolls back every open writer transaction (leadership lost) and frees the queues.
    pub async fn abort_all(&self) {
        let dbs: Vec<Arc<Db>> = self.lock().values().cloned().collect();
        for db in dbs {
            let _ = db.writer.call(|tx| WriterCmd::Abort(None, tx)).await;
            db.queue.reset();
        }
    }

    /// The file of database `name`: a name-derived, filesystem-safe file name.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(file_name(name))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Db>>> {
        self.dbs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Longest database file name: a file system's 255-byte limit, less room for SQLite's
/// `-journal` suffix and a margin.
pub const MAX_FILE_NAME: usize = 240;

/// Whether `name` can be a database on every node: its file name ([`file_name`]) must fit
/// [`MAX_FILE_NAME`]. This depends on the name alone, so the leader checks it before it
/// proposes an OPEN and every node gives the same answer when it applies one. The error is
/// `SQLITE_ERROR` with a message naming the limit.
pub fn check_name(name: &str) -> Result<()> {
    let len = file_name(name).len();
    if len > MAX_FILE_NAME {
        return Err(Error::failure(
            dqlite_proto::code::ERROR,
            format!(
                "database name too long: {} bytes, {len} once encoded as a file name (limit \
                 {MAX_FILE_NAME}; bytes outside [A-Za-z0-9._-] take 3)",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// `db-` followed by the name with every byte outside `[A-Za-z0-9._-]` percent-encoded.
pub fn file_name(name: &str) -> String {
    let mut out = String::from("db-");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Removes a database file and its WAL and shared-memory companions.
pub fn remove_files(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    Ok(())
}
