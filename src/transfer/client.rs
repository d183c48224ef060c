//! The secondary's side of the wire: an SOA query to the primary, and an IXFR or AXFR read
//! message by message until the closing SOA, with names decompressed into our own records.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::journal::{soa_serial, Change};
use super::records::Rr;
use super::tsig::{self, Key, ResponseVerifier};
use crate::wire::types::{self, *};

const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the next message of a transfer.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an SOA query or a transfer from a primary failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("socket: {0}")]
    Socket(std::io::Error),
    #[error("{peer}: {source}")]
    Io {
        peer: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}: no answer to the SOA query")]
    NoAnswer(SocketAddr),
    #[error("{0}: connect timed out")]
    ConnectTimeout(SocketAddr),
    #[error("transfer stalled")]
    Stalled,
    #[error("{peer}: SOA query answered with rcode {rcode}")]
    SoaRcode { peer: SocketAddr, rcode: u8 },
    #[error("{0}: SOA answer is not authoritative (is the zone configured there?)")]
    NotAuthoritative(SocketAddr),
    #[error("{0}: no SOA in the answer")]
    NoSoa(SocketAddr),
    #[error("TSIG: {0}")]
    Tsig(String),
    #[error("transfer: response with another id")]
    WrongId,
    #[error("{} refused: {}", types::mnemonic(*qtype), refusal_text(*rcode))]
    Refused { qtype: u16, rcode: u8 },
    #[error("malformed transfer message")]
    Malformed,
    #[error("empty transfer")]
    Empty,
    #[error("transfer ended after one SOA")]
    OneSoa,
    #[error("IXFR step without its new SOA")]
    StepWithoutSoa,
}

fn refusal_text(rcode: u8) -> String {
    match rcode {
        5 => "REFUSED (are we in the primary's allow-transfer list?)".to_string(),
        9 => "NOTAUTH (not authoritative, or TSIG refused)".to_string(),
        other => format!("rcode {other}"),
    }
}

/// What a transfer brought.
#[derive(Debug)]
pub enum Pulled {
    /// Our version is current.
    UpToDate,
    /// A whole zone (AXFR, or IXFR answered in AXFR form): its SOA and the other records.
    Full {
        soa: Rr<'static>,
        records: Vec<Rr<'static>>,
    },
    /// IXFR steps from our serial to theirs.
    Incremental(Vec<Change>),
}

/// A message with one question (`origin`, `qtype`) and, when given, the zone's SOA as the one
/// record of the answer section (NOTIFY, RFC 1996 §3.7) or of the authority section (IXFR,
/// RFC 1995 §3); `additional` counts records the caller appends.
pub(crate) fn soa_message(
    id: u16,
    flags: u16,
    origin: &[u8],
    qtype: u16,
    soa: Option<(u32, &[u8])>,
    soa_in_answer: bool,
    additional: u16,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + origin.len() + soa.map_or(0, |s| s.1.len()));
    let has = soa.is_some() as u16;
    let (an, ns) = if soa_in_answer { (has, 0) } else { (0, has) };
    for v in [id, flags, 1, an, ns, additional] {
        m.extend_from_slice(&v.to_be_bytes());
    }
    m.extend_from_slice(origin);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    if let Some((ttl, rdata)) = soa {
        m.extend_from_slice(&[0xC0, 12]);
        m.extend_from_slice(&SOA.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }
    m
}

fn query(id: u16, origin: &[u8], qtype: u16, have_soa: Option<&Rr<'_>>) -> Vec<u8> {
    let transfer = qtype == AXFR || qtype == IXFR;
    let soa = have_soa.map(|s| (s.ttl, &*s.rdata));
    let mut m = soa_message(id, 0, origin, qtype, soa, false, transfer as u16);
    if transfer {
        // OPT asking a policydns primary for the zone's routing policy (`records`); other
        // primaries ignore the unknown option (RFC 6891 §6.1.2).
        m.push(0);
        m.extend_from_slice(&OPT.to_be_bytes());
        m.extend_from_slice(&1232u16.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 4]);
        m.extend_from_slice(&super::records::FULL_OPTION.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
    }
    m
}

