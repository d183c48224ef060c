//! Zones: where each zone's data comes from, its transfer settings (who may transfer it, whom
//! to NOTIFY, its primary when it is a secondary), the TSIG keys those name, and the policy a
//! primary sent with a secondary zone.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::file::{File, Fragment, Located, OneOrMany, TsigKeySection, ZoneSection};
use super::{Base, Overrides};
use crate::transfer::tsig::KeyRing;
use crate::wire::name;
use crate::zone::RrsetOrder;

/// A zone to serve: its apex and where its data comes from — a master file, Route 53 JSON
/// (record-set exports and change batches, applied in order), or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    /// Lowercase wire form.
    pub origin: Vec<u8>,
    pub file: Option<PathBuf>,
    /// Route 53 JSON files (`crate::route53`), read on every load like the zone file.
    pub route53: Vec<PathBuf>,
    pub transfer: crate::transfer::ZoneTransfer,
    pub serial_policy: crate::transfer::reload::SerialPolicy,
    /// How RRsets of several records are ordered in answers; `None`: the default (random for
    /// a zone with Route 53 JSON, fixed otherwise).
    pub rrset_order: Option<RrsetOrder>,
    /// Who may change it by dynamic update (RFC 2136); empty: nobody.
    pub allow_update: Vec<crate::transfer::Acl>,
    /// The `[[view]]` it is served in; `None`: shared by every view.
    pub view: Option<String>,
    /// Signed when loaded, with the keys in `<state_dir>/dnssec/<zone>/` (docs/dnssec.md).
    pub dnssec: bool,
    /// Signed with NSEC3 (RFC 9276's parameters) rather than NSEC.
    pub nsec3: bool,
    /// Automatic ZSK rollover for a zone with a KSK and a ZSK (`None`: by command only).
    pub zsk_roll: Option<crate::dnssec::keyring::ZskRoll>,
}

impl ZoneSpec {
    /// The order its RRsets are answered in: as configured, else Route 53's random order for a
    /// zone with Route 53 JSON and the stored order (NSD's and Knot's) for zone files.
    pub fn rrset_order(&self) -> RrsetOrder {
        self.rrset_order.unwrap_or(if self.route53.is_empty() {
            RrsetOrder::Fixed
        } else {
            RrsetOrder::Random
        })
    }
}

