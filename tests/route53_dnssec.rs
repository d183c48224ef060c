//! DNSSEC signing of the Route 53 API's hosted zones, as a Route 53 user drives it: the AWS
//! CLI creates a key-signing key, enables signing and reads the DS from `get-dnssec`; `delv`
//! validates answers from that DS alone, after record changes, through a KSK rollover and
//! after `kill -9`; Route 53's rules answer with its errors.

mod common;
use common::api::{a_change, change, create_zone, env_cmd, signed, start, venv, weighted, SECRET};
use common::dnssec::delv;
use common::signed_zone::dig;
use common::TempDir;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// Another KMS key's ARN.
fn arn(n: u32) -> String {
    ARN.replace("1234abcd", &format!("{n:08}"))
}

/// `aws route53 ARGS… --output json` against the API: its JSON.
fn aws(api: SocketAddr, args: &[&str]) -> serde_json::Value {
    let out = env_cmd(venv().join("bin/aws"))
        .args(["--endpoint-url", &format!("http://{api}"), "route53"])
        .args(args)
        .args(["--output", "json"])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "aws route53 {}: {}{}",
        args.join(" "),
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// The DS records `get-dnssec` gives for the zone's active keys, as a `delv` anchors file.
fn anchors_from_api(
    dir: &TempDir,
    api: SocketAddr,
    zone_id: &str,
    origin: &str,
    file: &str,
) -> PathBuf {
    let got = aws(api, &["get-dnssec", "--hosted-zone-id", zone_id]);
    let mut text = String::from("trust-anchors {\n");
    for k in got["KeySigningKeys"].as_array().unwrap() {
        if k["Status"] != "ACTIVE" {
            continue;
        }
        let ds: Vec<&str> = k["DSRecord"].as_str().unwrap().split_whitespace().collect();
        text.push_str(&format!(
            "  {origin} static-ds {} {} {} \"{}\";\n",
            ds[0], ds[1], ds[2], ds[3]
        ));
    }
    text.push_str("};\n");
    dir.write(file, &text)
}

fn validated(out: &str) -> bool {
    out.contains("; fully validated") || out.contains("; negative response, fully validated")
}

#[test]
fn the_aws_cli_signs_a_hosted_zone_and_delv_validates_it_through_changes_and_kill_9() {
    let dir = TempDir::new("r53-dnssec");
    let s = start(&dir, None, &[]);
    let origin = "signed.test.";
    let zone = create_zone(s.api, origin);
    let (status, text) = change(
        s.api,
        &zone,
        &[
            a_change("CREATE", "www.signed.test.", "", &["192.0.2.10"]),
            weighted("w.signed.test.", "one", 1, "192.0.2.1"),
            weighted("w.signed.test.", "two", 1, "192.0.2.2"),
        ]
        .concat(),
    );
    assert_eq!(status, 200, "{text}");

    let created = aws(
        s.api,
        &[
            "create-key-signing-key",
            "--hosted-zone-id",
            &zone,
            "--key-management-service-arn",
            ARN,
            "--name",
            "ksk_one",
            "--status",
            "ACTIVE",
            "--caller-reference",
            "ksk-one-ref",
        ],
    );
    let ksk = &created["KeySigningKey"];
    assert_eq!(ksk["Flag"], 257, "{created}");
    assert_eq!(ksk["SigningAlgorithmType"], 13, "{created}");
    assert_eq!(ksk["DigestAlgorithmType"], 2, "{created}");
    assert_eq!(ksk["KmsArn"], ARN);
    let status = aws(s.api, &["get-dnssec", "--hosted-zone-id", &zone]);
    assert_eq!(
        status["Status"]["ServeSignature"], "NOT_SIGNING",
        "{status}"
    );
    // Not signed yet: no RRSIG even when asked.
    assert!(!dig(s.server.addr, &["+dnssec", "www.signed.test.", "A"]).contains("RRSIG"));

    let enabled = aws(
        s.api,
        &["enable-hosted-zone-dnssec", "--hosted-zone-id", &zone],
    );
    assert_eq!(enabled["ChangeInfo"]["Status"], "INSYNC", "{enabled}");
    let status = aws(s.api, &["get-dnssec", "--hosted-zone-id", &zone]);
    assert_eq!(status["Status"]["ServeSignature"], "SIGNING", "{status}");
    let anchors = anchors_from_api(&dir, s.api, &zone, origin, "anchors.conf");
    // The DS the API gives is the one `dnssec-dsfromkey` computes from the DNSKEY served.
    let dnskey = dig(s.server.addr, &["+short", origin, "DNSKEY"]);
    assert_eq!(dnskey.lines().count(), 2, "a KSK and a ZSK:\n{dnskey}");
    let ksk_line = format!(
        "{origin} 3600 IN DNSKEY {}\n",
        ksk["DNSKEYRecord"].as_str().unwrap()
    );
    let keyfile = dir.write("ksk.key", &ksk_line);
    let ds = std::process::Command::new(common::require_tool("dnssec-dsfromkey", "bind9-utils"))
        .args(["-2", "-f"])
        .arg(&keyfile)
        .arg(origin)
        .output()
        .unwrap();
    let ds = String::from_utf8_lossy(&ds.stdout);
    assert!(
        ds.contains(ksk["DSRecord"].as_str().unwrap()),
        "dnssec-dsfromkey: {ds} vs {}",
        ksk["DSRecord"]
    );

    for (name, rtype) in [
        ("www.signed.test.", "A"),
        ("w.signed.test.", "A"),
        ("nosuch.signed.test.", "A"),
        ("www.signed.test.", "TXT"),
    ] {
        let out = delv(s.server.addr, &anchors, origin, name, rtype);
        assert!(validated(&out), "{name} {rtype}:\n{out}");
    }

    // Every change is signed before it is acknowledged.
    let (status, text) = change(
        s.api,
        &zone,
        &[
            a_change("CREATE", "new.signed.test.", "", &["192.0.2.20"]),
            a_change("DELETE", "www.signed.test.", "", &["192.0.2.10"]),
        ]
        .concat(),
    );
    assert_eq!(status, 200, "{text}");
    let out = delv(s.server.addr, &anchors, origin, "new.signed.test.", "A");
    assert!(validated(&out) && out.contains("192.0.2.20"), "{out}");
    let out = delv(s.server.addr, &anchors, origin, "www.signed.test.", "A");
    assert!(
        out.contains("; negative response, fully validated"),
        "{out}"
    );

    // A TTL over a week is taken and served as a week, as Route 53 does in a signed zone.
    let long = "<Change><Action>CREATE</Action><ResourceRecordSet><Name>long.signed.test.</Name><Type>A</Type><TTL>2592000</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.30</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>";
    let (status, text) = change(s.api, &zone, long);
    assert_eq!(status, 200, "{text}");
    let served = dig(
        s.server.addr,
        &["+noall", "+answer", "long.signed.test.", "A"],
    );
    assert!(served.contains("\t604800\tIN\tA\t192.0.2.30"), "{served}");
    let out = delv(s.server.addr, &anchors, origin, "long.signed.test.", "A");
    assert!(validated(&out), "{out}");
    let listed = aws(
        s.api,
        &[
            "list-resource-record-sets",
            "--hosted-zone-id",
            &zone,
            "--query",
            "ResourceRecordSets[?Name=='long.signed.test.'].TTL",
        ],
    );
    assert_eq!(listed, serde_json::json!([2592000]), "listed as given");

    // kill -9: the keys and the signing state are on disk before the answer.
    s.server.signal(libc::SIGKILL);
    let state = s.state.clone();
    drop(s);
    let again = start(&dir, Some(state), &[]);
    let out = delv(again.server.addr, &anchors, origin, "new.signed.test.", "A");
    assert!(validated(&out), "after kill -9:\n{out}");
    let served = dig(
        again.server.addr,
        &["+noall", "+answer", "long.signed.test.", "A"],
    );
    assert!(
        served.contains("\t604800\t"),
        "compiled whole, still a week: {served}"
    );

    aws(
        again.api,
        &["disable-hosted-zone-dnssec", "--hosted-zone-id", &zone],
    );
    let status = aws(again.api, &["get-dnssec", "--hosted-zone-id", &zone]);
    assert_eq!(
        status["Status"]["ServeSignature"], "NOT_SIGNING",
        "{status}"
    );
    let answer = dig(again.server.addr, &["+dnssec", "new.signed.test.", "A"]);
    assert!(
        answer.contains("192.0.2.20") && !answer.contains("RRSIG"),
        "{answer}"
    );
}

/// A signed request with an XML body to `path`: status and body.
fn post(api: SocketAddr, path: &str, body: &str) -> (u16, String) {
    signed(api, "POST", path, body.as_bytes(), SECRET)
}

fn create_ksk(api: SocketAddr, zone: &str, name: &str, status: &str, arn: &str) -> (u16, String) {
    post(
        api,
        "/2013-04-01/keysigningkey",
        &format!(
            "<CreateKeySigningKeyRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><CallerReference>{name}-ref</CallerReference><HostedZoneId>{zone}</HostedZoneId><KeyManagementServiceArn>{arn}</KeyManagementServiceArn><Name>{name}</Name><Status>{status}</Status></CreateKeySigningKeyRequest>"
        ),
    )
}

#[test]
fn route53s_dnssec_rules_answer_with_its_errors() {
    let dir = TempDir::new("r53-dnssec-rules");
    let s = start(&dir, None, &[]);
    let zone = create_zone(s.api, "rules.test.");
    let ksk = |name: &str| format!("/2013-04-01/keysigningkey/{zone}/{name}");
    let enable = format!("/2013-04-01/hostedzone/{zone}/enable-dnssec");
    // Each step in order, with the error Route 53 gives (or success).
    let steps: Vec<(&str, (u16, String), u16, &str)> = vec![
        (
            "enable with no key",
            post(s.api, &enable, ""),
            400,
            "KeySigningKeyWithActiveStatusNotFound",
        ),
        (
            "a name with a dash",
            create_ksk(s.api, &zone, "bad-name", "ACTIVE", ARN),
            400,
            "InvalidKeySigningKeyName",
        ),
        (
            "not a KMS ARN",
            create_ksk(s.api, &zone, "key1", "ACTIVE", "my-key"),
            400,
            "InvalidKMSArn",
        ),
        (
            "an unknown status",
            create_ksk(s.api, &zone, "key1", "ON", ARN),
            400,
            "InvalidKeySigningKeyStatus",
        ),
        (
            "no such zone",
            create_ksk(s.api, "ZNOSUCHZONE000000000", "key1", "ACTIVE", ARN),
            404,
            "NoSuchHostedZone",
        ),
        (
            "an inactive key",
            create_ksk(s.api, &zone, "key1", "INACTIVE", ARN),
            201,
            "<Status>INACTIVE</Status>",
        ),
        (
            "enable with it inactive",
            post(s.api, &enable, ""),
            400,
            "KeySigningKeyWithActiveStatusNotFound",
        ),
        (
            "the same name again",
            create_ksk(s.api, &zone, "key1", "ACTIVE", ARN),
            409,
            "KeySigningKeyAlreadyExists",
        ),
        (
            "activate it",
            post(s.api, &format!("{}/activate", ksk("key1")), ""),
            200,
            "INSYNC",
        ),
        (
            "activate it again",
            post(s.api, &format!("{}/activate", ksk("key1")), ""),
            400,
            "InvalidKeySigningKeyStatus",
        ),
        (
            "activate no such key",
            post(s.api, &format!("{}/activate", ksk("key9")), ""),
            404,
            "NoSuchKeySigningKey",
        ),
        ("enable", post(s.api, &enable, ""), 200, "INSYNC"),
        (
            "deactivate the only active key",
            post(s.api, &format!("{}/deactivate", ksk("key1")), ""),
            400,
            "KeySigningKeyInUse",
        ),
        (
            "delete an active key",
            signed(s.api, "DELETE", &ksk("key1"), b"", SECRET),
            400,
            "InvalidKeySigningKeyStatus",
        ),
        (
            "another key of the same KMS key",
            create_ksk(s.api, &zone, "key2", "ACTIVE", ARN),
            409,
            "KeySigningKeyAlreadyExists",
        ),
        (
            "a second key",
            create_ksk(s.api, &zone, "key2", "ACTIVE", &arn(2)),
            201,
            "<Status>ACTIVE</Status>",
        ),
        (
            "a third key",
            create_ksk(s.api, &zone, "key3", "ACTIVE", &arn(3)),
            400,
            "TooManyKeySigningKeys",
        ),
        (
            "deactivate key1 (key2 signs)",
            post(s.api, &format!("{}/deactivate", ksk("key1")), ""),
            200,
            "INSYNC",
        ),
        (
            "delete key1",
            signed(s.api, "DELETE", &ksk("key1"), b"", SECRET),
            200,
            "INSYNC",
        ),
        (
            "delete key1 again",
            signed(s.api, "DELETE", &ksk("key1"), b"", SECRET),
            404,
            "NoSuchKeySigningKey",
        ),
    ];
    for (what, (status, text), want, needle) in steps {
        assert_eq!(status, want, "{what}: {text}");
        assert!(text.contains(needle), "{what}: {text}");
    }
    // The keys on disk: the ZSK and key2, owner-only; key1's secret is gone with it.
    use std::os::unix::fs::PermissionsExt;
    let keys: Vec<PathBuf> = std::fs::read_dir(s.state.join("dnssec/hosted").join(&zone))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for k in &keys {
        let mode = std::fs::metadata(k).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", k.display());
    }
    let (_, got) = signed(
        s.api,
        "GET",
        &format!("/2013-04-01/hostedzone/{zone}/dnssec"),
        b"",
        SECRET,
    );
    assert!(
        got.contains("<Name>key2</Name>") && !got.contains("<Name>key1</Name>"),
        "{got}"
    );
    assert!(
        got.contains("<ServeSignature>SIGNING</ServeSignature>"),
        "{got}"
    );
    // A deleted zone takes its keys with it.
    let (status, text) = signed(
        s.api,
        "DELETE",
        &format!("/2013-04-01/hostedzone/{zone}"),
        b"",
        SECRET,
    );
    assert_eq!(status, 200, "{text}");
    assert!(!s.state.join("dnssec/hosted").join(&zone).exists());
}

#[test]
fn a_ksk_rolls_through_the_api_and_validation_never_breaks() {
    let dir = TempDir::new("r53-dnssec-roll");
    let s = start(&dir, None, &[]);
    let origin = "roll.test.";
    let zone = create_zone(s.api, origin);
    let (status, text) = change(
        s.api,
        &zone,
        &a_change("CREATE", "www.roll.test.", "", &["192.0.2.7"]),
    );
    assert_eq!(status, 200, "{text}");
    let ksk = |name: &str| format!("/2013-04-01/keysigningkey/{zone}/{name}");
    assert_eq!(create_ksk(s.api, &zone, "old", "ACTIVE", ARN).0, 201);
    assert_eq!(
        post(
            s.api,
            &format!("/2013-04-01/hostedzone/{zone}/enable-dnssec"),
            ""
        )
        .0,
        200
    );
    let old = anchors_from_api(&dir, s.api, &zone, origin, "old.conf");
    let check = |anchors: &PathBuf, when: &str| {
        let out = delv(s.server.addr, anchors, origin, "www.roll.test.", "A");
        assert!(validated(&out), "{when}:\n{out}");
    };
    check(&old, "before the roll");
    // The new key is published and signs beside the old one: either DS validates.
    assert_eq!(create_ksk(s.api, &zone, "new", "ACTIVE", &arn(2)).0, 201);
    let both = anchors_from_api(&dir, s.api, &zone, origin, "both.conf");
    let new_only = {
        let text = std::fs::read_to_string(&both).unwrap();
        let old_text = std::fs::read_to_string(&old).unwrap();
        let old_ds = old_text.lines().nth(1).unwrap().to_string();
        dir.write("new.conf", &text.replace(&format!("{old_ds}\n"), ""))
    };
    check(&old, "during the roll, the parent's old DS");
    check(&new_only, "during the roll, the new DS");
    // The parent has the new DS: the old key goes.
    assert_eq!(
        post(s.api, &format!("{}/deactivate", ksk("old")), "").0,
        200
    );
    assert_eq!(signed(s.api, "DELETE", &ksk("old"), b"", SECRET).0, 200);
    check(&new_only, "after the roll");
    let out = delv(s.server.addr, &old, origin, "www.roll.test.", "A");
    assert!(
        !validated(&out),
        "the old DS alone no longer validates:\n{out}"
    );
}

/// One `<Change>` of any type: `values` as Route 53 writes them.
fn rr_change(action: &str, name: &str, rtype: &str, values: &[&str]) -> String {
    let values: String = values
        .iter()
        .map(|v| format!("<ResourceRecord><Value>{v}</Value></ResourceRecord>"))
        .collect();
    format!("<Change><Action>{action}</Action><ResourceRecordSet><Name>{name}</Name><Type>{rtype}</Type><TTL>300</TTL><ResourceRecords>{values}</ResourceRecords></ResourceRecordSet></Change>")
}

/// An AXFR's records, split: those that are not RRSIG (SOA left out: its serial is the
/// store's), and of the RRSIGs only what they cover and which key made them (ECDSA signatures
/// differ each time they are made).
fn split_axfr(axfr: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut data, mut sigs) = (BTreeSet::new(), BTreeSet::new());
    for line in axfr
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[3] {
            "SOA" => {}
            "RRSIG" => {
                sigs.insert(format!("{} {} key {}", f[0], f[4], f[10]));
            }
            _ => {
                data.insert(f.join(" "));
            }
        }
    }
    (data, sigs)
}

