//! Route 53 JSON brought unchanged: `list-resource-record-sets` exports and change batches read
//! by `policydns::route53`, Route 53's rules refused with messages naming the record set and
//! file, the realistic export in `zones/route53/` answered as Route 53 would, quick mode
//! (`serve --route53`) through the binary, SIGHUP re-reading the JSON, and `import route53`
//! round-tripping through `check --config`.

mod common;
use common::{a_records, chi_square, eventually, query, Server, TempDir, BIN};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hickory_proto::op::Message;
use policydns::answer::respond_from;
use policydns::config::{Config, Overrides};
use policydns::load;
use policydns::route53::{self, Document};
use policydns::snapshot::Snapshot;
use policydns::wire::{Transport, MAX_MESSAGE};

const ORIGIN: &str = "route53.test.";
const COLLECTION: &str = "4c2f7c7a-9b1e-4d2b-a6a8-0d5e3c1f2b10";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn example() -> PathBuf {
    repo("zones/route53/example.json")
}

fn blocks() -> PathBuf {
    repo("zones/route53/cidr-blocks.json")
}

/// Quick mode in-process: `--route53 ORIGIN=FILE... --cidr-collection ID=BLOCKS [--config C]`.
fn quick(config: Option<&Path>, files: &[&Path]) -> Result<(Snapshot, Vec<String>), String> {
    let cli = Overrides {
        route53: files
            .iter()
            .map(|f| format!("{ORIGIN}={}", f.display()))
            .collect(),
        cidr_collections: vec![format!("{COLLECTION}={}", blocks().display())],
        ..Overrides::default()
    };
    let config = Config::load(config, &cli).map_err(|e| e.to_string())?;
    built(&config)
}

fn built(config: &Config) -> Result<(Snapshot, Vec<String>), String> {
    let b = load::build(config, None);
    if b.failures.is_empty() {
        Ok((b.snapshot, b.warnings))
    } else {
        Err(b
            .failures
            .iter()
            .flat_map(|f| f.error.problems.iter().map(|p| p.to_string()))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

fn example_snapshot() -> Snapshot {
    quick(None, &[&example()]).unwrap().0
}

/// The answer section as `owner TYPE data` lines, sorted.
fn ask_full(snap: &Snapshot, name: &str, qtype: u16, ecs: Option<(&str, u8)>) -> Vec<String> {
    let mut out = vec![0u8; MAX_MESSAGE];
    let ecs = ecs.map(|(a, p)| (a.parse().unwrap(), p));
    let n = respond_from(
        snap,
        &query(name, qtype, ecs),
        Transport::Udp,
        Some("192.0.2.200".parse().unwrap()),
        &mut out,
    );
    let m = Message::from_vec(&out[..n]).unwrap();
    let mut lines: Vec<String> = m
        .answers
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect();
    lines.sort();
    lines
}

/// The A addresses in the answer.
fn ask(snap: &Snapshot, name: &str) -> Vec<String> {
    ask_ecs(snap, name, None)
}

fn ask_ecs(snap: &Snapshot, name: &str, ecs: Option<(&str, u8)>) -> Vec<String> {
    ask_full(snap, name, 1, ecs)
        .into_iter()
        .filter_map(|l| l.split_once(" A ").map(|(_, a)| a.to_string()))
        .collect()
}

/// The apex SOA and NS every test zone needs, then `sets` (JSON objects, comma-separated).
fn export(sets: &str) -> String {
    format!(
        r#"{{"ResourceRecordSets": [
  {{"Name": "route53.test.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{{"Value": "ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}}]}},
  {{"Name": "route53.test.", "Type": "NS", "TTL": 172800, "ResourceRecords": [{{"Value": "ns-1.awsdns-01.org."}}]}},
  {sets}
]}}"#
    )
}

