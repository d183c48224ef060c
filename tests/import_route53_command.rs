//! `policydns import route53` as an operator moving off Route 53 meets it: the export's health
//! checks (`aws route53 list-health-checks` output) become `[[health_check]]` tables that the
//! server probes and `/health-checks` shows; the Route 53 name servers kept at the apex are
//! pointed out; and files that `check` would reject are never written.

mod common;
use common::{eventually, free_port, http_get, serve, Backend, TempDir, BIN};
use std::path::PathBuf;
use std::process::{Command, Output};

const COLLECTION: &str = "4c2f7c7a-9b1e-4d2b-a6a8-0d5e3c1f2b10";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn id(n: u32) -> String {
    format!("0b9f5a4c-1d2e-4f6a-8b7c-0000000000{n:02}")
}

/// `import route53` of the shipped export (with its CIDR collection) and `extra` arguments.
fn import(extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["import", "route53"])
        .arg(repo("zones/route53/example.json"))
        .args(["--origin", "route53.test."])
        .arg("--cidr-collection")
        .arg(format!(
            "{COLLECTION}={}",
            repo("zones/route53/cidr-blocks.json").display()
        ))
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `list-health-checks` output as the aws cli prints it, for the ids the export refers to.
fn health_checks_json(checks: &[(String, serde_json::Value)]) -> String {
    let list: Vec<serde_json::Value> = checks
        .iter()
        .enumerate()
        .map(|(i, (id, cfg))| {
            serde_json::json!({
                "Id": id, "CallerReference": format!("ref-{i}"),
                "HealthCheckConfig": cfg, "HealthCheckVersion": 1
            })
        })
        .collect();
    serde_json::json!({ "HealthChecks": list, "IsTruncated": false, "MaxItems": "100" }).to_string()
}

