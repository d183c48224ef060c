//! A zone as a transfer carries it: every record of the zone file, and for each routing-policy
//! record set a static rendering a standard secondary can serve.
//!
//! A policy set has no wire form of its own. A BIND, Knot or NSD secondary receives what a
//! client with no known location gets when every health check passes, widened where that
//! answer would be a random draw, so that it answers wherever we answer:
//!
//! | policy | rendered as |
//! |---|---|
//! | simple, multivalue, latency, geoproximity | every member's records |
//! | weighted | members with weight > 0 (all members if every weight is 0) |
//! | failover | the primary |
//! | geolocation | the `*` default location; every member if there is none |
//! | IP-based | the `*` default location; every member if there is none |
//!
//! Alias members contribute their target's records (rendered the same way when the target is
//! itself a policy set), load-balancer aliases the load balancer's addresses. A CNAME set takes
//! the first member only: a name holds one CNAME. Health does not enter the rendering, so a
//! probe flapping never changes the zone's content or its serial.
//!
//! A policydns secondary asks for more (an EDNS option in its request, [`FULL_OPTION`]) and
//! receives the policy itself too: the zone's record sets and the health checks, CIDR
//! collections and load balancers they name, in config form, as private-use `TYPE65300`
//! records at `_policydns.<zone>` (RFC 6895 §3.1). It drops the static renderings, serves the
//! policy and probes the health checks itself. Standard secondaries never see these records,
//! so nothing of the policy (addresses of health-check endpoints, say) is served publicly.

use std::borrow::Cow;

use crate::policy::load_balancer::LoadBalancer;
use crate::policy::{FailoverRole, GeoKey, Rule};
use crate::wire::types;
use crate::zone::{rdata, Group, MemberAnswer, RrSet, Zone};

/// One record on its way into a transfer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rr<'z> {
    /// Lowercase wire form.
    pub owner: Cow<'z, [u8]>,
    pub rtype: u16,
    pub ttl: u32,
    /// Uncompressed.
    pub rdata: Cow<'z, [u8]>,
}

impl Rr<'_> {
    pub fn into_owned(self) -> Rr<'static> {
        Rr {
            owner: Cow::Owned(self.owner.into_owned()),
            rtype: self.rtype,
            ttl: self.ttl,
            rdata: Cow::Owned(self.rdata.into_owned()),
        }
    }
}

/// The apex SOA record.
pub fn soa(zone: &Zone) -> Rr<'_> {
    let set = zone
        .rrset(zone.apex(), types::SOA)
        .expect("a compiled zone has an SOA");
    Rr {
        owner: Cow::Borrowed(&zone.origin),
        rtype: types::SOA,
        ttl: set.ttl,
        rdata: Cow::Borrowed(zone.rdatas(set).next().unwrap_or_default()),
    }
}

/// The EDNS option (local/experimental range, RFC 6891 §9) a policydns secondary puts in its
/// transfer requests to receive the policy records.
pub const FULL_OPTION: u16 = 65300;

/// Policy text per record, so each fits RDATA (65,535 octets) with room to spare.
const CHUNK: usize = 60_000;

/// `_policydns.<origin>`, where the policy records sit.
pub fn policy_owner(origin: &[u8]) -> Vec<u8> {
    let mut o = b"\x0a_policydns".to_vec();
    o.extend_from_slice(origin);
    o
}

/// The policy text as records: RDATA is the chunk's index and the chunk count (two octets
/// each), then the chunk.
fn policy_records(zone: &Zone) -> Vec<Vec<u8>> {
    let Some(text) = zone.policy.as_deref() else {
        return Vec::new();
    };
    let bytes = text.as_bytes();
    let count = bytes.len().div_ceil(CHUNK).max(1);
    (0..count)
        .map(|i| {
            let mut rd = (i as u16).to_be_bytes().to_vec();
            rd.extend_from_slice(&(count as u16).to_be_bytes());
            rd.extend_from_slice(&bytes[i * CHUNK..((i + 1) * CHUNK).min(bytes.len())]);
            rd
        })
        .collect()
}

/// Reassembles the policy text from the records `policy_records` made.
pub fn policy_text(rdatas: &[&[u8]]) -> Option<String> {
    let mut parts: Vec<(u16, &[u8])> = rdatas
        .iter()
        .filter(|r| r.len() >= 4)
        .map(|r| (u16::from_be_bytes([r[0], r[1]]), &r[4..]))
        .collect();
    parts.sort_by_key(|p| p.0);
    let count = rdatas
        .first()
        .map(|r| u16::from_be_bytes([r[2], r[3]]) as usize)?;
    if parts.len() != count {
        return None;
    }
    String::from_utf8(parts.iter().flat_map(|p| p.1.iter().copied()).collect()).ok()
}

