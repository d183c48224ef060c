//! Zone data compiled for answering: a hash of lowercase wire names to nodes, each node with
//! its RRsets already in wire form and the facts a lookup needs (delegation point above it,
//! wildcard child, DNAME) decided at load time. No answer ever scans the zone.

pub mod name;
pub mod parse;
pub mod rdata;
pub mod types;
pub mod wire;

use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

pub use parse::ParseError;

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
}

impl RrSet {
    /// The routing-policy group deciding this RRset, if any.
    #[inline]
    pub fn group(&self) -> Option<usize> {
        self.group.checked_sub(1).map(|g| g as usize)
    }
}

/// A name and type whose records are chosen per query by a routing policy.
#[derive(Debug)]
pub struct Group {
    /// Each member's rule, in member order.
    pub rules: Box<[crate::policy::Rule]>,
    /// Each member's health check, an index into the snapshot's health table.
    pub health: Box<[Option<u32>]>,
    /// Each member's records, rendered like any RRset of the zone.
    pub sets: Box<[RrSet]>,
    /// Each member's alias target, if it is an alias: the target node in this zone (whose
    /// record set of the group's type answers), and Evaluate Target Health.
    pub alias: Box<[Option<(u32, bool)>]>,
    /// Each member's load-balancer target, if it aliases one: the load balancer (index in the
    /// snapshot), whether it was named `dualstack.` (then AAAA answers too), and Evaluate
    /// Target Health.
    pub load_balancer: Box<[Option<(u32, bool, bool)>]>,
    /// Set identifiers, for explanations.
    pub ids: Box<[String]>,
    /// The CIDR collection IP-based members refer to (index in the snapshot).
    pub cidr_collection: Option<u32>,
    /// Draw from a hash of the client's subnet instead of at random.
    pub consistent: bool,
    /// Stable across reloads (the owner and type), so a subnet keeps its answer.
    pub salt: u64,
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
}

#[derive(Debug, Clone)]
pub struct MemberInput {
    pub rule: crate::policy::Rule,
    pub health: Option<u32>,
    pub ttl: u32,
    /// Uncompressed wire RDATA, one per record.
    pub rdatas: Vec<Vec<u8>>,
    /// Alias target (wire name in this zone) and Evaluate Target Health.
    pub alias: Option<(Vec<u8>, bool)>,
    /// Alias to a load balancer: (index, dualstack, Evaluate Target Health).
    pub load_balancer: Option<(u32, bool, bool)>,
    pub id: String,
}

/// The zone's NS RRset with its servers' addresses, pre-rendered for the authority and
/// additional sections of positive answers.
#[derive(Debug, Clone, Default)]
pub struct NsTail {
    pub wire: wire::Template,
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
#[derive(Debug)]
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
    pub serial: u32,
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

    /// Reads and compiles a zone file. Warnings (ignored out-of-zone data, TTL mismatches) are
    /// returned beside the zone; anything that would make answers wrong is an error.
    pub fn load(origin: &[u8], path: &Path) -> Result<(Zone, Vec<String>), LoadError> {
        Self::load_with_groups(origin, path, Vec::new())
    }

    /// Loads a zone file and adds routing-policy groups (from the configuration) to it.
    pub fn load_with_groups(
        origin: &[u8],
        path: &Path,
        groups: Vec<GroupInput>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        let origin = name::to_lowercase(origin);
        let (mut zone, warnings) = Self::compile_from(&origin, groups, |sink| {
            parse::parse_file_with(path, &origin, sink)
        })
        .map_err(|mut e| {
            // Zone-wide problems (no SOA, ...) have no line: name the file at least.
            for p in e
                .problems
                .iter_mut()
                .filter(|p| p.file.as_os_str().is_empty())
            {
                p.file = path.to_path_buf();
            }
            e
        })?;
        zone.source = Some(path.to_path_buf());
        Ok((zone, warnings))
    }

    /// Compiles parsed records into a zone.
    pub fn compile(
        origin: &[u8],
        records: Vec<parse::Record>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        Self::compile_with_groups(origin, records, Vec::new())
    }

