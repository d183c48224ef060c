//! Signing what a patch changed, in place: after [`Zone::patch`] put a change batch's records
//! into a zone this server signs, the touched RRsets get new RRSIGs, the denial records the
//! batch changed are made and signed again — with NSEC those whose next name or bitmap changed
//! (the touched names and the names before them in the chain), with NSEC3 those of the touched
//! names and the empty non-terminals above them, and those before them in hash order — and
//! routing-policy members the batch brought are signed. So a change to a signed zone costs
//! what it touches, as an unsigned one does (`api::working`). The result is what signing the
//! whole zone would give (the same records; signatures of unchanged RRsets kept), which
//! `tests/route53_dnssec.rs` checks against a full signing of the same zone.
//!
//! What this does not do (the caller signs the zone whole): zones signed elsewhere, and
//! batches touching the records the signer owns (DNSKEY, CDS, CDNSKEY, RRSIG, NSEC, NSEC3,
//! NSEC3PARAM).

use std::collections::BTreeSet;

use super::patch::{NewContent, PatchError, RrsetChange};
use super::Zone;
use crate::wire::{name, types};

/// What [`Zone::resign_touched`] patched in.
pub struct Resigned {
    /// The RRSIG and NSEC RRsets it set, as a patch takes them (the same again on another copy
    /// of the zone gives the same records).
    pub changes: Vec<RrsetChange>,
    /// Routing-policy members were signed: their signatures are not in `changes`.
    pub signed_groups: bool,
}

impl Resigned {
    /// What an IXFR step of the signed batch compares: the RRsets this set, and the apex's
    /// RRSIGs (the SOA's change with every serial).
    pub fn step_keys<'a>(&'a self, origin: &'a [u8]) -> impl Iterator<Item = (Vec<u8>, u16)> + 'a {
        self.changes
            .iter()
            .map(|c| (c.owner.clone(), c.rtype))
            .chain(std::iter::once((origin.to_vec(), types::RRSIG)))
    }
}

