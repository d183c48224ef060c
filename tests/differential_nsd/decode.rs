//! Responses decoded with hickory-proto and normalised for comparison.
//!
//! A response is read with hickory-proto's own readers, the ones `Message::from_vec` uses
//! (`Header`, `Query`, `Record`, `Edns` from the OPT record), record by record, because
//! `Message::from_vec` itself cannot serve here:
//! * it refuses a record with empty RDATA outside UPDATE (`InvalidEmptyRecord`), which is legal
//!   in a response (RFC 3597) and in the corpus (`unknown.diff.test.` TYPE65281 `\# 0`);
//! * it raises an OPT payload size below 512 to 512 (`DNSClass::for_opt`), so the check that a
//!   server advertises at least 512 (RFC 6891 §6.2.5) needs the OPT CLASS as sent;
//! * it rejects a second OPT record, which is compared here as a difference like any other.
//!
//! Three facts hickory-proto does not keep are read from the message as sent: the header's Z
//! bit, the OPT record's CLASS (the payload size) and the OPT record's options, code and
//! octets (hickory-proto parses only some options and drops them all when one is malformed).
//! Everything else comes from hickory-proto.

use std::fmt;

use hickory_proto::op::{Header, MessageType, Query};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use crate::common::Reply;

/// One record, normalised for comparison. Equality and order use owner (lower-cased), type,
/// class, TTL and the RDATA as hickory-proto reads it, written again without compression and
/// with the domain names in it lower-cased (NSD keeps one spelling per name in its name table
/// and its compression may point into the qname, so the case of names inside RDATA is not
/// stable there); `rdata` (presentation, original case) is only for printing.
#[derive(Clone)]
pub struct Rr {
    pub owner: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub wire: Vec<u8>,
    pub rdata: String,
}

impl Rr {
    fn key(&self) -> (&str, u16, u16, u32, &[u8]) {
        (&self.owner, self.rtype, self.class, self.ttl, &self.wire)
    }
}

impl PartialEq for Rr {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Rr {}

impl PartialOrd for Rr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Rr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.owner,
            self.ttl,
            class_name(self.class),
            type_name(self.rtype),
            self.rdata
        )
    }
}

/// The first OPT record of a response.
#[derive(Clone, Debug, PartialEq)]
pub struct OptInfo {
    /// The advertised UDP payload size, as sent (hickory-proto raises it to 512).
    pub payload: u16,
    pub ext_rcode: u8,
    pub version: u8,
    pub dnssec_ok: bool,
    pub z: u16,
    /// The EDNS options, in the order sent.
    pub options: Vec<EdnsOpt>,
}

/// One EDNS option of a response: its code and its octets as sent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EdnsOpt {
    pub code: u16,
    pub data: Vec<u8>,
}

impl EdnsOpt {
    /// What is compared: code and octets, except a COOKIE (RFC 7873), of which the client
    /// cookie is compared and of the server cookie only the length (each server makes its own).
    pub fn key(&self) -> (u16, Vec<u8>) {
        if self.code == 10 && self.data.len() > 8 {
            let mut k = self.data[..8].to_vec();
            k.push((self.data.len() - 8) as u8);
            return (self.code, k);
        }
        (self.code, self.data.clone())
    }
}

/// The name of an Extended DNS Error INFO-CODE (RFC 8914 §4).
pub fn ede_name(code: u16) -> &'static str {
    match code {
        0 => "Other Error",
        1 => "Unsupported DNSKEY Algorithm",
        2 => "Unsupported DS Digest Type",
        3 => "Stale Answer",
        4 => "Forged Answer",
        5 => "DNSSEC Indeterminate",
        6 => "DNSSEC Bogus",
        7 => "Signature Expired",
        8 => "Signature Not Yet Valid",
        9 => "DNSKEY Missing",
        10 => "RRSIGs Missing",
        11 => "No Zone Key Bit Set",
        12 => "NSEC Missing",
        13 => "Cached Error",
        14 => "Not Ready",
        15 => "Blocked",
        16 => "Censored",
        17 => "Filtered",
        18 => "Prohibited",
        19 => "Stale NXDomain Answer",
        20 => "Not Authoritative",
        21 => "Not Supported",
        22 => "No Reachable Authority",
        23 => "Network Error",
        24 => "Invalid Data",
        _ => "?",
    }
}

