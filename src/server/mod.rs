//! Sockets and workers: UDP on dedicated threads (`udp`), TCP on tokio (`tcp`), both reading
//! the same atomically swapped [`Snapshot`].

pub mod network;
pub mod rrl;
pub mod tcp;
pub mod udp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::snapshot::Snapshot;
use crate::transfer::Control;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// UDP and TCP on each.
    pub addrs: Vec<SocketAddr>,
    /// The addresses are defaults: one that cannot be bound (no IPv6 on the host) is skipped
    /// with a warning rather than fatal.
    pub skip_unbindable: bool,
    /// UDP worker threads per address.
    pub udp_workers: usize,
    pub tcp: tcp::Limits,
}

/// A listen address that could not be bound. The OS error is part of the message, not a
/// separate cause, so that `{:#}` prints it once.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({proto}): {io}{}", hint(*addr, io))]
pub struct BindError {
    pub addr: SocketAddr,
    pub proto: &'static str,
    pub io: std::io::Error,
}

/// What to do about the errors an operator meets most.
fn hint(addr: SocketAddr, io: &std::io::Error) -> &'static str {
    match io.kind() {
        std::io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            "; ports below 1024 need the CAP_NET_BIND_SERVICE capability: grant it to the binary (sudo setcap cap_net_bind_service=+ep \"$(command -v policydns)\"), or run from systemd with AmbientCapabilities=CAP_NET_BIND_SERVICE (docs/configuration.md, \"Running as a service\")"
        }
        std::io::ErrorKind::AddrInUse => {
            "; another process is listening there (find it with: ss -lunpt)"
        }
        std::io::ErrorKind::AddrNotAvailable => "; no interface of this host has that address",
        _ => "",
    }
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`].
pub struct Server {
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// Transfers, NOTIFY and signed messages.
    pub control: Arc<Control>,
    /// Held by whoever publishes a new snapshot (reload, a secondary's transfer), so one
    /// cannot overwrite the other's change.
    pub writer: Arc<std::sync::Mutex<()>>,
    pub listening: Vec<SocketAddr>,
    udp_threads: Vec<JoinHandle<()>>,
    pub udp_counters: Vec<Arc<udp::Counters>>,
    stop_udp: Arc<AtomicBool>,
    stop_tcp: watch::Sender<bool>,
    tcp_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Binds every listen address (UDP and TCP) and starts the workers, serving `snapshot`
    /// and handing transfers, NOTIFY and signed messages to `control`. Must be called inside
    /// a tokio runtime (TCP).
    pub fn start(
        listeners: &Listeners,
        snapshot: Snapshot,
        control: Arc<Control>,
    ) -> Result<Server, BindError> {
        let snapshot = Arc::new(ArcSwap::from_pointee(snapshot));
        let stop_udp = Arc::new(AtomicBool::new(false));
        let (stop_tcp, stop_rx) = watch::channel(false);
        let mut server = Server {
            snapshot: snapshot.clone(),
            control: control.clone(),
            writer: Arc::new(std::sync::Mutex::new(())),
            listening: Vec::new(),
            udp_threads: Vec::new(),
            udp_counters: Vec::new(),
            stop_udp: stop_udp.clone(),
            stop_tcp,
            tcp_tasks: Vec::new(),
        };
        let limits = listeners.tcp;
        let mut skipped = None;
        for &addr in &listeners.addrs {
            let bound = Self::bind_all(addr, listeners.udp_workers);
            let (udp_sockets, tcp_listener) = match bound {
                Ok(b) => b,
                Err(e) if listeners.skip_unbindable => {
                    tracing::warn!("{e}; skipping this default address");
                    skipped = Some(e);
                    continue;
                }
                Err(e) => {
                    server.shutdown_now();
                    return Err(e);
                }
            };
            // Port 0 binds to a kernel-chosen port: report the real one.
            let actual = tcp_listener.local_addr().unwrap_or(addr);
            for (i, sock) in udp_sockets.into_iter().enumerate() {
                let counters = Arc::new(udp::Counters::default());
                let handle = udp::spawn(
                    sock,
                    snapshot.clone(),
                    control.clone(),
                    stop_udp.clone(),
                    counters.clone(),
                    format!("udp-{actual}-{i}"),
                )
                .map_err(|io| BindError {
                    addr,
                    proto: "udp worker",
                    io,
                })?;
                server.udp_threads.push(handle);
                server.udp_counters.push(counters);
            }
            server.tcp_tasks.push(tokio::spawn(tcp::serve(
                tcp_listener,
                snapshot.clone(),
                control.clone(),
                limits,
                stop_rx.clone(),
            )));
            server.listening.push(actual);
        }
        if let (true, Some(e)) = (server.listening.is_empty(), skipped) {
            return Err(e);
        }
        Ok(server)
    }

    /// All UDP sockets of one address, plus its TCP listener. With port 0, the kernel's port
    /// from the first socket is used for the others and for TCP.
    fn bind_all(
        addr: SocketAddr,
        workers: usize,
    ) -> Result<(Vec<socket2::Socket>, std::net::TcpListener), BindError> {
        let err = |proto| move |io| BindError { addr, proto, io };
        let first = udp::bind(addr).map_err(err("udp"))?;
        let actual = first
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(addr);
        let mut socks = vec![first];
        for _ in 1..workers.max(1) {
            socks.push(udp::bind(actual).map_err(err("udp"))?);
        }
        let tcp = tcp::bind(actual).map_err(err("tcp"))?;
        Ok((socks, tcp))
    }

    /// Publishes a new snapshot; queries in flight finish on the old one.
    pub fn swap(&self, mut snapshot: Snapshot) {
        snapshot.refresh_views();
        self.snapshot.store(Arc::new(snapshot));
    }

    fn shutdown_now(&mut self) {
        self.stop_udp.store(true, Ordering::Relaxed);
        let _ = self.stop_tcp.send(true);
    }

    /// Stops accepting, lets UDP workers notice (within their 200 ms receive timeout), and
    /// waits for them.
    pub async fn shutdown(mut self) {
        self.shutdown_now();
        for t in self.tcp_tasks.drain(..) {
            let _ = t.await;
        }
        let threads = std::mem::take(&mut self.udp_threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::BindError;
    use std::io::{Error, ErrorKind};

    #[test]
    fn a_bind_error_says_the_os_reason_once_and_what_to_do() {
        let e = |port: u16, kind: ErrorKind| {
            BindError {
                addr: ([127, 0, 0, 1], port).into(),
                proto: "udp",
                io: Error::from(kind),
            }
            .to_string()
        };
        let denied = e(53, ErrorKind::PermissionDenied);
        assert!(
            denied.contains("CAP_NET_BIND_SERVICE") && denied.contains("setcap"),
            "{denied}"
        );
        assert!(!e(5353, ErrorKind::PermissionDenied).contains("CAP_NET_BIND_SERVICE"));
        assert!(e(53, ErrorKind::AddrInUse).contains("ss -lunpt"));
        assert!(
            std::error::Error::source(&BindError {
                addr: ([127, 0, 0, 1], 53).into(),
                proto: "udp",
                io: Error::from(ErrorKind::AddrInUse),
            })
            .is_none(),
            "the OS error is in the message, not repeated as a cause"
        );
    }
}
