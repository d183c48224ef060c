//! DNS over TCP (RFC 7766 on tokio): two-octet length framing, pipelined queries answered in
//! order, an idle timeout, and limits on connections that one client cannot use to lock the
//! others out (`clients`). Each connection is its own task, so a slow or idle client holds up
//! nobody else, and an idle one holds no buffer (`buffers`).

mod buffers;
pub mod clients;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::answer;
use crate::snapshot::Snapshot;
use crate::transfer::update::ReplyTo;
use crate::transfer::Control;
use crate::wire::packet;
use crate::wire::Transport;

use buffers::Pool;
use clients::{Admitted, Clients, ConnectionLimits, Refusal};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a connection may sit between queries (RFC 7766 §6.2.3).
    pub idle_timeout: Duration,
    pub connections: ConnectionLimits,
}

pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let domain = if addr.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    Ok(s.into())
}

/// Accepts connections until `stop` turns true.
pub async fn serve(
    listener: std::net::TcpListener,
    snapshot: Arc<ArcSwap<Snapshot>>,
    control: Arc<Control>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("tcp listener: {e}");
            return;
        }
    };
    let clients = Clients::new(limits.connections);
    let pool = Arc::new(Pool::default());
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!("tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let admitted = match clients.admit(peer.ip()) {
            Ok(a) => a.admitted,
            Err(refusal) => {
                // Closed at once so the client retries elsewhere or later (RFC 7766 §6.2.2).
                let kind = match refusal {
                    Refusal::NetworkFull => "tcp connection refused: its network holds its share",
                    Refusal::AllBusy => "tcp connection refused: every connection is busy",
                };
                // Logged once per network and kind every ten seconds: a network's many addresses
                // must not flood the log either.
                let l = limits.connections;
                let network =
                    crate::server::network::first_address(peer.ip(), l.ipv4_prefix, l.ipv6_prefix);
                if let Some(left_out) = crate::log_limit::admit(Some(network), kind) {
                    tracing::warn!(%peer, left_out, "{kind}");
                }
                drop(stream);
                continue;
            }
        };
        let snapshot = snapshot.clone();
        let control = control.clone();
        let pool = pool.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let peer_ip = peer.ip();
            let served = Connection {
                peer_addr: peer,
                local_addr: stream.local_addr().ok(),
                snapshot: &snapshot,
                control: &control,
                pool: &pool,
                admitted: &admitted,
                limits,
                peer: peer_ip,
            };
            if let Err(e) = served.run(stream, stop).await {
                tracing::debug!(%peer, "tcp connection ended: {e}");
            }
            drop(admitted);
        });
    }
}

/// Queries up to this size are read into the connection's own small buffer; larger ones (rare:
/// updates, signed messages) into one sized for them.
const SMALL_QUERY: usize = 512;

struct Connection<'a> {
    snapshot: &'a ArcSwap<Snapshot>,
    control: &'a Control,
    pool: &'a Pool,
    admitted: &'a Admitted,
    limits: Limits,
    peer: std::net::IpAddr,
    /// With the port, and ours, for dnstap.
    peer_addr: std::net::SocketAddr,
    local_addr: Option<std::net::SocketAddr>,
}

fn not_reading() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client not reading")
}

impl Connection<'_> {
    async fn run(&self, stream: TcpStream, mut stop: watch::Receiver<bool>) -> io::Result<()> {
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let mut small = [0u8; SMALL_QUERY];
        let mut large: Vec<u8> = Vec::new();
        loop {
            self.admitted.idle();
            // The idle limit covers waiting for the next query and reading it whole, so a client
            // that trickles a query in is let go as one that sends nothing.
            let read = async {
                let mut len = [0u8; 2];
                rd.read_exact(&mut len).await?;
                let n = u16::from_be_bytes(len) as usize;
                if n <= SMALL_QUERY {
                    rd.read_exact(&mut small[..n]).await?;
                } else {
                    large.resize(n, 0);
                    rd.read_exact(&mut large[..]).await?;
                }
                Ok::<usize, io::Error>(n)
            };
            let n = tokio::select! {
                r = tokio::time::timeout(self.limits.idle_timeout, read) => match r {
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Ok(()), // idle: close (RFC 7766 §6.2.3)
                },
                _ = self.admitted.closed() => return Ok(()), // room made for a newcomer
                _ = stop.changed() => return Ok(()),
            };
            self.admitted.busy();
            let query: &[u8] = if n <= SMALL_QUERY {
                &small[..n]
            } else {
                &large[..]
            };
            let answered = self.answer(query, &mut wr).await;
            if large.capacity() > 0 {
                large = Vec::new(); // not kept while idle
            }
            if !answered? {
                return Ok(());
            }
        }
    }

    /// Answers one query; `false`: the connection is to be closed.
    async fn answer(
        &self,
        query: &[u8],
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
    ) -> io::Result<bool> {
        let idle_timeout = self.limits.idle_timeout;
        let parsed = packet::parse(query);
        if parsed.is_update() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            {
                let snap = self.snapshot.load_full();
                let reply_to = ReplyTo::Tcp(tx);
                self.control.update(
                    &snap,
                    query,
                    parsed,
                    Some(self.peer),
                    Transport::Tcp,
                    reply_to,
                );
            }
            let Ok(reply) = rx.await else {
                return Ok(false);
            };
            tokio::time::timeout(idle_timeout, wr.write_all(&reply))
                .await
                .map_err(|_| not_reading())??;
            return Ok(true);
        }
        if parsed.is_control() {
            // A transfer may be many messages: built whole, then written (the snapshot it read
            // is released before the first write waits on the client).
            let stream = {
                let snap = self.snapshot.load_full();
                self.control
                    .respond_tcp(&snap, query, parsed, Some(self.peer))
            };
            let Some(stream) = stream else {
                return Ok(false);
            };
            // A zone may take a while to send: the idle limit applies to each 64 KiB written,
            // so a client that keeps reading is never cut off and one that stops is let go.
            for chunk in stream.chunks(64 * 1024) {
                tokio::time::timeout(idle_timeout, wr.write_all(chunk))
                    .await
                    .map_err(|_| not_reading())??;
            }
            return Ok(true);
        }
        let mut out = self.pool.take();
        let started = std::time::Instant::now();
        let resp = {
            let snap = self.snapshot.load();
            answer::respond_parsed(
                &snap,
                query,
                parsed,
                Transport::Tcp,
                Some(self.peer),
                &mut out[2..],
            )
        };
        if resp == 0 {
            // Not answerable (a response, or junk): RFC 7766 lets us close.
            self.pool.give_back(out);
            return Ok(false);
        }
        crate::metrics::server().duration(Transport::Tcp, started.elapsed().as_nanos() as u64);
        if let Some(sink) = crate::dnstap::sink() {
            let received = std::time::SystemTime::now() - started.elapsed();
            sink.log_exchange(
                true,
                self.peer_addr,
                self.local_addr,
                received,
                query,
                &out[2..2 + resp],
            );
        }
        out[..2].copy_from_slice(&(resp as u16).to_be_bytes());
        let written = tokio::time::timeout(idle_timeout, wr.write_all(&out[..resp + 2])).await;
        self.pool.give_back(out);
        written.map_err(|_| not_reading())??;
        Ok(true)
    }
}
