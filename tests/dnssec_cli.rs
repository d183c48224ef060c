//! `policydns dnssec` as an operator uses it: keys made once in the state directory, owner
//! only; the DS records for the parent, as `dnssec-dsfromkey` computes them; a zone file
//! signed ahead of time that Knot serves and `delv` (bind9-dnsutils) validates from the DS as
//! trust anchor — positive answers, CNAME chains, wildcards, DNAME, NXDOMAIN, NODATA, the DS
//! at a delegation, CDS — and a tampered signature that `delv` refuses.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{dns_ready, require_tool, start_on_free_port, Proc, TempDir, BIN};

const ORIGIN: &str = "example.test.";

fn demo_zone() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone")
}

fn policydns(args: &[&str], state: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .output()
        .unwrap()
}

fn ok(what: &str, o: Output) -> String {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `policydns dnssec sign` of the demo zone into `dir/signed.zone`.
fn sign(dir: &TempDir, state: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.path().join("signed.zone");
    let zone = demo_zone();
    let mut args = vec!["dnssec", "sign", zone.to_str().unwrap(), "--origin", ORIGIN];
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    ok("dnssec sign", policydns(&args, state));
    out
}

/// Knot serving `file` as written (no signing of its own).
fn knot_serving(dir: &TempDir, file: &Path) -> (Proc, std::net::SocketAddr) {
    let knotd = require_tool("knotd", "knot");
    start_on_free_port(
        "knotd",
        |port| {
            let d = dir.path().join(format!("knot-{port}"));
            std::fs::create_dir_all(&d).unwrap();
            let conf = d.join("knot.conf");
            std::fs::write(
                &conf,
                format!(
                    "server:\n  listen: 127.0.0.1@{port}\n  rundir: \"{d}\"\n  \
                     background-workers: 1\n  udp-workers: 1\n  tcp-workers: 1\n\
                     log:\n  - target: stderr\n    any: info\n\
                     database:\n  storage: \"{d}/db\"\n\
                     template:\n  - id: default\n    storage: \"{d}\"\n    \
                     zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
                     zone:\n  - domain: \"{ORIGIN}\"\n    file: \"{}\"\n",
                    file.display(),
                    d = d.display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new(&knotd);
            cmd.arg("-c").arg(&conf);
            Proc::spawn("knotd", &mut cmd, d.join("knot.log"))
        },
        |addr| dns_ready(addr, "www.example.test", 1),
    )
}

fn anchors(dir: &TempDir, ds: &str) -> PathBuf {
    common::dnssec::anchors(dir, ORIGIN, ds)
}

fn delv(addr: std::net::SocketAddr, anchors: &Path, name: &str, rtype: &str) -> String {
    common::dnssec::delv(addr, anchors, ORIGIN, name, rtype)
}

#[test]
fn status_with_the_configuration_says_when_the_next_zsk_rollover_starts() {
    let dir = TempDir::new("dnssec-status-next");
    let state = dir.path().join("state");
    ok(
        "dnssec keygen",
        policydns(&["dnssec", "keygen", "example.test", "--ksk-zsk"], &state),
    );
    let zone = dir.write(
        "z.zone",
        "@ 3600 IN SOA ns hostmaster 1 7200 900 1209600 300\n@ IN NS ns\nns IN A 192.0.2.1\n",
    );
    let status = |toml: &str| {
        let conf = dir.write("policydns.toml", toml);
        ok(
            "dnssec status --config",
            policydns(
                &[
                    "dnssec",
                    "status",
                    "example.test",
                    "--config",
                    conf.to_str().unwrap(),
                ],
                &state,
            ),
        )
    };
    let base = format!(
        "[[zone]]\norigin = \"example.test.\"\nfile = \"{}\"\ndnssec = true\n",
        zone.display()
    );
    let out = status(&format!(
        "{base}zsk_lifetime = \"90d\"\nzsk_overlap = \"2d\"\n"
    ));
    assert!(
        out.contains("Next ZSK rollover: a successor is published at the first load after")
            && out.contains("retires 2d later"),
        "{out}"
    );
    let out = status(&base);
    assert!(
        out.contains("none by itself (the zone has no zsk_lifetime)"),
        "{out}"
    );
}

#[test]
fn keygen_makes_one_owner_only_combined_key_unless_asked_for_two() {
    use std::os::unix::fs::PermissionsExt;
    for (extra, want) in [
        (
            &[][..],
            vec!["CSK  tag", "algorithm 13 (ECDSAP256SHA256)  flags 257"],
        ),
        (
            &["--algorithm", "ed25519", "--ksk-zsk"][..],
            vec!["KSK  tag", "ZSK  tag", "algorithm 15 (ED25519)  flags 256"],
        ),
    ] {
        let dir = TempDir::new("dnssec-keygen");
        let state = dir.path().join("state");
        let mut args = vec!["dnssec", "keygen", "example.test"];
        args.extend(extra);
        let made = ok("dnssec keygen", policydns(&args, &state));
        let status = ok(
            "dnssec status",
            policydns(&["dnssec", "status", "example.test"], &state),
        );
        assert!(
            status.starts_with(&made),
            "keygen prints the status of what it made:\n{made}\n{status}"
        );
        for w in &want {
            assert!(status.contains(w), "{w:?} in:\n{status}");
        }
        let files: Vec<PathBuf> = std::fs::read_dir(state.join("dnssec/example.test"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), want.len() - 1, "{files:?}");
        for f in &files {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        let again = policydns(&args, &state);
        assert!(
            !again.status.success(),
            "a second keygen must not replace keys"
        );
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("has keys already"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
    }
}

#[test]
fn ds_is_what_dnssec_dsfromkey_computes_from_the_published_key_set() {
    for extra in [&[][..], &["--ksk-zsk"][..]] {
        let dir = TempDir::new("dnssec-ds");
        let state = dir.path().join("state");
        let signed = sign(&dir, &state, extra);
        let ours = ok(
            "dnssec ds",
            policydns(&["dnssec", "ds", "example.test"], &state),
        );
        // dnssec-dsfromkey -f: DS (SHA-256) of the zone's KSKs, from the zone file's DNSKEYs.
        let bind = ok(
            "dnssec-dsfromkey",
            Command::new(require_tool("dnssec-dsfromkey", "bind9-utils"))
                .args(["-2", "-f"])
                .arg(&signed)
                .arg(ORIGIN)
                .output()
                .unwrap(),
        );
        assert_eq!(ours, bind, "with {extra:?}");
        assert_eq!(ours.lines().count(), 1, "one secure entry point: {ours}");
        // The CDS published in the zone (RFC 7344) is the same DS.
        let text = std::fs::read_to_string(&signed).unwrap();
        let cds = ours.replace(" IN DS ", " 3600 IN CDS ");
        assert!(text.contains(cds.trim_end()), "{cds} in the signed zone");
    }
}

#[test]
fn a_signed_zone_served_by_knot_validates_in_delv_from_the_ds() {
    for extra in [
        &[][..],
        &["--algorithm", "ed25519", "--ksk-zsk"][..],
        &["--nsec3"][..],
    ] {
        let dir = TempDir::new("dnssec-delv");
        let state = dir.path().join("state");
        let signed = sign(&dir, &state, extra);
        let ds = ok(
            "dnssec ds",
            policydns(&["dnssec", "ds", "example.test"], &state),
        );
        let anchors = anchors(&dir, &ds);
        let (_knot, addr) = knot_serving(&dir, &signed);
        for (name, rtype, verdict) in [
            ("www.example.test", "A", "; fully validated"),
            ("alias.example.test", "A", "; fully validated"), // CNAME chain
            ("x.apps.example.test", "A", "; fully validated"), // wildcard
            ("host.old.example.test", "A", "; fully validated"), // DNAME
            ("lab.example.test", "DS", "; fully validated"),  // DS at a cut
            ("example.test", "CDS", "; fully validated"),
            (
                "nope.example.test",
                "A",
                "; negative response, fully validated",
            ), // NXDOMAIN
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
        ] {
            let out = delv(addr, &anchors, name, rtype);
            assert!(
                out.contains(verdict),
                "{name} {rtype} with {extra:?}: want {verdict:?}, delv said:\n{out}"
            );
        }
    }
}

#[test]
fn a_tampered_signature_is_refused_by_delv() {
    let dir = TempDir::new("dnssec-tamper");
    let state = dir.path().join("state");
    let signed = sign(&dir, &state, &[]);
    let ds = ok(
        "dnssec ds",
        policydns(&["dnssec", "ds", "example.test"], &state),
    );
    let anchors = anchors(&dir, &ds);
    // Flip one character of the signature over www's A RRset.
    let text = std::fs::read_to_string(&signed).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("www.example.test. 3600 IN RRSIG A "))
        .expect("www's A RRSIG");
    let sig_at = line.rfind(' ').unwrap() + 5;
    let mut bad = line.to_string();
    let c = if &line[sig_at..sig_at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    bad.replace_range(sig_at..sig_at + 1, c);
    std::fs::write(&signed, text.replace(line, &bad)).unwrap();
    let (_knot, addr) = knot_serving(&dir, &signed);
    let out = delv(addr, &anchors, "www.example.test", "A");
    assert!(!out.contains("fully validated"), "{out}");
    assert!(out.contains("resolution failed"), "{out}");
    // Other names still validate: the damage is that RRset's alone.
    let out = delv(addr, &anchors, "mail.example.test", "A");
    assert!(out.contains("; fully validated"), "{out}");
}

#[test]
fn signing_again_keeps_the_keys_so_the_parents_ds_stays_valid() {
    let dir = TempDir::new("dnssec-again");
    let state = dir.path().join("state");
    sign(&dir, &state, &[]);
    let first = ok("ds", policydns(&["dnssec", "ds", "example.test"], &state));
    sign(&dir, &state, &["--algorithm", "ed25519"]); // keys exist: the option is for new ones
    let second = ok("ds", policydns(&["dnssec", "ds", "example.test"], &state));
    assert_eq!(first, second);
}

#[test]
fn a_key_others_can_read_refuses_to_sign_and_names_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("dnssec-mode");
    let state = dir.path().join("state");
    ok(
        "keygen",
        policydns(&["dnssec", "keygen", "example.test"], &state),
    );
    let key = std::fs::read_dir(state.join("dnssec/example.test"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let zone = demo_zone();
    let o = policydns(
        &["dnssec", "sign", zone.to_str().unwrap(), "--origin", ORIGIN],
        &state,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "nothing signed is written");
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(err.contains("mode 644") && err.contains("600"), "{err}");
}

#[test]
fn a_zone_that_carries_keys_already_is_refused_at_its_line() {
    let dir = TempDir::new("dnssec-signed-input");
    let state = dir.path().join("state");
    let signed = sign(&dir, &state, &[]);
    // The signed output holds RRSIG records, which the zone parser itself refuses; a zone
    // with only someone else's DNSKEY is refused by the signer, at the DNSKEY's line.
    let text = std::fs::read_to_string(demo_zone()).unwrap();
    let dnskey = std::fs::read_to_string(&signed)
        .unwrap()
        .lines()
        .find(|l| l.contains(" IN DNSKEY "))
        .unwrap()
        .to_string();
    let input = dir.write("keyed.zone", &format!("{text}{dnskey}\n"));
    let line = text.lines().count() + 1;
    let o = policydns(
        &[
            "dnssec",
            "sign",
            input.to_str().unwrap(),
            "--origin",
            ORIGIN,
        ],
        &state,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!(
            "keyed.zone:{line}: the zone carries DNSKEY records"
        )),
        "{err}"
    );
    let o = policydns(
        &[
            "dnssec",
            "sign",
            signed.to_str().unwrap(),
            "--origin",
            ORIGIN,
        ],
        &state,
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("signed.zone:"));
}
