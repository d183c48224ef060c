//! Elastic Load Balancing target-group health checks against real HTTP backends on 127.0.0.1:
//! the success-code matcher, separate healthy and unhealthy counts, the "initial" state, and
//! load-balancer aliases whose answers follow the probes with no reload. Waits are bounded
//! and generous; no assertion depends on elapsed time.

mod common;
use common::{a_records, eventually, free_port, http_get, Backend, Hook, TempDir};

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use policydns::health::target_group::TargetGroupHealthCheck;
use policydns::health::{self, report::Reports, HealthTable, ProbeTarget};

fn check(toml_text: &str) -> TargetGroupHealthCheck {
    toml::from_str(toml_text).unwrap()
}

/// One probe of `backend` with the target group's check.
async fn probe_once(hc: &TargetGroupHealthCheck, port: u16) -> bool {
    let cfg = hc
        .build()
        .unwrap()
        .probe("127.0.0.1".parse().unwrap(), Some(port))
        .unwrap();
    let ProbeTarget::Http(spec) = cfg.target else {
        panic!("an HTTP check")
    };
    let client = health::probe::client(false, None).unwrap();
    health::probe::http(&client, &spec).await.passed
}

#[tokio::test]
async fn a_matcher_range_passes_every_code_inside_it_and_nothing_outside() {
    let hc = check("matcher = \"200-299\"\ntimeout_seconds = 2\ninterval_seconds = 2");
    for (status, want) in [
        (200, true),
        (204, true),
        (299, true),
        (302, false),
        (199, false),
    ] {
        let b = Backend::start(0, status);
        assert_eq!(probe_once(&hc, b.port).await, want, "status {status}");
    }
}

#[tokio::test]
async fn a_matcher_list_passes_only_the_listed_codes() {
    let hc = check("matcher = \"200,302\"\ntimeout_seconds = 2\ninterval_seconds = 2");
    for (status, want) in [(200, true), (302, true), (301, false), (204, false)] {
        let b = Backend::start(0, status);
        assert_eq!(probe_once(&hc, b.port).await, want, "status {status}");
    }
}

#[tokio::test]
async fn the_default_matcher_is_200_only() {
    let hc = check("timeout_seconds = 2\ninterval_seconds = 2");
    for (status, want) in [(200, true), (204, false), (302, false)] {
        let b = Backend::start(0, status);
        assert_eq!(probe_once(&hc, b.port).await, want, "status {status}");
    }
}

