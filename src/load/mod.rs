//! Configuration + zone files (and Route 53 JSON) → a new [`Snapshot`].
//!
//! One broken zone never takes the others down: a zone that fails keeps its previous version
//! on reload, and answers SERVFAIL when it has none (as BIND and Knot do), while its problems
//! are reported with file:line ([`Loaded::failures`], the log, `check`, the status listener).
//! A secondary zone whose saved copy is damaged is set aside and transferred afresh.

mod fragment;
mod groups;
pub mod kept;
mod route53;
pub mod signed;
mod zones;

pub use route53::{cap_group_ttls, hosted_changes, hosted_policy, hosted_zone, SIGNED_MAX_TTL};

use std::collections::BTreeMap;
use std::sync::Arc;

use ipnetwork::IpNetwork;

use crate::config::Config;
use crate::health::{CalculatedCheck, HealthTable, HealthView};
use crate::snapshot::{CidrTable, PolicyInputs, Snapshot, ZoneReport};
use crate::zone::{Catalog, LoadError, ParseError};

/// The result of building a snapshot: what to serve, and what went wrong on the way.
pub struct Loaded {
    pub snapshot: Snapshot,
    /// What failed (zones, the GeoIP database, the latency map), each with every problem found.
    pub failures: Vec<Failure>,
    pub warnings: Vec<String>,
}

/// Something that did not load, and what is served in its place.
#[derive(Debug, Clone)]
pub struct Failure {
    /// A zone's origin, or `geoip` / `latency map`.
    pub what: String,
    pub error: LoadError,
}

