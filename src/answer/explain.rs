//! Why a name answers what it answers: Route 53's TestDNSAnswer, with the reasons. The same
//! lookup and policy code as the answer path runs once, and every step is written down: the
//! zone and node, the group and each candidate with its rule and health, where the client was
//! placed, which rule picked, and the records that come out.

use std::fmt::Write as _;
use std::net::IpAddr;

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

use super::lookup::{lookup, Found};
use super::select::{ClientFacts, Selector};
use crate::policy::{self, regions, GeoKey, Rule};
use crate::snapshot::Snapshot;
use crate::wire::packet::ClientSubnet;
use crate::wire::{name, types};
use crate::zone::{Group, LoadBalancerAlias, MemberAnswer, RrSet, Zone};

/// Explains the answer to `qname` `qtype` for a client at `client`, optionally with an EDNS
/// Client Subnet of `ecs` (address, source prefix).
pub fn explain(
    snap: &Snapshot,
    qname: &str,
    qtype: u16,
    client: IpAddr,
    ecs: Option<(IpAddr, u8)>,
) -> String {
    let mut out = String::new();
    let Ok(wire) = name::from_text(
        if qname.ends_with('.') {
            qname.to_string()
        } else {
            format!("{qname}.")
        }
        .as_str(),
        None,
    ) else {
        return format!("{qname}: not a domain name\n");
    };
    let lower = name::to_lowercase(&wire);
    let _ = writeln!(
        out,
        "query      {} {} from {client}",
        name::to_text(&wire),
        types::mnemonic(qtype)
    );
    let ecs_opt = ecs.map(|(addr, prefix)| {
        let (family, bytes) = match addr {
            IpAddr::V4(a) => (1u16, a.octets().to_vec()),
            IpAddr::V6(a) => (2, a.octets().to_vec()),
        };
        let mut a = [0u8; 16];
        a[..bytes.len()].copy_from_slice(&bytes);
        ClientSubnet {
            family,
            source_prefix: prefix,
            scope_prefix: 0,
            addr: a,
        }
    });
    if let Some((addr, prefix)) = ecs {
        let _ = writeln!(out, "ECS        {addr}/{prefix}");
    }
    // The view is chosen by the client's own address, never by ECS (docs/views.md).
    let view = snap.views.place(Some(client));
    if !snap.views.is_empty() {
        match snap.views.name(view) {
            Some(v) => {
                let _ = writeln!(
                    out,
                    "view       {v} (the first view whose match_clients holds {client})"
                );
            }
            None => {
                let _ = writeln!(out, "view       none holds {client}: shared zones only");
            }
        }
    }
    let Some(zone) = snap.catalog_in(view).find_zone(&lower) else {
        let _ = writeln!(out, "zone       none of ours: REFUSED");
        return out;
    };
    let _ = writeln!(out, "zone       {}", zone.origin_text());
    let mut ctx = Selector::new(snap, Some(client), ecs_opt);
    match lookup(zone, &lower, qtype) {
        Found::NxDomain => {
            let _ = writeln!(out, "lookup     no such name: NXDOMAIN");
        }
        Found::Referral(cut) => {
            let _ = writeln!(
                out,
                "lookup     below the delegation at {}: referral",
                name::to_text(zone.name(zone.node(cut)))
            );
        }
        Found::Dname(d) => {
            let _ = writeln!(
                out,
                "lookup     renamed by the DNAME at {}",
                name::to_text(zone.name(zone.node(d)))
            );
        }
        Found::Node(id) => {
            let node = zone.node(id);
            let owner = zone.name(node);
            if owner != lower.as_slice() {
                let _ = writeln!(
                    out,
                    "lookup     matched the wildcard {}",
                    name::to_text(owner)
                );
            }
            match zone
                .rrset(node, qtype)
                .or_else(|| zone.rrset(node, types::CNAME))
            {
                None => {
                    let _ = writeln!(
                        out,
                        "lookup     the name has no {} records: NODATA",
                        types::mnemonic(qtype)
                    );
                }
                Some(set) => explain_set(&mut out, zone, set, &mut ctx, 0),
            }
        }
    }
    if ecs.is_some() {
        let _ = writeln!(
            out,
            "scope      /{} (ECS scope prefix in the response)",
            ctx.scope
        );
    }
    out
}

