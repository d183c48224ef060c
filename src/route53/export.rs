//! policydns's own files from imported record sets: `[[record_set]]` tables and a zone file,
//! as `policydns import route53` writes them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::convert::{convert, ConvertOptions, Imported};
use super::read::{read_cidr_blocks, read_files};
use crate::health::CheckSpec;
use crate::policy::spec::{parse_block, ProximityAt, RecordSetSpec, RuleSpec};
use crate::policy::{FailoverRole, GeoKey};
use crate::wire::{name, types};
use crate::zone::ParseError;

/// A string as a TOML basic string.
pub(super) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when it can be.
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}

/// One record set as a `[[record_set]]` table.
pub fn record_set_toml(s: &RecordSetSpec) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "[[record_set]]");
    let _ = writeln!(t, "name = {}", toml_str(&s.name));
    let _ = writeln!(t, "type = {}", toml_str(&types::mnemonic(s.rtype)));
    if let Some(id) = &s.set_identifier {
        let _ = writeln!(t, "set_identifier = {}", toml_str(id));
    }
    let code = |b: &[u8]| toml_str(String::from_utf8_lossy(b).trim_end_matches('\0'));
    match &s.rule {
        RuleSpec::Simple => {}
        RuleSpec::Weighted(w) => {
            let _ = writeln!(t, "weight = {w}");
        }
        RuleSpec::Failover(role) => {
            let role = match role {
                FailoverRole::Primary => "PRIMARY",
                FailoverRole::Secondary => "SECONDARY",
            };
            let _ = writeln!(t, "failover = \"{role}\"");
        }
        RuleSpec::Geolocation(k) => {
            let inner = match k {
                GeoKey::Continent(c) => format!("continent = {}", code(c)),
                GeoKey::Country(c) => format!("country = {}", code(c)),
                GeoKey::Subdivision(c, s) => {
                    format!("country = {}, subdivision = {}", code(c), code(s))
                }
                GeoKey::Default => "country = \"*\"".to_string(),
            };
            let _ = writeln!(t, "geolocation = {{ {inner} }}");
        }
        RuleSpec::Latency(region) => {
            let _ = writeln!(t, "region = {}", toml_str(region));
        }
        RuleSpec::Geoproximity { at, bias } => {
            let at = match at {
                ProximityAt::Region(r) => format!("region = {}", toml_str(r)),
                ProximityAt::Coordinates(lat, lon) => {
                    format!("latitude = {lat:?}, longitude = {lon:?}")
                }
            };
            if *bias == 0 {
                let _ = writeln!(t, "geoproximity = {{ {at} }}");
            } else {
                let _ = writeln!(t, "geoproximity = {{ {at}, bias = {bias} }}");
            }
        }
        RuleSpec::IpBased {
            collection,
            location,
        } => {
            let _ = writeln!(
                t,
                "cidr = {{ collection = {}, location = {} }}",
                toml_str(collection),
                toml_str(location.as_deref().unwrap_or("*"))
            );
        }
        RuleSpec::Multivalue => {
            let _ = writeln!(t, "multivalue = true");
        }
    }
    if let Some(hc) = &s.health_check {
        let _ = writeln!(t, "health_check = {}", toml_str(hc));
    }
    match &s.alias {
        Some(a) => {
            let _ = writeln!(
                t,
                "alias = {{ name = {}, evaluate_target_health = {} }}",
                toml_str(&a.dns_name),
                a.evaluate_target_health
            );
        }
        None => {
            let _ = writeln!(t, "ttl = {}", s.ttl);
            let values: Vec<String> = s.values.iter().map(|v| toml_str(v)).collect();
            let _ = writeln!(t, "values = [{}]", values.join(", "));
        }
    }
    t
}

