//! Zones served from files that take dynamic updates: every load lays the updates the store
//! keeps over the file's version (`store::file_zones` states the rule), and says so when the
//! file has changed an RRset an update also set.

use std::sync::Arc;

use super::commit::Store;
use crate::snapshot::Snapshot;
use crate::store::file_zones::FileZoneUpdates;
use crate::transfer::journal::serial_gt;
use crate::wire::{name, types};
use crate::zone::{Catalog, NewContent, PatchError, RrsetChange, Zone};

/// Lays each file zone's kept updates over the version of it `snapshot` holds (just loaded from
/// its file). A zone the updates cannot be laid over keeps `previous`'s version, if any.
pub fn lay_updates(store: &Store, snapshot: &mut Snapshot, previous: Option<&Snapshot>) {
    let kept = store.lock().state.file_zones.clone();
    if kept.is_empty() {
        return;
    }
    let mut zones = std::mem::take(&mut snapshot.catalog).into_zones();
    for slot in zones.iter_mut() {
        let Some(updates) = kept.get(&slot.origin_text()) else {
            continue;
        };
        let running = previous.and_then(|p| p.catalog.zone_by_origin(&slot.origin));
        if slot.servfail || running.is_some_and(|r| Arc::ptr_eq(r, slot)) {
            continue; // no data, or the running version (updates laid already)
        }
        match laid(slot, updates) {
            Ok(z) => *slot = Arc::new(z),
            Err(e) => {
                tracing::error!(zone = %slot.origin_text(), "the dynamic updates kept for this zone cannot be laid over its file ({e}); {}", if running.is_some() { "the previous version keeps serving" } else { "serving the file alone until they can" });
                if let Some(r) = running {
                    *slot = r.clone();
                }
            }
        }
    }
    snapshot.catalog = Catalog::new(zones);
}

fn laid(file_zone: &Zone, updates: &FileZoneUpdates) -> Result<Zone, PatchError> {
    let mut z = file_zone.clone();
    let file = file_zone
        .source
        .as_ref()
        .map_or_else(|| "the zone file".to_string(), |p| p.display().to_string());
    for o in &updates.rrsets {
        let now = super::prepare::served_digest(file_zone, &o.owner, o.rtype);
        if now != o.file_digest {
            tracing::warn!(
                zone = %file_zone.origin_text(),
                "{file} changed {} {} since a dynamic update set it (at Unix time {}): the update's version is served, not the file's; change it by another update (a delete serves none)",
                name::to_text(&o.owner),
                types::mnemonic(o.rtype),
                o.at
            );
        }
    }
    let changes = updates
        .rrsets
        .iter()
        .map(|o| RrsetChange {
            owner: o.owner.clone(),
            rtype: o.rtype,
            content: if o.rdatas.is_empty() {
                NewContent::Gone
            } else {
                NewContent::Records {
                    ttl: o.ttl,
                    rdatas: o.rdatas.clone(),
                }
            },
        })
        .collect();
    let touched: std::collections::BTreeSet<(Vec<u8>, u16)> = updates
        .rrsets
        .iter()
        .map(|o| (o.owner.clone(), o.rtype))
        .collect();
    z.patch(changes)?;
    // Signed by this server: the updates' RRsets and the denial records around them signed.
    if z.soa_signer.is_some() {
        z.resign_touched(&touched)?;
    }
    // It serves at least the serial the last update gave it (the file's when higher). The
    // source serial stays the file's, so a reload still sees whether the file's was raised.
    if serial_gt(updates.serial, z.serial) {
        z.set_serial(updates.serial);
    }
    Ok(z)
}
