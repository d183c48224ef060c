//! dnstap logging of queries and responses (off by default): each answered query becomes an
//! AUTH_QUERY and an AUTH_RESPONSE message, written as Frame Streams to a file or a unix
//! socket, the format BIND, Knot, Unbound and CoreDNS write and `dnstap-read` reads.
//!
//! The answer path hands a copy of the query and the response to a bounded channel and goes
//! on; a writer thread encodes and writes. When the writer falls behind, messages are dropped
//! and counted, never waited for. When dnstap is off, the answer path pays one load of a
//! `OnceLock`. The sink is process-wide, like the log: one per running server.

pub mod encode;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

pub use encode::Exchange;
use encode::MessageType;

/// Messages waiting for the writer at most; beyond, new ones are dropped.
const QUEUE: usize = 16 * 1024;

/// Where dnstap goes: `unix:PATH` (a dnstap collector's socket, fstrm's bidirectional
/// handshake) or a file path (`file:PATH` or just `PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    File(PathBuf),
    Unix(PathBuf),
}

impl Destination {
    pub fn parse(s: &str) -> Destination {
        match s.split_once(':') {
            Some(("unix", p)) => Destination::Unix(p.into()),
            Some(("file", p)) => Destination::File(p.into()),
            _ => Destination::File(s.into()),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::File(p) => write!(f, "{}", p.display()),
            Destination::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

enum Msg {
    Exchange(Box<Exchange>),
    /// Write the STOP frame, flush, and say so.
    Stop(SyncSender<()>),
}

/// The running dnstap output.
pub struct Sink {
    tx: SyncSender<Msg>,
    /// Exchanges dropped because the writer was behind or gone.
    pub dropped: AtomicU64,
    /// Exchanges written (each as two messages).
    pub written: AtomicU64,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// The sink, when dnstap is on.
#[inline]
pub fn sink() -> Option<&'static Sink> {
    SINK.get()
}

/// The stream the writer writes to.
enum Output {
    File(io::BufWriter<std::fs::File>),
    Unix(std::os::unix::net::UnixStream),
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File(f) => f,
            Output::Unix(s) => s,
        }
    }
}

/// Reads one control frame (after the handshake's write) and returns its type.
fn read_control(s: &mut std::os::unix::net::UnixStream) -> io::Result<u32> {
    let mut head = [0u8; 8];
    s.read_exact(&mut head)?;
    let len = u32::from_be_bytes(head[4..8].try_into().expect("4 octets")) as usize;
    if head[..4] != [0; 4] || !(4..=512).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a Frame Streams control frame",
        ));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok(u32::from_be_bytes(body[..4].try_into().expect("4 octets")))
}

fn open(dest: &Destination) -> io::Result<Output> {
    match dest {
        Destination::File(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(p)?;
            let mut w = io::BufWriter::with_capacity(64 * 1024, f);
            w.write_all(&encode::control_frame(encode::CONTROL_START, true))?;
            w.flush()?;
            Ok(Output::File(w))
        }
        Destination::Unix(p) => {
            let mut s = std::os::unix::net::UnixStream::connect(p)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(&encode::control_frame(encode::CONTROL_READY, true))?;
            let got = read_control(&mut s)?;
            if got != encode::CONTROL_ACCEPT {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the collector answered READY with control frame {got}, not ACCEPT"),
                ));
            }
            s.write_all(&encode::control_frame(encode::CONTROL_START, true))?;
            Ok(Output::Unix(s))
        }
    }
}

/// Opens `dest` (so that a bad path or an absent collector is reported at start) and starts
/// the writer. `identity` and `version` go into every message. A second call fails.
pub fn start(dest: &Destination, identity: &[u8], version: &[u8]) -> io::Result<()> {
    let out = open(dest)?;
    let (tx, rx) = sync_channel(QUEUE);
    SINK.set(Sink {
        tx,
        dropped: AtomicU64::new(0),
        written: AtomicU64::new(0),
    })
    .map_err(|_| io::Error::other("dnstap is already running"))?;
    let identity = identity.to_vec();
    let version = version.to_vec();
    let dest = dest.clone();
    std::thread::Builder::new()
        .name("dnstap".into())
        .spawn(move || writer(rx, out, &dest, &identity, &version))?;
    Ok(())
}

fn writer(rx: Receiver<Msg>, mut out: Output, dest: &Destination, identity: &[u8], version: &[u8]) {
    let mut frames = Vec::with_capacity(64 * 1024);
    let mut message = Vec::with_capacity(2048);
    let mut broken = false;
    let sink = sink().expect("set before the writer starts");
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut stop = None;
        let mut exchanges = 0u64;
        // Everything waiting, then one write.
        while let Some(msg) = next.take() {
            match msg {
                Msg::Exchange(x) => {
                    exchanges += 1;
                    for kind in [MessageType::AuthQuery, MessageType::AuthResponse] {
                        message.clear();
                        encode::dnstap(&mut message, identity, version, kind, &x);
                        encode::data_frame(&mut frames, &message);
                    }
                }
                Msg::Stop(ack) => {
                    stop = Some(ack);
                    break;
                }
            }
            if frames.len() < 256 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        let n = frames.len();
        if broken {
            sink.dropped.fetch_add(exchanges, Ordering::Relaxed);
        } else if n > 0 {
            let w = out.writer();
            if let Err(e) = w.write_all(&frames).and_then(|_| w.flush()) {
                tracing::error!(%dest, "dnstap output failed, logging stops: {e}");
                broken = true;
            } else {
                sink.written.fetch_add(exchanges, Ordering::Relaxed);
            }
        }
        frames.clear();
        if let Some(ack) = stop {
            if !broken {
                let w = out.writer();
                let _ = w
                    .write_all(&encode::control_frame(encode::CONTROL_STOP, false))
                    .and_then(|_| w.flush());
                if let Output::Unix(s) = &mut out {
                    let _ = read_control(s); // FINISH
                }
            }
            let _ = ack.send(());
            return;
        }
    }
}

impl Sink {
    /// Logs one exchange, or counts it dropped when the writer is behind.
    pub fn log(&self, x: Exchange) {
        match self.tx.try_send(Msg::Exchange(Box::new(x))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Builds and logs the exchange of `query` and `response` with `client`.
    pub fn log_exchange(
        &self,
        tcp: bool,
        client: SocketAddr,
        server: Option<SocketAddr>,
        received: SystemTime,
        query: &[u8],
        response: &[u8],
    ) {
        self.log(Exchange {
            tcp,
            client,
            server,
            received,
            answered: SystemTime::now(),
            query: query.to_vec(),
            response: response.to_vec(),
        });
    }
}

/// Ends the stream (STOP frame, flushed) before the process exits; waits at most a second.
pub fn finish() {
    let Some(s) = sink() else { return };
    let (ack, done) = sync_channel(1);
    if s.tx.send(Msg::Stop(ack)).is_ok() {
        let _ = done.recv_timeout(Duration::from_secs(1));
    }
}
