//! Configuration + zone files (and Route 53 JSON) → a new [`Snapshot`]. On reload a zone that
//! fails keeps its previous version; the failure is reported with file:line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnetwork::IpNetwork;

use crate::answer::{CidrTable, Snapshot};
use crate::config::{Config, ZoneSpec};
use crate::policy::spec::{ProximityAt, RecordSetSpec, RuleSpec};
use crate::policy::{regions, Rule};
use crate::zone::{name, parse, Catalog, GroupInput, LoadError, MemberInput, ParseError, Zone};

/// The result of building a snapshot: what to serve, and what went wrong on the way.
pub struct Built {
    pub snapshot: Snapshot,
    /// Zones that failed, each with every problem found.
    pub failures: Vec<(String, LoadError)>,
    pub warnings: Vec<String>,
}

/// Loads every configured zone. A zone that fails is taken from `previous` when it has one.
pub fn build(config: &Config, previous: Option<&Snapshot>) -> Built {
    let mut zones = Vec::with_capacity(config.zones.len());
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    // The GeoIP database: a new one on every build (a reload picks up a replaced file); if it
    // cannot be read, the previous one stays.
    let geo = match &config.geoip {
        None => None,
        Some(path) => match crate::geo::GeoDb::open(path) {
            Ok(db) => Some(Arc::new(db)),
            Err(e) => {
                failures.push((
                    "geoip".to_string(),
                    LoadError::from(ParseError {
                        file: path.clone(),
                        line: 0,
                        message: e.to_string(),
                    }),
                ));
                previous.and_then(|p| p.geo.clone())
            }
        },
    };
    let latency = match &config.latency_map {
        None => None,
        Some(path) => match crate::policy::latency::LatencyMap::load(path) {
            Ok(m) => Some(Arc::new(m)),
            Err(message) => {
                failures.push((
                    "latency map".to_string(),
                    LoadError::from(ParseError {
                        // The message names the file and line already.
                        file: std::path::PathBuf::new(),
                        line: 0,
                        message,
                    }),
                ));
                previous.and_then(|p| p.latency.clone())
            }
        },
    };
    // Names become the indices the snapshot's tables use (sorted by id, as the maps are).
    let health_index = index_of(config.health.keys());
    let collection_index = index_of(config.cidr_collections.keys());
    for spec in &config.zones {
        if spec.transfer.primary.is_some() {
            // A secondary zone: the copy saved in the state directory (with the policy its
            // primary sent, which the config now holds), else the running version, else a
            // stand-in that answers SERVFAIL until the first transfer.
            let saved = config.state_dir.as_deref().and_then(|dir| {
                let file = crate::transfer::secondary::state_file(dir, &spec.origin);
                if !file.exists() {
                    return None;
                }
                let policy = std::fs::read_to_string(crate::transfer::secondary::policy_file(
                    dir,
                    &spec.origin,
                ))
                .ok();
                let loaded =
                    groups_for(config, &spec.origin, &[], &health_index, &collection_index)
                        .map_err(|problems| LoadError { problems })
                        .and_then(|groups| Zone::load_with_groups(&spec.origin, &file, groups));
                match loaded {
                    Ok((mut zone, w)) => {
                        warnings.extend(w);
                        zone.policy = policy.map(Arc::from);
                        Some(Arc::new(zone))
                    }
                    Err(e) => {
                        failures.push((name::to_text(&spec.origin), e));
                        None
                    }
                }
            });
            let zone = saved
                .or_else(|| previous.and_then(|p| p.catalog.zone_by_origin(&spec.origin).cloned()))
                .unwrap_or_else(|| Arc::new(Zone::placeholder(&spec.origin)));
            zones.push(zone);
            continue;
        }
        let loaded = if spec.route53.is_empty() {
            let file = spec.file.as_deref().unwrap_or(Path::new(""));
            groups_for(config, &spec.origin, &[], &health_index, &collection_index)
                .map_err(|problems| LoadError { problems })
                .and_then(|groups| Zone::load_with_groups(&spec.origin, file, groups))
        } else {
            load_route53(
                config,
                spec,
                &health_index,
                &collection_index,
                &mut warnings,
            )
        };
        match loaded {
            Ok((mut zone, w)) => {
                warnings.extend(w);
                // Only a zone that may be transferred carries its policy (to policydns
                // secondaries); the others never need it.
                if zone.policy.is_none() && !spec.transfer.allow.is_empty() {
                    let sets: Vec<&RecordSetSpec> = config
                        .record_sets
                        .iter()
                        .filter(|r| in_zone(config, r, &spec.origin))
                        .collect();
                    zone.policy = policy_fragment(config, &sets).map(Arc::from);
                }
                zones.push(Arc::new(zone));
            }
            Err(e) => {
                let origin = name::to_text(&spec.origin);
                if let Some(old) = previous.and_then(|p| p.catalog.zone_by_origin(&spec.origin)) {
                    zones.push(old.clone());
                }
                failures.push((origin, e));
            }
        }
    }
    let built = Built {
        snapshot: Snapshot {
            catalog: Catalog::new(zones),
            options: config.options.clone(),
            // Probed checks keep the state their probes reached across reloads; the others
            // (and new ones) take their configured state.
            health: Arc::new(crate::health::HealthTable::new(config.health.iter().map(
                |(id, initial)| {
                    let probed = config.probes.contains_key(id);
                    previous
                        .filter(|_| probed)
                        .and_then(|p| {
                            p.health_ids
                                .iter()
                                .position(|x| x == id)
                                .map(|i| p.health.get(i as u32))
                        })
                        .unwrap_or(*initial)
                },
            ))),
            health_ids: config.health.keys().cloned().collect(),
            calculated: config
                .health
                .keys()
                .map(|id| {
                    config.calculated.get(id).map(|c| {
                        let children = c
                            .children
                            .iter()
                            .filter_map(|ch| health_index.get(ch.as_str()).copied())
                            .collect();
                        (children, c.threshold, c.inverted, c.disabled)
                    })
                })
                .collect(),
            cidr: config.cidr_collections.values().map(cidr_table).collect(),
            load_balancers: config
                .load_balancers
                .iter()
                .map(|l| crate::policy::elb::LoadBalancer {
                    name: l.name.clone(),
                    cross_zone: l.cross_zone,
                    zones: l.zones.clone(),
                    target_groups: l.target_groups.clone(),
                    targets: l
                        .targets
                        .iter()
                        .map(|(g, z, hc)| crate::policy::elb::Target {
                            group: *g,
                            zone: *z,
                            health: hc.as_deref().and_then(|h| health_index.get(h).copied()),
                        })
                        .collect(),
                })
                .collect(),
            geo,
            latency,
        },
        failures,
        warnings,
    };
    release_freed_memory();
    built
}

