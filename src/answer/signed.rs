//! DNSSEC in answers (RFC 4035 §3.1), for a query with DO=1 to a signed zone: the RRSIGs
//! beside each authoritative RRset, and the NSEC or NSEC3 records that prove a name or type
//! absent, all read from the zone without allocating. Only a policy answer given for the first
//! time (a multivalue subset, an alias's or a load balancer's answer) is signed here, once.

use super::select::{Piece, Selected};
use super::small::Small;
use super::writer::{Full, Owner, Writer};
use crate::policy::load_balancer;
use crate::wire::{name, types};
use crate::zone::signed::AnswerKey;
use crate::zone::Zone;

/// The NSEC records an answer's authority section needs: at most two per denial (the name,
/// and the wildcard that could have matched it) and one per wildcard expansion in a chain.
pub(super) type Proofs<'a> = Small<(&'a Zone, u32), 8>;

/// Writes `zone`'s signatures over the `covered` RRset at node `id`, owned by `owner`, with
/// the TTL that RRset went out with. All or nothing.
pub(super) fn sigs(
    w: &mut Writer<'_>,
    section: usize,
    owner: Owner<'_>,
    zone: &Zone,
    id: u32,
    covered: u16,
    ttl: u32,
) -> Result<(), Full> {
    write_sigs(w, section, owner, ttl, zone.rrsigs(zone.node(id), covered))
}

/// Writes the signatures of a policy answer: the records `chosen` wrote under the name at
/// `owner_at` for the record set `rtype` at node `id`. One member's own records carry the
/// signatures made for them at load; any other answer (a multivalue subset, an alias's target,
/// a load balancer's addresses) those its [`PolicySigner`](crate::zone::signed) made the first
/// time it was given. All or nothing.
pub(super) fn policy_sigs(
    w: &mut Writer<'_>,
    section: usize,
    owner_at: u16,
    zone: &Zone,
    id: u32,
    rtype: u16,
    chosen: &Selected<'_>,
) -> Result<(), Full> {
    let pieces = chosen.pieces();
    // Only this record set's own members were signed under its name (an alias to another
    // record set may answer with one of that set's members).
    let own = zone
        .rrset(zone.node(id), rtype)
        .and_then(|s| s.group())
        .map(|g| &zone.groups[g].sets[..]);
    if let ([Piece::Records(z, set)], Some(own)) = (pieces, own) {
        let member = std::ptr::eq(*z, zone) && own.iter().any(|m| std::ptr::eq(m, *set));
        if member && zone.member_sigs(set).next().is_some() {
            let sigs = zone.member_sigs(set);
            return write_sigs(w, section, Owner::At(owner_at), set.ttl, sigs);
        }
    }
    let Some(signer) = zone.policy_signer.as_deref() else {
        return Ok(());
    };
    let mut answer = AnswerKey::default();
    each_rdata(pieces, |rd, t| answer.add(rd, t));
    if answer.is_empty() {
        return Ok(());
    }
    let owner = zone.name(zone.node(id));
    let key = answer.finish(owner, rtype);
    let ttl = answer.ttl;
    let sigs = match signer.get(key) {
        Some(s) => s,
        None => {
            let mut rdatas = Vec::new();
            each_rdata(pieces, |rd, _| rdatas.push(rd.to_vec()));
            signer.make(key, owner, rtype, ttl, &rdatas)
        }
    };
    write_sigs(
        w,
        section,
        Owner::At(owner_at),
        ttl,
        sigs.iter().map(|s| &s[..]),
    )
}

/// Each record a policy answer's pieces write, with its TTL, as the writer writes them.
fn each_rdata(pieces: &[Piece<'_>], mut f: impl FnMut(&[u8], u32)) {
    for piece in pieces {
        match *piece {
            Piece::Records(z, set) => z.rdatas(set).for_each(|rd| f(rd, set.ttl)),
            Piece::LoadBalancer {
                lb,
                serving,
                dualstack,
                rtype,
            } => {
                let each = lb.try_each_address(serving, rtype, dualstack, |rd| {
                    f(rd, load_balancer::TTL);
                    Ok::<(), std::convert::Infallible>(())
                });
                let Ok(()) = each;
            }
        }
    }
}

/// Writes RRSIG records with these RDATAs under `owner`. All or nothing.
fn write_sigs<'s>(
    w: &mut Writer<'_>,
    section: usize,
    owner: Owner<'_>,
    ttl: u32,
    sigs: impl Iterator<Item = &'s [u8]>,
) -> Result<(), Full> {
    let m = w.mark();
    let mut n = 0u16;
    for rd in sigs {
        if let Err(e) = w.record(owner, types::RRSIG, types::CLASS_IN, ttl, rd, None) {
            w.reset(m);
            return Err(e);
        }
        n += 1;
    }
    w.counts[section] += n;
    Ok(())
}

