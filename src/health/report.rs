//! What the probes found, for people: each probed check's counts, last result and recent
//! history, kept beside the health table (which holds only the verdicts queries read).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// The last result in Route 53's words (`GetHealthCheckStatus`).
    pub last_observation: Option<Observation>,
    /// The last failure in Route 53's words (`GetHealthCheckLastFailureReason`).
    pub last_failure: Option<Observation>,
}

/// One probe's result as Route 53's checkers report it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Observation {
    /// Unix seconds.
    pub time: u64,
    /// "Success: HTTP Status Code 200, OK", "Failure: Connection refused", ...
    pub status: String,
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
        let observation = Observation {
            time: t,
            status: result.reason.route53_status(),
        };
        if !result.passed {
            r.last_failure = Some(observation.clone());
        }
        r.last_observation = Some(observation);
        r.history.push_back((t, result.passed, reason));
        while r.history.len() > HISTORY {
            r.history.pop_front();
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, CheckReport> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