/// Parsing a large zone leaves many freed blocks that glibc keeps mapped; hand them back so
/// the server's resident size is what the zones really take.
/// The transfer settings (keys, who may transfer, whom to notify, primaries) of a config.
pub fn transfer_settings(config: &Config) -> crate::transfer::Settings {
    crate::transfer::Settings {
        keys: config.tsig_keys.clone(),
        zones: config
            .zones
            .iter()
            .map(|z| (z.origin.clone(), z.transfer.clone()))
            .collect(),
        state_dir: config.state_dir.clone(),
    }
}

/// The secondary zones of a config, for `transfer::secondary::run`.
pub fn secondaries(config: &Config) -> Vec<crate::transfer::secondary::Secondary> {
    config
        .zones
        .iter()
        .filter_map(|z| {
            let p = z.transfer.primary.as_ref()?;
            Some(crate::transfer::secondary::Secondary {
                origin: z.origin.clone(),
                primary: p.addr,
                key: p
                    .key
                    .as_ref()
                    .and_then(|k| config.tsig_keys.by_text(k).cloned()),
                state_dir: config.state_dir.clone(),
            })
        })
        .collect()
}

fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A zone with Route 53 JSON: its files read and converted (`crate::route53`), the simple
/// record sets compiled beside the zone file's records (if it has one), the others beside the
/// config's routing-policy record sets of the zone.
fn load_route53(
    config: &Config,
    spec: &ZoneSpec,
    health_index: &BTreeMap<&str, u32>,
    collection_index: &BTreeMap<&str, u32>,
    warnings: &mut Vec<String>,
) -> Result<(Zone, Vec<String>), LoadError> {
    use crate::route53;
    let sets = route53::read_files(&spec.route53).map_err(|problems| LoadError { problems })?;
    let others: Vec<&RecordSetSpec> = config
        .record_sets
        .iter()
        .filter(|r| in_zone(config, r, &spec.origin))
        .collect();
    let options = route53::ConvertOptions {
        apex_from_zone_file: spec.file.is_some(),
    };
    let imported = route53::convert(&sets, &spec.origin, &others, options)
        .map_err(|problems| LoadError { problems })?;

    // IP-based record sets name a CIDR collection given beside them (--cidr-collection).
    let mut problems = Vec::new();
    for r in &imported.record_sets {
        if let RuleSpec::IpBased {
            collection,
            location,
        } = &r.rule
        {
            let problem = |message: String| ParseError {
                file: PathBuf::from(&r.defined_at),
                line: 0,
                message: format!("{r}: {message}"),
            };
            match config.cidr_collections.get(collection) {
                None => problems.push(problem(format!(
                    "CidrRoutingConfig CollectionId {collection:?} is not a configured CIDR collection: give --cidr-collection {collection}=BLOCKS.json (the output of aws route53 list-cidr-blocks --collection-id {collection}) or a [[cidr_collection]] table"
                ))),
                Some(locations) => {
                    if let Some(l) = location.as_ref().filter(|l| !locations.contains_key(*l)) {
                        problems.push(problem(format!(
                            "CIDR collection {collection:?} has no location {l:?}"
                        )));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(LoadError { problems });
    }
    // An id neither the config nor --health-checks defines is healthy, as Route
    // 53 starts new checks (route53-semantics §5.2). TOML record sets keep the strict check.
    let undefined: Vec<&str> = imported
        .health_check_ids()
        .into_iter()
        .filter(|id| !config.health.contains_key(*id))
        .collect();
    if !undefined.is_empty() {
        warnings.push(format!(
            "zone {}: HealthCheckId {} not defined by a [[health_check]] table; treated as healthy (Route 53 starts new health checks healthy)",
            name::to_text(&spec.origin),
            undefined.join(", ")
        ));
    }

    let groups = groups_for(
        config,
        &spec.origin,
        &imported.record_sets,
        health_index,
        collection_index,
    )
    .map_err(|problems| LoadError { problems })?;
    let mut records = match &spec.file {
        Some(f) => parse::parse_file(f, &spec.origin)?,
        None => Vec::new(),
    };
    records.extend(imported.records);
    let source = spec.file.clone().unwrap_or_else(|| spec.route53[0].clone());
    let (mut zone, w) =
        Zone::compile_with_groups(&spec.origin, records, groups).map_err(|mut e| {
            // Zone-wide problems (no SOA, ...) have no file: name the zone's source.
            for p in e
                .problems
                .iter_mut()
                .filter(|p| p.file.as_os_str().is_empty())
            {
                p.file.clone_from(&source);
            }
            e
        })?;
    zone.source = Some(source);
    if spec.transfer.allow.is_empty() {
        return Ok((zone, w));
    }
    let sets: Vec<&RecordSetSpec> = others
        .iter()
        .copied()
        .chain(imported.record_sets.iter())
        .collect();
    zone.policy = policy_fragment(config, &sets).map(Arc::from);
    Ok((zone, w))
}

/// A zone's routing policy as a policydns secondary reads it: the record sets as
/// `[[record_set]]` tables and what they refer to (health checks, CIDR collections, load
/// balancers) as the config wrote them. `None` for a zone without record sets.
fn policy_fragment(config: &Config, sets: &[&RecordSetSpec]) -> Option<String> {
    use std::collections::BTreeSet;
    if sets.is_empty() {
        return None;
    }
    let raw = &config.raw_policy;
    let mut checks: BTreeSet<String> = BTreeSet::new();
    let mut collections: BTreeSet<&str> = BTreeSet::new();
    let mut lbs: BTreeSet<String> = BTreeSet::new();
    for r in sets {
        checks.extend(r.health_check.clone());
        if let RuleSpec::IpBased { collection, .. } = &r.rule {
            collections.insert(collection);
        }
        if let Some(a) = &r.alias {
            let n = a.dns_name.trim_end_matches('.').to_ascii_lowercase();
            let n = n
                .strip_prefix("dualstack.")
                .map(str::to_string)
                .unwrap_or(n);
            if raw.load_balancers.contains_key(&n) {
                lbs.insert(n);
            }
        }
    }
    // Checks that load balancers' targets and calculated checks name.
    for lb in &lbs {
        let groups = raw.load_balancers[lb]
            .get("target_groups")
            .and_then(|g| g.as_array());
        for g in groups.into_iter().flatten() {
            for t in g
                .get("targets")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(h) = t.get("health_check").and_then(|h| h.as_str()) {
                    checks.insert(h.to_string());
                }
            }
        }
    }
    for id in checks.clone() {
        if let Some(c) = config.calculated.get(&id) {
            checks.extend(c.children.iter().cloned());
        }
    }
    let mut table = toml::Table::new();
    let mut health = Vec::new();
    let mut route53 = Vec::new();
    for id in &checks {
        if let Some(t) = raw.health_checks.get(id) {
            health.push(t.clone());
        } else if let Some(j) = raw.route53_health_checks.get(id) {
            route53.push(j.clone());
        } else {
            // Not defined here (a Route 53 id without its check): healthy, as we treat it.
            let mut t = toml::Table::new();
            t.insert("id".into(), id.clone().into());
            t.insert(
                "healthy".into(),
                config.health.get(id).copied().unwrap_or(true).into(),
            );
            health.push(t.into());
        }
    }
    if !route53.is_empty() {
        let doc = serde_json::json!({ "HealthChecks": route53 });
        table.insert("route53_health_checks".into(), doc.to_string().into());
    }
    if !health.is_empty() {
        table.insert("health_check".into(), health.into());
    }
    let cidr: Vec<toml::Value> = collections
        .iter()
        .filter_map(|id| {
            let locations = config.cidr_collections.get(*id)?;
            let mut l = toml::Table::new();
            for (loc, nets) in locations {
                l.insert(
                    loc.clone(),
                    nets.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            let mut t = toml::Table::new();
            t.insert("id".into(), (*id).into());
            t.insert("locations".into(), l.into());
            Some(t.into())
        })
        .collect();
    if !cidr.is_empty() {
        table.insert("cidr_collection".into(), cidr.into());
    }
    let lb_tables: Vec<toml::Value> = lbs.iter().map(|n| raw.load_balancers[n].clone()).collect();
    if !lb_tables.is_empty() {
        table.insert("load_balancer".into(), lb_tables.into());
    }
    let mut text = toml::to_string(&table).unwrap_or_default();
    for r in sets {
        text.push('\n');
        text.push_str(&crate::route53::record_set_toml(r));
    }
    Some(text)
}

/// Whether record set `r` belongs to the zone at `origin`: the most specific configured zone
/// that holds its name.
fn in_zone(config: &Config, r: &RecordSetSpec, origin: &[u8]) -> bool {
    let Ok(owner) = name::from_text(&r.name, None) else {
        return false;
    };
    let owner = name::to_lowercase(&owner);
    config
        .zones
        .iter()
        .filter(|z| name::is_subdomain(&owner, &z.origin))
        .max_by_key(|z| z.origin.len())
        .is_some_and(|z| z.origin == origin)
}

/// The routing-policy groups whose names fall in the zone at `origin` (the most specific of the
/// configured zones) plus `extra` (record sets read for this zone, e.g. from Route 53 JSON),
/// with names turned into indices and values into wire RDATA.
fn groups_for(
    config: &Config,
    origin: &[u8],
    extra: &[RecordSetSpec],
    health_index: &BTreeMap<&str, u32>,
    collection_index: &BTreeMap<&str, u32>,
) -> Result<Vec<GroupInput>, Vec<ParseError>> {
    let mut problems = Vec::new();
    let mut groups: BTreeMap<(Vec<u8>, u16), Vec<&RecordSetSpec>> = BTreeMap::new();
    for r in &config.record_sets {
        if in_zone(config, r, origin) {
            let owner = name::to_lowercase(&name::from_text(&r.name, None).expect("checked"));
            groups.entry((owner, r.rtype)).or_default().push(r);
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
                let line = format!(
                    "@ {} IN {} {value}\n",
                    r.ttl,
                    crate::zone::types::mnemonic(rtype)
                );
                match parse::parse_str(&line, &owner, Path::new(&r.defined_at)) {
                    Ok(recs) if recs.len() == 1 => {
                        rdatas.push(recs.into_iter().next().expect("one").rdata)
                    }
                    Ok(_) => {
                        problems.push(problem(format!("{r}: value {value:?} is not one record")))
                    }
                    Err(e) => {
                        problems.push(problem(format!("{r}: value {value:?}: {}", e.message)))
                    }
                }
            }
            let (mut alias, mut load_balancer) = (None, None);
            if let Some(a) = &r.alias {
                match name::from_text(&a.dns_name, None).map(|t| name::to_lowercase(&t)) {
                    Ok(target) if name::is_subdomain(&target, origin) => {
                        alias = Some((target, a.evaluate_target_health))
                    }
                    Ok(target) => {
                        // `dualstack.NAME` reaches load balancer NAME and answers AAAA too.
                        let (dualstack, lb_name) =
                            match target.strip_prefix(b"\x09dualstack".as_slice()) {
                                Some(rest) => (true, rest),
                                None => (false, target.as_slice()),
                            };
                        match config.load_balancers.iter().position(|l| l.name == lb_name) {
                            Some(i) => load_balancer = Some((i as u32, dualstack, a.evaluate_target_health)),
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
                alias,
                load_balancer,
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
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A CIDR collection as a longest-prefix-first list of (block, location index).
fn cidr_table(locations: &BTreeMap<String, Vec<IpNetwork>>) -> CidrTable {
    let mut blocks: Vec<(IpNetwork, u16)> = locations
        .values()
        .enumerate()
        .flat_map(|(i, nets)| nets.iter().map(move |n| (*n, i as u16)))
        .collect();
    blocks.sort_by_key(|b| std::cmp::Reverse(b.0.prefix()));
    CidrTable { blocks }
}

/// Position of each key in sorted order.
fn index_of<'a>(keys: impl Iterator<Item = &'a String>) -> BTreeMap<&'a str, u32> {
    keys.enumerate()
        .map(|(i, k)| (k.as_str(), i as u32))
        .collect()
}
