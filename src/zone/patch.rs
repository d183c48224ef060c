//! Changing a compiled zone in place: a change batch of the API (or a dynamic update) touches a
//! few RRsets of a zone that may hold a million, and must reach the answer path without the
//! zone being compiled again.
//!
//! The arenas only grow: a changed RRset is rendered at their end and its node's list of RRsets
//! rewritten there too, so nothing a query may be reading moves (the caller patches a copy and
//! publishes it). A node that gains its first data is added with the empty non-terminals above
//! it; a node left with no data and no children leaves the name table (its slot stays, unused).
//! When the arenas have doubled since the last full compile the caller compiles again.
//!
//! What a patch does not do (it answers [`PatchError::Unsupported`] and the caller compiles the
//! zone whole, as before): change the SOA, add or remove a delegation (every node below it
//! changes), or give or take away the addresses of a name that NS, MX or SRV records point to
//! (other RRsets' additional sections change). Everything else a full compile checks about the
//! touched names is checked here, with the same messages, before anything changes: a patch that
//! fails leaves the zone as it was.
//!
//! A patch and a full compile of the same records answer alike; the one difference is name
//! compression, where an RDATA name whose owner a later change adds may be written without the
//! pointer a full compile would find.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use super::compile::SetBuilder;
use super::layout::{name_ref_with, ns_tail, GroupTree};
use super::{
    flags, hash, rdata, render, Group, GroupInput, MemberAnswer, MemberTarget, Node, RrSet,
    RrsetOrder, Span, Upkeep, Zone, APEX, NONE,
};
use crate::wire::{name, types};

/// What a change leaves at one owner and type.
#[derive(Debug, Clone)]
pub enum NewContent {
    /// No RRset of that type any more.
    Gone,
    /// Records, as a zone file gives them (uncompressed wire RDATA).
    Records { ttl: u32, rdatas: Vec<Vec<u8>> },
    /// A routing-policy group.
    Group(GroupInput),
}

/// One owner and type's new content.
#[derive(Debug, Clone)]
pub struct RrsetChange {
    /// Lowercase wire form.
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub content: NewContent,
}

