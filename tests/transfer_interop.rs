//! Zone transfers with real peers: BIND 9 and Knot as secondaries of policydns, policydns as a
//! secondary of BIND, TSIG with the right and a wrong key, access control, serial policies and
//! the static rendering of routing-policy sets. BIND and Knot come from Debian's packages
//! (`scripts/install-test-deps.sh`); a test fails rather than skips without them.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{
    eventually, exchange, free_port, require_tool, serve, try_udp, Proc, Proto, Reply, Server,
    TempDir,
};
use hickory_proto::op::Message;
use policydns::transfer::tsig;

const KEY: &str = "xfr-key:hmac-sha256:cG9saWN5ZG5zIHRyYW5zZmVyIHRlc3Qga2V5IQ==";
const KEY_SECRET: &str = "cG9saWN5ZG5zIHRyYW5zZmVyIHRlc3Qga2V5IQ==";
const WRONG_KEY: &str = "xfr-key:hmac-sha256:d3Jvbmcgc2VjcmV0IGZvciB0aGUgc2FtZSBuYW1l";

const ZONE: &str = "$ORIGIN xfr.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
     IN NS  ns1
     IN MX  10 mail
     IN TXT \"v=spf1 -all\"
ns1  IN A   192.0.2.53
www  IN A   192.0.2.10
     IN AAAA 2001:db8::10
mail IN A   192.0.2.25
web  IN CNAME www
_sip._udp IN SRV 10 60 5060 www
sub  IN NS  ns.sub
ns.sub IN A 192.0.2.99
";

/// Names compared between a secondary and us.
const STATIC_QUESTIONS: [(&str, u16); 8] = [
    ("xfr.test", 6),
    ("xfr.test", 2),
    ("xfr.test", 15),
    ("xfr.test", 16),
    ("www.xfr.test", 1),
    ("www.xfr.test", 28),
    ("web.xfr.test", 5),
    ("_sip._udp.xfr.test", 33),
];

fn with_serial(zone: &str, serial: u32, www: &str) -> String {
    zone.replace("hostmaster 1 ", &format!("hostmaster {serial} "))
        .replace("192.0.2.10", www)
}

/// The answer section as sorted text lines.
fn answer_lines(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.name.to_ascii().to_lowercase(),
                r.ttl,
                r.record_type(),
                r.data
            )
        })
        .collect();
    v.sort();
    v
}

fn answer_of(addr: SocketAddr, name: &str, qtype: u16) -> Option<Message> {
    try_udp(addr, name, qtype, Duration::from_millis(500))
}

fn first_a(addr: SocketAddr, name: &str) -> Option<String> {
    answer_of(addr, name, 1).and_then(|m| common::a_records(&m).into_iter().next())
}

fn named_secondary(dir: &TempDir, port: u16, primary: SocketAddr, key: bool) -> Proc {
    common::named_secondary(dir, port, primary, "xfr.test", key.then_some(KEY_SECRET))
}

fn knot_secondary(dir: &TempDir, port: u16, primary: SocketAddr) -> Proc {
    knot_secondary_with(dir, port, primary, false)
}

/// Knot as a secondary; with `key`, its requests are signed with the test key.
fn knot_secondary_with(dir: &TempDir, port: u16, primary: SocketAddr, key: bool) -> Proc {
    common::knot_secondary(dir, port, primary, key.then_some(KEY_SECRET))
}

fn hup(server: &Server) {
    server.signal(libc::SIGHUP);
}

fn server_log(server: &Server) -> String {
    server.log()
}

/// A raw AXFR (or IXFR with `ixfr_serial`) over TCP, optionally signed; returns the first
/// response message.
fn transfer_request(
    addr: SocketAddr,
    zone: &str,
    ixfr_serial: Option<u32>,
    key: Option<&str>,
) -> Vec<u8> {
    let mut q = vec![
        0xAB,
        0xCD,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        ixfr_serial.is_some() as u8,
        0,
        0,
    ];
    for label in zone.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(
        &(if ixfr_serial.is_some() {
            251u16
        } else {
            252u16
        })
        .to_be_bytes(),
    );
    q.extend_from_slice(&[0, 1]);
    if let Some(serial) = ixfr_serial {
        q.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]);
        q.extend_from_slice(&serial.to_be_bytes());
        q.extend_from_slice(&[0; 16]);
    }
    if let Some(k) = key {
        tsig::sign_request(&tsig::Key::parse_spec(k).unwrap(), &mut q, tsig::now());
    }
    match exchange(addr, Proto::Tcp, &q, Duration::from_secs(5)) {
        Reply::Response(m) => m,
        other => panic!("no transfer response from {addr}: {other:?}"),
    }
}

fn rcode(m: &[u8]) -> u8 {
    m[3] & 0xF
}

/// A primary whose zone only holders of the test key may transfer.
fn key_only_primary(dir: &TempDir) -> Server {
    primary(
        dir,
        ZONE,
        &["--tsig-key", KEY, "--allow-transfer", "key:xfr-key"],
    )
    .0
}

