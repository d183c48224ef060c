//! TCP probes: healthy when the connection opens within the time allowed.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{ProbeResult, Reason};

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
    let latency = start.elapsed();
    ProbeResult {
        passed,
        reason,
        latency,
        timing: super::Timing {
            connected: passed.then_some(latency),
            tls_handshake: None,
            first_byte: None,
        },
    }
}
