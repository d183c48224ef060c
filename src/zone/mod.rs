//! Zone data compiled for answering: a hash of lowercase wire names to nodes, each node with
//! its RRsets already in wire form and the facts a lookup needs (delegation point above it,
//! wildcard child, DNAME) decided at load time. No answer ever scans the zone.

mod catalog;
mod compile;
mod layout;
pub mod lex;
pub mod parse;
mod patch;
pub mod rdata;
pub mod render;
pub mod signed;
mod signed_patch;

use crate::wire::{name, types};

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

pub use catalog::Catalog;
pub use parse::ParseError;
#[cfg(test)]
pub(crate) use patch::tests::describe;
pub use patch::{NewContent, PatchError, RrsetChange};

/// Index meaning "no node".
pub const NONE: u32 = u32::MAX;

/// A zone that failed to load: every problem found, each as `file:line: message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct LoadError {
    pub problems: Vec<ParseError>,
}

impl From<ParseError> for LoadError {
    fn from(e: ParseError) -> Self {
        LoadError { problems: vec![e] }
    }
}

/// A stretch of one of a zone's arenas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub off: u32,
    pub len: u32,
}

impl Span {
    fn of<T>(arena: &[T], off: usize) -> Span {
        Span {
            off: off as u32,
            len: (arena.len() - off) as u32,
        }
    }
    #[inline]
    fn get<T>(self, arena: &[T]) -> &[T] {
        &arena[self.off as usize..(self.off + self.len) as usize]
    }
}

/// An RRset: `count` records of one type at one name, kept in the zone's arenas (no allocation
/// of its own), both as RDATA and pre-rendered as they follow a question for their owner.
#[derive(Debug, Clone, Copy, Default)]
pub struct RrSet {
    pub rtype: u16,
    pub count: u16,
    pub ttl: u32,
    /// `[rdlength][rdata]` per record, in `Zone::bytes`, for types whose RDATA names are
    /// compressed; other types read their RDATA out of `wire`.
    raw: Span,
    /// The records pre-rendered (`wire.rs`), in `Zone::bytes`.
    wire: Span,
    /// Offsets of apex pointers inside `wire`, in `Zone::ptrs`.
    apex_ptrs: Span,
    /// Nodes whose A/AAAA belong in the additional section with this RRset (targets of NS, MX,
    /// SRV), in `Zone::ids`.
    additional: Span,
    /// Where each compressible RDATA name meets the zone tree, in `Zone::refs`: writing one is
    /// then a walk up node ids, not a search through the packet.
    names: Span,
    /// 0 for zone-file data; otherwise 1 + the index of the routing-policy group in
    /// `Zone::groups` that decides this name and type per query (its own spans are empty).
    group: u32,
    /// Answered in a random order each time (Route 53's simple routing: "returns all values
    /// in random order"); otherwise in the order stored, as NSD and Knot answer.
    shuffle: bool,
    /// A signed zone's routing-policy member: its RRSIGs as it answers (under the record
    /// set's name), `[rdlength][rdata]` each, in `Zone::bytes`. Empty otherwise (zone-file
    /// RRsets have theirs in the node's RRSIG RRset).
    sigs: Span,
}

impl RrSet {
    /// The routing-policy group deciding this RRset, if any.
    #[inline]
    pub fn group(&self) -> Option<usize> {
        self.group.checked_sub(1).map(|g| g as usize)
    }

    /// Whether its records go out in a random order.
    #[inline]
    pub fn shuffled(&self) -> bool {
        self.shuffle
    }
}

/// The order an RRset's records are answered in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RrsetOrder {
    /// As stored, every time (NSD's and Knot's way; resolvers shuffle themselves).
    #[default]
    Fixed,
    /// A random order per answer (Route 53's).
    Random,
}

