//! From a query's bytes to a response's bytes, in one synchronous function over an immutable
//! snapshot, without allocating: parse → find the zone → look the name up ([`lookup`]) →
//! choose what each record set answers with ([`select`], where routing policies run) → write
//! the sections ([`sections`], [`writer`]).
//!
//! The outcome of a lookup is one of the explicit states of RFC 1034 §4.3.2: an answer, a CNAME
//! (followed, across our zones too), a DNAME substitution (RFC 6672), a referral, NODATA or
//! NXDOMAIN. [`explain`] runs the same lookup and selection and writes down why.

pub mod explain;
mod lookup;
mod sections;
mod select;
mod signed;
mod small;
mod writer;

use std::net::IpAddr;

use crate::snapshot::Snapshot;
use crate::wire::packet::{self, hflags, rcode, ClientSubnet, Parsed, Query};
use crate::wire::{cookie, types, Transport, MAX_MESSAGE};
use select::Selector;
pub use writer::Full;
use writer::{Owner, Writer, AN, AR, NS};

/// Extended DNS Errors (RFC 8914 §4) this server sends.
pub mod ede {
    /// 18, Prohibited: the request is not allowed (a refused transfer).
    pub const PROHIBITED: u16 = 18;
    /// 20, Not Authoritative: the name is in none of our zones.
    pub const NOT_AUTHORITATIVE: u16 = 20;
}

/// An EDE option with no EXTRA-TEXT: code 15, length 2, INFO-CODE.
const EDE_LEN: usize = 6;

/// What the sections came to: the rcode, and the Extended DNS Error that explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rcode {
    code: u16,
    ede: Option<u16>,
}

impl From<u16> for Rcode {
    fn from(code: u16) -> Self {
        Rcode { code, ede: None }
    }
}

/// Longest CNAME/DNAME chain followed. RFC 1034 asks only that loops end; NSD follows long
/// chains through (24 links in the differential test), Knot stops after 5. Past this many the
/// answer holds the chain so far and the resolver carries on, as for a loop.
const MAX_CHAIN: usize = 32;

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
    respond_counted(
        snap,
        packet,
        parsed,
        transport,
        client,
        out,
        Counting::On,
        Placement::ByAddress,
    )
}

/// As [`respond_parsed`], answered in `view` (`None`: the shared zones) rather than the view
/// the client's address places it in: a query signed with a TSIG key a view matches
/// (a secondary's SOA check) is answered in that view, as its transfers are.
pub fn respond_in_view(
    snap: &Snapshot,
    packet: &[u8],
    parsed: Parsed,
    transport: Transport,
    client: Option<IpAddr>,
    view: Option<usize>,
    out: &mut [u8],
) -> usize {
    respond_counted(
        snap,
        packet,
        parsed,
        transport,
        client,
        out,
        Counting::On,
        Placement::View(view),
    )
}

/// Which view answers a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// The first view holding the client's address (docs/views.md).
    ByAddress,
    /// This one, chosen by the caller (`None`: the shared zones).
    View(Option<usize>),
}

/// As [`respond_from`] for a question that was never sent over the network (the API's
/// TestDNSAnswer): answered the same, counted nowhere.
pub fn respond_uncounted(
    snap: &Snapshot,
    packet: &[u8],
    transport: Transport,
    client: Option<IpAddr>,
    out: &mut [u8],
) -> usize {
    let parsed = packet::parse(packet);
    respond_counted(
        snap,
        packet,
        parsed,
        transport,
        client,
        out,
        Counting::Off,
        Placement::ByAddress,
    )
}

/// Whether an answer goes into the metrics ([`crate::metrics`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    On,
    Off,
}

fn respond_counted(
    snap: &Snapshot,
    packet: &[u8],
    parsed: Parsed,
    transport: Transport,
    client: Option<IpAddr>,
    out: &mut [u8],
    counting: Counting,
    placement: Placement,
) -> usize {
    let n = match parsed {
        Parsed::Drop => 0,
        Parsed::Error {
            id,
            flags,
            rcode,
            ref question,
        } => error_response(
            snap,
            packet,
            id,
            flags,
            rcode,
            question.as_ref(),
            transport,
            client,
            out,
        ),
        Parsed::Query(q) => {
            let a = answer(
                snap, packet, &q, transport, client, out, counting, placement,
            );
            if counting == Counting::On && a.len > 0 {
                let counters: &crate::metrics::ZoneCounters = match a.zone {
                    Some(z) => &z.counters,
                    None => crate::metrics::no_zone(),
                };
                counters.count(&crate::metrics::Answered {
                    transport,
                    client,
                    qtype: q.qtype,
                    rcode: a.rcode,
                    truncated: a.truncated,
                    ecs: q.edns.is_some_and(|e| e.ecs.is_some()),
                });
            }
            return a.len;
        }
    };
    if let (
        Counting::On,
        Parsed::Error {
            rcode, question, ..
        },
    ) = (counting, &parsed)
    {
        if n > 0 {
            crate::metrics::no_zone().count(&crate::metrics::Answered {
                transport,
                client,
                qtype: question.as_ref().map_or(0, |q| q.qtype),
                rcode: *rcode,
                truncated: false,
                ecs: false,
            });
        }
    }
    n
}

