//! Views (split horizon), as a user meets them: `dig -b` from two loopback sources gets each
//! its own answers for the same names, over UDP and TCP; a health flip inside one view leaves
//! the other alone; an internal load balancer's private addresses are answered only inside;
//! and Knot secondaries are given the view their TSIG key or address matches.

mod common;

use std::net::SocketAddr;
use std::process::Command;

use common::{
    eventually, free_port, knot_secondary, require_tool, serve, Backend, Server, TempDir,
};

const INSIDE: &str = "127.0.0.2";
const OUTSIDE: &str = "127.0.0.1";
const KEY_SECRET: &str = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";

const XFR_ZONE: &str = "$ORIGIN xfr.test.
$TTL 300
@ IN SOA ns1 hostmaster 3 3600 600 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.10
";

const CORP_INTERNAL: &str = "$ORIGIN corp.test.
$TTL 300
@ IN SOA ns1 hostmaster 5 3600 600 86400 60
@ IN NS ns1
ns1 IN A 10.0.0.1
intranet IN A 10.0.0.80
";

const CORP_PUBLIC: &str = "$ORIGIN corp.test.
$TTL 300
@ IN SOA ns1 hostmaster 9 3600 600 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
";

/// An internal view for 127.0.0.2 and the key `xfr-key`, a public view for everyone else;
/// `xfr.test` shared with an internal `www`, `corp.test` one zone file per view, an internal
/// failover pair probed at `backend`, and `app.xfr.test` aliasing an internal load balancer
/// inside and an internet-facing one outside.
fn start(dir: &TempDir, backend: u16) -> Server {
    start_with(dir, backend, &[])
}

