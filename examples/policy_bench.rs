//! In-process cost of routing-policy answers against static ones from the same zone: the
//! `select` stage's price. `cargo run --release --example policy_bench [ROUNDS]`.
//!
//! Names: `static` (zone file), `weighted` (2 members), `failover` (2, with health checks),
//! `geo` (geolocation, 3 members, queried with EDNS Client Subnet from the shipped test GeoIP
//! database), `tree` (an alias chain: weighted → failover, Evaluate Target Health).

use std::net::IpAddr;
use std::time::Instant;

use policydns::answer::respond_from;
use policydns::config::{Config, Overrides};
use policydns::load;
use policydns::wire::{Transport, MAX_MESSAGE};

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
    // The same config bench/policy.sh serves.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/policy/policy.toml");
    let config = Config::load(Some(&path), &Overrides::default()).expect("config");
    let built = load::build(&config, None);
    assert!(
        built.failures.is_empty(),
        "{:?}",
        built
            .failures
            .iter()
            .map(|f| f.error.to_string())
            .collect::<Vec<_>>()
    );
    let snap = built.snapshot;

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
