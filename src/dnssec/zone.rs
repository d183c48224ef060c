//! A whole zone signed ahead of time: what a query never has to wait for. The DNSKEY RRset at
//! the apex, an NSEC chain over every authoritative name and delegation point, and an RRSIG
//! for each authoritative RRset (RFC 4035 §2).

use std::collections::BTreeMap;

use super::key::SECURE_ENTRY_POINT;
use super::sign::{rrsig, Validity};
use super::{nsec, nsec3, Key};
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
    #[error("two names of the zone have the NSEC3 hash {0}: sign with a salt")]
    HashCollision(String),
}

/// How a signed zone proves that a name or type does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Denial {
    /// NSEC (RFC 4034 §4): the names in canonical order.
    #[default]
    Nsec,
    /// NSEC3 (RFC 5155): hashed names.
    Nsec3(nsec3::Params),
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
    sign_with(origin, records, keys, validity, &Denial::Nsec)
}

/// As [`sign`], with the denial of existence `denial` (NSEC3 adds an NSEC3PARAM at the apex).
pub fn sign_with(
    origin: &[u8],
    records: &[Rr],
    keys: &[Key],
    validity: Validity,
    denial: &Denial,
) -> Result<Vec<Rr>, SignError> {
    sign_around(origin, records, &[], keys, validity, denial)
}

/// As [`sign_with`], for a zone that also holds RRsets of the `(owner, type)`s in `elsewhere`,
/// signed by someone else (routing-policy record sets, each member's RRset signed apart): the
/// denial chain counts them (names in the chain, types in the bitmaps); nothing signs them here.
pub fn sign_around(
    origin: &[u8],
    records: &[Rr],
    elsewhere: &[(Vec<u8>, u16)],
    keys: &[Key],
    validity: Validity,
    denial: &Denial,
) -> Result<Vec<Rr>, SignError> {
    sign_reusing(origin, records, elsewhere, keys, validity, denial, &|_| {
        None
    })
}

/// An RRset about to be signed, offered to a [`sign_reusing`] caller that may still hold
/// good signatures for exactly these records.
pub struct ToSign<'a> {
    pub owner: &'a [u8],
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: &'a [Vec<u8>],
    /// Key tags of the keys that must have signed it.
    pub signers: &'a [u16],
}

