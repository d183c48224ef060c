//! A zone with Route 53 JSON: its files read and converted (`crate::route53`), the simple
//! record sets compiled beside the zone file's records (if it has one), the others beside the
//! config's routing-policy record sets of the zone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::fragment::policy_fragment;
use super::groups::{groups_for, in_zone};
use crate::config::{Config, ZoneSpec};
use crate::policy::spec::{RecordSetSpec, RuleSpec};
use crate::wire::name;
use crate::zone::{parse, LoadError, ParseError, Zone};

/// A zone with Route 53 JSON: its files read and converted (`crate::route53`), the simple
/// record sets compiled beside the zone file's records (if it has one), the others beside the
/// config's routing-policy record sets of the zone.
pub(super) fn load_route53(
    config: &Config,
    spec: &ZoneSpec,
    view: Option<&str>,
    indices: &super::zones::Indices<'_>,
    running: Option<&Zone>,
    warnings: &mut Vec<String>,
) -> Result<(Zone, Vec<String>), LoadError> {
    let sets =
        crate::route53::read_files(&spec.route53).map_err(|problems| LoadError { problems })?;
    let signed = if spec.dnssec {
        let signing = super::signed::Signing {
            state_dir: config.state_dir.as_deref(),
            zsk_roll: spec.zsk_roll,
            dry_run: config.dry_run,
            now: crate::clock::unix_now(),
        };
        let named = spec.file.as_deref().unwrap_or(&spec.route53[0]);
        Some(Signed {
            keys: super::signed::zone_keys(&spec.origin, named, &signing)?,
            previous: running,
            now: signing.now,
            cache: signing.cache(&spec.origin),
            denial: if spec.nsec3 {
                crate::dnssec::zone::Denial::Nsec3(Default::default())
            } else {
                crate::dnssec::zone::Denial::Nsec
            },
        })
    } else {
        None
    };
    let others: Vec<&RecordSetSpec> = config
        .record_sets
        .iter()
        .filter(|r| in_zone(config, r, &spec.origin, view))
        .collect();
    let source = spec.file.clone().unwrap_or_else(|| spec.route53[0].clone());
    let sources = Sources {
        origin: &spec.origin,
        file: spec.file.as_deref(),
        sets: &sets,
        others,
        source,
        carry_policy: !spec.transfer.allow.is_empty(),
        view,
        signed,
        max_ttl: None,
    };
    compile(
        config,
        sources,
        indices.health,
        indices.collections,
        warnings,
    )
}

/// A hosted zone of the change store (`crate::store`), compiled as a zone of Route 53 JSON
/// alone would be, serving the store's serial; `carry_policy` when it is transferred. A zone
/// whose DNSSEC signing is enabled is signed with its keys from the state directory, keeping
/// the signatures of `previous` (the version serving now) whose RRsets did not change.
pub fn hosted_zone(
    config: &Config,
    zone: &crate::store::HostedZone,
    previous: Option<&Zone>,
    carry_policy: bool,
    warnings: &mut Vec<String>,
) -> Result<(Zone, Vec<String>), LoadError> {
    let origin = zone.origin();
    let file = PathBuf::from(format!("hosted zone {} ({})", zone.id, zone.name));
    let signed = if zone.dnssec.signing {
        let keys = hosted_keys(config, zone).map_err(|message| LoadError {
            problems: vec![ParseError {
                file: file.clone(),
                line: 0,
                message: format!("zone {} is not signed: {message}", zone.name),
            }],
        })?;
        // Route 53 proves absence with NSEC ("black lies", made per answer); ours is an
        // NSEC chain signed ahead, which validators accept alike (docs/dnssec.md).
        Some(Signed {
            keys,
            previous,
            now: crate::clock::unix_now(),
            denial: crate::dnssec::zone::Denial::Nsec,
            cache: config
                .state_dir
                .as_deref()
                .and_then(|d| crate::dnssec::hosted::dir(d, &zone.id).ok())
                .map(|d| d.join(super::signed::SIGNATURE_CACHE)),
        })
    } else {
        None
    };
    let sets: Vec<crate::route53::Located> = zone
        .record_sets
        .iter()
        .map(|s| {
            let mut set = s.clone();
            if set.rtype.eq_ignore_ascii_case("SOA") {
                with_serial(&mut set, zone.serial);
            }
            // Messages name the record set anyway; `at` matters only for routing-policy
            // sets (their `defined_at`). No per-set allocation for the many simple ones.
            let policy = set.set_identifier.is_some() || set.alias_target.is_some();
            crate::route53::Located {
                at: if policy {
                    set.describe()
                } else {
                    String::new()
                },
                set,
                file: PathBuf::new(),
            }
        })
        .collect();
    let health_index = super::index_of(config.health.keys());
    let collection_index = super::index_of(config.cidr_collections.keys());
    let sources = Sources {
        origin: &origin,
        file: None,
        sets: &sets,
        others: Vec::new(),
        source: file.clone(),
        carry_policy,
        view: None,
        max_ttl: zone.dnssec.signing.then_some(SIGNED_MAX_TTL),
        signed,
    };
    let (mut z, w) = compile(config, sources, &health_index, &collection_index, warnings)?;
    // Route 53 answers a simple record set's values in a random order.
    z.set_rrset_order(crate::zone::RrsetOrder::Random);
    if zone.private_zone {
        z.vpcs = zone.vpcs.iter().map(|v| Box::from(v.id.as_str())).collect();
    }
    Ok((z, w))
}

