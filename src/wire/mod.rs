//! The DNS wire format as every other module sees it: names in uncompressed wire form
//! ([`name`]), record-type knowledge ([`types`]) and the bounded, allocation-free parser of
//! incoming messages ([`packet`]). Nothing here knows about zones, policies or sockets.

pub mod cookie;
pub mod name;
pub mod nsec3;
pub mod packet;
pub mod types;

/// Largest DNS message (TCP, RFC 7766).
pub const MAX_MESSAGE: usize = 65535;

/// How a message arrived; it bounds the response (RFC 1035 §4.2.1, RFC 6891 §6.2.5) and
/// decides a few answers (RFC 8482 over UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}