/// As [`sign_around`], taking from `reuse` the signatures it still has for an RRset (a
/// reload of a zone that did not change keeps its signatures, so it neither pays for signing
/// again nor hands its secondaries a new serial for nothing).
pub fn sign_reusing(
    origin: &[u8],
    records: &[Rr],
    elsewhere: &[(Vec<u8>, u16)],
    keys: &[Key],
    validity: Validity,
    denial: &Denial,
    reuse: &dyn Fn(&ToSign<'_>) -> Option<Vec<Vec<u8>>>,
) -> Result<Vec<Rr>, SignError> {
    let text = name::to_text(origin);
    if keys.is_empty() {
        return Err(SignError::NoKey(text));
    }
    // RRsets by owner (canonical order) and type.
    let mut sets: ByName = BTreeMap::new();
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
    // No records: present, but signed elsewhere.
    for (owner, rtype) in elsewhere {
        sets.entry(Canonical(name::to_lowercase(owner)))
            .or_default()
            .entry(*rtype)
            .or_insert((0, Vec::new()));
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
    if let Denial::Nsec3(params) = denial {
        // TTL 0, as BIND publishes it: only signers read it.
        apex_sets.insert(types::NSEC3PARAM, (0, vec![params.param_rdata()]));
    }
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
    // Every key is published; only those whose time has come sign (pre-publication).
    let (sep, others): (Vec<&Key>, Vec<&Key>) = keys
        .iter()
        .filter(|k| k.signing)
        .partition(|k| k.flags == SECURE_ENTRY_POINT);
    let key_sigs: Vec<&Key> = if sep.is_empty() {
        others.clone()
    } else {
        sep.clone()
    };
    let data_sigs: Vec<&Key> = if others.is_empty() { sep } else { others };
    let sign_set = |out: &mut Vec<Rr>, owner: &[u8], rtype: u16, ttl: u32, rdatas: &[Vec<u8>]| {
        // The key set and the CDS/CDNSKEY that point the parent at it are signed by the keys
        // the parent's DS names (RFC 7344 §4.1).
        let signers = if matches!(rtype, types::DNSKEY | types::CDS | types::CDNSKEY) {
            &key_sigs
        } else {
            &data_sigs
        };
        let tags: Vec<u16> = signers.iter().map(|k| k.key_tag()).collect();
        let offered = ToSign {
            owner,
            rtype,
            ttl,
            rdatas,
            signers: &tags,
        };
        if let Some(kept) = reuse(&offered) {
            out.extend(kept.into_iter().map(|rdata| Rr {
                owner: owner.to_vec(),
                ttl,
                rtype: types::RRSIG,
                rdata,
            }));
            return;
        }
        for k in signers {
            out.push(Rr {
                owner: owner.to_vec(),
                ttl,
                rtype: types::RRSIG,
                rdata: rrsig(k, origin, owner, rtype, ttl, rdatas, validity),
            });
        }
    };
    // At a cut only NS and DS belong to this zone (RFC 4035 §2.3); DS alone is signed.
    let zone_types = |owner: &Canonical| -> Vec<u16> {
        let is_cut = cuts.contains(&owner.0);
        sets.get(owner)
            .map(|at| {
                at.keys()
                    .copied()
                    .filter(|t| !is_cut || matches!(*t, types::NS | types::DS))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for owner in &names {
        for (&rtype, (ttl, rdatas)) in sets.get(owner).expect("a name of the zone") {
            if (cuts.contains(&owner.0) && rtype != types::DS) || rdatas.is_empty() {
                continue;
            }
            // What the signer adds goes out with its signature; the rest is the caller's.
            if matches!(
                rtype,
                types::DNSKEY | types::CDS | types::CDNSKEY | types::NSEC3PARAM
            ) {
                out.extend(rdatas.iter().map(|rd| Rr {
                    owner: owner.0.clone(),
                    ttl: *ttl,
                    rtype,
                    rdata: rd.clone(),
                }));
            }
            sign_set(&mut out, &owner.0, rtype, *ttl, rdatas);
        }
    }
    // The denial chain, each record signed.
    let chain: Vec<Rr> = match denial {
        Denial::Nsec => names
            .iter()
            .enumerate()
            .map(|(i, owner)| {
                let mut present = zone_types(owner);
                present.extend([types::NSEC, types::RRSIG]);
                let next = &names[(i + 1) % names.len()].0;
                Rr {
                    owner: owner.0.clone(),
                    ttl: nsec_ttl,
                    rtype: types::NSEC,
                    rdata: nsec::rdata(next, &present),
                }
            })
            .collect(),
        Denial::Nsec3(params) => {
            // Every name, and every empty non-terminal above one (RFC 5155 §7.1): a
            // validator must be able to prove the closest encloser of any name.
            let mut hashed: Vec<([u8; 20], Vec<u16>)> = Vec::new();
            let mut seen: std::collections::BTreeSet<Canonical> = names.iter().cloned().collect();
            for owner in &names {
                let mut t = zone_types(owner);
                // Signed RRsets here: all of them, or at a cut only a DS.
                if !cuts.contains(&owner.0) || t.contains(&types::DS) {
                    t.push(types::RRSIG);
                }
                hashed.push((params.hash(&owner.0), t));
                let mut up = owner.0.as_slice();
                while up.len() > apex.0.len() {
                    up = &up[1 + up[0] as usize..];
                    if up.len() > apex.0.len() && seen.insert(Canonical(up.to_vec())) {
                        hashed.push((params.hash(up), Vec::new()));
                    }
                }
            }
            hashed.sort();
            if let Some(w) = hashed.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(SignError::HashCollision(
                    data_encoding::HEXLOWER.encode(&w[0].0),
                ));
            }
            (0..hashed.len())
                .map(|i| Rr {
                    owner: nsec3::owner(&hashed[i].0, origin),
                    ttl: nsec_ttl,
                    rtype: types::NSEC3,
                    rdata: params.rdata(&hashed[(i + 1) % hashed.len()].0, &hashed[i].1),
                })
                .collect()
        }
    };
    for rr in chain {
        sign_set(
            &mut out,
            &rr.owner,
            rr.rtype,
            rr.ttl,
            std::slice::from_ref(&rr.rdata),
        );
        out.push(rr);
    }
    Ok(out)
}

/// A zone's RRsets by owner (canonical order) and type: TTL and RDATAs.
type ByName = BTreeMap<Canonical, BTreeMap<u16, (u32, Vec<Vec<u8>>)>>;

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
            format!("{}{}", name::to_text(&d[..n]), bitmap_text(&d[n..]))
        }
        types::NSEC3 | types::NSEC3PARAM => {
            let salt_len = *d.get(4)? as usize;
            let salt = match &d[5..5 + salt_len] {
                [] => "-".to_string(),
                s => data_encoding::HEXUPPER.encode(s),
            };
            let mut s = format!(
                "{} {} {} {salt}",
                d[0],
                d[1],
                u16::from_be_bytes([d[2], d[3]])
            );
            if rr.rtype == types::NSEC3 {
                let at = 5 + salt_len;
                let hash_len = *d.get(at)? as usize;
                let next = d.get(at + 1..at + 1 + hash_len)?;
                s.push(' ');
                s.push_str(&data_encoding::BASE32HEX_NOPAD.encode(next));
                s.push_str(&bitmap_text(&d[at + 1 + hash_len..]));
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

/// A type bitmap (RFC 4034 §4.1.2) as mnemonics, each after a space.
fn bitmap_text(mut d: &[u8]) -> String {
    let mut s = String::new();
    while d.len() >= 2 {
        let (window, len) = (d[0] as u16, (d[1] as usize).min(d.len() - 2));
        for (i, byte) in d[2..2 + len].iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    s.push(' ');
                    s.push_str(&types::mnemonic(window * 256 + (i * 8 + bit) as u16));
                }
            }
        }
        d = &d[2 + len..];
    }
    s
}
