//! Checking a write against the store's state and the configuration, before anything is
//! written: the journal entry it becomes, Route 53's answer, and what it changes in the served
//! snapshot (a compiled zone, a zone gone, or a reload for health checks and CIDR collections).

use std::collections::BTreeMap;

use super::commit::{Write, Written};
use super::error::ApiError;
use super::ids;
use crate::config::{ApiConfig, Config};
use crate::route53::{Change, ResourceRecordSet};
use crate::store::{self, ChangeInfo, Entry, HostedZone, State};
use crate::wire::name;
use crate::zone::Zone;

/// Route 53's limits on one `ChangeResourceRecordSets` request.
pub const MAX_CHANGES: usize = 1000;
pub const MAX_VALUE_CHARS: usize = 32_000;

/// What an accepted write changes in the served snapshot.
pub(super) enum Served {
    Zone(String, Vec<u8>, Zone),
    /// A zone served from a file changed by dynamic update: the RRsets to patch in, its new
    /// serial.
    FileZone {
        origin: Vec<u8>,
        rrsets: Vec<crate::zone::RrsetChange>,
        serial: u32,
    },
    /// Record sets changed: the RRsets to patch into the served zone, and its new serial.
    Change {
        zone_id: String,
        origin: Vec<u8>,
        rrsets: Vec<crate::zone::RrsetChange>,
        serial: u32,
    },
    Gone(String, Vec<u8>),
    Same,
    /// The configuration's inputs changed (health checks): the server reloads.
    Reload,
}

pub(super) struct Prepared {
    /// What to journal; none when the request changes nothing.
    pub(super) entry: Option<Entry>,
    pub(super) written: Written,
    pub(super) served: Served,
    /// What a record change does to the zone's record sets, worked out while checking.
    pub(super) plan: Option<store::Plan>,
}