/// Writes the NSEC or NSEC3 at node `id` and its signatures.
pub(super) fn nsec(w: &mut Writer<'_>, section: usize, zone: &Zone, id: u32) -> Result<(), Full> {
    let node = zone.node(id);
    let Some(set) = zone
        .rrset(node, types::NSEC)
        .or_else(|| zone.rrset(node, types::NSEC3))
    else {
        return Ok(());
    };
    let m = w.mark();
    w.rrset(section, Owner::Node(zone, id), zone, set, set.ttl)?;
    sigs(
        w,
        section,
        Owner::Node(zone, id),
        zone,
        id,
        set.rtype,
        set.ttl,
    )
    .inspect_err(|_| {
        w.reset(m);
    })
}

/// At a delegation with no DS: the NSEC (or NSEC3) of the cut, whose bitmap has NS and no DS
/// (RFC 4035 §3.1.4, RFC 5155 §7.2.7). In an NSEC3 zone signed with opt-out (elsewhere), an
/// unsigned delegation may have no NSEC3: then the closest provable encloser's NSEC3 and the
/// opt-out NSEC3 covering the next closer name.
pub(super) fn no_ds(w: &mut Writer<'_>, section: usize, zone: &Zone, cut: u32) -> Result<(), Full> {
    if zone.nsec3.is_none() {
        return nsec(w, section, zone, cut);
    }
    let owner = zone.name(zone.node(cut));
    if let Some(id) = zone.nsec3_matching(owner) {
        return nsec(w, section, zone, id);
    }
    let (encloser, matching) = closest_provable_encloser(zone, owner);
    let covering = zone.nsec3_covering(next_closer(owner, encloser));
    for id in [matching, covering.filter(|&c| Some(c) != matching)]
        .into_iter()
        .flatten()
    {
        nsec(w, section, zone, id)?;
    }
    Ok(())
}

/// The closest ancestor of `lower` that has an NSEC3 (RFC 5155 §7.2.1), and that NSEC3; the
/// apex at the latest. In a zone without opt-out every name has one; with opt-out, names that
/// lead only to unsigned delegations may not.
fn closest_provable_encloser<'n>(zone: &Zone, lower: &'n [u8]) -> (&'n [u8], Option<u32>) {
    let mut encloser = lower;
    while let Some(p) = name::parent(encloser) {
        encloser = p;
        let matching = zone.nsec3_matching(encloser);
        if matching.is_some() || encloser.len() <= zone.origin.len() {
            return (encloser, matching);
        }
    }
    (encloser, None)
}

/// Adds a proof once.
pub(super) fn add<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, id: Option<u32>) {
    let Some(id) = id else { return };
    let dup = proofs
        .as_slice()
        .iter()
        .any(|&(z, i)| std::ptr::eq(z, zone) && i == id);
    if !dup {
        proofs.push((zone, id));
    }
}

/// The closest encloser of `lower`, a name the zone does not have: its longest ancestor that
/// exists (the apex at least).
fn closest_encloser<'n>(zone: &Zone, lower: &'n [u8]) -> &'n [u8] {
    let mut encloser = lower;
    while let Some(p) = name::parent(encloser) {
        encloser = p;
        if encloser.len() <= zone.origin.len() || zone.find(encloser).is_some() {
            break;
        }
    }
    encloser
}

/// The next closer name (RFC 5155 §1.3): `lower` cut to one label below `encloser`.
fn next_closer<'n>(lower: &'n [u8], encloser: &[u8]) -> &'n [u8] {
    let mut cur = lower;
    while let Some(p) = name::parent(cur) {
        if p.len() <= encloser.len() {
            break;
        }
        cur = p;
    }
    cur
}

/// `*.encloser`, in `buf`; `None` when it would be too long.
fn wildcard_at<'b>(encloser: &[u8], buf: &'b mut [u8; name::MAX_NAME_LEN]) -> Option<&'b [u8]> {
    let n = encloser.len() + 2;
    if n > buf.len() {
        return None;
    }
    buf[..2].copy_from_slice(b"\x01*");
    buf[2..n].copy_from_slice(encloser);
    Some(&buf[..n])
}

