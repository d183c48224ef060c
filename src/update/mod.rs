//! Dynamic update (RFC 2136): an UPDATE message read into its zone, prerequisites and changes,
//! and the rules that turn those into a change of the store's record sets ([`rules`]).
//!
//! An update changes a hosted zone of the change store exactly as the Route 53 API does: the
//! committer checks its prerequisites against the store in commit order (so an update and an API
//! change are never interleaved), turns its record-level operations into Route 53 changes of
//! whole record sets, and journals, patches, transfers and answers them like any batch.

pub mod rules;

use crate::transfer::client::decompress_rdata;
use crate::transfer::tsig::read_name_at;
use crate::wire::packet::HEADER_LEN;
use crate::wire::types;

/// Most records one update may carry (prerequisites and changes together), as Route 53 caps a
/// change batch at 1,000.
pub const MAX_RECORDS: usize = 1000;

/// One record of the prerequisite or update section, names decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRr {
    /// Lowercase wire form.
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// Uncompressed.
    pub rdata: Vec<u8>,
}

/// An UPDATE message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The zone section's name, lowercase wire form.
    pub zone: Vec<u8>,
    pub zone_type: u16,
    pub zone_class: u16,
    pub prerequisites: Vec<UpdateRr>,
    pub updates: Vec<UpdateRr>,
}

/// Why a message does not read: FORMERR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed UPDATE: {0}")]
pub struct Malformed(pub &'static str);

/// Reads an UPDATE message (the additional section, OPT and TSIG, is the transfer side's).
pub fn read(m: &[u8]) -> Result<Message, Malformed> {
    if m.len() < HEADER_LEN {
        return Err(Malformed("shorter than a header"));
    }
    let count = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]) as usize;
    let (zo, pr, up) = (count(4), count(6), count(8));
    if zo != 1 {
        return Err(Malformed("the zone section must hold one zone"));
    }
    if pr + up > MAX_RECORDS {
        return Err(Malformed("more records than an update may carry"));
    }
    let (zone, end) = read_name_at(m, HEADER_LEN, true).ok_or(Malformed("zone name"))?;
    let head = m.get(end..end + 4).ok_or(Malformed("zone section"))?;
    let zone_type = u16::from_be_bytes([head[0], head[1]]);
    let zone_class = u16::from_be_bytes([head[2], head[3]]);
    let mut pos = end + 4;
    let mut section = |n: usize| -> Result<Vec<UpdateRr>, Malformed> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (owner, end) = read_name_at(m, pos, true).ok_or(Malformed("owner name"))?;
            let h = m.get(end..end + 10).ok_or(Malformed("record header"))?;
            let rtype = u16::from_be_bytes([h[0], h[1]]);
            let class = u16::from_be_bytes([h[2], h[3]]);
            let ttl = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            let rdlen = u16::from_be_bytes([h[8], h[9]]) as usize;
            let start = end + 10;
            if start + rdlen > m.len() {
                return Err(Malformed("RDATA past the end"));
            }
            let rdata = if rdlen == 0 {
                Vec::new()
            } else {
                decompress_rdata(m, rtype, start, start + rdlen).ok_or(Malformed("RDATA"))?
            };
            out.push(UpdateRr {
                owner,
                rtype,
                class,
                ttl,
                rdata,
            });
            pos = start + rdlen;
        }
        Ok(out)
    };
    let prerequisites = section(pr)?;
    let updates = section(up)?;
    if zone_type != types::SOA {
        return Err(Malformed("the zone section's type must be SOA"));
    }
    Ok(Message {
        zone,
        zone_type,
        zone_class,
        prerequisites,
        updates,
    })
}
