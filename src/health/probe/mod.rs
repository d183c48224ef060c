//! One probe of an endpoint, classified the way Route 53's checkers do (docs/route53.md
//! §5.1): HTTP(S) healthy on 2xx/3xx within the deadlines, optional search string in the first
//! 5,120 bytes of the body, certificates not validated; TCP healthy when the connection opens.
//!
//! Three ways to probe: [`plain`] speaks HTTP/1.1 by hand for plain-HTTP checks (a fraction of a
//! general client's CPU, and connections that can be kept between probes); [`tls`] shakes
//! hands with rustls and then speaks the same HTTP/1.1 (with Route 53's EnableSNI), timing each
//! phase; [`tcp`] only connects.

mod plain;
mod tcp;
mod tls;

use plain::plain_http;
pub use plain::{KeptConnection, FRESH_EVERY};
pub use tcp::tcp;
use tls::send;
pub use tls::{client, http_with_sni, sni_client, ClientSetupError, HttpsClient};

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::body;
pub use super::body::SEARCH_WINDOW;

/// Route 53: the TCP connection must be up within 4 s...
pub const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// ...and the status line must arrive within 2 s after connecting; for string matching the
/// body gets another 2 s.
pub const HTTP_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
pub const HTTP_BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// Route 53: a TCP check passes when the connection is established within 10 s.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub passed: bool,
    pub reason: Reason,
    /// From the start of the probe to its outcome (response headers, body scan, or failure).
    pub latency: Duration,
    /// When its phases ended, for Route 53's ConnectionTime and TimeToFirstByte.
    pub timing: Timing,
}

/// When a probe's phases ended, measured from its start; `None` where the probe did not get
/// that far (or, for `tls_handshake`, is not HTTPS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// The TCP connection was established.
    pub connected: Option<Duration>,
    /// HTTPS: the TLS handshake completed.
    pub tls_handshake: Option<Duration>,
    /// The first byte of the response arrived.
    pub first_byte: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Passed: the HTTP status, or `None` for a TCP connect.
    Ok(Option<u16>),
    /// The response status did not match.
    Status(u16),
    Timeout,
    Refused,
    StringMissing,
    Tls(String),
    Other(String),
}

impl Reason {
    /// The status text Route 53's `GetHealthCheckStatus` gives for this outcome.
    pub fn route53_status(&self) -> String {
        let phrase = |s: u16| {
            http_phrase(s)
                .map(|p| format!("HTTP Status Code {s}, {p}"))
                .unwrap_or_else(|| format!("HTTP Status Code {s}"))
        };
        match self {
            Reason::Ok(Some(s)) => format!("Success: {}", phrase(*s)),
            Reason::Ok(None) => "Success: TCP connection established".into(),
            Reason::Status(s) => format!("Failure: {}", phrase(*s)),
            Reason::Timeout => "Failure: The health checker could not establish a connection within the timeout limit.".into(),
            Reason::Refused => "Failure: Connection refused. The endpoint or the internet connection is down, or requests are being blocked by your firewall.".into(),
            Reason::StringMissing => "Failure: The search string was not found in the first 5,120 bytes of the response body.".into(),
            Reason::Tls(e) => format!("Failure: TLS handshake failed: {e}"),
            Reason::Other(e) => format!("Failure: {e}"),
        }
    }
}

