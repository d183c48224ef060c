//! Types made of numbers, domain names and character-strings (RFC 1035, 1183, 2163, 2782,
//! 3403, 6742, 7553, 8659, 1712).

use super::error::RdataError;
use super::reader::{unescape, Reader, R};
use crate::wire::types::*;

/// Parses `rtype` if it is one of this family; `Ok(false)` when it is not.
pub(super) fn parse(rtype: u16, r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<bool> {
    match rtype {
        NS | CNAME | PTR | DNAME | MB | MG | MR | NSAP_PTR => r.name(out)?,
        MX | AFSDB | KX | RT | LP => {
            r.u16(out, "preference")?;
            r.name(out)?;
        }
        RP | MINFO | TALINK => {
            r.name(out)?;
            r.name(out)?;
        }
        PX => {
            r.u16(out, "preference")?;
            r.name(out)?;
            r.name(out)?;
        }
        SOA => {
            r.name(out)?;
            r.name(out)?;
            r.u32(out, "SOA serial")?;
            for _ in 0..4 {
                let w = r.word("SOA timer")?;
                let v = super::super::lex::parse_period(w)
                    .map_err(|_| RdataError::bad("SOA timer", w))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        SRV => {
            r.u16(out, "SRV priority")?;
            r.u16(out, "SRV weight")?;
            r.u16(out, "SRV port")?;
            r.name(out)?;
        }
        NAPTR => {
            r.u16(out, "NAPTR order")?;
            r.u16(out, "NAPTR preference")?;
            for _ in 0..3 {
                r.char_string(out)?;
            }
            r.name(out)?;
        }
        TXT | SPF | NINFO | AVC | RESINFO => {
            r.char_string(out)?;
            while !r.done() {
                r.char_string(out)?;
            }
        }
        HINFO => {
            r.char_string(out)?;
            r.char_string(out)?;
        }
        X25 => {
            let t = r.next("PSDN address")?;
            if !t.text.bytes().all(|b| b.is_ascii_digit()) || t.text.is_empty() {
                return Err(RdataError::bad("X25 PSDN address", t.text));
            }
            r.pos -= 1;
            r.char_string(out)?;
        }
        ISDN => {
            r.char_string(out)?;
            if !r.done() {
                r.char_string(out)?;
            }
        }
        // RFC 1712 means these as decimal numbers; BIND reads any strings, and so do we.
        GPOS => {
            for _ in 0..3 {
                r.char_string(out)?;
            }
        }
        URI => {
            r.u16(out, "URI priority")?;
            r.u16(out, "URI weight")?;
            let t = r.next("URI target")?;
            // May be empty: BIND and Knot both read `""`.
            out.extend_from_slice(&unescape(t.text)?);
        }
        CAA => {
            r.u8(out, "CAA flags")?;
            let tag = r.word("CAA tag")?;
            if tag.is_empty() || tag.len() > 255 || !tag.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(RdataError::bad("CAA tag", tag));
            }
            out.push(tag.len() as u8);
            out.extend_from_slice(tag.as_bytes());
            let value = r.next("CAA value")?;
            out.extend_from_slice(&unescape(value.text)?);
        }
        _ => return Ok(false),
    }
    Ok(true)
}
