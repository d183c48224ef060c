//! `policydns::geo` against databases the project writes itself: the committed
//! `geoip/policydns-test.mmdb` (GeoIP2 City schema, layout in `geoip/generate.rs` and
//! `geoip/README.md`) and, built here in memory, databases in the flat DB-IP / ip-location-db
//! schema and with odd field shapes.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{IpVersion, Value, Writer};
use policydns::geo::{continent_of, GeoDb, GeoError, GeoFacts};

#[path = "../geoip/generate.rs"]
mod generate;

// ------------------------------------------------------------------------------------------
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in;

// ------------------------------------------------------------------------------------------

fn test_db_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/policydns-test.mmdb")
}

fn db() -> &'static GeoDb {
    static DB: OnceLock<GeoDb> = OnceLock::new();
    DB.get_or_init(|| GeoDb::open(&test_db_path()).expect("geoip/policydns-test.mmdb opens"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn code(s: Option<&str>) -> Option<[u8; 2]> {
    s.map(|s| s.as_bytes().try_into().expect("two-letter code"))
}

/// Facts as text, so a failing comparison prints "US" rather than [85, 83].
fn show(f: &Option<GeoFacts>) -> String {
    match f {
        None => "None".into(),
        Some(f) => {
            let c = |c: Option<[u8; 2]>| {
                c.map_or("-".into(), |c| String::from_utf8_lossy(&c).into_owned())
            };
            format!(
                "continent={} country={} subdivision={} location={:?} prefix_len={}",
                c(f.continent),
                c(f.country),
                f.subdivision.as_deref().unwrap_or("-"),
                f.location,
                f.prefix_len
            )
        }
    }
}

fn assert_facts(got: Option<GeoFacts>, want: Option<GeoFacts>, what: &str) {
    assert!(
        got == want,
        "{what}:\n  got  {}\n  want {}",
        show(&got),
        show(&want)
    );
}

fn expected(net: &generate::Net) -> GeoFacts {
    let network: IpNet = net.network.parse().unwrap();
    GeoFacts {
        continent: code(net.reported_continent),
        country: code(net.country),
        subdivision: net
            .reported_subdivision
            .and_then(policydns::geo::Subdivision::new),
        location: net.location,
        prefix_len: network.prefix_len(),
    }
}

// ------------------------------------------------------------------------------------------
// The committed file and its generator.

#[test]
fn committed_test_mmdb_is_the_generators_output() {
    let committed = std::fs::read(test_db_path()).expect("geoip/policydns-test.mmdb exists");
    let generated = generate::policydns_test_mmdb();
    assert!(
        committed == generated,
        "geoip/policydns-test.mmdb differs from what geoip/generate.rs writes ({} vs {} bytes); \
         rebuild it with: cargo test --test geo_lookup write_test_mmdb -- --ignored",
        committed.len(),
        generated.len()
    );
}

#[test]
fn generator_is_deterministic() {
    // Two writers in one process hash with different seeds: equal output means the writer's
    // hash maps do not leak into the bytes.
    assert!(generate::policydns_test_mmdb() == generate::policydns_test_mmdb());
}

/// Not a test: the documented command that rebuilds the committed file.
#[test]
#[ignore = "writes geoip/policydns-test.mmdb; run by hand after changing geoip/generate.rs"]
fn write_test_mmdb() {
    let path = test_db_path();
    std::fs::write(&path, generate::policydns_test_mmdb()).unwrap();
    println!("wrote {}", path.display());
}

#[test]
fn readme_documents_the_layout() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/README.md"))
            .unwrap();
    let cell = |s: Option<&str>| s.unwrap_or("–").to_owned();
    for net in generate::LAYOUT {
        let location = net
            .location
            .map_or("–".into(), |(lat, lon)| format!("{lat}, {lon}"));
        let row = format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            net.network,
            net.place,
            cell(net.continent),
            cell(net.country),
            cell(net.subdivision),
            location,
            cell(net.reported_continent),
            cell(net.reported_subdivision),
        );
        assert!(
            readme.contains(&row),
            "geoip/README.md lacks the row\n{row}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Lookups in the GeoIP2-schema test database.

#[test]
fn metadata() {
    assert_eq!(db().database_type(), generate::DATABASE_TYPE);
    assert_eq!(db().build_epoch(), generate::BUILD_EPOCH);
}

#[test]
fn every_network_gives_its_facts() {
    for net in generate::LAYOUT {
        let network: IpNet = net.network.parse().unwrap();
        let (first, last) = (network.network(), network.broadcast());
        for addr in [first, last] {
            assert_facts(
                db().lookup(addr),
                Some(expected(net)),
                &format!("{addr} in {}", net.network),
            );
        }
    }
}

#[test]
fn documented_examples() {
    // Spelled out rather than derived from LAYOUT, so a wrong LAYOUT cannot pass by itself.
    let f = db().lookup(ip("192.0.2.10")).unwrap();
    assert_eq!(f.continent, Some(*b"NA"));
    assert_eq!(f.country, Some(*b"US"));
    assert_eq!(f.subdivision.as_deref(), Some("WA"));
    assert_eq!(f.location, Some((47.6062, -122.3321)));
    assert_eq!(f.prefix_len, 26);

    let f = db().lookup(ip("192.0.2.200")).unwrap();
    assert_eq!(
        (f.country, f.subdivision.as_deref(), f.prefix_len),
        (Some(*b"US"), None, 25)
    );

    let f = db().lookup(ip("198.51.100.1")).unwrap();
    assert_eq!((f.continent, f.country), (Some(*b"EU"), Some(*b"DE")));
    let f = db().lookup(ip("203.0.113.130")).unwrap();
    assert_eq!((f.continent, f.country), (Some(*b"OC"), Some(*b"AU")));
    let f = db().lookup(ip("203.0.113.255")).unwrap();
    assert_eq!((f.continent, f.country), (Some(*b"AF"), Some(*b"ZA")));

    let f = db().lookup(ip("2001:db8:2:abcd::1")).unwrap();
    assert_eq!(
        (f.country, f.subdivision.as_deref(), f.prefix_len),
        (Some(*b"US"), Some("CA"), 48)
    );
    let f = db().lookup(ip("2001:db8:ff12::1")).unwrap();
    assert_eq!((f.country, f.prefix_len), (Some(*b"JP"), 40));
}

#[test]
fn route53_continent_wins_over_the_databases() {
    // The file says Asia for Cyprus; Route 53 routes Cyprus with Europe.
    let f = db().lookup(ip("2001:db8:5::1")).unwrap();
    assert_eq!((f.country, f.continent), (Some(*b"CY"), Some(*b"EU")));
    // No country: the database's continent is all there is.
    let f = db().lookup(ip("2001:db8:8::1")).unwrap();
    assert_eq!(
        (f.country, f.continent, f.location),
        (None, Some(*b"EU"), None)
    );
}

#[test]
fn subdivisions_outside_the_us_are_not_reported() {
    let f = db().lookup(ip("2001:db8:7::1")).unwrap();
    assert_eq!((f.country, f.subdivision), (Some(*b"CA"), None));
}

#[test]
fn addresses_outside_every_network() {
    for a in [
        "192.0.1.255",
        "192.0.3.0",
        "198.51.101.0",
        "203.0.112.255",
        "8.8.8.8",
        "10.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8::1",
        "2001:db8:a::1",
        "2001:db8:feff:ffff::1",
        "2001:db9::1",
        "::1",
        "::",
        "ffff::1",
    ] {
        assert_facts(db().lookup(ip(a)), None, a);
    }
}

#[test]
fn ipv4_arriving_as_ipv6() {
    // Mapped: the IPv4 network and its IPv4 prefix.
    let v4 = db().lookup(ip("192.0.2.1"));
    assert_facts(
        db().lookup(ip("::ffff:192.0.2.1")),
        v4.clone(),
        "::ffff:192.0.2.1",
    );
    assert_eq!(v4.unwrap().prefix_len, 26);
    // 6to4 reaches the IPv4 data through the database's own alias, and is an IPv6 client:
    // 2002::/16 followed by the /26 → /42.
    let f = db().lookup(ip("2002:c000:0201::1")).unwrap();
    assert_eq!((f.subdivision.as_deref(), f.prefix_len), (Some("WA"), 42));
}

#[test]
fn lookups_allocate_only_for_a_us_state() {
    let db = db();
    db.lookup(ip("198.51.100.1")); // warm up anything lazily initialised
    for a in [
        "198.51.100.1",
        "203.0.113.1",
        "192.0.2.129",
        "2001:db8:1::1",
        "2001:db8:5::1",
        "8.8.8.8",
        "::ffff:198.51.100.1",
    ] {
        let (_, n) = allocations_in(|| db.lookup(ip(a)));
        assert_eq!(n, 0, "{a}");
    }
    // The subdivision is kept inline: no allocation either.
    let (f, n) = allocations_in(|| db.lookup(ip("192.0.2.1")));
    assert_eq!((f.unwrap().subdivision.as_deref(), n), (Some("WA"), 0));
}

// ------------------------------------------------------------------------------------------
// The flat schema (DB-IP lite, sapics/ip-location-db), built in memory.

fn flat_db() -> GeoDb {
    let mut w = Writer::builder("DBIP-City-Lite-shaped")
        .ip_version(IpVersion::V4)
        .build_epoch(std::time::UNIX_EPOCH)
        .build();
    let mut put = |net: &str, fields: &[(&str, Value)]| {
        w.insert_value(
            net.parse::<IpNet>().unwrap(),
            Value::map(fields.iter().cloned()),
        )
        .unwrap();
    };
    // DB-IP: state names, coordinates as floats.
    put(
        "192.0.2.0/25",
        &[
            ("city", "Seattle".into()),
            ("country_code", "US".into()),
            ("state1", "Washington".into()),
            ("state2", "King County".into()),
            ("latitude", Value::Float(47.6062)),
            ("longitude", Value::Float(-122.3321)),
            ("postcode", "98101".into()),
            ("timezone", "America/Los_Angeles".into()),
        ],
    );
    put(
        "192.0.2.128/25",
        &[
            ("country_code", "US".into()),
            ("state1", "District of Columbia".into()),
            ("latitude", Value::Double(38.9072)),
            ("longitude", Value::Double(-77.0369)),
        ],
    );
    // A code rather than a name in state1.
    put(
        "198.51.100.0/24",
        &[("country_code", "US".into()), ("state1", "or".into())],
    );
    // Outside the US the state name is not turned into a code.
    put(
        "203.0.113.0/25",
        &[
            ("country_code", "DE".into()),
            ("state1", "Bavaria".into()),
            ("latitude", Value::Float(48.1351)),
            ("longitude", Value::Float(11.582)),
        ],
    );
    // geo-whois-asn-country: the country and nothing else; Route 53 puts Turkey in Asia.
    put("203.0.113.128/25", &[("country_code", "TR".into())]);
    GeoDb::from_bytes(w.to_bytes().unwrap()).unwrap()
}

#[test]
fn flat_schema() {
    let db = flat_db();
    let f = db.lookup(ip("192.0.2.1")).unwrap();
    assert_eq!(
        (f.continent, f.country, f.subdivision.as_deref()),
        (Some(*b"NA"), Some(*b"US"), Some("WA"))
    );
    let (lat, lon) = f.location.unwrap();
    // Written as 32-bit floats.
    assert!(
        (lat - 47.6062).abs() < 1e-4 && (lon + 122.3321).abs() < 1e-4,
        "{lat}, {lon}"
    );
    assert_eq!(f.prefix_len, 25);

    let f = db.lookup(ip("192.0.2.200")).unwrap();
    assert_eq!(
        (f.subdivision.as_deref(), f.location),
        (Some("DC"), Some((38.9072, -77.0369)))
    );

    let f = db.lookup(ip("198.51.100.7")).unwrap();
    assert_eq!(
        (f.subdivision.as_deref(), f.location, f.prefix_len),
        (Some("OR"), None, 24)
    );

    let f = db.lookup(ip("203.0.113.1")).unwrap();
    assert_eq!(
        (f.continent, f.country, f.subdivision),
        (Some(*b"EU"), Some(*b"DE"), None)
    );
    assert!(f.location.is_some());

    let f = db.lookup(ip("203.0.113.200")).unwrap();
    assert_facts(
        Some(f),
        Some(GeoFacts {
            continent: Some(*b"AS"),
            country: Some(*b"TR"),
            subdivision: None,
            location: None,
            prefix_len: 25,
        }),
        "country-only record",
    );
}

#[test]
fn ipv4_only_database() {
    let db = flat_db();
    // A mapped address is an IPv4 client, so an IPv4 database answers for it.
    assert_eq!(
        db.lookup(ip("::ffff:192.0.2.1"))
            .unwrap()
            .subdivision
            .as_deref(),
        Some("WA")
    );
    assert_facts(
        db.lookup(ip("2001:db8::1")),
        None,
        "IPv6 in an IPv4 database",
    );
    assert_facts(db.lookup(ip("192.0.3.1")), None, "outside");
}

// ------------------------------------------------------------------------------------------
// Odd shapes a third-party database might use: each costs at most its own fact.

#[test]
fn odd_field_shapes() {
    let mut w = Writer::builder("odd")
        .build_epoch(std::time::UNIX_EPOCH)
        .build();
    let mut put = |net: &str, v: Value| w.insert_value(net.parse::<IpNet>().unwrap(), v).unwrap();
    put(
        "192.0.2.0/24",
        Value::map([
            ("continent", Value::from("eu")), // a bare string, lowercase
            ("country", Value::from("fr")),   // likewise
            (
                "location",
                Value::map([
                    ("latitude", Value::from("48.8566")),
                    ("longitude", Value::from(2u32)),
                ]),
            ),
            (
                "traits",
                Value::array([Value::map([("x", Value::from(1u32))])]),
            ),
        ]),
    );
    put(
        "198.51.100.0/24",
        Value::map([
            ("continent", Value::from(7u32)), // nonsense: ignored
            (
                "country",
                Value::map([
                    ("iso_code", Value::from("US")),
                    ("names", Value::map([("en", Value::from("United States"))])),
                ]),
            ),
            (
                "subdivisions",
                Value::array([
                    Value::map([("iso_code", Value::from("tx"))]),
                    Value::map([("iso_code", Value::from("XX"))]),
                ]),
            ),
            (
                "location",
                Value::map([
                    ("latitude", Value::Double(95.0)),
                    ("longitude", Value::Double(0.0)),
                ]),
            ), // out of range
        ]),
    );
    put(
        "203.0.113.0/24",
        Value::map([
            ("country", Value::from("ZZ")),
            ("continent", Value::map([("code", Value::from("XX"))])),
        ]),
    );
    put("2001:db8::/32", Value::from("not a map"));
    let db = GeoDb::from_bytes(w.to_bytes().unwrap()).unwrap();

    let f = db.lookup(ip("192.0.2.1")).unwrap();
    assert_eq!(
        (f.continent, f.country, f.location),
        (Some(*b"EU"), Some(*b"FR"), Some((48.8566, 2.0)))
    );
    let f = db.lookup(ip("198.51.100.1")).unwrap();
    assert_eq!(
        (f.continent, f.country, f.subdivision.as_deref(), f.location),
        (Some(*b"NA"), Some(*b"US"), Some("TX"), None)
    );
    // An unknown country and an unknown continent: the country is kept, no continent.
    let f = db.lookup(ip("203.0.113.1")).unwrap();
    assert_eq!((f.continent, f.country), (None, Some(*b"ZZ")));
    // A record that is not a map cannot be read: the client is unlocated.
    assert_facts(db.lookup(ip("2001:db8::1")), None, "non-map record");
}

// ------------------------------------------------------------------------------------------
// Opening.

#[test]
fn open_errors_name_the_file() {
    let missing = Path::new("/nonexistent/geo.mmdb");
    let e = GeoDb::open(missing).unwrap_err();
    assert!(matches!(e, GeoError::Read { .. }), "{e:?}");
    assert!(e.to_string().starts_with("/nonexistent/geo.mmdb: "), "{e}");

    let not_mmdb = Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/README.md");
    let e = GeoDb::open(&not_mmdb).unwrap_err();
    assert!(matches!(e, GeoError::Format { .. }), "{e:?}");
    assert!(
        e.to_string().contains("geoip/README.md: not a MaxMind DB"),
        "{e}"
    );

    let e = GeoDb::from_bytes(b"nope".to_vec()).unwrap_err();
    assert!(matches!(e, GeoError::Bytes { .. }), "{e:?}");
    // Truncated: the metadata marker is at the end, so this is refused at open, not per query.
    let mut cut = generate::policydns_test_mmdb();
    cut.truncate(cut.len() / 2);
    assert!(GeoDb::from_bytes(cut).is_err());
}

#[test]
fn continent_table_is_public() {
    assert_eq!(continent_of(*b"RU"), Some(*b"EU"));
    assert_eq!(continent_of(*b"GE"), Some(*b"AS"));
}

#[test]
fn geodb_is_shared_by_the_workers() {
    // The server's UDP and TCP workers all read one database.
    fn shareable<T: Send + Sync>() {}
    shareable::<GeoDb>();
}
