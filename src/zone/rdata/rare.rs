//! Rarer types BIND 9.18 reads in presentation form: A6 (RFC 2874), ATMA (ATM Forum
//! AF-DANS-0152.000), HIP (RFC 8005) and DOA (draft-durand-doa-over-dns).

use std::net::Ipv6Addr;

use super::error::RdataError;
use super::reader::{base64, decode_hex, Reader, R};
use crate::wire::types::*;

pub(super) fn parse(rtype: u16, r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<bool> {
    match rtype {
        A6 => {
            let prefix: u8 = r.num("A6 prefix length")?;
            if prefix > 128 {
                return Err(RdataError::range("A6 prefix length", &prefix.to_string()));
            }
            out.push(prefix);
            let octets = 16 - prefix as usize / 8;
            if prefix < 128 {
                let w = r.word("A6 address suffix")?;
                let mut a = w
                    .parse::<Ipv6Addr>()
                    .map_err(|_| RdataError::bad("A6 address suffix", w))?
                    .octets();
                // The bits covered by the prefix are zero on the wire (as BIND writes them).
                a[16 - octets] &= 0xFF >> (prefix % 8);
                out.extend_from_slice(&a[16 - octets..]);
            }
            if prefix > 0 {
                r.name(out)?;
            }
        }
        ATMA => {
            let w = r.word("ATMA address")?;
            if let Some(digits) = w.strip_prefix('+') {
                // E.164: decimal digits, dots allowed between them.
                let d: Vec<u8> = digits.bytes().filter(|&b| b != b'.').collect();
                if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
                    return Err(RdataError::bad("ATMA E.164 address", w));
                }
                out.push(1);
                out.extend_from_slice(&d);
            } else {
                // AESA: hex digits, dots allowed between them.
                let hex: String = w.chars().filter(|&c| c != '.').collect();
                if hex.is_empty() {
                    return Err(RdataError::bad("ATMA address", w));
                }
                out.push(0);
                out.extend_from_slice(&decode_hex(&hex)?);
            }
        }
        HIP => {
            let alg: u8 = r.num("HIP public key algorithm")?;
            let hit = decode_hex(r.word("HIP HIT")?)?;
            let key_text = r.word("HIP public key")?;
            let key = base64(key_text)?;
            if hit.is_empty() || hit.len() > 255 || key.len() > 65535 {
                return Err(RdataError::bad("HIP HIT or key length", key_text));
            }
            out.push(hit.len() as u8);
            out.push(alg);
            out.extend_from_slice(&(key.len() as u16).to_be_bytes());
            out.extend_from_slice(&hit);
            out.extend_from_slice(&key);
            while !r.done() {
                r.name(out)?;
            }
        }
        DOA => {
            r.u32(out, "DOA enterprise")?;
            r.u32(out, "DOA type")?;
            r.u8(out, "DOA location")?;
            r.char_string(out)?;
            let t = r.next("DOA data")?;
            if t.text != "-" || t.quoted {
                r.pos -= 1;
                r.base64_rest(out, false)?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}
