//! Laying a collected zone out in its arenas: the facts of the tree (parents, cuts, DNAMEs,
//! wildcard children) worked out once, every RRset pre-rendered with its additional-section
//! targets and the places its RDATA names meet the tree, the apex's negative SOA and NS tail,
//! and the routing-policy groups.

use std::path::Path;
use std::sync::Arc;

use hashbrown::HashTable;

use super::compile::SetBuilder;
use super::{
    flags, hash, rdata, render, Group, GroupInput, MemberAnswer, MemberTarget, NameRef, Node,
    NsTail, RrSet, Span, Zone, APEX, NONE,
};
use crate::wire::{name, types};

/// Collects nodes (with every empty non-terminal between an owner and the apex) before the
/// facts that depend on the whole tree are worked out.
pub(super) struct Builder {
    pub(super) names: Vec<Vec<u8>>,
    pub(super) sets: Vec<Vec<SetBuilder>>,
    table: HashTable<u32>,
}

/// The facts of each node (by builder id) that depend on the whole tree.
struct TreeFacts {
    flags: Vec<u8>,
    parent: Vec<u32>,
    /// The highest cut or DNAME strictly above the node.
    shadow: Vec<u32>,
    /// The node's `*` child.
    wildcard: Vec<u32>,
}

impl Builder {
    pub(super) fn new(origin: &[u8]) -> Self {
        let mut b = Builder {
            names: Vec::new(),
            sets: Vec::new(),
            table: HashTable::new(),
        };
        b.insert(origin);
        b
    }

    pub(super) fn find(&self, name: &[u8]) -> Option<u32> {
        self.table
            .find(hash(name), |&id| self.names[id as usize] == name)
            .copied()
    }

    pub(super) fn set(&self, id: u32, rtype: u16) -> Option<&SetBuilder> {
        self.sets[id as usize].iter().find(|s| s.rtype == rtype)
    }

    fn insert(&mut self, name: &[u8]) -> u32 {
        let id = self.names.len() as u32;
        self.names.push(name.to_vec());
        self.sets.push(Vec::new());
        let names = &self.names;
        self.table
            .insert_unique(hash(name), id, |&i| hash(&names[i as usize]));
        id
    }

    /// The node for `owner`, creating it and any missing ancestors (empty non-terminals).
    pub(super) fn node(&mut self, owner: &[u8]) -> u32 {
        if let Some(id) = self.find(owner) {
            return id;
        }
        let id = self.insert(owner);
        let mut cur = owner;
        while let Some(parent) = name::parent(cur) {
            if self.find(parent).is_some() {
                break;
            }
            self.insert(parent);
            cur = parent;
        }
        id
    }