fn http_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Ok(Some(s)) => write!(f, "ok (HTTP {s})"),
            Reason::Ok(None) => f.write_str("ok (connected)"),
            Reason::Status(s) => write!(f, "HTTP status {s}"),
            Reason::Timeout => f.write_str("timed out"),
            Reason::Refused => f.write_str("connection refused"),
            Reason::StringMissing => f.write_str("search string not in the first 5,120 bytes"),
            Reason::Tls(e) => write!(f, "TLS: {e}"),
            Reason::Other(e) => f.write_str(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// Which statuses count as healthy: inclusive ranges, as ELB target-group matchers write them
/// ("200", "200,302", "200-299", "200-299,302").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMatcher(Vec<(u16, u16)>);

impl Default for StatusMatcher {
    /// Route 53's rule: "200 or greater and less than 400".
    fn default() -> Self {
        StatusMatcher(vec![(200, 399)])
    }
}

impl StatusMatcher {
    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

/// A matcher that is not a list of statuses and ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("bad HTTP status {code:?} in matcher {matcher:?}")]
    Status { code: String, matcher: String },
    #[error("empty range {range:?} in matcher {matcher:?}")]
    EmptyRange { range: String, matcher: String },
}

impl std::str::FromStr for StatusMatcher {
    type Err = MatcherError;

    fn from_str(s: &str) -> Result<Self, MatcherError> {
        let code = |t: &str| -> Result<u16, MatcherError> {
            match t.trim().parse::<u16>() {
                Ok(c) if (100..=599).contains(&c) => Ok(c),
                _ => Err(MatcherError::Status {
                    code: t.to_string(),
                    matcher: s.to_string(),
                }),
            }
        };
        let ranges = s
            .split(',')
            .map(|part| match part.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (code(lo)?, code(hi)?);
                    if lo > hi {
                        return Err(MatcherError::EmptyRange {
                            range: part.to_string(),
                            matcher: s.to_string(),
                        });
                    }
                    Ok((lo, hi))
                }
                None => code(part).map(|c| (c, c)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StatusMatcher(ranges))
    }
}

/// One HTTP(S) check's request.
#[derive(Debug, Clone)]
pub struct HttpSpec {
    pub scheme: Scheme,
    /// An IP address (IPv6 without brackets) or a host name.
    pub host: String,
    pub port: u16,
    /// Resource path, with query string if any; a leading `/` is added when missing.
    pub path: String,
    /// Sent as `Host` when set; see [`route53_host_header`] for Route 53's choice.
    pub host_header: Option<String>,
    pub search: Option<String>,
    pub status: StatusMatcher,
    /// Bounds connecting. The client's own connect timeout (see [`client`]) applies too, so
    /// this can only shorten it.
    pub connect_timeout: Duration,
    /// Bounds the wait for the response headers once connected.
    pub response_timeout: Duration,
    /// Bounds reading the body for the search string.
    pub body_timeout: Duration,
    /// Bounds the whole probe, connect to verdict, on top of the phases' own bounds (ELB's
    /// single timeout); None for Route 53's per-phase timeouts.
    pub total_timeout: Option<Duration>,
    /// HTTPS: the name to send in the TLS ClientHello (Route 53's EnableSNI with the check's
    /// FQDN); None sends none. Only [`http_with_sni`] sends it.
    pub sni: Option<String>,
    /// Plain HTTP: keep the connection for the check's next probe ([`KeptConnection`]) rather
    /// than open one per probe as Route 53 does.
    pub reuse_connection: bool,
}

impl HttpSpec {
    /// A check with Route 53's defaults: path `/`, statuses 2xx/3xx, 4 s + 2 s (+ 2 s body).
    pub fn new(scheme: Scheme, host: impl Into<String>, port: u16) -> Self {
        HttpSpec {
            scheme,
            host: host.into(),
            port,
            path: "/".into(),
            host_header: None,
            search: None,
            status: StatusMatcher::default(),
            connect_timeout: HTTP_CONNECT_TIMEOUT,
            response_timeout: HTTP_RESPONSE_TIMEOUT,
            body_timeout: HTTP_BODY_TIMEOUT,
            total_timeout: None,
            sni: None,
            reuse_connection: false,
        }
    }

    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => self.host.clone(),
        };
        let slash = if self.path.starts_with('/') { "" } else { "/" };
        format!("{scheme}://{host}:{}{slash}{}", self.port, self.path)
    }
}

/// Route 53's `Host` header: the FQDN on the scheme's default port, `FQDN:port` otherwise,
/// and the IP address when there is no FQDN.
pub fn route53_host_header(scheme: Scheme, fqdn: Option<&str>, ip: IpAddr, port: u16) -> String {
    let default_port = match scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    match fqdn {
        Some(f) if port == default_port => f.to_owned(),
        Some(f) => format!("{f}:{port}"),
        None => ip.to_string(),
    }
}

/// Runs one HTTP(S) probe on a fresh connection. Never fails: every error is a classified,
/// unhealthy result.
pub async fn http(client: &HttpsClient, spec: &HttpSpec) -> ProbeResult {
    http_kept(client, spec, &mut KeptConnection::default()).await
}

/// [`http`] for a check whose plain-HTTP connection may outlive the probe: with
/// `spec.reuse_connection`, `kept` holds it from one probe to the next.
pub async fn http_kept(
    client: &HttpsClient,
    spec: &HttpSpec,
    kept: &mut KeptConnection,
) -> ProbeResult {
    if spec.scheme == Scheme::Http {
        // Plain HTTP needs none of a general client's machinery: a hand-written HTTP/1.1
        // exchange costs a fraction of a general client's per-probe CPU (bench/health.sh).
        let (passed, reason, latency, timing) = plain_http(spec, kept).await;
        return ProbeResult {
            passed,
            reason,
            latency,
            timing,
        };
    }
    send(client, spec).await.0
}

/// The search's verdict on the window; a body that does not decompress says so rather than
/// "string missing", unless the string came out before the damage.
fn verdict_on_body(status: u16, window: &[u8], fill: body::Fill, needle: &str) -> (bool, Reason) {
    if contains(window, needle.as_bytes()) {
        (true, Reason::Ok(Some(status)))
    } else if let body::Fill::Corrupt(e) = fill {
        (
            false,
            Reason::Other(format!("compressed body does not decompress: {e}")),
        )
    } else {
        (false, Reason::StringMissing)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests;
