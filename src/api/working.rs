//! The served version of each hosted zone a group commit changes, patched batch by batch, and
//! published with the history step its batches made, so neither the patch nor the IXFR step
//! costs in proportion to the zone.
//!
//! A patch needs a zone of its own to write (queries read the served one), and copying a large
//! zone costs more than everything else a change does. So each hosted zone is double-buffered:
//! the version a group replaces is kept as a [`Spare`] with the changes that led from it, and
//! the next group, once no query holds that version any more, brings it up to date by replaying
//! those changes and patches it, instead of copying the served one. A copy is made only when a
//! reader still holds the spare, or after a full compile.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};

use super::error::ApiError;
use super::prepare::compile;
use crate::config::Config;
use crate::policy::load_balancer::LoadBalancer;
use crate::store::{HostedZone, Plan};
use crate::zone::{NewContent, PatchError, RrsetChange, Zone};

/// One hosted zone's new version while a group commit builds it.
pub(super) struct Working {
    pub(super) origin: Vec<u8>,
    /// The version served when the group began (none: the zone is new in this group).
    base: Option<Arc<Zone>>,
    zone: Option<Zone>,
    /// Compiled whole at least once in this group: its history step is found by comparing.
    pub(super) full: bool,
    /// The owners and types the group's batches changed.
    keys: BTreeSet<(Vec<u8>, u16)>,
    /// A routing-policy set changed: the policy carried to policydns secondaries is redone.
    policy_touched: bool,
    /// The changes patched in, in order, for the next group to replay on the version this
    /// group replaces.
    replay: Vec<RrsetChange>,
    spare: Option<Spare>,
    /// The replay brings a spare up to this version (not so when a signed zone's policy
    /// members were signed: their signatures are not changes a replay repeats).
    spare_ok: bool,
}

/// A hosted zone's previous version and the changes that make it the served one.
pub(super) struct Spare {
    zone: Arc<Zone>,
    replay: Vec<RrsetChange>,
    serial: u32,
    /// The version the replay leads to: a spare for any other (the zone was compiled whole
    /// since) is dropped.
    leads_to: Weak<Zone>,
}

impl Working {
    pub(super) fn new(origin: Vec<u8>, base: Option<Arc<Zone>>, spare: Option<Spare>) -> Working {
        Working {
            origin,
            full: base.is_none(),
            base,
            zone: None,
            keys: BTreeSet::new(),
            policy_touched: false,
            replay: Vec::new(),
            spare,
            spare_ok: true,
        }
    }

    /// The spare brought up to the served version, if no one else holds it.
    fn take_spare(&mut self, base: &Arc<Zone>) -> Option<Zone> {
        let s = self.spare.take()?;
        if !std::ptr::eq(s.leads_to.as_ptr(), Arc::as_ptr(base)) {
            return None;
        }
        let mut z = Arc::try_unwrap(s.zone).ok()?;
        // The same patches on the same version: the served zone, arena for arena.
        z.patch(s.replay).ok()?;
        // The NSEC chain's order is the served version's (same nodes, same ids).
        z.nsec_chain.clone_from(&base.nsec_chain);
        z.set_serial(s.serial);
        z.source_serial = s.serial;
        z.policy.clone_from(&base.policy);
        Some(z)
    }

    /// Applies one accepted batch: patched in, or (when a patch cannot do it) the zone as
    /// `state_zone` plus `plan` leaves it, compiled whole. Nothing changes when it fails.
    pub(super) fn apply(
        &mut self,
        config: &Config,
        state_zone: &HostedZone,
        plan: &Plan,
        rrsets: Vec<RrsetChange>,
        serial: u32,
    ) -> Result<(), ApiError> {
        let keys: Vec<(Vec<u8>, u16)> = rrsets.iter().map(|c| (c.owner.clone(), c.rtype)).collect();
        let policy = rrsets
            .iter()
            .any(|c| !matches!(c.content, NewContent::Records { .. }));
        let signing = state_zone.dnssec.signing;
        if self.zone.is_none() && !self.full {
            if let Some(base) = self.base.clone() {
                let z = self.take_spare(&base).unwrap_or_else(|| Zone::clone(&base));
                self.zone = Some(z);
            }
        }
        let mut rrsets = rrsets;
        if signing {
            cap_ttls(&mut rrsets, crate::load::SIGNED_MAX_TTL);
        }
        let for_replay = rrsets.clone();
        let patched = match &mut self.zone {
            Some(z) => z.patch(rrsets).and_then(|()| {
                if !signing {
                    return Ok(None);
                }
                // A signed zone's patch is signed before it is served: what it touched, and
                // the NSEC records around it.
                let touched: BTreeSet<(Vec<u8>, u16)> = keys.iter().cloned().collect();
                z.resign_touched(&touched).map(Some).map_err(|e| match e {
                    PatchError::Invalid(_) => {
                        PatchError::Unsupported("the patch could not be signed")
                    }
                    other => other,
                })
            }),
            None => Err(PatchError::Unsupported("the zone is new")),
        };
        match patched {
            Ok(resigned) => {
                self.replay.extend(for_replay);
                if let Some(r) = resigned {
                    self.keys.extend(r.step_keys(&self.origin));
                    // Members' signatures are not in the replay: a spare cannot catch up.
                    self.spare_ok &= !r.signed_groups;
                    self.replay.extend(r.changes);
                }
            }
            Err(PatchError::Invalid(m)) => return Err(ApiError::invalid_change_batch(&m)),
            Err(PatchError::Unsupported(why)) => {
                tracing::debug!(zone = %crate::wire::name::to_text(&self.origin), "{why}");
                let mut after = state_zone.clone();
                after.record_sets.commit(plan.clone());
                after.serial = serial;
                let previous = self.zone.as_ref().or(self.base.as_deref());
                match compile(config, &after, previous) {
                    Ok(z) => self.zone = Some(z),
                    Err(m) => {
                        if signing && self.zone.is_some() {
                            // The copy holds this batch's records unsigned: not to be served.
                            // What the group accepted before is served at the next compile.
                            tracing::error!(zone = %crate::wire::name::to_text(&self.origin), "a signed zone's change could not be signed: {}", m.join("; "));
                            self.zone = None;
                            self.full = true;
                        }
                        return Err(ApiError::invalid_change_batch(&m));
                    }
                }
                self.full = true;
            }
        }
        let z = self.zone.as_mut().expect("set above");
        z.set_serial(serial);
        z.source_serial = serial;
        self.keys.extend(keys);
        self.policy_touched |= policy;
        Ok(())
    }

