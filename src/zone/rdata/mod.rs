//! Presentation-format RDATA → uncompressed wire form, for every type BIND 9.18 and Knot 3.2
//! read in presentation form, the records of a signed zone included (`dnssec.rs`).
//!
//! Every domain name inside RDATA is completed with the current `$ORIGIN`. RFC 3597's
//! `\# len hex` works for every type and is checked against the type's wire layout where the
//! layout is known ([`validate`]). The families live in their own files: names and numbers
//! (`basic.rs`), addresses and locations (`addr.rs`, `loc.rs`), SVCB/HTTPS (`svcb.rs`), keys and
//! digests (`misc.rs`), and A6, ATMA, HIP, DOA (`rare.rs`). `text.rs` goes the other way for
//! the types whose text hickory-proto does not print in the standard form.

mod addr;
mod basic;
mod dnssec;
mod error;
mod loc;
mod misc;
mod rare;
mod reader;
mod svcb;
#[cfg(test)]
mod tests;
mod text;
mod validate;

pub use error::RdataError;
pub use text::presentation;

use super::lex::Token;
use crate::wire::types::*;
use reader::Reader;

/// Converts the RDATA tokens of one record of type `rtype` to wire form; relative names are
/// completed with `origin`.
pub fn parse(rtype: u16, toks: &[Token<'_>], origin: &[u8]) -> Result<Vec<u8>, RdataError> {
    if is_meta(rtype) {
        return Err(RdataError::MetaType);
    }
    if let Some(first) = toks.first() {
        if !first.quoted && first.text == "\\#" {
            let data = generic(&toks[1..])?;
            validate::validate(rtype, &data)?;
            return Ok(data);
        }
    }
    let mut r = Reader::new(toks, origin);
    let mut out = Vec::with_capacity(32);
    if !basic::parse(rtype, &mut r, &mut out)?
        && !addr::parse(rtype, &mut r, &mut out)?
        && !misc::parse(rtype, &mut r, &mut out)?
        && !rare::parse(rtype, &mut r, &mut out)?
        && !dnssec::parse(rtype, &mut r, &mut out)?
    {
        match rtype {
            LOC => loc::parse(&mut r, &mut out)?,
            SVCB | HTTPS => svcb::parse(&mut r, &mut out)?,
            NULL => {
                return Err(RdataError::GenericOnly {
                    rtype: mnemonic(rtype),
                })
            }
            _ => {
                return Err(RdataError::NoPresentation {
                    rtype: mnemonic(rtype),
                })
            }
        }
    }
    if let Some(t) = r.peek() {
        return Err(RdataError::Trailing {
            token: t.text.to_string(),
        });
    }
    if out.len() > u16::MAX as usize {
        return Err(RdataError::TooLong {
            what: "RDATA",
            max: 65535,
            len: out.len(),
        });
    }
    Ok(out)
}

/// Checks wire RDATA received from elsewhere (a zone transfer) against the layout of its type,
/// as `\#` data in a zone file is: what a secondary saves it must be able to read back.
pub fn check_wire(rtype: u16, data: &[u8]) -> Result<(), RdataError> {
    validate::validate(rtype, data)
}

/// The RDATA with the domain names in it lowercased: two records are the same record when
/// these are equal (RFC 4343 §3; the type list of RFC 4034 §6.2 as amended by RFC 6840 §5.1,
/// without the DNSSEC types). Names in newer types (SVCB, IPSECKEY, LP, …) keep their case.
pub fn canonical(rtype: u16, data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !matches!(
        rtype,
        NS | CNAME
            | PTR
            | DNAME
            | MB
            | MG
            | MR
            | MX
            | AFSDB
            | KX
            | RP
            | MINFO
            | SOA
            | SRV
            | NAPTR
            | RT
            | PX
            | A6
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
        MX | AFSDB | KX | RT => {
            lower(2);
        }
        RP | MINFO | SOA => {
            if let Some(next) = lower(0) {
                lower(next);
            }
        }
        PX => {
            if let Some(next) = lower(2) {
                lower(next);
            }
        }
        SRV => {
            lower(6);
        }
        A6 => {
            let prefix = *data.first().unwrap_or(&0);
            if (1..=128).contains(&prefix) {
                lower(1 + 16 - prefix as usize / 8);
            }
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

/// RFC 3597 §5: `\# len hex…`.
fn generic(toks: &[Token<'_>]) -> Result<Vec<u8>, RdataError> {
    let first = toks
        .first()
        .ok_or(RdataError::Missing { what: "\\# length" })?;
    let len: usize = first
        .text
        .parse()
        .map_err(|_| RdataError::bad("\\# length", first.text))?;
    let hex: String = toks[1..].iter().map(|t| t.text).collect();
    let data = reader::decode_hex(&hex)?;
    if data.len() != len {
        return Err(RdataError::GenericLength {
            declared: len,
            actual: data.len(),
        });
    }
    Ok(data)
}
