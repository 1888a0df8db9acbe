//! Everything a cluster creates on the system, recorded as it is created and removed in
//! reverse order: at shutdown, when starting fails half-way, and from `Drop` (also on panic).
//!
//! Only what is recorded here is ever removed, and removing something that is already gone
//! counts as done.

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use super::cmd::{render, run};
use super::ClusterError;

/// One thing created on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// A network namespace (`ip netns add`).
    Netns(String),
    /// A link in the root namespace: the bridge, or the root side of a veth pair (deleting it
    /// deletes its peer too).
    Link(String),
    /// `iptables -I FORWARD -i <bridge> -o <bridge> -j ACCEPT` in the root namespace.
    ForwardAccept(String),
    /// A tmpfs mounted at this path.
    Mount(PathBuf),
    /// An iptables chain inside a namespace, jumped to from INPUT and OUTPUT.
    NsChain {
        /// The namespace.
        ns: String,
        /// The chain.
        chain: String,
    },
}

/// What was created, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    items: Vec<Resource>,
}

impl Registry {
    /// Records a resource just created.
    pub(crate) fn push(&mut self, r: Resource) {
        tracing::debug!(?r, "created");
        self.items.push(r);
    }

    /// Whether `r` is recorded.
    pub(crate) fn contains(&self, r: &Resource) -> bool {
        self.items.contains(r)
    }

    /// Removes everything recorded, newest first, and returns the failures (each one names
    /// the command and its stderr). Failed items are forgotten too: retrying cannot help.
    pub(crate) fn cleanup(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        while let Some(r) = self.items.pop() {
            if let Err(e) = remove(&r) {
                tracing::warn!(?r, error = %e, "cleanup failed");
                failures.push(e.to_string());
            }
        }
        failures
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        for f in self.cleanup() {
            tracing::warn!("cluster cleanup: {f}");
        }
    }
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Whether `path` is a mount point listed in /proc/mounts.
pub(crate) fn is_mounted(path: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return false;
    };
    let p = path.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(p.as_ref()))
}

fn remove(r: &Resource) -> Result<(), ClusterError> {
    match r {
        Resource::Netns(name) => {
            if netns_exists(name) {
                run("ip", &["netns", "delete", name])?;
            }
        }
        Resource::Link(name) => {
            if link_exists(name) {
                run("ip", &["link", "delete", name])?;
            }
        }
        Resource::ForwardAccept(br) => {
            let rule = ["FORWARD", "-i", br, "-o", br, "-j", "ACCEPT"];
            let mut check = vec!["-w", "5", "-C"];
            check.extend(rule);
            if super::cmd::succeeds("iptables", &check) {
                let mut del = vec!["-w", "5", "-D"];
                del.extend(rule);
                run("iptables", &del)?;
            }
        }
        Resource::Mount(path) => unmount(path)?,
        Resource::NsChain { ns, chain } => {
            if netns_exists(ns) {
                for hook in ["INPUT", "OUTPUT"] {
                    let jump = ["netns", "exec", ns, "iptables", "-w", "5"];
                    let mut args = jump.to_vec();
                    args.extend(["-D", hook, "-j", chain]);
                    let _ = run("ip", &args);
                }
                let mut args = vec!["netns", "exec", ns, "iptables", "-w", "5", "-F", chain];
                run("ip", &args)?;
                args[6] = "-X";
                run("ip", &args)?;
            }
        }
    }
    Ok(())
}

/// Unmounts `path`: retries a busy mount for about a second, then detaches it lazily.
pub(crate) fn unmount(path: &Path) -> Result<(), ClusterError> {
    let p = path.to_string_lossy();
    let mut last = None;
    for _ in 0..10 {
        if !is_mounted(path) {
            return Ok(());
        }
        match run("umount", &[&p]) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        sleep(Duration::from_millis(100));
    }
    if is_mounted(path) {
        tracing::warn!(path = %p, error = ?last, "busy; detaching lazily");
        run("umount", &["-l", &p]).map_err(|e| {
            ClusterError::Cleanup(vec![format!("{}: {e}", render("umount", &[&p]))])
        })?;
    }
    Ok(())
}
