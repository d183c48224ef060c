//! What answering a signed zone needs beside its records: the NSEC owners in canonical order,
//! to find the NSEC that covers a name that does not exist (RFC 4035 §3.1.3), and the
//! signatures at a node over one of its RRsets. The records themselves (DNSKEY, NSEC, RRSIG)
//! are ordinary RRsets of the zone, made by `dnssec::zone::sign` before compiling.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Node, RrSet, Zone};

/// Whether the RRSIG RDATA `sig` expires more than `secs` after `now` (Unix seconds, serial
/// arithmetic as RFC 4034 §3.1.5 has it).
pub fn valid_for_more_than(sig: &[u8], now: u32, secs: u32) -> bool {
    let Some(e) = sig.get(8..12) else {
        return false;
    };
    let expires = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
    i64::from(expires.wrapping_sub(now) as i32) > i64::from(secs)
}

/// Makes RRSIG RDATAs for (owner, type, original TTL, RDATAs).
pub type SignFn = dyn Fn(&[u8], u16, u32, &[Vec<u8>]) -> Vec<Vec<u8>> + Send + Sync;

/// Signatures for policy answers whose records vary with health and chance (a multivalue
/// answer is any subset of its healthy members; an alias answers with its target's records;
/// a load balancer with the addresses of its serving zones): few in practice, so each is
/// made the first time it is answered and kept for the life of this version of the zone (a
/// reload, at the latest the weekly one, starts afresh). Reading is one lock-free load of the
/// map; only a first answer signs, allocates and publishes a new map.
/// Answers' signatures by [`AnswerKey`].
type Made = HashMap<u128, Arc<[Box<[u8]>]>>;

pub struct PolicySigner {
    sign: Box<SignFn>,
    made: arc_swap::ArcSwap<Made>,
    /// Key tags of the keys that sign: a signature by others is not taken over.
    tags: Box<[u16]>,
    /// Seconds a signature taken over must still be valid for.
    keep_for: u32,
}

impl std::fmt::Debug for PolicySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySigner")
            .field("made", &self.made.load().len())
            .finish()
    }
}

/// Names a signed answer by its owner, type, original TTL and records, whatever their order:
/// two sums of keyed SipHash values over the records (128 bits: sums of a weak hash would
/// collide for nearby addresses, and a collision would send another answer's signature),
/// mixed with the owner, type, TTL and count.
#[derive(Debug, Clone, Copy)]
pub struct AnswerKey {
    a: u64,
    b: u64,
    count: u32,
    /// The smallest TTL of the records: the RRSIG's original TTL.
    pub ttl: u32,
}

impl Default for AnswerKey {
    fn default() -> Self {
        AnswerKey {
            a: 0,
            b: 0,
            count: 0,
            ttl: u32::MAX,
        }
    }
}

impl AnswerKey {
    /// Counts one record of the answer.
    #[inline]
    pub fn add(&mut self, rdata: &[u8], ttl: u32) {
        self.a = self.a.wrapping_add(siphash(0, rdata));
        self.b = self.b.wrapping_add(siphash(1, rdata));
        self.count += 1;
        self.ttl = self.ttl.min(ttl);
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The key of this answer at `owner` (lowercase wire form) for `rtype`.
    pub fn finish(&self, owner: &[u8], rtype: u16) -> u128 {
        let mut head = [0u8; 10];
        head[..2].copy_from_slice(&rtype.to_be_bytes());
        head[2..6].copy_from_slice(&self.ttl.to_be_bytes());
        head[6..].copy_from_slice(&self.count.to_be_bytes());
        let mixed = u128::from(siphash(2, &head)) | u128::from(siphash(3, owner)) << 64;
        (u128::from(self.a) << 64 | u128::from(self.b)) ^ mixed
    }
}

/// SipHash-1-3 of `bytes`, one of several independent functions chosen by `which`.
fn siphash(which: u8, bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    h.write_u8(which);
    h.write(bytes);
    h.finish()
}

impl PolicySigner {
    /// Signs with `sign`, made by the keys `tags`; takes over from a previous version only
    /// signatures valid for more than `keep_for` seconds yet.
    pub fn new(sign: Box<SignFn>, tags: &[u16], keep_for: u32) -> Self {
        let mut tags = tags.to_vec();
        tags.sort_unstable();
        PolicySigner {
            sign,
            made: Default::default(),
            tags: tags.into(),
            keep_for,
        }
    }

