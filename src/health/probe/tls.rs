//! HTTPS probes driven by hand over rustls, so each phase is timed as Route 53 reports it
//! (ConnectionTime, SSLHandshakeTime, TimeToFirstByte): certificates not validated unless the
//! check asks, Route 53's EnableSNI with its retry without SNI on a name mismatch, and the
//! HTTP/1.1 exchange and body search shared with plain HTTP ([`super::plain`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::time::Instant;

use super::{plain, HttpSpec, ProbeResult, Reason, Timing, HTTP_CONNECT_TIMEOUT};

/// How an HTTPS check shakes hands: its TLS configuration, and with Route 53's EnableSNI the
/// name it sends (and the address that name is reached at, when the check has one).
#[derive(Clone)]
pub struct HttpsClient {
    tls: tokio_rustls::TlsConnector,
    sni: Option<(String, Option<SocketAddr>)>,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsClient")
            .field("sni", &self.sni)
            .finish_non_exhaustive()
    }
}

/// Why an HTTPS check's client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("TLS setup: {0}")]
    Tls(rustls::Error),
    #[error("extra CA certificates: {0}")]
    Pem(String),
    #[error("EnableSNI name {0:?} is not a DNS name")]
    Name(String),
}

/// The client all HTTPS checks without EnableSNI share. Route 53 does not validate
/// certificates, so its checks pass `validate_certs = false` (signatures are still checked,
/// so the handshake is sound); `extra_ca_pem` adds trusted roots (one or more PEM
/// certificates) for checks that do validate. It never sends SNI, even to a host name:
/// Route 53 sends the FQDN only when EnableSNI says so ([`sni_client`]).
pub fn client(
    validate_certs: bool,
    extra_ca_pem: Option<&[u8]>,
) -> Result<HttpsClient, ClientSetupError> {
    let verifier = if validate_certs {
        validating(extra_ca_pem)?
    } else {
        Arc::new(Unvalidated {
            provider: provider(),
            check_name: false,
        })
    };
    Ok(HttpsClient {
        tls: connector(verifier, false)?,
        sni: None,
    })
}

/// The client of one HTTPS check that sends `fqdn` as SNI while connecting to `addr` (the
/// check's IP address; None resolves `fqdn`). It fails the handshake when the certificate is
/// not for `fqdn`, validating or not, so that [`http_with_sni`] can retry without SNI as
/// Route 53 does.
pub fn sni_client(
    validate_certs: bool,
    extra_ca_pem: Option<&[u8]>,
    fqdn: &str,
    addr: Option<SocketAddr>,
) -> Result<HttpsClient, ClientSetupError> {
    ServerName::try_from(fqdn.to_owned()).map_err(|_| ClientSetupError::Name(fqdn.into()))?;
    let verifier = if validate_certs {
        // Validation checks the name already.
        validating(extra_ca_pem)?
    } else {
        Arc::new(Unvalidated {
            provider: provider(),
            check_name: true,
        })
    };
    Ok(HttpsClient {
        tls: connector(verifier, true)?,
        sni: Some((fqdn.to_owned(), addr)),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn connector(
    verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>,
    enable_sni: bool,
) -> Result<tokio_rustls::TlsConnector, ClientSetupError> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(ClientSetupError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.enable_sni = enable_sni;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The web PKI's roots (Mozilla's, as browsers trust them) and `extra_ca_pem`.
fn validating(
    extra_ca_pem: Option<&[u8]>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, ClientSetupError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ClientSetupError::Pem(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| ClientSetupError::Pem(e.to_string()))?;
        }
    }
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| ClientSetupError::Pem(e.to_string()))?;
    Ok(verifier)
}

/// Route 53's checker: any certificate (expired, self-signed, another CA's) as long as its
/// signatures verify; with EnableSNI, it must name the server.
#[derive(Debug)]
struct Unvalidated {
    provider: Arc<rustls::crypto::CryptoProvider>,
    check_name: bool,
}

