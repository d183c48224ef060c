//! `[[zone]] dnssec = true`: policydns signs the zone as it loads it and answers DO=1 queries
//! with signatures and NSEC proofs, as a validator needs them. Checked with `delv`
//! (bind9-dnsutils) and `unbound-host` (unbound's validator) validating from the DS
//! `policydns dnssec ds` prints; with `dig` for what a
//! referral carries; byte for byte against the unsigned zone for DO=0; through AXFR into
//! `dnssec-verify`, `kzonecheck`, and Knot and BIND secondaries that serve it, validated there
//! too.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::dnssec::{anchors, delv, unbound_host};
use common::{
    dns_ready, eventually, exchange, query_with, require_tool, serve, start_on_free_port, Opt,
    Proc, Proto, Reply, Server, TempDir, BIN,
};

const ORIGIN: &str = "example.test.";

/// The demo zone, plus a delegation with no DS (an unsigned child).
fn zone_file(dir: &TempDir) -> PathBuf {
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone"),
    )
    .unwrap();
    dir.write(
        "example.test.zone",
        &format!("{demo}unsigned IN NS ns.elsewhere.example.\n"),
    )
}

/// A configuration serving the zone, signed or not, with `extra` lines in its `[[zone]]`.
fn config(dir: &TempDir, signed: bool, extra: &str) -> PathBuf {
    let zone = zone_file(dir);
    dir.write(
        if signed { "signed.toml" } else { "unsigned.toml" },
        &format!(
            "[server]\nstate_dir = \"state\"\n[[zone]]\norigin = \"{ORIGIN}\"\nfile = \"{}\"\ndnssec = {signed}\n{extra}",
            zone.display()
        ),
    )
}