/// Every record but the apex SOA, node by node (the node index comes along, for name
/// compression), in a stable order; with `full`, the policy records last (node `NONE`).
pub fn for_each(zone: &Zone, lbs: &[LoadBalancer], full: bool, mut f: impl FnMut(u32, Rr<'_>)) {
    // A signed zone's secondaries get what they can validate: each record set's static
    // rendering with its signatures, never the policy records (no signature could cover what
    // a secondary would then answer).
    let full = full && !zone.is_signed();
    for (id, node) in zone.nodes.iter().enumerate() {
        let owner = zone.name(node);
        for set in zone.rrsets(node) {
            if id as u32 == crate::zone::APEX && set.rtype == types::SOA {
                continue;
            }
            match set.group() {
                None => {
                    for rd in zone.rdatas(set) {
                        f(
                            id as u32,
                            Rr {
                                owner: Cow::Borrowed(owner),
                                rtype: set.rtype,
                                ttl: set.ttl,
                                rdata: Cow::Borrowed(rd),
                            },
                        );
                    }
                }
                Some(g) => {
                    let (ttl, rdatas) = render_group(zone, lbs, g, set.rtype, 0);
                    let sigs = rendering_sigs(zone, owner, set.rtype, ttl, &rdatas);
                    for rd in rdatas {
                        f(
                            id as u32,
                            Rr {
                                owner: Cow::Borrowed(owner),
                                rtype: set.rtype,
                                ttl,
                                rdata: Cow::Owned(rd),
                            },
                        );
                    }
                    for sig in sigs.iter().flat_map(|s| s.iter()) {
                        f(
                            id as u32,
                            Rr {
                                owner: Cow::Borrowed(owner),
                                rtype: types::RRSIG,
                                ttl,
                                rdata: Cow::Borrowed(&sig[..]),
                            },
                        );
                    }
                }
            }
        }
    }
    if full {
        let owner = policy_owner(&zone.origin);
        for rd in policy_records(zone) {
            f(
                crate::zone::NONE,
                Rr {
                    owner: Cow::Owned(owner.clone()),
                    rtype: types::POLICYDNS,
                    ttl: 0,
                    rdata: Cow::Owned(rd),
                },
            );
        }
    }
}

/// The signatures over a policy set's static rendering in a signed zone (made the first time
/// it is transferred, kept by the zone's policy signer).
fn rendering_sigs(
    zone: &Zone,
    owner: &[u8],
    rtype: u16,
    ttl: u32,
    rdatas: &[Vec<u8>],
) -> Option<std::sync::Arc<[Box<[u8]>]>> {
    zone.policy_signer.as_deref().map(|signer| {
        let mut key = crate::zone::signed::AnswerKey::default();
        rdatas.iter().for_each(|rd| key.add(rd, ttl));
        signer.sigs(key.finish(owner, rtype), owner, rtype, ttl, rdatas)
    })
}

/// The records a transfer carries for one owner and type (a policy set as its static
/// rendering), sorted. In a signed zone the RRSIGs at a name include those over its policy
/// sets' renderings, as [`for_each`] gives them.
fn rrset_records(zone: &Zone, lbs: &[LoadBalancer], owner: &[u8], rtype: u16) -> Vec<Rr<'static>> {
    let mut out = Vec::new();
    let node = zone.find(owner).map(|id| zone.node(id));
    if rtype == types::RRSIG {
        for set in node.map(|n| zone.rrsets(n)).unwrap_or_default() {
            let Some(g) = set.group() else { continue };
            let (ttl, rdatas) = render_group(zone, lbs, g, set.rtype, 0);
            for sig in rendering_sigs(zone, owner, set.rtype, ttl, &rdatas)
                .iter()
                .flat_map(|s| s.iter())
            {
                out.push(Rr {
                    owner: Cow::Owned(owner.to_vec()),
                    rtype,
                    ttl,
                    rdata: Cow::Owned(sig.to_vec()),
                });
            }
        }
    }
    let Some(set) = node.and_then(|n| zone.rrset(n, rtype)) else {
        out.sort_unstable();
        out.dedup();
        return out;
    };
    let (ttl, rdatas): (u32, Vec<Vec<u8>>) = match set.group() {
        None => (set.ttl, zone.rdatas(set).map(<[u8]>::to_vec).collect()),
        Some(g) => render_group(zone, lbs, g, rtype, 0),
    };
    out.extend(rdatas.into_iter().map(|rd| Rr {
        owner: Cow::Owned(owner.to_vec()),
        rtype,
        ttl,
        rdata: Cow::Owned(rd),
    }));
    out.sort_unstable();
    out.dedup();
    out
}

