//! The status listener, for people (off by default; loopback when on): a page to read in a
//! browser (`/`, [`page`]), every zone with what it serves and what its last load found
//! (`/zones`), every health check's state and recent history (`/health-checks`), and the
//! query, policy, zone and health metrics in Prometheus's format (`/metrics`). It reads the
//! current snapshot and the probes' reports, beside the DNS server, never on its path.

mod page;

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::health::report::{CheckReport, Reports};
use crate::metrics::text::{Exposition, Kind};
use crate::snapshot::{Snapshot, ZoneState};
use crate::wire::{name, types};

/// Serves `/zones`, `/health-checks` (JSON) and `/metrics` (Prometheus text) from whichever
/// snapshot is current, until the task is aborted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    snapshot: Arc<ArcSwap<Snapshot>>,
    reports: Arc<Reports>,
) {
    let views = Arc::new(page::Views::default());
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let views = views.clone();
        let reports = reports.clone();
        let snapshot = snapshot.clone();
        tokio::spawn(async move {
            let snap = snapshot.load_full();
            let states = || snap.inputs.health.statuses();
            let mut buf = [0u8; 2048];
            let n =
                match tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
                    .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, kind, body) = match path {
                "/" | "/index.html" => (
                    "200 OK",
                    "text/html; charset=utf-8",
                    page::render(&snap, &reports.snapshot(), &views),
                ),
                "/zones" => ("200 OK", "application/json", zones(&snap)),
                "/health-checks" => (
                    "200 OK",
                    "application/json",
                    json(&reports.snapshot(), &states()),
                ),
                "/metrics" => (
                    "200 OK",
                    "text/plain; version=0.0.4",
                    metrics(&snap, &reports.snapshot(), &states()),
                ),
                _ => (
                    "404 Not Found",
                    "text/plain",
                    "try /, /zones, /health-checks or /metrics\n".to_string(),
                ),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
        });
    }
}

fn json(reports: &BTreeMap<String, CheckReport>, states: &[(String, bool)]) -> String {
    let checks: Vec<serde_json::Value> = states
        .iter()
        .map(|(id, healthy)| {
            let mut v = serde_json::json!({ "id": id, "healthy": healthy, "probed": reports.contains_key(id) });
            if let Some(r) = reports.get(id) {
                v["report"] = serde_json::to_value(r).unwrap_or_default();
            }
            v
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "health_checks": checks }))
        .unwrap_or_default()
        + "\n"
}

/// Everything `/metrics` shows: the queries answered (per zone, and per routing-policy member),
/// each zone's state, and the health checks.
fn metrics(
    snap: &Snapshot,
    reports: &BTreeMap<String, CheckReport>,
    states: &[(String, bool)],
) -> String {
    let mut e = Exposition::default();
    let counted: Vec<(String, &str, &crate::metrics::ZoneCounters)> = all_zones(snap)
        .map(|(view, z)| (z.origin_text(), view, &*z.counters))
        .collect();
    e.queries(&counted, crate::metrics::no_zone());
    e.server(crate::metrics::server());
    e.events(crate::metrics::events());
    if let Some(sink) = crate::dnstap::sink() {
        e.dnstap(sink);
    }
    record_set_answers(&mut e, snap);
    zone_metrics(&mut e, snap);
    health_metrics(&mut e, reports, states);
    health_detail_metrics(&mut e, snap, reports);
    e.finish()
}

/// Every zone served, shared ("" as its view) and each view's own copies.
pub(crate) fn all_zones(snap: &Snapshot) -> impl Iterator<Item = (&str, &crate::zone::Zone)> {
    snap.catalog.zones().iter().map(|z| ("", &**z)).chain(
        snap.views
            .list
            .iter()
            .flat_map(|v| v.own.iter().map(move |z| (&*v.name, &**z))),
    )
}

/// The zone a load report is about: the shared one, or a view's own copy.
pub(crate) fn reported_zone<'a>(
    snap: &'a Snapshot,
    r: &crate::snapshot::ZoneReport,
) -> Option<&'a std::sync::Arc<crate::zone::Zone>> {
    match &r.view {
        None => snap.catalog.zone_by_origin(&r.origin),
        Some(v) => snap.views.own_zone(v, &r.origin),
    }
}

