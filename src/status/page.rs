//! The status page at `/`: one self-contained HTML document (no script, no external asset)
//! that a person reads in a browser and that refreshes itself. Zones with their load problems;
//! each routing-policy record set with every member's health, whether it is in the answer and
//! why not in plain words, and its share of the answers since the previous view; the health
//! checks with their recent probes drawn as a timeline; load balancers; recent transitions.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::answer::explain::{kind, rule_text};
// XML's escaping is HTML's too (`&apos;` included, HTML5).
use crate::api::xml::esc;
use crate::clock;
use crate::health::report::CheckReport;
use crate::policy::{FailoverRole, Rule};
use crate::snapshot::{Snapshot, ZoneState};
use crate::wire::{name, types};
use crate::zone::{Group, MemberAnswer, Zone, NONE};

/// Seconds between the page's own refreshes.
const REFRESH_SECS: u32 = 5;

/// Each member's answer count at the previous view, so the page shows the share of answers
/// since then (the current split) beside the totals.
#[derive(Debug, Default)]
pub struct Views(Mutex<HashMap<String, u64>>);

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#176117}.bad{color:#a31515;font-weight:600}.dim{color:#777}
.tl{display:inline-block;width:.7em;height:1.1em;margin-right:1px}.tl.p{background:#3a3}.tl.f{background:#d33}
.bar{display:inline-block;height:.8em;background:#58a}code{font-size:.95em}";

/// The whole page.
pub fn render(snap: &Snapshot, reports: &BTreeMap<String, CheckReport>, views: &Views) -> String {
    let now = clock::unix_now();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
         <title>policydns status</title><style>{STYLE}</style></head><body>\n\
         <h1>policydns status</h1>\n<p class=\"dim\">{} — refreshes every {REFRESH_SECS} s. \
         Also: <a href=\"/metrics\">/metrics</a>, <a href=\"/zones\">/zones</a>, \
         <a href=\"/health-checks\">/health-checks</a></p>\n",
        clock::rfc3339(now as i64)
    );
    zones(&mut h, snap);
    record_sets(&mut h, snap, reports, views);
    health_checks(&mut h, snap, reports);
    load_balancers(&mut h, snap);
    transitions(&mut h, snap, reports);
    h.push_str("</body></html>\n");
    h
}

fn zones(h: &mut String, snap: &Snapshot) {
    h.push_str("<h2 id=\"zones\">Zones</h2>\n<table><tr><th>zone</th><th>state</th><th>serial</th><th>records</th><th>load problems</th></tr>\n");
    for r in snap.zone_reports.iter() {
        let zone = super::reported_zone(snap, r).filter(|z| !z.servfail);
        let (state, class) = match (zone, r.state) {
            (None, _) => ("SERVFAIL", "bad"),
            (Some(_), ZoneState::Previous) => ("serving the previous version", "bad"),
            (Some(_), s) => (s.as_str(), "ok"),
        };
        let problems: Vec<String> = r.problems.iter().map(|p| esc(p).into_owned()).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{state}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&match &r.view {
                Some(v) => format!("{} (view {v})", name::to_text(&r.origin)),
                None => name::to_text(&r.origin),
            }),
            zone.map_or(String::new(), |z| z.serial.to_string()),
            zone.map_or(String::new(), |z| z.record_count.to_string()),
            if problems.is_empty() {
                "none".to_string()
            } else {
                format!("<code>{}</code>", problems.join("<br>"))
            }
        );
    }
    h.push_str("</table>\n");
}

/// A member's health: its check's id and state, or none.
struct MemberHealth<'a> {
    check: Option<&'a str>,
    healthy: bool,
}

fn member_health<'a>(snap: &'a Snapshot, group: &Group, i: usize) -> MemberHealth<'a> {
    let health = &snap.inputs.health;
    match group.health.get(i).copied().flatten() {
        Some(idx) => MemberHealth {
            check: health.ids.get(idx as usize).map(String::as_str),
            healthy: health.healthy(idx),
        },
        None => MemberHealth {
            check: None,
            healthy: true,
        },
    }
}

