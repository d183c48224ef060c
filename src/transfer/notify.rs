//! NOTIFY out (RFC 1996): tell secondaries a zone changed, retrying until each acknowledges.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::tsig::{self, Key};
use crate::wire::packet::{hflags, OPCODE_NOTIFY};
use crate::wire::types;

/// Tries per secondary; the wait doubles from 1 s (RFC 1996 §3.6 asks for retries with
/// back-off, and leaves the numbers to us; BIND uses 5 tries too).
const TRIES: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// A NOTIFY for `origin` with its new SOA in the answer section (RFC 1996 §3.7 lets the
/// secondary use it as a hint).
pub fn message(id: u16, origin: &[u8], soa: Option<(u32, &[u8])>) -> Vec<u8> {
    let flags: u16 = ((OPCODE_NOTIFY as u16) << 11) | hflags::AA;
    super::client::soa_message(id, flags, origin, types::SOA, soa, true, 0)
}

/// Sends NOTIFY for a zone to every target, each in its own task.
pub fn send_all(
    origin: Vec<u8>,
    serial: u32,
    soa: (u32, Vec<u8>),
    targets: &[SocketAddr],
    key: Option<Key>,
) {
    for &target in targets {
        let origin = origin.clone();
        let soa = soa.clone();
        let key = key.clone();
        tokio::spawn(async move {
            let zone = crate::wire::name::to_text(&origin);
            match send_one(&origin, &soa, target, key.as_ref()).await {
                Ok(tries) => {
                    tracing::info!(zone = %zone, serial, %target, tries, "NOTIFY acknowledged")
                }
                Err(e) => {
                    tracing::warn!(zone = %zone, serial, %target, "NOTIFY not acknowledged: {e}")
                }
            }
        });
    }
}

/// Why a NOTIFY was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("socket: {0}")]
    Socket(std::io::Error),
    #[error("response: {0}")]
    Tsig(String),
    /// An answer, even a refusal, ends the retries (RFC 1996 §4.8).
    #[error("answered with rcode {0}")]
    Rcode(u8),
    #[error("{last} after {tries} tries")]
    NoAnswer { last: String, tries: u32 },
}

/// One secondary: send, wait for the matching response, back off and retry.
pub async fn send_one(
    origin: &[u8],
    soa: &(u32, Vec<u8>),
    target: SocketAddr,
    key: Option<&Key>,
) -> Result<u32, NotifyError> {
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap();
    let sock = UdpSocket::bind(bind).await.map_err(NotifyError::Socket)?;
    sock.connect(target).await.map_err(NotifyError::Socket)?;
    let mut wait = FIRST_WAIT;
    let mut last = String::from("no response");
    for attempt in 1..=TRIES {
        let id: u16 = super::client::random_id();
        let mut msg = message(id, origin, Some((soa.0, &soa.1)));
        let verifier = key.map(|k| {
            let mac = tsig::sign_request(k, &mut msg, tsig::now());
            tsig::ResponseVerifier::new(k, mac)
        });
        if let Err(e) = sock.send(&msg).await {
            last = format!("send: {e}");
        } else {
            let deadline = tokio::time::Instant::now() + wait;
            let mut buf = [0u8; 4096];
            loop {
                match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                    Err(_) => break,
                    Ok(Err(e)) => {
                        // ICMP port unreachable: nobody listens yet; wait out the interval.
                        last = format!("{e}");
                        tokio::time::sleep_until(deadline).await;
                        break;
                    }
                    Ok(Ok(n)) => {
                        let r = &buf[..n];
                        if n < 12 || u16::from_be_bytes([r[0], r[1]]) != id || r[2] & 0x80 == 0 {
                            continue;
                        }
                        if let Some(mut v) = verifier {
                            if let Err(e) = v.verify(r, tsig::now()) {
                                return Err(NotifyError::Tsig(e.to_string()));
                            }
                        }
                        let rc = r[3] & 0xF;
                        if rc == 0 {
                            return Ok(attempt);
                        }
                        return Err(NotifyError::Rcode(rc));
                    }
                }
            }
        }
        wait *= 2;
    }
    Err(NotifyError::NoAnswer { last, tries: TRIES })
}