    /// Flags first, then parents before children so the shadow flows down.
    fn tree_facts(&self) -> TreeFacts {
        let n = self.names.len();
        let has = |id: usize, t: u16| self.sets[id].iter().any(|s| s.rtype == t);
        let mut node_flags = vec![0u8; n];
        for (id, f) in node_flags.iter_mut().enumerate() {
            if has(id, types::NS) && id != APEX as usize {
                *f |= flags::CUT;
            }
            if has(id, types::DNAME) {
                *f |= flags::DNAME;
            }
            if has(id, types::A) || has(id, types::AAAA) {
                *f |= flags::ADDRESS;
            }
        }
        let mut facts = TreeFacts {
            flags: node_flags,
            parent: vec![NONE; n],
            shadow: vec![NONE; n],
            wildcard: vec![NONE; n],
        };
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&id| name::label_count(&self.names[id as usize]));
        for &id in &order {
            if id == APEX {
                continue;
            }
            let nm = &self.names[id as usize];
            let p = name::parent(nm)
                .and_then(|p| self.find(p))
                .expect("ancestors exist") as usize;
            facts.parent[id as usize] = p as u32;
            facts.shadow[id as usize] = if facts.shadow[p] != NONE {
                facts.shadow[p]
            } else if facts.flags[p] & (flags::CUT | flags::DNAME) != 0 {
                p as u32
            } else {
                NONE
            };
            if name::is_wildcard(nm) {
                facts.wildcard[p] = id;
            }
        }
        facts
    }

    /// Data below a DNAME is never served: say so.
    fn warn_below_dname(&self, facts: &TreeFacts, warnings: &mut Vec<String>) {
        for id in 0..self.names.len() {
            let s = facts.shadow[id];
            if s != NONE && !self.sets[id].is_empty() && facts.flags[s as usize] & flags::DNAME != 0
            {
                warnings.push(format!(
                    "{} is below the DNAME at {} and will not be served (RFC 6672 §2.4)",
                    name::to_text(&self.names[id]),
                    name::to_text(&self.names[s as usize])
                ));
            }
        }
    }

    /// Where a compressible RDATA name meets the tree.
    fn name_ref(&self, origin: &[u8], rdata_name: &[u8]) -> NameRef {
        name_ref_with(|n| self.find(n), origin, rdata_name)
    }

    /// Lays the zone out in its arenas.
    pub(super) fn finish(
        self,
        warnings: &mut Vec<String>,
        record_count: usize,
        groups: Vec<GroupInput>,
    ) -> Zone {
        let origin = self.names[APEX as usize].clone();
        let n = self.names.len();
        let facts = self.tree_facts();
        self.warn_below_dname(&facts, warnings);
        let mut zone = Zone {
            origin: origin.clone().into_boxed_slice(),
            nodes: Vec::with_capacity(n),
            sets: Vec::with_capacity(self.sets.iter().map(Vec::len).sum()),
            names: Vec::with_capacity(self.names.iter().map(Vec::len).sum()),
            bytes: Vec::new(),
            ptrs: Vec::new(),
            ids: Vec::new(),
            refs: Vec::new(),
            groups: Vec::new(),
            table: HashTable::with_capacity(n),
            serial: 0,
            source_serial: 0,
            soa_at: None,
            negative_soa: RrSet::default(),
            ns_tail: NsTail::default(),
            source: None,
            record_count,
            servfail: false,
            policy: None,
            upkeep: Default::default(),
            counters: crate::metrics::zone(&origin),
            vpcs: Arc::from([]),
            nsec_chain: Box::new([]),
            nsec3: None,
            soa_signer: None,
            signature_cache: None,
            policy_signer: None,
        };
        for id in 0..n {
            let name_off = zone.names.len();
            zone.names.extend_from_slice(&self.names[id]);
            let sets_off = zone.sets.len();
            for set in &self.sets[id] {
                let rendered = self.render_set(&mut zone, &facts, set);
                zone.sets.push(rendered);
            }
            zone.nodes.push(Node {
                name: Span::of(&zone.names, name_off),
                parent: facts.parent[id],
                sets: Span::of(&zone.sets, sets_off),
                wildcard: facts.wildcard[id],
                shadow: facts.shadow[id],
                flags: facts.flags[id],
            });
        }
        self.apex_facts(&mut zone);
        for g in groups {
            let tree = GroupTree::of(|n| self.find(n), &origin, &g);
            let group = zone.push_group(g, tree);
            zone.groups.push(group);
        }
        zone.upkeep = zone.upkeep_from_tree();
        let Zone {
            nodes,
            names,
            table,
            ..
        } = &mut zone;
        for (id, node) in nodes.iter().enumerate() {
            table.insert_unique(hash(node.name.get(names)), id as u32, |&i| {
                hash(nodes[i as usize].name.get(names))
            });
        }
        zone
    }

    /// One zone-file RRset in the arenas, rendered as it follows a question for its owner,
    /// with its additional-section targets: glue only for NS; MX and SRV get authoritative
    /// addresses only. A routing-policy placeholder takes no data.
    fn render_set(&self, zone: &mut Zone, facts: &TreeFacts, set: &SetBuilder) -> RrSet {
        if set.group > 0 {
            return RrSet {
                rtype: set.rtype,
                ttl: set.ttl,
                group: set.group,
                ..RrSet::default()
            };
        }
        let origin = zone.origin.clone();
        zone.add_set(
            set,
            set.ttl,
            render::TOwner::Query,
            &origin,
            |rd: &[u8], compressible| {
                let off = match set.rtype {
                    types::NS => 0,
                    types::MX => 2,
                    types::SRV => 6,
                    _ => return (None, compressible.then(|| self.name_ref(&origin, rd))),
                };
                let target = self.find(&name::to_lowercase(&rd[off..])).filter(|&t| {
                    let t = t as usize;
                    facts.flags[t] & flags::ADDRESS != 0
                        && (set.rtype == types::NS
                            || (facts.shadow[t] == NONE && facts.flags[t] & flags::CUT == 0))
                });
                (
                    target,
                    compressible.then(|| self.name_ref(&origin, &rd[off..])),
                )
            },
        )
    }

    /// The serial, the negative-answer SOA (RFC 2308 §5: TTL min(SOA TTL, MINIMUM)) and the
    /// pre-rendered NS tail.
    fn apex_facts(&self, zone: &mut Zone) {
        let origin = zone.origin.clone();
        let soa = self.set(APEX, types::SOA).expect("checked");
        let soa_rdata = soa.rdatas().next().expect("one SOA");
        let minimum = u32::from_be_bytes(soa_rdata[soa_rdata.len() - 4..].try_into().unwrap());
        zone.serial = u32::from_be_bytes(
            soa_rdata[soa_rdata.len() - 20..soa_rdata.len() - 16]
                .try_into()
                .unwrap(),
        );
        zone.source_serial = zone.serial;
        let (file, line) = &soa.first;
        if line > &0 {
            zone.soa_at = Some(format!("{}:{line}", file.display()));
        }
        zone.negative_soa = zone.add_set(
            soa,
            soa.ttl.min(minimum),
            render::TOwner::Apex,
            &origin,
            |rd, _| (None, Some(self.name_ref(&origin, rd))),
        );
        zone.ns_tail = ns_tail(zone, &origin);
    }
}