/// A Route 53 health check as a `[[health_check]]` table, with the fields its
/// `HealthCheckConfig` set (Route 53's defaults are ours, so unset stays unset).
pub fn health_check_toml(id: &str, c: &CheckSpec) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "[[health_check]]");
    let _ = writeln!(t, "id = {}", toml_str(id));
    if let Some(kind) = &c.kind {
        let _ = writeln!(t, "type = {}", toml_str(kind));
    }
    if let Some(ip) = c.ip_address {
        let _ = writeln!(t, "ip_address = {}", toml_str(&ip.to_string()));
    }
    if let Some(port) = c.port {
        let _ = writeln!(t, "port = {port}");
    }
    for (key, value) in [
        ("fully_qualified_domain_name", &c.fqdn),
        ("resource_path", &c.resource_path),
        ("search_string", &c.search_string),
    ] {
        if let Some(v) = value {
            let _ = writeln!(t, "{key} = {}", toml_str(v));
        }
    }
    let calculated = c
        .kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("CALCULATED"));
    if calculated {
        let children: Vec<String> = c.children.iter().map(|id| toml_str(id)).collect();
        let _ = writeln!(t, "child_health_checks = [{}]", children.join(", "));
        let _ = writeln!(t, "health_threshold = {}", c.health_threshold);
    } else {
        let _ = writeln!(t, "request_interval = {}", c.request_interval);
        let _ = writeln!(t, "failure_threshold = {}", c.failure_threshold);
    }
    if c.inverted {
        let _ = writeln!(t, "inverted = true");
    }
    if c.disabled {
        let _ = writeln!(t, "disabled = true");
    }
    let https = c
        .kind
        .as_deref()
        .is_some_and(|k| k.to_ascii_uppercase().starts_with("HTTPS"));
    // Route 53 lists EnableSNI for every type; it means something only for HTTPS.
    if let Some(sni) = c.enable_sni.filter(|_| https) {
        let _ = writeln!(t, "enable_sni = {sni}");
    }
    if https && !c.validate_certs {
        let _ = writeln!(
            t,
            "# Route 53 does not validate the certificate of an HTTPS check."
        );
        let _ = writeln!(t, "validate_certificates = false");
    }
    t
}

/// The policydns configuration equivalent to an import: a `[[zone]]` naming `zone_file`
/// (relative to the config), a `[[health_check]]` for each of Route 53's `checks` (probed as
/// Route 53 probes them) and a placeholder (healthy, as Route 53 starts new checks) for each
/// other id referred to, the CIDR collections used, and the routing-policy record sets.
pub fn config_toml(
    imported: &Imported,
    origin: &[u8],
    zone_file: &str,
    cidr: &BTreeMap<String, BTreeMap<String, Vec<ipnetwork::IpNetwork>>>,
    checks: &[(String, CheckSpec)],
    sources: &[PathBuf],
) -> String {
    let mut t = String::new();
    let from: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    let _ = writeln!(
        t,
        "# policydns configuration converted by `policydns import route53` from {}",
        from.join(", ")
    );
    let _ = writeln!(t, "# Simple record sets are in {zone_file}.\n");
    let _ = writeln!(t, "[[zone]]");
    let _ = writeln!(t, "origin = {}", toml_str(&name::to_text(origin)));
    let _ = writeln!(t, "file = {}\n", toml_str(zone_file));
    for (id, spec) in checks {
        t.push_str(&health_check_toml(id, spec));
        t.push('\n');
    }
    for id in imported.health_check_ids() {
        if checks.iter().any(|(c, _)| c == id) {
            continue;
        }
        let _ = writeln!(t, "# Route 53 health check {id}: not in the list-health-checks output given; healthy until defined.");
        let _ = writeln!(t, "[[health_check]]");
        let _ = writeln!(t, "id = {}", toml_str(id));
        let _ = writeln!(t, "healthy = true\n");
    }
    for id in imported.cidr_collection_ids() {
        let Some(locations) = cidr.get(id) else {
            continue;
        };
        let _ = writeln!(t, "[[cidr_collection]]");
        let _ = writeln!(t, "id = {}", toml_str(id));
        let locs: Vec<String> = locations
            .iter()
            .map(|(loc, blocks)| {
                let blocks: Vec<String> = blocks.iter().map(|b| toml_str(&b.to_string())).collect();
                format!("{} = [{}]", toml_key(loc), blocks.join(", "))
            })
            .collect();
        let _ = writeln!(t, "locations = {{ {} }}\n", locs.join(", "));
    }
    for s in &imported.record_sets {
        t.push_str(&record_set_toml(s));
        t.push('\n');
    }
    t
}

