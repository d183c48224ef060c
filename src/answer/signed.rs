//! DNSSEC in answers (RFC 4035 §3.1), for a query with DO=1 to a zone signed when it was
//! loaded: the RRSIGs beside each authoritative RRset, and the NSEC records that prove a name
//! or type absent, all read from the zone (nothing is signed at query time, nothing
//! allocated).

use super::small::Small;
use super::writer::{Full, Owner, Writer};
use crate::wire::{name, types};
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
    let m = w.mark();
    let mut n = 0u16;
    for rd in zone.rrsigs(zone.node(id), covered) {
        if let Err(e) = w.record(owner, types::RRSIG, types::CLASS_IN, ttl, rd, None) {
            w.reset(m);
            return Err(e);
        }
        n += 1;
    }
    w.counts[section] += n;
    Ok(())
}

/// Writes the signatures a routing-policy member's RRset `set` was given at load, under the
/// name at `owner_at`. All or nothing.
pub(super) fn member_sigs(
    w: &mut Writer<'_>,
    section: usize,
    owner_at: u16,
    zone: &Zone,
    set: &crate::zone::RrSet,
) -> Result<(), Full> {
    let m = w.mark();
    let mut n = 0u16;
    for rd in zone.member_sigs(set) {
        let r = w.record(
            Owner::At(owner_at),
            types::RRSIG,
            types::CLASS_IN,
            set.ttl,
            rd,
            None,
        );
        if let Err(e) = r {
            w.reset(m);
            return Err(e);
        }
        n += 1;
    }
    w.counts[section] += n;
    Ok(())
}

/// Writes the NSEC at node `id` and its signatures.
pub(super) fn nsec(w: &mut Writer<'_>, section: usize, zone: &Zone, id: u32) -> Result<(), Full> {
    let Some(set) = zone.rrset(zone.node(id), types::NSEC) else {
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
        types::NSEC,
        set.ttl,
    )
    .inspect_err(|_| {
        w.reset(m);
    })
}

/// Adds a proof once.
pub(super) fn add<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, id: u32) {
    let dup = proofs
        .as_slice()
        .iter()
        .any(|&(z, i)| std::ptr::eq(z, zone) && i == id);
    if !dup {
        proofs.push((zone, id));
    }
}

/// NXDOMAIN (RFC 4035 §3.1.3.2): the NSEC covering `lower`, and the one covering the
/// wildcard at its closest encloser, which would otherwise have matched it.
pub(super) fn no_name<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, lower: &[u8]) {
    if let Some(id) = zone.nsec_covering(lower) {
        add(proofs, zone, id);
    }
    let mut encloser = lower;
    while let Some(p) = name::parent(encloser) {
        encloser = p;
        if zone.find(encloser).is_some() || encloser.len() <= zone.origin.len() {
            break;
        }
    }
    let mut wildcard = [0u8; name::MAX_NAME_LEN];
    if encloser.len() + 2 <= wildcard.len() {
        wildcard[..2].copy_from_slice(b"\x01*");
        wildcard[2..2 + encloser.len()].copy_from_slice(encloser);
        if let Some(id) = zone.nsec_covering(&wildcard[..2 + encloser.len()]) {
            add(proofs, zone, id);
        }
    }
}

/// NODATA (RFC 4035 §3.1.3.1, §3.1.3.4): the NSEC at the name (node `id`); for an empty
/// non-terminal, which has none, the NSEC covering it; for a wildcard's node, also the NSEC
/// proving that `lower` itself does not exist.
pub(super) fn no_type<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, id: u32, lower: &[u8]) {
    let node = zone.node(id);
    if zone.rrset(node, types::NSEC).is_some() {
        add(proofs, zone, id);
    } else if let Some(c) = zone.nsec_covering(lower) {
        add(proofs, zone, c);
    }
    if zone.name(node) != lower {
        expanded(proofs, zone, lower);
    }
}

/// An answer synthesised from a wildcard (RFC 4035 §3.1.3.3): the NSEC proving that no
/// closer match for `lower` exists.
pub(super) fn expanded<'a>(proofs: &mut Proofs<'a>, zone: &'a Zone, lower: &[u8]) {
    if let Some(c) = zone.nsec_covering(lower) {
        add(proofs, zone, c);
    }
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
