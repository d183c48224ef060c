//! DNS over TCP (RFC 7766 on tokio): two-octet length framing, pipelined queries answered in
//! order, an idle timeout, and a cap on connections. Each connection is its own task, so a slow
//! or idle client holds up nobody else.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::answer;
use crate::snapshot::Snapshot;
use crate::transfer::update::ReplyTo;
use crate::transfer::Control;
use crate::wire::packet;
use crate::wire::{Transport, MAX_MESSAGE};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a connection may sit between queries (RFC 7766 §6.2.3).
    pub idle_timeout: Duration,
    pub max_connections: usize,
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
    let slots = Arc::new(Semaphore::new(limits.max_connections));
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
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // Over the cap: close at once so the client retries elsewhere (RFC 7766 §6.2.2).
            tracing::debug!(%peer, "tcp connection refused: limit reached");
            drop(stream);
            continue;
        };
        let snapshot = snapshot.clone();
        let control = control.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, peer.ip(), &snapshot, &control, limits, stop).await {
                tracing::debug!(%peer, "tcp connection ended: {e}");
            }
            drop(permit);
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: std::net::IpAddr,
    snapshot: &ArcSwap<Snapshot>,
    control: &Control,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut query = vec![0u8; MAX_MESSAGE];
    let mut out = vec![0u8; MAX_MESSAGE + 2];
    loop {
        let mut len = [0u8; 2];
        // Idle limit covers waiting for the next query and reading it whole.
        let read = async {
            rd.read_exact(&mut len).await?;
            let n = u16::from_be_bytes(len) as usize;
            rd.read_exact(&mut query[..n]).await?;
            Ok::<usize, io::Error>(n)
        };
        let n = tokio::select! {
            r = tokio::time::timeout(limits.idle_timeout, read) => match r {
                Ok(Ok(n)) => n,
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(()), // idle: close (RFC 7766 §6.2.3)
            },
            _ = stop.changed() => return Ok(()),
        };
        let parsed = packet::parse(&query[..n]);
        if parsed.is_update() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            {
                let snap = snapshot.load_full();
                let reply_to = ReplyTo::Tcp(tx);
                control.update(
                    &snap,
                    &query[..n],
                    parsed,
                    Some(peer),
                    Transport::Tcp,
                    reply_to,
                );
            }
            let Ok(reply) = rx.await else { return Ok(()) };
            tokio::time::timeout(limits.idle_timeout, wr.write_all(&reply))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client not reading"))??;
            continue;
        }
        if parsed.is_control() {
            // A transfer may be many messages: built whole, then written (the snapshot it read
            // is released before the first write waits on the client).
            let stream = {
                let snap = snapshot.load_full();
                control.respond_tcp(&snap, &query[..n], parsed, Some(peer))
            };
            let Some(stream) = stream else { return Ok(()) };
            // A zone may take a while to send: the idle limit applies to each 64 KiB written,
            // so a client that keeps reading is never cut off and one that stops is let go.
            for chunk in stream.chunks(64 * 1024) {
                tokio::time::timeout(limits.idle_timeout, wr.write_all(chunk))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client not reading"))??;
            }
            continue;
        }
        let resp = {
            let snap = snapshot.load();
            answer::respond_parsed(
                &snap,
                &query[..n],
                parsed,
                Transport::Tcp,
                Some(peer),
                &mut out[2..],
            )
        };
        if resp == 0 {
            // Not answerable (a response, or junk): RFC 7766 lets us close.
            return Ok(());
        }
        out[..2].copy_from_slice(&(resp as u16).to_be_bytes());
        tokio::time::timeout(limits.idle_timeout, wr.write_all(&out[..resp + 2]))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client not reading"))??;
    }
}
