//! RFC 2136's rules on a hosted zone: the prerequisites (§2.4, §3.2) checked against the
//! store's record sets, then the update section's operations (§2.5, §3.4) applied to the RRsets
//! they name, and the result expressed as Route 53 changes of whole record sets (an UPSERT of
//! each changed set, a DELETE of each emptied one), which the store applies like an API batch.
//!
//! Where RFC 2136 says an operation is silently ignored, it is: deleting the apex SOA or its
//! NS RRset, deleting the last apex NS record, adding a CNAME beside other data or other data
//! beside a CNAME. The SOA is the server's to manage (its serial advances by itself), so an
//! added SOA is ignored as well. What Route 53 semantics cannot take is refused, with the
//! reason as Extended DNS Error text: a name and type decided by a routing policy (change it
//! through the Route 53 API), and a type a hosted zone cannot hold.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::UpdateRr;
use crate::route53::{Action, Change, ResourceRecordSet, ROUTE53_TYPES};
use crate::store::{reversed_labels, route53_name, HostedZone};
use crate::wire::packet::rcode;
use crate::wire::{name, types};
use crate::zone::rdata;

/// Why an update is not applied: the rcode, and text for an Extended DNS Error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rcode: u16,
    pub ede: Option<(u16, String)>,
}

impl Refusal {
    fn rcode(rcode: u16) -> Self {
        Refusal { rcode, ede: None }
    }

    fn refused(text: String) -> Self {
        Refusal {
            rcode: rcode::REFUSED,
            ede: Some((crate::answer::ede::PROHIBITED, text)),
        }
    }
}

/// RFC 2136's YXRRSET, NXRRSET and NOTZONE (RFC 1035's FORMERR, NXDOMAIN, REFUSED are in
/// `rcode`).
pub const YXDOMAIN: u16 = 6;
pub const YXRRSET: u16 = 7;
pub const NXRRSET: u16 = 8;
pub const NOTZONE: u16 = 10;

/// What is held at one name and type.
#[derive(Debug, Clone)]
pub enum Held {
    /// A simple RRset: its TTL and records, and (in a hosted zone) the set as stored, for its
    /// DELETE.
    Simple {
        ttl: u32,
        rdatas: Vec<Vec<u8>>,
        set: Option<ResourceRecordSet>,
    },
    /// Record sets a routing policy (or an alias) decides.
    Policy,
}

/// What is held at each name the update names, read from its source once.
struct View<'s> {
    source: &'s dyn Fn(&[u8]) -> BTreeMap<u16, Held>,
    origin: Vec<u8>,
    names: BTreeMap<Vec<u8>, BTreeMap<u16, Held>>,
    /// A hosted zone holds Route 53's types only.
    route53_types: bool,
    /// The zone is signed here: its signer's records (RRSIG, NSEC, DNSKEY, …) follow the data
    /// and are neither read nor written by an update.
    signed_here: bool,
}

impl View<'_> {
    fn at(&mut self, owner: &[u8]) -> &BTreeMap<u16, Held> {
        if !self.names.contains_key(owner) {
            let held = (self.source)(owner);
            self.names.insert(owner.to_vec(), held);
        }
        &self.names[owner]
    }
}

/// The sets at `owner`, converted as a zone compile converts them.
fn read_name(zone: &HostedZone, origin: &[u8], owner: &[u8]) -> BTreeMap<u16, Held> {
    let mut out = BTreeMap::new();
    let labels = reversed_labels(owner);
    for set in zone.record_sets.at_name(&labels) {
        let Some(rtype) = types::from_mnemonic(&set.rtype) else {
            continue;
        };
        if set.set_identifier.is_some() || set.alias_target.is_some() {
            out.insert(rtype, Held::Policy);
            continue;
        }
        let located = [crate::route53::Located {
            at: String::new(),
            set: set.clone(),
            file: PathBuf::new(),
        }];
        let options = crate::route53::ConvertOptions {
            some_names: true,
            ..Default::default()
        };
        let Ok(imported) = crate::route53::convert(&located, origin, &[], options) else {
            continue;
        };
        out.insert(
            rtype,
            Held::Simple {
                ttl: imported.records.first().map_or(0, |r| r.ttl),
                rdatas: imported.records.into_iter().map(|r| r.rdata).collect(),
                set: Some(set.clone()),
            },
        );
    }
    out
}

