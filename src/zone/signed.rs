//! What answering a signed zone needs beside its records: the NSEC owners in canonical order,
//! to find the NSEC that covers a name that does not exist (RFC 4035 §3.1.3), and the
//! signatures at a node over one of its RRsets. The records themselves (DNSKEY, NSEC, RRSIG)
//! are ordinary RRsets of the zone, made by `dnssec::zone::sign` before compiling.

use super::{Node, RrSet, Zone};
use crate::wire::{name, types};

impl Zone {
    /// Whether DO=1 answers carry signatures and proofs: it was signed when it was loaded.
    #[inline]
    pub fn is_signed(&self) -> bool {
        !self.nsec_chain.is_empty()
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
            let group = &self.groups[g];
            if group.owner == super::NONE {
                continue;
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
