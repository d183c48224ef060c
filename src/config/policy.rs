//! What routing policies refer to — CIDR collections and load balancers — and the
//! `[[record_set]]` tables themselves, checked one by one and then group by group with
//! Route 53's rules (`policy::spec`).

use std::collections::BTreeMap;

use ipnetwork::IpNetwork;

use super::file::{
    CidrCollectionSection, LoadBalancerSection, Located, RecordSetSection, TargetGroupSection,
    TargetSection,
};
use super::health::Checks;
use super::zones::ZoneSpec;
use super::Base;
use crate::policy::spec::{
    parse_block, AliasSpec, CidrFields, Dialect, GeoFields, PolicyFields, ProximityFields,
    RecordSetSpec, RuleSpec,
};
use crate::wire::{name, types};

/// CIDR collections by id: location → blocks.
pub(super) type Collections = BTreeMap<String, BTreeMap<String, Vec<IpNetwork>>>;

/// A load balancer with its targets' health checks still named.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerConfig {
    /// Lowercase wire form.
    pub name: Vec<u8>,
    /// ELB's `internal` scheme: answers only in internal views (with private addresses).
    pub internal: bool,
    /// The one view whose record sets may alias it; `None`: any (as its scheme allows).
    pub view: Option<String>,
    pub cross_zone: bool,
    pub zones: Vec<crate::policy::load_balancer::AvailabilityZone>,
    pub target_groups: Vec<String>,
    pub targets: Vec<TargetConfig>,
}

/// A registered target: its target group and availability zone (indices into the load
/// balancer's lists), and the health check whose state is its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    pub group: usize,
    pub zone: usize,
    pub health_check: Option<String>,
}

/// The CIDR collections of `[[cidr_collection]]` tables and of `--cidr-collection ID=FILE`.
pub(super) fn cidr_collections(
    sections: Vec<Located<CidrCollectionSection>>,
    from_cli: &[String],
    from_api: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    base: &Base<'_>,
    errors: &mut Vec<String>,
) -> Collections {
    let mut cidr_collections = BTreeMap::new();
    let mut raw_collections: Vec<(String, String, BTreeMap<String, Vec<String>>)> = Vec::new();
    for c in sections {
        let what = format!("{}: cidr_collection {:?}", c.at, c.id);
        let c = c.item;
        match (c.locations, c.route53) {
            (Some(l), None) => raw_collections.push((c.id, what, l)),
            (None, Some(p)) => match crate::route53::read_cidr_blocks(&base.join(p)) {
                Ok(l) => raw_collections.push((c.id, what, l)),
                Err(e) => errors.push(format!("{what}: {e}")),
            },
            _ => errors.push(format!("{what}: give either locations = {{ ... }} or route53 = \"BLOCKS.json\" (aws route53 list-cidr-blocks output)")),
        }
    }
    for spec in from_cli {
        match spec.split_once('=') {
            Some((id, f)) if !id.is_empty() && !f.is_empty() => {
                let what = format!("--cidr-collection {id}");
                match crate::route53::read_cidr_blocks(std::path::Path::new(f)) {
                    Ok(l) => raw_collections.push((id.to_string(), what, l)),
                    Err(e) => errors.push(format!("{what}: {e}")),
                }
            }
            _ => errors.push(format!("--cidr-collection {spec:?}: expected COLLECTION_ID=FILE with the output of aws route53 list-cidr-blocks --collection-id COLLECTION_ID")),
        }
    }
    for (id, locations) in from_api {
        raw_collections.push((
            id.clone(),
            format!("the API's CIDR collection {id}"),
            locations.clone(),
        ));
    }
    for (id, what, raw) in raw_collections {
        let mut locations = BTreeMap::new();
        for (loc, blocks) in raw {
            let mut nets = Vec::new();
            for b in blocks {
                match parse_block(&b) {
                    Ok(n) => nets.push(n),
                    Err(e) => errors.push(format!("{what} location {loc:?}: {e}")),
                }
            }
            locations.insert(loc, nets);
        }
        if cidr_collections.insert(id.clone(), locations).is_some() {
            errors.push(format!("{what}: cidr_collection {id:?} is defined twice"));
        }
    }
    cidr_collections
}

