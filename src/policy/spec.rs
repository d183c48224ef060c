//! Record sets with routing policies as an operator writes them — a TOML `[[record_set]]` or a
//! Route 53 `ResourceRecordSet` — and the rules Route 53 enforces on one record set
//! ([`PolicyFields::rule`], the one builder both sources use) and on a group of them (§1,
//! [`validate_group`]). Names of regions, CIDR locations and health checks are still names here;
//! compiling a zone turns them into indices.

use std::collections::BTreeMap;
use std::fmt;

use super::{regions, FailoverRole, GeoKey};
use crate::wire::types;

#[derive(Debug, Clone, PartialEq)]
pub enum ProximityAt {
    Region(String),
    Coordinates(f64, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleSpec {
    Simple,
    Weighted(u8),
    Failover(FailoverRole),
    Geolocation(GeoKey),
    Latency(String),
    Geoproximity {
        at: ProximityAt,
        bias: i8,
    },
    /// `location: None` is the `*` default.
    IpBased {
        collection: String,
        location: Option<String>,
    },
    Multivalue,
}

impl RuleSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            RuleSpec::Simple => "simple",
            RuleSpec::Weighted(_) => "weighted",
            RuleSpec::Failover(_) => "failover",
            RuleSpec::Geolocation(_) => "geolocation",
            RuleSpec::Latency(_) => "latency",
            RuleSpec::Geoproximity { .. } => "geoproximity",
            RuleSpec::IpBased { .. } => "IP-based",
            RuleSpec::Multivalue => "multivalue",
        }
    }
}

/// An alias target (§4): a name in the same zone (its record set of the same type answers),
/// or a load balancer's DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasSpec {
    /// Absolute name in presentation form.
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

/// One record set of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSetSpec {
    /// Absolute name in presentation form.
    pub name: String,
    pub rtype: u16,
    pub set_identifier: Option<String>,
    pub ttl: u32,
    /// RDATA in presentation form, one record each (empty for an alias).
    pub values: Vec<String>,
    /// Route 53 alias: answer with another record set's data under this name.
    pub alias: Option<AliasSpec>,
    pub health_check: Option<String>,
    /// policydns extension for weighted and multivalue sets: the same client subnet always
    /// gets the same choice (a hash of the subnet instead of a random draw).
    pub consistent: bool,
    pub rule: RuleSpec,
    /// Where it was defined, for messages ("policydns.toml record_set 3").
    pub defined_at: String,
    /// The `[[view]]` whose clients get it; `None`: shared by every view.
    pub view: Option<String>,
}

impl fmt::Display for RecordSetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, types::mnemonic(self.rtype))?;
        if let Some(id) = &self.set_identifier {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}

/// Where a record set was written: its field names appear in messages as that source spells
/// them (`weight` in TOML, `Weight` in Route 53 JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Toml,
    Route53,
}

impl Dialect {
    fn field(self, toml: &'static str, route53: &'static str) -> &'static str {
        match self {
            Dialect::Toml => toml,
            Dialect::Route53 => route53,
        }
    }
}

/// What is wrong with one record set's routing-policy fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("{field} {value} is outside {range}")]
    OutOfRange {
        field: &'static str,
        value: i64,
        range: &'static str,
    },
    #[error("{field} {value:?} must be PRIMARY or SECONDARY")]
    FailoverRole { field: &'static str, value: String },
    #[error("{prefix}{source}")]
    Geolocation {
        prefix: &'static str,
        source: GeoKeyError,
    },
    #[error("geoproximity takes either region or latitude and longitude")]
    ProximityFields,
    #[error("GeoProximityLocation takes exactly one of AWSRegion, LocalZoneGroup, Coordinates")]
    ProximityLocation,
    #[error("GeoProximityLocation LocalZoneGroup {0:?}: Local Zone locations are not known here; give Coordinates (or the AWSRegion) instead")]
    LocalZoneGroup(String),
    #[error("a record set has one routing policy; this one has {}", .0.join(" and "))]
    SeveralPolicies(Vec<&'static str>),
}

/// A geolocation that is not one Route 53 takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoKeyError {
    #[error("{what} {code:?} is not a two-letter code")]
    NotTwoLetters { what: &'static str, code: String },
    #[error("continent {0:?} is not one of AF AN AS EU OC NA SA")]
    UnknownContinent(String),
    #[error("subdivision {0:?} must be 1 to 3 characters")]
    SubdivisionLength(String),
    #[error("geolocation takes a continent, a country (\"*\" for the default), or a country and a subdivision")]
    Combination,
}

/// A geolocation's fields as written.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeoFields<'a> {
    pub continent: Option<&'a str>,
    pub country: Option<&'a str>,
    pub subdivision: Option<&'a str>,
}