/// The master file of an import: the simple record sets, with a header naming the sources.
pub fn zone_file_text(imported: &Imported, origin: &[u8], sources: &[PathBuf]) -> String {
    let from: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    format!(
        "; zone {}: simple record sets converted by `policydns import route53` from {}\n; (routing-policy and alias record sets are in the policydns configuration)\n{}",
        name::to_text(origin),
        from.join(", "),
        imported.zone_text
    )
}

/// What `policydns import route53` writes: a config and a zone file.
#[derive(Debug, Clone)]
pub struct ImportedFiles {
    pub config_toml: String,
    /// `ORIGIN.zone`, which the config names.
    pub zone_name: String,
    pub zone_text: String,
    /// What the operator should look at before serving the files.
    pub warnings: Vec<String>,
}

/// The Route 53 name servers (`*.awsdns-*`) the apex NS and SOA of an import's zone text name,
/// if any.
fn route53_servers(zone_text: &str, origin: &str) -> Option<String> {
    let mut servers: Vec<&str> = zone_text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let owner = f.next()?;
            if !owner.eq_ignore_ascii_case(origin) {
                return None;
            }
            let rest: Vec<&str> = f.collect();
            let at = rest.iter().position(|t| *t == "NS" || *t == "SOA")?;
            rest.get(at + 1).copied()
        })
        .filter(|target| target.to_ascii_lowercase().contains(".awsdns-"))
        .collect();
    servers.sort_unstable();
    servers.dedup();
    (!servers.is_empty()).then(|| servers.join(", "))
}

/// Why an import produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("--origin {origin:?}: {source}")]
    Origin {
        origin: String,
        source: name::NameError,
    },
    /// The JSON does not read or convert: every problem, each as `file:line: message`.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Records(Vec<ParseError>),
    #[error("--cidr-collection {0:?}: expected COLLECTION_ID=FILE")]
    CollectionSpec(String),
    #[error("{file}: {message}")]
    Collection { file: String, message: String },
    #[error("{file}: {message}")]
    HealthChecks { file: String, message: String },
    #[error("IP-based record sets use CIDR collection {}: give --cidr-collection ID=BLOCKS.json with the output of aws route53 list-cidr-blocks --collection-id ID", .0.join(", "))]
    MissingCollections(Vec<String>),
    #[error("{file}: {message}")]
    HostedZone { file: String, message: String },
}

/// What an import reads.
#[derive(Debug, Clone, Default)]
pub struct ImportSources {
    /// Route 53 record-set JSON (`list-resource-record-sets` output or change batches), applied
    /// in order.
    pub files: Vec<PathBuf>,
    /// The hosted zone's name.
    pub origin: String,
    /// `ID=FILE`: `aws route53 list-cidr-blocks` output for each CIDR collection used.
    pub cidr_collections: Vec<String>,
    /// `aws route53 list-health-checks` output.
    pub health_checks: Vec<PathBuf>,
    /// `aws route53 get-hosted-zone` output: a private hosted zone goes into an internal view.
    pub hosted_zone: Option<PathBuf>,
    /// Who that view holds (the VPCs' CIDR blocks); empty: the private blocks and this host.
    pub view_clients: Vec<String>,
}

