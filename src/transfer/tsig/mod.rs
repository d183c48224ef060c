//! TSIG (RFC 8945): shared-secret signatures on transfer requests, NOTIFY and their responses.
//!
//! The MAC itself is hickory-proto's (`TSigner` over ring's HMAC); what we write is the framing
//! around it, over raw message bytes: finding the TSIG record, rebuilding the digest input the
//! RFC defines, and appending a signature to a response we already rendered. Working on bytes
//! keeps a 64 KiB transfer message from being decoded into records just to be signed.

use std::collections::BTreeMap;

use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

use crate::wire::{name, types};

/// Allowed clock difference, seconds (RFC 8945 §10 recommends 300).
pub const FUDGE: u16 = 300;

/// TSIG error codes (RFC 8945 §3).
pub const BADSIG: u16 = 16;
pub const BADKEY: u16 = 17;
pub const BADTIME: u16 = 18;

/// A named key as BIND and Knot write them: `NAME:hmac-sha256:BASE64`.
#[derive(Clone)]
pub struct Key {
    /// Lowercase wire form.
    pub name: Vec<u8>,
    pub algorithm: TsigAlgorithm,
    signer: TSigner,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "Key({} {})", name::to_text(&self.name), self.algorithm)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("TSIG key {0:?}: expected NAME:ALGORITHM:BASE64SECRET (for example mykey:hmac-sha256:c2VjcmV0)")]
    Syntax(String),
    #[error("TSIG key {name}: algorithm {algorithm} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)")]
    Algorithm { name: String, algorithm: String },
    #[error("TSIG key {name}: the secret is not valid base64: {reason}")]
    Secret { name: String, reason: String },
    #[error("TSIG key name {0:?} is not a valid domain name")]
    Name(String),
}

impl Key {
    pub fn new(name_text: &str, algorithm: &str, secret_b64: &str) -> Result<Key, KeyError> {
        let wire = name::from_text(name_text.trim_end_matches('.'), Some(&[0]))
            .map_err(|_| KeyError::Name(name_text.to_string()))?;
        let algorithm_lc = algorithm.to_ascii_lowercase();
        let alg = match algorithm_lc.trim_end_matches('.') {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            _ => {
                return Err(KeyError::Algorithm {
                    name: name_text.into(),
                    algorithm: algorithm.into(),
                })
            }
        };
        let secret = data_encoding::BASE64
            .decode(secret_b64.trim().as_bytes())
            .map_err(|e| KeyError::Secret {
                name: name_text.into(),
                reason: e.to_string(),
            })?;
        let hname =
            Name::from_ascii(name::to_text(&wire)).map_err(|_| KeyError::Name(name_text.into()))?;
        let signer =
            TSigner::new(secret, alg.clone(), hname, FUDGE).map_err(|e| KeyError::Algorithm {
                name: name_text.into(),
                algorithm: e.to_string(),
            })?;
        Ok(Key {
            name: name::to_lowercase(&wire),
            algorithm: alg,
            signer,
        })
    }

    /// `NAME:ALGORITHM:SECRET`, the command line's form.
    pub fn parse_spec(spec: &str) -> Result<Key, KeyError> {
        let mut parts = spec.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(a), Some(s)) if !n.is_empty() && !s.is_empty() => Key::new(n, a, s),
            _ => Err(KeyError::Syntax(spec.to_string())),
        }
    }

    pub fn name_text(&self) -> String {
        name::to_text(&self.name)
    }

    fn algorithm_wire(&self) -> Vec<u8> {
        let text = self.algorithm.to_name().to_ascii();
        name::from_text(text.trim_end_matches('.'), Some(&[0])).unwrap_or_default()
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        // Only supported algorithms are ever constructed, so signing cannot fail.
        self.signer.sign(data).unwrap_or_default()
    }

    fn verify(&self, data: &[u8], mac: &[u8]) -> bool {
        self.signer.verify(data, mac).is_ok()
    }

    /// Checks a MAC that may be truncated (RFC 8945 §5.2.2.1): the whole keyed hash, or its
    /// first octets when at least the larger of 10 octets and half the hash are sent.
    fn verify_truncatable(&self, data: &[u8], mac: &[u8]) -> MacCheck {
        let full = self.mac(data);
        if mac.len() > full.len() || mac.len() < 10.max(full.len() / 2) {
            return MacCheck::BadLength;
        }
        if mac.len() == full.len() {
            return if self.verify(data, mac) {
                MacCheck::Good
            } else {
                MacCheck::Bad
            };
        }
        // Constant time: the comparison must not tell an attacker how much was right.
        let diff = full[..mac.len()]
            .iter()
            .zip(mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            MacCheck::Good
        } else {
            MacCheck::Bad
        }
    }
}

