//! The served version of each hosted zone a group commit changes, patched batch by batch:
//! the first batch of a group copies the served zone once, every batch after it patches that
//! copy, and the group publishes it with the history step its batches made, so neither the
//! patch nor the IXFR step costs in proportion to the zone.

use std::collections::BTreeSet;
use std::sync::Arc;

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
}

impl Working {
    pub(super) fn new(origin: Vec<u8>, base: Option<Arc<Zone>>) -> Working {
        Working {
            origin,
            full: base.is_none(),
            base,
            zone: None,
            keys: BTreeSet::new(),
            policy_touched: false,
        }
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
        let patched = match (&mut self.zone, &self.base) {
            (Some(z), _) => z.patch(rrsets),
            (None, Some(base)) => {
                let mut z = Zone::clone(base);
                let r = z.patch(rrsets);
                if r.is_ok() {
                    self.zone = Some(z);
                }
                r
            }
            (None, None) => Err(PatchError::Unsupported("the zone is new")),
        };
        match patched {
            Ok(()) => {}
            Err(PatchError::Invalid(m)) => return Err(ApiError::invalid_change_batch(&m)),
            Err(PatchError::Unsupported(why)) => {
                tracing::debug!(zone = %crate::wire::name::to_text(&self.origin), "{why}");
                let mut after = state_zone.clone();
                after.record_sets.commit(plan.clone());
                after.serial = serial;
                let z = compile(config, &after).map_err(|m| ApiError::invalid_change_batch(&m))?;
                self.zone = Some(z);
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
    ) -> Option<(Arc<Zone>, Option<crate::transfer::reload::Step>)> {
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
        let step = match (&self.base, self.full) {
            (Some(base), false) => Some(crate::transfer::records::step(base, &zone, lbs, &self.keys)),
            _ => None,
        };
        Some((Arc::new(zone), step))
    }
}