/// Answers each routing-policy member gave: the weighted split, the failover flip and the
/// geolocation spread as they happen.
fn record_set_answers(e: &mut Exposition, snap: &Snapshot) {
    let name = "policydns_record_set_answers_total";
    e.family(
        name,
        Kind::Counter,
        "Answers a routing-policy record set gave with each member (set_identifier).",
    );
    for (view, z) in all_zones(snap) {
        let origin = z.origin_text();
        for g in z.groups.iter().filter(|g| g.owner != crate::zone::NONE) {
            let owner = name::to_text(z.name(z.node(g.owner)));
            let rtype = types::mnemonic(g.rtype);
            for (id, counter) in g.ids.iter().zip(g.answered.iter()) {
                e.sample(
                    name,
                    &[
                        ("zone", &origin),
                        ("view", view),
                        ("name", &owner),
                        ("type", &rtype),
                        ("set_identifier", id),
                    ],
                    counter.get(0),
                );
            }
        }
    }
}

/// Each zone's serial, size and the outcome of its last load.
fn zone_metrics(e: &mut Exposition, snap: &Snapshot) {
    let serving = |r: &crate::snapshot::ZoneReport| reported_zone(snap, r).filter(|z| !z.servfail);
    let labels = |r: &crate::snapshot::ZoneReport| {
        [
            ("zone", name::to_text(&r.origin)),
            ("view", r.view.clone().unwrap_or_default()),
        ]
    };
    e.family(
        "policydns_zone_serial",
        Kind::Gauge,
        "The SOA serial each zone serves.",
    );
    for r in snap.zone_reports.iter() {
        if let Some(z) = serving(r) {
            e.sample(
                "policydns_zone_serial",
                &labels(r).each_ref().map(|(k, v)| (*k, v.as_str())),
                z.serial,
            );
        }
    }
    e.family(
        "policydns_zone_records",
        Kind::Gauge,
        "Records each zone serves.",
    );
    for r in snap.zone_reports.iter() {
        if let Some(z) = serving(r) {
            e.sample(
                "policydns_zone_records",
                &labels(r).each_ref().map(|(k, v)| (*k, v.as_str())),
                z.record_count,
            );
        }
    }
    e.family(
        "policydns_zone_load_ok",
        Kind::Gauge,
        "1 when the zone's last load (or transfer) succeeded; 0 when it failed and the zone serves its previous version or SERVFAIL.",
    );
    for r in snap.zone_reports.iter() {
        let ok =
            matches!(r.state, ZoneState::Loaded | ZoneState::Secondary) && serving(r).is_some();
        e.sample(
            "policydns_zone_load_ok",
            &labels(r).each_ref().map(|(k, v)| (*k, v.as_str())),
            u8::from(ok),
        );
    }
    e.family(
        "policydns_zone_load_problems",
        Kind::Gauge,
        "Problems the zone's last load found (each is on /zones as file:line: message).",
    );
    for r in snap.zone_reports.iter() {
        e.sample(
            "policydns_zone_load_problems",
            &labels(r).each_ref().map(|(k, v)| (*k, v.as_str())),
            r.problems.len(),
        );
    }
}

fn health_metrics(
    e: &mut Exposition,
    reports: &BTreeMap<String, CheckReport>,
    states: &[(String, bool)],
) {
    e.family(
        "policydns_health_check_healthy",
        Kind::Gauge,
        "1 when the check is healthy.",
    );
    for (id, healthy) in states {
        e.sample(
            "policydns_health_check_healthy",
            &[("check", id)],
            u8::from(*healthy),
        );
    }
    e.family(
        "policydns_health_check_probes_total",
        Kind::Counter,
        "Probes run, by result.",
    );
    for (id, r) in reports {
        e.sample(
            "policydns_health_check_probes_total",
            &[("check", id), ("result", "pass")],
            r.passes,
        );
        e.sample(
            "policydns_health_check_probes_total",
            &[("check", id), ("result", "fail")],
            r.probes - r.passes,
        );
    }
    e.family(
        "policydns_health_check_latency_seconds",
        Kind::Gauge,
        "Duration of the last probe.",
    );
    for (id, r) in reports {
        if let Some(ms) = r.last_latency_ms {
            e.sample(
                "policydns_health_check_latency_seconds",
                &[("check", id)],
                ms as f64 / 1000.0,
            );
        }
    }
}

