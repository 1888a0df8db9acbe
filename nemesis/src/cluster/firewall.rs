//! Partitions: inside each node's namespace an iptables chain of our own, jumped to from
//! INPUT and OUTPUT, holds `-s <peer> -j DROP` and `-d <peer> -j DROP` for every peer the
//! node must not hear from (dropping outgoing packets too, so a half-open TCP connection
//! cannot linger). A new partition replaces the chain's content in one `iptables-restore`;
//! healing flushes the chain. Traffic from the bridge address (clients in the root
//! namespace) is never dropped.

use super::cmd::{run, run_with_input};
use super::registry::{Registry, Resource};
use super::ClusterError;

/// The chain's name for run `id`.
pub(crate) fn chain_name(id: &str) -> String {
    format!("dqn{id}-part")
}

fn iptables<'a>(ns: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["netns", "exec", ns, "iptables", "-w", "5"];
    args.extend_from_slice(rest);
    args
}

/// Creates the chain in `ns` and hooks it into INPUT and OUTPUT, once per namespace.
fn ensure_chain(ns: &str, chain: &str, reg: &mut Registry) -> Result<(), ClusterError> {
    let r = Resource::NsChain {
        ns: ns.to_owned(),
        chain: chain.to_owned(),
    };
    if reg.contains(&r) {
        return Ok(());
    }
    run("ip", &iptables(ns, &["-N", chain]))?;
    reg.push(r);
    run("ip", &iptables(ns, &["-A", "INPUT", "-j", chain]))?;
    run("ip", &iptables(ns, &["-A", "OUTPUT", "-j", chain]))?;
    Ok(())
}

/// Makes `ns` drop every packet from or to `peers` (replacing what it dropped before).
pub(crate) fn set_drops(
    ns: &str,
    chain: &str,
    peers: &[String],
    reg: &mut Registry,
) -> Result<(), ClusterError> {
    if peers.is_empty()
        && !reg.contains(&Resource::NsChain {
            ns: ns.to_owned(),
            chain: chain.to_owned(),
        })
    {
        return Ok(());
    }
    ensure_chain(ns, chain, reg)?;
    let mut script = format!("*filter\n-F {chain}\n");
    for p in peers {
        script.push_str(&format!(
            "-A {chain} -s {p}/32 -j DROP\n-A {chain} -d {p}/32 -j DROP\n"
        ));
    }
    script.push_str("COMMIT\n");
    let args = [
        "netns",
        "exec",
        ns,
        "iptables-restore",
        "-w",
        "5",
        "--noflush",
    ];
    run_with_input("ip", &args, Some(&script)).map(drop)
}

/// Empties the chain in `ns`, if it was ever created.
pub(crate) fn heal(ns: &str, chain: &str, reg: &Registry) -> Result<(), ClusterError> {
    let r = Resource::NsChain {
        ns: ns.to_owned(),
        chain: chain.to_owned(),
    };
    if reg.contains(&r) {
        run("ip", &iptables(ns, &["-F", chain]))?;
    }
    Ok(())
}
