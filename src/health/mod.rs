//! Health checks, Route 53 style (route53-semantics §5): a per-check state machine that turns
//! probe results into healthy/unhealthy with a failure threshold ([`state`]), and the HTTP(S)
//! and TCP probes that produce those results ([`probe`]).
//!
//! [`HealthTable`] holds every check's state for the answer path; [`spawn`] runs the probed
//! checks and writes their transitions into it.

pub mod probe;
pub mod state;

pub use probe::{HttpSpec, ProbeResult, Reason, Scheme, StatusMatcher};
pub use state::{calculated, CheckState, HealthCheck, Transition};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The health of every configured check, read by the answer path per query and written by the
/// probes: one atomic per check, so a transition is visible to the next query with no reload
/// and no lock.
#[derive(Debug, Default)]
pub struct HealthTable {
    states: Box<[AtomicBool]>,
}

impl HealthTable {
    pub fn new(initial: impl IntoIterator<Item = bool>) -> Self {
        HealthTable {
            states: initial.into_iter().map(AtomicBool::new).collect(),
        }
    }

    /// Unknown indices are healthy (a check with no result yet is healthy, §5.2).
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        self.states
            .get(i as usize)
            .is_none_or(|s| s.load(Ordering::Relaxed))
    }

    pub fn set(&self, i: u32, healthy: bool) {
        if let Some(s) = self.states.get(i as usize) {
            s.store(healthy, Ordering::Relaxed);
        }
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// What one check probes, as configured.
#[derive(Debug, Clone)]
pub enum ProbeTarget {
    Http(HttpSpec),
    Tcp(SocketAddr),
}

/// A probed check: what to probe, how often, and how results turn into a state.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub target: ProbeTarget,
    pub interval: Duration,
    pub failure_threshold: u8,
    pub inverted: bool,
    pub disabled: bool,
    /// Route 53 does not validate certificates; checks written in our config do by default.
    pub validate_certs: bool,
}

/// Runs every probed check on its interval until the returned tasks are aborted. Each check's
/// first probe waits a random part of its interval, so checks do not fire in lockstep; at most
/// `MAX_CONCURRENT` probes run at once. Transitions are logged with the check, the change and
/// the reason, and published to `table` at once.
pub fn spawn(
    checks: Vec<(u32, String, ProbeConfig)>,
    table: Arc<HealthTable>,
) -> Vec<tokio::task::JoinHandle<()>> {
    const MAX_CONCURRENT: usize = 256;
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
    let verified = probe::client(true, None).ok();
    let unverified = probe::client(false, None).ok();
    let mut tasks = Vec::new();
    for (index, id, cfg) in checks {
        let table = table.clone();
        let slots = slots.clone();
        let client = if cfg.validate_certs {
            verified.clone()
        } else {
            unverified.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut check = HealthCheck::new(cfg.failure_threshold, cfg.inverted, cfg.disabled);
            // Start from the state the table holds (a reload keeps what probes learnt).
            if !table.get(index) && check.healthy() {
                for _ in 0..cfg.failure_threshold {
                    check.observe(cfg.inverted);
                }
            }
            table.set(index, check.healthy());
            let jitter = cfg.interval.mul_f64(jitter_fraction(index));
            tokio::time::sleep(jitter).await;
            let mut ticker = tokio::time::interval(cfg.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if cfg.disabled {
                    continue;
                }
                let Ok(_permit) = slots.acquire().await else {
                    return;
                };
                let result = match (&cfg.target, &client) {
                    (ProbeTarget::Http(spec), Some(c)) => probe::http(c, spec).await,
                    (ProbeTarget::Tcp(addr), _) => probe::tcp(*addr, Duration::from_secs(10)).await,
                    (ProbeTarget::Http(_), None) => continue,
                };
                if let Some(t) = check.observe(result.passed) {
                    table.set(index, t.to);
                    tracing::info!(
                        check = %id,
                        from = if t.from { "healthy" } else { "unhealthy" },
                        to = if t.to { "healthy" } else { "unhealthy" },
                        reason = ?result.reason,
                        latency_ms = result.latency.as_millis() as u64,
                        "health check changed state"
                    );
                }
            }
        }));
    }
    tasks
}

/// A fraction in [0, 1) that differs per check, for spreading first probes over the interval.
fn jitter_fraction(index: u32) -> f64 {
    let x = (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 11) as f64 / (1u64 << 53) as f64
}
