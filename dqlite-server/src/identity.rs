//! The node's identity (id and address), kept in `DIR/identity` so a restarted node comes back
//! as itself.

use std::path::Path;

use crate::config::BOOTSTRAP_ID;
use crate::error::{Error, Result};

/// Loads the identity stored in `dir`, or creates one: the bootstrap id for a node that starts
/// a cluster, otherwise an id derived from the address and the time (like go-dqlite).
pub fn load_or_create(dir: &Path, address: &str, bootstrap: bool) -> Result<u64> {
    let path = dir.join("identity");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut parts = text.split_whitespace();
            let id = parts
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Error::internal(format!("malformed {}", path.display())))?;
            if parts.next() != Some(address) {
                tracing::warn!(stored = ?text.trim(), address, "address differs from the stored identity");
            }
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = if bootstrap {
                BOOTSTRAP_ID
            } else {
                generate(address)
            };
            crate::durable::write_file(&path, format!("{id} {address}\n").as_bytes())?;
            Ok(id)
        }
        Err(e) => Err(e.into()),
    }
}

fn generate(address: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(address.as_bytes());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() & 0x7fff_ffff_ffff_ffff).max(2)
}