/// What a transfer of `new` differs in from one of `old` when only the RRsets at `touched`
/// (lowercase owner, type) changed, without comparing the whole zones: those RRsets, the
/// policy sets whose static rendering follows them through aliases, and the policy records.
/// The records removed and added, as an IXFR step carries them.
pub fn step(
    old: &Zone,
    new: &Zone,
    lbs: &[LoadBalancer],
    touched: &std::collections::BTreeSet<(Vec<u8>, u16)>,
) -> (Vec<Rr<'static>>, Vec<Rr<'static>>) {
    let mut keys = touched.clone();
    // Aliases render their targets: follow them back until nothing more depends on a key.
    loop {
        let before = keys.len();
        for z in [old, new] {
            for g in z.groups.iter().filter(|g| g.owner != crate::zone::NONE) {
                let aliases_a_key = g.answers.iter().any(|a| match a {
                    MemberAnswer::Alias { node, .. } => {
                        keys.contains(&(z.name(z.node(*node)).to_vec(), g.rtype))
                    }
                    _ => false,
                });
                if aliases_a_key {
                    keys.insert((z.name(z.node(g.owner)).to_vec(), g.rtype));
                }
            }
        }
        if keys.len() == before {
            break;
        }
    }
    // A signed zone's policy set renders with its signatures, which are RRSIG records.
    if new.is_signed() {
        let owners: Vec<Vec<u8>> = keys.iter().map(|(o, _)| o.clone()).collect();
        keys.extend(owners.into_iter().map(|o| (o, types::RRSIG)));
    }
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for (owner, rtype) in &keys {
        let (r, a) = super::journal::diff(
            &rrset_records(old, lbs, owner, *rtype),
            &rrset_records(new, lbs, owner, *rtype),
        );
        removed.extend(r);
        added.extend(a);
    }
    if old.policy != new.policy {
        let as_rrs = |z: &Zone| -> Vec<Rr<'static>> {
            let owner = policy_owner(&z.origin);
            let mut v: Vec<Rr<'static>> = policy_records(z)
                .into_iter()
                .map(|rd| Rr {
                    owner: Cow::Owned(owner.clone()),
                    rtype: types::POLICYDNS,
                    ttl: 0,
                    rdata: Cow::Owned(rd),
                })
                .collect();
            v.sort_unstable();
            v
        };
        let (r, a) = super::journal::diff(&as_rrs(old), &as_rrs(new));
        removed.extend(r);
        added.extend(a);
    }
    (removed, added)
}

/// All records but the SOA (with the policy records), sorted and without duplicates: what a
/// diff compares.
pub fn collect(zone: &Zone, lbs: &[LoadBalancer]) -> Vec<Rr<'static>> {
    let mut all = Vec::with_capacity(zone.record_count + 1);
    for_each(zone, lbs, true, |_, r| all.push(r.into_owned()));
    all.sort_unstable();
    all.dedup();
    all
}

