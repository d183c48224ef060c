//! One probe of an endpoint, classified the way Route 53's checkers do (route53-semantics
//! §5.1): HTTP(S) healthy on 2xx/3xx within the deadlines, optional search string in the first
//! 5,120 bytes of the body, certificates not validated; TCP healthy when the connection opens.

use std::error::Error as _;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::header::HOST;

use super::body;

/// Route 53: the TCP connection must be up within 4 s...
pub const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// ...and the status line must arrive within 2 s after connecting; for string matching the
/// body gets another 2 s.
pub const HTTP_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
pub const HTTP_BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// Route 53: a TCP check passes when the connection is established within 10 s.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// The search string must lie entirely within this many leading bytes of the body.
pub const SEARCH_WINDOW: usize = 5120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub passed: bool,
    pub reason: Reason,
    /// From the start of the probe to its outcome (response headers, body scan, or failure).
    pub latency: Duration,
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

impl std::str::FromStr for StatusMatcher {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let code = |t: &str| -> Result<u16, String> {
            match t.trim().parse::<u16>() {
                Ok(c) if (100..=599).contains(&c) => Ok(c),
                _ => Err(format!("bad HTTP status {t:?} in matcher {s:?}")),
            }
        };
        let ranges = s
            .split(',')
            .map(|part| match part.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (code(lo)?, code(hi)?);
                    if lo > hi {
                        return Err(format!("empty range {part:?} in matcher {s:?}"));
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

/// The client all HTTP probes share (one connection pool, one TLS config).
///
/// Route 53 does not validate certificates, so its checks pass `validate_certs = false`;
/// `extra_ca_pem` adds trusted roots (one or more PEM certificates) for checks that do validate.
/// Redirects are not followed: a 3xx is itself the answer to classify. Idle connections are
/// not kept, so each probe measures a fresh connect as a remote checker would. It never sends
/// SNI, even to a host name: Route 53 sends the FQDN only when EnableSNI says so, and a check
/// that does gets its own client ([`sni_client`]).
pub fn client(
    validate_certs: bool,
    extra_ca_pem: Option<&[u8]>,
) -> reqwest::Result<reqwest::Client> {
    builder(validate_certs, extra_ca_pem)?
        .tls_sni(false)
        .build()
}

/// The client of one HTTPS check that sends `fqdn` as SNI while connecting to `addr` (the
/// check's IP address; None resolves `fqdn`). One client per such check, since a shared
/// client cannot aim one name at different addresses. It fails the handshake when the
/// certificate is not for `fqdn`, validating or not, so that [`http_with_sni`] can retry
/// without SNI as Route 53 does.
pub fn sni_client(
    validate_certs: bool,
    extra_ca_pem: Option<&[u8]>,
    fqdn: &str,
    addr: Option<SocketAddr>,
) -> Result<reqwest::Client, String> {
    let mut b = if validate_certs {
        // Validation checks the name already.
        builder(true, extra_ca_pem).map_err(|e| format!("HTTPS client for {fqdn}: {e}"))?
    } else {
        builder(true, None)
            .map_err(|e| format!("HTTPS client for {fqdn}: {e}"))?
            .use_preconfigured_tls(name_only_tls()?)
    };
    if let Some(addr) = addr {
        b = b.resolve(fqdn, addr);
    }
    b.tls_sni(true)
        .build()
        .map_err(|e| format!("HTTPS client for {fqdn}: {e}"))
}

/// TLS that accepts any certificate (Route 53 does not validate) as long as it names the
/// server: signatures are still checked so that the handshake itself is sound.
fn name_only_tls() -> Result<rustls::ClientConfig, String> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    #[derive(Debug)]
    struct NameOnly(std::sync::Arc<rustls::crypto::CryptoProvider>);
    impl ServerCertVerifier for NameOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&cert, server_name)?;
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.0.signature_verification_algorithms;
            rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.0.signature_verification_algorithms;
            rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(NameOnly(provider)))
            .with_no_client_auth(),
    )
}

fn builder(
    validate_certs: bool,
    extra_ca_pem: Option<&[u8]>,
) -> reqwest::Result<reqwest::ClientBuilder> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        .pool_max_idle_per_host(0)
        .user_agent(concat!(
            "policydns-health-check/",
            env!("CARGO_PKG_VERSION")
        ))
        .danger_accept_invalid_certs(!validate_certs);
    if let Some(pem) = extra_ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem)? {
            b = b.add_root_certificate(cert);
        }
    }
    Ok(b)
}

