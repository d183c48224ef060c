//! What a reload means for transfers: which serial each zone serves, a history step (for IXFR)
//! and a NOTIFY for each zone whose content changed.
//!
//! The served serial follows these rules, for zones that are transferred (they have an
//! `allow_transfer` or `notify` list; the serial matters to no one else):
//!
//! - The zone file's serial is a floor: a zone never serves less than its source wrote, and a
//!   source serial above the served one is served as written.
//! - A change that comes from the configuration — routing-policy record sets, health-check
//!   states, load balancers, CIDR collections, Route 53 JSON — advances the served serial by
//!   itself (by `serial_policy`: +1, or the Unix time), so secondaries receive it. Route 53
//!   users never manage serials, and neither does an operator who edits a weight.
//! - An edit of the zone file itself that left its serial where it was is served at once, one
//!   serial past the served one, with a warning: BIND, Knot and NSD all serve such an edit by
//!   default, and Knot's journal mode (`zonefile-load: difference`) does exactly this. An edit
//!   that *lowered* the file's serial is refused, the previous version kept, with a message
//!   naming the file and line of the SOA to edit: both BIND's `ixfr-from-differences` and Knot's
//!   journal mode refuse it (a lowered serial is a mistake, often an old copy of the file) —
//!   unless `serial_policy` is `increment` or `unixtime`, which take the file's serial as a
//!   suggestion only (Knot's `zonefile-load: difference-no-serial`).
//! - With a state directory, the served serial and a digest of the content are kept there
//!   (`<zone>.serial`), so a restart serves the serial it served before, and advances it when
//!   the content changed while the server was stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use super::journal::{self, Change};
use super::records;
use super::Control;
use crate::snapshot::Snapshot;
use crate::wire::name;
use crate::zone::{Catalog, Zone};

/// What to do with a zone whose content changed but whose serial did not increase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SerialPolicy {
    /// Changes advance the served serial by one, but a zone-file edit that lowered the file's
    /// serial is refused and the previous version keeps serving.
    #[default]
    Keep,
    /// Previous serial + 1, for every change.
    Increment,
    /// Seconds since 1970, or previous + 1 if that is not newer, for every change.
    Unixtime,
}

impl SerialPolicy {
    pub fn parse(text: &str) -> Result<Self, UnknownSerialPolicy> {
        match text {
            "keep" => Ok(SerialPolicy::Keep),
            "increment" => Ok(SerialPolicy::Increment),
            "unixtime" => Ok(SerialPolicy::Unixtime),
            other => Err(UnknownSerialPolicy(other.to_string())),
        }
    }

    /// The serial after `serial` for a change.
    fn next(self, serial: u32) -> u32 {
        match self {
            SerialPolicy::Keep | SerialPolicy::Increment => serial.wrapping_add(1),
            SerialPolicy::Unixtime => {
                let now = super::tsig::now() as u32;
                if journal::serial_gt(now, serial) {
                    now
                } else {
                    serial.wrapping_add(1)
                }
            }
        }
    }
}

/// A `serial_policy` that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("serial_policy {0:?}: expected \"keep\" (every change advances the serial; a zone file whose serial went down is refused), \"increment\" or \"unixtime\" (every change advances it)")]
pub struct UnknownSerialPolicy(pub String);

/// A zone whose serial moved: its secondaries get a NOTIFY.
#[derive(Debug, Clone)]
pub struct Changed {
    pub origin: Vec<u8>,
    pub serial: u32,
    pub soa_ttl: u32,
    pub soa_rdata: Vec<u8>,
    pub notify: Vec<SocketAddr>,
}

/// A zone whose served serial is not its source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    /// Presentation form.
    pub zone: String,
    pub from: u32,
    pub to: u32,
    /// Why: what changed.
    pub why: &'static str,
}

/// The outcome for the caller to act on and log.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changed: Vec<Changed>,
    /// Zones whose new version was refused, with the reason.
    pub refused: Vec<(String, String)>,
    /// Zone-file edits served without a serial bump in the file: a warning each.
    pub unbumped: Vec<String>,
    pub advanced: Vec<Advanced>,
}

