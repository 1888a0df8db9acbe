//! Snapshot files: a consistent copy of every database plus the cluster list, written to a
//! temp file, fsync'd and renamed, and read back (or streamed to a peer) from disk.
//!
//! Layout: `DQRSNAP1`, `u64` header length, bincode [`Header`], then each database's bytes in
//! header order.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::floor::SnapshotFloor;
use super::SnapshotMeta;
use crate::durable;
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

/// The snapshot directory. Builds (which openraft runs in a task of their own) and installs
/// may overlap: each writes under a unique temporary name, and making a file current is done
/// one at a time, so an older snapshot never replaces a newer one.
pub struct SnapshotDir {
    dir: PathBuf,
    renames: Mutex<()>,
    floor: SnapshotFloor,
}

impl SnapshotDir {
    /// Opens `dir` (created durably if missing), removes what interrupted builds and
    /// receives left behind, and raises `floor` to the current snapshot.
    pub fn open(dir: &Path, floor: SnapshotFloor) -> Result<SnapshotDir> {
        durable::create_dir_all(dir)?;
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".tmp") || name.starts_with("build-") {
                fs::remove_file(&path)?;
            }
        }
        let snapshots = SnapshotDir {
            dir: dir.to_owned(),
            renames: Mutex::new(()),
            floor,
        };
        if let Some(header) = snapshots.current_header()? {
            snapshots
                .floor
                .raise(header.meta.last_log_id.map(|l| l.index));
        }
        Ok(snapshots)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn current_header(&self) -> Result<Option<Header>> {
        match self.open_current()? {
            Some(file) => Ok(Some(read_header(&mut BufReader::new(file))?)),
            None => Ok(None),
        }
    }

    /// Writes a snapshot of `pinned` and makes it the current one, unless a snapshot at
    /// least as new became current meanwhile (an install): then that one is kept. Returns
    /// the current snapshot's path and metadata.
    pub fn build(
        &self,
        meta: SnapshotMeta,
        nodes: Vec<(u64, String)>,
        pinned: Vec<Pinned>,
    ) -> Result<(PathBuf, SnapshotMeta)> {
        let tag = format!("{:016x}", rand::random::<u64>());
        let mut images = Vec::new();
        for (i, p) in pinned.iter().enumerate() {
            let tmp = self.dir.join(format!("build-{tag}-{i}.db"));
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
        let tmp = self.dir.join(format!("build-{tag}.tmp"));
        let written = write_snapshot(&tmp, &header, &images);
        for (_, _, path) in &images {
            remove_files(path)?;
        }
        written?;
        let _one_at_a_time = self.renames.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = self.current_header()? {
            if current.meta.last_log_id >= header.meta.last_log_id {
                tracing::info!(built = ?header.meta.last_log_id, current = ?current.meta.last_log_id,
                    "a newer snapshot became current while this one was built; keeping it");
                fs::remove_file(&tmp)?;
                return Ok((self.dir.join(CURRENT), current.meta));
            }
        }
        let current = self.dir.join(CURRENT);
        fs::rename(&tmp, &current)?;
        durable::sync_dir(&self.dir)?;
        self.floor.raise(header.meta.last_log_id.map(|l| l.index));
        Ok((current, header.meta))
    }

    /// A fresh file to receive a snapshot into.
    pub fn receive_file(&self) -> Result<(PathBuf, File)> {
        let path = self
            .dir
            .join(format!("recv-{:016x}.tmp", rand::random::<u64>()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((path, file))
    }

    /// Makes a fully received snapshot (covering `meta`) the current one. `file` is normally
    /// the handle given out for `path`; if it is another file, its content is copied into
    /// `path` first.
    pub fn accept(&self, path: &Path, file: &mut File, meta: &SnapshotMeta) -> Result<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        file.flush()?;
        let same =
            fs::metadata(path).ok().map(|m| m.ino()) == file.metadata().ok().map(|m| m.ino());
        if !same {
            file.seek(SeekFrom::Start(0))?;
            let mut out = File::create(path)?;
            io::copy(file, &mut out)?;
            out.sync_all()?;
        }
        file.sync_all()?;
        let _one_at_a_time = self.renames.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.dir.join(CURRENT);
        fs::rename(path, &current)?;
        durable::sync_dir(&self.dir)?;
        self.floor.raise(meta.last_log_id.map(|l| l.index));
        Ok(current)
    }

    /// Opens the current snapshot, positioned at its start.
    pub fn open_current(&self) -> Result<Option<File>> {
        match File::open(self.dir.join(CURRENT)) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io(e)),
        }
    }
}

/// Writes the snapshot file `path` (header, then each image) and fsyncs it.
fn write_snapshot(path: &Path, header: &Header, images: &[(String, u64, PathBuf)]) -> Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let head = bincode::serialize(header).map_err(|e| Error::internal(e.to_string()))?;
    out.write_all(MAGIC)?;
    out.write_all(&(head.len() as u64).to_le_bytes())?;
    out.write_all(&head)?;
    for (_, _, image) in images {
        io::copy(&mut File::open(image)?, &mut out)?;
    }
    out.into_inner()
        .map_err(|e| Error::Io(e.into_error()))?
        .sync_all()?;
    Ok(())
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
    durable::sync_dir(db_dir)?;
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