impl fmt::Display for EdnsOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.data;
        match self.code {
            // RFC 8914: INFO-CODE, then EXTRA-TEXT (UTF-8, not NUL-terminated)
            15 if d.len() >= 2 => {
                let info = u16::from_be_bytes([d[0], d[1]]);
                write!(f, "EDE {info} ({})", ede_name(info))?;
                if d.len() > 2 {
                    write!(f, " text={:?}", String::from_utf8_lossy(&d[2..]))?;
                }
                Ok(())
            }
            // RFC 7871: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS
            8 if d.len() >= 4 => {
                let family = u16::from_be_bytes([d[0], d[1]]);
                let addr = &d[4..];
                let a = match family {
                    1 => {
                        let mut o = [0u8; 4];
                        let n = addr.len().min(4);
                        o[..n].copy_from_slice(&addr[..n]);
                        std::net::Ipv4Addr::from(o).to_string()
                    }
                    2 => {
                        let mut o = [0u8; 16];
                        let n = addr.len().min(16);
                        o[..n].copy_from_slice(&addr[..n]);
                        std::net::Ipv6Addr::from(o).to_string()
                    }
                    _ => hex(addr),
                };
                write!(f, "ECS family={family} {a}/{} scope=/{}", d[2], d[3])?;
                if addr.len() != (d[2] as usize).div_ceil(8) {
                    write!(f, " (address {} octets)", addr.len())?;
                }
                Ok(())
            }
            3 => write!(f, "NSID {:?}", String::from_utf8_lossy(d)),
            10 => write!(
                f,
                "COOKIE client={} server={} octets",
                hex(&d[..d.len().min(8)]),
                d.len().saturating_sub(8)
            ),
            9 if d.len() == 4 => {
                write!(f, "EXPIRE {}", u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
            }
            code => write!(f, "option {code}={}", hex(d)),
        }
    }
}

/// The options of an OPT RDATA, as sent; an error when they do not fill it exactly.
fn opt_options(rdata: &[u8]) -> Result<Vec<EdnsOpt>, String> {
    let mut out = vec![];
    let mut i = 0;
    while i < rdata.len() {
        if rdata.len() - i < 4 {
            return Err(format!("OPT RDATA: {} stray octets", rdata.len() - i));
        }
        let code = u16::from_be_bytes([rdata[i], rdata[i + 1]]);
        let len = u16::from_be_bytes([rdata[i + 2], rdata[i + 3]]) as usize;
        i += 4;
        if rdata.len() - i < len {
            return Err(format!("OPT option {code}: length {len} past the RDATA"));
        }
        out.push(EdnsOpt {
            code,
            data: rdata[i..i + len].to_vec(),
        });
        i += len;
    }
    Ok(out)
}

