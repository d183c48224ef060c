//! `[[zone]] dnssec = true`: policydns signs the zone as it loads it and answers DO=1 queries
//! with signatures and NSEC or NSEC3 proofs, as a validator needs them. Checked with `delv`
//! (bind9-dnsutils) and `unbound-host` (unbound's validator) validating from the DS `policydns
//! dnssec ds` prints; with `dig` for what a referral carries and `kdig` reading every kind of
//! signed answer; byte for byte against the
//! unsigned zone for DO=0; and what cannot be signed, or signed with a bad key, refused.

mod common;

use std::process::Command;

use common::dnssec::{delv, unbound_host};
use common::signed_zone::*;
use common::{query_with, serve, Proto, TempDir, BIN};

#[test]
fn delv_validates_every_kind_of_answer_from_the_ds_with_nsec_and_nsec3() {
    for denial in ["", "nsec3 = true\n"] {
        delv_validates_every_kind_of_answer(denial);
    }
}

fn delv_validates_every_kind_of_answer(denial: &str) {
    let dir = TempDir::new("dnssec-serve-delv");
    let server = start(&dir, true, denial);
    let anchors = trust_anchor(&dir);
    for (name, rtype, verdict) in [
        ("www.example.test", "A", "; fully validated"),
        ("www.example.test", "AAAA", "; fully validated"),
        ("example.test", "SOA", "; fully validated"),
        ("example.test", "MX", "; fully validated"),
        ("example.test", "DNSKEY", "; fully validated"),
        ("example.test", "CDS", "; fully validated"),
        ("alias.example.test", "A", "; fully validated"), // CNAME → CNAME → A
        ("x.apps.example.test", "A", "; fully validated"), // wildcard expansion
        ("api.apps.example.test", "TXT", "; fully validated"), // beside a wildcard
        ("host.old.example.test", "A", "; fully validated"), // DNAME
        ("lab.example.test", "DS", "; fully validated"),  // DS at a secure delegation
        (
            "nope.example.test",
            "A",
            "; negative response, fully validated",
        ), // NXDOMAIN
        (
            "a.nope.example.test",
            "A",
            "; negative response, fully validated",
        ),
        (
            "www.example.test",
            "TXT",
            "; negative response, fully validated",
        ), // NODATA
        (
            "c.example.test",
            "A",
            "; negative response, fully validated",
        ), // empty non-terminal
        (
            "x.apps.example.test",
            "TXT",
            "; negative response, fully validated",
        ), // wildcard NODATA
        (
            "unsigned.example.test",
            "DS",
            "; negative response, fully validated",
        ), // no DS
    ] {
        let out = delv(server.addr, &anchors, ORIGIN, name, rtype);
        assert!(
            out.contains(verdict),
            "{denial}{name} {rtype}: want {verdict:?}, delv said:\n{out}"
        );
    }
}

