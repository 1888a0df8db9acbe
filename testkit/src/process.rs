//! Child processes: running a short command with a deadline, stopping a child by its PID,
//! and reading the tail of a log file.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::TestkitError;

/// How often a running command is checked for completion.
const POLL: Duration = Duration::from_millis(10);

/// What a command printed, and how it ended.
#[derive(Debug)]
pub(crate) struct Output {
    /// `None` if the command was still running at the deadline (it was then killed).
    pub status: Option<ExitStatus>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Output {
    /// Stdout and stderr together, trimmed, for error messages.
    pub fn both(&self) -> String {
        let mut s = self.stdout.trim().to_owned();
        let err = self.stderr.trim();
        if !err.is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(err);
        }
        s
    }
}

fn drain(stream: Option<impl Read + Send + 'static>) -> Option<JoinHandle<String>> {
    let mut stream = stream?;
    Some(std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }))
}

fn collect(handle: Option<JoinHandle<String>>) -> String {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// Runs `cmd` (stdin closed, output captured) until it exits or `timeout` passes; a command
/// still running at the deadline is killed by its PID and reported with `status: None`.
pub(crate) fn run_with_timeout(
    mut cmd: Command,
    timeout: Duration,
) -> Result<Output, TestkitError> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| TestkitError::io(format!("start {what}"), e))?;
    // Read both pipes on threads so that a chatty command can never block on a full pipe.
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                break None;
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => {
                stop(&mut child);
                return Err(TestkitError::io(format!("wait for {what}"), e));
            }
        }
    };
    Ok(Output {
        status,
        stdout: collect(out),
        stderr: collect(err),
    })
}

/// Kills a child by its PID (SIGKILL, through [`Child::kill`]) and reaps it. Errors are
/// ignored: the child may already have exited.
pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `lines` lines of the file at `path`, or a note saying it could not be read.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = run_with_timeout(cmd, Duration::from_secs(10)).expect("run sh");
        assert_eq!(out.status.and_then(|s| s.code()), Some(3));
        assert_eq!(out.both(), "out\nerr");
    }

    #[test]
    fn kills_a_command_at_the_deadline() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; exec sleep 30"]);
        let out = run_with_timeout(cmd, Duration::from_millis(300)).expect("run sh");
        assert!(out.status.is_none());
        assert_eq!(out.stdout.trim(), "started");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = crate::TempDir::new("testkit-tail").expect("temp dir");
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\nc\n").expect("write");
        assert_eq!(tail(&path, 2), "b\nc");
        assert_eq!(tail(&path, 10), "a\nb\nc");
        assert!(tail(&dir.path().join("missing"), 2).starts_with("(cannot read"));
    }
}