/// Which phase of the test a request arrived in, what it was answered, and whether the table
/// said healthy when it arrived.
type Arrival = (u8, u16, bool);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_failures_take_a_target_out_and_three_successes_put_it_back() {
    let table = Arc::new(HealthTable::new([false]));
    let phase = Arc::new(AtomicU16::new(0));
    let log: Arc<Mutex<Vec<Arrival>>> = Arc::default();
    let status = Arc::new(AtomicU16::new(200));
    let hook: Hook = {
        let (table, phase, log) = (table.clone(), phase.clone(), log.clone());
        Arc::new(move |code| {
            let p = phase.load(Ordering::SeqCst) as u8;
            log.lock().unwrap().push((p, code, table.get(0)));
        })
    };
    let backend = Backend::start_with(0, status.clone(), hook);
    let hc = check(
        "interval_seconds = 1\ntimeout_seconds = 1\nunhealthy_threshold_count = 2\nhealthy_threshold_count = 3",
    );
    let cfg = hc
        .build()
        .unwrap()
        .probe("127.0.0.1".parse().unwrap(), Some(backend.port))
        .unwrap();
    let tasks = health::spawn(
        vec![(0, "elb:lb/web/127.0.0.1".into(), cfg)],
        table.clone(),
        Arc::new(Reports::default()),
    );
    let wait = |want: bool| {
        let table = table.clone();
        async move {
            for _ in 0..300 {
                if table.get(0) == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!(
                "the target never became {}",
                if want { "healthy" } else { "unhealthy" }
            );
        }
    };
    wait(true).await;
    phase.store(1, Ordering::SeqCst);
    status.store(500, Ordering::SeqCst);
    wait(false).await;
    phase.store(2, Ordering::SeqCst);
    status.store(200, Ordering::SeqCst);
    wait(true).await;
    tasks.iter().for_each(|t| t.abort());
    let log = log.lock().unwrap().clone();
    let failed_while_healthy = log.iter().filter(|a| *a == &(1, 500, true)).count();
    let passed_while_unhealthy = log.iter().filter(|a| *a == &(2, 200, false)).count();
    assert_eq!(
        failed_while_healthy, 2,
        "failures seen before the target went out: {log:?}"
    );
    assert_eq!(
        passed_while_unhealthy, 3,
        "successes seen before it came back: {log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_target_is_not_healthy_until_its_first_check_passes() {
    let table = Arc::new(HealthTable::new([false]));
    let arrivals: Arc<Mutex<Vec<bool>>> = Arc::default();
    let hook: Hook = {
        let (table, arrivals) = (table.clone(), arrivals.clone());
        Arc::new(move |_| arrivals.lock().unwrap().push(table.get(0)))
    };
    let backend = Backend::start_with(0, Arc::new(AtomicU16::new(200)), hook);
    let hc = check("interval_seconds = 1\ntimeout_seconds = 1");
    let cfg = hc
        .build()
        .unwrap()
        .probe("127.0.0.1".parse().unwrap(), Some(backend.port))
        .unwrap();
    let reports = Arc::new(Reports::default());
    let tasks = health::spawn(vec![(0, "t".into(), cfg)], table.clone(), reports.clone());
    // Listed as "initial" before any result...
    let mut seen_initial = false;
    for _ in 0..300 {
        match reports.state_of("t").as_deref() {
            Some("initial") => seen_initial = true,
            Some("healthy") => break,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tasks.iter().for_each(|t| t.abort());
    assert!(table.get(0), "healthy after passing");
    // ...and the first request found it not yet healthy.
    assert_eq!(arrivals.lock().unwrap().first(), Some(&false));
    assert!(seen_initial, "listed as initial before its first result");
}

const ZONE: &str = "$TTL 60
@   SOA ns1 hostmaster 1 7200 900 1209600 30
    NS  ns1
ns1 A   192.0.2.53
";

/// A config with a load balancer of two zones (a: 192.0.2.101, b: 192.0.2.102), one target
/// in each probed every second, an alias `lb.example.test` to it, and a failover
/// `fo.example.test` whose primary is that alias with Evaluate Target Health.
fn lb_config(dir: &TempDir, port_a: u16, port_b: u16, extra_server: &str, unhealthy: u8) -> String {
    let zone = dir.write("z", ZONE);
    format!(
        r#"[server]
{extra_server}
[[zone]]
origin = "example.test."
file = "{zone}"

[[load_balancer]]
name = "my-lb.elb.example."
zones = [ {{ name = "a", ipv4 = ["192.0.2.101"] }}, {{ name = "b", ipv4 = ["192.0.2.102"] }} ]
[[load_balancer.target_groups]]
name = "web"
port = {port_a}
health_check = {{ path = "/health", interval_seconds = 1, timeout_seconds = 1, healthy_threshold_count = 2, unhealthy_threshold_count = {unhealthy}, matcher = "200-299" }}
targets = [ {{ zone = "a", ip_address = "127.0.0.1" }},
            {{ zone = "b", ip_address = "127.0.0.1", port = {port_b} }} ]

[[record_set]]
name = "lb.example.test."
type = "A"
alias = {{ name = "my-lb.elb.example." }}

[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "p"
failover = "PRIMARY"
alias = {{ name = "my-lb.elb.example.", evaluate_target_health = true }}

[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "s"
failover = "SECONDARY"
ttl = 5
values = ["192.0.2.200"]
"#,
        zone = zone.display()
    )
}

fn answer(s: &common::Server, name: &str) -> Vec<String> {
    let mut a = common::try_udp(s.addr, name, 1, Duration::from_secs(2))
        .map(|m| a_records(&m))
        .unwrap_or_default();
    a.sort();
    a
}

#[test]
fn an_alias_to_a_load_balancer_drops_a_zone_while_its_target_is_down_and_takes_it_back() {
    let dir = TempDir::new("elb-alias");
    let a = Backend::start(0, 200);
    let b = Backend::start(0, 200);
    let config = dir.write("c.toml", &lb_config(&dir, a.port, b.port, "", 2));
    let s = common::serve(
        &dir,
        &["--config", config.to_str().unwrap()],
        "ns1.example.test.",
    );
    let both = vec!["192.0.2.101".to_string(), "192.0.2.102".to_string()];
    // Before any probe every zone is answered (nothing healthy: fail open), so wait until both
    // targets have passed, or zone b's first pass would look like zone a going down.
    eventually("both zones once both targets have passed", || {
        s.log().matches(" is healthy: ").count() == 2 && answer(&s, "lb.example.test.") == both
    });
    let port = a.stop();
    eventually("only zone b once zone a's target is down", || {
        answer(&s, "lb.example.test.") == vec!["192.0.2.102"]
    });
    let _a = Backend::start(port, 200);
    eventually("both zones once the target is back", || {
        answer(&s, "lb.example.test.") == both
    });
    let log = s.log();
    let down = format!(
        "health check elb:my-lb.elb.example/web/127.0.0.1:{port} is unhealthy: connection \
         refused from HTTP 127.0.0.1:{port}/health (2 failures in a row, threshold 2)"
    );
    assert!(log.contains(&down), "{down:?} not in:\n{log}");
}

#[test]
fn evaluate_target_health_on_a_load_balancer_follows_its_probed_targets() {
    let dir = TempDir::new("elb-eth");
    let a = Backend::start(0, 200);
    let b = Backend::start(0, 200);
    let config = dir.write("c.toml", &lb_config(&dir, a.port, b.port, "", 2));
    let s = common::serve(
        &dir,
        &["--config", config.to_str().unwrap()],
        "ns1.example.test.",
    );
    let both = vec!["192.0.2.101".to_string(), "192.0.2.102".to_string()];
    eventually("the load balancer while its targets pass", || {
        answer(&s, "fo.example.test.") == both
    });
    // A failing status (not a refused connection) takes the targets out too.
    a.status.store(503, Ordering::SeqCst);
    b.status.store(503, Ordering::SeqCst);
    eventually("the secondary once no target is healthy", || {
        answer(&s, "fo.example.test.") == vec!["192.0.2.200"]
    });
    a.status.store(200, Ordering::SeqCst);
    eventually("the load balancer again once a target passes", || {
        answer(&s, "fo.example.test.") == vec!["192.0.2.101"]
    });
}

#[test]
fn the_status_listener_shows_each_target_with_its_elb_state() {
    let dir = TempDir::new("elb-status");
    let a = Backend::start(0, 200);
    // Fails every check, but needs 10 failures to leave "initial".
    let b = Backend::start(0, 500);
    let status_port = free_port();
    let config = dir.write(
        "c.toml",
        &lb_config(
            &dir,
            a.port,
            b.port,
            &format!("status_listen = \"127.0.0.1:{status_port}\""),
            10,
        ),
    );
    let s = common::serve(
        &dir,
        &["--config", config.to_str().unwrap()],
        "ns1.example.test.",
    );
    let get = |path: &str| http_get(status_port, path);
    let id = |port: u16| format!("elb:my-lb.elb.example/web/127.0.0.1:{port}");
    let state_of = |json: &str, port: u16| -> Option<String> {
        let body = json.split("\r\n\r\n").nth(1)?;
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        v["health_checks"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id(port).as_str())
            .and_then(|c| c["report"]["state"].as_str().map(str::to_string))
    };
    eventually("target a healthy and target b still initial", || {
        let json = get("/health-checks");
        state_of(&json, a.port).as_deref() == Some("healthy")
            && state_of(&json, b.port).as_deref() == Some("initial")
    });
    let metrics = get("/metrics");
    assert!(
        metrics.contains(&format!(
            "policydns_health_check_healthy{{check=\"{}\"}} 0",
            id(b.port)
        )),
        "{metrics}"
    );
    // ELB's HealthyHostCount and UnHealthyHostCount per target group and zone.
    for (az, state, n) in [
        ("a", "healthy", 1),
        ("a", "unhealthy", 0),
        ("b", "healthy", 0),
        ("b", "unhealthy", 1),
    ] {
        let series = format!("policydns_load_balancer_targets{{load_balancer=\"my-lb.elb.example.\",target_group=\"web\",availability_zone=\"{az}\",state=\"{state}\"}} {n}\n");
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }
    drop(s);
}

#[test]
fn a_target_with_both_a_check_id_and_an_address_is_refused_by_name() {
    let dir = TempDir::new("elb-refuse");
    let zone = dir.write("z", ZONE);
    let config = dir.write(
        "c.toml",
        &format!(
            r#"[[zone]]
origin = "example.test."
file = "{}"
[[health_check]]
id = "i-1"
[[load_balancer]]
name = "lb.elb.example."
zones = [ {{ name = "a", ipv4 = ["192.0.2.1"] }} ]
target_groups = [ {{ name = "web", health_check = {{ matcher = "200-" }}, targets = [ {{ zone = "a", ip_address = "127.0.0.1", port = 80 }} ] }},
                  {{ name = "api", targets = [ {{ zone = "a", ip_address = "127.0.0.1", port = 81, health_check = "i-1" }} ] }} ]
"#,
            zone.display()
        ),
    );
    let e = policydns::config::Config::load(Some(&config), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "load_balancer \"lb.elb.example.\": target group \"web\" health_check: bad HTTP status"
        ),
        "{e}"
    );
    assert!(
        e.contains("target group \"api\" target 127.0.0.1: give either health_check = \"ID\" or ip_address"),
        "{e}"
    );
}

#[test]
fn a_target_checked_on_the_traffic_port_needs_a_port() {
    let dir = TempDir::new("elb-port");
    let zone = dir.write("z", ZONE);
    let config = dir.write(
        "c.toml",
        &format!(
            r#"[[zone]]
origin = "example.test."
file = "{}"
[[load_balancer]]
name = "lb.elb.example."
zones = [ {{ name = "a", ipv4 = ["192.0.2.1"] }} ]
target_groups = [ {{ name = "web", targets = [ {{ zone = "a", ip_address = "127.0.0.1" }} ] }} ]
"#,
            zone.display()
        ),
    );
    let e = policydns::config::Config::load(Some(&config), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("traffic port"), "{e}");
}
