//! Signing and verifying: right and wrong keys, secrets, times, bytes, truncation, chains.
use super::*;

fn key(secret: &str) -> Key {
    Key::parse_spec(&format!("xfr-key:hmac-sha256:{secret}")).unwrap()
}

fn query() -> Vec<u8> {
    // id 0x1234, one question: example.test AXFR IN.
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x07example\x04test\x00");
    m.extend_from_slice(&types::AXFR.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

const SECRET: &str = "c2VjcmV0c2VjcmV0";

/// A query signed with `secret` at `signed_at` (then `tamper`ed with), as a server that
/// knows the key with secret `known` (if any) judges it at `now`.
fn judge(
    secret: &str,
    known: Option<&str>,
    signed_at: u64,
    now: u64,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> Result<Verified, Rejection> {
    let mut ring = KeyRing::default();
    if let Some(k) = known {
        ring.insert(key(k));
    }
    let mut m = query();
    sign_request(&key(secret), &mut m, signed_at);
    tamper(&mut m);
    let t = find(&m).unwrap().unwrap();
    verify_request(&ring, &m, &t, now).map_err(|e| e.0)
}

#[test]
fn a_request_signed_with_the_right_key_verifies() {
    assert!(judge(SECRET, Some(SECRET), 1_000_000, 1_000_100, |_| {}).is_ok());
}

#[test]
fn a_request_signed_with_another_secret_is_badsig() {
    let r = judge(
        "b3RoZXJvdGhlcg==",
        Some(SECRET),
        1_000_000,
        1_000_000,
        |_| {},
    );
    assert_eq!(r.unwrap_err(), Rejection::BadSig);
}

/// Cuts the MAC of the TSIG record that `sign_request` appended to `query()` to `n` octets.
fn truncate_mac(m: &mut Vec<u8>, n: usize) {
    let rdata = query().len() + b"\x07xfr-key\x00".len() + 10;
    let size_at = rdata + b"\x0bhmac-sha256\x00".len() + 8;
    let full = u16::from_be_bytes([m[size_at], m[size_at + 1]]) as usize;
    m.drain(size_at + 2 + n..size_at + 2 + full);
    m[size_at..size_at + 2].copy_from_slice(&(n as u16).to_be_bytes());
    let rdlen = u16::from_be_bytes([m[rdata - 2], m[rdata - 1]]) as usize - (full - n);
    m[rdata - 2..rdata].copy_from_slice(&(rdlen as u16).to_be_bytes());
}

#[test]
fn a_mac_truncated_as_rfc_8945_allows_verifies() {
    // HMAC-SHA256: 32 octets; at least 16 (half) may be sent.
    let r = judge(SECRET, Some(SECRET), 1_000_000, 1_000_000, |m| {
        truncate_mac(m, 16)
    });
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn a_mac_truncated_below_the_allowed_length_is_formerr() {
    let r = judge(SECRET, Some(SECRET), 1_000_000, 1_000_000, |m| {
        truncate_mac(m, 15)
    });
    assert_eq!(r.unwrap_err(), Rejection::MacLength);
    let r = judge(SECRET, Some(SECRET), 1_000_000, 1_000_000, |m| {
        truncate_mac(m, 8)
    });
    assert_eq!(r.unwrap_err(), Rejection::MacLength);
}

#[test]
fn a_wrong_truncated_mac_is_badsig() {
    let r = judge(SECRET, Some(SECRET), 1_000_000, 1_000_000, |m| {
        truncate_mac(m, 20);
        let last_mac_octet = m.len() - 6 - 1;
        m[last_mac_octet] ^= 1;
    });
    assert_eq!(r.unwrap_err(), Rejection::BadSig);
}

#[test]
fn a_request_with_an_unknown_key_is_badkey() {
    let r = judge(SECRET, None, 1_000_000, 1_000_000, |_| {});
    assert_eq!(r.unwrap_err(), Rejection::BadKey);
}

#[test]
fn a_request_outside_the_fudge_window_is_badtime() {
    let r = judge(SECRET, Some(SECRET), 1_000_000, 1_000_000 + 301, |_| {});
    assert_eq!(r.unwrap_err(), Rejection::BadTime);
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    // "example" → "eXample": TSIG covers the bytes as sent, case included.
    let r = judge(SECRET, Some(SECRET), 1_000_000, 1_000_000, |m| {
        m[14] ^= 0x20
    });
    assert_eq!(r.unwrap_err(), Rejection::BadSig);
}

#[test]
fn a_chain_of_signed_responses_verifies_in_order_only() {
    let k = key("c2VjcmV0c2VjcmV0");
    let mut ring = KeyRing::default();
    ring.insert(k.clone());
    let mut q = query();
    let request_mac = sign_request(&k, &mut q, 1_000_000);
    let t = find(&q).unwrap().unwrap();
    let v = verify_request(&ring, &q, &t, 1_000_000).unwrap();
    let mut signer = ResponseSigner::new(&v, 1_000_001);
    let mut msgs = Vec::new();
    for i in 0..3u8 {
        let mut r = query();
        r[2] = 0x84;
        r[3] = i; // distinct bodies
        signer.sign(&mut r, 0);
        msgs.push(r);
    }
    let mut ok = ResponseVerifier::new(&k, request_mac.clone());
    for m in &msgs {
        ok.verify(m, 1_000_002).unwrap();
    }
    let mut swapped = ResponseVerifier::new(&k, request_mac);
    swapped.verify(&msgs[0], 1_000_002).unwrap();
    assert_eq!(
        swapped.verify(&msgs[2], 1_000_002),
        Err(VerifyError::BadMac)
    );
}

#[test]
fn key_specs_are_checked() {
    assert!(Key::parse_spec("k:hmac-md5:c2VjcmV0").is_err());
    assert!(Key::parse_spec("k:hmac-sha256:not base64!").is_err());
    assert!(Key::parse_spec("nocolons").is_err());
    assert_eq!(
        Key::parse_spec("K.Example.:HMAC-SHA256:c2VjcmV0")
            .unwrap()
            .name_text(),
        "k.example."
    );
}