impl rustls::client::danger::ServerCertVerifier for Unvalidated {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self.check_name {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An HTTPS probe with Route 53's EnableSNI: the handshake sends the check's FQDN, and if the
/// certificate is not for that name, the probe starts over without SNI (`client`, which
/// sends none) and that attempt decides. Without EnableSNI it is [`send`] with `client`.
pub async fn http_with_sni(
    sni_client: &HttpsClient,
    client: &HttpsClient,
    spec: &HttpSpec,
) -> ProbeResult {
    if spec.sni.is_none() || sni_client.sni.is_none() || spec.scheme != super::Scheme::Https {
        return super::http(client, spec).await;
    }
    let start = std::time::Instant::now();
    let (result, mismatch) = send(sni_client, spec).await;
    if !mismatch {
        return result;
    }
    let mut retry = send(client, spec).await.0;
    retry.latency = start.elapsed();
    retry
}

/// One HTTPS exchange on a fresh connection: connect, handshake, request, response headers
/// and (with a search string) the head of the body, each phase timed. Also says whether the
/// handshake failed because the certificate is not for the name sent.
pub(super) async fn send(client: &HttpsClient, spec: &HttpSpec) -> (ProbeResult, bool) {
    let start = Instant::now();
    let mut timing = Timing::default();
    let done = |passed, reason, timing| ProbeResult {
        passed,
        reason,
        latency: start.elapsed(),
        timing,
    };
    let overall = spec.total_timeout.map(|t| start + t);
    let bound = |d: Instant| overall.map_or(d, |o| d.min(o));
    // Connecting and the handshake share the connect bound, as a client's connect timeout
    // covers both.
    let timer = tokio::time::sleep_until(bound(
        start + spec.connect_timeout.min(HTTP_CONNECT_TIMEOUT),
    ));
    tokio::pin!(timer);
    let connect = async {
        match &client.sni {
            Some((_, Some(addr))) => tokio::net::TcpStream::connect(*addr).await,
            _ => tokio::net::TcpStream::connect((spec.host.as_str(), spec.port)).await,
        }
    };
    let tcp = tokio::select! {
        biased;
        c = connect => match c {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return (done(false, Reason::Refused, timing), false),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return (done(false, Reason::Timeout, timing), false),
            Err(e) => return (done(false, Reason::Other(e.to_string()), timing), false),
        },
        _ = &mut timer => return (done(false, Reason::Timeout, timing), false),
    };
    timing.connected = Some(start.elapsed());
    // The verdict is known when it closes: RST, no TIME_WAIT (as the plain-HTTP probe).
    let _ = tcp.set_zero_linger();
    let name = match &client.sni {
        Some((fqdn, _)) => ServerName::try_from(fqdn.clone()).expect("checked when made"),
        None => match spec.host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => match ServerName::try_from(spec.host.clone()) {
                Ok(n) => n,
                Err(e) => {
                    let reason = Reason::Other(format!("host {:?}: {e}", spec.host));
                    return (done(false, reason, timing), false);
                }
            },
        },
    };
    let mut tls = tokio::select! {
        biased;
        t = client.tls.connect(name, tcp) => match t {
            Ok(t) => t,
            Err(e) => {
                let mismatch = is_name_mismatch(&e);
                return (done(false, Reason::Tls(handshake_error(&e)), timing), mismatch);
            }
        },
        _ = &mut timer => return (done(false, Reason::Timeout, timing), false),
    };
    timing.tls_handshake = Some(start.elapsed());
    let mut first_byte = None;
    let (passed, reason, _) = plain::exchange(spec, &mut tls, timer, bound, &mut first_byte).await;
    timing.first_byte = first_byte.map(|t: Instant| t - start);
    (done(passed, reason, timing), false)
}

/// rustls's "certificate not valid for name", carried in the handshake's io::Error.
fn is_name_mismatch(e: &io::Error) -> bool {
    use rustls::{CertificateError, Error as TlsError};
    matches!(
        e.get_ref().and_then(|i| i.downcast_ref::<TlsError>()),
        Some(TlsError::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ))
    )
}

/// What went wrong in the handshake, in rustls's words ("invalid peer certificate:
/// UnknownIssuer"), or the connection's when it was the connection that failed.
fn handshake_error(e: &io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => t.to_string(),
        None => e.to_string(),
    }
}
