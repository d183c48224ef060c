//! Keys, certificates, digests and type bitmaps (RFC 4034, 4398, 4255, 4701, 6698, 8162,
//! 7929, 7477, 8976).

use super::error::RdataError;
use super::reader::{Reader, R};
use crate::wire::types::*;

pub(super) fn parse(rtype: u16, r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<bool> {
    match rtype {
        DS | CDS | TA | DLV => {
            r.u16(out, "key tag")?;
            algorithm(r, out)?;
            r.u8(out, "digest type")?;
            let start = out.len();
            r.hex_rest(out)?;
            // SHA-1, SHA-256, SHA-384 (RFC 3658, 4509, 6605): BIND and Knot refuse other
            // lengths; digest types they do not know are read whatever their length.
            let want = match out[start - 1] {
                1 => Some(20),
                2 => Some(32),
                4 => Some(48),
                _ => None,
            };
            if want.is_some_and(|n| n != out.len() - start) {
                return Err(RdataError::Bad {
                    what: "DS digest length",
                    token: (out.len() - start).to_string(),
                });
            }
        }
        DNSKEY | CDNSKEY | RKEY => {
            r.u16(out, "key flags")?;
            r.u8(out, "key protocol")?;
            algorithm(r, out)?;
            r.base64_rest(out, false)?;
        }
        // RFC 2535 §7.1, RFC 3445: the protocol may be named; no key data with NOKEY flags.
        KEY => {
            r.u16(out, "key flags")?;
            let w = r.word("key protocol")?;
            const PROTOCOLS: [(&str, u8); 6] = [
                ("NONE", 0),
                ("TLS", 1),
                ("EMAIL", 2),
                ("DNSSEC", 3),
                ("IPSEC", 4),
                ("ALL", 255),
            ];
            let p = match PROTOCOLS.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) {
                Some(&(_, p)) => p,
                None => number::<u8>(w, "key protocol")?,
            };
            out.push(p);
            algorithm(r, out)?;
            r.base64_rest(out, true)?;
        }
        EID | NIMLOC => r.hex_rest(out)?,
        // draft-eastlake-kitchen-sink: meaning, coding, subcoding, data.
        SINK => {
            r.u8(out, "SINK meaning")?;
            r.u8(out, "SINK coding")?;
            r.u8(out, "SINK subcoding")?;
            r.base64_rest(out, true)?;
        }
        SSHFP => {
            r.u8(out, "SSHFP algorithm")?;
            r.u8(out, "SSHFP fingerprint type")?;
            r.hex_rest(out)?;
        }
        TLSA | SMIMEA => {
            r.u8(out, "certificate usage")?;
            r.u8(out, "selector")?;
            r.u8(out, "matching type")?;
            r.hex_rest(out)?;
        }
        OPENPGPKEY | DHCID => r.base64_rest(out, false)?,
        CERT => {
            let w = r.word("CERT type")?;
            let t = match CERT_TYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) {
                Some(&(_, v)) => v,
                None => number::<u16>(w, "CERT type")?,
            };
            out.extend_from_slice(&t.to_be_bytes());
            r.u16(out, "CERT key tag")?;
            algorithm(r, out)?;
            r.base64_rest(out, false)?;
        }
        ZONEMD => {
            r.u32(out, "ZONEMD serial")?;
            r.u8(out, "ZONEMD scheme")?;
            let hash_at = out.len();
            r.u8(out, "ZONEMD hash algorithm")?;
            let start = out.len();
            r.hex_rest(out)?;
            let len = out.len() - start;
            let ok = match out[hash_at] {
                1 => len == 48,
                2 => len == 64,
                _ => len >= 12,
            };
            if !ok {
                return Err(RdataError::Bad {
                    what: "ZONEMD digest length",
                    token: len.to_string(),
                });
            }
        }
        CSYNC => {
            r.u32(out, "CSYNC serial")?;
            r.u16(out, "CSYNC flags")?;
            type_bitmap(r, out)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

const CERT_TYPES: [(&str, u16); 10] = [
    ("PKIX", 1),
    ("SPKI", 2),
    ("PGP", 3),
    ("IPKIX", 4),
    ("ISPKI", 5),
    ("IPGP", 6),
    ("ACPKIX", 7),
    ("IACPKIX", 8),
    ("URI", 253),
    ("OID", 254),
];

fn number<T: std::str::FromStr>(w: &str, what: &'static str) -> R<T> {
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RdataError::bad(what, w));
    }
    w.parse().map_err(|_| RdataError::range(what, w))
}

/// A DNSSEC algorithm number or mnemonic (RFC 4034 §A.1, RFC 8624).
pub(super) fn algorithm(r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<()> {
    let w = r.word("algorithm")?;
    if w.bytes().all(|b| b.is_ascii_digit()) {
        out.push(number::<u8>(w, "algorithm")?);
        return Ok(());
    }
    const NAMES: [(&str, u8); 17] = [
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("ECC", 4),
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
        ("INDIRECT", 252),
        ("PRIVATEDNS", 253),
        ("PRIVATEOID", 254),
    ];
    let n = NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(w))
        .map(|&(_, n)| n)
        .ok_or_else(|| RdataError::bad("algorithm", w))?;
    out.push(n);
    Ok(())
}

/// RFC 4034 §4.1.2 type bitmap from the remaining tokens (type mnemonics or `TYPEnnn`).
pub(super) fn type_bitmap(r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<()> {
    let mut types = Vec::new();
    while let Some(t) = r.peek() {
        r.pos += 1;
        let v = from_mnemonic(t.text).ok_or_else(|| RdataError::bad("type", t.text))?;
        types.push(v);
    }
    out.extend_from_slice(&crate::wire::types::bitmap(&types));
    Ok(())
}
