//! NSEC records (RFC 4034 §4): the zone's names in canonical order (§6.1), each pointing to
//! the next, with the types present at it.

pub use crate::wire::name::canonical_cmp;

/// The Type Bit Maps field for `types` (RFC 4034 §4.1.2).
pub fn type_bitmap(types: &[u16]) -> Vec<u8> {
    crate::wire::types::bitmap(types)
}

/// The NSEC RDATA of `owner` whose successor is `next`: the next name (lowercase, RFC 6840
/// §5.1) and the bitmap of `types` (which must include NSEC and RRSIG).
pub fn rdata(next: &[u8], types: &[u16]) -> Vec<u8> {
    let mut r = crate::wire::name::to_lowercase(next);
    r.extend_from_slice(&type_bitmap(types));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_rfc_4034_section_6_1_lists_them() {
        // RFC 4034 §6.1's example, in its order.
        let names: Vec<Vec<u8>> = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ]
        .iter()
        .map(|t| crate::wire::name::from_text(t, None).unwrap())
        .collect();
        let mut shuffled = names.clone();
        shuffled.reverse();
        shuffled.sort_by(|a, b| canonical_cmp(a, b));
        assert_eq!(shuffled, names);
    }

    #[test]
    fn the_bitmap_of_rfc_4034s_example() {
        // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
        let bm = type_bitmap(&[1, 15, 46, 47, 1234]);
        // Window 0: 6 octets, A (1), MX (15), RRSIG (46), NSEC (47); window 4: 27 octets,
        // the last with TYPE1234's bit.
        let mut want = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        want.extend([0u8; 26]);
        want.push(0x20);
        assert_eq!(bm, want);
    }
}
