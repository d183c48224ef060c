//! What every query reads: the zones, the answering options, and what the routing policies
//! look at besides the zones (health, CIDR collections, GeoIP, load balancers, latency). A
//! snapshot is immutable and swapped whole (`arc-swap`): a reload, a transfer or a change
//! never stalls a query, and no query sees half of one.
//!
//! This is the floor every reader imports (answer, transfer, health wiring, load); it imports
//! only data modules below it.

use std::net::IpAddr;
use std::sync::Arc;

use crate::geo::GeoDb;
use crate::health::HealthView;
use crate::policy::latency::LatencyMap;
use crate::policy::load_balancer::LoadBalancer;
use crate::zone::Catalog;

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
    /// Response-rate limiting of UDP answers; off (`None`) by default, as in BIND and Knot.
    pub rrl: Option<Arc<crate::server::rrl::RrlSettings>>,
    /// DNS cookies (RFC 7873/9018): the secrets server cookies are made and checked with;
    /// `None` ignores COOKIE options (as a server without cookies does).
    pub cookies: Option<Arc<crate::wire::cookie::Secrets>>,
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
            rrl: None,
            cookies: None,
        }
    }
}

/// What a query reads: the zones and the options, swapped together.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub catalog: Catalog,
    pub options: Options,
    /// Shared by every snapshot built from the same configuration: a secondary's transfer
    /// swaps the catalog and keeps these.
    pub inputs: Arc<PolicyInputs>,
    /// How each configured zone's last load went, for `check`, the log and the status listener.
    pub zone_reports: Arc<Vec<ZoneReport>>,
    /// The views and their catalogs (empty: `catalog` answers everyone).
    pub views: Arc<crate::views::Views>,
}

/// How a configured zone's last load went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneReport {
    /// Lowercase wire form.
    pub origin: Vec<u8>,
    /// The view whose copy this is; `None`: the shared copy.
    pub view: Option<String>,
    pub state: ZoneState,
    /// Every problem of the last load, each as `file:line: message`.
    pub problems: Vec<String>,
}

/// What a zone serves after a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    /// Its sources loaded.
    Loaded,
    /// Its sources failed; the version loaded before keeps serving.
    Previous,
    /// Nothing to serve: SERVFAIL (its sources failed at start, or a secondary zone has no
    /// usable copy yet).
    Servfail,
    /// A secondary zone serving its saved or transferred copy.
    Secondary,
}

impl ZoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneState::Loaded => "loaded",
            ZoneState::Previous => "previous version (reload failed)",
            ZoneState::Servfail => "SERVFAIL",
            ZoneState::Secondary => "secondary",
        }
    }
}

/// What the routing policies read besides the zones.
#[derive(Debug, Default)]
pub struct PolicyInputs {
    /// Health-check states, indexed as the zones' routing-policy groups refer to them.
    pub health: HealthView,
    /// CIDR collections for IP-based routing, by index.
    pub cidr: Vec<CidrTable>,
    /// GeoIP database for geolocation, latency and geoproximity routing.
    pub geo: Option<Arc<GeoDb>>,
    /// Load balancers that aliases target, by index.
    pub load_balancers: Vec<LoadBalancer>,
    /// Measured latencies for latency routing; without it, distance stands in.
    pub latency: Option<Arc<LatencyMap>>,
}

impl Snapshot {
    /// The same snapshot serving another catalog (a secondary zone was transferred). The policy
    /// inputs are shared, so probes keep writing where queries read.
    pub fn with_catalog(&self, catalog: Catalog) -> Snapshot {
        Snapshot {
            views: Arc::new(self.views.with_shared(&catalog)),
            catalog,
            options: self.options.clone(),
            inputs: self.inputs.clone(),
            zone_reports: self.zone_reports.clone(),
        }
    }

    /// Makes the views answer from the current shared zones, after `catalog` was replaced in
    /// place (a reload's steps do that before the snapshot is published).
    pub fn refresh_views(&mut self) {
        self.views = Arc::new(self.views.with_shared(&self.catalog));
    }

    /// The catalog a client placed in `view` is answered from.
    #[inline]
    pub fn catalog_in(&self, view: Option<usize>) -> &Catalog {
        match view.and_then(|v| self.views.list.get(v)) {
            Some(v) => &v.catalog,
            None => self.views.outside(&self.catalog),
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
    /// match (docs/route53.md §3.7).
    pub fn lookup(&self, addr: IpAddr, source_prefix: u8) -> Option<(u16, u8)> {
        self.blocks
            .iter()
            .find(|(net, _)| net.prefix() <= source_prefix && net.contains(addr))
            .map(|(net, loc)| (*loc, net.prefix()))
    }
}
