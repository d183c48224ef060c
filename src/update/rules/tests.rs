//! RFC 2136's prerequisites and operations on a hosted zone, one behaviour per row.

use std::collections::BTreeMap;

use super::*;
use crate::store::RecordSets;

fn wire(text: &str) -> Vec<u8> {
    name::to_lowercase(&name::from_text(text, None).unwrap())
}

fn set(name: &str, rtype: &str, ttl: i64, values: &[&str]) -> ResourceRecordSet {
    let values = values.iter().map(|v| v.to_string()).collect();
    ResourceRecordSet::simple(name.into(), rtype.into(), ttl, values)
}

fn zone() -> HostedZone {
    let mut weighted = set("w.z.test.", "A", 60, &["198.51.100.1"]);
    weighted.set_identifier = Some("one".into());
    weighted.weight = Some(1);
    HostedZone {
        id: "Z".into(),
        name: "z.test.".into(),
        caller_reference: "r".into(),
        comment: None,
        private_zone: false,
        vpcs: Vec::new(),
        name_servers: vec!["ns1.z.test.".into()],
        serial: 1,
        record_sets: RecordSets::from_sets([
            set(
                "z.test.",
                "SOA",
                900,
                &["ns1.z.test. h.z.test. 1 7200 900 1209600 86400"],
            ),
            set("z.test.", "NS", 900, &["ns1.z.test."]),
            set("www.z.test.", "A", 300, &["192.0.2.1", "192.0.2.2"]),
            set("alias.z.test.", "CNAME", 300, &["www.z.test."]),
            weighted,
        ]),
        tags: BTreeMap::new(),
        dnssec: Default::default(),
    }
}

/// A record of the update or prerequisite section: `owner class type ttl rdata` with rdata as
/// an address (A), a name (NS, CNAME) or text (TXT); `-` for none.
fn rr(spec: &str) -> UpdateRr {
    let f: Vec<&str> = spec.split_whitespace().collect();
    let class = match f[1] {
        "IN" => types::CLASS_IN,
        "ANY" => types::CLASS_ANY,
        "NONE" => types::CLASS_NONE,
        other => other.parse().unwrap(),
    };
    let rtype = types::from_mnemonic(f[2]).unwrap();
    let rdata = match (f[4], rtype) {
        ("-", _) => Vec::new(),
        (v, types::A) => v.parse::<std::net::Ipv4Addr>().unwrap().octets().to_vec(),
        (v, types::TXT) => [&[v.len() as u8][..], v.as_bytes()].concat(),
        (v, _) => wire(v),
    };
    UpdateRr {
        owner: wire(f[0]),
        rtype,
        class,
        ttl: f[3].parse().unwrap(),
        rdata,
    }
}

/// The changes as `ACTION name type ttl [values]`.
fn summary(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            let s = &c.resource_record_set;
            let values: Vec<&str> = s
                .resource_records
                .iter()
                .flatten()
                .map(|r| r.value.as_str())
                .collect();
            format!(
                "{:?} {} {} {} {values:?}",
                c.action,
                s.name,
                s.rtype,
                s.ttl.unwrap_or(0)
            )
        })
        .collect()
}

#[test]
fn prerequisites_answer_with_rfc_2136s_rcodes() {
    let cases: &[(&str, &str, Option<u16>)] = &[
        ("name in use, is", "www.z.test. ANY ANY 0 -", None),
        (
            "name in use, is not",
            "nope.z.test. ANY ANY 0 -",
            Some(rcode::NXDOMAIN),
        ),
        ("name not in use, is", "nope.z.test. NONE ANY 0 -", None),
        (
            "name not in use, is not",
            "www.z.test. NONE ANY 0 -",
            Some(YXDOMAIN),
        ),
        ("RRset exists, does", "www.z.test. ANY A 0 -", None),
        (
            "RRset exists, does not",
            "www.z.test. ANY TXT 0 -",
            Some(NXRRSET),
        ),
        (
            "RRset does not exist, does not",
            "www.z.test. NONE TXT 0 -",
            None,
        ),
        (
            "RRset does not exist, does",
            "www.z.test. NONE A 0 -",
            Some(YXRRSET),
        ),
        ("a policy set exists", "w.z.test. ANY A 0 -", None),
        (
            "a TTL other than 0",
            "www.z.test. ANY A 300 -",
            Some(rcode::FORMERR),
        ),
        (
            "outside the zone",
            "www.other.test. ANY A 0 -",
            Some(NOTZONE),
        ),
        ("class CH", "www.z.test. 3 A 0 -", Some(rcode::FORMERR)),
    ];
    for (what, prereq, want) in cases {
        let got = changes(&zone(), &[rr(prereq)], &[]);
        assert_eq!(got.err().map(|r| r.rcode), *want, "{what}");
    }
}