/// Loads `json` (an export) as a zone and returns every problem, one per line.
fn refused(tag: &str, json: &str) -> String {
    let dir = TempDir::new(tag);
    let file = dir.write("records.json", json);
    match quick(None, &[&file]) {
        Ok(_) => panic!("{tag}: loaded, but should have been refused"),
        Err(e) => {
            assert!(
                e.contains(&file.display().to_string()),
                "{tag}: the message names no file: {e}"
            );
            e
        }
    }
}

const WEIGHTED: &str = r#"
  {"Name": "w.route53.test.", "Type": "A", "SetIdentifier": "one", "Weight": 1, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
  {"Name": "w.route53.test.", "Type": "A", "SetIdentifier": "two", "Weight": 1, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]}"#;

// --- Reading the documents ---------------------------------------------------------------

#[test]
fn list_resource_record_sets_output_parses() {
    let text = std::fs::read_to_string(example()).unwrap();
    let Document::RecordSets(sets) = route53::parse_document(&text, &example()).unwrap() else {
        panic!("an export is a list of record sets");
    };
    assert_eq!(sets.len(), 34);
    let green = sets
        .iter()
        .find(|s| s.set_identifier.as_deref() == Some("green"))
        .unwrap();
    assert_eq!(
        (
            green.name.as_str(),
            green.rtype.as_str(),
            green.weight,
            green.ttl
        ),
        ("api.route53.test.", "A", Some(30), Some(60))
    );
    let apex_alias = &sets[0];
    let target = apex_alias.alias_target.as_ref().unwrap();
    assert_eq!(target.dns_name, "www.route53.test.");
    assert!(!target.evaluate_target_health);
    assert!(sets.iter().any(|s| s.name == "\\052.route53.test."));
}

#[test]
fn a_change_batch_creates_upserts_and_deletes_in_order() {
    let sets = route53::read_files(&[example(), repo("zones/route53/changes.json")]).unwrap();
    let find = |name: &str, id: Option<&str>| {
        sets.iter()
            .find(|l| l.set.name == name && l.set.set_identifier.as_deref() == id)
    };
    // UPSERT replaced green in place; CREATE added staging; DELETE removed the SRV.
    let green = find("api.route53.test.", Some("green")).unwrap();
    assert_eq!(green.set.weight, Some(70));
    assert!(green.at.ends_with("changes.json change 1"), "{}", green.at);
    assert!(find("staging.route53.test.", None).is_some());
    assert!(find("_sip._tcp.route53.test.", None).is_none());
    assert_eq!(sets.len(), 34);

    // The same batch loads as a zone, and answers with the change applied.
    let snap = quick(None, &[&example(), &repo("zones/route53/changes.json")])
        .unwrap()
        .0;
    assert_eq!(ask(&snap, "staging.route53.test."), vec!["192.0.2.90"]);
}

#[test]
fn a_wrapped_change_batch_with_a_comment_is_read() {
    let dir = TempDir::new("wrapped");
    let batch = dir.write(
        "batch.json",
        r#"{"HostedZoneId": "Z0EXAMPLE7TEST", "ChangeBatch": {"Comment": "initial", "Changes": [
              {"Action": "CREATE", "ResourceRecordSet": {"Name": "route53.test", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]}},
              {"Action": "CREATE", "ResourceRecordSet": {"Name": "route53.test", "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org"}]}},
              {"Action": "UPSERT", "ResourceRecordSet": {"Name": "x.route53.test", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.7"}]}}
            ]}}"#,
    );
    let snap = quick(None, &[&batch]).unwrap().0;
    assert_eq!(ask(&snap, "x.route53.test."), vec!["192.0.2.7"]);
}

#[test]
fn create_of_an_existing_record_set_is_refused() {
    let dir = TempDir::new("create-dup");
    let base = dir.write("base.json", &export(WEIGHTED));
    let batch = dir.write(
        "batch.json",
        r#"{"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "W.route53.test", "Type": "A", "SetIdentifier": "two", "Weight": 5, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.9"}]}}]}"#,
    );
    let e = quick(None, &[&base, &batch]).err().unwrap();
    assert!(
        e.contains("batch.json change 1")
            && e.contains("CREATE W.route53.test A (two): the record set already exists")
            && e.contains("UPSERT replaces it"),
        "{e}"
    );
}

