//! What the health checks know, for people: an HTTP listener (off by default, loopback when
//! on) serving every check's state and recent history as JSON (`/health-checks`) and the same as
//! Prometheus metrics (`/metrics`). It runs beside the DNS server and never touches its path.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How many past results each check keeps.
const HISTORY: usize = 20;

/// One probed check as the status API shows it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    pub healthy: bool,
    /// "healthy" or "unhealthy"; an ELB target may also be "initial" (no verdict yet, not
    /// routed to).
    pub state: String,
    pub probes: u64,
    pub passes: u64,
    pub last_result: Option<String>,
    pub last_latency_ms: Option<u64>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// Seconds since the Unix epoch of the last state change.
    pub last_change: Option<u64>,
    /// Recent results, newest last: (time, passed, reason).
    pub history: VecDeque<(u64, bool, String)>,
}

/// Reports of all probed checks, by id. Written by the probes (a short lock per probe, off the
/// query path), read by the status listener.
#[derive(Debug, Default)]
pub struct Reports(Mutex<BTreeMap<String, CheckReport>>);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the status API calls the check's state.
fn state_name(check: &super::HealthCheck) -> &'static str {
    if check.state().is_target() {
        check.state().target_state().as_str()
    } else if check.healthy() {
        "healthy"
    } else {
        "unhealthy"
    }
}

impl Reports {
    /// Lists a check before its first result (ELB targets show as "initial").
    pub fn register(&self, id: &str, check: &super::HealthCheck) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = all.entry(id.to_string()).or_default();
        r.healthy = check.healthy();
        r.state = state_name(check).to_string();
    }

    /// The state last reported for `id`, if any.
    pub fn state_of(&self, id: &str) -> Option<String> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.get(id).map(|r| r.state.clone())
    }

    pub fn record(
        &self,
        id: &str,
        check: &super::HealthCheck,
        result: &super::ProbeResult,
        changed: bool,
    ) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = all.entry(id.to_string()).or_default();
        let reason = format!("{:?}", result.reason);
        r.healthy = check.healthy();
        r.state = state_name(check).to_string();
        r.probes += 1;
        r.passes += result.passed as u64;
        r.last_result = Some(reason.clone());
        r.last_latency_ms = Some(result.latency.as_millis() as u64);
        r.consecutive_successes = check.state().consecutive_successes();
        r.consecutive_failures = check.state().consecutive_failures();
        let t = now();
        if changed {
            r.last_change = Some(t);
        }
        r.history.push_back((t, result.passed, reason));
        while r.history.len() > HISTORY {
            r.history.pop_front();
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, CheckReport> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Every check's current state (probed, calculated or configured), for the listener.
pub type States = Arc<dyn Fn() -> Vec<(String, bool)> + Send + Sync>;

/// Serves `/health-checks` (JSON) and `/metrics` (Prometheus text) until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, reports: Arc<Reports>, states: States) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let reports = reports.clone();
        let states = states.clone();
        tokio::spawn(async move {
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
                    "try /health-checks or /metrics\n".to_string(),
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