/// The records the zone's own source gave (no policy renderings, no policy records, no SOA,
/// none of the signatures and NSEC records a signed zone's loading made), sorted: what decides
/// whether an edit of the zone file changed the zone.
pub fn source_part(zone: &Zone) -> Vec<Rr<'static>> {
    let mut out = Vec::with_capacity(zone.record_count);
    for (id, node) in zone.nodes.iter().enumerate() {
        for set in zone.rrsets(node) {
            let signer_made = zone.is_signed() && matches!(set.rtype, types::RRSIG | types::NSEC);
            if (id as u32 == crate::zone::APEX && set.rtype == types::SOA)
                || set.group().is_some()
                || signer_made
            {
                continue;
            }
            for rd in zone.rdatas(set) {
                out.push(Rr {
                    owner: Cow::Owned(zone.name(node).to_vec()),
                    rtype: set.rtype,
                    ttl: set.ttl,
                    rdata: Cow::Owned(rd.to_vec()),
                });
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A digest of a zone's content (every record but the SOA, policy records included) that is
/// the same from one run and one build to the next (FNV-1a, 64 bits): whether the content
/// changed while the server was stopped.
pub fn content_digest(records: &[Rr<'_>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for r in records {
        eat(&(r.owner.len() as u32).to_be_bytes());
        eat(&r.owner);
        eat(&r.rtype.to_be_bytes());
        eat(&r.ttl.to_be_bytes());
        eat(&(r.rdata.len() as u32).to_be_bytes());
        eat(&r.rdata);
    }
    h
}

const MAX_ALIAS_DEPTH: usize = 8;

/// The static rendering of one policy group: a TTL and deduplicated RDATAs.
fn render_group(
    zone: &Zone,
    lbs: &[LoadBalancer],
    g: usize,
    rtype: u16,
    depth: usize,
) -> (u32, Vec<Vec<u8>>) {
    let group: &Group = &zone.groups[g];
    let chosen = chosen_members(&group.rules);
    let mut ttl = u32::MAX;
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut add = |rd: &[u8], t: u32, out: &mut Vec<Vec<u8>>| {
        ttl = ttl.min(t);
        let canon = rdata::canonical(rtype, rd);
        if !out.iter().any(|o| rdata::canonical(rtype, o) == canon) {
            out.push(rd.to_vec());
        }
    };
    for i in chosen {
        match group.answers[i] {
            MemberAnswer::Alias { node: target, .. } => {
                if depth >= MAX_ALIAS_DEPTH {
                    continue;
                }
                let node = zone.node(target);
                if let Some(set) = zone.rrset(node, rtype) {
                    match set.group() {
                        Some(tg) => {
                            let (t, rds) = render_group(zone, lbs, tg, rtype, depth + 1);
                            rds.iter().for_each(|rd| add(rd, t, &mut out));
                        }
                        None => zone.rdatas(set).for_each(|rd| add(rd, set.ttl, &mut out)),
                    }
                }
            }
            MemberAnswer::LoadBalancer(alias) => {
                let dualstack = alias.dualstack;
                let Some(lb) = lbs.get(alias.index as usize) else {
                    continue;
                };
                // Load balancers answer with TTL 60, as ELB's names do.
                for z in &lb.zones {
                    if rtype == types::A {
                        z.ipv4.iter().for_each(|a| add(&a.octets(), 60, &mut out));
                    } else if rtype == types::AAAA && dualstack {
                        z.ipv6.iter().for_each(|a| add(&a.octets(), 60, &mut out));
                    }
                }
            }
            MemberAnswer::Records => {
                let set: &RrSet = &group.sets[i];
                zone.rdatas(set).for_each(|rd| add(rd, set.ttl, &mut out));
            }
        }
        if rtype == types::CNAME && !out.is_empty() {
            break;
        }
    }
    (if ttl == u32::MAX { 0 } else { ttl }, out)
}

/// Which members a static rendering takes (see the module table).
fn chosen_members(rules: &[Rule]) -> Vec<usize> {
    let all: Vec<usize> = (0..rules.len()).collect();
    let pick = |keep: &dyn Fn(&Rule) -> bool| {
        let v: Vec<usize> = all.iter().copied().filter(|&i| keep(&rules[i])).collect();
        if v.is_empty() {
            all.clone()
        } else {
            v
        }
    };
    match rules.first() {
        Some(Rule::Weighted(_)) => pick(&|r| matches!(r, Rule::Weighted(w) if *w > 0)),
        Some(Rule::Failover(_)) => pick(&|r| matches!(r, Rule::Failover(FailoverRole::Primary))),
        Some(Rule::Geolocation(_)) => pick(&|r| matches!(r, Rule::Geolocation(GeoKey::Default))),
        Some(Rule::IpBased(_)) => pick(&|r| matches!(r, Rule::IpBased(None))),
        _ => all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_renders_members_with_weight() {
        let rules = [Rule::Weighted(0), Rule::Weighted(5), Rule::Weighted(1)];
        assert_eq!(chosen_members(&rules), vec![1, 2]);
    }

    #[test]
    fn weighted_all_zero_renders_everyone() {
        let rules = [Rule::Weighted(0), Rule::Weighted(0)];
        assert_eq!(chosen_members(&rules), vec![0, 1]);
    }

    #[test]
    fn failover_renders_the_primary() {
        let rules = [
            Rule::Failover(FailoverRole::Secondary),
            Rule::Failover(FailoverRole::Primary),
        ];
        assert_eq!(chosen_members(&rules), vec![1]);
    }

    #[test]
    fn geolocation_renders_the_default_or_everyone() {
        let with_default = [
            Rule::Geolocation(GeoKey::Country(*b"DE")),
            Rule::Geolocation(GeoKey::Default),
        ];
        assert_eq!(chosen_members(&with_default), vec![1]);
        let without = [
            Rule::Geolocation(GeoKey::Country(*b"DE")),
            Rule::Geolocation(GeoKey::Continent(*b"EU")),
        ];
        assert_eq!(chosen_members(&without), vec![0, 1]);
    }

    #[test]
    fn ip_based_renders_the_default_location() {
        let rules = [Rule::IpBased(Some(0)), Rule::IpBased(None)];
        assert_eq!(chosen_members(&rules), vec![1]);
    }
}
