//! Target-group health checks as Elastic Load Balancing runs them, for `[[load_balancer]]`
//! targets: protocol, port, path, interval, timeout, a count of consecutive results for each
//! direction, and a success-code matcher. Each target becomes one probed check whose state
//! feeds the load balancer's target health (`policy::load_balancer`).
//!
//! Defaults are ELB's documented ones (ALB User Guide, "Health checks for your target
//! groups", and the `CreateTargetGroup` API reference): HTTP, the traffic port, path `/`,
//! every 30 s, a 5 s timeout for HTTP/HTTPS (instance and IP targets; 10 s for TCP, the
//! Network Load Balancer's default), healthy after 5 consecutive successes, unhealthy after
//! 2 consecutive failures, and the ALB matcher `200`. ELB allows intervals of 5–300 s; labs
//! may use 1 s here, as with Route 53 checks. ELB does not validate target certificates, so
//! HTTPS target checks do not either.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::{CheckError, HttpSpec, ProbeConfig, ProbeTarget, Scheme, StatusMatcher, TargetCounts};

/// The `health_check = { ... }` table of a target group, as written (ELB's names without
/// their `HealthCheck` prefix).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TargetGroupHealthCheck {
    /// HTTP | HTTPS | TCP.
    pub protocol: Option<String>,
    /// A port number, or "traffic-port": the port each target receives traffic on.
    pub port: Option<PortSetting>,
    pub path: Option<String>,
    pub interval_seconds: Option<u64>,
    pub timeout_seconds: Option<u64>,
    pub healthy_threshold_count: Option<u8>,
    pub unhealthy_threshold_count: Option<u8>,
    /// HTTP codes: "200", "200,302", "200-299".
    pub matcher: Option<String>,
    /// HTTP: keep the connection between checks. Not ELB's way (it closes after each check);
    /// see `probe::KeptConnection`.
    #[serde(default)]
    pub reuse_connection: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PortSetting {
    Number(u16),
    Text(String),
}

/// ELB's defaults, cited in the module comment.
const INTERVAL: u64 = 30;
const TIMEOUT_HTTP: u64 = 5;
const TIMEOUT_TCP: u64 = 10;
const HEALTHY_COUNT: u8 = 5;
const UNHEALTHY_COUNT: u8 = 2;
const MATCHER: &str = "200";

/// A target group's health check, checked and with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupCheck {
    /// None: TCP.
    scheme: Option<Scheme>,
    /// None: the traffic port.
    port: Option<u16>,
    path: String,
    interval: Duration,
    timeout: Duration,
    counts: TargetCounts,
    matcher: StatusMatcher,
    reuse_connection: bool,
}

impl TargetGroupHealthCheck {
    /// Checks the fields; errors name the field to fix.
    pub fn build(&self) -> Result<TargetGroupCheck, CheckError> {
        let protocol = self
            .protocol
            .as_deref()
            .unwrap_or("HTTP")
            .to_ascii_uppercase();
        let scheme = match protocol.as_str() {
            "HTTP" => Some(Scheme::Http),
            "HTTPS" => Some(Scheme::Https),
            "TCP" => None,
            other => return Err(CheckError::Protocol(other.to_string())),
        };
        if self.reuse_connection && scheme != Some(Scheme::Http) {
            return Err(CheckError::TargetReuseNotHttp);
        }
        if scheme.is_none() && (self.path.is_some() || self.matcher.is_some()) {
            return Err(CheckError::TcpPathOrMatcher);
        }
        let port = match &self.port {
            None => None,
            Some(PortSetting::Text(t)) if t == "traffic-port" => None,
            Some(PortSetting::Number(0)) => return Err(CheckError::PortZero),
            Some(PortSetting::Number(n)) => Some(*n),
            Some(PortSetting::Text(t)) => return Err(CheckError::PortText(t.clone())),
        };
        let interval = self.interval_seconds.unwrap_or(INTERVAL);
        if !(1..=300).contains(&interval) {
            return Err(CheckError::Interval(interval));
        }
        let default_timeout = if scheme.is_none() {
            TIMEOUT_TCP
        } else {
            TIMEOUT_HTTP
        };
        // ELB refuses a timeout at or above the interval; with the 1 s lab interval the two
        // may be equal.
        let timeout = self
            .timeout_seconds
            .unwrap_or(default_timeout.min(interval));
        if !(1..=120).contains(&timeout) || timeout > interval {
            return Err(CheckError::Timeout { timeout, interval });
        }
        let count = |v: Option<u8>, default: u8, field: &'static str| match v.unwrap_or(default) {
            n @ 2..=10 => Ok(n),
            n => Err(CheckError::Count { field, value: n }),
        };
        let counts = TargetCounts {
            healthy: count(
                self.healthy_threshold_count,
                HEALTHY_COUNT,
                "healthy_threshold_count",
            )?,
            unhealthy: count(
                self.unhealthy_threshold_count,
                UNHEALTHY_COUNT,
                "unhealthy_threshold_count",
            )?,
        };
        let matcher = self.matcher.as_deref().unwrap_or(MATCHER).parse()?;
        Ok(TargetGroupCheck {
            scheme,
            port,
            path: self.path.clone().unwrap_or_else(|| "/".into()),
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(timeout),
            counts,
            matcher,
            reuse_connection: self.reuse_connection,
        })
    }
}