/// The zones of the file's `[[zone]]` tables and of the command line (`--zone`, `--route53`,
/// `--secondary`), with the transfer flags applied to them.
pub(super) fn specs(
    sections: Vec<Located<ZoneSection>>,
    base: &Base<'_>,
    cli: &Overrides,
    views: &[super::ViewSpec],
    errors: &mut Vec<String>,
) -> Vec<ZoneSpec> {
    let mut zones: Vec<ZoneSpec> = Vec::new();
    let relative = |p: PathBuf| base.join(p);
    for Located { at, item: z } in sections {
        let route53: Vec<PathBuf> = match z.route53 {
            None => Vec::new(),
            Some(OneOrMany::One(p)) => vec![relative(p)],
            Some(OneOrMany::Many(ps)) => ps.into_iter().map(relative).collect(),
        };
        let primary = z
            .primary
            .as_deref()
            .map(|p| parse_primary(p, z.primary_key.clone()));
        if z.file.is_none() && route53.is_empty() && primary.is_none() {
            errors.push(format!(
                "{at}: zone {}: give its data as file = \"ZONEFILE\" and/or route53 = \"RECORDS.json\", or make it a secondary with primary = \"ADDR:PORT\"",
                z.origin
            ));
            continue;
        }
        if primary.is_some() && (z.file.is_some() || !route53.is_empty()) {
            errors.push(format!("{at}: zone {}: a secondary zone (primary = ...) takes its data from the primary, not from file or route53", z.origin));
            continue;
        }
        if z.primary.is_none() && z.primary_key.is_some() {
            errors.push(format!(
                "{at}: zone {}: primary_key without primary",
                z.origin
            ));
        }
        let mut transfer = transfer_lists(
            &z.allow_transfer,
            &z.notify,
            &format!("{at}: zone {}", z.origin),
            errors,
        );
        match primary {
            Some(Ok(p)) => transfer.primary = Some(p),
            Some(Err(e)) => errors.push(format!("{at}: zone {}: {e}", z.origin)),
            None => {}
        }
        let serial_policy = match z
            .serial_policy
            .as_deref()
            .map(crate::transfer::reload::SerialPolicy::parse)
        {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                errors.push(format!("{at}: zone {}: {e}", z.origin));
                Default::default()
            }
            None => Default::default(),
        };
        let rrset_order = match z.rrset_order.as_deref() {
            None => None,
            Some("fixed") => Some(RrsetOrder::Fixed),
            Some("random") => Some(RrsetOrder::Random),
            Some(other) => {
                errors.push(format!(
                    "{at}: zone {}: rrset_order {other:?} is not \"fixed\" or \"random\"",
                    z.origin
                ));
                None
            }
        };
        let allow_update = transfer_lists(
            &z.allow_update,
            &[],
            &format!("{at}: zone {} allow_update", z.origin),
            errors,
        )
        .allow;
        if !allow_update.is_empty() && z.primary.is_some() {
            errors.push(format!("{at}: zone {}: a secondary zone takes its data from its primary; send dynamic updates there (allow_update is for zones served from files)", z.origin));
        }
        if let Some(v) = &z.view {
            if !views.iter().any(|x| &x.name == v) {
                errors.push(format!(
                    "{at}: zone {}: view {v:?} is not a [[view]] ({})",
                    z.origin,
                    super::views::defined(views)
                ));
            }
            if z.primary.is_some() {
                errors.push(format!("{at}: zone {}: a secondary zone cannot be in a view yet (view {v}); serve it shared, or load the view's copy from a file", z.origin));
            }
            if !z.allow_update.is_empty() {
                errors.push(format!("{at}: zone {}: dynamic update of a zone in a view is not supported yet (view {v}); remove allow_update or the view", z.origin));
            }
        }
        let dnssec = z.dnssec.unwrap_or(false);
        let nsec3 = z.nsec3.unwrap_or(false);
        let period = |what: &str, v: &Option<String>, errors: &mut Vec<String>| {
            v.as_deref()
                .and_then(|t| match crate::zone::lex::parse_period(t) {
                    Ok(s) => Some(u64::from(s)),
                    Err(_) => {
                        errors.push(format!(
                            "{at}: zone {}: {what} {t:?} is not a period like \"90d\" or \"36h\"",
                            z.origin
                        ));
                        None
                    }
                })
        };
        let lifetime = period("zsk_lifetime", &z.zsk_lifetime, errors);
        let overlap = period("zsk_overlap", &z.zsk_overlap, errors);
        if (z.zsk_lifetime.is_some() || z.zsk_overlap.is_some()) && !dnssec {
            errors.push(format!(
                "{at}: zone {}: zsk_lifetime and zsk_overlap need dnssec = true",
                z.origin
            ));
        }
        let zsk_roll = lifetime.map(|lifetime| crate::dnssec::keyring::ZskRoll {
            lifetime,
            overlap: overlap.unwrap_or(2 * 86_400),
        });
        if nsec3 && !dnssec {
            errors.push(format!(
                "{at}: zone {}: nsec3 = true needs dnssec = true",
                z.origin
            ));
        }
        add_zone(
            &mut zones,
            &z.origin,
            z.view.as_deref(),
            z.file.map(relative),
            route53,
            errors,
        );
        if let Some(last) = zones.iter_mut().find(|x| {
            x.view == z.view
                && name::to_text(&x.origin)
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case(z.origin.trim_end_matches('.'))
        }) {
            last.transfer.allow.extend(transfer.allow);
            last.transfer.notify.extend(transfer.notify);
            last.transfer.primary = last.transfer.primary.take().or(transfer.primary);
            last.serial_policy = serial_policy;
            last.rrset_order = rrset_order.or(last.rrset_order);
            last.allow_update.extend(allow_update);
            last.dnssec |= dnssec;
            last.nsec3 |= nsec3;
            last.zsk_roll = zsk_roll.or(last.zsk_roll);
        }
    }
    for spec in &cli.zones {
        match spec.split_once('=') {
            Some((o, f)) if !o.is_empty() && !f.is_empty() => add_zone(
                &mut zones,
                o,
                None,
                Some(PathBuf::from(f)),
                Vec::new(),
                errors,
            ),
            _ => errors.push(format!(
                "--zone {spec:?}: expected ORIGIN=FILE, e.g. example.test.=zones/example.test.zone"
            )),
        }
    }
    for spec in &cli.route53 {
        match spec.split_once('=') {
            Some((o, f)) if !o.is_empty() && !f.is_empty() => add_zone(&mut zones, o, None, None, vec![PathBuf::from(f)], errors),
            _ => errors.push(format!("--route53 {spec:?}: expected ORIGIN=FILE, e.g. route53.test.=zones/route53/example.json")),
        }
    }
    for spec in &cli.secondaries {
        let parsed = spec.split_once('=').and_then(|(o, rest)| {
            let (addr, key) = match rest.split_once('@') {
                Some((a, k)) => (a, Some(k.to_string())),
                None => (rest, None),
            };
            (!o.is_empty()).then(|| (o, parse_primary(addr, key)))
        });
        match parsed {
            Some((o, Ok(p))) => {
                add_zone(&mut zones, o, None, None, Vec::new(), errors);
                let text = if o.ends_with('.') { o.to_string() } else { format!("{o}.") };
                if let Some(z) = name::from_text(&text, None).ok().and_then(|w| {
                    let w = name::to_lowercase(&w);
                    zones.iter_mut().find(|z| z.origin == w && z.view.is_none())
                }) {
                    if z.file.is_some() || !z.route53.is_empty() {
                        errors.push(format!("--secondary {spec}: zone {text} also has local data (--zone/--route53)"));
                    }
                    z.transfer.primary = Some(p);
                }
            }
            Some((_, Err(e))) => errors.push(format!("--secondary {spec:?}: {e}")),
            None => errors.push(format!("--secondary {spec:?}: expected ORIGIN=ADDR:PORT or ORIGIN=ADDR:PORT@KEYNAME, e.g. example.test.=127.0.0.1:53")),
        }
    }
    for a in &cli.allow_transfer {
        match crate::transfer::Acl::parse(a) {
            Ok(acl) => zones
                .iter_mut()
                .for_each(|z| z.transfer.allow.push(acl.clone())),
            Err(e) => errors.push(format!("--{e}")),
        }
    }
    for n in &cli.notify {
        match n.parse::<SocketAddr>() {
            Ok(addr) => zones
                .iter_mut()
                .filter(|z| z.transfer.primary.is_none())
                .for_each(|z| z.transfer.notify.push(addr)),
            Err(_) => errors.push(format!(
                "--notify {n:?}: expected ADDR:PORT, e.g. 127.0.0.1:5300"
            )),
        }
    }
    for origin in &cli.sign {
        let text = if origin.ends_with('.') {
            origin.clone()
        } else {
            format!("{origin}.")
        };
        let wire = name::from_text(&text, None).map(|w| name::to_lowercase(&w));
        let found = wire.ok().and_then(|w| {
            zones
                .iter_mut()
                .filter(|z| z.origin == w)
                .map(|z| z.dnssec = true)
                .count()
                .checked_sub(1)
        });
        if found.is_none() {
            errors.push(format!(
                "--sign {origin:?}: no zone of that name (give it with --zone or a [[zone]] table)"
            ));
        }
    }
    for z in zones.iter().filter(|z| z.dnssec) {
        let why = if z.transfer.primary.is_some() {
            Some("a secondary zone is served as its primary signed it")
        } else {
            None
        };
        if let Some(why) = why {
            errors.push(format!("zone {}: dnssec: {why}", name::to_text(&z.origin)));
        }
    }
    zones
}