fn primary(dir: &TempDir, zone_text: &str, extra: &[&str]) -> (Server, PathBuf) {
    let zone = dir.write("xfr.test.zone", zone_text);
    let spec = format!("xfr.test.={}", zone.display());
    let mut args = vec!["--zone", &spec];
    args.extend_from_slice(extra);
    (serve(dir, &args, "www.xfr.test"), zone)
}

#[test]
fn bind_secondary_transfers_the_zone_and_answers_as_we_do() {
    let dir = TempDir::new("xfr-bind-axfr");
    let (ours, _) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    let port = free_port();
    let bind = named_secondary(&dir, port, ours.addr, false);
    let bind_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("BIND to serve the transferred zone", || {
        first_a(bind_addr, "www.xfr.test").is_some()
    });
    for (name, qtype) in STATIC_QUESTIONS {
        let theirs = answer_lines(&answer_of(bind_addr, name, qtype).unwrap());
        let mine = answer_lines(&answer_of(ours.addr, name, qtype).unwrap());
        assert!(!mine.is_empty(), "{name} {qtype}: we answer nothing");
        assert_eq!(
            theirs,
            mine,
            "{name} type {qtype}: BIND secondary and policydns differ\nBIND log:\n{}",
            bind.log()
        );
    }
}

#[test]
fn bind_secondary_follows_a_reload_by_notify_and_ixfr() {
    let dir = TempDir::new("xfr-bind-ixfr");
    let port = free_port();
    let notify = format!("127.0.0.1:{port}");
    let (ours, zone) = primary(
        &dir,
        ZONE,
        &["--allow-transfer", "127.0.0.1", "--notify", &notify],
    );
    let bind = named_secondary(&dir, port, ours.addr, false);
    let bind_addr: SocketAddr = notify.parse().unwrap();
    eventually("BIND to serve serial 1", || {
        first_a(bind_addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    std::fs::write(&zone, with_serial(ZONE, 2, "192.0.2.11")).unwrap();
    hup(&ours);
    eventually("BIND to serve the reloaded address", || {
        first_a(bind_addr, "www.xfr.test").as_deref() == Some("192.0.2.11")
    });
    assert!(
        bind.log().contains("received notify for zone 'xfr.test'"),
        "BIND did not log our NOTIFY:\n{}",
        bind.log()
    );
    assert!(
        server_log(&ours).contains("IXFR out"),
        "the change did not go out as IXFR:\n{}",
        server_log(&ours)
    );
}

#[test]
fn knot_secondary_transfers_the_zone_and_follows_a_reload_by_ixfr() {
    let dir = TempDir::new("xfr-knot");
    let port = free_port();
    let notify = format!("127.0.0.1:{port}");
    let (ours, zone) = primary(
        &dir,
        ZONE,
        &["--allow-transfer", "127.0.0.1", "--notify", &notify],
    );
    let knot = knot_secondary(&dir, port, ours.addr);
    let knot_addr: SocketAddr = notify.parse().unwrap();
    eventually("Knot to serve the zone", || {
        first_a(knot_addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    for (name, qtype) in STATIC_QUESTIONS {
        let theirs = answer_lines(&answer_of(knot_addr, name, qtype).unwrap());
        let mine = answer_lines(&answer_of(ours.addr, name, qtype).unwrap());
        assert_eq!(
            theirs, mine,
            "{name} type {qtype}: Knot secondary and policydns differ"
        );
    }
    std::fs::write(&zone, with_serial(ZONE, 2, "192.0.2.12")).unwrap();
    hup(&ours);
    eventually("Knot to serve the reloaded address", || {
        first_a(knot_addr, "www.xfr.test").as_deref() == Some("192.0.2.12")
    });
    assert!(
        knot.log().contains("IXFR, incoming"),
        "Knot did not take the change as IXFR:\n{}",
        knot.log()
    );
}

#[test]
fn tsig_signed_transfer_with_the_right_key_is_accepted_by_bind() {
    let dir = TempDir::new("xfr-tsig-ok");
    let ours = key_only_primary(&dir);
    let port = free_port();
    let bind = named_secondary(&dir, port, ours.addr, true);
    let bind_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("BIND to transfer with TSIG", || {
        first_a(bind_addr, "www.xfr.test").is_some()
    });
    assert!(
        bind.log().contains("TSIG xfr-key"),
        "BIND did not sign the transfer:\n{}",
        bind.log()
    );
}

#[test]
fn transfer_signed_with_a_wrong_key_is_notauth() {
    let dir = TempDir::new("xfr-tsig-bad");
    let ours = key_only_primary(&dir);
    let m = transfer_request(ours.addr, "xfr.test", None, Some(WRONG_KEY));
    assert_eq!(rcode(&m), 9, "expected NOTAUTH");
    let t = tsig::find(&m)
        .unwrap()
        .expect("the error carries a TSIG record");
    assert_eq!(t.error, tsig::BADSIG);
    assert!(server_log(&ours).contains("TSIG rejected"));
}

#[test]
fn unsigned_transfer_of_a_key_only_zone_is_refused() {
    let dir = TempDir::new("xfr-tsig-none");
    let ours = key_only_primary(&dir);
    assert_eq!(
        rcode(&transfer_request(ours.addr, "xfr.test", None, None)),
        5
    );
}

#[test]
fn transfer_from_a_disallowed_address_is_refused_and_logged_once_however_often() {
    let dir = TempDir::new("xfr-acl");
    let (ours, _) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.2/32"]);
    let m = transfer_request(ours.addr, "xfr.test", None, None);
    assert_eq!(
        rcode(&m),
        5,
        "expected REFUSED, not NOTAUTH (RFC 5936 §2.2.1)"
    );
    eventually("the refusal to be logged", || {
        server_log(&ours).contains("transfer refused")
    });
    // A flood of them is not a flood of log lines: one per client every ten seconds.
    for _ in 0..200 {
        assert_eq!(
            rcode(&transfer_request(ours.addr, "xfr.test", None, None)),
            5
        );
    }
    assert_eq!(
        server_log(&ours).matches("transfer refused").count(),
        1,
        "{}",
        server_log(&ours)
    );
}

#[test]
fn a_zone_without_allow_transfer_is_not_transferred() {
    let dir = TempDir::new("xfr-none");
    let (ours, _) = primary(&dir, ZONE, &[]);
    assert_eq!(
        rcode(&transfer_request(ours.addr, "xfr.test", None, None)),
        5
    );
}

#[test]
fn ixfr_from_our_current_serial_is_one_soa() {
    let dir = TempDir::new("xfr-ixfr-current");
    let (ours, _) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    let m = Message::from_vec(&transfer_request(ours.addr, "xfr.test", Some(1), None)).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        m.answers[0].record_type(),
        hickory_proto::rr::RecordType::SOA
    );
}

#[test]
fn ixfr_beyond_the_history_falls_back_to_the_full_zone() {
    let dir = TempDir::new("xfr-ixfr-old");
    let (ours, zone) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    std::fs::write(&zone, with_serial(ZONE, 5, "192.0.2.15")).unwrap();
    hup(&ours);
    eventually("serial 5 served", || {
        answer_of(ours.addr, "xfr.test", 6).is_some_and(|m| {
            m.answers
                .first()
                .is_some_and(|r| r.data.to_string().contains(" 5 3600 "))
        })
    });
    // We never served serial 3: the history starts at 1.
    let m = Message::from_vec(&transfer_request(ours.addr, "xfr.test", Some(3), None)).unwrap();
    let types: Vec<_> = m.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types.first(), Some(&hickory_proto::rr::RecordType::SOA));
    assert!(
        types.len() > 4 && types[1] != hickory_proto::rr::RecordType::SOA,
        "not AXFR form: {types:?}"
    );
    // From serial 1 there is history: the IXFR form, old SOA second.
    let m = Message::from_vec(&transfer_request(ours.addr, "xfr.test", Some(1), None)).unwrap();
    let lines: Vec<String> = m
        .answers
        .iter()
        .map(|r| format!("{} {}", r.record_type(), r.data))
        .collect();
    assert_eq!(
        lines.len(),
        6,
        "SOA 5, SOA 1, -www, SOA 5, +www, SOA 5: {lines:#?}"
    );
    assert!(
        lines[2].ends_with("192.0.2.10") && lines[4].ends_with("192.0.2.15"),
        "{lines:#?}"
    );
}

#[test]
fn a_zone_file_edit_without_a_serial_bump_is_served_one_serial_later_with_a_warning() {
    let dir = TempDir::new("xfr-serial-same");
    let (ours, zone) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    std::fs::write(&zone, with_serial(ZONE, 1, "192.0.2.99")).unwrap();
    hup(&ours);
    eventually("the edit to be served", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.99")
    });
    assert_eq!(served_serial(ours.addr), Some(2));
    // The warning names the file and line of the SOA.
    let soa_at = format!("the SOA is at {}:3", zone.display());
    eventually("the warning to be logged", || {
        let log = server_log(&ours);
        log.contains(
            "the zone file changed but its serial 1 was not raised; serving it as serial 2",
        ) && log.contains(&soa_at)
    });
}

#[test]
fn a_zone_file_edit_that_lowers_the_serial_keeps_serving_the_old_version() {
    let dir = TempDir::new("xfr-serial-lower");
    let (ours, zone) = primary(
        &dir,
        &with_serial(ZONE, 5, "192.0.2.10"),
        &["--allow-transfer", "127.0.0.1"],
    );
    std::fs::write(&zone, with_serial(ZONE, 3, "192.0.2.99")).unwrap();
    hup(&ours);
    // The message names the file and line of the SOA to edit.
    let soa_at = format!("the SOA at {}:3", zone.display());
    eventually("the refusal to be logged", || {
        let log = server_log(&ours);
        log.contains("the zone file's serial went down from 5 to 3") && log.contains(&soa_at)
    });
    assert_eq!(
        first_a(ours.addr, "www.xfr.test").as_deref(),
        Some("192.0.2.10")
    );
    assert_eq!(served_serial(ours.addr), Some(5));
}

/// A primary for `zone_text` with `serial_policy = "increment"`, transfers allowed to loopback.
fn primary_with_increment(dir: &TempDir, zone_text: &str) -> (Server, PathBuf) {
    let zone = dir.write("xfr.test.zone", zone_text);
    let conf = dir.write(
        "c.toml",
        &format!(
            "[[zone]]\norigin = \"xfr.test.\"\nfile = \"{}\"\nallow_transfer = [\"127.0.0.1\"]\nserial_policy = \"increment\"\n",
            zone.display()
        ),
    );
    let ours = serve(&dir, &["--config", conf.to_str().unwrap()], "www.xfr.test");
    (ours, zone)
}

#[test]
fn serial_policy_increment_renumbers_a_changed_zone() {
    let dir = TempDir::new("xfr-serial-inc");
    let (ours, zone) = primary_with_increment(&dir, ZONE);
    std::fs::write(&zone, with_serial(ZONE, 1, "192.0.2.98")).unwrap();
    hup(&ours);
    eventually("the new address", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.98")
    });
    let soa = answer_of(ours.addr, "xfr.test", 6).unwrap();
    assert!(
        soa.answers[0].data.to_string().contains(" 2 3600 "),
        "serial not 2: {}",
        soa.answers[0].data
    );
}

#[test]
fn serial_policy_increment_serves_a_zone_file_whose_serial_went_down() {
    let dir = TempDir::new("xfr-serial-inc-lower");
    let (ours, zone) = primary_with_increment(&dir, &with_serial(ZONE, 5, "192.0.2.10"));
    std::fs::write(&zone, with_serial(ZONE, 3, "192.0.2.97")).unwrap();
    hup(&ours);
    // The file's serial is only a suggestion: the edit is served, one past the served serial.
    eventually("the new address", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.97")
    });
    assert_eq!(served_serial(ours.addr), Some(6));
    // Logged together with the serial's advance, which comes after any warning.
    eventually("the advance to be logged", || {
        server_log(&ours).contains("serial 5 → 6")
    });
    assert!(
        !server_log(&ours).contains("was not raised"),
        "no warning when serials are managed"
    );
}

const POLICY_CONFIG: &str = r#"
[[zone]]
origin = "xfr.test."
file = "ZONEFILE"
allow_transfer = ["127.0.0.1"]

[[health_check]]
id = "down"
healthy = false

[[record_set]]
name = "fo.xfr.test."
type = "A"
set_identifier = "primary"
failover = "PRIMARY"
health_check = "down"
ttl = 60
values = ["192.0.2.121"]

[[record_set]]
name = "fo.xfr.test."
type = "A"
set_identifier = "secondary"
failover = "SECONDARY"
ttl = 60
values = ["192.0.2.122"]

[[record_set]]
name = "w.xfr.test."
type = "A"
set_identifier = "a"
weight = 0
ttl = 60
values = ["192.0.2.131"]

[[record_set]]
name = "w.xfr.test."
type = "A"
set_identifier = "b"
weight = 5
ttl = 60
values = ["192.0.2.132"]
"#;

#[test]
fn policy_sets_reach_a_standard_secondary_as_their_static_rendering() {
    let dir = TempDir::new("xfr-policy");
    let (ours, _, _) = config_primary(&dir, POLICY_CONFIG);
    let port = free_port();
    let _bind = named_secondary(&dir, port, ours.addr, false);
    let bind_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("BIND to serve the zone", || {
        first_a(bind_addr, "www.xfr.test").is_some()
    });
    // Failover renders the primary (health does not enter a transfer); weighted renders the
    // members with weight.
    assert_eq!(
        first_a(bind_addr, "fo.xfr.test").as_deref(),
        Some("192.0.2.121")
    );
    assert_eq!(
        common::a_records(&answer_of(bind_addr, "w.xfr.test", 1).unwrap()),
        vec!["192.0.2.132"]
    );
    // We still answer by policy: the primary's check is down.
    assert_eq!(
        first_a(ours.addr, "fo.xfr.test").as_deref(),
        Some("192.0.2.122")
    );
}

/// A primary serving `config` with its `ZONEFILE` replaced by a written [`ZONE`]: the server,
/// the zone file and the config file.
fn config_primary(dir: &TempDir, config: &str) -> (Server, PathBuf, PathBuf) {
    let zone = dir.write("xfr.test.zone", ZONE);
    let conf = dir.write(
        "c.toml",
        &config.replace("ZONEFILE", zone.to_str().unwrap()),
    );
    let server = serve(dir, &["--config", conf.to_str().unwrap()], "www.xfr.test");
    (server, zone, conf)
}

/// A policydns secondary of `primary`, keeping its state in `dir/state`.
fn policydns_secondary(dir: &TempDir, primary: &Server) -> (Server, PathBuf) {
    let state = dir.path().join("state");
    let spec = format!("xfr.test.={}", primary.addr);
    let server = serve(
        dir,
        &["--secondary", &spec, "--state-dir", state.to_str().unwrap()],
        "www.xfr.test",
    );
    (server, state)
}

fn named_primary(dir: &TempDir, port: u16, notify_port: u16, zone_text: &str) -> (Proc, PathBuf) {
    named_primary_with(dir, port, notify_port, zone_text, false)
}

/// BIND as primary; with `key`, transfers only to holders of the test key.
fn named_primary_with(
    dir: &TempDir,
    port: u16,
    notify_port: u16,
    zone_text: &str,
    key: bool,
) -> (Proc, PathBuf) {
    let work = dir.path().join(format!("named-primary-{port}"));
    std::fs::create_dir_all(&work).unwrap();
    let zone = work.join("xfr.test.zone");
    std::fs::write(&zone, zone_text).unwrap();
    let conf = format!(
        "options {{ directory \"{w}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file none; recursion no; dnssec-validation no; session-keyfile \"{w}/session.key\";
  notify explicit; notify-delay 0; also-notify {{ 127.0.0.1 port {notify_port}; }};
  allow-transfer {{ {allow} }}; ixfr-from-differences yes; }};
controls {{ }};
{key_conf}zone \"xfr.test\" {{ type primary; file \"{z}\"; }};\n",
        w = work.display(),
        z = zone.display(),
        allow = if key { "key xfr-key;" } else { "127.0.0.1;" },
        key_conf = if key { format!("key \"xfr-key\" {{ algorithm hmac-sha256; secret \"{KEY_SECRET}\"; }};\n") } else { String::new() },
    );
    let conf_path = work.join("named.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let named = Proc::spawn(
        "named",
        Command::new(require_tool("named", "bind9"))
            .args(["-g", "-c"])
            .arg(&conf_path),
        work.join("named.log"),
    );
    (named, zone)
}

