//! The change store: hosted zones that the Route 53 API (and, later, dynamic update) changes
//! while the server runs, kept durable in the state directory.
//!
//! Data flows one way: a change is checked against the [`State`], written to the [`journal`]
//! (fsynced before it is acknowledged), applied to the state, and only then compiled and served.
//! The state is rebuilt at start from the last compacted copy plus the journal; a torn or
//! corrupt journal tail (a crash in the middle of a write) is cut at the last whole entry.
//!
//! Record sets are kept as Route 53 gives them ([`ResourceRecordSet`]), so `ListResourceRecordSets`
//! returns exactly what was sent and the same conversion serves them as serves Route 53 JSON
//! files.

pub mod file_zones;
pub mod journal;
mod sets;

pub use sets::{plan_changes, GroupKey, OrderKey, Plan, RecordSets};

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::route53::{Change, ResourceRecordSet};
use crate::wire::name;

/// A hosted zone created through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedZone {
    /// Route 53's bare id ("Z" and 20 characters), without `/hostedzone/`.
    pub id: String,
    /// Absolute presentation name, lowercase, with the final dot.
    pub name: String,
    pub caller_reference: String,
    pub comment: Option<String>,
    pub private_zone: bool,
    /// The VPCs a private hosted zone is associated with.
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
    pub name_servers: Vec<String>,
    /// The served SOA serial: one more per accepted batch.
    pub serial: u32,
    pub record_sets: RecordSets,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Signing: Route 53's key-signing keys and whether the zone is served signed.
    #[serde(default, skip_serializing_if = "ZoneDnssec::is_unused")]
    pub dnssec: ZoneDnssec,
}

/// A hosted zone's DNSSEC as the Route 53 API manages it (docs/api.md): key-signing keys the
/// user creates and activates, a zone-signing key this server makes and keeps, and whether
/// answers are signed (`EnableHostedZoneDNSSEC`). The keys themselves are files in the state
/// directory (`dnssec/hosted/<id>/`, `crate::dnssec::hosted`); the store names them by tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ZoneDnssec {
    /// `ServeSignature` SIGNING (true) or NOT_SIGNING.
    pub signing: bool,
    /// The zone-signing key's tag, made when signing is first enabled.
    #[serde(default)]
    pub zsk: Option<u16>,
    #[serde(default)]
    pub ksks: Vec<Ksk>,
}

impl ZoneDnssec {
    fn is_unused(&self) -> bool {
        *self == ZoneDnssec::default()
    }

    /// The key-signing keys that sign (status ACTIVE).
    pub fn active(&self) -> impl Iterator<Item = &Ksk> {
        self.ksks.iter().filter(|k| k.active)
    }
}

/// A key-signing key (`CreateKeySigningKey`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ksk {
    pub name: String,
    /// The KMS key ARN given: kept and shown, the key itself is this server's (no KMS here).
    pub kms_arn: String,
    /// Status ACTIVE (true) or INACTIVE.
    pub active: bool,
    pub key_tag: u16,
    /// Unix seconds.
    pub created: i64,
    pub last_modified: i64,
}

/// A VPC a private hosted zone answers in (Route 53's `VPCRegion` and `VPCId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub region: String,
    pub id: String,
}

impl HostedZone {
    /// The zone's origin in lowercase wire form.
    pub fn origin(&self) -> Vec<u8> {
        name::to_lowercase(&name::from_text(&self.name, None).unwrap_or_default())
    }

    /// The record sets as `ListResourceRecordSets` gives them: Route 53's order, the SOA with
    /// the serial served.
    pub fn listed_record_sets(&self) -> Vec<ResourceRecordSet> {
        self.record_sets.iter().map(|s| self.listed(s)).collect()
    }

    /// A set as listed: the SOA with the serial served.
    pub fn listed(&self, set: &ResourceRecordSet) -> ResourceRecordSet {
        let mut s = set.clone();
        if s.rtype == "SOA" {
            for r in s.resource_records.iter_mut().flatten() {
                let mut f: Vec<String> = r.value.split_whitespace().map(str::to_string).collect();
                if f.len() == 7 {
                    f[2] = self.serial.to_string();
                    r.value = f.join(" ");
                }
            }
        }
        s
    }

    /// Record sets besides the apex SOA and NS (what keeps a zone from being deleted).
    pub fn user_record_sets(&self) -> usize {
        let origin = self.origin();
        self.record_sets
            .iter()
            .filter(|s| !(matches!(s.rtype.as_str(), "SOA" | "NS") && key_name(&s.name) == origin))
            .count()
    }
}

/// A change's id and when it was accepted (`GetChange`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeInfo {
    /// Bare id ("C…"), without `/change/`.
    pub id: String,
    /// Unix seconds.
    pub submitted_at: i64,
    pub comment: Option<String>,
}

