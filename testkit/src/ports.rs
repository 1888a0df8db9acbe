//! Addresses for test clusters: a loopback IP per cluster, free ports on it.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A loopback address in 127.0.0.0/8 that differs between processes and calls, so that
/// parallel tests (threads or processes) rarely share an IP at all.
pub fn loopback_ip() -> Ipv4Addr {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = std::process::id()
        .wrapping_mul(2_654_435_761)
        .wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(40_503))
        .wrapping_add(nanos);
    let b = |shift: u32| 1 + ((seed >> shift) % 254) as u8;
    Ipv4Addr::new(127, b(0), b(8), b(16))
}

/// A port that was free on `ip` a moment ago (bind to port 0, read it, release it).
pub fn free_port(ip: Ipv4Addr) -> std::io::Result<u16> {
    let listener = TcpListener::bind((ip, 0))?;
    Ok(listener.local_addr()?.port())
}
