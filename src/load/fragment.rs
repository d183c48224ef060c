//! A zone's routing policy in config form, carried by transfers to policydns secondaries.

use crate::config::Config;
use crate::policy::spec::{RecordSetSpec, RuleSpec};

/// A zone's routing policy as a policydns secondary reads it: the record sets as
/// `[[record_set]]` tables and what they refer to (health checks, CIDR collections, load
/// balancers) as the config wrote them. `None` for a zone without record sets.
pub(super) fn policy_fragment(config: &Config, sets: &[&RecordSetSpec]) -> Option<String> {
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
