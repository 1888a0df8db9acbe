//! TEMPORARY STUB (replaced by the real cluster module at merge).
#![allow(missing_docs, dead_code, unused_variables, clippy::all)]
use std::path::PathBuf;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Ours,
    C,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    Namespaces,
    Loopback,
}
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub target: Target,
    pub nodes: usize,
    pub server_bin: PathBuf,
    pub work_dir: PathBuf,
    pub allow_namespaces: bool,
    pub disk_bytes: Option<u64>,
    pub extra_args: Vec<String>,
}
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("unsupported: {0}")]
    Unsupported(String),
}
#[derive(Debug)]
pub struct Cluster;
impl Cluster {
    pub fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        todo!()
    }
    pub fn isolation(&self) -> Isolation {
        todo!()
    }
    pub fn len(&self) -> usize {
        todo!()
    }
    pub fn address(&self, i: usize) -> &str {
        todo!()
    }
    pub fn addresses(&self) -> Vec<String> {
        todo!()
    }
    pub fn node_of_address(&self, addr: &str) -> Option<usize> {
        todo!()
    }
    pub fn is_running(&mut self, i: usize) -> bool {
        todo!()
    }
    pub fn kill(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn restart(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn pause(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn resume(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn partition(&mut self, drops: &[Vec<usize>]) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn heal_partition(&mut self) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn wipe(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn start_joining(&mut self, i: usize, join: &[String]) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn fill_disk(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn free_disk(&mut self, i: usize) -> Result<(), ClusterError> {
        todo!()
    }
    pub fn log_path(&self, i: usize) -> PathBuf {
        todo!()
    }
    pub fn shutdown(self) -> Result<(), ClusterError> {
        todo!()
    }
}