#[test]
fn policydns_secondary_of_bind_transfers_and_refreshes_on_notify() {
    let dir = TempDir::new("xfr-secondary-of-bind");
    let bind_port = free_port();
    let our_port = free_port();
    let (bind, zone) = named_primary(&dir, bind_port, our_port, ZONE);
    let bind_addr: SocketAddr = format!("127.0.0.1:{bind_port}").parse().unwrap();
    eventually("BIND to serve the zone", || {
        first_a(bind_addr, "www.xfr.test").is_some()
    });
    let state = dir.path().join("state");
    let log = dir.path().join("secondary.log");
    let mut cmd = Command::new(common::BIN);
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{our_port}"),
        "--udp-workers",
        "1",
    ])
    .args([
        "--secondary",
        &format!("xfr.test.={bind_addr}"),
        "--state-dir",
    ])
    .arg(&state);
    let ours = Server {
        process: Proc::spawn("policydns", &mut cmd, log),
        addr: format!("127.0.0.1:{our_port}").parse().unwrap(),
    };
    eventually("our secondary to serve the zone", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    assert!(server_log(&ours).contains("AXFR"));
    assert!(
        state.join("xfr.test.zone").exists(),
        "the transferred zone was not saved"
    );
    for (name, qtype) in STATIC_QUESTIONS {
        let theirs = answer_lines(&answer_of(bind_addr, name, qtype).unwrap());
        let mine = answer_lines(&answer_of(ours.addr, name, qtype).unwrap());
        assert_eq!(
            theirs, mine,
            "{name} type {qtype}: policydns secondary and BIND primary differ"
        );
    }
    std::fs::write(&zone, with_serial(ZONE, 2, "192.0.2.14")).unwrap();
    bind.signal(libc::SIGHUP);
    eventually("our secondary to serve the change", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.14")
    });
    let log = server_log(&ours);
    assert!(log.contains("NOTIFY received"), "no NOTIFY seen:\n{log}");
    assert!(
        log.contains("IXFR"),
        "the change did not come as IXFR:\n{log}"
    );
}