/// An HTTPS probe with Route 53's EnableSNI: the handshake sends `spec.sni`, and if the
/// certificate is not for that name, the probe starts over without SNI (`client`, which
/// sends none) and that attempt decides. Without `spec.sni` it is [`http`] with `client`.
pub async fn http_with_sni(
    sni_client: &reqwest::Client,
    client: &reqwest::Client,
    spec: &HttpSpec,
) -> ProbeResult {
    let Some(name) = spec.sni.as_deref().filter(|_| spec.scheme == Scheme::Https) else {
        return http(client, spec).await;
    };
    let start = Instant::now();
    let mut named = spec.clone();
    named.host = name.to_owned();
    let (result, mismatch) = send(sni_client, &named, start).await;
    if !mismatch {
        return result;
    }
    let mut retry = http(client, spec).await;
    retry.latency = start.elapsed();
    retry
}

/// Runs one HTTP(S) probe on a fresh connection. Never fails: every error is a classified,
/// unhealthy result.
pub async fn http(client: &reqwest::Client, spec: &HttpSpec) -> ProbeResult {
    http_kept(client, spec, &mut KeptConnection::default()).await
}

/// [`http`] for a check whose plain-HTTP connection may outlive the probe: with
/// `spec.reuse_connection`, `kept` holds it from one probe to the next.
pub async fn http_kept(
    client: &reqwest::Client,
    spec: &HttpSpec,
    kept: &mut KeptConnection,
) -> ProbeResult {
    if spec.scheme == Scheme::Http {
        // Plain HTTP needs none of a general client's machinery: a hand-written HTTP/1.1
        // exchange costs a fraction of reqwest's per-probe CPU (bench/health.sh).
        let (passed, reason, latency) = plain_http(spec, kept).await;
        return ProbeResult {
            passed,
            reason,
            latency,
        };
    }
    send(client, spec, Instant::now()).await.0
}

