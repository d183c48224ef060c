//! Load balancers as alias targets, modelled on Elastic Load Balancing (docs/route53.md §4):
//! which availability zones' node addresses an alias answers with, and whether the load
//! balancer counts as healthy for Evaluate Target Health.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A load balancer as configured: its availability zones with their node addresses, and its
/// targets (each in one target group and one zone, with an optional health check).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    /// Its DNS name, lowercase wire form (`dualstack.` + this name reaches it too).
    pub name: Vec<u8>,
    pub cross_zone: bool,
    pub zones: Vec<AvailabilityZone>,
    pub target_groups: Vec<String>,
    pub targets: Vec<Target>,
}

impl LoadBalancer {
    /// The addresses an alias to it answers with, in zone order, from the zones in `serving`
    /// (bit i: zone i): IPv4 for A; IPv6 for AAAA, only through a `dualstack.` name (§4.1).
    /// `f` gets each address's octets and may stop the walk with an error.
    pub fn try_each_address<E>(
        &self,
        serving: u64,
        rtype: u16,
        dualstack: bool,
        mut f: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for (i, az) in self.zones.iter().enumerate() {
            if serving & (1 << (i % 64)) == 0 {
                continue;
            }
            match rtype {
                crate::wire::types::A => az.ipv4.iter().try_for_each(|a| f(&a.octets()))?,
                crate::wire::types::AAAA if dualstack => {
                    az.ipv6.iter().try_for_each(|a| f(&a.octets()))?
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AvailabilityZone {
    pub name: String,
    pub ipv4: Vec<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Addr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub group: usize,
    pub zone: usize,
    /// Index into the snapshot's health table; none: always healthy.
    pub health: Option<u32>,
}

/// What a load balancer offers right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Evaluate Target Health: every target group that has targets has a healthy one (§4.2:
    /// "a target group with no targets counts as unhealthy" — and so does a load balancer
    /// with no targets at all).
    pub healthy: bool,
    /// Bit i set: zone i's nodes are in the answer.
    pub serving: u64,
}

/// Time to live of load-balancer answers (ELB's 60 s, §4.1).
pub const TTL: u32 = 60;

/// The zones that can serve: those with a healthy target; with cross-zone load balancing,
/// every zone once any target is healthy. Nothing healthy: every zone (the nodes still
/// answer, as ELB does; the alias is then unhealthy for Evaluate Target Health).
pub fn state(lb: &LoadBalancer, healthy: impl Fn(Option<u32>) -> bool) -> State {
    let all: u64 = if lb.zones.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << lb.zones.len()) - 1
    };
    let mut zones_ok = 0u64;
    let mut groups_with_targets = 0u64;
    let mut groups_ok = 0u64;
    for t in &lb.targets {
        groups_with_targets |= 1 << (t.group % 64);
        if healthy(t.health) {
            zones_ok |= 1 << (t.zone % 64);
            groups_ok |= 1 << (t.group % 64);
        }
    }
    let lb_healthy = groups_with_targets != 0 && groups_ok == groups_with_targets;
    // Nothing healthy, or cross-zone balancing with something healthy: every zone serves.
    let serving = if zones_ok == 0 || lb.cross_zone {
        all
    } else {
        zones_ok
    };
    State {
        healthy: lb_healthy,
        serving,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(cross_zone: bool) -> LoadBalancer {
        LoadBalancer {
            name: b"\x02lb\x00".to_vec(),
            cross_zone,
            zones: vec![
                AvailabilityZone {
                    name: "a".into(),
                    ipv4: vec![Ipv4Addr::new(192, 0, 2, 1)],
                    ipv6: vec![],
                },
                AvailabilityZone {
                    name: "b".into(),
                    ipv4: vec![Ipv4Addr::new(192, 0, 2, 2)],
                    ipv6: vec![],
                },
            ],
            target_groups: vec!["web".into(), "api".into()],
            targets: vec![
                Target {
                    group: 0,
                    zone: 0,
                    health: Some(0),
                },
                Target {
                    group: 0,
                    zone: 1,
                    health: Some(1),
                },
                Target {
                    group: 1,
                    zone: 1,
                    health: Some(2),
                },
            ],
        }
    }

    fn with(health: [bool; 3]) -> impl Fn(Option<u32>) -> bool {
        move |h| h.is_none_or(|i| health[i as usize])
    }

    #[test]
    fn a_zone_without_a_healthy_target_drops_out() {
        let s = state(&lb(false), with([false, true, true]));
        assert_eq!(s.serving, 0b10);
        assert!(s.healthy);
    }

    #[test]
    fn cross_zone_keeps_every_zone_while_any_target_is_healthy() {
        let s = state(&lb(true), with([false, true, true]));
        assert_eq!(s.serving, 0b11);
    }

    #[test]
    fn unhealthy_when_a_target_group_has_no_healthy_target() {
        // "api" (only target 2) is down: the load balancer is unhealthy for ETH.
        let s = state(&lb(false), with([true, true, false]));
        assert!(!s.healthy);
        assert_eq!(s.serving, 0b11, "zones still have healthy web targets");
    }

    #[test]
    fn nothing_healthy_answers_every_zone_and_is_unhealthy() {
        let s = state(&lb(false), with([false, false, false]));
        assert_eq!((s.serving, s.healthy), (0b11, false));
    }

    #[test]
    fn no_targets_is_unhealthy() {
        let mut l = lb(false);
        l.targets.clear();
        assert!(!state(&l, with([true; 3])).healthy);
    }
}