/// "health check web-1 unhealthy since 14:02:11 — HTTP 503 from HTTP 127.0.0.1:80/health".
fn unhealthy_words(id: &str, report: Option<&CheckReport>) -> String {
    let mut s = format!("health check {id} unhealthy");
    if let Some(r) = report {
        if let Some(t) = r.last_change {
            let _ = write!(s, " since {}", clock::rfc3339(t as i64));
        }
        if let Some(last) = &r.last_result {
            let _ = write!(s, " — {last}");
            if let Some(target) = &r.target {
                let _ = write!(s, " from {target}");
            }
        }
    }
    s
}

/// Whether member `i` is in the answer, and why not, in words.
fn member_status(
    snap: &Snapshot,
    group: &Group,
    i: usize,
    reports: &BTreeMap<String, CheckReport>,
) -> (bool, String) {
    let me = member_health(snap, group, i);
    if !me.healthy {
        let id = me.check.unwrap_or("?");
        return (
            false,
            format!("excluded: {}", unhealthy_words(id, reports.get(id))),
        );
    }
    let healthy = |j: usize| member_health(snap, group, j).healthy;
    match group.rules[i] {
        Rule::Weighted(0) => {
            let others = (0..group.rules.len())
                .any(|j| matches!(group.rules[j], Rule::Weighted(w) if w > 0) && healthy(j));
            if others {
                (
                    false,
                    "excluded: weight 0 (answers only when no member with a weight is healthy)"
                        .into(),
                )
            } else {
                (
                    true,
                    "in the answer: no member with a weight is healthy".into(),
                )
            }
        }
        Rule::Weighted(w) => {
            let total: u32 = (0..group.rules.len())
                .filter(|&j| healthy(j))
                .map(|j| match group.rules[j] {
                    Rule::Weighted(w) => u32::from(w),
                    _ => 0,
                })
                .sum();
            let chance = if total == 0 {
                0.0
            } else {
                100.0 * f64::from(w) / f64::from(total)
            };
            (true, format!("in the answer, chance {chance:.1}%"))
        }
        Rule::Failover(FailoverRole::Secondary) => {
            let primary = (0..group.rules.len())
                .find(|&j| matches!(group.rules[j], Rule::Failover(FailoverRole::Primary)));
            match primary {
                Some(p) if healthy(p) => (
                    false,
                    format!("standby: the primary ({}) is healthy", group.ids[p]),
                ),
                Some(p) => (
                    true,
                    format!("in the answer: the primary ({}) is unhealthy", group.ids[p]),
                ),
                None => (true, "in the answer: there is no primary".into()),
            }
        }
        Rule::Failover(FailoverRole::Primary) => (true, "in the answer".into()),
        Rule::Geolocation(_) | Rule::Latency(_) | Rule::Geoproximity { .. } | Rule::IpBased(_) => (
            true,
            format!(
                "in the answer for the clients it matches ({})",
                rule_text(&group.rules[i])
            ),
        ),
        Rule::Multivalue => (true, "in the answer (up to 8 healthy members)".into()),
        Rule::Simple => (true, "in the answer".into()),
    }
}

fn target_text(
    snap: &Snapshot,
    zone: &Zone,
    answer: &MemberAnswer,
    group: &Group,
    i: usize,
) -> String {
    match answer {
        MemberAnswer::Records => zone
            .rdatas(&group.sets[i])
            .map(|rd| crate::answer::explain::rdata_text(group.rtype, rd))
            .collect::<Vec<_>>()
            .join(", "),
        MemberAnswer::Alias { node, .. } => {
            format!("alias to {}", name::to_text(zone.name(zone.node(*node))))
        }
        MemberAnswer::LoadBalancer(lb) => snap
            .inputs
            .load_balancers
            .get(lb.index as usize)
            .map_or("alias to a load balancer".into(), |l| {
                format!("alias to {}", name::to_text(&l.name))
            }),
    }
}

