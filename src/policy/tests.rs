//! The routing rules of `docs/route53.md` as tables: each row a combination of health (and
//! client position), and the members that may answer.

use super::*;
use std::collections::BTreeSet;

struct NoLatency;
impl LatencyTable for NoLatency {
    fn cost(&self, _: &Client, _: u16) -> Option<f64> {
        None
    }
}

/// Region i costs `costs[i]`.
struct Costs(Vec<f64>);
impl LatencyTable for Costs {
    fn cost(&self, _: &Client, region: u16) -> Option<f64> {
        self.0.get(region as usize).copied()
    }
}

fn m(rule: Rule, healthy: bool) -> Member {
    Member { rule, healthy }
}

/// Every member index `select` returns over `n` draws.
fn seen(members: &[Member], client: &Client, n: usize) -> BTreeSet<u8> {
    let mut rng = Random::new(42);
    let mut out = BTreeSet::new();
    for _ in 0..n {
        out.extend(
            select(members, client, &NoLatency, &mut rng)
                .members()
                .iter()
                .copied(),
        );
    }
    out
}

fn set(v: &[u8]) -> BTreeSet<u8> {
    v.iter().copied().collect()
}

/// Pearson's chi-square statistic of observed counts against expected probabilities.
fn chi_square(observed: &[u64], expected_p: &[f64]) -> f64 {
    let n: u64 = observed.iter().sum();
    observed
        .iter()
        .zip(expected_p)
        .filter(|(_, p)| **p > 0.0)
        .map(|(&o, &p)| {
            let e = n as f64 * p;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

fn counts(members: &[Member], draws: usize, seed: u64) -> Vec<u64> {
    let mut rng = Random::new(seed);
    let mut c = vec![0u64; members.len()];
    for _ in 0..draws {
        for &i in select(members, &Client::default(), &NoLatency, &mut rng).members() {
            c[i as usize] += 1;
        }
    }
    c
}

#[test]
fn weighted_follows_route53_truth_table_with_a_zero_weight_record() {
    // R1, R2 weight 1; R3 weight 0. "None" for R3's health means it has no health check,
    // which counts as healthy (§2).
    let rows: [(bool, bool, Option<bool>, &[u8]); 8] = [
        (false, false, Some(true), &[2]),
        (false, false, Some(false), &[0, 1]),
        (false, true, Some(false), &[1]),
        (true, true, Some(false), &[0, 1]),
        (true, true, Some(true), &[0, 1]),
        (true, true, None, &[0, 1]),
        (false, false, None, &[2]),
        (false, true, None, &[1]),
    ];
    for (r1, r2, r3, want) in rows {
        let g = [
            m(Rule::Weighted(1), r1),
            m(Rule::Weighted(1), r2),
            m(Rule::Weighted(0), r3.unwrap_or(true)),
        ];
        assert_eq!(
            seen(&g, &Client::default(), 500),
            set(want),
            "R1 {r1} R2 {r2} R3 {r3:?}"
        );
    }
}

#[test]
fn weighted_draws_in_proportion_to_weight() {
    // 1 vs 255: 1/256 and 255/256 (§3.2). Chi-square, 1 degree of freedom, p = 0.001: 10.83.
    let g = [m(Rule::Weighted(1), true), m(Rule::Weighted(255), true)];
    let c = counts(&g, 100_000, 7);
    assert!(
        chi_square(&c, &[1.0 / 256.0, 255.0 / 256.0]) < 10.83,
        "{c:?}"
    );
}

#[test]
fn weighted_excludes_unhealthy_and_renormalises() {
    // 10/20/20 with the third unhealthy: 1/3 and 2/3 (§2 worked example).
    let g = [
        m(Rule::Weighted(10), true),
        m(Rule::Weighted(20), true),
        m(Rule::Weighted(20), false),
    ];
    let c = counts(&g, 30_000, 11);
    assert_eq!(c[2], 0);
    assert!(
        chi_square(&c[..2], &[1.0 / 3.0, 2.0 / 3.0]) < 10.83,
        "{c:?}"
    );
}

#[test]
fn all_zero_weights_are_drawn_uniformly() {
    // Chi-square, 2 degrees of freedom, p = 0.001: 13.82.
    let g = [
        m(Rule::Weighted(0), true),
        m(Rule::Weighted(0), true),
        m(Rule::Weighted(0), true),
    ];
    let c = counts(&g, 30_000, 13);
    assert!(chi_square(&c, &[1.0 / 3.0; 3]) < 13.82, "{c:?}");
}

#[test]
fn weighted_answers_are_not_location_dependent() {
    let g = [m(Rule::Weighted(1), true)];
    let s = select(
        &g,
        &Client {
            source_prefix: 24,
            ..Client::default()
        },
        &NoLatency,
        &mut Random::new(1),
    );
    assert_eq!(s.scope, 0);
}

#[test]
fn failover_follows_route53_table() {
    use FailoverRole::*;
    let rows = [
        (true, true, 0, Reason::PrimaryHealthy),
        (true, false, 0, Reason::PrimaryHealthy),
        (false, true, 1, Reason::SecondaryBecausePrimaryUnhealthy),
        (false, false, 0, Reason::PrimaryBecauseBothUnhealthy),
    ];
    for (p, s, want, reason) in rows {
        let g = [
            m(Rule::Failover(Primary), p),
            m(Rule::Failover(Secondary), s),
        ];
        let sel = select(&g, &Client::default(), &NoLatency, &mut Random::new(1));
        assert_eq!(sel.members(), &[want], "primary {p} secondary {s}");
        assert_eq!(sel.reason, reason);
    }
}

#[test]
fn multivalue_returns_every_healthy_member_up_to_eight() {
    let mut g: Vec<Member> = (0..6).map(|_| m(Rule::Multivalue, true)).collect();
    g[2].healthy = false;
    let s = select(&g, &Client::default(), &NoLatency, &mut Random::new(3));
    assert_eq!(set(s.members()), set(&[0, 1, 3, 4, 5]));
}

#[test]
fn multivalue_over_eight_healthy_gives_a_random_eight() {
    let g: Vec<Member> = (0..12).map(|_| m(Rule::Multivalue, true)).collect();
    let mut rng = Random::new(5);
    let mut c = [0u64; 12];
    for _ in 0..12_000 {
        let s = select(&g, &Client::default(), &NoLatency, &mut rng);
        assert_eq!(set(s.members()).len(), 8, "eight distinct members");
        for &i in s.members() {
            c[i as usize] += 1;
        }
    }
    // Each member is in 8/12 of the answers; chi-square over 12 cells, 11 df, p = 0.001: 31.26.
    assert!(chi_square(&c, &[1.0 / 12.0; 12]) < 31.26, "{c:?}");
}

#[test]
fn multivalue_all_unhealthy_returns_up_to_eight_anyway() {
    let g: Vec<Member> = (0..10).map(|_| m(Rule::Multivalue, false)).collect();
    let s = select(&g, &Client::default(), &NoLatency, &mut Random::new(9));
    assert_eq!(s.members().len(), 8);
    assert_eq!(s.reason, Reason::MultivalueAllUnhealthy);
}

fn located(
    country: &[u8; 2],
    continent: &[u8; 2],
    sub: Option<&[u8; 3]>,
    prefix_len: u8,
) -> Client {
    Client {
        source_prefix: 24,
        geo: Some(Location {
            continent: Some(*continent),
            country: Some(*country),
            subdivision: sub.copied(),
            coordinates: None,
            prefix_len,
        }),
        cidr: None,
    }
}

fn geo_group(health: [bool; 4]) -> [Member; 4] {
    [
        m(
            Rule::Geolocation(GeoKey::Subdivision(*b"US", *b"WA\0")),
            health[0],
        ),
        m(Rule::Geolocation(GeoKey::Country(*b"US")), health[1]),
        m(Rule::Geolocation(GeoKey::Continent(*b"NA")), health[2]),
        m(Rule::Geolocation(GeoKey::Default), health[3]),
    ]
}

#[test]
fn geolocation_prefers_the_smallest_region_and_walks_up_on_failure() {
    let wa = located(b"US", b"NA", Some(b"WA\0"), 26);
    let rows = [
        ([true, true, true, true], 0),
        ([false, true, true, true], 1),
        ([false, false, true, true], 2),
        ([false, false, false, true], 3),
        // Nothing healthy: the smallest applicable region (§3.5).
        ([false, false, false, false], 0),
    ];
    for (health, want) in rows {
        let s = select(&geo_group(health), &wa, &NoLatency, &mut Random::new(1));
        assert_eq!(s.members(), &[want], "{health:?}");
    }
}

#[test]
fn geolocation_scope_is_the_database_network_within_the_source_prefix() {
    let s = select(
        &geo_group([true; 4]),
        &located(b"US", b"NA", Some(b"WA\0"), 26),
        &NoLatency,
        &mut Random::new(1),
    );
    assert_eq!(s.scope, 24, "never longer than the source prefix");
    let s = select(
        &geo_group([true; 4]),
        &located(b"US", b"NA", None, 16),
        &NoLatency,
        &mut Random::new(1),
    );
    assert_eq!((s.members(), s.scope), (&[1u8][..], 16));
}

#[test]
fn geolocation_unknown_address_gets_the_default() {
    let s = select(
        &geo_group([true; 4]),
        &Client {
            source_prefix: 32,
            ..Client::default()
        },
        &NoLatency,
        &mut Random::new(1),
    );
    assert_eq!(s.members(), &[3]);
}

#[test]
fn geolocation_without_match_or_default_is_nodata() {
    let g = [m(Rule::Geolocation(GeoKey::Country(*b"DE")), true)];
    let s = select(
        &g,
        &located(b"JP", b"AS", None, 24),
        &NoLatency,
        &mut Random::new(1),
    );
    assert!(s.members().is_empty());
    assert_eq!(s.reason, Reason::GeoNoMatch);
}

#[test]
fn latency_picks_the_lowest_healthy_region_then_falls_back() {
    let g = [
        m(Rule::Latency(0), true),
        m(Rule::Latency(1), true),
        m(Rule::Latency(2), true),
    ];
    let costs = Costs(vec![80.0, 20.0, 50.0]);
    let client = Client {
        source_prefix: 24,
        ..Client::default()
    };
    let pick = |g: &[Member]| {
        select(g, &client, &costs, &mut Random::new(1))
            .members()
            .to_vec()
    };
    assert_eq!(pick(&g), vec![1]);
    let mut down = g;
    down[1].healthy = false;
    assert_eq!(pick(&down), vec![2], "next-lowest latency");
    for x in down.iter_mut() {
        x.healthy = false;
    }
    assert_eq!(pick(&down), vec![1], "all unhealthy: lowest latency");
}

#[test]
fn geoproximity_bias_can_change_the_winner() {
    // A client in Seattle; resources in Portland (~230 km) and San Francisco (~1090 km).
    let client = Client {
        source_prefix: 24,
        geo: Some(Location {
            coordinates: Some((47.61, -122.33)),
            prefix_len: 24,
            ..Location::default()
        }),
        cidr: None,
    };
    let group = |bias_sf: i8| {
        [
            m(
                Rule::Geoproximity {
                    lat: 45.52,
                    lon: -122.68,
                    bias: 0,
                },
                true,
            ),
            m(
                Rule::Geoproximity {
                    lat: 37.77,
                    lon: -122.42,
                    bias: bias_sf,
                },
                true,
            ),
        ]
    };
    assert_eq!(
        select(&group(0), &client, &NoLatency, &mut Random::new(1)).members(),
        &[0]
    );
    assert_eq!(
        select(&group(90), &client, &NoLatency, &mut Random::new(1)).members(),
        &[1]
    );
}

#[test]
fn ip_based_matches_location_then_default() {
    let g = [
        m(Rule::IpBased(Some(0)), true),
        m(Rule::IpBased(Some(1)), true),
        m(Rule::IpBased(None), true),
    ];
    let from = |cidr| Client {
        source_prefix: 24,
        geo: None,
        cidr,
    };
    let pick = |g: &[Member], c| {
        let s = select(g, &from(c), &NoLatency, &mut Random::new(1));
        (s.members().to_vec(), s.scope)
    };
    assert_eq!(pick(&g, Some((1, 20))), (vec![1], 20));
    assert_eq!(pick(&g, None), (vec![2], 24), "no block matched: default");
    let mut down = g;
    down[1].healthy = false;
    assert_eq!(
        pick(&down, Some((1, 20))).0,
        vec![2],
        "unhealthy location: default"
    );
    down[2].healthy = false;
    assert_eq!(
        pick(&down, Some((1, 20))).0,
        vec![1],
        "all unhealthy: the matched location"
    );
    let no_default = [m(Rule::IpBased(Some(0)), true)];
    assert!(
        pick(&no_default, None).0.is_empty(),
        "no match and no default: NODATA"
    );
}

#[test]
fn random_is_reproducible_for_a_seed() {
    let (mut a, mut b) = (Random::new(99), Random::new(99));
    assert_eq!(
        (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
        (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
    );
}
