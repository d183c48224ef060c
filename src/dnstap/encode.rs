//! dnstap's bytes: the protobuf `Dnstap` message (dnstap.proto, the schema BIND, Knot, Unbound
//! and CoreDNS share) and Frame Streams framing (farsightsec/fstrm, "protobuf:dnstap.Dnstap").
//! Written by hand: two messages of a dozen scalar fields do not need a protobuf toolchain.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Frame Streams content type of dnstap.
pub const CONTENT_TYPE: &[u8] = b"protobuf:dnstap.Dnstap";

/// Control frame types (fstrm).
pub const CONTROL_ACCEPT: u32 = 0x01;
pub const CONTROL_START: u32 = 0x02;
pub const CONTROL_STOP: u32 = 0x03;
pub const CONTROL_READY: u32 = 0x04;
pub const CONTROL_FINISH: u32 = 0x05;
const FIELD_CONTENT_TYPE: u32 = 0x01;

/// A control frame: the escape (a zero length), its length, its type and, for the frames
/// that carry one, the content type.
pub fn control_frame(kind: u32, with_content_type: bool) -> Vec<u8> {
    let mut body = kind.to_be_bytes().to_vec();
    if with_content_type {
        body.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
        body.extend_from_slice(&(CONTENT_TYPE.len() as u32).to_be_bytes());
        body.extend_from_slice(CONTENT_TYPE);
    }
    let mut f = 0u32.to_be_bytes().to_vec();
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.extend_from_slice(&body);
    f
}

/// Appends a data frame holding `payload`.
pub fn data_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, 0);
    varint(out, v);
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn fixed32(out: &mut Vec<u8>, field: u32, v: u32) {
    key(out, field, 5);
    out.extend_from_slice(&v.to_le_bytes());
}

/// dnstap `Message.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    AuthQuery = 1,
    AuthResponse = 2,
}

/// One query and its response as the server saw them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub tcp: bool,
    /// The client's address and port.
    pub client: SocketAddr,
    /// Our address and port, where known.
    pub server: Option<SocketAddr>,
    pub received: SystemTime,
    pub answered: SystemTime,
    pub query: Vec<u8>,
    pub response: Vec<u8>,
}

fn split_time(t: SystemTime) -> (u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.subsec_nanos())
}

fn ip_bytes(a: &SocketAddr) -> Vec<u8> {
    match a {
        SocketAddr::V4(a) => a.ip().octets().to_vec(),
        SocketAddr::V6(a) => a.ip().octets().to_vec(),
    }
}

/// A `Dnstap` message (type MESSAGE) wrapping one `Message` of `kind` for `x`.
pub fn dnstap(out: &mut Vec<u8>, identity: &[u8], version: &[u8], kind: MessageType, x: &Exchange) {
    let mut m = Vec::with_capacity(64 + x.query.len() + x.response.len());
    uint(&mut m, 1, kind as u64);
    uint(&mut m, 2, if x.client.is_ipv4() { 1 } else { 2 });
    uint(&mut m, 3, if x.tcp { 2 } else { 1 });
    bytes(&mut m, 4, &ip_bytes(&x.client));
    if let Some(s) = &x.server {
        bytes(&mut m, 5, &ip_bytes(s));
    }
    uint(&mut m, 6, u64::from(x.client.port()));
    if let Some(s) = &x.server {
        uint(&mut m, 7, u64::from(s.port()));
    }
    let (qs, qn) = split_time(x.received);
    uint(&mut m, 8, qs);
    fixed32(&mut m, 9, qn);
    bytes(&mut m, 10, &x.query);
    if kind == MessageType::AuthResponse {
        let (rs, rn) = split_time(x.answered);
        uint(&mut m, 12, rs);
        fixed32(&mut m, 13, rn);
        bytes(&mut m, 14, &x.response);
    }
    if !identity.is_empty() {
        bytes(out, 1, identity);
    }
    bytes(out, 2, version);
    bytes(out, 14, &m);
    uint(out, 15, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, [0xAC, 0x02]);
    }

    #[test]
    fn a_start_frame_names_the_content_type() {
        let f = control_frame(CONTROL_START, true);
        assert_eq!(&f[..4], &[0, 0, 0, 0]);
        assert_eq!(
            u32::from_be_bytes(f[4..8].try_into().unwrap()) as usize,
            f.len() - 8
        );
        assert_eq!(&f[8..12], &CONTROL_START.to_be_bytes());
        assert!(f.ends_with(CONTENT_TYPE));
    }
}
