//! The policy stage: which records a record set answers with for this query. Zone-file data
//! answers with what the zone holds; a routing-policy group runs its policy
//! ([`crate::policy::select`]) over its members' health, with what is known of the client, and
//! follows aliases (to record sets of the zone, or to load balancers) to the records that come
//! out. Nothing is written here: the caller writes the [`Selected`] pieces.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::small::Small;
use crate::policy::load_balancer::{self, LoadBalancer};
use crate::policy::{self, geo_math, regions, Member, Random};
use crate::snapshot::Snapshot;
use crate::wire::packet::ClientSubnet;
use crate::zone::{Group, MemberAnswer, RrSet, Zone};

/// Aliases followed per answer at most; deeper (or looping) chains answer nothing.
pub(super) const MAX_ALIAS_DEPTH: u8 = 8;

/// One part of what a record set answers with.
#[derive(Clone, Copy)]
pub(super) enum Piece<'a> {
    /// Records of a zone: zone-file data, or a chosen member's own records.
    Records(&'a Zone, &'a RrSet),
    /// A load balancer's node addresses in the availability zones that serve (bit i of
    /// `serving`: zone i), TTL 60; AAAA only through a `dualstack.` name (§4.1).
    LoadBalancer {
        lb: &'a LoadBalancer,
        serving: u64,
        dualstack: bool,
        /// The record set's type: A, or AAAA.
        rtype: u16,
    },
}

/// What a record set answers with for one query. Empty: nothing for this client (a policy
/// with no applicable member, §3.5), which is NODATA.
pub(super) struct Selected<'a> {
    pieces: Small<Piece<'a>, { policy::MAX_ANSWER }>,
}

impl<'a> Selected<'a> {
    pub(super) fn new() -> Self {
        Selected {
            pieces: Small::new(),
        }
    }

    pub(super) fn pieces(&self) -> &[Piece<'a>] {
        self.pieces.as_slice()
    }

    /// The first record's RDATA (a CNAME's target), when the first piece is records.
    pub(super) fn first_rdata(&self) -> Option<&'a [u8]> {
        match self.pieces.as_slice().first()? {
            Piece::Records(zone, set) => zone.rdatas(set).next(),
            Piece::LoadBalancer { .. } => None,
        }
    }
}

/// The client as the policies see it: the address they go by and what is known of it.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientFacts {
    pub(super) addr: IpAddr,
    pub(super) client: policy::Client,
}

/// What a routing policy needs to know about one query, worked out once and only if a policy
/// asks.
pub(super) struct Selector<'a> {
    pub(super) snap: &'a Snapshot,
    /// The zones of the client's view (by its source address, never ECS: docs/views.md).
    pub(super) catalog: &'a crate::zone::Catalog,
    /// The resolver's address.
    client: Option<IpAddr>,
    ecs: Option<ClientSubnet>,
    /// The widest ECS scope of any decision in this answer.
    pub(super) scope: u8,
    facts: Option<ClientFacts>,
    /// Count the members chosen in each group's answer counters (not for TestDNSAnswer).
    pub(super) count_answers: bool,
}

thread_local! {
    // One random source per worker thread, seeded from the thread's identity and the time.
    static RANDOM: RefCell<Random> = RefCell::new(Random::new({
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        t ^ (&t as *const u64 as u64)
    }));
}

/// Runs `f` with this worker's random source.
pub(super) fn with_random<R>(f: impl FnOnce(&mut Random) -> R) -> R {
    RANDOM.with(|r| f(&mut r.borrow_mut()))
}

/// Latency for latency routing: the operator's measurements for the client's network when the
/// map has them; otherwise the great-circle distance from the client to the region
/// (docs/route53.md §3.3: Route 53's data is AWS's own).
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

impl<'a> Selector<'a> {
    /// For a query from `client` (the resolver), with the EDNS Client Subnet it carried.
    pub(super) fn new(
        snap: &'a Snapshot,
        client: Option<IpAddr>,
        ecs: Option<ClientSubnet>,
    ) -> Self {
        Self::in_view(snap, client, ecs, snap.views.place(client))
    }

    /// As [`new`](Self::new), answered in `view` whatever the client's address.
    pub(super) fn in_view(
        snap: &'a Snapshot,
        client: Option<IpAddr>,
        ecs: Option<ClientSubnet>,
        view: Option<usize>,
    ) -> Self {
        Selector {
            snap,
            catalog: snap.catalog_in(view),
            client,
            ecs,
            scope: 0,
            facts: None,
            count_answers: false,
        }
    }

    /// What `set` (of `zone`) answers with for this query.
    #[inline]
    /// Fills `out` (emptied first) with what answers `set` for this client. `out` is the
    /// caller's, not a return value: a `Selected` is hundreds of octets, and returning it
    /// cost a copy per answer.
    pub(super) fn select(&mut self, zone: &'a Zone, set: &'a RrSet, out: &mut Selected<'a>) {
        out.pieces.truncate(0);
        self.collect(zone, set, 0, out);
    }

