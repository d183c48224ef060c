//! Identifiers in Route 53's forms: hosted zones `Z` and changes `C` followed by uppercase
//! letters and digits, request ids as UUIDs. Random, from the system's generator.

use ring::rand::{SecureRandom, SystemRandom};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system generator does not fail on Linux; zeros would still be unique enough
    // together with the store's duplicate check.
    let _ = SystemRandom::new().fill(&mut b);
    b
}

fn token(prefix: char) -> String {
    let mut out = String::with_capacity(21);
    out.push(prefix);
    for b in random_bytes::<20>() {
        out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
    }
    out
}

pub fn zone_id() -> String {
    token('Z')
}

pub fn change_id() -> String {
    token('C')
}

/// A request id, as Route 53's `x-amzn-RequestId`: a UUID.
pub fn request_id() -> String {
    uuid()
}

/// A random (version 4) UUID, as Route 53's health-check ids.
pub fn uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = data_encoding::HEXLOWER.encode(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Unix seconds now.
pub fn now() -> i64 {
    crate::clock::unix_now() as i64
}
