//! Client address → geographic facts (continent, country, US state, coordinates), read from
//! MaxMind-format (`.mmdb`) databases, for the geolocation and geoproximity policies.
//!
//! Two record schemas are read, because the databases one can get freely use one or the other:
//! - MaxMind GeoIP2/GeoLite2 Country and City: `continent.code`, `country.iso_code`,
//!   `subdivisions[0].iso_code`, `location.latitude` / `location.longitude`;
//! - the flat schema of DB-IP lite and sapics/ip-location-db files: `country_code`, `state1`
//!   (a name such as "Washington", or a code), `latitude`, `longitude`, and no continent.
//!
//! Continents are Route 53's, not the database's. Route 53 places countries with its own table
//! (CY, RU, UA in Europe; AM, AZ, GE, TR in Asia), and a record for a continent must receive the
//! clients Route 53 would send it, whichever database located them. A database's own continent
//! is used only where it names no country the table knows: MaxMind has networks known only to
//! be "somewhere in Europe".
//!
//! Subdivisions are reported for the United States only: Route 53 routes on no others, and the
//! flat schema gives state *names*, which only our table of US states turns into codes, so
//! other countries' subdivisions would differ from one database to the next.
//!
//! [`GeoDb::lookup`] runs per query: records are decoded in place (strings borrowed from the
//! database), so a lookup allocates nothing unless it reports a US state.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{MaxMindDbError, Reader};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A MaxMind-format database held in memory.
///
/// The file is read whole rather than mapped: a database replaced on disk while mapped would
/// crash the server (SIGBUS) on the next lookup, and the largest free databases are tens of MB.
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
    /// Every record decoded once when the database is opened, by its offset in the data
    /// section: a lookup then walks the tree and copies, instead of decoding a map of strings
    /// per query (which cost ~0.4–1 µs).
    decoded: rustc_hash::FxHashMap<usize, GeoFacts>,
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("{}: cannot read GeoIP database: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a MaxMind DB: {source}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: MaxMindDbError,
    },
    #[error("GeoIP database bytes are not a MaxMind DB: {source}")]
    Bytes {
        #[source]
        source: MaxMindDbError,
    },
}

/// What the database says about the network holding an address.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoFacts {
    /// Route 53 continent code: AF AN AS EU OC NA SA.
    pub continent: Option<[u8; 2]>,
    /// ISO 3166-1 alpha-2, uppercase.
    pub country: Option<[u8; 2]>,
    /// ISO 3166-2 suffix, uppercase ("WA"); US states only (see the module documentation).
    pub subdivision: Option<Subdivision>,
    /// Latitude, longitude in degrees.
    pub location: Option<(f64, f64)>,
    /// Prefix length of the database network that matched: an IPv4 prefix for IPv4 clients
    /// (also when they arrive IPv4-mapped), an IPv6 prefix otherwise. The ECS scope an answer
    /// may claim depends on it.
    pub prefix_len: u8,
}

/// The seven continent codes Route 53 accepts.
pub const CONTINENTS: [[u8; 2]; 7] = [*b"AF", *b"AN", *b"AS", *b"EU", *b"NA", *b"OC", *b"SA"];

