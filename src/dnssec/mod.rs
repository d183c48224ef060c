//! DNSSEC signing (RFC 4033–4035, 6840): the keys, the signatures and the denial chain, made
//! ahead of time from a zone's records: `load::signed` signs `dnssec = true` zones with it as
//! they load (the answer path then only reads), and `policydns dnssec sign` (src/cli/dnssec.rs)
//! writes signed zone files for other servers (docs/dnssec.md).
//!
//! - [`key`]: ECDSA P-256 (algorithm 13, RFC 6605) and Ed25519 (algorithm 15, RFC 8080)
//!   keys, their DNSKEY and DS records and key tags, kept in the state directory readable by
//!   the owner only.
//! - [`keyring`]: a zone's keys in `<state-dir>/dnssec/<zone>/`, made once and read back.
//! - [`hosted`]: a Route 53 API hosted zone's keys, named by the store.
//! - [`sign`]: an RRset's RRSIG over its canonical form (RFC 4034 §3.1.8.1, §6).
//! - [`nsec`]: NSEC records in canonical name order with their type bitmaps (RFC 4034 §4, §6.1).
//! - [`nsec3`]: NSEC3 hashing and records with RFC 9276's parameters (RFC 5155).
//! - [`zone`]: a whole zone signed: DNSKEY at the apex, an NSEC chain over the authoritative
//!   names and delegations, an RRSIG for every authoritative RRset (none for delegation NS or
//!   glue, RFC 4035 §2.2).

pub mod hosted;
pub mod key;
pub mod keyring;
pub mod nsec;
pub mod nsec3;
pub mod sign;
pub mod zone;

pub use key::{Algorithm, Key, KeyError};

/// The record types a signer makes (RFC 4034, 5155, 7344): in a zone this server signs they
/// follow the data, so no edit, update or listing treats them as data of their own.
pub fn signer_made(rtype: u16) -> bool {
    use crate::wire::types;
    matches!(
        rtype,
        types::RRSIG
            | types::NSEC
            | types::NSEC3
            | types::NSEC3PARAM
            | types::DNSKEY
            | types::CDS
            | types::CDNSKEY
    )
}
