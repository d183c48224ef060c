//! The configuration file as written: one serde type per TOML table, unknown keys refused by
//! name. Nothing is checked beyond the types here; [`super`] validates.
//!
//! Every table is read on its own, so one run reports every bad key and value of every table
//! (each at its line), not only the first: a table with a problem is left out and the others
//! are read and checked. Only a TOML syntax error stops the reading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;

/// A configuration file read: its tables, the directory relative paths start from, the tables
/// as written (a zone's policy travels to policydns secondaries in that form), and the problems
/// found in them, each as `file:line: message`.
pub(super) struct Source {
    pub(super) file: File,
    pub(super) base: PathBuf,
    pub(super) raw: toml::Table,
    pub(super) problems: Vec<String>,
}

/// Reads `path`, or gives an empty configuration when there is none (quick mode).
pub(super) fn read(path: Option<&Path>) -> Result<Source, ConfigError> {
    let Some(p) = path else {
        return Ok(Source {
            file: File::default(),
            base: PathBuf::new(),
            raw: toml::Table::new(),
            problems: Vec::new(),
        });
    };
    let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
        path: p.to_path_buf(),
        source,
    })?;
    let syntax = |e: toml::de::Error| ConfigError::Syntax {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    let raw: toml::Table = toml::from_str(&text).map_err(syntax)?;
    let spans: Spans = toml::from_str(&text).map_err(syntax)?;
    let mut reader = Reader {
        text: &text,
        path: p,
        problems: Vec::new(),
    };
    for key in raw.keys() {
        if !TABLES.contains(&key.as_str()) {
            let line = reader.key_line(0..text.len(), key);
            reader.problems.push(format!(
                "{}:{line}: unknown table or key `{key}` (known: {})",
                p.display(),
                TABLES.join(", ")
            ));
        }
    }
    let file = File {
        server: spans
            .server
            .and_then(|t| reader.table("server", None, t))
            .unwrap_or_default(),
        zone: reader.tables("zone", spans.zone),
        record_set: reader.tables("record_set", spans.record_set),
        health_check: reader.tables("health_check", spans.health_check),
        cidr_collection: reader.tables("cidr_collection", spans.cidr_collection),
        load_balancer: reader.tables("load_balancer", spans.load_balancer),
        tsig_key: reader.tables("tsig_key", spans.tsig_key),
        api: spans.api.and_then(|t| reader.table("api", None, t)),
        view: reader.tables("view", spans.view),
    };
    Ok(Source {
        file,
        base: p.parent().map(Path::to_path_buf).unwrap_or_default(),
        raw,
        problems: reader.problems,
    })
}

/// The top-level tables a configuration file has.
const TABLES: &[&str] = &[
    "server",
    "zone",
    "record_set",
    "health_check",
    "cidr_collection",
    "load_balancer",
    "tsig_key",
    "api",
    "view",
];

/// Each table of the file with where it is, before its fields are read.
#[derive(Deserialize)]
struct Spans {
    server: Option<Spanned<toml::Value>>,
    #[serde(default)]
    zone: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    record_set: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    health_check: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    cidr_collection: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    load_balancer: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    tsig_key: Vec<Spanned<toml::Value>>,
    api: Option<Spanned<toml::Value>>,
    #[serde(default)]
    view: Vec<Spanned<toml::Value>>,
}

