//! From a query's bytes to a response's bytes, in one synchronous function over an immutable
//! snapshot: parse → find the zone → look the name up → decide the outcome → write sections.
//!
//! The outcome of a lookup is one of the explicit states of RFC 1034 §4.3.2: an answer, a CNAME
//! (followed, across our zones too), a DNAME substitution (RFC 6672), a referral, NODATA or
//! NXDOMAIN. The record set a name answers with is chosen in `select`, the stage the routing
//! policies hook into.

pub mod explain;
mod small;
mod writer;

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::policy::{self, geo_math, regions, Member, Random};
use crate::server::packet::{self, hflags, rcode, ClientSubnet, Parsed, Query};
use crate::zone::{self, name, types, Catalog, Group, Node, RrSet, Zone, APEX, NONE};
pub use writer::Full;
use writer::{Owner, Writer, AN, AR, NS};

/// Server-wide answering choices, reloaded with the zones.
#[derive(Debug, Clone)]
pub struct Options {
    /// Our EDNS UDP payload size (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020).
    pub edns_payload: u16,
    /// Leave the zone's NS RRset out of the authority section of positive answers (Knot's and
    /// BIND's `minimal-responses`); off by default, as NSD and Route 53 answer.
    pub minimal_responses: bool,
    /// CH TXT `version.bind`/`version.server`; `None` refuses those queries.
    pub version: Option<Box<[u8]>>,
    /// CH TXT `id.server`/`hostname.bind`; `None` refuses those queries.
    pub identity: Option<Box<[u8]>>,
    /// EDNS NSID (RFC 5001) sent to clients that ask; `None` sends nothing.
    pub nsid: Option<Box<[u8]>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            edns_payload: 1232,
            minimal_responses: false,
            version: Some(
                format!("policydns {}", env!("CARGO_PKG_VERSION"))
                    .into_bytes()
                    .into(),
            ),
            identity: None,
            nsid: None,
        }
    }
}

/// What a query reads: the zones and the options, swapped together.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub catalog: Catalog,
    pub options: Options,
    /// Health-check states, indexed as the zones' routing-policy groups refer to them.
    pub health: std::sync::Arc<crate::health::HealthTable>,
    /// The check id of each index of `health`, so a reload keeps states by id.
    pub health_ids: Vec<String>,
    /// For calculated checks (by the same index): children indices, threshold, inverted,
    /// disabled. Their state is worked out from the children when read.
    pub calculated: Vec<Option<CalculatedCheck>>,
    /// CIDR collections for IP-based routing, by index.
    pub cidr: Vec<CidrTable>,
    /// GeoIP database for geolocation, latency and geoproximity routing.
    pub geo: Option<std::sync::Arc<crate::geo::GeoDb>>,
    /// Load balancers that aliases target, by index.
    pub load_balancers: Vec<policy::elb::LoadBalancer>,
    /// Measured latencies for latency routing; without it, distance stands in.
    pub latency: Option<std::sync::Arc<policy::latency::LatencyMap>>,
}

/// A calculated check by health-table indices: children, threshold, inverted, disabled.
pub type CalculatedCheck = (Box<[u32]>, usize, bool, bool);

impl Snapshot {
    /// The same snapshot serving another catalog (a secondary zone was transferred). The health
    /// table is shared, so probes keep writing where queries read.
    pub fn with_catalog(&self, catalog: Catalog) -> Snapshot {
        Snapshot {
            catalog,
            options: self.options.clone(),
            health: self.health.clone(),
            health_ids: self.health_ids.clone(),
            calculated: self.calculated.clone(),
            cidr: self.cidr.clone(),
            geo: self.geo.clone(),
            load_balancers: self.load_balancers.clone(),
            latency: self.latency.clone(),
        }
    }

    /// A health check's state: from the table, or for a calculated check from its children
    /// (Route 53 allows no nesting, so one level).
    #[inline]
    pub fn check_healthy(&self, h: u32) -> bool {
        match self.calculated.get(h as usize) {
            Some(Some((children, threshold, inverted, disabled))) => {
                if *disabled {
                    return !inverted;
                }
                let up = children.iter().filter(|&&c| self.health.get(c)).count();
                (up >= *threshold) != *inverted
            }
            _ => self.health.get(h),
        }
    }
}

/// One CIDR collection, longest blocks first, each with its location's index.
#[derive(Debug, Clone, Default)]
pub struct CidrTable {
    pub blocks: Vec<(ipnetwork::IpNetwork, u16)>,
}