/// The options of an OPT record as text.
pub fn options_text(opts: &[EdnsOpt]) -> String {
    if opts.is_empty() {
        return "none".into();
    }
    opts.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A decoded response.
pub struct Parsed {
    pub id: u16,
    pub qr: bool,
    pub opcode: u8,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub z: bool,
    pub ad: bool,
    pub cd: bool,
    pub rcode_low: u8,
    /// "qname class type", qname case preserved
    pub question: Vec<String>,
    pub answer: Vec<Rr>,
    pub authority: Vec<Rr>,
    /// without OPT
    pub additional: Vec<Rr>,
    pub opt: Option<OptInfo>,
    pub opt_count: usize,
}

impl Parsed {
    pub fn rcode(&self) -> u16 {
        let ext = self.opt.as_ref().map_or(0, |o| o.ext_rcode as u16);
        (ext << 4) | self.rcode_low as u16
    }
    pub fn rcode_str(&self) -> String {
        rcode_name(self.rcode())
    }
    pub fn flags(&self) -> String {
        let mut v = vec![];
        for (on, n) in [
            (self.qr, "qr"),
            (self.aa, "aa"),
            (self.tc, "tc"),
            (self.rd, "rd"),
            (self.ra, "ra"),
            (self.z, "z"),
            (self.ad, "ad"),
            (self.cd, "cd"),
        ] {
            if on {
                v.push(n);
            }
        }
        v.join(" ")
    }
    pub fn opt_str(&self) -> String {
        match &self.opt {
            None if self.opt_count == 0 => "none".into(),
            None => format!("{} OPT records", self.opt_count),
            Some(o) if self.opt_count > 1 => format!("{} OPT records, first {o:?}", self.opt_count),
            Some(o) => format!("version={} do={} z={:#x}", o.version, o.dnssec_ok, o.z),
        }
    }
    /// The EDNS options of the (first) OPT record, as text ("none" without OPT too).
    pub fn options_str(&self) -> String {
        self.opt
            .as_ref()
            .map_or_else(|| "none".into(), |o| options_text(&o.options))
    }
    /// The option keys compared (see [`EdnsOpt::key`]), sorted.
    pub fn option_keys(&self) -> Vec<(u16, Vec<u8>)> {
        let mut k: Vec<_> = self
            .opt
            .iter()
            .flat_map(|o| o.options.iter().map(EdnsOpt::key))
            .collect();
        k.sort();
        k
    }
    pub fn summary(&self) -> String {
        let opt = match &self.opt {
            None => String::new(),
            Some(o) if o.options.is_empty() => " +OPT".into(),
            Some(o) => format!(" +OPT({})", options_text(&o.options)),
        };
        format!(
            "{} [{}] qd={} an={} ns={} ar={}{}",
            self.rcode_str(),
            self.flags(),
            self.question.len(),
            self.answer.len(),
            self.authority.len(),
            self.additional.len(),
            opt
        )
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

pub fn rcode_name(rc: u16) -> String {
    let n = match rc {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => return format!("RCODE{rc}"),
    };
    n.to_string()
}

pub fn type_name(t: u16) -> String {
    match RecordType::from(t) {
        RecordType::Unknown(_) | RecordType::ZERO => format!("TYPE{t}"),
        rt => rt.to_string(),
    }
}

pub fn class_name(c: u16) -> String {
    match DNSClass::from(c) {
        DNSClass::Unknown(_) | DNSClass::OPT(_) => format!("CLASS{c}"),
        dc => dc.to_string(),
    }
}

/// A name in presentation format, its case and every octet of its labels kept (special
/// characters escaped with `\`, others outside printable ASCII as `\DDD`).
fn name_text(name: &Name) -> String {
    let mut text = String::new();
    for label in name.iter() {
        for &c in label {
            match c {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    text.push('\\');
                    text.push(c as char)
                }
                0x21..=0x7e => text.push(c as char),
                _ => text.push_str(&format!("\\{c:03}")),
            }
        }
        text.push('.');
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

/// The RDATA of `record` for comparison: written again by hickory-proto in DNSSEC canonical
/// form, which lower-cases and does not compress the names inside the RDATA of the types RFC
/// 4034 §6.2 lists (NS, CNAME, SOA, PTR, MX, SRV, NAPTR, ...). DNAME is not a type
/// hickory-proto knows (it keeps the octets): its target is read (at `rdata_at` in `msg`, so
/// that a compression pointer resolves) and lower-cased here.
fn canonical_rdata(msg: &[u8], rdata_at: usize, record: &Record) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    if record.record_type() == RecordType::DNAME {
        let RData::Unknown { rdata, .. } = &record.data else {
            return Err(format!("DNAME read as {:?}", record.data));
        };
        let mut d = BinDecoder::new(msg).clone(rdata_at as u16);
        let target = Name::read(&mut d).map_err(|e| format!("DNAME target: {e}"))?;
        if d.index() - rdata_at != rdata.anything.len() {
            return Err("DNAME RDATA longer than its target".into());
        }
        let mut e = BinEncoder::new(&mut out);
        e.set_canonical_form(true);
        target
            .to_lowercase()
            .emit(&mut e)
            .map_err(|e| e.to_string())?;
        return Ok(out);
    }
    let mut e = BinEncoder::new(&mut out);
    e.set_canonical_form(true);
    record.data.emit(&mut e).map_err(|e| e.to_string())?;
    Ok(out)
}

/// <character-string>s in presentation format (RFC 1035 §5.1): each quoted, `"` and `\\`
/// escaped, octets outside printable ASCII as `\DDD`.
fn char_strings<'a>(strings: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut out = vec![];
    for b in strings {
        let mut s = String::from("\"");
        for &c in b {
            match c {
                b'"' | b'\\' => {
                    s.push('\\');
                    s.push(c as char)
                }
                0x20..=0x7e => s.push(c as char),
                _ => s.push_str(&format!("\\{c:03}")),
            }
        }
        s.push('"');
        out.push(s);
    }
    out.join(" ")
}

/// The RDATA in presentation format, as hickory-proto writes it; RFC 3597's generic form for
/// what hickory-proto does not know or keeps as bare octets.
fn present_rdata(msg: &[u8], rdata_at: usize, record: &Record, wire: &[u8]) -> String {
    let generic = || format!("\\# {} {}", wire.len(), hex(wire));
    match &record.data {
        RData::Unknown { .. } if record.record_type() == RecordType::DNAME => {
            let mut d = BinDecoder::new(msg).clone(rdata_at as u16);
            Name::read(&mut d).map_or_else(|_| generic(), |n| name_text(&n))
        }
        RData::Unknown { .. } | RData::Update0(_) | RData::NULL(_) => generic(),
        // hickory-proto writes <character-string>s without quotes, so where one ends is lost
        RData::TXT(t) => char_strings(t.txt_data.iter().map(|s| &s[..])),
        RData::HINFO(h) => char_strings([&h.cpu[..], &h.os[..]]),
        rd => rd.to_string(),
    }
}

/// Decodes a response with hickory-proto: header, question, then each record of the answer,
/// authority and additional sections; the message must be used to its last octet.
pub fn parse(msg: &[u8]) -> Result<Parsed, String> {
    let mut d = BinDecoder::new(msg);
    let Header {
        metadata: m,
        counts,
    } = Header::read(&mut d).map_err(|e| e.to_string())?;
    let mut p = Parsed {
        id: m.id,
        qr: m.message_type == MessageType::Response,
        opcode: u8::from(m.op_code),
        aa: m.authoritative,
        tc: m.truncation,
        rd: m.recursion_desired,
        ra: m.recursion_available,
        // hickory-proto's Metadata has no Z bit: read it from the message as sent.
        z: msg[3] & 0x40 != 0,
        ad: m.authentic_data,
        cd: m.checking_disabled,
        rcode_low: (u16::from(m.response_code) & 0xF) as u8,
        question: vec![],
        answer: vec![],
        authority: vec![],
        additional: vec![],
        opt: None,
        opt_count: 0,
    };
    for _ in 0..counts.queries {
        let q = Query::read(&mut d).map_err(|e| format!("question: {e}"))?;
        p.question.push(format!(
            "{} {} {}",
            name_text(q.name()),
            class_name(q.query_class().into()),
            type_name(q.query_type().into())
        ));
    }
    let sections = [counts.answers, counts.authorities, counts.additionals];
    for (si, &n) in sections.iter().enumerate() {
        for _ in 0..n {
            let start = d.index();
            let record = Record::read(&mut d).map_err(|e| format!("record at {start}: {e}"))?;
            let end = d.index();
            if record.record_type() == RecordType::OPT {
                p.opt_count += 1;
                if si != 2 {
                    return Err("OPT outside the additional section".into());
                }
                if p.opt.is_none() {
                    let edns = hickory_proto::op::Edns::from(&record);
                    p.opt = Some(OptInfo {
                        payload: opt_class_as_sent(msg, start)?,
                        ext_rcode: edns.rcode_high(),
                        version: edns.version(),
                        dnssec_ok: edns.flags().dnssec_ok,
                        z: edns.flags().z,
                        options: opt_options(&msg[end - rdata_len(msg, start)?..end])?,
                    });
                }
                continue;
            }
            let rdata_len = rdata_len(msg, start)?;
            let rdata_at = end - rdata_len;
            let wire = canonical_rdata(msg, rdata_at, &record)?;
            let rr = Rr {
                owner: name_text(&record.name).to_ascii_lowercase(),
                rtype: record.record_type().into(),
                class: record.dns_class.into(),
                ttl: record.ttl,
                rdata: present_rdata(msg, rdata_at, &record, &wire),
                wire,
            };
            [&mut p.answer, &mut p.authority, &mut p.additional][si].push(rr);
        }
    }
    if !d.is_empty() {
        return Err(format!("{} trailing octets", d.len()));
    }
    p.answer.sort();
    p.authority.sort();
    p.additional.sort();
    Ok(p)
}

/// The fixed fields after the owner name of the record at `start`: (TYPE, CLASS, RDLENGTH) as
/// sent.
fn fixed_fields(msg: &[u8], start: usize) -> Result<(u16, u16, u16), String> {
    let e = |e: hickory_proto::serialize::binary::DecodeError| e.to_string();
    let mut d = BinDecoder::new(msg).clone(start as u16);
    Name::read(&mut d).map_err(e)?;
    let rtype = d.read_u16().map_err(e)?.unverified();
    let class = d.read_u16().map_err(e)?.unverified();
    d.read_u32().map_err(e)?;
    let rdlength = d.read_u16().map_err(e)?.unverified();
    Ok((rtype, class, rdlength))
}

/// The OPT record's CLASS (the advertised payload size) as sent.
fn opt_class_as_sent(msg: &[u8], start: usize) -> Result<u16, String> {
    fixed_fields(msg, start).map(|(_, class, _)| class)
}

fn rdata_len(msg: &[u8], start: usize) -> Result<usize, String> {
    fixed_fields(msg, start).map(|(_, _, len)| len as usize)
}

/// `None` when the server did not answer.
pub fn decode(o: &Reply) -> Result<Option<Parsed>, String> {
    match o {
        Reply::NoResponse => Ok(None),
        Reply::Error(e) => Err(e.clone()),
        Reply::Response(b) => parse(b)
            .map(Some)
            .map_err(|e| format!("malformed response ({e}): {}", hex(b))),
    }
}

#[cfg(test)]
mod tests {
    //! What the comparison relies on in hickory-proto's reading.

    use super::*;

    /// A response to `qname` A with one answer record `owner` A 192.0.2.1 (TTL 60) and an OPT
    /// advertising `payload`.
    fn response(qname: &[u8], owner_pointer: bool, payload: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x84, 0x40, 0, 1, 0, 1, 0, 0, 0, 1];
        m.extend_from_slice(qname);
        m.extend_from_slice(&[0, 1, 0, 1]);
        if owner_pointer {
            m.extend_from_slice(&[0xC0, 12]);
        } else {
            m.extend_from_slice(qname);
        }
        m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        m.extend_from_slice(&[0, 0, 41]);
        m.extend_from_slice(&payload.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        m
    }

    #[test]
    fn the_decoder_keeps_question_case_z_and_the_payload_as_sent() {
        let p = parse(&response(b"\x03WwW\x04diff\x04test\x00", true, 100)).unwrap();
        assert_eq!(p.question, vec!["WwW.diff.test. IN A"]);
        assert!(p.z, "the Z bit");
        assert_eq!(p.flags(), "qr aa z");
        assert_eq!(p.opt.as_ref().unwrap().payload, 100, "payload below 512");
        assert_eq!(p.answer.len(), 1);
        assert_eq!(p.answer[0].owner, "www.diff.test.");
        assert_eq!(p.answer[0].wire, vec![192, 0, 2, 1]);
    }

    #[test]
    fn the_decoder_accepts_empty_rdata_and_refuses_trailing_octets() {
        let mut m = response(b"\x01x\x00", false, 1232);
        // the answer: TYPE65281 with RDLENGTH 0
        let at = 12 + 3 + 4 + 3;
        m.splice(at..at + 14, [0xFF, 0x01, 0, 1, 0, 0, 0, 60, 0, 0]);
        let p = parse(&m).unwrap();
        assert_eq!(p.answer[0].wire, Vec::<u8>::new());
        assert_eq!(p.answer[0].rdata, "\\# 0 ");
        m.push(0);
        let Err(e) = parse(&m) else {
            panic!("a trailing octet was accepted")
        };
        assert!(e.contains("trailing"), "{e}");
    }
}
