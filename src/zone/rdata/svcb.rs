//! SVCB and HTTPS (RFC 9460 §2.1, Appendix A): priority, target name, then SvcParams
//! `key[=value]` in any order; on the wire they are sorted by key, and a key given twice is an
//! error.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::RdataError;
use super::reader::{base64, unescape, Reader, R};

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
const DOHPATH: u16 = 7;

const KEYS: [(&str, u16); 8] = [
    ("mandatory", MANDATORY),
    ("alpn", ALPN),
    ("no-default-alpn", NO_DEFAULT_ALPN),
    ("port", PORT),
    ("ipv4hint", IPV4HINT),
    ("ech", ECH),
    ("ipv6hint", IPV6HINT),
    ("dohpath", DOHPATH),
];

fn key_name(key: u16) -> String {
    KEYS.iter()
        .find(|&&(_, k)| k == key)
        .map_or_else(|| format!("key{key}"), |&(n, _)| n.to_string())
}

/// A SvcParamKey by name or as `keyNNNNN` (65535 is reserved).
fn key_from(text: &str) -> R<u16> {
    if let Some(&(_, k)) = KEYS.iter().find(|(n, _)| *n == text) {
        return Ok(k);
    }
    text.strip_prefix("key")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u16>().ok())
        .filter(|&k| k != 65535)
        .ok_or_else(|| RdataError::SvcKey {
            key: text.to_string(),
        })
}

pub(super) fn parse(r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<()> {
    r.u16(out, "SVCB priority")?;
    r.name(out)?;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    while let Some(t) = r.peek() {
        r.pos += 1;
        if t.quoted {
            return Err(RdataError::SvcKey {
                key: t.text.to_string(),
            });
        }
        let (key, value) = match t.text.split_once('=') {
            None => (t.text, None),
            Some((k, "")) => {
                // `key="value"`: the lexer splits the quoted part into its own token.
                match r.peek() {
                    Some(v) if v.quoted => {
                        r.pos += 1;
                        (k, Some(v.text))
                    }
                    _ => (k, Some("")),
                }
            }
            Some((k, v)) => (k, Some(v)),
        };
        let k = key_from(key)?;
        if params.iter().any(|(p, _)| *p == k) {
            return Err(RdataError::SvcDuplicate { key: key_name(k) });
        }
        // `keyNNNNN=value` gives the wire value itself, even for a known key (as BIND and
        // Knot read it); it must then have that key's wire layout.
        let wire = if KEYS.iter().any(|(n, _)| *n == key) {
            value_wire(k, value)?
        } else {
            let raw = match value {
                Some(v) => unescape(v)?,
                None => Vec::new(),
            };
            check_wire_value(k, &raw)?;
            raw
        };
        params.push((k, wire));
    }
    params.sort_by_key(|(k, _)| *k);
    check_params(&params)?;
    for (k, v) in &params {
        out.extend_from_slice(&k.to_be_bytes());
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    }
    Ok(())
}

fn err(key: u16, reason: impl Into<String>) -> RdataError {
    RdataError::SvcValue {
        key: key_name(key),
        reason: reason.into(),
    }
}

/// The wire layout of a known key's value.
fn check_wire_value(key: u16, v: &[u8]) -> R<()> {
    let ok = match key {
        MANDATORY => !v.is_empty() && v.len().is_multiple_of(2),
        ALPN => {
            let mut rest = v;
            while let Some((&n, tail)) = rest.split_first() {
                if n == 0 || tail.len() < n as usize {
                    break;
                }
                rest = &tail[n as usize..];
            }
            !v.is_empty() && rest.is_empty()
        }
        NO_DEFAULT_ALPN => v.is_empty(),
        PORT => v.len() == 2,
        IPV4HINT => !v.is_empty() && v.len().is_multiple_of(4),
        IPV6HINT => !v.is_empty() && v.len().is_multiple_of(16),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(err(key, "value does not have the key's wire layout"))
    }
}

/// RFC 9460 §7.1.1, §8: every mandatory key is present, neither `mandatory` itself nor twice;
/// `no-default-alpn` needs `alpn`.
fn check_params(params: &[(u16, Vec<u8>)]) -> R<()> {
    let has = |k: u16| params.iter().any(|(p, _)| *p == k);
    if let Some((_, m)) = params.iter().find(|(k, _)| *k == MANDATORY) {
        for c in m.chunks(2) {
            let k = u16::from_be_bytes([c[0], c[1]]);
            if !has(k) {
                return Err(err(
                    MANDATORY,
                    format!("lists {} which is not given", key_name(k)),
                ));
            }
        }
    }
    if has(NO_DEFAULT_ALPN) && !has(ALPN) {
        return Err(err(NO_DEFAULT_ALPN, "needs alpn"));
    }
    Ok(())
}

/// RFC 9460 Appendix A.1: a comma-separated list in which `\,` and `\\` stand for themselves
/// (applied after the character-string escapes are decoded).
fn value_list(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut items = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => {
                items.last_mut().unwrap().push(bytes[i + 1]);
                i += 2;
            }
            b',' => {
                items.push(Vec::new());
                i += 1;
            }
            b => {
                items.last_mut().unwrap().push(b);
                i += 1;
            }
        }
    }
    items
}