#[test]
fn delete_removes_only_an_exact_match() {
    let dir = TempDir::new("delete");
    let base = dir.write("base.json", &export(WEIGHTED));
    let wrong = dir.write(
        "wrong.json",
        r#"{"Changes": [{"Action": "DELETE", "ResourceRecordSet": {"Name": "w.route53.test.", "Type": "A", "SetIdentifier": "two", "Weight": 1, "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.2"}]}}]}"#,
    );
    let e = quick(None, &[&base, &wrong]).err().unwrap();
    assert!(e.contains("the values given differ"), "{e}");

    let right = dir.write(
        "right.json",
        &std::fs::read_to_string(&wrong)
            .unwrap()
            .replace("300", "60"),
    );
    // Deleting one of a weighted pair leaves a valid group of one.
    let snap = quick(None, &[&base, &right]).unwrap().0;
    assert_eq!(ask(&snap, "w.route53.test."), vec!["192.0.2.1"]);
}

#[test]
fn octal_escapes_in_names_are_decoded() {
    assert_eq!(
        route53::octal_to_master("\\052.example.com.").unwrap(),
        "*.example.com."
    );
    // Through a whole conversion: the owner is the wildcard label.
    let text = r#"{"ResourceRecordSets": [
      {"Name": "example.com.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]},
      {"Name": "example.com.", "Type": "NS", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org."}]},
      {"Name": "\\052.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
      {"Name": "a\\056b.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]}
    ]}"#;
    let dir = TempDir::new("octal");
    let file = dir.write("e.json", text);
    let sets = route53::read_files(&[file]).unwrap();
    let origin = policydns::wire::name::from_text("example.com.", None).unwrap();
    let imported =
        route53::convert(&sets, &origin, &[], route53::ConvertOptions::default()).unwrap();
    let owners: BTreeSet<Vec<u8>> = imported
        .records
        .iter()
        .filter(|r| r.rtype == 1)
        .map(|r| r.owner.clone())
        .collect();
    assert!(owners.contains(b"\x01*\x07example\x03com\x00".as_slice()));
    // \056 is a dot inside a label, not a label separator.
    assert!(owners.contains(b"\x03a.b\x07example\x03com\x00".as_slice()));
    assert!(imported
        .zone_text
        .contains("*.example.com. 60 IN A 192.0.2.1"));
}

#[test]
fn octal_escapes_in_txt_values_are_decoded() {
    let snap = example_snapshot();
    // "wildcard\040match" in the export: \040 is a space.
    assert_eq!(
        ask_full(&snap, "anything.route53.test.", 16, None),
        vec!["anything.route53.test. TXT wildcard match"]
    );
}

// --- Route 53's rules, refused with the record set and file named ---------------------------

#[test]
fn mixed_policies_in_a_group_are_refused() {
    let e = refused(
        "mixed",
        &export(&WEIGHTED.replace(
            r#""Weight": 1, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]"#,
            r#""Failover": "PRIMARY", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]"#,
        )),
    );
    assert!(
        e.contains("w.route53.test. A: one name and type takes one routing policy")
            && e.contains("w.route53.test. A (one) at ")
            && e.contains("record set 3 is weighted")
            && e.contains("record set 4 is failover"),
        "{e}"
    );
}

#[test]
fn a_simple_record_set_beside_a_weighted_one_is_refused() {
    let e = refused(
        "simple-mixed",
        &export(&format!(
            r#"{WEIGHTED},
  {{"Name": "w.route53.test.", "Type": "A", "TTL": 60, "ResourceRecords": [{{"Value": "192.0.2.3"}}]}}"#
        )),
    );
    assert!(
        e.contains("one routing policy") && e.contains("is simple"),
        "{e}"
    );
}

#[test]
fn duplicate_set_identifiers_are_refused() {
    let e = refused("dup-id", &export(&WEIGHTED.replace("\"two\"", "\"one\"")));
    assert!(
        e.contains("set_identifier \"one\" is used twice") && e.contains("record set 4"),
        "{e}"
    );
}

#[test]
fn two_primaries_are_refused() {
    let e = refused(
        "two-primaries",
        &export(
            r#"
  {"Name": "f.route53.test.", "Type": "A", "SetIdentifier": "a", "Failover": "PRIMARY", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
  {"Name": "f.route53.test.", "Type": "A", "SetIdentifier": "b", "Failover": "PRIMARY", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]}"#,
        ),
    );
    assert!(
        e.contains("f.route53.test. A: two record sets for PRIMARY")
            && e.contains("needs one SECONDARY"),
        "{e}"
    );
}

#[test]
fn a_weight_above_255_is_refused() {
    let e = refused(
        "weight",
        &export(&WEIGHTED.replacen("\"Weight\": 1", "\"Weight\": 256", 1)),
    );
    assert!(
        e.contains("record set 3: w.route53.test. A (one): Weight 256 is outside 0..255"),
        "{e}"
    );
}

#[test]
fn an_unknown_region_is_refused() {
    let e = refused(
        "region",
        &export(
            r#"{"Name": "l.route53.test.", "Type": "A", "SetIdentifier": "mars", "Region": "mars-north-1", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}"#,
        ),
    );
    assert!(
        e.contains("l.route53.test. A (mars) at ") && e.contains("unknown region \"mars-north-1\""),
        "{e}"
    );
}

#[test]
fn a_cname_beside_other_data_is_refused() {
    let e = refused(
        "cname",
        &export(
            r#"
  {"Name": "c.route53.test.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "www.route53.test"}]},
  {"Name": "c.route53.test.", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": "\"x\""}]}"#,
        ),
    );
    assert!(
        e.contains("record set 3: CNAME at c.route53.test. next to other data (TXT)"),
        "{e}"
    );
}

#[test]
fn an_alias_to_an_unconfigured_load_balancer_is_refused_not_dropped() {
    let e = refused(
        "elb",
        &export(
            r#"{"Name": "lb.route53.test.", "Type": "A", "AliasTarget": {"HostedZoneId": "Z3AADJGX6KTTL2", "DNSName": "dualstack.example-com-123456789.us-east-2.elb.amazonaws.com. ", "EvaluateTargetHealth": true}}"#,
        ),
    );
    assert!(
        e.contains("alias target dualstack.example-com-123456789.us-east-2.elb.amazonaws.com. is not in zone route53.test.")
            && e.contains("no [[load_balancer]] is named example-com-123456789.us-east-2.elb.amazonaws.com."),
        "{e}"
    );
}

#[test]
fn an_unknown_field_is_refused_by_name() {
    let e = refused(
        "field",
        &export(
            r#"{"Name": "u.route53.test.", "Type": "A", "Wieght": 10, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}"#,
        ),
    );
    assert!(e.contains("unknown field `Wieght`"), "{e}");
    // The line of the JSON it is on.
    assert!(e.contains("records.json:4:"), "{e}");
}

#[test]
fn a_traffic_policy_record_is_refused() {
    let e = refused(
        "tp",
        &export(
            r#"{"Name": "tp.route53.test.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}], "TrafficPolicyInstanceId": "tp-1234"}"#,
        ),
    );
    assert!(e.contains("traffic policies are not supported"), "{e}");
}

#[test]
fn an_export_without_soa_and_ns_is_refused() {
    let e = refused(
        "no-apex",
        r#"{"ResourceRecordSets": [{"Name": "x.route53.test.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}]}"#,
    );
    assert!(
        e.contains("no SOA record set at the apex") && e.contains("no NS record set at the apex"),
        "{e}"
    );
}

#[test]
fn an_ip_based_set_without_its_cidr_collection_is_refused() {
    let cli = Overrides {
        route53: vec![format!("{ORIGIN}={}", example().display())],
        ..Overrides::default()
    };
    let e = built(&Config::load(None, &cli).unwrap()).err().unwrap();
    assert!(
        e.contains(&format!("give --cidr-collection {COLLECTION}=BLOCKS.json")),
        "{e}"
    );
}

// --- Health checks ----------------------------------------------------------------------------

#[test]
fn undefined_health_checks_are_healthy_with_a_warning() {
    let (snap, warnings) = quick(None, &[&example()]).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("HealthCheckId")
            && w.contains("0b9f5a4c-1d2e-4f6a-8b7c-000000000001")
            && w.contains("treated as healthy")),
        "{warnings:?}"
    );
    assert_eq!(ask(&snap, "app.route53.test."), vec!["198.51.100.10"]);
}

