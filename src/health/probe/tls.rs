//! HTTPS probes through reqwest and rustls: certificates not validated unless the check asks,
//! Route 53's EnableSNI with its retry without SNI on a name mismatch, and the body read only
//! as far as the search window.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use reqwest::header::HOST;

use super::{
    body, http, verdict_on_body, HttpSpec, ProbeResult, Reason, Scheme, HTTP_CONNECT_TIMEOUT,
    SEARCH_WINDOW,
};

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
) -> Result<reqwest::Client, ClientSetupError> {
    let setup = |source| ClientSetupError::Client {
        fqdn: fqdn.to_string(),
        source,
    };
    let mut b = if validate_certs {
        // Validation checks the name already.
        builder(true, extra_ca_pem).map_err(setup)?
    } else {
        builder(true, None)
            .map_err(setup)?
            .use_preconfigured_tls(name_only_tls()?)
    };
    if let Some(addr) = addr {
        b = b.resolve(fqdn, addr);
    }
    b.tls_sni(true).build().map_err(setup)
}

/// Why an HTTPS check's client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("HTTPS client for {fqdn}: {source}")]
    Client {
        fqdn: String,
        source: reqwest::Error,
    },
    #[error("TLS setup: {0}")]
    Tls(rustls::Error),
}

/// TLS that accepts any certificate (Route 53 does not validate) as long as it names the
/// server: signatures are still checked so that the handshake itself is sound.
fn name_only_tls() -> Result<rustls::ClientConfig, ClientSetupError> {
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
            .map_err(ClientSetupError::Tls)?
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

/// One request through reqwest; also says whether the handshake failed because the
/// certificate is not for the requested name.
pub(super) async fn send(
    client: &reqwest::Client,
    spec: &HttpSpec,
    start: Instant,
) -> (ProbeResult, bool) {
    // (a OnceLock, not a Cell: the probe's future must stay Send)
    let headers_at = std::sync::OnceLock::new();
    let done = |passed, reason| {
        let r = ProbeResult {
            passed,
            reason,
            latency: start.elapsed(),
            timing: super::Timing {
                connected: None,
                first_byte: headers_at.get().copied(),
            },
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
    let _ = headers_at.set(start.elapsed());
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
