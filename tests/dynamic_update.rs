//! Dynamic update (RFC 2136) as its users drive it: `nsupdate` (BIND) and `knsupdate` (Knot)
//! signed with TSIG, `dig` after each step, a BIND secondary following by IXFR, kill -9 right
//! after an acknowledged update, refusals with their rcodes and reasons, and a real ACME DNS-01
//! issuance (pebble as the CA, lego writing the challenge through RFC 2136). All on 127.0.0.1,
//! every wait bounded.

mod common;
use common::api::{a_change, change, create_zone, start, weighted, ApiServer};
use common::run_update;
use common::{
    a_records, eventually, exchange, free_port, named_secondary, require_tool, try_udp, Proc,
    Proto, Reply, TempDir,
};

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;
use policydns::transfer::tsig;

/// The update key, as `--tsig-key` and nsupdate's `-y` take it.
const KEY: &str = "upd-key";
const SECRET: &str = "8ovdt5hQhxw7qg1Q5Jl1B5VJ5t3dm3Ae1hlb7mV2c0I=";
const ZONE: &str = "dyn.test.";

fn server(dir: &TempDir, extra: &[&str]) -> ApiServer {
    let key = format!("{KEY}:hmac-sha256:{SECRET}");
    let acl = format!("key:{KEY}");
    let mut args = vec!["--tsig-key", &key, "--allow-update", &acl];
    args.extend_from_slice(extra);
    start(dir, None, &args)
}

/// `tool` with the update key, for `ZONE`.
fn send_update(tool: &str, dns: SocketAddr, lines: &str) -> (bool, String) {
    run_update(tool, dns, ZONE, Some((KEY, SECRET)), lines)
}

fn nsupdate(dns: SocketAddr, lines: &str) -> (bool, String) {
    send_update("nsupdate", dns, lines)
}

fn answers(dns: SocketAddr, name: &str, qtype: u16) -> (ResponseCode, Vec<String>) {
    let m = try_udp(dns, name, qtype, Duration::from_secs(2)).expect("an answer");
    let mut rr: Vec<String> = m
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.to_string(),
            RData::TXT(t) => t.to_string(),
            other => format!("{other}"),
        })
        .collect();
    rr.sort();
    (m.metadata.response_code, rr)
}

fn a_of(dns: SocketAddr, name: &str) -> Vec<String> {
    let m = try_udp(dns, name, 1, Duration::from_secs(2)).expect("an answer");
    let mut v = a_records(&m);
    v.sort();
    v
}

fn serial(dns: SocketAddr) -> u32 {
    soa_serial(dns, ZONE)
}