    /// Signatures over this RRset made now by the zone-signing keys, kept nowhere: for a
    /// patch that signs what it changed (`signed_patch`).
    pub fn sign_now(&self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &[Vec<u8>]) -> Vec<Vec<u8>> {
        (self.sign)(owner, rtype, ttl, rdatas)
    }

    /// The signatures for an answer: those made before, or made now.
    pub fn sigs(
        &self,
        key: u128,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[Vec<u8>],
    ) -> Arc<[Box<[u8]>]> {
        match self.get(key) {
            Some(s) => s,
            None => self.make(key, owner, rtype, ttl, rdatas),
        }
    }

    /// Takes over the signatures `previous` (the version this one replaces) made with this
    /// version's keys that are valid long enough still, at `now` (Unix seconds): a reload
    /// neither pays for them again nor changes what a transfer carries. What this version made
    /// itself meanwhile is kept unless replaced.
    pub fn inherit(&self, previous: &PolicySigner, now: u32) {
        let old = previous.made.load();
        let good = |sigs: &[Box<[u8]>]| {
            let mut by: Vec<u16> = sigs
                .iter()
                .filter(|s| s.len() >= 18)
                .map(|s| u16::from_be_bytes([s[16], s[17]]))
                .collect();
            by.sort_unstable();
            *by == *self.tags
                && sigs
                    .iter()
                    .all(|s| valid_for_more_than(s, now, self.keep_for))
        };
        self.made.rcu(|mine| {
            let mut m = HashMap::clone(mine);
            for (k, v) in old.iter().filter(|(_, sigs)| good(sigs)) {
                m.insert(*k, v.clone());
            }
            m
        });
    }

    /// The signatures already made for the answer `key` stands for.
    #[inline]
    pub fn get(&self, key: u128) -> Option<Arc<[Box<[u8]>]>> {
        self.made.load().get(&key).cloned()
    }

    /// Signs an answer for the first time and keeps its signatures under `key`.
    #[cold]
    pub fn make(
        &self,
        key: u128,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[Vec<u8>],
    ) -> Arc<[Box<[u8]>]> {
        let sigs: Arc<[Box<[u8]>]> = (self.sign)(owner, rtype, ttl, rdatas)
            .into_iter()
            .map(Vec::into_boxed_slice)
            .collect();
        self.made.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.insert(key, sigs.clone());
            m
        });
        sigs
    }
}

/// What answering from an NSEC3 chain needs: the hash parameters, and the NSEC3 records'
/// nodes sorted by the hash their owner names.
#[derive(Debug, Clone)]
pub struct Nsec3Index {
    salt: Box<[u8]>,
    iterations: u16,
    chain: Box<[([u8; 20], u32)]>,
}
use crate::wire::{name, types};

impl Zone {
    /// Whether DO=1 answers carry signatures and proofs: it was signed when it was loaded.
    #[inline]
    pub fn is_signed(&self) -> bool {
        !self.nsec_chain.is_empty() || self.nsec3.is_some()
    }

    /// After compiling a zone signed with NSEC3: its parameters (the apex's NSEC3PARAM) and
    /// its NSEC3 owners sorted by hash.
    pub fn index_nsec3_chain(&mut self) {
        let Some(param) = self
            .rrset(self.apex(), types::NSEC3PARAM)
            .and_then(|s| self.rdatas(s).next())
            .map(<[u8]>::to_vec)
        else {
            return;
        };
        if param.len() < 5 || param.len() < 5 + param[4] as usize {
            return;
        }
        let iterations = u16::from_be_bytes([param[2], param[3]]);
        let salt: Box<[u8]> = param[5..5 + param[4] as usize].into();
        let mut chain: Vec<([u8; 20], u32)> = Vec::new();
        for id in 0..self.nodes.len() as u32 {
            let node = self.node(id);
            if self.rrset(node, types::NSEC3).is_none() {
                continue;
            }
            let owner = self.name(node);
            let label = &owner[1..1 + owner[0] as usize];
            let decoded = data_encoding::BASE32HEX_NOPAD.decode(&label.to_ascii_uppercase());
            if let Ok(h) = decoded {
                if let Ok(h) = <[u8; 20]>::try_from(h.as_slice()) {
                    chain.push((h, id));
                }
            }
        }
        chain.sort_unstable();
        self.nsec3 = Some(Box::new(Nsec3Index {
            salt,
            iterations,
            chain: chain.into_boxed_slice(),
        }));
    }