/// What Route 53 puts in CloudWatch beside the status (the share of recent probes that passed,
/// standing in for the share of checkers; a calculated check's healthy children) and ELB's
/// target counts per target group and availability zone.
fn health_detail_metrics(
    e: &mut Exposition,
    snap: &Snapshot,
    reports: &BTreeMap<String, CheckReport>,
) {
    e.family(
        "policydns_health_check_percentage_healthy",
        Kind::Gauge,
        "Share of the check's recent probes (up to 20) that passed, in per cent (Route 53's HealthCheckPercentageHealthy, from one vantage point).",
    );
    for (id, r) in reports {
        if !r.history.is_empty() {
            let passed = r.history.iter().filter(|p| p.passed).count();
            e.sample(
                "policydns_health_check_percentage_healthy",
                &[("check", id)],
                100.0 * passed as f64 / r.history.len() as f64,
            );
        }
    }
    for (name, help, value) in [
        (
            "policydns_health_check_connection_time_seconds",
            "Time the last probe took to connect (Route 53's ConnectionTime).",
            (|r: &CheckReport| r.last_connection_time_ms) as fn(&CheckReport) -> Option<f64>,
        ),
        (
            "policydns_health_check_ssl_handshake_time_seconds",
            "Time from the start of the last HTTPS probe to the end of its TLS handshake (Route 53's SSLHandshakeTime).",
            |r: &CheckReport| r.last_ssl_handshake_time_ms,
        ),
        (
            "policydns_health_check_time_to_first_byte_seconds",
            "Time from the start of the last probe to the first byte of the response (Route 53's TimeToFirstByte).",
            |r: &CheckReport| r.last_time_to_first_byte_ms,
        ),
    ] {
        e.family(name, Kind::Gauge, help);
        for (id, r) in reports {
            if let Some(ms) = value(r) {
                e.sample(name, &[("check", id)], ms / 1000.0);
            }
        }
    }
    let health = &snap.inputs.health;
    e.family(
        "policydns_health_check_child_healthy_count",
        Kind::Gauge,
        "Healthy children of a calculated check (Route 53's ChildHealthCheckHealthyCount).",
    );
    for (i, c) in health.calculated.iter().enumerate() {
        if let (Some(c), Some(id)) = (c, health.ids.get(i)) {
            let healthy = c
                .children
                .iter()
                .filter(|&&ch| health.table.get(ch))
                .count();
            e.sample(
                "policydns_health_check_child_healthy_count",
                &[("check", id)],
                healthy,
            );
        }
    }
    e.family(
        "policydns_load_balancer_targets",
        Kind::Gauge,
        "A load balancer's targets by target group, availability zone and state (ELB's HealthyHostCount and UnHealthyHostCount).",
    );
    for lb in &snap.inputs.load_balancers {
        let lb_name = name::to_text(&lb.name);
        for (g, group) in lb.target_groups.iter().enumerate() {
            for (z, az) in lb.zones.iter().enumerate() {
                let in_cell = || lb.targets.iter().filter(|t| t.group == g && t.zone == z);
                let healthy = in_cell()
                    .filter(|t| t.health.is_none_or(|h| health.healthy(h)))
                    .count();
                let all = in_cell().count();
                for (state, n) in [("healthy", healthy), ("unhealthy", all - healthy)] {
                    e.sample(
                        "policydns_load_balancer_targets",
                        &[
                            ("load_balancer", &lb_name),
                            ("target_group", group),
                            ("availability_zone", &az.name),
                            ("state", state),
                        ],
                        n,
                    );
                }
            }
        }
    }
}

/// Every configured zone: what it serves and what its last load found.
fn zones(snap: &Snapshot) -> String {
    let zones: Vec<serde_json::Value> = snap
        .zone_reports
        .iter()
        .map(|r| {
            let serving = reported_zone(snap, r).filter(|z| !z.servfail);
            serde_json::json!({
                "zone": name::to_text(&r.origin),
                "view": r.view,
                "state": if serving.is_none() { "SERVFAIL" } else { r.state.as_str() },
                "serial": serving.map(|z| z.serial),
                "records": serving.map(|z| z.record_count),
                "problems": r.problems,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "zones": zones })).unwrap_or_default() + "\n"
}