/// One journal entry: what an accepted request did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    CreateZone {
        zone: HostedZone,
        change: ChangeInfo,
    },
    ChangeRecords {
        zone_id: String,
        change: ChangeInfo,
        changes: Vec<Change>,
    },
    DeleteZone {
        zone_id: String,
        change: ChangeInfo,
    },
    Tags {
        zone_id: String,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    /// Created, or replaced by an update (its version one higher).
    PutHealthCheck {
        check: HealthCheck,
    },
    DeleteHealthCheck {
        id: String,
    },
    /// Created, or changed (its version one higher).
    PutCidrCollection {
        collection: CidrCollection,
    },
    DeleteCidrCollection {
        id: String,
    },
    /// A hosted zone's DNSSEC replaced (a key created, activated, deactivated or deleted;
    /// signing enabled or disabled). When the zone is served signed before or after, what it
    /// serves changes, so its serial moves on.
    Dnssec {
        zone_id: String,
        dnssec: ZoneDnssec,
        change: ChangeInfo,
    },
    /// A dynamic update of a zone served from a file: the RRsets it set, and the zone's new
    /// serial.
    UpdateFileZone {
        /// Lowercase wire form.
        origin: Vec<u8>,
        serial: u32,
        rrsets: Vec<file_zones::Override>,
        change: ChangeInfo,
    },
}

/// A CIDR collection created through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CidrCollection {
    /// A UUID, as Route 53's.
    pub id: String,
    pub name: String,
    pub caller_reference: String,
    pub version: i64,
    /// Location name → CIDR blocks, as given.
    pub locations: BTreeMap<String, Vec<String>>,
}

/// A health check created through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// A UUID, as Route 53's.
    pub id: String,
    pub caller_reference: String,
    /// `HealthCheckConfig` as Route 53's JSON writes it (the AWS CLI's field names), with
    /// Route 53's defaults filled in.
    pub config: serde_json::Value,
    pub version: i64,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// How many past changes `GetChange` can still find.
const CHANGES_KEPT: usize = 100_000;

/// Everything the store holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub zones: BTreeMap<String, HostedZone>,
    #[serde(default)]
    pub health_checks: BTreeMap<String, HealthCheck>,
    #[serde(default)]
    pub cidr_collections: BTreeMap<String, CidrCollection>,
    /// Dynamic updates of zones served from files (`file_zones`).
    #[serde(default)]
    pub file_zones: file_zones::ByOrigin,
    /// Change id → (zone id, info), the newest last in `change_order`.
    pub changes: BTreeMap<String, (String, ChangeInfo)>,
    pub change_order: VecDeque<String>,
    /// The sequence number of the last entry applied.
    pub seq: u64,
}

/// Why an entry does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("no hosted zone {0}")]
    NoZone(String),
    #[error("hosted zone {0} exists")]
    ZoneExists(String),
    /// Route 53's `InvalidChangeBatch` messages, one per refused change.
    #[error("{}", .0.join("; "))]
    Batch(Vec<String>),
}

impl State {
    /// The API's health checks as `aws route53 list-health-checks` prints them, for the
    /// configuration to probe like `--health-checks` files.
    pub fn health_checks_json(&self) -> Option<String> {
        if self.health_checks.is_empty() {
            return None;
        }
        let checks: Vec<serde_json::Value> = self
            .health_checks
            .values()
            .map(|c| {
                serde_json::json!({
                    "Id": c.id,
                    "CallerReference": c.caller_reference,
                    "HealthCheckConfig": c.config,
                    "HealthCheckVersion": c.version,
                })
            })
            .collect();
        Some(serde_json::json!({ "HealthChecks": checks }).to_string())
    }

    /// The zone serving `origin` (lowercase wire), if any.
    pub fn zone_by_origin(&self, origin: &[u8]) -> Option<&HostedZone> {
        self.zones.values().find(|z| z.origin() == origin)
    }