/// A name and type whose records are chosen per query by a routing policy.
#[derive(Debug, Clone)]
pub struct Group {
    /// Each member's rule, in member order.
    pub rules: Box<[crate::policy::Rule]>,
    /// Each member's health check, an index into the snapshot's health table.
    pub health: Box<[Option<u32>]>,
    /// Each member's records, rendered like any RRset of the zone.
    pub sets: Box<[RrSet]>,
    /// What each member answers with: its own records, or an alias's target.
    pub answers: Box<[MemberAnswer]>,
    /// Set identifiers, for explanations.
    pub ids: Box<[String]>,
    /// The CIDR collection IP-based members refer to (index in the snapshot).
    pub cidr_collection: Option<u32>,
    /// Draw from a hash of the client's subnet instead of at random.
    pub consistent: bool,
    /// Stable across reloads (the owner and type), so a subnet keeps its answer.
    pub salt: u64,
    /// The node and type it decides (`NONE` once a patch retired it).
    pub owner: u32,
    pub rtype: u16,
    /// Answers each member gave (the same counters for every build of the group).
    pub answered: Box<[Arc<crate::metrics::MemberCounter>]>,
}

/// A routing-policy group as the configuration hands it to zone compilation.
#[derive(Debug, Clone)]
pub struct GroupInput {
    /// Owner in wire form.
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub members: Vec<MemberInput>,
    pub cidr_collection: Option<u32>,
    pub consistent: bool,
    /// Where the group was defined, for messages.
    pub defined_at: String,
    /// A view's record set: in that view's copy of the zone it takes the place of the zone
    /// file's RRset of its name and type (split horizon), instead of clashing with it.
    pub replaces_file: bool,
}

#[derive(Debug, Clone)]
pub struct MemberInput {
    pub rule: crate::policy::Rule,
    pub health: Option<u32>,
    pub ttl: u32,
    /// Uncompressed wire RDATA, one per record.
    pub rdatas: Vec<Vec<u8>>,
    pub target: MemberTarget,
    pub id: String,
}

/// What a member answers with, as the configuration names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberTarget {
    /// Its own records (`MemberInput::rdatas`).
    Records,
    /// An alias to the record set of the group's type at `target` (wire name in this zone).
    Alias {
        target: Vec<u8>,
        evaluate_target_health: bool,
    },
    LoadBalancer(LoadBalancerAlias),
}

/// What a member answers with, compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAnswer {
    /// Its own records (`Group::sets`).
    Records,
    /// The record set of the group's type at node `node` of this zone (its own policy decides
    /// if it has one), under the queried name (docs/route53.md §4.1).
    Alias {
        node: u32,
        evaluate_target_health: bool,
    },
    LoadBalancer(LoadBalancerAlias),
}

impl MemberAnswer {
    /// Whether the member's health includes its target's (Route 53's Evaluate Target Health).
    pub fn evaluates_target_health(&self) -> bool {
        match self {
            MemberAnswer::Records => false,
            MemberAnswer::Alias {
                evaluate_target_health,
                ..
            } => *evaluate_target_health,
            MemberAnswer::LoadBalancer(lb) => lb.evaluate_target_health,
        }
    }
}

/// An alias to a load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadBalancerAlias {
    /// Index of the load balancer in the snapshot's list.
    pub index: u32,
    /// Named `dualstack.`: AAAA answers too.
    pub dualstack: bool,
    pub evaluate_target_health: bool,
}

/// The zone's NS RRset with its servers' addresses, pre-rendered for the authority and
/// additional sections of positive answers.
#[derive(Debug, Clone, Default)]
pub struct NsTail {
    pub wire: render::Template,
    pub ns_count: u16,
    pub glue_count: u16,
    /// Nodes whose addresses are in `wire`.
    pub glue: Box<[u32]>,
}

/// An RDATA name seen from the zone tree: its first `prefix` octets are labels no node has,
/// the rest is node `node` (`NONE`: the name is outside the zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameRef {
    pub node: u32,
    pub prefix: u8,
}

/// Facts about a node fixed at load time.
pub mod flags {
    /// Non-apex node with NS: a zone cut.
    pub const CUT: u8 = 1;
    /// Owns a DNAME.
    pub const DNAME: u8 = 2;
    /// Has A or AAAA (worth adding to the additional section).
    pub const ADDRESS: u8 = 4;
}

