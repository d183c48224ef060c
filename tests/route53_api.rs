//! The Route 53 API as its users drive it: the AWS CLI and boto3 (pinned, from PyPI, in the
//! venv `scripts/install-python-deps.sh` makes), `dig`, a Knot secondary, `kill -9`, and
//! requests an attacker or a broken client would send. Everything is on 127.0.0.1 and every
//! wait is bounded.

mod common;
use common::api::{
    a_change, a_record, change, create_zone, env_cmd, raw, run_ok, signed, start,
    start_with_config, venv, weighted, SECRET,
};
use common::{eventually, free_port, try_udp, TempDir};

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn boto3_creates_changes_pages_and_deletes_and_dig_sees_each_step() {
    let dir = TempDir::new("api-boto3");
    let s = start(&dir, None, &[]);
    let out = run_ok(
        "tests/api/route53_flow.py",
        env_cmd(venv().join("bin/python")).args([
            "tests/api/route53_flow.py",
            "--endpoint",
            &format!("http://{}", s.api),
            "--dns",
            &s.server.addr.to_string(),
        ]),
    );
    assert!(out.contains(" 0 failed"), "{out}");
    assert!(
        !out.contains("SKIP"),
        "every step runs against policydns:\n{out}"
    );
}

#[test]
fn the_aws_cli_drives_the_same_flow() {
    let dir = TempDir::new("api-cli");
    let s = start(&dir, None, &[]);
    let mut cmd = env_cmd(PathBuf::from("bash"));
    cmd.args(["tests/api/awscli_flow.sh", &format!("http://{}", s.api)])
        .env("AWS", venv().join("bin/aws"));
    run_ok("tests/api/awscli_flow.sh", &mut cmd);
}