#[test]
fn nsupdate_and_knsupdate_add_replace_delete_with_prerequisites_and_dig_sees_each_step() {
    let dir = TempDir::new("upd-tools");
    let s = server(&dir, &[]);
    let dns = s.server.addr;
    create_zone(s.api, ZONE);
    let start = serial(dns);

    // Add: two records of one RRset and a TXT, one update.
    let (ok, out) = nsupdate(
        dns,
        "update add www.dyn.test. 300 A 192.0.2.1\nupdate add www.dyn.test. 300 A 192.0.2.2\nupdate add txt.dyn.test. 60 TXT \"hello\"",
    );
    assert!(ok, "{out}");
    assert_eq!(a_of(dns, "www.dyn.test."), ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(answers(dns, "txt.dyn.test.", 16).1, ["hello"]);
    assert_eq!(serial(dns), start + 1, "one update, one serial");

    // Replace, with knsupdate: delete the RRset, add one record, in one update.
    let (ok, out) = send_update(
        "knsupdate",
        dns,
        "update delete www.dyn.test. A\nupdate add www.dyn.test. 300 A 192.0.2.3",
    );
    assert!(ok, "{out}");
    assert_eq!(a_of(dns, "www.dyn.test."), ["192.0.2.3"]);

    // Prerequisites that hold: the update applies.
    let (ok, out) = nsupdate(
        dns,
        "prereq yxrrset www.dyn.test. A\nprereq nxdomain new.dyn.test.\nupdate delete www.dyn.test. A 192.0.2.3\nupdate add new.dyn.test. 300 A 192.0.2.4",
    );
    assert!(ok, "{out}");
    assert_eq!(answers(dns, "www.dyn.test.", 1).0, ResponseCode::NXDomain);
    assert_eq!(a_of(dns, "new.dyn.test."), ["192.0.2.4"]);

    // A prerequisite that fails: nothing of the update applies, and the rcode says why.
    let before = serial(dns);
    let (ok, out) = nsupdate(
        dns,
        "prereq nxdomain new.dyn.test.\nupdate add other.dyn.test. 300 A 192.0.2.5",
    );
    assert!(!ok && out.contains("YXDOMAIN"), "{out}");
    let (ok, out) = nsupdate(
        dns,
        "prereq yxrrset new.dyn.test. A 192.0.2.99\nupdate add other.dyn.test. 300 A 192.0.2.5",
    );
    assert!(!ok && out.contains("NXRRSET"), "{out}");
    assert_eq!(answers(dns, "other.dyn.test.", 1).0, ResponseCode::NXDomain);
    assert_eq!(serial(dns), before, "refused updates leave the serial");

    // An update whose last operation is refused fails whole: its first add is not served.
    let (status, body) = change(
        s.api,
        &zone_id(&s),
        &weighted("w.dyn.test.", "one", 1, "198.51.100.1"),
    );
    assert_eq!(status, 200, "{body}");
    let (ok, out) = nsupdate(
        dns,
        "update add first.dyn.test. 300 A 192.0.2.6\nupdate add w.dyn.test. 60 A 192.0.2.7",
    );
    assert!(!ok && out.contains("REFUSED"), "{out}");
    assert_eq!(answers(dns, "first.dyn.test.", 1).0, ResponseCode::NXDomain);
    assert_eq!(a_of(dns, "w.dyn.test."), ["198.51.100.1"]);
}

fn zone_id(s: &ApiServer) -> String {
    let (status, body) = common::api::signed(
        s.api,
        "GET",
        "/2013-04-01/hostedzonesbyname",
        b"",
        common::api::SECRET,
    );
    assert_eq!(status, 200, "{body}");
    let at = body.find("<Id>/hostedzone/").unwrap() + "<Id>/hostedzone/".len();
    body[at..at + body[at..].find('<').unwrap()].to_string()
}

/// An UPDATE of `ZONE` adding `name` A `addr`, signed with `secret` under the update key when
/// given; the answer decoded.
fn raw_update(
    dns: SocketAddr,
    proto: Proto,
    name: &str,
    addr: [u8; 4],
    secret: Option<&str>,
) -> (Message, Vec<u8>) {
    let mut m = vec![0x4d, 0x2a, 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0];
    let wire = |n: &str| {
        let mut w = Vec::new();
        for l in n.trim_end_matches('.').split('.') {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        w.push(0);
        w
    };
    m.extend(wire(ZONE));
    m.extend_from_slice(&[0, 6, 0, 1]);
    m.extend(wire(name));
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&addr);
    // An OPT, so that refusals carry their Extended DNS Error.
    m.extend_from_slice(&[0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
    m[11] = 1;
    if let Some(secret) = secret {
        let key = tsig::Key::new(KEY, "hmac-sha256", secret).unwrap();
        tsig::sign_request(&key, &mut m, tsig::now());
    }
    match exchange(dns, proto, &m, Duration::from_secs(5)) {
        Reply::Response(bytes) => (Message::from_vec(&bytes).expect("decodes"), bytes),
        other => panic!("no answer to the update: {other:?}"),
    }
}

/// The Extended DNS Error text of a raw answer (RFC 8914: option 15, INFO-CODE, then text).
fn ede_text(answer: &[u8]) -> String {
    // The OPT record: the root name, type 41; its RDATA is a list of options.
    let Some(at) = answer.windows(3).rposition(|w| w == [0, 0, 41]) else {
        return String::new();
    };
    let rdlen = u16::from_be_bytes([answer[at + 9], answer[at + 10]]) as usize;
    let mut opts = &answer[at + 11..(at + 11 + rdlen).min(answer.len())];
    while opts.len() >= 4 {
        let code = u16::from_be_bytes([opts[0], opts[1]]);
        let len = u16::from_be_bytes([opts[2], opts[3]]) as usize;
        let data = &opts[4..(4 + len).min(opts.len())];
        if code == 15 && data.len() >= 2 {
            return String::from_utf8_lossy(&data[2..]).into_owned();
        }
        opts = &opts[(4 + len).min(opts.len())..];
    }
    String::new()
}

#[test]
fn refusals_carry_their_rcode_and_reason_and_change_nothing() {
    let dir = TempDir::new("upd-refuse");
    let other = "c2VjcmV0LW9mLWFub3RoZXIta2V5LXRoYXQtaXMtbG9uZw==";
    let s = server(
        &dir,
        &["--tsig-key", &format!("other-key:hmac-sha256:{other}")],
    );
    let dns = s.server.addr;
    let id = create_zone(s.api, ZONE);
    let (status, body) = change(
        s.api,
        &id,
        &weighted("w.dyn.test.", "one", 1, "198.51.100.1"),
    );
    assert_eq!(status, 200, "{body}");
    let start = serial(dns);

    for proto in [Proto::Udp, Proto::Tcp] {
        // Unsigned: not in allow_update.
        let (m, raw) = raw_update(dns, proto, "a.dyn.test.", [192, 0, 2, 1], None);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{proto:?}");
        assert!(
            ede_text(&raw).contains("allow_update"),
            "{proto:?}: {}",
            ede_text(&raw)
        );
        // A wrong secret: NOTAUTH (BADSIG).
        let (m, _) = raw_update(dns, proto, "a.dyn.test.", [192, 0, 2, 1], Some(other));
        assert_eq!(m.metadata.response_code, ResponseCode::NotAuth, "{proto:?}");
        // A routing-policy name: REFUSED, and the reason.
        let (m, raw) = raw_update(dns, proto, "w.dyn.test.", [192, 0, 2, 1], Some(SECRET));
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{proto:?}");
        assert!(
            ede_text(&raw).contains("routing policy"),
            "{proto:?}: {}",
            ede_text(&raw)
        );
    }
    // A key the server knows but allow_update does not list.
    let (ok, out) = nsupdate(dns, "update add b.dyn.test. 60 A 192.0.2.2");
    assert!(ok, "the allowed key works: {out}");
    let (ok, out) = run_update(
        "nsupdate",
        dns,
        ZONE,
        Some(("other-key", other)),
        "update add c.dyn.test. 60 A 192.0.2.3",
    );
    assert!(!ok && out.contains("REFUSED"), "{out}");
    // A message that does not read (cut inside its update section): FORMERR.
    let mut cut = vec![0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0];
    cut.extend_from_slice(b"\x03dyn\x04test\x00\x00\x06\x00\x01\x01a\x03dyn");
    match exchange(dns, Proto::Udp, &cut, Duration::from_secs(5)) {
        Reply::Response(bytes) => {
            let m = Message::from_vec(&bytes).unwrap();
            assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        }
        other => panic!("no answer to a malformed update: {other:?}"),
    }
    assert_eq!(answers(dns, "a.dyn.test.", 1).0, ResponseCode::NXDomain);
    assert_eq!(answers(dns, "c.dyn.test.", 1).0, ResponseCode::NXDomain);
    // Every refusal above came from one client within seconds: the log says it once.
    let refusals = s.server.log().matches("dynamic update refused").count();
    assert_eq!(
        refusals,
        1,
        "refusals are rate-limited in the log:\n{}",
        s.server.log()
    );
    assert_eq!(
        serial(dns),
        start + 1,
        "only the allowed update moved the serial"
    );
    // The secret never reaches the log.
    assert!(!s.server.log().contains(SECRET) && !s.server.log().contains(other));
}

#[test]
fn an_acknowledged_update_survives_kill_9() {
    let dir = TempDir::new("upd-kill");
    let s = server(&dir, &[]);
    create_zone(s.api, ZONE);
    let (ok, out) = nsupdate(s.server.addr, "update add kept.dyn.test. 300 A 192.0.2.42");
    assert!(ok, "{out}");
    s.server.signal(libc::SIGKILL);
    let state = s.state.clone();
    drop(s);
    let key = format!("{KEY}:hmac-sha256:{SECRET}");
    let again = start(
        &dir,
        Some(state),
        &["--tsig-key", &key, "--allow-update", &format!("key:{KEY}")],
    );
    eventually("the update to be served after the restart", || {
        try_udp(
            again.server.addr,
            "kept.dyn.test.",
            1,
            Duration::from_secs(1),
        )
        .is_some_and(|m| a_records(&m) == ["192.0.2.42"])
    });
}

#[test]
fn a_bind_secondary_follows_each_update_by_ixfr() {
    let dir = TempDir::new("upd-bind");
    let bind_port = free_port();
    let config = dir.write(
        "api.toml",
        &format!("[api]\nallow_transfer = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{bind_port}\"]\n"),
    );
    let s = server(&dir, &["--config", &config.display().to_string()]);
    let dns = s.server.addr;
    create_zone(s.api, ZONE);
    let (ok, out) = nsupdate(dns, "update add www.dyn.test. 300 A 192.0.2.1");
    assert!(ok, "{out}");
    let bind: Proc = named_secondary(&dir, bind_port, dns, "dyn.test", None);
    let bind_addr: SocketAddr = ([127, 0, 0, 1], bind_port).into();
    eventually("BIND to transfer the zone", || {
        try_udp(bind_addr, "www.dyn.test.", 1, Duration::from_millis(500))
            .is_some_and(|m| a_records(&m) == ["192.0.2.1"])
    });
    for (i, step) in [
        "update add www.dyn.test. 300 A 192.0.2.2",
        "update delete www.dyn.test. A 192.0.2.1",
        "update add mail.dyn.test. 300 TXT \"v=spf1 -all\"",
    ]
    .iter()
    .enumerate()
    {
        let (ok, out) = nsupdate(dns, step);
        assert!(ok, "{out}");
        let want = serial(dns);
        eventually(
            &format!("BIND to follow update {i} (serial {want})"),
            || {
                try_udp(bind_addr, ZONE, 6, Duration::from_millis(500)).is_some_and(|m| {
                matches!(&m.answers.first().map(|r| &r.data), Some(RData::SOA(s)) if s.serial == want)
            })
            },
        );
        let (_, ours) = answers(dns, "www.dyn.test.", 1);
        let (_, theirs) = answers(bind_addr, "www.dyn.test.", 1);
        assert_eq!(ours, theirs, "step {i}");
    }
    assert_eq!(answers(bind_addr, "mail.dyn.test.", 16).1, ["v=spf1 -all"]);
    // Each update went out as one IXFR step (our log says which kind each transfer was).
    let ours = s.server.log();
    assert!(
        ours.matches("IXFR out").count() >= 3 && !ours.contains("IXFR out as a full zone"),
        "BIND took the updates by IXFR:\n{ours}\nBIND:\n{}",
        bind.log()
    );
}

#[test]
fn an_acme_dns01_certificate_is_issued_through_rfc2136_and_the_challenge_removed() {
    let pebble = require_tool("pebble", "pebble");
    let lego = require_tool("lego", "lego");
    let dir = TempDir::new("upd-acme");
    let s = server(&dir, &[]);
    let dns = s.server.addr;
    create_zone(s.api, ZONE);
    let start = serial(dns);

    // pebble's HTTPS listener needs a certificate; lego trusts the CA that made it.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let ca_pem = dir.write("ca.pem", &ca.pem());
    let cert = dir.write("pebble.crt", &leaf.pem());
    let key = dir.write("pebble.key", &leaf_key.serialize_pem());
    let (acme_port, mgmt_port) = (free_port(), free_port());
    let config = dir.write(
        "pebble.json",
        &format!(
            r#"{{"pebble": {{"listenAddress": "127.0.0.1:{acme_port}", "managementListenAddress": "127.0.0.1:{mgmt_port}", "certificate": "{}", "privateKey": "{}", "httpPort": {}, "tlsPort": {}, "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}"#,
            cert.display(),
            key.display(),
            free_port(),
            free_port()
        ),
    );
    let _ca = Proc::spawn(
        "pebble",
        Command::new(pebble)
            .args([
                "-config",
                &config.display().to_string(),
                "-dnsserver",
                &dns.to_string(),
            ])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0"),
        dir.path().join("pebble.log"),
    );
    eventually("pebble to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", acme_port)).is_ok()
    });
    let out = Command::new(lego)
        .current_dir(dir.path())
        .args([
            "--server",
            &format!("https://localhost:{acme_port}/dir"),
            "--email",
            "ops@dyn.test",
            "--accept-tos",
            "--domains",
            "web.dyn.test",
            "--dns",
            "rfc2136",
            "--dns.resolvers",
            &dns.to_string(),
            "--dns.disable-cp",
            "--path",
            &dir.path().join("lego").display().to_string(),
            "run",
        ])
        .env("LEGO_CA_CERTIFICATES", &ca_pem)
        .env("RFC2136_NAMESERVER", dns.to_string())
        .env("RFC2136_TSIG_KEY", format!("{KEY}."))
        .env("RFC2136_TSIG_SECRET", SECRET)
        .env("RFC2136_TSIG_ALGORITHM", "hmac-sha256.")
        .env("RFC2136_TTL", "60")
        .env("RFC2136_PROPAGATION_TIMEOUT", "30")
        .env("RFC2136_POLLING_INTERVAL", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "lego failed:\n{text}\npolicydns log:\n{}",
        s.server.log()
    );
    let issued = std::fs::read_to_string(dir.path().join("lego/certificates/web.dyn.test.crt"))
        .unwrap_or_else(|e| panic!("no certificate ({e}):\n{text}"));
    assert!(issued.contains("BEGIN CERTIFICATE"));
    // The challenge record came and went: two updates, and it is gone now.
    assert!(
        serial(dns) >= start + 2,
        "the challenge was added and removed by update"
    );
    assert_eq!(
        answers(dns, "_acme-challenge.web.dyn.test.", 16).0,
        ResponseCode::NXDomain,
        "the challenge TXT is removed afterwards"
    );
}

