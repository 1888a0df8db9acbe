//! Finding the reference binaries, and the skip-or-fail rule for tests that need them.

use std::path::PathBuf;

use crate::{ReferenceCluster, TestkitError};

/// How to get the reference, printed when it is missing.
pub const INSTALL_HINT: &str = "apt-get install -y go-dqlite";

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Paths of `dqlite-demo` and the `dqlite` shell, or an error naming what is missing.
pub fn reference_binaries() -> Result<(PathBuf, PathBuf), String> {
    let demo = which("dqlite-demo");
    let shell = which("dqlite");
    match (demo, shell) {
        (Some(d), Some(s)) => Ok((d, s)),
        (d, s) => {
            let missing: Vec<&str> = [("dqlite-demo", d.is_none()), ("dqlite", s.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect();
            Err(format!("{} not on PATH", missing.join(" and ")))
        }
    }
}

/// Starts an `n`-node reference cluster, or returns `None` after printing one line when the
/// reference is not installed. Under `CI=true` a missing reference panics: interop tests
/// must run in CI. A reference that is installed but fails to start is a test failure.
pub fn reference_cluster_or_skip(n: usize) -> Option<ReferenceCluster> {
    if let Err(why) = reference_binaries() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("interop tests require go-dqlite ({why}): {INSTALL_HINT}");
        }
        eprintln!("skipping interop test: C dqlite reference missing ({why}); install it with: {INSTALL_HINT}");
        return None;
    }
    match ReferenceCluster::start(n) {
        Ok(c) => Some(c),
        Err(e) => panic!("reference cluster failed to start: {e}"),
    }
}

impl From<String> for TestkitError {
    fn from(s: String) -> Self {
        TestkitError::Missing(s)
    }
}