#[test]
fn bad_requests_get_route53_errors_and_change_nothing() {
    let dir = TempDir::new("api-bad");
    let s = start(&dir, None, &[]);
    let zone = create_zone(s.api, "bad.test.");
    let rrset = format!("/2013-04-01/hostedzone/{zone}/rrset/");
    let big = vec![b'x'; 5 << 20];
    let cases: Vec<(&str, (u16, String), u16, &str)> = vec![
        (
            "unsigned",
            raw(s.api, format!("GET /2013-04-01/hostedzone HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.api).as_bytes(), b""),
            403,
            "<Code>MissingAuthenticationToken</Code>",
        ),
        (
            "signed with another secret",
            signed(s.api, "GET", "/2013-04-01/hostedzone", b"", "not-the-secret"),
            403,
            "<Code>SignatureDoesNotMatch</Code>",
        ),
        (
            "malformed XML",
            signed(s.api, "POST", &rrset, b"<ChangeResourceRecordSetsRequest><ChangeBatch>", SECRET),
            400,
            "<Code>MalformedInput</Code>",
        ),
        (
            "unknown field",
            signed(s.api, "POST", &rrset, b"<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.bad.test.</Name><Type>A</Type><Colour>red</Colour></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>", SECRET),
            400,
            "unknown field `Colour`",
        ),
        (
            "unknown action",
            signed(s.api, "POST", "/2013-04-01/trafficpolicy", b"", SECRET),
            400,
            "<Code>InvalidAction</Code>",
        ),
        (
            "oversized body",
            signed(s.api, "POST", &rrset, &big, SECRET),
            413,
            "larger than",
        ),
        (
            "a bad value",
            signed(s.api, "POST", &rrset, b"<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.bad.test.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>not-an-address</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>", SECRET),
            400,
            "<Code>InvalidChangeBatch</Code>",
        ),
    ];
    for (what, (status, text), want, needle) in cases {
        assert_eq!(status, want, "{what}: {text}");
        assert!(text.contains(needle), "{what}: {text}");
    }
    // Nothing of the above reached the zone.
    let (_, list) = signed(s.api, "GET", &rrset, b"", SECRET);
    assert_eq!(list.matches("<ResourceRecordSet>").count(), 2, "{list}");
    assert!(!s.server.log().contains(SECRET), "a secret in the log");
}

#[test]
fn a_thousand_idle_connections_leave_dns_and_a_fresh_client_working() {
    let dir = TempDir::new("api-flood");
    let s = start(&dir, None, &[]);
    create_zone(s.api, "flood.test.");
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(s.api).ok())
        .collect();
    assert!(try_udp(s.server.addr, "flood.test.", 6, Duration::from_secs(2)).is_some());
    drop(idle);
    eventually("a fresh signed request to be answered", || {
        signed(s.api, "GET", "/2013-04-01/hostedzonecount", b"", SECRET).0 == 200
    });
}

#[test]
fn kill_9_in_a_stream_of_changes_loses_no_acknowledged_batch_and_never_half_of_one() {
    let dir = TempDir::new("api-kill");
    let s = start(&dir, None, &[]);
    let zone = create_zone(s.api, "stream.test.");
    let mut stream = env_cmd(venv().join("bin/python"))
        .args([
            "tests/api/change_stream.py",
            "--endpoint",
            &format!("http://{}", s.api),
            "--zone-id",
            &zone,
            "--count",
            "100000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(stream.stdout.take().unwrap()).lines();
    let mut acked = BTreeSet::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("ack ") {
            acked.insert(i.parse::<u32>().unwrap());
            if acked.len() == 150 {
                // In the middle of the stream: the next batch is in flight.
                s.server.signal(libc::SIGKILL);
                break;
            }
        }
    }
    for line in lines.map_while(Result::ok) {
        if let Some(i) = line.strip_prefix("ack ") {
            acked.insert(i.parse::<u32>().unwrap());
        }
    }
    let _ = stream.wait();
    let state = s.state.clone();
    drop(s);
    let again = start(&dir, Some(state), &[]);
    let last = *acked.iter().max().unwrap();
    for i in 0..=last + 2 {
        let a = a_record(again.server.addr, &format!("s{i}a.stream.test."));
        let b = a_record(again.server.addr, &format!("s{i}b.stream.test."));
        assert_eq!(a.is_some(), b.is_some(), "batch {i}: half of it is served");
        if acked.contains(&i) {
            assert_eq!(
                a,
                Some(format!("10.{}.{}.1", i / 256, i % 256)),
                "acknowledged batch {i} lost"
            );
        } else if i != last + 1 {
            assert!(a.is_none(), "batch {i} was never sent, yet it is served");
        }
    }
}

#[test]
fn a_knot_secondary_follows_api_changes_by_notify_and_ixfr() {
    let dir = TempDir::new("api-knot");
    let knot_port = free_port();
    let s = start_with_config(&dir, &format!(
            "[api]\nallow_transfer = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{knot_port}\"]\nname_servers = [\"ns1.xfr.test.\"]\n"
        ));
    let zone = create_zone(s.api, "xfr.test.");
    let knot = common::knot_secondary(&dir, knot_port, s.server.addr, None);
    let knot_addr: SocketAddr = ([127, 0, 0, 1], knot_port).into();
    eventually("Knot to serve the hosted zone", || {
        try_udp(knot_addr, "xfr.test.", 6, Duration::from_millis(500))
            .is_some_and(|m| !m.answers.is_empty())
    });
    for (i, addr) in ["192.0.2.1", "192.0.2.2"].iter().enumerate() {
        let (status, text) = change(
            s.api,
            &zone,
            &a_change("UPSERT", "www.xfr.test.", "", &[addr]),
        );
        assert_eq!(status, 200, "change {i}: {text}");
        assert_eq!(
            a_record(s.server.addr, "www.xfr.test.").as_deref(),
            Some(*addr),
            "served at once"
        );
        eventually("Knot to serve the change", || {
            a_record(knot_addr, "www.xfr.test.").as_deref() == Some(*addr)
        });
    }
    assert!(
        knot.log().contains("IXFR, incoming"),
        "Knot did not take the change as IXFR:\n{}",
        knot.log()
    );
}

#[test]
fn explain_server_asks_the_running_server_and_shows_each_weighted_chance() {
    let dir = TempDir::new("api-explain");
    let s = start(&dir, None, &[]);
    let zone = create_zone(s.api, "ex.test.");
    let members =
        weighted("w.ex.test.", "a", 1, "192.0.2.1") + &weighted("w.ex.test.", "b", 3, "192.0.2.2");
    let (status, text) = change(s.api, &zone, &members);
    assert_eq!(status, 200, "{text}");
    let url = format!("http://{}", s.api);
    let out = run_ok(
        "explain --server",
        env_cmd(PathBuf::from(common::BIN)).args([
            "explain",
            "w.ex.test",
            "A",
            "--server",
            &url,
            "--client",
            "198.51.100.7",
        ]),
    );
    for needle in [
        "chance     [0] a                25.0%",
        "chance     [1] b                75.0%",
        ": NOERROR 192.0.2.",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    let wrong = env_cmd(PathBuf::from(common::BIN))
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .args(["explain", "w.ex.test", "A", "--server", &url])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("SignatureDoesNotMatch"));
}

#[test]
fn cidr_collections_through_boto3_route_by_client_address() {
    let dir = TempDir::new("api-cidr");
    let s = start(&dir, None, &[]);
    run_ok(
        "tests/api/cidr_flow.py",
        env_cmd(venv().join("bin/python")).args([
            "tests/api/cidr_flow.py",
            "--endpoint",
            &format!("http://{}", s.api),
            "--dns",
            &s.server.addr.to_string(),
        ]),
    );
}

#[test]
fn export_writes_a_hosted_zone_as_route53_json_and_as_policydns_files() {
    let dir = TempDir::new("api-export");
    let s = start(&dir, None, &[]);
    let zone = create_zone(s.api, "exp.test.");
    let changes = a_change("CREATE", "www.exp.test.", "", &["192.0.2.1"])
        + &weighted("w.exp.test.", "b", 3, "192.0.2.2");
    let (status, text) = change(s.api, &zone, &changes);
    assert_eq!(status, 200, "{text}");
    let state = s.state.display().to_string();
    // Beside the running server: the store is read, not changed.
    let json = run_ok(
        "export route53",
        Command::new(common::BIN).args(["export", "route53", "exp.test", "--state-dir", &state]),
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sets = doc["ResourceRecordSets"].as_array().unwrap();
    let names: Vec<String> = sets
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["Name"].as_str().unwrap(),
                s["Type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "exp.test. NS",
            "exp.test. SOA",
            "w.exp.test. A",
            "www.exp.test. A"
        ]
    );
    let soa = sets[1]["ResourceRecords"][0]["Value"].as_str().unwrap();
    assert_eq!(
        soa.split_whitespace().nth(2),
        Some("2"),
        "the SOA shows the serial served: {soa}"
    );
    let files = run_ok(
        "export route53 --format files",
        Command::new(common::BIN).args([
            "export",
            "route53",
            &zone,
            "--state-dir",
            &state,
            "--format",
            "files",
        ]),
    );
    assert!(
        files.contains("[[record_set]]") && files.contains("weight = 3"),
        "{files}"
    );
    assert!(files.contains("192.0.2.1"), "{files}");
    // The server still serves, and still takes changes.
    assert_eq!(
        a_record(s.server.addr, "www.exp.test.").as_deref(),
        Some("192.0.2.1")
    );
    assert_eq!(
        signed(s.api, "GET", "/2013-04-01/hostedzonecount", b"", SECRET).0,
        200
    );
}

#[test]
fn octodns_syncs_dynamic_records_and_a_second_sync_plans_nothing() {
    let dir = TempDir::new("api-octodns");
    let s = start_with_config(
        &dir,
        "[api]\nname_servers = [\"ns1.example.net.\", \"ns2.example.net.\"]\n",
    );
    let mut cmd = env_cmd(PathBuf::from("bash"));
    cmd.args([
        "tests/api/octodns_sync.sh",
        &format!("http://{}", s.api),
        &s.server.addr.to_string(),
    ])
    .env("OCTODNS_SYNC", venv().join("bin/octodns-sync"));
    run_ok("tests/api/octodns_sync.sh", &mut cmd);
}

#[test]
fn zones_from_files_are_listed_read_only() {
    let dir = TempDir::new("api-files");
    let s = start(
        &dir,
        None,
        &["--zone", "example.test.=zones/example.test.zone"],
    );
    let (status, zones) = signed(s.api, "GET", "/2013-04-01/hostedzone", b"", SECRET);
    assert_eq!(status, 200, "{zones}");
    let at = zones
        .find("<Name>example.test.</Name>")
        .expect("the file zone is listed");
    let id_start = zones[..at].rfind("<Id>/hostedzone/").unwrap() + "<Id>/hostedzone/".len();
    let id = &zones[id_start..id_start + zones[id_start..].find('<').unwrap()];
    assert!(zones.contains("read-only through the API"), "{zones}");
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
    assert!(list.contains("<Value>192.0.2.10</Value>"), "{list}");
    let batch = "<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>new.example.test.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.99</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>";
    let (status, text) = signed(
        s.api,
        "POST",
        &format!("/2013-04-01/hostedzone/{id}/rrset/"),
        batch.as_bytes(),
        SECRET,
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("read-only"), "{text}");
    assert_eq!(a_record(s.server.addr, "new.example.test."), None);
}

#[test]
fn aliases_to_configured_load_balancers_and_geoproximity_sets_are_served() {
    let dir = TempDir::new("api-lb");
    let s = start_with_config(&dir, "[api]\nname_servers = [\"ns1.example.net.\"]\n\n[[load_balancer]]\nname = \"my-lb-123.us-east-1.elb.amazonaws.com.\"\nzones = [ { name = \"a\", ipv4 = [\"192.0.2.101\"] }, { name = \"b\", ipv4 = [\"192.0.2.102\"] } ]\n");
    let zone = create_zone(s.api, "lb.test.");
    let alias = "<Change><Action>CREATE</Action><ResourceRecordSet><Name>www.lb.test.</Name><Type>A</Type><AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId><DNSName>dualstack.my-lb-123.us-east-1.elb.amazonaws.com.</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change>";
    let prox = |id: &str, region: &str, addr: &str| {
        a_change(
            "CREATE",
            "near.lb.test.",
            &format!("<SetIdentifier>{id}</SetIdentifier><GeoProximityLocation><AWSRegion>{region}</AWSRegion><Bias>0</Bias></GeoProximityLocation>"),
            &[addr],
        )
    };
    let changes = format!(
        "{alias}{}{}",
        prox("east", "us-east-1", "192.0.2.1"),
        prox("west", "eu-west-1", "192.0.2.2")
    );
    let (status, text) = change(s.api, &zone, &changes);
    assert_eq!(status, 200, "{text}");
    let m = try_udp(s.server.addr, "www.lb.test.", 1, Duration::from_secs(2)).unwrap();
    let mut got = common::a_records(&m);
    got.sort();
    assert_eq!(
        got,
        ["192.0.2.101", "192.0.2.102"],
        "the load balancer's zones answer"
    );
    // No location is known for a loopback client: geoproximity still answers one member.
    let near = a_record(s.server.addr, "near.lb.test.").expect("a geoproximity answer");
    assert!(
        ["192.0.2.1", "192.0.2.2"].contains(&near.as_str()),
        "{near}"
    );
    // An alias to a load balancer that is not configured is refused, naming it.
    let bad = "<Change><Action>CREATE</Action><ResourceRecordSet><Name>x.lb.test.</Name><Type>A</Type><AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId><DNSName>other-lb-9.us-east-1.elb.amazonaws.com.</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change>";
    let (status, text) = change(s.api, &zone, bad);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("InvalidChangeBatch")
            && text.contains("other-lb-9.us-east-1.elb.amazonaws.com."),
        "{text}"
    );
}

#[test]
fn batches_past_route53s_limits_are_refused_whole() {
    let dir = TempDir::new("api-limits");
    let s = start(&dir, None, &[]);
    let zone = create_zone(s.api, "lim.test.");
    let create = |i: usize, value: &str| {
        format!("<Change><Action>CREATE</Action><ResourceRecordSet><Name>n{i}.lim.test.</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>{value}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>")
    };
    let many: String = (0..1001).map(|i| create(i, "\"x\"")).collect();
    let (status, text) = change(s.api, &zone, &many);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("Number of records limit of 1000 exceeded"),
        "{text}"
    );
    let long = format!("\"{}\"", "y".repeat(250));
    let big: String = (0..130).map(|i| create(i, &long)).collect();
    let (status, text) = change(s.api, &zone, &big);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("Number of characters limit of 32000 exceeded"),
        "{text}"
    );
    let exact: String = (0..1000).map(|i| create(i, "\"x\"")).collect();
    let (status, text) = change(s.api, &zone, &exact);
    assert_eq!(status, 200, "1,000 changes are allowed: {text}");
    assert!(a_record(s.server.addr, "n1000.lim.test.").is_none());
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = TempDir::new("api-slow");
    let s = start(&dir, None, &[]);
    let mut slow = TcpStream::connect(s.api).unwrap();
    use std::io::{Read, Write};
    slow.write_all(b"GET /2013-04-01/hostedzone HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = Vec::new();
    // The server closes it (after its 10 s header limit); the read ends rather than timing out.
    let r = slow.read_to_end(&mut buf);
    assert!(r.is_ok(), "the connection was not closed: {r:?}");
    assert_eq!(
        signed(s.api, "GET", "/2013-04-01/hostedzonecount", b"", SECRET).0,
        200
    );
}

