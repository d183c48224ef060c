//! The answer path, rule by rule, with the RFC each rule comes from. Queries are built and
//! responses decoded with hickory-proto, so our wire code is checked by an independent one.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use policydns::answer::respond;
use policydns::snapshot::{Options, Snapshot};
use policydns::wire::name;
use policydns::wire::{Transport, MAX_MESSAGE};
use policydns::zone::{parse, Catalog, Zone};

const ZONE: &str = r#"
$TTL 3600
@        SOA   ns1 hostmaster 7 7200 900 1209600 300
         NS    ns1
         NS    ns2.other.test.
         MX    10 mail
ns1      A     192.0.2.53
mail     A     192.0.2.25
         AAAA  2001:db8::25
www      A     192.0.2.10
web      CNAME www
loop1    CNAME loop2
loop2    CNAME loop1
out      CNAME www.elsewhere.example.
cross    CNAME www.other.test.
dangling CNAME nothere
*.wild   A     192.0.2.80
*.wcname CNAME www
real.wild TXT  "real"
deep.a.b A     192.0.2.90
sub      NS    ns.sub
         DS    1 13 2 DDC6E2B224D0FD821669202258386936FC9CE2899E215EEC6322B95F8DD96D6A
ns.sub   A     192.0.2.200
old      DNAME new.other.test.
big      TXT   "0123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "1123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "2123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "3123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "4123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "5123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "6123456789012345678901234567890123456789012345678901234567890123456789"
         TXT   "7123456789012345678901234567890123456789012345678901234567890123456789"
"#;

const OTHER: &str = r#"
$TTL 60
@      SOA ns1.example.test. hostmaster.example.test. 1 7200 900 1209600 30
       NS  ns1.example.test.
www    A   198.51.100.1
"#;

fn zone(origin: &str, text: &str) -> Arc<Zone> {
    let o = name::from_text(origin, None).unwrap();
    let recs = parse::parse_str(text, &o, Path::new("test.zone")).unwrap();
    Arc::new(Zone::compile(&o, recs).unwrap().0)
}

fn snapshot() -> Snapshot {
    Snapshot {
        catalog: Catalog::new(vec![
            zone("example.test.", ZONE),
            zone("other.test.", OTHER),
        ]),
        options: Options {
            identity: Some(b"test-ns".to_vec().into()),
            nsid: Some(b"nsid-1".to_vec().into()),
            ..Options::default()
        },
        ..Snapshot::default()
    }
}

fn query(name: &str, rtype: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.id = 4242;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    m
}

fn with_edns(mut m: Message, payload: u16) -> Message {
    let mut e = Edns::new();
    e.set_max_payload(payload);
    m.set_edns(e);
    m
}

fn ask_raw(snap: &Snapshot, bytes: &[u8], t: Transport) -> Option<Vec<u8>> {
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = respond(snap, bytes, t, &mut out);
    (n > 0).then(|| out[..n].to_vec())
}

fn ask_with(snap: &Snapshot, m: &Message, t: Transport) -> Message {
    let bytes = ask_raw(snap, &m.to_vec().unwrap(), t).expect("an answer");
    Message::from_vec(&bytes).expect("hickory decodes our response")
}

fn ask(m: &Message) -> Message {
    ask_with(&snapshot(), m, Transport::Udp)
}

fn types(records: &[Record]) -> Vec<(String, RecordType)> {
    records
        .iter()
        .map(|r| (r.name.to_string().to_lowercase(), r.record_type()))
        .collect()
}

fn rr(name: &str, t: RecordType) -> (String, RecordType) {
    (name.to_string(), t)
}