    fn collect(&mut self, zone: &'a Zone, set: &'a RrSet, depth: u8, out: &mut Selected<'a>) {
        let Some(g) = set.group() else {
            out.pieces.push(Piece::Records(zone, set));
            return;
        };
        if depth >= MAX_ALIAS_DEPTH {
            return;
        }
        let group = &zone.groups[g];
        let sel = self.choose(zone, group, set.rtype, depth);
        for &i in sel.members() {
            let i = i as usize;
            if self.count_answers {
                if let Some(c) = group.answered.get(i) {
                    c.add(0, 1);
                }
            }
            match group.answers[i] {
                // An alias answers with its target's records, under the queried name, with the
                // target's TTL (§4.1); the target's own policy decides if it has one.
                MemberAnswer::Alias { node, .. } => {
                    if let Some(tset) = zone.rrset(zone.node(node), set.rtype) {
                        self.collect(zone, tset, depth + 1, out);
                    }
                }
                MemberAnswer::LoadBalancer(alias) => {
                    if let Some((lb, state)) = self.load_balancer(alias.index) {
                        out.pieces.push(Piece::LoadBalancer {
                            lb,
                            serving: state.serving,
                            dualstack: alias.dualstack,
                            rtype: set.rtype,
                        });
                    }
                }
                MemberAnswer::Records => {
                    out.pieces.push(Piece::Records(zone, &group.sets[i]));
                }
            }
        }
    }

    /// The client's address and what is known of it: EDNS Client Subnet first (its source
    /// prefix clamped to /24 and /56), else the resolver's address.
    pub(super) fn facts(&mut self, needs_geo: bool) -> ClientFacts {
        let geo_db = self.snap.inputs.geo.as_ref();
        if let Some(f) = self.facts {
            if !needs_geo || f.client.geo.is_some() || geo_db.is_none() {
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
            geo_db
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
        let f = ClientFacts {
            addr,
            client: policy::Client {
                source_prefix,
                geo,
                cidr: None,
            },
        };
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
    pub(super) fn member_healthy(
        &self,
        zone: &Zone,
        group: &Group,
        i: usize,
        rtype: u16,
        depth: u8,
    ) -> bool {
        let health = &self.snap.inputs.health;
        let own = group.health[i].is_none_or(|h| health.healthy(h));
        let answer = group.answers[i];
        own && (!answer.evaluates_target_health()
            || match answer {
                MemberAnswer::Alias { node, .. } => self.target_healthy(zone, node, rtype, depth),
                MemberAnswer::LoadBalancer(a) => {
                    self.load_balancer(a.index).is_some_and(|(_, s)| s.healthy)
                }
                MemberAnswer::Records => true,
            })
    }

    /// A load balancer and its state under the current health view.
    pub(super) fn load_balancer(
        &self,
        lb: u32,
    ) -> Option<(&'a LoadBalancer, load_balancer::State)> {
        let inputs = &self.snap.inputs;
        let l = inputs.load_balancers.get(lb as usize)?;
        Some((
            l,
            load_balancer::state(l, |h| h.is_none_or(|h| inputs.health.healthy(h))),
        ))
    }

    /// Runs the group's policy for this client with the current health states.
    pub(super) fn choose(
        &mut self,
        zone: &Zone,
        group: &Group,
        rtype: u16,
        depth: u8,
    ) -> policy::Selection {
        let needs_geo = matches!(
            group.rules.first(),
            Some(
                policy::Rule::Geolocation(_)
                    | policy::Rule::Latency(_)
                    | policy::Rule::Geoproximity { .. }
            )
        );
        let ClientFacts { addr, mut client } = self.facts(needs_geo);
        let inputs = &self.snap.inputs;
        if let Some(c) = group.cidr_collection {
            client.cidr = inputs
                .cidr
                .get(c as usize)
                .and_then(|t| t.lookup(addr, client.source_prefix));
        }
        let measured = match group.rules.first() {
            Some(policy::Rule::Latency(_)) => inputs
                .latency
                .as_deref()
                .and_then(|m| m.lookup(addr, client.source_prefix)),
            _ => None,
        };
        let latency = Latency { measured };
        let mut members = Small::<Member, { policy::MAX_MEMBERS }>::new();
        for (i, rule) in group.rules.iter().enumerate() {
            members.push(Member {
                rule: *rule,
                healthy: self.member_healthy(zone, group, i, rtype, depth),
            });
        }
        if group.consistent {
            let (seed, bits) = subnet_seed(addr, client.source_prefix, group.salt);
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

/// For `consistent` groups: the client's subnet (ECS, or the resolver's /24 or /56) picks the
/// draw, so a subnet keeps its answer while health stays the same. Returns the seed and the
/// subnet's length (the answer's ECS scope).
fn subnet_seed(addr: IpAddr, source_prefix: u8, salt: u64) -> (u64, u8) {
    let bits = source_prefix.min(if addr.is_ipv4() { 24 } else { 56 });
    let masked: u128 = match addr {
        IpAddr::V4(a) => {
            (u32::from(a) as u128) >> (32 - bits as u32).min(31) << (32 - bits as u32).min(31)
        }
        IpAddr::V6(a) => {
            let shift = (128 - bits as u32).min(127);
            (u128::from(a) >> shift) << shift
        }
    };
    let seed = std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, (masked, bits, salt));
    (seed, bits)
}
