//! Health checks, Route 53 style (route53-semantics §5): a per-check state machine that turns
//! probe results into healthy/unhealthy with a failure threshold ([`state`]), and the HTTP(S)
//! and TCP probes that produce those results ([`probe`]).
//!
//! [`HealthTable`] holds every check's state for the answer path; [`spawn`] runs the probed
//! checks and writes their transitions into it.

pub mod body;
pub mod elb;
pub mod probe;
pub mod state;
pub mod status;

pub use probe::{HttpSpec, ProbeResult, Reason, Scheme, StatusMatcher};
pub use state::{calculated, CheckState, HealthCheck, TargetState, Transition};

use std::cmp::Reverse;
use std::collections::BinaryHeap;
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
    /// How long a TCP check may take to connect (Route 53: 10 s; ELB: the group's timeout).
    pub tcp_timeout: std::time::Duration,
    /// An ELB target-group check: a count for each direction, and a new target starts
    /// "initial" (not routed to). None: a Route 53 check (`failure_threshold` both ways).
    pub target_group: Option<TargetCounts>,
}

/// ELB's HealthyThresholdCount and UnhealthyThresholdCount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetCounts {
    pub healthy: u8,
    pub unhealthy: u8,
}

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
    reports: Arc<status::Reports>,
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
    client: Option<reqwest::Client>,
    /// An HTTPS check with EnableSNI: its own client, sending the FQDN.
    sni_client: Option<reqwest::Client>,
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
    shared: Arc<(Arc<HealthTable>, Arc<status::Reports>)>,
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
    shared: Arc<(Arc<HealthTable>, Arc<status::Reports>)>,
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
    reports.record(&e.id, check, &result, transition.is_some() || relabelled);
    if transition.is_none() && relabelled {
        tracing::info!(
            check = %e.id,
            from = before.as_str(),
            to = check.state().target_state().as_str(),
            reason = ?result.reason,
            "health check changed state"
        );
    }
    if let Some(t) = transition {
        table.set(e.index, t.to);
        tracing::info!(
            check = %e.id,
            from = if t.from { "healthy" } else { "unhealthy" },
            to = if t.to { "healthy" } else { "unhealthy" },
            reason = ?result.reason,
            latency_ms = result.latency.as_millis() as u64,
            "health check changed state"
        );
    }
    e
}

/// Starts the probes of `config`'s probed checks, writing into `snapshot`'s health table (the
/// indices are the snapshot's).
pub fn spawn_configured(
    config: &crate::config::Config,
    snapshot: &crate::answer::Snapshot,
    reports: &Arc<status::Reports>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let checks = config
        .probes
        .iter()
        .filter_map(|(id, p)| {
            let index = snapshot.health_ids.iter().position(|x| x == id)?;
            Some((index as u32, id.clone(), p.clone()))
        })
        .collect::<Vec<_>>();
    if !checks.is_empty() {
        tracing::info!(checks = checks.len(), "health checks probing");
    }
    spawn(checks, snapshot.health.clone(), reports.clone())
}

/// The check as it resumes: a Route 53 check from the status the table holds; an ELB target
/// healthy if the table says so, unhealthy if it already left "initial" (the status listener's
/// reports remember that across reloads), else initial.
fn starting_state(
    cfg: &ProbeConfig,
    healthy: bool,
    reports: &status::Reports,
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

/// A health check as configured (TOML `[[health_check]]` or Route 53's `HealthCheckConfig`),
/// before it is checked and turned into what runs.
#[derive(Debug, Clone, Default)]
pub struct CheckSpec {
    /// HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED; none: a configured state.
    pub kind: Option<String>,
    pub ip_address: Option<std::net::IpAddr>,
    pub fqdn: Option<String>,
    pub port: Option<u16>,
    pub resource_path: Option<String>,
    pub search_string: Option<String>,
    pub request_interval: u64,
    pub failure_threshold: u8,
    pub inverted: bool,
    pub disabled: bool,
    pub validate_certs: bool,
    /// HTTPS: send the FQDN as SNI. None takes Route 53's default, true for HTTPS checks
    /// (API reference, HealthCheckConfig.EnableSNI).
    pub enable_sni: Option<bool>,
    /// HTTP and HTTP_STR_MATCH: keep the connection between probes (not Route 53's way; see
    /// [`probe::KeptConnection`]).
    pub reuse_connection: bool,
    pub children: Vec<String>,
    pub health_threshold: usize,
}

/// A calculated check: healthy when at least `threshold` of its children are (§5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calculated {
    pub children: Vec<String>,
    pub threshold: usize,
    pub inverted: bool,
    pub disabled: bool,
}

/// What a [`CheckSpec`] becomes.
#[derive(Debug, Clone)]
pub enum Built {
    /// No probe: the state comes from the configuration.
    Static,
    /// Boxed: a probe's settings dwarf the other variants.
    Probe(Box<ProbeConfig>),
    Calculated(Calculated),
}

