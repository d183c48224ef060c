//! Who holds the TCP connections, so that no client can lock the others out.
//!
//! Two rules, both cheap (one short lock per accepted connection; a connection marks itself idle
//! or busy with an atomic store):
//! - **A network's share**: one client network (a /24 or /56) holds at most
//!   `max_per_network` connections; past it, its new connections are closed at once. Without
//!   it one host opens every slot.
//! - **Room for newcomers**: when all `max_total` slots are taken, the connection that has been
//!   idle longest — waiting for a query, or still reading one — is closed to make room
//!   (RFC 7766 §6.2.3 lets a server close idle connections under pressure). Only when every
//!   connection is busy answering is the newcomer turned away. Many networks holding the slots
//!   open and silent therefore cannot keep a new client out: they are the idle ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use crate::server::network;

/// The connection limits (`[server] tcp_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections at once, from everyone.
    pub max_total: usize,
    /// Connections at once from one client network.
    pub max_per_network: usize,
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_total: 1024,
            max_per_network: 256,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its network already holds `max_per_network`.
    NetworkFull,
    /// Every slot is held by a connection busy answering.
    AllBusy,
}

/// One connection as the registry sees it.
struct Slot {
    network: [u8; 17],
    /// Milliseconds since the registry's start when the connection last began waiting for a
    /// query; `BUSY` while it answers one.
    idle_since: AtomicU64,
    close: Notify,
}

const BUSY: u64 = u64::MAX;

#[derive(Default)]
struct Held {
    next_id: u64,
    slots: HashMap<u64, Arc<Slot>>,
    per_network: HashMap<[u8; 17], usize>,
}

impl Held {
    fn release(&mut self, id: u64) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        if let Some(n) = self.per_network.get_mut(&slot.network) {
            *n -= 1;
            if *n == 0 {
                self.per_network.remove(&slot.network);
            }
        }
        true
    }
}

/// The registry of one listener's connections.
pub struct Clients {
    limits: ConnectionLimits,
    start: Instant,
    held: Mutex<Held>,
}

/// A connection's place; dropping it gives the place back.
pub struct Admitted {
    clients: Arc<Clients>,
    id: u64,
    slot: Arc<Slot>,
}

/// What admitting a connection did.
pub struct Admission {
    pub admitted: Admitted,
    /// Whether the longest-idle connection was closed to make room.
    pub evicted: bool,
}

impl Clients {
    pub fn new(limits: ConnectionLimits) -> Arc<Clients> {
        Arc::new(Clients {
            limits,
            start: Instant::now(),
            held: Mutex::new(Held::default()),
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Admits a connection from `peer`, closing the longest-idle one if every slot is taken.
    /// A new connection counts as idle from now: until it sends a query it holds a place
    /// without using it.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admission, Refusal> {
        let network = network::of(peer, self.limits.ipv4_prefix, self.limits.ipv6_prefix);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.per_network.get(&network).copied().unwrap_or(0) >= self.limits.max_per_network {
            return Err(Refusal::NetworkFull);
        }
        let mut evicted = false;
        if held.slots.len() >= self.limits.max_total {
            // A linear scan: it runs only when the table is full, over at most max_total
            // entries, and costs microseconds beside the accept it guards.
            let oldest = held
                .slots
                .iter()
                .map(|(&id, s)| (s.idle_since.load(Ordering::Relaxed), id))
                .filter(|&(since, _)| since != BUSY)
                .min();
            let Some((_, id)) = oldest else {
                return Err(Refusal::AllBusy);
            };
            if let Some(slot) = held.slots.get(&id).cloned() {
                // The place is free from now; the connection closes when it next looks
                // (notify_one keeps the wake-up for it even if it is not waiting yet).
                held.release(id);
                slot.close.notify_one();
                evicted = true;
            }
        }
        let id = held.next_id;
        held.next_id += 1;
        let slot = Arc::new(Slot {
            network,
            idle_since: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        held.slots.insert(id, slot.clone());
        *held.per_network.entry(network).or_insert(0) += 1;
        Ok(Admission {
            admitted: Admitted {
                clients: self.clone(),
                id,
                slot,
            },
            evicted,
        })
    }

    /// Connections held now.
    pub fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .slots
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Admitted {
    /// The connection waits for (or reads) its next query: it may be closed for a newcomer.
    pub fn idle(&self) {
        let now = self.clients.now_ms();
        // Never store BUSY's value by accident after 584 million years.
        self.slot
            .idle_since
            .store(now.min(BUSY - 1), Ordering::Relaxed);
    }

    /// The connection has a whole query and answers it: it keeps its place until it is idle.
    pub fn busy(&self) {
        self.slot.idle_since.store(BUSY, Ordering::Relaxed);
    }

    /// Resolves when the connection was closed to make room for a newcomer.
    pub async fn closed(&self) {
        self.slot.close.notified().await
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut held = self.clients.held.lock().unwrap_or_else(|e| e.into_inner());
        held.release(self.id);
    }
}

#[cfg(test)]
mod tests;
