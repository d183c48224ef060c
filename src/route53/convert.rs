//! Route 53 record sets → zone-file records (simple, not alias) and routing-policy record-set
//! specs (everything else), with Route 53's checks on one record set and on each group.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::read::{octal_to_master, wire_name, Located};
use super::ResourceRecordSet;
use crate::policy::spec::{
    validate_group, AliasSpec, CidrFields, Dialect, GeoFields, PolicyFields, ProximityFields,
    RecordSetSpec, RuleSpec,
};
use crate::wire::{name, types};
use crate::zone::parse::{self, ParseError, Record};

/// Route 53's record types (API `RRType`).
pub const ROUTE53_TYPES: &[&str] = &[
    "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS",
    "TLSA", "SSHFP", "SVCB", "HTTPS",
];

/// Route 53 reads the names inside values as fully qualified, with or without the final dot;
/// a master file would complete them with the origin. Adds the dot to each name field.
pub(super) fn qualify_names(rtype: u16, value: &str) -> String {
    fn dot(name: &str) -> String {
        if name.ends_with('.') && !name.ends_with("\\.") {
            name.to_string()
        } else {
            format!("{name}.")
        }
    }
    let tokens: Vec<&str> = value.split_whitespace().collect();
    let at = |positions: &[usize]| -> String {
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if positions.contains(&i) {
                    dot(t)
                } else {
                    t.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    match rtype {
        types::CNAME | types::NS | types::PTR if tokens.len() == 1 => dot(tokens[0]),
        types::MX if tokens.len() == 2 => at(&[1]),
        types::SRV if tokens.len() == 4 => at(&[3]),
        types::SOA if tokens.len() == 7 => at(&[0, 1]),
        types::NAPTR => match value.trim_end().rsplit_once(char::is_whitespace) {
            Some((head, last)) if !last.is_empty() && !last.contains('"') => {
                format!("{head} {}", dot(last))
            }
            _ => value.to_string(),
        },
        65 | 64 /* HTTPS, SVCB */ => {
            let v = value.trim_start();
            let mut parts = v.splitn(2, char::is_whitespace);
            let (Some(prio), Some(rest)) = (parts.next(), parts.next()) else {
                return value.to_string();
            };
            let rest = rest.trim_start();
            let (target, params) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            format!("{prio} {} {params}", dot(target)).trim_end().to_string()
        }
        _ => value.to_string(),
    }
}

/// What an alias target outside the zone is, for the message that refuses it.
fn aws_resource(target: &str) -> Option<&'static str> {
    let t = target.to_ascii_lowercase();
    let t = t.trim_end_matches('.');
    if t.ends_with(".elb.amazonaws.com") {
        Some("an Elastic Load Balancing load balancer")
    } else if t.ends_with(".cloudfront.net") {
        Some("a CloudFront distribution")
    } else if t.contains("s3-website") && t.ends_with(".amazonaws.com") {
        Some("an S3 website endpoint")
    } else if t.contains(".execute-api.") {
        Some("an API Gateway endpoint")
    } else if t.ends_with(".elasticbeanstalk.com") {
        Some("an Elastic Beanstalk environment")
    } else if t.ends_with(".awsglobalaccelerator.com") {
        Some("a Global Accelerator")
    } else if t.ends_with(".amazonaws.com") || t.ends_with(".on.aws") {
        Some("an AWS resource")
    } else {
        None
    }
}

/// How [`convert`] treats the zone apex.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConvertOptions {
    /// A zone file gives the apex SOA and NS: the export's are left out (they name Route 53's
    /// servers). Otherwise the export must hold them.
    pub apex_from_zone_file: bool,
    /// The record sets of some names only (a change batch): the apex SOA and NS need not be
    /// among them.
    pub some_names: bool,
}

/// Record sets converted for a zone.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Simple record sets that are not aliases, as master-file text (absolute names, one line
    /// per value, in the order read).
    pub zone_text: String,
    /// The same, parsed; each record's file is where its record set was read, line 0.
    pub records: Vec<Record>,
    /// Routing-policy and alias record sets.
    pub record_sets: Vec<RecordSetSpec>,
}

impl Imported {
    /// Health-check ids the routing-policy record sets refer to.
    pub fn health_check_ids(&self) -> BTreeSet<&str> {
        self.record_sets
            .iter()
            .filter_map(|r| r.health_check.as_deref())
            .collect()
    }