/// What a received MAC came to.
enum MacCheck {
    Good,
    Bad,
    /// Longer than the hash, or truncated below what RFC 8945 §5.2.2.1 allows: FORMERR.
    BadLength,
}

/// The keys the server knows, by lowercase wire name.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<Vec<u8>, Key>,
}

impl KeyRing {
    pub fn insert(&mut self, key: Key) {
        self.keys.insert(key.name.clone(), key);
    }
    pub fn get(&self, lower_name: &[u8]) -> Option<&Key> {
        self.keys.get(lower_name)
    }
    pub fn by_text(&self, text: &str) -> Option<&Key> {
        let wire = name::from_text(text.trim_end_matches('.'), Some(&[0])).ok()?;
        self.get(&name::to_lowercase(&wire))
    }
}

/// A TSIG record as found at the end of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigRecord {
    /// Where the record starts in the message: everything before it is signed.
    pub start: usize,
    /// Key name, lowercase wire form.
    pub key: Vec<u8>,
    /// Algorithm name, lowercase wire form.
    pub algorithm: Vec<u8>,
    pub time: u64,
    pub fudge: u16,
    pub mac: Vec<u8>,
    pub original_id: u16,
    pub error: u16,
    pub other: Vec<u8>,
}

/// A name at `pos`, following compression pointers (backwards only, so no loop); returns it
/// (lowercased when `lower`) and where it ends in the message.
pub(crate) fn read_name_at(msg: &[u8], mut pos: usize, lower: bool) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::with_capacity(32);
    let mut end = None;
    let mut hops = 0;
    loop {
        let len = *msg.get(pos)? as usize;
        if len & 0xC0 == 0xC0 {
            let ptr = (len & 0x3F) << 8 | *msg.get(pos + 1)? as usize;
            end.get_or_insert(pos + 2);
            hops += 1;
            if hops > 128 || ptr >= pos {
                return None;
            }
            pos = ptr;
            continue;
        }
        if len > 63 {
            return None;
        }
        out.push(len as u8);
        if len == 0 {
            break;
        }
        let label = msg.get(pos + 1..pos + 1 + len)?;
        if lower {
            out.extend(label.iter().map(u8::to_ascii_lowercase));
        } else {
            out.extend_from_slice(label);
        }
        if out.len() > 255 {
            return None;
        }
        pos += 1 + len;
    }
    Some((out, end.unwrap_or(pos + 1)))
}

fn read_name(msg: &[u8], pos: usize) -> Option<(Vec<u8>, usize)> {
    read_name_at(msg, pos, true)
}

/// Skips one resource record starting at `pos`; returns (type, end).
fn skip_rr(msg: &[u8], pos: usize) -> Option<(u16, usize, usize)> {
    let (_, at) = read_name(msg, pos)?;
    let rtype = u16::from_be_bytes(msg.get(at..at + 2)?.try_into().ok()?);
    let rdlen = u16::from_be_bytes(msg.get(at + 8..at + 10)?.try_into().ok()?) as usize;
    let end = at + 10 + rdlen;
    if end > msg.len() {
        return None;
    }
    Some((rtype, at, end))
}

