//! The answer path allocates nothing: every kind of answer the demo zones give (positive,
//! CNAME chains, wildcards, referrals, DNAME, NODATA, NXDOMAIN, refusals, truncation, errors),
//! answered into a caller's buffer, with a counting allocator watching this thread.

use policydns::answer::respond;
use policydns::fuzzing::demo_snapshot;
use policydns::wire::{Transport, MAX_MESSAGE};

mod common;
use common::{query_with, Opt, TempDir};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// A query (ID 0xabcd, RD set) for `name` `qtype`; with `edns`, an OPT of that payload size
/// carrying EDNS Client Subnet 192.0.2.0/24.
fn query(name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
    let opt = edns.map(|payload| Opt {
        payload,
        ecs: Some(("192.0.2.0".parse().unwrap(), 24)),
    });
    query_with(0xabcd, true, name, qtype, opt)
}

#[test]
fn answering_allocates_nothing() {
    let snap = demo_snapshot();
    let mut corpus = Vec::new();
    for (name, t) in [
        ("www.example.test", 1),
        ("www.example.test", 28),
        ("example.test", 15),
        ("example.test", 2),
        ("example.test", 255),
        ("alias.example.test", 1),
        ("x.apps.example.test", 1),
        ("deep.a.b.c.example.test", 1),
        ("b.c.example.test", 1),
        ("nothere.example.test", 1),
        ("host.lab.example.test", 1),
        ("lab.example.test", 43),
        ("host.old.example.test", 1),
        ("_sip._udp.example.test", 33),
        ("q.w.new.example.test", 1),
        ("loop.new.example.test", 1),
        ("www.example.org", 1),
        ("version.bind", 16),
    ] {
        corpus.push(query(name, t, None));
        corpus.push(query(name, t, Some(1232)));
    }
    corpus.push(vec![0; 5]);
    corpus.push(query("www.example.test", 1, None)[..20].to_vec());
    let mut out = vec![0u8; MAX_MESSAGE];
    // Warm up (thread-locals, lazy statics), then count.
    for q in &corpus {
        respond(&snap, q, Transport::Udp, &mut out);
    }
    let before = allocations();
    let mut answered = 0;
    for q in &corpus {
        for t in [Transport::Udp, Transport::Tcp] {
            if respond(&snap, q, t, &mut out) > 0 {
                answered += 1;
            }
        }
    }
    let after = allocations();
    // The counter itself works: one allocation is seen.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
    assert_eq!(allocations(), after + 1);
    assert!(answered > 60, "the corpus is answered ({answered})");
    assert_eq!(
        after - before,
        0,
        "allocations while answering {} queries",
        corpus.len() * 2
    );
}

