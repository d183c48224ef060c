//! A patched zone is the zone a full compile of the same records gives: random batches over a
//! small tree (adding and removing names, empty non-terminals, wildcards, CNAMEs, MX targets
//! gaining addresses, routing-policy groups with aliases) are applied both ways and compared
//! through everything an answer or a transfer reads.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::policy::Rule;
use crate::zone::{parse, LoadError, MemberInput};

const ORIGIN: &str = "example.test.";

fn wire(text: &str) -> Vec<u8> {
    name::to_lowercase(&name::from_text(text, None).unwrap())
}

fn owner(label: &str) -> Vec<u8> {
    if label == "@" {
        wire(ORIGIN)
    } else {
        wire(&format!("{label}.{ORIGIN}"))
    }
}

/// What the model holds at one owner and type.
#[derive(Debug, Clone)]
enum Content {
    Records(u32, Vec<Vec<u8>>),
    Group(GroupInput),
}

type Model = BTreeMap<(Vec<u8>, u16), Content>;

fn head() -> Model {
    let mut m = Model::new();
    let soa = parse::parse_str(
        "@ 300 IN SOA ns1 admin 1 7200 900 1209600 60\n",
        &wire(ORIGIN),
        Path::new("t"),
    )
    .unwrap();
    m.insert(
        (wire(ORIGIN), types::SOA),
        Content::Records(300, vec![soa[0].rdata.clone()]),
    );
    m.insert(
        (wire(ORIGIN), types::NS),
        Content::Records(300, vec![owner("ns1")]),
    );
    m.insert(
        (owner("ns1"), types::A),
        Content::Records(300, vec![vec![192, 0, 2, 53]]),
    );
    m
}

fn compile(model: &Model) -> Result<Zone, LoadError> {
    let file: Arc<Path> = Arc::from(Path::new("t"));
    let mut records = Vec::new();
    let mut groups = Vec::new();
    for ((o, t), c) in model {
        match c {
            Content::Records(ttl, rdatas) => {
                records.extend(rdatas.iter().map(|rd| parse::Record {
                    owner: o.clone(),
                    ttl: *ttl,
                    rtype: *t,
                    rdata: rd.clone(),
                    file: file.clone(),
                    line: 1,
                }))
            }
            Content::Group(g) => groups.push(g.clone()),
        }
    }
    Zone::compile_with_groups(&wire(ORIGIN), records, groups).map(|(z, _)| z)
}

/// Everything answers and transfers read, by name rather than by node id.
pub(crate) fn describe(z: &Zone) -> String {
    let nm = |id: u32| {
        if id == NONE {
            "-".to_string()
        } else {
            name::to_text(z.name(z.node(id)))
        }
    };
    let mut blocks = Vec::new();
    for (id, node) in z.nodes.iter().enumerate() {
        let mut lines = Vec::new();
        if z.find(z.name(node)) != Some(id as u32) {
            continue; // pruned
        }
        lines.push(format!(
            "{} parent={} shadow={} wildcard={} flags={}",
            nm(id as u32),
            nm(node.parent),
            nm(node.shadow),
            nm(node.wildcard),
            node.flags
        ));
        let mut sets: Vec<String> = z
            .rrsets(node)
            .iter()
            .map(|s| {
                let mut rds: Vec<String> = z.rdatas(s).map(|r| format!("{r:02x?}")).collect();
                rds.sort();
                let mut add: Vec<String> = z.additional(s).iter().map(|&a| nm(a)).collect();
                add.sort();
                let group = s.group().map(|g| {
                    let g = &z.groups[g];
                    let members: Vec<String> = (0..g.ids.len())
                        .map(|i| {
                            let mut rds: Vec<String> =
                                z.rdatas(&g.sets[i]).map(|r| format!("{r:02x?}")).collect();
                            rds.sort();
                            let answer = match g.answers[i] {
                                MemberAnswer::Alias { node, .. } => format!("alias {}", nm(node)),
                                other => format!("{other:?}"),
                            };
                            format!(
                                "{} {:?} {:?} ttl={} shuffle={} {answer} {rds:?}",
                                g.ids[i], g.rules[i], g.health[i], g.sets[i].ttl, g.sets[i].shuffle
                            )
                        })
                        .collect();
                    format!("owner={} salt={} {members:?}", nm(g.owner), g.salt)
                });
                format!(
                    "  {} ttl={} shuffle={} {rds:?} add={add:?} group={group:?}",
                    types::mnemonic(s.rtype),
                    s.ttl,
                    s.shuffle
                )
            })
            .collect();
        sets.sort();
        lines.extend(sets);
        blocks.push(lines.join("\n"));
    }
    blocks.sort();
    blocks.push(format!(
        "records={} serial={} nsoa={:?} tail={:?} ns={} glue={} {:?}",
        z.record_count,
        z.serial,
        z.rdatas(&z.negative_soa).collect::<Vec<_>>(),
        z.ns_tail.wire.bytes,
        z.ns_tail.ns_count,
        z.ns_tail.glue_count,
        z.ns_tail.glue.iter().map(|&g| nm(g)).collect::<Vec<_>>()
    ));
    blocks.join("\n")
}

