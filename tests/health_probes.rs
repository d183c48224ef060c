//! Health-check probes against real servers on 127.0.0.1: each test starts a tiny HTTP/1.1
//! server (plain or TLS) that answers a canned response, runs one probe and checks how it was
//! classified. Timeouts are short so slow-server cases end quickly; no assertion depends on
//! elapsed time.

mod common;
use common::TempDir;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use policydns::health::probe::{
    self, HttpSpec, KeptConnection, ProbeResult, Reason, Scheme, SEARCH_WINDOW,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

/// What the server sends back to every request.
#[derive(Clone, Default)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Wait before the status line (a slow application).
    delay_head: Duration,
    /// Wait between the headers and the body (a slow body).
    delay_body: Duration,
    /// Send the body in chunks of this size with `Transfer-Encoding: chunked`.
    chunked: Option<usize>,
}

impl Canned {
    fn status(status: u16) -> Self {
        Canned {
            status,
            ..Default::default()
        }
    }
    fn body(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            body: body.into(),
            ..Default::default()
        }
    }
}

/// A running test server: its address and the request heads it received, in order.
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(canned: Canned) -> Server {
    serve_with(canned, None).await
}

async fn serve_with(canned: Canned, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (canned, log, tls) = (canned.clone(), log.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => answer(sock, canned, log).await,
                    Some(acc) => {
                        // A failed handshake is the client rejecting our certificate.
                        if let Ok(s) = acc.accept(sock).await {
                            answer(s, canned, log).await
                        }
                    }
                }
            });
        }
    });
    Server { addr, requests }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    c: Canned,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    log.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    tokio::time::sleep(c.delay_head).await;
    let framing = match c.chunked {
        Some(_) => "Transfer-Encoding: chunked".to_string(),
        None => format!("Content-Length: {}", c.body.len()),
    };
    let mut out = format!(
        "HTTP/1.1 {} Canned\r\n{framing}\r\nConnection: close\r\n",
        c.status
    );
    for (k, v) in &c.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    // Write errors are expected: the probe hangs up after the bytes it needs.
    if s.write_all(out.as_bytes()).await.is_err() || s.flush().await.is_err() {
        return;
    }
    tokio::time::sleep(c.delay_body).await;
    let body = match c.chunked {
        None => c.body.clone(),
        Some(size) => {
            let mut framed = Vec::new();
            for piece in c.body.chunks(size) {
                framed.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                framed.extend_from_slice(piece);
                framed.extend_from_slice(b"\r\n");
            }
            framed.extend_from_slice(b"0\r\n\r\n");
            framed
        }
    };
    let _ = s.write_all(&body).await;
    let _ = s.shutdown().await;
}

fn spec(addr: SocketAddr) -> HttpSpec {
    let mut s = HttpSpec::new(Scheme::Http, addr.ip().to_string(), addr.port());
    s.connect_timeout = Duration::from_millis(300);
    s.response_timeout = Duration::from_millis(300);
    s.body_timeout = Duration::from_millis(300);
    s
}

fn client() -> probe::HttpsClient {
    probe::client(false, None).unwrap()
}

async fn run(canned: Canned, adjust: impl FnOnce(&mut HttpSpec)) -> (ProbeResult, Server) {
    let server = serve(canned).await;
    let mut s = spec(server.addr);
    adjust(&mut s);
    (probe::http(&client(), &s).await, server)
}

/// A port that refuses connections: bound once, then released.
async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

#[tokio::test]
async fn status_200_is_healthy_and_sends_path_and_host() {
    let (r, server) = run(Canned::status(200), |s| {
        s.path = "health?deep=1".into();
        s.host_header = Some("www.example.com".into());
    })
    .await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    assert!(r.passed);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].starts_with("GET /health?deep=1 HTTP/1.1\r\n"),
        "{}",
        reqs[0]
    );
    let host: Vec<&str> = reqs[0]
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("host:"))
        .collect();
    assert_eq!(host, ["host: www.example.com"]);
}

#[tokio::test]
async fn status_500_is_unhealthy() {
    let (r, _) = run(Canned::status(500), |_| {}).await;
    assert_eq!(r.reason, Reason::Status(500));
    assert!(!r.passed);
}