/// Compares each transferred primary zone of `next` with its version in `previous`, decides
/// the serial it serves (module docs), records history, and lists the zones to NOTIFY. A
/// refused zone's previous version is put back into `next`. `policy` gives each zone's serial
/// policy. With no `previous` (start-up), the served serial is restored from the state
/// directory, and every zone with NOTIFY targets is listed, as BIND and Knot notify on start.
pub fn apply(
    control: &Control,
    previous: Option<&Snapshot>,
    next: &mut Snapshot,
    policy: impl Fn(&[u8]) -> SerialPolicy,
) -> Outcome {
    apply_with_steps(control, previous, next, policy, &Steps::new())
}

/// Records removed and added by a change, worked out by whoever made it.
pub type Step = (Vec<records::Rr<'static>>, Vec<records::Rr<'static>>);

/// Steps per zone (lowercase origin).
pub type Steps = std::collections::BTreeMap<Vec<u8>, Step>;

/// As [`apply`], for zones whose change is already known (`steps`): a patched zone serves the
/// serial it was given, and its history step is the one given, so nothing compares the whole
/// zone. Its `.serial` file is left alone: the change store that patched it keeps the serial.
pub fn apply_with_steps(
    control: &Control,
    previous: Option<&Snapshot>,
    next: &mut Snapshot,
    policy: impl Fn(&[u8]) -> SerialPolicy,
    steps: &Steps,
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
        if t.primary.is_some() || (t.allow.is_empty() && t.notify.is_empty()) || slot.servfail {
            continue; // secondaries record their own history; others need none
        }
        let lbs_new = &next.inputs.load_balancers;
        let old = previous.and_then(|p| {
            p.catalog
                .zone_by_origin(&origin)
                .filter(|z| !z.servfail)
                .map(|z| (z.clone(), &p.inputs.load_balancers))
        });
        // Signed elsewhere: its SOA's signature covers the serial, so the file's serial is
        // served whatever happens (policydns can sign again only the zones it signs).
        let presigned = slot.is_signed() && slot.soa_signer.is_none();
        let Some((old, lbs_old)) = old else {
            // Start-up (or the zone is new, or was failing): the serial served before, if known.
            let content = records::collect(slot, lbs_new);
            if presigned {
                save_serial(control, slot, &content);
                if !t.notify.is_empty() {
                    out.changed.push(changed(slot, &t.notify));
                }
                continue;
            }
            if let Some(a) = restore(control, slot, &content, policy(&origin)) {
                out.advanced.push(a);
            }
            if !t.notify.is_empty() {
                out.changed.push(changed(slot, &t.notify));
            }
            continue;
        };
        if Arc::ptr_eq(&old, slot) {
            continue; // the new version failed to load; the old one stays
        }
        if let Some((removed, added)) = steps.get(&origin) {
            let change = Change {
                old_soa: records::soa(&old).into_owned(),
                new_soa: records::soa(slot).into_owned(),
                removed: removed.clone(),
                added: added.clone(),
            };
            let j = control
                .journal(&origin)
                .map(|j| (*j).clone())
                .unwrap_or_default();
            control.set_journal_soon(&origin, j.with(change));
            if !t.notify.is_empty() {
                out.changed.push(changed(slot, &t.notify));
            }
            continue;
        }
        let before = records::collect(&old, lbs_old);
        // The old version's signatures for its transferred renderings exist now: the new
        // version takes over those still good, so an unchanged zone transfers unchanged.
        if let (Some(new), Some(prev)) = (&slot.policy_signer, &old.policy_signer) {
            new.inherit(prev, crate::clock::unix_now() as u32);
        }
        let after = records::collect(slot, lbs_new);
        let content_changed = differs(slot, &before, &after);
        let source_raised = journal::serial_gt(slot.source_serial, old.source_serial);
        let text = name::to_text(&origin);
        let served = if !content_changed {
            if !journal::serial_gt(slot.source_serial, old.serial) {
                // Nothing to transfer: keep serving the serial secondaries have.
                set_serial(slot, old.serial);
                continue;
            }
            slot.source_serial
        } else if journal::serial_gt(slot.source_serial, old.serial) {
            slot.source_serial
        } else if presigned {
            let soa = slot.soa_at.clone().unwrap_or_else(|| text.clone());
            out.unbumped.push(format!(
                "zone {text}: the zone (signed elsewhere) changed but its serial {} did not rise: served as it is, but secondaries will not transfer it; sign it again with a higher serial (the SOA is at {soa})",
                slot.source_serial
            ));
            continue;
        } else {
            let file_edited = records::source_part(&old) != records::source_part(slot);
            let source_lowered = journal::serial_gt(old.source_serial, slot.source_serial);
            let why = if file_edited && source_lowered && policy(&origin) == SerialPolicy::Keep {
                let soa = slot.soa_at.clone().unwrap_or_else(|| text.clone());
                out.refused.push((
                    text.clone(),
                    format!(
                        "zone {text}: the zone file's serial went down from {} to {}; keeping the previous version (serial {}). Set the serial in the SOA at {soa} above {}, or set serial_policy = \"increment\" to have serials managed for you",
                        old.source_serial, slot.source_serial, old.serial, old.source_serial
                    ),
                ));
                *slot = old;
                continue;
            } else if file_edited && !source_raised {
                if policy(&origin) != SerialPolicy::Keep {
                    // The operator asked for serials to be managed: nothing to warn about.
                    "the zone file changed without a serial bump (serial_policy)"
                } else {
                    let soa = slot.soa_at.clone().unwrap_or_else(|| text.clone());
                    out.unbumped.push(format!(
                        "zone {text}: the zone file changed but its serial {} was not raised; serving it as serial {} (the SOA is at {soa})",
                        slot.source_serial,
                        policy(&origin).next(old.serial)
                    ));
                    "the zone file changed without a serial bump"
                }
            } else if file_edited {
                "the zone file changed; its serial is below the one served"
            } else if slot.is_signed() {
                "the zone was signed again"
            } else {
                "the configuration changed"
            };
            let to = policy(&origin).next(old.serial);
            out.advanced.push(Advanced {
                zone: text.clone(),
                from: old.serial,
                to,
                why,
            });
            to
        };
        set_serial(slot, served);
        let after = records::collect(slot, lbs_new);
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
        save_serial(control, slot, &after);
        if !t.notify.is_empty() {
            out.changed.push(changed(slot, &t.notify));
        }
    }
    next.catalog = Catalog::new(zones);
    advance_view_copies(previous, next, &policy, &settings, &mut out);
    out
}

