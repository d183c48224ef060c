//! Health checks: `[[health_check]]` tables and Route 53 `list-health-checks` JSON, turned into
//! states, probes and calculated checks by id.

use std::collections::BTreeMap;

use super::file::{HealthCheckSection, Located};
use crate::health::{Calculated, CheckKind, CheckSpec, ProbeConfig};

/// Every check by id: the state each starts with, what probes, what is calculated, and the
/// Route 53 objects read (a zone's policy carries them to policydns secondaries as read).
#[derive(Debug, Default)]
pub(super) struct Checks {
    pub(super) states: BTreeMap<String, bool>,
    pub(super) probes: BTreeMap<String, ProbeConfig>,
    pub(super) calculated: BTreeMap<String, Calculated>,
    pub(super) route53_objects: BTreeMap<String, serde_json::Value>,
}

/// The checks of `sections`, of the Route 53 JSON files named on the command line, and of the
/// Route 53 JSON a primary sent (`fragment_checks`: where read, text).
pub(super) fn checks(
    sections: &[Located<HealthCheckSection>],
    route53_files: &[String],
    fragment_checks: Vec<(String, String)>,
    errors: &mut Vec<String>,
) -> Checks {
    let mut health = BTreeMap::new();
    let mut probes = BTreeMap::new();
    let mut calculated = BTreeMap::new();
    let mut imported = Vec::new();
    let mut route53_checks = BTreeMap::new();
    let texts = route53_files
        .iter()
        .map(|f| {
            (
                f.clone(),
                std::fs::read_to_string(f).map_err(|e| e.to_string()),
            )
        })
        .chain(fragment_checks.into_iter().map(|(f, t)| (f, Ok(t))))
        .collect::<Vec<_>>();
    // Where each check was defined: its table's line, or the JSON file it came from.
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    for (file, text) in texts {
        match text.and_then(|t| {
            crate::route53::health::import_checks(&t)
                .map(|c| (c, t))
                .map_err(|e| e.to_string())
        }) {
            Ok((checks, text)) => {
                for (id, _) in &checks {
                    defined.entry(id.clone()).or_insert_with(|| file.clone());
                }
                imported.extend(checks);
                route53_checks.extend(route53_check_objects(&text));
            }
            Err(e) => errors.push(format!("{file}: {e}")),
        }
    }
    let toml_checks = sections
        .iter()
        .map(|h| (h.at.clone(), h.id.clone(), h.healthy, check_spec(h)));
    let imported: Vec<_> = imported
        .into_iter()
        .map(|(id, spec)| {
            let at = defined.get(&id).cloned().unwrap_or_default();
            (at, id, true, spec)
        })
        .collect();
    for (at, id, initial, spec) in toml_checks.chain(imported) {
        defined.entry(id.clone()).or_insert_with(|| at.clone());
        match spec.build() {
            Ok(CheckKind::Probe(p)) => {
                probes.insert(id.clone(), *p);
            }
            Ok(CheckKind::Calculated(c)) => {
                calculated.insert(id.clone(), c);
            }
            Ok(CheckKind::Static) => {}
            Err(e) => errors.push(format!("{at}: health_check {id:?}: {e}")),
        }
        if health.insert(id.clone(), initial).is_some() {
            errors.push(format!(
                "{at}: health_check {id:?} is defined twice (first at {})",
                defined[&id]
            ));
        }
    }
    for (id, c) in &calculated {
        for child in &c.children {
            if !health.contains_key(child) {
                errors.push(format!(
                    "{}: calculated health_check {id:?}: child {child:?} is not defined",
                    defined[id]
                ));
            }
            if calculated.contains_key(child) {
                errors.push(format!("{}: calculated health_check {id:?}: child {child:?} is itself calculated (Route 53 allows no nesting)", defined[id]));
            }
        }
    }
    Checks {
        states: health,
        probes,
        calculated,
        route53_objects: route53_checks,
    }
}

/// The `HealthChecks` objects of `list-health-checks` JSON, by `Id`.
fn route53_check_objects(text: &str) -> BTreeMap<String, serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    v.get("HealthChecks")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| Some((c.get("Id")?.as_str()?.to_string(), c.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The check a `[[health_check]]` describes: a probe, a calculated check, or neither (its state
/// is then the configured `healthy`).
fn check_spec(h: &HealthCheckSection) -> CheckSpec {
    CheckSpec {
        kind: h.kind.clone(),
        ip_address: h.ip_address,
        fqdn: h.fully_qualified_domain_name.clone(),
        port: h.port,
        resource_path: h.resource_path.clone(),
        search_string: h.search_string.clone(),
        request_interval: h.request_interval,
        failure_threshold: h.failure_threshold,
        inverted: h.inverted,
        disabled: h.disabled,
        validate_certs: h.validate_certificates,
        enable_sni: h.enable_sni,
        reuse_connection: h.reuse_connection,
        children: h.child_health_checks.clone(),
        health_threshold: h.health_threshold,
    }
}
