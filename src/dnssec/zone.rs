//! A whole zone signed ahead of time: what a query never has to wait for. The DNSKEY RRset at
//! the apex, an NSEC chain over every authoritative name and delegation point, and an RRSIG
//! for each authoritative RRset (RFC 4035 §2).

use std::collections::BTreeMap;

use super::key::SECURE_ENTRY_POINT;
use super::sign::{rrsig, Validity};
use super::{nsec, Key};
use crate::wire::{name, types};

/// One record, uncompressed wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    pub owner: Vec<u8>,
    pub ttl: u32,
    pub rtype: u16,
    pub rdata: Vec<u8>,
}

/// Why a zone cannot be signed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("zone {0} has no SOA at its apex")]
    NoSoa(String),
    #[error("no key to sign zone {0} with")]
    NoKey(String),
}

/// The records to add to `records` (the zone `origin`, lowercase wire form) to sign it with
/// `keys`: DNSKEY, CDS, CDNSKEY, NSEC and RRSIG. Keys with the SEP flag sign the DNSKEY, CDS
/// and CDNSKEY RRsets and the others the rest; a zone with one kind of key signs everything
/// with it (a combined signing key).
pub fn sign(
    origin: &[u8],
    records: &[Rr],
    keys: &[Key],
    validity: Validity,
) -> Result<Vec<Rr>, SignError> {
    let text = name::to_text(origin);
    if keys.is_empty() {
        return Err(SignError::NoKey(text));
    }
    // RRsets by owner (canonical order) and type.
    let mut sets: BTreeMap<Canonical, BTreeMap<u16, (u32, Vec<Vec<u8>>)>> = BTreeMap::new();
    for r in records {
        let e = sets
            .entry(Canonical(name::to_lowercase(&r.owner)))
            .or_default()
            .entry(r.rtype)
            .or_insert((r.ttl, Vec::new()));
        if !e.1.contains(&r.rdata) {
            e.1.push(r.rdata.clone());
        }
    }
    let apex = Canonical(name::to_lowercase(origin));
    let (soa_ttl, soa_minimum) = match sets.get(&apex).and_then(|s| s.get(&types::SOA)) {
        Some((ttl, rd)) if rd[0].len() >= 4 => {
            let m = &rd[0][rd[0].len() - 4..];
            (*ttl, u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
        }
        _ => return Err(SignError::NoSoa(text)),
    };
    // RFC 9077: NSEC records take the negative-caching TTL.
    let nsec_ttl = soa_ttl.min(soa_minimum);
    let dnskeys: Vec<Vec<u8>> = keys.iter().map(Key::dnskey_rdata).collect();
    // CDS and CDNSKEY (RFC 7344) name the secure entry points, so a parent that polls them
    // (RFC 8078) can set and keep the DS without a manual step.
    let entry_points: Vec<&Key> = {
        let sep: Vec<&Key> = keys
            .iter()
            .filter(|k| k.flags == SECURE_ENTRY_POINT)
            .collect();
        if sep.is_empty() {
            keys.iter().collect()
        } else {
            sep
        }
    };
    let apex_sets = sets.get_mut(&apex).expect("the apex has the SOA");
    apex_sets.insert(types::DNSKEY, (soa_ttl, dnskeys));
    apex_sets.insert(
        types::CDNSKEY,
        (
            soa_ttl,
            entry_points.iter().map(|k| k.dnskey_rdata()).collect(),
        ),
    );
    apex_sets.insert(
        types::CDS,
        (
            soa_ttl,
            entry_points.iter().map(|k| k.ds_rdata(&apex.0)).collect(),
        ),
    );
    // Delegation points (NS below the apex), and the names under them: glue and occluded
    // data, neither signed nor in the chain.
    let cuts: Vec<Vec<u8>> = sets
        .iter()
        .filter(|(n, s)| **n != apex && s.contains_key(&types::NS))
        .map(|(n, _)| n.0.clone())
        .collect();
    let below_cut = |n: &[u8]| {
        cuts.iter()
            .any(|c| n != c.as_slice() && name::is_subdomain(n, c))
    };
    let names: Vec<Canonical> = sets
        .keys()
        .filter(|n| name::is_subdomain(&n.0, &apex.0) && !below_cut(&n.0))
        .cloned()
        .collect();
    let (sep, others): (Vec<&Key>, Vec<&Key>) =
        keys.iter().partition(|k| k.flags == SECURE_ENTRY_POINT);
    let key_sigs: Vec<&Key> = if sep.is_empty() {
        others.clone()
    } else {
        sep.clone()
    };
    let data_sigs: Vec<&Key> = if others.is_empty() { sep } else { others };
    let mut out = Vec::new();
    for (i, owner) in names.iter().enumerate() {
        let at = sets.get(owner).expect("a name of the zone");
        let is_cut = cuts.contains(&owner.0);
        // At a cut only NS and DS belong to this zone (RFC 4035 §2.3); DS alone is signed.
        let mut present: Vec<u16> = at
            .keys()
            .copied()
            .filter(|t| !is_cut || matches!(*t, types::NS | types::DS))
            .collect();
        present.extend([types::NSEC, types::RRSIG]);
        let next = &names[(i + 1) % names.len()].0;
        let nsec_rdata = nsec::rdata(next, &present);
        out.push(Rr {
            owner: owner.0.clone(),
            ttl: nsec_ttl,
            rtype: types::NSEC,
            rdata: nsec_rdata.clone(),
        });
        let mut to_sign: Vec<(u16, u32, Vec<Vec<u8>>)> = at
            .iter()
            .filter(|(t, _)| !is_cut || **t == types::DS)
            .map(|(t, (ttl, rd))| (*t, *ttl, rd.clone()))
            .collect();
        to_sign.push((types::NSEC, nsec_ttl, vec![nsec_rdata]));
        for (rtype, ttl, rdatas) in to_sign {
            // The key set and the CDS/CDNSKEY that point the parent at it are signed by the
            // keys the parent's DS names (RFC 7344 §4.1).
            let published = matches!(rtype, types::DNSKEY | types::CDS | types::CDNSKEY);
            let signers = if published { &key_sigs } else { &data_sigs };
            if published {
                for rd in &rdatas {
                    out.push(Rr {
                        owner: owner.0.clone(),
                        ttl,
                        rtype,
                        rdata: rd.clone(),
                    });
                }
            }
            for k in signers {
                out.push(Rr {
                    owner: owner.0.clone(),
                    ttl,
                    rtype: types::RRSIG,
                    rdata: rrsig(k, origin, &owner.0, rtype, ttl, &rdatas, validity),
                });
            }
        }
    }
    Ok(out)
}

/// A name ordered canonically (RFC 4034 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Canonical(Vec<u8>);

impl Ord for Canonical {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        nsec::canonical_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for Canonical {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A DNSSEC record this module makes, in master-file form (absolute names; times as Unix
/// seconds, which RFC 4034 §3.2 allows): for writing a signed zone out.
pub fn to_text(rr: &Rr) -> Option<String> {
    let b64 = |b: &[u8]| data_encoding::BASE64.encode(b);
    let owner = name::to_text(&rr.owner);
    let d = &rr.rdata;
    let rdata = match rr.rtype {
        types::DNSKEY | types::CDNSKEY => format!(
            "{} {} {} {}",
            u16::from_be_bytes([d[0], d[1]]),
            d[2],
            d[3],
            b64(&d[4..])
        ),
        types::RRSIG => {
            let signer_len = crate::zone::rdata::wire_name_len(&d[18..])?;
            format!(
                "{} {} {} {} {} {} {} {} {}",
                types::mnemonic(u16::from_be_bytes([d[0], d[1]])),
                d[2],
                d[3],
                u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
                u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
                u32::from_be_bytes([d[12], d[13], d[14], d[15]]),
                u16::from_be_bytes([d[16], d[17]]),
                name::to_text(&d[18..18 + signer_len]),
                b64(&d[18 + signer_len..])
            )
        }
        types::NSEC => {
            let n = crate::zone::rdata::wire_name_len(d)?;
            let mut s = name::to_text(&d[..n]);
            let mut at = n;
            while at + 2 <= d.len() {
                let (window, len) = (d[at] as u16, d[at + 1] as usize);
                for (i, byte) in d[at + 2..at + 2 + len].iter().enumerate() {
                    for bit in 0..8 {
                        if byte & (0x80 >> bit) != 0 {
                            s.push(' ');
                            s.push_str(&types::mnemonic(window * 256 + (i * 8 + bit) as u16));
                        }
                    }
                }
                at += 2 + len;
            }
            s
        }
        types::DS | types::CDS => format!(
            "{} {} {} {}",
            u16::from_be_bytes([d[0], d[1]]),
            d[2],
            d[3],
            data_encoding::HEXUPPER.encode(&d[4..])
        ),
        _ => return None,
    };
    Some(format!(
        "{owner} {} IN {} {rdata}",
        rr.ttl,
        types::mnemonic(rr.rtype)
    ))
}
