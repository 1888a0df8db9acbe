//! One node's process: its command line, spawning it (inside its namespace through
//! `ip netns exec`, which execs, so the child's PID is the server's), waiting until it accepts
//! TCP, killing, pausing and resuming it by PID, and its log file.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{ClusterError, Target};

/// How long a started node has to accept TCP on its address.
const ACCEPT_DEADLINE: Duration = Duration::from_secs(15);

/// One node of the cluster and its process, if any.
#[derive(Debug)]
pub(crate) struct Node {
    /// Index in the cluster.
    pub index: usize,
    /// The dqlite wire address (clients and peers).
    pub address: String,
    /// C dqlite-demo's HTTP API address.
    pub api: Option<String>,
    /// Its namespace, when isolated by namespaces.
    pub netns: Option<String>,
    /// Data directory.
    pub dir: PathBuf,
    /// Log file (stdout and stderr appended).
    pub log: PathBuf,
    /// Addresses passed as the join list at every start.
    pub join: Vec<String>,
    /// The running (or exited but not yet reaped) process.
    pub child: Option<Child>,
    /// Stopped with SIGSTOP.
    pub paused: bool,
}

impl Node {
    /// The program and arguments that start this node.
    pub(crate) fn command_line(
        &self,
        target: Target,
        bin: &str,
        extra: &[String],
    ) -> (String, Vec<String>) {
        let mut args: Vec<String> = Vec::new();
        if let Some(ns) = &self.netns {
            args.extend(["netns".into(), "exec".into(), ns.clone(), bin.to_owned()]);
        }
        let dir = self.dir.to_string_lossy().into_owned();
        match target {
            Target::Ours => args.extend(["--db".into(), self.address.clone(), "--dir".into(), dir]),
            Target::C => {
                let api = self.api.clone().unwrap_or_default();
                args.extend(["--api".into(), api, "--db".into(), self.address.clone()]);
                args.extend(["-D".into(), dir]);
            }
        }
        if !self.join.is_empty() {
            args.extend(["--join".into(), self.join.join(",")]);
        }
        args.extend(extra.iter().cloned());
        let program = if self.netns.is_some() { "ip" } else { bin };
        (program.to_owned(), args)
    }

    /// Whether the process is alive (reaps it if it exited).
    pub(crate) fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => true,
            Some(Ok(Some(status))) => {
                tracing::info!(node = self.index, %status, "node exited");
                self.child = None;
                self.paused = false;
                false
            }
            Some(Err(_)) | None => false,
        }
    }

    /// Spawns the process (appending a marker line to the log) and waits until it accepts TCP.
    pub(crate) fn start(
        &mut self,
        target: Target,
        bin: &str,
        extra: &[String],
    ) -> Result<(), ClusterError> {
        let (program, args) = self.command_line(target, bin, extra);
        let line = format!("{program} {}", args.join(" "));
        let io = |context: String| move |source| ClusterError::Io { context, source };
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io(format!("opening {}", self.log.display())))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        writeln!(
            log,
            "=== dqlite-nemesis: start node {} at {:.3}: {line}",
            self.index,
            now.as_secs_f64()
        )
        .map_err(io(format!("writing {}", self.log.display())))?;
        let err = log
            .try_clone()
            .map_err(io(format!("cloning {}", self.log.display())))?;
        let child = Command::new(&program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(io(format!("spawning `{line}`")))?;
        tracing::info!(node = self.index, pid = child.id(), "started: {line}");
        self.child = Some(child);
        self.paused = false;
        self.wait_accept()
    }

    /// Polls a TCP connect to the node's address until it succeeds, the process exits, or
    /// the deadline passes.
    fn wait_accept(&mut self) -> Result<(), ClusterError> {
        let addr: SocketAddr = self
            .address
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| ClusterError::Invalid(format!("bad address {}", self.address)))?;
        let deadline = Instant::now() + ACCEPT_DEADLINE;
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
                return Ok(());
            }
            if !self.is_running() {
                return Err(self.failure("exited before accepting TCP"));
            }
            sleep(Duration::from_millis(50));
        }
        Err(self.failure(&format!("did not accept TCP within {ACCEPT_DEADLINE:?}")))
    }

    fn failure(&self, what: &str) -> ClusterError {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n");
        ClusterError::Node {
            node: self.index,
            message: format!(
                "{what} on {}; log {} ends:\n{tail}",
                self.address,
                self.log.display()
            ),
        }
    }

    /// Sends `sig` to the process if it is still ours (alive and not reaped).
    fn signal(&mut self, sig: libc::c_int) -> Result<bool, ClusterError> {
        if !self.is_running() {
            return Ok(false);
        }
        let Some(pid) = self.child.as_ref().map(|c| c.id()) else {
            return Ok(false);
        };
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| ClusterError::Invalid(format!("pid {pid} out of range")))?;
        // SAFETY: kill(2) on a PID we spawned and have not reaped, so it cannot be reused.
        if unsafe { libc::kill(pid, sig) } != 0 {
            return Err(ClusterError::Io {
                context: format!("kill({pid}, {sig}) for node {}", self.index),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(true)
    }

    /// SIGKILL (after SIGCONT if paused) and reap; nothing if not running.
    pub(crate) fn kill(&mut self) -> Result<(), ClusterError> {
        if self.paused {
            self.signal(libc::SIGCONT)?;
        }
        if self.signal(libc::SIGKILL)? {
            if let Some(mut child) = self.child.take() {
                child.wait().map_err(|e| ClusterError::Io {
                    context: format!("reaping node {}", self.index),
                    source: e,
                })?;
            }
        }
        self.child = None;
        self.paused = false;
        Ok(())
    }

    /// SIGSTOP, then waits (at most 2 s) until the kernel shows the process stopped.
    pub(crate) fn pause(&mut self) -> Result<(), ClusterError> {
        if self.signal(libc::SIGSTOP)? {
            self.paused = true;
            self.await_state(true)?;
        }
        Ok(())
    }

    /// SIGCONT, then waits (at most 2 s) until the process is no longer stopped.
    pub(crate) fn resume(&mut self) -> Result<(), ClusterError> {
        if self.signal(libc::SIGCONT)? {
            self.await_state(false)?;
        }
        self.paused = false;
        Ok(())
    }

    /// Whether /proc shows the process stopped (state `T`); `None` once it is gone or a zombie.
    fn stopped(&self) -> Option<bool> {
        let pid = self.child.as_ref()?.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat.rsplit_once(") ")?.1.chars().next()?;
        match state {
            'Z' | 'X' => None,
            s => Some(s == 'T'),
        }
    }

    fn await_state(&self, stopped: bool) -> Result<(), ClusterError> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.stopped() {
                None => return Ok(()),
                Some(s) if s == stopped => return Ok(()),
                Some(_) if Instant::now() >= deadline => {
                    let what = if stopped { "stop" } else { "continue" };
                    return Err(ClusterError::Node {
                        node: self.index,
                        message: format!("did not {what} within 2 s of the signal"),
                    });
                }
                Some(_) => sleep(Duration::from_millis(5)),
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            tracing::warn!(node = self.index, error = %e, "killing on drop");
        }
    }
}