/// Reads tables one by one, collecting every problem.
struct Reader<'t> {
    text: &'t str,
    path: &'t Path,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// The tables of a `[[name]]` array, each with its line.
    fn tables<T: DeserializeOwned>(
        &mut self,
        name: &str,
        all: Vec<Spanned<toml::Value>>,
    ) -> Vec<Located<T>> {
        all.into_iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let at = format!(
                    "{}:{}",
                    self.path.display(),
                    line_of(self.text, t.span().start)
                );
                let item = self.table(name, Some(i + 1), t)?;
                Some(Located { at, item })
            })
            .collect()
    }

    /// One table. Each bad key is reported at its line (the table's when it cannot be found):
    /// the key is taken out and the table read again, until nothing more is wrong; what is
    /// left is checked like a good table (its problems make the file refused anyway). `None`
    /// when what is left does not read (a required key is missing).
    fn table<T: DeserializeOwned>(
        &mut self,
        name: &str,
        index: Option<usize>,
        table: Spanned<toml::Value>,
    ) -> Option<T> {
        let span = table.span();
        let what = match index {
            Some(i) => format!("[[{name}]] {i}"),
            None => format!("[{name}]"),
        };
        let mut value = table.into_inner();
        loop {
            let e = match T::deserialize(value.clone()) {
                Ok(t) => return Some(t),
                Err(e) => e,
            };
            let message = e.message().to_string();
            let key = key_of(&e.to_string());
            let line = key
                .as_deref()
                .map(|k| self.key_line(span.clone(), k))
                .unwrap_or_else(|| line_of(self.text, span.start));
            self.problems
                .push(format!("{}:{line}: {what}: {message}", self.path.display()));
            let removed = match (&mut value, key) {
                (toml::Value::Table(t), Some(k)) => t.remove(&k).is_some(),
                _ => false,
            };
            if !removed {
                return None;
            }
        }
    }

    /// The line of `key = …` inside `span`, else the span's first line.
    fn key_line(&self, span: std::ops::Range<usize>, key: &str) -> usize {
        let part = self.text.get(span.clone()).unwrap_or("");
        let mut at = 0;
        for line in part.split_inclusive('\n') {
            let t = line.trim_start().trim_start_matches('[');
            if t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', ']', '.']))
            {
                return line_of(self.text, span.start + at);
            }
            at += line.len();
        }
        line_of(self.text, span.start)
    }
}

/// A table and where it was written (`file:line`), which messages about it name.
#[derive(Debug)]
pub(super) struct Located<T> {
    pub(super) at: String,
    pub(super) item: T,
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}

/// The key a serde error is about: `unknown field `x`` or `… in `x``.
fn key_of(error: &str) -> Option<String> {
    let between = |s: &str| s.split('`').nth(1).map(str::to_string);
    if let Some(rest) = error.split("unknown field ").nth(1) {
        return between(rest);
    }
    error
        .rsplit("in `")
        .next()
        .filter(|_| error.contains("in `"))
        .and_then(|k| k.split('`').next().map(str::to_string))
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(1, |t| t.matches('\n').count() + 1)
}

/// The tables of a file that read.
#[derive(Debug, Default)]
pub(super) struct File {
    pub(super) server: ServerSection,
    pub(super) zone: Vec<Located<ZoneSection>>,
    pub(super) record_set: Vec<Located<RecordSetSection>>,
    pub(super) health_check: Vec<Located<HealthCheckSection>>,
    pub(super) cidr_collection: Vec<Located<CidrCollectionSection>>,
    pub(super) load_balancer: Vec<Located<LoadBalancerSection>>,
    pub(super) tsig_key: Vec<Located<TsigKeySection>>,
    pub(super) api: Option<ApiSection>,
    pub(super) view: Vec<Located<ViewSection>>,
}

/// `[api]`: the Route 53 API listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiSection {
    pub(super) listen: Option<Vec<String>>,
    #[serde(default)]
    pub(super) key: Vec<ApiKeySection>,
    pub(super) name_servers: Option<Vec<String>>,
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    #[serde(default)]
    pub(super) insecure: bool,
    #[serde(default)]
    pub(super) allow_transfer: Vec<String>,
    #[serde(default)]
    pub(super) notify: Vec<String>,
    #[serde(default)]
    pub(super) allow_update: Vec<String>,
    pub(super) max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiKeySection {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
}

/// `[[tsig_key]]`: a shared secret as BIND's and Knot's configs write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TsigKeySection {
    pub(super) name: String,
    #[serde(default = "hmac_sha256")]
    pub(super) algorithm: String,
    pub(super) secret: String,
}

fn hmac_sha256() -> String {
    "hmac-sha256".into()
}

