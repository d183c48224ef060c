//! One RRset's signature (RFC 4034 §3): the RRSIG RDATA without its signature, then every
//! record in canonical form and order (§6.2, §6.3), signed with the zone's key.

use super::Key;
use crate::wire::name;
use crate::zone::rdata;

/// What an RRSIG covers, besides the records.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Unix seconds; serial-number arithmetic on the wire (RFC 4034 §3.1.5).
    pub inception: u32,
    pub expiration: u32,
}

/// The RRSIG RDATA for the RRset `owner`/`rtype` of `rdatas` with original TTL `ttl`, made
/// by `key` of the zone `signer` (both names lowercase wire form).
pub fn rrsig(
    key: &Key,
    signer: &[u8],
    owner: &[u8],
    rtype: u16,
    ttl: u32,
    rdatas: &[Vec<u8>],
    validity: Validity,
) -> Vec<u8> {
    let owner = name::to_lowercase(owner);
    let mut r = Vec::with_capacity(18 + signer.len() + 64);
    r.extend_from_slice(&rtype.to_be_bytes());
    r.push(key.algorithm.number());
    r.push(labels(&owner));
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&validity.expiration.to_be_bytes());
    r.extend_from_slice(&validity.inception.to_be_bytes());
    r.extend_from_slice(&key.key_tag().to_be_bytes());
    r.extend_from_slice(&name::to_lowercase(signer));
    let mut signed = r.clone();
    for rd in canonical_set(rtype, rdatas) {
        signed.extend_from_slice(&owner);
        signed.extend_from_slice(&rtype.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // IN
        signed.extend_from_slice(&ttl.to_be_bytes());
        signed.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        signed.extend_from_slice(&rd);
    }
    r.extend_from_slice(&key.sign(&signed));
    r
}

/// The records' RDATA in canonical form, sorted as unsigned octet strings, duplicates
/// removed (RFC 4034 §6.3).
pub(crate) fn canonical_set(rtype: u16, rdatas: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = rdatas
        .iter()
        .map(|d| rdata::canonical(rtype, d).into_owned())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The RRSIG Labels field: the owner's labels, not counting the root or a leading `*`
/// (RFC 4034 §3.1.3).
pub fn labels(owner: &[u8]) -> u8 {
    let mut n = 0u8;
    let mut at = 0;
    while at < owner.len() && owner[at] != 0 {
        n += 1;
        at += 1 + owner[at] as usize;
    }
    if owner.starts_with(b"\x01*") {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_leave_out_the_root_and_a_wildcard() {
        for (name, n) in [
            (&b"\x00"[..], 0),
            (b"\x07example\x00", 1),
            (b"\x03www\x07example\x00", 2),
            (b"\x01*\x07example\x00", 1),
        ] {
            assert_eq!(labels(name), n);
        }
    }

    #[test]
    fn a_signature_verifies_with_the_dnskeys_public_key() {
        use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519};
        for alg in [
            super::super::Algorithm::EcdsaP256Sha256,
            super::super::Algorithm::Ed25519,
        ] {
            let key = Key::generate(alg, 257, 1).unwrap();
            let owner = b"\x03www\x07example\x00".to_vec();
            let rr = rrsig(
                &key,
                b"\x07example\x00",
                b"\x03WWW\x07example\x00",
                1,
                300,
                &[vec![192, 0, 2, 2], vec![192, 0, 2, 1]],
                Validity {
                    inception: 1,
                    expiration: 2,
                },
            );
            let sig_at = 18 + 9;
            let mut signed = rr[..sig_at].to_vec();
            for a in [[192u8, 0, 2, 1], [192, 0, 2, 2]] {
                signed.extend_from_slice(&owner);
                signed.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4]);
                signed.extend_from_slice(&a);
            }
            let public = &key.dnskey_rdata()[4..];
            let ok = match alg {
                super::super::Algorithm::EcdsaP256Sha256 => {
                    let mut point = vec![4u8];
                    point.extend_from_slice(public);
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                        .verify(&signed, &rr[sig_at..])
                }
                super::super::Algorithm::Ed25519 => {
                    UnparsedPublicKey::new(&ED25519, public).verify(&signed, &rr[sig_at..])
                }
            };
            assert!(ok.is_ok(), "{alg:?}");
        }
    }
}
