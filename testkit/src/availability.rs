//! Finding the reference binaries on `PATH`, and the skip-or-fail rule for tests that
//! need them.

use std::path::PathBuf;

use crate::ReferenceCluster;

/// How to get the reference, quoted when it is missing.
pub const INSTALL_HINT: &str = "apt-get install -y go-dqlite";

/// The first file called `name` in a `PATH` directory.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Paths of `dqlite-demo` and of the `dqlite` shell, found on `PATH`, or a message naming
/// what is missing.
pub fn reference_binaries() -> Result<(PathBuf, PathBuf), String> {
    match (which("dqlite-demo"), which("dqlite")) {
        (Some(demo), Some(shell)) => Ok((demo, shell)),
        (demo, shell) => {
            let missing: Vec<&str> = [("dqlite-demo", demo.is_none()), ("dqlite", shell.is_none())]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(name, _)| name)
                .collect();
            Err(format!("{} not found on PATH", missing.join(" and ")))
        }
    }
}

/// Starts an `n`-node reference cluster for an interop test, or skips the test.
///
/// * Binaries missing, `CI=true`: panics, since interop tests must run in CI.
/// * Binaries missing otherwise: prints one line to stderr and returns `None`; the test
///   should then return early.
/// * Binaries present but the cluster fails to start: panics with the error (a test
///   failure, not a skip).
pub fn reference_cluster_or_skip(n: usize) -> Option<ReferenceCluster> {
    if let Err(why) = reference_binaries() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("interop tests require go-dqlite ({why}): {INSTALL_HINT}");
        }
        eprintln!(
            "skipping interop test: the C dqlite reference is missing ({why}); \
             get it with: {INSTALL_HINT}"
        );
        return None;
    }
    match ReferenceCluster::start(n) {
        Ok(cluster) => Some(cluster),
        Err(e) => panic!("the C dqlite reference cluster ({n} nodes) failed to start: {e}"),
    }
}