/// Checks a write against the state and config: the entry to journal, or Route 53's error.
pub(super) fn prepare(state: &State, config: &Config, write: Write) -> Result<Prepared, ApiError> {
    let now = ids::now();
    match write {
        Write::CreateZone {
            name,
            caller_reference,
            comment,
            vpc,
        } => {
            let api = config
                .api
                .as_ref()
                .ok_or_else(|| ApiError::internal("the API is not configured"))?;
            if let Some(z) = state
                .zones
                .values()
                .find(|z| z.caller_reference == caller_reference)
            {
                return Err(ApiError::new(
                    409,
                    "HostedZoneAlreadyExists",
                    format!(
                        "A hosted zone has already been created with the specified caller reference ({}, {})",
                        z.id, z.name
                    ),
                ));
            }
            let wire = Some(store::key_name(&name))
                .filter(|w| w.len() > 1)
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "InvalidDomainName",
                        format!("{name} is not a valid domain name"),
                    )
                })?;
            let origin = name::to_lowercase(&wire);
            if let Some(z) = state.zone_by_origin(&origin) {
                return Err(ApiError::new(
                    409,
                    "HostedZoneAlreadyExists",
                    format!(
                        "policydns serves one zone per name: hosted zone {} already serves {}",
                        z.id, z.name
                    ),
                ));
            }
            if config.zones.iter().any(|z| z.origin == origin) {
                return Err(ApiError::new(
                    409,
                    "HostedZoneAlreadyExists",
                    format!("{} is served from the configuration's zone files (read-only through the API)", name::to_text(&origin)),
                ));
            }
            if let Some(v) = &vpc {
                // A private hosted zone answers in the internal views that serve its VPC.
                if !config
                    .views
                    .iter()
                    .any(|view| view.internal && view.serves_vpc(&v.id))
                {
                    return Err(ApiError::new(
                        400,
                        "InvalidVPCId",
                        format!(
                            "no internal [[view]] serves VPC {}: add vpc_ids = [\"{}\"] to an internal view (internal = true) whose match_clients are that VPC's CIDR blocks",
                            v.id, v.id
                        ),
                    ));
                }
            }
            let mut zone = new_zone(api, &origin, caller_reference, comment, state);
            if let Some(v) = vpc {
                zone.private_zone = true;
                zone.vpcs = vec![v];
            }
            let change = ChangeInfo {
                id: ids::change_id(),
                submitted_at: now,
                comment: None,
            };
            let compiled =
                compile(config, &zone, None).map_err(|p| ApiError::invalid_input(p.join("; ")))?;
            Ok(Prepared {
                plan: None,
                served: Served::Zone(zone.id.clone(), origin, compiled),
                written: Written::Zone(Box::new(zone.clone()), change.clone()),
                entry: Some(Entry::CreateZone { zone, change }),
            })
        }
        Write::Change {
            zone_id,
            comment,
            changes,
        } => change(state, config, zone_id, comment, changes, now),
        Write::UpdateFile {
            origin,
            zone,
            prerequisites,
            updates,
            by,
        } => {
            let origin_text = name::to_text(&origin);
            let kept = state.file_zones.get(&origin_text);
            let changed =
                crate::update::rules::file_zone_changes(&zone, kept, &prerequisites, &updates)
                    .map_err(ApiError::update_refused)?;
            if changed.is_empty() {
                return Ok(Prepared {
                    entry: None,
                    written: Written::Nothing,
                    served: Served::Same,
                    plan: None,
                });
            }
            let base = kept.map_or(0, |k| k.serial);
            let serial = if crate::transfer::journal::serial_gt(base, zone.serial) {
                base
            } else {
                zone.serial
            }
            .wrapping_add(1);
            let rrsets: Vec<store::file_zones::Override> = changed
                .iter()
                .map(|c| {
                    // The file's version: what the zone served before any update set it.
                    let file_digest = match kept.and_then(|k| k.get(&c.owner, c.rtype)) {
                        Some(o) => o.file_digest,
                        None => served_digest(&zone, &c.owner, c.rtype),
                    };
                    store::file_zones::Override {
                        owner: c.owner.clone(),
                        rtype: c.rtype,
                        ttl: c.ttl,
                        rdatas: c.rdatas.clone(),
                        at: now,
                        file_digest,
                    }
                })
                .collect();
            let patches = changed
                .into_iter()
                .map(|c| crate::zone::RrsetChange {
                    owner: c.owner,
                    rtype: c.rtype,
                    content: if c.rdatas.is_empty() {
                        crate::zone::NewContent::Gone
                    } else {
                        crate::zone::NewContent::Records {
                            ttl: c.ttl,
                            rdatas: c.rdatas,
                        }
                    },
                })
                .collect();
            let change = ChangeInfo {
                id: ids::change_id(),
                submitted_at: now,
                comment: Some(by),
            };
            Ok(Prepared {
                served: Served::FileZone {
                    origin: origin.clone(),
                    rrsets: patches,
                    serial,
                },
                written: Written::Change(change.clone()),
                entry: Some(Entry::UpdateFileZone {
                    origin,
                    serial,
                    rrsets,
                    change,
                }),
                plan: None,
            })
        }
        Write::Update {
            zone_id,
            prerequisites,
            updates,
            by,
        } => {
            let zone = state
                .zones
                .get(&zone_id)
                .ok_or_else(|| ApiError::no_such_zone(&zone_id))?;
            let changes = crate::update::rules::changes(zone, &prerequisites, &updates)
                .map_err(ApiError::update_refused)?;
            if changes.is_empty() {
                return Ok(Prepared {
                    entry: None,
                    written: Written::Nothing,
                    served: Served::Same,
                    plan: None,
                });
            }
            change(state, config, zone_id, Some(by), changes, now)
        }
        Write::DeleteZone { zone_id } => {
            let zone = state
                .zones
                .get(&zone_id)
                .ok_or_else(|| ApiError::no_such_zone(&zone_id))?;
            if zone.user_record_sets() > 0 {
                return Err(ApiError::new(
                    400,
                    "HostedZoneNotEmpty",
                    "The hosted zone contains resource records that are not SOA or NS records.",
                ));
            }
            let change = ChangeInfo {
                id: ids::change_id(),
                submitted_at: now,
                comment: None,
            };
            Ok(Prepared {
                plan: None,
                served: Served::Gone(zone_id.clone(), zone.origin()),
                written: Written::Change(change.clone()),
                entry: Some(Entry::DeleteZone { zone_id, change }),
            })
        }
        Write::PutHealthCheck {
            id,
            caller_reference,
            config: check_config,
            version,
        } => {
            let check = match &id {
                None => {
                    if let Some(c) = state
                        .health_checks
                        .values()
                        .find(|c| c.caller_reference == caller_reference)
                    {
                        if c.config == check_config {
                            // Route 53 answers a repeated create with the existing check.
                            return Ok(Prepared {
                                plan: None,
                                entry: None,
                                written: Written::HealthCheck(Box::new(c.clone()), false),
                                served: Served::Same,
                            });
                        }
                        return Err(ApiError::new(
                            409,
                            "HealthCheckAlreadyExists",
                            format!("A health check with the CallerReference {caller_reference} already exists ({}) with other settings", c.id),
                        ));
                    }
                    store::HealthCheck {
                        id: ids::uuid(),
                        caller_reference,
                        config: check_config,
                        version: 1,
                        tags: BTreeMap::new(),
                    }
                }
                Some(id) => {
                    let current = state
                        .health_checks
                        .get(id)
                        .ok_or_else(|| super::health::no_such(id))?;
                    if version.is_some_and(|v| v != current.version) {
                        return Err(ApiError::new(
                            409,
                            "HealthCheckVersionMismatch",
                            format!(
                                "The HealthCheckVersion given is not the current version ({})",
                                current.version
                            ),
                        ));
                    }
                    store::HealthCheck {
                        config: check_config,
                        version: current.version + 1,
                        ..current.clone()
                    }
                }
            };
            super::health::validate(state, config, &check)?;
            Ok(Prepared {
                plan: None,
                written: Written::HealthCheck(Box::new(check.clone()), id.is_none()),
                entry: Some(Entry::PutHealthCheck { check }),
                served: Served::Reload,
            })
        }
        Write::DeleteHealthCheck { id } => {
            if !state.health_checks.contains_key(&id) {
                return Err(super::health::no_such(&id));
            }
            // Route 53 deletes a check that record sets still name ("does not prevent you
            // from deleting a health check even if the health check is associated with one
            // or more resource record sets"; octoDNS relies on it, deleting old checks before
            // the batch that stops naming them). Those record sets then count as healthy.
            if let Some(user) = super::health::record_set_user(state, &id) {
                tracing::warn!(health_check = %id, "deleted while {user} still names it: that record set now counts as healthy");
            }
            // A calculated check's children must exist for the configuration to load.
            if let Some(parent) = super::health::calculated_parent(state, &id) {
                return Err(ApiError::new(
                    400,
                    "HealthCheckInUse",
                    format!("The health check {id} is a child of the calculated health check {parent}; update or delete that one first"),
                ));
            }
            Ok(Prepared {
                plan: None,
                written: Written::Deleted,
                entry: Some(Entry::DeleteHealthCheck { id }),
                served: Served::Reload,
            })
        }
        Write::CreateCidr { .. } | Write::ChangeCidr { .. } | Write::DeleteCidr { .. } => {
            super::cidr::prepare(state, write).map(|(entry, written)| Prepared {
                plan: None,
                entry: Some(entry),
                written,
                served: Served::Reload,
            })
        }
        Write::Dnssec { zone_id, op } => super::dnssec::prepare(state, config, zone_id, op, now),
        Write::Tags {
            zone_id,
            add,
            remove,
        } => {
            if !state.zones.contains_key(&zone_id) && !state.health_checks.contains_key(&zone_id) {
                return Err(ApiError::no_such_zone(&zone_id));
            }
            Ok(Prepared {
                plan: None,
                served: Served::Same,
                written: Written::Tags,
                entry: Some(Entry::Tags {
                    zone_id,
                    add,
                    remove,
                }),
            })
        }
    }
}

