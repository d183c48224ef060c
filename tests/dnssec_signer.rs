//! The DNSSEC signer's core against the validators BIND and Knot ship: the shipped example
//! zone, signed ahead of time by `policydns::dnssec::zone::sign`, is accepted whole by
//! `dnssec-verify` (bind9-utils) and `kzonecheck --dnssec on` (knot-dnssecutils) — every RRSIG,
//! the NSEC or NSEC3 chain, delegations and glue left unsigned — and a tampered signature is
//! caught.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{require_tool, TempDir};
use policydns::dnssec::key::{SECURE_ENTRY_POINT, ZONE_KEY};
use policydns::dnssec::sign::Validity;
use policydns::dnssec::zone::{sign_with, to_text, Denial, Rr};
use policydns::dnssec::{Algorithm, Key};
use policydns::wire::name;

const ORIGIN: &str = "example.test.";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// The shipped zone file signed with `keys`, as one master file: the file as written, then
/// the DNSKEY, NSEC and RRSIG records.
fn signed_zone(dir: &TempDir, keys: &[Key], denial: &Denial) -> PathBuf {
    let source = repo("zones/example.test.zone");
    let origin = name::from_text(ORIGIN, None).unwrap();
    let records: Vec<Rr> = policydns::zone::parse::parse_file(&source, &origin)
        .unwrap()
        .into_iter()
        .map(|r| Rr {
            owner: r.owner,
            ttl: r.ttl,
            rtype: r.rtype,
            rdata: r.rdata,
        })
        .collect();
    let validity = Validity {
        inception: now() - 3600,
        expiration: now() + 14 * 86400,
    };
    let added = sign_with(&origin, &records, keys, validity, denial).unwrap();
    let mut text = std::fs::read_to_string(&source).unwrap();
    text.push('\n');
    for rr in &added {
        text.push_str(&to_text(rr).expect("a DNSSEC record"));
        text.push('\n');
    }
    dir.write("example.test.signed", &text)
}

/// Both verifiers' verdicts. `combined`: the zone's one key signs everything (a CSK), which
/// dnssec-verify accepts only when told to ignore the KSK flag (`-z`).
fn verify(file: &Path, combined: bool) -> Vec<(&'static str, bool, String)> {
    let bind = Command::new(require_tool("dnssec-verify", "bind9-utils"))
        .args(["-o", ORIGIN])
        .args(combined.then_some("-z"))
        .arg(file)
        .output()
        .unwrap();
    let knot = Command::new(require_tool("kzonecheck", "knot-dnssecutils"))
        .args(["-o", ORIGIN, "--dnssec", "on"])
        .arg(file)
        .output()
        .unwrap();
    [("dnssec-verify", bind), ("kzonecheck", knot)]
        .into_iter()
        .map(|(tool, o)| {
            (
                tool,
                o.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
            )
        })
        .collect()
}

#[test]
fn bind_and_knot_accept_the_signed_zone_for_each_algorithm_and_key_split() {
    let dir = TempDir::new("dnssec-sign");
    let nsec3 = Denial::Nsec3(Default::default());
    let cases: Vec<(&str, Vec<Key>, Denial)> = vec![
        (
            "ECDSA P-256 combined key",
            vec![Key::generate(Algorithm::EcdsaP256Sha256, SECURE_ENTRY_POINT, 1).unwrap()],
            Denial::Nsec,
        ),
        (
            "Ed25519 combined key",
            vec![Key::generate(Algorithm::Ed25519, SECURE_ENTRY_POINT, 1).unwrap()],
            Denial::Nsec,
        ),
        (
            "ECDSA P-256 KSK and ZSK",
            vec![
                Key::generate(Algorithm::EcdsaP256Sha256, SECURE_ENTRY_POINT, 1).unwrap(),
                Key::generate(Algorithm::EcdsaP256Sha256, ZONE_KEY, 1).unwrap(),
            ],
            Denial::Nsec,
        ),
        (
            "ECDSA P-256 combined key, NSEC3 (RFC 9276 parameters)",
            vec![Key::generate(Algorithm::EcdsaP256Sha256, SECURE_ENTRY_POINT, 1).unwrap()],
            nsec3.clone(),
        ),
        (
            "Ed25519 KSK and ZSK, NSEC3",
            vec![
                Key::generate(Algorithm::Ed25519, SECURE_ENTRY_POINT, 1).unwrap(),
                Key::generate(Algorithm::Ed25519, ZONE_KEY, 1).unwrap(),
            ],
            nsec3,
        ),
    ];
    for (what, keys, denial) in cases {
        let file = signed_zone(&dir, &keys, &denial);
        for (tool, ok, out) in verify(&file, keys.len() == 1) {
            assert!(ok, "{what}: {tool} refused the signed zone:\n{out}");
        }
    }
}

#[test]
fn a_tampered_signature_is_caught() {
    let dir = TempDir::new("dnssec-tamper");
    let key = Key::generate(Algorithm::EcdsaP256Sha256, SECURE_ENTRY_POINT, 1).unwrap();
    let file = signed_zone(&dir, &[key], &Denial::Nsec);
    let text = std::fs::read_to_string(&file).unwrap();
    // The A record of www changes after signing: its RRSIG no longer covers it.
    let tampered = text.replacen("192.0.2.10", "192.0.2.99", 1);
    assert_ne!(tampered, text);
    std::fs::write(&file, tampered).unwrap();
    for (tool, ok, out) in verify(&file, true) {
        assert!(!ok, "{tool} accepted a tampered zone:\n{out}");
        assert!(
            out.contains("www.example.test"),
            "{tool} blamed another name:\n{out}"
        );
    }
}

#[test]
fn the_ds_record_matches_dnssec_dsfromkey() {
    let dir = TempDir::new("dnssec-ds");
    let key = Key::generate(Algorithm::EcdsaP256Sha256, SECURE_ENTRY_POINT, 1).unwrap();
    let origin = name::from_text(ORIGIN, None).unwrap();
    let dnskey = to_text(&Rr {
        owner: origin.clone(),
        ttl: 3600,
        rtype: 48,
        rdata: key.dnskey_rdata(),
    })
    .unwrap();
    let file = dir.write("dnskey", &format!("{dnskey}\n"));
    let out = Command::new(require_tool("dnssec-dsfromkey", "bind9-utils"))
        .args(["-2", "-f"])
        .arg(&file)
        .arg(ORIGIN)
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&out.stdout).to_string();
    let ours = to_text(&Rr {
        owner: origin.clone(),
        ttl: 3600,
        rtype: 43,
        rdata: key.ds_rdata(&origin),
    })
    .unwrap();
    let rdata = |line: &str| {
        line.split_whitespace()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase()
    };
    assert_eq!(
        rdata(&ours),
        rdata(theirs.trim()),
        "ours: {ours}\ntheirs: {theirs}"
    );
}