    /// The new version, with its policy redone if needed, and its history step unless it was
    /// compiled whole (`None`: nothing changed).
    pub(super) fn finish(
        self,
        config: &Config,
        state_zone: Option<&HostedZone>,
        lbs: &[LoadBalancer],
    ) -> Option<Finished> {
        let mut zone = self.zone?;
        let carry_policy = config
            .api
            .as_ref()
            .is_some_and(|a| !a.transfer.allow.is_empty());
        if carry_policy && self.policy_touched && !self.full {
            if let Some(s) = state_zone {
                zone.policy = crate::load::hosted_policy(config, s);
            }
        }
        let serial = zone.serial;
        let zone = Arc::new(zone);
        let (step, spare) = match (self.base, self.full) {
            (Some(base), false) if !self.spare_ok => (
                Some(crate::transfer::records::step(
                    &base, &zone, lbs, &self.keys,
                )),
                None,
            ),
            (Some(base), false) => (
                Some(crate::transfer::records::step(
                    &base, &zone, lbs, &self.keys,
                )),
                Some(Spare {
                    zone: base,
                    replay: self.replay,
                    serial,
                    leads_to: Arc::downgrade(&zone),
                }),
            ),
            _ => (None, None),
        };
        Some(Finished { zone, step, spare })
    }
}

/// Caps a batch's TTLs at `max`, as a full compile of a signed hosted zone does.
fn cap_ttls(rrsets: &mut [RrsetChange], max: u32) {
    for c in rrsets {
        match &mut c.content {
            NewContent::Records { ttl, .. } => *ttl = (*ttl).min(max),
            NewContent::Group(g) => crate::load::cap_group_ttls(std::slice::from_mut(g), max),
            NewContent::Gone => {}
        }
    }
}

/// A group's outcome for one hosted zone.
pub(super) struct Finished {
    pub(super) zone: Arc<Zone>,
    /// Its IXFR step, unless it was compiled whole (then found by comparing).
    pub(super) step: Option<crate::transfer::reload::Step>,
    /// The version it replaces, for the next group to patch.
    pub(super) spare: Option<Spare>,
}

/// A zone served from a file, changed by dynamic updates in one group: the served version
/// copied once and patched (a zone from a file changes rarely by update; no double buffer).
pub(super) struct FileWorking {
    base: Option<Arc<Zone>>,
    zone: Option<Zone>,
    keys: BTreeSet<(Vec<u8>, u16)>,
}

impl FileWorking {
    pub(super) fn new(base: Option<Arc<Zone>>) -> FileWorking {
        FileWorking {
            base,
            zone: None,
            keys: BTreeSet::new(),
        }
    }

    /// Patches one update in; a change a patch cannot make is refused (it needs the file).
    pub(super) fn apply(&mut self, rrsets: Vec<RrsetChange>, serial: u32) -> Result<(), ApiError> {
        let Some(base) = &self.base else {
            return Err(ApiError::internal("the zone is not served"));
        };
        let zone = self.zone.get_or_insert_with(|| Zone::clone(base));
        let keys: Vec<(Vec<u8>, u16)> = rrsets.iter().map(|c| (c.owner.clone(), c.rtype)).collect();
        match zone.patch(rrsets) {
            Ok(()) => {}
            Err(PatchError::Invalid(m)) => return Err(ApiError::invalid_change_batch(&m)),
            Err(PatchError::Unsupported(why)) => {
                return Err(ApiError::update_refused(crate::update::rules::Refusal {
                    rcode: crate::wire::packet::rcode::REFUSED,
                    ede: Some((
                        0,
                        format!("{why}: in a zone served from a file, make this change in the file and reload"),
                    )),
                }))
            }
        }
        zone.set_serial(serial);
        self.keys.extend(keys);
        Ok(())
    }

    /// The new version and its IXFR step. In a zone this server signs, what the updates
    /// touched is signed in place with the NSEC or NSEC3 records around it
    /// (`Zone::resign_touched`).
    pub(super) fn finish(
        self,
        lbs: &[LoadBalancer],
    ) -> Option<(Arc<Zone>, crate::transfer::reload::Step)> {
        let (base, mut zone) = (self.base?, self.zone?);
        let mut keys = self.keys;
        if zone.soa_signer.is_some() {
            match zone.resign_touched(&keys) {
                Ok(r) => keys.extend(r.step_keys(&zone.origin)),
                Err(e) => {
                    // Acknowledged and journaled already: served at the next load, signed then.
                    tracing::error!(zone = %zone.origin_text(), "the update could not be signed ({e}); the previous version keeps serving until the next reload");
                    return None;
                }
            }
        }
        let step = crate::transfer::records::step(&base, &zone, lbs, &keys);
        Some((Arc::new(zone), step))
    }
}

#[cfg(test)]
mod tests;