fn record_sets(
    h: &mut String,
    snap: &Snapshot,
    reports: &BTreeMap<String, CheckReport>,
    views: &Views,
) {
    h.push_str("<h2 id=\"record-sets\">Routing-policy record sets</h2>\n");
    let mut last = views.0.lock().unwrap_or_else(|e| e.into_inner());
    let mut any = false;
    for (view, zone) in super::all_zones(snap) {
        for group in zone.groups.iter().filter(|g| g.owner != NONE) {
            any = true;
            let mut owner = name::to_text(zone.name(zone.node(group.owner)));
            if !view.is_empty() {
                owner = format!("{owner} (view {view})");
            }
            let rtype = types::mnemonic(group.rtype);
            let counts: Vec<u64> = group.answered.iter().map(|c| c.get(0)).collect();
            let keys: Vec<String> = group
                .ids
                .iter()
                .map(|id| format!("{owner}\0{rtype}\0{id}"))
                .collect();
            let recent: Vec<u64> = counts
                .iter()
                .zip(&keys)
                .map(|(c, k)| c.saturating_sub(last.get(k).copied().unwrap_or(0)))
                .collect();
            let recent_total: u64 = recent.iter().sum();
            let total: u64 = counts.iter().sum();
            let _ = writeln!(
                h,
                "<h3>{} {rtype} <span class=\"dim\">({}, {total} answers)</span></h3>\n<table><tr><th>member</th><th>rule</th><th>answers with</th><th>health</th><th>in the answer?</th><th>share since the last view</th><th>answers</th></tr>",
                esc(&owner),
                kind(group)
            );
            for i in 0..group.ids.len() {
                let health = member_health(snap, group, i);
                let (serving, why) = member_status(snap, group, i, reports);
                let health_cell = match health.check {
                    None => "<span class=\"dim\">no check</span>".to_string(),
                    Some(id) if health.healthy => {
                        format!("<span class=\"ok\">{} healthy</span>", esc(id))
                    }
                    Some(id) => format!("<span class=\"bad\">{} unhealthy</span>", esc(id)),
                };
                let share = if recent_total == 0 {
                    "—".to_string()
                } else {
                    let pct = 100.0 * recent[i] as f64 / recent_total as f64;
                    format!(
                        "<span class=\"bar\" style=\"width:{:.0}px\"></span> {pct:.1}%",
                        pct * 1.5
                    )
                };
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{health_cell}</td><td class=\"{}\">{}</td><td>{share}</td><td>{}</td></tr>",
                    esc(&group.ids[i]),
                    esc(&rule_text(&group.rules[i])),
                    esc(&target_text(snap, zone, &group.answers[i], group, i)),
                    if serving { "ok" } else { "bad" },
                    esc(&why),
                    counts[i]
                );
            }
            h.push_str("</table>\n");
            for (k, c) in keys.into_iter().zip(counts) {
                last.insert(k, c);
            }
        }
    }
    if !any {
        h.push_str("<p class=\"dim\">No routing-policy record sets.</p>\n");
    }
}