/// The `[[load_balancer]]` tables; targets given by address add their target group's check to
/// `checks`.
pub(super) fn load_balancers(
    sections: Vec<Located<LoadBalancerSection>>,
    checks: &mut Checks,
    errors: &mut Vec<String>,
) -> Vec<LoadBalancerConfig> {
    let mut load_balancers: Vec<LoadBalancerConfig> = Vec::new();
    for lb in sections {
        let what = format!("{}: load_balancer {:?}", lb.at, lb.name);
        let lb = lb.item;
        let text = if lb.name.ends_with('.') {
            lb.name.clone()
        } else {
            format!("{}.", lb.name)
        };
        let name = match name::from_text(&text, None) {
            Ok(n) => name::to_lowercase(&n),
            Err(e) => {
                errors.push(format!("{what}: {e}"));
                continue;
            }
        };
        if load_balancers.iter().any(|l| l.name == name) {
            errors.push(format!("{what} is defined twice"));
        }
        if lb.zones.is_empty() {
            errors.push(format!("{what} has no zones"));
        }
        let mut targets = Vec::new();
        for (g, tg) in lb.target_groups.iter().enumerate() {
            let group_check = tg.health_check.clone().unwrap_or_default().build();
            if let Err(e) = &group_check {
                errors.push(format!(
                    "{what}: target group {:?} health_check: {e}",
                    tg.name
                ));
            }
            for t in &tg.targets {
                let check = match (t.ip_address, &group_check) {
                    (None, _) => t.health_check.clone(),
                    (Some(ip), Ok(c)) => match probed_target(&lb.name, tg, t, ip, c, checks) {
                        Ok(id) => Some(id),
                        Err(e) => {
                            errors.push(format!(
                                "{what}: target group {:?} target {ip}: {e}",
                                tg.name
                            ));
                            None
                        }
                    },
                    (Some(_), Err(_)) => None,
                };
                match lb.zones.iter().position(|z| z.name == t.zone) {
                    Some(z) => targets.push(TargetConfig {
                    group: g,
                    zone: z,
                    health_check: check,
                }),
                    None => errors.push(format!("{what}: target group {:?} has a target in zone {:?}, which the load balancer does not list", tg.name, t.zone)),
                }
                if let Some(hc) = &t.health_check {
                    if !checks.states.contains_key(hc) {
                        errors.push(format!("{what}: health_check {hc:?} is not defined in a [[health_check]] table"));
                    }
                }
            }
        }
        let internal = match lb.scheme.as_deref() {
            None | Some("internet-facing") => false,
            Some("internal") => true,
            Some(other) => {
                errors.push(format!(
                    "{what}: scheme {other:?} is not \"internet-facing\" or \"internal\""
                ));
                false
            }
        };
        load_balancers.push(LoadBalancerConfig {
            name,
            internal,
            view: lb.view,
            cross_zone: lb.cross_zone,
            zones: lb
                .zones
                .into_iter()
                .map(|z| crate::policy::load_balancer::AvailabilityZone {
                    name: z.name,
                    ipv4: z.ipv4,
                    ipv6: z.ipv6,
                })
                .collect(),
            target_groups: lb.target_groups.into_iter().map(|t| t.name).collect(),
            targets,
        });
    }
    load_balancers
}

/// The `[[record_set]]` tables, each checked, then each group (name and type) against Route
/// 53's rules.
pub(super) fn record_sets(
    sections: Vec<Located<RecordSetSection>>,
    zones: &[ZoneSpec],
    health: &BTreeMap<String, bool>,
    cidr_collections: &Collections,
    errors: &mut Vec<String>,
) -> Vec<RecordSetSpec> {
    let mut record_sets = Vec::new();
    for Located {
        at: defined_at,
        item: r,
    } in sections
    {
        match record_set(r, &defined_at) {
            Ok(spec) => {
                if let Some(hc) = &spec.health_check {
                    if !health.contains_key(hc) {
                        errors.push(format!("{defined_at}: health_check {hc:?} is not defined in a [[health_check]] table"));
                    }
                }
                if let RuleSpec::IpBased {
                    collection,
                    location,
                } = &spec.rule
                {
                    match cidr_collections.get(collection) {
                        None => errors.push(format!(
                            "{defined_at}: cidr_collection {collection:?} is not defined"
                        )),
                        Some(locs) => {
                            if let Some(l) = location {
                                if !locs.contains_key(l) {
                                    errors.push(format!("{defined_at}: cidr_collection {collection:?} has no location {l:?}"));
                                }
                            }
                        }
                    }
                }
                record_sets.push(spec);
            }
            Err(e) => errors.push(format!("{defined_at}: {e}")),
        }
    }
    let mut groups: BTreeMap<(String, u16, Option<String>), Vec<&RecordSetSpec>> = BTreeMap::new();
    for r in &record_sets {
        // A record set of a view may fall in a zone of that view or a shared one; a shared
        // record set, in any zone (it is served in every view that zone is in).
        let inside = name::from_text(&r.name, None)
            .map(|n| {
                zones.iter().any(|z| {
                    (r.view.is_none() || z.view.is_none() || z.view == r.view)
                        && name::is_subdomain(&name::to_lowercase(&n), &z.origin)
                })
            })
            .unwrap_or(false);
        if !inside {
            let in_view = r
                .view
                .as_ref()
                .map(|v| format!(" (view {v})"))
                .unwrap_or_default();
            errors.push(format!(
                "{}: {r} is in none of the configured zones{in_view}",
                r.defined_at
            ));
        }
        groups
            .entry((r.name.to_ascii_lowercase(), r.rtype, r.view.clone()))
            .or_default()
            .push(r);
    }
    for g in groups.values() {
        errors.extend(crate::policy::spec::validate_group(g));
    }
    record_sets
}

