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
    // 53 starts new checks (docs/route53.md §5.2). TOML record sets keep the strict check.
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