/// xorshift64*: a fixed sequence, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &["a", "b", "c.b", "*.b", "x.y.z", "y.z", "mail", "ns1", "@"];

fn random_content(rng: &mut Rng, o: &[u8], t: u16) -> Content {
    let ttl = *rng.pick(&[60u32, 300]);
    match t {
        types::A if rng.next() % 3 == 0 && o != wire(ORIGIN) => {
            let member = |rng: &mut Rng, id: &str| MemberInput {
                rule: Rule::Weighted(*rng.pick(&[0u8, 1, 5])),
                health: None,
                ttl,
                rdatas: vec![vec![198, 51, 100, (rng.next() % 4) as u8]],
                target: if rng.next() % 2 == 0 {
                    MemberTarget::Records
                } else {
                    MemberTarget::Alias {
                        target: owner(*rng.pick(NAMES)),
                        evaluate_target_health: false,
                    }
                },
                id: id.to_string(),
            };
            let members = vec![member(rng, "one"), member(rng, "two")];
            let members = members
                .into_iter()
                .map(|mut m| {
                    if m.target != MemberTarget::Records {
                        m.rdatas.clear();
                    }
                    m
                })
                .collect();
            Content::Group(GroupInput {
                owner: o.to_vec(),
                rtype: t,
                members,
                cidr_collection: None,
                consistent: false,
                defined_at: "t".into(),
                replaces_file: false,
            })
        }
        types::A | types::AAAA => {
            let n = 1 + rng.next() % 3;
            let len = if t == types::A { 4 } else { 16 };
            Content::Records(
                ttl,
                (0..n)
                    .map(|i| {
                        let mut rd = vec![0u8; len];
                        rd[len - 1] = (2 * i + rng.next() % 2) as u8;
                        rd
                    })
                    .collect(),
            )
        }
        types::MX => {
            let mut rd = vec![0, 10];
            rd.extend(owner(*rng.pick(NAMES)));
            Content::Records(ttl, vec![rd])
        }
        types::CNAME => Content::Records(ttl, vec![owner(*rng.pick(NAMES))]),
        _ => Content::Records(ttl, vec![vec![3, b'a', b'b', b'c']]),
    }
}

fn to_change(o: &[u8], t: u16, c: Option<&Content>) -> RrsetChange {
    RrsetChange {
        owner: o.to_vec(),
        rtype: t,
        content: match c {
            None => NewContent::Gone,
            Some(Content::Records(ttl, rdatas)) => NewContent::Records {
                ttl: *ttl,
                rdatas: rdatas.clone(),
            },
            Some(Content::Group(g)) => NewContent::Group(g.clone()),
        },
    }
}

