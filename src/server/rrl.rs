//! Response-rate limiting (RRL) on the UDP path, as BIND, Knot and NSD do it: answers to one
//! client network (a /24 or /56 by default) that are alike — the same name and type, or the same
//! zone's NXDOMAIN/NODATA, or errors — are limited to a rate per second averaged over a window.
//! Past the rate, every `slip`-th limited answer goes out truncated (TC=1, no records), so a
//! real client behind a forged-source flood retries over TCP and is answered there; the others
//! are dropped. Spoofed sources cannot use the server to amplify traffic beyond the rate.
//!
//! Each UDP worker keeps its own table (no lock, no allocation per packet): a fixed array of
//! buckets indexed by a hash of the client network and the answer's kind. A bucket taken over by
//! another key starts afresh — a flood that collides with a legitimate client can only make
//! that client less limited, never more.

use std::hash::BuildHasher;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use rustc_hash::FxBuildHasher;

/// RRL settings (`[server] rrl_*`, `--rrl RATE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrlSettings {
    /// Alike answers (NOERROR with data, NXDOMAIN/NODATA per zone) per second per network.
    pub responses_per_second: u32,
    /// Error answers (REFUSED, FORMERR, SERVFAIL, …) per second per network.
    pub errors_per_second: u32,
    /// Seconds the rate is averaged over: how much unused allowance or debt a bucket keeps.
    pub window: u32,
    /// Every `slip`-th limited answer is sent truncated; 0 drops them all, 1 truncates all.
    pub slip: u32,
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    /// Networks never limited (monitoring, your own resolvers).
    pub exempt: Vec<IpNetwork>,
}

impl RrlSettings {
    /// BIND's and Knot's usual numbers at `rate`: window 15 s, slip 2, /24 and /56.
    pub fn at_rate(rate: u32) -> Self {
        RrlSettings {
            responses_per_second: rate,
            errors_per_second: rate,
            window: 15,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: Vec::new(),
        }
    }
}

/// What to do with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Send it truncated: header and question, TC=1.
    Slip,
    Drop,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    key: u64,
    /// Allowance left (negative: debt).
    balance: i32,
    /// The second `balance` was last brought up to.
    second: u32,
    /// Limited answers so far, for `slip`.
    limited: u32,
}

/// Buckets per worker: 64 Ki × 24 octets.
const BUCKETS: usize = 1 << 16;

/// One UDP worker's table.
pub struct Limiter {
    buckets: Box<[Bucket]>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            buckets: vec![Bucket::default(); BUCKETS].into_boxed_slice(),
        }
    }
}

impl Limiter {
    /// The verdict on `response` (a complete answer built for `client`) at second `now`.
    pub fn check(&mut self, s: &RrlSettings, now: u32, client: IpAddr, response: &[u8]) -> Verdict {
        if s.exempt.iter().any(|n| n.contains(client)) {
            return Verdict::Send;
        }
        let Some((kind, rate)) = answer_kind(s, response) else {
            return Verdict::Send;
        };
        if rate == 0 {
            return Verdict::Send;
        }
        let mut h = FxBuildHasher.build_hasher();
        std::hash::Hasher::write(&mut h, &network(s, client));
        std::hash::Hasher::write(&mut h, kind);
        let key = std::hash::Hasher::finish(&h) | 1;
        let b = &mut self.buckets[(key as usize) & (BUCKETS - 1)];
        let rate = rate as i32;
        let floor = -(rate.saturating_mul(s.window.max(1) as i32));
        if b.key != key {
            *b = Bucket {
                key,
                balance: rate,
                second: now,
                limited: 0,
            };
        } else if now != b.second {
            let elapsed = now.wrapping_sub(b.second).min(s.window.max(1) + 1) as i32;
            b.balance = b
                .balance
                .saturating_add(elapsed.saturating_mul(rate))
                .min(rate);
            b.second = now;
        }
        b.balance = (b.balance - 1).max(floor);
        if b.balance >= 0 {
            return Verdict::Send;
        }
        b.limited = b.limited.wrapping_add(1);
        if s.slip > 0 && b.limited.is_multiple_of(s.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

/// The client's network: its address cut to the prefix, as octets.
fn network(s: &RrlSettings, client: IpAddr) -> [u8; 17] {
    super::network::of(client, s.ipv4_prefix, s.ipv6_prefix)
}

/// What makes answers alike, and the rate they share: (name and type) for answers with data,
/// the zone (the authority section's owner) for NXDOMAIN and NODATA, the rcode for errors.
/// `None`: not an answer to limit (a truncated one, a malformed one).
fn answer_kind<'r>(s: &RrlSettings, r: &'r [u8]) -> Option<(&'r [u8], u32)> {
    if r.len() < 12 || r[2] & 0x02 != 0 {
        return None; // already truncated: the client comes back over TCP
    }
    let rcode = r[3] & 0x0F;
    let ancount = u16::from_be_bytes([r[6], r[7]]);
    // The question's name, uncompressed in our answers.
    let mut end = 12;
    loop {
        let len = *r.get(end)? as usize;
        if len & 0xC0 != 0 {
            return None;
        }
        end += 1 + len;
        if len == 0 {
            break;
        }
    }
    let qname_and_type = r.get(12..end + 2)?;
    match rcode {
        0 if ancount > 0 => Some((qname_and_type, s.responses_per_second)),
        0 | 3 => {
            // NXDOMAIN and NODATA: all the names of one zone alike (a random-subdomain flood is
            // one bucket). The SOA in authority points into the question's name at the zone.
            let at = end + 4;
            let zone = match r.get(at..at + 2) {
                Some(p) if p[0] & 0xC0 == 0xC0 => {
                    let off = (u16::from_be_bytes([p[0], p[1]]) & 0x3FFF) as usize;
                    r.get(off..end).filter(|_| off >= 12)?
                }
                _ => r.get(12..end)?,
            };
            Some((zone, s.responses_per_second))
        }
        _ => Some((&r[3..4], s.errors_per_second)),
    }
}

/// Rewrites `response` (of `len` octets) in place as its truncated form: the header and
/// question, TC=1, no records but the OPT record when it has one (RFC 6891 §7: an EDNS query
/// gets an EDNS answer), so the client keeps its server cookie and the EDNS size it learned.
/// Returns the new length.
pub fn slip(response: &mut [u8], len: usize) -> usize {
    // OPT's owner is the root (one octet), then type, class, TTL and RDLENGTH: 11 octets.
    let opt = crate::transfer::tsig::find_opt_rdata(&response[..len]).map(|rdata| {
        let start = rdata.as_ptr() as usize - response.as_ptr() as usize - 11;
        (start, 11 + rdata.len())
    });
    let mut end = 12;
    while end < len {
        let l = response[end] as usize;
        end += 1 + l;
        if l == 0 {
            break;
        }
    }
    let end = (end + 4).min(len);
    response[2] |= 0x02;
    response[6..12].fill(0);
    match opt {
        Some((start, n)) if start >= end => {
            response.copy_within(start..start + n, end);
            response[10..12].copy_from_slice(&1u16.to_be_bytes());
            end + n
        }
        _ => end,
    }
}

#[cfg(test)]
mod tests;