/// Loads every configured zone. A zone that fails is taken from `previous` when it has one,
/// and answers SERVFAIL otherwise.
pub fn build(config: &Config, previous: Option<&Snapshot>) -> Loaded {
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    // The GeoIP database: a new one on every build (a reload picks up a replaced file); if it
    // cannot be read, the previous one stays.
    let geo = match &config.geoip {
        None => None,
        Some(path) => match crate::geo::GeoDb::open(path) {
            Ok(db) => Some(Arc::new(db)),
            Err(e) => {
                failures.push(Failure {
                    what: "geoip".to_string(),
                    error: LoadError::from(ParseError {
                        file: path.clone(),
                        line: 0,
                        message: e.to_string(),
                    }),
                });
                previous.and_then(|p| p.inputs.geo.clone())
            }
        },
    };
    let latency = match &config.latency_map {
        None => None,
        Some(path) => match crate::policy::latency::LatencyMap::load(path) {
            Ok(m) => Some(Arc::new(m)),
            Err(message) => {
                failures.push(Failure {
                    what: "latency map".to_string(),
                    error: LoadError::from(ParseError {
                        // The message names the file and line already.
                        file: std::path::PathBuf::new(),
                        line: 0,
                        message: message.to_string(),
                    }),
                });
                previous.and_then(|p| p.inputs.latency.clone())
            }
        },
    };
    // Names become the indices the snapshot's tables use (sorted by id, as the maps are).
    let health_index = index_of(config.health.keys());
    let collection_index = index_of(config.cidr_collections.keys());
    let indices = zones::Indices {
        health: &health_index,
        collections: &collection_index,
    };
    let mut zones = Vec::with_capacity(config.zones.len());
    let mut reports = Vec::with_capacity(config.zones.len());
    let mut own: Vec<Vec<Arc<crate::zone::Zone>>> = vec![Vec::new(); config.views.len()];
    for (spec, view) in instances(config) {
        let outcome = zones::load(config, spec, view, &indices, previous);
        warnings.extend(outcome.warnings);
        let what = match view {
            Some(v) => format!("{} (view {v})", crate::wire::name::to_text(&spec.origin)),
            None => crate::wire::name::to_text(&spec.origin),
        };
        if let Some(error) = &outcome.error {
            failures.push(Failure {
                what,
                error: error.clone(),
            });
        }
        reports.push(ZoneReport {
            origin: spec.origin.clone(),
            view: view.map(str::to_string),
            state: outcome.state,
            problems: outcome
                .error
                .map(|e| e.problems.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        });
        match view.and_then(|v| config.views.iter().position(|x| x.name == v)) {
            Some(i) => own[i].push(outcome.zone),
            None => zones.push(outcome.zone),
        }
    }
    let catalog = Catalog::new(zones);
    let views = crate::views::Views::new(
        config
            .views
            .iter()
            .zip(own)
            .map(|(v, own)| crate::views::ViewInput {
                name: v.name.as_str().into(),
                internal: v.internal,
                nets: v
                    .match_clients
                    .iter()
                    .filter_map(|m| match m {
                        crate::transfer::Acl::Net(n) => Some(*n),
                        crate::transfer::Acl::Key(_) => None,
                    })
                    .collect(),
                keys: v
                    .match_clients
                    .iter()
                    .filter_map(|m| match m {
                        crate::transfer::Acl::Key(k) => Some(k.clone()),
                        crate::transfer::Acl::Net(_) => None,
                    })
                    .collect(),
                vpc_ids: v.vpc_ids.clone(),
                own,
            })
            .collect(),
        &catalog,
    );
    let built = Loaded {
        snapshot: Snapshot {
            views: Arc::new(views),
            catalog,
            options: config.options.clone(),
            inputs: Arc::new(PolicyInputs {
                health: health_view(config, &health_index, previous),
                cidr: config.cidr_collections.values().map(cidr_table).collect(),
                load_balancers: config
                    .load_balancers
                    .iter()
                    .map(|l| crate::policy::load_balancer::LoadBalancer {
                        name: l.name.clone(),
                        cross_zone: l.cross_zone,
                        zones: l.zones.clone(),
                        target_groups: l.target_groups.clone(),
                        targets: l
                            .targets
                            .iter()
                            .map(|t| crate::policy::load_balancer::Target {
                                group: t.group,
                                zone: t.zone,
                                health: t
                                    .health_check
                                    .as_deref()
                                    .and_then(|h| health_index.get(h).copied()),
                            })
                            .collect(),
                    })
                    .collect(),
                geo,
                latency,
            }),
            zone_reports: Arc::new(reports),
        },
        failures,
        warnings,
    };
    release_freed_memory();
    built
}

/// Every copy of a zone to build, with the view it is for: each shared zone once (`None`), a
/// view's own zones, and a view's copy of each shared zone that view's record sets fall in.
fn instances(config: &Config) -> Vec<(&crate::config::ZoneSpec, Option<&str>)> {
    let mut out = Vec::new();
    for spec in &config.zones {
        out.push((spec, spec.view.as_deref()));
        if spec.view.is_some() {
            continue;
        }
        for v in &config.views {
            let has_own = config
                .zones
                .iter()
                .any(|z| z.origin == spec.origin && z.view.as_deref() == Some(v.name.as_str()));
            let changes = config.record_sets.iter().any(|r| {
                r.view.as_deref() == Some(v.name.as_str())
                    && zones::in_zone_of(config, r, &spec.origin, Some(&v.name))
            });
            if !has_own && changes {
                out.push((spec, Some(v.name.as_str())));
            }
        }
    }
    out
}

/// The health view of `config`: probed checks keep the state their probes reached (in
/// `previous`) across reloads; the others, and new ones, take their configured state.
fn health_view(
    config: &Config,
    health_index: &BTreeMap<&str, u32>,
    previous: Option<&Snapshot>,
) -> HealthView {
    let old = previous.map(|p| &p.inputs.health);
    let table = HealthTable::new(config.health.iter().map(|(id, initial)| {
        let probed = config.probes.contains_key(id);
        old.filter(|_| probed)
            .and_then(|h| h.index(id).map(|i| h.table.get(i)))
            .unwrap_or(*initial)
    }));
    let calculated = config
        .health
        .keys()
        .map(|id| {
            config.calculated.get(id).map(|c| CalculatedCheck {
                children: c
                    .children
                    .iter()
                    .filter_map(|ch| health_index.get(ch.as_str()).copied())
                    .collect(),
                threshold: c.threshold,
                inverted: c.inverted,
                disabled: c.disabled,
            })
        })
        .collect();
    HealthView {
        table: Arc::new(table),
        ids: config.health.keys().cloned().collect(),
        calculated,
    }
}

/// The transfer settings (keys, who may transfer, whom to notify, primaries) of a config.
pub fn transfer_settings(config: &Config) -> crate::transfer::Settings {
    crate::transfer::Settings {
        keys: config.tsig_keys.clone(),
        zones: config
            .zones
            .iter()
            .filter(|z| z.view.is_none())
            .map(|z| (z.origin.clone(), z.transfer.clone()))
            .collect(),
        view_zones: config
            .zones
            .iter()
            .filter_map(|z| Some(((z.view.clone()?, z.origin.clone()), z.transfer.clone())))
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

/// Parsing a large zone leaves many freed blocks that glibc keeps mapped; hand them back so
/// the server's resident size is what the zones really take.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
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