    /// The NSEC3 chain's parameters and its (hash, node) pairs in hash order, for a patch
    /// that signs what it changed (`signed_patch`).
    pub(super) fn nsec3_parts(
        &self,
    ) -> Option<(crate::dnssec::nsec3::Params, Vec<([u8; 20], u32)>)> {
        let n = self.nsec3.as_deref()?;
        let params = crate::dnssec::nsec3::Params {
            iterations: n.iterations,
            salt: n.salt.to_vec(),
        };
        Some((params, n.chain.to_vec()))
    }

    /// Replaces the NSEC3 chain's (hash, node) pairs, kept in hash order by the caller.
    pub(super) fn set_nsec3_chain(&mut self, chain: Vec<([u8; 20], u32)>) {
        if let Some(n) = self.nsec3.as_deref_mut() {
            n.chain = chain.into_boxed_slice();
        }
    }

    /// The NSEC3 hash of `lower` with the zone's parameters.
    pub fn nsec3_hash(&self, lower: &[u8]) -> Option<[u8; 20]> {
        let n = self.nsec3.as_deref()?;
        Some(crate::wire::nsec3::hash(lower, &n.salt, n.iterations))
    }

    /// The node of the NSEC3 whose owner is `lower`'s hash.
    pub fn nsec3_matching(&self, lower: &[u8]) -> Option<u32> {
        let h = self.nsec3_hash(lower)?;
        let chain = &self.nsec3.as_deref()?.chain;
        chain
            .binary_search_by(|(x, _)| x.cmp(&h))
            .ok()
            .map(|i| chain[i].1)
    }

    /// The node of the NSEC3 that covers `lower`'s hash: the last owner hash below it, or
    /// the last of all (the chain wraps round).
    pub fn nsec3_covering(&self, lower: &[u8]) -> Option<u32> {
        let h = self.nsec3_hash(lower)?;
        let chain = &self.nsec3.as_deref()?.chain;
        let below = chain.partition_point(|(x, _)| *x < h);
        let i = below.checked_sub(1).unwrap_or(chain.len().checked_sub(1)?);
        Some(chain[i].1)
    }

    /// After compiling a zone file: when it was signed elsewhere (DNSKEY and RRSIG at its
    /// apex, as `dnssec-signzone`, `ldns-signzone` or `policydns dnssec sign` write it), index
    /// its NSEC or NSEC3 chain so DO=1 queries get its signatures and proofs, as NSD serves it.
    pub fn index_if_signed(&mut self) {
        let apex = self.apex();
        if self.rrset(apex, types::DNSKEY).is_some() && self.rrset(apex, types::RRSIG).is_some() {
            self.index_nsec_chain();
            self.index_nsec3_chain();
        }
    }