impl GeoDb {
    pub fn open(path: &Path) -> Result<GeoDb, GeoError> {
        let bytes = std::fs::read(path).map_err(|source| GeoError::Read {
            path: path.to_owned(),
            source,
        })?;
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::Format {
            path: path.to_owned(),
            source,
        })?;
        Ok(GeoDb::with_records_decoded(reader))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, GeoError> {
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::Bytes { source })?;
        Ok(GeoDb::with_records_decoded(reader))
    }

    fn with_records_decoded(reader: Reader<Vec<u8>>) -> GeoDb {
        let mut decoded = rustc_hash::FxHashMap::default();
        if let Ok(networks) = reader.networks(Default::default()) {
            for found in networks.flatten() {
                let Some(offset) = found.offset() else {
                    continue;
                };
                if decoded.contains_key(&offset) {
                    continue;
                }
                if let Ok(Some(record)) = found.decode::<Record<'_>>() {
                    decoded.insert(offset, record.facts(0));
                }
            }
        }
        GeoDb { reader, decoded }
    }

    /// Facts for the network containing `ip`, with the database's prefix length for that
    /// network. `None` when the database has no record for it, or a record it cannot decode
    /// (a damaged record must not fail the query: the client is then merely unlocated).
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoFacts> {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d. Looked up as IPv4 it
        // also works in IPv4-only databases, and its prefix is an IPv4 one, as its ECS scope
        // must be.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let found = self.reader.lookup(ip).ok()?;
        let network = found.network().ok()?;
        // An IPv6 database without an IPv4 subtree can match an IPv4 address above it, at a
        // depth that covers all of IPv4: as an IPv4 prefix that is /0.
        let prefix_len = if ip.is_ipv4() && !network.is_ipv4() {
            0
        } else {
            network.prefix()
        };
        match found.offset().and_then(|o| self.decoded.get(&o)) {
            Some(facts) => Some(GeoFacts {
                prefix_len,
                ..facts.clone()
            }),
            None => {
                let record: Record<'_> = found.decode().ok()??;
                Some(record.facts(prefix_len))
            }
        }
    }

    /// The `database_type` in the file's metadata (e.g. "GeoLite2-City"), for logs.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the database was built, in seconds since the Unix epoch, for logs: geolocation
    /// data goes stale.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

impl fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = self.reader.metadata();
        f.debug_struct("GeoDb")
            .field("database_type", &meta.database_type)
            .field("ip_version", &meta.ip_version)
            .field("node_count", &meta.node_count)
            .field("build_epoch", &meta.build_epoch)
            .finish()
    }
}

/// Route 53's continent for an ISO 3166-1 alpha-2 country code (uppercase), or for XK
/// (Kosovo), which Route 53 also lists.
pub fn continent_of(country: [u8; 2]) -> Option<[u8; 2]> {
    COUNTRIES
        .binary_search_by(|entry| entry.0.cmp(&country))
        .ok()
        .map(|i| COUNTRIES[i].1)
}

/// Whether Route 53 accepts `country` as a geolocation `CountryCode`: every code of the
/// continent table except BV, CX, EH and HM, which Route 53 says it has no address data for.
pub fn is_route53_country(country: [u8; 2]) -> bool {
    COUNTRIES
        .binary_search_by(|entry| entry.0.cmp(&country))
        .is_ok_and(|i| COUNTRIES[i].2)
}

// ---------------------------------------------------------------------------------------------
// Continent table.

/// Route 53's continent lists, transcribed as the Developer Guide prints them ("Values for
/// geolocation records", Location; awsdocs/amazon-route53-docs,
/// doc_source/resource-record-sets-values-geo.md). Kept in the guide's form so the two can be
/// compared by eye; [`COUNTRIES`] is built from it at compile time.
const ROUTE53_CONTINENTS: [([u8; 2], &str); 7] = [
    (
        *b"AF",
        concat!(
            "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG ER ET GA GH GM GN GQ GW KE KM LR LS ",
            "LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ ",
            "UG YT ZA ZM ZW",
        ),
    ),
    (*b"AN", "AQ GS TF"),
    (
        *b"AS",
        concat!(
            "AE AF AM AZ BD BH BN BT CC CN GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ ",
            "LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM TR TW UZ VN YE",
        ),
    ),
    (
        *b"EU",
        concat!(
            "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM ",
            "IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA ",
            "XK",
        ),
    ),
    (
        *b"NA",
        concat!(
            "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF ",
            "MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI",
        ),
    ),
    (
        *b"OC",
        concat!(
            "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM VU WF ",
            "WS",
        ),
    ),
    (*b"SA", "AR BO BR CL CO EC FK GF GY PE PY SR UY VE"),
];

