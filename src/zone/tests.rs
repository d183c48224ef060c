//! Compiled zones: the facts a lookup relies on, decided at load time.
use super::*;
use std::path::Path;

fn zone(text: &str) -> Result<(Zone, Vec<String>), LoadError> {
    let origin = name::from_text("example.test.", None).unwrap();
    let recs = parse::parse_str(text, &origin, Path::new("t.zone"))?;
    Zone::compile(&origin, recs)
}

const HEAD: &str = "$TTL 300\n@ SOA ns1 admin 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\n";

fn lower(s: &str) -> Vec<u8> {
    name::from_text(s, None).unwrap()
}

#[test]
fn empty_non_terminals_become_nodes_without_data() {
    let (z, _) = zone(&format!("{HEAD}a.b.c A 192.0.2.1\n")).unwrap();
    let ent = z.find(&lower("b.c.example.test.")).unwrap();
    assert!(z.node(ent).is_empty());
    assert!(z.find(&lower("c.example.test.")).is_some());
}

#[test]
fn nodes_below_a_cut_point_at_the_cut() {
    let (z, _) = zone(&format!("{HEAD}sub NS ns.sub\nns.sub A 192.0.2.2\n")).unwrap();
    let cut = z.find(&lower("sub.example.test.")).unwrap();
    assert!(z.node(cut).is_cut());
    let glue = z.find(&lower("ns.sub.example.test.")).unwrap();
    assert_eq!(z.node(glue).shadow, cut);
    // The referral's NS RRset knows its glue.
    assert_eq!(
        z.additional(z.rrset(z.node(cut), types::NS).unwrap()),
        &[glue]
    );
}

#[test]
fn wildcard_child_is_linked_to_its_parent() {
    let (z, _) = zone(&format!("{HEAD}*.w A 192.0.2.3\n")).unwrap();
    let w = z.find(&lower("w.example.test.")).unwrap();
    assert_eq!(
        z.node(w).wildcard,
        z.find(&lower("*.w.example.test.")).unwrap()
    );
}

#[test]
fn negative_ttl_is_min_of_soa_ttl_and_minimum() {
    let (z, _) = zone(HEAD).unwrap();
    assert_eq!(z.negative_soa.ttl, 60);
    assert_eq!(z.serial, 1);
}

#[test]
fn cname_beside_other_data_is_an_error_with_its_line() {
    let e = zone(&format!("{HEAD}www CNAME x\nwww A 192.0.2.1\n")).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert!(e.problems[0].message.contains("CNAME"), "{e}");
    assert_eq!(e.problems[0].line, 5);
}

#[test]
fn missing_soa_and_ns_are_errors() {
    let e = zone("$TTL 60\nwww A 192.0.2.1\n").unwrap_err();
    assert_eq!(e.problems.len(), 2, "{e}");
}

#[test]
fn second_soa_is_an_error() {
    assert!(zone(&format!("{HEAD}@ SOA ns2 admin 2 1 1 1 1\n")).is_err());
}

#[test]
fn out_of_zone_data_is_ignored_with_a_warning() {
    let (z, w) = zone(&format!("{HEAD}other.test. A 192.0.2.9\n")).unwrap();
    assert!(z.find(&lower("other.test.")).is_none());
    assert!(w[0].contains("outside zone"), "{w:?}");
}

#[test]
fn duplicate_records_collapse() {
    let (z, _) = zone(&format!("{HEAD}www A 192.0.2.1\nwww A 192.0.2.1\n")).unwrap();
    let id = z.find(&lower("www.example.test.")).unwrap();
    assert_eq!(z.rrset(z.node(id), types::A).unwrap().count, 1);
}

#[test]
fn catalog_picks_the_most_specific_zone() {
    let (parent, _) = zone(HEAD).unwrap();
    let child_origin = lower("sub.example.test.");
    let recs = parse::parse_str(
        "$TTL 60\n@ SOA ns admin 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n",
        &child_origin,
        Path::new("c.zone"),
    )
    .unwrap();
    let (child, _) = Zone::compile(&child_origin, recs).unwrap();
    let cat = Catalog::new(vec![Arc::new(parent), Arc::new(child)]);
    assert_eq!(
        &*cat.find_zone(&lower("a.sub.example.test.")).unwrap().origin,
        &child_origin[..]
    );
    assert_eq!(
        &*cat.find_zone(&lower("www.example.test.")).unwrap().origin,
        &lower("example.test.")[..]
    );
    assert!(cat.find_zone(&lower("example.org.")).is_none());
}