    /// Compiles records and routing-policy groups that did not come from a zone file (a Route
    /// 53 export, tests).
    pub fn compile_with_groups(
        origin: &[u8],
        records: Vec<parse::Record>,
        groups: Vec<GroupInput>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        Self::compile_from(origin, groups, |sink| {
            records.into_iter().for_each(sink);
            Ok(())
        })
    }

    /// Compiles the records `feed` hands over one by one (straight from the parser when
    /// loading a file, so the zone is never held as a list of records).
    fn compile_from(
        origin: &[u8],
        groups: Vec<GroupInput>,
        feed: impl FnOnce(&mut dyn FnMut(parse::Record)) -> Result<(), ParseError>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        let origin = name::to_lowercase(origin);
        let mut warnings = Vec::new();
        let mut problems = Vec::new();
        let problem = |r: &parse::Record, message: String| ParseError {
            file: r.file.to_path_buf(),
            line: r.line,
            message,
        };

        // Group records by owner, then type, keeping the first-seen order of types.
        let mut builder = Builder::new(&origin);
        let mut record_count = 0;
        let mut add = |rec: parse::Record| {
            record_count += 1;
            let owner = name::to_lowercase(&rec.owner);
            if !name::is_subdomain(&owner, &origin) {
                // NSD's choice: out-of-zone data is ignored with a warning, not fatal.
                warnings.push(format!(
                    "{}:{}: {} is outside zone {}, ignored",
                    rec.file.display(),
                    rec.line,
                    name::to_text(&rec.owner),
                    name::to_text(&origin)
                ));
                return;
            }
            if rec.rtype == types::SOA && owner != origin {
                problems.push(problem(
                    &rec,
                    "SOA record is allowed only at the zone apex".into(),
                ));
                return;
            }
            if rec.rtype == types::DS && owner == origin {
                // Knot and NSD load it too; BIND refuses. It is the parent's data: say so.
                warnings.push(format!(
                    "{}:{}: DS at the apex of {} belongs in the parent zone",
                    rec.file.display(),
                    rec.line,
                    name::to_text(&origin)
                ));
            }
            let id = builder.node(&owner);
            let sets = &mut builder.sets[id as usize];
            match sets.iter_mut().find(|s| s.rtype == rec.rtype) {
                Some(set) => {
                    let canon = rdata::canonical(rec.rtype, &rec.rdata);
                    if set
                        .rdatas()
                        .any(|d| rdata::canonical(rec.rtype, d) == canon)
                    {
                        return; // RFC 2181 §5: an RRset holds no duplicates.
                    }
                    if set.ttl != rec.ttl {
                        warnings.push(format!(
                            "{}:{}: TTL {} differs from {} of the rest of the {} RRset at {}; using {} (RFC 2181 §5.2)",
                            rec.file.display(), rec.line, rec.ttl, set.ttl,
                            types::mnemonic(rec.rtype), name::to_text(&rec.owner), set.ttl
                        ));
                    }
                    if rec.rtype == types::SOA {
                        problems.push(problem(&rec, "a zone has exactly one SOA record".into()));
                        return;
                    }
                    if rec.rtype == types::CNAME {
                        problems.push(problem(
                            &rec,
                            "a name can have only one CNAME record".into(),
                        ));
                        return;
                    }
                    if rec.rtype == types::DNAME {
                        problems.push(problem(
                            &rec,
                            "a name can have only one DNAME record".into(),
                        ));
                        return;
                    }
                    set.push(&rec.rdata);
                }
                None => {
                    let mut set = SetBuilder {
                        rtype: rec.rtype,
                        ttl: rec.ttl,
                        count: 0,
                        data: Vec::new(),
                        first: (rec.file.clone(), rec.line),
                        group: 0,
                    };
                    set.push(&rec.rdata);
                    sets.push(set);
                }
            }
        };
        feed(&mut add)?;

        // Routing-policy groups take their place in the tree beside the zone-file data.
        for (gi, g) in groups.iter().enumerate() {
            let owner = name::to_lowercase(&g.owner);
            let problem = |message: String| ParseError {
                file: PathBuf::from(&g.defined_at),
                line: 0,
                message,
            };
            if !name::is_subdomain(&owner, &origin) {
                problems.push(problem(format!(
                    "{} is outside zone {}",
                    name::to_text(&owner),
                    name::to_text(&origin)
                )));
                continue;
            }
            let id = builder.node(&owner);
            let sets = &mut builder.sets[id as usize];
            if let Some(s) = sets.iter().find(|s| s.rtype == g.rtype) {
                problems.push(problem(format!(
                    "{} {} has records in the zone file ({}:{}) and routing-policy record sets: keep one",
                    name::to_text(&owner),
                    types::mnemonic(g.rtype),
                    s.first.0.display(),
                    s.first.1
                )));
                continue;
            }
            sets.push(SetBuilder {
                rtype: g.rtype,
                ttl: g.members.first().map_or(0, |m| m.ttl),
                count: 0,
                data: Vec::new(),
                first: (Arc::from(Path::new(&g.defined_at)), 0),
                group: gi as u32 + 1,
            });
        }

        // Alias targets must be record sets of the same type in this zone (§4.1).
        for g in &groups {
            for m in &g.members {
                let Some((target, _)) = &m.alias else {
                    continue;
                };
                let lower = name::to_lowercase(target);
                let has_type = builder
                    .find(&lower)
                    .is_some_and(|id| builder.sets[id as usize].iter().any(|s| s.rtype == g.rtype));
                if !has_type {
                    problems.push(ParseError {
                        file: PathBuf::from(&g.defined_at),
                        line: 0,
                        message: format!(
                            "{} {} ({}): alias target {} has no {} record set in zone {}",
                            name::to_text(&g.owner),
                            types::mnemonic(g.rtype),
                            m.id,
                            name::to_text(target),
                            types::mnemonic(g.rtype),
                            name::to_text(&origin)
                        ),
                    });
                }
            }
        }

        let at = |b: &Builder, id: u32, t: u16| {
            b.sets[id as usize]
                .iter()
                .find(|s| s.rtype == t)
                .map(|s| s.first.clone())
        };
        let apex_problem = |message: &str| ParseError {
            file: PathBuf::new(),
            line: 0,
            message: format!("zone {}: {message}", name::to_text(&origin)),
        };
        if at(&builder, APEX, types::SOA).is_none() {
            problems.push(apex_problem("no SOA record at the apex"));
        }
        if at(&builder, APEX, types::NS).is_none() {
            problems.push(apex_problem("no NS records at the apex"));
        }
        for id in 0..builder.names.len() as u32 {
            let sets = &builder.sets[id as usize];
            if let Some((file, line)) = at(&builder, id, types::CNAME) {
                // RFC 1034 §3.6.2 and RFC 2181 §10.1; DNSSEC types may coexist (RFC 4035 §2.5).
                let others: Vec<String> = sets
                    .iter()
                    .filter(|s| !matches!(s.rtype, types::CNAME | types::RRSIG | types::NSEC))
                    .map(|s| types::mnemonic(s.rtype))
                    .collect();
                if !others.is_empty() {
                    problems.push(ParseError {
                        file: file.to_path_buf(),
                        line,
                        message: format!(
                            "CNAME at {} next to other data ({}) (RFC 1034 §3.6.2)",
                            name::to_text(&builder.names[id as usize]),
                            others.join(", ")
                        ),
                    });
                }
            }
        }
        if !problems.is_empty() {
            problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            return Err(LoadError { problems });
        }
        let zone = builder.finish(&mut warnings, record_count, groups);
        Ok((zone, warnings))
    }
}

