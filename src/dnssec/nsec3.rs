//! NSEC3 (RFC 5155) with RFC 9276's parameters by default: SHA-1, no opt-out, no extra
//! iterations, an empty salt. Each name of the zone (empty non-terminals included) is hashed;
//! the chain runs in hash order, so walking it reveals no names.

use data_encoding::BASE32HEX_NOPAD;

/// Hash algorithm 1, SHA-1: the only one defined (RFC 5155 §11).
pub const SHA1: u8 = 1;

/// The chain's parameters, as NSEC3PARAM publishes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params {
    /// Extra iterations: RFC 9276 §3.1 says 0; validators may treat more as insecure.
    pub iterations: u16,
    /// RFC 9276 §3.1: empty; a salt does nothing against dictionary attacks on NSEC3.
    pub salt: Vec<u8>,
}

impl Params {
    /// `owner`'s hash (RFC 5155 §5): H(name ‖ salt), then `iterations` times H(x ‖ salt),
    /// over the lowercase wire form.
    pub fn hash(&self, owner: &[u8]) -> [u8; 20] {
        let lower = crate::wire::name::to_lowercase(owner);
        crate::wire::nsec3::hash(&lower, &self.salt, self.iterations)
    }

    /// The NSEC3PARAM RDATA (RFC 5155 §4.2): algorithm, flags 0, iterations, salt.
    pub fn param_rdata(&self) -> Vec<u8> {
        let mut r = vec![SHA1, 0];
        r.extend_from_slice(&self.iterations.to_be_bytes());
        r.push(self.salt.len() as u8);
        r.extend_from_slice(&self.salt);
        r
    }

    /// The NSEC3 RDATA (RFC 5155 §3.2) pointing at `next` (a raw hash), with the bitmap of
    /// the types at the original owner.
    pub fn rdata(&self, next: &[u8; 20], types: &[u16]) -> Vec<u8> {
        let mut r = self.param_rdata();
        r.push(20);
        r.extend_from_slice(next);
        if !types.is_empty() {
            r.extend_from_slice(&crate::wire::types::bitmap(types));
        }
        r
    }
}

/// The NSEC3 owner for `hash` in zone `origin` (wire): the base32hex hash, lowercase, as the
/// first label (RFC 5155 §3).
pub fn owner(hash: &[u8; 20], origin: &[u8]) -> Vec<u8> {
    let label = BASE32HEX_NOPAD.encode(hash).to_ascii_lowercase();
    let mut n = Vec::with_capacity(1 + label.len() + origin.len());
    n.push(label.len() as u8);
    n.extend_from_slice(label.as_bytes());
    n.extend_from_slice(origin);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::name;

    #[test]
    fn hashes_match_rfc_5155_appendix_a() {
        // RFC 5155 Appendix A: salt aabbccdd, 12 iterations.
        let p = Params {
            iterations: 12,
            salt: vec![0xaa, 0xbb, 0xcc, 0xdd],
        };
        for (n, want) in [
            ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"),
            ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
        ] {
            let origin = name::from_text("example.", None).unwrap();
            let h = p.hash(&name::from_text(n, None).unwrap());
            let o = owner(&h, &origin);
            assert_eq!(name::to_text(&o), format!("{want}.example."), "{n}");
        }
    }

    #[test]
    fn rfc_9276_parameters_publish_as_1_0_0_dash() {
        assert_eq!(Params::default().param_rdata(), vec![1, 0, 0, 0, 0]);
    }
}
