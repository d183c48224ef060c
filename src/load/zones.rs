//! One configured zone → what to serve for it: the zone compiled from its sources, or when
//! they fail, the version already serving, or a stand-in that answers SERVFAIL.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::fragment::policy_fragment;
use super::groups::{groups_for, in_zone};
use super::route53::load_route53;
use crate::config::{Config, ZoneSpec};
use crate::policy::spec::RecordSetSpec;
use crate::snapshot::{Snapshot, ZoneState};
use crate::transfer::secondary;
use crate::wire::name;
use crate::zone::{LoadError, ParseError, Zone};

/// Whether record set `r` is compiled into the zone at `origin` as served in `view`.
pub(super) fn in_zone_of(
    config: &Config,
    r: &RecordSetSpec,
    origin: &[u8],
    view: Option<&str>,
) -> bool {
    in_zone(config, r, origin, view)
}

/// Check ids and CIDR collection ids → the snapshot's indices.
pub(super) struct Indices<'a> {
    pub(super) health: &'a BTreeMap<&'a str, u32>,
    pub(super) collections: &'a BTreeMap<&'a str, u32>,
}

/// What a zone's load came to.
pub(super) struct Outcome {
    pub(super) zone: Arc<Zone>,
    pub(super) state: ZoneState,
    /// Every problem, when its sources did not load.
    pub(super) error: Option<LoadError>,
    pub(super) warnings: Vec<String>,
}

/// A zone file with the configuration's record sets for its origin placed in it.
fn load_file(
    config: &Config,
    spec: &ZoneSpec,
    view: Option<&str>,
    indices: &Indices<'_>,
    file: &Path,
    running: Option<&Zone>,
) -> Result<(Zone, Vec<String>), LoadError> {
    let groups = groups_for(
        config,
        &spec.origin,
        view,
        &[],
        indices.health,
        indices.collections,
    )
    .map_err(|problems| LoadError { problems })?;
    if spec.dnssec {
        let now = crate::clock::unix_now();
        let denial = if spec.nsec3 {
            crate::dnssec::zone::Denial::Nsec3(Default::default())
        } else {
            crate::dnssec::zone::Denial::Nsec
        };
        let signing = super::signed::Signing {
            state_dir: config.state_dir.as_deref(),
            zsk_roll: spec.zsk_roll,
            dry_run: config.dry_run,
            now,
        };
        return super::signed::load(&spec.origin, file, groups, running, &denial, signing);
    }
    Zone::load_with_groups(&spec.origin, file, groups)
}

/// Loads `spec`'s zone as served in `view` (`None`: the shared copy; a view's copy of a shared
/// zone holds that view's record sets too).
pub(super) fn load(
    config: &Config,
    spec: &ZoneSpec,
    view: Option<&str>,
    indices: &Indices<'_>,
    previous: Option<&Snapshot>,
) -> Outcome {
    let running = previous.and_then(|p| match view {
        None => p.catalog.zone_by_origin(&spec.origin).cloned(),
        Some(v) => p.views.own_zone(v, &spec.origin).cloned(),
    });
    if spec.transfer.primary.is_some() {
        return secondary_zone(config, spec, indices, running);
    }
    let mut warnings = Vec::new();
    let loaded = if spec.route53.is_empty() {
        let file = spec.file.as_deref().unwrap_or(Path::new(""));
        load_file(config, spec, view, indices, file, running.as_deref())
    } else {
        load_route53(
            config,
            spec,
            view,
            indices,
            running.as_deref(),
            &mut warnings,
        )
    };
    match loaded {
        Ok((mut zone, w)) => {
            warnings.extend(w);
            zone.set_rrset_order(spec.rrset_order());
            if view.is_some() {
                count_in_view(&mut zone, view);
            }
            // Only a zone that may be transferred carries its policy (to policydns
            // secondaries); the others never need it.
            if zone.policy.is_none() && !spec.transfer.allow.is_empty() {
                let sets: Vec<&RecordSetSpec> = config
                    .record_sets
                    .iter()
                    .filter(|r| in_zone(config, r, &spec.origin, view))
                    .collect();
                zone.policy = policy_fragment(config, &sets).map(Arc::from);
            }
            Outcome {
                zone: Arc::new(zone),
                state: ZoneState::Loaded,
                error: None,
                warnings,
            }
        }
        Err(e) => failed(spec, running, e, warnings),
    }
}