#[test]
fn the_exports_health_checks_are_imported_and_probed_by_the_server() {
    let dir = TempDir::new("import-checks");
    let up = Backend::start(0, 200);
    let closed = free_port();
    let http = |port: u16| {
        serde_json::json!({"IPAddress": "127.0.0.1", "Port": port, "Type": "HTTP",
            "ResourcePath": "/health", "RequestInterval": 10, "FailureThreshold": 1,
            "EnableSNI": false, "Inverted": false, "Disabled": false})
    };
    let checks = dir.write(
        "checks.json",
        &health_checks_json(&[
            (id(1), http(closed)),
            (id(2), http(up.port)),
            (id(11), http(up.port)),
            (
                id(12),
                serde_json::json!({"IPAddress": "127.0.0.1", "Port": up.port, "Type": "TCP",
                "RequestInterval": 10, "FailureThreshold": 1}),
            ),
            (
                id(13),
                serde_json::json!({"Type": "CALCULATED", "HealthThreshold": 2,
                "ChildHealthChecks": [id(11), id(12)]}),
            ),
        ]),
    );
    let out = dir.path().join("out");
    let run = import(&[
        "--health-checks",
        checks.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        !stderr(&run).contains("placeholder"),
        "every referenced check was given: {}",
        stderr(&run)
    );
    let toml = std::fs::read_to_string(out.join("policydns.toml")).unwrap();
    assert!(toml.contains(&format!(
        "[[health_check]]\nid = \"{}\"\ntype = \"HTTP\"\nip_address = \"127.0.0.1\"\nport = {closed}\nresource_path = \"/health\"\nrequest_interval = 10\nfailure_threshold = 1\n",
        id(1)
    )), "{toml}");

    let status = free_port();
    let server = serve(
        &dir,
        &[
            "--config",
            out.join("policydns.toml").to_str().unwrap(),
            "--status-listen",
            &format!("127.0.0.1:{status}"),
        ],
        "www.route53.test",
    );
    let checks_doc = || -> serde_json::Value {
        let r = http_get(status, "/health-checks");
        serde_json::from_str(r.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("null"))
            .unwrap_or_default()
    };
    let state = |doc: &serde_json::Value, n: u32| -> Option<(bool, bool)> {
        doc["health_checks"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id(n).as_str())
            .map(|c| {
                (
                    c["healthy"].as_bool().unwrap(),
                    c["probed"].as_bool().unwrap(),
                )
            })
    };
    eventually("the imported checks probed", || {
        let doc = checks_doc();
        [1, 2, 11, 12]
            .iter()
            .all(|n| state(&doc, *n).is_some_and(|(_, probed)| probed))
    });
    let doc = checks_doc();
    assert_eq!(state(&doc, 1), Some((false, true)), "{doc:#}");
    assert_eq!(state(&doc, 2), Some((true, true)), "{doc:#}");
    assert_eq!(state(&doc, 12), Some((true, true)), "{doc:#}");
    assert_eq!(state(&doc, 13).map(|s| s.0), Some(true), "{doc:#}");
    // The Route 53-style health metrics of the imported checks.
    let metrics = http_get(status, "/metrics");
    let gauge = |series: String| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str())?.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    };
    assert_eq!(
        gauge(format!(
            "policydns_health_check_child_healthy_count{{check=\"{}\"}}",
            id(13)
        )),
        Some(2.0),
        "{metrics}"
    );
    let pct = |n| {
        gauge(format!(
            "policydns_health_check_percentage_healthy{{check=\"{}\"}}",
            id(n)
        ))
    };
    assert_eq!(pct(1), Some(0.0), "{metrics}");
    assert_eq!(pct(2), Some(100.0), "{metrics}");
    // ConnectionTime and TimeToFirstByte: an HTTP check has both, a TCP check connects only,
    // a refused connection has neither.
    let timing = |what: &str, n| {
        gauge(format!(
            "policydns_health_check_{what}_seconds{{check=\"{}\"}}",
            id(n)
        ))
    };
    let (connect, first_byte) = (
        timing("connection_time", 2),
        timing("time_to_first_byte", 2),
    );
    assert!(
        matches!((connect, first_byte), (Some(c), Some(f)) if c > 0.0 && f >= c && f < 1.0),
        "{metrics}"
    );
    assert!(
        timing("connection_time", 12).is_some_and(|c| c > 0.0),
        "{metrics}"
    );
    assert_eq!(timing("time_to_first_byte", 12), None, "{metrics}");
    assert_eq!(timing("connection_time", 1), None, "{metrics}");
    // The failover record set follows the probes: the primary's check fails.
    eventually("failover to the secondary", || {
        common::try_udp(
            server.addr,
            "app.route53.test.",
            1,
            std::time::Duration::from_secs(1),
        )
        .map(|m| common::a_records(&m) == ["198.51.100.20"])
        .unwrap_or(false)
    });
}

