//! Runs the probed checks: one scheduler keeps every check in a deadline queue and starts a
//! task per due probe, on a thread and runtime of its own; each result goes through the
//! check's threshold state ([`super::state`]) and a transition is published to the health
//! table at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::spec::{ProbeConfig, ProbeTarget};
use super::state::{HealthCheck, TargetState};
use super::view::HealthTable;
use super::{probe, report};

/// Runs every probed check on its interval until the returned tasks are aborted. Each check's
/// first probe waits a random part of its interval, so checks do not fire in lockstep; at most
/// `MAX_CONCURRENT` probes run at once. Transitions are logged with the check, the change and
/// the reason, and published to `table` at once.
///
/// One scheduler task keeps every check in a deadline queue and starts a task per due probe;
/// a check costs no task and no timer while it waits (bench/health.sh: 10,000 checks).
pub fn spawn(
    checks: Vec<(u32, String, ProbeConfig)>,
    table: Arc<HealthTable>,
    reports: Arc<report::Reports>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let verified = probe::client(true, None).ok();
    let unverified = probe::client(false, None).ok();
    let start = tokio::time::Instant::now();
    let mut queue = BinaryHeap::with_capacity(checks.len());
    let mut parked = Vec::with_capacity(checks.len());
    for (index, id, cfg) in checks {
        // Start from the state the table holds (a reload keeps what probes learnt).
        let check = starting_state(&cfg, table.get(index), &reports, &id);
        table.set(index, check.healthy());
        let mut first_within = cfg.interval;
        if cfg.target_group.is_some() {
            reports.register(&id, &check);
            // ELB checks a target as soon as it is registered; a new target is not routed
            // to until it passes, so do not leave it waiting a whole interval.
            if check.state().target_state() == TargetState::Initial {
                first_within = first_within.min(Duration::from_secs(1));
            }
        }
        let client = if cfg.validate_certs {
            verified.clone()
        } else {
            unverified.clone()
        };
        let sni_client = match &cfg.target {
            ProbeTarget::Http(spec) => match spec.sni.as_deref() {
                Some(name) => {
                    let addr = spec
                        .host
                        .parse()
                        .ok()
                        .map(|ip| SocketAddr::new(ip, spec.port));
                    match probe::sni_client(cfg.validate_certs, None, name, addr) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            // Probing without SNI would be a different check; say so and
                            // leave its state as it stands.
                            tracing::error!(check = %id, "health check not started: {e}");
                            continue;
                        }
                    }
                }
                None => None,
            },
            ProbeTarget::Tcp(_) => None,
        };
        // Disabled checks are never probed (Route 53 stops them); their state stands.
        if cfg.disabled || (matches!(cfg.target, ProbeTarget::Http(_)) && client.is_none()) {
            continue;
        }
        let due = start + first_within.mul_f64(jitter_fraction(index));
        queue.push(Reverse((due, parked.len())));
        parked.push(Some(Scheduled {
            slot: parked.len(),
            index,
            id,
            cfg,
            check,
            client,
            sni_client,
            kept: probe::KeptConnection::default(),
            due,
        }));
    }
    let shared = Arc::new((table, reports));
    // The checker runs on a thread and a single-threaded runtime of its own: its thousands of
    // small probe tasks then never wake a second worker thread (futex traffic that cost as
    // much user time as the probes, bench/health.sh), and it cannot delay query traffic on
    // the server's runtime. Aborting the returned task stops that runtime.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("health".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return tracing::error!("health checks not started: runtime: {e}"),
            };
            rt.block_on(async move {
                tokio::select! {
                    _ = schedule(queue, parked, shared) => {}
                    _ = stopped => {}
                }
            });
        });
    if let Err(e) = thread {
        tracing::error!("health checks not started: thread: {e}");
    }
    vec![tokio::spawn(async move {
        // Held until aborted; dropping it ends the checker's runtime.
        let _stop = stop;
        std::future::pending::<()>().await
    })]
}

/// One check between probes (parked in the scheduler) or during one (moved into its task).
struct Scheduled {
    slot: usize,
    index: u32,
    id: String,
    cfg: ProbeConfig,
    check: HealthCheck,
    client: Option<probe::HttpsClient>,
    /// An HTTPS check with EnableSNI: its own client, sending the FQDN.
    sni_client: Option<probe::HttpsClient>,
    /// A plain-HTTP check with `reuse_connection`: its connection between probes. Here rather
    /// than in a shared pool, so a probe reaches it without a lock.
    kept: probe::KeptConnection,
    /// When this probe was due: the next is due one interval later.
    due: tokio::time::Instant,
}

type Queue = BinaryHeap<Reverse<(tokio::time::Instant, usize)>>;