/// The record sets of `sources` for their hosted zone, with the CIDR collections its IP-based
/// record sets use and the health checks of the export: the same conversion `--route53` does
/// at load time, as files that load back to the same answers.
pub fn import(sources: &ImportSources) -> Result<ImportedFiles, ImportError> {
    let ImportSources {
        files,
        origin,
        cidr_collections: cidr_specs,
        health_checks,
        hosted_zone,
        view_clients,
    } = sources;
    let text = if origin.ends_with('.') {
        origin.to_string()
    } else {
        format!("{origin}.")
    };
    let origin_wire = name::from_text(&text, None)
        .map(|o| name::to_lowercase(&o))
        .map_err(|source| ImportError::Origin {
            origin: origin.to_string(),
            source,
        })?;
    let sets = read_files(files).map_err(ImportError::Records)?;
    let imported = convert(&sets, &origin_wire, &[], ConvertOptions::default())
        .map_err(ImportError::Records)?;
    let mut cidr = BTreeMap::new();
    for spec in cidr_specs {
        let (id, file) = spec
            .split_once('=')
            .filter(|(i, f)| !i.is_empty() && !f.is_empty())
            .ok_or_else(|| ImportError::CollectionSpec(spec.clone()))?;
        let problem = |message: String| ImportError::Collection {
            file: file.to_string(),
            message,
        };
        let raw = read_cidr_blocks(Path::new(file)).map_err(|e| problem(e.to_string()))?;
        let mut locations = BTreeMap::new();
        for (loc, blocks) in raw {
            let nets = blocks
                .iter()
                .map(|b| parse_block(b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| problem(format!("location {loc:?}: {e}")))?;
            locations.insert(loc, nets);
        }
        cidr.insert(id.to_string(), locations);
    }
    let missing: Vec<String> = imported
        .cidr_collection_ids()
        .into_iter()
        .filter(|id| !cidr.contains_key(*id))
        .map(str::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingCollections(missing));
    }
    let mut checks: Vec<(String, CheckSpec)> = Vec::new();
    for file in health_checks {
        let problem = |message: String| ImportError::HealthChecks {
            file: file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| problem(e.to_string()))?;
        for (id, spec) in super::health::import_checks(&text).map_err(|e| problem(e.to_string()))? {
            if checks.iter().any(|(c, _)| *c == id) {
                return Err(problem(format!("health check {id} is listed twice")));
            }
            checks.push((id, spec));
        }
    }
    let mut warnings = Vec::new();
    let undefined: Vec<&str> = imported
        .health_check_ids()
        .into_iter()
        .filter(|id| !checks.iter().any(|(c, _)| c == id))
        .collect();
    if !undefined.is_empty() {
        warnings.push(format!(
            "health check {} {} referred to but not defined: written as placeholders that stay healthy; give --health-checks with the output of aws route53 list-health-checks to probe them as Route 53 does",
            undefined.join(", "),
            if undefined.len() == 1 { "is" } else { "are" }
        ));
    }
    let origin_text = name::to_text(&origin_wire);
    if let Some(servers) = route53_servers(&imported.zone_text, &origin_text) {
        warnings.push(format!(
            "the zone file keeps the export's apex NS and SOA, which name Route 53's servers ({servers}), not this one: put this server's names there before delegating the zone to it"
        ));
    }
    let zone_name = format!("{}.zone", origin_text.trim_end_matches('.'));
    let mut config_toml = config_toml(&imported, &origin_wire, &zone_name, &cidr, &checks, files);
    if let Some(path) = hosted_zone {
        let problem = |message: String| ImportError::HostedZone {
            file: path.display().to_string(),
            message,
        };
        let info = super::private::read_hosted_zone(path).map_err(problem)?;
        let named = name::from_text(&info.name, None).map(|n| name::to_lowercase(&n));
        if named.as_deref() != Ok(origin_wire.as_slice()) {
            return Err(problem(format!(
                "describes hosted zone {}, not {origin_text}",
                info.name
            )));
        }
        if info.private {
            let clients: Vec<String> = if view_clients.is_empty() {
                warnings.push(format!(
                    "{origin_text} is a private hosted zone: it is served only in view {}, which holds the private address blocks and this host; give --view-clients CIDR (repeatable) with the VPCs' CIDR blocks to narrow it",
                    super::private::view_name(&info)
                ));
                super::private::DEFAULT_CLIENTS
                    .iter()
                    .map(|c| c.to_string())
                    .collect()
            } else {
                view_clients.clone()
            };
            let view = super::private::view_toml(&info, &clients);
            let zone_line = format!("file = {}\n", toml_str(&zone_name));
            config_toml = config_toml.replacen(
                &zone_line,
                &format!("{zone_line}view = {:?}\n", super::private::view_name(&info)),
                1,
            );
            config_toml = config_toml.replacen("[[zone]]", &format!("{view}[[zone]]"), 1);
        }
    }
    Ok(ImportedFiles {
        config_toml,
        zone_text: zone_file_text(&imported, &origin_wire, files),
        zone_name,
        warnings,
    })
}
