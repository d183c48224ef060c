//! Presentation-format RDATA → uncompressed wire form.
//!
//! Types whose RDATA contains domain names are parsed here, because relative names must be
//! completed with the current `$ORIGIN`. Types without names go through hickory-proto's parsers
//! and encoder. RFC 3597's `\# len hex` works for every type.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::lex::{parse_period, Token};
use crate::wire::name;
use crate::wire::types::*;

pub fn parse(rtype: u16, toks: &[Token<'_>], origin: &[u8]) -> Result<Vec<u8>, String> {
    if is_meta(rtype) {
        return Err("query-only type cannot appear in a zone".into());
    }
    if let Some(first) = toks.first() {
        if !first.quoted && first.text == "\\#" {
            let data = generic(&toks[1..])?;
            validate(rtype, &data)?;
            return Ok(data);
        }
    }
    let mut r = Reader { toks, pos: 0 };
    let mut out = Vec::with_capacity(32);
    match rtype {
        A => {
            let ip: Ipv4Addr = r
                .word()?
                .parse()
                .map_err(|_| "bad IPv4 address".to_string())?;
            out.extend_from_slice(&ip.octets());
        }
        AAAA => {
            let ip: Ipv6Addr = r
                .word()?
                .parse()
                .map_err(|_| "bad IPv6 address".to_string())?;
            out.extend_from_slice(&ip.octets());
        }
        NS | CNAME | PTR | DNAME | MB | MG | MR => r.name(&mut out, origin)?,
        MX | AFSDB | KX => {
            r.u16(&mut out)?;
            r.name(&mut out, origin)?;
        }
        RP | MINFO => {
            r.name(&mut out, origin)?;
            r.name(&mut out, origin)?;
        }
        SOA => {
            r.name(&mut out, origin)?;
            r.name(&mut out, origin)?;
            let serial: u32 = r
                .word()?
                .parse()
                .map_err(|_| "bad SOA serial".to_string())?;
            out.extend_from_slice(&serial.to_be_bytes());
            for _ in 0..4 {
                let v = parse_period(r.word()?).map_err(|e| e.to_string())?;
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        SRV => {
            for _ in 0..3 {
                r.u16(&mut out)?;
            }
            r.name(&mut out, origin)?;
        }
        NAPTR => {
            r.u16(&mut out)?;
            r.u16(&mut out)?;
            for _ in 0..3 {
                r.char_string(&mut out)?;
            }
            r.name(&mut out, origin)?;
        }
        TXT | SPF => {
            r.char_string(&mut out)?;
            while !r.done() {
                r.char_string(&mut out)?;
            }
        }
        HINFO => {
            r.char_string(&mut out)?;
            r.char_string(&mut out)?;
        }
        CAA => {
            let flags: u8 = r.word()?.parse().map_err(|_| "bad CAA flags".to_string())?;
            let tag = r.word()?;
            if tag.is_empty() || tag.len() > 255 || !tag.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(format!("bad CAA tag {tag:?}"));
            }
            out.push(flags);
            out.push(tag.len() as u8);
            out.extend_from_slice(tag.as_bytes());
            let value = r.next()?;
            out.extend_from_slice(&unescape(value.text)?);
        }
        DS | CDS => {
            r.u16(&mut out)?;
            r.algorithm(&mut out)?;
            r.u8(&mut out)?;
            r.hex_rest(&mut out)?;
        }
        DNSKEY | CDNSKEY => {
            r.u16(&mut out)?;
            r.u8(&mut out)?;
            r.algorithm(&mut out)?;
            r.base64_rest(&mut out)?;
        }
        RRSIG | NSEC | NSEC3 | NSEC3PARAM => {
            return Err("signed zones are not served yet: remove the DNSSEC records, or give them in RFC 3597 \\# form to carry them opaque".into())
        }
        SSHFP => {
            r.u8(&mut out)?;
            r.u8(&mut out)?;
            r.hex_rest(&mut out)?;
        }
        TLSA => {
            for _ in 0..3 {
                r.u8(&mut out)?;
            }
            r.hex_rest(&mut out)?;
        }
        other => return via_hickory(other, toks),
    }
    if !r.done() {
        return Err(format!("unexpected trailing data {:?}", toks[r.pos].text));
    }
    if out.len() > u16::MAX as usize {
        return Err("RDATA longer than 65535 octets".into());
    }
    Ok(out)
}

/// Checks that RDATA given in `\#` form is well formed where the server reads it (names that
/// compression and additional-section processing walk).
fn validate(rtype: u16, data: &[u8]) -> Result<(), String> {
    let bad = || format!("\\# data is not a valid {}", mnemonic(rtype));
    let name_at = |off: usize| -> Result<usize, String> {
        wire_name_len(data.get(off..).ok_or_else(bad)?).ok_or_else(bad)
    };
    let end = match rtype {
        A => 4,
        AAAA => 16,
        NS | CNAME | PTR | DNAME | MB | MG | MR => name_at(0)?,
        MX | AFSDB | KX => 2 + name_at(2)?,
        RP | MINFO => {
            let a = name_at(0)?;
            a + name_at(a)?
        }
        SOA => {
            let a = name_at(0)?;
            let b = a + name_at(a)?;
            b + 20
        }
        SRV => 6 + name_at(6)?,
        _ => data.len(),
    };
    if end != data.len() {
        return Err(bad());
    }
    Ok(())
}

/// The RDATA with the domain names in it lowercased: two records are the same record when
/// these are equal (RFC 4343 §3, RFC 4034 §6.2).
pub fn canonical(rtype: u16, data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !matches!(
        rtype,
        NS | CNAME | PTR | DNAME | MB | MG | MR | MX | AFSDB | KX | RP | MINFO | SOA | SRV | NAPTR
    ) {
        return std::borrow::Cow::Borrowed(data);
    }
    let mut out = data.to_vec();
    let mut lower = |from: usize| -> Option<usize> {
        let len = wire_name_len(out.get(from..)?)?;
        out[from..from + len].make_ascii_lowercase();
        Some(from + len)
    };
    match rtype {
        NS | CNAME | PTR | DNAME | MB | MG | MR => {
            lower(0);
        }
        MX | AFSDB | KX => {
            lower(2);
        }
        RP | MINFO | SOA => {
            if let Some(next) = lower(0) {
                lower(next);
            }
        }
        SRV => {
            lower(6);
        }
        NAPTR => {
            // Order, preference, then flags, services and regexp as character-strings.
            let mut at = 4;
            for _ in 0..3 {
                at += 1 + *data.get(at).unwrap_or(&0) as usize;
            }
            lower(at);
        }
        _ => {}
    }
    std::borrow::Cow::Owned(out)
}

/// Length of an uncompressed wire name at the start of `data`.
pub fn wire_name_len(data: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let len = *data.get(pos)? as usize;
        if len > 63 {
            return None;
        }
        pos += 1 + len;
        if pos > 255 {
            return None;
        }
        if len == 0 {
            return Some(pos);
        }
    }
}

fn generic(toks: &[Token<'_>]) -> Result<Vec<u8>, String> {
    let len: usize = toks
        .first()
        .ok_or("\\# needs a length")?
        .text
        .parse()
        .map_err(|_| "bad \\# length".to_string())?;
    let hex: String = toks[1..].iter().map(|t| t.text).collect();
    let data = decode_hex(&hex)?;
    if data.len() != len {
        return Err(format!(
            "\\# length {len} but {} octets of data",
            data.len()
        ));
    }
    Ok(data)
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .map_err(|_| format!("bad hex {:?}", &hex[i..i + 2]))
        })
        .collect()
}

