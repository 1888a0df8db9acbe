//! Per-node disks: a tmpfs of a fixed size mounted on the node's data directory, and the
//! disk-full fault (a filler file written until ENOSPC, removed to free the space).

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::cmd::run;
use super::registry::{is_mounted, Registry, Resource};
use super::ClusterError;

/// The filler's name in the mount root.
const FILLER: &str = ".dqlite-nemesis-filler";

fn io(context: String) -> impl FnOnce(std::io::Error) -> ClusterError {
    move |source| ClusterError::Io { context, source }
}

/// Mounts a tmpfs of `bytes` named `source` on `dir` (created if missing) and records it.
pub(crate) fn mount(
    dir: &Path,
    source: &str,
    bytes: u64,
    reg: &mut Registry,
) -> Result<(), ClusterError> {
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    if is_mounted(dir) {
        return Err(ClusterError::Invalid(format!(
            "{} is already a mount point",
            dir.display()
        )));
    }
    let opts = format!("size={bytes},mode=0755");
    let d = dir.to_string_lossy();
    run("mount", &["-t", "tmpfs", "-o", &opts, source, &d])?;
    reg.push(Resource::Mount(dir.to_path_buf()));
    Ok(())
}

/// The filler's path for a node whose data directory is `dir`.
pub(crate) fn filler(dir: &Path) -> PathBuf {
    dir.join(FILLER)
}

/// Writes the filler until the file system is full. Bounded by `limit` bytes (the tmpfs
/// size), so a directory that is not a small tmpfs cannot make it run away.
pub(crate) fn fill(dir: &Path, limit: u64) -> Result<u64, ClusterError> {
    let path = filler(dir);
    let mut f = File::options()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(format!("opening {}", path.display())))?;
    let chunk = vec![0xA5u8; 1 << 20];
    let mut written = 0u64;
    let mut len = chunk.len();
    while written <= limit {
        match f.write(&chunk[..len]) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && len > 1 => len /= 16,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io(format!("filling {}", path.display()))(e)),
        }
    }
    // Dirty pages of tmpfs are the memory itself: nothing to sync.
    Ok(written)
}

/// Removes the filler (no error if it is absent).
pub(crate) fn free(dir: &Path) -> Result<(), ClusterError> {
    let path = filler(dir);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(format!("removing {}", path.display()))(e)),
    }
}

/// Deletes everything inside `dir`, keeping `dir` itself (and a mount on it).
pub(crate) fn wipe(dir: &Path) -> Result<(), ClusterError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())));
        }
        Err(e) => return Err(io(format!("listing {}", dir.display()))(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(format!("listing {}", dir.display())))?;
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(io(format!("inspecting {}", path.display())))?
            .is_dir();
        let r = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        r.map_err(io(format!("removing {}", path.display())))?;
    }
    Ok(())
}
