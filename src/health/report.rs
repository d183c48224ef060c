//! What the probes found, for people: each probed check's counts, last result and recent
//! history, kept beside the health table (which holds only the verdicts queries read).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use crate::clock;

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
    /// The last result in words: "ok (HTTP 200)", "HTTP status 503", "connection refused".
    pub last_result: Option<String>,
    pub last_latency_ms: Option<u64>,
    /// The last probe's phases (Route 53's ConnectionTime, SSLHandshakeTime and
    /// TimeToFirstByte), each from the probe's start, in milliseconds with microseconds;
    /// absent where not measured.
    pub last_connection_time_ms: Option<f64>,
    pub last_ssl_handshake_time_ms: Option<f64>,
    pub last_time_to_first_byte_ms: Option<f64>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// When the state last changed (RFC 3339 in the JSON).
    #[serde(serialize_with = "clock::serialize_option")]
    pub last_change: Option<u64>,
    /// What was probed: "HTTP 192.0.2.10:80/health", "TCP 192.0.2.10:22".
    pub target: Option<String>,
    /// Recent results, newest last.
    pub history: VecDeque<ProbeRecord>,
    /// The last result in Route 53's words (`GetHealthCheckStatus`).
    pub last_observation: Option<Observation>,
    /// The last failure in Route 53's words (`GetHealthCheckLastFailureReason`).
    pub last_failure: Option<Observation>,
}

/// One past probe, as the status listener lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeRecord {
    /// When it ended (RFC 3339 in the JSON).
    #[serde(serialize_with = "clock::serialize")]
    pub time: u64,
    pub passed: bool,
    /// In words, as `last_result`.
    pub reason: String,
    pub latency_ms: u64,
}

/// One probe's result as Route 53's checkers report it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Observation {
    /// Unix seconds (RFC 3339 in the JSON).
    #[serde(serialize_with = "clock::serialize")]
    pub time: u64,
    /// "Success: HTTP Status Code 200, OK", "Failure: Connection refused", ...
    pub status: String,
}

/// Reports of all probed checks, by id. Written by the probes (a short lock per probe, off the
/// query path), read by the status listener.
#[derive(Debug, Default)]
pub struct Reports(Mutex<BTreeMap<String, CheckReport>>);

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
        target: &super::spec::ProbeTarget,
        check: &super::HealthCheck,
        result: &super::ProbeResult,
        changed: bool,
    ) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = all.entry(id.to_string()).or_default();
        let reason = result.reason.to_string();
        let latency_ms = result.latency.as_millis() as u64;
        r.healthy = check.healthy();
        r.state = state_name(check).to_string();
        r.probes += 1;
        r.passes += result.passed as u64;
        r.last_result = Some(reason.clone());
        r.last_latency_ms = Some(latency_ms);
        let ms = |d: std::time::Duration| d.as_micros() as f64 / 1000.0;
        r.last_connection_time_ms = result.timing.connected.map(ms);
        r.last_ssl_handshake_time_ms = result.timing.tls_handshake.map(ms);
        r.last_time_to_first_byte_ms = result.timing.first_byte.map(ms);
        r.target = Some(target.to_string());
        r.consecutive_successes = check.state().consecutive_successes();
        r.consecutive_failures = check.state().consecutive_failures();
        let t = clock::unix_now();
        if changed {
            r.last_change = Some(t);
        }
        let observation = Observation {
            time: t,
            status: result.reason.route53_status(),
        };
        if !result.passed {
            r.last_failure = Some(observation.clone());
        }
        r.last_observation = Some(observation);
        r.history.push_back(ProbeRecord {
            time: t,
            passed: result.passed,
            reason,
            latency_ms,
        });
        while r.history.len() > HISTORY {
            r.history.pop_front();
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, CheckReport> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