impl CidrTable {
    /// The location whose block holds the client (longest prefix wins), with the block's
    /// length. A block longer than what the client revealed (its ECS source prefix) cannot
    /// match (route53-semantics §3.7).
    pub fn lookup(&self, addr: IpAddr, source_prefix: u8) -> Option<(u16, u8)> {
        self.blocks
            .iter()
            .find(|(net, _)| net.prefix() <= source_prefix && net.contains(addr))
            .map(|(net, loc)| (*loc, net.prefix()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Largest DNS message (TCP, RFC 7766).
pub const MAX_MESSAGE: usize = 65535;

/// Longest CNAME/DNAME chain followed; RFC 1034 asks only that loops end.
const MAX_CHAIN: usize = 16;

/// How many nodes may have their addresses added to the additional section.
const MAX_ADDITIONAL: usize = 32;

/// Answers `packet` into `out`; returns the response length, 0 for "send nothing".
/// `out` should hold `MAX_MESSAGE` octets for TCP; for UDP the negotiated size is enough.
pub fn respond(snap: &Snapshot, packet: &[u8], transport: Transport, out: &mut [u8]) -> usize {
    respond_from(snap, packet, transport, None, out)
}

/// As [`respond`], for a query from `client` (the resolver's address), which routing policies
/// use when the query carries no EDNS Client Subnet.
pub fn respond_from(
    snap: &Snapshot,
    packet: &[u8],
    transport: Transport,
    client: Option<IpAddr>,
    out: &mut [u8],
) -> usize {
    respond_parsed(snap, packet, packet::parse(packet), transport, client, out)
}

/// As [`respond_from`], for a packet the caller has parsed already (the server parses once to
/// route zone transfers and signed messages elsewhere).
pub fn respond_parsed(
    snap: &Snapshot,
    packet: &[u8],
    parsed: Parsed,
    transport: Transport,
    client: Option<IpAddr>,
    out: &mut [u8],
) -> usize {
    match parsed {
        Parsed::Drop => 0,
        Parsed::Error {
            id,
            flags,
            rcode,
            question,
        } => error_response(
            snap,
            packet,
            id,
            flags,
            rcode,
            question.as_ref(),
            transport,
            out,
        ),
        Parsed::Query(q) => answer(snap, packet, &q, transport, client, out),
    }
}

/// The size this response may take (RFC 6891 §6.2.5, RFC 1035 §4.2.1).
fn size_limit(snap: &Snapshot, q: Option<&Query>, transport: Transport) -> usize {
    match (transport, q.and_then(|q| q.edns)) {
        (Transport::Tcp, _) => MAX_MESSAGE,
        (Transport::Udp, Some(e)) => {
            e.payload.max(512).min(snap.options.edns_payload.max(512)) as usize
        }
        (Transport::Udp, None) => 512,
    }
}

fn opt_len(snap: &Snapshot, q: &Query) -> usize {
    let Some(e) = q.edns else { return 0 };
    let mut len = 11;
    if e.nsid {
        if let Some(n) = &snap.options.nsid {
            len += 4 + n.len();
        }
    }
    if let Some(ecs) = e.ecs {
        len += 8 + ecs.addr_len();
    }
    len
}

fn write_header(out: &mut [u8], id: u16, flags: u16, rc: u16) {
    let opcode = flags & hflags::OPCODE_MASK;
    let f = hflags::QR | opcode | (flags & (hflags::RD | hflags::CD)) | (rc & 0xF);
    out[0..2].copy_from_slice(&id.to_be_bytes());
    out[2..4].copy_from_slice(&f.to_be_bytes());
    out[4..12].fill(0);
}

fn set_counts(out: &mut [u8], qd: u16, counts: [u16; 3]) {
    out[4..6].copy_from_slice(&qd.to_be_bytes());
    out[6..8].copy_from_slice(&counts[AN].to_be_bytes());
    out[8..10].copy_from_slice(&counts[NS].to_be_bytes());
    out[10..12].copy_from_slice(&counts[AR].to_be_bytes());
}

fn set_flag(out: &mut [u8], bit: u16) {
    let f = u16::from_be_bytes([out[2], out[3]]) | bit;
    out[2..4].copy_from_slice(&f.to_be_bytes());
}

fn set_rcode(out: &mut [u8], rc: u16) {
    let f = (u16::from_be_bytes([out[2], out[3]]) & !0xF) | (rc & 0xF);
    out[2..4].copy_from_slice(&f.to_be_bytes());
}

/// Appends our OPT (RFC 6891 §6.1.2), with NSID and an ECS echo when asked (RFC 7871 §7.2.1:
/// scope 0 — these answers do not depend on the client's location).
fn write_opt(
    w: &mut Writer<'_>,
    snap: &Snapshot,
    q: &Query,
    rc: u16,
    scope: u8,
) -> Result<(), Full> {
    let Some(e) = q.edns else { return Ok(()) };
    let mut rdlen = 0usize;
    let nsid = if e.nsid {
        snap.options.nsid.as_deref()
    } else {
        None
    };
    if let Some(n) = nsid {
        rdlen += 4 + n.len();
    }
    if let Some(ecs) = e.ecs {
        rdlen += 8 + ecs.addr_len();
    }
    w.bytes(&[0])?;
    w.u16(types::OPT)?;
    w.u16(snap.options.edns_payload)?;
    let ext = ((rc >> 4) as u32) << 24;
    let do_bit = if e.dnssec_ok { 0x8000 } else { 0 };
    w.u32(ext | do_bit)?;
    w.u16(rdlen as u16)?;
    if let Some(n) = nsid {
        w.u16(3)?;
        w.u16(n.len() as u16)?;
        w.bytes(n)?;
    }
    if let Some(ecs) = e.ecs {
        write_ecs(w, &ecs, scope.min(ecs.source_prefix))?;
    }
    w.counts[AR] += 1;
    Ok(())
}

fn write_ecs(w: &mut Writer<'_>, ecs: &ClientSubnet, scope: u8) -> Result<(), Full> {
    let n = ecs.addr_len();
    w.u16(8)?;
    w.u16((4 + n) as u16)?;
    w.u16(ecs.family)?;
    w.bytes(&[ecs.source_prefix, scope])?;
    w.bytes(&ecs.addr[..n])
}

#[allow(clippy::too_many_arguments)]
fn error_response(
    snap: &Snapshot,
    packet: &[u8],
    id: u16,
    flags: u16,
    rc: u16,
    q: Option<&Query>,
    transport: Transport,
    out: &mut [u8],
) -> usize {
    if out.len() < packet::HEADER_LEN {
        return 0;
    }
    write_header(out, id, flags, rc);
    let limit = size_limit(snap, q, transport);
    let mut w = Writer::new(out, packet::HEADER_LEN, limit);
    let mut qd = 0;
    if let Some(q) = q {
        if w.bytes(&packet[packet::HEADER_LEN..q.question_end]).is_ok() {
            qd = 1;
            let _ = write_opt(&mut w, snap, q, rc, 0);
        }
    }
    let (pos, counts) = (w.pos, w.counts);
    set_counts(out, qd, counts);
    pos
}

/// What the name lookup decided, before anything is written.
enum Found {
    /// Answer from this node under the queried name (the node may be a wildcard).
    Node(u32),
    /// Referral from this zone cut.
    Referral(u32),
    /// Substitute with the DNAME at this node.
    Dname(u32),
    NxDomain,
}

/// RFC 1034 §4.3.2 step 3 against one zone: exact match, or the closest encloser and then a
/// cut, a DNAME or a wildcard below it (RFC 4592 §3.3.1). Each step is one hash probe.
fn lookup(zone: &Zone, lower: &[u8], qtype: u16) -> Found {
    let shadowed = |s: u32| {
        if zone.node(s).is_cut() {
            Found::Referral(s)
        } else {
            Found::Dname(s)
        }
    };
    if let Some(id) = zone.find(lower) {
        let node = zone.node(id);
        if node.shadow != NONE {
            return shadowed(node.shadow);
        }
        // The DS RRset at a cut is the parent side's data (RFC 4035 §3.1.4.1).
        if node.is_cut() && qtype != types::DS {
            return Found::Referral(id);
        }
        return Found::Node(id);
    }
    let mut cur = lower;
    while let Some(parent) = name::parent(cur) {
        cur = parent;
        let Some(id) = zone.find(cur) else { continue };
        let node = zone.node(id);
        if node.shadow != NONE {
            return shadowed(node.shadow);
        }
        if node.is_cut() {
            return Found::Referral(id);
        }
        if node.flags & zone::flags::DNAME != 0 {
            return Found::Dname(id);
        }
        if node.wildcard != NONE {
            return Found::Node(node.wildcard);
        }
        return Found::NxDomain;
    }
    Found::NxDomain
}

/// The policy stage: which record set answers `qtype` at `node` for this query. Static zone
/// data answers with what the zone holds.
#[inline]
fn select<'z>(zone: &'z Zone, node: &Node, qtype: u16) -> Option<&'z RrSet> {
    zone.rrset(node, qtype)
}

/// Nodes whose A/AAAA go into the additional section, without duplicates.
struct Additional<'z> {
    items: small::Small<(&'z Zone, u32), MAX_ADDITIONAL>,
}

impl<'z> Additional<'z> {
    fn new() -> Self {
        Additional {
            items: small::Small::new(),
        }
    }
    fn add(&mut self, zone: &'z Zone, ids: &[u32]) {
        for &id in ids {
            let dup = self
                .items
                .as_slice()
                .iter()
                .any(|&(z, i)| std::ptr::eq(z, zone) && i == id);
            if !dup {
                self.items.push((zone, id));
            }
        }
    }
    /// Writes what fits; returns false if something was left out. `answered` is the RRset
    /// already in the answer section, not repeated here.
    fn write(&self, w: &mut Writer<'_>, answered: Option<(&Zone, u32, u16)>) -> bool {
        for (zone, id) in self.items.as_slice() {
            let node = zone.node(*id);
            for t in [types::A, types::AAAA] {
                if answered
                    .is_some_and(|(az, aid, at)| std::ptr::eq(az, *zone) && aid == *id && at == t)
                {
                    continue;
                }
                if let Some(set) = zone.rrset(node, t) {
                    if w.rrset(AR, Owner::Node(zone, *id), zone, set, set.ttl)
                        .is_err()
                    {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// How the chain of lookups ended.
enum End<'z> {
    Answered(&'z Zone),
    NoData(&'z Zone),
    NxDomain(&'z Zone),
    Referral(&'z Zone, u32),
    /// The chain left the zones we serve (or looped); the resolver carries on.
    Open,
    /// DNAME substitution overflowed 255 octets (RFC 6672 §2.2).
    YxDomain,
}

fn answer(
    snap: &Snapshot,
    packet: &[u8],
    q: &Query,
    transport: Transport,
    client: Option<IpAddr>,
    out: &mut [u8],
) -> usize {
    let mut ctx = PolicyCtx {
        snap,
        client,
        ecs: q.edns.and_then(|e| e.ecs),
        scope: 0,
        facts: None,
    };
    let limit = size_limit(snap, Some(q), transport).min(out.len());
    if limit < q.question_end + opt_len(snap, q) {
        return 0;
    }
    write_header(out, q.id, q.flags, rcode::NOERROR);
    let section_limit = limit - opt_len(snap, q);
    let mut w = Writer::new(out, packet::HEADER_LEN, section_limit);
    let qname_wire = q.qname(packet);
    w.bytes(&packet[packet::HEADER_LEN..q.question_end])
        .expect("checked above");
    w.remember_name_at(packet::HEADER_LEN, qname_wire);
    let after_question = w.mark();

    let rc = if q.edns.is_some_and(|e| e.version > 0) {
        rcode::BADVERS // RFC 6891 §6.1.3
    } else {
        match sections(snap, packet, q, transport, &mut w, &mut ctx) {
            Ok(rc) => rc,
            Err(Full) => {
                // An answer or authority RRset did not fit: question only, TC set (RFC 2181 §9).
                w.reset(after_question);
                set_flag(w.buf(), hflags::TC);
                u16::from_be_bytes([w.buf()[2], w.buf()[3]]) & 0xF
            }
        }
    };
    w.set_limit(limit);
    set_rcode(w.buf(), rc);
    write_opt(&mut w, snap, q, rc, ctx.scope).expect("space reserved");
    let (pos, counts) = (w.pos, w.counts);
    set_counts(out, 1, counts);
    pos
}

/// Fills answer, authority and additional; returns the rcode. `Err(Full)` when a section that
/// must be whole does not fit.
fn sections(
    snap: &Snapshot,
    packet: &[u8],
    q: &Query,
    transport: Transport,
    w: &mut Writer<'_>,
    ctx: &mut PolicyCtx<'_>,
) -> Result<u16, Full> {
    // The one copy of the name this query makes: lowercased for lookups, then reused as the
    // current name while a CNAME/DNAME chain is followed.
    let mut cur = [0u8; 255];
    let mut cur_len = q.qname_len as usize;
    cur[..cur_len].copy_from_slice(q.qname(packet));
    cur[..cur_len].make_ascii_lowercase();
    if q.qclass == types::CLASS_CH {
        return chaos(snap, q, &cur[..cur_len], w);
    }
    if q.qclass != types::CLASS_IN {
        return Ok(rcode::REFUSED);
    }
    match q.qtype {
        types::OPT | types::TSIG | types::TKEY => return Ok(rcode::FORMERR),
        types::MAILA | types::MAILB => return Ok(rcode::NOTIMP),
        // Zone transfers are not served yet: refuse rather than pretend.
        types::AXFR | types::IXFR => return Ok(rcode::REFUSED),
        _ => {}
    }
    let qname = &cur[..cur_len];
    let cat = &snap.catalog;
    let first = if q.qtype == types::DS {
        // DS at a zone apex belongs to the parent zone, if we serve it too.
        match cat.find_zone(qname) {
            Some(z) if *z.origin == *qname => cat.find_parent_zone(qname).or(Some(z)),
            other => other,
        }
    } else {
        cat.find_zone(qname)
    };
    let Some(mut zone) = first else {
        return Ok(rcode::REFUSED);
    };
    if zone.servfail {
        return Ok(rcode::SERVFAIL);
    }
    let first_zone = zone;
    set_flag(w.buf(), hflags::AA);
    // The zone's apex is the tail of the question: every name of the zone compresses to it.
    let apex_at = packet::HEADER_LEN + qname.len() - zone.origin.len();
    w.remember_node(zone, APEX, apex_at);

    let mut extra = Additional::new();
    let mut owner_at: u16 = packet::HEADER_LEN as u16;
    // Names already visited, hashed: a CNAME/DNAME loop ends the chain (RFC 1034 §3.6.2).
    let fx = |n: &[u8]| std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, n);
    let mut seen = [0u64; MAX_CHAIN];
    seen[0] = fx(qname);
    let mut apex_ns_in_answer = false;
    let mut answered: Option<(&Zone, u32, u16)> = None;

    let mut hops = 0;
    let end = loop {
        let lower = &cur[..cur_len];
        let found = lookup(zone, lower, q.qtype);
        match found {
            Found::NxDomain => break End::NxDomain(zone),
            Found::Referral(cut) => break End::Referral(zone, cut),
            Found::Node(id) => {
                let node = zone.node(id);
                if hops == 0 && zone.name(node) == lower {
                    // The question names this node: later mentions point at it.
                    w.remember_node(zone, id, packet::HEADER_LEN);
                }
                if q.qtype == types::ANY {
                    if node.is_empty() {
                        break End::NoData(zone);
                    }
                    // RFC 8482 §4.2: over UDP, one RRset stands for the rest; TCP gets them all.
                    let take = if transport == Transport::Udp {
                        1
                    } else {
                        zone.rrsets(node).len()
                    };
                    for set in zone.rrsets(node).iter().take(take) {
                        write_set(w, zone, set, owner_at, apex_at, first_zone, ctx, 0)?;
                        extra.add(zone, zone.additional(set));
                        apex_ns_in_answer |= set.rtype == types::NS && id == APEX;
                    }
                    break End::Answered(zone);
                }
                if let Some(set) = select(zone, node, q.qtype) {
                    if write_set(w, zone, set, owner_at, apex_at, first_zone, ctx, 0)?.0 == 0 {
                        // A routing policy with nothing for this client (§3.5): NODATA.
                        break End::NoData(zone);
                    }
                    answered = Some((zone, id, q.qtype));
                    extra.add(zone, zone.additional(set));
                    apex_ns_in_answer |= q.qtype == types::NS && id == APEX;
                    break End::Answered(zone);
                }
                let Some(cname) = zone.rrset(node, types::CNAME) else {
                    break End::NoData(zone);
                };
                let target = write_set(w, zone, cname, owner_at, apex_at, first_zone, ctx, 0)?.1;
                let rdata = zone
                    .rdatas(cname)
                    .next()
                    .expect("a CNAME set has one record");
                cur_len = rdata.len();
                cur[..cur_len].copy_from_slice(rdata);
                owner_at = target.expect("CNAME target is written compressed");
            }
            Found::Dname(id) => {
                let node = zone.node(id);
                let dname = zone.rrset(node, types::DNAME).expect("flagged DNAME");
                w.rrset(AN, Owner::Node(zone, id), zone, dname, dname.ttl)?;
                let target = zone.rdatas(dname).next().expect("one DNAME");
                let prefix = cur_len - zone.name(node).len();
                if prefix + target.len() > name::MAX_NAME_LEN {
                    break End::YxDomain;
                }
                cur[prefix..prefix + target.len()].copy_from_slice(target);
                cur_len = prefix + target.len();
                // The synthesised CNAME (RFC 6672 §3.1), TTL of the DNAME.
                let m = w.mark();
                let synth = (|| {
                    w.u16(0xC000 | owner_at)?;
                    w.u16(types::CNAME)?;
                    w.u16(types::CLASS_IN)?;
                    w.u32(dname.ttl)?;
                    let len_at = w.pos;
                    w.u16(0)?;
                    let at = w.name(&cur[..cur_len], true)?;
                    let rdlen = (w.pos - len_at - 2) as u16;
                    w.buf()[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
                    Ok::<u16, Full>(at)
                })();
                match synth {
                    Ok(at) => {
                        w.counts[AN] += 1;
                        owner_at = at;
                    }
                    Err(e) => {
                        w.reset(m);
                        return Err(e);
                    }
                }
            }
        }
        // Follow the chain: next name, lowercased, in whichever of our zones holds it.
        cur[..cur_len].make_ascii_lowercase();
        let h = fx(&cur[..cur_len]);
        if seen[..=hops].contains(&h) || hops + 1 >= MAX_CHAIN {
            break End::Open;
        }
        hops += 1;
        seen[hops] = h;
        match snap.catalog.find_zone(&cur[..cur_len]) {
            Some(z) => zone = z,
            None => break End::Open,
        }
    };

    let rc = match end {
        End::Answered(z) => {
            // Like NSD, no NS RRset for the types a validator or an ANY client asks for: those
            // answers are large enough, and the NS adds nothing to them.
            let wants_ns = !matches!(q.qtype, types::DS | types::DNSKEY | types::ANY);
            if !snap.options.minimal_responses && !apex_ns_in_answer && wants_ns {
                let tail = &z.ns_tail;
                // The common case, one copy: nothing else for the additional section, and the
                // answer is not one of the servers' own addresses (which would repeat there).
                let fast = std::ptr::eq(z, first_zone)
                    && extra.items.is_empty()
                    && !answered.is_some_and(|(az, aid, _)| {
                        std::ptr::eq(az, z) && tail.glue.contains(&aid)
                    });
                if fast && w.template(NS, &tail.wire, 0, apex_at as u16).is_ok() {
                    w.counts[NS] += tail.ns_count;
                    w.counts[AR] += tail.glue_count;
                } else if let Some(ns) = z.rrset(z.apex(), types::NS) {
                    // Optional: if it does not fit, the answer goes without it.
                    if w.rrset(NS, Owner::Node(z, APEX), z, ns, ns.ttl).is_ok() {
                        extra.add(z, z.additional(ns));
                    }
                }
            }
            extra.write(w, answered);
            rcode::NOERROR
        }
        End::NoData(z) | End::NxDomain(z) => {
            // RFC 2308 §3: SOA in authority, TTL bounded by the SOA MINIMUM.
            let soa = &z.negative_soa;
            if std::ptr::eq(z, first_zone) {
                let (bytes, ptrs) = z.wire(soa);
                w.rendered(NS, bytes, ptrs, &[], 1, apex_at as u16)?;
            } else {
                w.rrset(NS, Owner::Node(z, APEX), z, soa, soa.ttl)?;
            }
            if matches!(end, End::NxDomain(_)) {
                rcode::NXDOMAIN
            } else {
                rcode::NOERROR
            }
        }
        End::Referral(z, cut) => {
            if hops == 0 {
                // Not authoritative for what lies below the cut (RFC 1034 §4.3.2).
                let f = u16::from_be_bytes([w.buf()[2], w.buf()[3]]) & !hflags::AA;
                w.buf()[2..4].copy_from_slice(&f.to_be_bytes());
            }
            let node = z.node(cut);
            let ns = z.rrset(node, types::NS).expect("a cut has NS");
            w.rrset(NS, Owner::Node(z, cut), z, ns, ns.ttl)?;
            let mut glue = Additional::new();
            glue.add(z, z.additional(ns));
            extra.write(w, answered);
            if !glue.write(w, None) {
                // RFC 9471: glue the referral needs did not fit.
                set_flag(w.buf(), hflags::TC);
            }
            rcode::NOERROR
        }
        End::Open => {
            extra.write(w, answered);
            rcode::NOERROR
        }
        End::YxDomain => rcode::YXDOMAIN,
    };
    Ok(rc)
}

/// What a routing policy needs to know about this query, worked out once and only if a
/// policy asks.
struct PolicyCtx<'a> {
    snap: &'a Snapshot,
    client: Option<IpAddr>,
    ecs: Option<ClientSubnet>,
    /// The widest ECS scope of any decision in this answer.
    scope: u8,
    facts: Option<(IpAddr, policy::Client)>,
}

thread_local! {
    // One random source per worker thread, seeded from the thread's identity and the time.
    static RANDOM: RefCell<Random> = RefCell::new(Random::new({
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        t ^ (&t as *const u64 as u64)
    }));
}

/// Latency for latency routing: the operator's measurements for the client's network when the
/// map has them; otherwise the great-circle distance from the client to the region
/// (route53-semantics §3.3: Route 53's data is AWS's own).
struct Latency<'a> {
    measured: Option<&'a [(u16, f64)]>,
}

impl policy::LatencyTable for Latency<'_> {
    fn cost(&self, client: &policy::Client, region: u16) -> Option<f64> {
        if let Some(m) = self.measured {
            return m.iter().find(|(r, _)| *r == region).map(|(_, rtt)| *rtt);
        }
        let from = client.geo?.coordinates?;
        Some(geo_math::great_circle_km(
            from,
            regions::coordinates(region),
        ))
    }
}

impl PolicyCtx<'_> {
    /// The client's address and what is known of it: EDNS Client Subnet first (its source
    /// prefix clamped to /24 and /56), else the resolver's address.
    fn facts(&mut self, needs_geo: bool) -> (IpAddr, policy::Client) {
        if let Some(f) = self.facts {
            if !needs_geo || f.1.geo.is_some() || self.snap.geo.is_none() {
                return f;
            }
        }
        let (addr, source_prefix) = match self.ecs {
            Some(e) if e.family == 1 => {
                let a = &e.addr;
                (
                    IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
                    e.source_prefix.min(24),
                )
            }
            Some(e) => (IpAddr::V6(Ipv6Addr::from(e.addr)), e.source_prefix.min(56)),
            None => match self.client {
                Some(ip @ IpAddr::V4(_)) => (ip, 32),
                Some(ip) => (ip, 128),
                None => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            },
        };
        let geo = if needs_geo {
            self.snap
                .geo
                .as_ref()
                .and_then(|db| db.lookup(addr))
                .map(|g| policy::Location {
                    continent: g.continent,
                    country: g.country,
                    subdivision: g.subdivision.as_deref().and_then(|s| {
                        let b = s.as_bytes();
                        (1..=3).contains(&b.len()).then(|| {
                            let mut code = [0u8; 3];
                            code[..b.len()].copy_from_slice(b);
                            code
                        })
                    }),
                    coordinates: g.location,
                    prefix_len: g.prefix_len,
                })
        } else {
            None
        };
        let f = (
            addr,
            policy::Client {
                source_prefix,
                geo,
                cidr: None,
            },
        );
        self.facts = Some(f);
        f
    }

    /// Whether the record set `rtype` at `node` has something healthy: a zone-file RRset
    /// always does; a group does when one of its members is (§4.2). Depth-limited, so alias
    /// loops end (as unhealthy).
    fn target_healthy(&self, zone: &Zone, node: u32, rtype: u16, depth: u8) -> bool {
        if depth >= MAX_ALIAS_DEPTH {
            return false;
        }
        let Some(set) = zone.rrset(zone.node(node), rtype) else {
            return false;
        };
        let Some(g) = set.group() else { return true };
        let group = &zone.groups[g];
        (0..group.rules.len()).any(|i| self.member_healthy(zone, group, i, rtype, depth + 1))
    }

    /// A member's own health check, and for an alias with Evaluate Target Health, its target's.
    fn member_healthy(&self, zone: &Zone, group: &Group, i: usize, rtype: u16, depth: u8) -> bool {
        let own = group.health[i].is_none_or(|h| self.snap.check_healthy(h));
        own && match (group.alias[i], group.load_balancer[i]) {
            (Some((target, true)), _) => self.target_healthy(zone, target, rtype, depth),
            (_, Some((lb, _, true))) => self.load_balancer(lb).is_some_and(|(_, s)| s.healthy),
            _ => true,
        }
    }

    /// A load balancer and its state under the current health view.
    fn load_balancer(&self, lb: u32) -> Option<(&policy::elb::LoadBalancer, policy::elb::State)> {
        let l = self.snap.load_balancers.get(lb as usize)?;
        Some((
            l,
            policy::elb::state(l, |h| h.is_none_or(|h| self.snap.check_healthy(h))),
        ))
    }

    /// Runs the group's policy for this client with the current health states.
    fn choose(&mut self, zone: &Zone, group: &Group, rtype: u16, depth: u8) -> policy::Selection {
        let needs_geo = matches!(
            group.rules.first(),
            Some(
                policy::Rule::Geolocation(_)
                    | policy::Rule::Latency(_)
                    | policy::Rule::Geoproximity { .. }
            )
        );
        let (addr, mut client) = self.facts(needs_geo);
        if let Some(c) = group.cidr_collection {
            client.cidr = self
                .snap
                .cidr
                .get(c as usize)
                .and_then(|t| t.lookup(addr, client.source_prefix));
        }
        let measured = match group.rules.first() {
            Some(policy::Rule::Latency(_)) => self
                .snap
                .latency
                .as_deref()
                .and_then(|m| m.lookup(addr, client.source_prefix)),
            _ => None,
        };
        let latency = Latency { measured };
        let mut members = small::Small::<Member, { policy::MAX_MEMBERS }>::new();
        for (i, rule) in group.rules.iter().enumerate() {
            members.push(Member {
                rule: *rule,
                healthy: self.member_healthy(zone, group, i, rtype, depth),
            });
        }
        if group.consistent {
            // The client's subnet (ECS, or the resolver's /24 or /56) picks the draw, so a
            // subnet keeps its answer while health stays the same.
            let bits = client
                .source_prefix
                .min(if addr.is_ipv4() { 24 } else { 56 });
            let masked: u128 = match addr {
                IpAddr::V4(a) => {
                    (u32::from(a) as u128) >> (32 - bits as u32).min(31)
                        << (32 - bits as u32).min(31)
                }
                IpAddr::V6(a) => {
                    let shift = (128 - bits as u32).min(127);
                    (u128::from(a) >> shift) << shift
                }
            };
            let seed = std::hash::BuildHasher::hash_one(
                &rustc_hash::FxBuildHasher,
                (masked, bits, group.salt),
            );
            let sel = policy::select(
                members.as_slice(),
                &client,
                &latency,
                &mut Random::new(seed),
            );
            self.scope = self.scope.max(bits);
            return sel;
        }
        let sel = RANDOM
            .with(|r| policy::select(members.as_slice(), &client, &latency, &mut r.borrow_mut()));
        self.scope = self.scope.max(sel.scope);
        sel
    }
}

/// Aliases followed per answer at most; deeper (or looping) chains answer nothing.
const MAX_ALIAS_DEPTH: u8 = 8;

/// Writes the records `set` answers with: its own, or those its routing policy picks for this
/// query (following aliases, `depth` deep so far). Returns how many RRsets went in, and where the
/// last one's first RDATA name starts.
#[allow(clippy::too_many_arguments)]
fn write_set(
    w: &mut Writer<'_>,
    zone: &Zone,
    set: &RrSet,
    owner_at: u16,
    apex_at: usize,
    first_zone: &Zone,
    ctx: &mut PolicyCtx<'_>,
    depth: u8,
) -> Result<(usize, Option<u16>), Full> {
    let Some(g) = set.group() else {
        return Ok((1, answer_set(w, zone, set, owner_at, apex_at, first_zone)?));
    };
    if depth >= MAX_ALIAS_DEPTH {
        return Ok((0, None));
    }
    let group = &zone.groups[g];
    let sel = ctx.choose(zone, group, set.rtype, depth);
    let (mut written, mut last) = (0, None);
    for &i in sel.members() {
        let i = i as usize;
        match group.alias[i] {
            // An alias answers with its target's records, under the queried name, with the
            // target's TTL (§4.1); the target's own policy decides if it has one.
            Some((target, _)) => {
                let Some(tset) = zone.rrset(zone.node(target), set.rtype) else {
                    continue;
                };
                let (n, l) =
                    write_set(w, zone, tset, owner_at, apex_at, first_zone, ctx, depth + 1)?;
                written += n;
                last = l.or(last);
            }
            None => {
                if let Some((lb, dualstack, _)) = group.load_balancer[i] {
                    written += write_load_balancer(w, ctx, lb, dualstack, set.rtype, owner_at)?;
                    continue;
                }
                last = answer_set(w, zone, &group.sets[i], owner_at, apex_at, first_zone)?;
                written += 1;
            }
        }
    }
    Ok((written, last))
}

/// A load balancer's node addresses for the zones that can serve, TTL 60, under the queried
/// name. A answers with IPv4 nodes; AAAA only through a `dualstack.` name (§4.1). Returns 1 if
/// anything was written.
fn write_load_balancer(
    w: &mut Writer<'_>,
    ctx: &PolicyCtx<'_>,
    lb: u32,
    dualstack: bool,
    rtype: u16,
    owner_at: u16,
) -> Result<usize, Full> {
    let Some((l, state)) = ctx.load_balancer(lb) else {
        return Ok(0);
    };
    let m = w.mark();
    let mut n = 0u16;
    for (z, az) in l.zones.iter().enumerate() {
        if state.serving & (1 << (z % 64)) == 0 {
            continue;
        }
        let mut put = |t: u16, rdata: &[u8]| {
            n += 1;
            w.record(
                Owner::At(owner_at),
                t,
                types::CLASS_IN,
                policy::elb::TTL,
                rdata,
                None,
            )
            .map(|_| ())
        };
        let written = match rtype {
            types::A => az.ipv4.iter().try_for_each(|a| put(types::A, &a.octets())),
            types::AAAA if dualstack => az
                .ipv6
                .iter()
                .try_for_each(|a| put(types::AAAA, &a.octets())),
            _ => Ok(()),
        };
        if let Err(e) = written {
            w.reset(m);
            return Err(e);
        }
    }
    w.counts[AN] += n;
    Ok((n > 0) as usize)
}

/// Writes an answer RRset: pre-rendered when its owner is the question, record by record
/// otherwise. Returns where the first RDATA name starts (for a CNAME, the next owner).
fn answer_set(
    w: &mut Writer<'_>,
    zone: &Zone,
    set: &RrSet,
    owner_at: u16,
    apex_at: usize,
    first_zone: &Zone,
) -> Result<Option<u16>, Full> {
    if owner_at as usize == packet::HEADER_LEN && std::ptr::eq(zone, first_zone) {
        let (bytes, ptrs) = zone.wire(set);
        let base = w.rendered(AN, bytes, ptrs, &[], set.count, apex_at as u16)?;
        // Owner pointer, type, class, TTL and RDLENGTH take 12 octets.
        return Ok(Some((base + 12) as u16));
    }
    w.rrset(AN, Owner::At(owner_at), zone, set, set.ttl)
}

/// CH-class TXT queries for the server's version and identity (BIND's and NSD's names).
fn chaos(snap: &Snapshot, q: &Query, qname: &[u8], w: &mut Writer<'_>) -> Result<u16, Full> {
    if q.qtype != types::TXT && q.qtype != types::ANY {
        return Ok(rcode::REFUSED);
    }
    let text = match qname {
        b"\x07version\x04bind\x00" | b"\x07version\x06server\x00" => {
            snap.options.version.as_deref()
        }
        b"\x02id\x06server\x00" | b"\x08hostname\x04bind\x00" => snap.options.identity.as_deref(),
        _ => None,
    };
    let Some(text) = text else {
        return Ok(rcode::REFUSED);
    };
    set_flag(w.buf(), hflags::AA);
    let mut rdata = [0u8; 256];
    let n = text.len().min(255);
    rdata[0] = n as u8;
    rdata[1..1 + n].copy_from_slice(&text[..n]);
    w.record(
        Owner::At(packet::HEADER_LEN as u16),
        types::TXT,
        types::CLASS_CH,
        0,
        &rdata[..1 + n],
        None,
    )?;
    w.counts[AN] += 1;
    Ok(rcode::NOERROR)
}