struct SetBuilder {
    rtype: u16,
    ttl: u32,
    count: u16,
    /// `[rdlength][rdata]` per record: one allocation per RRset while loading.
    data: Vec<u8>,
    first: (Arc<Path>, usize),
    /// As `RrSet::group`.
    group: u32,
}

impl SetBuilder {
    fn push(&mut self, rdata: &[u8]) {
        self.data
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.data.extend_from_slice(rdata);
        self.count += 1;
    }

    fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        let data = &self.data[..];
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = u16::from_be_bytes(data.get(pos..pos + 2)?.try_into().ok()?) as usize;
            let r = &data[pos + 2..pos + 2 + len];
            pos += 2 + len;
            Some(r)
        })
    }
}

/// Collects nodes (with every empty non-terminal between an owner and the apex) before the
/// facts that depend on the whole tree are worked out.
struct Builder {
    names: Vec<Vec<u8>>,
    sets: Vec<Vec<SetBuilder>>,
    table: HashTable<u32>,
}

impl Builder {
    fn new(origin: &[u8]) -> Self {
        let mut b = Builder {
            names: Vec::new(),
            sets: Vec::new(),
            table: HashTable::new(),
        };
        b.insert(origin);
        b
    }

    fn find(&self, name: &[u8]) -> Option<u32> {
        self.table
            .find(hash(name), |&id| self.names[id as usize] == name)
            .copied()
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
    fn node(&mut self, owner: &[u8]) -> u32 {
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

    fn finish(
        self,
        warnings: &mut Vec<String>,
        record_count: usize,
        groups: Vec<GroupInput>,
    ) -> Zone {
        let origin = self.names[APEX as usize].clone();
        let n = self.names.len();
        let has = |id: usize, t: u16| self.sets[id].iter().any(|s| s.rtype == t);

        // Tree facts first: flags, then parents before children so the shadow flows down.
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
        let mut parent = vec![NONE; n];
        let mut shadow = vec![NONE; n];
        let mut wildcard = vec![NONE; n];
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
            parent[id as usize] = p as u32;
            shadow[id as usize] = if shadow[p] != NONE {
                shadow[p]
            } else if node_flags[p] & (flags::CUT | flags::DNAME) != 0 {
                p as u32
            } else {
                NONE
            };
            if name::is_wildcard(nm) {
                wildcard[p] = id;
            }
        }
        for id in 0..n {
            if shadow[id] != NONE
                && !self.sets[id].is_empty()
                && node_flags[shadow[id] as usize] & flags::DNAME != 0
            {
                warnings.push(format!(
                    "{} is below the DNAME at {} and will not be served (RFC 6672 §2.4)",
                    name::to_text(&self.names[id]),
                    name::to_text(&self.names[shadow[id] as usize])
                ));
            }
        }

        // Where compressible RDATA names meet the tree.
        let name_ref = |rdata_name: &[u8]| -> NameRef {
            let lower = name::to_lowercase(rdata_name);
            if !name::is_subdomain(&lower, &origin) {
                return NameRef {
                    node: NONE,
                    prefix: 0,
                };
            }
            let mut off = 0usize;
            loop {
                if let Some(id) = self.find(&lower[off..]) {
                    return NameRef {
                        node: id,
                        prefix: off as u8,
                    };
                }
                off += 1 + lower[off] as usize;
            }
        };

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
            negative_soa: RrSet::default(),
            ns_tail: NsTail::default(),
            source: None,
            record_count,
            servfail: false,
            policy: None,
        };
        for id in 0..n {
            let name_off = zone.names.len();
            zone.names.extend_from_slice(&self.names[id]);
            let sets_off = zone.sets.len();
            for set in &self.sets[id] {
                if set.group > 0 {
                    zone.sets.push(RrSet {
                        rtype: set.rtype,
                        ttl: set.ttl,
                        group: set.group,
                        ..RrSet::default()
                    });
                    continue;
                }
                let rendered = zone.add_set(
                    set,
                    set.ttl,
                    wire::TOwner::Query,
                    &origin,
                    |rd: &[u8], compressible| {
                        // Additional-section targets: glue only for NS; MX and SRV get
                        // authoritative addresses only.
                        let off = match set.rtype {
                            types::NS => 0,
                            types::MX => 2,
                            types::SRV => 6,
                            _ => return (None, compressible.then(|| name_ref(rd))),
                        };
                        let target = self.find(&name::to_lowercase(&rd[off..])).filter(|&t| {
                            let t = t as usize;
                            node_flags[t] & flags::ADDRESS != 0
                                && (set.rtype == types::NS
                                    || (shadow[t] == NONE && node_flags[t] & flags::CUT == 0))
                        });
                        (target, compressible.then(|| name_ref(&rd[off..])))
                    },
                );
                zone.sets.push(rendered);
            }
            zone.nodes.push(Node {
                name: Span::of(&zone.names, name_off),
                parent: parent[id],
                sets: Span::of(&zone.sets, sets_off),
                wildcard: wildcard[id],
                shadow: shadow[id],
                flags: node_flags[id],
            });
        }

        let soa = self.sets[APEX as usize]
            .iter()
            .find(|s| s.rtype == types::SOA)
            .expect("checked");
        let soa_rdata = soa.rdatas().next().expect("one SOA");
        let minimum = u32::from_be_bytes(soa_rdata[soa_rdata.len() - 4..].try_into().unwrap());
        zone.serial = u32::from_be_bytes(
            soa_rdata[soa_rdata.len() - 20..soa_rdata.len() - 16]
                .try_into()
                .unwrap(),
        );
        zone.negative_soa = zone.add_set(
            soa,
            soa.ttl.min(minimum),
            wire::TOwner::Apex,
            &origin,
            |rd, _| (None, Some(name_ref(rd))),
        );
        zone.ns_tail = ns_tail(&zone, &origin);

        for g in groups {
            let mut sets = Vec::with_capacity(g.members.len());
            for m in &g.members {
                let mut set = SetBuilder {
                    rtype: g.rtype,
                    ttl: m.ttl,
                    count: 0,
                    data: Vec::new(),
                    first: (Arc::from(Path::new(&g.defined_at)), 0),
                    group: 0,
                };
                for rd in &m.rdatas {
                    set.push(rd);
                }
                let off = if g.rtype == types::MX { 2 } else { 0 };
                sets.push(zone.add_set(
                    &set,
                    m.ttl,
                    wire::TOwner::Query,
                    &origin,
                    |rd, compressible| (None, compressible.then(|| name_ref(&rd[off..]))),
                ));
            }
            let alias = g
                .members
                .iter()
                .map(|m| {
                    m.alias.as_ref().and_then(|(target, eth)| {
                        self.find(&name::to_lowercase(target)).map(|id| (id, *eth))
                    })
                })
                .collect();
            zone.groups.push(Group {
                rules: g.members.iter().map(|m| m.rule).collect(),
                health: g.members.iter().map(|m| m.health).collect(),
                alias,
                load_balancer: g.members.iter().map(|m| m.load_balancer).collect(),
                sets: sets.into_boxed_slice(),
                ids: g.members.iter().map(|m| m.id.clone()).collect(),
                cidr_collection: g.cidr_collection,
                consistent: g.consistent,
                salt: hash(&[&name::to_lowercase(&g.owner)[..], &g.rtype.to_be_bytes()].concat()),
            });
        }

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
}

impl Zone {
    /// Rewrites the SOA serial in place (a serial policy gave the zone a new one): in the
    /// record's RDATA, its pre-rendered form, and the negative-answer SOA. The serial sits 20
    /// octets before the end of the one SOA record in each.
    pub fn set_serial(&mut self, serial: u32) {
        let apex_soa = self
            .rrset(&self.nodes[APEX as usize], types::SOA)
            .copied()
            .expect("a compiled zone has an SOA");
        for span in [
            apex_soa.raw,
            apex_soa.wire,
            self.negative_soa.raw,
            self.negative_soa.wire,
        ] {
            if span.len >= 20 {
                let end = (span.off + span.len) as usize;
                self.bytes[end - 20..end - 16].copy_from_slice(&serial.to_be_bytes());
            }
        }
        self.serial = serial;
    }