impl Zone {
    /// Signs what `touched` (owner, type; owners lowercase) changed in this patched zone and
    /// patches the signatures and NSEC records in. Nothing changes when it fails.
    pub fn resign_touched(
        &mut self,
        touched: &BTreeSet<(Vec<u8>, u16)>,
    ) -> Result<Resigned, PatchError> {
        let signer = self
            .policy_signer
            .clone()
            .ok_or(PatchError::Unsupported("a zone signed elsewhere"))?;
        if touched.iter().any(|(_, t)| crate::dnssec::signer_made(*t)) {
            return Err(PatchError::Unsupported("the signer's own records change"));
        }
        if self.nsec3.is_some() {
            return self.resign_nsec3(touched, &signer);
        }
        if self.nsec_chain.is_empty() {
            return Err(PatchError::Unsupported("not a signed zone"));
        }
        let nsec_ttl = self
            .rrset(self.apex(), types::NSEC)
            .map(|s| s.ttl)
            .ok_or(PatchError::Unsupported("the apex has no NSEC"))?;

        // The chain after the batch: owners that lost their last record leave it, new ones
        // join it in canonical order.
        let owners: BTreeSet<&[u8]> = touched.iter().map(|(o, _)| o.as_slice()).collect();
        let mut chain: Vec<u32> = self.nsec_chain.to_vec();
        let mut left: Vec<u32> = Vec::new();
        for &o in &owners {
            let now_in = self.find(o).is_some_and(|id| self.in_nsec_chain(id));
            match (self.chain_position(&chain, o), now_in) {
                (Ok(i), false) => {
                    left.push(chain.remove(i));
                }
                (Err(i), true) => chain.insert(i, self.find(o).expect("found above")),
                _ => {}
            }
        }
        if chain.is_empty() {
            return Err(PatchError::Unsupported("the chain is empty"));
        }
        // Whose NSEC may change: each touched owner in the chain, and the name before where
        // each touched owner is (or would be).
        let len = chain.len();
        let mut affected: BTreeSet<u32> = BTreeSet::new();
        for &o in &owners {
            match self.chain_position(&chain, o) {
                Ok(i) => {
                    affected.insert(chain[i]);
                    affected.insert(chain[(i + len - 1) % len]);
                }
                Err(i) => {
                    affected.insert(chain[(i + len - 1) % len]);
                }
            }
        }

        let mut changes: Vec<RrsetChange> = Vec::new();
        for &id in &left {
            let owner = self.name(self.node(id)).to_vec();
            for rtype in [types::NSEC, types::RRSIG] {
                changes.push(RrsetChange {
                    owner: owner.clone(),
                    rtype,
                    content: NewContent::Gone,
                });
            }
        }
        let mut groups_to_sign: Vec<usize> = Vec::new();
        for &id in &affected {
            let Ok(pos) = self.chain_position(&chain, self.name(self.node(id))) else {
                continue;
            };
            let node = *self.node(id);
            let owner = self.name(&node).to_vec();
            let cut = node.is_cut();
            let mut present: Vec<u16> = self
                .rrsets(&node)
                .iter()
                .map(|s| s.rtype)
                .filter(|&t| !matches!(t, types::RRSIG | types::NSEC))
                .filter(|&t| !cut || matches!(t, types::NS | types::DS))
                .collect();
            present.extend([types::NSEC, types::RRSIG]);
            present.sort_unstable();
            present.dedup();
            let next = self.name(self.node(chain[(pos + 1) % len]));
            let mut nsec = name::to_lowercase(next);
            nsec.extend_from_slice(&types::bitmap(&present));
            let nsec_same = self
                .rrset(&node, types::NSEC)
                .is_some_and(|s| s.ttl == nsec_ttl && self.rdatas(s).eq([nsec.as_slice()]));
            let data_touched = self
                .rrsets(&node)
                .iter()
                .any(|s| touched.contains(&(owner.clone(), s.rtype)));
            if nsec_same && !data_touched {
                continue;
            }
            // The node's RRSIG RRset anew: fresh signatures over what changed, the others kept.
            let mut sigs: Vec<Vec<u8>> = Vec::new();
            for set in self.rrsets(&node) {
                let t = set.rtype;
                if matches!(t, types::RRSIG | types::NSEC) || (cut && t != types::DS) {
                    continue;
                }
                if let Some(g) = set.group() {
                    // A policy record set's signatures are its members' (signed below).
                    if touched.contains(&(owner.clone(), t)) {
                        groups_to_sign.push(g);
                    }
                    continue;
                }
                if touched.contains(&(owner.clone(), t)) {
                    let rdatas: Vec<Vec<u8>> = self.rdatas(set).map(<[u8]>::to_vec).collect();
                    sigs.extend(signer.sign_now(&owner, t, set.ttl, &rdatas));
                } else {
                    sigs.extend(self.rrsigs(&node, t).map(<[u8]>::to_vec));
                }
            }
            if nsec_same {
                sigs.extend(self.rrsigs(&node, types::NSEC).map(<[u8]>::to_vec));
            } else {
                sigs.extend(signer.sign_now(&owner, types::NSEC, nsec_ttl, &[nsec.clone()]));
                changes.push(RrsetChange {
                    owner: owner.clone(),
                    rtype: types::NSEC,
                    content: NewContent::Records {
                        ttl: nsec_ttl,
                        rdatas: vec![nsec],
                    },
                });
            }
            let ttl = self.rrset(&node, types::RRSIG).map_or(nsec_ttl, |s| s.ttl);
            changes.push(RrsetChange {
                owner: owner.clone(),
                rtype: types::RRSIG,
                content: NewContent::Records { ttl, rdatas: sigs },
            });
        }
        self.patch(changes.clone())?;
        self.nsec_chain = chain.into_boxed_slice();
        groups_to_sign.sort_unstable();
        groups_to_sign.dedup();
        let signed_groups = !groups_to_sign.is_empty();
        for g in groups_to_sign {
            self.sign_group(g, |owner, rtype, ttl, rdatas| {
                signer.sign_now(owner, rtype, ttl, rdatas)
            });
        }
        Ok(Resigned {
            changes,
            signed_groups,
        })
    }

