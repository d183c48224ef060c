//! `/metrics` as an operator's Prometheus scrapes it: what was asked (zone, protocol, address
//! family, type) and answered (rcode, truncation, ECS), how long it took, what response-rate
//! limiting held back, what each routing-policy member answered (the weighted split and the
//! failover flip as they happen), each zone's state — all accepted by `promtool check metrics`.

mod common;
use common::policy_server::start;
use common::{
    ask, eventually, free_port, http_get, query, query_with, require_tool, Backend, Proto, TempDir,
};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(2);

fn scrape(status: u16) -> String {
    let r = http_get(status, "/metrics");
    let (head, body) = r.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The value of the sample `series` (name and labels exactly as exposed); 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

fn requests(text: &str, zone: &str, proto: &str, family: &str, qtype: &str) -> f64 {
    value(
        text,
        &format!(
            "policydns_dns_requests_total{{zone=\"{zone}\",view=\"\",proto=\"{proto}\",family=\"{family}\",type=\"{qtype}\"}}"
        ),
    )
}

fn member(text: &str, name: &str, id: &str) -> f64 {
    value(
        text,
        &format!(
            "policydns_record_set_answers_total{{zone=\"metrics.test.\",view=\"\",name=\"{name}\",type=\"A\",set_identifier=\"{id}\"}}"
        ),
    )
}

fn udp(addr: SocketAddr, name: &str, qtype: u16) {
    ask(addr, Proto::Udp, &query(name, qtype, None), T).expect("an answer");
}

#[test]
fn the_exposition_passes_promtool() {
    let promtool = require_tool("promtool", "prometheus");
    let dir = TempDir::new("metrics-promtool");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &["--rrl", "5"]);
    for name in [
        "www.metrics.test",
        "api.metrics.test",
        "fo.metrics.test",
        "nope.metrics.test",
    ] {
        udp(server.addr, name, 1);
    }
    udp(server.addr, "elsewhere.example", 1);
    let text = scrape(status);
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn queries_are_counted_by_zone_protocol_type_and_rcode() {
    let dir = TempDir::new("metrics-queries");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &[]);
    let before = scrape(status);
    for _ in 0..5 {
        udp(server.addr, "www.metrics.test", 1);
    }
    for _ in 0..3 {
        ask(
            server.addr,
            Proto::Tcp,
            &query("www.metrics.test", 28, None),
            T,
        )
        .unwrap();
    }
    udp(server.addr, "nope.metrics.test", 16);
    udp(server.addr, "elsewhere.example", 1);
    // Without EDNS the TXT does not fit in 512 octets: truncated.
    let tc = ask(
        server.addr,
        Proto::Udp,
        &query_with(7, false, "big.metrics.test", 16, None),
        T,
    )
    .unwrap();
    assert!(tc.metadata.truncation);
    let ecs = Some(("198.51.100.7".parse().unwrap(), 24));
    udp_ecs(server.addr, ecs);
    let text = scrape(status);
    let delta = |series: &str| value(&text, series) - value(&before, series);
    let req = |t: &str, zone, proto, qtype| requests(t, zone, proto, "1", qtype);
    // (www A is also the readiness probe's question, counted in `before`)
    assert_eq!(
        req(&text, "metrics.test.", "udp", "A") - req(&before, "metrics.test.", "udp", "A"),
        6.0,
        "{text}"
    );
    assert_eq!(req(&text, "metrics.test.", "tcp", "AAAA"), 3.0, "{text}");
    assert_eq!(req(&text, "metrics.test.", "udp", "TXT"), 2.0, "{text}");
    assert_eq!(req(&text, "", "udp", "A"), 1.0, "{text}");
    assert_eq!(
        delta("policydns_dns_responses_total{zone=\"metrics.test.\",view=\"\",rcode=\"NOERROR\"}"),
        10.0,
        "{text}"
    );
    assert_eq!(
        delta("policydns_dns_responses_total{zone=\"metrics.test.\",view=\"\",rcode=\"NXDOMAIN\"}"),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "policydns_dns_responses_total{zone=\"\",view=\"\",rcode=\"REFUSED\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "policydns_dns_truncated_responses_total{zone=\"metrics.test.\",view=\"\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "policydns_dns_ecs_requests_total{zone=\"metrics.test.\",view=\"\"}"
        ),
        1.0
    );
    // Every query answered is in the histogram, UDP and TCP apart.
    let udp_count = value(
        &text,
        "policydns_dns_request_duration_seconds_count{proto=\"udp\"}",
    );
    let udp_inf = value(
        &text,
        "policydns_dns_request_duration_seconds_bucket{proto=\"udp\",le=\"+Inf\"}",
    );
    assert!(udp_count >= 10.0 && udp_count == udp_inf, "{text}");
    assert_eq!(
        value(
            &text,
            "policydns_dns_request_duration_seconds_count{proto=\"tcp\"}"
        ),
        3.0
    );
    assert!(
        value(
            &text,
            "policydns_dns_request_duration_seconds_sum{proto=\"tcp\"}"
        ) > 0.0
    );
    // The zone's state.
    assert_eq!(
        value(
            &text,
            "policydns_zone_serial{zone=\"metrics.test.\",view=\"\"}"
        ),
        7.0
    );
    assert_eq!(
        value(
            &text,
            "policydns_zone_load_ok{zone=\"metrics.test.\",view=\"\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "policydns_zone_records{zone=\"metrics.test.\",view=\"\"}"
        ),
        5.0,
        "{text}"
    );
}

fn udp_ecs(addr: SocketAddr, ecs: Option<(std::net::IpAddr, u8)>) {
    ask(addr, Proto::Udp, &query("api.metrics.test", 1, ecs), T).expect("an answer");
}

#[test]
fn the_weighted_split_shows_in_the_member_answers() {
    let dir = TempDir::new("metrics-weighted");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &[]);
    for _ in 0..800 {
        udp(server.addr, "api.metrics.test", 1);
    }
    let text = scrape(status);
    let blue = member(&text, "api.metrics.test.", "blue");
    let green = member(&text, "api.metrics.test.", "green");
    assert_eq!(blue + green, 800.0, "{text}");
    // 3:1 — blue's share is 0.75; 800 draws put it within 0.70..0.80 all but never.
    let share = blue / 800.0;
    assert!((0.70..0.80).contains(&share), "blue {blue} green {green}");
}

#[test]
fn a_failover_flip_shows_in_the_member_answers() {
    let dir = TempDir::new("metrics-failover");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &[]);
    for _ in 0..10 {
        udp(server.addr, "fo.metrics.test", 1);
    }
    let text = scrape(status);
    assert_eq!(member(&text, "fo.metrics.test.", "primary"), 10.0, "{text}");
    assert_eq!(member(&text, "fo.metrics.test.", "secondary"), 0.0);

    backend
        .status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    eventually("the primary's check fails", || {
        value(
            &scrape(status),
            "policydns_health_check_healthy{check=\"web-1\"}",
        ) == 0.0
    });
    for _ in 0..10 {
        udp(server.addr, "fo.metrics.test", 1);
    }
    let text = scrape(status);
    assert_eq!(member(&text, "fo.metrics.test.", "primary"), 10.0, "{text}");
    assert_eq!(
        member(&text, "fo.metrics.test.", "secondary"),
        10.0,
        "{text}"
    );
}