fn start_with(dir: &TempDir, backend: u16, extra: &[&str]) -> Server {
    dir.write("xfr.test.zone", XFR_ZONE);
    dir.write("corp-internal.zone", CORP_INTERNAL);
    dir.write("corp-public.zone", CORP_PUBLIC);
    let config = dir.write(
        "policydns.toml",
        &format!(
            r#"
[[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "{KEY_SECRET}"

[[view]]
name = "internal"
internal = true
match_clients = ["{INSIDE}", "key:xfr-key"]

[[view]]
name = "public"
match_clients = ["any"]

[[zone]]
origin = "xfr.test."
file = "xfr.test.zone"
allow_transfer = ["127.0.0.0/8"]

[[zone]]
origin = "corp.test."
file = "corp-internal.zone"
view = "internal"

[[zone]]
origin = "corp.test."
file = "corp-public.zone"
view = "public"

[[record_set]]
name = "www.xfr.test."
type = "A"
view = "internal"
ttl = 60
values = ["10.0.0.10"]

[[health_check]]
id = "db-primary"
type = "HTTP"
ip_address = "127.0.0.1"
port = {backend}
resource_path = "/health"
request_interval = 10
failure_threshold = 1

[[record_set]]
name = "db.corp.test."
type = "A"
view = "internal"
set_identifier = "primary"
failover = "PRIMARY"
health_check = "db-primary"
ttl = 60
values = ["10.0.5.1"]

[[record_set]]
name = "db.corp.test."
type = "A"
view = "internal"
set_identifier = "secondary"
failover = "SECONDARY"
ttl = 60
values = ["10.0.5.2"]

[[load_balancer]]
name = "internal-app-1.us-east-1.elb.amazonaws.com."
scheme = "internal"
zones = [{{ name = "us-east-1a", ipv4 = ["10.0.1.10"] }}]

[[load_balancer]]
name = "app-2.us-east-1.elb.amazonaws.com."
scheme = "internet-facing"
zones = [{{ name = "us-east-1a", ipv4 = ["198.51.100.10"] }}]

[[record_set]]
name = "app.xfr.test."
type = "A"
view = "internal"
alias = {{ name = "internal-app-1.us-east-1.elb.amazonaws.com.", evaluate_target_health = false }}

[[record_set]]
name = "app.xfr.test."
type = "A"
alias = {{ name = "app-2.us-east-1.elb.amazonaws.com.", evaluate_target_health = false }}
"#
        ),
    );
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    serve(dir, &args, "www.xfr.test")
}

/// `dig +short` from source address `from`, over TCP when `tcp`; the answer lines and status.
fn dig(server: SocketAddr, from: &str, tcp: bool, name: &str) -> (Vec<String>, String) {
    let mut cmd = Command::new(require_tool("dig", "bind9-dnsutils"));
    cmd.args(["-b", from, &format!("@{}", server.ip()), "-p"])
        .arg(server.port().to_string())
        .args([name, "A", "+norec", "+time=2", "+tries=1"]);
    if tcp {
        cmd.arg("+tcp");
    }
    let out = String::from_utf8(cmd.output().expect("dig runs").stdout).unwrap();
    let status = out
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("no answer")
        .to_string();
    let mut answers: Vec<String> = out
        .split(";; ANSWER SECTION:")
        .nth(1)
        .map(|s| {
            s.split("\n\n")
                .next()
                .unwrap_or("")
                .lines()
                .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    answers.sort();
    (answers, status)
}

#[test]
fn each_source_address_gets_its_own_view_over_udp_and_tcp() {
    let dir = TempDir::new("views-answers");
    let backend = Backend::start(0, 200);
    let server = start(&dir, backend.port);
    // (name, from, answers, status)
    let table: &[(&str, &str, &[&str], &str)] = &[
        // A shared zone: the internal view's record set replaces the file's RRset inside.
        ("www.xfr.test", INSIDE, &["10.0.0.10"], "NOERROR"),
        ("www.xfr.test", OUTSIDE, &["192.0.2.10"], "NOERROR"),
        // Shared names the view does not change are answered alike.
        ("ns1.xfr.test", INSIDE, &["192.0.2.1"], "NOERROR"),
        ("ns1.xfr.test", OUTSIDE, &["192.0.2.1"], "NOERROR"),
        // One zone, a file per view.
        ("intranet.corp.test", INSIDE, &["10.0.0.80"], "NOERROR"),
        ("intranet.corp.test", OUTSIDE, &[], "NXDOMAIN"),
        ("www.corp.test", INSIDE, &[], "NXDOMAIN"),
        ("www.corp.test", OUTSIDE, &["192.0.2.80"], "NOERROR"),
        // Aliases: the internal load balancer's private address inside, the public one outside.
        ("app.xfr.test", INSIDE, &["10.0.1.10"], "NOERROR"),
        ("app.xfr.test", OUTSIDE, &["198.51.100.10"], "NOERROR"),
        // A routing policy only the internal view has.
        ("db.corp.test", INSIDE, &["10.0.5.1"], "NOERROR"),
        ("db.corp.test", OUTSIDE, &[], "NXDOMAIN"),
    ];
    for tcp in [false, true] {
        for (name, from, answers, status) in table {
            let (got, got_status) = dig(server.addr, from, tcp, name);
            let proto = if tcp { "TCP" } else { "UDP" };
            assert_eq!(
                (got, got_status.as_str()),
                (
                    answers.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    *status
                ),
                "{name} from {from} over {proto}"
            );
        }
    }
}

#[test]
fn a_health_flip_in_one_view_moves_that_views_answer_only() {
    let dir = TempDir::new("views-health");
    let backend = Backend::start(0, 200);
    let server = start(&dir, backend.port);
    eventually("the internal primary to be answered", || {
        dig(server.addr, INSIDE, false, "db.corp.test").0 == ["10.0.5.1"]
    });
    backend
        .status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    eventually("the internal answer to fail over", || {
        dig(server.addr, INSIDE, false, "db.corp.test").0 == ["10.0.5.2"]
    });
    assert_eq!(
        dig(server.addr, INSIDE, true, "db.corp.test").0,
        ["10.0.5.2"]
    );
    // The public view has no such record set and its answers do not move.
    assert_eq!(
        dig(server.addr, OUTSIDE, false, "db.corp.test").1,
        "NXDOMAIN"
    );
    assert_eq!(
        dig(server.addr, OUTSIDE, false, "www.xfr.test").0,
        ["192.0.2.10"]
    );
    backend
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    eventually("the internal primary to come back", || {
        dig(server.addr, INSIDE, false, "db.corp.test").0 == ["10.0.5.1"]
    });
}

#[test]
fn knot_secondaries_get_the_view_their_key_or_address_matches() {
    let dir = TempDir::new("views-xfr");
    let backend = Backend::start(0, 200);
    let server = start(&dir, backend.port);
    // Both Knots transfer from 127.0.0.1: the one that signs with xfr-key is in the internal
    // view, the other in the public one.
    let (signed_port, plain_port) = (free_port(), free_port());
    let _signed = knot_secondary(&dir, signed_port, server.addr, Some(KEY_SECRET));
    let _plain = knot_secondary(&dir, plain_port, server.addr, None);
    let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    eventually("the signed secondary to serve the internal copy", || {
        dig(at(signed_port), OUTSIDE, false, "www.xfr.test").0 == ["10.0.0.10"]
    });
    eventually("the unsigned secondary to serve the public copy", || {
        dig(at(plain_port), OUTSIDE, false, "www.xfr.test").0 == ["192.0.2.10"]
    });
    // The alias was flattened to each view's load balancer addresses.
    assert_eq!(
        dig(at(signed_port), OUTSIDE, false, "app.xfr.test").0,
        ["10.0.1.10"]
    );
    assert_eq!(
        dig(at(plain_port), OUTSIDE, false, "app.xfr.test").0,
        ["198.51.100.10"]
    );
    // A reload changes the internal view's www and names both Knots for NOTIFY: the signed
    // one is told, asks for the internal copy's SOA, finds a higher serial and transfers it
    // at once (its own refresh would wait an hour); the other keeps the public copy.
    let config = dir.path().join("policydns.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text
        .replace("values = [\"10.0.0.10\"]", "values = [\"10.0.0.11\"]")
        .replace(
            "allow_transfer = [\"127.0.0.0/8\"]",
            &format!("allow_transfer = [\"127.0.0.0/8\"]\nnotify = [\"127.0.0.1:{signed_port}\", \"127.0.0.1:{plain_port}\"]"),
        );
    std::fs::write(&config, text).unwrap();
    server.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while dig(at(signed_port), OUTSIDE, false, "www.xfr.test").0 != ["10.0.0.11"] {
        assert!(
            std::time::Instant::now() < deadline,
            "the signed secondary did not follow the NOTIFY:\n{}\n{}",
            server.log(),
            _signed.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        dig(at(plain_port), OUTSIDE, false, "www.xfr.test").0,
        ["192.0.2.10"]
    );
    // An AXFR from the internal source address without a key gets the internal copy too.
    let out = Command::new(require_tool("dig", "bind9-dnsutils"))
        .args(["-b", INSIDE, &format!("@{}", server.addr.ip()), "-p"])
        .arg(server.addr.port().to_string())
        .args(["xfr.test", "AXFR", "+time=3", "+tries=1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10.0.0.11"), "{text}");
    assert!(!text.contains("192.0.2.10"), "{text}");
}

#[test]
fn explain_names_the_view_that_decided() {
    let dir = TempDir::new("views-explain");
    let backend = Backend::start(0, 200);
    let _server = start(&dir, backend.port);
    let config = dir.path().join("policydns.toml");
    for (client, view, answer) in [
        (INSIDE, "internal", "10.0.1.10"),
        (OUTSIDE, "public", "198.51.100.10"),
    ] {
        let out = Command::new(common::BIN)
            .args(["explain", "--config"])
            .arg(&config)
            .args(["--client", client, "app.xfr.test", "A"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains(&format!("view       {view} ")),
            "{client}: {text}"
        );
        assert!(text.contains(answer), "{client}: {text}");
    }
}

#[test]
fn query_metrics_name_the_view_whose_copy_answered() {
    let dir = TempDir::new("views-metrics");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let listen = format!("127.0.0.1:{status}");
    let server = start_with(&dir, backend.port, &["--status-listen", &listen]);
    for _ in 0..3 {
        dig(server.addr, INSIDE, false, "www.xfr.test");
    }
    dig(server.addr, INSIDE, false, "intranet.corp.test");
    dig(server.addr, OUTSIDE, true, "www.corp.test");
    let text = common::http_get(status, "/metrics");
    for series in [
        // The internal view's copy of the shared zone xfr.test.
        "policydns_dns_requests_total{zone=\"xfr.test.\",view=\"internal\",proto=\"udp\",family=\"1\",type=\"A\"} 3\n",
        "policydns_dns_requests_total{zone=\"corp.test.\",view=\"internal\",proto=\"udp\",family=\"1\",type=\"A\"} 1\n",
        "policydns_dns_requests_total{zone=\"corp.test.\",view=\"public\",proto=\"tcp\",family=\"1\",type=\"A\"} 1\n",
        "policydns_zone_serial{zone=\"corp.test.\",view=\"internal\"} 5\n",
        "policydns_zone_serial{zone=\"corp.test.\",view=\"public\"} 9\n",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
}

/// `aws route53 ARGS` against the API at `api`: exit status, stdout and stderr.
fn aws(api: SocketAddr, args: &[&str]) -> (bool, String, String) {
    let out = common::api::env_cmd(common::api::venv().join("bin/aws"))
        .args(["route53", "--endpoint-url", &format!("http://{api}")])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_aws_cli_creates_a_private_hosted_zone_served_only_in_its_vpcs_view() {
    let dir = TempDir::new("views-api");
    let s = common::api::start_with_config(
        &dir,
        &format!(
            r#"
[[view]]
name = "internal"
internal = true
match_clients = ["{INSIDE}"]
vpc_ids = ["vpc-0abc1234"]

[[view]]
name = "public"
match_clients = ["any"]
"#
        ),
    );
    let (ok, out, err) = aws(
        s.api,
        &[
            "create-hosted-zone",
            "--name",
            "private.test",
            "--caller-reference",
            "p1",
            "--vpc",
            "VPCRegion=us-east-1,VPCId=vpc-0abc1234",
        ],
    );
    assert!(ok, "{out}{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        created["HostedZone"]["Config"]["PrivateZone"], true,
        "{out}"
    );
    assert_eq!(created["VPC"]["VPCId"], "vpc-0abc1234", "{out}");
    let id = created["HostedZone"]["Id"].as_str().unwrap().to_string();
    let batch = r#"{"Changes":[{"Action":"CREATE","ResourceRecordSet":{"Name":"db.private.test","Type":"A","TTL":60,"ResourceRecords":[{"Value":"10.0.9.9"}]}}]}"#;
    let (ok, out, err) = aws(
        s.api,
        &[
            "change-resource-record-sets",
            "--hosted-zone-id",
            &id,
            "--change-batch",
            batch,
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = aws(s.api, &["get-hosted-zone", "--id", &id]);
    assert!(ok, "{out}{err}");
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["VPCs"][0]["VPCId"], "vpc-0abc1234", "{out}");
    assert!(got.get("DelegationSet").is_none(), "{out}");
    // Inside the VPC's view the zone answers; from anywhere else it is not ours.
    let dns = s.server.addr;
    assert_eq!(
        dig(dns, INSIDE, false, "db.private.test"),
        (vec!["10.0.9.9".to_string()], "NOERROR".to_string())
    );
    assert_eq!(dig(dns, INSIDE, true, "db.private.test").0, ["10.0.9.9"]);
    assert_eq!(
        dig(dns, OUTSIDE, false, "db.private.test"),
        (vec![], "REFUSED".to_string())
    );
    assert_eq!(dig(dns, OUTSIDE, true, "db.private.test").1, "REFUSED");

    // A VPC no internal view serves is refused, as Route 53 refuses an unknown VPC.
    let (ok, _, err) = aws(
        s.api,
        &[
            "create-hosted-zone",
            "--name",
            "other.test",
            "--caller-reference",
            "p2",
            "--vpc",
            "VPCRegion=us-east-1,VPCId=vpc-9999",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("InvalidVPCId") && err.contains("vpc-9999"),
        "{err}"
    );
}

/// The serial of xfr.test's SOA as a client at `from` sees it.
fn soa_serial(server: SocketAddr, from: &str) -> String {
    let out = Command::new(require_tool("dig", "bind9-dnsutils"))
        .args(["-b", from, &format!("@{}", server.ip()), "-p"])
        .arg(server.port().to_string())
        .args(["xfr.test", "SOA", "+short", "+time=2", "+tries=1"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_reload_changes_one_views_answers_and_a_broken_view_zone_keeps_its_previous_version() {
    let dir = TempDir::new("views-reload");
    let backend = Backend::start(0, 200);
    let server = start(&dir, backend.port);
    assert_eq!(
        dig(server.addr, INSIDE, false, "www.xfr.test").0,
        ["10.0.0.10"]
    );
    // The internal view's record set changes; the public answer does not.
    let config = dir.path().join("policydns.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("values = [\"10.0.0.10\"]", "values = [\"10.0.0.11\"]"),
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    eventually("the internal view to answer the new address", || {
        dig(server.addr, INSIDE, false, "www.xfr.test").0 == ["10.0.0.11"]
    });
    assert_eq!(
        dig(server.addr, OUTSIDE, false, "www.xfr.test").0,
        ["192.0.2.10"]
    );
    // The internal copy's serial moved on (its secondaries transfer it again at their next
    // refresh); the shared zone's did not, nothing in it changed.
    assert_eq!(soa_serial(server.addr, INSIDE), "4");
    assert_eq!(soa_serial(server.addr, OUTSIDE), "3");
    // The internal copy of corp.test breaks: it keeps serving what it had, the log says
    // where, and the public copy is untouched.
    dir.write(
        "corp-internal.zone",
        &CORP_INTERNAL.replace("10.0.0.80", "10.0.0.800"),
    );
    server.signal(libc::SIGHUP);
    eventually("the reload to report the broken file", || {
        server.log().contains("corp-internal.zone:6")
    });
    assert_eq!(
        dig(server.addr, INSIDE, false, "intranet.corp.test").0,
        ["10.0.0.80"]
    );
    assert_eq!(
        dig(server.addr, OUTSIDE, false, "www.corp.test").0,
        ["192.0.2.80"]
    );
}