/// Why a patch was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The change is sound but takes a full compile (see the module docs).
    #[error("{0}: the zone is compiled whole")]
    Unsupported(&'static str),
    /// What the changed zone would break, in a full compile's words.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl Zone {
    /// Applies `changes` (one per owner and type) in place, or changes nothing.
    pub fn patch(&mut self, changes: Vec<RrsetChange>) -> Result<(), PatchError> {
        self.check_patch(&changes)?;
        // Every owner first, so an alias may point to a name the same batch creates.
        for c in &changes {
            if !matches!(c.content, NewContent::Gone) {
                self.ensure_node(&c.owner);
            }
        }
        let mut ns_tail_stale = false;
        let mut emptied = Vec::new();
        for c in changes {
            let (stale, id) = self.apply_one(c);
            ns_tail_stale |= stale;
            emptied.extend(id);
        }
        // Only once every change is in: a name the batch empties may get data from another.
        for id in emptied {
            self.prune(id);
        }
        if ns_tail_stale {
            let origin = self.origin.clone();
            self.ns_tail = ns_tail(self, &origin);
        }
        Ok(())
    }

    /// The patch's bookkeeping, worked out from a freshly compiled zone.
    pub(super) fn upkeep_from_tree(&self) -> Upkeep {
        let mut children = vec![0u32; self.nodes.len()];
        for n in &self.nodes {
            if n.parent != NONE {
                children[n.parent as usize] += 1;
            }
        }
        let mut targets = hashbrown::HashSet::new();
        for n in &self.nodes {
            for set in self.rrsets(n) {
                if let Some(off) = target_offset(set.rtype).filter(|_| set.group().is_none()) {
                    for rd in self.rdatas(set) {
                        targets.insert(name::to_lowercase(&rd[off..]).into_boxed_slice());
                    }
                }
            }
        }
        Upkeep {
            children,
            targets,
            order: self.upkeep.order,
            compiled_bytes: self.bytes.len(),
            compiled_sets: self.sets.len(),
        }
    }

    fn present(&self, owner: &[u8], rtype: u16) -> bool {
        self.find(owner)
            .is_some_and(|id| self.rrset(&self.nodes[id as usize], rtype).is_some())
    }

    fn check_patch(&self, changes: &[RrsetChange]) -> Result<(), PatchError> {
        let u = &self.upkeep;
        if self.servfail {
            return Err(PatchError::Unsupported("the zone has no data"));
        }
        if self.bytes.len() > 2 * u.compiled_bytes + (1 << 20)
            || self.sets.len() > 2 * u.compiled_sets + 4096
        {
            return Err(PatchError::Unsupported("the arenas have doubled"));
        }
        let origin = &self.origin[..];
        let mut problems = Vec::new();
        // (owner, type) → present once the batch applies.
        let mut after: BTreeMap<(&[u8], u16), bool> = BTreeMap::new();
        let mut new_targets: BTreeSet<Vec<u8>> = BTreeSet::new();
        for c in changes {
            if !name::is_subdomain(&c.owner, origin) {
                problems.push(format!(
                    "{} is outside zone {}",
                    name::to_text(&c.owner),
                    name::to_text(origin)
                ));
                continue;
            }
            match c.rtype {
                types::SOA => return Err(PatchError::Unsupported("the SOA changes")),
                types::NS if c.owner != origin => {
                    return Err(PatchError::Unsupported("a delegation changes"))
                }
                types::DNAME => return Err(PatchError::Unsupported("a DNAME changes")),
                _ => {}
            }
            let present = !matches!(c.content, NewContent::Gone);
            if after.insert((&c.owner, c.rtype), present).is_some() {
                return Err(PatchError::Unsupported("one owner and type changed twice"));
            }
            if let NewContent::Records { rdatas, .. } = &c.content {
                if c.rtype == types::CNAME && distinct(c.rtype, rdatas).len() > 1 {
                    problems.push("a name can have only one CNAME record".to_string());
                }
                if let Some(off) = target_offset(c.rtype) {
                    new_targets.extend(rdatas.iter().map(|rd| name::to_lowercase(&rd[off..])));
                }
            }
        }
        let present_after = |owner: &[u8], rtype: u16| {
            after
                .get(&(owner, rtype))
                .copied()
                .unwrap_or_else(|| self.present(owner, rtype))
        };
        let owners: BTreeSet<&[u8]> = after.keys().map(|(o, _)| *o).collect();
        for owner in owners {
            let mut now: Vec<u16> = self
                .find(owner)
                .map(|id| {
                    self.rrsets(&self.nodes[id as usize])
                        .iter()
                        .map(|s| s.rtype)
                        .collect()
                })
                .unwrap_or_default();
            let had_address = now.iter().any(|&t| t == types::A || t == types::AAAA);
            for (&(_, t), &present) in after.range((owner, 0)..=(owner, u16::MAX)) {
                now.retain(|&x| x != t);
                if present {
                    now.push(t);
                }
            }
            let has_address = now.iter().any(|&t| t == types::A || t == types::AAAA);
            if had_address != has_address
                && (u.targets.contains(owner) || new_targets.contains(owner))
            {
                return Err(PatchError::Unsupported(
                    "a name NS, MX or SRV records point to gains or loses its addresses",
                ));
            }
            // RFC 1034 §3.6.2 and RFC 2181 §10.1; DNSSEC types may coexist (RFC 4035 §2.5).
            if now.contains(&types::CNAME) {
                let mut others: Vec<String> = now
                    .iter()
                    .filter(|&&t| !matches!(t, types::CNAME | types::RRSIG | types::NSEC))
                    .map(|&t| types::mnemonic(t))
                    .collect();
                others.sort();
                if !others.is_empty() {
                    problems.push(format!(
                        "CNAME at {} next to other data ({}) (RFC 1034 §3.6.2)",
                        name::to_text(owner),
                        others.join(", ")
                    ));
                }
            }
        }
        // Alias targets must be record sets of the same type in this zone (§4.1): those of the
        // groups the batch writes, and those of the groups it leaves alone.
        let alias_problem = |owner: &[u8], rtype: u16, id: &str, target: &[u8]| {
            format!(
                "{} {} ({id}): alias target {} has no {} record set in zone {}",
                name::to_text(owner),
                types::mnemonic(rtype),
                name::to_text(target),
                types::mnemonic(rtype),
                name::to_text(origin)
            )
        };
        for c in changes {
            let NewContent::Group(g) = &c.content else {
                continue;
            };
            for m in &g.members {
                if let MemberTarget::Alias { target, .. } = &m.target {
                    if !present_after(&name::to_lowercase(target), g.rtype) {
                        problems.push(alias_problem(&g.owner, g.rtype, &m.id, target));
                    }
                }
            }
        }
        let removed: Vec<(u32, u16)> = after
            .iter()
            .filter(|(_, &present)| !present)
            .filter_map(|(&(owner, t), _)| self.find(owner).map(|id| (id, t)))
            .collect();
        if !removed.is_empty() {
            for g in self.groups.iter().filter(|g| g.owner != NONE) {
                let owner = self.name(&self.nodes[g.owner as usize]);
                if after.contains_key(&(owner, g.rtype)) {
                    continue; // rewritten by this batch, checked above
                }
                for (a, id) in g.answers.iter().zip(g.ids.iter()) {
                    if let MemberAnswer::Alias { node, .. } = a {
                        if removed.contains(&(*node, g.rtype)) {
                            let target = self.name(&self.nodes[*node as usize]);
                            problems.push(alias_problem(owner, g.rtype, id, target));
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PatchError::Invalid(problems))
        }
    }

    /// The node for `owner`, added with any missing ancestors (empty non-terminals).
    fn ensure_node(&mut self, owner: &[u8]) -> u32 {
        if let Some(id) = self.find(owner) {
            return id;
        }
        let parent = name::parent(owner).expect("below the apex, which exists");
        let p = self.ensure_node(parent);
        let id = self.nodes.len() as u32;
        let name_off = self.names.len();
        self.names.extend_from_slice(owner);
        let pn = self.nodes[p as usize];
        let shadow = if pn.shadow != NONE {
            pn.shadow
        } else if pn.flags & (flags::CUT | flags::DNAME) != 0 {
            p
        } else {
            NONE
        };
        self.nodes.push(Node {
            name: Span::of(&self.names, name_off),
            parent: p,
            sets: Span {
                off: self.sets.len() as u32,
                len: 0,
            },
            wildcard: NONE,
            shadow,
            flags: 0,
        });
        self.upkeep.children.push(0);
        self.upkeep.children[p as usize] += 1;
        if name::is_wildcard(owner) {
            self.nodes[p as usize].wildcard = id;
        }
        let Zone {
            nodes,
            names,
            table,
            ..
        } = self;
        table.insert_unique(hash(owner), id, |&i| {
            hash(nodes[i as usize].name.get(names))
        });
        id
    }

    /// Applies one change: whether the apex's NS tail must be rendered again, and the node if
    /// it was left with no data.
    fn apply_one(&mut self, c: RrsetChange) -> (bool, Option<u32>) {
        let Some(id) = self.find(&c.owner) else {
            return (false, None); // removing what is not there
        };
        let mut sets: Vec<RrSet> = self.rrsets(&self.nodes[id as usize]).to_vec();
        let pos = sets.iter().position(|s| s.rtype == c.rtype);
        if let Some(old) = pos.map(|p| sets[p]) {
            match old.group() {
                Some(g) => self.retire_group(g),
                None => self.record_count -= usize::from(old.count),
            }
        }
        let new = match c.content {
            NewContent::Gone => None,
            NewContent::Records { ttl, rdatas } => Some(self.render_records(c.rtype, ttl, &rdatas)),
            NewContent::Group(g) => {
                let origin = self.origin.clone();
                let tree = GroupTree::of(|n| self.find(n), &origin, &g);
                let ttl = g.members.first().map_or(0, |m| m.ttl);
                let group = self.push_group(g, tree);
                self.groups.push(group);
                Some(RrSet {
                    rtype: c.rtype,
                    ttl,
                    group: self.groups.len() as u32,
                    ..RrSet::default()
                })
            }
        };
        match (pos, new) {
            (Some(p), Some(s)) => sets[p] = s,
            (Some(p), None) => {
                sets.remove(p);
            }
            (None, Some(s)) => sets.push(s),
            (None, None) => {}
        }
        let off = self.sets.len();
        self.sets.extend_from_slice(&sets);
        let span = Span::of(&self.sets, off);
        let has = |t: u16| sets.iter().any(|s| s.rtype == t);
        let node = &mut self.nodes[id as usize];
        node.sets = span;
        node.flags &= !flags::ADDRESS;
        if has(types::A) || has(types::AAAA) {
            node.flags |= flags::ADDRESS;
        }
        let stale = (id == APEX && c.rtype == types::NS)
            || (matches!(c.rtype, types::A | types::AAAA) && self.ns_tail.glue.contains(&id));
        (stale, sets.is_empty().then_some(id))
    }

    /// Renders a plain RRset at the arenas' end, with its additional-section targets (glue
    /// only for NS; MX and SRV get authoritative addresses only) and its names' places in
    /// the tree, as a full compile does.
    fn render_records(&mut self, rtype: u16, ttl: u32, rdatas: &[Vec<u8>]) -> RrSet {
        let origin = self.origin.clone();
        let rdatas = distinct(rtype, rdatas);
        let mut set = SetBuilder::new(rtype, ttl, (Arc::from(Path::new("")), 0));
        for rd in &rdatas {
            set.push(rd);
        }
        let compressible = types::rdata_names_compressible(rtype);
        let off = target_offset(rtype);
        let find = |n: &[u8]| self.find(n);
        let per_record: Vec<_> = rdatas
            .iter()
            .map(|rd| {
                let at = off.unwrap_or(0);
                let target = off.and_then(|o| {
                    find(&name::to_lowercase(&rd[o..])).filter(|&t| {
                        let n = &self.nodes[t as usize];
                        n.flags & flags::ADDRESS != 0
                            && (rtype == types::NS || (n.shadow == NONE && !n.is_cut()))
                    })
                });
                (
                    target,
                    compressible.then(|| name_ref_with(find, &origin, &rd[at..])),
                )
            })
            .collect();
        if let Some(o) = off {
            for rd in &rdatas {
                self.upkeep
                    .targets
                    .insert(name::to_lowercase(&rd[o..]).into_boxed_slice());
            }
        }
        let mut per_record = per_record.into_iter();
        let mut rendered = self.add_set(&set, ttl, render::TOwner::Query, &origin, |_, _| {
            per_record.next().unwrap_or((None, None))
        });
        rendered.shuffle = rendered.count > 1 && self.upkeep.order == RrsetOrder::Random;
        self.record_count += usize::from(rendered.count);
        rendered
    }

    /// A group no RRset refers to any more: emptied, so nothing reads its members.
    fn retire_group(&mut self, g: usize) {
        let salt = self.groups[g].salt;
        self.groups[g] = Group {
            rules: Box::new([]),
            health: Box::new([]),
            sets: Box::new([]),
            answers: Box::new([]),
            ids: Box::new([]),
            cidr_collection: None,
            consistent: false,
            salt,
            owner: NONE,
            rtype: 0,
            answered: Box::new([]),
        };
    }

    /// Takes a node with no data and no children out of the tree, and its parents with it
    /// while they are left the same way (the apex stays).
    fn prune(&mut self, mut id: u32) {
        while id != APEX
            && self.nodes[id as usize].is_empty()
            && self.upkeep.children[id as usize] == 0
            && self.find(self.name(&self.nodes[id as usize])) == Some(id)
        {
            let node = self.nodes[id as usize];
            let owner = node.name.get(&self.names).to_vec();
            let Zone {
                nodes,
                names,
                table,
                ..
            } = self;
            if let Ok(entry) = table.find_entry(hash(&owner), |&i| {
                i == id && nodes[i as usize].name.get(names) == &owner[..]
            }) {
                entry.remove();
            }
            let p = node.parent;
            self.upkeep.children[p as usize] -= 1;
            if self.nodes[p as usize].wildcard == id {
                self.nodes[p as usize].wildcard = NONE;
            }
            self.nodes[id as usize].flags = 0;
            id = p;
        }
    }
}

/// Where the name that wants addresses in the additional section starts in the RDATA.
fn target_offset(rtype: u16) -> Option<usize> {
    match rtype {
        types::NS => Some(0),
        types::MX => Some(2),
        types::SRV => Some(6),
        _ => None,
    }
}

/// The records without duplicates (RFC 2181 §5), in their order.
fn distinct(rtype: u16, rdatas: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    for rd in rdatas {
        let canon = rdata::canonical(rtype, rd).into_owned();
        if !seen.contains(&canon) {
            seen.push(canon);
            out.push(rd.clone());
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
