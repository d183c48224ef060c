//! Route 53 routing policies as pure functions: a group of records (one name and type), what
//! is known of the client, each member's health, and a random source go in; the chosen
//! members, the EDNS Client Subnet scope the choice depends on, and the rule that decided come
//! out. No I/O, no clock, no allocation: the answer path calls this per query, and the tests
//! call it with every combination of health.
//!
//! The rules are those of `docs/route53.md` (§2, §3, §12); where that text says
//! "unknown", the choice made here is stated beside the code and in `docs/routing-policies.md`.
//!
//! Health is given per member, already resolved by the caller (a member's own health check,
//! and for an alias with Evaluate Target Health, whether its target group has a healthy
//! member), so this module never recurses through aliases.

pub mod geo_math;
pub mod latency;
pub mod load_balancer;
pub mod regions;
pub mod spec;

/// The most members one answer can carry (multivalue answers hold up to eight, §3.8).
pub const MAX_ANSWER: usize = 8;

/// The most members a group may have (Route 53's limit is 100 per name and type, §1.3).
pub const MAX_MEMBERS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverRole {
    Primary,
    Secondary,
}

/// A geolocation record's location (§3.5). Codes are uppercase ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoKey {
    Continent([u8; 2]),
    Country([u8; 2]),
    /// A country's subdivision (Route 53 documents US states), up to 3 characters.
    Subdivision([u8; 2], [u8; 3]),
    /// `*`: every location no other record claims.
    Default,
}

/// What one member of a group carries for its group's policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Simple,
    Weighted(u8),
    Failover(FailoverRole),
    Geolocation(GeoKey),
    /// Index of the member's region in the caller's region table.
    Latency(u16),
    /// Where the resource is, and its bias (−99..=99, §3.6).
    Geoproximity {
        lat: f64,
        lon: f64,
        bias: i8,
    },
    /// Index of the member's CIDR location in its collection; `None` is the `*` default.
    IpBased(Option<u16>),
    Multivalue,
}

/// A member as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    pub rule: Rule,
    pub healthy: bool,
}

/// Where the client is, as far as the server knows: from EDNS Client Subnet when the query
/// carried it, otherwise from the resolver's address.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Client {
    /// Bits of the client's address the facts below were derived from: the ECS source prefix,
    /// or 32/128 for a resolver address. The scope of an answer never exceeds it.
    pub source_prefix: u8,
    /// GeoIP facts, when a database knows the address.
    pub geo: Option<Location>,
    /// The CIDR location (of the group's collection) the address falls in, with the length
    /// of the block that matched, after the longest-prefix rules of §3.7.
    pub cidr: Option<(u16, u8)>,
}

/// GeoIP facts about the client's network.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Location {
    pub continent: Option<[u8; 2]>,
    pub country: Option<[u8; 2]>,
    pub subdivision: Option<[u8; 3]>,
    pub coordinates: Option<(f64, f64)>,
    /// Length of the database network the facts are for.
    pub prefix_len: u8,
}

/// Measured or estimated cost from the client to a latency region (lower is better).
pub trait LatencyTable {
    /// Round-trip estimate to region `region`, or `None` when nothing is known.
    fn cost(&self, client: &Client, region: u16) -> Option<f64>;
}

/// Why a member was chosen: what `explain` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A simple group: its one member.
    Simple,
    /// Drawn by weight among healthy members with non-zero weight.
    WeightedHealthy,
    /// No non-zero member was healthy: drawn among healthy zero-weight members.
    WeightedZeroFallback,
    /// Nothing healthy: drawn by weight among the non-zero members as if healthy.
    WeightedAllUnhealthy,
    PrimaryHealthy,
    SecondaryBecausePrimaryUnhealthy,
    /// Both sides unhealthy: the primary (§3.4).
    PrimaryBecauseBothUnhealthy,
    /// The most specific location that matched and is healthy.
    GeoMatch(GeoKey),
    /// Nothing applicable was healthy: the most specific applicable location.
    GeoAllUnhealthy(GeoKey),
    /// No location matched and there is no default: NODATA (§3.5).
    GeoNoMatch,
    /// The healthy member with the lowest latency or (biased) distance.
    Nearest,
    /// Nothing healthy: the nearest member.
    NearestAllUnhealthy,
    /// The client's position is unknown: the first member listed.
    NoClientPosition,
    CidrMatch,
    CidrDefault,
    CidrAllUnhealthy,
    /// No block matched and there is no default: NODATA (§3.7, inferred).
    CidrNoMatch,
    /// Up to eight healthy members.
    MultivalueHealthy,
    /// Nothing healthy: up to eight members anyway (§3.8).
    MultivalueAllUnhealthy,
    /// The group is empty (cannot come from a validated config).
    Empty,
}

/// The outcome of a policy: which members answer (indices into the group), and the ECS scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    members: [u8; MAX_ANSWER],
    count: u8,
    /// ECS scope prefix length (RFC 7871 §7.2.1): 0 when the choice does not depend on where
    /// the client is.
    pub scope: u8,
    pub reason: Reason,
}

