//! DNS queries: built byte by byte (hickory-proto lowercases names and cannot send every
//! option we need), sent over UDP or TCP, answers decoded with hickory-proto's `Message`.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RData;

/// The OPT record of a query built by [`query_with`]: the advertised UDP payload size and,
/// when given, an EDNS Client Subnet option (address, source prefix).
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub payload: u16,
    pub ecs: Option<(IpAddr, u8)>,
}

/// A query for `name` `qtype` class IN with ID `id`, RD as given, and an OPT record when `opt`
/// is given.
pub fn query_with(id: u16, rd: bool, name: &str, qtype: u16, opt: Option<Opt>) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[rd as u8, 0, 0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8]);
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    if let Some(opt) = opt {
        let mut rdata = vec![];
        if let Some((addr, prefix)) = opt.ecs {
            let (family, bytes): (u16, Vec<u8>) = match addr {
                IpAddr::V4(a) => (1, a.octets().to_vec()),
                IpAddr::V6(a) => (2, a.octets().to_vec()),
            };
            let n = (prefix as usize).div_ceil(8);
            rdata.extend_from_slice(&[0, 8]);
            rdata.extend_from_slice(&((4 + n) as u16).to_be_bytes());
            rdata.extend_from_slice(&family.to_be_bytes());
            rdata.extend_from_slice(&[prefix, 0]);
            rdata.extend_from_slice(&bytes[..n]);
        }
        p.extend_from_slice(&[0, 0, 41]);
        p.extend_from_slice(&opt.payload.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        p.extend_from_slice(&rdata);
    }
    p
}

/// A query for `name` `qtype` (ID 0x1234, RD clear), with an OPT (payload 1232) carrying EDNS
/// Client Subnet (`address`, source prefix) when `ecs` is given.
pub fn query(name: &str, qtype: u16, ecs: Option<(IpAddr, u8)>) -> Vec<u8> {
    query_with(
        0x1234,
        false,
        name,
        qtype,
        ecs.map(|ecs| Opt {
            payload: 1232,
            ecs: Some(ecs),
        }),
    )
}

/// The transport a query goes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
}

/// What one query brought back.
#[derive(Clone, Debug)]
pub enum Reply {
    /// The response: over UDP the first datagram carrying the query's ID, over TCP the first
    /// framed message.
    Response(Vec<u8>),
    /// Nothing within the timeout; over TCP also a connection closed before a length prefix
    /// (the server dropped the query).
    NoResponse,
    /// A local or network error (bind, connect, send, ICMP unreachable, a short TCP read).
    Error(String),
}

impl Reply {
    /// The response decoded with hickory-proto, if there is one and it decodes.
    pub fn message(&self) -> Option<Message> {
        match self {
            Reply::Response(b) => Message::from_vec(b).ok(),
            _ => None,
        }
    }
}

/// Sends `wire` to `addr` over `proto` and waits at most `timeout` for the response (over TCP
/// `timeout` bounds the connect, the write and each read).
pub fn exchange(addr: SocketAddr, proto: Proto, wire: &[u8], timeout: Duration) -> Reply {
    match proto {
        Proto::Udp => udp_exchange(addr, wire, timeout),
        Proto::Tcp => tcp_exchange(addr, wire, timeout),
    }
}

/// [`exchange`], the response decoded with hickory-proto.
pub fn ask(addr: SocketAddr, proto: Proto, wire: &[u8], timeout: Duration) -> Option<Message> {
    exchange(addr, proto, wire, timeout).message()
}

/// A UDP query for `name` `qtype` (built by [`query`]) and its decoded answer, if one comes
/// within `timeout`.
pub fn try_udp(addr: SocketAddr, name: &str, qtype: u16, timeout: Duration) -> Option<Message> {
    ask(addr, Proto::Udp, &query(name, qtype, None), timeout)
}

/// The A records of an answer, as text.
pub fn a_records(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect()
}

/// Writes `msg` with its two-octet length prefix (RFC 1035 §4.2.2).
pub fn write_framed(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    s.write_all(&framed)
}

/// Reads one length-prefixed message.
pub fn read_framed(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut body)?;
    Ok(body)
}

fn udp_exchange(addr: SocketAddr, wire: &[u8], timeout: Duration) -> Reply {
    let sock = match UdpSocket::bind("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => return Reply::Error(format!("bind: {e}")),
    };
    if let Err(e) = sock.connect(addr) {
        return Reply::Error(format!("connect: {e}"));
    }
    if let Err(e) = sock.send(wire) {
        return Reply::Error(format!("send: {e}"));
    }
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Reply::NoResponse;
        }
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => {
                // Ignore stray datagrams with another ID.
                if wire.len() >= 2 && n >= 2 && buf[..2] != wire[..2] {
                    continue;
                }
                return Reply::Response(buf[..n].to_vec());
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return Reply::NoResponse
            }
            // ICMP port unreachable etc.
            Err(e) => return Reply::Error(format!("recv: {e}")),
        }
    }
}

fn tcp_exchange(addr: SocketAddr, wire: &[u8], timeout: Duration) -> Reply {
    let mut s = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => return Reply::Error(format!("tcp connect: {e}")),
    };
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    if let Err(e) = write_framed(&mut s, wire) {
        return Reply::Error(format!("tcp write: {e}"));
    }
    let mut len = [0u8; 2];
    if s.read_exact(&mut len).is_err() {
        // closed or timed out without an answer: the query was dropped
        return Reply::NoResponse;
    }
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    match s.read_exact(&mut body) {
        Ok(()) => Reply::Response(body),
        Err(e) => Reply::Error(format!("tcp short read: {e}")),
    }
}
