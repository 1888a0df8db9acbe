//! Running the system tools the cluster relies on (`ip`, `iptables`, `mount`), with their
//! command line and stderr kept for error messages.

use std::io::Write;
use std::process::{Command, Stdio};

use super::ClusterError;

/// Renders a command line for messages.
pub(crate) fn render(program: &str, args: &[&str]) -> String {
    let mut line = program.to_owned();
    for a in args {
        line.push(' ');
        line.push_str(a);
    }
    line
}

/// Runs `program args` to completion and returns its stdout; a non-zero exit is an error
/// carrying the command line and stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, ClusterError> {
    run_with_input(program, args, None)
}

/// Same as [`run`], writing `input` to the command's stdin first.
pub(crate) fn run_with_input(
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, ClusterError> {
    let command = render(program, args);
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ClusterError::Io {
            context: format!("spawning `{command}`"),
            source: e,
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| ClusterError::Io {
                context: format!("writing the input of `{command}`"),
                source: e,
            })?;
    }
    let out = child.wait_with_output().map_err(|e| ClusterError::Io {
        context: format!("waiting for `{command}`"),
        source: e,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(ClusterError::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Runs `program args` and tells whether it exited with status 0 (spawn failures are `false`).
pub(crate) fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
