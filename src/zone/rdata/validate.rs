//! RFC 3597 `\#` data of a known type must have that type's wire layout (the server walks the
//! names in it, and BIND and Knot refuse malformed data too).

use super::error::RdataError;
use super::wire_name_len;
use crate::wire::types::*;

/// A walk over wire RDATA; every step fails (`None`) past the end.
struct Walk<'a> {
    d: &'a [u8],
    at: usize,
}

impl Walk<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        (self.at + n <= self.d.len()).then(|| self.at += n)
    }
    fn u8(&mut self) -> Option<u8> {
        let v = *self.d.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn name(&mut self) -> Option<()> {
        let len = wire_name_len(self.d.get(self.at..)?)?;
        self.at += len;
        Some(())
    }
    fn string(&mut self) -> Option<()> {
        let n = self.u8()? as usize;
        self.skip(n)
    }
    fn rest(&mut self) {
        self.at = self.d.len();
    }
    fn strings(&mut self, min: usize) -> Option<()> {
        let mut n = 0;
        while self.at < self.d.len() {
            self.string()?;
            n += 1;
        }
        (n >= min).then_some(())
    }
    fn gateway(&mut self, kind: u8) -> Option<()> {
        match kind {
            0 => Some(()),
            1 => self.skip(4),
            2 => self.skip(16),
            3 => self.name(),
            _ => None,
        }
    }
}

/// Checks `data` against the wire layout of `rtype` where this module knows it.
pub(super) fn validate(rtype: u16, data: &[u8]) -> Result<(), RdataError> {
    let mut w = Walk { d: data, at: 0 };
    let ok = layout(rtype, &mut w).is_some() && w.at == data.len();
    if ok {
        Ok(())
    } else {
        Err(RdataError::GenericInvalid {
            rtype: mnemonic(rtype),
        })
    }
}

fn layout(rtype: u16, w: &mut Walk<'_>) -> Option<()> {
    match rtype {
        A => w.skip(4),
        AAAA => w.skip(16),
        NS | CNAME | PTR | DNAME | MB | MG | MR | NSAP_PTR => w.name(),
        MX | AFSDB | KX | RT | LP => {
            w.skip(2)?;
            w.name()
        }
        RP | MINFO | TALINK => {
            w.name()?;
            w.name()
        }
        PX => {
            w.skip(2)?;
            w.name()?;
            w.name()
        }
        SOA => {
            w.name()?;
            w.name()?;
            w.skip(20)
        }
        SRV => {
            w.skip(6)?;
            w.name()
        }
        NAPTR => {
            w.skip(4)?;
            for _ in 0..3 {
                w.string()?;
            }
            w.name()
        }
        TXT | SPF | NINFO | AVC | RESINFO => w.strings(1),
        HINFO => {
            w.string()?;
            w.string()
        }
        X25 => {
            // BIND: a non-empty string of digits.
            let n = w.u8()? as usize;
            let digits = w.d.get(w.at..w.at + n)?;
            (n > 0 && digits.iter().all(u8::is_ascii_digit)).then_some(())?;
            w.skip(n)
        }
        DHCID | OPENPGPKEY => {
            (!w.d.is_empty()).then_some(())?;
            w.rest();
            Some(())
        }
        WKS => {
            w.skip(5)?;
            w.rest();
            Some(())
        }
        ISDN => {
            w.string()?;
            if w.at < w.d.len() {
                w.string()?;
            }
            Some(())
        }
        GPOS => {
            for _ in 0..3 {
                w.string()?;
            }
            Some(())
        }
        A6 => {
            let prefix = w.u8()?;
            (prefix <= 128).then_some(())?;
            w.skip(16 - prefix as usize / 8)?;
            if prefix > 0 {
                w.name()?;
            }
            Some(())
        }
        HIP => {
            let hit = w.u8()? as usize;
            w.skip(1)?;
            let key = w.u16()? as usize;
            w.skip(hit + key)?;
            while w.at < w.d.len() {
                w.name()?;
            }
            Some(())
        }
        L32 => w.skip(6),
        NID | L64 => w.skip(10),
        EUI48 => w.skip(6),
        EUI64 => w.skip(8),
        // Version 0 has sixteen octets; BIND and Knot carry other versions opaque.
        LOC => match w.u8()? {
            0 => w.skip(15),
            _ => {
                w.rest();
                Some(())
            }
        },
        CAA => {
            w.skip(1)?;
            let n = w.u8()?;
            (n > 0).then_some(())?;
            w.skip(n as usize)?;
            w.rest();
            Some(())
        }
        URI => {
            w.skip(4)?;
            w.rest();
            Some(())
        }
        IPSECKEY => {
            w.skip(1)?;
            let kind = w.u8()?;
            w.skip(1)?;
            w.gateway(kind)?;
            w.rest();
            Some(())
        }
        AMTRELAY => {
            w.skip(1)?;
            let kind = w.u8()? & 0x7F;
            // BIND carries relay types above 3 opaque.
            if kind > 3 {
                w.rest();
                Some(())
            } else {
                w.gateway(kind)
            }
        }
        APL => {
            while w.at < w.d.len() {
                w.skip(3)?;
                let n = w.u8()? & 0x7F;
                w.skip(n as usize)?;
            }
            Some(())
        }
        SVCB | HTTPS => {
            w.skip(2)?;
            w.name()?;
            let mut last: Option<u16> = None;
            while w.at < w.d.len() {
                let k = w.u16()?;
                (last.is_none_or(|l| k > l)).then_some(())?;
                last = Some(k);
                let n = w.u16()?;
                w.skip(n as usize)?;
            }
            Some(())
        }
        ZONEMD => {
            w.skip(6)?;
            (w.d.len() - w.at >= 12).then_some(())?;
            w.rest();
            Some(())
        }
        DS | CDS | SSHFP | TLSA | SMIMEA | CERT | DNSKEY | CDNSKEY | CSYNC => {
            let fixed = match rtype {
                DS | CDS => 4,
                SSHFP => 2,
                TLSA | SMIMEA => 3,
                CERT => 5,
                DNSKEY | CDNSKEY => 4,
                _ => 6,
            };
            w.skip(fixed)?;
            w.rest();
            Some(())
        }
        _ => {
            w.rest();
            Some(())
        }
    }
}