#[test]
fn routing_policy_answers_allocate_nothing() {
    // Weighted, failover, geolocation (GeoIP + ECS) and an alias chain, from a config file.
    let tmp = TempDir::new("noalloc");
    let dir = tmp.path();
    let geoip = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/policydns-test.mmdb");
    std::fs::write(
        dir.join("z.zone"),
        "$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n",
    )
    .unwrap();
    let config = format!(
        r#"
[server]
geoip = "{}"
[[zone]]
origin = "example.test."
file = "z.zone"
[[health_check]]
id = "p"
healthy = false
[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "a"
weight = 1
values = ["192.0.2.10"]
[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "b"
weight = 2
values = ["192.0.2.11"]
[[record_set]]
name = "f.example.test."
type = "A"
set_identifier = "p"
failover = "PRIMARY"
health_check = "p"
values = ["192.0.2.20"]
[[record_set]]
name = "f.example.test."
type = "A"
set_identifier = "s"
failover = "SECONDARY"
values = ["192.0.2.21"]
[[record_set]]
name = "g.example.test."
type = "A"
set_identifier = "wa"
geolocation = {{ country = "US", subdivision = "WA" }}
values = ["192.0.2.30"]
[[record_set]]
name = "g.example.test."
type = "A"
set_identifier = "d"
geolocation = {{ country = "*" }}
values = ["192.0.2.31"]
[[record_set]]
name = "t.example.test."
type = "A"
alias = {{ name = "f.example.test.", evaluate_target_health = true }}
[[record_set]]
name = "s.example.test."
type = "A"
values = ["192.0.2.40", "192.0.2.41", "192.0.2.42"]
[[record_set]]
name = "m.example.test."
type = "A"
set_identifier = "one"
multivalue = true
values = ["192.0.2.50"]
[[record_set]]
name = "m.example.test."
type = "A"
set_identifier = "two"
multivalue = true
values = ["192.0.2.51"]
"#,
        geoip.display()
    );
    std::fs::write(dir.join("c.toml"), config).unwrap();
    let cfg = policydns::config::Config::load(
        Some(&dir.join("c.toml")),
        &policydns::config::Overrides::default(),
    )
    .unwrap();
    let built = policydns::load::build(&cfg, None);
    assert!(built.failures.is_empty());
    let snap = built.snapshot;
    let from: std::net::IpAddr = "192.0.2.5".parse().unwrap();
    let corpus: Vec<Vec<u8>> = [
        "w.example.test",
        "f.example.test",
        "g.example.test",
        "t.example.test",
        // Answered in a random order (a simple set of three values, multivalue members).
        "s.example.test",
        "m.example.test",
    ]
    .iter()
    .flat_map(|n| [query(n, 1, None), query(n, 1, Some(1232))])
    .collect();
    let mut out = vec![0u8; MAX_MESSAGE];
    for q in &corpus {
        policydns::answer::respond_from(&snap, q, Transport::Udp, Some(from), &mut out);
    }
    let before = allocations();
    let mut answered = 0;
    for _ in 0..50 {
        for q in &corpus {
            let n = policydns::answer::respond_from(&snap, q, Transport::Udp, Some(from), &mut out);
            answered += (n > 0 && out[7] > 0) as usize;
        }
    }
    assert_eq!(answered, 50 * corpus.len(), "every query has an answer");
    assert_eq!(allocations() - before, 0);
}

/// Sets the DO bit (RFC 3225) in a query's OPT record, which follows the question.
fn with_do(mut q: Vec<u8>) -> Vec<u8> {
    let mut at = 12;
    while q[at] != 0 {
        at += 1 + q[at] as usize;
    }
    // Root, QTYPE, QCLASS; then the OPT: root, TYPE, CLASS (payload), TTL (ext-rcode,
    // version, flags: DO is the top bit).
    at += 5;
    assert_eq!(&q[at..at + 3], &[0, 0, 41], "an OPT follows the question");
    q[at + 7] |= 0x80;
    q
}

#[test]
fn signed_answers_allocate_nothing() {
    // DO=1 to a zone signed at load: RRSIGs beside answers, NSEC (or NSEC3, the query name
    // hashed) proofs for NXDOMAIN, NODATA, wildcards and referrals, found without allocating.
    for denial in ["", "nsec3 = true\n"] {
        signed_answers_allocate_nothing_with(denial);
    }
}

fn signed_answers_allocate_nothing_with(denial: &str) {
    let tmp = TempDir::new("noalloc-signed");
    let dir = tmp.path();
    let zone = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone");
    std::fs::write(
        dir.join("c.toml"),
        format!(
            "[server]\nstate_dir = \"state\"\n[[zone]]\norigin = \"example.test.\"\nfile = \"{}\"\ndnssec = true\n{denial}",
            zone.display()
        ),
    )
    .unwrap();
    let cfg = policydns::config::Config::load(
        Some(&dir.join("c.toml")),
        &policydns::config::Overrides::default(),
    )
    .unwrap();
    let built = policydns::load::build(&cfg, None);
    assert!(built.failures.is_empty());
    let snap = built.snapshot;
    let corpus: Vec<Vec<u8>> = [
        ("www.example.test", 1),
        ("example.test", 48),
        ("alias.example.test", 1),
        ("x.apps.example.test", 1),
        ("x.apps.example.test", 16),
        ("b.c.example.test", 1),
        ("nothere.example.test", 1),
        ("host.lab.example.test", 1),
        ("lab.example.test", 43),
        ("host.old.example.test", 1),
        ("example.test", 255),
    ]
    .iter()
    .map(|&(n, t)| with_do(query(n, t, Some(1232))))
    .collect();
    let mut out = vec![0u8; MAX_MESSAGE];
    for q in &corpus {
        respond(&snap, q, Transport::Udp, &mut out);
    }
    let before = allocations();
    let mut signed = 0;
    for q in &corpus {
        for t in [Transport::Udp, Transport::Tcp] {
            let n = respond(&snap, q, t, &mut out);
            // An RRSIG (type 46, class IN) somewhere in the answer.
            signed += out[..n].windows(4).any(|w| w == [0, 46, 0, 1]) as usize;
        }
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(signed, corpus.len() * 2, "every answer carries a signature");
}

#[test]
fn signed_routing_policy_answers_allocate_nothing_once_warm() {
    // A member's own records carry signatures made at load; a multivalue subset, an alias
    // and a load balancer's addresses get theirs made on first use (that use may allocate),
    // then read from the zone's map without allocating.
    let tmp = TempDir::new("noalloc-signed-policy");
    let dir = tmp.path();
    std::fs::write(
        dir.join("z.zone"),
        "$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("c.toml"),
        r#"
[server]
state_dir = "state"
[[zone]]
origin = "example.test."
file = "z.zone"
dnssec = true
[[health_check]]
id = "p"
healthy = false
[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "a"
weight = 1
values = ["192.0.2.10"]
[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "b"
weight = 2
values = ["192.0.2.11"]
[[record_set]]
name = "f.example.test."
type = "A"
set_identifier = "p"
failover = "PRIMARY"
health_check = "p"
values = ["192.0.2.20"]
[[record_set]]
name = "f.example.test."
type = "A"
set_identifier = "s"
failover = "SECONDARY"
values = ["192.0.2.21"]
[[record_set]]
name = "t.example.test."
type = "A"
alias = { name = "f.example.test.", evaluate_target_health = true }
[[record_set]]
name = "m.example.test."
type = "A"
set_identifier = "one"
multivalue = true
values = ["192.0.2.50"]
[[record_set]]
name = "m.example.test."
type = "A"
set_identifier = "two"
multivalue = true
values = ["192.0.2.51"]
[[load_balancer]]
name = "app-1.us-east-1.elb.amazonaws.com."
zones = [{ name = "us-east-1a", ipv4 = ["198.51.100.10"] }]
[[record_set]]
name = "lb.example.test."
type = "A"
alias = { name = "app-1.us-east-1.elb.amazonaws.com.", evaluate_target_health = false }
"#,
    )
    .unwrap();
    let cfg = policydns::config::Config::load(
        Some(&dir.join("c.toml")),
        &policydns::config::Overrides::default(),
    )
    .unwrap();
    let built = policydns::load::build(&cfg, None);
    assert!(built.failures.is_empty());
    let snap = built.snapshot;
    let corpus: Vec<Vec<u8>> = ["w", "f", "t", "m", "lb"]
        .iter()
        .map(|n| with_do(query(&format!("{n}.example.test"), 1, Some(1232))))
        .collect();
    let mut out = vec![0u8; MAX_MESSAGE];
    // Warm up: every weighted draw and both multivalue orders are met.
    for _ in 0..50 {
        for q in &corpus {
            respond(&snap, q, Transport::Udp, &mut out);
        }
    }
    let before = allocations();
    let mut signed = 0;
    for _ in 0..50 {
        for q in &corpus {
            let n = respond(&snap, q, Transport::Udp, &mut out);
            signed += out[..n].windows(4).any(|w| w == [0, 46, 0, 1]) as usize;
        }
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(
        signed,
        50 * corpus.len(),
        "every answer carries a signature"
    );
}