#[test]
fn counts_survive_a_reload() {
    let dir = TempDir::new("metrics-reload");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &[]);
    for _ in 0..4 {
        udp(server.addr, "fo.metrics.test", 1);
    }
    server.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..4 {
        udp(server.addr, "fo.metrics.test", 1);
    }
    let text = scrape(status);
    assert_eq!(member(&text, "fo.metrics.test.", "primary"), 8.0, "{text}");
    assert_eq!(
        value(&text, "policydns_reloads_total{result=\"success\"}"),
        1.0,
        "{text}"
    );
}

#[test]
fn zone_transfers_out_are_counted_served_and_refused() {
    let dir = TempDir::new("metrics-xfr");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(
        &dir,
        backend.port,
        status,
        &["--allow-transfer", "127.0.0.1"],
    );
    let axfr = query("metrics.test", 252, None);
    ask(server.addr, Proto::Tcp, &axfr, T).expect("the zone");
    // AXFR is TCP only (RFC 5936 §4.2): refused over UDP.
    ask(server.addr, Proto::Udp, &axfr, T).expect("NOTIMP");
    let text = scrape(status);
    let xfr = |t: &str, r: &str| {
        value(
            &text,
            &format!("policydns_transfers_out_total{{type=\"{t}\",result=\"{r}\"}}"),
        )
    };
    assert_eq!(xfr("AXFR", "served"), 1.0, "{text}");
    assert_eq!(xfr("any", "refused"), 1.0, "{text}");
    assert_eq!(xfr("IXFR", "served"), 0.0, "{text}");
}

#[test]
fn rate_limited_answers_are_counted() {
    let dir = TempDir::new("metrics-rrl");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &["--rrl", "2"]);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let q = query("www.metrics.test", 1, None);
    for _ in 0..200 {
        socket.send_to(&q, server.addr).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let text = scrape(status);
    let dropped = value(&text, "policydns_rrl_responses_total{action=\"dropped\"}");
    let slipped = value(&text, "policydns_rrl_responses_total{action=\"slipped\"}");
    // At 2 per second, nearly all 200 are held back; every second one slips (BIND's default
    // slip 2), the others are dropped.
    assert!(dropped + slipped >= 190.0, "{text}");
    assert!((dropped - slipped).abs() <= 2.0, "{text}");
}
