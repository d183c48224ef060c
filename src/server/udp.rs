//! The UDP hot path: one OS thread per worker, each with its own SO_REUSEPORT socket, receiving
//! and sending in batches (`recvmmsg`/`sendmmsg`). All buffers are allocated once when the worker
//! starts; a packet costs no allocation, no task and no lock (the snapshot is an `arc-swap`
//! load per batch).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, Socket, Type};

use super::rrl::{self, Limiter, Verdict};
use crate::answer;
use crate::metrics::Limited;
use crate::snapshot::Snapshot;
use crate::transfer::update::ReplyTo;
use crate::transfer::Control;
use crate::wire::packet;
use crate::wire::Transport;

/// Datagrams per `recvmmsg`/`sendmmsg` call.
const BATCH: usize = 32;
/// Largest query we read; a larger datagram is not a query we answer (it is dropped).
const RX_SIZE: usize = 4096;
/// Largest response we send over UDP (`edns_payload` is capped at this).
const TX_SIZE: usize = 4096;

/// Per-worker counters, readable while the worker runs.
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    pub answered: AtomicU64,
    pub dropped: AtomicU64,
    /// Dynamic updates handed to the change store, which answers them itself.
    pub handed_over: AtomicU64,
    /// Answers response-rate limiting dropped (those it truncated are answered).
    pub rate_limited: AtomicU64,
}

/// Opens a UDP socket bound with SO_REUSEPORT so that several workers share the address and the
/// kernel spreads datagrams across them.
pub fn bind(addr: SocketAddr) -> io::Result<Socket> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_port(true)?;
    omit_path_mtu_discovery(&s, addr.is_ipv6());
    // Room for bursts while the worker is busy with a batch.
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    // Wake up now and then to notice shutdown.
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    s.bind(&addr.into())?;
    Ok(s)
}