/// A query ID no one can guess from the previous one (RFC 5452 §9.2 asks for it).
pub(crate) fn random_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u16
}

/// The primary's current serial, by an SOA query over UDP (TCP when truncated).
pub async fn soa_serial_of(
    primary: SocketAddr,
    origin: &[u8],
    key: Option<&Key>,
) -> Result<u32, PullError> {
    let id = random_id();
    let mut msg = query(id, origin, SOA, None);
    let mac = key.map(|k| tsig::sign_request(k, &mut msg, tsig::now()));
    let bind = if primary.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let io = |source| PullError::Io {
        peer: primary,
        source,
    };
    let sock = UdpSocket::bind(bind).await.map_err(PullError::Socket)?;
    sock.connect(primary).await.map_err(io)?;
    sock.send(&msg).await.map_err(io)?;
    let mut buf = vec![0u8; 65535];
    let resp = loop {
        let n = tokio::time::timeout(QUERY_TIMEOUT, sock.recv(&mut buf))
            .await
            .map_err(|_| PullError::NoAnswer(primary))?
            .map_err(io)?;
        if n >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id && buf[2] & 0x80 != 0 {
            break buf[..n].to_vec();
        }
    };
    let resp = if resp[2] & 0x02 != 0 {
        // Truncated: ask again over TCP.
        let mut stream = connect(primary).await?;
        let mut msg = query(id, origin, SOA, None);
        let mac = key.map(|k| tsig::sign_request(k, &mut msg, tsig::now()));
        send(&mut stream, &msg).await?;
        let r = read_message(&mut stream).await?;
        check(&r, key, mac)?;
        r
    } else {
        check(&resp, key, mac)?;
        resp
    };
    let rc = resp[3] & 0xF;
    if rc != 0 {
        return Err(PullError::SoaRcode {
            peer: primary,
            rcode: rc,
        });
    }
    if resp[2] & 0x04 == 0 {
        return Err(PullError::NotAuthoritative(primary));
    }
    let records = answers(&resp)?;
    records
        .iter()
        .find(|r| r.rtype == SOA && r.owner.eq_ignore_ascii_case(origin))
        .map(|r| soa_serial(&r.rdata))
        .ok_or(PullError::NoSoa(primary))
}

fn check(resp: &[u8], key: Option<&Key>, mac: Option<Vec<u8>>) -> Result<(), PullError> {
    if let (Some(k), Some(mac)) = (key, mac) {
        ResponseVerifier::new(k, mac)
            .verify(resp, tsig::now())
            .map_err(|e| PullError::Tsig(e.to_string()))?;
    }
    Ok(())
}

async fn connect(primary: SocketAddr) -> Result<TcpStream, PullError> {
    let s = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(primary))
        .await
        .map_err(|_| PullError::ConnectTimeout(primary))?
        .map_err(|source| PullError::Io {
            peer: primary,
            source,
        })?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

async fn send(stream: &mut TcpStream, msg: &[u8]) -> Result<(), PullError> {
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    framed.extend_from_slice(msg);
    let peer = stream.peer_addr().map_err(PullError::Socket)?;
    stream
        .write_all(&framed)
        .await
        .map_err(|source| PullError::Io { peer, source })
}

async fn read_message(stream: &mut TcpStream) -> Result<Vec<u8>, PullError> {
    let peer = stream.peer_addr().map_err(PullError::Socket)?;
    let read = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    tokio::time::timeout(MESSAGE_TIMEOUT, read)
        .await
        .map_err(|_| PullError::Stalled)?
        .map_err(|source| PullError::Io { peer, source })
}

