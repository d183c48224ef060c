//! A health check as configured — TOML `[[health_check]]`, Route 53's `HealthCheckConfig` or
//! an ELB target group's check — checked and turned into what runs: a probe, a calculated
//! check, or a state set by hand.

use std::net::SocketAddr;
use std::time::Duration;

use super::probe::{self, HttpSpec, Scheme};

/// What is wrong with a configured check; each names the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("a CALCULATED check needs child health checks")]
    NoChildren,
    #[error("failure threshold {0} is outside 1..10")]
    FailureThreshold(u8),
    #[error("request interval must be at least 1 second")]
    ZeroInterval,
    #[error("type {0:?} is not HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP or CALCULATED")]
    Type(String),
    #[error("reuse_connection is for HTTP and HTTP_STR_MATCH checks only")]
    ReuseNotHttp,
    #[error("a TCP check needs an IP address")]
    TcpWithoutAddress,
    #[error("a TCP check needs a port")]
    TcpWithoutPort,
    #[error("needs an IP address or a fully qualified domain name")]
    NoHost,
    #[error("{0} needs a search string")]
    NoSearchString(String),
    #[error("protocol {0:?} is not HTTP, HTTPS or TCP")]
    Protocol(String),
    #[error("reuse_connection is for HTTP health checks only")]
    TargetReuseNotHttp,
    #[error("a TCP health check has no path or matcher")]
    TcpPathOrMatcher,
    #[error("port 0 is not a port")]
    PortZero,
    #[error("port {0:?} is not a number or \"traffic-port\"")]
    PortText(String),
    #[error("interval_seconds {0} is outside 1..300 (ELB: 5..300; 1 for labs)")]
    Interval(u64),
    #[error(
        "timeout_seconds {timeout} must be 1..120 and no more than interval_seconds ({interval})"
    )]
    Timeout { timeout: u64, interval: u64 },
    #[error("{field} {value} is outside 2..10")]
    Count { field: &'static str, value: u8 },
    #[error(transparent)]
    Matcher(#[from] super::probe::MatcherError),
    #[error("the health check uses the traffic port, and neither the target nor its target group has a port")]
    NoTrafficPort,
}

/// What one check probes, as configured.
#[derive(Debug, Clone)]
pub enum ProbeTarget {
    Http(HttpSpec),
    Tcp(SocketAddr),
}

/// What is probed, in the words a log line uses: `HTTP 192.0.2.10:80/health`, `TCP 192.0.2.10:22`.
impl std::fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeTarget::Http(h) => {
                let scheme = match h.scheme {
                    super::probe::Scheme::Http => "HTTP",
                    super::probe::Scheme::Https => "HTTPS",
                };
                let slash = if h.path.starts_with('/') { "" } else { "/" };
                let (host, port, path) = (&h.host, h.port, &h.path);
                if host.contains(':') {
                    write!(f, "{scheme} [{host}]:{port}{slash}{path}")
                } else {
                    write!(f, "{scheme} {host}:{port}{slash}{path}")
                }
            }
            ProbeTarget::Tcp(a) => write!(f, "TCP {a}"),
        }
    }
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
pub enum CheckKind {
    /// No probe: the state comes from the configuration.
    Static,
    /// Boxed: a probe's settings dwarf the other variants.
    Probe(Box<ProbeConfig>),
    Calculated(Calculated),
}

impl CheckSpec {
    /// Checks the fields and builds the check; errors say which field to fix.
    pub fn build(&self) -> Result<CheckKind, CheckError> {
        let Some(kind) = &self.kind else {
            return Ok(CheckKind::Static);
        };
        let kind = kind.to_ascii_uppercase();
        if kind == "CALCULATED" {
            if self.children.is_empty() {
                return Err(CheckError::NoChildren);
            }
            return Ok(CheckKind::Calculated(Calculated {
                children: self.children.clone(),
                threshold: self.health_threshold,
                inverted: self.inverted,
                disabled: self.disabled,
            }));
        }
        if !(1..=10).contains(&self.failure_threshold) {
            return Err(CheckError::FailureThreshold(self.failure_threshold));
        }
        if self.request_interval == 0 {
            return Err(CheckError::ZeroInterval);
        }
        let (scheme, string_match) = match kind.as_str() {
            "HTTP" => (Some(Scheme::Http), false),
            "HTTPS" => (Some(Scheme::Https), false),
            "HTTP_STR_MATCH" => (Some(Scheme::Http), true),
            "HTTPS_STR_MATCH" => (Some(Scheme::Https), true),
            "TCP" => (None, false),
            other => return Err(CheckError::Type(other.to_string())),
        };
        if self.reuse_connection && scheme != Some(Scheme::Http) {
            return Err(CheckError::ReuseNotHttp);
        }
        let target = match scheme {
            None => {
                let ip = self.ip_address.ok_or(CheckError::TcpWithoutAddress)?;
                ProbeTarget::Tcp(SocketAddr::new(
                    ip,
                    self.port.ok_or(CheckError::TcpWithoutPort)?,
                ))
            }
            Some(scheme) => {
                let host = match (&self.ip_address, &self.fqdn) {
                    (Some(ip), _) => ip.to_string(),
                    (None, Some(fqdn)) => fqdn.trim_end_matches('.').to_string(),
                    (None, None) => return Err(CheckError::NoHost),
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
                            .ok_or_else(|| CheckError::NoSearchString(kind.clone()))?,
                    );
                }
                ProbeTarget::Http(spec)
            }
        };
        Ok(CheckKind::Probe(Box::new(ProbeConfig {
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
