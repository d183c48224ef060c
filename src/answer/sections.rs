//! The answer, authority and additional sections of a query the lookup can answer. The query
//! name is followed through CNAMEs and DNAMEs across our zones (RFC 1034 §4.3.2, RFC 6672):
//! at each step [`lookup`] decides where the name is and [`Selector`] decides what its record
//! set answers with; [`Out`] writes it. How the chain ended ([`End`]) decides the authority and
//! additional sections.

use super::lookup::{lookup, Found};
use super::select::{with_random, Piece, Selected, Selector};
use super::signed::{self, Proofs};
use super::small::Small;
use super::writer::{Full, Owner, Writer, AN, AR, NS};
use super::{set_flag, MAX_ADDITIONAL, MAX_CHAIN};
use crate::policy::load_balancer;
use crate::wire::packet::{hflags, rcode, Query, HEADER_LEN};
use crate::wire::{name, types};
use crate::zone::{RrSet, Zone, APEX};

/// How the chain of lookups ended.
enum End<'a> {
    Answered(&'a Zone),
    NoData(&'a Zone),
    NxDomain(&'a Zone),
    Referral(&'a Zone, u32),
    /// The chain left the zones we serve (or looped); the resolver carries on.
    Open,
    /// DNAME substitution overflowed 255 octets (RFC 6672 §2.2).
    YxDomain,
}

/// The RRset in the answer section at the end of the chain, not repeated in additional.
#[derive(Clone, Copy)]
struct Answered<'a> {
    zone: &'a Zone,
    node: u32,
    rtype: u16,
}

/// Where the sections are written, and what they have gathered so far.
struct Out<'w, 'b, 'a> {
    w: &'w mut Writer<'b>,
    /// The zone the question fell into: its apex is the tail of the question, where every
    /// name of the zone compresses to.
    first_zone: &'a Zone,
    apex_at: usize,
    extra: Additional<'a>,
    /// The apex NS RRset is in the answer already (an NS query at the apex, or ANY).
    apex_ns_in_answer: bool,
    answered: Option<Answered<'a>>,
    /// The query set DO: signed zones' answers carry their RRSIGs and NSEC proofs.
    dnssec_ok: bool,
    /// NSEC records for the authority section: what the chain proved absent.
    proofs: Proofs<'a>,
}

/// Fills answer, authority and additional for a query to `zone` (which holds `qname`, the
/// lowercase question name in `name`'s first `len` octets); returns the rcode. `Err(Full)`
/// when a section that must be whole does not fit.
pub(super) fn write<'a>(
    q: &Query,
    zone: &'a Zone,
    name: &mut [u8; 255],
    len: usize,
    w: &mut Writer<'_>,
    sel: &mut Selector<'a>,
) -> Result<u16, Full> {
    set_flag(w.buf(), hflags::AA);
    let apex_at = HEADER_LEN + len - zone.origin.len();
    w.remember_node(zone, APEX, apex_at);
    let mut out = Out {
        w,
        first_zone: zone,
        apex_at,
        extra: Additional::new(),
        apex_ns_in_answer: false,
        answered: None,
        dnssec_ok: q.edns.is_some_and(|e| e.dnssec_ok),
        proofs: Proofs::new(),
    };
    let end = follow(q, zone, name, len, &mut out, sel)?;
    out.finish(end, &sel.snap.options, q)
}