impl TargetGroupCheck {
    /// The probe of one target at `ip`, which receives traffic on `traffic_port` (the target's
    /// port, else the target group's). Errors when the check's port would be the traffic port
    /// and there is none.
    pub fn probe(&self, ip: IpAddr, traffic_port: Option<u16>) -> Result<ProbeConfig, CheckError> {
        let port = self
            .port
            .or(traffic_port)
            .ok_or(CheckError::NoTrafficPort)?;
        let target = match self.scheme {
            None => ProbeTarget::Tcp(SocketAddr::new(ip, port)),
            Some(scheme) => {
                let mut spec = HttpSpec::new(scheme, ip.to_string(), port);
                spec.path.clone_from(&self.path);
                spec.status = self.matcher.clone();
                // One timeout for the whole exchange: "the amount of time during which no
                // response from a target means a failed health check".
                spec.connect_timeout = self.timeout;
                spec.response_timeout = self.timeout;
                spec.body_timeout = self.timeout;
                spec.total_timeout = Some(self.timeout);
                spec.reuse_connection = self.reuse_connection;
                ProbeTarget::Http(spec)
            }
        };
        Ok(ProbeConfig {
            target,
            interval: self.interval,
            failure_threshold: self.counts.unhealthy,
            inverted: false,
            disabled: false,
            validate_certs: false,
            tcp_timeout: self.timeout,
            target_group: Some(self.counts),
        })
    }
}

/// The health-check id of an ELB target: load balancer, target group, address and port, as
/// ELB identifies a registered target. The `elb:` prefix keeps it apart from configured ids.
pub fn target_check_id(load_balancer: &str, group: &str, ip: IpAddr, port: Option<u16>) -> String {
    let lb = load_balancer.trim_end_matches('.');
    let addr = match (ip, port) {
        (IpAddr::V6(v6), Some(p)) => format!("[{v6}]:{p}"),
        (ip, Some(p)) => format!("{ip}:{p}"),
        (ip, None) => ip.to_string(),
    };
    format!("elb:{lb}/{group}/{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(toml_text: &str) -> Result<TargetGroupCheck, String> {
        let h: TargetGroupHealthCheck = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        h.build().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_elbs() {
        let c = hc("").unwrap();
        assert_eq!(c.scheme, Some(Scheme::Http));
        assert_eq!((c.port, c.path.as_str()), (None, "/"));
        assert_eq!((c.interval.as_secs(), c.timeout.as_secs()), (30, 5));
        assert_eq!((c.counts.healthy, c.counts.unhealthy), (5, 2));
        assert!(c.matcher.matches(200) && !c.matcher.matches(204));
        let tcp = hc("protocol = \"TCP\"").unwrap();
        assert_eq!(tcp.timeout.as_secs(), 10);
    }

    #[test]
    fn the_traffic_port_is_the_targets_port() {
        let c = hc("port = \"traffic-port\"").unwrap();
        let p = c.probe("127.0.0.1".parse().unwrap(), Some(8080)).unwrap();
        let ProbeTarget::Http(spec) = p.target else {
            panic!("HTTP expected")
        };
        assert_eq!(spec.port, 8080);
        assert!(c.probe("127.0.0.1".parse().unwrap(), None).is_err());
        let fixed = hc("port = 9000").unwrap();
        let p = fixed
            .probe("127.0.0.1".parse().unwrap(), Some(8080))
            .unwrap();
        assert!(matches!(p.target, ProbeTarget::Http(s) if s.port == 9000));
    }

    #[test]
    fn reuse_connection_is_off_unless_asked_and_only_for_http() {
        let reuse = |text: &str| {
            let p = hc(text)?
                .probe("127.0.0.1".parse().unwrap(), Some(80))
                .map_err(|e| e.to_string())?;
            match p.target {
                ProbeTarget::Http(spec) => Ok(spec.reuse_connection),
                ProbeTarget::Tcp(_) => Err("TCP".to_string()),
            }
        };
        assert_eq!(reuse(""), Ok(false));
        assert_eq!(reuse("reuse_connection = true"), Ok(true));
        for protocol in ["HTTPS", "TCP"] {
            let e = reuse(&format!(
                "protocol = \"{protocol}\"\nreuse_connection = true"
            ));
            assert!(
                e.is_err_and(|e| e.contains("reuse_connection")),
                "{protocol}"
            );
        }
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        for (text, want) in [
            ("protocol = \"UDP\"", "protocol"),
            ("port = \"web\"", "traffic-port"),
            ("interval_seconds = 0", "interval_seconds"),
            (
                "interval_seconds = 5\ntimeout_seconds = 6",
                "timeout_seconds",
            ),
            ("healthy_threshold_count = 1", "healthy_threshold_count"),
            (
                "unhealthy_threshold_count = 11",
                "unhealthy_threshold_count",
            ),
            ("matcher = \"200-\"", "matcher"),
            ("protocol = \"TCP\"\npath = \"/x\"", "TCP"),
            ("interval = 5", "interval"),
        ] {
            let e = hc(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn target_ids_name_the_load_balancer_group_and_address() {
        let ip: IpAddr = "::1".parse().unwrap();
        assert_eq!(
            target_check_id("lb.example.", "web", ip, Some(80)),
            "elb:lb.example/web/[::1]:80"
        );
    }
}
