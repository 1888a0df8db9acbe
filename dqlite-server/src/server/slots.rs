//! Connection slots: how many sockets and client connections a node serves at once.
//!
//! A raft peer connection starts like a client one (version word, then CONNECT), so the
//! listener cannot tell them apart when it accepts. It therefore accepts up to
//! `max_connections` + [`PEER_HEADROOM`] sockets and asks for a *client* slot only at the
//! first request: CONNECT needs none, anything else beyond `max_connections` is answered
//! FAILURE(SQLITE_BUSY) and closed. Sockets beyond the headroom are closed as soon as they are
//! accepted, so the accept loop never stalls. Clients that never send a request hold their
//! socket only for the handshake timeout, which bounds how long they can crowd peers out.
//! Refusals are logged once per burst, and the end of a burst once with its count.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

pub use crate::config::PEER_HEADROOM;

/// The node's connection counts.
#[derive(Debug)]
pub struct Slots {
    max_clients: usize,
    sockets: AtomicUsize,
    clients: AtomicUsize,
    refusing: AtomicBool,
    refused: AtomicU64,
}

/// An accepted socket; frees its slot when dropped.
#[derive(Debug)]
pub struct Socket(Arc<Slots>);

impl Drop for Socket {
    fn drop(&mut self) {
        self.0.sockets.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A client connection's slot; freed when dropped.
#[derive(Debug)]
pub struct ClientSlot(Arc<Slots>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slots {
    /// Slots for at most `max_clients` client connections.
    pub fn new(max_clients: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max_clients: max_clients.max(1),
            sockets: AtomicUsize::new(0),
            clients: AtomicUsize::new(0),
            refusing: AtomicBool::new(false),
            refused: AtomicU64::new(0),
        })
    }

    /// A slot for a socket just accepted, or `None`: close it now.
    pub fn socket(self: &Arc<Self>) -> Option<Socket> {
        take(&self.sockets, self.max_clients + PEER_HEADROOM)
            .then(|| Socket(self.clone()))
            .or_else(|| {
                self.refuse("sockets");
                None
            })
    }

    /// A client slot for a connection whose first request is not CONNECT, or `None`: refuse
    /// it.
    pub fn client(self: &Arc<Self>) -> Option<ClientSlot> {
        if take(&self.clients, self.max_clients) {
            self.admitted();
            Some(ClientSlot(self.clone()))
        } else {
            self.refuse("client connections");
            None
        }
    }

    /// Most client connections.
    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    fn refuse(&self, what: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if !self.refusing.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                max_clients = self.max_clients,
                headroom = PEER_HEADROOM,
                "too many {what}: refusing new connections"
            );
        }
    }

    fn admitted(&self) {
        if self.refusing.swap(false, Ordering::AcqRel) {
            let refused = self.refused.swap(0, Ordering::Relaxed);
            tracing::info!(refused, "accepting client connections again");
        }
    }
}

/// Takes one of `max` units of `count`; false when none is left.
fn take(count: &AtomicUsize, max: usize) -> bool {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_capped_and_sockets_keep_headroom_for_peers() {
        let slots = Slots::new(2);
        let a = slots.client().expect("first client");
        let _b = slots.client().expect("second client");
        assert!(slots.client().is_none(), "a third client is refused");
        drop(a);
        assert!(slots.client().is_some(), "a freed slot is reused");
        let sockets: Vec<_> = (0..2 + PEER_HEADROOM)
            .map(|_| slots.socket().expect("socket within the headroom"))
            .collect();
        assert!(slots.socket().is_none(), "beyond the headroom");
        drop(sockets);
        assert!(slots.socket().is_some());
    }
}
