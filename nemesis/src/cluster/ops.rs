//! The faults and the teardown: kill, restart, pause, resume, partition, heal, wipe, join
//! as a new member, fill and free a disk, shutdown and `Drop`.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::cmd::succeeds;
use super::{disk, firewall, Cluster, ClusterError, Isolation};

impl Cluster {
    fn check(&self, i: usize) -> Result<(), ClusterError> {
        if i < self.nodes.len() {
            Ok(())
        } else {
            Err(ClusterError::Invalid(format!(
                "no node {i} in a cluster of {}",
                self.nodes.len()
            )))
        }
    }

    /// SIGKILL node i and reap it; nothing if it is not running.
    pub fn kill(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        self.nodes[i].kill()
    }

    /// Starts node i again on its existing data (with the join list of its last start, which
    /// a node with data ignores) and waits for TCP accept; nothing if it is running.
    pub fn restart(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        if self.nodes[i].is_running() {
            return Ok(());
        }
        self.start_node(i)
    }

    /// SIGSTOP node i.
    pub fn pause(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        self.nodes[i].pause()
    }

    /// SIGCONT node i.
    pub fn resume(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        self.nodes[i].resume()
    }

    /// Whether node i is stopped by [`Cluster::pause`].
    pub fn is_paused(&self, i: usize) -> bool {
        self.nodes[i].paused
    }

    fn chain_and_namespaces(&self, what: &str) -> Result<(String, Vec<String>), ClusterError> {
        match &self.network {
            Some(net) if self.isolation == Isolation::Namespaces => {
                Ok((firewall::chain_name(&self.id), net.namespaces.clone()))
            }
            _ => Err(ClusterError::Unsupported(format!(
                "{what} need network namespaces (root and `ip netns`); this cluster runs on loopback"
            ))),
        }
    }

    /// Node i stops hearing from (and sending to) every node in `drops[i]`; replaces any
    /// previous partition. Clients in the root namespace still reach every node.
    pub fn partition(&mut self, drops: &[Vec<usize>]) -> Result<(), ClusterError> {
        let (chain, namespaces) = self.chain_and_namespaces("partitions")?;
        if drops.len() != self.nodes.len() {
            return Err(ClusterError::Invalid(format!(
                "partition lists {} nodes, the cluster has {}",
                drops.len(),
                self.nodes.len()
            )));
        }
        let net = self
            .network
            .clone()
            .ok_or_else(|| ClusterError::Invalid("no network".into()))?;
        for (i, peers) in drops.iter().enumerate() {
            if let Some(&bad) = peers.iter().find(|&&j| j >= self.nodes.len()) {
                return Err(ClusterError::Invalid(format!("partition names node {bad}")));
            }
            let ips: Vec<String> = peers
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| net.ip(j))
                .collect();
            firewall::set_drops(&namespaces[i], &chain, &ips, &mut self.registry)?;
        }
        tracing::info!(?drops, "partitioned");
        Ok(())
    }

    /// Removes the partition (flushes only our chains).
    pub fn heal_partition(&mut self) -> Result<(), ClusterError> {
        let Ok((chain, namespaces)) = self.chain_and_namespaces("partitions") else {
            return Ok(());
        };
        for ns in &namespaces {
            firewall::heal(ns, &chain, &self.registry)?;
        }
        Ok(())
    }

    /// Heals the partition, resumes every paused node and frees every filled disk (killed
    /// nodes stay down).
    pub fn heal_all(&mut self) -> Result<(), ClusterError> {
        self.heal_partition()?;
        for i in 0..self.nodes.len() {
            if self.nodes[i].paused {
                self.nodes[i].resume()?;
            }
            if self.spec.disk_bytes.is_some() {
                disk::free(&self.nodes[i].dir)?;
            }
        }
        Ok(())
    }

    /// Whether a TCP connection from node `from`'s namespace to node `to`'s address opens
    /// within 2 s (from the root namespace on loopback).
    #[doc(hidden)]
    pub fn can_reach(&self, from: usize, to: usize) -> bool {
        let addr = &self.nodes[to].address;
        match &self.nodes[from].netns {
            Some(ns) => {
                let Some((ip, port)) = addr.rsplit_once(':') else {
                    return false;
                };
                let probe = format!("exec 3<>/dev/tcp/{ip}/{port}");
                succeeds(
                    "ip",
                    &["netns", "exec", ns, "timeout", "2", "bash", "-c", &probe],
                )
            }
            None => addr
                .parse::<SocketAddr>()
                .map(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
                .unwrap_or(false),
        }
    }

    /// Kills node i if it runs and deletes its data (keeping the directory and its tmpfs).
    pub fn wipe(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        self.nodes[i].kill()?;
        disk::wipe(&self.nodes[i].dir)
    }

    /// Starts node i on an empty data directory as a new member joining through `join`
    /// (the caller removed it from the configuration first). Its data is wiped if any is left.
    pub fn start_joining(&mut self, i: usize, join: &[String]) -> Result<(), ClusterError> {
        self.check(i)?;
        if self.nodes[i].is_running() {
            return Err(ClusterError::Invalid(format!(
                "node {i} is running; kill it first"
            )));
        }
        if join.is_empty() {
            return Err(ClusterError::Invalid(
                "start_joining needs an address".into(),
            ));
        }
        disk::wipe(&self.nodes[i].dir)?;
        self.nodes[i].join = join.to_vec();
        self.start_node(i)
    }

    /// Fills node i's tmpfs until it has no space left.
    pub fn fill_disk(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        let Some(limit) = self.spec.disk_bytes else {
            return Err(ClusterError::Unsupported(
                "disk faults need ClusterSpec::disk_bytes (a tmpfs per node)".into(),
            ));
        };
        let written = disk::fill(&self.nodes[i].dir, limit)?;
        tracing::info!(node = i, written, "disk filled");
        Ok(())
    }

    /// Removes node i's filler file.
    pub fn free_disk(&mut self, i: usize) -> Result<(), ClusterError> {
        self.check(i)?;
        if self.spec.disk_bytes.is_none() {
            return Err(ClusterError::Unsupported(
                "disk faults need ClusterSpec::disk_bytes (a tmpfs per node)".into(),
            ));
        }
        disk::free(&self.nodes[i].dir)
    }

    /// Kills every node (resuming paused ones first), then removes every rule, mount,
    /// namespace, link and FORWARD rule created, newest first; failures are reported together.
    fn cleanup(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for n in &mut self.nodes {
            if let Err(e) = n.kill() {
                failures.push(e.to_string());
            }
        }
        failures.extend(self.registry.cleanup());
        failures
    }

    /// Stops the cluster and removes everything it created.
    pub fn shutdown(mut self) -> Result<(), ClusterError> {
        let failures = self.cleanup();
        tracing::info!(prefix = %self.prefix(), failures = failures.len(), "cluster shut down");
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ClusterError::Cleanup(failures))
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for f in self.cleanup() {
            tracing::warn!("cluster cleanup on drop: {f}");
        }
    }
}
