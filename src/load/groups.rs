//! Routing-policy record sets → the groups a zone compiles: names turned into the snapshot's
//! indices, values into wire RDATA (relative names completed against the zone's origin).

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::Config;
use crate::policy::spec::{ProximityAt, RecordSetSpec, RuleSpec};
use crate::policy::{regions, Rule};
use crate::wire::name;
use crate::zone::{parse, GroupInput, LoadBalancerAlias, MemberInput, MemberTarget, ParseError};

/// Whether record set `r` belongs to the zone at `origin` as served in `view` (`None`: the
/// shared copy): the record set is shared or of that view, and the zone is the most specific
/// of the zones served in that view (shared ones and the view's own) that holds its name.
pub(super) fn in_zone(
    config: &Config,
    r: &RecordSetSpec,
    origin: &[u8],
    view: Option<&str>,
) -> bool {
    if r.view.is_some() && r.view.as_deref() != view {
        return false;
    }
    let Ok(owner) = name::from_text(&r.name, None) else {
        return false;
    };
    let owner = name::to_lowercase(&owner);
    config
        .zones
        .iter()
        .filter(|z| z.view.is_none() || z.view.as_deref() == view)
        .filter(|z| name::is_subdomain(&owner, &z.origin))
        .max_by_key(|z| z.origin.len())
        .is_some_and(|z| z.origin == origin)
}

/// The routing-policy groups whose names fall in the zone at `origin` (the most specific of the
/// configured zones) plus `extra` (record sets read for this zone, e.g. from Route 53 JSON),
/// with names turned into indices and values into wire RDATA.
pub(super) fn groups_for(
    config: &Config,
    origin: &[u8],
    view: Option<&str>,
    extra: &[RecordSetSpec],
    health_index: &BTreeMap<&str, u32>,
    collection_index: &BTreeMap<&str, u32>,
) -> Result<Vec<GroupInput>, Vec<ParseError>> {
    let mut problems = Vec::new();
    let mut groups: BTreeMap<(Vec<u8>, u16), Vec<&RecordSetSpec>> = BTreeMap::new();
    for r in &config.record_sets {
        if in_zone(config, r, origin, view) {
            let owner = name::to_lowercase(&name::from_text(&r.name, None).expect("checked"));
            groups.entry((owner, r.rtype)).or_default().push(r);
        }
    }
    // A view's own record sets for a name and type take the place of the shared ones.
    for sets in groups.values_mut() {
        if sets.iter().any(|r| r.view.is_some()) {
            sets.retain(|r| r.view.is_some());
        }
    }
    for r in extra {
        let Ok(owner) = name::from_text(&r.name, None) else {
            continue;
        };
        groups
            .entry((name::to_lowercase(&owner), r.rtype))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for ((owner, rtype), sets) in groups {
        let mut members = Vec::new();
        let mut collection = None;
        for r in &sets {
            let problem = |message: String| ParseError {
                file: Path::new(&r.defined_at).to_path_buf(),
                line: 0,
                message,
            };
            let rule =
                match &r.rule {
                    RuleSpec::Simple => Rule::Simple,
                    RuleSpec::Weighted(w) => Rule::Weighted(*w),
                    RuleSpec::Failover(role) => Rule::Failover(*role),
                    RuleSpec::Geolocation(k) => Rule::Geolocation(*k),
                    RuleSpec::Latency(region) => {
                        Rule::Latency(regions::index(region).expect("validated"))
                    }
                    RuleSpec::Geoproximity { at, bias } => {
                        let (lat, lon) = match at {
                            ProximityAt::Region(region) => {
                                regions::coordinates(regions::index(region).expect("validated"))
                            }
                            ProximityAt::Coordinates(lat, lon) => (*lat, *lon),
                        };
                        Rule::Geoproximity {
                            lat,
                            lon,
                            bias: *bias,
                        }
                    }
                    RuleSpec::IpBased {
                        collection: c,
                        location,
                    } => {
                        collection = collection_index.get(c.as_str()).copied();
                        let locations = &config.cidr_collections[c];
                        Rule::IpBased(location.as_ref().map(|l| {
                            locations.keys().position(|k| k == l).expect("validated") as u16
                        }))
                    }
                    RuleSpec::Multivalue => Rule::Multivalue,
                };
            let mut rdatas = Vec::new();
            for value in &r.values {
                // Relative names in a value complete against the zone's origin, as they would
                // in the zone's master file.
                let line = format!(
                    "{} {} IN {} {value}\n",
                    name::to_text(&owner),
                    r.ttl,
                    crate::wire::types::mnemonic(rtype)
                );
                match parse::parse_str(&line, origin, Path::new(&r.defined_at)) {
                    Ok(recs) if recs.len() == 1 => {
                        rdatas.push(recs.into_iter().next().expect("one").rdata)
                    }
                    Ok(_) => {
                        problems.push(problem(format!("{r}: value {value:?} is not one record")))
                    }
                    Err(e) => problems.push(problem(format!(
                        "{r}: value {value:?}: {}",
                        e.problems
                            .iter()
                            .map(|p| p.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))),
                }
            }
            let mut target = MemberTarget::Records;
            if let Some(a) = &r.alias {
                match name::from_text(&a.dns_name, None).map(|t| name::to_lowercase(&t)) {
                    Ok(t) if name::is_subdomain(&t, origin) => {
                        target = MemberTarget::Alias {
                            target: t,
                            evaluate_target_health: a.evaluate_target_health,
                        }
                    }
                    Ok(t) => {
                        // `dualstack.NAME` reaches load balancer NAME and answers AAAA too.
                        let (dualstack, lb_name) = match t.strip_prefix(b"\x09dualstack".as_slice())
                        {
                            Some(rest) => (true, rest),
                            None => (false, t.as_slice()),
                        };
                        match config.load_balancers.iter().position(|l| l.name == lb_name) {
                            Some(i) => {
                                target = MemberTarget::LoadBalancer(LoadBalancerAlias {
                                    index: i as u32,
                                    dualstack,
                                    evaluate_target_health: a.evaluate_target_health,
                                })
                            }
                            None => problems.push(problem(format!(
                                "{r}: alias target {} is not in zone {} and no [[load_balancer]] is named {}: describe the load balancer (its zones, node addresses and target groups) in a [[load_balancer]] table",
                                a.dns_name,
                                name::to_text(origin),
                                name::to_text(lb_name)
                            ))),
                        }
                    }
                    Err(e) => {
                        problems.push(problem(format!("{r}: alias target {}: {e}", a.dns_name)))
                    }
                }
            }
            members.push(MemberInput {
                target,
                rule,
                health: r
                    .health_check
                    .as_deref()
                    .and_then(|h| health_index.get(h).copied()),
                ttl: r.ttl,
                rdatas,
                id: r.set_identifier.clone().unwrap_or_default(),
            });
        }
        out.push(GroupInput {
            owner,
            rtype,
            members,
            cidr_collection: collection,
            consistent: sets.iter().any(|s| s.consistent),
            defined_at: sets[0].defined_at.clone(),
            replaces_file: sets.iter().any(|s| s.view.is_some()),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