/// A TSIG record that cannot be read, or is not the last record: FORMERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Finds the TSIG record, which must be the last record of the message (RFC 8945 §5.1).
/// `Ok(None)`: unsigned. `Err`: a TSIG that is malformed or not last (FORMERR).
pub fn find(msg: &[u8]) -> Result<Option<TsigRecord>, Malformed> {
    if msg.len() < 12 {
        return Err(Malformed);
    }
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    if ar == 0 {
        return Ok(None);
    }
    let mut pos = 12;
    for _ in 0..qd {
        let (_, at) = read_name(msg, pos).ok_or(Malformed)?;
        pos = at + 4;
    }
    let total = an + ns + ar;
    for i in 0..total {
        let start = pos;
        let (rtype, at, end) = skip_rr(msg, pos).ok_or(Malformed)?;
        if rtype == types::TSIG {
            if i != total - 1 {
                return Err(Malformed);
            }
            let (key, _) = read_name(msg, start).ok_or(Malformed)?;
            let rdata = &msg[at + 10..end];
            let (algorithm, mut p) = read_name(rdata, 0).ok_or(Malformed)?;
            let field = |p: usize, n: usize| rdata.get(p..p + n).ok_or(Malformed);
            let t = field(p, 6)?;
            let time = u64::from_be_bytes([0, 0, t[0], t[1], t[2], t[3], t[4], t[5]]);
            p += 6;
            let fudge = u16::from_be_bytes(field(p, 2)?.try_into().unwrap());
            let mac_len = u16::from_be_bytes(field(p + 2, 2)?.try_into().unwrap()) as usize;
            p += 4;
            let mac = field(p, mac_len)?.to_vec();
            p += mac_len;
            let original_id = u16::from_be_bytes(field(p, 2)?.try_into().unwrap());
            let error = u16::from_be_bytes(field(p + 2, 2)?.try_into().unwrap());
            let other_len = u16::from_be_bytes(field(p + 4, 2)?.try_into().unwrap()) as usize;
            let other = field(p + 6, other_len)?.to_vec();
            return Ok(Some(TsigRecord {
                start,
                key,
                algorithm,
                time,
                fudge,
                mac,
                original_id,
                error,
                other,
            }));
        }
        pos = end;
    }
    Ok(None)
}

/// The RDATA of the message's OPT record, if it has one.
pub fn find_opt_rdata(msg: &[u8]) -> Option<&[u8]> {
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    if msg.len() < 12 {
        return None;
    }
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    let mut pos = 12;
    for _ in 0..qd {
        pos = read_name(msg, pos)?.1 + 4;
    }
    for i in 0..an + ns + ar {
        let (rtype, at, end) = skip_rr(msg, pos)?;
        if i >= an + ns && rtype == types::OPT {
            return msg.get(at + 10..end);
        }
        pos = end;
    }
    None
}

/// TSIG's "time signed": Unix seconds from the one wall clock.
pub fn now() -> u64 {
    crate::clock::unix_now()
}

/// The TSIG fields a MAC covers (RFC 8945 §4.3.3) and the record carries.
struct Vars<'a> {
    key: &'a [u8],
    algorithm: &'a [u8],
    time: u64,
    fudge: u16,
    error: u16,
    other: &'a [u8],
}

impl Vars<'_> {
    /// What the MAC covers: the prior MAC when there is one (a response's request, a chain's
    /// previous message), the message as it was before the TSIG was added, then every variable,
    /// or only the timers in the later messages of a chain (§5.3.1).
    fn digest(
        &self,
        prior: Option<&[u8]>,
        message: impl FnOnce(&mut Vec<u8>),
        all: bool,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        if let Some(p) = prior {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
        message(&mut out);
        if all {
            out.extend_from_slice(self.key);
            out.extend_from_slice(&types::CLASS_ANY.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(self.algorithm);
        }
        out.extend_from_slice(&self.time.to_be_bytes()[2..]);
        out.extend_from_slice(&self.fudge.to_be_bytes());
        if all {
            out.extend_from_slice(&self.error.to_be_bytes());
            out.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
            out.extend_from_slice(self.other);
        }
        out
    }
}

impl TsigRecord {
    fn vars(&self) -> Vars<'_> {
        Vars {
            key: &self.key,
            algorithm: &self.algorithm,
            time: self.time,
            fudge: self.fudge,
            error: self.error,
            other: &self.other,
        }
    }
}

