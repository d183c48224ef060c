//! What the server answered, counted as it answers: queries and responses per zone (CoreDNS's
//! labels: protocol, address family, type, rcode), truncation, EDNS Client Subnet, the time
//! each query took, response-rate limiting, and the answers each routing-policy member gave.
//!
//! Counters are [`Striped`] (one cache line per thread, summed on scrape) and handed out by a
//! process-wide registry keyed by what they count (a zone's origin; a member's zone, name, type
//! and set identifier), so a reload or an API change that rebuilds a zone keeps counting on the
//! same counters. The registry is taken only when zones are built, never on the answer path.
//! [`text`] writes them in the Prometheus text format.

mod striped;
pub mod text;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock, Mutex};

pub use striped::{Striped, STRIPES};

use crate::wire::{types, Transport};

/// Query types counted by name; the rest are `other` (as CoreDNS does, so a client cannot
/// create a label value per type it sends).
pub const TYPES: [(u16, &str); 18] = [
    (types::A, "A"),
    (types::AAAA, "AAAA"),
    (types::CNAME, "CNAME"),
    (types::MX, "MX"),
    (types::NS, "NS"),
    (types::SOA, "SOA"),
    (types::TXT, "TXT"),
    (types::SRV, "SRV"),
    (types::PTR, "PTR"),
    (types::CAA, "CAA"),
    (types::NAPTR, "NAPTR"),
    (types::DS, "DS"),
    (types::DNSKEY, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (types::ANY, "ANY"),
    (types::AXFR, "AXFR"),
    (types::IXFR, "IXFR"),
];
const TYPE_SLOTS: usize = TYPES.len() + 1;

/// Response codes counted by name; the rest are `other`.
pub const RCODES: [(u16, &str); 12] = [
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (6, "YXDOMAIN"),
    (7, "YXRRSET"),
    (8, "NXRRSET"),
    (9, "NOTAUTH"),
    (10, "NOTZONE"),
    (16, "BADVERS"),
];
const RCODE_SLOTS: usize = RCODES.len() + 1;

pub const PROTOS: [&str; 2] = ["udp", "tcp"];
/// CoreDNS's `family` label values: 1 for IPv4, 2 for IPv6.
pub const FAMILIES: [&str; 2] = ["1", "2"];

const REQUESTS: usize = 0;
const RESPONSES: usize = REQUESTS + PROTOS.len() * FAMILIES.len() * TYPE_SLOTS;
const TRUNCATED: usize = RESPONSES + RCODE_SLOTS;
const ECS: usize = TRUNCATED + 1;
const ZONE_COUNTERS: usize = ECS + 1;

/// One zone's query counters.
#[derive(Debug, Default)]
pub struct ZoneCounters(Striped<ZONE_COUNTERS>);

/// One answered query, as it is counted.
#[derive(Debug, Clone, Copy)]
pub struct Answered {
    pub transport: Transport,
    pub client: Option<IpAddr>,
    pub qtype: u16,
    pub rcode: u16,
    pub truncated: bool,
    pub ecs: bool,
}

fn type_slot(qtype: u16) -> usize {
    TYPES
        .iter()
        .position(|(t, _)| *t == qtype)
        .unwrap_or(TYPES.len())
}

fn rcode_slot(rcode: u16) -> usize {
    RCODES
        .iter()
        .position(|(r, _)| *r == rcode)
        .unwrap_or(RCODES.len())
}

fn proto_slot(t: Transport) -> usize {
    match t {
        Transport::Udp => 0,
        Transport::Tcp => 1,
    }
}

impl ZoneCounters {
    #[inline]
    pub fn count(&self, a: &Answered) {
        let family = usize::from(matches!(a.client, Some(IpAddr::V6(_))));
        let at = (proto_slot(a.transport) * FAMILIES.len() + family) * TYPE_SLOTS;
        self.0.add(REQUESTS + at + type_slot(a.qtype), 1);
        self.0.add(RESPONSES + rcode_slot(a.rcode), 1);
        if a.truncated {
            self.0.add(TRUNCATED, 1);
        }
        if a.ecs {
            self.0.add(ECS, 1);
        }
    }

    /// Requests by protocol, family and type (`other` last).
    pub fn requests(&self, proto: usize, family: usize, type_slot: usize) -> u64 {
        self.0
            .get(REQUESTS + (proto * FAMILIES.len() + family) * TYPE_SLOTS + type_slot)
    }

    /// Responses by rcode slot (`other` last).
    pub fn responses(&self, rcode_slot: usize) -> u64 {
        self.0.get(RESPONSES + rcode_slot)
    }

    pub fn truncated(&self) -> u64 {
        self.0.get(TRUNCATED)
    }

    pub fn ecs(&self) -> u64 {
        self.0.get(ECS)
    }
}

/// Upper bounds of the request-duration histogram, in nanoseconds: an answer from memory takes
/// microseconds, a TCP answer behind a slow client longer.
pub const DURATION_BOUNDS_NS: [u64; 11] = [
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
    100_000_000,
];
const BUCKETS: usize = DURATION_BOUNDS_NS.len() + 1;
/// Per protocol: the buckets (the last is above every bound), then the sum in nanoseconds.
const PER_PROTO: usize = BUCKETS + 1;
const DURATIONS: usize = 0;
const RRL_DROPPED: usize = DURATIONS + PROTOS.len() * PER_PROTO;
const RRL_SLIPPED: usize = RRL_DROPPED + 1;
const SERVER_COUNTERS: usize = RRL_SLIPPED + 1;

/// The server's counters that belong to no zone.
#[derive(Debug, Default)]
pub struct ServerCounters(Striped<SERVER_COUNTERS>);

/// What response-rate limiting did to one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Dropped,
    Slipped,
}