#[test]
fn positive_answer_is_authoritative_and_echoes_id_rd_and_question_case() {
    // hickory lowercases names it encodes: put the mixed case into the bytes ourselves.
    let mut bytes = query("www.example.test.", RecordType::A).to_vec().unwrap();
    bytes[13..16].copy_from_slice(b"WwW");
    bytes[17..24].copy_from_slice(b"Example");
    bytes[25..29].copy_from_slice(b"TEST");
    let r = Message::from_vec(&ask_raw(&snapshot(), &bytes, Transport::Udp).unwrap()).unwrap();
    assert_eq!(r.metadata.id, 4242);
    assert_eq!(r.metadata.message_type, MessageType::Response);
    assert!(r.metadata.authoritative);
    assert!(r.metadata.recursion_desired);
    assert!(!r.metadata.recursion_available);
    assert_eq!(r.queries[0].name().to_string(), "WwW.Example.TEST.");
    assert_eq!(
        types(&r.answers),
        vec![rr("www.example.test.", RecordType::A)]
    );
    assert_eq!(r.answers[0].ttl, 3600);
}

#[test]
fn positive_answer_carries_zone_ns_in_authority_and_their_addresses() {
    let r = ask(&query("www.example.test.", RecordType::A));
    assert_eq!(r.authorities.len(), 2);
    assert!(r
        .authorities
        .iter()
        .all(|a| a.record_type() == RecordType::NS));
    // ns1 is ours; ns2.other.test is another zone's name and gets no address here.
    assert_eq!(
        types(&r.additionals),
        vec![rr("ns1.example.test.", RecordType::A)]
    );
}

#[test]
fn minimal_responses_leave_authority_empty() {
    let mut snap = snapshot();
    snap.options.minimal_responses = true;
    let r = ask_with(
        &snap,
        &query("www.example.test.", RecordType::A),
        Transport::Udp,
    );
    assert!(r.authorities.is_empty());
    assert!(r.additionals.is_empty());
}

#[test]
fn mx_answer_adds_exchange_addresses() {
    let r = ask(&query("example.test.", RecordType::MX));
    let add = types(&r.additionals);
    assert!(add.contains(&rr("mail.example.test.", RecordType::A)));
    assert!(add.contains(&rr("mail.example.test.", RecordType::AAAA)));
}