/// The message as it was before the TSIG was added: ARCOUNT one less and the original ID.
fn unsigned_part(out: &mut Vec<u8>, msg: &[u8], t: &TsigRecord) {
    out.extend_from_slice(&t.original_id.to_be_bytes());
    out.extend_from_slice(&msg[2..10]);
    let ar = u16::from_be_bytes([msg[10], msg[11]]).saturating_sub(1);
    out.extend_from_slice(&ar.to_be_bytes());
    out.extend_from_slice(&msg[12..t.start]);
}

/// Why a signed request was not accepted: answered NOTAUTH with this TSIG error (RFC 8945 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Unknown key or algorithm: BADKEY, unsigned.
    BadKey,
    /// MAC does not verify: BADSIG, unsigned.
    BadSig,
    /// Outside the fudge window: BADTIME, signed, with our time.
    BadTime,
    /// A MAC longer than the hash, or truncated below the allowed length (RFC 8945
    /// §5.2.2.1): FORMERR.
    MacLength,
}

/// A request whose signature checked out: answer it, and sign the answer with `key`.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key: Key,
    pub mac: Vec<u8>,
    pub original_id: u16,
}

/// Checks a signed request (RFC 8945 §5.2): key, MAC, then time.
pub fn verify_request(
    ring: &KeyRing,
    msg: &[u8],
    t: &TsigRecord,
    now: u64,
) -> Result<Verified, (Rejection, Option<Box<Verified>>)> {
    let Some(key) = ring
        .get(&t.key)
        .filter(|k| k.algorithm_wire() == t.algorithm)
    else {
        return Err((Rejection::BadKey, None));
    };
    let data = t.vars().digest(None, |d| unsigned_part(d, msg, t), true);
    match key.verify_truncatable(&data, &t.mac) {
        MacCheck::Good => {}
        MacCheck::Bad => return Err((Rejection::BadSig, None)),
        MacCheck::BadLength => return Err((Rejection::MacLength, None)),
    }
    let v = Verified {
        key: key.clone(),
        mac: t.mac.clone(),
        original_id: t.original_id,
    };
    if now.abs_diff(t.time) > t.fudge as u64 {
        return Err((Rejection::BadTime, Some(Box::new(v))));
    }
    Ok(v)
}