/// NXDOMAIN. NSEC (RFC 4035 §3.1.3.2): the NSEC covering `lower`, and the one covering the
/// wildcard at its closest encloser, which would otherwise have matched it. NSEC3 (RFC 5155
/// §7.2.2): the closest encloser's own NSEC3, and those covering the next closer name and the
/// wildcard.
pub(super) fn no_name<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, lower: &[u8]) {
    let encloser = closest_encloser(zone, lower);
    let mut buf = [0u8; name::MAX_NAME_LEN];
    let wildcard = wildcard_at(encloser, &mut buf);
    if zone.nsec3.is_some() {
        // With opt-out, the closest encloser may have no NSEC3 (an empty non-terminal above
        // unsigned delegations only): the closest one that has is proved instead.
        let (encloser, matching) = match zone.nsec3_matching(encloser) {
            Some(m) => (encloser, Some(m)),
            None => closest_provable_encloser(zone, encloser),
        };
        add(proofs, zone, matching);
        add(
            proofs,
            zone,
            zone.nsec3_covering(next_closer(lower, encloser)),
        );
        let mut buf = [0u8; name::MAX_NAME_LEN];
        if let Some(w) = wildcard_at(encloser, &mut buf) {
            add(proofs, zone, zone.nsec3_covering(w));
        }
        return;
    }
    add(proofs, zone, zone.nsec_covering(lower));
    if let Some(w) = wildcard {
        add(proofs, zone, zone.nsec_covering(w));
    }
}

/// NODATA at node `id`, which answered `lower` (itself, or a wildcard that matched it).
/// NSEC (RFC 4035 §3.1.3.1, §3.1.3.4): the NSEC at the name (for an empty non-terminal,
/// which has none, the NSEC covering it); for a wildcard, also the proof that `lower` itself
/// does not exist. NSEC3 (RFC 5155 §7.2.3, §7.2.5): the name's NSEC3; for a wildcard, the
/// closest encloser's, the one covering the next closer name, and the wildcard's.
pub(super) fn no_type<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, id: u32, lower: &[u8]) {
    let node = zone.node(id);
    let owner = zone.name(node);
    let exact = owner == lower;
    if zone.nsec3.is_some() {
        let matching = zone.nsec3_matching(owner);
        if exact && matching.is_none() {
            // No NSEC3 at the name: an unsigned delegation in an opt-out span (a DS query,
            // RFC 5155 §7.2.4): the closest provable encloser proof, the covering NSEC3 having
            // the opt-out flag.
            let (encloser, m) = closest_provable_encloser(zone, owner);
            add(proofs, zone, m);
            add(
                proofs,
                zone,
                zone.nsec3_covering(next_closer(lower, encloser)),
            );
            return;
        }
        add(proofs, zone, matching);
        if !exact {
            let encloser = name::parent(owner).unwrap_or(owner);
            add(proofs, zone, zone.nsec3_matching(encloser));
            add(
                proofs,
                zone,
                zone.nsec3_covering(next_closer(lower, encloser)),
            );
        }
        return;
    }
    if zone.rrset(node, types::NSEC).is_some() {
        add(proofs, zone, Some(id));
    } else {
        add(proofs, zone, zone.nsec_covering(lower));
    }
    if !exact {
        add(proofs, zone, zone.nsec_covering(lower));
    }
}

/// An answer synthesised from the wildcard at node `wildcard` (RFC 4035 §3.1.3.3, RFC 5155
/// §7.2.6): the proof that no closer match for `lower` exists.
pub(super) fn expanded<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, lower: &[u8], wildcard: u32) {
    if zone.nsec3.is_some() {
        let owner = zone.name(zone.node(wildcard));
        let encloser = name::parent(owner).unwrap_or(owner);
        add(
            proofs,
            zone,
            zone.nsec3_covering(next_closer(lower, encloser)),
        );
        return;
    }
    add(proofs, zone, zone.nsec_covering(lower));
}

/// Writes the proofs, each NSEC with its signatures; all must fit.
pub(super) fn write_proofs(
    w: &mut Writer<'_>,
    section: usize,
    proofs: &Proofs<'_>,
) -> Result<(), Full> {
    for &(zone, id) in proofs.as_slice() {
        nsec(w, section, zone, id)?;
    }
    Ok(())
}