impl ServerCounters {
    /// One query answered in `nanos`.
    #[inline]
    pub fn duration(&self, t: Transport, nanos: u64) {
        let bucket = DURATION_BOUNDS_NS
            .iter()
            .position(|b| nanos <= *b)
            .unwrap_or(DURATION_BOUNDS_NS.len());
        let at = DURATIONS + proto_slot(t) * PER_PROTO;
        self.0.add(at + bucket, 1);
        self.0.add(at + BUCKETS, nanos);
    }

    #[inline]
    pub fn limited(&self, what: Limited) {
        self.0.add(
            match what {
                Limited::Dropped => RRL_DROPPED,
                Limited::Slipped => RRL_SLIPPED,
            },
            1,
        );
    }

    /// Per bucket (not cumulative), the last above every bound; and the sum in nanoseconds.
    pub fn durations(&self, proto: usize) -> ([u64; BUCKETS], u64) {
        let at = DURATIONS + proto * PER_PROTO;
        (
            std::array::from_fn(|b| self.0.get(at + b)),
            self.0.get(at + BUCKETS),
        )
    }

    pub fn rrl(&self) -> (u64, u64) {
        (self.0.get(RRL_DROPPED), self.0.get(RRL_SLIPPED))
    }
}

/// Things that happen off the answer path, counted once each: reloads and zone transfers.
#[derive(Debug, Default)]
pub struct Events {
    pub reloads_ok: AtomicU64,
    /// Reloads whose configuration was refused or where a zone failed to load.
    pub reloads_failed: AtomicU64,
    pub axfr_out: AtomicU64,
    pub ixfr_out: AtomicU64,
    /// Transfer requests refused (access list, unknown zone, malformed, AXFR over UDP).
    pub transfers_out_refused: AtomicU64,
    /// Refreshes of a secondary zone that reached the primary (up to date or transferred).
    pub refreshes_ok: AtomicU64,
    pub refreshes_failed: AtomicU64,
}

static EVENTS: LazyLock<Events> = LazyLock::new(Default::default);

/// Counts one event (`field` of [`Events`]).
pub fn event(field: impl Fn(&Events) -> &AtomicU64) {
    field(&EVENTS).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

pub fn events() -> &'static Events {
    &EVENTS
}

/// Answers a routing-policy member gave.
pub type MemberCounter = Striped<1>;