fn same_records(rtype: u16, a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    let canon = |v: &[Vec<u8>]| {
        let mut c: Vec<Vec<u8>> = v
            .iter()
            .map(|r| rdata::canonical(rtype, r).into_owned())
            .collect();
        c.sort();
        c.dedup();
        c
    };
    canon(a) == canon(b)
}

/// Checks the prerequisites and turns the updates into Route 53 changes (none: the update
/// changes nothing, and is answered NOERROR without a new serial, as BIND and Knot do).
pub fn changes(
    zone: &HostedZone,
    prerequisites: &[UpdateRr],
    updates: &[UpdateRr],
) -> Result<Vec<Change>, Refusal> {
    let origin = zone.origin();
    let source = |owner: &[u8]| read_name(zone, &origin, owner);
    let mut view = View {
        source: &source,
        origin: origin.clone(),
        names: BTreeMap::new(),
        route53_types: true,
        // A signed hosted zone holds no signer's records (Route 53's types only).
        signed_here: false,
    };
    check_prerequisites(&mut view, prerequisites)?;
    prescan(&origin, updates)?;
    let changed = apply(&mut view, updates)?;
    Ok(changed
        .into_iter()
        .map(|c| match (c.stored, c.rdatas.is_empty()) {
            (Some(set), true) => Change {
                action: Action::Delete,
                resource_record_set: set,
            },
            _ => Change {
                action: Action::Upsert,
                resource_record_set: record_set(&c.owner, c.rtype, c.ttl, &c.rdatas),
            },
        })
        .collect())
}

/// An RRset an update changed: what it holds now (no records: deleted).
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: Vec<Vec<u8>>,
    /// In a hosted zone, the set as stored before (for its DELETE).
    stored: Option<ResourceRecordSet>,
}

/// Checks the prerequisites and works out the RRsets an update of a zone served from a file
/// changes, reading the RRsets as `zone` serves them (every earlier update included).
pub fn file_zone_changes(
    zone: &crate::zone::Zone,
    kept: Option<&crate::store::file_zones::FileZoneUpdates>,
    prerequisites: &[UpdateRr],
    updates: &[UpdateRr],
) -> Result<Vec<Changed>, Refusal> {
    let origin = zone.origin.to_vec();
    let source = |owner: &[u8]| {
        let mut out = read_served(zone, owner);
        // Updates committed since `zone` was published are the store's: they win.
        for o in kept
            .iter()
            .flat_map(|k| &k.rrsets)
            .filter(|o| o.owner == owner)
        {
            if o.rdatas.is_empty() {
                out.remove(&o.rtype);
            } else {
                out.insert(
                    o.rtype,
                    Held::Simple {
                        ttl: o.ttl,
                        rdatas: o.rdatas.clone(),
                        set: None,
                    },
                );
            }
        }
        out
    };
    let mut view = View {
        source: &source,
        origin: origin.clone(),
        names: BTreeMap::new(),
        route53_types: false,
        signed_here: zone.soa_signer.is_some(),
    };
    check_prerequisites(&mut view, prerequisites)?;
    prescan(&origin, updates)?;
    apply(&mut view, updates)
}

/// What a compiled zone serves at `owner`.
pub fn read_served(zone: &crate::zone::Zone, owner: &[u8]) -> BTreeMap<u16, Held> {
    let mut out = BTreeMap::new();
    // A zone signed here: its signer's records are not the update's to see (a delete of a
    // whole name leaves them to the signer).
    let signed_here = zone.soa_signer.is_some();
    if let Some(id) = zone.find(owner) {
        for set in zone.rrsets(zone.node(id)) {
            if signed_here && crate::dnssec::signer_made(set.rtype) {
                continue;
            }
            let held = match set.group() {
                Some(_) => Held::Policy,
                None => Held::Simple {
                    ttl: set.ttl,
                    rdatas: zone.rdatas(set).map(<[u8]>::to_vec).collect(),
                    set: None,
                },
            };
            out.insert(set.rtype, held);
        }
    }
    out
}