async fn schedule(
    mut queue: Queue,
    mut parked: Vec<Option<Scheduled>>,
    shared: Arc<(Arc<HealthTable>, Arc<report::Reports>)>,
) {
    const MAX_CONCURRENT: usize = 256;
    // Probes due within this much of each other start together: a 10,000-check schedule then
    // wakes the checker ~50 times a second instead of 1,000, and their I/O completes in
    // batches (fewer epoll rounds). Nothing a check sees moves by more than this.
    const SLACK: Duration = Duration::from_millis(100);
    // Dropped with this task (on abort), which aborts the probes in flight too.
    let mut running = tokio::task::JoinSet::new();
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    loop {
        let now = tokio::time::Instant::now();
        while running.len() < MAX_CONCURRENT {
            match queue.peek() {
                Some(Reverse((due, _))) if *due <= now + SLACK => {}
                _ => break,
            }
            let Some(Reverse((_, slot))) = queue.pop() else {
                break;
            };
            if let Some(entry) = parked[slot].take() {
                running.spawn(run_probe(entry, shared.clone()));
            }
        }
        let next = queue.peek().map(|Reverse((due, _))| *due);
        if let Some(due) = next {
            timer.as_mut().reset(due);
        }
        let can_start = next.is_some() && running.len() < MAX_CONCURRENT;
        tokio::select! {
            _ = &mut timer, if can_start => {}
            Some(done) = running.join_next() => match done {
                Ok(mut entry) => {
                    // Fixed rate; a probe that ran late does not cause a burst to catch up.
                    let now = tokio::time::Instant::now();
                    entry.due += entry.cfg.interval;
                    if entry.due < now {
                        entry.due = now + entry.cfg.interval;
                    }
                    queue.push(Reverse((entry.due, entry.slot)));
                    let slot = entry.slot;
                    parked[slot] = Some(entry);
                }
                Err(e) if e.is_cancelled() => {}
                Err(e) => tracing::error!("a health-check probe panicked; its check stops: {e}"),
            },
            else => return,
        }
    }
}

/// Runs one probe of `e` and publishes what it changed.
async fn run_probe(
    mut e: Scheduled,
    shared: Arc<(Arc<HealthTable>, Arc<report::Reports>)>,
) -> Scheduled {
    let (table, reports) = (&shared.0, &shared.1);
    let result = match (&e.cfg.target, &e.client) {
        (ProbeTarget::Http(spec), Some(c)) => match &e.sni_client {
            Some(sni) => probe::http_with_sni(sni, c, spec).await,
            None => probe::http_kept(c, spec, &mut e.kept).await,
        },
        (ProbeTarget::Tcp(addr), _) => probe::tcp(*addr, e.cfg.tcp_timeout).await,
        (ProbeTarget::Http(_), None) => return e,
    };
    let check = &mut e.check;
    let before = check.state().target_state();
    let transition = check.observe(result.passed);
    let relabelled = check.state().target_state() != before;
    reports.record(
        &e.id,
        &e.cfg.target,
        check,
        &result,
        transition.is_some() || relabelled,
    );
    if transition.is_none() && relabelled {
        let to = check.state().target_state().as_str();
        tracing::info!(
            check = %e.id,
            from = before.as_str(),
            to,
            reason = %result.reason,
            "health check {} is {to}: {} from {}",
            e.id,
            result.reason,
            e.cfg.target
        );
    }
    if let Some(t) = transition {
        table.set(e.index, t.to);
        // In words: what happened, where, and the count that decided it.
        let state = check.state();
        let (in_a_row, threshold, what) = if t.to {
            let k = state.consecutive_successes();
            (
                k,
                state.healthy_threshold(),
                if k == 1 { "success" } else { "successes" },
            )
        } else {
            let k = state.consecutive_failures();
            (
                k,
                state.failure_threshold(),
                if k == 1 { "failure" } else { "failures" },
            )
        };
        let to = if t.to { "healthy" } else { "unhealthy" };
        // ELB: a new target needs one pass, not the threshold ("initial" state).
        let count = if before == TargetState::Initial {
            "first pass of a new target".to_string()
        } else {
            format!("{in_a_row} {what} in a row, threshold {threshold}")
        };
        tracing::info!(
            check = %e.id,
            from = if t.from { "healthy" } else { "unhealthy" },
            to,
            reason = %result.reason,
            latency_ms = result.latency.as_millis() as u64,
            "health check {} is {to}: {} from {} ({count})",
            e.id,
            result.reason,
            e.cfg.target
        );
    }
    e
}

/// The check as it resumes: a Route 53 check from the status the table holds; an ELB target
/// healthy if the table says so, unhealthy if it already left "initial" (the status listener's
/// reports remember that across reloads), else initial.
fn starting_state(
    cfg: &ProbeConfig,
    healthy: bool,
    reports: &report::Reports,
    id: &str,
) -> HealthCheck {
    match cfg.target_group {
        None => HealthCheck::resuming(cfg.failure_threshold, cfg.inverted, cfg.disabled, healthy),
        Some(counts) => {
            let start = if healthy {
                TargetState::Healthy
            } else if reports.state_of(id).as_deref() == Some("unhealthy") {
                TargetState::Unhealthy
            } else {
                TargetState::Initial
            };
            HealthCheck::target(counts.unhealthy, counts.healthy, start)
        }
    }
}

/// A fraction in [0, 1) that differs per check, for spreading first probes over the interval.
fn jitter_fraction(index: u32) -> f64 {
    let x = (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 11) as f64 / (1u64 << 53) as f64
}