#[test]
fn missing_name_is_nxdomain_with_soa_at_negative_ttl() {
    let r = ask(&query("nope.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert!(r.metadata.authoritative);
    assert!(r.answers.is_empty());
    assert_eq!(
        types(&r.authorities),
        vec![rr("example.test.", RecordType::SOA)]
    );
    assert_eq!(
        r.authorities[0].ttl, 300,
        "min(SOA TTL 3600, MINIMUM 300), RFC 2308 §5"
    );
}

#[test]
fn existing_name_without_the_type_is_nodata() {
    let r = ask(&query("www.example.test.", RecordType::AAAA));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    assert_eq!(
        types(&r.authorities),
        vec![rr("example.test.", RecordType::SOA)]
    );
}

#[test]
fn empty_non_terminal_is_nodata_not_nxdomain() {
    let r = ask(&query("a.b.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
}

#[test]
fn wildcard_answers_under_the_query_name() {
    let r = ask(&query("anything.wild.example.test.", RecordType::A));
    assert_eq!(
        types(&r.answers),
        vec![rr("anything.wild.example.test.", RecordType::A)]
    );
    let r = ask(&query("two.levels.wild.example.test.", RecordType::A));
    assert_eq!(
        r.answers.len(),
        1,
        "a wildcard covers deeper names too (RFC 4592 §2.2.1)"
    );
}

#[test]
fn wildcard_does_not_apply_at_or_below_existing_names() {
    // real.wild exists: its A is NODATA, and names below it are NXDOMAIN (RFC 4592 §2.2.2).
    let r = ask(&query("real.wild.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    let r = ask(&query("x.real.wild.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn wildcard_owner_itself_matches_literally() {
    let r = ask(&query("*.wild.example.test.", RecordType::A));
    assert_eq!(r.answers.len(), 1);
}

#[test]
fn wildcard_cname_is_synthesised_and_followed() {
    let r = ask(&query("x.wcname.example.test.", RecordType::A));
    assert_eq!(
        types(&r.answers),
        vec![
            rr("x.wcname.example.test.", RecordType::CNAME),
            rr("www.example.test.", RecordType::A)
        ]
    );
}

#[test]
fn cname_chain_is_followed_inside_the_zone() {
    let r = ask(&query("web.example.test.", RecordType::A));
    assert_eq!(
        types(&r.answers),
        vec![
            rr("web.example.test.", RecordType::CNAME),
            rr("www.example.test.", RecordType::A)
        ]
    );
    assert!(r.metadata.authoritative);
}

#[test]
fn cname_query_returns_the_cname_only() {
    let r = ask(&query("web.example.test.", RecordType::CNAME));
    assert_eq!(
        types(&r.answers),
        vec![rr("web.example.test.", RecordType::CNAME)]
    );
}

#[test]
fn cname_chain_crosses_into_other_served_zones() {
    let r = ask(&query("cross.example.test.", RecordType::A));
    assert_eq!(
        types(&r.answers),
        vec![
            rr("cross.example.test.", RecordType::CNAME),
            rr("www.other.test.", RecordType::A)
        ]
    );
}

#[test]
fn cname_loop_ends_without_repeating_records() {
    let r = ask(&query("loop1.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 2);
}

#[test]
fn cname_to_outside_target_is_left_to_the_resolver() {
    let r = ask(&query("out.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        types(&r.answers),
        vec![rr("out.example.test.", RecordType::CNAME)]
    );
}

#[test]
fn cname_to_missing_name_is_nxdomain_for_the_target() {
    // RFC 6604 §3: the rcode describes the last name in the chain.
    let r = ask(&query("dangling.example.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(
        types(&r.authorities),
        vec![rr("example.test.", RecordType::SOA)]
    );
}

#[test]
fn delegation_gets_a_referral_without_aa() {
    for q in [
        "sub.example.test.",
        "host.sub.example.test.",
        "ns.sub.example.test.",
    ] {
        let r = ask(&query(q, RecordType::A));
        assert!(!r.metadata.authoritative, "{q}");
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{q}");
        assert!(r.answers.is_empty(), "{q}");
        assert_eq!(
            types(&r.authorities),
            vec![rr("sub.example.test.", RecordType::NS)],
            "{q}"
        );
        assert_eq!(
            types(&r.additionals),
            vec![rr("ns.sub.example.test.", RecordType::A)],
            "{q}"
        );
    }
}

#[test]
fn ds_at_the_cut_is_answered_by_the_parent() {
    let r = ask(&query("sub.example.test.", RecordType::DS));
    assert!(r.metadata.authoritative);
    assert_eq!(
        types(&r.answers),
        vec![rr("sub.example.test.", RecordType::DS)]
    );
}

#[test]
fn dname_substitutes_and_synthesises_a_cname() {
    let r = ask(&query("host.old.example.test.", RecordType::A));
    assert_eq!(
        types(&r.answers),
        vec![
            rr("old.example.test.", RecordType::DNAME),
            rr("host.old.example.test.", RecordType::CNAME),
        ]
    );
    let RData::CNAME(target) = r.answers[1].data.clone() else {
        panic!()
    };
    assert_eq!(target.0.to_string(), "host.new.other.test.");
    // The target lies in other.test., which has no such name.
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn names_outside_our_zones_are_refused() {
    let r = ask(&query("www.example.org.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(!r.metadata.authoritative);
}

#[test]
fn any_returns_one_rrset_over_udp_and_tcp() {
    let q = query("example.test.", RecordType::ANY);
    for transport in [Transport::Udp, Transport::Tcp] {
        let m = ask_with(&snapshot(), &q, transport);
        let sets: std::collections::BTreeSet<_> =
            m.answers.iter().map(|r| r.record_type()).collect();
        // RFC 8482 §4.2, as NSD and Knot answer over both transports.
        assert_eq!(sets.len(), 1, "{transport:?}");
    }
}

#[test]
fn large_answer_is_truncated_over_udp_and_whole_over_tcp() {
    let q = query("big.example.test.", RecordType::TXT);
    let udp = ask(&q);
    assert!(udp.metadata.truncation);
    assert!(udp.answers.is_empty(), "no partial RRset (RFC 2181 §9)");
    assert_eq!(udp.queries.len(), 1);
    let tcp = ask_with(&snapshot(), &q, Transport::Tcp);
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 8);
    // With EDNS the larger payload fits in one datagram.
    let edns = ask(&with_edns(q, 1232));
    assert!(!edns.metadata.truncation);
    assert_eq!(edns.answers.len(), 8);
}

#[test]
fn optional_authority_is_dropped_before_truncating() {
    // 512 octets hold the answer but not the answer plus NS and glue.
    let q = query("big.example.test.", RecordType::TXT);
    let mut snap = snapshot();
    snap.options.edns_payload = 720;
    let r = ask_with(&snap, &with_edns(q, 720), Transport::Udp);
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 8);
    assert!(r.authorities.is_empty());
}

#[test]
fn edns_is_echoed_with_our_payload_size() {
    let r = ask(&with_edns(query("www.example.test.", RecordType::A), 4096));
    let e = r.edns.expect("OPT in the response");
    assert_eq!(e.max_payload(), 1232);
    assert_eq!(e.version(), 0);
}

#[test]
fn no_opt_in_response_without_opt_in_query() {
    let r = ask(&query("www.example.test.", RecordType::A));
    assert!(r.edns.is_none());
}

#[test]
fn unknown_edns_version_gets_badvers() {
    let mut m = query("www.example.test.", RecordType::A);
    let mut e = Edns::new();
    e.set_version(1);
    m.set_edns(e);
    let r = ask(&m);
    // hickory names extended rcode 16 BADSIG; for a query without TSIG it is BADVERS.
    assert_eq!(u16::from(r.metadata.response_code), 16);
    assert!(r.answers.is_empty());
}

#[test]
fn nsid_is_sent_when_asked() {
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    let mut m = query("www.example.test.", RecordType::A);
    let mut e = Edns::new();
    e.options_mut()
        .insert(EdnsOption::Unknown(u16::from(EdnsCode::NSID), vec![]));
    m.set_edns(e);
    let raw = ask_raw(&snapshot(), &m.to_vec().unwrap(), Transport::Udp).unwrap();
    assert!(Message::from_vec(&raw)
        .unwrap()
        .edns
        .unwrap()
        .option(EdnsCode::NSID)
        .is_some());
    assert!(raw.ends_with(b"\x00\x03\x00\x06nsid-1"), "{raw:?}");
}

#[test]
fn chaos_identity_and_version_are_answered_and_can_be_turned_off() {
    let mut m = query("id.server.", RecordType::TXT);
    m.queries[0].set_query_class(DNSClass::CH);
    let r = ask(&m);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 1);
    let mut snap = snapshot();
    snap.options.identity = None;
    let r = ask_with(&snap, &m, Transport::Udp);
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn responses_are_ignored() {
    let mut m = query("www.example.test.", RecordType::A);
    m.metadata.message_type = MessageType::Response;
    assert!(ask_raw(&snapshot(), &m.to_vec().unwrap(), Transport::Udp).is_none());
}

#[test]
fn unknown_opcode_is_notimp() {
    let mut m = query("www.example.test.", RecordType::A);
    m.metadata.op_code = OpCode::Update;
    let r = ask(&m);
    assert_eq!(r.metadata.response_code, ResponseCode::NotImp);
}

#[test]
fn garbage_is_formerr_or_dropped_never_a_panic() {
    let snap = snapshot();
    assert!(ask_raw(&snap, &[1, 2, 3], Transport::Udp).is_none());
    let mut bytes = query("www.example.test.", RecordType::A).to_vec().unwrap();
    bytes.truncate(bytes.len() - 2);
    let r = Message::from_vec(&ask_raw(&snap, &bytes, Transport::Udp).unwrap()).unwrap();
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn unknown_types_are_served_opaque() {
    let z = zone(
        "example.test.",
        "$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nx TYPE65280 \\# 4 0A000001\n",
    );
    let snap = Snapshot {
        catalog: Catalog::new(vec![z]),
        options: Options::default(),
        ..Snapshot::default()
    };
    let r = ask_with(
        &snap,
        &query("x.example.test.", RecordType::Unknown(65280)),
        Transport::Udp,
    );
    assert_eq!(r.answers.len(), 1);
    let RData::Unknown { rdata, .. } = &r.answers[0].data else {
        panic!("{:?}", r.answers[0])
    };
    assert_eq!(rdata.anything, vec![10u8, 0, 0, 1]);
}
