//! Reading the fields of one record's RDATA tokens, in order.

use super::error::RdataError;
use crate::wire::name;
use crate::zone::lex::Token;

pub(super) type R<T> = Result<T, RdataError>;

pub(super) struct Reader<'a> {
    pub(super) toks: &'a [Token<'a>],
    pub(super) pos: usize,
    pub(super) origin: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(toks: &'a [Token<'a>], origin: &'a [u8]) -> Self {
        Reader {
            toks,
            pos: 0,
            origin,
        }
    }
    pub(super) fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
    pub(super) fn peek(&self) -> Option<&'a Token<'a>> {
        self.toks.get(self.pos)
    }
    pub(super) fn next(&mut self, what: &'static str) -> R<&'a Token<'a>> {
        let t = self
            .toks
            .get(self.pos)
            .ok_or(RdataError::Missing { what })?;
        self.pos += 1;
        Ok(t)
    }
    pub(super) fn word(&mut self, what: &'static str) -> R<&'a str> {
        Ok(self.next(what)?.text)
    }
    /// A decimal number of type `T`.
    pub(super) fn num<T: std::str::FromStr>(&mut self, what: &'static str) -> R<T> {
        let w = self.word(what)?;
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RdataError::bad(what, w));
        }
        w.parse().map_err(|_| RdataError::range(what, w))
    }
    pub(super) fn u8(&mut self, out: &mut Vec<u8>, what: &'static str) -> R<()> {
        out.push(self.num::<u8>(what)?);
        Ok(())
    }
    pub(super) fn u16(&mut self, out: &mut Vec<u8>, what: &'static str) -> R<()> {
        out.extend_from_slice(&self.num::<u16>(what)?.to_be_bytes());
        Ok(())
    }
    pub(super) fn u32(&mut self, out: &mut Vec<u8>, what: &'static str) -> R<()> {
        out.extend_from_slice(&self.num::<u32>(what)?.to_be_bytes());
        Ok(())
    }
    /// A domain name, completed with the origin when relative.
    pub(super) fn name(&mut self, out: &mut Vec<u8>) -> R<()> {
        let w = self.word("domain name")?;
        out.extend_from_slice(&name_from(w, self.origin)?);
        Ok(())
    }
    pub(super) fn char_string(&mut self, out: &mut Vec<u8>) -> R<()> {
        let t = self.next("character-string")?;
        char_string(out, t.text)
    }
    /// The remaining tokens joined, decoded as base64; at least one token unless `optional`.
    pub(super) fn base64_rest(&mut self, out: &mut Vec<u8>, optional: bool) -> R<()> {
        let b64: String = self.toks[self.pos..].iter().map(|t| t.text).collect();
        self.pos = self.toks.len();
        if b64.is_empty() && !optional {
            return Err(RdataError::Missing {
                what: "base64 data",
            });
        }
        out.extend_from_slice(&base64(&b64)?);
        Ok(())
    }
    /// The remaining tokens joined, decoded as hex; at least one digit.
    pub(super) fn hex_rest(&mut self, out: &mut Vec<u8>) -> R<()> {
        let hex: String = self.toks[self.pos..].iter().map(|t| t.text).collect();
        self.pos = self.toks.len();
        if hex.is_empty() {
            return Err(RdataError::Missing { what: "hex data" });
        }
        out.extend_from_slice(&decode_hex(&hex)?);
        Ok(())
    }
}

pub(super) fn name_from(w: &str, origin: &[u8]) -> R<Vec<u8>> {
    name::from_text(w, Some(origin)).map_err(|e| RdataError::Name {
        token: w.to_string(),
        reason: e.to_string(),
    })
}

pub(super) fn char_string(out: &mut Vec<u8>, text: &str) -> R<()> {
    let s = unescape(text)?;
    if s.len() > 255 {
        return Err(RdataError::TooLong {
            what: "character-string",
            max: 255,
            len: s.len(),
        });
    }
    out.push(s.len() as u8);
    out.extend_from_slice(&s);
    Ok(())
}

pub(super) fn base64(text: &str) -> R<Vec<u8>> {
    data_encoding::BASE64
        .decode(text.as_bytes())
        .map_err(|_| RdataError::bad("base64", text))
}

pub(super) fn decode_hex(hex: &str) -> R<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return Err(RdataError::bad("hex (odd number of digits)", hex));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| RdataError::bad("hex", hex)))
        .collect()
}

/// Decodes `\DDD` and `\X` escapes of a character-string.
pub(super) fn unescape(text: &str) -> R<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (v, used) =
                name::unescape(&b[i + 1..]).map_err(|_| RdataError::bad("escape", text))?;
            out.push(v);
            i += 1 + used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}