/// Follows the name through our zones, writing each step; returns how the chain ended.
fn follow<'a>(
    q: &Query,
    mut zone: &'a Zone,
    cur: &mut [u8; 255],
    mut cur_len: usize,
    out: &mut Out<'_, '_, 'a>,
    sel: &mut Selector<'a>,
) -> Result<End<'a>, Full> {
    let mut owner_at: u16 = HEADER_LEN as u16;
    // Names already visited, hashed: a CNAME/DNAME loop ends the chain (RFC 1034 §3.6.2).
    let fx = |n: &[u8]| std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, n);
    let mut seen = [0u64; MAX_CHAIN];
    let mut chosen = Selected::new();
    seen[0] = fx(&cur[..cur_len]);
    let mut hops = 0;
    loop {
        let lower = &cur[..cur_len];
        match lookup(zone, lower, q.qtype) {
            Found::NxDomain => {
                if out.signs(zone) {
                    signed::no_name(&mut out.proofs, zone, lower);
                }
                return Ok(End::NxDomain(zone));
            }
            Found::Referral(cut) => return Ok(End::Referral(zone, cut)),
            Found::Node(id) => {
                let node = zone.node(id);
                if hops == 0 && zone.name(node) == lower {
                    // The question names this node: later mentions point at it.
                    out.w.remember_node(zone, id, HEADER_LEN);
                }
                if q.qtype == types::ANY {
                    return out.any(zone, id, owner_at, sel);
                }
                if let Some(set) = zone.rrset(node, q.qtype) {
                    sel.select(zone, set, &mut chosen);
                    if out.pieces(&chosen, owner_at)?.records == 0 {
                        // A routing policy with nothing for this client (§3.5): NODATA.
                        return Ok(End::NoData(zone));
                    }
                    out.sign_answer(zone, id, set, &chosen, owner_at, Some(lower))?;
                    out.answered = Some(Answered {
                        zone,
                        node: id,
                        rtype: q.qtype,
                    });
                    out.extra.add(zone, zone.additional(set));
                    out.apex_ns_in_answer |= q.qtype == types::NS && id == APEX;
                    return Ok(End::Answered(zone));
                }
                let Some(cname) = zone.rrset(node, types::CNAME) else {
                    if out.signs(zone) {
                        signed::no_type(&mut out.proofs, zone, id, lower);
                    }
                    return Ok(End::NoData(zone));
                };
                sel.select(zone, cname, &mut chosen);
                let (Some(target), Some(at)) = (
                    chosen.first_rdata(),
                    out.pieces(&chosen, owner_at)?.first_name_at,
                ) else {
                    // A CNAME policy with nothing for this client: NODATA.
                    return Ok(End::NoData(zone));
                };
                out.sign_answer(zone, id, cname, &chosen, owner_at, Some(lower))?;
                cur_len = target.len();
                cur[..cur_len].copy_from_slice(target);
                owner_at = at;
            }
            Found::Dname(id) => match out.dname(zone, id, cur, &mut cur_len, owner_at)? {
                Some(at) => owner_at = at,
                None => return Ok(End::YxDomain),
            },
        }
        // Follow the chain: next name, lowercased, in whichever of our zones holds it.
        cur[..cur_len].make_ascii_lowercase();
        let h = fx(&cur[..cur_len]);
        if seen[..=hops].contains(&h) || hops + 1 >= MAX_CHAIN {
            return Ok(End::Open);
        }
        hops += 1;
        seen[hops] = h;
        match sel.catalog.find_zone(&cur[..cur_len]) {
            Some(z) => zone = z,
            None => return Ok(End::Open),
        }
    }
}

/// What writing a selection put in.
struct Written {
    records: u16,
    /// Where the last RRset's first RDATA name starts (a CNAME's target: the next owner).
    first_name_at: Option<u16>,
}