#[tokio::test]
async fn status_399_passes_and_404_fails() {
    // Route 53's range is [200, 400): 399 passes, 400 fails.
    let (r, _) = run(Canned::status(399), |_| {}).await;
    assert_eq!(r.reason, Reason::Ok(Some(399)));
    let (r, _) = run(Canned::status(404), |_| {}).await;
    assert_eq!(r.reason, Reason::Status(404));
}

#[tokio::test]
async fn redirect_is_healthy_and_not_followed() {
    let redirect = Canned {
        status: 302,
        headers: vec![("Location", "/elsewhere".into())],
        ..Default::default()
    };
    let (r, server) = run(redirect, |_| {}).await;
    assert_eq!(r.reason, Reason::Ok(Some(302)));
    assert!(r.passed);
    // Had the redirect been followed, /elsewhere would have been requested before `http`
    // returned.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused() {
    let addr = closed_port().await;
    let r = probe::http(&client(), &spec(addr)).await;
    assert_eq!(r.reason, Reason::Refused);
    assert!(!r.passed);
}

#[tokio::test]
async fn slow_response_times_out() {
    let slow = Canned {
        status: 200,
        delay_head: Duration::from_secs(30),
        ..Default::default()
    };
    let (r, _) = run(slow, |_| {}).await;
    assert_eq!(r.reason, Reason::Timeout);
    assert!(!r.passed);
}

#[tokio::test]
async fn slow_body_times_out_only_when_searching() {
    let slow_body = Canned {
        status: 200,
        body: b"all good".to_vec(),
        delay_body: Duration::from_secs(30),
        ..Default::default()
    };
    // Without a search string the status alone decides, so the body is never waited for.
    let (r, _) = run(slow_body.clone(), |_| {}).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    let (r, _) = run(slow_body, |s| s.search = Some("good".into())).await;
    assert_eq!(r.reason, Reason::Timeout);
}

#[tokio::test]
async fn search_string_found() {
    let (r, _) = run(Canned::body(200, "<html>status: ALL GOOD</html>"), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    assert!(r.passed);
}

#[tokio::test]
async fn search_string_absent_or_wrong_case() {
    let (r, _) = run(Canned::body(200, "status: degraded"), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::StringMissing);
    assert!(!r.passed);
    // Route 53's search is case-sensitive.
    let (r, _) = run(Canned::body(200, "all good"), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::StringMissing);
}

#[tokio::test]
async fn search_string_must_lie_within_first_5120_bytes() {
    let needle = "NEEDLE";
    let at = |offset: usize| {
        let mut body = vec![b'.'; offset];
        body.extend_from_slice(needle.as_bytes());
        body.extend_from_slice(&[b'.'; 100]);
        Canned::body(200, body)
    };
    let search = |s: &mut HttpSpec| s.search = Some(needle.into());
    // Ends exactly at byte 5,120: found.
    let (r, _) = run(at(SEARCH_WINDOW - needle.len()), search).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    // Straddles the boundary: missing.
    let (r, _) = run(at(SEARCH_WINDOW - 2), search).await;
    assert_eq!(r.reason, Reason::StringMissing);
    // Wholly after it: missing.
    let (r, _) = run(at(SEARCH_WINDOW + 10), search).await;
    assert_eq!(r.reason, Reason::StringMissing);
}

#[tokio::test]
async fn large_body_with_early_string_passes() {
    // The probe stops reading after 5,120 bytes; the server's remaining megabyte is dropped.
    let mut body = b"ok-marker".to_vec();
    body.resize(1 << 20, b'x');
    let (r, _) = run(Canned::body(200, body), |s| {
        s.search = Some("ok-marker".into())
    })
    .await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn search_on_bad_status_reports_the_status() {
    let (r, _) = run(Canned::body(503, "ALL GOOD"), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::Status(503));
}

#[tokio::test]
async fn status_matcher_200_302() {
    let matcher = |s: &mut HttpSpec| s.status = "200,302".parse().unwrap();
    for (status, passed) in [
        (200, true),
        (302, true),
        (204, false),
        (301, false),
        (500, false),
    ] {
        let (r, _) = run(Canned::status(status), matcher).await;
        assert_eq!(r.passed, passed, "{status}: {:?}", r.reason);
        let want = if passed {
            Reason::Ok(Some(status))
        } else {
            Reason::Status(status)
        };
        assert_eq!(r.reason, want);
    }
}

#[tokio::test]
async fn tcp_open_and_closed() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = probe::tcp(l.local_addr().unwrap(), Duration::from_millis(500)).await;
    assert_eq!(r.reason, Reason::Ok(None));
    assert!(r.passed);
    let r = probe::tcp(closed_port().await, Duration::from_millis(500)).await;
    assert_eq!(r.reason, Reason::Refused);
    assert!(!r.passed);
}

/// A CA and a leaf for 127.0.0.1 it signed, with a TLS acceptor serving the leaf.
fn tls_setup() -> (String, tokio_rustls::TlsAcceptor) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .unwrap();
    (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test]
async fn https_unvalidated_validated_and_untrusted() {
    let (ca_pem, acceptor) = tls_setup();
    let server = serve_with(Canned::body(200, "secure ok"), Some(acceptor)).await;
    let mut s = spec(server.addr);
    s.scheme = Scheme::Https;
    s.search = Some("secure ok".into());

    // Route 53 style: an untrusted certificate still passes.
    let r = probe::http(&probe::client(false, None).unwrap(), &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));

    // Validating with the CA added: passes.
    let trusted = probe::client(true, Some(ca_pem.as_bytes())).unwrap();
    let r = probe::http(&trusted, &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));

    // Validating without it: a TLS failure.
    let r = probe::http(&probe::client(true, None).unwrap(), &s).await;
    assert!(matches!(r.reason, Reason::Tls(_)), "{:?}", r.reason);
    assert!(!r.passed);

    // Plain HTTP to a TLS port is not a TLS failure but a protocol one.
    s.scheme = Scheme::Http;
    let r = probe::http(&probe::client(false, None).unwrap(), &s).await;
    assert!(!r.passed);
}