fn health_checks(h: &mut String, snap: &Snapshot, reports: &BTreeMap<String, CheckReport>) {
    h.push_str("<h2 id=\"health-checks\">Health checks</h2>\n<table><tr><th>check</th><th>state</th><th>probes</th><th>last result</th><th>since</th><th>recent probes (oldest first)</th></tr>\n");
    for (id, healthy) in snap.inputs.health.statuses() {
        let r = reports.get(&id);
        let state = r.map_or(if healthy { "healthy" } else { "unhealthy" }, |r| {
            r.state.as_str()
        });
        let class = if healthy { "ok" } else { "bad" };
        let timeline: String = r
            .map(|r| {
                r.history
                    .iter()
                    .map(|p| {
                        format!(
                            "<span class=\"tl {}\" title=\"{} {} ({} ms)\"></span>",
                            if p.passed { "p" } else { "f" },
                            clock::rfc3339(p.time as i64),
                            esc(&p.reason),
                            p.latency_ms
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&id),
            esc(state),
            r.and_then(|r| r.target.as_deref()).map_or(
                "<span class=\"dim\">not probed (configured state or calculated)</span>".to_string(),
                |t| esc(t).into_owned()
            ),
            r.and_then(|r| r.last_result.as_deref()).map_or(String::new(), |s| esc(s).into_owned()),
            r.and_then(|r| r.last_change)
                .map_or(String::new(), |t| clock::rfc3339(t as i64)),
            timeline
        );
    }
    h.push_str("</table>\n");
}

fn load_balancers(h: &mut String, snap: &Snapshot) {
    let lbs = &snap.inputs.load_balancers;
    if lbs.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"load-balancers\">Load balancers</h2>\n<table><tr><th>name</th><th>availability zone</th><th>addresses</th><th>targets healthy</th></tr>\n");
    let health = &snap.inputs.health;
    for lb in lbs {
        for (z, az) in lb.zones.iter().enumerate() {
            let targets: Vec<_> = lb.targets.iter().filter(|t| t.zone == z).collect();
            let up = targets
                .iter()
                .filter(|t| t.health.is_none_or(|i| health.healthy(i)))
                .count();
            let addrs: Vec<String> = az
                .ipv4
                .iter()
                .map(ToString::to_string)
                .chain(az.ipv6.iter().map(ToString::to_string))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"{}\">{up} of {}</td></tr>",
                esc(&name::to_text(&lb.name)),
                esc(&az.name),
                addrs.join(", "),
                if up > 0 { "ok" } else { "bad" },
                targets.len()
            );
        }
    }
    h.push_str("</table>\n");
}

/// The routing-policy members whose health is check `id`: "fo.example.test. A member primary
/// (PRIMARY)".
fn members_of(snap: &Snapshot, id: &str) -> Vec<String> {
    let Some(idx) = snap.inputs.health.index(id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (view, zone) in super::all_zones(snap) {
        let in_view = if view.is_empty() {
            String::new()
        } else {
            format!(" (view {view})")
        };
        for group in zone.groups.iter().filter(|g| g.owner != NONE) {
            for (i, h) in group.health.iter().enumerate() {
                if *h == Some(idx) {
                    out.push(format!(
                        "{}{in_view} {} member {} ({})",
                        name::to_text(zone.name(zone.node(group.owner))),
                        types::mnemonic(group.rtype),
                        group.ids[i],
                        rule_text(&group.rules[i])
                    ));
                }
            }
        }
    }
    out
}

/// The latest state change of each probed check, newest first, with the record-set members
/// it moves in or out of the answers (a failover's flip, a weighted member's exit).
fn transitions(h: &mut String, snap: &Snapshot, reports: &BTreeMap<String, CheckReport>) {
    let mut changes: Vec<(u64, &str, &CheckReport)> = reports
        .iter()
        .filter_map(|(id, r)| Some((r.last_change?, id.as_str(), r)))
        .collect();
    if changes.is_empty() {
        return;
    }
    changes.sort_by(|a, b| b.0.cmp(&a.0));
    h.push_str("<h2 id=\"transitions\">Recent health transitions</h2>\n<ul>\n");
    for (t, id, r) in changes.iter().take(20) {
        let members = members_of(snap, id);
        let effect = if members.is_empty() {
            String::new()
        } else {
            format!(
                "; {} the answers: {}",
                if r.healthy { "back in" } else { "out of" },
                esc(&members.join(", "))
            )
        };
        let _ = writeln!(
            h,
            "<li>{} — health check {} became <span class=\"{}\">{}</span>{}{effect}</li>",
            clock::rfc3339(*t as i64),
            esc(id),
            if r.healthy { "ok" } else { "bad" },
            esc(&r.state),
            r.last_result
                .as_deref()
                .map_or(String::new(), |l| format!(": {}", esc(l)))
        );
    }
    h.push_str("</ul>\n");
}
