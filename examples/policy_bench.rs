//! In-process cost of routing-policy answers against static ones from the same zone: the
//! `select` stage's price. `cargo run --release --example policy_bench [ROUNDS]`.
//!
//! Names: `static` (zone file), `weighted` (2 members), `failover` (2, with health checks),
//! `geo` (geolocation, 4 members, queried with EDNS Client Subnet from the shipped test GeoIP
//! database), `tree` (an alias chain: weighted → failover, Evaluate Target Health).

use std::net::IpAddr;
use std::time::Instant;

use policydns::answer::{respond_from, Transport, MAX_MESSAGE};
use policydns::config::{Config, Overrides};
use policydns::load;

const ZONE: &str = "$TTL 300
@      SOA ns1 hostmaster 1 7200 900 1209600 60
       NS  ns1
ns1    A   192.0.2.53
static A   192.0.2.1
";

const CONFIG: &str = r#"
[server]
geoip = "GEOIP"
[[zone]]
origin = "bench.test."
file = "bench.test.zone"
[[health_check]]
id = "p"
healthy = true
[[health_check]]
id = "s"
healthy = true
[[record_set]]
name = "weighted.bench.test."
type = "A"
set_identifier = "a"
weight = 3
values = ["192.0.2.10"]
[[record_set]]
name = "weighted.bench.test."
type = "A"
set_identifier = "b"
weight = 1
values = ["192.0.2.11"]
[[record_set]]
name = "failover.bench.test."
type = "A"
set_identifier = "p"
failover = "PRIMARY"
health_check = "p"
values = ["192.0.2.20"]
[[record_set]]
name = "failover.bench.test."
type = "A"
set_identifier = "s"
failover = "SECONDARY"
health_check = "s"
values = ["192.0.2.21"]
[[record_set]]
name = "geo.bench.test."
type = "A"
set_identifier = "wa"
geolocation = { country = "US", subdivision = "WA" }
values = ["192.0.2.30"]
[[record_set]]
name = "geo.bench.test."
type = "A"
set_identifier = "us"
geolocation = { country = "US" }
values = ["192.0.2.31"]
[[record_set]]
name = "geo.bench.test."
type = "A"
set_identifier = "eu"
geolocation = { continent = "EU" }
values = ["192.0.2.32"]
[[record_set]]
name = "geo.bench.test."
type = "A"
set_identifier = "default"
geolocation = { country = "*" }
values = ["192.0.2.33"]
[[record_set]]
name = "tree.bench.test."
type = "A"
set_identifier = "w1"
weight = 3
alias = { name = "failover.bench.test.", evaluate_target_health = true }
[[record_set]]
name = "tree.bench.test."
type = "A"
set_identifier = "w2"
weight = 1
alias = { name = "weighted.bench.test.", evaluate_target_health = true }
"#;

fn query(name: &str, ecs: Option<[u8; 3]>) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    match ecs {
        Some(a) => {
            p.extend_from_slice(&[0, 11, 0, 8, 0, 7, 0, 1, 24, 0]);
            p.extend_from_slice(&a);
        }
        None => p.extend_from_slice(&[0, 0]),
    }
    p
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse().unwrap())
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("policydns-policy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let geoip = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/policydns-test.mmdb");
    std::fs::write(dir.join("bench.test.zone"), ZONE).unwrap();
    std::fs::write(
        dir.join("c.toml"),
        CONFIG.replace("GEOIP", geoip.to_str().unwrap()),
    )
    .unwrap();
    let config = Config::load(Some(&dir.join("c.toml")), &Overrides::default()).expect("config");
    let built = load::build(&config, None);
    assert!(
        built.failures.is_empty(),
        "{:?}",
        built
            .failures
            .iter()
            .map(|f| f.1.to_string())
            .collect::<Vec<_>>()
    );
    let snap = built.snapshot;
    let _ = std::fs::remove_dir_all(&dir);

    let client: Option<IpAddr> = Some("192.0.2.77".parse().unwrap());
    let cases = [
        ("static", query("static.bench.test.", None)),
        ("weighted", query("weighted.bench.test.", None)),
        ("failover", query("failover.bench.test.", None)),
        ("geo + ECS", query("geo.bench.test.", Some([198, 51, 100]))),
        (
            "static + ECS",
            query("static.bench.test.", Some([198, 51, 100])),
        ),
        ("alias tree", query("tree.bench.test.", None)),
    ];
    let mut out = vec![0u8; MAX_MESSAGE];
    let mut base = 0.0;
    println!("{rounds} queries each, one thread");
    for (name, q) in &cases {
        let t = Instant::now();
        let mut bytes = 0usize;
        for _ in 0..rounds {
            bytes += respond_from(&snap, q, Transport::Udp, client, &mut out);
        }
        let ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        if base == 0.0 {
            base = ns;
        }
        println!(
            "{name:<14} {ns:7.0} ns/query  {:5.2}x static  ({} bytes)",
            ns / base,
            bytes / rounds
        );
    }
}