#[test]
fn checks_referred_to_but_not_given_are_placeholders_with_a_warning() {
    let run = import(&[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains(&format!("warning: health check {}", id(1)))
            && err.contains("--health-checks"),
        "{err}"
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains(&format!(
        "[[health_check]]\nid = \"{}\"\nhealthy = true\n",
        id(13)
    )));
}

#[test]
fn the_route53_name_servers_kept_at_the_apex_are_pointed_out() {
    let run = import(&[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains("warning: the zone file keeps the export's apex NS and SOA")
            && err.contains("ns-0.awsdns-00.com."),
        "{err}"
    );
}

#[test]
fn files_that_check_would_reject_are_not_written() {
    let dir = TempDir::new("import-reject");
    // A calculated check whose child is in no file: `check` rejects the config.
    let checks = dir.write(
        "checks.json",
        &health_checks_json(&[(
            id(13),
            serde_json::json!({"Type": "CALCULATED", "HealthThreshold": 1,
                "ChildHealthChecks": ["missing-child"]}),
        )]),
    );
    let out = dir.path().join("out");
    let run = import(&[
        "--health-checks",
        checks.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains("would not load; nothing written")
            && err.contains("policydns.toml:")
            && err.contains("child \"missing-child\" is not defined"),
        "{err}"
    );
    assert!(!out.join("policydns.toml").exists());
    assert!(!out.join("route53.test.zone").exists());
}

#[test]
fn a_health_check_type_policydns_cannot_probe_is_refused_by_name() {
    let dir = TempDir::new("import-cloudwatch");
    let checks = dir.write(
        "checks.json",
        &health_checks_json(&[(
            id(1),
            serde_json::json!({"Type": "CLOUDWATCH_METRIC", "InsufficientDataHealthStatus": "Healthy"}),
        )]),
    );
    let run = import(&["--health-checks", checks.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(&format!(
            "health check {}: type CLOUDWATCH_METRIC needs AWS services",
            id(1)
        )),
        "{}",
        stderr(&run)
    );
}

/// `get-hosted-zone` output as the aws cli prints it for route53.test.
fn hosted_zone_json(private: bool) -> String {
    serde_json::json!({
        "HostedZone": {
            "Id": "/hostedzone/Z0PRIVATE123", "Name": "route53.test.", "CallerReference": "r1",
            "Config": { "Comment": "", "PrivateZone": private }, "ResourceRecordSetCount": 40
        },
        "VPCs": if private { serde_json::json!([{ "VPCRegion": "eu-west-1", "VPCId": "vpc-0abc1234" }]) } else { serde_json::json!([]) }
    })
    .to_string()
}

/// `dig -b FROM` for the apex A: the status and the first answer.
fn dig_from(server: std::net::SocketAddr, from: &str) -> String {
    let out = Command::new(common::require_tool("dig", "bind9-dnsutils"))
        .args(["-b", from, &format!("@{}", server.ip()), "-p"])
        .arg(server.port().to_string())
        .args(["route53.test", "A", "+time=2", "+tries=1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("no answer")
        .to_string()
}

#[test]
fn a_private_hosted_zone_is_served_only_inside_its_internal_view() {
    let dir = TempDir::new("import-private");
    let hz = dir.write("hosted-zone.json", &hosted_zone_json(true));
    let out = dir.path().join("out");
    let o = import(&[
        "--hosted-zone",
        hz.to_str().unwrap(),
        "--view-clients",
        "127.0.0.2/32",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let toml = std::fs::read_to_string(out.join("policydns.toml")).unwrap();
    for line in [
        "[[view]]\nname = \"vpc-0abc1234\"\ninternal = true\nmatch_clients = [\"127.0.0.2/32\"]\n",
        "view = \"vpc-0abc1234\"\n",
    ] {
        assert!(toml.contains(line), "{line:?} missing from\n{toml}");
    }
    let config = out.join("policydns.toml");
    let (process, server) = common::start_on_free_port(
        "policydns",
        |port| {
            common::Proc::spawn(
                "policydns",
                Command::new(BIN)
                    .args(["serve", "--config"])
                    .arg(&config)
                    .args(["--listen", &format!("127.0.0.1:{port}")]),
                dir.path().join(format!("serve-{port}.log")),
            )
        },
        |addr| dig_from(addr, "127.0.0.2") == "NOERROR",
    );
    // Inside the VPC's view it answers; from anywhere else the zone is not served.
    assert_eq!(dig_from(server, "127.0.0.2"), "NOERROR");
    assert_eq!(dig_from(server, "127.0.0.1"), "REFUSED");
    drop(process);
}

#[test]
fn a_public_hosted_zone_stays_shared_and_a_mismatched_one_is_refused() {
    let dir = TempDir::new("import-public");
    let hz = dir.write("hosted-zone.json", &hosted_zone_json(false));
    let o = import(&["--hosted-zone", hz.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("[[view]]"));
    let other = dir.write(
        "other.json",
        &hosted_zone_json(true).replace("\"route53.test.\"", "\"other.test.\""),
    );
    let o = import(&["--hosted-zone", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("describes hosted zone other.test., not route53.test."),
        "{}",
        stderr(&o)
    );
}
