//! Types carrying addresses (RFC 1035, 3596, 6742, 7043, 3123, 4025, 8777).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::RdataError;
use super::reader::{Reader, R};
use crate::wire::types::*;

pub(super) fn parse(rtype: u16, r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<bool> {
    match rtype {
        A => out.extend_from_slice(&ipv4(r.word("IPv4 address")?)?.octets()),
        AAAA => out.extend_from_slice(&ipv6(r.word("IPv6 address")?)?.octets()),
        L32 => {
            r.u16(out, "preference")?;
            out.extend_from_slice(&ipv4(r.word("locator")?)?.octets());
        }
        NID | L64 => {
            r.u16(out, "preference")?;
            node_id(r.word("64-bit identifier")?, out)?;
        }
        // RFC 1706 §5: `0x` and hex digits, dots anywhere between them.
        NSAP => {
            let w = r.word("NSAP address")?;
            let hex: String = w
                .strip_prefix("0x")
                .or_else(|| w.strip_prefix("0X"))
                .ok_or_else(|| RdataError::bad("NSAP address", w))?
                .chars()
                .filter(|&c| c != '.')
                .collect();
            if hex.is_empty() {
                return Err(RdataError::bad("NSAP address", w));
            }
            out.extend_from_slice(&super::reader::decode_hex(&hex)?);
        }
        EUI48 => eui(r.word("EUI-48 address")?, 6, out)?,
        EUI64 => eui(r.word("EUI-64 address")?, 8, out)?,
        APL => {
            while !r.done() {
                apl_item(r.word("APL item")?, out)?;
            }
        }
        IPSECKEY => {
            r.u8(out, "IPSECKEY precedence")?;
            let kind = r.num::<u8>("IPSECKEY gateway type")?;
            out.push(kind);
            r.u8(out, "IPSECKEY algorithm")?;
            gateway(r, kind, out, "IPSECKEY gateway type")?;
            r.base64_rest(out, true)?;
        }
        AMTRELAY => {
            r.u8(out, "AMTRELAY precedence")?;
            let d = r.word("AMTRELAY discovery optional bit")?;
            let d = match d {
                "0" => 0,
                "1" => 0x80,
                _ => return Err(RdataError::bad("AMTRELAY discovery optional bit", d)),
            };
            let w = r.word("AMTRELAY relay type")?;
            let kind: u8 = w
                .parse()
                .ok()
                .filter(|&k| k <= 0x7F)
                .ok_or_else(|| RdataError::bad("AMTRELAY relay type", w))?;
            out.push(d | kind);
            // Type 0: the relay is written `.` and absent on the wire.
            gateway(r, kind, out, "AMTRELAY relay type")?;
        }
        WKS => {
            out.extend_from_slice(&ipv4(r.word("IPv4 address")?)?.octets());
            let p = r.word("WKS protocol")?;
            let proto: u8 = match p.to_ascii_lowercase().as_str() {
                "tcp" => 6,
                "udp" => 17,
                _ => p.parse().map_err(|_| RdataError::bad("WKS protocol", p))?,
            };
            out.push(proto);
            let mut bits: Vec<u8> = Vec::new();
            while let Some(t) = r.peek() {
                r.pos += 1;
                let port = service(t.text).ok_or_else(|| RdataError::bad("WKS service", t.text))?;
                let byte = port as usize / 8;
                if bits.len() <= byte {
                    bits.resize(byte + 1, 0);
                }
                bits[byte] |= 0x80 >> (port % 8);
            }
            out.extend_from_slice(&bits);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn ipv4(w: &str) -> R<Ipv4Addr> {
    w.parse().map_err(|_| RdataError::bad("IPv4 address", w))
}

fn ipv6(w: &str) -> R<Ipv6Addr> {
    w.parse().map_err(|_| RdataError::bad("IPv6 address", w))
}

/// IPSECKEY gateway / AMTRELAY relay: 0 none (`.`), 1 IPv4, 2 IPv6, 3 a domain name.
fn gateway(r: &mut Reader<'_>, kind: u8, out: &mut Vec<u8>, what: &'static str) -> R<()> {
    match kind {
        0 => {
            let w = r.word("gateway")?;
            if w != "." {
                return Err(RdataError::bad("gateway for type 0 (must be \".\")", w));
            }
        }
        1 => out.extend_from_slice(&ipv4(r.word("gateway")?)?.octets()),
        2 => out.extend_from_slice(&ipv6(r.word("gateway")?)?.octets()),
        3 => r.name(out)?,
        _ => return Err(RdataError::bad(what, &kind.to_string())),
    }
    Ok(())
}

/// RFC 6742 §2.1.2: four groups of up to four hex digits separated by colons.
fn node_id(w: &str, out: &mut Vec<u8>) -> R<()> {
    let groups: Vec<&str> = w.split(':').collect();
    if groups.len() != 4 {
        return Err(RdataError::bad("64-bit identifier", w));
    }
    for g in groups {
        if g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RdataError::bad("64-bit identifier", w));
        }
        let v = u16::from_str_radix(g, 16).map_err(|_| RdataError::bad("64-bit identifier", w))?;
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(())
}

/// RFC 7043 §3.2/§4.2: `xx-xx-…` with exactly two hex digits per octet.
fn eui(w: &str, n: usize, out: &mut Vec<u8>) -> R<()> {
    let what = if n == 6 {
        "EUI-48 address"
    } else {
        "EUI-64 address"
    };
    let parts: Vec<&str> = w.split('-').collect();
    if parts.len() != n
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(RdataError::bad(what, w));
    }
    for p in parts {
        out.push(u8::from_str_radix(p, 16).map_err(|_| RdataError::bad(what, w))?);
    }
    Ok(())
}

/// RFC 3123 §4: `[!]afi:address/prefix`; the address part is written without trailing zeros.
fn apl_item(w: &str, out: &mut Vec<u8>) -> R<()> {
    let bad = || RdataError::bad("APL item", w);
    let (neg, rest) = match w.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, w),
    };
    let (afi, rest) = rest.split_once(':').ok_or_else(bad)?;
    let (addr, prefix) = rest.split_once('/').ok_or_else(bad)?;
    let afi: u16 = afi.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let bytes: Vec<u8> = match afi {
        1 => {
            if prefix > 32 {
                return Err(RdataError::range("APL prefix", w));
            }
            addr.parse::<Ipv4Addr>()
                .map_err(|_| bad())?
                .octets()
                .to_vec()
        }
        2 => {
            if prefix > 128 {
                return Err(RdataError::range("APL prefix", w));
            }
            addr.parse::<Ipv6Addr>()
                .map_err(|_| bad())?
                .octets()
                .to_vec()
        }
        _ => return Err(RdataError::bad("APL address family", w)),
    };
    let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    out.extend_from_slice(&afi.to_be_bytes());
    out.push(prefix);
    out.push(if neg { 0x80 } else { 0 } | len as u8);
    out.extend_from_slice(&bytes[..len]);
    Ok(())
}

/// A WKS service: a port number or one of the common names of `/etc/services`.
fn service(w: &str) -> Option<u16> {
    if let Ok(n) = w.parse() {
        return Some(n);
    }
    const NAMES: [(&str, u16); 14] = [
        ("ftp-data", 20),
        ("ftp", 21),
        ("ssh", 22),
        ("telnet", 23),
        ("smtp", 25),
        ("domain", 53),
        ("http", 80),
        ("pop3", 110),
        ("sunrpc", 111),
        ("ntp", 123),
        ("imap", 143),
        ("snmp", 161),
        ("ldap", 389),
        ("https", 443),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(w))
        .map(|&(_, p)| p)
}