#[test]
fn a_health_check_defined_in_the_config_drives_the_answer() {
    let dir = TempDir::new("hc");
    let config = dir.write(
        "c.toml",
        "[[health_check]]\nid = \"0b9f5a4c-1d2e-4f6a-8b7c-000000000001\"\nhealthy = false\n",
    );
    let (snap, _) = quick(Some(&config), &[&example()]).unwrap();
    assert_eq!(ask(&snap, "app.route53.test."), vec!["198.51.100.20"]);
}

#[test]
fn toml_record_sets_keep_the_strict_health_check_reference() {
    let dir = TempDir::new("strict");
    let config = dir.write(
        "c.toml",
        "[[record_set]]\nname = \"t.route53.test.\"\ntype = \"A\"\nhealth_check = \"nope\"\nvalues = [\"192.0.2.1\"]\n",
    );
    let e = quick(Some(&config), &[&example()]).err().unwrap();
    assert!(e.contains("health_check \"nope\" is not defined"), "{e}");
}

// --- The realistic export, answered as Route 53 would --------------------------------------

#[test]
fn weighted_answers_both_members() {
    let snap = example_snapshot();
    let seen: BTreeSet<String> = (0..400)
        .flat_map(|_| ask(&snap, "api.route53.test."))
        .collect();
    assert_eq!(
        seen,
        BTreeSet::from(["192.0.2.10".to_string(), "192.0.2.11".to_string()])
    );
}