/// A view's own zones have no IXFR history, but their serial still moves when their content
/// does (a view's record set or load balancer changed, the file did not), so that their
/// secondaries transfer them again; those in the zone's `notify` list are told at once.
/// Unchanged content keeps the serial served.
fn advance_view_copies(
    previous: Option<&Snapshot>,
    next: &mut Snapshot,
    policy: &impl Fn(&[u8]) -> SerialPolicy,
    settings: &super::Settings,
    out: &mut Outcome,
) {
    let Some(prev) = previous else { return };
    if next.views.is_empty() {
        return;
    }
    let mut inputs = match Arc::try_unwrap(std::mem::take(&mut next.views)) {
        Ok(views) => views.into_inputs(),
        Err(shared) => shared.inputs(),
    };
    for view in inputs.iter_mut() {
        for slot in view.own.iter_mut() {
            let Some(old) = prev.views.own_zone(&view.name, &slot.origin) else {
                continue;
            };
            if Arc::ptr_eq(old, slot) || slot.servfail || old.servfail {
                continue;
            }
            let before = records::collect(old, &prev.inputs.load_balancers);
            let after = records::collect(slot, &next.inputs.load_balancers);
            let served = if journal::serial_gt(slot.source_serial, old.serial) {
                slot.source_serial
            } else if before == after {
                old.serial
            } else {
                policy(&slot.origin).next(old.serial)
            };
            set_serial(slot, served);
            if served != old.serial {
                let key = (view.name.to_string(), slot.origin.to_vec());
                let notify = settings
                    .view_zones
                    .get(&key)
                    .or_else(|| settings.zones.get(&slot.origin[..]))
                    .map(|t| t.notify.as_slice())
                    .unwrap_or_default();
                if !notify.is_empty() {
                    out.changed.push(changed(slot, notify));
                }
            }
        }
    }
    // Made again: their catalogs were dropped to free the zones.
    next.views = Arc::new(crate::views::Views::new(inputs, &next.catalog));
}