/// §3.2: each prerequisite in turn, the value-dependent ones compared as whole RRsets.
fn check_prerequisites(view: &mut View<'_>, prerequisites: &[UpdateRr]) -> Result<(), Refusal> {
    let mut wanted: BTreeMap<(Vec<u8>, u16), Vec<Vec<u8>>> = BTreeMap::new();
    for p in prerequisites {
        if p.ttl != 0 {
            return Err(Refusal::rcode(rcode::FORMERR));
        }
        if !name::is_subdomain(&p.owner, &view.origin) {
            return Err(Refusal::rcode(NOTZONE));
        }
        let held = view.at(&p.owner);
        match p.class {
            types::CLASS_ANY => {
                if !p.rdata.is_empty() {
                    return Err(Refusal::rcode(rcode::FORMERR));
                }
                if p.rtype == types::ANY {
                    if held.is_empty() {
                        return Err(Refusal::rcode(rcode::NXDOMAIN));
                    }
                } else if !held.contains_key(&p.rtype) {
                    return Err(Refusal::rcode(NXRRSET));
                }
            }
            types::CLASS_NONE => {
                if !p.rdata.is_empty() {
                    return Err(Refusal::rcode(rcode::FORMERR));
                }
                if p.rtype == types::ANY {
                    if !held.is_empty() {
                        return Err(Refusal::rcode(YXDOMAIN));
                    }
                } else if held.contains_key(&p.rtype) {
                    return Err(Refusal::rcode(YXRRSET));
                }
            }
            types::CLASS_IN => {
                wanted
                    .entry((p.owner.clone(), p.rtype))
                    .or_default()
                    .push(p.rdata.clone());
            }
            _ => return Err(Refusal::rcode(rcode::FORMERR)),
        }
    }
    for ((owner, rtype), rdatas) in wanted {
        match view.at(&owner).get(&rtype) {
            Some(Held::Simple { rdatas: have, .. }) if same_records(rtype, have, &rdatas) => {}
            _ => return Err(Refusal::rcode(NXRRSET)),
        }
    }
    Ok(())
}

/// §3.4.1: what an update section may hold at all.
fn prescan(origin: &[u8], updates: &[UpdateRr]) -> Result<(), Refusal> {
    for u in updates {
        if !name::is_subdomain(&u.owner, origin) {
            return Err(Refusal::rcode(NOTZONE));
        }
        let meta = matches!(
            u.rtype,
            types::ANY | types::AXFR | types::IXFR | types::OPT | types::TSIG | 253 | 254
        );
        let ok = match u.class {
            types::CLASS_IN => !meta,
            types::CLASS_ANY => {
                u.ttl == 0 && u.rdata.is_empty() && !(meta && u.rtype != types::ANY)
            }
            types::CLASS_NONE => u.ttl == 0 && !meta,
            _ => false,
        };
        if !ok {
            return Err(Refusal::rcode(rcode::FORMERR));
        }
    }
    Ok(())
}

