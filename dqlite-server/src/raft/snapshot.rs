//! Snapshot files: a consistent copy of every database plus the cluster list, written to a
//! temp file, fsync'd and renamed, and read back (or streamed to a peer) from disk.
//!
//! Layout: `DQRSNAP1`, `u64` header length, bincode [`Header`], then each database's bytes in
//! header order.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::SnapshotMeta;
use crate::error::{Error, Result};
use crate::sql::registry::{file_name, remove_files};

const MAGIC: &[u8; 8] = b"DQRSNAP1";

/// Name of the current snapshot file in the snapshot directory.
pub const CURRENT: &str = "snapshot.bin";

/// What a snapshot holds besides the database images.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Raft metadata (last included log id, membership, id).
    pub meta: SnapshotMeta,
    /// The cluster list (id, address) in insertion order.
    pub nodes: Vec<(u64, String)>,
    /// Database names and image sizes, in file order.
    pub dbs: Vec<(String, u64)>,
}

/// A database pinned at the snapshot point: a read transaction open on its own connection.
pub struct Pinned {
    /// Database name.
    pub name: String,
    /// The pinned connection.
    pub conn: Connection,
}

/// Opens a read transaction on `path`, so later commits do not change what it sees.
pub fn pin(name: &str, path: &Path) -> Result<Pinned> {
    let conn = Connection::open(path)?;
    conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_schema;")?;
    Ok(Pinned {
        name: name.to_owned(),
        conn,
    })
}

/// Writes a snapshot of `pinned` into `dir` and makes it the current one.
pub fn build(
    dir: &Path,
    meta: SnapshotMeta,
    nodes: Vec<(u64, String)>,
    pinned: Vec<Pinned>,
) -> Result<PathBuf> {
    let mut images = Vec::new();
    for (i, p) in pinned.iter().enumerate() {
        let tmp = dir.join(format!("build-{i}.db"));
        remove_files(&tmp)?;
        {
            let mut dst = Connection::open(&tmp)?;
            let backup = rusqlite::backup::Backup::new(&p.conn, &mut dst)?;
            backup.run_to_completion(1024, std::time::Duration::ZERO, None)?;
        }
        let size = fs::metadata(&tmp)?.len();
        images.push((p.name.clone(), size, tmp));
    }
    drop(pinned);
    let header = Header {
        meta,
        nodes,
        dbs: images.iter().map(|(n, s, _)| (n.clone(), *s)).collect(),
    };
    let tmp = dir.join("snapshot.tmp");
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        let head = bincode::serialize(&header).map_err(|e| Error::internal(e.to_string()))?;
        out.write_all(MAGIC)?;
        out.write_all(&(head.len() as u64).to_le_bytes())?;
        out.write_all(&head)?;
        for (_, _, path) in &images {
            io::copy(&mut File::open(path)?, &mut out)?;
        }
        out.into_inner()
            .map_err(|e| Error::Io(e.into_error()))?
            .sync_all()?;
    }
    for (_, _, path) in &images {
        remove_files(path)?;
    }
    let current = dir.join(CURRENT);
    fs::rename(&tmp, &current)?;
    sync_dir(dir)?;
    Ok(current)
}

/// Reads a snapshot's header; the reader is left at the first database image.
pub fn read_header(file: &mut impl Read) -> Result<Header> {
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(Error::internal("not a snapshot file"));
    }
    let mut len = [0u8; 8];
    file.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > 64 << 20 {
        return Err(Error::internal("snapshot header too large"));
    }
    let mut head = vec![0u8; len as usize];
    file.read_exact(&mut head)?;
    bincode::deserialize(&head).map_err(|e| Error::internal(e.to_string()))
}

/// Replaces the database files in `db_dir` with the images in snapshot `path`.
pub fn restore(path: &Path, db_dir: &Path) -> Result<Header> {
    let mut file = BufReader::new(File::open(path)?);
    let header = read_header(&mut file)?;
    clear_dir(db_dir)?;
    for (name, size) in &header.dbs {
        let target = db_dir.join(file_name(name));
        let tmp = db_dir.join("restore.tmp");
        {
            let mut out = File::create(&tmp)?;
            let copied = io::copy(&mut (&mut file).take(*size), &mut out)?;
            if copied != *size {
                return Err(Error::internal("snapshot file is truncated"));
            }
            out.sync_all()?;
        }
        fs::rename(&tmp, &target)?;
    }
    sync_dir(db_dir)?;
    Ok(header)
}

/// Removes every database file in `db_dir` (the state machine is rebuilt from snapshot + log).
pub fn clear_dir(db_dir: &Path) -> Result<()> {
    fs::create_dir_all(db_dir)?;
    for entry in fs::read_dir(db_dir)? {
        let path = entry?.path();
        if path.is_file() {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// A fresh file to receive a snapshot into.
pub fn receive_file(dir: &Path) -> Result<(PathBuf, File)> {
    let path = dir.join(format!("recv-{:016x}.tmp", rand::random::<u64>()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

/// Makes a fully received snapshot the current one. `file` is normally the handle given out
/// for `path`; if it is another file, its content is copied into `path` first.
pub fn accept(dir: &Path, path: &Path, file: &mut File) -> Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    file.flush()?;
    let same = fs::metadata(path).ok().map(|m| m.ino()) == file.metadata().ok().map(|m| m.ino());
    if !same {
        file.seek(SeekFrom::Start(0))?;
        let mut out = File::create(path)?;
        io::copy(file, &mut out)?;
        out.sync_all()?;
    }
    file.sync_all()?;
    let current = dir.join(CURRENT);
    fs::rename(path, &current)?;
    sync_dir(dir)?;
    for entry in fs::read_dir(dir)? {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "tmp") {
            let _ = fs::remove_file(p);
        }
    }
    Ok(current)
}

/// Opens the current snapshot, positioned at its start.
pub fn open_current(dir: &Path) -> Result<Option<File>> {
    match File::open(dir.join(CURRENT)) {
        Ok(mut f) => {
            f.seek(SeekFrom::Start(0))?;
            Ok(Some(f))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}
