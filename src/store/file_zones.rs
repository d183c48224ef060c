//! Dynamic updates of zones served from files: the store keeps, per zone, the RRsets updates
//! set (or deleted), which every load of the zone lays over its file, and the serial the last
//! update gave it.
//!
//! The rule, as BIND's and Knot's journals keep one: an RRset an update touched is served as the
//! update left it, whatever the file says, until another update changes it; every other RRset
//! comes from the file, so edits of the file are served as before. An edit of the file that
//! changes an RRset an update also changed is not served, and each load says so at once, naming
//! the RRset and when the update set it — never silently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One RRset as an update left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Lowercase wire form.
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub ttl: u32,
    /// Uncompressed RDATA; empty when the update deleted the RRset.
    pub rdatas: Vec<Vec<u8>>,
    /// When (Unix seconds) an update first set it.
    pub at: i64,
    /// A digest of the file's version of the RRset when an update first set it: a load that
    /// finds another version in the file says the file's edit is not served.
    pub file_digest: u64,
}

/// What updates changed in one zone served from a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileZoneUpdates {
    /// The serial the last update gave the zone: it serves at least this.
    pub serial: u32,
    /// By (owner, type).
    pub rrsets: Vec<Override>,
}

impl FileZoneUpdates {
    pub fn get(&self, owner: &[u8], rtype: u16) -> Option<&Override> {
        self.rrsets
            .iter()
            .find(|o| o.owner == owner && o.rtype == rtype)
    }

    /// Lays `changed` over what is kept (one entry per owner and type).
    pub fn merge(&mut self, serial: u32, changed: &[Override]) {
        self.serial = serial;
        for c in changed {
            match self
                .rrsets
                .iter_mut()
                .find(|o| o.owner == c.owner && o.rtype == c.rtype)
            {
                Some(o) => {
                    o.ttl = c.ttl;
                    o.rdatas.clone_from(&c.rdatas);
                }
                None => self.rrsets.push(c.clone()),
            }
        }
    }
}

/// A digest of an RRset's records that is the same from one run and one build to the next
/// (FNV-1a over the sorted RDATA and the TTL).
pub fn rrset_digest(ttl: u32, rdatas: &[Vec<u8>]) -> u64 {
    let mut sorted: Vec<&Vec<u8>> = rdatas.iter().collect();
    sorted.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&ttl.to_be_bytes());
    for r in sorted {
        eat(&(r.len() as u32).to_be_bytes());
        eat(r);
    }
    h
}

/// The file zones' updates by origin (presentation form, as JSON keys must be text).
pub type ByOrigin = BTreeMap<String, FileZoneUpdates>;