#[test]
fn random_batches_patch_to_what_a_full_compile_gives() {
    let mut outcomes = BTreeMap::new();
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut model = head();
        let mut zone = compile(&model).unwrap();
        for step in 0..60 {
            let mut next = model.clone();
            let mut keys = Vec::new();
            for _ in 0..1 + rng.next() % 3 {
                let o = owner(*rng.pick(NAMES));
                let t = *rng.pick(&[types::A, types::AAAA, types::TXT, types::CNAME, types::MX]);
                if keys.contains(&(o.clone(), t)) {
                    continue;
                }
                if next.contains_key(&(o.clone(), t)) && rng.next() % 2 == 0 {
                    next.remove(&(o.clone(), t));
                } else {
                    next.insert((o.clone(), t), random_content(&mut rng, &o, t));
                }
                keys.push((o, t));
            }
            let changes: Vec<RrsetChange> = keys
                .iter()
                .map(|(o, t)| to_change(o, *t, next.get(&(o.clone(), *t))))
                .collect();
            let full = compile(&next);
            let before = describe(&zone);
            let mut patched = zone.clone();
            let what = format!("seed {seed} step {step}: {keys:?}");
            match (patched.patch(changes), full) {
                (Ok(()), Ok(full)) => {
                    assert_eq!(describe(&patched), describe(&full), "{what}");
                    *outcomes.entry("patched").or_insert(0) += 1;
                    zone = patched;
                    model = next;
                }
                (Ok(()), Err(e)) => panic!("{what}: patched, but a full compile refuses: {e}"),
                (Err(PatchError::Invalid(p)), Ok(_)) => {
                    panic!("{what}: patch refused {p:?}, a full compile accepts")
                }
                (Err(PatchError::Invalid(p)), Err(e)) => {
                    // Refused alike, and the zone left as it was.
                    for m in &p {
                        assert!(e.to_string().contains(m.as_str()), "{what}: {m} vs {e}");
                    }
                    assert_eq!(describe(&patched), before, "{what}");
                    *outcomes.entry("refused").or_insert(0) += 1;
                }
                (Err(PatchError::Unsupported(_)), full) => {
                    assert_eq!(describe(&patched), before, "{what}");
                    *outcomes.entry("compiled whole").or_insert(0) += 1;
                    if let Ok(full) = full {
                        zone = full;
                        model = next;
                    }
                }
            }
        }
    }
    // The walk reaches every outcome, mostly patches.
    assert!(outcomes["patched"] > 1000, "{outcomes:?}");
    assert!(outcomes["refused"] > 50, "{outcomes:?}");
    assert!(outcomes["compiled whole"] > 10, "{outcomes:?}");
}

#[test]
fn a_removed_name_answers_nxdomain_and_takes_its_empty_parents_along() {
    let mut model = head();
    model.insert(
        (owner("x.y.z"), types::A),
        Content::Records(300, vec![vec![192, 0, 2, 1]]),
    );
    let mut zone = compile(&model).unwrap();
    assert!(zone.find(&owner("y.z")).is_some());
    zone.patch(vec![to_change(&owner("x.y.z"), types::A, None)])
        .unwrap();
    for gone in ["x.y.z", "y.z", "z"] {
        assert_eq!(zone.find(&owner(gone)), None, "{gone}");
    }
}

#[test]
fn an_alias_target_cannot_go_while_an_alias_points_to_it() {
    let mut model = head();
    model.insert(
        (owner("a"), types::A),
        Content::Records(300, vec![vec![192, 0, 2, 1]]),
    );
    let alias = |o: &str| MemberInput {
        rule: Rule::Weighted(1),
        health: None,
        ttl: 60,
        rdatas: Vec::new(),
        target: MemberTarget::Alias {
            target: owner("a"),
            evaluate_target_health: false,
        },
        id: o.to_string(),
    };
    model.insert(
        (owner("b"), types::A),
        Content::Group(GroupInput {
            owner: owner("b"),
            rtype: types::A,
            members: vec![alias("one")],
            cidr_collection: None,
            consistent: false,
            defined_at: "t".into(),
            replaces_file: false,
        }),
    );
    let mut zone = compile(&model).unwrap();
    let err = zone
        .patch(vec![to_change(&owner("a"), types::A, None)])
        .unwrap_err();
    assert_eq!(
        err,
        PatchError::Invalid(vec![
            "b.example.test. A (one): alias target a.example.test. has no A record set in zone example.test.".into()
        ])
    );
}

#[test]
fn a_cname_beside_other_data_is_refused_as_a_full_compile_refuses_it() {
    let mut zone = compile(&head()).unwrap();
    let err = zone
        .patch(vec![to_change(
            &owner("ns1"),
            types::CNAME,
            Some(&Content::Records(300, vec![owner("a")])),
        )])
        .unwrap_err();
    assert_eq!(
        err,
        PatchError::Invalid(vec![
            "CNAME at ns1.example.test. next to other data (A) (RFC 1034 §3.6.2)".into()
        ])
    );
}

#[test]
fn what_a_patch_leaves_to_a_full_compile() {
    let zone = compile(&head()).unwrap();
    let a = |label: &str, rtype: u16, rd: Vec<u8>| {
        to_change(&owner(label), rtype, Some(&Content::Records(300, vec![rd])))
    };
    let cases: Vec<(&str, RrsetChange)> = vec![
        ("a delegation", a("sub", types::NS, owner("ns1"))),
        ("the SOA", to_change(&wire(ORIGIN), types::SOA, None)),
        (
            "an NS target losing its address",
            to_change(&owner("ns1"), types::A, None),
        ),
    ];
    for (what, change) in cases {
        let mut z = zone.clone();
        assert!(
            matches!(z.patch(vec![change]), Err(PatchError::Unsupported(_))),
            "{what}"
        );
    }
}