/// §3.4.2: the operations in order, on the RRsets as the store holds them; then each changed
/// RRset as a Route 53 change.
fn apply(view: &mut View<'_>, updates: &[UpdateRr]) -> Result<Vec<Changed>, Refusal> {
    let origin = view.origin.clone();
    // (owner, type) → (TTL, records) as the update leaves it; absent: untouched.
    let mut now: BTreeMap<(Vec<u8>, u16), (u32, Vec<Vec<u8>>)> = BTreeMap::new();
    let policy_refusal = |owner: &[u8], rtype: u16| {
        Refusal::refused(format!(
            "{} {} is decided by a routing policy: change it through the Route 53 API",
            name::to_text(owner),
            types::mnemonic(rtype)
        ))
    };
    for u in updates {
        if view.signed_here && crate::dnssec::signer_made(u.rtype) {
            return Err(Refusal::refused(format!(
                "{} records of a zone this server signs are its signer's, made again with each change: update the data instead",
                types::mnemonic(u.rtype)
            )));
        }
        let held = view.at(&u.owner).clone();
        let current = |now: &BTreeMap<(Vec<u8>, u16), (u32, Vec<Vec<u8>>)>, t: u16| {
            match now.get(&(u.owner.clone(), t)) {
                Some(v) => Some(v.clone()),
                None => match held.get(&t) {
                    Some(Held::Simple { ttl, rdatas, .. }) => Some((*ttl, rdatas.clone())),
                    _ => None,
                },
            }
            .filter(|(_, r)| !r.is_empty())
        };
        let types_here = |now: &BTreeMap<(Vec<u8>, u16), (u32, Vec<Vec<u8>>)>| -> Vec<u16> {
            let mut t: Vec<u16> = held.keys().copied().collect();
            t.extend(
                now.range((u.owner.clone(), 0)..=(u.owner.clone(), u16::MAX))
                    .map(|((_, t), _)| *t),
            );
            t.sort_unstable();
            t.dedup();
            t.into_iter()
                .filter(|&t| {
                    matches!(held.get(&t), Some(Held::Policy)) || current(now, t).is_some()
                })
                .collect()
        };
        let apex = u.owner == origin;
        match u.class {
            types::CLASS_IN => {
                if u.rtype == types::SOA {
                    continue; // the server manages the SOA
                }
                if matches!(held.get(&u.rtype), Some(Held::Policy)) {
                    return Err(policy_refusal(&u.owner, u.rtype));
                }
                let mnemonic = types::mnemonic(u.rtype);
                if view.route53_types && !ROUTE53_TYPES.contains(&mnemonic.as_str()) {
                    return Err(Refusal::refused(format!(
                        "type {mnemonic} cannot be held by a hosted zone (Route 53 types: {})",
                        ROUTE53_TYPES.join(" ")
                    )));
                }
                let here = types_here(&now);
                let has_cname = here.contains(&types::CNAME);
                let has_other = here.iter().any(|&t| t != types::CNAME);
                if (u.rtype == types::CNAME && has_other) || (u.rtype != types::CNAME && has_cname)
                {
                    continue; // §3.4.2.2: ignored
                }
                let (_, mut rdatas) = current(&now, u.rtype).unwrap_or_default();
                if u.rtype == types::CNAME {
                    rdatas.clear(); // a CNAME replaces the one there
                }
                let canon = rdata::canonical(u.rtype, &u.rdata).into_owned();
                if !rdatas.iter().any(|r| rdata::canonical(u.rtype, r) == canon) {
                    rdatas.push(u.rdata.clone());
                }
                // The RRset takes the TTL of the record added last, as BIND and Knot do.
                now.insert((u.owner.clone(), u.rtype), (u.ttl, rdatas));
            }
            types::CLASS_ANY => {
                let doomed: Vec<u16> = if u.rtype == types::ANY {
                    types_here(&now)
                } else {
                    vec![u.rtype]
                };
                for t in doomed {
                    if apex && matches!(t, types::SOA | types::NS) {
                        continue; // §3.4.2.3
                    }
                    if matches!(held.get(&t), Some(Held::Policy)) {
                        return Err(policy_refusal(&u.owner, t));
                    }
                    if current(&now, t).is_some() {
                        now.insert((u.owner.clone(), t), (0, Vec::new()));
                    }
                }
            }
            _ => {
                // CLASS_NONE: delete one record.
                if u.rtype == types::SOA {
                    continue;
                }
                if matches!(held.get(&u.rtype), Some(Held::Policy)) {
                    return Err(policy_refusal(&u.owner, u.rtype));
                }
                let Some((ttl, mut rdatas)) = current(&now, u.rtype) else {
                    continue;
                };
                let canon = rdata::canonical(u.rtype, &u.rdata).into_owned();
                rdatas.retain(|r| rdata::canonical(u.rtype, r) != canon);
                if apex && u.rtype == types::NS && rdatas.is_empty() {
                    continue; // §3.4.2.4: the last apex NS stays
                }
                now.insert((u.owner.clone(), u.rtype), (ttl, rdatas));
            }
        }
    }
    let mut changed = Vec::new();
    for ((owner, rtype), (ttl, rdatas)) in now {
        let before = match view.at(&owner).get(&rtype) {
            Some(Held::Simple {
                ttl: t,
                rdatas: r,
                set,
            }) => Some((*t, r.clone(), set.clone())),
            _ => None,
        };
        let stored = match before {
            Some((t, r, _)) if t == ttl && same_records(rtype, &r, &rdatas) => continue,
            None if rdatas.is_empty() => continue,
            Some((_, _, set)) => set,
            None => None,
        };
        changed.push(Changed {
            owner,
            rtype,
            ttl,
            rdatas,
            stored,
        });
    }
    Ok(changed)
}

/// A simple record set as Route 53 writes it.
fn record_set(owner: &[u8], rtype: u16, ttl: u32, rdatas: &[Vec<u8>]) -> ResourceRecordSet {
    ResourceRecordSet::simple(
        route53_name(owner),
        types::mnemonic(rtype),
        i64::from(ttl),
        rdatas
            .iter()
            .map(|rd| crate::answer::explain::rdata_text(rtype, rd))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