/// Merges into `file` the routing policy each secondary zone's primary sent (saved in the state
/// directory beside the zone), and returns the Route 53 health-check JSON that came with it,
/// as (where it was read, text).
pub(super) fn merge_fragments(
    file: &mut File,
    zones: &[ZoneSpec],
    state_dir: &Option<PathBuf>,
    errors: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut fragment_checks: Vec<(String, String)> = Vec::new();
    if let Some(dir) = &state_dir {
        for z in zones.iter().filter(|z| z.transfer.primary.is_some()) {
            let path = crate::transfer::secondary::policy_file(dir, &z.origin);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            match toml::from_str::<Fragment>(&text) {
                Ok(f) => {
                    let at = path.display().to_string();
                    file.record_set.extend(located(f.record_set, &at));
                    file.health_check.extend(located(f.health_check, &at));
                    file.cidr_collection.extend(located(f.cidr_collection, &at));
                    file.load_balancer.extend(located(f.load_balancer, &at));
                    if let Some(json) = f.route53_health_checks {
                        fragment_checks.push((path.display().to_string(), json));
                    }
                }
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
    }
    fragment_checks
}

/// The TSIG keys of the file and the command line; every key a zone names must be one of them.
pub(super) fn tsig_keys(
    sections: Vec<Located<TsigKeySection>>,
    cli: &Overrides,
    zones: &[ZoneSpec],
    errors: &mut Vec<String>,
) -> KeyRing {
    let mut tsig_keys = crate::transfer::tsig::KeyRing::default();
    for Located { at, item: k } in sections {
        match crate::transfer::tsig::Key::new(&k.name, &k.algorithm, &k.secret) {
            Ok(key) => tsig_keys.insert(key),
            Err(e) => errors.push(format!("{at}: tsig_key: {e}")),
        }
    }
    for k in &cli.tsig_keys {
        match crate::transfer::tsig::Key::parse_spec(k) {
            Ok(key) => tsig_keys.insert(key),
            Err(e) => errors.push(format!("--tsig-key: {e}")),
        }
    }
    for z in zones {
        let zt = name::to_text(&z.origin);
        for a in &z.transfer.allow {
            if let crate::transfer::Acl::Key(k) = a {
                if tsig_keys.get(k).is_none() {
                    errors.push(format!("zone {zt}: allow-transfer names key {} which is not defined (add --tsig-key NAME:hmac-sha256:SECRET or a [[tsig_key]] table)", name::to_text(k)));
                }
            }
        }
        if let Some(k) = z.transfer.primary.as_ref().and_then(|p| p.key.as_ref()) {
            if tsig_keys.by_text(k).is_none() {
                errors.push(format!("zone {zt}: primary key {k:?} is not defined (add --tsig-key {k}:hmac-sha256:SECRET or a [[tsig_key]] table)"));
            }
        }
    }
    tsig_keys
}

/// `ADDR:PORT` of a primary, with an optional key name.
fn parse_primary(addr: &str, key: Option<String>) -> Result<crate::transfer::Primary, BadPrimary> {
    let addr = addr
        .parse::<SocketAddr>()
        .map_err(|_| BadPrimary(addr.to_string()))?;
    Ok(crate::transfer::Primary { addr, key })
}

/// A primary that is not an address and port.
#[derive(Debug, thiserror::Error)]
#[error("primary {0:?} is not ADDR:PORT (IPv6 as [::1]:53)")]
struct BadPrimary(String);

/// Adds a zone, or data to a zone of the same origin in the same view: one zone file per
/// zone, any number of Route 53 JSON files.
fn add_zone(
    zones: &mut Vec<ZoneSpec>,
    origin: &str,
    view: Option<&str>,
    file: Option<PathBuf>,
    route53: Vec<PathBuf>,
    errors: &mut Vec<String>,
) {
    let text = if origin.ends_with('.') {
        origin.to_string()
    } else {
        format!("{origin}.")
    };
    let o = match name::from_text(&text, None) {
        Ok(o) => name::to_lowercase(&o),
        Err(e) => return errors.push(format!("zone origin {origin:?}: {e}")),
    };
    match zones
        .iter_mut()
        .find(|z| z.origin == o && z.view.as_deref() == view)
    {
        None => zones.push(ZoneSpec {
            origin: o,
            file,
            route53,
            transfer: Default::default(),
            serial_policy: Default::default(),
            rrset_order: None,
            allow_update: Vec::new(),
            view: view.map(str::to_string),
            dnssec: false,
            nsec3: false,
            zsk_roll: None,
        }),
        Some(z) => {
            if file.is_some() && z.file.is_some() {
                let in_view = view.map(|v| format!(" in view {v}")).unwrap_or_default();
                errors.push(format!("zone {text}{in_view} is configured twice"));
                return;
            }
            z.file = z.file.take().or(file);
            z.route53.extend(route53);
        }
    }
}

/// Items read from the file at `at`, each marked with it.
fn located<'a, T: 'a>(items: Vec<T>, at: &'a str) -> impl Iterator<Item = Located<T>> + 'a {
    items.into_iter().map(move |item| Located {
        at: at.to_string(),
        item,
    })
}

/// `allow_transfer` and `notify` lists (of a `[[zone]]` or of `[api]`), each problem prefixed
/// with `what`.
pub(super) fn transfer_lists(
    allow: &[String],
    notify: &[String],
    what: &str,
    errors: &mut Vec<String>,
) -> crate::transfer::ZoneTransfer {
    let mut transfer = crate::transfer::ZoneTransfer::default();
    for a in allow {
        match crate::transfer::Acl::parse(a) {
            Ok(acl) => transfer.allow.push(acl),
            Err(e) => errors.push(format!("{what}: {e}")),
        }
    }
    for n in notify {
        match n.parse::<SocketAddr>() {
            Ok(a) => transfer.notify.push(a),
            Err(_) => errors.push(format!(
                "{what}: notify {n:?} is not ADDR:PORT (IPv6 as [::1]:53)"
            )),
        }
    }
    transfer
}