#[test]
fn value_dependent_prerequisites_compare_whole_rrsets() {
    let z = zone();
    let both = [
        rr("www.z.test. IN A 0 192.0.2.2"),
        rr("www.z.test. IN A 0 192.0.2.1"),
    ];
    assert!(changes(&z, &both, &[]).is_ok(), "same records, any order");
    let one = [rr("www.z.test. IN A 0 192.0.2.1")];
    assert_eq!(
        changes(&z, &one, &[]).unwrap_err().rcode,
        NXRRSET,
        "a subset"
    );
    let policy = [rr("w.z.test. IN A 0 198.51.100.1")];
    assert_eq!(
        changes(&z, &policy, &[]).unwrap_err().rcode,
        NXRRSET,
        "a policy set"
    );
}

#[test]
fn operations_become_route53_changes_of_whole_record_sets() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "add to an RRset: UPSERT with every value, the TTL of the record added",
            &["www.z.test. IN A 60 192.0.2.3"],
            &[r#"Upsert www.z.test. A 60 ["192.0.2.1", "192.0.2.2", "192.0.2.3"]"#],
        ),
        (
            "add a new name",
            &["new.z.test. IN TXT 120 hello"],
            &[r#"Upsert new.z.test. TXT 120 ["\"hello\""]"#],
        ),
        (
            "add what is there: nothing to change",
            &["www.z.test. IN A 300 192.0.2.1"],
            &[],
        ),
        (
            "delete one record",
            &["www.z.test. NONE A 0 192.0.2.1"],
            &[r#"Upsert www.z.test. A 300 ["192.0.2.2"]"#],
        ),
        (
            "delete the last records: DELETE of the set as stored",
            &[
                "www.z.test. NONE A 0 192.0.2.1",
                "www.z.test. NONE A 0 192.0.2.2",
            ],
            &[r#"Delete www.z.test. A 300 ["192.0.2.1", "192.0.2.2"]"#],
        ),
        (
            "delete an RRset",
            &["www.z.test. ANY A 0 -"],
            &[r#"Delete www.z.test. A 300 ["192.0.2.1", "192.0.2.2"]"#],
        ),
        (
            "delete a name",
            &["alias.z.test. ANY ANY 0 -"],
            &[r#"Delete alias.z.test. CNAME 300 ["www.z.test."]"#],
        ),
        (
            "replace: delete the RRset, then add",
            &["www.z.test. ANY A 0 -", "www.z.test. IN A 300 192.0.2.7"],
            &[r#"Upsert www.z.test. A 300 ["192.0.2.7"]"#],
        ),
        (
            "the apex SOA and NS are not deleted with the apex's name",
            &["z.test. ANY ANY 0 -"],
            &[],
        ),
        (
            "the last apex NS stays",
            &["z.test. NONE NS 0 ns1.z.test."],
            &[],
        ),
        (
            "a CNAME beside other data is ignored",
            &["www.z.test. IN CNAME 300 alias.z.test."],
            &[],
        ),
        (
            "other data beside a CNAME is ignored",
            &["alias.z.test. IN A 300 192.0.2.9"],
            &[],
        ),
        (
            "an added SOA is ignored: the server manages it",
            &["z.test. IN SOA 300 ns1.z.test."],
            &[],
        ),
        (
            "deleting what is not there changes nothing",
            &["nope.z.test. ANY A 0 -"],
            &[],
        ),
    ];
    for (what, updates, want) in cases {
        let updates: Vec<UpdateRr> = updates.iter().map(|u| rr(u)).collect();
        let got = changes(&zone(), &[], &updates).unwrap_or_else(|r| panic!("{what}: {r:?}"));
        assert_eq!(summary(&got), *want, "{what}");
    }
}

#[test]
fn what_a_hosted_zone_cannot_take_is_refused_with_the_reason() {
    let cases: &[(&str, &str, u16, &str)] = &[
        (
            "a routing-policy name",
            "w.z.test. IN A 60 192.0.2.1",
            rcode::REFUSED,
            "w.z.test. A is decided by a routing policy: change it through the Route 53 API",
        ),
        (
            "deleting a routing-policy name",
            "w.z.test. ANY ANY 0 -",
            rcode::REFUSED,
            "routing policy",
        ),
        (
            "a type Route 53 does not hold",
            "www.z.test. IN HINFO 60 -",
            rcode::REFUSED,
            "type HINFO cannot be held by a hosted zone",
        ),
        (
            "outside the zone",
            "www.other.test. IN A 60 192.0.2.1",
            NOTZONE,
            "",
        ),
        (
            "a meta type added",
            "www.z.test. IN ANY 60 -",
            rcode::FORMERR,
            "",
        ),
        (
            "a delete with a TTL",
            "www.z.test. ANY A 60 -",
            rcode::FORMERR,
            "",
        ),
    ];
    for (what, update, rc, text) in cases {
        let r = changes(&zone(), &[], &[rr(update)]).expect_err(what);
        assert_eq!(r.rcode, *rc, "{what}");
        let ede = r.ede.map(|(_, t)| t).unwrap_or_default();
        assert!(ede.contains(text), "{what}: {ede}");
    }
}