#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// Full owner name, lowercase wire form, in `Zone::names`.
    name: Span,
    /// The node one label up; `NONE` at the apex.
    pub parent: u32,
    /// Its RRsets in `Zone::sets`; none for empty non-terminals.
    sets: Span,
    /// `*.<this name>`, if it exists.
    pub wildcard: u32,
    /// The highest zone cut or DNAME strictly above this node: data here is not authoritative
    /// (glue or occluded), and queries at or below are answered from that node.
    pub shadow: u32,
    pub flags: u8,
}

impl Node {
    pub fn is_cut(&self) -> bool {
        self.flags & flags::CUT != 0
    }
    pub fn is_empty(&self) -> bool {
        self.sets.len == 0
    }
}

/// A compiled zone. Its data sits in a few large arenas, so a zone of a million records is a
/// handful of allocations: compact, and freed in one go when a reload replaces it.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Lowercase wire form.
    pub origin: Box<[u8]>,
    pub nodes: Vec<Node>,
    sets: Vec<RrSet>,
    names: Vec<u8>,
    bytes: Vec<u8>,
    ptrs: Vec<u16>,
    ids: Vec<u32>,
    refs: Vec<NameRef>,
    pub groups: Vec<Group>,
    table: HashTable<u32>,
    /// The serial served (the SOA's; a reload may advance it past the source's, see
    /// `transfer::reload`).
    pub serial: u32,
    /// The serial as the zone's source wrote it.
    pub source_serial: u32,
    /// Where the SOA was written, `file:line`, for messages that ask to edit it.
    pub soa_at: Option<String>,
    /// The apex SOA with the negative-caching TTL, min(SOA TTL, SOA MINIMUM) (RFC 2308 §5),
    /// pre-rendered with the apex as owner.
    pub negative_soa: RrSet,
    pub ns_tail: NsTail,
    pub source: Option<PathBuf>,
    pub record_count: usize,
    /// A secondary zone with no usable data (never transferred, or past its SOA expire):
    /// queries get SERVFAIL, as BIND answers for it.
    pub servfail: bool,
    /// The routing policy of this zone's record sets in config form, carried to policydns
    /// secondaries by transfers (`transfer::records`); never served in answers.
    pub policy: Option<Arc<str>>,
    /// What a patch needs and answers never read (`patch`).
    upkeep: Upkeep,
    /// The queries this zone answered (the same counters for every build of the zone).
    pub counters: Arc<crate::metrics::ZoneCounters>,
    /// A private hosted zone's VPC ids: served only in the internal views serving one of
    /// them. Empty: a public zone.
    pub vpcs: Arc<[Box<str>]>,
    /// A signed zone's NSEC owners in canonical order (`signed`); empty: not signed with NSEC.
    pub nsec_chain: Box<[u32]>,
    /// A zone signed with NSEC3: its parameters and NSEC3 owners by hash (`signed`).
    pub nsec3: Option<Box<signed::Nsec3Index>>,
    /// A signed zone's way to sign its SOA again when a reload changes the serial served.
    pub soa_signer: Option<SoaSigner>,
    /// Where a zone this server signs saves its signatures at shutdown, for the next start
    /// to keep (`load::kept`).
    pub signature_cache: Option<Arc<std::path::Path>>,
    /// A signed zone's signatures for policy answers that are not one member's records
    /// (multivalue, aliases, load balancers), made on first use and kept (`signed`).
    pub policy_signer: Option<Arc<signed::PolicySigner>>,
}

/// Signs a signed zone's apex SOA again: its new RDATA → one RRSIG RDATA per zone-signing
/// key. A reload that advances the serial served (`transfer::reload`) changes the SOA after
/// the zone was signed; only the SOA's signatures need making again.
#[derive(Clone)]
pub struct SoaSigner(pub Arc<dyn Fn(&[u8]) -> Vec<Vec<u8>> + Send + Sync>);

impl std::fmt::Debug for SoaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoaSigner")
    }
}

