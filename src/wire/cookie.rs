//! DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): a client sends an
//! 8-octet client cookie; we answer with it and a 16-octet server cookie made from it, the
//! client's address, a timestamp and a secret. A client that sends the server cookie back has
//! shown it receives answers at its address — it is not a forged source — so response-rate
//! limiting lets it through. Servers that share the secret (an anycast set, or policydns beside
//! BIND and Knot with the same secret) accept each other's cookies, as RFC 9018 intends.
//!
//! Server Cookie = Version (1) | Reserved (3) | Timestamp (4) | Hash (8), where Hash =
//! SipHash-2-4(Client Cookie | Version | Reserved | Timestamp | Client IP, secret).

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// The EDNS option code (RFC 7873 §4).
pub const OPTION: u16 = 10;
pub const CLIENT_LEN: usize = 8;
/// The server cookies we make (RFC 9018 §4).
pub const SERVER_LEN: usize = 16;
const VERSION: u8 = 1;
/// A cookie older than this is not accepted (RFC 9018 §4.3).
const MAX_AGE: u32 = 3600;
/// Nor one stamped further ahead than this (clock skew in a set of servers).
const MAX_AHEAD: u32 = 300;

/// A 128-bit server secret.
pub type Secret = [u8; 16];

/// The secrets: the first makes server cookies; every one is accepted, so a new secret can be
/// rolled out across a set of servers before the old one is retired (BIND's `cookie-secret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    pub current: Secret,
    pub previous: Vec<Secret>,
}

/// The client and server parts of a COOKIE option, or `None` for a malformed one: a client
/// cookie must be 8 octets and a server cookie 8 to 32 (RFC 7873 §5.2.2: FORMERR otherwise).
pub fn split(option: &[u8]) -> Option<(&[u8; CLIENT_LEN], &[u8])> {
    match option.len() {
        8 | 16..=40 => {
            let (client, server) = option.split_at(CLIENT_LEN);
            Some((client.try_into().ok()?, server))
        }
        _ => None,
    }
}

fn hash(secret: &Secret, client: &[u8; CLIENT_LEN], head: &[u8; 8], ip: IpAddr) -> [u8; 8] {
    let mut h = SipHasher24::new_with_key(secret);
    h.write(client);
    h.write(head);
    match ip {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.finish().to_le_bytes()
}

impl Secrets {
    /// The server cookie for `client` at `ip`, stamped `now` (seconds since the epoch, mod 2³²).
    pub fn server_cookie(&self, client: &[u8; CLIENT_LEN], ip: IpAddr, now: u32) -> [u8; 16] {
        let mut head = [0u8; 8];
        head[0] = VERSION;
        head[4..].copy_from_slice(&now.to_be_bytes());
        let mut out = [0u8; SERVER_LEN];
        out[..8].copy_from_slice(&head);
        out[8..].copy_from_slice(&hash(&self.current, client, &head, ip));
        out
    }

    /// Whether `server` is a cookie one of our secrets made for `client` at `ip`, no older than
    /// an hour and no more than five minutes ahead of `now` (serial arithmetic: the timestamp
    /// wraps in 2106).
    pub fn valid(&self, client: &[u8; CLIENT_LEN], server: &[u8], ip: IpAddr, now: u32) -> bool {
        let Ok(server) = <&[u8; SERVER_LEN]>::try_from(server) else {
            return false;
        };
        if server[0] != VERSION {
            return false;
        }
        let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        let age = now.wrapping_sub(stamp);
        let ahead = stamp.wrapping_sub(now);
        if age > MAX_AGE && ahead > MAX_AHEAD {
            return false;
        }
        // The reserved octets are hashed as received (RFC 9018 §4.3: a cookie with them set
        // by someone else's server stays valid as long as the hash holds).
        let head: &[u8; 8] = server[..8].try_into().expect("16 octets");
        let mac = &server[8..];
        std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|s| constant_time_eq(&hash(s, client, head, ip), mac))
    }
}

/// Compares without stopping at the first difference, so the time taken says nothing about
/// how much of a forged hash was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Seconds since the epoch, mod 2³² (RFC 9018's timestamp).
pub fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