/// Appends a TSIG record to the message `msg[start..]` (complete, unsigned) and bumps its
/// ARCOUNT.
fn append(msg: &mut Vec<u8>, start: usize, v: &Vars<'_>, mac: &[u8], original_id: u16) {
    msg.extend_from_slice(v.key);
    msg.extend_from_slice(&types::TSIG.to_be_bytes());
    msg.extend_from_slice(&types::CLASS_ANY.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    let rdlen = v.algorithm.len() + 10 + mac.len() + 6 + v.other.len();
    msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(v.algorithm);
    msg.extend_from_slice(&v.time.to_be_bytes()[2..]);
    msg.extend_from_slice(&v.fudge.to_be_bytes());
    msg.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    msg.extend_from_slice(mac);
    msg.extend_from_slice(&original_id.to_be_bytes());
    msg.extend_from_slice(&v.error.to_be_bytes());
    msg.extend_from_slice(&(v.other.len() as u16).to_be_bytes());
    msg.extend_from_slice(v.other);
    let ar = u16::from_be_bytes([msg[start + 10], msg[start + 11]]) + 1;
    msg[start + 10..start + 12].copy_from_slice(&ar.to_be_bytes());
}

/// Signs the responses to one verified request, in order: the first with the request's MAC
/// and all TSIG variables, later ones (a multi-message transfer, RFC 8945 §5.3.1) with the
/// previous MAC and the timers only.
pub struct ResponseSigner {
    key: Key,
    prior_mac: Vec<u8>,
    original_id: u16,
    first: bool,
    time: u64,
    error: u16,
}

impl ResponseSigner {
    pub fn new(v: &Verified, now: u64) -> Self {
        ResponseSigner {
            key: v.key.clone(),
            prior_mac: v.mac.clone(),
            original_id: v.original_id,
            first: true,
            time: now,
            error: 0,
        }
    }

    /// Octets the TSIG record this signer appends takes (at most: SHA-512's MAC, BADTIME's
    /// Other Data).
    pub fn room(&self) -> usize {
        self.key.name.len() + 10 + self.key.algorithm_wire().len() + 10 + 64 + 6 + 6
    }

    /// For a BADTIME answer: signed, carrying our clock in Other Data.
    pub fn bad_time(v: &Verified, now: u64) -> Self {
        let mut s = Self::new(v, now);
        s.error = BADTIME;
        s
    }

    /// Signs the message `msg[start..]`, which ends the buffer (earlier bytes may hold messages
    /// already signed, as a TCP stream is built).
    pub fn sign(&mut self, msg: &mut Vec<u8>, start: usize) {
        let alg = self.key.algorithm_wire();
        let time = self.time.to_be_bytes();
        let v = Vars {
            key: &self.key.name,
            algorithm: &alg,
            time: self.time,
            fudge: FUDGE,
            error: self.error,
            other: if self.error == BADTIME {
                &time[2..]
            } else {
                &[]
            },
        };
        let data = v.digest(
            Some(&self.prior_mac),
            |d| d.extend_from_slice(&msg[start..]),
            self.first,
        );
        let mac = self.key.mac(&data);
        append(msg, start, &v, &mac, self.original_id);
        self.prior_mac = mac;
        self.first = false;
    }
}

/// An unsigned TSIG carrying an error (BADKEY, BADSIG), echoing the request's key and
/// algorithm (RFC 8945 §5.2.1, §5.2.2).
pub fn append_unsigned_error(msg: &mut Vec<u8>, t: &TsigRecord, error: u16, now: u64) {
    let v = Vars {
        time: now,
        error,
        other: &[],
        ..t.vars()
    };
    append(msg, 0, &v, &[], t.original_id);
}

/// Signs a request we send (a transfer or SOA query as a secondary, a NOTIFY as a primary).
/// Returns the MAC, which the response's signature covers.
pub fn sign_request(key: &Key, msg: &mut Vec<u8>, now: u64) -> Vec<u8> {
    let alg = key.algorithm_wire();
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let v = Vars {
        key: &key.name,
        algorithm: &alg,
        time: now,
        fudge: FUDGE,
        error: 0,
        other: &[],
    };
    let mac = key.mac(&v.digest(None, |d| d.extend_from_slice(msg), true));
    append(msg, 0, &v, &mac, id);
    mac
}

/// Checks the responses to a request we signed, message by message (RFC 8945 §5.3.1): each
/// must be signed with the key we used, chained from the previous MAC.
pub struct ResponseVerifier {
    key: Key,
    prior_mac: Vec<u8>,
    first: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("response is not signed")]
    Unsigned,
    #[error("response TSIG is malformed")]
    Malformed,
    #[error("response signed with another key")]
    WrongKey,
    #[error("response TSIG error {0} (16 BADSIG, 17 BADKEY, 18 BADTIME)")]
    Error(u16),
    #[error("response signature does not verify")]
    BadMac,
    #[error("response signed at a time outside the fudge window")]
    BadTime,
}

impl ResponseVerifier {
    pub fn new(key: &Key, request_mac: Vec<u8>) -> Self {
        ResponseVerifier {
            key: key.clone(),
            prior_mac: request_mac,
            first: true,
        }
    }

    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<(), VerifyError> {
        let t = find(msg)
            .map_err(|_| VerifyError::Malformed)?
            .ok_or(VerifyError::Unsigned)?;
        if t.key != self.key.name || t.algorithm != self.key.algorithm_wire() {
            return Err(VerifyError::WrongKey);
        }
        if t.error != 0 {
            return Err(VerifyError::Error(t.error));
        }
        let data = t.vars().digest(
            Some(&self.prior_mac),
            |d| unsigned_part(d, msg, &t),
            self.first,
        );
        if !self.key.verify(&data, &t.mac) {
            return Err(VerifyError::BadMac);
        }
        if now.abs_diff(t.time) > t.fudge as u64 {
            return Err(VerifyError::BadTime);
        }
        self.prior_mac = t.mac;
        self.first = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