    /// After compiling a signed zone: its NSEC owners in canonical order.
    pub fn index_nsec_chain(&mut self) {
        let mut ids: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&id| self.rrset(self.node(id), types::NSEC).is_some())
            .collect();
        ids.sort_by(|&a, &b| name::canonical_cmp(self.name(self.node(a)), self.name(self.node(b))));
        self.nsec_chain = ids.into_boxed_slice();
    }

    /// The node whose NSEC matches or covers `lower` (a lowercase name in this zone): the
    /// last NSEC owner at or before it in canonical order. `None` for an unsigned zone.
    pub fn nsec_covering(&self, lower: &[u8]) -> Option<u32> {
        let chain = &self.nsec_chain;
        let last = chain.len().checked_sub(1)?;
        let at_or_before = chain
            .partition_point(|&id| name::canonical_cmp(self.name(self.node(id)), lower).is_le());
        // Before the first owner (the apex, so only for names outside the zone): the chain
        // wraps round, and the last NSEC covers it.
        Some(chain[at_or_before.checked_sub(1).unwrap_or(last)])
    }

    /// The RRSIG records at `node` over its `covered` RRset.
    pub fn rrsigs<'z>(&'z self, node: &Node, covered: u16) -> impl Iterator<Item = &'z [u8]> + 'z {
        self.rrset(node, types::RRSIG)
            .into_iter()
            .flat_map(move |s| self.rdatas(s))
            .filter(move |rd| rd.len() >= 2 && u16::from_be_bytes([rd[0], rd[1]]) == covered)
    }

    /// Puts `fresh` (RRSIG RDATAs) in place of the signatures at node `id` over `covered`
    /// made by the same keys (matched by key tag). A signature of another length is left as
    /// it was: the arenas are patched in place.
    pub(super) fn replace_signatures(&mut self, id: u32, covered: u16, fresh: &[Vec<u8>]) {
        let Some(set) = self.rrset(&self.nodes[id as usize], types::RRSIG).copied() else {
            return;
        };
        // RRSIG RDATA holds no compressible names: it sits in the rendered records, each
        // after a 10-octet head (owner pointer, type, class, TTL).
        let span = set.wire;
        let (start, end) = (span.off as usize, (span.off + span.len) as usize);
        let mut at = start;
        while at + 12 <= end {
            let len = u16::from_be_bytes([self.bytes[at + 10], self.bytes[at + 11]]) as usize;
            let rd = at + 12..at + 12 + len;
            let old = &self.bytes[rd.clone()];
            if old.len() >= 18 && u16::from_be_bytes([old[0], old[1]]) == covered {
                let tag = [old[16], old[17]];
                if let Some(new) = fresh
                    .iter()
                    .find(|n| n.len() == len && n.len() >= 18 && n[16..18] == tag)
                {
                    self.bytes[rd.clone()].copy_from_slice(new);
                }
            }
            at = rd.end;
        }
    }

    /// Signs each routing-policy member's records as they answer, under the record set's
    /// name, with `sign(owner, rtype, ttl, rdatas)`: a policy answer is always one member's
    /// whole RRset, so its signatures are made here, once, and a health flip only changes
    /// which member's signatures go out.
    pub fn sign_members(&mut self, sign: impl Fn(&[u8], u16, u32, &[Vec<u8>]) -> Vec<Vec<u8>>) {
        for g in 0..self.groups.len() {
            self.sign_group(g, &sign);
        }
    }

    /// [`sign_members`](Zone::sign_members) for the group `g` alone.
    pub(super) fn sign_group(
        &mut self,
        g: usize,
        sign: impl Fn(&[u8], u16, u32, &[Vec<u8>]) -> Vec<Vec<u8>>,
    ) {
        let group = &self.groups[g];
        if group.owner == super::NONE {
            return;
        }
        let owner = self.name(self.node(group.owner)).to_vec();
        let rtype = group.rtype;
        for m in 0..group.sets.len() {
            let set = self.groups[g].sets[m];
            if set.count == 0 {
                continue; // an alias or a load balancer: no records of its own
            }
            let rdatas: Vec<Vec<u8>> = self.rdatas(&set).map(<[u8]>::to_vec).collect();
            let sigs = sign(&owner, rtype, set.ttl, &rdatas);
            let off = self.bytes.len();
            for s in &sigs {
                self.bytes
                    .extend_from_slice(&(s.len() as u16).to_be_bytes());
                self.bytes.extend_from_slice(s);
            }
            self.groups[g].sets[m].sigs = super::Span::of(&self.bytes, off);
        }
    }

    /// The RRSIG RDATAs [`sign_members`](Zone::sign_members) made for a member's RRset.
    pub fn member_sigs<'z>(&'z self, set: &RrSet) -> impl Iterator<Item = &'z [u8]> + 'z {
        let data = set.sigs.get(&self.bytes);
        let mut at = 0;
        std::iter::from_fn(move || {
            let len = u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?) as usize;
            let r = data.get(at + 2..at + 2 + len)?;
            at += 2 + len;
            Some(r)
        })
    }
}