/// A record change: planned against the store, the touched names converted, the entry to
/// journal.
fn change(
    state: &State,
    config: &Config,
    zone_id: String,
    comment: Option<String>,
    changes: Vec<Change>,
    now: i64,
) -> Result<Prepared, ApiError> {
    let zone = state
        .zones
        .get(&zone_id)
        .ok_or_else(|| ApiError::no_such_zone(&zone_id))?;
    check_limits(&changes)?;
    let origin = zone.origin();
    let plan = store::plan_changes(&zone.record_sets, &origin, &changes)
        .map_err(|m| ApiError::invalid_change_batch(&m))?;
    let rrsets = rrset_changes(config, zone, &plan)?;
    let change = ChangeInfo {
        id: ids::change_id(),
        submitted_at: now,
        comment,
    };
    Ok(Prepared {
        served: Served::Change {
            zone_id: zone_id.clone(),
            origin,
            rrsets,
            serial: zone.serial.wrapping_add(1),
        },
        written: Written::Change(change.clone()),
        entry: Some(Entry::ChangeRecords {
            zone_id,
            change,
            changes,
        }),
        plan: Some(plan),
    })
}

/// A digest of the RRset `zone` serves at `owner` and `rtype` (none: the empty set).
pub(super) fn served_digest(zone: &Zone, owner: &[u8], rtype: u16) -> u64 {
    match zone
        .find(owner)
        .and_then(|id| zone.rrset(zone.node(id), rtype))
    {
        Some(set) if set.group().is_none() => store::file_zones::rrset_digest(
            set.ttl,
            &zone.rdatas(set).map(<[u8]>::to_vec).collect::<Vec<_>>(),
        ),
        _ => store::file_zones::rrset_digest(0, &[]),
    }
}