/// A signing hosted zone's keys: its ZSK and active KSKs, from the state directory.
fn hosted_keys(
    config: &Config,
    zone: &crate::store::HostedZone,
) -> Result<Vec<crate::dnssec::Key>, String> {
    use crate::dnssec::hosted;
    let state_dir = config
        .state_dir
        .as_deref()
        .ok_or("the API's keys are kept in the state directory, and there is none")?;
    let dir = hosted::dir(state_dir, &zone.id).map_err(|e| e.to_string())?;
    let zsk = zone.dnssec.zsk.ok_or("it has no zone-signing key")?;
    let active: Vec<u16> = zone.dnssec.active().map(|k| k.key_tag).collect();
    if active.is_empty() {
        return Err("it has no active key-signing key".into());
    }
    hosted::signing_keys(&dir, zsk, &active).map_err(|e| e.to_string())
}

/// A zone signed as it compiles.
struct Signed<'a> {
    keys: Vec<crate::dnssec::Key>,
    previous: Option<&'a Zone>,
    now: u64,
    denial: crate::dnssec::zone::Denial,
    /// Where its signatures are saved at shutdown and read back at start.
    cache: Option<PathBuf>,
}

/// The store manages the serial: the SOA value's third field is the store's.
fn with_serial(set: &mut crate::route53::ResourceRecordSet, serial: u32) {
    for r in set.resource_records.iter_mut().flatten() {
        let mut fields: Vec<String> = r.value.split_whitespace().map(str::to_string).collect();
        if fields.len() == 7 {
            fields[2] = serial.to_string();
            r.value = fields.join(" ");
        }
    }
}

/// Where a zone of Route 53 record sets comes from.
struct Sources<'a> {
    origin: &'a [u8],
    /// A zone file beside the record sets (it gives the apex SOA and NS).
    file: Option<&'a std::path::Path>,
    sets: &'a [crate::route53::Located],
    /// Routing-policy record sets of the zone from the TOML config.
    others: Vec<&'a RecordSetSpec>,
    /// What zone-wide problems name.
    source: PathBuf,
    carry_policy: bool,
    /// The view this copy of the zone is compiled for (`None`: the shared copy).
    view: Option<&'a str>,
    signed: Option<Signed<'a>>,
    /// TTLs above this are served as this (a signed hosted zone: Route 53's one week).
    max_ttl: Option<u32>,
}

/// Route 53 serves no TTL above one week in a hosted zone with DNSSEC signing: a longer one is
/// accepted and served as a week ("Working with key-signing keys", Route 53 Developer Guide).
pub const SIGNED_MAX_TTL: u32 = 7 * 86_400;

/// Caps the TTLs of routing-policy members at `max`.
pub fn cap_group_ttls(groups: &mut [crate::zone::GroupInput], max: u32) {
    for m in groups.iter_mut().flat_map(|g| g.members.iter_mut()) {
        m.ttl = m.ttl.min(max);
    }
}

