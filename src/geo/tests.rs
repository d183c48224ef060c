//! Route 53's continent table and the record decoding, without a database file.
use super::countries::*;
use super::decode::*;
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
    // Turkey is in Route 53's Asia list (and in GeoLite2's Asia), as docs/route53.md §3.5
    // states.
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