impl Selection {
    fn none(reason: Reason, scope: u8) -> Self {
        Selection {
            members: [0; MAX_ANSWER],
            count: 0,
            scope,
            reason,
        }
    }
    fn one(i: usize, reason: Reason, scope: u8) -> Self {
        let mut s = Selection::none(reason, scope);
        s.members[0] = i as u8;
        s.count = 1;
        s
    }
    /// Indices of the chosen members; empty means NODATA.
    pub fn members(&self) -> &[u8] {
        &self.members[..self.count as usize]
    }
}

/// A small, fast random source (SplitMix64): one per worker, seeded once; the tests seed it
/// to make distributions reproducible.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Random(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), without modulo bias worth measuring for n ≤ 2^16.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Chooses the answering members of a group. `latency` is consulted only by latency groups.
pub fn select(
    members: &[Member],
    client: &Client,
    latency: &dyn LatencyTable,
    rng: &mut Random,
) -> Selection {
    let Some(first) = members.first() else {
        return Selection::none(Reason::Empty, 0);
    };
    match first.rule {
        Rule::Simple => Selection::one(0, Reason::Simple, 0),
        Rule::Weighted(_) => weighted(members, rng),
        Rule::Failover(_) => failover(members),
        Rule::Multivalue => multivalue(members, rng),
        Rule::Geolocation(_) => geolocation(members, client),
        Rule::Latency(_) => nearest(members, client, |m| match m.rule {
            Rule::Latency(region) => latency.cost(client, region),
            _ => None,
        }),
        Rule::Geoproximity { .. } => nearest(members, client, |m| {
            match (m.rule, client.geo.and_then(|g| g.coordinates)) {
                (Rule::Geoproximity { lat, lon, bias }, Some(from)) => Some(geo_math::biased(
                    geo_math::great_circle_km(from, (lat, lon)),
                    bias,
                )),
                _ => None,
            }
        }),
        Rule::IpBased(_) => ip_based(members, client),
    }
}

fn weight(m: &Member) -> u64 {
    match m.rule {
        Rule::Weighted(w) => w as u64,
        _ => 0,
    }
}

/// §3.2, with its truth table: healthy non-zero members by weight; else healthy zero-weight
/// members uniformly; else all non-zero members by weight (fail-open among non-zero only);
/// a group whose weights are all zero is drawn uniformly.
fn weighted(members: &[Member], rng: &mut Random) -> Selection {
    let draw =
        |rng: &mut Random, keep: &dyn Fn(&Member) -> bool, by_weight: bool| -> Option<usize> {
            let w = |m: &Member| if by_weight { weight(m) } else { 1 };
            let total: u64 = members.iter().filter(|m| keep(m)).map(w).sum();
            if total == 0 {
                return None;
            }
            let mut x = rng.below(total);
            for (i, m) in members.iter().enumerate().filter(|(_, m)| keep(m)) {
                if x < w(m) {
                    return Some(i);
                }
                x -= w(m);
            }
            None
        };
    let any_nonzero = members.iter().any(|m| weight(m) > 0);
    if !any_nonzero {
        // "If you set Weight to 0 for all … traffic is routed to all resources with equal
        // probability"; health still narrows it first.
        return match draw(rng, &|m| m.healthy, false) {
            Some(i) => Selection::one(i, Reason::WeightedHealthy, 0),
            None => Selection::one(
                rng.below(members.len() as u64) as usize,
                Reason::WeightedAllUnhealthy,
                0,
            ),
        };
    }
    if let Some(i) = draw(rng, &|m| m.healthy && weight(m) > 0, true) {
        return Selection::one(i, Reason::WeightedHealthy, 0);
    }
    if let Some(i) = draw(rng, &|m| m.healthy && weight(m) == 0, false) {
        return Selection::one(i, Reason::WeightedZeroFallback, 0);
    }
    let i = draw(rng, &|m| weight(m) > 0, true).expect("a non-zero weight exists");
    Selection::one(i, Reason::WeightedAllUnhealthy, 0)
}

/// §3.4: the primary while it is healthy; the secondary when only it is; both unhealthy → the
/// primary.
fn failover(members: &[Member]) -> Selection {
    let find = |role| members.iter().position(|m| m.rule == Rule::Failover(role));
    let (p, s) = (find(FailoverRole::Primary), find(FailoverRole::Secondary));
    match (p, s) {
        (Some(p), _) if members[p].healthy => Selection::one(p, Reason::PrimaryHealthy, 0),
        (_, Some(s)) if members[s].healthy => {
            Selection::one(s, Reason::SecondaryBecausePrimaryUnhealthy, 0)
        }
        (Some(p), _) => Selection::one(p, Reason::PrimaryBecauseBothUnhealthy, 0),
        (None, Some(s)) => Selection::one(s, Reason::PrimaryBecauseBothUnhealthy, 0),
        (None, None) => Selection::none(Reason::Empty, 0),
    }
}