/// One `[[record_set]]` table → its spec; exactly one policy key (none: simple).
fn record_set(r: RecordSetSection, defined_at: &str) -> Result<RecordSetSpec, String> {
    let name = if r.name.ends_with('.') {
        r.name.clone()
    } else {
        format!("{}.", r.name)
    };
    name::from_text(&name, None).map_err(|e| format!("name {:?}: {e}", r.name))?;
    let rtype =
        types::from_mnemonic(&r.rtype).ok_or_else(|| format!("unknown type {:?}", r.rtype))?;
    let fields = PolicyFields {
        weight: r.weight,
        failover: r.failover.as_deref(),
        geolocation: r.geolocation.as_ref().map(|g| GeoFields {
            continent: g.continent.as_deref(),
            country: g.country.as_deref(),
            subdivision: g.subdivision.as_deref(),
        }),
        region: r.region.as_deref(),
        geoproximity: r.geoproximity.as_ref().map(|p| ProximityFields {
            region: p.region.as_deref(),
            local_zone_group: None,
            latitude: p.latitude,
            longitude: p.longitude,
            bias: p.bias,
        }),
        cidr: r.cidr.as_ref().map(|c| CidrFields {
            collection: &c.collection,
            location: &c.location,
        }),
        multivalue: r.multivalue,
    };
    let rule = fields.rule(Dialect::Toml).map_err(|e| e.to_string())?;
    Ok(RecordSetSpec {
        name,
        rtype,
        set_identifier: r.set_identifier,
        ttl: r.ttl.unwrap_or(300),
        values: r.values,
        alias: r.alias.map(|a| AliasSpec {
            dns_name: if a.name.ends_with('.') {
                a.name
            } else {
                format!("{}.", a.name)
            },
            evaluate_target_health: a.evaluate_target_health,
        }),
        health_check: r.health_check,
        consistent: r.consistent,
        rule,
        defined_at: defined_at.to_string(),
        view: r.view,
    })
}

/// Why a target given by address cannot be probed.
#[derive(Debug, thiserror::Error)]
enum TargetError {
    #[error("give either health_check = \"ID\" or ip_address (probed by the target group's health_check), not both")]
    CheckAndAddress,
    #[error(transparent)]
    Probe(#[from] crate::health::CheckError),
    #[error("registered twice (health check {0:?})")]
    Twice(String),
}

/// A target given by address: its ELB check joins the probed checks under an id naming the
/// load balancer, group and address; it starts unhealthy ("initial": not routed to until it
/// passes once).
fn probed_target(
    lb: &str,
    group: &TargetGroupSection,
    t: &TargetSection,
    ip: std::net::IpAddr,
    check: &crate::health::target_group::TargetGroupCheck,
    checks: &mut Checks,
) -> Result<String, TargetError> {
    if t.health_check.is_some() {
        return Err(TargetError::CheckAndAddress);
    }
    let port = t.port.or(group.port);
    let probe = check.probe(ip, port)?;
    let id = crate::health::target_group::target_check_id(lb, &group.name, ip, port);
    if checks.states.insert(id.clone(), false).is_some() {
        return Err(TargetError::Twice(id));
    }
    checks.probes.insert(id.clone(), probe);
    Ok(id)
}
