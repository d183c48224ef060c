//! Views (split horizon): which catalog a client is answered from. Each view serves its own
//! zones (a view's own zone, or its copy of a shared zone holding the view's record sets) and
//! every shared zone it has no copy of. Placing a client is one ordered prefix scan, done once
//! per query, and nothing at all when no view is configured.

use std::net::IpAddr;
use std::sync::Arc;

use ipnetwork::IpNetwork;

use crate::zone::{Catalog, Zone};

/// The configured views, each with its catalog.
#[derive(Debug, Default)]
pub struct Views {
    pub list: Vec<View>,
    /// What clients no view holds are answered from when some shared zone is a private hosted
    /// zone: the shared zones without those. `None`: all the shared zones.
    outside: Option<Catalog>,
    /// Every address entry of every view, in view order: the first that holds a client
    /// places it (BIND's first-match).
    nets: Vec<(IpNetwork, u16)>,
}

/// One view: its name, whether internal load balancers answer in it, its own zones and the
/// catalog it answers from (its own zones and the shared ones).
#[derive(Debug)]
pub struct View {
    pub name: Arc<str>,
    pub internal: bool,
    /// TSIG key names (lowercase wire form) that place a signed request in this view.
    pub keys: Vec<Vec<u8>>,
    nets: Vec<IpNetwork>,
    /// VPCs whose private hosted zones it serves (its name is one too).
    vpc_ids: Vec<String>,
    pub own: Vec<Arc<Zone>>,
    pub catalog: Catalog,
}

/// One view before its catalog is made.
#[derive(Debug, Clone)]
pub struct ViewInput {
    pub name: Arc<str>,
    pub internal: bool,
    pub nets: Vec<IpNetwork>,
    pub keys: Vec<Vec<u8>>,
    pub vpc_ids: Vec<String>,
    pub own: Vec<Arc<Zone>>,
}

impl Views {
    /// The views, answering from their own zones and `shared`.
    pub fn new(inputs: Vec<ViewInput>, shared: &Catalog) -> Views {
        let mut nets = Vec::new();
        let list = inputs
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                nets.extend(v.nets.iter().map(|n| (*n, i as u16)));
                let serves = |z: &Zone| {
                    z.vpcs.is_empty()
                        || (v.internal
                            && z.vpcs
                                .iter()
                                .any(|id| **id == *v.name || v.vpc_ids.iter().any(|x| **x == **id)))
                };
                View {
                    catalog: merged(&v.own, shared, serves),
                    name: v.name,
                    internal: v.internal,
                    keys: v.keys,
                    nets: v.nets,
                    vpc_ids: v.vpc_ids,
                    own: v.own,
                }
            })
            .collect();
        let outside = shared
            .zones()
            .iter()
            .any(|z| !z.vpcs.is_empty())
            .then(|| merged(&[], shared, |z| z.vpcs.is_empty()));
        Views {
            list,
            nets,
            outside,
        }
    }

    /// The same views over another set of shared zones (a transfer, an API change).
    pub fn with_shared(&self, shared: &Catalog) -> Views {
        Views::new(self.inputs(), shared)
    }

    /// The views as they were made, their catalogs dropped: each own zone is then held only
    /// where the caller holds it, so it can be changed in place.
    pub fn into_inputs(self) -> Vec<ViewInput> {
        self.list
            .into_iter()
            .map(|v| ViewInput {
                name: v.name,
                internal: v.internal,
                nets: v.nets,
                keys: v.keys,
                vpc_ids: v.vpc_ids,
                own: v.own,
            })
            .collect()
    }

    /// The views as they were made, to make them again with other zones.
    pub fn inputs(&self) -> Vec<ViewInput> {
        self.list
            .iter()
            .map(|v| ViewInput {
                name: v.name.clone(),
                internal: v.internal,
                nets: v.nets.clone(),
                keys: v.keys.clone(),
                vpc_ids: v.vpc_ids.clone(),
                own: v.own.clone(),
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The catalog of clients no view holds.
    #[inline]
    pub fn outside<'a>(&'a self, shared: &'a Catalog) -> &'a Catalog {
        self.outside.as_ref().unwrap_or(shared)
    }

    /// The view a query from `client` is answered in: the first whose address entries hold
    /// it. `None`: no view holds it (or none is configured) — the shared zones answer.
    #[inline]
    pub fn place(&self, client: Option<IpAddr>) -> Option<usize> {
        if self.nets.is_empty() {
            return None;
        }
        let ip = unmapped(client?);
        self.nets
            .iter()
            .find(|(n, _)| n.contains(ip))
            .map(|&(_, v)| v as usize)
    }

    /// The view of a request signed with `key` (verified) from `client`: the first view that
    /// names the key or holds the address (BIND's match-clients with `key`).
    pub fn place_signed(&self, client: Option<IpAddr>, key: Option<&[u8]>) -> Option<usize> {
        self.list.iter().position(|v| {
            key.is_some_and(|k| v.keys.iter().any(|vk| vk.as_slice() == k))
                || client.is_some_and(|ip| v.nets.iter().any(|n| n.contains(unmapped(ip))))
        })
    }

    /// A view's own zone (its copy) at `origin`.
    pub fn own_zone(&self, view: &str, origin: &[u8]) -> Option<&Arc<Zone>> {
        self.list
            .iter()
            .find(|v| &*v.name == view)?
            .own
            .iter()
            .find(|z| *z.origin == *origin)
    }

    pub fn name(&self, view: Option<usize>) -> Option<&str> {
        view.and_then(|i| self.list.get(i)).map(|v| &*v.name)
    }
}

/// An IPv4 client seen on a dual-stack socket (`::ffff:a.b.c.d`) as the IPv4 address it is.
#[inline]
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A view's zones and the shared zones it has no copy of and `serves` (a private hosted zone
/// only where its VPC is).
fn merged(own: &[Arc<Zone>], shared: &Catalog, serves: impl Fn(&Zone) -> bool) -> Catalog {
    let mut zones = own.to_vec();
    zones.extend(
        shared
            .zones()
            .iter()
            .filter(|s| serves(s) && !own.iter().any(|o| o.origin == s.origin))
            .cloned(),
    );
    Catalog::new(zones)
}