#[test]
fn failover_answers_the_primary() {
    assert_eq!(
        ask(&example_snapshot(), "app.route53.test."),
        vec!["198.51.100.10"]
    );
}

#[test]
fn geolocation_answers_the_default_for_an_unknown_location() {
    assert_eq!(
        ask(&example_snapshot(), "geo.route53.test."),
        vec!["203.0.113.19"]
    );
}

#[test]
fn an_alias_at_the_apex_answers_with_www_under_the_apex_name() {
    assert_eq!(
        ask_full(&example_snapshot(), ORIGIN, 1, None),
        vec!["route53.test. A 192.0.2.80"]
    );
}

#[test]
fn ip_based_answers_by_the_client_subnet() {
    let snap = example_snapshot();
    assert_eq!(
        ask_ecs(&snap, "ip.route53.test.", Some(("198.51.100.7", 24))),
        vec!["192.0.2.41"]
    );
    assert_eq!(
        ask_ecs(&snap, "ip.route53.test.", Some(("2001:db8:b::1", 56))),
        vec!["192.0.2.42"]
    );
    // ECS is clamped to /24, so the berlin /25 cannot match an IPv4 client: the default.
    assert_eq!(
        ask_ecs(&snap, "ip.route53.test.", Some(("203.0.113.9", 32))),
        vec!["192.0.2.49"]
    );
    assert_eq!(ask(&snap, "ip.route53.test."), vec!["192.0.2.49"]);
}