    /// A stand-in for a secondary zone that has no data: answers SERVFAIL.
    pub fn placeholder(origin: &[u8]) -> Zone {
        let origin = name::to_lowercase(origin);
        let file: Arc<Path> = Arc::from(Path::new("(secondary zone, not transferred yet)"));
        let mut soa = Vec::new();
        soa.extend_from_slice(&[0, 0]);
        soa.extend_from_slice(&[0u8; 20]);
        let records = vec![
            parse::Record {
                owner: origin.clone(),
                ttl: 0,
                rtype: types::SOA,
                rdata: soa,
                file: file.clone(),
                line: 0,
            },
            parse::Record {
                owner: origin.clone(),
                ttl: 0,
                rtype: types::NS,
                rdata: vec![0],
                file,
                line: 0,
            },
        ];
        let (mut zone, _) = Zone::compile(&origin, records).expect("a minimal zone compiles");
        zone.servfail = true;
        zone
    }

    /// Stores one RRset in the arenas, rendered with `owner`. `per_record` gives, for each
    /// RDATA, the additional-section target node and the tree position of its (first)
    /// compressible name.
    fn add_set(
        &mut self,
        set: &SetBuilder,
        ttl: u32,
        owner: wire::TOwner,
        origin: &[u8],
        mut per_record: impl FnMut(&[u8], bool) -> (Option<u32>, Option<NameRef>),
    ) -> RrSet {
        let compressible = types::rdata_names_compressible(set.rtype);
        let raw_off = self.bytes.len();
        if compressible {
            self.bytes.extend_from_slice(&set.data);
        }
        let raw = Span::of(&self.bytes, raw_off);
        let mut b = wire::Builder::new(origin);
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
fn ns_tail(zone: &Zone, origin: &[u8]) -> NsTail {
    let Some(ns) = zone.rrset(zone.apex(), types::NS) else {
        return NsTail::default();
    };
    let mut b = wire::Builder::new(origin);
    let mut targets = Vec::new();
    for rd in zone.rdatas(ns) {
        let at = b.record(wire::TOwner::Apex, types::NS, ns.ttl, rd)[0];
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
                    b.record(wire::TOwner::At(at), t, set.ttl, rd);
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

/// Everything a query reads, swapped whole on reload.
#[derive(Debug, Default)]
pub struct Catalog {
    zones: Vec<Arc<Zone>>,
    table: HashTable<u32>,
    /// Bit n set when some origin is n octets long: most suffixes of a query name are skipped
    /// without hashing.
    origin_lens: [u64; 4],
}

impl Catalog {
    pub fn new(zones: Vec<Arc<Zone>>) -> Self {
        let mut table = HashTable::with_capacity(zones.len());
        let mut origin_lens = [0u64; 4];
        for (i, z) in zones.iter().enumerate() {
            table.insert_unique(hash(&z.origin), i as u32, |&j| {
                hash(&zones[j as usize].origin)
            });
            origin_lens[z.origin.len() / 64] |= 1 << (z.origin.len() % 64);
        }
        Catalog {
            zones,
            table,
            origin_lens,
        }
    }

    /// The zones, for building a new catalog from this one.
    pub fn into_zones(self) -> Vec<Arc<Zone>> {
        self.zones
    }

    /// This catalog with `zone` in place of the zone of the same origin (or added).
    pub fn with_zone(&self, zone: Arc<Zone>) -> Catalog {
        let mut zones = self.zones.clone();
        match zones.iter_mut().find(|z| z.origin == zone.origin) {
            Some(slot) => *slot = zone,
            None => zones.push(zone),
        }
        Catalog::new(zones)
    }

    pub fn zones(&self) -> &[Arc<Zone>] {
        &self.zones
    }

    pub fn zone_by_origin(&self, lower: &[u8]) -> Option<&Arc<Zone>> {
        let zones = &self.zones;
        self.table
            .find(hash(lower), |&i| same(&zones[i as usize].origin, lower))
            .map(|&i| &zones[i as usize])
    }

    /// The most specific zone containing `lower` (a lowercase wire name), trying the name and
    /// then each parent: at most one hash probe per label.
    #[inline]
    pub fn find_zone(&self, lower: &[u8]) -> Option<&Zone> {
        let mut cur = lower;
        loop {
            let n = cur.len();
            if n < 256 && self.origin_lens[n / 64] & (1 << (n % 64)) != 0 {
                if let Some(z) = self.zone_by_origin(cur) {
                    return Some(z);
                }
            }
            cur = name::parent(cur)?;
        }
    }

    /// Like `find_zone`, but skips zones whose origin is exactly `lower` (DS queries at a
    /// delegation we serve both sides of belong to the parent, RFC 4035 §3.1.4.1).
    pub fn find_parent_zone(&self, lower: &[u8]) -> Option<&Zone> {
        self.find_zone(name::parent(lower)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(text: &str) -> Result<(Zone, Vec<String>), LoadError> {
        let origin = name::from_text("example.test.", None).unwrap();
        let recs = parse::parse_str(text, &origin, Path::new("t.zone"))?;
        Zone::compile(&origin, recs)
    }

    const HEAD: &str =
        "$TTL 300\n@ SOA ns1 admin 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\n";

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
}
