//! The `policydns` binary as an operator runs it: quick mode, config files, `check`, TCP per
//! RFC 7766, SIGHUP reloads that keep the old zone when the new one is broken, SIGTERM.
//! Everything talks to 127.0.0.1 and every wait is bounded.

mod common;
use common::{
    a_records, eventually, free_port, http_get, query_with, read_framed, require_tool,
    write_framed, Backend, Server, TempDir, BIN,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

const ZONE: &str = "$TTL 60
@   SOA ns1 hostmaster 1 7200 900 1209600 30
    NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.1
";

fn start(dir: &TempDir, args: &[&str]) -> Server {
    common::serve(dir, args, "ns1.example.test.")
}

fn query_bytes(id: u16, name: &str, t: RecordType) -> Vec<u8> {
    query_with(id, false, name, u16::from(t), None)
}

fn udp(addr: SocketAddr, name: &str, t: RecordType) -> Message {
    common::try_udp(addr, name, u16::from(t), Duration::from_secs(2)).expect("UDP answer")
}

fn tcp_send(s: &mut TcpStream, msg: &[u8]) {
    write_framed(s, msg).unwrap();
}

fn tcp_read(s: &mut TcpStream) -> Message {
    Message::from_vec(&read_framed(s).unwrap()).unwrap()
}

fn signal(server: &Server, sig: i32) {
    server.signal(sig);
}

fn check(args: &[&str]) -> Output {
    Command::new(BIN).arg("check").args(args).output().unwrap()
}

#[test]
fn quick_mode_serves_a_zone_over_udp_and_tcp() {
    let dir = TempDir::new("quick");
    let zone = dir.write("example.test.zone", ZONE);
    let s = start(
        &dir,
        &["--zone", &format!("example.test.={}", zone.display())],
    );
    let r = udp(s.addr, "www.example.test.", RecordType::A);
    assert!(r.metadata.authoritative);
    assert_eq!(a_records(&r), vec!["192.0.2.1"]);
    let mut t = TcpStream::connect(s.addr).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp_send(&mut t, &query_bytes(1, "www.example.test.", RecordType::A));
    assert_eq!(a_records(&tcp_read(&mut t)), vec!["192.0.2.1"]);
}

#[test]
fn demo_config_serves_the_shipped_zones() {
    let dir = TempDir::new("demo");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/policydns.toml");
    let s = start(&dir, &["--config", config.to_str().unwrap()]);
    let r = udp(s.addr, "www.example.test.", RecordType::A);
    assert!(r.metadata.authoritative);
    assert!(!r.answers.is_empty());
}

#[test]
fn tcp_answers_pipelined_queries_in_order() {
    let dir = TempDir::new("pipeline");
    let zone = dir.write("z", ZONE);
    let s = start(
        &dir,
        &["--zone", &format!("example.test.={}", zone.display())],
    );
    let mut t = TcpStream::connect(s.addr).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Three queries in one write, before reading anything (RFC 7766 §6.2.1.1).
    let mut all = Vec::new();
    for (id, name) in [
        (1u16, "www.example.test."),
        (2, "ns1.example.test."),
        (3, "nope.example.test."),
    ] {
        let q = query_bytes(id, name, RecordType::A);
        all.extend_from_slice(&(q.len() as u16).to_be_bytes());
        all.extend_from_slice(&q);
    }
    t.write_all(&all).unwrap();
    let ids: Vec<u16> = (0..3).map(|_| tcp_read(&mut t).metadata.id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
}

#[test]
fn a_stalled_tcp_client_does_not_hold_up_others_and_is_closed_when_idle() {
    let dir = TempDir::new("idle");
    let zone = dir.write("z", ZONE);
    let config = dir.write("c.toml", "[server]\ntcp_idle_timeout_secs = 1\n");
    let s = start(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--zone",
            &format!("example.test.={}", zone.display()),
        ],
    );
    // Half a length prefix, then nothing.
    let mut stalled = TcpStream::connect(s.addr).unwrap();
    stalled.write_all(&[0]).unwrap();
    let mut other = TcpStream::connect(s.addr).unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    tcp_send(
        &mut other,
        &query_bytes(9, "www.example.test.", RecordType::A),
    );
    assert_eq!(tcp_read(&mut other).metadata.id, 9);
    // The stalled one is closed by the server after the idle timeout: read sees EOF.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(stalled.read(&mut buf).unwrap(), 0);
}

#[test]
fn connections_over_the_cap_make_room_by_closing_the_longest_idle() {
    let dir = TempDir::new("cap");
    let zone = dir.write("z", ZONE);
    let config = dir.write(
        "c.toml",
        "[server]\ntcp_max_connections = 2\ntcp_max_connections_per_network = 3\ntcp_idle_timeout_secs = 30\n",
    );
    let s = start(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--zone",
            &format!("example.test.={}", zone.display()),
        ],
    );
    let mut held = Vec::new();
    for id in 0..2u16 {
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp_send(&mut c, &query_bytes(id, "www.example.test.", RecordType::A));
        assert_eq!(tcp_read(&mut c).metadata.id, id);
        held.push(c);
    }
    // The cap is full of idle connections: the longest idle (the first) is closed for a
    // newcomer from another network, which is answered (RFC 7766 §6.2.3).
    let third = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    third
        .bind(
            &"127.0.1.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    third.connect(&s.addr.into()).unwrap();
    let mut third: TcpStream = third.into();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    tcp_send(
        &mut third,
        &query_bytes(7, "www.example.test.", RecordType::A),
    );
    assert_eq!(tcp_read(&mut third).metadata.id, 7);
    let mut buf = [0u8; 2];
    let n = held[0].read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the longest-idle connection is closed");
    tcp_send(
        &mut held[1],
        &query_bytes(8, "www.example.test.", RecordType::A),
    );
    assert_eq!(
        tcp_read(&mut held[1]).metadata.id,
        8,
        "the other one is kept"
    );
    // UDP is unaffected.
    assert_eq!(
        udp(s.addr, "www.example.test.", RecordType::A)
            .answers
            .len(),
        1
    );
}

#[test]
fn sighup_reloads_changed_zones_and_keeps_the_old_one_when_broken() {
    let dir = TempDir::new("reload");
    let zone = dir.write("z", ZONE);
    let s = start(
        &dir,
        &["--zone", &format!("example.test.={}", zone.display())],
    );
    assert_eq!(
        a_records(&udp(s.addr, "www.example.test.", RecordType::A)),
        vec!["192.0.2.1"]
    );

    std::fs::write(
        &zone,
        ZONE.replace("1 7200", "2 7200")
            .replace("192.0.2.1", "192.0.2.2"),
    )
    .unwrap();
    signal(&s, libc::SIGHUP);
    eventually("the new address after SIGHUP", || {
        a_records(&udp(s.addr, "www.example.test.", RecordType::A)) == vec!["192.0.2.2"]
    });

    // Line 6 is broken: the zone stays at its previous version.
    std::fs::write(
        &zone,
        format!(
            "{}bad A 300.0.0.1\n",
            ZONE.replace("192.0.2.1", "192.0.2.3")
        ),
    )
    .unwrap();
    signal(&s, libc::SIGHUP);
    let expected = format!("{}:6:", zone.display());
    eventually("the reload error in the log", || {
        s.log().contains(&expected)
    });
    assert_eq!(
        a_records(&udp(s.addr, "www.example.test.", RecordType::A)),
        vec!["192.0.2.2"]
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = TempDir::new("term");
    let zone = dir.write("z", ZONE);
    let mut s = start(
        &dir,
        &["--zone", &format!("example.test.={}", zone.display())],
    );
    signal(&s, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = s.process.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn check_reports_each_problem_as_file_line_message() {
    let dir = TempDir::new("check");
    let good = dir.write("good.zone", ZONE);
    let out = check(&["--zone", &format!("example.test.={}", good.display())]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("example.test.: serial 1"));

    let bad = dir.write("bad.zone", &format!("{ZONE}www CNAME elsewhere.test.\n"));
    let out = check(&["--zone", &format!("example.test.={}", bad.display())]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("{}:6: CNAME", bad.display())),
        "{text}"
    );
}

#[test]
fn check_reports_every_problem_in_every_file_and_exits_1() {
    let dir = TempDir::new("check-all");
    // Two bad lines in one zone file, a CNAME conflict in another, a bad key and an
    // out-of-range weight in the config.
    let one = dir.write(
        "one.zone",
        &format!("{ZONE}bad1 A 300.1.1.1\nok A 192.0.2.9\nbad2 MX ten mail\n"),
    );
    let two = dir.write("two.zone", &format!("{ZONE}www CNAME elsewhere.test.\n"));
    let conf = dir.write(
        "c.toml",
        &format!(
            "[[zone]]\norigin = \"one.test.\"\nfile = \"{}\"\n\n[[zone]]\norigin = \"two.test.\"\nfile = \"{}\"\nfiel = 1\n\n[[record_set]]\nname = \"w.one.test.\"\ntype = \"A\"\nset_identifier = \"a\"\nweight = 300\nvalues = [\"192.0.2.1\"]\n",
            one.display(),
            two.display()
        ),
    );
    let out = check(&["--config", conf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "problems found: exit 1");
    let text = String::from_utf8_lossy(&out.stdout);
    let c = conf.display();
    for want in [
        format!("{c}:8: [[zone]] 2: unknown field `fiel`"),
        format!("{c}:10: weight 300 is outside 0..255"),
        format!("{}:6: A record", one.display()),
        format!("{}:8: MX record", one.display()),
        format!(
            "{}:6: CNAME at www.two.test. next to other data",
            two.display()
        ),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    // Nothing to check at all: exit 2.
    let out = check(&["--config", &format!("{}/none.toml", dir.path().display())]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_config_is_refused_with_a_readable_message() {
    let dir = TempDir::new("badconf");
    let conf = dir.write("c.toml", "[server]\nlisten = [\"localhost:53\"]\n[[zone]]\norigin = \"x.test.\"\nfile = \"none.zone\"\n");
    let out = Command::new(BIN)
        .args(["serve", "--config", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"localhost:53\" is not IP:PORT"), "{err}");
}

#[test]
fn strict_mode_refuses_to_start_on_a_broken_zone() {
    let dir = TempDir::new("badzone-strict");
    let bad = dir.write("bad.zone", "$TTL 60\n@ SOA ns hm 1 1 1 1 1\n");
    let out = Command::new(BIN)
        .args([
            "serve",
            "--strict",
            "--listen",
            "127.0.0.1:0",
            "--zone",
            &format!("x.test.={}", bad.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no NS records at the apex"), "{err}");
    assert!(err.contains("strict"), "{err}");
}

#[test]
fn a_broken_zone_answers_servfail_while_the_others_serve() {
    let dir = TempDir::new("badzone");
    let good = dir.write("example.test.zone", ZONE);
    let bad = dir.write(
        "bad.zone",
        "$TTL 60\n@ SOA ns hm 1 1 1 1 1\nwww A 192.0.2.7\n",
    );
    let status_port = free_port();
    let s = start(
        &dir,
        &[
            "--zone",
            &format!("example.test.={}", good.display()),
            "--zone",
            &format!("x.test.={}", bad.display()),
            "--status-listen",
            &format!("127.0.0.1:{status_port}"),
        ],
    );
    let m = udp(s.addr, "www.example.test.", RecordType::A);
    assert_eq!(a_records(&m), vec!["192.0.2.1"]);
    let m = udp(s.addr, "www.x.test.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let log = s.log();
    assert!(
        log.contains(&format!(
            "{}: zone x.test.: no NS records at the apex",
            bad.display()
        )),
        "the log names the file and the problem: {log}"
    );
    assert!(log.contains("answers SERVFAIL"), "{log}");
    // The status listener shows it too.
    let zones: serde_json::Value = serde_json::from_str(
        http_get(status_port, "/zones")
            .split("\r\n\r\n")
            .nth(1)
            .unwrap(),
    )
    .unwrap();
    let x = zones["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "x.test.")
        .unwrap();
    assert_eq!(x["state"], "SERVFAIL");
    assert!(x["problems"][0]
        .as_str()
        .unwrap()
        .contains("no NS records at the apex"));
    let ok = zones["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "example.test.")
        .unwrap();
    assert_eq!(
        (ok["state"].as_str(), ok["serial"].as_u64()),
        (Some("loaded"), Some(1))
    );
}

#[test]
fn explain_prints_the_decision_for_a_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(BIN)
        .current_dir(root)
        .args([
            "explain",
            "--route53",
            "route53.test.=zones/route53/example.json",
            "--cidr-collection",
            "4c2f7c7a-9b1e-4d2b-a6a8-0d5e3c1f2b10=zones/route53/cidr-blocks.json",
            "--geoip",
            "geoip/policydns-test.mmdb",
            "--ecs",
            "198.51.100.0/24",
            "geo.route53.test",
            "A",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("country DE") && text.contains("decision   GeoMatch(continent EU)"),
        "{text}"
    );
}

/// `dig`, the client operators use, sending EDNS Client Subnet to the demo config.
#[test]
fn dig_with_client_subnet_gets_the_geolocated_answer_and_its_scope() {
    let dig = require_tool("dig", "dnsutils");
    let dir = TempDir::new("dig-ecs");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/policydns.toml");
    let s = start(&dir, &["--config", config.to_str().unwrap()]);
    let ask = |subnet: &str| {
        let out = Command::new(&dig)
            .args([
                "@127.0.0.1",
                "-p",
                &s.addr.port().to_string(),
                "geo.example.test",
                "A",
            ])
            .arg(format!("+subnet={subnet}"))
            .args(["+tries=1", "+time=2"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let europe = ask("198.51.100.0/24");
    assert!(europe.contains("IN\tA\t192.0.2.132"), "{europe}");
    assert!(
        europe.contains("CLIENT-SUBNET: 198.51.100.0/24/24"),
        "scope /24 echoed: {europe}"
    );
    let washington = ask("192.0.2.0/24");
    assert!(washington.contains("IN\tA\t192.0.2.131"), "{washington}");
}

#[test]
fn sighup_applies_a_changed_health_state_to_failover_answers() {
    let dir = TempDir::new("health-flip");
    let zone = dir.write("z", ZONE);
    let conf = |healthy: bool| {
        format!(
            "[[zone]]\norigin = \"example.test.\"\nfile = \"{}\"\n[[health_check]]\nid = \"p\"\nhealthy = {healthy}\n\
             [[record_set]]\nname = \"fo.example.test.\"\ntype = \"A\"\nset_identifier = \"p\"\nfailover = \"PRIMARY\"\nhealth_check = \"p\"\nvalues = [\"192.0.2.71\"]\n\
             [[record_set]]\nname = \"fo.example.test.\"\ntype = \"A\"\nset_identifier = \"s\"\nfailover = \"SECONDARY\"\nvalues = [\"192.0.2.72\"]\n",
            zone.display()
        )
    };
    let config = dir.write("c.toml", &conf(true));
    let s = start(&dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(
        a_records(&udp(s.addr, "fo.example.test.", RecordType::A)),
        vec!["192.0.2.71"]
    );
    std::fs::write(&config, conf(false)).unwrap();
    signal(&s, libc::SIGHUP);
    eventually(
        "the secondary after the primary is marked unhealthy",
        || a_records(&udp(s.addr, "fo.example.test.", RecordType::A)) == vec!["192.0.2.72"],
    );
    std::fs::write(&config, conf(true)).unwrap();
    signal(&s, libc::SIGHUP);
    eventually("the primary again", || {
        a_records(&udp(s.addr, "fo.example.test.", RecordType::A)) == vec!["192.0.2.71"]
    });
}

#[test]
fn an_http_health_check_fails_over_when_the_backend_stops_and_back_when_it_returns() {
    let dir = TempDir::new("probe-failover");
    let zone = dir.write("z", ZONE);
    let backend = Backend::start(0, 200);
    let config = dir.write(
        "c.toml",
        &format!(
            "[[zone]]\norigin = \"example.test.\"\nfile = \"{}\"\n\
             [[health_check]]\nid = \"web\"\ntype = \"HTTP\"\nip_address = \"127.0.0.1\"\nport = {}\nresource_path = \"/health\"\nrequest_interval = 1\nfailure_threshold = 1\n\
             [[record_set]]\nname = \"fo.example.test.\"\ntype = \"A\"\nset_identifier = \"p\"\nfailover = \"PRIMARY\"\nhealth_check = \"web\"\nvalues = [\"192.0.2.81\"]\n\
             [[record_set]]\nname = \"fo.example.test.\"\ntype = \"A\"\nset_identifier = \"s\"\nfailover = \"SECONDARY\"\nvalues = [\"192.0.2.82\"]\n",
            zone.display(),
            backend.port
        ),
    );
    let s = start(&dir, &["--config", config.to_str().unwrap()]);
    let answer = || a_records(&udp(s.addr, "fo.example.test.", RecordType::A));
    eventually("the primary while the backend answers", || {
        answer() == vec!["192.0.2.81"]
    });
    let port = backend.stop();
    eventually("the secondary once the backend is down", || {
        answer() == vec!["192.0.2.82"]
    });
    let _backend = Backend::start(port, 200);
    eventually("the primary once the backend is back", || {
        answer() == vec!["192.0.2.81"]
    });
    // The transition in words: which check, why, what was probed and the count that decided.
    let log = s.log();
    let down = format!(
        "health check web is unhealthy: connection refused from HTTP 127.0.0.1:{port}/health \
         (1 failure in a row, threshold 1)"
    );
    assert!(log.contains(&down), "{down:?} not in:\n{log}");
    assert!(
        log.contains("health check web is healthy: ok (HTTP 200) from HTTP 127.0.0.1:"),
        "{log}"
    );
    assert!(
        !log.contains("Ok(Some("),
        "Rust debug text in the log:\n{log}"
    );
}

#[test]
fn the_status_listener_serves_check_states_as_json_and_prometheus() {
    let dir = TempDir::new("status");
    let zone = dir.write("z", ZONE);
    let backend = Backend::start(0, 200);
    let status_port = free_port();
    let config = dir.write(
        "c.toml",
        &format!(
            "[server]\nstatus_listen = \"127.0.0.1:{status_port}\"\n[[zone]]\norigin = \"example.test.\"\nfile = \"{}\"\n\
             [[health_check]]\nid = \"web\"\ntype = \"HTTP\"\nip_address = \"127.0.0.1\"\nport = {}\nrequest_interval = 1\nfailure_threshold = 1\n\
             [[health_check]]\nid = \"manual\"\nhealthy = false\n",
            zone.display(),
            backend.port
        ),
    );
    let _s = start(&dir, &["--config", config.to_str().unwrap()]);
    let get = |path: &str| http_get(status_port, path);
    eventually("a probe result in the JSON", || {
        get("/health-checks").contains("\"probes\": ")
    });
    let json = get("/health-checks");
    assert!(
        json.contains("\"id\": \"web\"") && json.contains("\"id\": \"manual\""),
        "{json}"
    );
    // Fields named, reasons in words, times in RFC 3339.
    let body = json.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let web = v["health_checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == "web"))
        .unwrap_or_else(|| panic!("no web check in {json}"));
    let report = &web["report"];
    assert_eq!(report["last_result"], "ok (HTTP 200)", "{json}");
    assert_eq!(
        report["target"],
        format!("HTTP 127.0.0.1:{}/", backend.port).as_str(),
        "{json}"
    );
    let first = &report["history"][0];
    assert_eq!(first["passed"], true, "{json}");
    assert_eq!(first["reason"], "ok (HTTP 200)", "{json}");
    let time = first["time"].as_str().unwrap_or_default();
    assert!(
        time.len() == 20 && time.as_bytes()[10] == b'T' && time.ends_with('Z'),
        "not RFC 3339: {time:?} in {json}"
    );
    assert!(report["last_observation"]["time"].is_string(), "{json}");
    let metrics = get("/metrics");
    assert!(
        metrics.contains("policydns_health_check_healthy{check=\"web\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("policydns_health_check_healthy{check=\"manual\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("policydns_health_check_probes_total{check=\"web\",result=\"pass\"}"),
        "{metrics}"
    );
    drop(backend);
}

#[test]
fn an_unknown_log_level_is_refused_with_the_valid_ones_listed() {
    let dir = TempDir::new("loglevel");
    let zone = dir.write("z", ZONE);
    let out = std::process::Command::new(BIN)
        .args([
            "check",
            "--zone",
            &format!("example.test.={}", zone.display()),
        ])
        .env("POLICYDNS_LOG", "verbose")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"verbose\" is not a log level")
            && err.contains("error, warn, info, debug, trace, off"),
        "{err}"
    );
    let out = std::process::Command::new(BIN)
        .args([
            "check",
            "--zone",
            &format!("example.test.={}", zone.display()),
        ])
        .env("POLICYDNS_LOG", "warn,policydns::health=debug")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_busy_port_is_reported_once_with_what_to_do() {
    let dir = TempDir::new("busy");
    let zone = dir.write("z", ZONE);
    let zone_arg = format!("example.test.={}", zone.display());
    let s = start(&dir, &["--zone", &zone_arg]);
    let out = std::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &s.addr.to_string(),
            "--zone",
            &zone_arg,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.matches("Address already in use").count(),
        1,
        "said once: {err}"
    );
    assert!(err.contains("ss -lunpt"), "{err}");
}