    /// [`resign_touched`](Zone::resign_touched) for a zone signed with NSEC3 (RFC 5155): the
    /// touched RRsets signed, then the NSEC3 records of the touched names and of the empty
    /// non-terminals above them made again (joining or leaving the chain as the names come and
    /// go), with those before them in hash order whose next hash changed.
    fn resign_nsec3(
        &mut self,
        touched: &BTreeSet<(Vec<u8>, u16)>,
        signer: &crate::zone::signed::PolicySigner,
    ) -> Result<Resigned, PatchError> {
        let (params, old_chain) = self
            .nsec3_parts()
            .ok_or(PatchError::Unsupported("no NSEC3 chain"))?;
        let Some(&(_, first)) = old_chain.first() else {
            return Err(PatchError::Unsupported("the chain is empty"));
        };
        let nsec3_ttl = self
            .rrset(self.node(first), types::NSEC3)
            .map(|s| s.ttl)
            .ok_or(PatchError::Unsupported("no NSEC3 record"))?;
        let owners: BTreeSet<&[u8]> = touched.iter().map(|(o, _)| o.as_slice()).collect();

        // 1. The touched names' signatures: each name's RRSIG RRset anew (none for a name left
        // without data, which then leaves the tree with the empty non-terminals above it).
        let mut changes: Vec<RrsetChange> = Vec::new();
        let mut groups_to_sign: Vec<usize> = Vec::new();
        for &o in &owners {
            let Some(id) = self.find(o) else { continue };
            let node = *self.node(id);
            if self.below_cut(o) {
                continue;
            }
            let cut = node.is_cut();
            let mut sigs: Vec<Vec<u8>> = Vec::new();
            for set in self.rrsets(&node) {
                let t = set.rtype;
                if t == types::RRSIG || (cut && t != types::DS) {
                    continue;
                }
                if let Some(g) = set.group() {
                    if touched.contains(&(o.to_vec(), t)) {
                        groups_to_sign.push(g);
                    }
                    continue;
                }
                if touched.contains(&(o.to_vec(), t)) {
                    let rdatas: Vec<Vec<u8>> = self.rdatas(set).map(<[u8]>::to_vec).collect();
                    sigs.extend(signer.sign_now(o, t, set.ttl, &rdatas));
                } else {
                    sigs.extend(self.rrsigs(&node, t).map(<[u8]>::to_vec));
                }
            }
            let content = if sigs.is_empty() {
                NewContent::Gone
            } else {
                let ttl = self.rrset(&node, types::RRSIG).map_or(nsec3_ttl, |s| s.ttl);
                NewContent::Records { ttl, rdatas: sigs }
            };
            changes.push(RrsetChange {
                owner: o.to_vec(),
                rtype: types::RRSIG,
                content,
            });
        }
        self.patch(changes.clone())?;

        // 2. The chain: each touched name and each name above it has an NSEC3 if it is in the
        // tree now (data, or names below it) and not below a cut.
        let origin = self.origin.to_vec();
        let mut names: BTreeSet<Vec<u8>> = BTreeSet::new();
        for &o in &owners {
            let mut n = o;
            loop {
                names.insert(n.to_vec());
                if n.len() <= origin.len() {
                    break;
                }
                n = &n[1 + n[0] as usize..];
            }
        }
        let mut by_hash: std::collections::BTreeMap<[u8; 20], Option<Vec<u16>>> =
            Default::default();
        for n in &names {
            let present = self.find(n).filter(|&id| {
                let has_data = !self.rrsets(self.node(id)).is_empty();
                (has_data || self.upkeep.children[id as usize] > 0) && !self.below_cut(n)
            });
            let bitmap = present.map(|id| {
                let node = *self.node(id);
                let cut = node.is_cut();
                let mut t: Vec<u16> = self
                    .rrsets(&node)
                    .iter()
                    .map(|s| s.rtype)
                    .filter(|&t| t != types::RRSIG)
                    .filter(|&t| !cut || matches!(t, types::NS | types::DS))
                    .collect();
                if !t.is_empty() && (!cut || t.contains(&types::DS)) {
                    t.push(types::RRSIG);
                }
                t.sort_unstable();
                t.dedup();
                t
            });
            by_hash.insert(params.hash(n), bitmap);
        }
        let mut chain: Vec<[u8; 20]> = old_chain.iter().map(|(h, _)| *h).collect();
        let mut left: Vec<[u8; 20]> = Vec::new();
        for (h, bitmap) in &by_hash {
            match (chain.binary_search(h), bitmap.is_some()) {
                (Ok(i), false) => left.push(chain.remove(i)),
                (Err(i), true) => chain.insert(i, *h),
                _ => {}
            }
        }
        if chain.is_empty() {
            return Err(PatchError::Unsupported("the chain is empty"));
        }
        let len = chain.len();
        let mut affected: BTreeSet<usize> = BTreeSet::new();
        for h in by_hash.keys() {
            match chain.binary_search(h) {
                Ok(i) => {
                    affected.insert(i);
                    affected.insert((i + len - 1) % len);
                }
                Err(i) => {
                    affected.insert((i + len - 1) % len);
                }
            }
        }
        let mut changes2: Vec<RrsetChange> = Vec::new();
        for h in &left {
            let owner = crate::dnssec::nsec3::owner(h, &origin);
            for rtype in [types::NSEC3, types::RRSIG] {
                changes2.push(RrsetChange {
                    owner: owner.clone(),
                    rtype,
                    content: NewContent::Gone,
                });
            }
        }
        for &i in &affected {
            let h = chain[i];
            let next = chain[(i + 1) % len];
            let owner = crate::dnssec::nsec3::owner(&h, &origin);
            let existing: Option<Vec<u8>> = self
                .find(&owner)
                .and_then(|id| self.rrset(self.node(id), types::NSEC3))
                .and_then(|s| self.rdatas(s).next())
                .map(<[u8]>::to_vec);
            let rdata = match by_hash.get(&h) {
                Some(Some(bitmap)) => params.rdata(&next, bitmap),
                // A name this batch did not touch: only its next hash may change.
                _ => match &existing {
                    Some(old) => with_next(old, &next).ok_or(PatchError::Unsupported(
                        "an NSEC3 record that cannot be read",
                    ))?,
                    None => continue,
                },
            };
            if existing.as_deref() == Some(rdata.as_slice()) {
                continue;
            }
            let sigs = signer.sign_now(&owner, types::NSEC3, nsec3_ttl, &[rdata.clone()]);
            changes2.push(RrsetChange {
                owner: owner.clone(),
                rtype: types::NSEC3,
                content: NewContent::Records {
                    ttl: nsec3_ttl,
                    rdatas: vec![rdata],
                },
            });
            changes2.push(RrsetChange {
                owner,
                rtype: types::RRSIG,
                content: NewContent::Records {
                    ttl: nsec3_ttl,
                    rdatas: sigs,
                },
            });
        }
        self.patch(changes2.clone())?;
        let mut indexed: Vec<([u8; 20], u32)> = Vec::with_capacity(len);
        for h in chain {
            let owner = crate::dnssec::nsec3::owner(&h, &origin);
            let id = self
                .find(&owner)
                .ok_or(PatchError::Unsupported("an NSEC3 owner went missing"))?;
            indexed.push((h, id));
        }
        self.set_nsec3_chain(indexed);
        groups_to_sign.sort_unstable();
        groups_to_sign.dedup();
        let signed_groups = !groups_to_sign.is_empty();
        for g in groups_to_sign {
            self.sign_group(g, |owner, rtype, ttl, rdatas| {
                signer.sign_now(owner, rtype, ttl, rdatas)
            });
        }
        changes.extend(changes2);
        Ok(Resigned {
            changes,
            signed_groups,
        })
    }