fn explain_set<'a>(
    out: &mut String,
    zone: &'a Zone,
    set: &'a RrSet,
    ctx: &mut Selector<'a>,
    depth: u8,
) {
    let pad = "  ".repeat(depth as usize);
    let Some(g) = set.group() else {
        let _ = writeln!(out, "{pad}answer     zone-file records (no routing policy)");
        records(out, zone, set, &pad);
        return;
    };
    let group = &zone.groups[g];
    if depth == 0 {
        let ClientFacts {
            addr,
            client: facts,
        } = ctx.facts(true);
        let _ = writeln!(
            out,
            "client     {addr} (source prefix /{})",
            facts.source_prefix
        );
        match facts.geo {
            Some(geo) => {
                let code = |c: Option<[u8; 2]>| {
                    c.map_or("-".to_string(), |c| {
                        String::from_utf8_lossy(&c).into_owned()
                    })
                };
                let _ = writeln!(
                    out,
                    "location   continent {} country {} subdivision {} coordinates {} (GeoIP network /{})",
                    code(geo.continent),
                    code(geo.country),
                    geo.subdivision.map_or("-".to_string(), |s| String::from_utf8_lossy(&s).trim_end_matches('\0').to_string()),
                    geo.coordinates.map_or("-".to_string(), |(a, b)| format!("{a:.2},{b:.2}")),
                    geo.prefix_len
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "location   unknown{}",
                    if ctx.snap.inputs.geo.is_none() {
                        " (no GeoIP database)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "{pad}group      {} record sets, {}",
        group.rules.len(),
        kind(group)
    );
    let mut healthy_members = Vec::with_capacity(group.rules.len());
    for i in 0..group.rules.len() {
        let healthy = ctx.member_healthy(zone, group, i, set.rtype, depth);
        healthy_members.push(healthy);
        let check = match group.health[i] {
            Some(h) => format!("health check #{h}"),
            None => "no health check".to_string(),
        };
        let target = match group.answers[i] {
            MemberAnswer::Alias {
                node: t,
                evaluate_target_health: eth,
            } => format!(
                ", alias to {}{}",
                name::to_text(zone.name(zone.node(t))),
                if eth { " (evaluate target health)" } else { "" }
            ),
            MemberAnswer::LoadBalancer(LoadBalancerAlias {
                index: lb,
                dualstack,
                evaluate_target_health: eth,
            }) => match ctx.load_balancer(lb) {
                Some((l, st)) => format!(
                    ", alias to load balancer {}{}{}: zones {}; {}",
                    if dualstack { "dualstack." } else { "" },
                    name::to_text(&l.name),
                    if eth { " (evaluate target health)" } else { "" },
                    l.zones
                        .iter()
                        .enumerate()
                        .map(|(z, az)| format!(
                            "{} ({}) {}",
                            az.name,
                            az.ipv4
                                .iter()
                                .map(ToString::to_string)
                                .chain(az.ipv6.iter().map(ToString::to_string))
                                .collect::<Vec<_>>()
                                .join(" "),
                            if st.serving & (1 << (z % 64)) != 0 {
                                "serving"
                            } else {
                                "out"
                            }
                        ))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if l.target_groups.is_empty() {
                        "no target groups: every zone's nodes answer"
                    } else if st.healthy {
                        "healthy"
                    } else {
                        "no healthy target in some target group"
                    }
                ),
                None => String::new(),
            },
            MemberAnswer::Records => String::new(),
        };
        let _ = writeln!(
            out,
            "{pad}  [{i}] {:<16} {:<28} {} ({check}){target}",
            group.ids[i],
            rule_text(&group.rules[i]),
            if healthy { "healthy" } else { "UNHEALTHY" }
        );
    }
    if let Some(Rule::Weighted(_)) = group.rules.first() {
        for line in weighted_chances(group, &healthy_members) {
            let _ = writeln!(out, "{pad}{line}");
        }
    }
    let sel = ctx.choose(zone, group, set.rtype, depth);
    let reason = match sel.reason {
        policy::Reason::GeoMatch(k) => format!("GeoMatch({})", rule_text(&Rule::Geolocation(k))),
        policy::Reason::GeoAllUnhealthy(k) => {
            format!("GeoAllUnhealthy({})", rule_text(&Rule::Geolocation(k)))
        }
        r => format!("{r:?}"),
    };
    let draw = if matches!(group.rules.first(), Some(Rule::Weighted(_))) {
        " (this query's draw)"
    } else {
        ""
    };
    let _ = writeln!(out, "{pad}decision   {reason} → {:?}{draw}", sel.members());
    if sel.members().is_empty() {
        let _ = writeln!(out, "{pad}answer     nothing for this client: NODATA");
    }
    for &i in sel.members() {
        let i = i as usize;
        match group.answers[i] {
            MemberAnswer::Alias { node: t, .. } => {
                let _ = writeln!(
                    out,
                    "{pad}follow     [{i}] → {}",
                    name::to_text(zone.name(zone.node(t)))
                );
                if let Some(tset) = zone.rrset(zone.node(t), set.rtype) {
                    explain_set(out, zone, tset, ctx, depth + 1);
                }
            }
            _ => {
                let _ = writeln!(out, "{pad}answer     [{i}] {}", group.ids[i]);
                records(out, zone, &group.sets[i], &pad);
            }
        }
    }
}

/// Each weighted member's chance of being the answer (Route 53 picks among the healthy
/// members by weight; when none is healthy, among all; all-zero weights share equally).
fn weighted_chances(group: &Group, healthy: &[bool]) -> Vec<String> {
    let weight = |i: usize| match group.rules[i] {
        Rule::Weighted(w) => w as u64,
        _ => 0,
    };
    let any_healthy = healthy.iter().any(|h| *h);
    let candidates: Vec<usize> = (0..group.rules.len())
        .filter(|&i| healthy[i] || !any_healthy)
        .collect();
    let total: u64 = candidates.iter().map(|&i| weight(i)).sum();
    (0..group.rules.len())
        .map(|i| {
            let share = if !candidates.contains(&i) {
                0.0
            } else if total == 0 {
                100.0 / candidates.len() as f64
            } else {
                100.0 * weight(i) as f64 / total as f64
            };
            format!("chance     [{i}] {:<16} {share:.1}%", group.ids[i])
        })
        .collect()
}

/// The group's routing policy in words ("weighted", "failover", ...).
pub fn kind(group: &Group) -> &'static str {
    match group.rules.first() {
        Some(Rule::Simple) => "simple",
        Some(Rule::Weighted(_)) => "weighted",
        Some(Rule::Failover(_)) => "failover",
        Some(Rule::Geolocation(_)) => "geolocation",
        Some(Rule::Latency(_)) => "latency",
        Some(Rule::Geoproximity { .. }) => "geoproximity",
        Some(Rule::IpBased(_)) => "IP-based",
        Some(Rule::Multivalue) => "multivalue",
        None => "empty",
    }
}

/// A member's rule in words ("weight 3", "PRIMARY", "continent EU", ...).
pub fn rule_text(rule: &Rule) -> String {
    let code = |c: &[u8]| {
        String::from_utf8_lossy(c)
            .trim_end_matches('\0')
            .to_string()
    };
    match rule {
        Rule::Simple => "simple".into(),
        Rule::Weighted(w) => format!("weight {w}"),
        Rule::Failover(policy::FailoverRole::Primary) => "PRIMARY".into(),
        Rule::Failover(policy::FailoverRole::Secondary) => "SECONDARY".into(),
        Rule::Geolocation(GeoKey::Continent(c)) => format!("continent {}", code(c)),
        Rule::Geolocation(GeoKey::Country(c)) => format!("country {}", code(c)),
        Rule::Geolocation(GeoKey::Subdivision(c, s)) => {
            format!("subdivision {}-{}", code(c), code(s))
        }
        Rule::Geolocation(GeoKey::Default) => "default location *".into(),
        Rule::Latency(r) => format!("region {}", regions::code(*r)),
        Rule::Geoproximity { lat, lon, bias } => format!("at {lat:.2},{lon:.2} bias {bias}"),
        Rule::IpBased(Some(l)) => format!("CIDR location #{l}"),
        Rule::IpBased(None) => "CIDR default *".into(),
        Rule::Multivalue => "multivalue".into(),
    }
}

/// TXT-like RDATA as quoted character-strings (`"a b" "\"q\""`); None when malformed.
fn char_strings(mut rd: &[u8]) -> Option<String> {
    let mut out = Vec::new();
    while let Some((&n, rest)) = rd.split_first() {
        let s = rest.get(..n as usize)?;
        let mut t = String::from("\"");
        for &b in s {
            match b {
                b'"' | b'\\' => {
                    t.push('\\');
                    t.push(b as char);
                }
                0x20..=0x7E => t.push(b as char),
                _ => t.push_str(&format!("\\{b:03}")),
            }
        }
        t.push('"');
        out.push(t);
        rd = &rest[n as usize..];
    }
    Some(out.join(" "))
}

/// Types whose RDATA hickory-proto prints in the usual presentation form.
fn hickory_renders(rtype: u16) -> bool {
    use types::*;
    matches!(
        rtype,
        A | AAAA
            | NS
            | CNAME
            | PTR
            | DNAME
            | MX
            | SOA
            | SRV
            | NAPTR
            | CAA
            | SSHFP
            | TLSA
            | DS
            | CDS
    )
}

/// The records of a set in presentation form.
/// RDATA in presentation form: hickory-proto's where it is the standard one, then ours
/// (`zone::rdata::presentation`); RFC 3597 `\#` for the rest (hickory-proto prints SVCB
/// parameters with stray commas and unknown types in base64).
pub fn rdata_text(rtype: u16, rd: &[u8]) -> String {
    let mut d = BinDecoder::new(rd);
    let decoded = if hickory_renders(rtype) {
        RData::read(
            &mut d,
            RecordType::from(rtype),
            Restrict::new(rd.len() as u16),
        )
        .ok()
    } else {
        None
    };
    let strings = matches!(rtype, types::TXT | types::SPF | types::HINFO);
    decoded
        .map(|r| r.to_string())
        .or_else(|| crate::zone::rdata::presentation(rtype, rd))
        .or_else(|| strings.then(|| char_strings(rd)).flatten())
        .unwrap_or_else(|| {
            format!(
                "\\# {} {}",
                rd.len(),
                rd.iter().map(|b| format!("{b:02X}")).collect::<String>()
            )
        })
}

fn records(out: &mut String, zone: &Zone, set: &RrSet, pad: &str) {
    for rd in zone.rdatas(set) {
        let text = rdata_text(set.rtype, rd);
        let _ = writeln!(
            out,
            "{pad}           {} {} {}",
            set.ttl,
            types::mnemonic(set.rtype),
            text
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_rdata_prints_as_quoted_strings() {
        assert_eq!(
            char_strings(b"\x03a b\x03\"q\\\x01\x07").as_deref(),
            Some("\"a b\" \"\\\"q\\\\\" \"\\007\"")
        );
        assert_eq!(char_strings(b"\x05ab"), None);
    }

    #[test]
    fn only_types_hickory_prints_in_standard_form_go_through_it() {
        assert!(hickory_renders(types::MX));
        assert!(!hickory_renders(types::SVCB));
        assert!(!hickory_renders(types::LOC));
        assert!(!hickory_renders(types::TXT));
    }
}