/// What [`answer`] wrote: the response's length, the zone that answered (none: refused, CHAOS,
/// malformed) and the rcode, for the metrics.
struct Answer<'a> {
    len: usize,
    zone: Option<&'a crate::zone::Zone>,
    rcode: u16,
    truncated: bool,
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

/// The COOKIE option we answer with (RFC 7873 §5.2.3–5.2.5): the client's cookie and a fresh
/// server cookie for its address — whether the one it sent back was valid or not (a client
/// with a stale or foreign cookie learns a good one; only rate limiting tells them apart).
#[derive(Debug, Clone, Copy)]
struct CookieReply {
    client: [u8; cookie::CLIENT_LEN],
    server: [u8; cookie::SERVER_LEN],
}

/// COOKIE option: code, length, client and server cookie.
const COOKIE_LEN: usize = 4 + cookie::CLIENT_LEN + cookie::SERVER_LEN;

fn cookie_reply(
    snap: &Snapshot,
    packet: &[u8],
    q: &Query,
    client: Option<IpAddr>,
) -> Option<CookieReply> {
    let secrets = snap.options.cookies.as_deref()?;
    let at = q.edns?.cookie?;
    let ip = client?;
    let (client_cookie, _) = at.parts(packet);
    Some(CookieReply {
        client: *client_cookie,
        server: secrets.server_cookie(client_cookie, ip, cookie::now()),
    })
}

/// Whether the query carries a server cookie we made for this client (RFC 7873 §5.2.4): the
/// client has received our answers at its address, so it is not a forged source. Response-rate
/// limiting lets such queries through, as BIND does.
pub fn cookie_proves_address(
    snap: &Snapshot,
    packet: &[u8],
    parsed: &Parsed,
    client: Option<IpAddr>,
) -> bool {
    let (Some(secrets), Parsed::Query(q), Some(ip)) =
        (snap.options.cookies.as_deref(), parsed, client)
    else {
        return false;
    };
    let Some(at) = q.edns.and_then(|e| e.cookie) else {
        return false;
    };
    let (client_cookie, server_cookie) = at.parts(packet);
    secrets.valid(client_cookie, server_cookie, ip, cookie::now())
}

/// The room our OPT takes, an EDE option included (reserved whether it is sent or not).
fn opt_len(snap: &Snapshot, q: &Query, cookie: Option<&CookieReply>) -> usize {
    let Some(e) = q.edns else { return 0 };
    let mut len = 11 + EDE_LEN;
    if cookie.is_some() {
        len += COOKIE_LEN;
    }
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
    rc: Rcode,
    scope: u8,
    cookie: Option<&CookieReply>,
) -> Result<(), Full> {
    let Some(e) = q.edns else { return Ok(()) };
    let ede = rc.ede;
    let rc = rc.code;
    let mut rdlen = if ede.is_some() { EDE_LEN } else { 0 };
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
    if cookie.is_some() {
        rdlen += COOKIE_LEN;
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
    if let Some(c) = cookie {
        w.u16(cookie::OPTION)?;
        w.u16((cookie::CLIENT_LEN + cookie::SERVER_LEN) as u16)?;
        w.bytes(&c.client)?;
        w.bytes(&c.server)?;
    }
    if let Some(code) = ede {
        w.u16(15)?;
        w.u16(2)?;
        w.u16(code)?;
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
    client: Option<IpAddr>,
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
            let cookie = cookie_reply(snap, packet, q, client);
            let _ = write_opt(&mut w, snap, q, rc.into(), 0, cookie.as_ref());
        }
    }
    let (pos, counts) = (w.pos, w.counts);
    set_counts(out, qd, counts);
    pos
}