/// Pulls the zone: IXFR from our version when we have one, AXFR otherwise.
pub async fn pull(
    primary: SocketAddr,
    origin: &[u8],
    key: Option<&Key>,
    have: Option<&Rr<'_>>,
) -> Result<Pulled, PullError> {
    let mut stream = connect(primary).await?;
    let id = random_id();
    let qtype = if have.is_some() { IXFR } else { AXFR };
    let mut msg = query(id, origin, qtype, have);
    let mut verifier = key.map(|k| {
        let mac = tsig::sign_request(k, &mut msg, tsig::now());
        ResponseVerifier::new(k, mac)
    });
    send(&mut stream, &msg).await?;
    let ours = have.map(|s| soa_serial(&s.rdata));
    let mut all: Vec<Rr<'static>> = Vec::new();
    let mut parser = Stream::default();
    loop {
        let m = read_message(&mut stream).await?;
        if m.len() < 12 || u16::from_be_bytes([m[0], m[1]]) != id {
            return Err(PullError::WrongId);
        }
        if let Some(v) = &mut verifier {
            v.verify(&m, tsig::now())
                .map_err(|e| PullError::Tsig(e.to_string()))?;
        }
        let rc = m[3] & 0xF;
        if rc != 0 {
            return Err(PullError::Refused { qtype, rcode: rc });
        }
        for rr in answers(&m)? {
            if parser.feed(&rr, ours) {
                all.push(rr);
                return finish(all, ours);
            }
            all.push(rr);
        }
        if parser.single_soa_message_ended(ours) {
            return finish(all, ours);
        }
    }
}

/// Tracks where a transfer stands so we know when it has ended.
#[derive(Default)]
struct Stream {
    seen: usize,
    serial: u32,
    incremental: bool,
    /// In an incremental transfer: true while reading additions.
    adding: bool,
    /// The serial the current step leads to.
    step_to: u32,
}

impl Stream {
    /// Takes one record; true when it was the last one.
    fn feed(&mut self, rr: &Rr<'_>, ours: Option<u32>) -> bool {
        self.seen += 1;
        let is_soa = rr.rtype == SOA;
        let serial = if is_soa { soa_serial(&rr.rdata) } else { 0 };
        match self.seen {
            1 => {
                self.serial = serial;
                false
            }
            2 => {
                if is_soa && Some(serial) == ours && serial != self.serial {
                    self.incremental = true;
                    self.adding = false;
                    false
                } else {
                    // AXFR form; a second SOA right away is a zone of one record.
                    is_soa && serial == self.serial
                }
            }
            _ if !self.incremental => is_soa && serial == self.serial,
            _ => {
                if !is_soa {
                    return false;
                }
                if !self.adding {
                    // The SOA ending the deletions: the step's new version.
                    self.adding = true;
                    self.step_to = serial;
                    false
                } else if self.step_to == self.serial && serial == self.serial {
                    true
                } else {
                    // Next step's old version.
                    self.adding = false;
                    false
                }
            }
        }
    }

    /// An IXFR answered with our own SOA alone, in one message: we are current.
    fn single_soa_message_ended(&self, ours: Option<u32>) -> bool {
        self.seen == 1 && Some(self.serial) == ours
    }
}

fn finish(all: Vec<Rr<'static>>, ours: Option<u32>) -> Result<Pulled, PullError> {
    let soa = all.first().cloned().ok_or(PullError::Empty)?;
    let serial = soa_serial(&soa.rdata);
    if all.len() == 1 {
        return if Some(serial) == ours {
            Ok(Pulled::UpToDate)
        } else {
            Err(PullError::OneSoa)
        };
    }
    let incremental = all[1].rtype == SOA
        && Some(soa_serial(&all[1].rdata)) == ours
        && all.len() > 2
        && Some(serial) != ours;
    if !incremental {
        let records: Vec<Rr<'static>> = all[1..all.len() - 1].to_vec();
        return Ok(Pulled::Full { soa, records });
    }
    let mut steps = Vec::new();
    let body = &all[1..all.len() - 1];
    let mut i = 0;
    while i < body.len() {
        let old_soa = body[i].clone();
        i += 1;
        let mut removed = Vec::new();
        while i < body.len() && body[i].rtype != SOA {
            removed.push(body[i].clone());
            i += 1;
        }
        let new_soa = body.get(i).cloned().ok_or(PullError::StepWithoutSoa)?;
        i += 1;
        let mut added = Vec::new();
        while i < body.len() && body[i].rtype != SOA {
            added.push(body[i].clone());
            i += 1;
        }
        steps.push(Change {
            old_soa,
            new_soa,
            removed,
            added,
        });
    }
    Ok(Pulled::Incremental(steps))
}

