//! Signed zones over time: routing-policy answers across health flips, transfers to BIND,
//! Knot and policydns secondaries, reloads that keep what did not change, key rollovers, and
//! zone files signed elsewhere — each validated with `delv` (and `unbound-host`) from the DS.

mod common;
use std::collections::BTreeSet;

use std::process::{Command, Output};
use std::time::Duration;

use common::dnssec::{anchors, delv, unbound_host};
use common::signed_zone::*;
use common::{dns_ready, eventually, serve, start_on_free_port, Proto, Server, TempDir, BIN};

#[test]
fn the_zone_transfers_signed_and_a_reload_keeps_what_did_not_change() {
    let dir = TempDir::new("dnssec-serve-xfr");
    let server = start(&dir, true, "allow_transfer = [\"127.0.0.1\"]\n");
    let anchors = trust_anchor(&dir);
    let axfr = verify_transfer(&dir, server.addr);
    assert!(axfr.contains("\tRRSIG\t") && axfr.contains("\tNSEC\t"));
    // Knot and BIND secondaries serve it, and it validates there.
    let (_knot, knot) = knot_secondary(&dir, server.addr);
    let (_named, named) = start_on_free_port(
        "named",
        |port| common::named_secondary(&dir, port, server.addr, "example.test", None),
        |addr| dns_ready(addr, "www.example.test", 1),
    );
    for (secondary, addr) in [("Knot", knot), ("BIND", named)] {
        for (name, rtype, verdict) in [
            ("www.example.test", "A", "; fully validated"),
            ("x.apps.example.test", "A", "; fully validated"),
            (
                "nope.example.test",
                "A",
                "; negative response, fully validated",
            ),
            (
                "www.example.test",
                "TXT",
                "; negative response, fully validated",
            ),
        ] {
            let out = delv(addr, &anchors, ORIGIN, name, rtype);
            assert!(
                out.contains(verdict),
                "via {secondary}, {name} {rtype}:\n{out}"
            );
        }
    }
    // A reload of the unchanged zone keeps its signatures: nothing new for the secondaries.
    let rrsig_of_www = || -> Vec<String> {
        dig(server.addr, &["+dnssec", "+short", "www.example.test", "A"])
            .lines()
            .filter(|l| l.starts_with("A "))
            .map(str::to_string)
            .collect()
    };
    let (serial, sigs) = (soa_serial(server.addr), rrsig_of_www());
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    let reloads = |log: &str| log.matches("reloading (SIGHUP)").count();
    server.signal(libc::SIGHUP);
    eventually("the reload", || reloads(&server.log()) == 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(soa_serial(server.addr), serial, "{}", server.log());
    assert_eq!(rrsig_of_www(), sigs, "the signature was kept");
    // An edit that forgets the serial: served at once under the next serial (as for any
    // transferred zone), the new name signed, the SOA signed again over the new serial.
    let zone = dir.path().join("example.test.zone");
    let text = std::fs::read_to_string(&zone).unwrap();
    std::fs::write(&zone, format!("{text}added IN A 192.0.2.123\n")).unwrap();
    server.signal(libc::SIGHUP);
    eventually("the serial to advance", || {
        soa_serial(server.addr) == serial + 1
    });
    assert_eq!(
        rrsig_of_www(),
        sigs,
        "an unchanged RRset keeps its signature"
    );
    for (name, rtype, verdict) in [
        ("example.test", "SOA", "; fully validated"),
        ("added.example.test", "A", "; fully validated"),
        (
            "nope.example.test",
            "A",
            "; negative response, fully validated",
        ),
    ] {
        let out = delv(server.addr, &anchors, ORIGIN, name, rtype);
        assert!(
            out.contains(verdict),
            "after the edit, {name} {rtype}:\n{out}"
        );
    }
    verify_transfer(&dir, server.addr);
}

#[test]
fn routing_policy_answers_validate_before_and_after_a_health_flip() {
    use std::sync::atomic::{AtomicU16, Ordering};
    use std::sync::Arc;
    let dir = TempDir::new("dnssec-serve-policy");
    let status = Arc::new(AtomicU16::new(200));
    let port = common::free_port();
    let _backend = common::Backend::start_with(port, status.clone(), Arc::new(|_| {}));
    let conf = config(
        &dir,
        true,
        &format!(
            r#"
[[health_check]]
id = "web"
type = "HTTP"
ip_address = "127.0.0.1"
port = {port}
resource_path = "/health"
request_interval = 1
failure_threshold = 1

[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "primary"
failover = "PRIMARY"
health_check = "web"
ttl = 60
values = ["192.0.2.121"]

[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "secondary"
failover = "SECONDARY"
ttl = 60
values = ["192.0.2.122"]

[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "blue"
weight = 3
values = ["192.0.2.111", "192.0.2.113"]

[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "green"
weight = 1
values = ["192.0.2.112"]

[[record_set]]
name = "g.example.test."
type = "AAAA"
set_identifier = "anywhere"
geolocation = {{ country = "*" }}
values = ["2001:db8::131"]

[[record_set]]
name = "s.example.test."
type = "A"
values = ["192.0.2.41", "192.0.2.42", "192.0.2.43"]

[[record_set]]
name = "cn.example.test."
type = "CNAME"
set_identifier = "one"
weight = 1
values = ["www.example.test."]

[[record_set]]
name = "mv.example.test."
type = "A"
set_identifier = "one"
multivalue = true
health_check = "web"
values = ["192.0.2.151"]

[[record_set]]
name = "mv.example.test."
type = "A"
set_identifier = "two"
multivalue = true
values = ["192.0.2.152"]

[[record_set]]
name = "t.example.test."
type = "A"
alias = {{ name = "www.example.test.", evaluate_target_health = false }}

[[record_set]]
name = "t2.example.test."
type = "A"
alias = {{ name = "fo.example.test.", evaluate_target_health = true }}

[[load_balancer]]
name = "app-1.us-east-1.elb.amazonaws.com."
zones = [{{ name = "us-east-1a", ipv4 = ["198.51.100.10"] }}, {{ name = "us-east-1b", ipv4 = ["198.51.100.11"] }}]

[[record_set]]
name = "lb.example.test."
type = "A"
alias = {{ name = "app-1.us-east-1.elb.amazonaws.com.", evaluate_target_health = false }}
"#
        ),
    );
    let server = serve(
        &dir,
        &["--config", conf.to_str().unwrap()],
        "www.example.test",
    );
    let anchors = trust_anchor(&dir);
    let ds = ds_lines(&dir);
    let validated = |name: &str, rtype: &str, verdict: &str| {
        let out = delv(server.addr, &anchors, ORIGIN, name, rtype);
        assert!(
            out.contains(verdict),
            "{name} {rtype}: want {verdict:?}, delv said:\n{out}"
        );
        // And unbound agrees.
        let ub = unbound_host(&dir, server.addr, ORIGIN, &ds, name, rtype);
        assert!(
            ub.contains("(secure)") && !ub.contains("BOGUS"),
            "{name} {rtype}, unbound-host said:\n{ub}"
        );
        out
    };
    eventually("the primary to be answered", || {
        dig(server.addr, &["+short", "fo.example.test", "A"]).trim() == "192.0.2.121"
    });
    for _ in 0..4 {
        // Weighted draws differ from query to query: each member's answer validates.
        validated("w.example.test", "A", "; fully validated");
    }
    for (name, rtype, verdict) in [
        ("fo.example.test", "A", "; fully validated"),
        ("g.example.test", "AAAA", "; fully validated"),
        ("s.example.test", "A", "; fully validated"),
        ("cn.example.test", "A", "; fully validated"), // a CNAME chosen by a policy, then www
        ("mv.example.test", "A", "; fully validated"), // multivalue: both members
        ("t.example.test", "A", "; fully validated"),  // an alias to another name's records
        ("t2.example.test", "A", "; fully validated"), // an alias to another record set's member
        ("lb.example.test", "A", "; fully validated"), // a load balancer's zones
        (
            "fo.example.test",
            "TXT",
            "; negative response, fully validated",
        ),
        (
            "w.example.test",
            "AAAA",
            "; negative response, fully validated",
        ),
        (
            "nx.w.example.test",
            "A",
            "; negative response, fully validated",
        ),
    ] {
        validated(name, rtype, verdict);
    }
    let out = validated("fo.example.test", "A", "; fully validated");
    assert!(out.contains("192.0.2.121"), "{out}");
    // The primary's backend fails: the secondary's records, with their own signatures.
    status.store(503, Ordering::SeqCst);
    eventually("the failover to the secondary", || {
        dig(server.addr, &["+short", "fo.example.test", "A"]).trim() == "192.0.2.122"
    });
    let out = validated("fo.example.test", "A", "; fully validated");
    assert!(out.contains("192.0.2.122"), "{out}");
    let out = validated("t2.example.test", "A", "; fully validated");
    assert!(out.contains("192.0.2.122"), "{out}");
    // The multivalue answer lost its unhealthy member: another set, signed on first use.
    let out = validated("mv.example.test", "A", "; fully validated");
    assert!(
        out.contains("192.0.2.152") && !out.contains("192.0.2.151"),
        "{out}"
    );
    status.store(200, Ordering::SeqCst);
    eventually("the failback to the primary", || {
        dig(server.addr, &["+short", "fo.example.test", "A"]).trim() == "192.0.2.121"
    });
    validated("fo.example.test", "A", "; fully validated");
}

#[test]
fn a_zone_signed_elsewhere_is_served_with_its_signatures_and_proofs() {
    for (signer, nsec3) in [
        ("dnssec-signzone", false),
        ("dnssec-signzone -3", true),
        ("dnssec-signzone -3 -A (opt-out)", true),
        ("policydns dnssec sign", false),
        ("policydns dnssec sign --nsec3", true),
    ] {
        let dir = TempDir::new("dnssec-presigned");
        let (file, ds) = match signer {
            "dnssec-signzone" => signed_by_bind(&dir, &[]),
            "dnssec-signzone -3" => signed_by_bind(&dir, &["-3", "-", "-H", "0"]),
            "dnssec-signzone -3 -A (opt-out)" => {
                signed_by_bind(&dir, &["-3", "-", "-H", "0", "-A"])
            }
            _ => signed_by_policydns(&dir, nsec3),
        };
        let zone_arg = format!("{ORIGIN}={}", file.display());
        let server = serve(&dir, &["--zone", &zone_arg], "www.example.test");
        let anchors = anchors(&dir, ORIGIN, &ds);
        // Under opt-out the NSEC3 that proves no closer name than the wildcard exists may hide
        // an unsigned delegation, so validators call the expansion unsigned (NSD's answer
        // gets the same verdict from delv).
        let expanded = if signer.contains("opt-out") {
            "; unsigned answer"
        } else {
            "; fully validated"
        };
        for (name, rtype, verdict) in [
            ("www.example.test", "A", "; fully validated"),
            ("alias.example.test", "A", "; fully validated"),
            ("x.apps.example.test", "A", expanded),
            ("lab.example.test", "DS", "; fully validated"),
            (
                "nope.example.test",
                "A",
                "; negative response, fully validated",
            ),
            (
                "www.example.test",
                "TXT",
                "; negative response, fully validated",
            ),
            (
                "c.example.test",
                "A",
                "; negative response, fully validated",
            ),
            (
                "x.apps.example.test",
                "TXT",
                "; negative response, fully validated",
            ),
        ] {
            let out = delv(server.addr, &anchors, ORIGIN, name, rtype);
            assert!(
                out.contains(verdict),
                "signed by {signer}: {name} {rtype}: want {verdict:?}, delv said:\n{out}"
            );
        }
        if signer.starts_with("dnssec-signzone") {
            // Unsigned delegations, one below an empty non-terminal: the proof that they have
            // no DS — with opt-out, where neither has an NSEC3, the closest provable encloser's
            // NSEC3 and the opt-out one covering the next closer name (RFC 5155 §7.2.4, §7.2.7).
            for cut in ["unsigned.example.test", "child.ent.example.test"] {
                let out = delv(server.addr, &anchors, ORIGIN, cut, "DS");
                assert!(
                    out.contains("; negative response, fully validated"),
                    "signed by {signer}: {cut} DS:\n{out}"
                );
                let referral = dig(server.addr, &["+dnssec", &format!("host.{cut}"), "A"]);
                let proofs = referral
                    .lines()
                    .filter(|l| {
                        l.split_whitespace().nth(3) == Some(if nsec3 { "NSEC3" } else { "NSEC" })
                    })
                    .count();
                let opt_out = signer.contains("opt-out");
                assert_eq!(
                    proofs,
                    if opt_out { 2 } else { 1 },
                    "signed by {signer}: the referral to {cut}:\n{referral}"
                );
                if opt_out {
                    assert!(
                        referral.contains(" NSEC3 1 1 0 - ")
                            || referral.contains("NSEC3\t1 1 0 - "),
                        "the opt-out flag:\n{referral}"
                    );
                }
            }
        }
        // Without DO: no DNSSEC records in the answer.
        let q = edns_query(5, "www.example.test", 1, 1232, false);
        let r = response(server.addr, Proto::Udp, &q);
        assert!(
            !r.windows(4).any(|w| w == [0, 46, 0, 1]),
            "{signer}: no RRSIG without DO"
        );
    }
}

#[test]
fn a_key_rollover_keeps_answers_valid_under_the_old_and_then_the_new_ds() {
    let dir = TempDir::new("dnssec-rollover");
    let server = start(&dir, true, "");
    let state = dir.path().join("state");
    let old_ds = ds_lines(&dir);
    let old_tag: u16 = old_ds.split_whitespace().nth(3).unwrap().parse().unwrap();
    let policydns = |args: &[&str]| -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--state-dir")
            .arg(&state)
            .output()
            .unwrap()
    };
    let dnskeys = || {
        dig(server.addr, &["+short", "example.test", "DNSKEY"])
            .lines()
            .count()
    };
    let reloads = |log: &str| log.matches("reloading (SIGHUP)").count();
    let validates = |ds: &str, name: &str| -> bool {
        let anchors = anchors(&dir, ORIGIN, ds);
        delv(server.addr, &anchors, ORIGIN, name, "A").contains("; fully validated")
    };
    // Start: a second CSK, published and signing from the next reload.
    let status = ok(
        "rollover",
        policydns(&["dnssec", "rollover", "example.test"]),
    );
    assert!(status.contains("Rollover: CSK in progress"), "{status}");
    let both_ds = ds_lines(&dir);
    assert_eq!(both_ds.lines().count(), 2, "{both_ds}");
    let new_ds: String = both_ds.lines().filter(|l| !old_ds.contains(l)).collect();
    server.signal(libc::SIGHUP);
    eventually("both keys to be published", || dnskeys() == 2);
    assert!(validates(&old_ds, "www.example.test"), "under the old DS");
    assert!(validates(&new_ds, "www.example.test"), "under the new DS");
    // Too early to retire the old key: refused, with the reason.
    let early = policydns(&["dnssec", "retire", "example.test", &old_tag.to_string()]);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("wait"),
        "{early:?}"
    );
    // Retired once the operator says the DS has moved: only the new key remains.
    ok(
        "retire",
        policydns(&[
            "dnssec",
            "retire",
            "example.test",
            &old_tag.to_string(),
            "--wait-hours",
            "0",
        ]),
    );
    assert_eq!(ds_lines(&dir), format!("{new_ds}\n"));
    server.signal(libc::SIGHUP);
    eventually("the second reload", || reloads(&server.log()) == 2);
    eventually("the old key to go", || dnskeys() == 1);
    assert!(validates(&new_ds, "www.example.test"), "under the new DS");
    assert!(
        !validates(&old_ds, "www.example.test"),
        "the old DS no longer matches"
    );
    let last = policydns(&[
        "dnssec",
        "retire",
        "example.test",
        new_ds.split_whitespace().nth(3).unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&last.stderr).contains("only CSK"),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
}

#[test]
fn a_signed_zone_with_routing_policies_transfers_its_renderings_signed() {
    let dir = TempDir::new("dnssec-serve-policy-xfr");
    let conf = config(
        &dir,
        true,
        r#"allow_transfer = ["127.0.0.1"]

[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "blue"
weight = 3
values = ["192.0.2.111"]

[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "green"
weight = 1
values = ["192.0.2.112"]

[[record_set]]
name = "mv.example.test."
type = "A"
set_identifier = "one"
multivalue = true
values = ["192.0.2.151"]

[[record_set]]
name = "mv.example.test."
type = "A"
set_identifier = "two"
multivalue = true
values = ["192.0.2.152"]
"#,
    );
    let server = serve(
        &dir,
        &["--config", conf.to_str().unwrap()],
        "www.example.test",
    );
    let anchors = trust_anchor(&dir);
    // The transfer carries each record set's static rendering with its signatures, and no
    // policy records: both verifiers accept the zone whole.
    let axfr = verify_transfer(&dir, server.addr);
    assert!(
        !axfr.contains("TYPE65300"),
        "no policy records in a signed zone's transfer"
    );
    let (_knot, knot) = knot_secondary(&dir, server.addr);
    // A policydns secondary too: it gets no policy, and serves the signed renderings.
    let secondary_dir = TempDir::new("dnssec-serve-policy-xfr-secondary");
    let secondary_arg = format!("{ORIGIN}={}", server.addr);
    let state_arg = secondary_dir.path().join("state");
    let secondary = serve(
        &secondary_dir,
        &[
            "--secondary",
            &secondary_arg,
            "--state-dir",
            state_arg.to_str().unwrap(),
        ],
        "www.example.test",
    );
    for (via, addr) in [("Knot", knot), ("policydns", secondary.addr)] {
        for (name, rtype, verdict) in [
            ("w.example.test", "A", "; fully validated"),
            ("mv.example.test", "A", "; fully validated"),
            (
                "nope.example.test",
                "A",
                "; negative response, fully validated",
            ),
        ] {
            let out = delv(addr, &anchors, ORIGIN, name, rtype);
            assert!(out.contains(verdict), "via {via}, {name} {rtype}:\n{out}");
        }
    }
    // A reload that changed nothing keeps the rendering's signatures: same serial.
    let serial = soa_serial(server.addr);
    server.signal(libc::SIGHUP);
    eventually("the reload", || server.log().contains("reloading (SIGHUP)"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(soa_serial(server.addr), serial, "{}", server.log());
    verify_transfer(&dir, server.addr);
}

#[test]
fn a_zsk_rolls_by_itself_and_answers_validate_throughout() {
    let dir = TempDir::new("dnssec-zsk-roll");
    let state = dir.path().join("state");
    ok(
        "keygen",
        Command::new(BIN)
            .args(["dnssec", "keygen", ORIGIN, "--ksk-zsk", "--state-dir"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    // Short periods, the lifetime longer than the overlap so that retiring the old ZSK does
    // not at once start the next rollover.
    let conf = config(&dir, true, "zsk_lifetime = \"4s\"\nzsk_overlap = \"2s\"\n");
    let server = serve(
        &dir,
        &["--config", conf.to_str().unwrap()],
        "www.example.test",
    );
    // The KSK's DS, given to the parent once, stays valid through ZSK rollovers.
    let anchors = trust_anchor(&dir);
    let dnskeys = || {
        dig(server.addr, &["+short", "example.test", "DNSKEY"])
            .lines()
            .count()
    };
    let validated = || {
        for (name, verdict) in [
            ("www.example.test", "; fully validated"),
            ("nope.example.test", "; negative response, fully validated"),
        ] {
            let out = delv(server.addr, &anchors, ORIGIN, name, "A");
            assert!(out.contains(verdict), "{name}:\n{out}");
        }
    };
    // No SIGHUP: the server loads the zone itself when a rollover step is due.
    let reload_until = |what: &str, keys: usize| eventually(what, || dnskeys() == keys);
    // The key tags of the signatures over www's A RRset.
    let signers = || -> BTreeSet<String> {
        dig(server.addr, &["+dnssec", "+short", "www.example.test", "A"])
            .lines()
            .filter(|l| l.starts_with("A 13 "))
            .filter_map(|l| l.split_whitespace().nth(6).map(str::to_string))
            .collect()
    };
    assert_eq!(dnskeys(), 2, "a KSK and a ZSK");
    validated();
    let first = signers();
    assert_eq!(first.len(), 1, "{first:?}");
    // Past its lifetime, at a load: a second ZSK is published, and does not sign yet
    // (pre-publication, RFC 7583 §3.1).
    reload_until("a second ZSK", 3);
    assert!(
        server
            .log()
            .contains("ZSK rollover: a new ZSK is published"),
        "{}",
        server.log()
    );
    assert_eq!(
        signers(),
        first,
        "the old ZSK alone signs while the new one is published"
    );
    validated();
    // At a load after the publication period: the new ZSK signs instead of the old one, which
    // stays published (resolvers may hold its signatures).
    eventually("the new ZSK to sign", || signers() != first);
    assert_eq!(signers().len(), 1, "one ZSK signs: {:?}", signers());
    assert_eq!(dnskeys(), 3, "the old ZSK is still published");
    assert!(server.log().contains("ZSK rollover: the new ZSK signs"));
    validated();
    // The old one has been published without signing for the overlap: it is retired.
    reload_until("the old ZSK to go", 2);
    assert!(server
        .log()
        .contains("ZSK rollover: the old ZSK is retired"));
    assert!(
        server
            .log()
            .contains("reloading (a ZSK rollover step is due)")
            && !server.log().contains("reloading (SIGHUP)"),
        "{}",
        server.log()
    );
    validated();
    let retired = std::fs::read_dir(state.join("dnssec/example.test/retired"))
        .unwrap()
        .count();
    assert_eq!(retired, 1, "the old ZSK is kept aside, not deleted");
}

const UPDATE_SECRET: &str = "8ovdt5hQhxw7qg1Q5Jl1B5VJ5t3dm3Ae1hlb7mV2c0I=";

/// `nsupdate -y` for example.test against `addr`, signed with the update key.
fn nsupdate(addr: std::net::SocketAddr, lines: &str) -> (bool, String) {
    common::run_update(
        "nsupdate",
        addr,
        ORIGIN,
        Some(("upd-key", UPDATE_SECRET)),
        lines,
    )
}

/// A weighted record set `w.example.test.` A (one member), for a `[[zone]]`'s table.
const WEIGHTED: &str = "\n[[record_set]]\nname = \"w.example.test.\"\ntype = \"A\"\nset_identifier = \"a\"\nweight = 1\nvalues = [\"192.0.2.1\"]\n";

/// The signed demo zone taking updates signed with the update key, `extra` in its `[[zone]]`:
/// the server, and the arguments that start it again.
fn updatable(dir: &TempDir, extra: &str) -> (Server, Vec<String>) {
    let conf = config(
        dir,
        true,
        &format!("allow_update = [\"key:upd-key\"]\n{extra}"),
    );
    let args = vec![
        "--config".to_string(),
        conf.display().to_string(),
        "--tsig-key".to_string(),
        format!("upd-key:hmac-sha256:{UPDATE_SECRET}"),
    ];
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    (serve(dir, &refs, "www.example.test"), args)
}

/// [`serve`] with arguments [`updatable`] gave.
fn serve_again(dir: &TempDir, args: &[String]) -> Server {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    serve(dir, &refs, "www.example.test")
}

#[test]
fn dynamic_updates_to_a_signed_zone_are_signed_and_survive_kill_9() {
    for denial in ["", "nsec3 = true\n"] {
        updates_are_signed(denial);
    }
}

fn updates_are_signed(denial: &str) {
    let dir = TempDir::new("dnssec-update");
    let (server, args) = updatable(&dir, &format!("allow_transfer = [\"127.0.0.1\"]\n{denial}"));
    let anchors = trust_anchor(&dir);
    let serial = soa_serial(server.addr);
    // Names that come with empty non-terminals above them, and go again.
    let (ok_, out) = nsupdate(
        server.addr,
        "update add new.example.test. 300 A 192.0.2.77\nupdate add gone.example.test. 300 A 192.0.2.78\nupdate add a.b.deep.example.test. 300 A 192.0.2.79\nupdate add x.y.example.test. 300 A 192.0.2.80\nupdate add whole.example.test. 300 A 192.0.2.81\nupdate add whole.example.test. 300 TXT \"two types\"",
    );
    assert!(ok_, "{out}");
    verify_transfer(&dir, server.addr);
    // A whole name deleted (its signer's records go with it, the signer's business).
    let (ok_, out) = nsupdate(
        server.addr,
        "update delete gone.example.test. A\nupdate delete x.y.example.test. A\nupdate delete whole.example.test.",
    );
    assert!(ok_, "{out}");
    assert_eq!(soa_serial(server.addr), serial + 2);
    // The signer's records are not the update's to change: refused, with the reason.
    let (ok_, out) = nsupdate(server.addr, "update delete www.example.test. RRSIG");
    assert!(!ok_ && out.contains("REFUSED"), "{out}");
    assert_eq!(soa_serial(server.addr), serial + 2);
    let check = |addr| {
        for (name, verdict) in [
            ("new.example.test", "; fully validated"),
            ("www.example.test", "; fully validated"),
            ("a.b.deep.example.test", "; fully validated"),
            (
                "b.deep.example.test",
                "; negative response, fully validated",
            ),
            ("gone.example.test", "; negative response, fully validated"),
            ("x.y.example.test", "; negative response, fully validated"),
            ("y.example.test", "; negative response, fully validated"),
            ("whole.example.test", "; negative response, fully validated"),
            ("nope.example.test", "; negative response, fully validated"),
        ] {
            let out = delv(addr, &anchors, ORIGIN, name, "A");
            assert!(out.contains(verdict), "{denial}{name}:\n{out}");
        }
        let out = delv(addr, &anchors, ORIGIN, "example.test", "SOA");
        assert!(out.contains("; fully validated"), "{out}");
    };
    check(server.addr);
    verify_transfer(&dir, server.addr);
    // kill -9: the acknowledged update is laid over the file again at start, signed.
    server.signal(libc::SIGKILL);
    drop(server);
    let server = serve_again(&dir, &args);
    check(server.addr);
    assert!(soa_serial(server.addr) > serial);
}

#[test]
fn a_signed_zone_with_routing_policies_takes_updates_signed_and_survives_kill_9() {
    for denial in ["", "nsec3 = true\n"] {
        policy_zone_updates_are_signed(denial);
    }
}

fn policy_zone_updates_are_signed(denial: &str) {
    let dir = TempDir::new("dnssec-update-policy");
    let (server, args) = updatable(&dir, &format!("{denial}{WEIGHTED}"));
    let anchors = trust_anchor(&dir);
    let (ok_, out) = nsupdate(
        server.addr,
        "update add new.example.test. 300 A 192.0.2.77\nupdate add x.example.test. 300 TXT \"beside the policy\"",
    );
    assert!(ok_, "{out}");
    let check = |addr| {
        for (name, rtype, verdict) in [
            ("new.example.test", "A", "; fully validated"),
            ("x.example.test", "TXT", "; fully validated"),
            ("w.example.test", "A", "; fully validated"),
            (
                "w.example.test",
                "TXT",
                "; negative response, fully validated",
            ),
            (
                "v.example.test",
                "A",
                "; negative response, fully validated",
            ),
        ] {
            let out = delv(addr, &anchors, ORIGIN, name, rtype);
            assert!(out.contains(verdict), "{name} {rtype}:\n{out}");
        }
    };
    check(server.addr);
    server.signal(libc::SIGKILL);
    drop(server);
    let server = serve_again(&dir, &args);
    check(server.addr);
}

#[test]
fn a_restart_keeps_the_signatures_the_last_run_saved_and_signs_only_what_changed() {
    let dir = TempDir::new("dnssec-restart");
    let conf = config(&dir, true, "allow_transfer = [\"127.0.0.1\"]\n");
    let args = ["--config", conf.to_str().unwrap()];
    let mut server = serve(&dir, &args, "www.example.test");
    let anchors = trust_anchor(&dir);
    // The RRSIG RDATA over `name`'s A RRset (ECDSA: made again, it differs).
    let rrsig = |addr, name: &str| -> String {
        dig(addr, &["+dnssec", "+short", name, "A"])
            .lines()
            .filter(|l| l.starts_with("A 13 "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (www, mail) = (
        rrsig(server.addr, "www.example.test"),
        rrsig(server.addr, "mail.example.test"),
    );
    assert!(!www.is_empty() && !mail.is_empty());
    // SIGTERM: the signatures are saved beside the keys.
    server.signal(libc::SIGTERM);
    eventually("the server to stop", || server.process.exited().is_some());
    assert!(server.log().contains("signatures saved for the next start"));
    let saved = dir.path().join("state/dnssec/example.test/signatures.bin");
    assert!(saved.exists());
    drop(server);
    // While it is down, www changes in the file.
    let file = dir.path().join("example.test.zone");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("www     IN A    192.0.2.10", "www     IN A    192.0.2.11"),
    )
    .unwrap();
    let server = serve(&dir, &args, "www.example.test");
    assert_eq!(
        rrsig(server.addr, "mail.example.test"),
        mail,
        "unchanged: kept"
    );
    let now = rrsig(server.addr, "www.example.test");
    assert_ne!(now, www, "changed: signed again");
    for (name, verdict) in [
        ("www.example.test", "; fully validated"),
        ("mail.example.test", "; fully validated"),
        ("nope.example.test", "; negative response, fully validated"),
    ] {
        let out = delv(server.addr, &anchors, ORIGIN, name, "A");
        assert!(out.contains(verdict), "{name}:\n{out}");
    }
    assert!(dig(server.addr, &["+short", "www.example.test", "A"]).contains("192.0.2.11"));
    verify_transfer(&dir, server.addr);
    // A file that is not the saved form is no reason not to serve: the zone is signed whole.
    drop(server);
    std::fs::write(&saved, b"garbage").unwrap();
    let server = serve(&dir, &args, "www.example.test");
    let out = delv(server.addr, &anchors, ORIGIN, "mail.example.test", "A");
    assert!(out.contains("; fully validated"), "{out}");
    assert_ne!(rrsig(server.addr, "mail.example.test"), mail);
}
