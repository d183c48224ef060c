//! `[[view]]` tables: who gets which answers (split horizon, as BIND's views and Route 53's
//! private and public hosted zones of the same name).
//!
//! A client is placed by its source address — or, for transfers and updates, the TSIG key it
//! signed with — into the first view whose `match_clients` holds it. Zones and record sets name
//! the view they belong to; those that name none are shared by every view.

use super::file::{Located, ViewSection};
use super::{LoadBalancerConfig, ZoneSpec};
use crate::policy::spec::RecordSetSpec;
use crate::transfer::Acl;
use crate::wire::name;

/// One view as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSpec {
    pub name: String,
    /// In order; the first view holding a client places it.
    pub match_clients: Vec<Acl>,
    /// Internal (private) views are where internal load balancers answer.
    pub internal: bool,
    /// VPCs whose private hosted zones (Route 53 API) it serves, besides a VPC of its name.
    pub vpc_ids: Vec<String>,
}

impl ViewSpec {
    /// Whether a private hosted zone associated with `vpc` is served in this view.
    pub fn serves_vpc(&self, vpc: &str) -> bool {
        self.name == vpc || self.vpc_ids.iter().any(|v| v == vpc)
    }
}

/// The `[[view]]` tables, in the order written.
pub(super) fn views(
    sections: Vec<Located<ViewSection>>,
    errors: &mut Vec<String>,
) -> Vec<ViewSpec> {
    let mut out: Vec<ViewSpec> = Vec::new();
    for Located { at, item: v } in sections {
        if v.name.is_empty()
            || !v
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            errors.push(format!(
                "{at}: view {:?}: a view's name is letters, digits, '-' and '_'",
                v.name
            ));
            continue;
        }
        if out.iter().any(|o| o.name == v.name) {
            errors.push(format!("{at}: view {:?} is defined twice", v.name));
            continue;
        }
        if v.match_clients.is_empty() {
            errors.push(format!(
                "{at}: view {:?}: match_clients is empty, so no client would be placed in it (use [\"any\"] for everyone else)",
                v.name
            ));
        }
        let mut match_clients = Vec::new();
        for m in &v.match_clients {
            if m == "any" {
                match_clients.push(Acl::Net("0.0.0.0/0".parse().expect("CIDR")));
                match_clients.push(Acl::Net("::/0".parse().expect("CIDR")));
                continue;
            }
            match Acl::parse(m) {
                Ok(a) => match_clients.push(a),
                Err(_) => errors.push(format!(
                    "{at}: view {:?}: match_clients {m:?} is not an address, a CIDR block, key:NAME or \"any\"",
                    v.name
                )),
            }
        }
        out.push(ViewSpec {
            name: v.name,
            match_clients,
            internal: v.internal,
            vpc_ids: v.vpc_ids,
        });
    }
    out
}