#[test]
fn multivalue_answers_every_healthy_member() {
    let mut got = ask(&example_snapshot(), "mv.route53.test.");
    got.sort();
    assert_eq!(got, vec!["198.51.100.1", "198.51.100.2", "198.51.100.3"]);
}

#[test]
fn simple_records_and_names_in_values_are_served_fully_qualified() {
    let snap = example_snapshot();
    // "www.route53.test" without the final dot is fully qualified, as Route 53 reads it.
    let docs = ask_full(&snap, "docs.route53.test.", 1, None);
    assert!(
        docs.contains(&"docs.route53.test. CNAME www.route53.test.".to_string()),
        "{docs:?}"
    );
    assert!(
        docs.contains(&"www.route53.test. A 192.0.2.80".to_string()),
        "{docs:?}"
    );
    let mx = ask_full(&snap, ORIGIN, 15, None);
    assert!(
        mx.contains(&"route53.test. MX 20 mail2.route53.test.".to_string()),
        "{mx:?}"
    );
}

#[test]
fn a_zone_file_beside_the_json_gives_the_apex_soa_and_ns() {
    let dir = TempDir::new("with-zone");
    let zone = dir.write(
        "z",
        "$TTL 60\n@ SOA ns1 hostmaster 7 7200 900 1209600 60\n  NS ns1\nns1 A 192.0.2.53\n",
    );
    let cli = Overrides {
        zones: vec![format!("{ORIGIN}={}", zone.display())],
        route53: vec![format!("{ORIGIN}={}", example().display())],
        cidr_collections: vec![format!("{COLLECTION}={}", blocks().display())],
        ..Overrides::default()
    };
    let (snap, _) = built(&Config::load(None, &cli).unwrap()).unwrap();
    assert_eq!(snap.catalog.zones()[0].serial, 7);
    assert_eq!(
        ask_full(&snap, ORIGIN, 2, None),
        vec!["route53.test. NS ns1.route53.test."]
    );
    assert_eq!(ask(&snap, "api.route53.test.").len(), 1);
}

// --- The binary -----------------------------------------------------------------------------

fn serve(dir: &TempDir, args: &[&str]) -> Server {
    common::serve(dir, args, "www.route53.test.")
}

fn try_udp(addr: SocketAddr, name: &str, timeout: Duration) -> Option<Message> {
    common::try_udp(addr, name, 1, timeout)
}

#[test]
fn quick_mode_serves_the_export_over_udp() {
    let dir = TempDir::new("serve");
    let s = serve(
        &dir,
        &[
            "--route53",
            "route53.test.=zones/route53/example.json",
            "--cidr-collection",
            &format!("{COLLECTION}=zones/route53/cidr-blocks.json"),
        ],
    );
    let r = try_udp(s.addr, "route53.test.", Duration::from_secs(2)).expect("an answer");
    assert!(r.metadata.authoritative);
    assert_eq!(a_records(&r), vec!["192.0.2.80"]);
    let r = try_udp(s.addr, "app.route53.test.", Duration::from_secs(2)).expect("an answer");
    assert_eq!(a_records(&r), vec!["198.51.100.10"]);
}

#[test]
fn sighup_rereads_the_json_and_keeps_the_old_zone_when_it_breaks() {
    let dir = TempDir::new("reload");
    let text = export(
        r#"{"Name": "www.route53.test.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}"#,
    );
    let file = dir.write("records.json", &text);
    let s = serve(
        &dir,
        &["--route53", &format!("{ORIGIN}={}", file.display())],
    );
    let www = || a_records(&try_udp(s.addr, "www.route53.test.", Duration::from_secs(2)).unwrap());
    assert_eq!(www(), vec!["192.0.2.1"]);
    let hup = || s.signal(libc::SIGHUP);

    std::fs::write(&file, text.replace("192.0.2.1", "192.0.2.2")).unwrap();
    hup();
    eventually("the new address after SIGHUP", || {
        www() == vec!["192.0.2.2"]
    });

    std::fs::write(
        &file,
        text.replace("192.0.2.1", "192.0.2.3").replace("]}", "]"),
    )
    .unwrap();
    hup();
    let name = file.display().to_string();
    eventually("the reload error naming the file", || {
        s.log()
            .lines()
            .any(|l| l.contains("reload failed") && l.contains(&name))
    });
    assert_eq!(www(), vec!["192.0.2.2"]);
}