#[test]
fn an_update_and_api_changes_are_serialised() {
    // Updates and API batches to one zone interleave; each is applied whole, in some order,
    // and every one of them is served.
    let dir = TempDir::new("upd-serial");
    let s = server(&dir, &[]);
    let dns = s.server.addr;
    let id = create_zone(s.api, ZONE);
    let start = serial(dns);
    let api = s.api;
    let id2 = id.clone();
    let t = std::thread::spawn(move || {
        for i in 0..10 {
            let (status, body) = change(
                api,
                &id2,
                &a_change("CREATE", &format!("api{i}.dyn.test."), "", &["192.0.2.10"]),
            );
            assert_eq!(status, 200, "{body}");
        }
    });
    for i in 0..10 {
        let (ok, out) = nsupdate(dns, &format!("update add upd{i}.dyn.test. 60 A 192.0.2.20"));
        assert!(ok, "{out}");
    }
    t.join().unwrap();
    for i in 0..10 {
        assert_eq!(a_of(dns, &format!("api{i}.dyn.test.")), ["192.0.2.10"]);
        assert_eq!(a_of(dns, &format!("upd{i}.dyn.test.")), ["192.0.2.20"]);
    }
    assert_eq!(
        serial(dns),
        start + 20,
        "one serial per batch and per update"
    );
}

