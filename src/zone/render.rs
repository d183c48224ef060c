//! Records pre-rendered at load time in the exact bytes they take in a response, so that the
//! common answers are a copy and a few two-octet patches.
//!
//! A template assumes the question is at offset 12 and ends with the zone's apex. Owner names
//! are either the question (pointer `C0 0C`), the apex (a pointer patched per response with
//! where the apex sits inside the question) or a name earlier in the same template (patched
//! with the template's position). RDATA names inside the zone (for the types whose names may be
//! compressed, RFC 3597 §4) are written as their labels above the apex plus an apex pointer.

use crate::wire::{name, types};

/// Bytes plus the pointer fields to fill in when the bytes are placed in a response.
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub bytes: Box<[u8]>,
    /// Offsets of pointers to the zone apex.
    pub apex_ptrs: Box<[u16]>,
    /// Offsets of pointers to a name inside this template, with the name's offset.
    pub self_ptrs: Box<[(u16, u16)]>,
}

#[derive(Debug, Clone, Copy)]
pub enum TOwner {
    /// The query name: `C0 0C`.
    Query,
    Apex,
    /// A name at this offset of the template.
    At(u16),
}

pub struct Builder<'o> {
    bytes: Vec<u8>,
    apex: Vec<u16>,
    selfp: Vec<(u16, u16)>,
    origin: &'o [u8],
}

impl<'o> Builder<'o> {
    pub fn new(origin: &'o [u8]) -> Self {
        Builder {
            bytes: Vec::new(),
            apex: Vec::new(),
            selfp: Vec::new(),
            origin,
        }
    }

    fn ptr_to_apex(&mut self) {
        self.apex.push(self.bytes.len() as u16);
        self.bytes.extend_from_slice(&[0xC0, 0]);
    }

    /// Writes a name; returns its offset in the template.
    fn name(&mut self, n: &[u8], compress: bool) -> u16 {
        let start = self.bytes.len() as u16;
        let lower = name::to_lowercase(n);
        if compress && name::is_subdomain(&lower, self.origin) {
            let prefix = n.len() - self.origin.len();
            self.bytes.extend_from_slice(&n[..prefix]);
            self.ptr_to_apex();
        } else {
            self.bytes.extend_from_slice(n);
        }
        start
    }

    /// Appends one record; returns the offset of each RDATA name written compressed.
    pub fn record(&mut self, owner: TOwner, rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u16> {
        match owner {
            TOwner::Query => self.bytes.extend_from_slice(&[0xC0, 0x0C]),
            TOwner::Apex => self.ptr_to_apex(),
            TOwner::At(off) => {
                self.selfp.push((self.bytes.len() as u16, off));
                self.bytes.extend_from_slice(&[0xC0, 0]);
            }
        }
        self.bytes.extend_from_slice(&rtype.to_be_bytes());
        self.bytes.extend_from_slice(&types::CLASS_IN.to_be_bytes());
        self.bytes.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.bytes.len();
        self.bytes.extend_from_slice(&[0, 0]);
        let mut names = Vec::new();
        if types::rdata_names_compressible(rtype) {
            let mut off = if rtype == types::MX { 2 } else { 0 };
            self.bytes.extend_from_slice(&rdata[..off]);
            let count = if matches!(rtype, types::SOA | types::MINFO) {
                2
            } else {
                1
            };
            for _ in 0..count {
                let len = super::rdata::wire_name_len(&rdata[off..]).expect("validated at parse");
                names.push(self.name(&rdata[off..off + len], true));
                off += len;
            }
            self.bytes.extend_from_slice(&rdata[off..]);
        } else {
            self.bytes.extend_from_slice(rdata);
        }
        let rdlen = (self.bytes.len() - len_at - 2) as u16;
        self.bytes[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        names
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn finish(self) -> Template {
        Template {
            bytes: self.bytes.into_boxed_slice(),
            apex_ptrs: self.apex.into_boxed_slice(),
            self_ptrs: self.selfp.into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_zone_rdata_names_end_in_an_apex_pointer() {
        let origin = name::from_text("example.test.", None).unwrap();
        let mut b = Builder::new(&origin);
        let target = name::from_text("Mail.example.test.", None).unwrap();
        let mut rdata = vec![0, 10];
        rdata.extend_from_slice(&target);
        b.record(TOwner::Query, types::MX, 60, &rdata);
        let t = b.finish();
        // C00C, MX, IN, TTL, rdlength 9: preference, "Mail", pointer.
        assert_eq!(&t.bytes[..2], &[0xC0, 0x0C]);
        assert_eq!(&t.bytes[10..12], &9u16.to_be_bytes());
        assert_eq!(&t.bytes[14..19], b"\x04Mail");
        assert_eq!(&*t.apex_ptrs, &[19]);
    }

    #[test]
    fn names_outside_the_zone_are_written_whole() {
        let origin = name::from_text("example.test.", None).unwrap();
        let mut b = Builder::new(&origin);
        let target = name::from_text("www.other.test.", None).unwrap();
        b.record(TOwner::Apex, types::CNAME, 60, &target);
        let t = b.finish();
        assert_eq!(&*t.apex_ptrs, &[0], "only the owner");
        assert!(t.bytes.ends_with(&target));
    }
}