/// Logs what a load meant for transfers and sends the NOTIFYs it calls for.
pub fn act_on(outcome: &Outcome) {
    for (zone, why) in &outcome.refused {
        tracing::error!(zone = %zone, "{why}");
    }
    for warning in &outcome.unbumped {
        tracing::warn!("{warning}");
    }
    for a in &outcome.advanced {
        tracing::info!(zone = %a.zone, "serial {} → {}: {}", a.from, a.to, a.why);
    }
    for c in &outcome.changed {
        tracing::info!(zone = %name::to_text(&c.origin), serial = c.serial, targets = c.notify.len(), "sending NOTIFY");
        super::notify::send_all(
            c.origin.clone(),
            c.serial,
            (c.soa_ttl, c.soa_rdata.clone()),
            &c.notify,
            None,
        );
    }
}

/// Sets a freshly loaded zone's served serial (nobody else holds it yet).
fn set_serial(slot: &mut Arc<Zone>, serial: u32) {
    if slot.serial == serial {
        return;
    }
    match Arc::get_mut(slot) {
        Some(z) => z.set_serial(serial),
        None => {
            tracing::error!(zone = %slot.origin_text(), "cannot set the serial of a shared zone")
        }
    }
}

/// Whether a zone's content changed. For a zone this server signs, the SOA's signatures are
/// left out: they follow the serial, which is decided after this comparison, so a reload
/// that kept every other signature is no change at all.
fn differs(zone: &Zone, before: &[records::Rr<'_>], after: &[records::Rr<'_>]) -> bool {
    if zone.soa_signer.is_none() {
        return before != after;
    }
    let soa = crate::wire::types::SOA.to_be_bytes();
    let keep = |r: &&records::Rr<'_>| {
        !(r.rtype == crate::wire::types::RRSIG && r.rdata.get(..2) == Some(&soa[..]))
    };
    !before.iter().filter(keep).eq(after.iter().filter(keep))
}

/// `<state>/<zone>.serial`: the served serial and the content digest, one line.
fn serial_file(control: &Control, origin: &[u8]) -> Option<std::path::PathBuf> {
    let dir = control.settings.load().state_dir.clone()?;
    Some(super::secondary::state_path(&dir, origin, "serial"))
}

/// At start-up: serve the serial served before the stop when the content is the same, one
/// past it when the content changed meanwhile, or the source's when that is higher.
fn restore(
    control: &Control,
    slot: &mut Arc<Zone>,
    content: &[records::Rr<'_>],
    policy: SerialPolicy,
) -> Option<Advanced> {
    let path = serial_file(control, &slot.origin)?;
    let digest = records::content_digest(content);
    let saved = std::fs::read_to_string(&path).ok().and_then(|t| {
        let mut it = t.split_whitespace();
        Some((
            it.next()?.parse::<u32>().ok()?,
            it.next()?.parse::<u64>().ok()?,
        ))
    });
    let mut advanced = None;
    if let Some((serial, was)) = saved {
        if journal::serial_gt(serial, slot.source_serial) || serial == slot.source_serial {
            let to = if was == digest {
                serial
            } else {
                policy.next(serial)
            };
            // Never below what the zone already serves (dynamic updates laid over its file).
            let to = if journal::serial_gt(slot.serial, to) {
                slot.serial
            } else {
                to
            };
            if to != slot.source_serial {
                advanced = Some(Advanced {
                    zone: slot.origin_text(),
                    from: slot.source_serial,
                    to,
                    why: if was == digest {
                        "the serial served before the restart"
                    } else {
                        "the content changed while the server was stopped"
                    },
                });
            }
            set_serial(slot, to);
        }
    }
    save_serial(control, slot, content);
    advanced
}

/// Records the served serial and the content's digest in the state directory.
fn save_serial(control: &Control, zone: &Zone, content: &[records::Rr<'_>]) {
    let Some(path) = serial_file(control, &zone.origin) else {
        return;
    };
    let text = format!("{} {}\n", zone.serial, records::content_digest(content));
    if let Err(e) = crate::durable::write(&path, text.as_bytes()) {
        tracing::warn!(file = %path.display(), "could not save the served serial: {e}");
    }
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