#[tokio::test]
async fn an_https_probe_times_connect_handshake_and_first_byte_in_order() {
    let (_ca, acceptor) = tls_setup();
    let server = serve_with(Canned::body(200, "ok"), Some(acceptor)).await;
    let mut s = spec(server.addr);
    s.scheme = Scheme::Https;
    let r = probe::http(&client(), &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    let t = r.timing;
    // Route 53's ConnectionTime, SSLHandshakeTime and TimeToFirstByte, each from the start.
    match (t.connected, t.tls_handshake, t.first_byte) {
        (Some(c), Some(h), Some(f)) => {
            assert!(
                c <= h && h <= f && f <= r.latency,
                "{t:?} latency {:?}",
                r.latency
            )
        }
        other => panic!("a phase is missing: {other:?}"),
    }
    // A failed handshake has connected, and no handshake or first byte.
    let r = probe::http(&probe::client(true, None).unwrap(), &s).await;
    assert!(matches!(r.reason, Reason::Tls(_)), "{:?}", r.reason);
    assert!(r.timing.connected.is_some() && r.timing.tls_handshake.is_none());
    assert_eq!(r.timing.first_byte, None);
    // Plain HTTP has no handshake.
    let plain = serve(Canned::body(200, "ok")).await;
    let r = probe::http(&client(), &spec(plain.addr)).await;
    assert_eq!(r.timing.tls_handshake, None);
    assert!(r.timing.connected.is_some() && r.timing.first_byte.is_some());
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn encoded(coding: &str, body: Vec<u8>) -> Canned {
    Canned {
        headers: vec![("Content-Encoding", coding.to_string())],
        ..Canned::body(200, body)
    }
}

/// Bytes that do not compress, so their gzip form is longer than they are.
fn incompressible(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test]
async fn gzip_body_is_searched_after_decompression() {
    let body = gzip(b"<html>status: ALL GOOD</html>");
    assert!(!body.windows(8).any(|w| w == b"ALL GOOD"));
    let (r, _) = run(encoded("gzip", body), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn gzip_body_without_the_string_is_string_missing() {
    let (r, _) = run(encoded("gzip", gzip(b"status: degraded")), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::StringMissing);
}

#[tokio::test]
async fn gzip_string_past_5120_decompressed_bytes_is_missing() {
    // Compresses to a few dozen bytes: only the decompressed offset puts it out of reach.
    let mut text = vec![b'.'; SEARCH_WINDOW];
    text.extend_from_slice(b"NEEDLE");
    let body = gzip(&text);
    assert!(body.len() < 200);
    let (r, _) = run(encoded("gzip", body), |s| s.search = Some("NEEDLE".into())).await;
    assert_eq!(r.reason, Reason::StringMissing);
}

#[tokio::test]
async fn gzip_string_within_5120_decompressed_bytes_passes_past_5120_compressed_bytes() {
    let mut text = incompressible(SEARCH_WINDOW - 10);
    text.extend_from_slice(b"NEEDLE");
    let body = gzip(&text);
    assert!(body.len() > SEARCH_WINDOW);
    let (r, _) = run(encoded("gzip", body), |s| s.search = Some("NEEDLE".into())).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn chunked_gzip_body_is_searched_after_decompression() {
    let mut text = incompressible(3000);
    text.extend_from_slice(b"NEEDLE");
    let canned = Canned {
        chunked: Some(700),
        ..encoded("gzip", gzip(&text))
    };
    let (r, _) = run(canned, |s| s.search = Some("NEEDLE".into())).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn deflate_body_is_searched_after_decompression() {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(b"status: ALL GOOD").unwrap();
    let (r, _) = run(encoded("deflate", z.finish().unwrap()), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn corrupt_gzip_body_fails_with_a_reason() {
    let mut body = gzip(b"status: ALL GOOD");
    body[2] = 7; // not deflate
    let (r, _) = run(encoded("gzip", body), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert!(!r.passed);
    assert!(
        matches!(&r.reason, Reason::Other(e) if e.contains("decompress")),
        "{:?}",
        r.reason
    );
}

#[tokio::test]
async fn other_content_encodings_are_searched_as_sent() {
    // Route 53 decodes only gzip and deflate; anything else is searched byte for byte.
    let (r, _) = run(encoded("br", b"ALL GOOD".to_vec()), |s| {
        s.search = Some("ALL GOOD".into())
    })
    .await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn https_gzip_body_is_searched_after_decompression() {
    let (_, acceptor) = tls_setup();
    let server = serve_with(encoded("gzip", gzip(b"secure ALL GOOD")), Some(acceptor)).await;
    let mut s = spec(server.addr);
    s.scheme = Scheme::Https;
    s.search = Some("ALL GOOD".into());
    let r = probe::http(&client(), &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
}

#[tokio::test]
async fn https_gzip_string_past_5120_decompressed_bytes_is_missing() {
    let (_, acceptor) = tls_setup();
    let mut text = vec![b'.'; SEARCH_WINDOW];
    text.extend_from_slice(b"NEEDLE");
    let server = serve_with(encoded("gzip", gzip(&text)), Some(acceptor)).await;
    let mut s = spec(server.addr);
    s.scheme = Scheme::Https;
    s.search = Some("NEEDLE".into());
    let r = probe::http(&client(), &s).await;
    assert_eq!(r.reason, Reason::StringMissing);
}

/// A TLS server whose certificate names only `cert_name`; it records the SNI of every
/// ClientHello (None when there was none) and answers 200 to the requests that get through.
async fn sni_recording_server(cert_name: &str) -> (SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let ck = rcgen::generate_simple_self_signed(vec![cert_name.to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (config, log) = (config.clone(), log.clone());
            tokio::spawn(async move {
                let acceptor = tokio_rustls::LazyConfigAcceptor::new(
                    rustls::server::Acceptor::default(),
                    sock,
                );
                let Ok(start) = acceptor.await else { return };
                let sni = start.client_hello().server_name().map(str::to_owned);
                log.lock().unwrap().push(sni);
                // A failed handshake is the client rejecting the certificate.
                if let Ok(s) = start.into_stream(config).await {
                    answer(s, Canned::status(200), Arc::default()).await
                }
            });
        }
    });
    (addr, seen)
}

fn sni_spec(addr: SocketAddr, sni: Option<&str>) -> HttpSpec {
    let mut s = spec(addr);
    s.scheme = Scheme::Https;
    s.host_header = Some("www.example.test".into());
    s.sni = sni.map(str::to_owned);
    s
}

fn sni_client_for(addr: SocketAddr) -> probe::HttpsClient {
    probe::sni_client(false, None, "www.example.test", Some(addr)).unwrap()
}

#[tokio::test]
async fn https_check_sends_the_fqdn_as_sni_to_its_ip_address() {
    let (addr, seen) = sni_recording_server("www.example.test").await;
    let s = sni_spec(addr, Some("www.example.test"));
    let r = probe::http_with_sni(&sni_client_for(addr), &client(), &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("www.example.test".to_string())]
    );
}

#[tokio::test]
async fn https_check_without_sni_sends_none() {
    let (addr, seen) = sni_recording_server("www.example.test").await;
    let s = sni_spec(addr, None);
    let r = probe::http_with_sni(&sni_client_for(addr), &client(), &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    assert_eq!(*seen.lock().unwrap(), [None]);
}

#[tokio::test]
async fn sni_name_mismatch_retries_the_handshake_without_sni() {
    // Route 53 does not validate, but a certificate not for the FQDN makes it shake hands
    // again without SNI; that second attempt decides.
    let (addr, seen) = sni_recording_server("other.example.test").await;
    let s = sni_spec(addr, Some("www.example.test"));
    let r = probe::http_with_sni(&sni_client_for(addr), &client(), &s).await;
    assert_eq!(r.reason, Reason::Ok(Some(200)));
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("www.example.test".to_string()), None]
    );
}

fn built_sni(spec: policydns::health::CheckSpec) -> Option<String> {
    match spec.build().unwrap() {
        policydns::health::CheckKind::Probe(p) => match p.target {
            policydns::health::ProbeTarget::Http(h) => h.sni,
            other => panic!("{other:?}"),
        },
        _ => panic!("not a probe"),
    }
}

fn https_check(enable_sni: Option<bool>) -> policydns::health::CheckSpec {
    policydns::health::CheckSpec {
        kind: Some("HTTPS".into()),
        ip_address: Some("192.0.2.1".parse().unwrap()),
        fqdn: Some("www.example.test.".into()),
        request_interval: 30,
        failure_threshold: 3,
        enable_sni,
        ..Default::default()
    }
}

#[test]
fn enable_sni_defaults_to_on_for_https_checks() {
    assert_eq!(
        built_sni(https_check(None)),
        Some("www.example.test".into())
    );
    assert_eq!(built_sni(https_check(Some(false))), None);
}

#[test]
fn route53_enable_sni_false_is_imported() {
    let json = r#"{"HealthChecks": [{"Id": "a", "HealthCheckConfig": {"IPAddress": "192.0.2.1",
        "Port": 443, "Type": "HTTPS", "FullyQualifiedDomainName": "www.example.test",
        "EnableSNI": false}}]}"#;
    let checks = policydns::route53::health::import_checks(json).unwrap();
    assert_eq!(checks[0].1.enable_sni, Some(false));
    assert_eq!(built_sni(checks[0].1.clone()), None);
}

// Connection reuse (`reuse_connection`): a keep-alive server that counts the connections it
// accepts and records which connection each request came on.

/// What the keep-alive server does with a connection after (or instead of) an answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// Keeps it open for the next request (HTTP/1.1's default).
    KeepOpen,
    /// Says `Connection: close` and closes it.
    SayCloseAndClose,
    /// Says `Connection: close` but keeps it open and would answer again.
    SayCloseStayOpen,
    /// Closes it after the answer without saying so, as an idle timeout would.
    CloseSilently,
    /// Answers the first request on a connection; closes on the second without answering.
    DropSecondRequest,
    /// Answers the first request on a connection; never answers the second.
    HangSecondRequest,
}

struct KeepAliveServer {
    addr: SocketAddr,
    /// (connection number from 1, request head), in arrival order.
    requests: Arc<Mutex<Vec<(usize, String)>>>,
}

impl KeepAliveServer {
    fn requests(&self) -> Vec<(usize, String)> {
        self.requests.lock().unwrap().clone()
    }
    fn connections(&self) -> usize {
        self.requests().iter().map(|(c, _)| *c).max().unwrap_or(0)
    }
}

/// Answers `HTTP/1.1 200 OK\r\n` followed by `rest` (headers after the status line, the empty
/// line and the body) to every request, as `after` says.
async fn serve_keepalive(after: After, rest: &str) -> KeepAliveServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let log = requests.clone();
    let close_header = matches!(after, After::SayCloseAndClose | After::SayCloseStayOpen);
    let response = format!(
        "HTTP/1.1 200 OK\r\n{}{rest}",
        if close_header {
            "Connection: close\r\n"
        } else {
            ""
        }
    );
    tokio::spawn(async move {
        let mut accepted = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            accepted += 1;
            let (conn_no, log, response) = (accepted, log.clone(), response.clone());
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 1024];
                for n_req in 1.. {
                    let end = loop {
                        if let Some(p) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head: Vec<u8> = pending.drain(..end).collect();
                    log.lock()
                        .unwrap()
                        .push((conn_no, String::from_utf8_lossy(&head).into_owned()));
                    match after {
                        After::DropSecondRequest if n_req == 2 => return,
                        After::HangSecondRequest if n_req == 2 => {
                            // Until the client gives up and closes.
                            let _ = sock.read(&mut buf).await;
                            return;
                        }
                        _ => {}
                    }
                    if sock.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                    if matches!(after, After::SayCloseAndClose | After::CloseSilently) {
                        let _ = sock.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    KeepAliveServer { addr, requests }
}

fn reusing(addr: SocketAddr) -> HttpSpec {
    let mut s = spec(addr);
    s.reuse_connection = true;
    s
}

/// Runs `n` probes of `s` in turn, as the scheduler does, keeping the connection between them.
async fn probes(s: &HttpSpec, n: usize) -> (Vec<ProbeResult>, KeptConnection) {
    let (c, mut kept) = (client(), KeptConnection::default());
    let mut results = Vec::new();
    for _ in 0..n {
        results.push(probe::http_kept(&c, s, &mut kept).await);
    }
    (results, kept)
}

fn all_ok(results: &[ProbeResult]) {
    for r in results {
        assert_eq!(r.reason, Reason::Ok(Some(200)), "{results:?}");
    }
}

const OK: &str = "Content-Length: 2\r\n\r\nok";

#[tokio::test]
async fn reuse_keeps_one_connection_across_probes() {
    let server = serve_keepalive(After::KeepOpen, OK).await;
    let (results, kept) = probes(&reusing(server.addr), 5).await;
    all_ok(&results);
    assert_eq!(server.connections(), 1);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    assert!(reqs
        .iter()
        .all(|(_, h)| h.contains("connection: keep-alive\r\n")));
    assert!(kept.is_kept());
}

#[tokio::test]
async fn without_reuse_every_probe_opens_a_new_connection() {
    let server = serve_keepalive(After::KeepOpen, OK).await;
    let (results, kept) = probes(&spec(server.addr), 3).await;
    all_ok(&results);
    assert_eq!(server.connections(), 3);
    assert!(server
        .requests()
        .iter()
        .all(|(_, h)| h.contains("connection: close\r\n")));
    assert!(!kept.is_kept());
}

#[tokio::test]
async fn reuse_opens_a_fresh_connection_at_least_every_fresh_every_probes() {
    let server = serve_keepalive(After::KeepOpen, OK).await;
    let n = 2 * probe::FRESH_EVERY as usize + 1;
    let (results, _) = probes(&reusing(server.addr), n).await;
    all_ok(&results);
    assert_eq!(server.connections(), 3);
    for conn in 1..=3 {
        let on_it = server.requests().iter().filter(|(c, _)| *c == conn).count();
        assert!(
            on_it <= probe::FRESH_EVERY as usize,
            "{on_it} probes on one connection"
        );
    }
}

#[tokio::test]
async fn server_closing_after_each_response_gets_one_connection_per_probe() {
    let server = serve_keepalive(After::SayCloseAndClose, OK).await;
    let (results, _) = probes(&reusing(server.addr), 3).await;
    all_ok(&results);
    assert_eq!(server.connections(), 3);
    assert_eq!(
        server.requests().len(),
        3,
        "no request sent on a closed connection"
    );
}

#[tokio::test]
async fn connection_close_header_is_honoured_even_if_the_socket_stays_open() {
    let server = serve_keepalive(After::SayCloseStayOpen, OK).await;
    let (results, kept) = probes(&reusing(server.addr), 3).await;
    all_ok(&results);
    assert_eq!(server.connections(), 3);
    assert!(!kept.is_kept());
}

#[tokio::test]
async fn response_without_a_length_is_not_reused() {
    let server = serve_keepalive(After::KeepOpen, "\r\nok").await;
    let (results, kept) = probes(&reusing(server.addr), 2).await;
    all_ok(&results);
    assert!(!kept.is_kept());
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn bytes_past_the_end_of_the_response_are_not_reused() {
    let server = serve_keepalive(After::KeepOpen, "Content-Length: 2\r\n\r\nokHTTP/1.1").await;
    let (results, kept) = probes(&reusing(server.addr), 1).await;
    all_ok(&results);
    assert!(!kept.is_kept());
}

#[tokio::test]
async fn kept_connection_closed_by_the_server_between_probes_is_no_failure() {
    let server = serve_keepalive(After::CloseSilently, OK).await;
    let (results, _) = probes(&reusing(server.addr), 4).await;
    all_ok(&results);
    assert_eq!(server.connections(), 4);
}

#[tokio::test]
async fn kept_connection_dropped_mid_request_is_retried_on_a_fresh_one() {
    let server = serve_keepalive(After::DropSecondRequest, OK).await;
    let (results, _) = probes(&reusing(server.addr), 3).await;
    all_ok(&results);
    // Probe 2 and 3 each lost a request on a kept connection and passed on a new one.
    assert_eq!(server.connections(), 3);
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn kept_connection_that_never_answers_is_retried_on_a_fresh_one() {
    let server = serve_keepalive(After::HangSecondRequest, OK).await;
    let (results, _) = probes(&reusing(server.addr), 2).await;
    all_ok(&results);
    assert_eq!(server.connections(), 2);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn chunked_body_is_read_to_its_end_and_the_connection_reused() {
    let body =
        "Transfer-Encoding: chunked\r\n\r\n4\r\nall \r\n6\r\nis ok.\r\n0\r\nx-trailer: 1\r\n\r\n";
    let server = serve_keepalive(After::KeepOpen, body).await;
    let mut s = reusing(server.addr);
    s.search = Some("all is ok".into());
    let (results, _) = probes(&s, 3).await;
    all_ok(&results);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn long_body_past_the_search_window_is_drained_and_the_connection_reused() {
    let mut body = "x".repeat(20_000);
    body.replace_range(100..102, "ok");
    let server = serve_keepalive(
        After::KeepOpen,
        &format!("Content-Length: {}\r\n\r\n{body}", body.len()),
    )
    .await;
    let mut s = reusing(server.addr);
    s.search = Some("ok".into());
    let (results, _) = probes(&s, 3).await;
    all_ok(&results);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn reuse_keeps_the_5120_byte_search_window() {
    // "ok" ending exactly at byte 5,120 is in the window; one byte later it is not.
    for (at, found) in [(SEARCH_WINDOW - 2, true), (SEARCH_WINDOW - 1, false)] {
        let mut body = "x".repeat(SEARCH_WINDOW + 100);
        body.replace_range(at..at + 2, "ok");
        let rest = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let server = serve_keepalive(After::KeepOpen, &rest).await;
        let mut s = reusing(server.addr);
        s.search = Some("ok".into());
        let (results, _) = probes(&s, 2).await;
        for r in &results {
            let want = if found {
                Reason::Ok(Some(200))
            } else {
                Reason::StringMissing
            };
            assert_eq!(r.reason, want, "string at {at}");
        }
    }
}

fn http_check(kind: &str, reuse: bool) -> policydns::health::CheckSpec {
    policydns::health::CheckSpec {
        kind: Some(kind.into()),
        ip_address: Some("127.0.0.1".parse().unwrap()),
        port: Some(8080),
        search_string: Some("ok".into()),
        request_interval: 1,
        failure_threshold: 3,
        reuse_connection: reuse,
        ..Default::default()
    }
}

#[test]
fn reuse_connection_is_refused_for_https_and_tcp_checks() {
    for kind in ["HTTPS", "HTTPS_STR_MATCH", "TCP"] {
        let e = http_check(kind, true).build().expect_err(kind);
        assert_eq!(e, policydns::health::CheckError::ReuseNotHttp, "{kind}");
        assert!(e.to_string().contains("reuse_connection"), "{kind}: {e}");
    }
}

#[test]
fn route53_import_never_reuses_connections() {
    let json = r#"{"HealthChecks": [{"Id": "a", "HealthCheckConfig": {"IPAddress": "192.0.2.1",
        "Port": 80, "Type": "HTTP"}}]}"#;
    let checks = policydns::route53::health::import_checks(json).unwrap();
    assert!(!checks[0].1.reuse_connection);
}

#[test]
fn reuse_connection_in_the_config_reaches_the_probe() {
    let tmp = TempDir::new("reuse");
    let dir = tmp.path();
    let path = dir.join("c.toml");
    std::fs::write(
        dir.join("z.zone"),
        "$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 127.0.0.1\n",
    )
    .unwrap();
    std::fs::write(
        &path,
        "[[zone]]\norigin = \"reuse.test.\"\nfile = \"z.zone\"\n\
         [[health_check]]\nid = \"kept\"\ntype = \"HTTP\"\nip_address = \"127.0.0.1\"\nreuse_connection = true\n\
         [[health_check]]\nid = \"fresh\"\ntype = \"HTTP\"\nip_address = \"127.0.0.1\"\n",
    )
    .unwrap();
    let config = policydns::config::Config::load(Some(&path), &Default::default());
    let config = config.unwrap();
    let reuse = |id: &str| match &config.probes[id].target {
        policydns::health::ProbeTarget::Http(h) => h.reuse_connection,
        other => panic!("{other:?}"),
    };
    assert!(reuse("kept"));
    assert!(!reuse("fresh"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_check_with_reuse_keeps_its_connection_between_probes() {
    use policydns::health::{self, report::Reports, CheckKind, HealthTable};
    let server = serve_keepalive(After::KeepOpen, OK).await;
    let mut check = http_check("HTTP", true);
    check.port = Some(server.addr.port());
    let CheckKind::Probe(cfg) = check.build().unwrap() else {
        panic!("not a probe")
    };
    let table = Arc::new(HealthTable::new([true]));
    let tasks = health::spawn(
        vec![(0, "kept".into(), *cfg)],
        table.clone(),
        Arc::new(Reports::default()),
    );
    // Interval 1 s: three probes within a few seconds; the bound only ends a broken run.
    for _ in 0..200 {
        if server.requests().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tasks.iter().for_each(|t| t.abort());
    assert!(server.requests().len() >= 3, "{:?}", server.requests());
    assert_eq!(server.connections(), 1);
    assert!(table.get(0));
}

/// An HTTPS check through the binary against Python's HTTPS server: `/health-checks` and
/// `/metrics` give its connection, TLS handshake and first-byte times (Route 53's
/// ConnectionTime, SSLHandshakeTime, TimeToFirstByte), in that order.
#[test]
fn the_server_reports_an_https_checks_handshake_time() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = TempDir::new("https-timing");
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.write("cert.pem", &cert.pem());
    let key_path = dir.write("key.pem", &key.serialize_pem());
    let port = common::free_port();
    let script = format!(
        "import http.server, ssl\n\
class H(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'ok')\n    def log_message(self, *a): pass\n\
s = http.server.HTTPServer(('127.0.0.1', {port}), H)\n\
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain({cert:?}, {key:?})\n\
s.socket = c.wrap_socket(s.socket, server_side=True)\n\
s.serve_forever()\n",
        cert = cert_path.display().to_string(),
        key = key_path.display().to_string(),
    );
    let _backend = common::Proc::spawn(
        "python https server",
        std::process::Command::new("python3").args(["-c", &script]),
        dir.path().join("https.log"),
    );
    dir.write(
        "z.zone",
        "$ORIGIN t.test.\n@ 300 IN SOA ns1 h 1 3600 600 86400 60\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n",
    );
    let status = common::free_port();
    let config = dir.write(
        "policydns.toml",
        &format!(
            "[[zone]]\norigin = \"t.test.\"\nfile = \"z.zone\"\n\n[[health_check]]\nid = \"secure\"\ntype = \"HTTPS\"\nip_address = \"127.0.0.1\"\nport = {port}\nresource_path = \"/\"\nrequest_interval = 1\nfailure_threshold = 1\nvalidate_certificates = false\n"
        ),
    );
    let _server = common::serve(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--status-listen",
            &format!("127.0.0.1:{status}"),
        ],
        "ns1.t.test",
    );
    let timing = || -> Option<(f64, f64, f64)> {
        let text = common::http_get(status, "/health-checks");
        let body = text.split("\r\n\r\n").nth(1)?;
        let doc: serde_json::Value = serde_json::from_str(body).ok()?;
        let c = doc["health_checks"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == "secure")?["report"]
            .clone();
        Some((
            c["last_connection_time_ms"].as_f64()?,
            c["last_ssl_handshake_time_ms"].as_f64()?,
            c["last_time_to_first_byte_ms"].as_f64()?,
        ))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while timing().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no HTTPS probe with all three times:\n{}\n{}",
            common::http_get(status, "/health-checks"),
            std::fs::read_to_string(dir.path().join("https.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (connect, handshake, first_byte) = timing().unwrap();
    assert!(
        0.0 < connect && connect <= handshake && handshake <= first_byte && first_byte < 1000.0,
        "{connect} {handshake} {first_byte}"
    );
    let metrics = common::http_get(status, "/metrics");
    assert!(
        metrics.contains("policydns_health_check_ssl_handshake_time_seconds{check=\"secure\"} "),
        "{metrics}"
    );
}