/// The source address of a received datagram, for routing policies.
fn source_ip(sa: &libc::sockaddr_storage) -> Option<std::net::IpAddr> {
    match sa.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in for AF_INET.
            let a = unsafe { &*(sa as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 for AF_INET6.
            let a = unsafe { &*(sa as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(std::net::Ipv6Addr::from(a.sin6_addr.s6_addr).into())
        }
        _ => None,
    }
}

/// The source address and port of a received datagram (where an answer sent later goes).
fn source_addr(sa: &libc::sockaddr_storage) -> Option<SocketAddr> {
    let port = match sa.ss_family as libc::c_int {
        // SAFETY: the kernel wrote a sockaddr_in for AF_INET.
        libc::AF_INET => u16::from_be(unsafe {
            (*(sa as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()).sin_port
        }),
        // SAFETY: the kernel wrote a sockaddr_in6 for AF_INET6.
        libc::AF_INET6 => u16::from_be(unsafe {
            (*(sa as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()).sin6_port
        }),
        _ => return None,
    };
    source_ip(sa).map(|ip| SocketAddr::new(ip, port))
}

/// Sends without the DF bit and ignores path-MTU hints, as NSD, Knot and gdnsd do: forged ICMP
/// "fragmentation needed" cannot shrink our responses, and the kernel skips PMTU bookkeeping
/// per datagram. Best effort: older kernels lack the OMIT mode.
fn omit_path_mtu_discovery(s: &Socket, v6: bool) {
    const IP_PMTUDISC_OMIT: libc::c_int = 5;
    const IPV6_PMTUDISC_OMIT: libc::c_int = 5;
    let (level, opt, val) = if v6 {
        (
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            IPV6_PMTUDISC_OMIT,
        )
    } else {
        (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, IP_PMTUDISC_OMIT)
    };
    // SAFETY: setsockopt with a valid fd and a pointer to a c_int of the given size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            level,
            opt,
            (&val as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Starts a worker thread on an already bound socket.
pub fn spawn(
    socket: Socket,
    snapshot: Arc<ArcSwap<Snapshot>>,
    control: Arc<Control>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    name: String,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name)
        .spawn(move || worker(socket, &snapshot, &control, &stop, &counters))
}

/// Fixed buffers and the `mmsghdr` arrays that point into them. Boxed once, never moved after
/// the pointers are set.
struct Batch {
    rx: [[u8; RX_SIZE]; BATCH],
    tx: [[u8; TX_SIZE]; BATCH],
    addrs: [libc::sockaddr_storage; BATCH],
    rx_iov: [libc::iovec; BATCH],
    tx_iov: [libc::iovec; BATCH],
    rx_msgs: [libc::mmsghdr; BATCH],
    tx_msgs: [libc::mmsghdr; BATCH],
}

impl Batch {
    fn new() -> Box<Batch> {
        // SAFETY: every field is plain old data for which all-zero bytes is a valid value.
        let mut b: Box<Batch> = unsafe { Box::new_zeroed().assume_init() };
        for i in 0..BATCH {
            b.rx_iov[i] = libc::iovec {
                iov_base: b.rx[i].as_mut_ptr().cast(),
                iov_len: RX_SIZE,
            };
            b.rx_msgs[i].msg_hdr.msg_iov = &mut b.rx_iov[i];
            b.rx_msgs[i].msg_hdr.msg_iovlen = 1;
            b.rx_msgs[i].msg_hdr.msg_name = (&mut b.addrs[i] as *mut libc::sockaddr_storage).cast();
        }
        b
    }
}

fn worker(
    socket: Socket,
    snapshot: &ArcSwap<Snapshot>,
    control: &Control,
    stop: &AtomicBool,
    counters: &Counters,
) {
    let fd = socket.as_raw_fd();
    let mut b = Batch::new();
    // Dynamic updates are answered later, by the change store, from a copy of this socket.
    let reply_socket: Option<Arc<std::net::UdpSocket>> =
        socket.try_clone().ok().map(|s| Arc::new(s.into()));
    // Response-rate limiting: this worker's own table, made when it is first turned on.
    let mut rrl: Option<Box<Limiter>> = None;
    let started = std::time::Instant::now();
    let local = socket.local_addr().ok().and_then(|a| a.as_socket());
    while !stop.load(Ordering::Relaxed) {
        for m in b.rx_msgs.iter_mut() {
            m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        // SAFETY: rx_msgs points into `b`, which outlives the call; BATCH entries are valid.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                b.rx_msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n <= 0 {
            continue; // timeout (shutdown check), EINTR, or a transient error
        }
        let n = n as usize;
        counters.received.fetch_add(n as u64, Ordering::Relaxed);
        let snap = snapshot.load();
        let rrl_now = snap
            .options
            .rrl
            .as_ref()
            .map(|_| started.elapsed().as_secs() as u32);
        let mut out = 0usize;
        let mut handed_over = 0usize;
        let Batch {
            rx,
            tx,
            addrs,
            tx_iov,
            rx_msgs,
            tx_msgs,
            ..
        } = &mut *b;
        let metrics = crate::metrics::server();
        let dnstap = crate::dnstap::sink();
        let received = dnstap.map(|_| std::time::SystemTime::now());
        // Each query's time runs from the end of the previous one (the batch's start for
        // the first): one clock read per query.
        let mut since = std::time::Instant::now();
        for i in 0..n {
            let msg = &rx_msgs[i];
            if msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue;
            }
            let len = msg.msg_len as usize;
            let client = source_ip(&addrs[i]);
            let query = &rx[i][..len];
            let parsed = packet::parse(query);
            // Checked only with rate limiting on: a client that returns our cookie is exempt.
            let proven =
                rrl_now.is_some() && answer::cookie_proves_address(&snap, query, &parsed, client);
            if parsed.is_update() {
                if let (Some(socket), Some(to)) = (&reply_socket, source_addr(&addrs[i])) {
                    let reply_to = ReplyTo::Udp {
                        socket: socket.clone(),
                        to,
                    };
                    control.update(&snap, query, parsed, client, Transport::Udp, reply_to);
                    handed_over += 1;
                }
                continue;
            }
            let resp_len = if parsed.is_control() {
                control.respond_udp(&snap, query, parsed, client, &mut tx[out])
            } else {
                answer::respond_parsed(&snap, query, parsed, Transport::Udp, client, &mut tx[out])
            };
            // Read before a query that gets no answer moves on, so its time is not put on
            // the next query's.
            let done = std::time::Instant::now();
            let took = (done - since).as_nanos() as u64;
            since = done;
            if resp_len == 0 {
                continue;
            }
            metrics.duration(Transport::Udp, took);
            let mut resp_len = resp_len;
            if let (Some(settings), Some(now), Some(ip), false) =
                (&snap.options.rrl, rrl_now, client, proven)
            {
                let limiter = rrl.get_or_insert_with(Box::default);
                match limiter.check(settings, now, ip, &tx[out][..resp_len]) {
                    Verdict::Send => {}
                    Verdict::Slip => {
                        metrics.limited(Limited::Slipped);
                        resp_len = rrl::slip(&mut tx[out], resp_len);
                    }
                    Verdict::Drop => {
                        metrics.limited(Limited::Dropped);
                        counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
            if let (Some(sink), Some(received), Some(to)) =
                (dnstap, received, source_addr(&addrs[i]))
            {
                sink.log_exchange(false, to, local, received, query, &tx[out][..resp_len]);
            }
            tx_iov[out] = libc::iovec {
                iov_base: tx[out].as_mut_ptr().cast(),
                iov_len: resp_len,
            };
            // SAFETY: zeroed msghdr is valid; the pointers set below live in `b`.
            tx_msgs[out] = unsafe { zeroed() };
            tx_msgs[out].msg_hdr.msg_iov = &mut tx_iov[out];
            tx_msgs[out].msg_hdr.msg_iovlen = 1;
            tx_msgs[out].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            tx_msgs[out].msg_hdr.msg_namelen = msg.msg_hdr.msg_namelen;
            out += 1;
        }
        drop(snap);
        counters
            .dropped
            .fetch_add((n - out - handed_over) as u64, Ordering::Relaxed);
        // (rate-limited answers are among the dropped, and counted apart as well)
        if handed_over > 0 {
            counters
                .handed_over
                .fetch_add(handed_over as u64, Ordering::Relaxed);
        }
        let mut sent = 0usize;
        while sent < out {
            // SAFETY: tx_msgs[sent..out] were filled above and point into `b`.
            let r =
                unsafe { libc::sendmmsg(fd, tx_msgs[sent..].as_mut_ptr(), (out - sent) as u32, 0) };
            if r <= 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // This datagram cannot go (e.g. unreachable address): skip it, send the rest.
                sent += 1;
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            counters.answered.fetch_add(r as u64, Ordering::Relaxed);
            sent += r as usize;
        }
    }
}