/// A geoproximity location's fields as written: exactly one of `region`, `local_zone_group`
/// (Route 53 only) and `coordinates`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProximityFields<'a> {
    pub region: Option<&'a str>,
    pub local_zone_group: Option<&'a str>,
    /// Latitude and longitude, each given or not (TOML writes them as two keys).
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub bias: i64,
}

/// A CIDR routing config: the collection, and the location (`*`: the default).
#[derive(Debug, Clone, Copy)]
pub struct CidrFields<'a> {
    pub collection: &'a str,
    pub location: &'a str,
}

/// The routing-policy fields of one record set as its source wrote them, before they are
/// checked: at most one may be given (none is simple routing).
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyFields<'a> {
    pub weight: Option<i64>,
    pub failover: Option<&'a str>,
    pub geolocation: Option<GeoFields<'a>>,
    pub region: Option<&'a str>,
    pub geoproximity: Option<ProximityFields<'a>>,
    pub cidr: Option<CidrFields<'a>>,
    pub multivalue: Option<bool>,
}

impl PolicyFields<'_> {
    /// The one routing policy these fields name, checked as Route 53 checks one record set.
    pub fn rule(&self, dialect: Dialect) -> Result<RuleSpec, RuleError> {
        let mut rules = Vec::new();
        if let Some(w) = self.weight {
            let w = u8::try_from(w).map_err(|_| RuleError::OutOfRange {
                field: dialect.field("weight", "Weight"),
                value: w,
                range: "0..255",
            })?;
            rules.push(RuleSpec::Weighted(w));
        }
        if let Some(f) = self.failover {
            // Route 53 takes the values as written; our TOML in any case.
            let role = match dialect {
                Dialect::Toml => f.to_ascii_uppercase(),
                Dialect::Route53 => f.to_string(),
            };
            rules.push(RuleSpec::Failover(match role.as_str() {
                "PRIMARY" => FailoverRole::Primary,
                "SECONDARY" => FailoverRole::Secondary,
                _ => {
                    return Err(RuleError::FailoverRole {
                        field: dialect.field("failover", "Failover"),
                        value: f.to_string(),
                    })
                }
            }));
        }
        if let Some(g) = self.geolocation {
            let key = geo_key(g).map_err(|source| RuleError::Geolocation {
                prefix: dialect.field("", "GeoLocation: "),
                source,
            })?;
            rules.push(RuleSpec::Geolocation(key));
        }
        if let Some(region) = self.region {
            rules.push(RuleSpec::Latency(region.to_string()));
        }
        if let Some(p) = self.geoproximity {
            let at = match (p.region, p.local_zone_group, p.latitude, p.longitude) {
                (Some(region), None, None, None) => ProximityAt::Region(region.to_string()),
                (None, None, Some(lat), Some(lon)) => ProximityAt::Coordinates(lat, lon),
                (None, Some(g), None, None) => {
                    return Err(RuleError::LocalZoneGroup(g.to_string()))
                }
                _ => {
                    return Err(match dialect {
                        Dialect::Toml => RuleError::ProximityFields,
                        Dialect::Route53 => RuleError::ProximityLocation,
                    })
                }
            };
            let bias = bias(p.bias).ok_or(RuleError::OutOfRange {
                field: dialect.field("bias", "GeoProximityLocation Bias"),
                value: p.bias,
                range: "-99..99",
            })?;
            rules.push(RuleSpec::Geoproximity { at, bias });
        }
        if let Some(c) = self.cidr {
            rules.push(RuleSpec::IpBased {
                collection: c.collection.to_string(),
                location: (c.location != "*").then(|| c.location.to_string()),
            });
        }
        if self.multivalue == Some(true) {
            rules.push(RuleSpec::Multivalue);
        }
        if rules.len() > 1 {
            return Err(RuleError::SeveralPolicies(
                rules.iter().map(RuleSpec::kind).collect(),
            ));
        }
        Ok(rules.pop().unwrap_or(RuleSpec::Simple))
    }
}