/// Where an RDATA name meets a tree that `find` searches: the longest suffix that is a node.
pub(super) fn name_ref_with(
    find: impl Fn(&[u8]) -> Option<u32>,
    origin: &[u8],
    rdata_name: &[u8],
) -> NameRef {
    let lower = name::to_lowercase(rdata_name);
    if !name::is_subdomain(&lower, origin) {
        return NameRef {
            node: NONE,
            prefix: 0,
        };
    }
    let mut off = 0usize;
    loop {
        if let Some(id) = find(&lower[off..]) {
            return NameRef {
                node: id,
                prefix: off as u8,
            };
        }
        off += 1 + lower[off] as usize;
    }
}

/// What a routing-policy group takes from the tree (its owner's node, where its members'
/// names meet the tree, its aliases' target nodes), worked out before its records are laid
/// out, so the same code serves a full compile and a patch.
pub(super) struct GroupTree {
    owner: u32,
    refs: Vec<Vec<Option<NameRef>>>,
    answers: Vec<MemberAnswer>,
}

impl GroupTree {
    pub(super) fn of(find: impl Fn(&[u8]) -> Option<u32>, origin: &[u8], g: &GroupInput) -> Self {
        let off = if g.rtype == types::MX { 2 } else { 0 };
        let compressible = types::rdata_names_compressible(g.rtype);
        let refs = g
            .members
            .iter()
            .map(|m| {
                m.rdatas
                    .iter()
                    .map(|rd| compressible.then(|| name_ref_with(&find, origin, &rd[off..])))
                    .collect()
            })
            .collect();
        let answers = g
            .members
            .iter()
            .map(|m| match &m.target {
                MemberTarget::Records => MemberAnswer::Records,
                MemberTarget::Alias {
                    target,
                    evaluate_target_health,
                } => match find(&name::to_lowercase(target)) {
                    Some(node) => MemberAnswer::Alias {
                        node,
                        evaluate_target_health: *evaluate_target_health,
                    },
                    // Checked before: cannot happen; answers nothing if it did.
                    None => MemberAnswer::Records,
                },
                MemberTarget::LoadBalancer(lb) => MemberAnswer::LoadBalancer(*lb),
            })
            .collect();
        GroupTree {
            owner: find(&name::to_lowercase(&g.owner)).unwrap_or(NONE),
            refs,
            answers,
        }
    }
}

impl Zone {
    /// A routing-policy group: each member's records rendered like any RRset of the zone.
    pub(super) fn push_group(&mut self, g: GroupInput, tree: GroupTree) -> Group {
        let origin = self.origin.clone();
        let mut sets = Vec::with_capacity(g.members.len());
        for (m, refs) in g.members.iter().zip(&tree.refs) {
            let mut set = SetBuilder::new(g.rtype, m.ttl, (Arc::from(Path::new("")), 0));
            for rd in &m.rdatas {
                set.push(rd);
            }
            let mut refs = refs.iter();
            let mut rendered = self.add_set(&set, m.ttl, render::TOwner::Query, &origin, |_, _| {
                (None, refs.next().copied().flatten())
            });
            // A record set chosen by a policy answers its values in a random order, as
            // Route 53 does (§2).
            rendered.shuffle = rendered.count > 1;
            sets.push(rendered);
        }
        Group {
            rules: g.members.iter().map(|m| m.rule).collect(),
            health: g.members.iter().map(|m| m.health).collect(),
            answers: tree.answers.into_boxed_slice(),
            sets: sets.into_boxed_slice(),
            ids: g.members.iter().map(|m| m.id.clone()).collect(),
            cidr_collection: g.cidr_collection,
            consistent: g.consistent,
            salt: hash(&[&name::to_lowercase(&g.owner)[..], &g.rtype.to_be_bytes()].concat()),
            owner: tree.owner,
            rtype: g.rtype,
            answered: g
                .members
                .iter()
                .map(|m| {
                    crate::metrics::member(&origin, &name::to_lowercase(&g.owner), g.rtype, &m.id)
                })
                .collect(),
        }
    }