/// A view's copy counts its queries and its members' answers apart from the shared copy, so
/// the metrics' `view` label never counts one answer twice.
fn count_in_view(zone: &mut Zone, view: Option<&str>) {
    let origin = zone.origin.to_vec();
    zone.counters = crate::metrics::zone_in(view, &origin);
    for gi in 0..zone.groups.len() {
        let g = &zone.groups[gi];
        if g.owner == crate::zone::NONE {
            continue;
        }
        let owner = name::to_lowercase(zone.name(zone.node(g.owner)));
        let answered = g
            .ids
            .iter()
            .map(|id| crate::metrics::member_in(view, &origin, &owner, g.rtype, id))
            .collect();
        zone.groups[gi].answered = answered;
    }
}

/// The running version when there is one (a reload), else SERVFAIL.
fn failed(
    spec: &ZoneSpec,
    running: Option<Arc<Zone>>,
    error: LoadError,
    warnings: Vec<String>,
) -> Outcome {
    let (zone, state) = match running.filter(|z| !z.servfail) {
        Some(z) => (z, ZoneState::Previous),
        None => (
            Arc::new(Zone::placeholder(&spec.origin)),
            ZoneState::Servfail,
        ),
    };
    Outcome {
        zone,
        state,
        error: Some(error),
        warnings,
    }
}

/// A secondary zone: the copy saved in the state directory (with the policy its primary sent,
/// which the config now holds), else the running version, else a stand-in that answers
/// SERVFAIL until the first transfer. A saved copy that does not load is set aside (kept for
/// inspection) and the zone is transferred afresh.
fn secondary_zone(
    config: &Config,
    spec: &ZoneSpec,
    indices: &Indices<'_>,
    running: Option<Arc<Zone>>,
) -> Outcome {
    let mut warnings = Vec::new();
    let pending = |running: Option<Arc<Zone>>, error| {
        let (zone, state) = match running {
            Some(z) if !z.servfail => (z, ZoneState::Secondary),
            _ => (
                Arc::new(Zone::placeholder(&spec.origin)),
                ZoneState::Servfail,
            ),
        };
        (zone, state, error)
    };
    // No saved copy (no state directory, or never transferred): wait for the first transfer.
    let saved = config
        .state_dir
        .as_deref()
        .map(|dir| (dir, secondary::state_file(dir, &spec.origin)))
        .filter(|(_, file)| file.exists());
    let Some((dir, file)) = saved else {
        let (zone, state, error) = pending(running, None);
        return Outcome {
            zone,
            state,
            error,
            warnings,
        };
    };
    let policy = std::fs::read_to_string(secondary::policy_file(dir, &spec.origin)).ok();
    let loaded = load_file(config, spec, None, indices, &file, None);
    let (zone, state, error) = match loaded {
        Ok((mut zone, w)) => {
            warnings.extend(w);
            zone.policy = policy.map(Arc::from);
            (Arc::new(zone), ZoneState::Secondary, None)
        }
        Err(mut e) => {
            // Damaged (a crash while writing it with an older version, a full disk, an edit
            // by hand): keep it for inspection, and let the secondary transfer afresh.
            let aside = match crate::durable::set_aside(&file) {
                Ok(p) => format!("set aside as {}", p.display()),
                Err(err) => format!("could not be set aside ({err})"),
            };
            e.problems.push(ParseError {
                file: file.clone(),
                line: 0,
                message: format!(
                    "the saved copy of secondary zone {} does not load; it was {aside} and the zone is transferred afresh from its primary",
                    name::to_text(&spec.origin)
                ),
            });
            pending(running, Some(e))
        }
    };
    Outcome {
        zone,
        state,
        error,
        warnings,
    }
}