/// The four ISO 3166-1 codes Route 53 leaves out. A database may still name them, so they get
/// GeoNames' continent, which MaxMind's databases also use: on the other 246 codes GeoLite2
/// City agrees with Route 53's lists exactly (checked against the 2019-12 GeoLite2 City), so
/// it is the best guess at what Route 53 would say.
const UNLISTED_CONTINENTS: [([u8; 2], &str); 3] =
    [(*b"AN", "BV HM"), (*b"OC", "CX"), (*b"AF", "EH")];

const fn codes_in(lists: &[([u8; 2], &str)]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < lists.len() {
        n += (lists[i].1.len() + 1) / 3;
        i += 1;
    }
    n
}

const COUNTRY_COUNT: usize = codes_in(&ROUTE53_CONTINENTS) + codes_in(&UNLISTED_CONTINENTS);

/// (country, continent, listed by Route 53), sorted by country for binary search.
static COUNTRIES: [([u8; 2], [u8; 2], bool); COUNTRY_COUNT] = build_countries();

const fn build_countries() -> [([u8; 2], [u8; 2], bool); COUNTRY_COUNT] {
    let mut table = [([0u8; 2], [0u8; 2], false); COUNTRY_COUNT];
    let mut n = 0;
    n = append_codes(&mut table, n, &ROUTE53_CONTINENTS, true);
    n = append_codes(&mut table, n, &UNLISTED_CONTINENTS, false);
    assert!(n == COUNTRY_COUNT);
    // Insertion sort: 250 entries, once, at compile time.
    let mut i = 1;
    while i < n {
        let mut j = i;
        while j > 0 && code_less(table[j].0, table[j - 1].0) {
            let t = table[j];
            table[j] = table[j - 1];
            table[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    // A country listed twice would make the answer depend on the sort: refuse to compile.
    let mut k = 1;
    while k < n {
        assert!(
            code_less(table[k - 1].0, table[k].0),
            "country listed twice"
        );
        k += 1;
    }
    table
}

const fn append_codes(
    table: &mut [([u8; 2], [u8; 2], bool); COUNTRY_COUNT],
    mut n: usize,
    lists: &[([u8; 2], &str)],
    listed: bool,
) -> usize {
    let mut l = 0;
    while l < lists.len() {
        let text = lists[l].1.as_bytes();
        let mut i = 0;
        while i < text.len() {
            assert!(text[i].is_ascii_uppercase() && text[i + 1].is_ascii_uppercase());
            assert!(i + 2 == text.len() || text[i + 2] == b' ');
            table[n] = ([text[i], text[i + 1]], lists[l].0, listed);
            n += 1;
            i += 3;
        }
        l += 1;
    }
    n
}

const fn code_less(a: [u8; 2], b: [u8; 2]) -> bool {
    a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])
}

// ---------------------------------------------------------------------------------------------
// US states, for the flat schema's `state1` names.

/// Sorted by name, ignoring ASCII case, for binary search.
const US_STATES: [(&str, &str); 51] = [
    ("Alabama", "AL"),
    ("Alaska", "AK"),
    ("Arizona", "AZ"),
    ("Arkansas", "AR"),
    ("California", "CA"),
    ("Colorado", "CO"),
    ("Connecticut", "CT"),
    ("Delaware", "DE"),
    ("District of Columbia", "DC"),
    ("Florida", "FL"),
    ("Georgia", "GA"),
    ("Hawaii", "HI"),
    ("Idaho", "ID"),
    ("Illinois", "IL"),
    ("Indiana", "IN"),
    ("Iowa", "IA"),
    ("Kansas", "KS"),
    ("Kentucky", "KY"),
    ("Louisiana", "LA"),
    ("Maine", "ME"),
    ("Maryland", "MD"),
    ("Massachusetts", "MA"),
    ("Michigan", "MI"),
    ("Minnesota", "MN"),
    ("Mississippi", "MS"),
    ("Missouri", "MO"),
    ("Montana", "MT"),
    ("Nebraska", "NE"),
    ("Nevada", "NV"),
    ("New Hampshire", "NH"),
    ("New Jersey", "NJ"),
    ("New Mexico", "NM"),
    ("New York", "NY"),
    ("North Carolina", "NC"),
    ("North Dakota", "ND"),
    ("Ohio", "OH"),
    ("Oklahoma", "OK"),
    ("Oregon", "OR"),
    ("Pennsylvania", "PA"),
    ("Rhode Island", "RI"),
    ("South Carolina", "SC"),
    ("South Dakota", "SD"),
    ("Tennessee", "TN"),
    ("Texas", "TX"),
    ("Utah", "UT"),
    ("Vermont", "VT"),
    ("Virginia", "VA"),
    ("Washington", "WA"),
    ("West Virginia", "WV"),
    ("Wisconsin", "WI"),
    ("Wyoming", "WY"),
];

fn cmp_ignore_ascii_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// The code of a US state given as a code ("WA", from GeoIP2 or some flat files) or a name
/// ("Washington", DB-IP).
fn us_state_code(text: &str) -> Option<Subdivision> {
    let text = text.trim();
    if (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Subdivision::new(text);
    }
    US_STATES
        .binary_search_by(|(name, _)| cmp_ignore_ascii_case(name, text))
        .ok()
        .and_then(|i| Subdivision::new(US_STATES[i].1))
}

/// A subdivision code of up to three characters, uppercase, kept inline: a lookup that
/// reports one allocates nothing (it runs per query).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Subdivision {
    code: [u8; 3],
    len: u8,
}

