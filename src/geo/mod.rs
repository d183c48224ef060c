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

mod countries;
mod decode;

pub use countries::{continent_of, is_route53_country, Subdivision};
use decode::Record;

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

#[cfg(test)]
mod tests;