fn compile(
    config: &Config,
    src: Sources<'_>,
    health_index: &BTreeMap<&str, u32>,
    collection_index: &BTreeMap<&str, u32>,
    warnings: &mut Vec<String>,
) -> Result<(Zone, Vec<String>), LoadError> {
    use crate::route53;
    let options = route53::ConvertOptions {
        apex_from_zone_file: src.file.is_some(),
        ..Default::default()
    };
    let imported = route53::convert(src.sets, src.origin, &src.others, options)
        .map_err(|problems| LoadError { problems })?;

    let problems = cidr_problems(config, &imported.record_sets);
    if !problems.is_empty() {
        return Err(LoadError { problems });
    }
    // An id neither the config nor --health-checks defines is healthy, as Route
    // 53 starts new checks (docs/route53.md §5.2). TOML record sets keep the strict check.
    let undefined: Vec<&str> = imported
        .health_check_ids()
        .into_iter()
        .filter(|id| !config.health.contains_key(*id))
        .collect();
    if !undefined.is_empty() {
        warnings.push(format!(
            "zone {}: HealthCheckId {} not defined by a [[health_check]] table; treated as healthy (Route 53 starts new health checks healthy)",
            name::to_text(src.origin),
            undefined.join(", ")
        ));
    }

    let mut groups = groups_for(
        config,
        src.origin,
        src.view,
        &imported.record_sets,
        health_index,
        collection_index,
    )
    .map_err(|problems| LoadError { problems })?;
    let mut records = match src.file {
        Some(f) => parse::parse_file(f, src.origin)?,
        None => Vec::new(),
    };
    records.extend(imported.records);
    if let Some(max) = src.max_ttl {
        records.iter_mut().for_each(|r| r.ttl = r.ttl.min(max));
        cap_group_ttls(&mut groups, max);
    }
    let source = src.source;
    let compiled = match src.signed {
        Some(Signed {
            keys,
            previous,
            now,
            denial,
            cache,
        }) => super::signed::compile_signed(
            src.origin,
            records,
            groups,
            previous,
            &denial,
            keys,
            now,
            &source,
            cache.as_deref(),
        ),
        None => Zone::compile_with_groups(src.origin, records, groups),
    };
    let (mut zone, w) = compiled.map_err(|mut e| {
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
    if !src.carry_policy {
        return Ok((zone, w));
    }
    let sets: Vec<&RecordSetSpec> = src
        .others
        .iter()
        .copied()
        .chain(imported.record_sets.iter())
        .collect();
    zone.policy = policy_fragment(config, &sets).map(Arc::from);
    Ok((zone, w))
}

/// IP-based record sets name a CIDR collection given beside them (--cidr-collection).
fn cidr_problems(config: &Config, sets: &[RecordSetSpec]) -> Vec<ParseError> {
    let mut problems = Vec::new();
    for r in sets {
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
    problems
}

/// The new content of the names and types a change batch touches in a hosted zone (each with
/// its record sets once the batch applies), converted and checked as a full compile of the
/// zone converts and checks them. Messages name the record sets.
pub fn hosted_changes(
    config: &Config,
    origin: &[u8],
    touched: Vec<(Vec<u8>, u16, Vec<crate::route53::ResourceRecordSet>)>,
) -> Result<Vec<crate::zone::RrsetChange>, Vec<String>> {
    use crate::zone::{NewContent, RrsetChange};
    let health_index = super::index_of(config.health.keys());
    let collection_index = super::index_of(config.cidr_collections.keys());
    let options = crate::route53::ConvertOptions {
        some_names: true,
        ..Default::default()
    };
    let mut problems: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(touched.len());
    for (owner, rtype, sets) in touched {
        let content = if sets.is_empty() {
            NewContent::Gone
        } else {
            let located: Vec<crate::route53::Located> = sets
                .into_iter()
                .map(|set| crate::route53::Located {
                    at: set.describe(),
                    set,
                    file: PathBuf::new(),
                })
                .collect();
            let imported = match crate::route53::convert(&located, origin, &[], options) {
                Ok(i) => i,
                Err(p) => {
                    problems.extend(p.into_iter().map(|p| p.message));
                    continue;
                }
            };
            let cidr = cidr_problems(config, &imported.record_sets);
            if !cidr.is_empty() {
                problems.extend(cidr.into_iter().map(|p| p.message));
                continue;
            }
            if imported.record_sets.is_empty() {
                NewContent::Records {
                    ttl: imported.records.first().map_or(0, |r| r.ttl),
                    rdatas: imported.records.into_iter().map(|r| r.rdata).collect(),
                }
            } else {
                match groups_for(
                    config,
                    origin,
                    None,
                    &imported.record_sets,
                    &health_index,
                    &collection_index,
                ) {
                    Ok(mut g) if g.len() == 1 => NewContent::Group(g.remove(0)),
                    Ok(_) => {
                        problems.push(format!(
                            "{}: not one record set group",
                            name::to_text(&owner)
                        ));
                        continue;
                    }
                    Err(p) => {
                        problems.extend(p.into_iter().map(|p| p.message));
                        continue;
                    }
                }
            }
        };
        out.push(RrsetChange {
            owner,
            rtype,
            content,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The routing policy of a hosted zone's record sets in config form (what a policydns
/// secondary receives), from its policy and alias record sets alone.
pub fn hosted_policy(config: &Config, zone: &crate::store::HostedZone) -> Option<Arc<str>> {
    let located: Vec<crate::route53::Located> = zone
        .record_sets
        .iter()
        .filter(|s| s.set_identifier.is_some() || s.alias_target.is_some())
        .map(|s| crate::route53::Located {
            at: s.describe(),
            set: s.clone(),
            file: PathBuf::new(),
        })
        .collect();
    let options = crate::route53::ConvertOptions {
        some_names: true,
        ..Default::default()
    };
    let imported = crate::route53::convert(&located, &zone.origin(), &[], options).ok()?;
    let sets: Vec<&RecordSetSpec> = imported.record_sets.iter().collect();
    policy_fragment(config, &sets).map(Arc::from)
}