impl Subdivision {
    /// `None` unless `text` is 1–3 ASCII letters or digits.
    pub fn new(text: &str) -> Option<Subdivision> {
        let b = text.as_bytes();
        if !(1..=3).contains(&b.len()) || !b.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut code = [0u8; 3];
        for (d, s) in code.iter_mut().zip(b) {
            *d = s.to_ascii_uppercase();
        }
        Some(Subdivision {
            code,
            len: b.len() as u8,
        })
    }

    /// The code's bytes, zero-padded to three (the form routing rules compare).
    pub fn padded(&self) -> [u8; 3] {
        self.code
    }
}

impl std::ops::Deref for Subdivision {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.code[..self.len as usize]).expect("ASCII")
    }
}

impl std::fmt::Debug for Subdivision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", &**self)
    }
}

// ---------------------------------------------------------------------------------------------
// Record decoding.

/// The fields of both schemas, all optional. Each field type accepts any MMDB value and
/// yields nothing for a shape it does not expect, so one odd field in a third-party database
/// costs that fact, not the whole lookup.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    /// GeoIP2: `{ "code": "EU", "names": … }`.
    #[serde(borrow)]
    continent: Code<'a>,
    /// GeoIP2: `{ "iso_code": "DE", "names": … }`.
    #[serde(borrow)]
    country: Code<'a>,
    /// GeoIP2: `[{ "iso_code": "WA", … }, …]`, largest first.
    #[serde(borrow)]
    subdivisions: Code<'a>,
    /// GeoIP2: `{ "latitude": 47.6, "longitude": -122.3, "accuracy_radius": … }`.
    location: LatLon,
    /// Flat schema.
    #[serde(borrow)]
    country_code: Code<'a>,
    #[serde(borrow)]
    state1: Code<'a>,
    latitude: Coord,
    longitude: Coord,
}

impl Record<'_> {
    fn facts(&self, prefix_len: u8) -> GeoFacts {
        let country = self
            .country
            .0
            .or(self.country_code.0)
            .and_then(country_code);
        let continent = country
            .and_then(continent_of)
            .or_else(|| self.continent.0.and_then(continent_code));
        let subdivision = match country {
            Some(c) if &c == b"US" => self
                .subdivisions
                .0
                .or(self.state1.0)
                .and_then(us_state_code),
            _ => None,
        };
        let location = match (self.location, self.latitude.0, self.longitude.0) {
            (LatLon(Some(ll)), _, _) => Some(ll),
            (_, Some(lat), Some(lon)) => coordinates(lat, lon),
            _ => None,
        };
        GeoFacts {
            continent,
            country,
            subdivision,
            location,
            prefix_len,
        }
    }
}

