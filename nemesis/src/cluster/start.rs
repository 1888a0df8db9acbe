//! [`Cluster::start`]: the run's unique prefix, the choice of isolation, the network, the
//! disks, and the nodes started one by one (node 0 bootstraps, the others join it).

use std::net::Ipv4Addr;
use std::path::Path;

use super::netns::{self, Network};
use super::node::Node;
use super::registry::Registry;
use super::{disk, Cluster, ClusterError, ClusterSpec, Isolation, Target};

/// The dqlite port inside a namespace.
const DB_PORT: u16 = 9001;
/// dqlite-demo's HTTP API port inside a namespace.
const API_PORT: u16 = 8001;

/// Four hex digits that no namespace or link on the system uses yet as `dqn<id>`.
fn unique_id() -> Result<String, ClusterError> {
    for _ in 0..64 {
        let id = format!("{:04x}", rand::random::<u16>());
        let prefix = format!("dqn{id}");
        let taken = |dir: &str| {
            std::fs::read_dir(dir)
                .map(|rd| {
                    rd.flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                })
                .unwrap_or(false)
        };
        if !taken("/run/netns") && !taken("/sys/class/net") {
            return Ok(id);
        }
    }
    Err(ClusterError::Invalid(
        "no unused dqn<id> prefix found".into(),
    ))
}

impl Cluster {
    /// Creates the network and disks, starts node 0 (bootstrap) and waits until it accepts
    /// TCP, then starts every other node with `--join <node 0>`, each waited for in turn.
    /// Raft membership is not awaited. On error everything created so far is removed.
    pub fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        if !(1..=7).contains(&spec.nodes) {
            return Err(ClusterError::Invalid(format!(
                "{} nodes: 1..=7 supported",
                spec.nodes
            )));
        }
        if !spec.work_dir.is_dir() {
            return Err(ClusterError::Invalid(format!(
                "work dir {} does not exist",
                spec.work_dir.display()
            )));
        }
        // Absolute and without symlinks: mounts are found again in /proc/mounts by path.
        let mut spec = spec;
        spec.work_dir = std::fs::canonicalize(&spec.work_dir).map_err(|e| ClusterError::Io {
            context: format!("resolve {}", spec.work_dir.display()),
            source: e,
        })?;
        let bin = &spec.server_bin;
        if bin.components().count() > 1 && !bin.is_file() {
            return Err(ClusterError::Invalid(format!(
                "server binary {} does not exist",
                bin.display()
            )));
        }
        let id = unique_id()?;
        let isolation = if spec.allow_namespaces && netns::available() {
            Isolation::Namespaces
        } else {
            Isolation::Loopback
        };
        tracing::info!(prefix = %format!("dqn{id}"), ?isolation, target = ?spec.target, nodes = spec.nodes, "starting cluster");
        let mut cluster = Cluster {
            spec,
            id,
            isolation,
            network: None,
            nodes: Vec::new(),
            registry: Registry::default(),
        };
        // From here on, an early return drops `cluster`, which removes what was created.
        if isolation == Isolation::Namespaces {
            let net = netns::create(&cluster.id, cluster.spec.nodes, &mut cluster.registry)?;
            tracing::info!(bridge = %net.bridge, subnet = %format!("{}.0/24", net.subnet), "network namespaces ready");
            cluster.network = Some(net);
        }
        cluster.nodes = layout(&cluster.spec, cluster.network.as_ref())?;
        if let Some(bytes) = cluster.spec.disk_bytes {
            for i in 0..cluster.nodes.len() {
                let source = format!("dqn{}-d{i}", cluster.id);
                disk::mount(&cluster.nodes[i].dir, &source, bytes, &mut cluster.registry)?;
            }
        } else {
            for n in &cluster.nodes {
                create_dir(&n.dir)?;
            }
        }
        let first = cluster.nodes[0].address.clone();
        for i in 0..cluster.nodes.len() {
            if i > 0 {
                cluster.nodes[i].join = vec![first.clone()];
            }
            cluster.start_node(i)?;
        }
        Ok(cluster)
    }

    /// Starts node i's process with its current join list and waits for TCP accept.
    pub(crate) fn start_node(&mut self, i: usize) -> Result<(), ClusterError> {
        let bin = self.spec.server_bin.to_string_lossy().into_owned();
        self.nodes[i].start(self.spec.target, &bin, &self.spec.extra_args)
    }
}

fn create_dir(dir: &Path) -> Result<(), ClusterError> {
    std::fs::create_dir_all(dir).map_err(|e| ClusterError::Io {
        context: format!("creating {}", dir.display()),
        source: e,
    })
}

/// Every node's addresses, namespace, directory and log.
fn layout(spec: &ClusterSpec, net: Option<&Network>) -> Result<Vec<Node>, ClusterError> {
    let per_node = if spec.target == Target::C { 2 } else { 1 };
    let ports =
        match net {
            Some(_) => Vec::new(),
            None => dqlite_testkit::free_ports(Ipv4Addr::LOCALHOST, spec.nodes * per_node)
                .map_err(|e| ClusterError::Io {
                    context: "finding free ports on 127.0.0.1".into(),
                    source: e,
                })?,
        };
    let nodes = (0..spec.nodes)
        .map(|i| {
            let (address, api, netns) = match net {
                Some(net) => (
                    format!("{}:{DB_PORT}", net.ip(i)),
                    format!("{}:{API_PORT}", net.ip(i)),
                    Some(net.namespaces[i].clone()),
                ),
                None => (
                    format!("127.0.0.1:{}", ports[i * per_node]),
                    format!("127.0.0.1:{}", ports[i * per_node + per_node - 1]),
                    None,
                ),
            };
            Node {
                index: i,
                address,
                api: (spec.target == Target::C).then_some(api),
                netns,
                dir: spec.work_dir.join(format!("node{i}")),
                log: spec.work_dir.join(format!("node{i}.log")),
                join: Vec::new(),
                child: None,
                paused: false,
            }
        })
        .collect();
    Ok(nodes)
}
