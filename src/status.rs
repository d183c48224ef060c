//! The status listener, for people (off by default; loopback when on): every zone with what it
//! serves and what its last load found (`/zones`), every health check's state and recent
//! history (`/health-checks`), and the same as Prometheus metrics (`/metrics`). It reads the
//! current snapshot and the probes' reports, beside the DNS server, never on its path.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::health::report::{CheckReport, Reports};
use crate::snapshot::Snapshot;
use crate::wire::name;

/// Serves `/zones`, `/health-checks` (JSON) and `/metrics` (Prometheus text) from whichever
/// snapshot is current, until the task is aborted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    snapshot: Arc<ArcSwap<Snapshot>>,
    reports: Arc<Reports>,
) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
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
                "/zones" => ("200 OK", "application/json", zones(&snap)),
                "/health-checks" => (
                    "200 OK",
                    "application/json",
                    json(&reports.snapshot(), &states()),
                ),
                "/metrics" => (
                    "200 OK",
                    "text/plain; version=0.0.4",
                    metrics(&reports.snapshot(), &states()),
                ),
                _ => (
                    "404 Not Found",
                    "text/plain",
                    "try /zones, /health-checks or /metrics\n".to_string(),
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

fn metrics(reports: &BTreeMap<String, CheckReport>, states: &[(String, bool)]) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "# HELP policydns_health_check_healthy 1 when the check is healthy.\n# TYPE policydns_health_check_healthy gauge\n",
    );
    for (id, healthy) in states {
        out += &format!(
            "policydns_health_check_healthy{{check=\"{}\"}} {}\n",
            esc(id),
            *healthy as u8
        );
    }
    out += "# HELP policydns_health_check_probes_total Probes run, by result.\n# TYPE policydns_health_check_probes_total counter\n";
    for (id, r) in reports {
        out += &format!(
            "policydns_health_check_probes_total{{check=\"{}\",result=\"pass\"}} {}\n",
            esc(id),
            r.passes
        );
        out += &format!(
            "policydns_health_check_probes_total{{check=\"{}\",result=\"fail\"}} {}\n",
            esc(id),
            r.probes - r.passes
        );
    }
    out += "# HELP policydns_health_check_latency_seconds Duration of the last probe.\n# TYPE policydns_health_check_latency_seconds gauge\n";
    for (id, r) in reports {
        if let Some(ms) = r.last_latency_ms {
            out += &format!(
                "policydns_health_check_latency_seconds{{check=\"{}\"}} {}\n",
                esc(id),
                ms as f64 / 1000.0
            );
        }
    }
    out
}

/// Every configured zone: what it serves and what its last load found.
fn zones(snap: &Snapshot) -> String {
    let zones: Vec<serde_json::Value> = snap
        .zone_reports
        .iter()
        .map(|r| {
            let zone = snap.catalog.zone_by_origin(&r.origin);
            let serving = zone.filter(|z| !z.servfail);
            serde_json::json!({
                "zone": name::to_text(&r.origin),
                "state": if serving.is_none() { "SERVFAIL" } else { r.state.as_str() },
                "serial": serving.map(|z| z.serial),
                "records": serving.map(|z| z.record_count),
                "problems": r.problems,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "zones": zones })).unwrap_or_default() + "\n"
}