/// What patching a zone in place needs beside the answer path's data: the tree's shape and
/// what depends on a node having addresses.
#[derive(Debug, Clone, Default)]
struct Upkeep {
    /// Each node's number of child nodes: a node left with no data and no children goes.
    children: Vec<u32>,
    /// Lowercase names that NS, MX or SRV records of the zone point to: their addresses are
    /// in other RRsets' additional sections.
    targets: hashbrown::HashSet<Box<[u8]>>,
    /// How multi-record RRsets are answered (`set_rrset_order`), for the RRsets a patch adds.
    order: RrsetOrder,
    /// Arena sizes after the last full compile: a patch appends, so the garbage it leaves is
    /// bounded by compiling again when they have doubled.
    compiled_bytes: usize,
    compiled_sets: usize,
}

pub const APEX: u32 = 0;

fn hash(key: &[u8]) -> u64 {
    FxBuildHasher.hash_one(key)
}

/// Equality of two short byte strings without a call into libc's memcmp, which costs more
/// than the comparison for names of a few dozen octets.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in ca.by_ref().zip(cb.by_ref()) {
        if u64::from_ne_bytes(x.try_into().unwrap()) != u64::from_ne_bytes(y.try_into().unwrap()) {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

impl Zone {
    /// Finds the node with exactly this lowercase wire name.
    #[inline]
    pub fn find(&self, lower: &[u8]) -> Option<u32> {
        let (nodes, names) = (&self.nodes, &self.names);
        self.table
            .find(hash(lower), |&id| {
                same(nodes[id as usize].name.get(names), lower)
            })
            .copied()
    }

    pub fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    /// A node's name, lowercase wire form.
    #[inline]
    pub fn name(&self, node: &Node) -> &[u8] {
        node.name.get(&self.names)
    }

    #[inline]
    pub fn rrsets(&self, node: &Node) -> &[RrSet] {
        node.sets.get(&self.sets)
    }

    #[inline]
    pub fn rrset(&self, node: &Node, rtype: u16) -> Option<&RrSet> {
        self.rrsets(node).iter().find(|s| s.rtype == rtype)
    }

    /// The pre-rendered records and the offsets of their apex pointers.
    #[inline]
    pub fn wire(&self, set: &RrSet) -> (&[u8], &[u16]) {
        (set.wire.get(&self.bytes), set.apex_ptrs.get(&self.ptrs))
    }

    pub fn additional(&self, set: &RrSet) -> &[u32] {
        set.additional.get(&self.ids)
    }

    pub fn name_refs(&self, set: &RrSet) -> &[NameRef] {
        set.names.get(&self.refs)
    }

    /// Each record's RDATA.
    pub fn rdatas<'z>(&'z self, set: &RrSet) -> impl Iterator<Item = &'z [u8]> + 'z {
        // Raw form `[rdlength][rdata]`, or the rendered one with a 10-octet head before it.
        let (data, head) = if set.raw.len > 0 || types::rdata_names_compressible(set.rtype) {
            (set.raw.get(&self.bytes), 0)
        } else {
            (set.wire.get(&self.bytes), 10)
        };
        let mut pos = 0;
        std::iter::from_fn(move || {
            let at = pos + head;
            let len = u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?) as usize;
            let r = &data[at + 2..at + 2 + len];
            pos = at + 2 + len;
            Some(r)
        })
    }

    pub fn apex(&self) -> &Node {
        &self.nodes[APEX as usize]
    }

    pub fn origin_text(&self) -> String {
        name::to_text(&self.origin)
    }

    /// Answers this zone's RRsets of several records in a random order (or back in their
    /// stored order). Routing-policy members always go out in a random order.
    /// The order `other`'s RRsets are answered in (a zone rebuilt from another's records).
    pub fn set_rrset_order_from(&mut self, other: &Zone) {
        self.set_rrset_order(other.upkeep.order);
    }

    pub fn set_rrset_order(&mut self, order: RrsetOrder) {
        self.upkeep.order = order;
        for set in self.sets.iter_mut().filter(|s| s.count > 1) {
            set.shuffle = order == RrsetOrder::Random;
        }
    }
}

#[cfg(test)]
mod tests;
