//! Files and directories that survive a power cut once created: a new directory entry is only
//! durable after the directory holding it is fsync'd, and a file written then renamed into
//! place only after both the file and its directory are.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::Result;

/// Fsyncs a directory, so the entries created or renamed in it are on disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Creates `dir` and any missing parents, fsyncing the parent of every directory it created.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
}

/// Replaces `path` with `bytes` atomically and durably: written to a temporary file beside it,
/// fsync'd, renamed over it, and the directory fsync'd.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_nested_directories_and_replaces_files() {
        let base = std::env::temp_dir().join(format!("dqlite-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let nested = base.join("a").join("b");
        create_dir_all(&nested).expect("create");
        assert!(nested.is_dir());
        create_dir_all(&nested).expect("create again is fine");
        let file = nested.join("identity");
        write_file(&file, b"one").expect("write");
        write_file(&file, b"two").expect("replace");
        assert_eq!(std::fs::read(&file).expect("read"), b"two");
        assert!(
            !nested.join("identity.tmp").exists(),
            "temporary file left behind"
        );
        std::fs::remove_dir_all(&base).expect("clean up");
    }
}
