//! The generator of `geoip/policydns-test.mmdb`, and the layout it writes.
//!
//! The committed file is this code's output: `tests/geo_lookup.rs` includes this file, rebuilds
//! the database in memory and fails if the committed bytes differ, so the layout below (and
//! the table in `geoip/README.md`, checked by the same test) cannot drift from the file.
//! Rebuild the file after changing the layout with
//!
//! ```sh
//! cargo test --test geo_lookup write_test_mmdb -- --ignored
//! ```
//!
//! The writer is the `mmdb-writer` crate (a dev-dependency): pure Rust, so no toolchain beyond
//! cargo is needed, and its output is deterministic once the build time is pinned.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::Writer;
use serde::Serialize;

/// One network of the test database: what is written, and what `GeoDb::lookup` must report.
pub struct Net {
    pub network: &'static str,
    /// Written as `city.names.en`; also names the row in the README.
    pub place: &'static str,
    /// `continent.code` as written in the record.
    pub continent: Option<&'static str>,
    pub country: Option<&'static str>,
    /// `subdivisions[0].iso_code` as written.
    pub subdivision: Option<&'static str>,
    pub location: Option<(f64, f64)>,
    /// The continent `GeoFacts` reports: Route 53's for the country, else the written one.
    pub reported_continent: Option<&'static str>,
    /// The subdivision `GeoFacts` reports: US states only.
    pub reported_subdivision: Option<&'static str>,
}

const fn net(
    network: &'static str,
    place: &'static str,
    continent: Option<&'static str>,
    country: Option<&'static str>,
    subdivision: Option<&'static str>,
    location: Option<(f64, f64)>,
) -> Net {
    Net {
        network,
        place,
        continent,
        country,
        subdivision,
        location,
        reported_continent: continent,
        reported_subdivision: subdivision,
    }
}

/// Documentation prefixes only (RFC 5737, RFC 3849), so the file can never be mistaken for
/// data about real clients.
#[rustfmt::skip]
pub const LAYOUT: &[Net] = &[
    net("192.0.2.0/26", "Seattle", Some("NA"), Some("US"), Some("WA"), Some((47.6062, -122.3321))),
    net("192.0.2.64/26", "Portland", Some("NA"), Some("US"), Some("OR"), Some((45.5152, -122.6784))),
    // MaxMind's own placeholder location for "somewhere in the US".
    net("192.0.2.128/25", "United States, no state", Some("NA"), Some("US"), None, Some((37.751, -97.822))),
    net("198.51.100.0/25", "Frankfurt", Some("EU"), Some("DE"), None, Some((50.1109, 8.6821))),
    net("198.51.100.128/25", "Tokyo", Some("AS"), Some("JP"), None, Some((35.6895, 139.6917))),
    net("203.0.113.0/25", "São Paulo", Some("SA"), Some("BR"), None, Some((-23.5505, -46.6333))),
    net("203.0.113.128/26", "Sydney", Some("OC"), Some("AU"), None, Some((-33.8688, 151.2093))),
    net("203.0.113.192/26", "Johannesburg", Some("AF"), Some("ZA"), None, Some((-26.2041, 28.0473))),
    net("2001:db8:1::/48", "London", Some("EU"), Some("GB"), None, Some((51.5074, -0.1278))),
    net("2001:db8:2::/48", "San Francisco", Some("NA"), Some("US"), Some("CA"), Some((37.7749, -122.4194))),
    net("2001:db8:3::/48", "New York", Some("NA"), Some("US"), Some("NY"), Some((40.7128, -74.006))),
    net("2001:db8:4::/48", "Moscow", Some("EU"), Some("RU"), None, Some((55.7558, 37.6173))),
    // Written with Asia, as the UN geoscheme places Cyprus; Route 53's table says Europe.
    Net { reported_continent: Some("EU"), reported_subdivision: None,
          ..net("2001:db8:5::/48", "Nicosia", Some("AS"), Some("CY"), Some("01"), Some((35.1856, 33.3823))) },
    net("2001:db8:6::/48", "Tbilisi", Some("AS"), Some("GE"), None, Some((41.7151, 44.8271))),
    // A province is written but not reported: Route 53 routes on US states only.
    Net { reported_subdivision: None,
          ..net("2001:db8:7::/48", "Toronto", Some("NA"), Some("CA"), Some("ON"), Some((43.6532, -79.3832))) },
    // Known only to be in Europe, as some MaxMind networks are.
    net("2001:db8:8::/48", "Europe, no country", Some("EU"), None, None, None),
    // A Country-database record: no state, no location.
    net("2001:db8:9::/48", "United States, country only", Some("NA"), Some("US"), None, None),
    net("2001:db8:ff00::/40", "Osaka", Some("AS"), Some("JP"), None, Some((34.6937, 135.5023))),
];

/// Fixed so that rebuilding gives the same bytes (2026-01-01T00:00:00Z).
pub const BUILD_EPOCH: u64 = 1_767_225_600;

pub const DATABASE_TYPE: &str = "PolicyDNS-Test-City";

/// GeoIP2 City's record shape, with the fields `GeoDb` reads and a few it must skip
/// (`names`, `accuracy_radius`, `is_in_european_union`) so the test exercises skipping too.
#[derive(Serialize)]
struct CityRecord {
    city: Named,
    continent: Option<Continent>,
    country: Option<Country>,
    subdivisions: Option<Vec<Subdivision>>,
    location: Option<Location>,
}

#[derive(Serialize)]
struct Named {
    names: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct Continent {
    code: &'static str,
}

#[derive(Serialize)]
struct Country {
    iso_code: &'static str,
    is_in_european_union: Option<bool>,
}

#[derive(Serialize)]
struct Subdivision {
    iso_code: &'static str,
}

#[derive(Serialize)]
struct Location {
    accuracy_radius: u16,
    latitude: f64,
    longitude: f64,
}

fn record(net: &Net) -> CityRecord {
    CityRecord {
        city: Named {
            names: BTreeMap::from([("en", net.place)]),
        },
        continent: net.continent.map(|code| Continent { code }),
        country: net.country.map(|iso_code| Country {
            iso_code,
            is_in_european_union: (iso_code == "DE").then_some(true),
        }),
        subdivisions: net
            .subdivision
            .map(|iso_code| vec![Subdivision { iso_code }]),
        location: net.location.map(|(latitude, longitude)| Location {
            accuracy_radius: 20,
            latitude,
            longitude,
        }),
    }
}

/// The bytes of `geoip/policydns-test.mmdb`.
pub fn policydns_test_mmdb() -> Vec<u8> {
    let mut writer = Writer::builder(DATABASE_TYPE)
        .description(&[(
            "en",
            "policydns test data: documentation prefixes only (generated by geoip/generate.rs)",
        )])
        .build_epoch(UNIX_EPOCH + Duration::from_secs(BUILD_EPOCH))
        .build();
    for net in LAYOUT {
        let network: IpNet = net.network.parse().expect("LAYOUT networks parse");
        writer
            .insert(network, &record(net))
            .expect("LAYOUT records fit the MMDB format");
    }
    writer.to_bytes().expect("the test database is small")
}