    /// Applies one entry; the state is unchanged when it fails.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), ApplyError> {
        match entry {
            Entry::CreateZone { zone, change } => {
                if self.zones.contains_key(&zone.id) {
                    return Err(ApplyError::ZoneExists(zone.id.clone()));
                }
                self.zones.insert(zone.id.clone(), zone.clone());
                self.remember(&zone.id, change);
            }
            Entry::ChangeRecords {
                zone_id,
                change,
                changes,
            } => {
                let zone = self
                    .zones
                    .get_mut(zone_id)
                    .ok_or_else(|| ApplyError::NoZone(zone_id.clone()))?;
                // All or nothing: a plan changes nothing until it is committed.
                let plan = plan_changes(&zone.record_sets, &zone.origin(), changes)
                    .map_err(ApplyError::Batch)?;
                zone.record_sets.commit(plan);
                zone.serial = zone.serial.wrapping_add(1);
                self.remember(zone_id, change);
            }
            Entry::DeleteZone { zone_id, change } => {
                self.zones
                    .remove(zone_id)
                    .ok_or_else(|| ApplyError::NoZone(zone_id.clone()))?;
                self.remember(zone_id, change);
            }
            Entry::Tags {
                zone_id,
                add,
                remove,
            } => {
                let tags = match (
                    self.zones.get_mut(zone_id),
                    self.health_checks.get_mut(zone_id),
                ) {
                    (Some(z), _) => &mut z.tags,
                    (None, Some(h)) => &mut h.tags,
                    (None, None) => return Err(ApplyError::NoZone(zone_id.clone())),
                };
                for k in remove {
                    tags.remove(k);
                }
                tags.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Entry::PutHealthCheck { check } => {
                self.health_checks.insert(check.id.clone(), check.clone());
            }
            Entry::DeleteHealthCheck { id } => {
                self.health_checks
                    .remove(id)
                    .ok_or_else(|| ApplyError::NoZone(id.clone()))?;
            }
            Entry::PutCidrCollection { collection } => {
                self.cidr_collections
                    .insert(collection.id.clone(), collection.clone());
            }
            Entry::DeleteCidrCollection { id } => {
                self.cidr_collections
                    .remove(id)
                    .ok_or_else(|| ApplyError::NoZone(id.clone()))?;
            }
            Entry::Dnssec {
                zone_id,
                dnssec,
                change,
            } => {
                let zone = self
                    .zones
                    .get_mut(zone_id)
                    .ok_or_else(|| ApplyError::NoZone(zone_id.clone()))?;
                // Only a zone served signed before or after changes what it serves.
                if zone.dnssec.signing || dnssec.signing {
                    zone.serial = zone.serial.wrapping_add(1);
                }
                zone.dnssec = dnssec.clone();
                self.remember(zone_id, change);
            }
            Entry::UpdateFileZone {
                origin,
                serial,
                rrsets,
                change,
            } => {
                self.file_zones
                    .entry(crate::wire::name::to_text(origin))
                    .or_default()
                    .merge(*serial, rrsets);
                self.remember(&crate::wire::name::to_text(origin), change);
            }
        }
        self.seq += 1;
        Ok(())
    }

    /// Applies a `ChangeRecords` entry whose plan the caller has already made (with
    /// [`plan_changes`] on the same state).
    pub fn apply_planned(&mut self, entry: &Entry, plan: Plan) -> Result<(), ApplyError> {
        let Entry::ChangeRecords {
            zone_id, change, ..
        } = entry
        else {
            return self.apply(entry);
        };
        let zone = self
            .zones
            .get_mut(zone_id)
            .ok_or_else(|| ApplyError::NoZone(zone_id.clone()))?;
        zone.record_sets.commit(plan);
        zone.serial = zone.serial.wrapping_add(1);
        self.remember(zone_id, change);
        self.seq += 1;
        Ok(())
    }

    fn remember(&mut self, zone_id: &str, change: &ChangeInfo) {
        self.changes
            .insert(change.id.clone(), (zone_id.to_string(), change.clone()));
        self.change_order.push_back(change.id.clone());
        while self.change_order.len() > CHANGES_KEPT {
            if let Some(old) = self.change_order.pop_front() {
                self.changes.remove(&old);
            }
        }
    }
}

/// The identity of a record set within a zone: lowercase wire name, type, set identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SetKey {
    pub name: Vec<u8>,
    pub rtype: String,
    pub set_identifier: Option<String>,
}

/// A record-set name (Route 53's `\ooo` escapes allowed) in lowercase wire form; empty when it
/// does not read (such a set is refused by the conversion with a clear message).
pub fn key_name(text: &str) -> Vec<u8> {
    // Route 53 reads every name as fully qualified, final dot or not.
    let text = if text.ends_with('.') {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(format!("{text}."))
    };
    crate::route53::octal_to_master(&text)
        .ok()
        .and_then(|t| name::from_text(&t, None).ok())
        .map(|w| name::to_lowercase(&w))
        .unwrap_or_default()
}

pub fn set_key(s: &ResourceRecordSet) -> SetKey {
    SetKey {
        name: key_name(&s.name),
        rtype: s.rtype.to_ascii_uppercase(),
        set_identifier: s.set_identifier.clone(),
    }
}

/// Route 53's way of naming a record set in a message.
pub(crate) fn describe(s: &ResourceRecordSet) -> String {
    let name = s.name.to_ascii_lowercase();
    let name = if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    };
    match &s.set_identifier {
        Some(id) => format!("[name='{name}', type='{}', set-identifier='{id}']", s.rtype),
        None => format!("[name='{name}', type='{}']", s.rtype),
    }
}

/// The labels of a wire name, top first.
pub fn reversed_labels(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut labels = Vec::new();
    let mut i = 0;
    while i < wire.len() && wire[i] != 0 {
        let len = wire[i] as usize;
        labels.push(wire[i + 1..(i + 1 + len).min(wire.len())].to_vec());
        i += 1 + len;
    }
    labels.reverse();
    labels
}

#[cfg(test)]
mod tests;

/// A name as Route 53 writes it: lowercase, absolute, characters other than `a-z 0-9 - _`
/// as `\ooo` octal escapes (so `*` is `\052`).
pub fn route53_name(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < wire.len() && wire[i] != 0 {
        let len = wire[i] as usize;
        for &c in &wire[i + 1..(i + 1 + len).min(wire.len())] {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
                out.push(c as char);
            } else {
                out.push_str(&format!("\\{c:03o}"));
            }
        }
        out.push('.');
        i += 1 + len;
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}