fn start(dir: &TempDir, signed: bool, extra: &str) -> Server {
    let conf = config(dir, signed, extra);
    serve(
        dir,
        &["--config", conf.to_str().unwrap()],
        "www.example.test",
    )
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

/// The trust anchor for the keys the server made in its state directory.
fn trust_anchor(dir: &TempDir) -> PathBuf {
    anchors(dir, ORIGIN, &ds_lines(dir))
}

/// `policydns dnssec ds` for the server's keys.
fn ds_lines(dir: &TempDir) -> String {
    ok(
        "dnssec ds",
        Command::new(BIN)
            .args(["dnssec", "ds", ORIGIN, "--state-dir"])
            .arg(dir.path().join("state"))
            .output()
            .unwrap(),
    )
}

fn dig(addr: SocketAddr, args: &[&str]) -> String {
    ok(
        "dig",
        Command::new(require_tool("dig", "bind9-dnsutils"))
            .arg(format!("@{}", addr.ip()))
            .args(["-p", &addr.port().to_string(), "+norec"])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A query with EDNS (`payload`) and the DO bit set or not.
fn edns_query(id: u16, name: &str, qtype: u16, payload: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut q = query_with(id, false, name, qtype, Some(Opt { payload, ecs: None }));
    if dnssec_ok {
        // The OPT record follows the question: root, TYPE, CLASS, then TTL = extended rcode,
        // version, flags; DO is the flags' top bit (RFC 3225).
        let flags_at = q.len() - 4;
        q[flags_at] |= 0x80;
    }
    q
}

fn response(addr: SocketAddr, proto: Proto, q: &[u8]) -> Vec<u8> {
    match exchange(addr, proto, q, Duration::from_secs(2)) {
        Reply::Response(b) => b,
        other => panic!("no response: {other:?}"),
    }
}

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

/// Knot as a secondary of example.test at `primary`.
fn knot_secondary(dir: &TempDir, primary: SocketAddr) -> (Proc, SocketAddr) {
    let knotd = require_tool("knotd", "knot");
    start_on_free_port(
        "knotd",
        |port| {
            let w = dir.path().join(format!("knot-{port}"));
            std::fs::create_dir_all(&w).unwrap();
            let conf = w.join("knot.conf");
            std::fs::write(
                &conf,
                format!(
                    "server:\n  rundir: \"{w}\"\n  listen: 127.0.0.1@{port}\n  background-workers: 1\n\
                     database:\n  storage: \"{w}\"\n\
                     log:\n  - target: stderr\n    any: info\n\
                     remote:\n  - id: primary\n    address: {}@{}\n\
                     template:\n  - id: default\n    storage: \"{w}\"\n    zonefile-sync: -1\n\
                     zone:\n  - domain: {ORIGIN}\n    master: primary\n",
                    primary.ip(),
                    primary.port(),
                    w = w.display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new(&knotd);
            cmd.arg("-c").arg(&conf);
            Proc::spawn("knotd", &mut cmd, w.join("knot.log"))
        },
        |addr| dns_ready(addr, "www.example.test", 1),
    )
}

/// The zone as AXFR gives it, accepted whole by both verifiers.
fn verify_transfer(dir: &TempDir, addr: SocketAddr) -> String {
    let axfr = dig(addr, &["example.test", "AXFR"]);
    let file = dir.write("axfr.zone", &axfr);
    let bind = Command::new(require_tool("dnssec-verify", "bind9-utils"))
        .args(["-z", "-o", ORIGIN])
        .arg(&file)
        .output()
        .unwrap();
    let knot = Command::new(require_tool("kzonecheck", "knot-dnssecutils"))
        .args(["-o", ORIGIN, "--dnssec", "on"])
        .arg(&file)
        .output()
        .unwrap();
    for (tool, o) in [("dnssec-verify", bind), ("kzonecheck", knot)] {
        assert!(
            o.status.success(),
            "{tool} refused the transferred zone: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    axfr
}

fn soa_serial(addr: SocketAddr) -> u32 {
    let out = dig(addr, &["+short", "example.test", "SOA"]);
    out.split_whitespace().nth(2).unwrap().parse().unwrap()
}

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
fn what_cannot_be_signed_yet_is_refused_with_the_reason() {
    let dir = TempDir::new("dnssec-serve-refused");
    let zone = zone_file(&dir);
    // Dynamic update would change the zone after it was signed.
    let conf = dir.write(
        "refused.toml",
        &format!(
            "[server]\nstate_dir = \"state\"\n[[zone]]\norigin = \"{ORIGIN}\"\nfile = \"{}\"\ndnssec = true\nallow_update = [\"127.0.0.1\"]\n",
            zone.display()
        ),
    );
    let o = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{said}");
    assert!(
        said.contains("a zone changed by dynamic update is not signed yet"),
        "{said}"
    );
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

/// The demo zone signed by `dnssec-signzone` (BIND 9.18) in `dir`, with NSEC or (RFC 9276's
/// parameters) NSEC3; returns the signed file and the DS `dnssec-dsfromkey` prints.
fn signed_by_bind(dir: &TempDir, nsec3: bool) -> (PathBuf, String) {
    let keys = dir.path().join("bind-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let keygen = Command::new(require_tool("dnssec-keygen", "bind9-utils"))
        .current_dir(&keys)
        .args(["-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "example.test"])
        .output()
        .unwrap();
    let key = ok("dnssec-keygen", keygen).trim().to_string();
    let out = dir
        .path()
        .join(if nsec3 { "bind3.signed" } else { "bind.signed" });
    let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone");
    let mut cmd = Command::new(require_tool("dnssec-signzone", "bind9-utils"));
    // -d: the dsset- file goes beside the keys, not into the working directory.
    cmd.args(["-q", "-S", "-z", "-d"])
        .arg(&keys)
        .arg("-K")
        .arg(&keys);
    if nsec3 {
        cmd.args(["-3", "-", "-H", "0"]);
    }
    cmd.args(["-o", ORIGIN, "-f"]).arg(&out).arg(&zone);
    ok("dnssec-signzone", cmd.output().unwrap());
    let ds = ok(
        "dnssec-dsfromkey",
        Command::new(require_tool("dnssec-dsfromkey", "bind9-utils"))
            .arg("-2")
            .arg(keys.join(format!("{key}.key")))
            .output()
            .unwrap(),
    );
    (out, ds)
}

/// The demo zone signed by `policydns dnssec sign` into `dir`; its file and DS.
fn signed_by_policydns(dir: &TempDir, nsec3: bool) -> (PathBuf, String) {
    let out = dir.path().join("policydns.signed");
    let state = dir.path().join("sign-state");
    let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone");
    let mut cmd = Command::new(BIN);
    cmd.args(["dnssec", "sign"])
        .arg(&zone)
        .args(["--origin", ORIGIN, "--state-dir"])
        .arg(&state)
        .arg("--out")
        .arg(&out);
    if nsec3 {
        cmd.arg("--nsec3");
    }
    ok("dnssec sign", cmd.output().unwrap());
    let ds = ok(
        "dnssec ds",
        Command::new(BIN)
            .args(["dnssec", "ds", ORIGIN, "--state-dir"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    (out, ds)
}

#[test]
fn a_zone_signed_elsewhere_is_served_with_its_signatures_and_proofs() {
    for (signer, nsec3) in [
        ("dnssec-signzone", false),
        ("dnssec-signzone -3", true),
        ("policydns dnssec sign", false),
        ("policydns dnssec sign --nsec3", true),
    ] {
        let dir = TempDir::new("dnssec-presigned");
        let (file, ds) = if signer.starts_with("dnssec-signzone") {
            signed_by_bind(&dir, nsec3)
        } else {
            signed_by_policydns(&dir, nsec3)
        };
        let zone_arg = format!("{ORIGIN}={}", file.display());
        let server = serve(&dir, &["--zone", &zone_arg], "www.example.test");
        let anchors = anchors(&dir, ORIGIN, &ds);
        for (name, rtype, verdict) in [
            ("www.example.test", "A", "; fully validated"),
            ("alias.example.test", "A", "; fully validated"),
            ("x.apps.example.test", "A", "; fully validated"),
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