impl<'a> Out<'_, '_, 'a> {
    /// ANY (RFC 8482 §4.2): one RRset stands for the rest, over UDP and TCP alike, as NSD
    /// and Knot answer.
    fn any(
        &mut self,
        zone: &'a Zone,
        id: u32,
        owner_at: u16,
        sel: &mut Selector<'a>,
    ) -> Result<End<'a>, Full> {
        let node = zone.node(id);
        if node.is_empty() {
            if self.signs(zone) {
                let lower = zone.name(node);
                signed::no_type(&mut self.proofs, zone, id, lower);
            }
            return Ok(End::NoData(zone));
        }
        // DNSSEC's own records never stand for the rest.
        let data = zone
            .rrsets(node)
            .iter()
            .filter(|s| !matches!(s.rtype, types::RRSIG | types::NSEC | types::NSEC3));
        for set in data.take(1) {
            let mut chosen = Selected::new();
            sel.select(zone, set, &mut chosen);
            self.pieces(&chosen, owner_at)?;
            self.sign_answer(zone, id, set, &chosen, owner_at, None)?;
            self.extra.add(zone, zone.additional(set));
            self.apex_ns_in_answer |= set.rtype == types::NS && id == APEX;
        }
        Ok(End::Answered(zone))
    }

    /// Writes the DNAME at `id` and the CNAME it synthesises (RFC 6672 §3.1, TTL of the
    /// DNAME), substituting the name in `cur`; returns where the new name was written, or
    /// `None` when the substitution would exceed 255 octets (YXDOMAIN, §2.2).
    fn dname(
        &mut self,
        zone: &'a Zone,
        id: u32,
        cur: &mut [u8; 255],
        cur_len: &mut usize,
        owner_at: u16,
    ) -> Result<Option<u16>, Full> {
        let w = &mut *self.w;
        let node = zone.node(id);
        let dname = zone.rrset(node, types::DNAME).expect("flagged DNAME");
        w.rrset(AN, Owner::Node(zone, id), zone, dname, dname.ttl)?;
        if self.dnssec_ok && zone.is_signed() {
            let owner = Owner::Node(zone, id);
            signed::sigs(w, AN, owner, zone, id, types::DNAME, dname.ttl)?;
        }
        let target = zone.rdatas(dname).next().expect("one DNAME");
        let prefix = *cur_len - zone.name(node).len();
        if prefix + target.len() > name::MAX_NAME_LEN {
            return Ok(None);
        }
        cur[prefix..prefix + target.len()].copy_from_slice(target);
        *cur_len = prefix + target.len();
        let m = w.mark();
        let synth = (|| {
            w.u16(0xC000 | owner_at)?;
            w.u16(types::CNAME)?;
            w.u16(types::CLASS_IN)?;
            w.u32(dname.ttl)?;
            let len_at = w.pos;
            w.u16(0)?;
            let at = w.name(&cur[..*cur_len], true)?;
            let rdlen = (w.pos - len_at - 2) as u16;
            w.buf()[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
            Ok::<u16, Full>(at)
        })();
        match synth {
            Ok(at) => {
                w.counts[AN] += 1;
                Ok(Some(at))
            }
            Err(e) => {
                w.reset(m);
                Err(e)
            }
        }
    }

    /// Writes what a record set answers with, under the name at `owner_at`.
    fn pieces(&mut self, chosen: &Selected<'a>, owner_at: u16) -> Result<Written, Full> {
        let mut written = Written {
            records: 0,
            first_name_at: None,
        };
        for piece in chosen.pieces() {
            match *piece {
                Piece::Records(zone, set) => {
                    written.first_name_at = self.records(zone, set, owner_at)?;
                    written.records += set.count;
                }
                Piece::LoadBalancer {
                    lb,
                    serving,
                    dualstack,
                    rtype,
                } => {
                    written.records +=
                        self.load_balancer(lb, serving, dualstack, rtype, owner_at)?
                }
            }
        }
        Ok(written)
    }

    /// Writes an answer RRset: pre-rendered when its owner is the question, record by record
    /// otherwise. Returns where the first RDATA name starts (for a CNAME, the next owner).
    fn records(&mut self, zone: &Zone, set: &RrSet, owner_at: u16) -> Result<Option<u16>, Full> {
        if set.shuffled() {
            let w = &mut *self.w;
            return with_random(|rng| {
                w.rrset_shuffled(AN, Owner::At(owner_at), zone, set, set.ttl, rng)
            });
        }
        if owner_at as usize == HEADER_LEN && std::ptr::eq(zone, self.first_zone) {
            let (bytes, ptrs) = zone.wire(set);
            let base = self
                .w
                .rendered(AN, bytes, ptrs, &[], set.count, self.apex_at as u16)?;
            // Owner pointer, type, class, TTL and RDLENGTH take 12 octets.
            return Ok(Some((base + 12) as u16));
        }
        self.w.rrset(AN, Owner::At(owner_at), zone, set, set.ttl)
    }

    /// A load balancer's node addresses in the zones that serve; returns how many.
    fn load_balancer(
        &mut self,
        lb: &load_balancer::LoadBalancer,
        serving: u64,
        dualstack: bool,
        rtype: u16,
        owner_at: u16,
    ) -> Result<u16, Full> {
        let w = &mut *self.w;
        let m = w.mark();
        let mut n = 0u16;
        let written = lb.try_each_address(serving, rtype, dualstack, |rdata| {
            n += 1;
            w.record(
                Owner::At(owner_at),
                rtype,
                types::CLASS_IN,
                load_balancer::TTL,
                rdata,
                None,
            )
            .map(|_| ())
        });
        if let Err(e) = written {
            w.reset(m);
            return Err(e);
        }
        w.counts[AN] += n;
        Ok(n)
    }

    /// Authority and additional for how the chain ended; returns the rcode.
    fn finish(
        &mut self,
        end: End<'a>,
        options: &crate::snapshot::Options,
        q: &Query,
    ) -> Result<u16, Full> {
        let answered = self
            .answered
            .map(|a| (a.zone as *const Zone, a.node, a.rtype));
        let rc = match end {
            End::Answered(z) => {
                // Like NSD, no NS RRset for the types a validator or an ANY client asks for
                // (type or class): those answers are large enough, and the NS adds nothing.
                let wants_ns = !matches!(q.qtype, types::DS | types::DNSKEY | types::ANY)
                    && q.qclass != types::CLASS_ANY;
                // A signed answer carries its proofs there instead (a wildcard's), and
                // stays small.
                let signed = self.signs(z);
                if !options.minimal_responses && !self.apex_ns_in_answer && wants_ns && !signed {
                    self.authority_ns(z);
                }
                signed::write_proofs(self.w, NS, &self.proofs)?;
                self.extra.write(self.w, answered);
                rcode::NOERROR
            }
            End::NoData(z) | End::NxDomain(z) => {
                // RFC 2308 §3: SOA in authority, TTL bounded by the SOA MINIMUM.
                let soa = &z.negative_soa;
                if std::ptr::eq(z, self.first_zone) {
                    let (bytes, ptrs) = z.wire(soa);
                    self.w
                        .rendered(NS, bytes, ptrs, &[], 1, self.apex_at as u16)?;
                } else {
                    self.w.rrset(NS, Owner::Node(z, APEX), z, soa, soa.ttl)?;
                }
                if self.signs(z) {
                    let apex = Owner::Node(z, APEX);
                    signed::sigs(self.w, NS, apex, z, APEX, types::SOA, soa.ttl)?;
                }
                signed::write_proofs(self.w, NS, &self.proofs)?;
                if matches!(end, End::NxDomain(_)) {
                    rcode::NXDOMAIN
                } else {
                    rcode::NOERROR
                }
            }
            End::Referral(z, cut) => {
                if self.w.counts[AN] == 0 {
                    // Not authoritative for what lies below the cut (RFC 1034 §4.3.2).
                    let f = u16::from_be_bytes([self.w.buf()[2], self.w.buf()[3]]) & !hflags::AA;
                    self.w.buf()[2..4].copy_from_slice(&f.to_be_bytes());
                }
                let node = z.node(cut);
                let ns = z.rrset(node, types::NS).expect("a cut has NS");
                self.w.rrset(NS, Owner::Node(z, cut), z, ns, ns.ttl)?;
                if self.signs(z) {
                    // The DS and its signatures, or the NSEC proving there is none: the
                    // child is signed, or provably not (RFC 4035 §3.1.4).
                    match z.rrset(node, types::DS) {
                        Some(ds) => {
                            let owner = Owner::Node(z, cut);
                            self.w.rrset(NS, owner, z, ds, ds.ttl)?;
                            signed::sigs(self.w, NS, owner, z, cut, types::DS, ds.ttl)?;
                        }
                        None => signed::no_ds(self.w, NS, z, cut)?,
                    }
                }
                signed::write_proofs(self.w, NS, &self.proofs)?;
                let mut glue = Additional::new();
                glue.add(z, z.additional(ns));
                self.extra.write(self.w, answered);
                if !glue.write(self.w, None) {
                    // RFC 9471: glue the referral needs did not fit.
                    set_flag(self.w.buf(), hflags::TC);
                }
                rcode::NOERROR
            }
            End::Open => {
                signed::write_proofs(self.w, NS, &self.proofs)?;
                self.extra.write(self.w, answered);
                rcode::NOERROR
            }
            End::YxDomain => rcode::YXDOMAIN,
        };
        Ok(rc)
    }

    /// For a signed answer, the signatures of the RRset `set` of node `id` that `chosen` wrote
    /// under the name at `owner_at` (a policy answer's, or the node's own); and when the node
    /// is a wildcard that matched `lower`, the proof that no closer name exists. Nothing for
    /// an unsigned one.
    fn sign_answer(
        &mut self,
        zone: &'a Zone,
        id: u32,
        set: &RrSet,
        chosen: &Selected<'a>,
        owner_at: u16,
        lower: Option<&[u8]>,
    ) -> Result<(), Full> {
        if !self.signs(zone) {
            return Ok(());
        }
        let rtype = set.rtype;
        if set.group().is_some() {
            signed::policy_sigs(self.w, AN, owner_at, zone, id, rtype, chosen)?;
        } else {
            signed::sigs(self.w, AN, Owner::At(owner_at), zone, id, rtype, set.ttl)?;
        }
        if let Some(lower) = lower.filter(|l| *l != zone.name(zone.node(id))) {
            signed::expanded(&mut self.proofs, zone, lower, id);
        }
        Ok(())
    }

    /// Whether answers from `zone` carry signatures: it is signed and the query set DO.
    #[inline]
    fn signs(&self, zone: &Zone) -> bool {
        self.dnssec_ok && zone.is_signed()
    }

    /// The zone's NS RRset in authority, with its servers' addresses in additional: one copy
    /// of the pre-rendered tail in the common case. Optional: left out if it does not fit.
    fn authority_ns(&mut self, z: &'a Zone) {
        let tail = &z.ns_tail;
        // The common case: nothing else for the additional section, and the answer is not
        // one of the servers' own addresses (which would repeat there).
        let fast = std::ptr::eq(z, self.first_zone)
            && self.extra.items.is_empty()
            && !self
                .answered
                .is_some_and(|a| std::ptr::eq(a.zone, z) && tail.glue.contains(&a.node));
        if fast
            && self
                .w
                .template(NS, &tail.wire, 0, self.apex_at as u16)
                .is_ok()
        {
            self.w.counts[NS] += tail.ns_count;
            self.w.counts[AR] += tail.glue_count;
        } else if let Some(ns) = z.rrset(z.apex(), types::NS) {
            if self
                .w
                .rrset(NS, Owner::Node(z, APEX), z, ns, ns.ttl)
                .is_ok()
            {
                self.extra.add(z, z.additional(ns));
            }
        }
    }
}