    /// CIDR collection ids the IP-based record sets refer to.
    pub fn cidr_collection_ids(&self) -> BTreeSet<&str> {
        self.record_sets
            .iter()
            .filter_map(|r| match &r.rule {
                RuleSpec::IpBased { collection, .. } => Some(collection.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Converts record sets of the zone at `origin` (wire form). Groups are checked together with
/// `others` (record sets of the same zone from elsewhere, e.g. the TOML config). Every problem
/// is reported, each naming its record set (Name, Type, SetIdentifier) and where it was read.
pub fn convert(
    sets: &[Located],
    origin: &[u8],
    others: &[&RecordSetSpec],
    options: ConvertOptions,
) -> Result<Imported, Vec<ParseError>> {
    let origin = name::to_lowercase(origin);
    let mut problems = Vec::new();
    let mut specs: Vec<(RecordSetSpec, Vec<u8>)> = Vec::new();
    for l in sets {
        match record_set_spec(&l.set, &l.at, &origin) {
            Ok(Some(spec)) => {
                let owner =
                    name::to_lowercase(&name::from_text(&spec.name, None).expect("checked"));
                let apex_ns_soa = owner == origin && matches!(spec.rtype, types::SOA | types::NS);
                if apex_ns_soa && options.apex_from_zone_file {
                    continue;
                }
                specs.push((spec, owner));
            }
            Ok(None) => {}
            Err(message) => problems.push(ParseError {
                file: PathBuf::from(&l.at),
                line: 0,
                message: format!("{}: {message}", l.set.describe()),
            }),
        }
    }
    if !options.apex_from_zone_file && !options.some_names {
        for (t, what) in [(types::SOA, "SOA"), (types::NS, "NS")] {
            if !specs.iter().any(|(s, o)| *o == origin && s.rtype == t) {
                problems.push(ParseError {
                    file: sets.first().map(|l| l.file.clone()).unwrap_or_default(),
                    line: 0,
                    message: format!(
                        "zone {}: no {what} record set at the apex; a zone given only as Route 53 JSON takes its SOA and NS from the export (list-resource-record-sets includes them), or give a zone file for the zone too",
                        name::to_text(&origin)
                    ),
                });
            }
        }
    }

    // Route 53's group rules, over this zone's record sets and the others of the same groups.
    // (owner, type) → the group's record sets, and whether any of them was read here.
    type Groups<'a> = BTreeMap<(Vec<u8>, u16), (Vec<&'a RecordSetSpec>, bool)>;
    let mut groups: Groups = BTreeMap::new();
    for (s, owner) in &specs {
        let g = groups.entry((owner.clone(), s.rtype)).or_default();
        g.0.push(s);
        g.1 = true;
    }
    for s in others {
        if let Ok(owner) = name::from_text(&s.name, None) {
            if let Some(g) = groups.get_mut(&(name::to_lowercase(&owner), s.rtype)) {
                g.0.push(s);
            }
        }
    }
    for (group, _) in groups.values().filter(|g| g.1) {
        problems.extend(validate_group(group).into_iter().map(|message| ParseError {
            file: PathBuf::new(),
            line: 0,
            message,
        }));
    }

    // The apex SOA and NS first, as a master file usually starts.
    specs.sort_by_key(|(s, owner)| match s.rtype {
        types::SOA if *owner == origin => 0,
        types::NS if *owner == origin => 1,
        _ => 2,
    });
    let mut out = Imported::default();
    for (spec, _) in specs {
        let simple = spec.alias.is_none() && matches!(spec.rule, RuleSpec::Simple);
        let mut lines = String::new();
        for value in &spec.values {
            let line = format!(
                "{} {} IN {} {value}\n",
                spec.name,
                spec.ttl,
                types::mnemonic(spec.rtype)
            );
            match parse::parse_str(&line, &origin, Path::new(&spec.defined_at)) {
                Ok(recs) if recs.len() == 1 => {
                    if simple {
                        out.records.extend(recs.into_iter().map(|mut r| {
                            r.line = 0;
                            r
                        }));
                    }
                }
                Ok(_) => problems.push(ParseError {
                    file: PathBuf::from(&spec.defined_at),
                    line: 0,
                    message: format!("{spec}: value {value:?} is not one record"),
                }),
                Err(e) => problems.push(ParseError {
                    file: PathBuf::from(&spec.defined_at),
                    line: 0,
                    message: format!(
                        "{spec}: value {value:?}: {}",
                        e.problems
                            .iter()
                            .map(|p| p.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                }),
            }
            lines.push_str(&line);
        }
        if simple {
            out.zone_text.push_str(&lines);
        } else {
            out.record_sets.push(spec);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// What Route 53 refuses in one record set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordSetError {
    #[error("created by a Route 53 traffic policy (TrafficPolicyInstanceId {0:?}); traffic policies are not supported: write the policy's tree as record sets (routing policies joined by aliases) instead")]
    TrafficPolicy(String),
    #[error(transparent)]
    Value(#[from] super::read::ValueError),
    #[error("not in zone {0}")]
    OutOfZone(String),
    #[error("Type {given:?} is not a Route 53 record type ({})", ROUTE53_TYPES.join(" "))]
    Type { given: String },
    #[error("{what} {text:?} is not a number")]
    NotANumber { what: &'static str, text: String },
    #[error(transparent)]
    Rule(#[from] crate::policy::spec::RuleError),
    #[error("SetIdentifier is given but no routing policy (Weight, Region, GeoLocation, Failover, MultiValueAnswer, CidrRoutingConfig, GeoProximityLocation)")]
    IdentifierWithoutPolicy,
    #[error("an alias (AliasTarget) has no ResourceRecords of its own")]
    AliasWithRecords,
    #[error("neither ResourceRecords nor AliasTarget is given")]
    NoData,
    #[error("an alias takes its TTL from its target; remove TTL (Route 53 refuses it too)")]
    AliasWithTtl,
    #[error("AliasTarget {0}")]
    AliasTarget(super::read::ValueError),
    #[error("alias target {target} is not in zone {zone}: an alias points to a record set of its own zone (Route 53 allows no other zone) or to an AWS resource")]
    AliasOutOfZone { target: String, zone: String },
    #[error("TTL is required for a record set that is not an alias")]
    NoTtl,
    #[error("TTL {0} is outside 0..2147483647")]
    TtlRange(i64),
}

/// One record set → its spec, after the checks Route 53 makes on a single record set.
fn record_set_spec(
    r: &ResourceRecordSet,
    at: &str,
    origin: &[u8],
) -> Result<Option<RecordSetSpec>, RecordSetError> {
    if let Some(id) = &r.traffic_policy_instance_id {
        return Err(RecordSetError::TrafficPolicy(id.clone()));
    }
    let owner = wire_name(&r.name)?;
    if !name::is_subdomain(&name::to_lowercase(&owner), origin) {
        return Err(RecordSetError::OutOfZone(name::to_text(origin)));
    }
    let upper = r.rtype.to_ascii_uppercase();
    if !ROUTE53_TYPES.contains(&upper.as_str()) {
        return Err(RecordSetError::Type {
            given: r.rtype.clone(),
        });
    }
    let rtype = types::from_mnemonic(&upper).expect("Route 53 types are known");

    let coordinates = match r
        .geo_proximity_location
        .as_ref()
        .and_then(|p| p.coordinates.as_ref())
    {
        Some(c) => Some((
            c.latitude.value("Latitude")?,
            c.longitude.value("Longitude")?,
        )),
        None => None,
    };
    let fields = PolicyFields {
        weight: r.weight,
        failover: r.failover.as_deref(),
        geolocation: r.geo_location.as_ref().map(|g| GeoFields {
            continent: g.continent_code.as_deref(),
            country: g.country_code.as_deref(),
            subdivision: g.subdivision_code.as_deref(),
        }),
        region: r.region.as_deref(),
        geoproximity: r.geo_proximity_location.as_ref().map(|p| ProximityFields {
            region: p.aws_region.as_deref(),
            local_zone_group: p.local_zone_group.as_deref(),
            latitude: coordinates.map(|c| c.0),
            longitude: coordinates.map(|c| c.1),
            bias: p.bias.unwrap_or(0),
        }),
        cidr: r.cidr_routing_config.as_ref().map(|c| CidrFields {
            collection: &c.collection_id,
            location: &c.location_name,
        }),
        multivalue: r.multi_value_answer,
    };
    let rule = fields.rule(Dialect::Route53)?;
    if matches!(rule, RuleSpec::Simple) && r.set_identifier.is_some() {
        return Err(RecordSetError::IdentifierWithoutPolicy);
    }

    let (ttl, values, alias) = match (&r.alias_target, &r.resource_records) {
        (Some(_), Some(_)) => return Err(RecordSetError::AliasWithRecords),
        (None, None) => return Err(RecordSetError::NoData),
        (Some(a), None) => {
            if r.ttl.is_some() {
                return Err(RecordSetError::AliasWithTtl);
            }
            let target = wire_name(&a.dns_name).map_err(RecordSetError::AliasTarget)?;
            if !name::is_subdomain(&name::to_lowercase(&target), origin) {
                let shown = a.dns_name.trim();
                // An AWS resource outside the zone: served if a [[load_balancer]] of that name
                // is configured (load.rs decides and says what to add otherwise).
                if aws_resource(shown).is_none() {
                    return Err(RecordSetError::AliasOutOfZone {
                        target: shown.to_string(),
                        zone: name::to_text(origin),
                    });
                }
            }
            // An alias has no TTL of its own; 300 is what a TOML record set without `ttl` gets.
            (
                300,
                Vec::new(),
                Some(AliasSpec {
                    dns_name: name::to_text(&target),
                    evaluate_target_health: a.evaluate_target_health,
                }),
            )
        }
        (None, Some(records)) => {
            let ttl = r.ttl.ok_or(RecordSetError::NoTtl)?;
            let ttl = u32::try_from(ttl)
                .ok()
                .filter(|t| *t <= i32::MAX as u32)
                .ok_or(RecordSetError::TtlRange(ttl))?;
            let mut values = Vec::with_capacity(records.len());
            for v in records {
                let converted = octal_to_master(v.value.trim())?;
                values.push(qualify_names(rtype, &converted));
            }
            (ttl, values, None)
        }
    };
    Ok(Some(RecordSetSpec {
        name: name::to_text(&owner),
        rtype,
        set_identifier: r.set_identifier.clone(),
        ttl,
        values,
        alias,
        health_check: r.health_check_id.clone(),
        consistent: false,
        rule,
        defined_at: at.to_string(),
        view: None,
    }))
}
