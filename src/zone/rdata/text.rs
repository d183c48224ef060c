//! Wire form → presentation text for the types whose text hickory-proto does not print in the
//! standard form (SVCB and HTTPS, LOC, EUI48/EUI64, URI), written as `dig` and BIND print them,
//! for people reading `explain`. `None` for any other type, or RDATA that does not have the
//! type's layout (every record was checked at load, so that means a type added without a
//! renderer): the caller falls back to RFC 3597 `\#`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::BASE64;

use super::wire_name_len;
use crate::wire::name;
use crate::wire::types::*;

/// `rdata` of type `rtype` in presentation form, where this module knows the type.
pub fn presentation(rtype: u16, rdata: &[u8]) -> Option<String> {
    match rtype {
        SVCB | HTTPS => svcb(rdata),
        LOC => loc(rdata),
        EUI48 if rdata.len() == 6 => Some(dashed(rdata)),
        EUI64 if rdata.len() == 8 => Some(dashed(rdata)),
        URI if rdata.len() >= 4 => Some(format!(
            "{} {} {}",
            u16::from_be_bytes([rdata[0], rdata[1]]),
            u16::from_be_bytes([rdata[2], rdata[3]]),
            quoted(&rdata[4..], false)
        )),
        _ => None,
    }
}

fn dashed(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join("-")
}

/// A quoted string, `"` and `\` escaped, other unprintable octets as `\DDD`; with
/// `list_item`, an item of an SVCB value list (its `,` and `\` escaped for the list too).
fn quoted(b: &[u8], list_item: bool) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            // In a value list a `\` and a `,` are escaped once for the list, and the list's
            // backslashes once more for the zone-file string (RFC 9460 Appendix A.1).
            b'\\' if list_item => s.push_str("\\\\\\\\"),
            b',' if list_item => s.push_str("\\\\,"),
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char);
            }
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
    s.push('"');
    s
}

/// RFC 9460 §2.1: priority, target, then each SvcParam in wire (key) order.
fn svcb(rd: &[u8]) -> Option<String> {
    let priority = u16::from_be_bytes([*rd.first()?, *rd.get(1)?]);
    let target_len = wire_name_len(rd.get(2..)?)?;
    let mut out = format!("{priority} {}", name::to_text(&rd[2..2 + target_len]));
    let mut rest = &rd[2 + target_len..];
    while !rest.is_empty() {
        let key = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
        let len = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]) as usize;
        let value = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        out.push(' ');
        out.push_str(&svc_param(key, value)?);
    }
    Some(out)
}

fn svc_param(key: u16, v: &[u8]) -> Option<String> {
    let list = |size: usize, item: &dyn Fn(&[u8]) -> String| -> Option<String> {
        if v.is_empty() || !v.len().is_multiple_of(size) {
            return None;
        }
        Some(v.chunks(size).map(item).collect::<Vec<_>>().join(","))
    };
    Some(match key {
        0 => format!(
            "mandatory={}",
            list(2, &|k| svc_key(u16::from_be_bytes([k[0], k[1]])))?
        ),
        1 => {
            // A list of length-prefixed ALPN ids, printed as one quoted, comma-separated list.
            let mut ids = Vec::new();
            let mut r = v;
            while let Some((&n, tail)) = r.split_first() {
                ids.push(quoted(tail.get(..n as usize)?, true));
                r = &tail[n as usize..];
            }
            let inner: Vec<String> = ids.iter().map(|q| q[1..q.len() - 1].to_string()).collect();
            format!("alpn=\"{}\"", inner.join(","))
        }
        2 if v.is_empty() => "no-default-alpn".to_string(),
        3 if v.len() == 2 => format!("port={}", u16::from_be_bytes([v[0], v[1]])),
        4 => format!(
            "ipv4hint={}",
            list(4, &|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())?
        ),
        5 => format!("ech={}", BASE64.encode(v)),
        6 => format!(
            "ipv6hint={}",
            list(16, &|a| {
                Ipv6Addr::from(<[u8; 16]>::try_from(a).expect("16 octets")).to_string()
            })?
        ),
        7 => format!("dohpath={}", quoted(v, false)),
        _ if v.is_empty() => svc_key(key),
        _ => format!("{}={}", svc_key(key), quoted(v, false)),
    })
}

fn svc_key(key: u16) -> String {
    match key {
        0 => "mandatory".into(),
        1 => "alpn".into(),
        2 => "no-default-alpn".into(),
        3 => "port".into(),
        4 => "ipv4hint".into(),
        5 => "ech".into(),
        6 => "ipv6hint".into(),
        7 => "dohpath".into(),
        k => format!("key{k}"),
    }
}

/// RFC 1876 §3 (its Appendix A's text form): `d m s.sss H d m s.sss H alt size hp vp`.
fn loc(rd: &[u8]) -> Option<String> {
    if rd.len() != 16 || rd[0] != 0 {
        return None;
    }
    let u32_at = |i: usize| u32::from_be_bytes([rd[i], rd[i + 1], rd[i + 2], rd[i + 3]]);
    let coordinate = |raw: u32, pos: char, neg: char| {
        let v = raw as i64 - (1i64 << 31);
        let ms = v.unsigned_abs();
        format!(
            "{} {} {}.{:03} {}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000,
            if v >= 0 { pos } else { neg }
        )
    };
    let alt = u32_at(12) as i64 - 10_000_000;
    let sign = if alt < 0 { "-" } else { "" };
    Some(format!(
        "{} {} {sign}{}.{:02}m {} {} {}",
        coordinate(u32_at(4), 'N', 'S'),
        coordinate(u32_at(8), 'E', 'W'),
        alt.abs() / 100,
        alt.abs() % 100,
        metres(rd[1])?,
        metres(rd[2])?,
        metres(rd[3])?
    ))
}

/// A LOC size or precision: mantissa × 10^exponent centimetres, both digits 0–9.
fn metres(b: u8) -> Option<String> {
    let (m, e) = ((b >> 4) as u64, (b & 0x0f) as u32);
    if m > 9 || e > 9 {
        return None;
    }
    let cm = m * 10u64.pow(e);
    Some(if cm % 100 == 0 {
        format!("{}m", cm / 100)
    } else {
        format!("{}.{:02}m", cm / 100, cm % 100)
    })
}