/// Nodes whose A/AAAA go into the additional section, without duplicates.
struct Additional<'a> {
    items: Small<(&'a Zone, u32), MAX_ADDITIONAL>,
}

impl<'a> Additional<'a> {
    fn new() -> Self {
        Additional {
            items: Small::new(),
        }
    }

    fn add(&mut self, zone: &'a Zone, ids: &[u32]) {
        for &id in ids {
            let dup = self
                .items
                .as_slice()
                .iter()
                .any(|&(z, i)| std::ptr::eq(z, zone) && i == id);
            if !dup {
                self.items.push((zone, id));
            }
        }
    }

    /// Writes what fits; returns false if something was left out. `answered` (zone, node,
    /// type) is the RRset already in the answer section, not repeated here.
    fn write(&self, w: &mut Writer<'_>, answered: Option<(*const Zone, u32, u16)>) -> bool {
        for (zone, id) in self.items.as_slice() {
            let node = zone.node(*id);
            for t in [types::A, types::AAAA] {
                if answered
                    .is_some_and(|(az, aid, at)| std::ptr::eq(az, *zone) && aid == *id && at == t)
                {
                    continue;
                }
                if let Some(set) = zone.rrset(node, t) {
                    if w.rrset(AR, Owner::Node(zone, *id), zone, set, set.ttl)
                        .is_err()
                    {
                        return false;
                    }
                }
            }
        }
        true
    }
}