#[test]
fn each_change_to_a_signed_zone_is_signed_as_signing_it_whole_would() {
    let dir = TempDir::new("r53-dnssec-patch");
    // A Knot secondary follows by NOTIFY and IXFR: each step must carry the signing too.
    let knot_port = common::free_port();
    let config = dir.write(
        "api.toml",
        &format!("[api]\nallow_transfer = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{knot_port}\"]\n"),
    );
    let config = config.display().to_string();
    let s = start(&dir, None, &["--config", &config]);
    let origin = "xfr.test.";
    let zone = create_zone(s.api, origin);
    let first = [
        a_change("CREATE", "www.xfr.test.", "", &["192.0.2.1"]),
        a_change("CREATE", "mail.xfr.test.", "", &["192.0.2.2"]),
        weighted("w.xfr.test.", "one", 1, "192.0.2.11"),
        weighted("w.xfr.test.", "two", 1, "192.0.2.12"),
        rr_change("CREATE", "sub.xfr.test.", "NS", &["ns.elsewhere.example."]),
    ]
    .concat();
    assert_eq!(change(s.api, &zone, &first).0, 200);
    assert_eq!(create_ksk(s.api, &zone, "ksk", "ACTIVE", ARN).0, 201);
    assert_eq!(
        post(
            s.api,
            &format!("/2013-04-01/hostedzone/{zone}/enable-dnssec"),
            ""
        )
        .0,
        200
    );
    let anchors = anchors_from_api(&dir, s.api, &zone, origin, "anchors.conf");
    let _knot = common::knot_secondary(&dir, knot_port, s.server.addr, None);
    let knot: SocketAddr = ([127, 0, 0, 1], knot_port).into();
    // The SOA serial `addr` serves, if it answers yet.
    let serial = |addr: SocketAddr| -> Option<u32> {
        let o = std::process::Command::new("dig")
            .args([&format!("@{}", addr.ip()), "-p", &addr.port().to_string()])
            .args(["+short", "+norec", "+time=1", "+tries=1", origin, "SOA"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
    };
    common::eventually("Knot to transfer the signed zone", || {
        serial(knot).is_some() && serial(knot) == serial(s.server.addr)
    });
    // One batch each, in order: what each does to the NSEC chain is in its name.
    let batches = [
        (
            "a name in the middle of the chain",
            a_change("CREATE", "b.xfr.test.", "", &["192.0.2.3"]),
        ),
        (
            "a name at its end (its NSEC points back to the apex)",
            a_change("CREATE", "zzz.xfr.test.", "", &["192.0.2.4"]),
        ),
        (
            "a type at a name (its bitmap)",
            rr_change("CREATE", "www.xfr.test.", "TXT", &["\"hello\""]),
        ),
        (
            "a value (the signature alone)",
            a_change("UPSERT", "www.xfr.test.", "", &["192.0.2.5"]),
        ),
        (
            "a name gone (the one before it points past it)",
            a_change("DELETE", "mail.xfr.test.", "", &["192.0.2.2"]),
        ),
        (
            "a name below an empty non-terminal",
            a_change("CREATE", "a.deep.xfr.test.", "", &["192.0.2.6"]),
        ),
        (
            "a policy member",
            weighted("w.xfr.test.", "three", 1, "192.0.2.13"),
        ),
        (
            "a policy member gone",
            a_change(
                "DELETE",
                "w.xfr.test.",
                "<SetIdentifier>one</SetIdentifier><Weight>1</Weight>",
                &["192.0.2.11"],
            ),
        ),
        (
            "a DS at a cut",
            rr_change(
                "CREATE",
                "sub.xfr.test.",
                "DS",
                &["12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"],
            ),
        ),
        (
            "a wildcard",
            a_change("CREATE", "*.wild.xfr.test.", "", &["192.0.2.7"]),
        ),
        (
            "the last name gone, with its empty non-terminal",
            a_change("DELETE", "zzz.xfr.test.", "", &["192.0.2.4"]),
        ),
    ];
    for (what, batch) in &batches {
        let (status, text) = change(s.api, &zone, batch);
        assert_eq!(status, 200, "{what}: {text}");
        common::signed_zone::verify_axfr(&dir, s.server.addr, origin);
    }
    // Knot has every step by IXFR: answers through it validate as ours do.
    common::eventually("Knot to follow every change", || {
        serial(knot) == serial(s.server.addr)
    });
    for (name, rtype) in [
        ("b.xfr.test.", "A"),
        ("www.xfr.test.", "TXT"),
        ("mail.xfr.test.", "A"),
        ("w.xfr.test.", "A"),
        ("x.wild.xfr.test.", "A"),
        ("deep.xfr.test.", "A"),
        ("zzz.xfr.test.", "A"),
    ] {
        for (server, addr) in [("policydns", s.server.addr), ("the Knot secondary", knot)] {
            let out = delv(addr, &anchors, origin, name, rtype);
            assert!(validated(&out), "{name} {rtype} from {server}:\n{out}");
        }
    }
    let patched = split_axfr(&common::signed_zone::verify_axfr(
        &dir,
        s.server.addr,
        origin,
    ));
    // A restart after kill -9 (no signatures saved) signs the zone whole from the store: the
    // same records, the same coverage.
    s.server.signal(libc::SIGKILL);
    let state = s.state.clone();
    drop(s);
    let mut again = start(&dir, Some(state.clone()), &["--config", &config]);
    let axfr = common::signed_zone::verify_axfr(&dir, again.server.addr, origin);
    let whole = split_axfr(&axfr);
    assert_eq!(patched.0, whole.0, "records (NSEC included)");
    assert_eq!(
        patched.1, whole.1,
        "what the signatures cover, by which key"
    );
    // A graceful stop saves the signatures: the next start serves the very same ones.
    again.server.signal(libc::SIGTERM);
    common::eventually("the server to stop", || {
        again.server.process.exited().is_some()
    });
    drop(again);
    let third = start(&dir, Some(state), &["--config", &config]);
    let kept = common::signed_zone::verify_axfr(&dir, third.server.addr, origin);
    // (The weighted set's static rendering is signed when first transferred, as always.)
    assert_eq!(
        rrsig_rdatas(&kept, "w.xfr.test."),
        rrsig_rdatas(&axfr, "w.xfr.test."),
        "every signature kept"
    );
}

/// Every RRSIG's RDATA in an AXFR but those at `except`.
fn rrsig_rdatas(axfr: &str, except: &str) -> BTreeSet<String> {
    axfr.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 4 && f[3] == "RRSIG" && f[0] != except)
        .map(|f| f[4..].join(" "))
        .collect()
}

#[test]
fn a_zone_of_route53_json_is_signed_with_every_policy_and_validates() {
    for denial in ["nsec", "nsec3"] {
        let dir = TempDir::new("r53-json-dnssec");
        let state = dir.path().join("state").display().to_string();
        let origin = "route53.test.";
        let mut args = vec![
            "--route53",
            "route53.test.=zones/route53/example.json",
            "--cidr-collection",
            "4c2f7c7a-9b1e-4d2b-a6a8-0d5e3c1f2b10=zones/route53/cidr-blocks.json",
            "--sign",
            origin,
            "--state-dir",
            &state,
        ];
        let conf;
        if denial == "nsec3" {
            // NSEC3 is a [[zone]] key: the same zone from a configuration file.
            conf = dir.write(
                "nsec3.toml",
                &format!(
                    "[[zone]]\norigin = \"route53.test.\"\nroute53 = \"{}/zones/route53/example.json\"\ndnssec = true\nnsec3 = true\n",
                    env!("CARGO_MANIFEST_DIR")
                ),
            );
            args.drain(..2);
            args.splice(0..0, ["--config", conf.to_str().unwrap()]);
        }
        let server = common::serve(&dir, &args, "www.route53.test.");
        let ds = std::process::Command::new(common::BIN)
            .args(["dnssec", "ds", origin, "--state-dir", &state])
            .output()
            .unwrap();
        let ds = String::from_utf8_lossy(&ds.stdout).to_string();
        let anchors = common::dnssec::anchors(&dir, origin, &ds);
        for (name, rtype, verdict) in [
            ("www.route53.test.", "A", "; fully validated"),
            ("route53.test.", "A", "; fully validated"), // an alias at the apex
            ("route53.test.", "MX", "; fully validated"),
            ("api.route53.test.", "A", "; fully validated"), // weighted
            ("app.route53.test.", "A", "; fully validated"), // failover
            ("geo.route53.test.", "A", "; fully validated"),
            ("lat.route53.test.", "A", "; fully validated"),
            ("mv.route53.test.", "A", "; fully validated"),
            ("near.route53.test.", "A", "; fully validated"),
            ("ip.route53.test.", "A", "; fully validated"),
            ("docs.route53.test.", "CNAME", "; fully validated"),
            ("x.route53.test.", "TXT", "; fully validated"), // the wildcard
            ("_sip._tcp.route53.test.", "SRV", "; fully validated"),
            (
                "nosuch.api.route53.test.",
                "A",
                "; negative response, fully validated",
            ),
            (
                "www.route53.test.",
                "TXT",
                "; negative response, fully validated",
            ),
        ] {
            let out = delv(server.addr, &anchors, origin, name, rtype);
            assert!(out.contains(verdict), "{denial}: {name} {rtype}:\n{out}");
        }
        let proof = dig(server.addr, &["+dnssec", "nosuch.route53.test.", "A"]);
        assert_eq!(
            proof.contains("NSEC3"),
            denial == "nsec3",
            "{denial}:\n{proof}"
        );
    }
}

#[test]
fn a_signed_zone_file_is_listed_without_the_signers_records() {
    let dir = TempDir::new("r53-dnssec-list");
    let s = start(
        &dir,
        None,
        &[
            "--zone",
            "example.test.=zones/example.test.zone",
            "--sign",
            "example.test.",
        ],
    );
    let (_, zones) = signed(s.api, "GET", "/2013-04-01/hostedzone", b"", SECRET);
    let at = zones.find("<Name>example.test.</Name>").expect("listed");
    let id_start = zones[..at].rfind("<Id>/hostedzone/").unwrap() + "<Id>/hostedzone/".len();
    let id = &zones[id_start..id_start + zones[id_start..].find('<').unwrap()];
    let (status, list) = signed(
        s.api,
        "GET",
        &format!("/2013-04-01/hostedzone/{id}/rrset"),
        b"",
        SECRET,
    );
    assert_eq!(status, 200, "{list}");
    assert!(
        list.contains("<Name>www.example.test.</Name><Type>A</Type>"),
        "{list}"
    );
    assert!(
        list.contains("<Type>DS</Type>"),
        "a delegation's DS is data: {list}"
    );
    for t in ["RRSIG", "NSEC", "DNSKEY", "CDS", "CDNSKEY"] {
        assert!(
            !list.contains(&format!("<Type>{t}</Type>")),
            "{t} listed: {list}"
        );
    }
    // The zone is served signed all the same.
    assert!(dig(s.server.addr, &["+dnssec", "www.example.test.", "A"]).contains("RRSIG"));
}