/// A member, as its counter is found again after a rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MemberKey {
    origin: Box<[u8]>,
    /// "" for the shared copy of the zone.
    view: Box<str>,
    owner: Box<[u8]>,
    rtype: u16,
    id: String,
}

#[derive(Default)]
struct Registry {
    /// By origin and view ("" for the shared copy).
    zones: HashMap<(Box<[u8]>, Box<str>), Arc<ZoneCounters>>,
    members: HashMap<MemberKey, Arc<MemberCounter>>,
    /// Entries at the last sweep of counters nothing holds any more.
    swept_at: usize,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);
static SERVER: LazyLock<ServerCounters> = LazyLock::new(Default::default);
static NO_ZONE: LazyLock<ZoneCounters> = LazyLock::new(Default::default);

impl Registry {
    /// Forgets counters of zones and members that no longer exist (only the registry holds
    /// them), once the registry has doubled since the last sweep.
    fn sweep(&mut self) {
        let len = self.zones.len() + self.members.len();
        if len < 64 || len < 2 * self.swept_at {
            return;
        }
        self.zones.retain(|_, c| Arc::strong_count(c) > 1);
        self.members.retain(|_, c| Arc::strong_count(c) > 1);
        self.swept_at = self.zones.len() + self.members.len();
    }
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The counters of the zone `origin` (lowercase wire form), the same for every build of it.
pub fn zone(origin: &[u8]) -> Arc<ZoneCounters> {
    zone_in(None, origin)
}

/// The counters of a view's copy of the zone `origin` (`None`: the shared copy).
pub fn zone_in(view: Option<&str>, origin: &[u8]) -> Arc<ZoneCounters> {
    let mut r = registry();
    r.sweep();
    r.zones
        .entry((origin.into(), view.unwrap_or("").into()))
        .or_default()
        .clone()
}

/// The answer counter of one routing-policy member, the same for every build of its group.
pub fn member(origin: &[u8], owner: &[u8], rtype: u16, id: &str) -> Arc<MemberCounter> {
    member_in(None, origin, owner, rtype, id)
}

/// The answer counter of one member in a view's copy of its zone (`None`: the shared copy).
pub fn member_in(
    view: Option<&str>,
    origin: &[u8],
    owner: &[u8],
    rtype: u16,
    id: &str,
) -> Arc<MemberCounter> {
    let key = MemberKey {
        view: view.unwrap_or("").into(),
        origin: origin.into(),
        owner: owner.into(),
        rtype,
        id: id.to_string(),
    };
    let mut r = registry();
    r.sweep();
    r.members.entry(key).or_default().clone()
}

/// Queries that reached no zone (refused, malformed, CHAOS).
pub fn no_zone() -> &'static ZoneCounters {
    &NO_ZONE
}

pub fn server() -> &'static ServerCounters {
    &SERVER
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(qtype: u16, rcode: u16) -> Answered {
        Answered {
            transport: Transport::Udp,
            client: Some("127.0.0.1".parse().unwrap()),
            qtype,
            rcode,
            truncated: false,
            ecs: false,
        }
    }

    #[test]
    fn a_zone_keeps_its_counters_across_builds() {
        let first = zone(b"\x07counted\x04test\x00");
        first.count(&answered(types::A, 0));
        let again = zone(b"\x07counted\x04test\x00");
        assert_eq!(again.requests(0, 0, type_slot(types::A)), 1);
    }

    #[test]
    fn types_and_rcodes_outside_the_lists_count_as_other() {
        let c = ZoneCounters::default();
        c.count(&answered(4242, 23));
        assert_eq!(c.requests(0, 0, TYPES.len()), 1);
        assert_eq!(c.responses(RCODES.len()), 1);
    }

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        let s = ServerCounters::default();
        s.duration(Transport::Tcp, 5_000);
        s.duration(Transport::Tcp, 5_001);
        s.duration(Transport::Tcp, 1_000_000_000);
        let (buckets, sum) = s.durations(1);
        assert_eq!((buckets[0], buckets[1], buckets[BUCKETS - 1]), (1, 1, 1));
        assert_eq!(sum, 1_000_010_001);
        assert_eq!(s.durations(0).0.iter().sum::<u64>(), 0);
    }
}
