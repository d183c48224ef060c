//! Bare UDP "echo" server: the floor of the kernel socket path for the
//! benchmark in `bench/compare.sh`.
//!
//! It binds one UDP socket and loops on `recvmmsg` (batch 32, blocking,
//! `MSG_WAITFORONE`), then `sendmmsg`s every datagram back to its source
//! with the DNS header's QR bit set (byte 2 |= 0x80) so dnsperf counts it
//! as a response. No parsing, no allocation per packet: every buffer, iovec
//! and address slot is allocated once at start-up.
//!
//! Usage: `cargo run --release --example udp_echo -- --listen 127.0.0.1:15353`

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

use socket2::{Domain, Protocol, Socket, Type};

const BATCH: usize = 32;
/// Largest datagram we accept; dnsperf queries are far below this.
const BUF_SIZE: usize = 4096;

fn parse_args() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut listen: Option<SocketAddr> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" | "-l" => {
                let v = args.next().ok_or("--listen needs a value")?;
                listen = Some(v.parse().map_err(|e| format!("bad --listen {v:?}: {e}"))?);
            }
            s if s.starts_with("--listen=") => {
                let v = &s["--listen=".len()..];
                listen = Some(v.parse().map_err(|e| format!("bad --listen {v:?}: {e}"))?);
            }
            "-h" | "--help" => {
                return Err("usage: udp_echo --listen ADDR:PORT".into());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    listen.ok_or_else(|| "usage: udp_echo --listen ADDR:PORT".into())
}

/// All per-batch state, allocated once. The `mmsghdr`s hold raw pointers
/// into `bufs`, `iovs` and `addrs`; the struct is boxed and never moved
/// after `wire()`, so the pointers stay valid.
struct Batch {
    bufs: [[u8; BUF_SIZE]; BATCH],
    iovs: [libc::iovec; BATCH],
    addrs: [libc::sockaddr_storage; BATCH],
    msgs: [libc::mmsghdr; BATCH],
}

impl Batch {
    fn new() -> Box<Batch> {
        // SAFETY: every field is plain old data for which all-zero is valid
        // (null pointers and zero lengths); `wire` fills in the pointers.
        let mut b: Box<Batch> = unsafe { Box::new(mem::zeroed()) };
        b.wire();
        b
    }

    fn wire(&mut self) {
        for i in 0..BATCH {
            self.iovs[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            self.iovs[i].iov_len = BUF_SIZE;
            let h = &mut self.msgs[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.msgs[i].msg_len = 0;
        }
    }

    /// Restore receive capacities for the first `n` slots after a send.
    fn reset(&mut self, n: usize) {
        for i in 0..n {
            self.iovs[i].iov_len = BUF_SIZE;
            let h = &mut self.msgs[i].msg_hdr;
            h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_flags = 0;
            self.msgs[i].msg_len = 0;
        }
    }
}

fn run(sock: &Socket) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    let mut b = Batch::new();
    loop {
        // SAFETY: `msgs` points at BATCH fully wired headers owned by `b`.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                b.msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
                _ => return Err(e),
            }
        }
        let n = n as usize;
        for i in 0..n {
            let len = b.msgs[i].msg_len as usize;
            if len > 2 {
                b.bufs[i][2] |= 0x80; // QR = response
            }
            // Send exactly what was received, to the address it came from
            // (msg_namelen was set by the kernel on receive).
            b.iovs[i].iov_len = len;
        }
        let mut sent = 0usize;
        while sent < n {
            // SAFETY: slots sent..n are wired and hold received datagrams.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    b.msgs.as_mut_ptr().add(sent),
                    (n - sent) as libc::c_uint,
                    0,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // Drop the rest of the batch on a transient send error
                    // (e.g. ECONNREFUSED from an ICMP for a gone client).
                    _ => break,
                }
            }
            if r == 0 {
                break;
            }
            sent += r as usize;
        }
        b.reset(n);
    }
}

fn main() -> ExitCode {
    let addr = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("udp_echo: {e}");
            return ExitCode::from(2);
        }
    };
    let sock = match (|| -> io::Result<Socket> {
        let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        // Generous buffers so bursts from dnsperf are not dropped.
        let _ = s.set_recv_buffer_size(4 << 20);
        let _ = s.set_send_buffer_size(4 << 20);
        s.bind(&addr.into())?;
        Ok(s)
    })() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("udp_echo: cannot bind {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("udp_echo: listening on {addr} (recvmmsg/sendmmsg batch {BATCH})");
    match run(&sock) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("udp_echo: {e}");
            ExitCode::from(1)
        }
    }
}