/// §3.8: up to eight healthy members (a random eight when more are healthy); none healthy → up
/// to eight of all.
fn multivalue(members: &[Member], rng: &mut Random) -> Selection {
    let healthy = members.iter().filter(|m| m.healthy).count();
    let (reason, keep): (Reason, fn(&Member) -> bool) = if healthy > 0 {
        (Reason::MultivalueHealthy, |m| m.healthy)
    } else {
        (Reason::MultivalueAllUnhealthy, |_| true)
    };
    let mut pool = [0u8; MAX_MEMBERS];
    let mut n = 0;
    for (i, m) in members.iter().enumerate().take(MAX_MEMBERS) {
        if keep(m) {
            pool[n] = i as u8;
            n += 1;
        }
    }
    let take = n.min(MAX_ANSWER);
    // Partial Fisher–Yates: a uniformly random eight (or all), in a random order, as Route 53
    // answers (§3.8).
    for i in 0..take {
        let j = i + rng.below((n - i) as u64) as usize;
        pool.swap(i, j);
    }
    let mut s = Selection::none(reason, 0);
    s.members[..take].copy_from_slice(&pool[..take]);
    s.count = take as u8;
    s
}

/// §3.5: subdivision > country > continent > default; the first healthy one in that order
/// wins; none healthy → the most specific applicable; nothing applicable → NODATA.
fn geolocation(members: &[Member], client: &Client) -> Selection {
    let loc = client.geo.unwrap_or_default();
    let scope = scope_of(client, client.geo.map(|g| g.prefix_len));
    // The caller fills the continent from the country when the database lacks it (geo.rs).
    let continent = loc.continent;
    let wanted = [
        match (loc.country, loc.subdivision) {
            (Some(c), Some(s)) => Some(GeoKey::Subdivision(c, s)),
            _ => None,
        },
        loc.country.map(GeoKey::Country),
        continent.map(GeoKey::Continent),
        Some(GeoKey::Default),
    ];
    let applicable = wanted.iter().flatten().filter_map(|key| {
        members
            .iter()
            .position(|m| m.rule == Rule::Geolocation(*key))
            .map(|i| (i, *key))
    });
    let mut most_specific = None;
    for (i, key) in applicable {
        most_specific.get_or_insert((i, key));
        if members[i].healthy {
            return Selection::one(i, Reason::GeoMatch(key), scope);
        }
    }
    match most_specific {
        Some((i, key)) => Selection::one(i, Reason::GeoAllUnhealthy(key), scope),
        None => Selection::none(Reason::GeoNoMatch, scope),
    }
}

/// Latency and geoproximity: the healthy member with the lowest cost; all unhealthy → the
/// lowest cost; no cost known for anyone → the first member (a deterministic choice where
/// Route 53 always has data; documented).
fn nearest(
    members: &[Member],
    client: &Client,
    cost: impl Fn(&Member) -> Option<f64>,
) -> Selection {
    let scope = scope_of(client, client.geo.map(|g| g.prefix_len));
    let best = |healthy_only: bool| {
        members
            .iter()
            .enumerate()
            .filter(|(_, m)| !healthy_only || m.healthy)
            .filter_map(|(i, m)| cost(m).map(|c| (i, c)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    };
    if let Some(i) = best(true) {
        return Selection::one(i, Reason::Nearest, scope);
    }
    if let Some(i) = best(false) {
        return Selection::one(i, Reason::NearestAllUnhealthy, scope);
    }
    let i = members.iter().position(|m| m.healthy).unwrap_or(0);
    Selection::one(i, Reason::NoClientPosition, 0)
}

/// §3.7: the member for the matched CIDR location; unhealthy or no match → the `*` default;
/// nothing healthy → the matched location's member, else the default; no match and no default
/// → NODATA. The scope is the matched block's length (never more than the source prefix).
fn ip_based(members: &[Member], client: &Client) -> Selection {
    let matched = client.cidr.and_then(|(loc, len)| {
        members
            .iter()
            .position(|m| m.rule == Rule::IpBased(Some(loc)))
            .map(|i| (i, len))
    });
    let default = members.iter().position(|m| m.rule == Rule::IpBased(None));
    let scope = scope_of(client, client.cidr.map(|(_, len)| len));
    match (matched, default) {
        (Some((i, _)), _) if members[i].healthy => Selection::one(i, Reason::CidrMatch, scope),
        (_, Some(d)) if members[d].healthy => Selection::one(d, Reason::CidrDefault, scope),
        (Some((i, _)), _) => Selection::one(i, Reason::CidrAllUnhealthy, scope),
        (None, Some(d)) => Selection::one(d, Reason::CidrAllUnhealthy, scope),
        (None, None) => Selection::none(Reason::CidrNoMatch, scope),
    }
}

/// The ECS scope of a location-dependent answer: the length of the data that decided, never
/// longer than what the client sent (RFC 7871 §7.2.1); without such data, the whole source.
fn scope_of(client: &Client, data_prefix: Option<u8>) -> u8 {
    match data_prefix {
        Some(p) => p.min(client.source_prefix),
        None => client.source_prefix,
    }
}

#[cfg(test)]
mod tests;
