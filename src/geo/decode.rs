//! Decoding a database record of either schema in place: each field accepts any MMDB value
//! and yields nothing for a shape it does not expect.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::countries::{continent_of, us_state_code};
use super::{GeoFacts, CONTINENTS};
use std::fmt;

/// The fields of both schemas, all optional. Each field type accepts any MMDB value and
/// yields nothing for a shape it does not expect, so one odd field in a third-party database
/// costs that fact, not the whole lookup.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Record<'a> {
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
    pub(super) fn facts(&self, prefix_len: u8) -> GeoFacts {
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

pub(super) fn country_code(text: &str) -> Option<[u8; 2]> {
    match text.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

pub(super) fn continent_code(text: &str) -> Option<[u8; 2]> {
    country_code(text).filter(|c| CONTINENTS.contains(c))
}

pub(super) fn coordinates(lat: f64, lon: f64) -> Option<(f64, f64)> {
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