/// nsupdate against `zone` (any zone), signed with the update key.
fn nsupdate_zone(dns: SocketAddr, zone: &str, lines: &str) -> (bool, String) {
    run_update("nsupdate", dns, zone, Some((KEY, SECRET)), lines)
}

fn soa_serial(dns: SocketAddr, zone: &str) -> u32 {
    let m = try_udp(dns, zone, 6, Duration::from_secs(2)).expect("an SOA answer");
    match &m.answers[0].data {
        RData::SOA(s) => s.serial,
        other => panic!("not an SOA: {other:?}"),
    }
}

const FILE_ZONE: &str = "$TTL 300\n@ SOA ns1 admin 10 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\nkeep TXT \"from the file\"\n";

#[test]
fn a_zone_file_with_allow_update_keeps_its_updates_across_kill_9_and_edits_of_the_file() {
    let dir = TempDir::new("upd-file");
    let zone_file = dir.write("file.test.zone", FILE_ZONE);
    let fixed = dir.write(
        "fixed.test.zone",
        &FILE_ZONE.replace("file.test", "fixed.test"),
    );
    let config = dir.write(
        "zones.toml",
        &format!(
            "[[zone]]\norigin = \"file.test.\"\nfile = \"{}\"\nallow_update = [\"key:{KEY}\"]\nallow_transfer = [\"127.0.0.1\"]\n\n[[zone]]\norigin = \"fixed.test.\"\nfile = \"{}\"\n",
            zone_file.display(),
            fixed.display()
        ),
    );
    let config_text = config.display().to_string();
    let key = format!("{KEY}:hmac-sha256:{SECRET}");
    let args = ["--config", config_text.as_str(), "--tsig-key", key.as_str()];
    let s = start(&dir, None, &args);
    let dns = s.server.addr;

    let (ok, out) = nsupdate_zone(dns, "file.test.", "update add www.file.test. 60 A 192.0.2.2\nupdate add _acme-challenge.file.test. 60 TXT \"tok\"");
    assert!(ok, "{out}");
    assert_eq!(a_of(dns, "www.file.test."), ["192.0.2.1", "192.0.2.2"]);
    let (ok, out) = nsupdate_zone(
        dns,
        "file.test.",
        "update delete _acme-challenge.file.test. TXT",
    );
    assert!(ok, "{out}");
    let served = soa_serial(dns, "file.test.");
    assert_eq!(served, 12, "two updates, two serials past the file's 10");
    // A zone from a file without allow_update refuses, and says how to allow it.
    let (ok, out) = nsupdate_zone(
        dns,
        "fixed.test.",
        "update add x.fixed.test. 60 A 192.0.2.9",
    );
    assert!(!ok && out.contains("REFUSED"), "{out}");

    // kill -9: the updates are served again after the restart, at a serial not below.
    s.server.signal(libc::SIGKILL);
    let state = s.state.clone();
    drop(s);
    let s = start(&dir, Some(state), &args);
    let dns = s.server.addr;
    assert_eq!(a_of(dns, "www.file.test."), ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(
        answers(dns, "_acme-challenge.file.test.", 16).0,
        ResponseCode::NXDomain
    );
    assert!(soa_serial(dns, "file.test.") >= served);

    // An edit of the file: what it changes is served, except where an update set the RRset —
    // that stays the update's, and the reload says so.
    let edited = FILE_ZONE
        .replace("from the file", "edited")
        .replace("192.0.2.1", "192.0.2.100")
        .replace(" 10 7200", " 11 7200");
    std::fs::write(&zone_file, edited).unwrap();
    let before = soa_serial(dns, "file.test.");
    s.server.signal(libc::SIGHUP);
    eventually("the edit to be served", || {
        answers(dns, "keep.file.test.", 16).1 == ["edited"]
    });
    assert_eq!(a_of(dns, "www.file.test."), ["192.0.2.1", "192.0.2.2"]);
    assert!(
        soa_serial(dns, "file.test.") > before,
        "the edit is a new serial"
    );
    let log = s.server.log();
    assert!(
        log.contains("changed www.file.test. A since a dynamic update set it"),
        "the reload names the RRset whose edit is not served:\n{log}"
    );
}

#[test]
fn updates_to_a_zone_file_need_no_api_listener_only_a_state_directory() {
    let dir = TempDir::new("upd-no-api");
    let zone_file = dir.write("file.test.zone", FILE_ZONE);
    let config = dir.write(
        "zones.toml",
        &format!(
            "[[zone]]\norigin = \"file.test.\"\nfile = \"{}\"\nallow_update = [\"key:{KEY}\"]\n",
            zone_file.display()
        ),
    );
    let key = format!("{KEY}:hmac-sha256:{SECRET}");
    let config_text = config.display().to_string();
    // Without a state directory the server says where updates would be kept.
    let out = std::process::Command::new(common::BIN)
        .args(["check", "--config", &config_text, "--tsig-key", &key])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && text.contains("dynamic updates are kept in the change store"),
        "{text}"
    );
    let state = dir.path().join("state");
    let state_text = state.display().to_string();
    let s = common::serve(
        &dir,
        &[
            "--config",
            &config_text,
            "--tsig-key",
            &key,
            "--state-dir",
            &state_text,
        ],
        "www.file.test.",
    );
    let (ok, out) = nsupdate_zone(
        s.addr,
        "file.test.",
        "update add www.file.test. 60 A 192.0.2.2",
    );
    assert!(ok, "{out}");
    assert_eq!(a_of(s.addr, "www.file.test."), ["192.0.2.1", "192.0.2.2"]);
    assert!(
        !s.log().contains("API listening"),
        "no HTTP listener:\n{}",
        s.log()
    );
}