/// The answer-section records of a message, names decompressed.
pub fn answers(m: &[u8]) -> Result<Vec<Rr<'static>>, PullError> {
    let bad = || PullError::Malformed;
    if m.len() < 12 {
        return Err(bad());
    }
    let qd = u16::from_be_bytes([m[4], m[5]]);
    let an = u16::from_be_bytes([m[6], m[7]]);
    let mut pos = 12;
    for _ in 0..qd {
        let (_, end) = read_name(m, pos, true).ok_or_else(bad)?;
        pos = end + 4;
    }
    let mut out = Vec::with_capacity(an as usize);
    for _ in 0..an {
        let (owner, end) = read_name(m, pos, true).ok_or_else(bad)?;
        let head = m.get(end..end + 10).ok_or_else(bad)?;
        let rtype = u16::from_be_bytes([head[0], head[1]]);
        let ttl = u32::from_be_bytes(head[4..8].try_into().unwrap());
        let rdlen = u16::from_be_bytes([head[8], head[9]]) as usize;
        let start = end + 10;
        let rd_end = start + rdlen;
        if rd_end > m.len() {
            return Err(bad());
        }
        let rdata = decompress_rdata(m, rtype, start, rd_end).ok_or_else(bad)?;
        out.push(Rr {
            owner: Cow::Owned(owner),
            rtype,
            ttl,
            rdata: Cow::Owned(rdata),
        });
        pos = rd_end;
    }
    Ok(out)
}

/// RDATA with any compressed names (in the types RFC 3597 §4 allows it for, and the old ones
/// some servers still compress) written out in full.
pub(crate) fn decompress_rdata(m: &[u8], rtype: u16, start: usize, end: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(end - start + 16);
    let name = |pos: usize, out: &mut Vec<u8>| -> Option<usize> {
        let (n, e) = read_name(m, pos, false)?;
        out.extend_from_slice(&n);
        Some(e)
    };
    let rest = |pos: usize, out: &mut Vec<u8>| -> Option<()> {
        if pos > end {
            return None;
        }
        out.extend_from_slice(&m[pos..end]);
        Some(())
    };
    match rtype {
        NS | CNAME | PTR | MB | MG | MR | DNAME | 3 | 4 => {
            let e = name(start, &mut out)?;
            (e == end).then_some(())?;
        }
        SOA | MINFO | RP => {
            let e = name(start, &mut out)?;
            let e = name(e, &mut out)?;
            rest(e, &mut out)?;
        }
        MX | AFSDB | KX | 21 => {
            out.extend_from_slice(m.get(start..start + 2)?);
            let e = name(start + 2, &mut out)?;
            (e == end).then_some(())?;
        }
        SRV => {
            out.extend_from_slice(m.get(start..start + 6)?);
            let e = name(start + 6, &mut out)?;
            (e == end).then_some(())?;
        }
        _ => rest(start, &mut out)?,
    }
    Some(out)
}

use super::tsig::read_name_at as read_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_rdata_names_are_written_out() {
        // Header, question example.test SOA, then one MX whose exchange points at the question.
        let mut m = vec![0, 1, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07example\x04test\x00");
        m.extend_from_slice(&[0, 6, 0, 1]);
        m.extend_from_slice(&[0xC0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10]);
        m.extend_from_slice(&[2, b'm', b'x', 0xC0, 12]);
        let rrs = answers(&m).unwrap();
        assert_eq!(rrs.len(), 1);
        assert_eq!(&*rrs[0].owner, b"\x07example\x04test\x00");
        assert_eq!(&*rrs[0].rdata, b"\x00\x0a\x02mx\x07example\x04test\x00");
    }

    #[test]
    fn pointer_loops_are_malformed() {
        let mut m = vec![0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
        assert!(answers(&m).is_err());
    }
}
