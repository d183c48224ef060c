//! Bounded parsing of a query straight from the received bytes: header, the one question, and
//! the OPT record with the options we act on. Nothing is allocated; every read is checked, so a
//! malformed packet ends as FORMERR or silence, never a panic.

use crate::wire::{cookie, types};

pub const HEADER_LEN: usize = 12;

/// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2).
pub mod hflags {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const CD: u16 = 0x0010;
    pub const OPCODE_MASK: u16 = 0x7800;
}

pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const YXDOMAIN: u16 = 6;
    pub const NOTAUTH: u16 = 9;
    /// Extended (RFC 6891 §9): upper 8 bits travel in the OPT TTL.
    pub const BADVERS: u16 = 16;
}

pub const OPCODE_QUERY: u8 = 0;
pub const OPCODE_NOTIFY: u8 = 4;
pub const OPCODE_UPDATE: u8 = 5;

/// EDNS option codes we read.
const OPT_NSID: u16 = 3;
const OPT_ECS: u16 = 8;

/// EDNS Client Subnet as sent (RFC 7871 §6), validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    pub family: u16,
    pub source_prefix: u8,
    pub scope_prefix: u8,
    /// Address bytes, only the first `ceil(source_prefix / 8)` are meaningful.
    pub addr: [u8; 16],
}

impl ClientSubnet {
    pub fn addr_len(&self) -> usize {
        (self.source_prefix as usize).div_ceil(8)
    }
}

/// Where a well-formed COOKIE option's data lies in the packet (RFC 7873 §4): the client
/// cookie, then the server cookie if the client sent one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieAt {
    pub at: u16,
    pub len: u8,
}

impl CookieAt {
    /// The client cookie and the server cookie (empty when there is none).
    pub fn parts<'p>(&self, packet: &'p [u8]) -> (&'p [u8; cookie::CLIENT_LEN], &'p [u8]) {
        let data = &packet[self.at as usize..self.at as usize + self.len as usize];
        cookie::split(data).expect("checked when parsed")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size as sent.
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
    pub nsid: bool,
    pub ecs: Option<ClientSubnet>,
    /// The first COOKIE option (later ones are ignored).
    pub cookie: Option<CookieAt>,
}

/// A parsed query. The question's bytes are `packet[12..question_end]`, in the client's case.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: u16,
    pub flags: u16,
    pub opcode: u8,
    /// Length of the QNAME, which starts right after the header.
    pub qname_len: u8,
    pub qtype: u16,
    pub qclass: u16,
    pub question_end: usize,
    pub edns: Option<Edns>,
    /// A TSIG record came with it: the transfer module verifies and signs such exchanges.
    pub signed: bool,
}

impl Query {
    /// The QNAME as sent (the client's case), in wire form.
    pub fn qname<'p>(&self, packet: &'p [u8]) -> &'p [u8] {
        &packet[HEADER_LEN..HEADER_LEN + self.qname_len as usize]
    }
}

/// What to do with received bytes.
// The query lives on the stack: boxing it would be a heap allocation per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed {
    Query(Query),
    /// Answer with this rcode; echo the question if it was read (`question_end`), and an OPT if
    /// the EDNS record was read.
    Error {
        id: u16,
        flags: u16,
        rcode: u16,
        question: Option<Query>,
    },
    /// Not worth an answer: too short to hold a header, or itself a response.
    Drop,
}

impl Parsed {
    /// A dynamic update (RFC 2136): its zone section reads as the question.
    pub fn is_update(&self) -> bool {
        matches!(self, Parsed::Error { question: Some(q), .. } if q.opcode == OPCODE_UPDATE)
    }