fn country_code(text: &str) -> Option<[u8; 2]> {
    match text.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

fn continent_code(text: &str) -> Option<[u8; 2]> {
    country_code(text).filter(|c| CONTINENTS.contains(c))
}

fn coordinates(lat: f64, lon: f64) -> Option<(f64, f64)> {
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Visitor methods that accept, and drop, every scalar shape; the types below add the one
/// shape they want. (`Visitor`'s defaults would reject these with an error instead.)
macro_rules! ignore_scalars {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// A code: a string, or the `code` / `iso_code` of a map, or the first element of an array
/// of those (GeoIP2's `subdivisions`).
#[derive(Clone, Copy, Default)]
struct Code<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for Code<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CodeVisitor)
    }
}

struct CodeVisitor;

impl<'de> Visitor<'de> for CodeVisitor {
    type Value = Code<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a code, a map with a code, or an array of those")
    }

    ignore_scalars!(Code(None));

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Code<'de>, E> {
        Ok(Code(None))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Code<'de>, E> {
        Ok(Code(Some(s)))
    }

    // A string that cannot be borrowed is never produced by the MMDB decoder; accepting it
    // as "no code" keeps the type total.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Code<'de>, E> {
        Ok(Code(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Code<'de>, A::Error> {
        let mut code = None;
        while let Some(key) = map.next_key::<Code<'de>>()? {
            match key.0 {
                Some("code" | "iso_code") if code.is_none() => {
                    code = map.next_value::<Code<'de>>()?.0
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Code(code))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Code<'de>, A::Error> {
        let first = seq.next_element::<Code<'de>>()?.unwrap_or_default();
        drain_seq(seq)?;
        Ok(first)
    }
}

/// A coordinate: GeoIP2 writes doubles, flat files floats, and some hand-made files
/// integers or strings.
#[derive(Clone, Copy, Default)]
struct Coord(Option<f64>);

impl<'de> Deserialize<'de> for Coord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CoordVisitor)
    }
}

struct CoordVisitor;

