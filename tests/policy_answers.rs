//! Routing-policy record sets from the TOML config, answered over the wire format: the answer
//! path's `select` stage, the client's address and EDNS Client Subnet, health states, scopes.

mod common;
use common::{chi_square, TempDir};
use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;
use policydns::answer::respond_from;
use policydns::config::{Config, Overrides};
use policydns::load;
use policydns::snapshot::Snapshot;
use policydns::wire::{Transport, MAX_MESSAGE};

const ZONE: &str = "$TTL 300
@    SOA ns1 hostmaster 1 7200 900 1209600 60
     NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.1
";

const CONFIG: &str = r#"
[[zone]]
origin = "example.test."
file = "example.test.zone"

[[health_check]]
id = "primary-hc"
healthy = true

[[health_check]]
id = "secondary-hc"
healthy = true

[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "primary"
failover = "PRIMARY"
health_check = "primary-hc"
ttl = 60
values = ["192.0.2.10"]

[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "secondary"
failover = "SECONDARY"
health_check = "secondary-hc"
ttl = 60
values = ["192.0.2.20"]

[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "heavy"
weight = 3
ttl = 60
values = ["192.0.2.30"]

[[record_set]]
name = "w.example.test."
type = "A"
set_identifier = "light"
weight = 1
ttl = 60
values = ["192.0.2.31"]

[[cidr_collection]]
id = "offices"
locations = { seattle = ["198.51.100.0/24"], berlin = ["203.0.113.0/25", "2001:db8:b::/48"] }

[[record_set]]
name = "ip.example.test."
type = "A"
set_identifier = "seattle"
cidr = { collection = "offices", location = "seattle" }
values = ["192.0.2.40"]

[[record_set]]
name = "ip.example.test."
type = "A"
set_identifier = "berlin"
cidr = { collection = "offices", location = "berlin" }
values = ["192.0.2.41"]

[[record_set]]
name = "ip.example.test."
type = "A"
set_identifier = "default"
cidr = { collection = "offices", location = "*" }
values = ["192.0.2.49"]

[[record_set]]
name = "mv.example.test."
type = "A"
set_identifier = "one"
multivalue = true
values = ["192.0.2.51"]

[[record_set]]
name = "mv.example.test."
type = "A"
set_identifier = "two"
multivalue = true
health_check = "secondary-hc"
values = ["192.0.2.52"]
"#;

/// A config and its zone file in a temporary directory.
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(tag: &str, config: &str) -> Setup {
        let dir = TempDir::new(&format!("policy-{tag}"));
        dir.write("example.test.zone", ZONE);
        dir.write("c.toml", config);
        Setup { dir }
    }
    fn config(&self) -> Result<Config, String> {
        Config::load(Some(&self.dir.path().join("c.toml")), &Overrides::default())
            .map_err(|e| e.to_string())
    }
    fn snapshot(&self) -> Snapshot {
        let built = load::build(&self.config().unwrap(), None);
        assert!(
            built.failures.is_empty(),
            "{:?}",
            built
                .failures
                .iter()
                .map(|f| f.error.to_string())
                .collect::<Vec<_>>()
        );
        built.snapshot
    }
}

/// A query for `name` A, with an EDNS Client Subnet option when `ecs` is given.
fn query(name: &str, ecs: Option<(IpAddr, u8)>) -> Vec<u8> {
    common::query(name, 1, ecs)
}

fn ask(
    snap: &Snapshot,
    name: &str,
    from: &str,
    ecs: Option<(&str, u8)>,
) -> (Vec<String>, Option<u8>, ResponseCode) {
    let mut out = vec![0u8; MAX_MESSAGE];
    let ecs = ecs.map(|(a, p)| (a.parse().unwrap(), p));
    let n = respond_from(
        snap,
        &query(name, ecs),
        Transport::Udp,
        Some(from.parse().unwrap()),
        &mut out,
    );
    let m = Message::from_vec(&out[..n]).unwrap();
    let addrs = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect();
    // The scope octet of our ECS option, if any: the last option in our OPT.
    let scope = ecs.map(|(_, p)| {
        let n_addr = (p as usize).div_ceil(8);
        out[n - n_addr - 1]
    });
    (addrs, scope, m.metadata.response_code)
}

#[test]
fn failover_answers_the_primary_while_healthy() {
    let s = Setup::new("fo", CONFIG);
    let snap = s.snapshot();
    assert_eq!(
        ask(&snap, "fo.example.test.", "192.0.2.200", None).0,
        vec!["192.0.2.10"]
    );
}

#[test]
fn failover_switches_when_the_config_marks_the_primary_unhealthy() {
    let s = Setup::new(
        "fo2",
        &CONFIG.replacen("healthy = true", "healthy = false", 1),
    );
    let snap = s.snapshot();
    assert_eq!(
        ask(&snap, "fo.example.test.", "192.0.2.200", None).0,
        vec!["192.0.2.20"]
    );
}

#[test]
fn weighted_answers_follow_the_weights() {
    let s = Setup::new("w", CONFIG);
    let snap = s.snapshot();
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..4000 {
        let (a, _, _) = ask(&snap, "w.example.test.", "192.0.2.200", None);
        assert_eq!(a.len(), 1, "one record set per answer");
        *seen.entry(a[0].clone()).or_default() += 1;
    }
    // 3:1, so the heavy one takes about 75 %. The server draws from a time-seeded source, so
    // the bound is chi-square with 1 df at p = 1e-6 (23.93): a wrong weighting (1:1 scores
    // over 1,000) still fails, a correct one practically never does.
    let heavy = seen["192.0.2.30"] as f64;
    let light = seen["192.0.2.31"] as f64;
    let chi = (heavy - 3000.0).powi(2) / 3000.0 + (light - 1000.0).powi(2) / 1000.0;
    assert!(chi < 23.93, "{seen:?}");
}

#[test]
fn ip_based_uses_client_subnet_and_reports_the_block_as_scope() {
    let s = Setup::new("ip", CONFIG);
    let snap = s.snapshot();
    let (a, scope, _) = ask(
        &snap,
        "ip.example.test.",
        "192.0.2.200",
        Some(("198.51.100.0", 24)),
    );
    assert_eq!((a, scope), (vec!["192.0.2.40".to_string()], Some(24)));
    let (a, scope, _) = ask(
        &snap,
        "ip.example.test.",
        "192.0.2.200",
        Some(("2001:db8:b::", 56)),
    );
    assert_eq!(
        (a, scope),
        (vec!["192.0.2.41".to_string()], Some(48)),
        "the /48 block decided"
    );
    // Berlin's IPv4 block is a /25: a client that reveals only /24 cannot match it (§3.7).
    let (a, _, _) = ask(
        &snap,
        "ip.example.test.",
        "192.0.2.200",
        Some(("203.0.113.0", 24)),
    );
    assert_eq!(a, vec!["192.0.2.49"]);
}

#[test]
fn ip_based_uses_the_resolver_address_without_client_subnet() {
    let s = Setup::new("ip2", CONFIG);
    let snap = s.snapshot();
    assert_eq!(
        ask(&snap, "ip.example.test.", "198.51.100.7", None).0,
        vec!["192.0.2.40"]
    );
    assert_eq!(
        ask(&snap, "ip.example.test.", "192.0.2.7", None).0,
        vec!["192.0.2.49"],
        "default"
    );
}

#[test]
fn a_client_prefix_shorter_than_the_block_gets_the_default() {
    let s = Setup::new("ip3", CONFIG);
    let snap = s.snapshot();
    let (a, _, _) = ask(
        &snap,
        "ip.example.test.",
        "192.0.2.200",
        Some(("198.51.0.0", 16)),
    );
    assert_eq!(a, vec!["192.0.2.49"]);
}

#[test]
fn location_independent_answers_carry_scope_zero() {
    let s = Setup::new("scope0", CONFIG);
    let snap = s.snapshot();
    let (_, scope, _) = ask(
        &snap,
        "w.example.test.",
        "192.0.2.200",
        Some(("198.51.100.0", 24)),
    );
    assert_eq!(scope, Some(0));
}

#[test]
fn multivalue_answers_all_healthy_members_together() {
    let s = Setup::new("mv", CONFIG);
    let snap = s.snapshot();
    let mut a = ask(&snap, "mv.example.test.", "192.0.2.200", None).0;
    a.sort();
    assert_eq!(a, vec!["192.0.2.51", "192.0.2.52"]);
    let s = Setup::new(
        "mv2",
        &CONFIG.replace(
            "id = \"secondary-hc\"\nhealthy = true",
            "id = \"secondary-hc\"\nhealthy = false",
        ),
    );
    let snap = s.snapshot();
    assert_eq!(
        ask(&snap, "mv.example.test.", "192.0.2.200", None).0,
        vec!["192.0.2.51"]
    );
}

#[test]
fn static_names_are_untouched() {
    let s = Setup::new("static", CONFIG);
    let snap = s.snapshot();
    assert_eq!(
        ask(&snap, "www.example.test.", "192.0.2.200", None).0,
        vec!["192.0.2.1"]
    );
}

#[test]
fn a_policy_set_beside_zone_file_records_of_its_type_is_refused() {
    let conflict = format!(
        "{CONFIG}\n[[record_set]]\nname = \"www.example.test.\"\ntype = \"A\"\nvalues = [\"192.0.2.99\"]\n"
    );
    let s = Setup::new("conflict", &conflict);
    let built = load::build(&s.config().unwrap(), None);
    let msg = built
        .failures
        .iter()
        .map(|f| f.error.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        msg.contains("has records in the zone file") && msg.contains("example.test.zone:5"),
        "{msg}"
    );
}

#[test]
fn group_rule_violations_are_refused_with_the_record_sets_named() {
    let bad = CONFIG.replace("failover = \"SECONDARY\"", "failover = \"PRIMARY\"");
    let e = Setup::new("bad", &bad).config().unwrap_err();
    assert!(
        e.contains("two record sets for PRIMARY") && e.contains("needs one SECONDARY"),
        "{e}"
    );
    let e = Setup::new("bad2", &CONFIG.replace("weight = 3", "weight = 300"))
        .config()
        .unwrap_err();
    assert!(e.contains("weight 300 is outside 0..255"), "{e}");
    let e = Setup::new(
        "bad3",
        &CONFIG.replace("health_check = \"primary-hc\"", "health_check = \"nope\""),
    )
    .config()
    .unwrap_err();
    assert!(e.contains("\"nope\" is not defined"), "{e}");
}

const GEO: &str = r#"
[server]
geoip = "GEOIP"

[[zone]]
origin = "example.test."
file = "example.test.zone"

[[health_check]]
id = "wa-hc"
healthy = true

[[record_set]]
name = "geo.example.test."
type = "A"
set_identifier = "washington"
geolocation = { country = "US", subdivision = "WA" }
health_check = "wa-hc"
values = ["192.0.2.61"]

[[record_set]]
name = "geo.example.test."
type = "A"
set_identifier = "us"
geolocation = { country = "US" }
values = ["192.0.2.62"]

[[record_set]]
name = "geo.example.test."
type = "A"
set_identifier = "europe"
geolocation = { continent = "EU" }
values = ["192.0.2.63"]

[[record_set]]
name = "geo.example.test."
type = "A"
set_identifier = "default"
geolocation = { country = "*" }
values = ["192.0.2.64"]

[[record_set]]
name = "near.example.test."
type = "A"
set_identifier = "frankfurt"
region = "eu-central-1"
values = ["192.0.2.71"]

[[record_set]]
name = "near.example.test."
type = "A"
set_identifier = "oregon"
region = "us-west-2"
values = ["192.0.2.72"]
"#;

fn geo_setup(tag: &str, health: bool) -> Setup {
    let db = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/policydns-test.mmdb");
    let config = GEO
        .replace("GEOIP", db.to_str().unwrap())
        .replace("healthy = true", &format!("healthy = {health}"));
    Setup::new(tag, &config)
}

#[test]
fn geolocation_answers_by_the_clients_subnet_from_the_geoip_database() {
    let s = geo_setup("geo", true);
    let snap = s.snapshot();
    // 192.0.2.0/26 is Seattle (US/WA), 192.0.2.128/25 the US without a state, 198.51.100.0/25
    // Frankfurt (EU), 203.0.113.0/25 São Paulo (no record: the default).
    // The subnet's address is looked up, as Knot and gdnsd do; the scope is the database's /26
    // cut to the /24 the client sent (RFC 7871 §7.2.1).
    let (a, scope, _) = ask(
        &snap,
        "geo.example.test.",
        "127.0.0.1",
        Some(("192.0.2.0", 24)),
    );
    assert_eq!((a, scope), (vec!["192.0.2.61".to_string()], Some(24)));
    let (a, scope, _) = ask(
        &snap,
        "geo.example.test.",
        "127.0.0.1",
        Some(("192.0.2.128", 25)),
    );
    assert_eq!(
        (a, scope),
        (vec!["192.0.2.62".to_string()], Some(24)),
        "US without a state: the /25 network cut to the /24 clamp"
    );
    assert_eq!(
        ask(&snap, "geo.example.test.", "192.0.2.10", None).0,
        vec!["192.0.2.61"],
        "resolver in WA, no ECS"
    );
    assert_eq!(
        ask(
            &snap,
            "geo.example.test.",
            "127.0.0.1",
            Some(("198.51.100.0", 24))
        )
        .0,
        vec!["192.0.2.63"]
    );
    assert_eq!(
        ask(
            &snap,
            "geo.example.test.",
            "127.0.0.1",
            Some(("203.0.113.0", 24))
        )
        .0,
        vec!["192.0.2.64"]
    );
}

#[test]
fn geolocation_walks_up_to_the_country_when_the_state_is_unhealthy() {
    let s = geo_setup("geo2", false);
    let snap = s.snapshot();
    assert_eq!(
        ask(&snap, "geo.example.test.", "192.0.2.10", None).0,
        vec!["192.0.2.62"]
    );
}

#[test]
fn latency_without_a_map_picks_the_nearest_region() {
    let s = geo_setup("lat", true);
    let snap = s.snapshot();
    assert_eq!(
        ask(
            &snap,
            "near.example.test.",
            "127.0.0.1",
            Some(("198.51.100.0", 24))
        )
        .0,
        vec!["192.0.2.71"],
        "Frankfurt"
    );
    assert_eq!(
        ask(&snap, "near.example.test.", "192.0.2.70", None).0,
        vec!["192.0.2.72"],
        "Portland → Oregon"
    );
}

const ALIAS: &str = r#"
[[zone]]
origin = "example.test."
file = "example.test.zone"

[[health_check]]
id = "p"
healthy = PRIMARY

[[health_check]]
id = "s"
healthy = SECONDARY

[[record_set]]                     # the apex answers with www's address
name = "example.test."
type = "A"
alias = { name = "www.example.test." }

[[record_set]]                     # failover group F
name = "f.example.test."
type = "A"
set_identifier = "P"
failover = "PRIMARY"
health_check = "p"
values = ["192.0.2.81"]

[[record_set]]
name = "f.example.test."
type = "A"
set_identifier = "S"
failover = "SECONDARY"
health_check = "s"
values = ["192.0.2.82"]

[[record_set]]                     # W1 (weight 3) → F, W2 (weight 1) → www
name = "tree.example.test."
type = "A"
set_identifier = "W1"
weight = 3
alias = { name = "f.example.test.", evaluate_target_health = true }

[[record_set]]
name = "tree.example.test."
type = "A"
set_identifier = "W2"
weight = 1
alias = { name = "www.example.test.", evaluate_target_health = true }

[[record_set]]
name = "loop1.example.test."
type = "A"
alias = { name = "loop2.example.test." }

[[record_set]]
name = "loop2.example.test."
type = "A"
alias = { name = "loop1.example.test." }
"#;

fn alias_setup(tag: &str, primary: bool, secondary: bool) -> Setup {
    Setup::new(
        tag,
        &ALIAS
            .replace("PRIMARY\n", &format!("{primary}\n"))
            .replace("healthy = SECONDARY", &format!("healthy = {secondary}")),
    )
}

fn answers(snap: &Snapshot, name: &str, n: usize) -> std::collections::BTreeSet<String> {
    (0..n)
        .flat_map(|_| ask(snap, name, "192.0.2.200", None).0)
        .collect()
}

#[test]
fn an_alias_answers_with_its_targets_records_under_the_queried_name() {
    let s = alias_setup("alias1", true, true);
    let snap = s.snapshot();
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = respond_from(
        &snap,
        &query("example.test.", None),
        Transport::Udp,
        None,
        &mut out,
    );
    let m = Message::from_vec(&out[..n]).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        m.answers[0].name.to_string(),
        "example.test.",
        "no CNAME: the apex name"
    );
    assert_eq!(m.answers[0].ttl, 300, "the target's TTL");
}

#[test]
fn alias_tree_follows_route53_worked_example() {
    // P healthy: W1 → P or W2.
    let snap = alias_setup("tree1", true, true).snapshot();
    assert_eq!(
        answers(&snap, "tree.example.test.", 300),
        ["192.0.2.1", "192.0.2.81"].map(String::from).into()
    );
    // P down, S up: W1 is still healthy (something in F is) → S, or W2.
    let snap = alias_setup("tree2", false, true).snapshot();
    assert_eq!(
        answers(&snap, "tree.example.test.", 300),
        ["192.0.2.1", "192.0.2.82"].map(String::from).into()
    );
    // Both down: W1's branch is cut → always W2.
    let snap = alias_setup("tree3", false, false).snapshot();
    assert_eq!(
        answers(&snap, "tree.example.test.", 300),
        ["192.0.2.1"].map(String::from).into()
    );
}

#[test]
fn an_alias_loop_answers_nodata_instead_of_spinning() {
    let snap = alias_setup("loop", true, true).snapshot();
    let (a, _, rc) = ask(&snap, "loop1.example.test.", "192.0.2.200", None);
    assert!(a.is_empty());
    assert_eq!(rc, ResponseCode::NoError);
}

#[test]
fn an_alias_to_a_missing_record_set_is_refused() {
    let bad = format!("{ALIAS}\n[[record_set]]\nname = \"x.example.test.\"\ntype = \"A\"\nalias = {{ name = \"nothere.example.test.\" }}\n")
        .replace("PRIMARY\n", "true\n")
        .replace("healthy = SECONDARY", "healthy = true");
    let s = Setup::new("alias-missing", &bad);
    let built = load::build(&s.config().unwrap(), None);
    let msg = built
        .failures
        .iter()
        .map(|f| f.error.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        msg.contains("alias target nothere.example.test. has no A record set"),
        "{msg}"
    );
}

#[test]
fn explain_shows_candidates_health_location_and_the_deciding_rule() {
    let snap = geo_setup("explain", false).snapshot();
    let text = policydns::answer::explain::explain(
        &snap,
        "geo.example.test",
        1,
        "127.0.0.1".parse().unwrap(),
        Some(("192.0.2.0".parse().unwrap(), 24)),
    );
    for want in [
        "location   continent NA country US subdivision WA",
        "[0] washington       subdivision US-WA",
        "UNHEALTHY",
        "decision   GeoMatch(country US)",
        "192.0.2.62",
        "scope      /24",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn explain_follows_alias_branches() {
    let snap = alias_setup("explain-tree", false, false).snapshot();
    let text = policydns::answer::explain::explain(
        &snap,
        "tree.example.test.",
        1,
        "192.0.2.9".parse().unwrap(),
        None,
    );
    assert!(
        text.contains("[0] W1") && text.contains("UNHEALTHY"),
        "{text}"
    );
    assert!(
        text.contains("follow     [1] → www.example.test."),
        "{text}"
    );
}

const ELB: &str = r#"
[[zone]]
origin = "example.test."
file = "example.test.zone"

[[health_check]]
id = "a1"
healthy = A1
[[health_check]]
id = "b1"
healthy = B1
[[health_check]]
id = "api"
healthy = API

[[load_balancer]]
name = "my-lb-123.us-east-1.elb.example."
cross_zone = CROSS
zones = [
  { name = "us-east-1a", ipv4 = ["192.0.2.101"], ipv6 = ["2001:db8::101"] },
  { name = "us-east-1b", ipv4 = ["192.0.2.102"], ipv6 = ["2001:db8::102"] },
]
target_groups = [
  { name = "web", targets = [ { zone = "us-east-1a", health_check = "a1" }, { zone = "us-east-1b", health_check = "b1" } ] },
  { name = "api", targets = [ { zone = "us-east-1b", health_check = "api" } ] },
]

[[record_set]]
name = "lb.example.test."
type = "A"
alias = { name = "my-lb-123.us-east-1.elb.example." }

[[record_set]]
name = "lb.example.test."
type = "AAAA"
alias = { name = "dualstack.my-lb-123.us-east-1.elb.example." }

[[record_set]]                 # ETH on the load balancer, a static fallback beside it
name = "app.example.test."
type = "A"
set_identifier = "lb"
weight = 1
alias = { name = "my-lb-123.us-east-1.elb.example.", evaluate_target_health = true }

[[record_set]]
name = "app.example.test."
type = "A"
set_identifier = "static"
weight = 1
values = ["192.0.2.199"]
"#;

fn elb_setup(tag: &str, a1: bool, b1: bool, api: bool, cross: bool) -> Setup {
    Setup::new(
        tag,
        &ELB.replace("= A1", &format!("= {a1}"))
            .replace("= B1", &format!("= {b1}"))
            .replace("= API", &format!("= {api}"))
            .replace("= CROSS", &format!("= {cross}")),
    )
}

fn ask_aaaa(snap: &Snapshot, name: &str) -> Vec<String> {
    let mut q = query(name, None);
    let at = q.len() - 4;
    q[at..at + 2].copy_from_slice(&28u16.to_be_bytes());
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = respond_from(snap, &q, Transport::Udp, None, &mut out);
    Message::from_vec(&out[..n])
        .unwrap()
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::AAAA(a) => Some(a.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_load_balancer_alias_answers_the_nodes_of_zones_that_can_serve_with_ttl_60() {
    let snap = elb_setup("elb1", true, true, true, false).snapshot();
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = respond_from(
        &snap,
        &query("lb.example.test.", None),
        Transport::Udp,
        None,
        &mut out,
    );
    let m = Message::from_vec(&out[..n]).unwrap();
    assert_eq!(m.answers.len(), 2);
    assert!(m
        .answers
        .iter()
        .all(|r| r.ttl == 60 && r.name.to_string() == "lb.example.test."));
}

#[test]
fn a_zone_without_healthy_targets_drops_out_unless_cross_zone() {
    let snap = elb_setup("elb2", false, true, true, false).snapshot();
    assert_eq!(
        ask(&snap, "lb.example.test.", "192.0.2.9", None).0,
        vec!["192.0.2.102"]
    );
    let snap = elb_setup("elb3", false, true, true, true).snapshot();
    assert_eq!(ask(&snap, "lb.example.test.", "192.0.2.9", None).0.len(), 2);
}

#[test]
fn dualstack_name_answers_aaaa() {
    let snap = elb_setup("elb4", true, true, true, false).snapshot();
    let mut a = ask_aaaa(&snap, "lb.example.test.");
    a.sort();
    assert_eq!(a, vec!["2001:db8::101", "2001:db8::102"]);
}

#[test]
fn evaluate_target_health_cuts_a_load_balancer_whose_target_group_has_nothing_healthy() {
    // The "api" target group's only target is down: the load balancer is unhealthy, so the
    // weighted alias to it is out and the static member answers every time.
    let snap = elb_setup("elb5", true, true, false, false).snapshot();
    assert_eq!(
        answers(&snap, "app.example.test.", 200),
        ["192.0.2.199"].map(String::from).into()
    );
    let snap = elb_setup("elb6", true, true, true, false).snapshot();
    assert_eq!(
        answers(&snap, "app.example.test.", 200).len(),
        3,
        "both LB nodes or the static one"
    );
}

#[test]
fn an_alias_to_an_unconfigured_load_balancer_says_what_to_add() {
    let s = Setup::new(
        "elb7",
        &ELB.replace("name = \"my-lb-123", "name = \"other-lb")
            .replace("= A1", "= true")
            .replace("= B1", "= true")
            .replace("= API", "= true")
            .replace("= CROSS", "= false"),
    );
    let built = load::build(&s.config().unwrap(), None);
    let msg = built
        .failures
        .iter()
        .map(|f| f.error.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        msg.contains("no [[load_balancer]] is named my-lb-123.us-east-1.elb.example."),
        "{msg}"
    );
}

#[test]
fn consistent_weighted_sets_give_a_subnet_the_same_answer_every_time() {
    let config = CONFIG.replace(
        "set_identifier = \"heavy\"\nweight = 3",
        "set_identifier = \"heavy\"\nweight = 3\nconsistent = true",
    );
    let snap = Setup::new("consistent", &config).snapshot();
    let mut distinct = BTreeMap::new();
    for third in 0..64u8 {
        let subnet = format!("198.51.{third}.0");
        let first = ask(&snap, "w.example.test.", "192.0.2.200", Some((&subnet, 24)));
        for _ in 0..20 {
            assert_eq!(
                ask(&snap, "w.example.test.", "192.0.2.200", Some((&subnet, 24))).0,
                first.0,
                "{subnet}"
            );
        }
        assert_eq!(first.1, Some(24), "the answer depends on the /24");
        *distinct.entry(first.0[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(
        distinct.len(),
        2,
        "different subnets still spread over both: {distinct:?}"
    );
}

#[test]
fn consistent_is_refused_on_policies_without_a_draw() {
    let bad = CONFIG.replace(
        "failover = \"PRIMARY\"",
        "failover = \"PRIMARY\"\nconsistent = true",
    );
    let e = Setup::new("consistent-bad", &bad).config().unwrap_err();
    assert!(
        e.contains("consistent applies to weighted and multivalue"),
        "{e}"
    );
}

#[test]
fn a_latency_map_overrides_distance() {
    let s = geo_setup("latmap", true);
    std::fs::write(
        s.dir.path().join("latency.txt"),
        "# measured\n198.51.100.0/24 us-west-2 10\n198.51.100.0/24 eu-central-1 90\n",
    )
    .unwrap();
    let toml = std::fs::read_to_string(s.dir.path().join("c.toml"))
        .unwrap()
        .replacen("[server]\n", "[server]\nlatency_map = \"latency.txt\"\n", 1);
    std::fs::write(s.dir.path().join("c.toml"), toml).unwrap();
    let snap = s.snapshot();
    // Frankfurt is nearer to this client, but the measurements say Oregon is faster.
    assert_eq!(
        ask(
            &snap,
            "near.example.test.",
            "127.0.0.1",
            Some(("198.51.100.0", 24))
        )
        .0,
        vec!["192.0.2.72"]
    );
    // A client outside the map still goes by distance.
    assert_eq!(
        ask(&snap, "near.example.test.", "192.0.2.70", None).0,
        vec!["192.0.2.72"],
        "Portland → Oregon"
    );
}

#[test]
fn a_broken_latency_map_is_reported_with_its_line() {
    let s = geo_setup("latmap-bad", true);
    std::fs::write(
        s.dir.path().join("latency.txt"),
        "198.51.100.0/24 us-west-2 10\n198.51.100.0/24 mars-1 5\n",
    )
    .unwrap();
    let toml = std::fs::read_to_string(s.dir.path().join("c.toml"))
        .unwrap()
        .replacen("[server]\n", "[server]\nlatency_map = \"latency.txt\"\n", 1);
    std::fs::write(s.dir.path().join("c.toml"), toml).unwrap();
    let built = load::build(&s.config().unwrap(), None);
    let msg = built
        .failures
        .iter()
        .map(|f| f.error.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        msg.contains("latency.txt:2: unknown region \"mars-1\""),
        "{msg}"
    );
}

const CALC: &str = r#"
[[zone]]
origin = "example.test."
file = "example.test.zone"
[[health_check]]
id = "a"
healthy = true
[[health_check]]
id = "b"
healthy = false
[[health_check]]
id = "both"
type = "CALCULATED"
child_health_checks = ["a", "b"]
health_threshold = THRESHOLD
[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "p"
failover = "PRIMARY"
health_check = "both"
values = ["192.0.2.91"]
[[record_set]]
name = "fo.example.test."
type = "A"
set_identifier = "s"
failover = "SECONDARY"
values = ["192.0.2.92"]
"#;

#[test]
fn a_calculated_check_is_healthy_when_enough_children_are() {
    let snap = Setup::new("calc1", &CALC.replace("THRESHOLD", "1")).snapshot();
    assert_eq!(
        ask(&snap, "fo.example.test.", "192.0.2.9", None).0,
        vec!["192.0.2.91"]
    );
    let snap = Setup::new("calc2", &CALC.replace("THRESHOLD", "2")).snapshot();
    assert_eq!(
        ask(&snap, "fo.example.test.", "192.0.2.9", None).0,
        vec!["192.0.2.92"]
    );
}

#[test]
fn route53_health_checks_load_as_probes_and_calculated_checks() {
    let s = Setup::new("r53hc", &CALC.replace("THRESHOLD", "1"));
    let json = s.dir.path().join("checks.json");
    std::fs::write(
        &json,
        r#"{"HealthChecks": [
          {"Id": "web-1", "CallerReference": "x", "HealthCheckVersion": 1,
           "HealthCheckConfig": {"IPAddress": "192.0.2.44", "Port": 443, "Type": "HTTPS_STR_MATCH",
             "ResourcePath": "/health", "FullyQualifiedDomainName": "www.example.com",
             "SearchString": "OK", "RequestInterval": 30, "FailureThreshold": 3,
             "MeasureLatency": false, "Inverted": false, "Disabled": false, "EnableSNI": true}},
          {"Id": "calc-1", "HealthCheckConfig": {"Type": "CALCULATED", "ChildHealthChecks": ["web-1", "a"], "HealthThreshold": 1}}
        ], "IsTruncated": false, "MaxItems": "100", "Marker": ""}"#,
    )
    .unwrap();
    let overrides = Overrides {
        health_checks: vec![json.display().to_string()],
        ..Overrides::default()
    };
    let config = Config::load(Some(&s.dir.path().join("c.toml")), &overrides).unwrap();
    let web = &config.probes["web-1"];
    assert!(
        !web.validate_certs,
        "Route 53 does not validate certificates"
    );
    assert_eq!((web.failure_threshold, web.interval.as_secs()), (3, 30));
    assert_eq!(config.calculated["calc-1"].children, vec!["web-1", "a"]);
    std::fs::write(
        &json,
        r#"{"HealthChecks": [{"Id": "cw", "HealthCheckConfig": {"Type": "CLOUDWATCH_METRIC"}}]}"#,
    )
    .unwrap();
    let e = Config::load(Some(&s.dir.path().join("c.toml")), &overrides)
        .unwrap_err()
        .to_string();
    assert!(e.contains("CLOUDWATCH_METRIC"), "{e}");
}

const CNAME_POLICIES: &str = r#"
[[zone]]
origin = "example.test."
file = "example.test.zone"

[[record_set]]
name = "wc.example.test."
type = "CNAME"
set_identifier = "to-www"
weight = 1
values = ["www.example.test."]

[[record_set]]
name = "wc.example.test."
type = "CNAME"
set_identifier = "to-ns1"
weight = 1
values = ["ns1"]

[[record_set]]
name = "gc.example.test."
type = "CNAME"
set_identifier = "germany"
geolocation = { country = "DE" }
values = ["www.example.test."]
"#;

/// The CNAME and its target's A record, for a query of `name` A.
fn cname_chain(snap: &Snapshot, name: &str) -> (Vec<String>, Vec<String>, ResponseCode) {
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = respond_from(
        snap,
        &query(name, None),
        Transport::Udp,
        Some("192.0.2.200".parse().unwrap()),
        &mut out,
    );
    let m = Message::from_vec(&out[..n]).unwrap();
    let (mut cnames, mut addrs) = (Vec::new(), Vec::new());
    for r in &m.answers {
        match &r.data {
            RData::CNAME(c) => cnames.push(c.0.to_string()),
            RData::A(a) => addrs.push(a.to_string()),
            _ => {}
        }
    }
    (cnames, addrs, m.metadata.response_code)
}

#[test]
fn a_weighted_cname_is_followed_to_the_chosen_members_target() {
    let s = Setup::new("wcname", CNAME_POLICIES);
    let snap = s.snapshot();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let (cnames, addrs, rc) = cname_chain(&snap, "wc.example.test.");
        assert_eq!(rc, ResponseCode::NoError);
        assert_eq!(
            cnames.len(),
            1,
            "one member of a weighted CNAME set answers"
        );
        let want = match cnames[0].as_str() {
            "www.example.test." => "192.0.2.1",
            "ns1.example.test." => "192.0.2.53",
            other => panic!("unexpected target {other}"),
        };
        assert_eq!(
            addrs,
            vec![want.to_string()],
            "the chosen member's target answers"
        );
        seen.insert(cnames[0].clone());
    }
    assert_eq!(seen.len(), 2, "both members are drawn");
}

#[test]
fn a_cname_policy_with_nothing_for_the_client_is_nodata() {
    let s = Setup::new("gcname", CNAME_POLICIES);
    let (cnames, addrs, rc) = cname_chain(&s.snapshot(), "gc.example.test.");
    assert_eq!(rc, ResponseCode::NoError);
    assert!(
        cnames.is_empty() && addrs.is_empty(),
        "{cnames:?} {addrs:?}"
    );
}

#[test]
fn multivalue_members_come_in_a_random_order() {
    let s = Setup::new("mv-order", CONFIG);
    let snap = s.snapshot();
    let mut first = [0usize; 2];
    for _ in 0..2000 {
        let a = ask(&snap, "mv.example.test.", "192.0.2.200", None).0;
        assert_eq!(a.len(), 2);
        first[(a[0] == "192.0.2.52") as usize] += 1;
    }
    // Each leads half the time: chi-square, 1 degree of freedom, below 23.93 (p = 10⁻⁶: the
    // draws are not seeded, so the bound is wide; a fixed order scores 2,000).
    assert!(chi_square(&first) < 23.93, "{first:?}");
}

#[test]
fn a_simple_record_set_of_the_config_answers_its_values_in_random_order() {
    let config = format!(
        "{CONFIG}\n[[record_set]]\nname = \"s.example.test.\"\ntype = \"A\"\nvalues = [\"192.0.2.61\", \"192.0.2.62\", \"192.0.2.63\"]\n"
    );
    let s = Setup::new("simple-order", &config);
    let snap = s.snapshot();
    let values = ["192.0.2.61", "192.0.2.62", "192.0.2.63"];
    let mut first = [0usize; 3];
    for _ in 0..3000 {
        let a = ask(&snap, "s.example.test.", "192.0.2.200", None).0;
        assert_eq!(a.len(), 3);
        first[values.iter().position(|v| *v == a[0]).unwrap()] += 1;
    }
    // Chi-square, 2 degrees of freedom, below 27.63 (p = 10⁻⁶; a fixed order scores 6,000).
    assert!(chi_square(&first) < 27.63, "{first:?}");
}