impl CheckSpec {
    /// Checks the fields and builds the check; errors say which field to fix.
    pub fn build(&self) -> Result<Built, String> {
        let Some(kind) = &self.kind else {
            return Ok(Built::Static);
        };
        let kind = kind.to_ascii_uppercase();
        if kind == "CALCULATED" {
            if self.children.is_empty() {
                return Err("a CALCULATED check needs child health checks".into());
            }
            return Ok(Built::Calculated(Calculated {
                children: self.children.clone(),
                threshold: self.health_threshold,
                inverted: self.inverted,
                disabled: self.disabled,
            }));
        }
        if !(1..=10).contains(&self.failure_threshold) {
            return Err(format!(
                "failure threshold {} is outside 1..10",
                self.failure_threshold
            ));
        }
        if self.request_interval == 0 {
            return Err("request interval must be at least 1 second".into());
        }
        let (scheme, string_match) = match kind.as_str() {
            "HTTP" => (Some(Scheme::Http), false),
            "HTTPS" => (Some(Scheme::Https), false),
            "HTTP_STR_MATCH" => (Some(Scheme::Http), true),
            "HTTPS_STR_MATCH" => (Some(Scheme::Https), true),
            "TCP" => (None, false),
            other => {
                return Err(format!(
                    "type {other:?} is not HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP or CALCULATED"
                ))
            }
        };
        if self.reuse_connection && scheme != Some(Scheme::Http) {
            return Err("reuse_connection is for HTTP and HTTP_STR_MATCH checks only".into());
        }
        let target = match scheme {
            None => {
                let ip = self.ip_address.ok_or("a TCP check needs an IP address")?;
                ProbeTarget::Tcp(SocketAddr::new(
                    ip,
                    self.port.ok_or("a TCP check needs a port")?,
                ))
            }
            Some(scheme) => {
                let host = match (&self.ip_address, &self.fqdn) {
                    (Some(ip), _) => ip.to_string(),
                    (None, Some(fqdn)) => fqdn.trim_end_matches('.').to_string(),
                    (None, None) => {
                        return Err("needs an IP address or a fully qualified domain name".into())
                    }
                };
                let port = self
                    .port
                    .unwrap_or(if scheme == Scheme::Https { 443 } else { 80 });
                let mut spec = HttpSpec::new(scheme, host, port);
                spec.path = self.resource_path.clone().unwrap_or_else(|| "/".into());
                spec.host_header = self
                    .fqdn
                    .as_ref()
                    .map(|f| f.trim_end_matches('.').to_string());
                if scheme == Scheme::Https && self.enable_sni.unwrap_or(true) {
                    // The FQDN, never the IP address: SNI carries only host names.
                    spec.sni = spec.host_header.clone();
                }
                spec.reuse_connection = self.reuse_connection;
                if string_match {
                    spec.search = Some(
                        self.search_string
                            .clone()
                            .ok_or(format!("{kind} needs a search string"))?,
                    );
                }
                ProbeTarget::Http(spec)
            }
        };
        Ok(Built::Probe(Box::new(ProbeConfig {
            target,
            interval: Duration::from_secs(self.request_interval),
            failure_threshold: self.failure_threshold,
            inverted: self.inverted,
            disabled: self.disabled,
            validate_certs: self.validate_certs,
            tcp_timeout: probe::TCP_TIMEOUT,
            target_group: None,
        })))
    }
}

/// Route 53's `list-health-checks` output (or one `get-health-check`) → (id, spec) pairs.
/// Route 53 does not validate HTTPS certificates, so these checks do not either.
pub fn import_route53(json: &str) -> Result<Vec<(String, CheckSpec)>, String> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc {
        #[serde(default)]
        health_checks: Vec<Check>,
        health_check: Option<Check>,
        #[serde(default)]
        is_truncated: bool,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Check {
        id: String,
        health_check_config: Cfg,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Cfg {
        #[serde(rename = "IPAddress")]
        ip_address: Option<std::net::IpAddr>,
        port: Option<u16>,
        #[serde(rename = "Type")]
        kind: String,
        resource_path: Option<String>,
        fully_qualified_domain_name: Option<String>,
        search_string: Option<String>,
        request_interval: Option<u64>,
        failure_threshold: Option<u8>,
        #[serde(default)]
        inverted: bool,
        #[serde(default)]
        disabled: bool,
        #[serde(default)]
        child_health_checks: Vec<String>,
        health_threshold: Option<usize>,
        #[serde(rename = "EnableSNI")]
        enable_sni: Option<bool>,
    }
    let doc: Doc = serde_json::from_str(json).map_err(|e| format!("line {}: {e}", e.line()))?;
    if doc.is_truncated {
        return Err(
            "IsTruncated is true: export every page of list-health-checks into the file".into(),
        );
    }
    let mut out = Vec::new();
    for c in doc.health_checks.into_iter().chain(doc.health_check) {
        let cfg = c.health_check_config;
        if cfg.kind.eq_ignore_ascii_case("CLOUDWATCH_METRIC")
            || cfg.kind.eq_ignore_ascii_case("RECOVERY_CONTROL")
        {
            return Err(format!(
                "health check {}: type {} needs AWS services policydns cannot reach",
                c.id, cfg.kind
            ));
        }
        out.push((
            c.id,
            CheckSpec {
                kind: Some(cfg.kind),
                ip_address: cfg.ip_address,
                fqdn: cfg.fully_qualified_domain_name,
                port: cfg.port,
                resource_path: cfg.resource_path,
                search_string: cfg.search_string,
                request_interval: cfg.request_interval.unwrap_or(30),
                failure_threshold: cfg.failure_threshold.unwrap_or(3),
                inverted: cfg.inverted,
                disabled: cfg.disabled,
                validate_certs: false,
                enable_sni: cfg.enable_sni,
                // Route 53 opens a connection per check.
                reuse_connection: false,
                children: cfg.child_health_checks,
                health_threshold: cfg.health_threshold.unwrap_or(0),
            },
        ));
    }
    Ok(out)
}