    /// Stores one RRset in the arenas, rendered with `owner`. `per_record` gives, for each
    /// RDATA, the additional-section target node and the tree position of its (first)
    /// compressible name.
    pub(super) fn add_set(
        &mut self,
        set: &SetBuilder,
        ttl: u32,
        owner: render::TOwner,
        origin: &[u8],
        mut per_record: impl FnMut(&[u8], bool) -> (Option<u32>, Option<NameRef>),
    ) -> RrSet {
        let compressible = types::rdata_names_compressible(set.rtype);
        let raw_off = self.bytes.len();
        if compressible {
            self.bytes.extend_from_slice(&set.data);
        }
        let raw = Span::of(&self.bytes, raw_off);
        let mut b = render::Builder::new(origin);
        let (ids_off, refs_off) = (self.ids.len(), self.refs.len());
        for rd in set.rdatas() {
            b.record(owner, set.rtype, ttl, rd);
            let (target, nref) = per_record(rd, compressible);
            if let Some(t) = target {
                if !self.ids[ids_off..].contains(&t) {
                    self.ids.push(t);
                }
            }
            if let Some(r) = nref {
                self.refs.push(r);
                if matches!(set.rtype, types::SOA | types::MINFO) {
                    // The second name of the record.
                    let first = rdata::wire_name_len(rd).unwrap_or(rd.len());
                    let second = rdata::wire_name_len(&rd[first..]).unwrap_or(0);
                    let lower = name::to_lowercase(&rd[first..first + second]);
                    self.refs.push(self.name_ref_in_arenas(&lower, origin));
                }
            }
        }
        let t = b.finish();
        let wire_off = self.bytes.len();
        self.bytes.extend_from_slice(&t.bytes);
        let ptrs_off = self.ptrs.len();
        self.ptrs.extend_from_slice(&t.apex_ptrs);
        RrSet {
            rtype: set.rtype,
            count: set.count,
            ttl,
            raw,
            wire: Span::of(&self.bytes, wire_off),
            apex_ptrs: Span::of(&self.ptrs, ptrs_off),
            additional: Span::of(&self.ids, ids_off),
            names: Span::of(&self.refs, refs_off),
            group: 0,
            shuffle: false,
            sigs: Span::default(),
        }
    }

    /// `NameRef` for a lowercase name, from the nodes stored so far (the second SOA/MINFO name;
    /// a node not stored yet is treated as absent: the name is then written whole).
    fn name_ref_in_arenas(&self, lower: &[u8], origin: &[u8]) -> NameRef {
        if !name::is_subdomain(lower, origin) {
            return NameRef {
                node: NONE,
                prefix: 0,
            };
        }
        let mut off = 0usize;
        while off < lower.len() {
            let found = self
                .nodes
                .iter()
                .position(|n| n.name.get(&self.names) == &lower[off..]);
            if let Some(id) = found {
                return NameRef {
                    node: id as u32,
                    prefix: off as u8,
                };
            }
            off += 1 + lower[off] as usize;
        }
        NameRef {
            node: NONE,
            prefix: 0,
        }
    }
}

/// Pre-renders the apex NS RRset followed by the addresses of those servers that we hold.
pub(super) fn ns_tail(zone: &Zone, origin: &[u8]) -> NsTail {
    let Some(ns) = zone.rrset(zone.apex(), types::NS) else {
        return NsTail::default();
    };
    let mut b = render::Builder::new(origin);
    let mut targets = Vec::new();
    for rd in zone.rdatas(ns) {
        let at = b.record(render::TOwner::Apex, types::NS, ns.ttl, rd)[0];
        targets.push((name::to_lowercase(rd), at));
    }
    let mut glue_count = 0;
    for &id in zone.additional(ns) {
        let node = zone.node(id);
        let Some(&(_, at)) = targets.iter().find(|(n, _)| **n == *zone.name(node)) else {
            continue;
        };
        for t in [types::A, types::AAAA] {
            if let Some(set) = zone.rrset(node, t) {
                for rd in zone.rdatas(set) {
                    b.record(render::TOwner::At(at), t, set.ttl, rd);
                }
                glue_count += set.count;
            }
        }
    }
    NsTail {
        wire: b.finish(),
        ns_count: ns.count,
        glue_count,
        glue: zone.additional(ns).into(),
    }
}