#[test]
fn check_reads_route53_json() {
    let out = Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "--route53",
            "route53.test.=zones/route53/example.json",
            "--cidr-collection",
            &format!("{COLLECTION}=zones/route53/cidr-blocks.json"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("route53.test.: serial 1"));
}

/// The names and types whose answers do not depend on chance.
const DETERMINISTIC: &[(&str, u16)] = &[
    ("route53.test.", 1),
    ("route53.test.", 2),
    ("route53.test.", 6),
    ("route53.test.", 15),
    ("route53.test.", 16),
    ("route53.test.", 257),
    ("www.route53.test.", 1),
    ("www.route53.test.", 28),
    ("docs.route53.test.", 1),
    ("mail.route53.test.", 28),
    ("app.route53.test.", 1),
    ("geo.route53.test.", 1),
    ("lat.route53.test.", 1),
    ("near.route53.test.", 1),
    ("ip.route53.test.", 1),
    ("mv.route53.test.", 1),
    ("_sip._tcp.route53.test.", 33),
    ("wild.route53.test.", 16),
    ("nothere.route53.test.", 1),
    ("_dmarc.route53.test.", 16),
];

#[test]
fn import_writes_a_config_that_checks_and_answers_the_same() {
    let dir = TempDir::new("import");
    let out = dir.path().join("out");
    let run = Command::new(BIN)
        .args(["import", "route53"])
        .arg(example())
        .args(["--origin", "route53.test", "--out"])
        .arg(&out)
        .arg("--cidr-collection")
        .arg(format!("{COLLECTION}={}", blocks().display()))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let config = out.join("policydns.toml");
    assert!(out.join("route53.test.zone").exists());

    let check = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let imported = built(&Config::load(Some(&config), &Overrides::default()).unwrap())
        .unwrap()
        .0;
    let direct = example_snapshot();
    for (name, qtype) in DETERMINISTIC {
        assert_eq!(
            ask_full(&imported, name, *qtype, None),
            ask_full(&direct, name, *qtype, None),
            "{name} type {qtype}"
        );
    }
    for ecs in ["198.51.100.7", "203.0.113.9"] {
        assert_eq!(
            ask_ecs(&imported, "ip.route53.test.", Some((ecs, 24))),
            ask_ecs(&direct, "ip.route53.test.", Some((ecs, 24)))
        );
    }
    let weighted: BTreeSet<String> = (0..400)
        .flat_map(|_| ask(&imported, "api.route53.test."))
        .collect();
    assert_eq!(weighted.len(), 2);

    // A second run does not overwrite the files unless told to.
    let again = Command::new(BIN)
        .args(["import", "route53"])
        .arg(example())
        .args(["--origin", "route53.test", "--out"])
        .arg(&out)
        .arg("--cidr-collection")
        .arg(format!("{COLLECTION}={}", blocks().display()))
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

#[test]
fn import_prints_both_files_under_headers_without_out() {
    let run = Command::new(BIN)
        .args(["import", "route53"])
        .arg(example())
        .args(["--origin", "route53.test."])
        .arg("--cidr-collection")
        .arg(format!("{COLLECTION}={}", blocks().display()))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    let toml_at = text.find("# ---- policydns.toml ----").unwrap();
    let zone_at = text.find("; ---- route53.test.zone ----").unwrap();
    assert!(toml_at < zone_at);
    assert!(text[..zone_at].contains("[[record_set]]\nname = \"api.route53.test.\""));
    assert!(text[zone_at..].contains("*.route53.test. 300 IN TXT"));
}

#[test]
fn import_refuses_what_load_refuses() {
    let dir = TempDir::new("import-bad");
    let file = dir.write(
        "bad.json",
        &export(&WEIGHTED.replacen("\"Weight\": 1", "\"Weight\": 256", 1)),
    );
    let run = Command::new(BIN)
        .args(["import", "route53"])
        .arg(&file)
        .args(["--origin", "route53.test."])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("Weight 256 is outside 0..255"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn a_toml_config_names_route53_files_for_zones_and_cidr_collections() {
    let dir = TempDir::new("toml");
    let config = dir.write(
        "c.toml",
        &format!(
            "[[zone]]\norigin = \"{ORIGIN}\"\nroute53 = [{:?}, {:?}]\n\n[[cidr_collection]]\nid = \"{COLLECTION}\"\nroute53 = {:?}\n",
            example().display().to_string(),
            repo("zones/route53/changes.json").display().to_string(),
            blocks().display().to_string(),
        ),
    );
    let (snap, _) = built(&Config::load(Some(&config), &Overrides::default()).unwrap()).unwrap();
    assert_eq!(ask(&snap, "staging.route53.test."), vec!["192.0.2.90"]);
    assert_eq!(
        ask_ecs(&snap, "ip.route53.test.", Some(("198.51.100.7", 24))),
        vec!["192.0.2.41"]
    );
}

/// The A addresses of one answer to `name`, in the order they came.
fn a_in_order(snap: &Snapshot, name: &str) -> Vec<String> {
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = respond_from(snap, &query(name, 1, None), Transport::Udp, None, &mut out);
    let m = Message::from_vec(&out[..n]).unwrap();
    m.answers.iter().map(|r| r.data.to_string()).collect()
}

#[test]
fn a_simple_record_set_answers_its_values_in_random_order() {
    let dir = TempDir::new("order");
    let file = dir.write(
        "records.json",
        &export(
            r#"{"Name": "multi.route53.test.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}, {"Value": "192.0.2.3"}]}"#,
        ),
    );
    let snap = quick(None, &[&file]).unwrap().0;
    let values = ["192.0.2.1", "192.0.2.2", "192.0.2.3"];
    let mut first = [0usize; 3];
    let mut orders = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let a = a_in_order(&snap, "multi.route53.test.");
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, values, "every value, every time");
        first[values.iter().position(|v| *v == a[0]).unwrap()] += 1;
        orders.insert(a);
    }
    // Route 53 "returns all values to the recursive resolver in random order": each value
    // leads a third of the time (chi-square, 2 degrees of freedom, below 27.63: p = 10⁻⁶, as
    // the draws are not seeded; a fixed order scores 6,000), and all six orders occur.
    assert!(chi_square(&first) < 27.63, "{first:?}");
    assert_eq!(orders.len(), 6, "{orders:?}");
}

#[test]
fn a_zone_file_answers_in_its_stored_order_as_nsd_and_knot_do() {
    let dir = TempDir::new("order-fixed");
    let zone = dir.write(
        "z",
        "$TTL 60\n@ SOA ns1 hostmaster 7 7200 900 1209600 60\n  NS ns1\nns1 A 192.0.2.53\nm A 192.0.2.3\nm A 192.0.2.1\nm A 192.0.2.2\n",
    );
    let cli = Overrides {
        zones: vec![format!("{ORIGIN}={}", zone.display())],
        ..Overrides::default()
    };
    let built = load::build(&Config::load(None, &cli).unwrap(), None);
    let first = a_in_order(&built.snapshot, "m.route53.test.");
    assert_eq!(first, ["192.0.2.3", "192.0.2.1", "192.0.2.2"]);
    for _ in 0..100 {
        assert_eq!(a_in_order(&built.snapshot, "m.route53.test."), first);
    }
}
