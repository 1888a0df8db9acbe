//! Finding the server binary: our `dqlite-server` beside this program (built through cargo
//! when this program was started by cargo and it is missing), or `dqlite-demo` from PATH
//! (found as the interop tests find it, through `dqlite-testkit`).

use std::path::PathBuf;
use std::process::Command;

use dqlite_nemesis::cluster::Target;

/// The default server binary of `target`.
pub fn default_for(target: Target) -> Result<PathBuf, String> {
    match target {
        Target::C => dqlite_testkit::reference_binaries()
            .map(|(demo, _shell)| demo)
            .map_err(|e| {
                format!(
                    "{e}: install Debian's go-dqlite ({}) or pass --server-bin",
                    dqlite_testkit::INSTALL_HINT
                )
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