#[test]
fn a_secondary_restarts_from_its_saved_copy_without_the_primary() {
    let dir = TempDir::new("xfr-saved");
    let (primary_server, _) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    let state = dir.path().join("state");
    let spec = format!("xfr.test.={}", primary_server.addr);
    let state_arg = state.to_str().unwrap().to_string();
    let first = serve(
        &dir,
        &["--secondary", &spec, "--state-dir", &state_arg],
        "www.xfr.test",
    );
    eventually("the first transfer", || {
        first_a(first.addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    drop(first);
    drop(primary_server);
    let again = serve(
        &dir,
        &["--secondary", &spec, "--state-dir", &state_arg],
        "www.xfr.test",
    );
    assert_eq!(
        first_a(again.addr, "www.xfr.test").as_deref(),
        Some("192.0.2.10")
    );
}

#[test]
fn a_damaged_saved_copy_is_set_aside_and_the_zone_transferred_afresh() {
    let dir = TempDir::new("xfr-damaged");
    let (primary_server, _) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    // A copy cut short, as a crash while writing it (or a full disk) leaves one.
    let saved = state.join("xfr.test.zone");
    std::fs::write(
        &saved,
        "$ORIGIN .\nxfr.test. 3600 IN SOA ns1.xfr.test. host",
    )
    .unwrap();
    let other = dir.write("other.test.zone", &ZONE.replace("xfr.test.", "other.test."));
    let spec = format!("xfr.test.={}", primary_server.addr);
    let ours = serve(
        &dir,
        &[
            "--secondary",
            &spec,
            "--state-dir",
            state.to_str().unwrap(),
            "--zone",
            &format!("other.test.={}", other.display()),
        ],
        "www.other.test",
    );
    // The other zone serves at once; the damaged one comes back by transfer.
    assert_eq!(
        first_a(ours.addr, "www.other.test").as_deref(),
        Some("192.0.2.10")
    );
    eventually("the fresh transfer", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    let aside: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("xfr.test.zone.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged copy is kept for inspection");
    let log = server_log(&ours);
    assert!(
        log.contains("does not load; it was set aside as"),
        "the log says what happened: {log}"
    );
}

#[test]
fn a_secondary_answers_servfail_after_soa_expire_without_its_primary() {
    let dir = TempDir::new("xfr-expire");
    // refresh 1 s, retry 1 s, expire 3 s.
    let short = ZONE.replace("1 3600 600 86400 60", "1 1 1 3 60");
    let (primary_server, _) = primary(&dir, &short, &["--allow-transfer", "127.0.0.1"]);
    let spec = format!("xfr.test.={}", primary_server.addr);
    let ours = serve(&dir, &["--secondary", &spec], "www.xfr.test");
    eventually("the first transfer", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    drop(primary_server);
    eventually("SERVFAIL after expire", || {
        answer_of(ours.addr, "www.xfr.test", 1)
            .is_some_and(|m| m.metadata.response_code == hickory_proto::op::ResponseCode::ServFail)
    });
    assert!(server_log(&ours).contains("zone expired"));
}

#[test]
fn a_standard_secondary_never_receives_the_policy_records() {
    let dir = TempDir::new("xfr-policy-private");
    let (ours, _, _) = config_primary(&dir, POLICY_CONFIG);
    let port = free_port();
    let _bind = named_secondary(&dir, port, ours.addr, false);
    let bind_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("BIND to serve the zone", || {
        first_a(bind_addr, "www.xfr.test").is_some()
    });
    let m = answer_of(bind_addr, "_policydns.xfr.test", 65300).unwrap();
    assert_eq!(
        m.metadata.response_code,
        hickory_proto::op::ResponseCode::NXDomain
    );
    // And a plain AXFR holds no TYPE65300 record either.
    let axfr = Message::from_vec(&transfer_request(ours.addr, "xfr.test", None, None)).unwrap();
    assert!(axfr
        .answers
        .iter()
        .all(|r| u16::from(r.record_type()) != 65300));
}

#[test]
fn a_policydns_secondary_answers_policy_names_as_the_primary_does() {
    let dir = TempDir::new("xfr-policy-full");
    let (primary_server, _, _) = config_primary(&dir, POLICY_CONFIG);
    let (ours, state) = policydns_secondary(&dir, &primary_server);
    // The static rendering would say .121 (the failover primary); the policy, whose check is
    // down, says .122 — as the primary does.
    eventually("the secondary to answer by policy", || {
        first_a(ours.addr, "fo.xfr.test").as_deref() == Some("192.0.2.122")
    });
    assert_eq!(
        first_a(primary_server.addr, "fo.xfr.test").as_deref(),
        Some("192.0.2.122")
    );
    for _ in 0..20 {
        assert_eq!(
            common::a_records(&answer_of(ours.addr, "w.xfr.test", 1).unwrap()),
            vec!["192.0.2.132"]
        );
    }
    assert!(state.join("xfr.test.policy.toml").exists());
}

#[test]
fn a_policydns_secondary_probes_the_transferred_health_checks_itself() {
    let dir = TempDir::new("xfr-policy-probe");
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend_port = backend.local_addr().unwrap().port();
    let conf = format!(
        "[[zone]]\norigin = \"xfr.test.\"\nfile = \"ZONEFILE\"\nallow_transfer = [\"127.0.0.1\"]\n
[[health_check]]\nid = \"tcp\"\ntype = \"TCP\"\nip_address = \"127.0.0.1\"\nport = {backend_port}\nrequest_interval = 1\nfailure_threshold = 1\n
[[record_set]]\nname = \"fo.xfr.test.\"\ntype = \"A\"\nset_identifier = \"p\"\nfailover = \"PRIMARY\"\nhealth_check = \"tcp\"\nttl = 1\nvalues = [\"192.0.2.121\"]\n
[[record_set]]\nname = \"fo.xfr.test.\"\ntype = \"A\"\nset_identifier = \"s\"\nfailover = \"SECONDARY\"\nttl = 1\nvalues = [\"192.0.2.122\"]\n",
    );
    let (primary_server, _, _) = config_primary(&dir, &conf);
    let (ours, _) = policydns_secondary(&dir, &primary_server);
    eventually(
        "the secondary to probe and answer the healthy primary",
        || {
            first_a(ours.addr, "fo.xfr.test").as_deref() == Some("192.0.2.121")
                && server_log(&ours).contains("health checks probing")
        },
    );
    drop(backend);
    eventually("both to fail over on their own probes", || {
        first_a(ours.addr, "fo.xfr.test").as_deref() == Some("192.0.2.122")
            && first_a(primary_server.addr, "fo.xfr.test").as_deref() == Some("192.0.2.122")
    });
}

#[test]
fn a_policydns_secondary_with_a_policy_follows_a_change_by_ixfr() {
    let dir = TempDir::new("xfr-policy-ixfr");
    let (primary_server, zone, conf) = config_primary(&dir, POLICY_CONFIG);
    let (ours, _) = policydns_secondary(&dir, &primary_server);
    eventually("the secondary to answer by policy", || {
        first_a(ours.addr, "fo.xfr.test").as_deref() == Some("192.0.2.122")
    });
    // The secondary refreshes on its SOA timer (3600 s here) or a NOTIFY; ask for one.
    std::fs::write(&zone, with_serial(ZONE, 2, "192.0.2.16")).unwrap();
    std::fs::write(
        &conf,
        POLICY_CONFIG
            .replace("ZONEFILE", zone.to_str().unwrap())
            .replace(
                "allow_transfer = [\"127.0.0.1\"]",
                &format!(
                    "allow_transfer = [\"127.0.0.1\"]\nnotify = [\"{}\"]",
                    ours.addr
                ),
            ),
    )
    .unwrap();
    hup(&primary_server);
    eventually("the change at the secondary", || {
        first_a(ours.addr, "www.xfr.test").as_deref() == Some("192.0.2.16")
    });
    let log = server_log(&ours);
    assert!(log.contains("IXFR: 1 steps"), "not applied as IXFR:\n{log}");
    assert_eq!(
        first_a(ours.addr, "fo.xfr.test").as_deref(),
        Some("192.0.2.122")
    );
}

/// The serial `addr` serves for xfr.test.
fn served_serial(addr: SocketAddr) -> Option<u32> {
    let m = answer_of(addr, "xfr.test", 6)?;
    match &m.answers.first()?.data {
        hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
        _ => None,
    }
}

#[test]
fn a_configuration_edit_advances_the_serial_and_reaches_a_bind_secondary() {
    let dir = TempDir::new("xfr-config-edit");
    let bind_port = free_port();
    let config = POLICY_CONFIG.replace(
        "allow_transfer = [\"127.0.0.1\"]",
        &format!("allow_transfer = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{bind_port}\"]"),
    );
    let (ours, _zone, conf) = config_primary(&dir, &config);
    let _named = named_secondary(&dir, bind_port, ours.addr, false);
    let bind: SocketAddr = ([127, 0, 0, 1], bind_port).into();
    eventually("the first transfer", || served_serial(bind) == Some(1));
    // The health state written in the config flips: only the configuration changed.
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("healthy = false", "healthy = true")).unwrap();
    hup(&ours);
    eventually("the new serial", || served_serial(ours.addr) == Some(2));
    assert!(server_log(&ours).contains("serial 1 → 2: the configuration changed"));
    // The static rendering a standard secondary gets (the PRIMARY) did not move, but the
    // policy records did: BIND follows the serial.
    eventually("BIND at the new serial", || served_serial(bind) == Some(2));
}

#[test]
fn the_served_serial_survives_a_restart_and_advances_for_changes_made_while_stopped() {
    let dir = TempDir::new("xfr-serial-restart");
    let state = dir.path().join("state");
    let config = POLICY_CONFIG.replace(
        "allow_transfer = [\"127.0.0.1\"]",
        &format!(
            "allow_transfer = [\"127.0.0.1\"]\n\n[server]\nstate_dir = \"{}\"",
            state.display()
        ),
    );
    let (ours, _zone, conf) = config_primary(&dir, &config);
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("healthy = false", "healthy = true")).unwrap();
    hup(&ours);
    eventually("serial 2", || served_serial(ours.addr) == Some(2));
    drop(ours);
    // Restarted with the same content: the serial it served, not the zone file's 1.
    let again = serve(&dir, &["--config", conf.to_str().unwrap()], "www.xfr.test");
    assert_eq!(served_serial(again.addr), Some(2));
    drop(again);
    // Changed while stopped: one past it.
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("healthy = true", "healthy = false")).unwrap();
    let third = serve(&dir, &["--config", conf.to_str().unwrap()], "www.xfr.test");
    assert_eq!(served_serial(third.addr), Some(3));
    assert!(server_log(&third).contains("the content changed while the server was stopped"));
}

/// An IXFR over UDP from `serial`; the decoded reply.
fn udp_ixfr(addr: SocketAddr, serial: u32) -> Message {
    let mut q = vec![0x77, 0x77, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    q.extend_from_slice(b"\x03xfr\x04test\x00");
    q.extend_from_slice(&[0, 251, 0, 1, 0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]);
    q.extend_from_slice(&serial.to_be_bytes());
    q.extend_from_slice(&[0; 16]);
    let m = match exchange(addr, Proto::Udp, &q, Duration::from_secs(2)) {
        Reply::Response(m) => m,
        other => panic!("no IXFR reply over UDP from {addr}: {other:?}"),
    };
    assert!(m.len() <= 4096, "a UDP reply of {} octets", m.len());
    Message::from_vec(&m).unwrap()
}

#[test]
fn ixfr_over_udp_sends_steps_that_fit_and_our_soa_otherwise() {
    let dir = TempDir::new("xfr-ixfr-udp");
    let (ours, zone) = primary(&dir, ZONE, &["--allow-transfer", "127.0.0.1"]);
    assert_eq!(
        udp_ixfr(ours.addr, 1).answers.len(),
        1,
        "up to date: one SOA"
    );
    std::fs::write(&zone, with_serial(ZONE, 2, "192.0.2.17")).unwrap();
    hup(&ours);
    eventually("serial 2 served", || {
        answer_of(ours.addr, "xfr.test", 6).is_some_and(|m| {
            m.answers
                .first()
                .is_some_and(|r| r.data.to_string().contains(" 2 3600 "))
        })
    });
    assert_eq!(
        udp_ixfr(ours.addr, 1).answers.len(),
        6,
        "a small step fits one datagram"
    );
    // A change too big for a datagram: our SOA alone sends the client to TCP.
    let mut big = with_serial(ZONE, 3, "192.0.2.17");
    for i in 0..300 {
        big.push_str(&format!("bulk{i} IN TXT \"{}\"\n", "x".repeat(40)));
    }
    std::fs::write(&zone, big).unwrap();
    hup(&ours);
    eventually("serial 3 served", || {
        answer_of(ours.addr, "xfr.test", 6).is_some_and(|m| {
            m.answers
                .first()
                .is_some_and(|r| r.data.to_string().contains(" 3 3600 "))
        })
    });
    let m = udp_ixfr(ours.addr, 2);
    assert_eq!(m.answers.len(), 1);
    assert!(m.answers[0].data.to_string().contains(" 3 3600 "));
}

#[test]
fn notify_is_retried_until_a_secondary_answers() {
    let dir = TempDir::new("xfr-notify-retry");
    // A "secondary" that ignores the first NOTIFY and acknowledges the second.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = sock.local_addr().unwrap().to_string();
    let listener = std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 512];
        let mut seen = 0;
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            seen += 1;
            if seen == 2 {
                let mut reply = buf[..n].to_vec();
                reply[2] |= 0x80; // QR
                reply[6..8].copy_from_slice(&[0, 0]); // no answer section
                reply.truncate(12 + 14); // header + question (xfr.test SOA IN)
                sock.send_to(&reply, from).unwrap();
                return seen;
            }
        }
        seen
    });
    let (ours, _) = primary(&dir, ZONE, &["--notify", &target]);
    assert_eq!(listener.join().unwrap(), 2);
    eventually("the acknowledgement to be logged", || {
        server_log(&ours).contains("NOTIFY acknowledged") && server_log(&ours).contains("tries=2")
    });
}

