//! Finding the server binary: our `dqlite-server` beside this program (built through cargo
//! when this program was started by cargo and it is missing), or `dqlite-demo` from PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use dqlite_nemesis::cluster::Target;

/// The default server binary of `target`.
pub fn default_for(target: Target) -> Result<PathBuf, String> {
    match target {
        Target::C => find_in_path("dqlite-demo").ok_or_else(|| {
            "dqlite-demo is not on PATH: install Debian's go-dqlite (apt-get install -y go-dqlite) \
             or pass --server-bin"
                .to_string()
        }),
        Target::Ours => ours(),
    }
}

fn ours() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
    let dir = exe.parent().ok_or("this program has no directory")?;
    let bin = dir.join("dqlite-server");
    if bin.is_file() {
        return Ok(bin);
    }
    // Started by `cargo run`: build the server with the same profile.
    let Some(cargo) = std::env::var_os("CARGO") else {
        return Err(format!(
            "{} is missing: build it with `cargo build -p dqlite-server` or pass --server-bin",
            bin.display()
        ));
    };
    let release = dir.file_name().is_some_and(|n| n == "release");
    eprintln!("dqlite-nemesis: building dqlite-server ({})", bin.display());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "dqlite-server", "--bin", "dqlite-server"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if status.success() && bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "building dqlite-server failed ({status}); build it with `cargo build -p dqlite-server`"
        ))
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
