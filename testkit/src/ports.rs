//! Addresses for test clusters: a random-ish loopback IP per cluster, free ports on it.
//!
//! Tests run in parallel (threads under `cargo test`, processes under `cargo nextest`), so
//! each cluster gets its own IP in 127.0.0.0/8 (Linux routes all of it to `lo`), derived
//! from the PID, a process-wide counter and the clock. Ports come from the kernel (bind to
//! port 0), so two clusters would have to pick the same IP *and* port to collide.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// SplitMix64: spreads nearby inputs (consecutive counters, PIDs) over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A loopback address `127.x.y.z` (each of x, y, z in 1..=254) that differs between
/// processes and between calls, so that parallel tests rarely share an IP at all.
pub fn loopback_ip() -> Ipv4Addr {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = mix(u64::from(std::process::id()) ^ mix(counter ^ mix(nanos)));
    let byte = |shift: u32| 1 + ((seed >> shift) % 254) as u8;
    Ipv4Addr::new(127, byte(0), byte(16), byte(32))
}

/// A port that was free on `ip` a moment ago (bind to port 0, read it, release it).
pub fn free_port(ip: Ipv4Addr) -> std::io::Result<u16> {
    Ok(free_ports(ip, 1)?[0])
}

/// `count` distinct ports that were free on `ip` a moment ago. All listeners are held until
/// every port is chosen, so the kernel cannot hand out the same port twice.
pub fn free_ports(ip: Ipv4Addr, count: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..count.max(1))
        .map(|_| TcpListener::bind((ip, 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(ports.into_iter().take(count).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_are_loopback_and_avoid_0_and_255() {
        let ips: Vec<Ipv4Addr> = (0..1000).map(|_| loopback_ip()).collect();
        for ip in &ips {
            let o = ip.octets();
            assert_eq!(o[0], 127);
            assert!(o[1..].iter().all(|&b| b != 0 && b != 255), "{ip}");
        }
        let mut distinct = ips.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 990, "only {} distinct IPs", distinct.len());
    }

    // Rebinding a returned port is not asserted: a child forked by another test thread can
    // hold a copy of the released listener until it execs, which is also why start-up
    // retries on a bind failure.
    #[test]
    fn ports_are_distinct_and_nonzero() {
        let ip = loopback_ip();
        let mut ports = free_ports(ip, 6).expect("ports");
        assert_eq!(ports.len(), 6);
        assert!(ports.iter().all(|&p| p != 0));
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 6);
        assert_ne!(free_port(ip).expect("port"), 0);
    }
}