/// `[[record_set]]`: field names follow Route 53's `ResourceRecordSet`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordSetSection {
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) rtype: String,
    pub(super) set_identifier: Option<String>,
    pub(super) ttl: Option<u32>,
    #[serde(default)]
    pub(super) values: Vec<String>,
    pub(super) health_check: Option<String>,
    pub(super) weight: Option<i64>,
    pub(super) failover: Option<String>,
    pub(super) geolocation: Option<GeolocationSection>,
    pub(super) region: Option<String>,
    pub(super) geoproximity: Option<GeoproximitySection>,
    pub(super) cidr: Option<CidrSection>,
    pub(super) multivalue: Option<bool>,
    pub(super) alias: Option<AliasSection>,
    #[serde(default)]
    pub(super) consistent: bool,
    /// The `[[view]]` whose clients get it; absent: shared.
    pub(super) view: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AliasSection {
    pub(super) name: String,
    #[serde(default)]
    pub(super) evaluate_target_health: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GeolocationSection {
    pub(super) continent: Option<String>,
    pub(super) country: Option<String>,
    pub(super) subdivision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GeoproximitySection {
    pub(super) region: Option<String>,
    pub(super) latitude: Option<f64>,
    pub(super) longitude: Option<f64>,
    #[serde(default)]
    pub(super) bias: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CidrSection {
    pub(super) collection: String,
    pub(super) location: String,
}

/// `[[load_balancer]]`: an Elastic Load Balancing-style load balancer that aliases can target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoadBalancerSection {
    pub(super) name: String,
    #[serde(default)]
    pub(super) cross_zone: bool,
    /// ELB's scheme: "internet-facing" (default) or "internal".
    pub(super) scheme: Option<String>,
    /// The one `[[view]]` whose record sets may alias it; absent: any.
    pub(super) view: Option<String>,
    pub(super) zones: Vec<AzSection>,
    #[serde(default)]
    pub(super) target_groups: Vec<TargetGroupSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AzSection {
    pub(super) name: String,
    #[serde(default)]
    pub(super) ipv4: Vec<std::net::Ipv4Addr>,
    #[serde(default)]
    pub(super) ipv6: Vec<std::net::Ipv6Addr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetGroupSection {
    pub(super) name: String,
    #[serde(default)]
    pub(super) targets: Vec<TargetSection>,
    /// The port targets receive traffic on, unless a target gives its own.
    pub(super) port: Option<u16>,
    /// ELB's target-group health check, run against every target given by `ip_address`.
    pub(super) health_check: Option<crate::health::target_group::TargetGroupHealthCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetSection {
    pub(super) zone: String,
    /// A `[[health_check]]` id whose state is this target's health...
    pub(super) health_check: Option<String>,
    /// ...or the target's address, probed by the target group's health check.
    pub(super) ip_address: Option<std::net::IpAddr>,
    pub(super) port: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[[health_check]]`: a state set here (changed with SIGHUP), or a probe when `type` is given
/// (field names after Route 53's HealthCheckConfig).
pub(super) struct HealthCheckSection {
    pub(super) id: String,
    /// The state without a probe; with one, the state until the first results arrive.
    #[serde(default = "yes")]
    pub(super) healthy: bool,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) ip_address: Option<std::net::IpAddr>,
    pub(super) port: Option<u16>,
    pub(super) resource_path: Option<String>,
    pub(super) fully_qualified_domain_name: Option<String>,
    pub(super) search_string: Option<String>,
    #[serde(default = "thirty")]
    pub(super) request_interval: u64,
    #[serde(default = "three")]
    pub(super) failure_threshold: u8,
    #[serde(default)]
    pub(super) inverted: bool,
    #[serde(default)]
    pub(super) disabled: bool,
    /// Validate HTTPS certificates (Route 53 does not; our own checks do unless told).
    #[serde(default = "yes")]
    pub(super) validate_certificates: bool,
    /// HTTPS: send the FQDN as SNI (Route 53's EnableSNI; unset: true for HTTPS).
    pub(super) enable_sni: Option<bool>,
    /// HTTP(_STR_MATCH): keep the connection between probes (Route 53 does not).
    #[serde(default)]
    pub(super) reuse_connection: bool,
    /// CALCULATED: the children, and how many must be healthy.
    #[serde(default)]
    pub(super) child_health_checks: Vec<String>,
    #[serde(default)]
    pub(super) health_threshold: usize,
}

fn yes() -> bool {
    true
}
fn thirty() -> u64 {
    30
}
fn three() -> u8 {
    3
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CidrCollectionSection {
    pub(super) id: String,
    pub(super) locations: Option<BTreeMap<String, Vec<String>>>,
    /// `aws route53 list-cidr-blocks` output, relative to the config file.
    pub(super) route53: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerSection {
    pub(super) listen: Option<Vec<String>>,
    pub(super) udp_workers: Option<usize>,
    pub(super) edns_payload: Option<u16>,
    pub(super) minimal_responses: Option<bool>,
    pub(super) version: Option<String>,
    pub(super) identity: Option<String>,
    pub(super) nsid: Option<String>,
    pub(super) tcp_idle_timeout_secs: Option<u64>,
    pub(super) tcp_max_connections: Option<usize>,
    /// Connections at once from one client network (`server::tcp::clients`).
    pub(super) tcp_max_connections_per_network: Option<usize>,
    pub(super) tcp_ipv4_prefix_length: Option<u8>,
    pub(super) tcp_ipv6_prefix_length: Option<u8>,
    /// GeoIP database (.mmdb) for geolocation, latency and geoproximity routing.
    pub(super) geoip: Option<PathBuf>,
    /// Measured round-trip times from client networks to regions, for latency routing.
    pub(super) latency_map: Option<PathBuf>,
    /// Address of the health-check status listener (JSON and Prometheus); off when absent.
    pub(super) status_listen: Option<String>,
    /// dnstap output: a file path, or `unix:PATH` for a collector's socket; off when absent.
    pub(super) dnstap: Option<String>,
    /// Where secondary zones are saved (and read back on start).
    pub(super) state_dir: Option<PathBuf>,
    /// Refuse to start when a zone fails to load.
    pub(super) strict: Option<bool>,
    /// Response-rate limiting (`server::rrl`): off unless a rate is given.
    pub(super) rrl_responses_per_second: Option<u32>,
    pub(super) rrl_errors_per_second: Option<u32>,
    pub(super) rrl_window: Option<u32>,
    pub(super) rrl_slip: Option<u32>,
    pub(super) rrl_ipv4_prefix_length: Option<u8>,
    pub(super) rrl_ipv6_prefix_length: Option<u8>,
    #[serde(default)]
    pub(super) rrl_exempt: Vec<String>,
    /// DNS cookies (`wire::cookie`): on unless false.
    pub(super) cookies: Option<bool>,
    /// Shared secrets, 32 hex digits each: the first makes cookies, all are accepted.
    #[serde(default)]
    pub(super) cookie_secret: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ZoneSection {
    pub(super) origin: String,
    pub(super) file: Option<PathBuf>,
    pub(super) route53: Option<OneOrMany>,
    /// Who may AXFR/IXFR it: addresses, CIDR blocks, `key:NAME`.
    #[serde(default)]
    pub(super) allow_transfer: Vec<String>,
    /// Secondaries to NOTIFY when its serial changes, as ADDR:PORT.
    #[serde(default)]
    pub(super) notify: Vec<String>,
    /// "keep" (default), "increment" or "unixtime".
    pub(super) serial_policy: Option<String>,
    /// Makes it a secondary zone pulled from ADDR:PORT.
    pub(super) primary: Option<String>,
    /// TSIG key to sign requests to the primary with.
    pub(super) primary_key: Option<String>,
    /// "fixed" (the default for zone files) or "random" (the default for Route 53 JSON).
    pub(super) rrset_order: Option<String>,
    /// Who may change it by dynamic update: addresses, CIDR blocks, `key:NAME`.
    #[serde(default)]
    pub(super) allow_update: Vec<String>,
    /// The `[[view]]` it is served in; absent: every view (shared).
    pub(super) view: Option<String>,
    /// Sign it when it is loaded (keys in the state directory's dnssec/ZONE/).
    pub(super) dnssec: Option<bool>,
    /// Deny existence with NSEC3 (RFC 9276's parameters) instead of NSEC.
    pub(super) nsec3: Option<bool>,
    /// A ZSK older than this is rolled automatically ("90d"; BIND units).
    pub(super) zsk_lifetime: Option<String>,
    /// How long both ZSKs publish and sign before the old one is retired ("2d").
    pub(super) zsk_overlap: Option<String>,
}

/// `[[view]]`: who is placed in it (BIND's `match-clients`, first match wins) and whether it is
/// an internal (private) view, where internal load balancers answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ViewSection {
    pub(super) name: String,
    /// Addresses, CIDR blocks, `key:NAME` and `any`.
    pub(super) match_clients: Vec<String>,
    #[serde(default)]
    pub(super) internal: bool,
    /// VPC ids whose private hosted zones (Route 53 API) this view serves.
    #[serde(default)]
    pub(super) vpc_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

/// What a primary sends a policydns secondary about one zone (`transfer::records`): the record
/// sets and what they refer to, in this file's own table format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Fragment {
    #[serde(default)]
    pub(super) record_set: Vec<RecordSetSection>,
    #[serde(default)]
    pub(super) health_check: Vec<HealthCheckSection>,
    #[serde(default)]
    pub(super) cidr_collection: Vec<CidrCollectionSection>,
    #[serde(default)]
    pub(super) load_balancer: Vec<LoadBalancerSection>,
    /// `aws route53 list-health-checks` JSON for checks that came that way.
    pub(super) route53_health_checks: Option<String>,
}
