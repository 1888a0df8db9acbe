//! Node stores: where the client finds the addresses of cluster nodes, the seeds of
//! leader discovery. [`InMemoryNodeStore`] keeps them in memory; [`YamlNodeStore`] keeps
//! them in a `cluster.yaml` file that go-dqlite (1.11.5 and v3) can read and write too.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use dqlite_proto::{NodeInfo, Role};

use crate::{Error, Result};

mod yaml;

/// Where the client finds the addresses of cluster nodes (the seeds for leader discovery).
/// Implementations are called from async code and must be quick (no network I/O).
pub trait NodeStore: Send + Sync + std::fmt::Debug + 'static {
    /// The known nodes, in order of preference.
    fn get(&self) -> Result<Vec<NodeInfo>>;
    /// Replaces the known nodes.
    fn set(&self, nodes: &[NodeInfo]) -> Result<()>;
}

/// A node store held in memory. `get` returns a copy, so later `set`s do not change a list
/// already handed out.
#[derive(Debug, Default)]
pub struct InMemoryNodeStore {
    nodes: RwLock<Vec<NodeInfo>>,
}

impl InMemoryNodeStore {
    /// An empty store.
    pub fn new() -> InMemoryNodeStore {
        InMemoryNodeStore::default()
    }

    /// A store seeded with addresses; each node gets id 0 and role voter.
    pub fn from_addresses(addresses: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let nodes = addresses
            .into_iter()
            .map(|address| NodeInfo {
                id: 0,
                address: address.into(),
                role: Some(Role::Voter),
            })
            .collect();
        InMemoryNodeStore {
            nodes: RwLock::new(nodes),
        }
    }
}

impl NodeStore for InMemoryNodeStore {
    fn get(&self) -> Result<Vec<NodeInfo>> {
        // A panic elsewhere cannot leave the list half-written: recover from poisoning.
        Ok(self
            .nodes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn set(&self, nodes: &[NodeInfo]) -> Result<()> {
        *self.nodes.write().unwrap_or_else(PoisonError::into_inner) = nodes.to_vec();
        Ok(())
    }
}

/// A node store kept in a YAML file in go-dqlite's `cluster.yaml` format:
///
/// ```yaml
/// - Address: 127.0.0.1:9001
///   ID: 3297041220608546238
///   Role: 0
/// ```
///
/// The file is read once by [`open`](Self::open); a missing file is an empty store, created
/// by the first [`set`](NodeStore::set). `set` replaces the file atomically (temporary file
/// in the same directory, fsync, rename, fsync of the directory) with mode 0600. Keys are
/// written in go-dqlite 1.11.5's order (Address, ID, Role), which every go-dqlite version
/// reads; a node without a role is written as a voter, and `get` then returns it as one.
#[derive(Debug)]
pub struct YamlNodeStore {
    path: PathBuf,
    nodes: RwLock<Vec<NodeInfo>>,
    /// Serialises writers so the file and the memory copy end up with the same list.
    writing: Mutex<()>,
}

impl YamlNodeStore {
    /// Loads the store at `path`. A missing file gives an empty store; an unreadable one is
    /// [`Error::Store`]; content that is not a node list is [`Error::Config`].
    pub fn open(path: impl AsRef<Path>) -> Result<YamlNodeStore> {
        let path = path.as_ref().to_path_buf();
        let nodes = match fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::Config(format!("node store {}: not UTF-8 text", path.display()))
                })?;
                yaml::parse(&text).map_err(|e| {
                    Error::Config(format!(
                        "node store {}: line {}: {}",
                        path.display(),
                        e.line,
                        e.message
                    ))
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(store_error(&path, source)),
        };
        Ok(YamlNodeStore {
            path,
            nodes: RwLock::new(nodes),
            writing: Mutex::new(()),
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl NodeStore for YamlNodeStore {
    fn get(&self) -> Result<Vec<NodeInfo>> {
        Ok(self
            .nodes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn set(&self, nodes: &[NodeInfo]) -> Result<()> {
        let nodes: Vec<NodeInfo> = nodes
            .iter()
            .map(|n| NodeInfo {
                role: Some(n.role.unwrap_or(Role::Voter)),
                ..n.clone()
            })
            .collect();
        let text = yaml::write(&nodes);
        let _writer = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = replace_file(&self.path, text.as_bytes())
            .map_err(|source| store_error(&self.path, source))?;
        // The file now holds the new list: memory follows even if the directory sync fails.
        *self.nodes.write().unwrap_or_else(PoisonError::into_inner) = nodes;
        sync_dir(&dir).map_err(|source| store_error(&self.path, source))
    }
}

fn store_error(path: &Path, source: io::Error) -> Error {
    Error::Store {
        path: path.display().to_string(),
        source,
    }
}

/// Replaces `path` with `contents` (temporary file in the same directory, fsync, rename):
/// readers see the old file or the new one, never a partial write. Returns the directory,
/// which [`sync_dir`] must then flush for the rename to survive a crash.
fn replace_file(path: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = dir.join(temp_name);

    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options.open(&temp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    });
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    Ok(dir.to_path_buf())
}

/// Flushes a directory's entries (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
