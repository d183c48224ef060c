//! The zones a server answers from, found by the most specific origin that holds a name.

use std::sync::Arc;

use hashbrown::HashTable;

use super::{hash, same, Zone};
use crate::wire::name;

/// Everything a query reads, swapped whole on reload.
#[derive(Debug, Default)]
pub struct Catalog {
    zones: Vec<Arc<Zone>>,
    table: HashTable<u32>,
    /// Bit n set when some origin is n octets long: most suffixes of a query name are skipped
    /// without hashing.
    origin_lens: [u64; 4],
}

impl Catalog {
    pub fn new(zones: Vec<Arc<Zone>>) -> Self {
        let mut table = HashTable::with_capacity(zones.len());
        let mut origin_lens = [0u64; 4];
        for (i, z) in zones.iter().enumerate() {
            table.insert_unique(hash(&z.origin), i as u32, |&j| {
                hash(&zones[j as usize].origin)
            });
            origin_lens[z.origin.len() / 64] |= 1 << (z.origin.len() % 64);
        }
        Catalog {
            zones,
            table,
            origin_lens,
        }
    }

    /// The zones, for building a new catalog from this one.
    pub fn into_zones(self) -> Vec<Arc<Zone>> {
        self.zones
    }

    /// This catalog with `zone` in place of the zone of the same origin (or added).
    pub fn with_zone(&self, zone: Arc<Zone>) -> Catalog {
        let mut zones = self.zones.clone();
        match zones.iter_mut().find(|z| z.origin == zone.origin) {
            Some(slot) => *slot = zone,
            None => zones.push(zone),
        }
        Catalog::new(zones)
    }

    pub fn zones(&self) -> &[Arc<Zone>] {
        &self.zones
    }

    pub fn zone_by_origin(&self, lower: &[u8]) -> Option<&Arc<Zone>> {
        let zones = &self.zones;
        self.table
            .find(hash(lower), |&i| same(&zones[i as usize].origin, lower))
            .map(|&i| &zones[i as usize])
    }

    /// The most specific zone containing `lower` (a lowercase wire name), trying the name and
    /// then each parent: at most one hash probe per label.
    #[inline]
    pub fn find_zone(&self, lower: &[u8]) -> Option<&Zone> {
        let mut cur = lower;
        loop {
            let n = cur.len();
            if n < 256 && self.origin_lens[n / 64] & (1 << (n % 64)) != 0 {
                if let Some(z) = self.zone_by_origin(cur) {
                    return Some(z);
                }
            }
            cur = name::parent(cur)?;
        }
    }

    /// Like `find_zone`, but skips zones whose origin is exactly `lower` (DS queries at a
    /// delegation we serve both sides of belong to the parent, RFC 4035 §3.1.4.1).
    pub fn find_parent_zone(&self, lower: &[u8]) -> Option<&Zone> {
        self.find_zone(name::parent(lower)?)
    }
}