#[test]
fn the_ixfr_history_survives_a_restart_with_a_state_dir() {
    let dir = TempDir::new("xfr-journal");
    let state = dir.path().join("state");
    let state_arg = state.to_str().unwrap().to_string();
    let (ours, zone) = primary(
        &dir,
        ZONE,
        &["--allow-transfer", "127.0.0.1", "--state-dir", &state_arg],
    );
    std::fs::write(&zone, with_serial(ZONE, 2, "192.0.2.18")).unwrap();
    hup(&ours);
    eventually("the history to be saved", || {
        state.join("xfr.test.journal").exists()
    });
    drop(ours);
    let spec = format!("xfr.test.={}", zone.display());
    let again = serve(
        &dir,
        &[
            "--zone",
            &spec,
            "--allow-transfer",
            "127.0.0.1",
            "--state-dir",
            &state_arg,
        ],
        "www.xfr.test",
    );
    let m = Message::from_vec(&transfer_request(again.addr, "xfr.test", Some(1), None)).unwrap();
    assert_eq!(m.answers.len(), 6, "IXFR form after the restart");
    assert!(server_log(&again).contains("IXFR history restored"));
}

#[test]
fn policydns_secondary_signs_its_requests_to_a_bind_primary_that_requires_a_key() {
    let dir = TempDir::new("xfr-secondary-tsig");
    let bind_port = free_port();
    let (_bind, _) = named_primary_with(&dir, bind_port, free_port(), ZONE, true);
    let bind_addr: SocketAddr = format!("127.0.0.1:{bind_port}").parse().unwrap();
    eventually("BIND to serve the zone", || {
        first_a(bind_addr, "www.xfr.test").is_some()
    });
    let unsigned = serve(
        &dir,
        &["--secondary", &format!("xfr.test.={bind_addr}")],
        "www.xfr.test",
    );
    let signed = serve(
        &dir,
        &[
            "--tsig-key",
            KEY,
            "--secondary",
            &format!("xfr.test.={bind_addr}@xfr-key"),
        ],
        "www.xfr.test",
    );
    eventually("the signed secondary to transfer", || {
        first_a(signed.addr, "www.xfr.test").as_deref() == Some("192.0.2.10")
    });
    eventually("the unsigned one to be refused", || {
        server_log(&unsigned).contains("refused")
    });
    assert!(
        first_a(unsigned.addr, "www.xfr.test").is_none(),
        "transferred without the key"
    );
}

#[test]
fn tsig_signed_transfer_with_the_right_key_is_accepted_by_knot() {
    let dir = TempDir::new("xfr-tsig-knot");
    let ours = key_only_primary(&dir);
    let port = free_port();
    let knot = knot_secondary_with(&dir, port, ours.addr, true);
    let knot_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("Knot to transfer with TSIG", || {
        first_a(knot_addr, "www.xfr.test").is_some()
    });
    assert!(knot.log().contains("AXFR, incoming"), "{}", knot.log());
}
