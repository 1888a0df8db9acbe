//! The namespaces network: a bridge in the root namespace holding `.1` of a free private
//! /24, and per node a namespace with one veth pair (root side on the bridge, the other side
//! in the namespace with address `.(10+i)`). The root namespace reaches every node through the
//! bridge; nodes reach each other through it too.

use std::net::Ipv4Addr;

use super::cmd::{run, succeeds};
use super::registry::{Registry, Resource};
use super::ClusterError;

/// The network of one run.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    /// The bridge in the root namespace.
    pub bridge: String,
    /// The first three octets of the /24, e.g. `10.231.7`.
    pub subnet: String,
    /// Node i's namespace.
    pub namespaces: Vec<String>,
}

impl Network {
    /// Node i's address inside its namespace.
    pub(crate) fn ip(&self, i: usize) -> String {
        format!("{}.{}", self.subnet, 10 + i)
    }
}

/// Whether namespaces can be used: running as root and `ip netns list` works.
pub(crate) fn available() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    root && succeeds("ip", &["netns", "list"])
        && succeeds("iptables", &["-w", "5", "-S", "FORWARD"])
}

/// Every IPv4 prefix mentioned by `ip -4 addr` and `ip -4 route` (addresses count as /32
/// unless written with a length).
fn used_prefixes() -> Result<Vec<(u32, u32)>, ClusterError> {
    let mut text = run("ip", &["-4", "-o", "addr", "show"])?;
    text.push_str(&run("ip", &["-4", "route", "show", "table", "all"])?);
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let (addr, len) = match word.split_once('/') {
            Some((a, l)) => (a, l.parse::<u32>().ok()),
            None => (word, Some(32)),
        };
        if let (Ok(ip), Some(len)) = (addr.parse::<Ipv4Addr>(), len) {
            if len <= 32 {
                out.push((u32::from(ip), len));
            }
        }
    }
    Ok(out)
}

fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    let len = a.1.min(b.1);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    a.0 & mask == b.0 & mask
}

/// A /24 in 10.231.0.0/16 that overlaps nothing configured, starting at a random third octet.
fn free_subnet() -> Result<String, ClusterError> {
    let used = used_prefixes()?;
    let start = rand::random::<u8>();
    for k in 0..=255u8 {
        let n = start.wrapping_add(k);
        let cand = (u32::from(Ipv4Addr::new(10, 231, n, 0)), 24);
        if !used.iter().any(|&u| u.1 > 0 && overlaps(u, cand)) {
            return Ok(format!("10.231.{n}"));
        }
    }
    Err(ClusterError::Invalid(
        "no free /24 in 10.231.0.0/16 for the cluster network".into(),
    ))
}

/// Creates the bridge, the FORWARD accept rule and one namespace per node, recording each.
pub(crate) fn create(id: &str, nodes: usize, reg: &mut Registry) -> Result<Network, ClusterError> {
    let subnet = free_subnet()?;
    let bridge = format!("dqn{id}br");
    run("ip", &["link", "add", &bridge, "type", "bridge"])?;
    reg.push(Resource::Link(bridge.clone()));
    run(
        "ip",
        &["addr", "add", &format!("{subnet}.1/24"), "dev", &bridge],
    )?;
    run("ip", &["link", "set", &bridge, "up"])?;
    // Docker sets the FORWARD policy to DROP, and with br_netfilter bridged frames between two
    // namespaces traverse FORWARD: accept what stays on our bridge.
    run(
        "iptables",
        &[
            "-w", "5", "-I", "FORWARD", "-i", &bridge, "-o", &bridge, "-j", "ACCEPT",
        ],
    )?;
    reg.push(Resource::ForwardAccept(bridge.clone()));
    let routes = run("ip", &["-4", "route", "show", "table", "all"])?;
    let ours = format!("{subnet}.0/24");
    let claims = routes.lines().filter(|l| l.starts_with(&ours)).count();
    if claims > 1 {
        return Err(ClusterError::Invalid(format!(
            "subnet {ours} was claimed by someone else at the same time; try again"
        )));
    }
    let mut net = Network {
        bridge: bridge.clone(),
        subnet,
        namespaces: Vec::new(),
    };
    for i in 0..nodes {
        let ns = format!("dqn{id}-n{i}");
        let root_side = format!("dqn{id}v{i}");
        let ns_side = format!("dqn{id}p{i}");
        run("ip", &["netns", "add", &ns])?;
        reg.push(Resource::Netns(ns.clone()));
        run(
            "ip",
            &[
                "link", "add", &root_side, "type", "veth", "peer", "name", &ns_side,
            ],
        )?;
        reg.push(Resource::Link(root_side.clone()));
        run("ip", &["link", "set", &ns_side, "netns", &ns])?;
        run("ip", &["link", "set", &root_side, "master", &bridge])?;
        run("ip", &["link", "set", &root_side, "up"])?;
        let addr = format!("{}/24", net.ip(i));
        run("ip", &["-n", &ns, "addr", "add", &addr, "dev", &ns_side])?;
        run("ip", &["-n", &ns, "link", "set", &ns_side, "up"])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        net.namespaces.push(ns);
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap() {
        let p = |s: &str, l| (u32::from(s.parse::<Ipv4Addr>().unwrap()), l);
        assert!(overlaps(p("10.0.0.0", 8), p("10.231.4.0", 24)));
        assert!(overlaps(p("10.231.4.7", 32), p("10.231.4.0", 24)));
        assert!(!overlaps(p("10.231.5.0", 24), p("10.231.4.0", 24)));
        assert!(!overlaps(p("172.17.0.0", 16), p("10.231.4.0", 24)));
    }
}