fn value_wire(key: u16, value: Option<&str>) -> R<Vec<u8>> {
    let raw = match value {
        Some(v) => Some(unescape(v)?),
        None => None,
    };
    let need = |raw: Option<Vec<u8>>| {
        raw.filter(|v| !v.is_empty())
            .ok_or_else(|| err(key, "needs a value"))
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = Vec::new();
    match key {
        MANDATORY => {
            let mut keys = Vec::new();
            for item in value_list(&need(raw)?) {
                let k = key_from(&text(&item))?;
                if k == MANDATORY {
                    return Err(err(key, "cannot list mandatory"));
                }
                if keys.contains(&k) {
                    return Err(err(key, format!("lists {} twice", key_name(k))));
                }
                keys.push(k);
            }
            keys.sort_unstable();
            for k in keys {
                out.extend_from_slice(&k.to_be_bytes());
            }
        }
        ALPN => {
            for item in value_list(&need(raw)?) {
                if item.is_empty() || item.len() > 255 {
                    return Err(err(key, "empty or over-long protocol id"));
                }
                out.push(item.len() as u8);
                out.extend_from_slice(&item);
            }
        }
        NO_DEFAULT_ALPN => {
            if raw.is_some_and(|v| !v.is_empty()) {
                return Err(err(key, "takes no value"));
            }
        }
        PORT => {
            let v = text(&need(raw)?);
            let p: u16 = v
                .parse()
                .ok()
                .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| err(key, format!("bad port {v:?}")))?;
            out.extend_from_slice(&p.to_be_bytes());
        }
        IPV4HINT => {
            for item in value_list(&need(raw)?) {
                let a: Ipv4Addr = text(&item)
                    .parse()
                    .map_err(|_| err(key, format!("bad IPv4 address {:?}", text(&item))))?;
                out.extend_from_slice(&a.octets());
            }
        }
        IPV6HINT => {
            for item in value_list(&need(raw)?) {
                let a: Ipv6Addr = text(&item)
                    .parse()
                    .map_err(|_| err(key, format!("bad IPv6 address {:?}", text(&item))))?;
                out.extend_from_slice(&a.octets());
            }
        }
        ECH => {
            // BIND reads `ech=""` as an empty value.
            let v = text(&raw.ok_or_else(|| err(key, "needs a value"))?);
            out = base64(&v).map_err(|_| err(key, format!("bad base64 {v:?}")))?;
        }
        _ => out = raw.unwrap_or_default(),
    }
    if out.len() > 65535 {
        return Err(err(key, "value longer than 65535 octets"));
    }
    Ok(out)
}