/// Decodes `\DDD` and `\X` escapes of a character-string.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (v, used) = name::unescape(&b[i + 1..]).map_err(|e| e.to_string())?;
            out.push(v);
            i += 1 + used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn via_hickory(rtype: u16, toks: &[Token<'_>]) -> Result<Vec<u8>, String> {
    let text: Vec<String> = toks
        .iter()
        .map(|t| {
            if t.quoted {
                format!("\"{}\"", t.text)
            } else {
                t.text.to_string()
            }
        })
        .collect();
    let rdata = RData::try_from_str(RecordType::from(rtype), &text.join(" "))
        .map_err(|e| format!("{e} (the RFC 3597 form `\\# LEN HEX` works for any type)"))?;
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    rdata.emit(&mut enc).map_err(|e| e.to_string())?;
    Ok(buf)
}

struct Reader<'a> {
    toks: &'a [Token<'a>],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
    fn next(&mut self) -> Result<&'a Token<'a>, String> {
        let t = self.toks.get(self.pos).ok_or("missing field")?;
        self.pos += 1;
        Ok(t)
    }
    fn word(&mut self) -> Result<&'a str, String> {
        Ok(self.next()?.text)
    }
    fn u8(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let w = self.word()?;
        out.push(w.parse().map_err(|_| format!("bad 8-bit number {w:?}"))?);
        Ok(())
    }
    fn u16(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let w = self.word()?;
        let v: u16 = w.parse().map_err(|_| format!("bad 16-bit number {w:?}"))?;
        out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }
    fn name(&mut self, out: &mut Vec<u8>, origin: &[u8]) -> Result<(), String> {
        let w = self.word()?;
        let n = name::from_text(w, Some(origin)).map_err(|e| format!("name {w:?}: {e}"))?;
        out.extend_from_slice(&n);
        Ok(())
    }
    fn char_string(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let t = self.next()?;
        let s = unescape(t.text)?;
        if s.len() > 255 {
            return Err(format!(
                "character-string longer than 255 octets ({})",
                s.len()
            ));
        }
        out.push(s.len() as u8);
        out.extend_from_slice(&s);
        Ok(())
    }
    /// A DNSSEC algorithm number or mnemonic (RFC 4034 §A.1, RFC 8624).
    fn algorithm(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let w = self.word()?;
        if let Ok(n) = w.parse::<u8>() {
            out.push(n);
            return Ok(());
        }
        const NAMES: [(&str, u8); 15] = [
            ("RSAMD5", 1),
            ("DH", 2),
            ("DSA", 3),
            ("RSASHA1", 5),
            ("DSA-NSEC3-SHA1", 6),
            ("RSASHA1-NSEC3-SHA1", 7),
            ("RSASHA256", 8),
            ("RSASHA512", 10),
            ("ECC-GOST", 12),
            ("ECDSAP256SHA256", 13),
            ("ECDSAP384SHA384", 14),
            ("ED25519", 15),
            ("ED448", 16),
            ("PRIVATEDNS", 253),
            ("PRIVATEOID", 254),
        ];
        let n = NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(w))
            .map(|&(_, n)| n)
            .ok_or_else(|| format!("unknown DNSSEC algorithm {w:?}"))?;
        out.push(n);
        Ok(())
    }
    fn base64_rest(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let b64: String = self.toks[self.pos..].iter().map(|t| t.text).collect();
        self.pos = self.toks.len();
        let data = data_encoding::BASE64
            .decode(b64.as_bytes())
            .map_err(|e| format!("bad base64: {e}"))?;
        out.extend_from_slice(&data);
        Ok(())
    }
    fn hex_rest(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let hex: String = self.toks[self.pos..].iter().map(|t| t.text).collect();
        self.pos = self.toks.len();
        if hex.is_empty() {
            return Err("missing hex data".into());
        }
        out.extend_from_slice(&decode_hex(&hex)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token<'_>> {
        s.split_whitespace()
            .map(
                |t| match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(q) => Token {
                        text: q,
                        quoted: true,
                    },
                    None => Token {
                        text: t,
                        quoted: false,
                    },
                },
            )
            .collect()
    }
    fn origin() -> Vec<u8> {
        name::from_text("example.test.", None).unwrap()
    }

    #[test]
    fn mx_completes_relative_exchange() {
        let d = parse(MX, &toks("10 mail"), &origin()).unwrap();
        assert_eq!(&d[..2], &[0, 10]);
        assert_eq!(
            &d[2..],
            name::from_text("mail.example.test.", None)
                .unwrap()
                .as_slice()
        );
    }

    #[test]
    fn txt_keeps_each_string_and_decodes_escapes() {
        let d = parse(TXT, &toks("\"a\\\"b\" \\065"), &origin()).unwrap();
        assert_eq!(d, b"\x03a\"b\x01A");
    }

    #[test]
    fn rfc3597_generic_form_is_accepted_for_unknown_types() {
        let d = parse(65280, &toks("\\# 4 0A000001"), &origin()).unwrap();
        assert_eq!(d, vec![10, 0, 0, 1]);
        assert!(parse(65280, &toks("\\# 3 0A000001"), &origin()).is_err());
    }

    #[test]
    fn generic_form_of_a_known_type_is_validated() {
        assert!(parse(A, &toks("\\# 4 C0000201"), &origin()).is_ok());
        assert!(parse(A, &toks("\\# 3 C00002"), &origin()).is_err());
    }

    #[test]
    fn caa_has_flags_tag_and_value() {
        let d = parse(CAA, &toks("0 issue \"ca.example\""), &origin()).unwrap();
        assert_eq!(d, b"\x00\x05issueca.example");
    }

    #[test]
    fn dname_is_a_single_name() {
        let d = parse(DNAME, &toks("other.test."), &origin()).unwrap();
        assert_eq!(d, name::from_text("other.test.", None).unwrap());
    }

    #[test]
    fn records_differing_only_in_name_case_are_the_same() {
        let a = parse(MX, &toks("10 MAIL.example.test."), &origin()).unwrap();
        let b = parse(MX, &toks("10 mail"), &origin()).unwrap();
        assert_ne!(a, b);
        assert_eq!(canonical(MX, &a), canonical(MX, &b));
    }

    #[test]
    fn dnssec_algorithms_may_be_named() {
        let d = parse(DS, &toks("12345 ECDSAP256SHA256 2 00FF"), &origin()).unwrap();
        assert_eq!(d, vec![0x30, 0x39, 13, 2, 0, 0xFF]);
    }

    #[test]
    fn soa_timers_use_the_full_unsigned_range() {
        assert!(parse(SOA, &toks("ns hm 1 4294967295 1 1 1"), &origin()).is_ok());
    }

    #[test]
    fn trailing_data_is_an_error() {
        assert!(parse(A, &toks("192.0.2.1 extra"), &origin()).is_err());
    }
}