/// What the other tables say about views: every view named exists, every key a view matches
/// is defined, what a view cannot hold yet is refused, and an alias to an internal load
/// balancer is only served to internal views.
pub(super) fn check(
    views: &[ViewSpec],
    zones: &[ZoneSpec],
    record_sets: &[RecordSetSpec],
    load_balancers: &[LoadBalancerConfig],
    keys: &crate::transfer::tsig::KeyRing,
    errors: &mut Vec<String>,
) {
    let known = |v: &str| views.iter().any(|x| x.name == v);
    let names = || defined(views);
    for v in views {
        for m in &v.match_clients {
            if let Acl::Key(k) = m {
                if keys.get(k).is_none() {
                    errors.push(format!("view {}: match_clients names key {} which is not defined (add a [[tsig_key]] table or --tsig-key NAME:hmac-sha256:SECRET)", v.name, name::to_text(k)));
                }
            }
        }
    }
    for r in record_sets {
        let Some(v) = &r.view else { continue };
        if !known(v) {
            errors.push(format!(
                "{}: {r}: view {v:?} is not a [[view]] ({})",
                r.defined_at,
                names()
            ));
            continue;
        }
        // A shared zone that some view changes is compiled again for that view; the copies
        // only stay alike if the zone changes nowhere else.
        if let Some(z) = holding_zone(zones, r, Some(v)).filter(|z| z.view.is_none()) {
            if z.transfer.primary.is_some() || !z.allow_update.is_empty() {
                errors.push(format!("{}: {r}: view {v} cannot add record sets to zone {}, which is a secondary or takes dynamic updates", r.defined_at, name::to_text(&z.origin)));
            }
        }
    }
    for lb in load_balancers {
        if let Some(v) = &lb.view {
            if !known(v) {
                errors.push(format!(
                    "load_balancer {}: view {v:?} is not a [[view]] ({})",
                    name::to_text(&lb.name),
                    names()
                ));
            }
        }
    }
    for r in record_sets {
        let Some(lb) = r
            .alias
            .as_ref()
            .and_then(|a| target(load_balancers, &a.dns_name))
        else {
            continue;
        };
        let Some(v) = &lb.view else { continue };
        // Served only where the load balancer's view is: the record set's own view, or every
        // view its zone is in.
        let elsewhere = match &r.view {
            Some(rv) => rv != v,
            None => holding_zones(zones, r).any(|z| z.view.as_ref() != Some(v)),
        };
        if elsewhere {
            errors.push(format!(
                "{}: {r}: alias to load balancer {}, which belongs to view {v}, would be answered outside that view; give the record set view = \"{v}\" (or put its zone in that view)",
                r.defined_at,
                name::to_text(&lb.name)
            ));
        }
    }
    for r in record_sets {
        let Some(lb) = r
            .alias
            .as_ref()
            .and_then(|a| internal_target(load_balancers, &a.dns_name))
        else {
            continue;
        };
        // Where the record set is answered: its own view, or every view its zone is in.
        let public = match &r.view {
            Some(v) => views.iter().any(|x| &x.name == v && !x.internal),
            None => holding_zones(zones, r).any(|z| match &z.view {
                Some(v) => views.iter().any(|x| &x.name == v && !x.internal),
                None => true,
            }),
        };
        if public {
            errors.push(format!(
                "{}: {r}: alias to load balancer {} whose scheme is internal would be answered to clients of a public view; put the record set (or its zone) in an internal view (view = \"NAME\" with internal = true), or make the load balancer internet-facing",
                r.defined_at,
                name::to_text(&lb.name)
            ));
        }
    }
}

/// The views there are, for messages about a view that is not one of them.
pub(super) fn defined(views: &[ViewSpec]) -> String {
    if views.is_empty() {
        "none is defined: add a [[view]] table".to_string()
    } else {
        format!(
            "defined: {}",
            views
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The internal load balancer an alias target names (`dualstack.` prefix allowed).
fn internal_target<'a>(
    lbs: &'a [LoadBalancerConfig],
    target: &str,
) -> Option<&'a LoadBalancerConfig> {
    self::target(lbs, target).filter(|l| l.internal)
}

/// The load balancer an alias target names (`dualstack.` prefix allowed).
fn target<'a>(lbs: &'a [LoadBalancerConfig], target: &str) -> Option<&'a LoadBalancerConfig> {
    let t = name::to_lowercase(&name::from_text(target, None).ok()?);
    let t = t.strip_prefix(b"\x09dualstack".as_slice()).unwrap_or(&t);
    lbs.iter().find(|l| l.name == t)
}

/// The most specific zone visible in `view` (shared zones and the view's) that holds `r`.
fn holding_zone<'a>(
    zones: &'a [ZoneSpec],
    r: &RecordSetSpec,
    view: Option<&String>,
) -> Option<&'a ZoneSpec> {
    let owner = name::to_lowercase(&name::from_text(&r.name, None).ok()?);
    zones
        .iter()
        .filter(|z| z.view.is_none() || z.view.as_ref() == view)
        .filter(|z| name::is_subdomain(&owner, &z.origin))
        .max_by_key(|z| (z.origin.len(), z.view.is_some()))
}

/// The zones of every view that hold `r`.
fn holding_zones<'a>(
    zones: &'a [ZoneSpec],
    r: &'a RecordSetSpec,
) -> impl Iterator<Item = &'a ZoneSpec> + 'a {
    let owner = name::from_text(&r.name, None)
        .map(|n| name::to_lowercase(&n))
        .unwrap_or_default();
    zones
        .iter()
        .filter(move |z| !owner.is_empty() && name::is_subdomain(&owner, &z.origin))
}
