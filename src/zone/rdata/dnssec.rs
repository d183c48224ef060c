//! The records of a zone signed elsewhere (RFC 4034 §3.2, §4.2; RFC 5155 §3.3, §4.3): RRSIG,
//! NSEC, NSEC3 and NSEC3PARAM in the presentation form `dnssec-signzone`, `ldns-signzone` and
//! Knot write.

use super::error::RdataError;
use super::misc::{algorithm, type_bitmap};
use super::reader::{decode_hex, Reader, R};
use crate::wire::types::*;

pub(super) fn parse(rtype: u16, r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<bool> {
    match rtype {
        RRSIG => {
            let covered = r.word("type covered")?;
            let t =
                from_mnemonic(covered).ok_or_else(|| RdataError::bad("type covered", covered))?;
            out.extend_from_slice(&t.to_be_bytes());
            algorithm(r, out)?;
            r.u8(out, "labels")?;
            r.u32(out, "original TTL")?;
            for what in ["signature expiration", "signature inception"] {
                let w = r.word(what)?;
                out.extend_from_slice(&time(w, what)?.to_be_bytes());
            }
            r.u16(out, "key tag")?;
            r.name(out)?;
            r.base64_rest(out, false)?;
        }
        NSEC => {
            r.name(out)?;
            type_bitmap(r, out)?;
        }
        NSEC3 | NSEC3PARAM => {
            r.u8(out, "hash algorithm")?;
            r.u8(out, "flags")?;
            r.u16(out, "iterations")?;
            let salt = r.word("salt")?;
            let salt = if salt == "-" {
                Vec::new()
            } else {
                decode_hex(salt)?
            };
            if salt.len() > 255 {
                return Err(RdataError::TooLong {
                    what: "salt",
                    max: 255,
                    len: salt.len(),
                });
            }
            out.push(salt.len() as u8);
            out.extend_from_slice(&salt);
            if rtype == NSEC3 {
                let next = r.word("next hashed owner name")?;
                let hash = data_encoding::BASE32HEX_NOPAD
                    .decode(next.to_ascii_uppercase().as_bytes())
                    .map_err(|_| RdataError::bad("next hashed owner name", next))?;
                if hash.is_empty() || hash.len() > 255 {
                    return Err(RdataError::bad("next hashed owner name", next));
                }
                out.push(hash.len() as u8);
                out.extend_from_slice(&hash);
                type_bitmap(r, out)?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// An RRSIG time: `YYYYMMDDHHmmSS` (UTC), or seconds since 1970 as a decimal number (RFC
/// 4034 §3.2), kept modulo 2^32 as on the wire (serial arithmetic, RFC 1982).
fn time(w: &str, what: &'static str) -> R<u32> {
    if !w.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RdataError::bad(what, w));
    }
    if w.len() != 14 {
        return w.parse::<u32>().map_err(|_| RdataError::range(what, w));
    }
    let n = |a: usize, b: usize| w[a..b].parse::<i64>().expect("digits");
    let (y, mo, d, h, mi, s) = (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14));
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(RdataError::range(what, w));
    }
    // Days from 1970-01-01 to y-mo-d (proleptic Gregorian; Howard Hinnant's algorithm).
    let (yy, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + h * 3600 + mi * 60 + s).rem_euclid(1 << 32) as u32)
}