    /// Whether node `id` has an NSEC record in a zone signed with NSEC: it holds records other
    /// than the signer's, and is not glue or occluded below a zone cut.
    fn in_nsec_chain(&self, id: u32) -> bool {
        let node = self.node(id);
        let has_data = self
            .rrsets(node)
            .iter()
            .any(|s| !matches!(s.rtype, types::RRSIG | types::NSEC));
        has_data && !self.below_cut(self.name(node))
    }

    /// Whether a name is strictly below a zone cut of this zone.
    fn below_cut(&self, lower: &[u8]) -> bool {
        let mut at = lower;
        while at.len() > self.origin.len() && !at.is_empty() {
            at = &at[1 + at[0] as usize..];
            if at.len() <= self.origin.len() {
                break;
            }
            if self.find(at).is_some_and(|id| self.node(id).is_cut()) {
                return true;
            }
        }
        false
    }

    /// Where `lower` is (`Ok`) or would go (`Err`) in a chain of node ids in canonical order.
    fn chain_position(&self, chain: &[u32], lower: &[u8]) -> Result<usize, usize> {
        chain.binary_search_by(|&id| name::canonical_cmp(self.name(self.node(id)), lower))
    }
}

/// An NSEC3 RDATA with another next hashed owner (RFC 5155 §3.2: algorithm, flags,
/// iterations, salt length and salt, hash length and next hash, type bitmaps).
fn with_next(rdata: &[u8], next: &[u8; 20]) -> Option<Vec<u8>> {
    let salt_len = *rdata.get(4)? as usize;
    let at = 5 + salt_len;
    if *rdata.get(at)? as usize != next.len() || rdata.len() < at + 1 + next.len() {
        return None;
    }
    let mut r = rdata.to_vec();
    r[at + 1..at + 1 + next.len()].copy_from_slice(next);
    Some(r)
}