#[test]
fn off_loopback_the_api_needs_tls_unless_told_otherwise() {
    let out = Command::new(common::BIN)
        .args([
            "check",
            "--zone",
            "example.test.=zones/example.test.zone",
            "--api-listen",
            "192.0.2.1:8053",
            "--api-key",
            "a:b",
            "--state-dir",
            "/nonexistent",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("is not loopback: give [api] tls_cert and tls_key"),
        "{text}"
    );
}

#[test]
fn the_api_serves_https_with_a_configured_certificate() {
    let dir = TempDir::new("api-tls");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.write("api.crt", &cert.cert.pem());
    let key_path = dir.write("api.key", &cert.key_pair.serialize_pem());
    let s = start_with_config(
        &dir,
        &format!(
            "[api]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            cert_path.display(),
            key_path.display()
        ),
    );
    let script = format!(
        "import boto3\nr = boto3.client('route53', endpoint_url='https://{}', region_name='us-east-1', verify='{}')\nz = r.create_hosted_zone(Name='tls.test.', CallerReference='tls')['HostedZone']\nprint(z['Name'], r.get_hosted_zone_count()['HostedZoneCount'])\n",
        s.api.to_string().replace("127.0.0.1", "localhost"),
        cert_path.display()
    );
    let out = run_ok(
        "boto3 over HTTPS",
        env_cmd(venv().join("bin/python")).args(["-c", &script]),
    );
    assert!(out.contains("tls.test. 1"), "{out}");
    assert_eq!(a_record(s.server.addr, "tls.test.").as_deref(), None);
    // Plain HTTP on the HTTPS port gets nothing useful.
    let (status, _) = signed(s.api, "GET", "/2013-04-01/hostedzonecount", b"", SECRET);
    assert_ne!(status, 200);
}

#[test]
fn a_policydns_secondary_receives_an_api_zones_policy() {
    let dir = TempDir::new("api-pdns-secondary");
    let s = start_with_config(&dir, "[api]\nallow_transfer = [\"127.0.0.1\"]\n");
    let zone = create_zone(s.api, "xfr.test.");
    let changes = a_change("CREATE", "www.xfr.test.", "", &["192.0.2.10"])
        + &weighted("w.xfr.test.", "a", 1, "192.0.2.1")
        + &weighted("w.xfr.test.", "b", 1, "192.0.2.2");
    let (status, text) = change(s.api, &zone, &changes);
    assert_eq!(status, 200, "{text}");
    let state = dir.path().join("secondary-state");
    let secondary = common::serve(
        &dir,
        &[
            "--secondary",
            &format!("xfr.test.={}", s.server.addr),
            "--state-dir",
            state.to_str().unwrap(),
        ],
        "www.xfr.test.",
    );
    // Equal weights: each answer is one member, drawn per query, and both come up — which a
    // static rendering (what a standard secondary gets) cannot do. So the secondary answers by
    // the policy it received, as the primary does.
    for server in [s.server.addr, secondary.addr] {
        let mut seen = BTreeSet::new();
        for _ in 0..60 {
            let m = try_udp(server, "w.xfr.test.", 1, Duration::from_secs(2)).unwrap();
            let got = common::a_records(&m);
            assert_eq!(got.len(), 1, "{server}: {got:?}");
            seen.insert(got[0].clone());
        }
        assert_eq!(seen.len(), 2, "{server}: only {seen:?} in 60 answers");
    }
}
