//! What a reload means for transfers: a zone whose content changed gets a history step (for
//! IXFR) and a NOTIFY to its secondaries; a zone whose content changed without a serial bump is
//! handled by its serial policy.

use std::net::SocketAddr;
use std::sync::Arc;

use super::journal::{self, Change};
use super::records;
use super::Control;
use crate::answer::Snapshot;
use crate::zone::{name, Catalog, Zone};

/// What to do with a zone whose content changed but whose serial did not increase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SerialPolicy {
    /// Refuse the new version with an error and keep serving the previous one (the default:
    /// the operator's serial is never second-guessed).
    #[default]
    Keep,
    /// Previous serial + 1.
    Increment,
    /// Seconds since 1970, or previous + 1 if that is not newer.
    Unixtime,
}

impl SerialPolicy {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "keep" => Ok(SerialPolicy::Keep),
            "increment" => Ok(SerialPolicy::Increment),
            "unixtime" => Ok(SerialPolicy::Unixtime),
            other => Err(format!(
                "serial_policy {other:?}: expected \"keep\" (refuse a changed zone whose serial did not increase), \"increment\" or \"unixtime\""
            )),
        }
    }
}

/// A zone whose serial moved: its secondaries get a NOTIFY.
#[derive(Debug, Clone)]
pub struct Changed {
    pub origin: Vec<u8>,
    pub serial: u32,
    pub soa_ttl: u32,
    pub soa_rdata: Vec<u8>,
    pub notify: Vec<SocketAddr>,
}

/// The outcome for the caller to act on and log.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changed: Vec<Changed>,
    /// Zones whose new version was refused (serial policy `keep`), with the reason.
    pub refused: Vec<(String, String)>,
    pub renumbered: Vec<(String, u32, u32)>,
}

/// Compares each primary zone of `next` with its version in `previous`, records history,
/// applies serial policies (which may put the previous zone back into `next`), and lists the
/// zones to NOTIFY. `policy` gives each zone's serial policy. With no `previous` (start-up),
/// every zone with NOTIFY targets is listed, as BIND and Knot notify on start.
pub fn apply(
    control: &Control,
    previous: Option<&Snapshot>,
    next: &mut Snapshot,
    policy: impl Fn(&[u8]) -> SerialPolicy,
) -> Outcome {
    let settings = control.settings.load();
    let mut out = Outcome::default();
    // Taken out of the catalog so a freshly loaded zone is ours alone (its serial may change).
    let mut zones: Vec<Arc<Zone>> = std::mem::take(&mut next.catalog).into_zones();
    for slot in zones.iter_mut() {
        let origin = slot.origin.to_vec();
        let Some(t) = settings.zones.get(&origin) else {
            continue;
        };
        if t.primary.is_some() || (t.allow.is_empty() && t.notify.is_empty()) {
            continue; // secondaries record their own history; others need none
        }
        let old = previous
            .and_then(|p| p.catalog.zone_by_origin(&origin))
            .cloned();
        let Some(old) = old else {
            if !t.notify.is_empty() {
                out.changed.push(changed(slot, &t.notify));
            }
            continue;
        };
        if Arc::ptr_eq(&old, slot) {
            continue; // the new version failed to load; the old one stays
        }
        let lbs_old = &previous.expect("old zone came from it").load_balancers;
        let before = records::collect(&old, lbs_old);
        let mut after = records::collect(slot, &next.load_balancers);
        let same_content = before == after;
        if same_content && slot.serial == old.serial {
            continue;
        }
        if !journal::serial_gt(slot.serial, old.serial) {
            if same_content {
                continue; // only the SOA moved (backwards or sideways): nothing to transfer
            }
            let text = name::to_text(&origin);
            let new_serial = match policy(&origin) {
                SerialPolicy::Keep => {
                    out.refused.push((
                        text.clone(),
                        format!(
                            "zone {text}: content changed but serial {} is not above the serving {}; keeping the previous version (bump the serial, or set serial_policy = \"increment\" or \"unixtime\")",
                            slot.serial, old.serial
                        ),
                    ));
                    *slot = old;
                    continue;
                }
                SerialPolicy::Increment => old.serial.wrapping_add(1),
                SerialPolicy::Unixtime => {
                    let now = super::tsig::now() as u32;
                    if journal::serial_gt(now, old.serial) {
                        now
                    } else {
                        old.serial.wrapping_add(1)
                    }
                }
            };
            match Arc::get_mut(slot) {
                Some(z) => z.set_serial(new_serial),
                None => {
                    // Shared (cannot happen for a freshly loaded zone); keep the old one.
                    *slot = old;
                    continue;
                }
            }
            out.renumbered.push((text, old.serial, new_serial));
            after = records::collect(slot, &next.load_balancers);
        }
        let (removed, added) = journal::diff(&before, &after);
        let change = Change {
            old_soa: records::soa(&old).into_owned(),
            new_soa: records::soa(slot).into_owned(),
            removed,
            added,
        };
        let j = control
            .journal(&origin)
            .map(|j| (*j).clone())
            .unwrap_or_default();
        control.set_journal(&origin, j.with(change));
        if !t.notify.is_empty() {
            out.changed.push(changed(slot, &t.notify));
        }
    }
    next.catalog = Catalog::new(zones);
    out
}

fn changed(zone: &Zone, notify: &[SocketAddr]) -> Changed {
    let soa = records::soa(zone);
    Changed {
        origin: zone.origin.to_vec(),
        serial: zone.serial,
        soa_ttl: soa.ttl,
        soa_rdata: soa.rdata.to_vec(),
        notify: notify.to_vec(),
    }
}
