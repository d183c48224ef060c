//! The NSEC3 owner-name hash (RFC 5155 §5), here at the bottom because both the signer and the
//! answer path (which hashes a query name to find the NSEC3 records that prove it absent)
//! need it. No allocation: `ring`'s digest lives on the stack.

/// H(name ‖ salt), then `iterations` more times H(previous ‖ salt), with SHA-1 (hash
/// algorithm 1, the only one defined). `lower` is the name in lowercase wire form.
pub fn hash(lower: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
    let step = |data: &[u8]| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(data);
        ctx.update(salt);
        let mut out = [0u8; 20];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    };
    let mut h = step(lower);
    for _ in 0..iterations {
        h = step(&h);
    }
    h
}