/// One request through reqwest; also says whether the handshake failed because the
/// certificate is not for the requested name.
async fn send(client: &reqwest::Client, spec: &HttpSpec, start: Instant) -> (ProbeResult, bool) {
    let done = |passed, reason| {
        let r = ProbeResult {
            passed,
            reason,
            latency: start.elapsed(),
        };
        (r, false)
    };
    let mut req = client.get(spec.url());
    if let Some(h) = &spec.host_header {
        req = req.header(HOST, h);
    }
    // reqwest cannot time connect and first byte separately per request, so the headers get
    // one deadline covering both phases; the client's connect timeout bounds the first.
    let mut headers_deadline = spec.connect_timeout + spec.response_timeout;
    if let Some(total) = spec.total_timeout {
        headers_deadline = headers_deadline.min(total);
    }
    let resp = match tokio::time::timeout(headers_deadline, req.send()).await {
        Err(_) => return done(false, Reason::Timeout),
        Ok(Err(e)) => {
            let (r, _) = done(false, classify(&e, spec.scheme));
            return (r, is_name_mismatch(&e));
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    if !spec.status.matches(status) {
        return done(false, Reason::Status(status));
    }
    let Some(needle) = spec.search.as_deref().filter(|s| !s.is_empty()) else {
        return done(true, Reason::Ok(Some(status)));
    };
    let body_deadline = match spec.total_timeout {
        Some(total) => spec.body_timeout.min(total.saturating_sub(start.elapsed())),
        None => spec.body_timeout,
    };
    match tokio::time::timeout(body_deadline, head_of_body(resp)).await {
        Err(_) => done(false, Reason::Timeout),
        Ok(Err(e)) => done(false, classify(&e, spec.scheme)),
        Ok(Ok((window, fill))) => {
            let (passed, reason) = verdict_on_body(status, &window, fill, needle);
            done(passed, reason)
        }
    }
}

/// At most this many probes share one kept connection (`reuse_connection`); the next opens a
/// fresh one. A server that still answers on its open connections but no longer accepts new
/// ones (a full backlog, a listener that died while workers live) fails only on a fresh
/// connection, so with reuse it is noticed up to this many intervals, less one, late.
pub const FRESH_EVERY: u32 = 10;

/// Most response bytes read to reach the end of a response whose connection is to be kept;
/// a longer response closes the connection instead of being downloaded.
const DRAIN_LIMIT: usize = body::RAW_LIMIT;

/// A plain-HTTP check's connection between its probes, when the check has `reuse_connection`.
/// It lives in the check's own scheduled state rather than in a pool: one check, one
/// connection, so nothing is shared and nothing is locked. Idle, it costs a file descriptor
/// and ~3.8 KiB of kernel memory on each side (socket, inode, file, epoll entries; README,
/// "Connection reuse") and the runtime's registration; in the check itself, this struct.
#[derive(Debug, Default)]
pub struct KeptConnection {
    conn: Option<tokio::net::TcpStream>,
    /// Probes answered on `conn` so far, counted to force a fresh connection (FRESH_EVERY).
    served: u32,
}

impl KeptConnection {
    /// Whether a connection is kept for the next probe.
    pub fn is_kept(&self) -> bool {
        self.conn.is_some()
    }

    /// The kept connection if it can carry a request. The server may have closed it while it
    /// sat idle (a keep-alive timeout shorter than the interval) or sent something unasked;
    /// writing into it would only fail. The non-blocking read makes no system call unless the
    /// runtime has seen the socket become readable.
    fn take_live(&mut self) -> Option<tokio::net::TcpStream> {
        let conn = self.conn.take()?;
        let mut byte = [0u8; 1];
        match conn.try_read(&mut byte) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(conn),
            _ => None,
        }
    }

    /// Keeps `conn` (if the attempt left one that can be reused) unless it has served its share.
    fn put(&mut self, conn: Option<tokio::net::TcpStream>, fresh: bool) {
        self.served = if fresh { 1 } else { self.served + 1 };
        self.conn = conn.filter(|_| self.served < FRESH_EVERY);
    }
}

/// One plain-HTTP probe. Without `reuse_connection`, one fresh connection, as Route 53 does.
/// With it, the connection `kept` holds is tried first, and a probe that fails on it for any
/// reason is repeated at once on a fresh connection, which decides: a connection gone stale
/// between probes never fails a check by itself, and every failure is a failure on a fresh
/// connection. The latency is the deciding attempt's.
async fn plain_http(spec: &HttpSpec, kept: &mut KeptConnection) -> (bool, Reason, Duration) {
    if !spec.reuse_connection {
        kept.conn = None;
    } else if let Some(conn) = kept.take_live() {
        let start = Instant::now();
        let (passed, reason, conn) = plain_attempt(spec, Some(conn)).await;
        if passed {
            kept.put(conn, false);
            return (passed, reason, start.elapsed());
        }
    }
    let start = Instant::now();
    let (passed, reason, conn) = plain_attempt(spec, None).await;
    kept.put(conn, true);
    (passed, reason, start.elapsed())
}

/// One exchange by hand: connect (unless given a kept connection), send a GET, read the status
/// line and headers, then (with a search string) at most [`SEARCH_WINDOW`] bytes of the body,
/// de-chunked if needed. Redirects are not followed; the same timeouts as the reqwest path.
/// Returns the connection only when the check reuses connections, the probe passed, and the
/// response was read to its exact end on a connection the server keeps open.
async fn plain_attempt(
    spec: &HttpSpec,
    kept: Option<tokio::net::TcpStream>,
) -> (bool, Reason, Option<tokio::net::TcpStream>) {
    use tokio::time::Instant;
    // One timer for the whole probe, moved on at each phase: a timer costs more than the rest
    // of a loopback probe's user-space work (bench/health.sh), and phases never overlap.
    let start = Instant::now();
    let overall = spec.total_timeout.map(|t| start + t);
    let bound = |d: Instant| overall.map_or(d, |o| d.min(o));
    let timer = tokio::time::sleep_until(bound(
        start + spec.connect_timeout.min(HTTP_CONNECT_TIMEOUT),
    ));
    tokio::pin!(timer);
    let mut conn = match kept {
        Some(c) => c,
        None => {
            let connect = tokio::net::TcpStream::connect((spec.host.as_str(), spec.port));
            let c = tokio::select! {
                biased;
                c = connect => match c {
                    Ok(c) => c,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return (false, Reason::Refused, None),
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => return (false, Reason::Timeout, None),
                    Err(e) => return (false, Reason::Other(e.to_string()), None),
                },
                _ = &mut timer => return (false, Reason::Timeout, None),
            };
            // Close with RST rather than FIN whenever it is closed, as HAProxy's checks do: by
            // then the verdict is known and nothing more is wanted from the server, and an
            // abortive close leaves no TIME_WAIT on either side and saves the FIN/ACK exchange
            // (bench/health.sh). Zero linger never blocks.
            let _ = c.set_zero_linger();
            c
        }
    };
    let (passed, reason, reusable) = plain_exchange(spec, &mut conn, timer, bound).await;
    (passed, reason, reusable.then_some(conn))
}

/// The request and the response on a connected socket; the caller closes or keeps it. The
/// last value says whether the connection may carry the next probe.
async fn plain_exchange(
    spec: &HttpSpec,
    conn: &mut tokio::net::TcpStream,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
    bound: impl Fn(tokio::time::Instant) -> tokio::time::Instant,
) -> (bool, Reason, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;
    let host = match &spec.host_header {
        Some(h) => h.clone(),
        None if spec.host.contains(':') && spec.port == 80 => format!("[{}]", spec.host),
        None if spec.host.contains(':') => format!("[{}]:{}", spec.host, spec.port),
        None if spec.port == 80 => spec.host.clone(),
        None => format!("{}:{}", spec.host, spec.port),
    };
    let path = if spec.path.starts_with('/') {
        spec.path.clone()
    } else {
        format!("/{}", spec.path)
    };
    let connection = if spec.reuse_connection {
        "keep-alive"
    } else {
        "close"
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nuser-agent: policydns-health-check/{}\r\naccept: */*\r\nconnection: {connection}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    timer
        .as_mut()
        .reset(bound(Instant::now() + spec.response_timeout));
    let exchange = async {
        conn.write_all(request.as_bytes()).await?;
        // Status line and headers, at most 16 KiB (Route 53's limit on response headers).
        // Buffers on the heap, not in the future: every check's task holds this future's size
        // while it sleeps between probes.
        let mut buf = Vec::with_capacity(2048);
        let mut chunk = vec![0u8; 2048];
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if buf.len() > 16 * 1024 {
                return Err(io::Error::other("response headers over 16 KiB"));
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::other(
                    "connection closed before the response headers ended",
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        Ok::<_, io::Error>((buf, end))
    };
    let (buf, end) = tokio::select! {
        biased;
        r = exchange => match r {
            Ok(x) => x,
            Err(e) => return (false, Reason::Other(e.to_string()), false),
        },
        _ = &mut timer => return (false, Reason::Timeout, false),
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status: u16 = match head.split_whitespace().nth(1).and_then(|c| c.parse().ok()) {
        Some(s) if head.starts_with("HTTP/") => s,
        _ => return (false, Reason::Other("not an HTTP response".into()), false),
    };
    if !spec.status.matches(status) {
        return (false, Reason::Status(status), false);
    }
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    let framing = if spec.reuse_connection {
        reusable_framing(&head, status, &header)
    } else {
        None
    };
    let Some(needle) = spec.search.as_deref().filter(|s| !s.is_empty()) else {
        let reusable = match framing {
            Some(framing) => {
                timer
                    .as_mut()
                    .reset(bound(Instant::now() + spec.body_timeout));
                read_to_response_end(conn, buf[end..].to_vec(), framing, timer).await
            }
            None => false,
        };
        return (true, Reason::Ok(Some(status)), reusable);
    };
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let coding = body::Coding::from_header(header("content-encoding"));
    timer
        .as_mut()
        .reset(bound(Instant::now() + spec.body_timeout));
    let read_body = async {
        let mut raw = buf[end..].to_vec();
        let mut chunk = vec![0u8; 4096];
        loop {
            let content = match framing {
                _ if chunked => dechunk(&raw),
                Some(Framing::Length(n)) => raw[..n.min(raw.len())].to_vec(),
                _ => raw.clone(),
            };
            let (window, fill) = body::window(coding, &content);
            // On a kept connection the server does not close after the body, so its end is
            // where the framing says; the window is what it holds by then, as when the
            // server closes.
            let ended = framing.is_some_and(|f| body_end(f, &raw) != BodyEnd::NeedMore);
            if fill != body::Fill::NeedMore || raw.len() >= body::RAW_LIMIT || ended {
                return Ok::<_, io::Error>((window, fill, raw));
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok((window, fill, raw));
            }
            raw.extend_from_slice(&chunk[..n]);
        }
    };
    let (window, fill, raw) = tokio::select! {
        biased;
        r = read_body => match r {
            Ok(r) => r,
            Err(e) => return (false, Reason::Other(e.to_string()), false),
        },
        _ = &mut timer => return (false, Reason::Timeout, false),
    };
    let (passed, reason) = verdict_on_body(status, &window, fill, needle);
    let reusable = match framing {
        Some(framing) if passed => read_to_response_end(conn, raw, framing, timer).await,
        _ => false,
    };
    (passed, reason, reusable)
}

/// Where a response's body ends, for a connection that is to carry another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
}

/// How to find the end of this response, when the server keeps the connection open after it;
/// None when it will close it (`Connection: close`, HTTP/1.0) or the body has no length of
/// its own (it then ends when the connection does).
fn reusable_framing<'a>(
    head: &str,
    status: u16,
    header: &impl Fn(&str) -> Option<&'a str>,
) -> Option<Framing> {
    if !head.starts_with("HTTP/1.1 ") {
        return None;
    }
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if has_token("connection", "close") {
        return None;
    }
    // RFC 9112 §6.3: these never have a body, whatever the headers say.
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Some(Framing::Length(0));
    }
    if let Some(te) = header("transfer-encoding") {
        let last = te.rsplit(',').next().unwrap_or("").trim();
        return last
            .eq_ignore_ascii_case("chunked")
            .then_some(Framing::Chunked);
    }
    header("content-length")?.parse().ok().map(Framing::Length)
}

/// What the bytes of a body received so far say about its end.
#[derive(Debug, PartialEq, Eq)]
enum BodyEnd {
    /// The response ends after this many body bytes.
    At(usize),
    NeedMore,
    Malformed,
}

fn body_end(framing: Framing, raw: &[u8]) -> BodyEnd {
    match framing {
        Framing::Length(n) if raw.len() >= n => BodyEnd::At(n),
        Framing::Length(_) => BodyEnd::NeedMore,
        Framing::Chunked => chunked_end(raw),
    }
}

/// The end of a chunked body: its chunks, the last (empty) chunk, and the trailer section.
fn chunked_end(raw: &[u8]) -> BodyEnd {
    let line_end = |from: usize| raw[from..].windows(2).position(|w| w == b"\r\n");
    let mut pos = 0;
    loop {
        let Some(eol) = line_end(pos) else {
            return BodyEnd::NeedMore;
        };
        let size_text = String::from_utf8_lossy(&raw[pos..pos + eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return BodyEnd::Malformed;
        };
        pos += eol + 2;
        if size == 0 {
            loop {
                let Some(eol) = line_end(pos) else {
                    return BodyEnd::NeedMore;
                };
                pos += eol + 2;
                if eol == 0 {
                    return BodyEnd::At(pos);
                }
            }
        }
        if size > DRAIN_LIMIT {
            return BodyEnd::Malformed;
        }
        if raw.len() < pos + size + 2 {
            return BodyEnd::NeedMore;
        }
        if &raw[pos + size..pos + size + 2] != b"\r\n" {
            return BodyEnd::Malformed;
        }
        pos += size + 2;
    }
}

/// Reads what is left of the response whose body began with `raw`, so that the connection
/// stops exactly where the next response will start. False when it cannot: the body is
/// malformed or longer than [`DRAIN_LIMIT`], more bytes came than the response holds, or the
/// read fails or misses the deadline. The probe's verdict is known by then and stands.
async fn read_to_response_end(
    conn: &mut tokio::net::TcpStream,
    mut raw: Vec<u8>,
    framing: Framing,
    timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> bool {
    use tokio::io::AsyncReadExt;
    let finish = async {
        let mut chunk = Vec::new();
        loop {
            match body_end(framing, &raw) {
                BodyEnd::At(n) => return n == raw.len(),
                BodyEnd::Malformed => return false,
                BodyEnd::NeedMore if raw.len() >= DRAIN_LIMIT => return false,
                BodyEnd::NeedMore => {}
            }
            chunk.resize(4096, 0);
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::select! {
        biased;
        done = finish => done,
        _ = timer => false,
    }
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

/// The content of a chunked body, as far as `raw` holds it.
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(eol) = raw[pos..].windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[pos..pos + eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = pos + eol + 2;
        let end = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..end]);
        pos = end + 2;
        if pos >= raw.len() {
            break;
        }
    }
    out
}

/// Reads the body until its search window is complete (decompressed when it is gzip or
/// deflate); the rest of the body is never downloaded. reqwest's own decompression is not
/// enabled: it would decode whole bodies and for codings Route 53 does not decode.
async fn head_of_body(mut resp: reqwest::Response) -> reqwest::Result<(Vec<u8>, body::Fill)> {
    let coding = body::Coding::from_header(
        resp.headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let mut raw = Vec::with_capacity(SEARCH_WINDOW);
    loop {
        let (window, fill) = body::window(coding, &raw);
        if fill != body::Fill::NeedMore || raw.len() >= body::RAW_LIMIT {
            return Ok((window, fill));
        }
        match resp.chunk().await? {
            Some(c) => raw.extend_from_slice(&c[..c.len().min(body::RAW_LIMIT - raw.len())]),
            None => return Ok((window, fill)),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// rustls's "certificate not valid for name", found through the io::Errors that carry it
/// (an io::Error's `source` skips its own payload, so each is opened with `get_ref`; here
/// two are nested).
fn is_name_mismatch(e: &reqwest::Error) -> bool {
    use rustls::{CertificateError, Error as TlsError};
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        let inner = s
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &dyn std::error::Error);
        if let Some(TlsError::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) = s.downcast_ref::<TlsError>()
        {
            return true;
        }
        src = inner.or_else(|| s.source());
    }
    false
}

fn classify(e: &reqwest::Error, scheme: Scheme) -> Reason {
    if e.is_timeout() {
        return Reason::Timeout;
    }
    let mut src: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return Reason::Refused,
                io::ErrorKind::TimedOut => return Reason::Timeout,
                _ => {}
            }
        }
        src = s.source();
    }
    let text = chain(e);
    // A connect error that is neither refused nor a timeout on HTTPS is the handshake: rustls
    // reports through hyper-util as an opaque io::Error, so the type is not reachable here.
    if e.is_connect() && scheme == Scheme::Https {
        Reason::Tls(text)
    } else {
        Reason::Other(text)
    }
}

/// The whole cause chain, since reqwest's top-level message ("error sending request") hides
/// the useful part.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Runs one TCP probe: passed when the connection opens within `timeout`.
pub async fn tcp(addr: SocketAddr, timeout: Duration) -> ProbeResult {
    let start = Instant::now();
    let (passed, reason) =
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Err(_) => (false, Reason::Timeout),
            Ok(Ok(_)) => (true, Reason::Ok(None)),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => (false, Reason::Refused),
            Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => (false, Reason::Timeout),
            Ok(Err(e)) => (false, Reason::Other(e.to_string())),
        };
    ProbeResult {
        passed,
        reason,
        latency: start.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher() {
        let cases: &[(&str, &[u16], &[u16])] = &[
            ("200", &[200], &[201, 302]),
            ("200,302", &[200, 302], &[201, 301, 500]),
            ("200-299", &[200, 250, 299], &[199, 300]),
            ("200-299, 302", &[204, 302], &[301, 404]),
        ];
        for (s, yes, no) in cases {
            let m: StatusMatcher = s.parse().unwrap();
            assert!(yes.iter().all(|&c| m.matches(c)), "{s}");
            assert!(no.iter().all(|&c| !m.matches(c)), "{s}");
        }
        for bad in ["", "abc", "299-200", "99", "600", "200-", "200,,302"] {
            assert!(bad.parse::<StatusMatcher>().is_err(), "{bad:?}");
        }
        let d = StatusMatcher::default();
        assert!(d.matches(200) && d.matches(399) && !d.matches(199) && !d.matches(400));
    }

    #[test]
    fn urls_and_host_header() {
        let mut s = HttpSpec::new(Scheme::Http, "::1", 8080);
        s.path = "health?x=1".into();
        assert_eq!(s.url(), "http://[::1]:8080/health?x=1");
        let s = HttpSpec::new(Scheme::Https, "example.com", 443);
        assert_eq!(s.url(), "https://example.com:443/");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            route53_host_header(Scheme::Http, Some("a.example"), ip, 80),
            "a.example"
        );
        assert_eq!(
            route53_host_header(Scheme::Https, Some("a.example"), ip, 443),
            "a.example"
        );
        assert_eq!(
            route53_host_header(Scheme::Http, Some("a.example"), ip, 443),
            "a.example:443"
        );
        assert_eq!(
            route53_host_header(Scheme::Http, None, ip, 8080),
            "192.0.2.1"
        );
    }

    #[test]
    fn search_window() {
        assert!(contains(b"abcdef", b"cde"));
        assert!(!contains(b"abcdef", b"cdf"));
        assert!(!contains(b"ab", b"abc"));
    }
}
