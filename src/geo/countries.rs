//! Route 53's placement of countries on continents, the countries it knows, and US states
//! by name and code.

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
pub(super) static COUNTRIES: [([u8; 2], [u8; 2], bool); COUNTRY_COUNT] = build_countries();

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
pub(super) const US_STATES: [(&str, &str); 51] = [
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

pub(super) fn cmp_ignore_ascii_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// The code of a US state given as a code ("WA", from GeoIP2 or some flat files) or a name
/// ("Washington", DB-IP).
pub(super) fn us_state_code(text: &str) -> Option<Subdivision> {
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
