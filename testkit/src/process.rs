//! Running a command with a deadline, and stopping children by PID.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestkitError;

/// Runs `cmd` to completion within `timeout`; returns (success, stdout + stderr). A command
/// still running at the deadline is killed by its PID.
pub fn run_with_timeout(
    mut cmd: Command,
    timeout: Duration,
) -> Result<(bool, String), TestkitError> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| TestkitError::Io(what.clone(), e))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                return Err(TestkitError::Timeout(format!(
                    "{what} ran past {timeout:?}"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(TestkitError::Io(what, e)),
        }
    };
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut out);
    }
    Ok((status.success(), out))
}

/// Kills a child by its PID (SIGKILL) and reaps it.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