/// Each name and type a planned batch touches, with its record sets once it applies,
/// converted and checked as a full compile would: only those, however large the zone.
pub(super) fn rrset_changes(
    config: &Config,
    zone: &HostedZone,
    plan: &store::Plan,
) -> Result<Vec<crate::zone::RrsetChange>, ApiError> {
    let touched = plan
        .groups()
        .into_iter()
        .map(|g| {
            let sets = plan.group_after(&zone.record_sets, &g);
            let owner = store::OrderKey {
                labels: g.labels.clone(),
                rtype: String::new(),
                set_identifier: None,
            }
            .owner();
            let rtype = crate::wire::types::from_mnemonic(&g.rtype).unwrap_or(0);
            (owner, rtype, sets)
        })
        .collect();
    crate::load::hosted_changes(config, &zone.origin(), touched)
        .map_err(|m| ApiError::invalid_change_batch(&m))
}

/// Route 53's batch limits: 1,000 changes (UPSERT counts twice) and 32,000 characters of
/// values.
fn check_limits(changes: &[Change]) -> Result<(), ApiError> {
    let weight: usize = changes
        .iter()
        .map(|c| match c.action {
            crate::route53::Action::Upsert => 2,
            _ => 1,
        })
        .sum();
    if changes.is_empty() {
        return Err(ApiError::invalid_input(
            "a change batch needs at least one change",
        ));
    }
    if weight > MAX_CHANGES {
        return Err(ApiError::invalid_change_batch(&[format!(
            "Number of records limit of {MAX_CHANGES} exceeded."
        )]));
    }
    let chars: usize = changes
        .iter()
        .flat_map(|c| c.resource_record_set.resource_records.iter().flatten())
        .map(|r| r.value.chars().count())
        .sum();
    if chars > MAX_VALUE_CHARS {
        return Err(ApiError::invalid_change_batch(&[format!(
            "Number of characters limit of {MAX_VALUE_CHARS} exceeded."
        )]));
    }
    Ok(())
}

/// A new hosted zone with the SOA and NS record sets Route 53 creates.
fn new_zone(
    api: &ApiConfig,
    origin: &[u8],
    caller_reference: String,
    comment: Option<String>,
    state: &State,
) -> HostedZone {
    let name = store::route53_name(origin);
    let mut id = ids::zone_id();
    while state.zones.contains_key(&id) {
        id = ids::zone_id();
    }
    let primary = api
        .name_servers
        .first()
        .cloned()
        .unwrap_or_else(|| "localhost.".into());
    let set = |rtype: &str, ttl: i64, values| {
        ResourceRecordSet::simple(name.clone(), rtype.into(), ttl, values)
    };
    // Route 53's SOA: its first name server, a hostmaster mailbox, serial 1, and its timers.
    let soa = format!("{primary} hostmaster.{name} 1 7200 900 1209600 86400");
    HostedZone {
        id,
        name: name.clone(),
        caller_reference,
        comment,
        private_zone: false,
        vpcs: Vec::new(),
        name_servers: api.name_servers.clone(),
        serial: 1,
        record_sets: store::RecordSets::from_sets([
            set("SOA", 900, vec![soa]),
            set("NS", 172_800, api.name_servers.clone()),
        ]),
        tags: BTreeMap::new(),
        dnssec: Default::default(),
    }
}

/// Compiles a hosted zone as it would be served; the messages name the record sets.
/// `zone` compiled to be served; a signing zone keeps the signatures of `previous` (the version
/// serving now) whose RRsets are unchanged.
pub(super) fn compile(
    config: &Config,
    zone: &HostedZone,
    previous: Option<&Zone>,
) -> Result<Zone, Vec<String>> {
    let carry_policy = config
        .api
        .as_ref()
        .is_some_and(|a| !a.transfer.allow.is_empty());
    let mut warnings = Vec::new();
    match crate::load::hosted_zone(config, zone, previous, carry_policy, &mut warnings) {
        Ok((z, _)) => Ok(z),
        Err(e) => Err(e.problems.iter().map(|p| p.message.clone()).collect()),
    }
}