impl<'de> Visitor<'de> for CoordVisitor {
    type Value = Coord;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Coord, E> {
        Ok(Coord(None))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Coord, E> {
        Ok(Coord(Some(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Coord, E> {
        Ok(Coord(Some(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Coord, E> {
        Ok(Coord(None))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Coord, E> {
        Ok(Coord(None))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Coord, E> {
        Ok(Coord(Some(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Coord, E> {
        Ok(Coord(v.trim().parse().ok()))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Coord, E> {
        Ok(Coord(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Coord, E> {
        Ok(Coord(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Coord, E> {
        Ok(Coord(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Coord, A::Error> {
        drain_map(map).map(|()| Coord(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Coord, A::Error> {
        drain_seq(seq).map(|()| Coord(None))
    }
}

/// GeoIP2's `location` map; only a valid pair counts.
#[derive(Clone, Copy, Default)]
struct LatLon(Option<(f64, f64)>);

impl<'de> Deserialize<'de> for LatLon {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LatLonVisitor)
    }
}

struct LatLonVisitor;

impl<'de> Visitor<'de> for LatLonVisitor {
    type Value = LatLon;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map with latitude and longitude")
    }

    ignore_scalars!(LatLon(None));

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<LatLon, E> {
        Ok(LatLon(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<LatLon, E> {
        Ok(LatLon(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LatLon, A::Error> {
        let (mut lat, mut lon) = (None, None);
        while let Some(key) = map.next_key::<Code<'de>>()? {
            match key.0 {
                Some("latitude") => lat = map.next_value::<Coord>()?.0,
                Some("longitude") => lon = map.next_value::<Coord>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(LatLon(
            lat.zip(lon).and_then(|(lat, lon)| coordinates(lat, lon)),
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LatLon, A::Error> {
        drain_seq(seq).map(|()| LatLon(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cont(country: &str) -> Option<String> {
        let c: [u8; 2] = country.as_bytes().try_into().unwrap();
        continent_of(c).map(|c| String::from_utf8(c.to_vec()).unwrap())
    }

    #[test]
    fn route53_special_placements() {
        // Transcontinental and border countries, where continent tables disagree (the UN
        // geoscheme, for one, puts Cyprus in Asia).
        for c in ["RU", "UA", "CY"] {
            assert_eq!(cont(c).as_deref(), Some("EU"), "{c}");
        }
        // Turkey is in Route 53's Asia list (and in GeoLite2's Asia), although
        // shared/route53-semantics.md §3.5 says Europe.
        for c in ["AM", "AZ", "GE", "TR", "KZ", "EG"] {
            let want = if c == "EG" { "AF" } else { "AS" };
            assert_eq!(cont(c).as_deref(), Some(want), "{c}");
        }
        // US territories are countries of North America / Oceania, not states.
        assert_eq!(cont("PR").as_deref(), Some("NA"));
        assert_eq!(cont("GU").as_deref(), Some("OC"));
        assert_eq!(cont("XK").as_deref(), Some("EU"));
        assert_eq!(cont("TL").as_deref(), Some("OC"));
        assert_eq!(cont("AQ").as_deref(), Some("AN"));
    }

    #[test]
    fn table_covers_iso_3166_and_is_sorted() {
        // 249 ISO 3166-1 codes plus XK.
        assert_eq!(COUNTRIES.len(), 250);
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(COUNTRIES.iter().all(|e| CONTINENTS.contains(&e.1)));
        for c in [*b"US", *b"DE", *b"JP", *b"BR", *b"AU", *b"ZA", *b"AQ"] {
            assert!(continent_of(c).is_some());
        }
        assert_eq!(continent_of(*b"ZZ"), None);
        assert_eq!(continent_of(*b"EU"), None);
        assert_eq!(continent_of(*b"us"), None, "codes are uppercase");
    }

    #[test]
    fn unlisted_countries() {
        for (c, want) in [("BV", "AN"), ("HM", "AN"), ("CX", "OC"), ("EH", "AF")] {
            let code: [u8; 2] = c.as_bytes().try_into().unwrap();
            assert_eq!(cont(c).as_deref(), Some(want));
            assert!(!is_route53_country(code), "{c}");
        }
        assert!(is_route53_country(*b"US"));
        assert!(is_route53_country(*b"XK"));
        assert!(!is_route53_country(*b"ZZ"));
        assert_eq!(COUNTRIES.iter().filter(|e| e.2).count(), 246);
    }

    #[test]
    fn us_states() {
        assert!(US_STATES
            .windows(2)
            .all(|w| cmp_ignore_ascii_case(w[0].0, w[1].0).is_lt()));
        assert_eq!(us_state_code("Washington").as_deref(), Some("WA"));
        assert_eq!(us_state_code("washington").as_deref(), Some("WA"));
        assert_eq!(us_state_code("District of Columbia").as_deref(), Some("DC"));
        assert_eq!(us_state_code("West Virginia").as_deref(), Some("WV"));
        assert_eq!(us_state_code("wa").as_deref(), Some("WA"));
        assert_eq!(us_state_code("Atlantis"), None);
        assert_eq!(us_state_code(""), None);
    }

    #[test]
    fn codes_are_checked() {
        assert_eq!(country_code("de"), Some(*b"DE"));
        assert_eq!(country_code("DEU"), None);
        assert_eq!(country_code("1A"), None);
        assert_eq!(continent_code("eu"), Some(*b"EU"));
        assert_eq!(continent_code("XX"), None);
        assert_eq!(coordinates(91.0, 0.0), None);
        assert_eq!(coordinates(f64::NAN, 0.0), None);
        assert_eq!(coordinates(-33.9, 151.2), Some((-33.9, 151.2)));
    }
}