#[test]
fn a_referral_carries_the_ds_or_the_nsec_that_proves_there_is_none() {
    let dir = TempDir::new("dnssec-serve-referral");
    let server = start(&dir, true, "");
    let secure = dig(server.addr, &["+dnssec", "host.lab.example.test", "A"]);
    let authority = |out: &str| -> Vec<String> {
        out.lines()
            .skip_while(|l| !l.starts_with(";; AUTHORITY SECTION"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| l.split_whitespace().take(5).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        authority(&secure),
        [
            "lab.example.test. 3600 IN NS ns.lab.example.test.",
            "lab.example.test. 3600 IN DS 12345",
            "lab.example.test. 3600 IN RRSIG DS",
        ],
        "{secure}"
    );
    assert!(
        !secure.contains(" aa"),
        "a referral is not authoritative:\n{secure}"
    );
    let insecure = dig(server.addr, &["+dnssec", "www.unsigned.example.test", "A"]);
    assert_eq!(
        authority(&insecure),
        [
            "unsigned.example.test. 3600 IN NS ns.elsewhere.example.",
            "unsigned.example.test. 300 IN NSEC web.example.test.",
            "unsigned.example.test. 300 IN RRSIG NSEC",
        ],
        "{insecure}"
    );
    // The NSEC's bitmap: NS, and neither DS nor anything else of the child's.
    assert!(
        insecure.contains("NSEC\tweb.example.test. NS RRSIG NSEC\n"),
        "{insecure}"
    );
}

#[test]
fn without_do_a_signed_zone_answers_byte_for_byte_as_the_unsigned_zone() {
    let signed_dir = TempDir::new("dnssec-serve-do0-signed");
    let unsigned_dir = TempDir::new("dnssec-serve-do0-unsigned");
    let signed = start(&signed_dir, true, "");
    let unsigned = start(&unsigned_dir, false, "");
    for (i, (name, qtype)) in [
        ("www.example.test", 1),
        ("example.test", 6),
        ("example.test", 2),
        ("example.test", 255),
        ("alias.example.test", 1),
        ("x.apps.example.test", 1),
        ("host.old.example.test", 1),
        ("host.lab.example.test", 1),
        ("nope.example.test", 1),
        ("www.example.test", 16),
        ("c.example.test", 1),
    ]
    .into_iter()
    .enumerate()
    {
        for q in [
            query_with(i as u16, false, name, qtype, None),
            edns_query(i as u16, name, qtype, 1232, false),
        ] {
            for proto in [Proto::Udp, Proto::Tcp] {
                assert_eq!(
                    response(signed.addr, proto, &q),
                    response(unsigned.addr, proto, &q),
                    "{name} {qtype} over {proto:?}"
                );
            }
        }
    }
    // And DO=1 to the unsigned zone is answered as before: no signatures appear.
    let q = edns_query(7, "www.example.test", 1, 1232, true);
    let r = response(unsigned.addr, Proto::Udp, &q);
    assert!(!r.windows(4).any(|w| w == [0, 46, 0, 1]), "no RRSIG");
}

#[test]
fn a_signed_answer_too_large_for_udp_is_truncated_and_complete_over_tcp() {
    let dir = TempDir::new("dnssec-serve-tc");
    let server = start(&dir, true, "");
    // NXDOMAIN with SOA, two NSEC and three RRSIGs is over 512 octets.
    let q = edns_query(9, "nope.example.test", 1, 512, true);
    let udp = response(server.addr, Proto::Udp, &q);
    assert!(udp.len() <= 512, "{} octets", udp.len());
    assert_ne!(udp[2] & 0x02, 0, "TC is set");
    let tcp = response(server.addr, Proto::Tcp, &q);
    assert_eq!(tcp[2] & 0x02, 0, "TC is clear over TCP");
    assert_eq!(tcp[3] & 0x0f, 3, "NXDOMAIN");
    let authority = u16::from_be_bytes([tcp[8], tcp[9]]);
    assert_eq!(authority, 6, "SOA, RRSIG, and two NSEC with their RRSIGs");
}

/// `kdig` (knot-dnsutils) with `+dnssec` and the EDNS size given: its whole output.
fn kdig(addr: std::net::SocketAddr, args: &[&str]) -> String {
    ok(
        "kdig",
        Command::new(common::require_tool("kdig", "knot-dnsutils"))
            .arg(format!("@{}", addr.ip()))
            .args(["-p", &addr.port().to_string(), "+norec", "+dnssec"])
            .args(args)
            .output()
            .unwrap(),
    )
}

#[test]
fn kdig_reads_signed_answers_and_retries_a_truncated_one_over_tcp() {
    let dir = TempDir::new("dnssec-serve-kdig");
    let server = start(&dir, true, "");
    // Knot's client parses every record of each kind of signed answer.
    for (args, wants) in [
        (
            vec!["www.example.test", "A"],
            vec!["status: NOERROR", "Flags: qr aa", "RRSIG\tA 13 3 "],
        ),
        (
            vec!["+bufsize=1232", "nope.example.test", "A"],
            vec![
                "status: NXDOMAIN",
                "\tNSEC\t",
                "RRSIG\tNSEC 13 ",
                "RRSIG\tSOA 13 ",
            ],
        ),
        (
            vec!["www.example.test", "TXT"],
            vec!["status: NOERROR", "ANSWER: 0;", "\tNSEC\t"],
        ),
        (
            vec!["example.test", "DNSKEY"],
            vec!["\tDNSKEY\t257 3 13 ", "RRSIG\tDNSKEY 13 2 "],
        ),
    ] {
        let out = kdig(server.addr, &args);
        for w in wants {
            assert!(out.contains(w), "kdig {args:?}: no {w:?} in\n{out}");
        }
    }
    // At 512 octets the NXDOMAIN with its proofs is truncated; kdig then asks over TCP, as
    // a resolver does, and gets it whole.
    let out = kdig(server.addr, &["+bufsize=512", "nope.example.test", "A"]);
    assert!(
        out.contains("(TCP)") && out.contains("status: NXDOMAIN"),
        "{out}"
    );
    assert!(out.contains("\tNSEC\t"), "{out}");
}

#[test]
fn a_key_others_can_read_keeps_that_zone_unsigned_and_unserved_while_others_serve() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("dnssec-serve-badkey");
    let state = dir.path().join("state");
    ok(
        "dnssec keygen",
        Command::new(BIN)
            .args(["dnssec", "keygen", ORIGIN, "--state-dir"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    let key = std::fs::read_dir(state.join("dnssec/example.test"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let other = dir.write(
        "other.zone",
        "$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n",
    );
    let conf = config(
        &dir,
        true,
        &format!(
            "[[zone]]\norigin = \"other.test.\"\nfile = \"{}\"\n",
            other.display()
        ),
    );
    let check = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{said}");
    assert!(
        said.contains("zone example.test. is not signed")
            && said.contains(&key.display().to_string())
            && said.contains("mode 644"),
        "{said}"
    );
    let server = serve(
        &dir,
        &["--config", conf.to_str().unwrap()],
        "www.other.test",
    );
    let q = edns_query(3, "www.example.test", 1, 1232, true);
    assert_eq!(
        response(server.addr, Proto::Udp, &q)[3] & 0x0f,
        2,
        "SERVFAIL"
    );
    assert!(server.log().contains("mode 644"), "{}", server.log());
}

#[test]
fn a_zone_to_sign_without_a_state_directory_is_refused_with_the_reason() {
    let dir = TempDir::new("dnssec-serve-refused");
    let zone = zone_file(&dir);
    // Keys need a state directory.
    let conf = dir.write(
        "nostate.toml",
        &format!(
            "[[zone]]\norigin = \"{ORIGIN}\"\nfile = \"{}\"\ndnssec = true\n",
            zone.display()
        ),
    );
    let o = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("set [server] state_dir or --state-dir"),
        "{said}"
    );
}

#[test]
fn unbound_says_secure_for_every_kind_of_answer_and_bogus_from_a_wrong_anchor() {
    for denial in ["", "nsec3 = true\n"] {
        unbound_says_secure(denial);
    }
}

fn unbound_says_secure(denial: &str) {
    let dir = TempDir::new("dnssec-serve-unbound");
    let server = start(&dir, true, denial);
    let ds = ds_lines(&dir);
    for (name, rtype, want) in [
        ("www.example.test", "A", "has address 192.0.2.10 (secure)"),
        (
            "alias.example.test",
            "A",
            "is an alias for www.example.test. (secure)",
        ),
        ("alias.example.test", "A", "has address 192.0.2.10 (secure)"), // the chain's end
        (
            "x.apps.example.test",
            "A",
            "has address 192.0.2.80 (secure)",
        ), // wildcard
        (
            "example.test",
            "MX",
            "mail is handled by 10 mail.example.test. (secure)",
        ),
        ("nope.example.test", "A", "not found: 3(NXDOMAIN). (secure)"),
        ("www.example.test", "TXT", "has no TXT record (secure)"),
        ("c.example.test", "A", "has no address (secure)"), // empty non-terminal
        ("lab.example.test", "DS", "(secure)"),             // a signed delegation's DS
        ("unsigned.example.test", "DS", "has no DS record (secure)"), // an unsigned one
    ] {
        let out = unbound_host(&dir, server.addr, ORIGIN, &ds, name, rtype);
        assert!(
            out.contains(want),
            "{denial}{name} {rtype}: want {want:?}, unbound-host said:\n{out}"
        );
    }
    // A DS that matches no key of the zone: unbound refuses the answers as bogus.
    let wrong = ds.replace(" 2 ", " 2 00");
    let out = unbound_host(&dir, server.addr, ORIGIN, &wrong, "www.example.test", "A");
    assert!(out.contains("BOGUS"), "{out}");
}

#[test]
fn a_tampered_signature_is_bogus_to_unbound_and_the_rest_stays_secure() {
    let dir = TempDir::new("dnssec-serve-tampered");
    let (signed, ds) = signed_by_policydns(&dir, false);
    // One character of the signature over www's A RRset changed (still valid base64).
    let text = std::fs::read_to_string(&signed).unwrap();
    let mut tampered = String::new();
    let mut changed = 0;
    for line in text.lines() {
        if line.starts_with("www.example.test. ") && line.contains(" RRSIG A 13 ") {
            let (head, sig) = line.rsplit_once(' ').unwrap();
            let mut sig = sig.to_string();
            let c = if sig.as_bytes()[10] == b'A' { "B" } else { "A" };
            sig.replace_range(10..11, c);
            tampered.push_str(&format!("{head} {sig}\n"));
            changed += 1;
        } else {
            tampered.push_str(line);
            tampered.push('\n');
        }
    }
    assert_eq!(changed, 1);
    let file = dir.write("tampered.signed", &tampered);
    let zone = format!("{ORIGIN}={}", file.display());
    let server = serve(&dir, &["--zone", &zone], "www.example.test");
    let out = unbound_host(&dir, server.addr, ORIGIN, &ds, "www.example.test", "A");
    assert!(out.contains("BOGUS"), "{out}");
    let out = unbound_host(&dir, server.addr, ORIGIN, &ds, "www.example.test", "AAAA");
    assert!(out.contains("(secure)") && !out.contains("BOGUS"), "{out}");
}

#[test]
fn with_nsec3_a_referral_and_an_nxdomain_carry_hashed_proofs() {
    let dir = TempDir::new("dnssec-serve-nsec3");
    let server = start(&dir, true, "nsec3 = true\n");
    // dig separates fields with tabs or spaces: compare words.
    let words = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let nsec3_owners = |out: &str| -> usize {
        words(out)
            .iter()
            .filter(|l| l.contains(" IN NSEC3 1 0 0 - "))
            .count()
    };
    let insecure = dig(server.addr, &["+dnssec", "www.unsigned.example.test", "A"]);
    assert_eq!(nsec3_owners(&insecure), 1, "the cut's NSEC3:\n{insecure}");
    assert!(
        words(&insecure)
            .iter()
            .any(|l| l.contains(" IN RRSIG NSEC3 13 3 ")),
        "{insecure}"
    );
    assert!(
        !words(&insecure).iter().any(|l| l.contains(" IN NSEC ")),
        "{insecure}"
    );
    let nx = dig(server.addr, &["+dnssec", "a.b.nope.example.test", "A"]);
    assert!(nx.contains("status: NXDOMAIN"), "{nx}");
    // The closest encloser (the apex), the next closer name and the wildcard: up to three.
    let n = nsec3_owners(&nx);
    assert!((2..=3).contains(&n), "{n} NSEC3 records:\n{nx}");
    assert!(
        words(&dig(server.addr, &["example.test", "NSEC3PARAM"]))
            .iter()
            .any(|l| l.ends_with("IN NSEC3PARAM 1 0 0 -")),
        "RFC 9276's parameters"
    );
}

#[test]
fn check_and_explain_sign_with_throwaway_keys_and_write_nothing() {
    let dir = TempDir::new("dnssec-check");
    let conf = config(&dir, true, "");
    let check = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{said}");
    assert!(said.contains("example.test.: serial 2026112201"), "{said}");
    let explain = Command::new(BIN)
        .args(["explain", "www.example.test", "A", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        explain.status.success(),
        "{}",
        String::from_utf8_lossy(&explain.stderr)
    );
    assert!(
        !dir.path().join("state/dnssec").exists(),
        "keys are made by the server that serves the zone, not by check or explain"
    );
}