    /// Zone transfers, NOTIFY and TSIG-signed messages: not for the answer path, which never
    /// allocates, but for `transfer`, which sees few of them.
    pub fn is_control(&self) -> bool {
        match self {
            Parsed::Query(q) => q.signed || q.qtype == types::AXFR || q.qtype == types::IXFR,
            Parsed::Error {
                question: Some(q), ..
            } => q.opcode == OPCODE_NOTIFY || q.opcode == OPCODE_UPDATE,
            _ => false,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = u16::from_be_bytes(self.b.get(self.pos..self.pos + 2)?.try_into().ok()?);
        self.pos += 2;
        Some(v)
    }
    fn u32(&mut self) -> Option<u32> {
        let v = u32::from_be_bytes(self.b.get(self.pos..self.pos + 4)?.try_into().ok()?);
        self.pos += 4;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    /// Skips a name that may end in a compression pointer; returns whether it was the root.
    fn skip_name(&mut self) -> Option<bool> {
        let mut first = true;
        loop {
            let len = self.u8()?;
            match len {
                0 => return Some(first),
                1..=63 => {
                    self.take(len as usize)?;
                }
                0xC0..=0xFF => {
                    self.u8()?;
                    return Some(false);
                }
                _ => return None,
            }
            first = false;
        }
    }
}

/// Reads the query. `packet` is exactly the received datagram or TCP message.
pub fn parse(packet: &[u8]) -> Parsed {
    if packet.len() < HEADER_LEN {
        return Parsed::Drop;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let flags = u16::from_be_bytes([packet[2], packet[3]]);
    if flags & hflags::QR != 0 {
        return Parsed::Drop;
    }
    let opcode = ((flags & hflags::OPCODE_MASK) >> 11) as u8;
    let count = |i: usize| u16::from_be_bytes([packet[i], packet[i + 1]]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    let formerr = |question| Parsed::Error {
        id,
        flags,
        rcode: rcode::FORMERR,
        question,
    };
    let unknown_opcode = !matches!(opcode, OPCODE_QUERY | OPCODE_NOTIFY | OPCODE_UPDATE);
    // An opcode we do not implement is NOTIMP whatever it carries (RFC 1035 §4.1.1), as NSD
    // and Knot answer; its header bits mean nothing to us, so none is echoed (RD and CD
    // included: genreport's `opcodeflg`).
    let notimp = |question| Parsed::Error {
        id,
        flags: flags & hflags::OPCODE_MASK,
        rcode: rcode::NOTIMP,
        question,
    };
    if unknown_opcode && qd != 1 {
        return notimp(None);
    }
    if qd != 1 {
        // Zero or several questions: no server answers those (RFC 9619).
        return formerr(None);
    }

    let mut q = Query {
        id,
        flags,
        opcode,
        qname_len: 0,
        qtype: 0,
        qclass: 0,
        question_end: 0,
        edns: None,
        signed: false,
    };
    let mut c = Cursor {
        b: packet,
        pos: HEADER_LEN,
    };
    // QNAME: plain labels only; a pointer here could only point into the header.
    let mut n = 0usize;
    loop {
        let Some(len) = c.u8() else {
            return formerr(None);
        };
        if len > 63 {
            return formerr(None);
        }
        if n + 1 + len as usize > 255 {
            return formerr(None);
        }
        n += 1;
        if len == 0 {
            break;
        }
        if c.take(len as usize).is_none() {
            return formerr(None);
        }
        n += len as usize;
    }
    q.qname_len = n as u8;
    let (Some(qtype), Some(qclass)) = (c.u16(), c.u16()) else {
        return formerr(None);
    };
    q.qtype = qtype;
    q.qclass = qclass;
    q.question_end = c.pos;

    if opcode != OPCODE_QUERY {
        // Knot's way, on the whole answer: the question and an OPT echoed when the request
        // had them (RFC 6891 §7). Sections we cannot read leave the OPT out.
        q.edns = opt_of_any_message(&mut c, an, ns, ar);
        return if unknown_opcode {
            notimp(Some(q))
        } else {
            Parsed::Error {
                id,
                flags,
                rcode: rcode::NOTIMP,
                question: Some(q),
            }
        };
    }
    // A query carries no answers; an authority section only in IXFR (RFC 1995 §3).
    if an != 0 || (ns != 0 && qtype != types::IXFR) {
        return formerr(Some(q));
    }
    for _ in 0..ns {
        if skip_record(&mut c).is_none() {
            return formerr(Some(q));
        }
    }
    for _ in 0..ar {
        let Some(root) = c.skip_name() else {
            return formerr(Some(q));
        };
        let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) =
            (c.u16(), c.u16(), c.u32(), c.u16())
        else {
            return formerr(Some(q));
        };
        let Some(rdata) = c.take(rdlen as usize) else {
            return formerr(Some(q));
        };
        if rtype == types::TSIG {
            q.signed = true;
        }
        if rtype != types::OPT {
            continue; // TSIG and others: the transfer code reads those itself.
        }
        // RFC 6891 §6.1.1: one OPT, owned by the root.
        if q.edns.is_some() || !root {
            q.edns = None;
            return formerr(Some(q));
        }
        match parse_opt(class, ttl, rdata, c.pos - rdata.len()) {
            Some(Ok(e)) => q.edns = Some(e),
            // A bad option (a malformed client subnet): FORMERR, with an OPT all the same
            // (RFC 6891 §7), carrying what could be read.
            Some(Err(e)) => {
                q.edns = Some(e);
                return formerr(Some(q));
            }
            None => return formerr(Some(q)),
        }
    }
    if c.pos != packet.len() {
        // Octets after the last record the counts announce: a malformed message, as NSD and
        // Knot judge it (a TCP message padded to its length field's maximum included).
        return formerr(Some(q));
    }
    Parsed::Query(q)
}

fn skip_record(c: &mut Cursor<'_>) -> Option<()> {
    c.skip_name()?;
    c.take(8)?;
    let rdlen = c.u16()?;
    c.take(rdlen as usize)?;
    Some(())
}

/// The OPT record's fields; `None` when its options do not parse, `Err` (with the fields
/// read) when one option is malformed. `rdata_at`: where the RDATA starts in the packet.
fn parse_opt(class: u16, ttl: u32, rdata: &[u8], rdata_at: usize) -> Option<Result<Edns, Edns>> {
    let mut e = Edns {
        payload: class,
        version: (ttl >> 16) as u8,
        dnssec_ok: ttl & 0x8000 != 0,
        nsid: false,
        ecs: None,
        cookie: None,
    };
    let mut c = Cursor { b: rdata, pos: 0 };
    let mut bad = false;
    while c.pos < rdata.len() {
        let code = c.u16()?;
        let len = c.u16()?;
        let data = c.take(len as usize)?;
        match code {
            OPT_NSID => e.nsid = true,
            OPT_ECS => match parse_ecs(data) {
                Some(ecs) => e.ecs = Some(ecs),
                None => bad = true,
            },
            // A malformed cookie is FORMERR (RFC 7873 §5.2.2); only the first one counts.
            cookie::OPTION if e.cookie.is_none() => match cookie::split(data) {
                Some(_) => {
                    e.cookie = Some(CookieAt {
                        at: (rdata_at + c.pos - data.len()) as u16,
                        len: data.len() as u8,
                    })
                }
                None => bad = true,
            },
            _ => {}
        }
    }
    Some(if bad { Err(e) } else { Ok(e) })
}

/// The OPT of a message of another opcode (its sections skipped), if it reads.
fn opt_of_any_message(c: &mut Cursor<'_>, an: u16, ns: u16, ar: u16) -> Option<Edns> {
    for _ in 0..u32::from(an) + u32::from(ns) {
        skip_record(c)?;
    }
    let mut edns = None;
    for _ in 0..ar {
        let root = c.skip_name()?;
        let (rtype, class, ttl, rdlen) = (c.u16()?, c.u16()?, c.u32()?, c.u16()?);
        let rdata = c.take(rdlen as usize)?;
        if rtype == types::OPT && root && edns.is_none() {
            edns = Some(parse_opt(class, ttl, rdata, c.pos - rdata.len())?.unwrap_or_else(|e| e));
        }
    }
    edns
}

/// RFC 7871 §6 and §7.1.2: malformed subnets are FORMERR.
fn parse_ecs(d: &[u8]) -> Option<ClientSubnet> {
    if d.len() < 4 {
        return None;
    }
    let family = u16::from_be_bytes([d[0], d[1]]);
    let (source, scope) = (d[2], d[3]);
    let max = match family {
        1 => 32,
        2 => 128,
        _ => return None,
    };
    if source > max || scope != 0 {
        return None;
    }
    let addr = &d[4..];
    let need = (source as usize).div_ceil(8);
    if addr.len() != need {
        return None;
    }
    // Bits past the source prefix must be zero.
    if source % 8 != 0 {
        let mask = 0xFFu8 >> (source % 8);
        if addr[need - 1] & mask != 0 {
            return None;
        }
    }
    let mut a = [0u8; 16];
    a[..need].copy_from_slice(addr);
    Some(ClientSubnet {
        family,
        source_prefix: source,
        scope_prefix: 0,
        addr: a,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, extra: &[u8], arcount: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&arcount.to_be_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(extra);
        p
    }
    const WWW: &[u8] = b"\x03WwW\x07example\x04test\x00";

    fn opt(payload: u16, version: u8, options: &[u8]) -> Vec<u8> {
        let mut o = vec![0, 0, 41];
        o.extend_from_slice(&payload.to_be_bytes());
        o.extend_from_slice(&[0, version, 0, 0]);
        o.extend_from_slice(&(options.len() as u16).to_be_bytes());
        o.extend_from_slice(options);
        o
    }

    #[test]
    fn question_is_read_and_bounded() {
        let Parsed::Query(q) = parse(&query(WWW, 1, &[], 0)) else {
            panic!()
        };
        assert_eq!(q.qname(&query(WWW, 1, &[], 0)), WWW);
        assert_eq!(q.question_end, 12 + WWW.len() + 4);
        assert!(q.edns.is_none());
    }

    #[test]
    fn short_packets_and_responses_are_dropped() {
        assert!(matches!(parse(&[0; 11]), Parsed::Drop));
        let mut p = query(WWW, 1, &[], 0);
        p[2] |= 0x80;
        assert!(matches!(parse(&p), Parsed::Drop));
    }

    #[test]
    fn truncated_question_is_formerr_without_question() {
        let p = query(WWW, 1, &[], 0);
        let Parsed::Error {
            rcode, question, ..
        } = parse(&p[..p.len() - 3])
        else {
            panic!()
        };
        assert_eq!(rcode, rcode::FORMERR);
        assert!(question.is_none());
    }

    #[test]
    fn pointer_in_qname_is_formerr() {
        let p = query(b"\xc0\x0c", 1, &[], 0);
        assert!(matches!(
            parse(&p),
            Parsed::Error {
                rcode: rcode::FORMERR,
                ..
            }
        ));
    }

    #[test]
    fn two_opt_records_are_formerr() {
        let mut extra = opt(1232, 0, &[]);
        extra.extend(opt(1232, 0, &[]));
        let p = query(WWW, 1, &extra, 2);
        assert!(matches!(
            parse(&p),
            Parsed::Error {
                rcode: rcode::FORMERR,
                ..
            }
        ));
    }

    #[test]
    fn the_first_cookie_is_found_where_it_lies_and_a_malformed_one_is_formerr() {
        // NSID, then a cookie with a server part, then a second cookie (ignored).
        let mut options = vec![0, 3, 0, 0, 0, 10, 0, 16];
        options.extend(1..=16u8);
        options.extend([0, 10, 0, 8, 9, 9, 9, 9, 9, 9, 9, 9]);
        let p = query(WWW, 1, &opt(1232, 0, &options), 1);
        let Parsed::Query(q) = parse(&p) else {
            panic!()
        };
        let (client, server) = q.edns.unwrap().cookie.unwrap().parts(&p);
        assert_eq!(client, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(server, &[9, 10, 11, 12, 13, 14, 15, 16]);
        let bad = query(
            WWW,
            1,
            &opt(1232, 0, &[0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            1,
        );
        assert!(matches!(
            parse(&bad),
            Parsed::Error {
                rcode: rcode::FORMERR,
                question: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn edns_fields_are_read() {
        let p = query(WWW, 1, &opt(4096, 1, &[0, 3, 0, 0]), 1);
        let Parsed::Query(q) = parse(&p) else {
            panic!()
        };
        let e = q.edns.unwrap();
        assert_eq!((e.payload, e.version, e.nsid), (4096, 1, true));
    }

    #[test]
    fn client_subnet_is_validated() {
        let good = [0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2];
        let Parsed::Query(q) = parse(&query(WWW, 1, &opt(1232, 0, &good), 1)) else {
            panic!()
        };
        assert_eq!(q.edns.unwrap().ecs.unwrap().source_prefix, 24);
        // Host bits set beyond /23.
        let bad = [0, 8, 0, 7, 0, 1, 23, 0, 192, 0, 3];
        assert!(matches!(
            parse(&query(WWW, 1, &opt(1232, 0, &bad), 1)),
            Parsed::Error { .. }
        ));
        // Nonzero scope in a query.
        let bad = [0, 8, 0, 7, 0, 1, 24, 8, 192, 0, 2];
        assert!(matches!(
            parse(&query(WWW, 1, &opt(1232, 0, &bad), 1)),
            Parsed::Error { .. }
        ));
    }

    #[test]
    fn other_opcodes_are_notimp_with_question() {
        let mut p = query(WWW, 1, &[], 0);
        p[2] = 0x10; // STATUS (opcode 2)
        let Parsed::Error {
            rcode, question, ..
        } = parse(&p)
        else {
            panic!()
        };
        assert_eq!(rcode, rcode::NOTIMP);
        assert!(question.is_some());
    }

    #[test]
    fn an_update_reads_as_a_control_message_with_its_zone_section() {
        let mut p = query(WWW, 6, &[], 0);
        p[2] = 0x28; // UPDATE
        let parsed = parse(&p);
        assert!(parsed.is_update() && parsed.is_control());
    }

    #[test]
    fn trailing_octets_are_formerr_with_the_question() {
        let mut p = query(WWW, 1, &[], 0);
        p.extend_from_slice(b"garbage");
        let Parsed::Error {
            rcode, question, ..
        } = parse(&p)
        else {
            panic!()
        };
        assert_eq!(rcode, rcode::FORMERR);
        assert!(question.is_some());
    }

    #[test]
    fn an_unknown_opcode_without_a_question_is_notimp() {
        let p = [0x12, 0x34, 0x78, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]; // opcode 15, QDCOUNT 0
        let Parsed::Error {
            rcode, question, ..
        } = parse(&p)
        else {
            panic!()
        };
        assert_eq!((rcode, question.is_none()), (rcode::NOTIMP, true));
    }

    #[test]
    fn records_in_answer_section_are_formerr() {
        let mut p = query(WWW, 1, &[], 0);
        p[7] = 1;
        assert!(matches!(
            parse(&p),
            Parsed::Error {
                rcode: rcode::FORMERR,
                ..
            }
        ));
    }
}