fn answer<'a>(
    snap: &'a Snapshot,
    packet: &[u8],
    q: &Query,
    transport: Transport,
    client: Option<IpAddr>,
    out: &mut [u8],
    counting: Counting,
    placement: Placement,
) -> Answer<'a> {
    let ecs = q.edns.and_then(|e| e.ecs);
    let mut sel = match placement {
        Placement::ByAddress => Selector::new(snap, client, ecs),
        Placement::View(v) => Selector::in_view(snap, client, ecs, v),
    };
    sel.count_answers = counting == Counting::On;
    let limit = size_limit(snap, Some(q), transport).min(out.len());
    let cookie = cookie_reply(snap, packet, q, client);
    let opt_len = opt_len(snap, q, cookie.as_ref());
    let mut done = Answer {
        len: 0,
        zone: None,
        rcode: rcode::NOERROR,
        truncated: false,
    };
    if limit < q.question_end + opt_len {
        return done;
    }
    write_header(out, q.id, q.flags, rcode::NOERROR);
    let section_limit = limit - opt_len;
    let mut w = Writer::new(out, packet::HEADER_LEN, section_limit);
    let qname_wire = q.qname(packet);
    w.bytes(&packet[packet::HEADER_LEN..q.question_end])
        .expect("checked above");
    w.remember_name_at(packet::HEADER_LEN, qname_wire);
    let after_question = w.mark();

    let rc = if q.edns.is_some_and(|e| e.version > 0) {
        Rcode::from(rcode::BADVERS) // RFC 6891 §6.1.3
    } else {
        match sections(snap, packet, q, &mut w, &mut sel, &mut done.zone) {
            Ok(rc) => rc,
            Err(Full) => {
                // An answer or authority RRset did not fit: question only, TC set (RFC 2181 §9).
                w.reset(after_question);
                set_flag(w.buf(), hflags::TC);
                done.truncated = true;
                Rcode::from(u16::from_be_bytes([w.buf()[2], w.buf()[3]]) & 0xF)
            }
        }
    };
    w.set_limit(limit);
    set_rcode(w.buf(), rc.code);
    write_opt(&mut w, snap, q, rc, sel.scope, cookie.as_ref()).expect("space reserved");
    let (pos, counts) = (w.pos, w.counts);
    set_counts(out, 1, counts);
    done.len = pos;
    done.rcode = rc.code;
    done
}

/// Fills answer, authority and additional; returns the rcode. `Err(Full)` when a section that
/// must be whole does not fit.
fn sections<'a>(
    snap: &'a Snapshot,
    packet: &[u8],
    q: &Query,
    w: &mut Writer<'_>,
    sel: &mut Selector<'a>,
    found: &mut Option<&'a crate::zone::Zone>,
) -> Result<Rcode, Full> {
    // The one copy of the name this query makes: lowercased for lookups, then reused as the
    // current name while a CNAME/DNAME chain is followed.
    let mut cur = [0u8; 255];
    let len = q.qname_len as usize;
    cur[..len].copy_from_slice(q.qname(packet));
    cur[..len].make_ascii_lowercase();
    if q.qclass == types::CLASS_CH {
        return chaos(snap, q, &cur[..len], w).map(Rcode::from);
    }
    // QCLASS ANY (`*`) is answered from IN, the only class served, without AA: the answer
    // may leave classes out (NSD's answer; Knot sets AA).
    let any_class = q.qclass == types::CLASS_ANY;
    if q.qclass != types::CLASS_IN && !any_class {
        return Ok(rcode::REFUSED.into());
    }
    if matches!(q.qtype, types::AXFR | types::IXFR) {
        // Transfers go to `transfer` before they get here (over TCP, and IXFR over UDP); one
        // that reaches the answer path is not something it implements (NSD and Knot: NOTIMP).
        return Ok(rcode::NOTIMP.into());
    }
    let qname = &cur[..len];
    let cat = sel.catalog;
    let first = if q.qtype == types::DS {
        // DS at a zone apex belongs to the parent zone, if we serve it too.
        match cat.find_zone(qname) {
            Some(z) if *z.origin == *qname => cat.find_parent_zone(qname).or(Some(z)),
            other => other,
        }
    } else {
        cat.find_zone(qname)
    };
    let Some(zone) = first else {
        return Ok(Rcode {
            code: rcode::REFUSED,
            ede: Some(ede::NOT_AUTHORITATIVE),
        });
    };
    *found = Some(zone);
    if zone.servfail {
        return Ok(rcode::SERVFAIL.into());
    }
    let rc = sections::write(q, zone, &mut cur, len, w, sel)?;
    if any_class {
        let f = u16::from_be_bytes([w.buf()[2], w.buf()[3]]) & !hflags::AA;
        w.buf()[2..4].copy_from_slice(&f.to_be_bytes());
    }
    Ok(rc.into())
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
    // Not authoritative data of a zone: no AA, as NSD and Knot answer.
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