/// A CIDR block that is not one: not an address and prefix, or host bits set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("{text} has host bits set")]
    HostBits { text: String },
    #[error("{text:?}: {reason}")]
    Syntax { text: String, reason: String },
}

/// A CIDR block as written (`192.0.2.0/24`), refused when host bits are set.
pub fn parse_block(text: &str) -> Result<ipnetwork::IpNetwork, BlockError> {
    match text.parse::<ipnetwork::IpNetwork>() {
        Ok(n) if n.network() == n.ip() => Ok(n),
        Ok(_) => Err(BlockError::HostBits {
            text: text.to_string(),
        }),
        Err(e) => Err(BlockError::Syntax {
            text: text.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// A geoproximity bias, if within Route 53's −99..=99.
fn bias(value: i64) -> Option<i8> {
    i8::try_from(value).ok().filter(|b| (-99..=99).contains(b))
}

/// A geolocation: a continent, a country (`*`: the default), or a country and a subdivision.
pub fn geo_key(g: GeoFields<'_>) -> Result<GeoKey, GeoKeyError> {
    let two = |s: &str, what: &'static str| -> Result<[u8; 2], GeoKeyError> {
        let b = s.to_ascii_uppercase().into_bytes();
        b.try_into().map_err(|_| GeoKeyError::NotTwoLetters {
            what,
            code: s.to_string(),
        })
    };
    match (g.continent, g.country, g.subdivision) {
        (Some(c), None, None) => {
            let code = two(c, "continent")?;
            if !matches!(&code, b"AF" | b"AN" | b"AS" | b"EU" | b"OC" | b"NA" | b"SA") {
                return Err(GeoKeyError::UnknownContinent(c.to_string()));
            }
            Ok(GeoKey::Continent(code))
        }
        (None, Some("*"), None) => Ok(GeoKey::Default),
        (None, Some(c), None) => Ok(GeoKey::Country(two(c, "country")?)),
        (None, Some(c), Some(s)) => {
            let sub = s.to_ascii_uppercase().into_bytes();
            if sub.is_empty() || sub.len() > 3 {
                return Err(GeoKeyError::SubdivisionLength(s.to_string()));
            }
            let mut code = [0u8; 3];
            code[..sub.len()].copy_from_slice(&sub);
            Ok(GeoKey::Subdivision(two(c, "country")?, code))
        }
        _ => Err(GeoKeyError::Combination),
    }
}

/// Most record sets one name and type may have (Route 53: 100, §1.3).
pub const MAX_GROUP: usize = 100;

/// Checks one group (all record sets of one name and type) against Route 53's rules; returns
/// each violation as a message naming the record sets involved.
pub fn validate_group(group: &[&RecordSetSpec]) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(first) = group.first() else {
        return errors;
    };
    let what = format!("{} {}", first.name, types::mnemonic(first.rtype));
    let at = |s: &RecordSetSpec| format!("{s} at {}", s.defined_at);

    let kinds: Vec<&str> = group.iter().map(|s| s.rule.kind()).collect();
    if kinds.iter().any(|k| *k != kinds[0]) {
        let list: Vec<String> = group
            .iter()
            .map(|s| format!("{} is {}", at(s), s.rule.kind()))
            .collect();
        errors.push(format!(
            "{what}: one name and type takes one routing policy; here: {}",
            list.join("; ")
        ));
        return errors;
    }
    if group.len() > MAX_GROUP {
        errors.push(format!(
            "{what}: {} record sets, Route 53 allows {MAX_GROUP}",
            group.len()
        ));
    }
    for s in group {
        match (&s.alias, s.values.is_empty()) {
            (None, true) => errors.push(format!("{}: no values", at(s))),
            (Some(_), false) => errors.push(format!(
                "{}: an alias record set has no values of its own",
                at(s)
            )),
            _ => {}
        }
        if s.alias.is_some() && matches!(s.rule, RuleSpec::Multivalue) {
            errors.push(format!(
                "{}: multivalue answer record sets cannot be aliases",
                at(s)
            ));
        }
        if s.alias.is_some() && matches!(s.rtype, types::NS | types::SOA) {
            errors.push(format!(
                "{}: an alias cannot be of type {}",
                at(s),
                types::mnemonic(s.rtype)
            ));
        }
        if s.rtype == types::CNAME && s.values.len() > 1 {
            errors.push(format!("{}: a CNAME record set has one value", at(s)));
        }
        if !matches!(s.rule, RuleSpec::Simple)
            && matches!(s.rtype, types::NS | types::SOA | types::DS)
        {
            errors.push(format!(
                "{}: {} records take only the simple routing policy",
                at(s),
                types::mnemonic(s.rtype)
            ));
        }
        if matches!(s.rule, RuleSpec::Multivalue) && s.rtype == types::CNAME {
            errors.push(format!(
                "{}: multivalue answer records cannot be CNAME",
                at(s)
            ));
        }
        if s.consistent && !matches!(s.rule, RuleSpec::Weighted(_) | RuleSpec::Multivalue) {
            errors.push(format!(
                "{}: consistent applies to weighted and multivalue record sets only",
                at(s)
            ));
        }
        if let RuleSpec::Latency(region) = &s.rule {
            if regions::index(region).is_none() {
                errors.push(format!(
                    "{}: unknown region {region:?} (known: {})",
                    at(s),
                    regions::all_codes().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if let RuleSpec::Geoproximity {
            at: ProximityAt::Region(region),
            ..
        } = &s.rule
        {
            if regions::index(region).is_none() {
                errors.push(format!("{}: unknown region {region:?}", at(s)));
            }
        }
        if let RuleSpec::Geoproximity {
            at: ProximityAt::Coordinates(lat, lon),
            bias,
        } = &s.rule
        {
            if !(-90.0..=90.0).contains(lat) || !(-180.0..=180.0).contains(lon) {
                errors.push(format!(
                    "{}: coordinates ({lat}, {lon}) out of range",
                    at(s)
                ));
            }
            if !(-99..=99).contains(bias) {
                errors.push(format!("{}: bias {bias} outside -99..99", at(s)));
            }
        }
    }
    if matches!(first.rule, RuleSpec::Simple) {
        if group.len() > 1 {
            errors.push(format!(
                "{what}: a simple record set stands alone; {} are defined ({})",
                group.len(),
                group
                    .iter()
                    .map(|s| s.defined_at.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return errors;
    }

    let mut ids: BTreeMap<&str, &RecordSetSpec> = BTreeMap::new();
    for s in group {
        match &s.set_identifier {
            None => errors.push(format!(
                "{}: a {} record set needs a set_identifier",
                at(s),
                s.rule.kind()
            )),
            Some(id) => {
                if let Some(prev) = ids.insert(id, s) {
                    errors.push(format!(
                        "{what}: set_identifier {id:?} is used twice ({} and {})",
                        prev.defined_at, s.defined_at
                    ));
                }
            }
        }
    }
    // Keys that must be unique within the group: the failover role, the location, the region.
    let mut keys: BTreeMap<String, &RecordSetSpec> = BTreeMap::new();
    for s in group {
        let key = match &s.rule {
            RuleSpec::Failover(role) => Some(format!("{role:?}").to_uppercase()),
            RuleSpec::Geolocation(k) => Some(format!("location {k:?}")),
            RuleSpec::Latency(r) => Some(format!("region {}", r.to_ascii_lowercase())),
            RuleSpec::IpBased { location, .. } => Some(format!(
                "CIDR location {}",
                location.as_deref().unwrap_or("*")
            )),
            _ => None,
        };
        if let Some(key) = key {
            if let Some(prev) = keys.insert(key.clone(), s) {
                errors.push(format!(
                    "{what}: two record sets for {key} ({} and {})",
                    at(prev),
                    at(s)
                ));
            }
        }
    }
    if matches!(first.rule, RuleSpec::Failover(_)) {
        for role in ["PRIMARY", "SECONDARY"] {
            if !keys.contains_key(role) {
                errors.push(format!(
                    "{what}: a failover group needs one {role} record set"
                ));
            }
        }
    }
    if let RuleSpec::IpBased { collection, .. } = &first.rule {
        if group
            .iter()
            .any(|s| !matches!(&s.rule, RuleSpec::IpBased { collection: c, .. } if c == collection))
        {
            errors.push(format!(
                "{what}: all IP-based record sets of a name and type use one CIDR collection"
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(id: &str, rule: RuleSpec) -> RecordSetSpec {
        RecordSetSpec {
            name: "api.example.test.".into(),
            rtype: types::A,
            set_identifier: Some(id.into()),
            ttl: 60,
            values: vec!["192.0.2.1".into()],
            alias: None,
            consistent: false,
            health_check: None,
            rule,
            defined_at: format!("test {id}"),
            view: None,
        }
    }

    fn check(sets: &[RecordSetSpec]) -> Vec<String> {
        validate_group(&sets.iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_valid_weighted_group_passes() {
        assert!(check(&[
            rs("a", RuleSpec::Weighted(1)),
            rs("b", RuleSpec::Weighted(0))
        ])
        .is_empty());
    }

    #[test]
    fn mixed_policies_are_refused() {
        let e = check(&[
            rs("a", RuleSpec::Weighted(1)),
            rs("b", RuleSpec::Failover(FailoverRole::Primary)),
        ]);
        assert!(e[0].contains("one routing policy"), "{e:?}");
    }

    #[test]
    fn duplicate_set_identifiers_are_refused() {
        let e = check(&[
            rs("a", RuleSpec::Weighted(1)),
            rs("a", RuleSpec::Weighted(2)),
        ]);
        assert!(e.iter().any(|m| m.contains("used twice")), "{e:?}");
    }

    #[test]
    fn two_primaries_and_no_secondary_are_refused() {
        let e = check(&[
            rs("a", RuleSpec::Failover(FailoverRole::Primary)),
            rs("b", RuleSpec::Failover(FailoverRole::Primary)),
        ]);
        assert!(
            e.iter().any(|m| m.contains("two record sets for PRIMARY")),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.contains("needs one SECONDARY")), "{e:?}");
    }

    #[test]
    fn unknown_regions_are_refused() {
        let e = check(&[rs("a", RuleSpec::Latency("mars-1".into()))]);
        assert!(e[0].contains("unknown region"), "{e:?}");
    }

    #[test]
    fn simple_record_sets_stand_alone() {
        let mut a = rs("a", RuleSpec::Simple);
        a.set_identifier = None;
        let b = a.clone();
        assert!(check(&[a.clone()]).is_empty());
        assert!(check(&[a, b])[0].contains("stands alone"));
    }

    #[test]
    fn ns_records_take_only_simple_routing() {
        let mut a = rs("a", RuleSpec::Weighted(1));
        a.rtype = types::NS;
        assert!(check(&[a])[0].contains("only the simple"));
    }
}
