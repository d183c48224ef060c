//! Signatures a signing step may keep instead of making again: those of the version serving
//! now (a reload), or those the last run saved in the state directory (a start). A kept
//! signature covers exactly the same RRset (owner, type, TTL, records) by exactly the keys
//! that sign now, and has longer than the re-signing interval (plus an hour) to live, so it is
//! always replaced before it expires.
//!
//! The saved form (`signatures.bin` beside the zone's keys, written at shutdown) holds only
//! public data: per RRset its owner, type, TTL, a SHA-256 digest of its records in canonical
//! order and its RRSIGs. A file that cannot be read is ignored (the zone is signed whole), so
//! it never stops a zone from loading.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use super::signed::KEEP_FOR_SECS;
use crate::dnssec::zone::ToSign;
use crate::wire::{name, types};
use crate::zone::signed::valid_for_more_than;
use crate::zone::Zone;

const MAGIC: &[u8; 8] = b"PDNSSIG1";

/// Kept signatures by (lowercase owner, covered type).
#[derive(Default)]
pub struct Kept {
    sets: HashMap<(Vec<u8>, u16), KeptSet>,
}

/// An RRset's signatures and what they cover.
struct KeptSet {
    ttl: u32,
    /// SHA-256 of the records in canonical order (RFC 4034 §6.3), each with its length.
    digest: [u8; 32],
    /// RRSIG RDATAs.
    sigs: Vec<Vec<u8>>,
}

/// The digest [`KeptSet`] compares.
fn digest(rtype: u16, rdatas: &[Vec<u8>]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for rd in crate::dnssec::sign::canonical_set(rtype, rdatas) {
        ctx.update(&(rd.len() as u16).to_be_bytes());
        ctx.update(&rd);
    }
    ctx.finish().as_ref().try_into().expect("32 octets")
}

impl Kept {
    /// The signatures kept for exactly this RRset by exactly these keys.
    pub(super) fn lookup(&self, t: &ToSign<'_>) -> Option<Vec<Vec<u8>>> {
        let set = self.sets.get(&(name::to_lowercase(t.owner), t.rtype))?;
        let mut tags: Vec<u16> = set
            .sigs
            .iter()
            .map(|s| u16::from_be_bytes([s[16], s[17]]))
            .collect();
        let mut want = t.signers.to_vec();
        tags.sort_unstable();
        want.sort_unstable();
        let same = set.ttl == t.ttl && tags == want && set.digest == digest(t.rtype, t.rdatas);
        same.then(|| set.sigs.clone())
    }

    /// What `zone` (signed by this server; none for a zone signed elsewhere) signed that is
    /// good for long enough at `now`.
    pub(super) fn of(zone: &Zone, now: u32) -> Kept {
        let mut kept = Kept::default();
        if zone.soa_signer.is_none() {
            return kept;
        }
        for id in 0..zone.nodes.len() as u32 {
            let node = zone.node(id);
            let Some(rrsigs) = zone.rrset(node, types::RRSIG) else {
                continue;
            };
            let mut by_type: std::collections::BTreeMap<u16, (bool, Vec<Vec<u8>>)> =
                Default::default();
            for rd in zone.rdatas(rrsigs) {
                if rd.len() < 18 {
                    continue;
                }
                let covered = u16::from_be_bytes([rd[0], rd[1]]);
                let e = by_type.entry(covered).or_insert((true, Vec::new()));
                e.0 &= valid_for_more_than(rd, now, KEEP_FOR_SECS);
                e.1.push(rd.to_vec());
            }
            let owner = name::to_lowercase(zone.name(node));
            for (covered, (fresh, sigs)) in by_type {
                let Some(set) = zone.rrset(node, covered) else {
                    continue;
                };
                if !fresh || set.group().is_some() {
                    continue;
                }
                let rdatas: Vec<Vec<u8>> = zone.rdatas(set).map(<[u8]>::to_vec).collect();
                let set = KeptSet {
                    ttl: set.ttl,
                    digest: digest(covered, &rdatas),
                    sigs,
                };
                kept.sets.insert((owner.clone(), covered), set);
            }
        }
        kept
    }

    /// Writes what `zone` may keep to `path` (fsynced, then renamed into place): at shutdown,
    /// so the next start signs only what changed or is due. Returns the RRsets saved.
    pub fn save(zone: &Zone, path: &Path, now: u32) -> std::io::Result<usize> {
        let kept = Kept::of(zone, now);
        let mut out = Vec::with_capacity(kept.sets.len() * 160);
        out.extend_from_slice(MAGIC);
        for ((owner, rtype), set) in &kept.sets {
            out.push(owner.len() as u8);
            out.extend_from_slice(owner);
            out.extend_from_slice(&rtype.to_be_bytes());
            out.extend_from_slice(&set.ttl.to_be_bytes());
            out.extend_from_slice(&set.digest);
            out.push(set.sigs.len().min(255) as u8);
            for sig in set.sigs.iter().take(255) {
                out.extend_from_slice(&(sig.len() as u16).to_be_bytes());
                out.extend_from_slice(sig);
            }
        }
        let tmp = path.with_extension("bin.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&out)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(kept.sets.len())
    }

    /// What a previous run saved at `path`, still good at `now`; `None` when there is no
    /// usable file.
    pub(super) fn read(path: &Path, now: u32) -> Option<Kept> {
        let data = std::fs::read(path).ok()?;
        let mut at = data.strip_prefix(MAGIC.as_slice())?;
        let mut kept = Kept::default();
        let take = |n: usize, at: &mut &[u8]| -> Option<Vec<u8>> {
            let (head, rest) = (at.get(..n)?, at.get(n..)?);
            *at = rest;
            Some(head.to_vec())
        };
        while !at.is_empty() {
            let len = *at.first()? as usize;
            at = &at[1..];
            let owner = take(len, &mut at)?;
            let rtype = u16::from_be_bytes(take(2, &mut at)?.try_into().ok()?);
            let ttl = u32::from_be_bytes(take(4, &mut at)?.try_into().ok()?);
            let digest: [u8; 32] = take(32, &mut at)?.try_into().ok()?;
            let n = *take(1, &mut at)?.first()? as usize;
            let mut sigs = Vec::with_capacity(n);
            let mut fresh = true;
            for _ in 0..n {
                let l = u16::from_be_bytes(take(2, &mut at)?.try_into().ok()?) as usize;
                let sig = take(l, &mut at)?;
                if sig.len() < 18 {
                    return None;
                }
                fresh &= valid_for_more_than(&sig, now, KEEP_FOR_SECS);
                sigs.push(sig);
            }
            if fresh {
                kept.sets
                    .insert((owner, rtype), KeptSet { ttl, digest, sigs });
            }
        }
        Some(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_cut_short_or_of_another_kind_is_not_read() {
        let dir = std::env::temp_dir().join(format!("policydns-kept-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("signatures.bin");
        for bytes in [&b"PDNSSIG1\x03abc"[..], b"NOTMAGIC", b""] {
            std::fs::write(&path, bytes).unwrap();
            assert!(Kept::read(&path, 0).is_none(), "{bytes:?}");
        }
        std::fs::write(&path, MAGIC).unwrap();
        assert_eq!(Kept::read(&path, 0).map(|k| k.sets.len()), Some(0));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
