//! The TOML configuration and the command line's quick mode, validated into one typed
//! [`Config`]. Problems are reported with what to change, before anything is served.
//!
//! ```toml
//! [server]
//! listen = ["127.0.0.1:5353", "[::1]:5353"]
//! udp_workers = 0            # 0 = one per core
//! edns_payload = 1232
//! minimal_responses = false  # true: no NS RRset in the authority section of positive answers
//! version = "policydns"      # CH TXT version.bind; "" refuses the query
//! identity = "ns1"           # CH TXT id.server; absent or "" refuses the query
//! nsid = "ns1"               # EDNS NSID; absent sends none
//! tcp_idle_timeout_secs = 10
//! tcp_max_connections = 1024
//!
//! [[zone]]
//! origin = "example.test."
//! file = "example.test.zone"   # relative to this config file
//! route53 = "records.json"     # and/or Route 53 JSON (a list, applied in order)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use std::collections::BTreeMap;

use ipnetwork::IpNetwork;

use crate::answer::Options;
use crate::policy::spec::{AliasSpec, ProximityAt, RecordSetSpec, RuleSpec};
use crate::policy::{FailoverRole, GeoKey};
use crate::zone::{name, types};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    zone: Vec<ZoneSection>,
    #[serde(default)]
    record_set: Vec<RecordSetSection>,
    #[serde(default)]
    health_check: Vec<HealthCheckSection>,
    #[serde(default)]
    cidr_collection: Vec<CidrCollectionSection>,
    #[serde(default)]
    load_balancer: Vec<LoadBalancerSection>,
    #[serde(default)]
    tsig_key: Vec<TsigKeySection>,
}

/// `[[tsig_key]]`: a shared secret as BIND's and Knot's configs write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TsigKeySection {
    name: String,
    #[serde(default = "hmac_sha256")]
    algorithm: String,
    secret: String,
}

fn hmac_sha256() -> String {
    "hmac-sha256".into()
}

/// `[[record_set]]`: field names follow Route 53's `ResourceRecordSet`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordSetSection {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    set_identifier: Option<String>,
    ttl: Option<u32>,
    #[serde(default)]
    values: Vec<String>,
    health_check: Option<String>,
    weight: Option<i64>,
    failover: Option<String>,
    geolocation: Option<GeolocationSection>,
    region: Option<String>,
    geoproximity: Option<GeoproximitySection>,
    cidr: Option<CidrSection>,
    multivalue: Option<bool>,
    alias: Option<AliasSection>,
    #[serde(default)]
    consistent: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasSection {
    name: String,
    #[serde(default)]
    evaluate_target_health: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeolocationSection {
    continent: Option<String>,
    country: Option<String>,
    subdivision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeoproximitySection {
    region: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    #[serde(default)]
    bias: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CidrSection {
    collection: String,
    location: String,
}

/// `[[load_balancer]]`: an Elastic Load Balancing-style load balancer that aliases can target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadBalancerSection {
    name: String,
    #[serde(default)]
    cross_zone: bool,
    zones: Vec<AzSection>,
    #[serde(default)]
    target_groups: Vec<TargetGroupSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AzSection {
    name: String,
    #[serde(default)]
    ipv4: Vec<std::net::Ipv4Addr>,
    #[serde(default)]
    ipv6: Vec<std::net::Ipv6Addr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetGroupSection {
    name: String,
    #[serde(default)]
    targets: Vec<TargetSection>,
    /// The port targets receive traffic on, unless a target gives its own.
    port: Option<u16>,
    /// ELB's target-group health check, run against every target given by `ip_address`.
    health_check: Option<crate::health::elb::TargetGroupHealthCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSection {
    zone: String,
    /// A `[[health_check]]` id whose state is this target's health...
    health_check: Option<String>,
    /// ...or the target's address, probed by the target group's health check.
    ip_address: Option<std::net::IpAddr>,
    port: Option<u16>,
}

/// A load balancer with its targets' health checks still named.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerConfig {
    /// Lowercase wire form.
    pub name: Vec<u8>,
    pub cross_zone: bool,
    pub zones: Vec<crate::policy::elb::AvailabilityZone>,
    pub target_groups: Vec<String>,
    /// (target group, zone, health check id) per target.
    pub targets: Vec<(usize, usize, Option<String>)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[[health_check]]`: a state set here (changed with SIGHUP), or a probe when `type` is given
/// (field names after Route 53's HealthCheckConfig).
struct HealthCheckSection {
    id: String,
    /// The state without a probe; with one, the state until the first results arrive.
    #[serde(default = "yes")]
    healthy: bool,
    #[serde(rename = "type")]
    kind: Option<String>,
    ip_address: Option<std::net::IpAddr>,
    port: Option<u16>,
    resource_path: Option<String>,
    fully_qualified_domain_name: Option<String>,
    search_string: Option<String>,
    #[serde(default = "thirty")]
    request_interval: u64,
    #[serde(default = "three")]
    failure_threshold: u8,
    #[serde(default)]
    inverted: bool,
    #[serde(default)]
    disabled: bool,
    /// Validate HTTPS certificates (Route 53 does not; our own checks do unless told).
    #[serde(default = "yes")]
    validate_certificates: bool,
    /// HTTPS: send the FQDN as SNI (Route 53's EnableSNI; unset: true for HTTPS).
    enable_sni: Option<bool>,
    /// HTTP(_STR_MATCH): keep the connection between probes (Route 53 does not).
    #[serde(default)]
    reuse_connection: bool,
    /// CALCULATED: the children, and how many must be healthy.
    #[serde(default)]
    child_health_checks: Vec<String>,
    #[serde(default)]
    health_threshold: usize,
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
struct CidrCollectionSection {
    id: String,
    locations: Option<BTreeMap<String, Vec<String>>>,
    /// `aws route53 list-cidr-blocks` output, relative to the config file.
    route53: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<Vec<String>>,
    udp_workers: Option<usize>,
    edns_payload: Option<u16>,
    minimal_responses: Option<bool>,
    version: Option<String>,
    identity: Option<String>,
    nsid: Option<String>,
    tcp_idle_timeout_secs: Option<u64>,
    tcp_max_connections: Option<usize>,
    /// GeoIP database (.mmdb) for geolocation, latency and geoproximity routing.
    geoip: Option<PathBuf>,
    /// Measured round-trip times from client networks to regions, for latency routing.
    latency_map: Option<PathBuf>,
    /// Address of the health-check status listener (JSON and Prometheus); off when absent.
    status_listen: Option<String>,
    /// Where secondary zones are saved (and read back on start).
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneSection {
    origin: String,
    file: Option<PathBuf>,
    route53: Option<OneOrMany>,
    /// Who may AXFR/IXFR it: addresses, CIDR blocks, `key:NAME`.
    #[serde(default)]
    allow_transfer: Vec<String>,
    /// Secondaries to NOTIFY when its serial changes, as ADDR:PORT.
    #[serde(default)]
    notify: Vec<String>,
    /// "keep" (default), "increment" or "unixtime".
    serial_policy: Option<String>,
    /// Makes it a secondary zone pulled from ADDR:PORT.
    primary: Option<String>,
    /// TSIG key to sign requests to the primary with.
    primary_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

/// A zone to serve: its apex and where its data comes from — a master file, Route 53 JSON
/// (record-set exports and change batches, applied in order), or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    /// Lowercase wire form.
    pub origin: Vec<u8>,
    pub file: Option<PathBuf>,
    /// Route 53 JSON files (`crate::route53`), read on every load like the zone file.
    pub route53: Vec<PathBuf>,
    pub transfer: crate::transfer::ZoneTransfer,
    pub serial_policy: crate::transfer::reload::SerialPolicy,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Vec<SocketAddr>,
    /// True when the listen addresses are the built-in defaults: a default address that cannot
    /// be bound (no IPv6 on the host) is skipped with a warning rather than fatal.
    pub default_listen: bool,
    pub udp_workers: usize,
    pub tcp_idle_timeout: Duration,
    pub tcp_max_connections: usize,
    pub options: Options,
    pub zones: Vec<ZoneSpec>,
    /// Record sets with routing policies, all zones together.
    pub record_sets: Vec<RecordSetSpec>,
    /// Health-check states by id.
    pub health: BTreeMap<String, bool>,
    /// Checks that probe, by id.
    pub probes: BTreeMap<String, crate::health::ProbeConfig>,
    /// Calculated checks, by id.
    pub calculated: BTreeMap<String, crate::health::Calculated>,
    /// CIDR collections by id: location name → blocks.
    pub cidr_collections: BTreeMap<String, BTreeMap<String, Vec<IpNetwork>>>,
    /// Load balancers aliases may target.
    pub load_balancers: Vec<LoadBalancerConfig>,
    /// GeoIP database for location-based routing.
    pub geoip: Option<PathBuf>,
    /// Latency map file (see `policy::latency`).
    pub latency_map: Option<PathBuf>,
    /// The status listener's address, if on.
    pub status_listen: Option<SocketAddr>,
    /// The file this came from, re-read on SIGHUP.
    pub source: Option<PathBuf>,
    pub tsig_keys: crate::transfer::tsig::KeyRing,
    /// Where secondary zones are kept.
    pub state_dir: Option<PathBuf>,
    /// Policy definitions as written, for carrying a zone's policy to policydns secondaries.
    pub raw_policy: RawPolicy,
}

/// `[[health_check]]` and `[[load_balancer]]` tables as written (by id, by lowercase name
/// without the final dot), and Route 53 health-check objects as read (by id).
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub health_checks: BTreeMap<String, toml::Value>,
    pub load_balancers: BTreeMap<String, toml::Value>,
    pub route53_health_checks: BTreeMap<String, serde_json::Value>,
}

/// What a primary sends a policydns secondary about one zone (`transfer::records`): the record
/// sets and what they refer to, in this file's own table format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fragment {
    #[serde(default)]
    record_set: Vec<RecordSetSection>,
    #[serde(default)]
    health_check: Vec<HealthCheckSection>,
    #[serde(default)]
    cidr_collection: Vec<CidrCollectionSection>,
    #[serde(default)]
    load_balancer: Vec<LoadBalancerSection>,
    /// `aws route53 list-health-checks` JSON for checks that came that way.
    route53_health_checks: Option<String>,
}

/// The tables of `[[key]]` in `raw`, by their `id_field`.
fn raw_tables(raw: &toml::Table, key: &str, id_field: &str) -> BTreeMap<String, toml::Value> {
    raw.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| Some((t.get(id_field)?.as_str()?.to_string(), t.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The `HealthChecks` objects of `list-health-checks` JSON, by `Id`.
fn route53_check_objects(text: &str) -> BTreeMap<String, serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    v.get("HealthChecks")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| Some((c.get("Id")?.as_str()?.to_string(), c.clone())))
                .collect()
        })
        .unwrap_or_default()
}

pub const DEFAULT_LISTEN: [&str; 2] = ["127.0.0.1:5353", "[::1]:5353"];

/// What the command line adds to (or, without a file, is) the configuration.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces the file's `listen` when given.
    pub listen: Vec<String>,
    /// `ORIGIN=FILE`, added to the file's zones.
    pub zones: Vec<String>,
    pub udp_workers: Option<usize>,
    /// `--geoip FILE`, replacing the file's `geoip`.
    pub geoip: Option<String>,
    /// `--health-checks FILE.json`: Route 53 `list-health-checks` output.
    pub health_checks: Vec<String>,
    /// `--status-listen ADDR`, replacing the file's `status_listen`.
    pub status_listen: Option<String>,
    /// `--latency-map FILE`, replacing the file's `latency_map`.
    pub latency_map: Option<String>,
    /// `ORIGIN=FILE`: Route 53 JSON for a zone (added to a zone of that origin, or a new one).
    pub route53: Vec<String>,
    /// `COLLECTION_ID=FILE`: `aws route53 list-cidr-blocks` output, a CIDR collection.
    pub cidr_collections: Vec<String>,
    /// `--allow-transfer CIDR|key:NAME`, for every zone.
    pub allow_transfer: Vec<String>,
    /// `--tsig-key NAME:ALGORITHM:BASE64`.
    pub tsig_keys: Vec<String>,
    /// `--notify ADDR:PORT`, for every primary zone.
    pub notify: Vec<String>,
    /// `--secondary ORIGIN=ADDR:PORT[@KEY]`.
    pub secondaries: Vec<String>,
    /// `--state-dir DIR`.
    pub state_dir: Option<String>,
}

impl Config {
    /// Builds the configuration from an optional file and the command line.
    pub fn load(path: Option<&Path>, cli: &Overrides) -> Result<Config, ConfigError> {
        let (mut file, base, raw) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                let file: File = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                    path: p.to_path_buf(),
                    message: e.to_string(),
                })?;
                // The tables as written too: a zone's policy travels to policydns secondaries
                // in this form.
                let raw: toml::Table = toml::from_str(&text).unwrap_or_default();
                (
                    file,
                    p.parent().map(Path::to_path_buf).unwrap_or_default(),
                    raw,
                )
            }
            None => (File::default(), PathBuf::new(), toml::Table::new()),
        };
        let s = file.server;
        let mut errors = Vec::new();

        let (listen_text, default_listen) = if !cli.listen.is_empty() {
            (cli.listen.clone(), false)
        } else if let Some(l) = s.listen {
            (l, false)
        } else {
            (DEFAULT_LISTEN.iter().map(|s| s.to_string()).collect(), true)
        };
        let mut listen = Vec::new();
        for l in &listen_text {
            match l.parse::<SocketAddr>() {
                Ok(a) if !listen.contains(&a) => listen.push(a),
                Ok(a) => errors.push(format!("listen address {a} is given twice")),
                Err(_) => errors.push(format!(
                    "listen address {l:?} is not IP:PORT (IPv6 as [::1]:5353)"
                )),
            }
        }

        let mut zones: Vec<ZoneSpec> = Vec::new();
        let relative = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        for z in file.zone {
            let route53: Vec<PathBuf> = match z.route53 {
                None => Vec::new(),
                Some(OneOrMany::One(p)) => vec![relative(p)],
                Some(OneOrMany::Many(ps)) => ps.into_iter().map(relative).collect(),
            };
            let primary = z
                .primary
                .as_deref()
                .map(|p| parse_primary(p, z.primary_key.clone()));
            if z.file.is_none() && route53.is_empty() && primary.is_none() {
                errors.push(format!(
                    "zone {}: give its data as file = \"ZONEFILE\" and/or route53 = \"RECORDS.json\", or make it a secondary with primary = \"ADDR:PORT\"",
                    z.origin
                ));
                continue;
            }
            if primary.is_some() && (z.file.is_some() || !route53.is_empty()) {
                errors.push(format!("zone {}: a secondary zone (primary = ...) takes its data from the primary, not from file or route53", z.origin));
                continue;
            }
            if z.primary.is_none() && z.primary_key.is_some() {
                errors.push(format!("zone {}: primary_key without primary", z.origin));
            }
            let mut transfer = crate::transfer::ZoneTransfer::default();
            for a in &z.allow_transfer {
                match crate::transfer::Acl::parse(a) {
                    Ok(acl) => transfer.allow.push(acl),
                    Err(e) => errors.push(format!("zone {}: {e}", z.origin)),
                }
            }
            for n in &z.notify {
                match n.parse::<SocketAddr>() {
                    Ok(a) => transfer.notify.push(a),
                    Err(_) => errors.push(format!(
                        "zone {}: notify {n:?} is not ADDR:PORT (IPv6 as [::1]:53)",
                        z.origin
                    )),
                }
            }
            match primary {
                Some(Ok(p)) => transfer.primary = Some(p),
                Some(Err(e)) => errors.push(format!("zone {}: {e}", z.origin)),
                None => {}
            }
            let serial_policy = match z
                .serial_policy
                .as_deref()
                .map(crate::transfer::reload::SerialPolicy::parse)
            {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    errors.push(format!("zone {}: {e}", z.origin));
                    Default::default()
                }
                None => Default::default(),
            };
            add_zone(
                &mut zones,
                &z.origin,
                z.file.map(relative),
                route53,
                &mut errors,
            );
            if let Some(last) = zones.iter_mut().find(|x| {
                name::to_text(&x.origin)
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case(z.origin.trim_end_matches('.'))
            }) {
                last.transfer.allow.extend(transfer.allow);
                last.transfer.notify.extend(transfer.notify);
                last.transfer.primary = last.transfer.primary.take().or(transfer.primary);
                last.serial_policy = serial_policy;
            }
        }
        for spec in &cli.zones {
            match spec.split_once('=') {
                Some((o, f)) if !o.is_empty() && !f.is_empty() => add_zone(&mut zones, o, Some(PathBuf::from(f)), Vec::new(), &mut errors),
                _ => errors.push(format!("--zone {spec:?}: expected ORIGIN=FILE, e.g. example.test.=zones/example.test.zone")),
            }
        }
        for spec in &cli.route53 {
            match spec.split_once('=') {
                Some((o, f)) if !o.is_empty() && !f.is_empty() => add_zone(&mut zones, o, None, vec![PathBuf::from(f)], &mut errors),
                _ => errors.push(format!("--route53 {spec:?}: expected ORIGIN=FILE, e.g. route53.test.=zones/route53/example.json")),
            }
        }
        for spec in &cli.secondaries {
            let parsed = spec.split_once('=').and_then(|(o, rest)| {
                let (addr, key) = match rest.split_once('@') {
                    Some((a, k)) => (a, Some(k.to_string())),
                    None => (rest, None),
                };
                (!o.is_empty()).then(|| (o, parse_primary(addr, key)))
            });
            match parsed {
                Some((o, Ok(p))) => {
                    add_zone(&mut zones, o, None, Vec::new(), &mut errors);
                    let text = if o.ends_with('.') { o.to_string() } else { format!("{o}.") };
                    if let Some(z) = name::from_text(&text, None).ok().and_then(|w| {
                        let w = name::to_lowercase(&w);
                        zones.iter_mut().find(|z| z.origin == w)
                    }) {
                        if z.file.is_some() || !z.route53.is_empty() {
                            errors.push(format!("--secondary {spec}: zone {text} also has local data (--zone/--route53)"));
                        }
                        z.transfer.primary = Some(p);
                    }
                }
                Some((_, Err(e))) => errors.push(format!("--secondary {spec:?}: {e}")),
                None => errors.push(format!("--secondary {spec:?}: expected ORIGIN=ADDR:PORT or ORIGIN=ADDR:PORT@KEYNAME, e.g. example.test.=127.0.0.1:53")),
            }
        }
        for a in &cli.allow_transfer {
            match crate::transfer::Acl::parse(a) {
                Ok(acl) => zones
                    .iter_mut()
                    .for_each(|z| z.transfer.allow.push(acl.clone())),
                Err(e) => errors.push(format!("--{e}")),
            }
        }
        for n in &cli.notify {
            match n.parse::<SocketAddr>() {
                Ok(addr) => zones
                    .iter_mut()
                    .filter(|z| z.transfer.primary.is_none())
                    .for_each(|z| z.transfer.notify.push(addr)),
                Err(_) => errors.push(format!(
                    "--notify {n:?}: expected ADDR:PORT, e.g. 127.0.0.1:5300"
                )),
            }
        }
        // The policy a primary sent with each secondary zone (saved beside the zone by the
        // transfer), merged as if it were written here.
        let state_dir: Option<PathBuf> = cli.state_dir.as_ref().map(PathBuf::from).or_else(|| {
            s.state_dir
                .clone()
                .map(|g| if g.is_relative() { base.join(g) } else { g })
        });
        let mut fragment_checks: Vec<(String, String)> = Vec::new();
        if let Some(dir) = &state_dir {
            for z in zones.iter().filter(|z| z.transfer.primary.is_some()) {
                let path = crate::transfer::secondary::policy_file(dir, &z.origin);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                match toml::from_str::<Fragment>(&text) {
                    Ok(f) => {
                        file.record_set.extend(f.record_set);
                        file.health_check.extend(f.health_check);
                        file.cidr_collection.extend(f.cidr_collection);
                        file.load_balancer.extend(f.load_balancer);
                        if let Some(json) = f.route53_health_checks {
                            fragment_checks.push((path.display().to_string(), json));
                        }
                    }
                    Err(e) => errors.push(format!("{}: {e}", path.display())),
                }
            }
        }
        let mut tsig_keys = crate::transfer::tsig::KeyRing::default();
        for k in file.tsig_key {
            match crate::transfer::tsig::Key::new(&k.name, &k.algorithm, &k.secret) {
                Ok(key) => tsig_keys.insert(key),
                Err(e) => errors.push(format!("tsig_key: {e}")),
            }
        }
        for k in &cli.tsig_keys {
            match crate::transfer::tsig::Key::parse_spec(k) {
                Ok(key) => tsig_keys.insert(key),
                Err(e) => errors.push(format!("--tsig-key: {e}")),
            }
        }
        for z in &zones {
            let zt = name::to_text(&z.origin);
            for a in &z.transfer.allow {
                if let crate::transfer::Acl::Key(k) = a {
                    if tsig_keys.get(k).is_none() {
                        errors.push(format!("zone {zt}: allow-transfer names key {} which is not defined (add --tsig-key NAME:hmac-sha256:SECRET or a [[tsig_key]] table)", name::to_text(k)));
                    }
                }
            }
            if let Some(k) = z.transfer.primary.as_ref().and_then(|p| p.key.as_ref()) {
                if tsig_keys.by_text(k).is_none() {
                    errors.push(format!("zone {zt}: primary key {k:?} is not defined (add --tsig-key {k}:hmac-sha256:SECRET or a [[tsig_key]] table)"));
                }
            }
        }
        if zones.is_empty() {
            errors.push(
                "no zones to serve: add [[zone]] tables to the config, --zone ORIGIN=FILE or --route53 ORIGIN=FILE".into(),
            );
        }

        let edns_payload = s.edns_payload.unwrap_or(1232);
        if !(512..=4096).contains(&edns_payload) {
            errors.push(format!(
                "edns_payload {edns_payload} must be between 512 and 4096"
            ));
        }
        let tcp_max_connections = s.tcp_max_connections.unwrap_or(1024);
        if tcp_max_connections == 0 {
            errors.push("tcp_max_connections must be at least 1".into());
        }
        let nonempty = |v: Option<String>| {
            v.filter(|s| !s.is_empty())
                .map(|s| s.into_bytes().into_boxed_slice())
        };
        let defaults = Options::default();
        let options = Options {
            edns_payload,
            minimal_responses: s.minimal_responses.unwrap_or(false),
            version: match s.version {
                Some(v) => nonempty(Some(v)),
                None => defaults.version,
            },
            identity: nonempty(s.identity),
            nsid: nonempty(s.nsid),
        };
        let status_listen = match cli.status_listen.clone().or(s.status_listen.clone()) {
            None => None,
            Some(text) => match text.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.push(format!(
                        "status_listen {text:?} is not IP:PORT, e.g. 127.0.0.1:8053"
                    ));
                    None
                }
            },
        };
        let where_ = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "command line".into());
        let mut health = BTreeMap::new();
        let mut probes = BTreeMap::new();
        let mut calculated = BTreeMap::new();
        let mut imported = Vec::new();
        let mut route53_checks = BTreeMap::new();
        let texts = cli
            .health_checks
            .iter()
            .map(|f| {
                (
                    f.clone(),
                    std::fs::read_to_string(f).map_err(|e| e.to_string()),
                )
            })
            .chain(fragment_checks.into_iter().map(|(f, t)| (f, Ok(t))));
        for (file, text) in texts {
            match text.and_then(|t| crate::health::import_route53(&t).map(|c| (c, t))) {
                Ok((checks, text)) => {
                    imported.extend(checks);
                    route53_checks.extend(route53_check_objects(&text));
                }
                Err(e) => errors.push(format!("{file}: {e}")),
            }
        }
        let toml_checks = file
            .health_check
            .iter()
            .map(|h| (h.id.clone(), h.healthy, check_spec(h)));
        for (id, initial, spec) in
            toml_checks.chain(imported.into_iter().map(|(id, spec)| (id, true, spec)))
        {
            match spec.build() {
                Ok(crate::health::Built::Probe(p)) => {
                    probes.insert(id.clone(), *p);
                }
                Ok(crate::health::Built::Calculated(c)) => {
                    calculated.insert(id.clone(), c);
                }
                Ok(crate::health::Built::Static) => {}
                Err(e) => errors.push(format!("{where_}: health_check {id:?}: {e}")),
            }
            if health.insert(id.clone(), initial).is_some() {
                errors.push(format!("{where_}: health_check {id:?} is defined twice"));
            }
        }
        for (id, c) in &calculated {
            for child in &c.children {
                if !health.contains_key(child) {
                    errors.push(format!(
                        "{where_}: calculated health_check {id:?}: child {child:?} is not defined"
                    ));
                }
                if calculated.contains_key(child) {
                    errors.push(format!("{where_}: calculated health_check {id:?}: child {child:?} is itself calculated (Route 53 allows no nesting)"));
                }
            }
        }
        let mut cidr_collections = BTreeMap::new();
        let mut raw_collections: Vec<(String, String, BTreeMap<String, Vec<String>>)> = Vec::new();
        for c in file.cidr_collection {
            let what = format!("{where_}: cidr_collection {:?}", c.id);
            match (c.locations, c.route53) {
                (Some(l), None) => raw_collections.push((c.id, what, l)),
                (None, Some(p)) => match crate::route53::read_cidr_blocks(&relative(p)) {
                    Ok(l) => raw_collections.push((c.id, what, l)),
                    Err(e) => errors.push(format!("{what}: {e}")),
                },
                _ => errors.push(format!("{what}: give either locations = {{ ... }} or route53 = \"BLOCKS.json\" (aws route53 list-cidr-blocks output)")),
            }
        }
        for spec in &cli.cidr_collections {
            match spec.split_once('=') {
                Some((id, f)) if !id.is_empty() && !f.is_empty() => {
                    let what = format!("--cidr-collection {id}");
                    match crate::route53::read_cidr_blocks(Path::new(f)) {
                        Ok(l) => raw_collections.push((id.to_string(), what, l)),
                        Err(e) => errors.push(format!("{what}: {e}")),
                    }
                }
                _ => errors.push(format!("--cidr-collection {spec:?}: expected COLLECTION_ID=FILE with the output of aws route53 list-cidr-blocks --collection-id COLLECTION_ID")),
            }
        }
        for (id, what, raw) in raw_collections {
            let mut locations = BTreeMap::new();
            for (loc, blocks) in raw {
                let mut nets = Vec::new();
                for b in blocks {
                    match parse_block(&b) {
                        Ok(n) => nets.push(n),
                        Err(e) => errors.push(format!("{what} location {loc:?}: {e}")),
                    }
                }
                locations.insert(loc, nets);
            }
            if cidr_collections.insert(id.clone(), locations).is_some() {
                errors.push(format!("{what}: cidr_collection {id:?} is defined twice"));
            }
        }
        let mut load_balancers: Vec<LoadBalancerConfig> = Vec::new();
        for lb in file.load_balancer {
            let what = format!("{where_}: load_balancer {:?}", lb.name);
            let text = if lb.name.ends_with('.') {
                lb.name.clone()
            } else {
                format!("{}.", lb.name)
            };
            let name = match name::from_text(&text, None) {
                Ok(n) => name::to_lowercase(&n),
                Err(e) => {
                    errors.push(format!("{what}: {e}"));
                    continue;
                }
            };
            if load_balancers.iter().any(|l| l.name == name) {
                errors.push(format!("{what} is defined twice"));
            }
            if lb.zones.is_empty() {
                errors.push(format!("{what} has no zones"));
            }
            let mut targets = Vec::new();
            for (g, tg) in lb.target_groups.iter().enumerate() {
                let group_check = tg.health_check.clone().unwrap_or_default().build();
                if let Err(e) = &group_check {
                    errors.push(format!(
                        "{what}: target group {:?} health_check: {e}",
                        tg.name
                    ));
                }
                for t in &tg.targets {
                    let check = match (t.ip_address, &group_check) {
                        (None, _) => t.health_check.clone(),
                        (Some(ip), Ok(c)) => {
                            match probed_target(&lb.name, tg, t, ip, c, &mut health, &mut probes) {
                                Ok(id) => Some(id),
                                Err(e) => {
                                    errors.push(format!(
                                        "{what}: target group {:?} target {ip}: {e}",
                                        tg.name
                                    ));
                                    None
                                }
                            }
                        }
                        (Some(_), Err(_)) => None,
                    };
                    match lb.zones.iter().position(|z| z.name == t.zone) {
                        Some(z) => targets.push((g, z, check)),
                        None => errors.push(format!("{what}: target group {:?} has a target in zone {:?}, which the load balancer does not list", tg.name, t.zone)),
                    }
                    if let Some(hc) = &t.health_check {
                        if !health.contains_key(hc) {
                            errors.push(format!("{what}: health_check {hc:?} is not defined in a [[health_check]] table"));
                        }
                    }
                }
            }
            load_balancers.push(LoadBalancerConfig {
                name,
                cross_zone: lb.cross_zone,
                zones: lb
                    .zones
                    .into_iter()
                    .map(|z| crate::policy::elb::AvailabilityZone {
                        name: z.name,
                        ipv4: z.ipv4,
                        ipv6: z.ipv6,
                    })
                    .collect(),
                target_groups: lb.target_groups.into_iter().map(|t| t.name).collect(),
                targets,
            });
        }
        let mut record_sets = Vec::new();
        for (i, r) in file.record_set.into_iter().enumerate() {
            let defined_at = format!("{where_} record_set {}", i + 1);
            match record_set(r, &defined_at) {
                Ok(spec) => {
                    if let Some(hc) = &spec.health_check {
                        if !health.contains_key(hc) {
                            errors.push(format!("{defined_at}: health_check {hc:?} is not defined in a [[health_check]] table"));
                        }
                    }
                    if let RuleSpec::IpBased {
                        collection,
                        location,
                    } = &spec.rule
                    {
                        match cidr_collections.get(collection) {
                            None => errors.push(format!(
                                "{defined_at}: cidr_collection {collection:?} is not defined"
                            )),
                            Some(locs) => {
                                if let Some(l) = location {
                                    if !locs.contains_key(l) {
                                        errors.push(format!("{defined_at}: cidr_collection {collection:?} has no location {l:?}"));
                                    }
                                }
                            }
                        }
                    }
                    record_sets.push(spec);
                }
                Err(e) => errors.push(format!("{defined_at}: {e}")),
            }
        }
        let mut groups: BTreeMap<(String, u16), Vec<&RecordSetSpec>> = BTreeMap::new();
        for r in &record_sets {
            let inside = name::from_text(&r.name, None)
                .map(|n| {
                    zones
                        .iter()
                        .any(|z| name::is_subdomain(&name::to_lowercase(&n), &z.origin))
                })
                .unwrap_or(false);
            if !inside {
                errors.push(format!(
                    "{}: {r} is in none of the configured zones",
                    r.defined_at
                ));
            }
            groups
                .entry((r.name.to_ascii_lowercase(), r.rtype))
                .or_default()
                .push(r);
        }
        for g in groups.values() {
            errors.extend(crate::policy::spec::validate_group(g));
        }
        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors.join("\n")));
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let udp_workers = match cli.udp_workers.or(s.udp_workers) {
            None | Some(0) => cores,
            Some(n) => n,
        };
        Ok(Config {
            listen,
            default_listen,
            udp_workers,
            tcp_idle_timeout: Duration::from_secs(s.tcp_idle_timeout_secs.unwrap_or(10).max(1)),
            tcp_max_connections,
            options,
            zones,
            record_sets,
            health,
            probes,
            calculated,
            cidr_collections,
            load_balancers,
            geoip: cli.geoip.as_ref().map(PathBuf::from).or_else(|| {
                s.geoip
                    .map(|g| if g.is_relative() { base.join(g) } else { g })
            }),
            status_listen,
            latency_map: cli.latency_map.as_ref().map(PathBuf::from).or_else(|| {
                s.latency_map
                    .map(|g| if g.is_relative() { base.join(g) } else { g })
            }),
            source: path.map(Path::to_path_buf),
            tsig_keys,
            state_dir,
            raw_policy: RawPolicy {
                health_checks: raw_tables(&raw, "health_check", "id"),
                load_balancers: raw_tables(&raw, "load_balancer", "name")
                    .into_iter()
                    .map(|(n, v)| (n.trim_end_matches('.').to_ascii_lowercase(), v))
                    .collect(),
                route53_health_checks: route53_checks,
            },
        })
    }
}

/// `ADDR:PORT` of a primary, with an optional key name.
fn parse_primary(addr: &str, key: Option<String>) -> Result<crate::transfer::Primary, String> {
    let addr = addr
        .parse::<SocketAddr>()
        .map_err(|_| format!("primary {addr:?} is not ADDR:PORT (IPv6 as [::1]:53)"))?;
    Ok(crate::transfer::Primary { addr, key })
}

/// Adds a zone, or data to a zone of the same origin: one zone file per zone, any number of
/// Route 53 JSON files.
fn add_zone(
    zones: &mut Vec<ZoneSpec>,
    origin: &str,
    file: Option<PathBuf>,
    route53: Vec<PathBuf>,
    errors: &mut Vec<String>,
) {
    let text = if origin.ends_with('.') {
        origin.to_string()
    } else {
        format!("{origin}.")
    };
    let o = match name::from_text(&text, None) {
        Ok(o) => name::to_lowercase(&o),
        Err(e) => return errors.push(format!("zone origin {origin:?}: {e}")),
    };
    match zones.iter_mut().find(|z| z.origin == o) {
        None => zones.push(ZoneSpec {
            origin: o,
            file,
            route53,
            transfer: Default::default(),
            serial_policy: Default::default(),
        }),
        Some(z) => {
            if file.is_some() && z.file.is_some() {
                errors.push(format!("zone {text} is configured twice"));
                return;
            }
            z.file = z.file.take().or(file);
            z.route53.extend(route53);
        }
    }
}

/// One `[[record_set]]` table → its spec; exactly one policy key (none: simple).
fn record_set(r: RecordSetSection, _defined_at: &str) -> Result<RecordSetSpec, String> {
    let name = if r.name.ends_with('.') {
        r.name.clone()
    } else {
        format!("{}.", r.name)
    };
    name::from_text(&name, None).map_err(|e| format!("name {:?}: {e}", r.name))?;
    let rtype =
        types::from_mnemonic(&r.rtype).ok_or_else(|| format!("unknown type {:?}", r.rtype))?;
    let mut rules = Vec::new();
    if let Some(w) = r.weight {
        let w = u8::try_from(w).map_err(|_| format!("weight {w} is outside 0..255"))?;
        rules.push(RuleSpec::Weighted(w));
    }
    if let Some(f) = &r.failover {
        rules.push(RuleSpec::Failover(match f.to_ascii_uppercase().as_str() {
            "PRIMARY" => FailoverRole::Primary,
            "SECONDARY" => FailoverRole::Secondary,
            _ => return Err(format!("failover {f:?} must be PRIMARY or SECONDARY")),
        }));
    }
    if let Some(g) = &r.geolocation {
        rules.push(RuleSpec::Geolocation(geo_key(
            g.continent.as_deref(),
            g.country.as_deref(),
            g.subdivision.as_deref(),
        )?));
    }
    if let Some(region) = &r.region {
        rules.push(RuleSpec::Latency(region.clone()));
    }
    if let Some(p) = &r.geoproximity {
        let at = match (&p.region, p.latitude, p.longitude) {
            (Some(region), None, None) => ProximityAt::Region(region.clone()),
            (None, Some(lat), Some(lon)) => ProximityAt::Coordinates(lat, lon),
            _ => return Err("geoproximity takes either region or latitude and longitude".into()),
        };
        let bias = crate::policy::spec::bias(p.bias)
            .ok_or_else(|| format!("bias {} is outside -99..99", p.bias))?;
        rules.push(RuleSpec::Geoproximity { at, bias });
    }
    if let Some(c) = &r.cidr {
        rules.push(RuleSpec::IpBased {
            collection: c.collection.clone(),
            location: (c.location != "*").then(|| c.location.clone()),
        });
    }
    if r.multivalue == Some(true) {
        rules.push(RuleSpec::Multivalue);
    }
    Ok(RecordSetSpec {
        name,
        rtype,
        set_identifier: r.set_identifier,
        ttl: r.ttl.unwrap_or(300),
        values: r.values,
        alias: r.alias.map(|a| AliasSpec {
            dns_name: if a.name.ends_with('.') {
                a.name
            } else {
                format!("{}.", a.name)
            },
            evaluate_target_health: a.evaluate_target_health,
        }),
        health_check: r.health_check,
        consistent: r.consistent,
        rule: crate::policy::spec::single_rule(rules)?,
        defined_at: _defined_at.to_string(),
    })
}

/// A CIDR block as written (`192.0.2.0/24`), refused when host bits are set.
pub fn parse_block(text: &str) -> Result<IpNetwork, String> {
    match text.parse::<IpNetwork>() {
        Ok(n) if n.network() == n.ip() => Ok(n),
        Ok(_) => Err(format!("{text} has host bits set")),
        Err(e) => Err(format!("{text:?}: {e}")),
    }
}

/// A geolocation: a continent, a country (`*`: the default), or a country and a subdivision.
pub(crate) fn geo_key(
    continent: Option<&str>,
    country: Option<&str>,
    subdivision: Option<&str>,
) -> Result<GeoKey, String> {
    let two = |s: &str, what: &str| -> Result<[u8; 2], String> {
        let b = s.to_ascii_uppercase().into_bytes();
        b.try_into()
            .map_err(|_| format!("{what} {s:?} is not a two-letter code"))
    };
    match (continent, country, subdivision) {
        (Some(c), None, None) => {
            let code = two(c, "continent")?;
            if !matches!(&code, b"AF" | b"AN" | b"AS" | b"EU" | b"OC" | b"NA" | b"SA") {
                return Err(format!("continent {c:?} is not one of AF AN AS EU OC NA SA"));
            }
            Ok(GeoKey::Continent(code))
        }
        (None, Some("*"), None) => Ok(GeoKey::Default),
        (None, Some(c), None) => Ok(GeoKey::Country(two(c, "country")?)),
        (None, Some(c), Some(s)) => {
            let sub = s.to_ascii_uppercase().into_bytes();
            if sub.is_empty() || sub.len() > 3 {
                return Err(format!("subdivision {s:?} must be 1 to 3 characters"));
            }
            let mut code = [0u8; 3];
            code[..sub.len()].copy_from_slice(&sub);
            Ok(GeoKey::Subdivision(two(c, "country")?, code))
        }
        _ => Err("geolocation takes a continent, a country (\"*\" for the default), or a country and a subdivision".into()),
    }
}

/// A target given by address: its ELB check joins the probed checks under an id naming the
/// load balancer, group and address; it starts unhealthy ("initial": not routed to until it
/// passes once).
fn probed_target(
    lb: &str,
    group: &TargetGroupSection,
    t: &TargetSection,
    ip: std::net::IpAddr,
    check: &crate::health::elb::TargetGroupCheck,
    health: &mut BTreeMap<String, bool>,
    probes: &mut BTreeMap<String, crate::health::ProbeConfig>,
) -> Result<String, String> {
    if t.health_check.is_some() {
        return Err("give either health_check = \"ID\" or ip_address (probed by the target group's health_check), not both".into());
    }
    let port = t.port.or(group.port);
    let probe = check.probe(ip, port)?;
    let id = crate::health::elb::target_check_id(lb, &group.name, ip, port);
    if health.insert(id.clone(), false).is_some() {
        return Err(format!("registered twice (health check {id:?})"));
    }
    probes.insert(id.clone(), probe);
    Ok(id)
}

/// The check a `[[health_check]]` describes: a probe, a calculated check, or neither (its state
/// is then the configured `healthy`).
fn check_spec(h: &HealthCheckSection) -> crate::health::CheckSpec {
    crate::health::CheckSpec {
        kind: h.kind.clone(),
        ip_address: h.ip_address,
        fqdn: h.fully_qualified_domain_name.clone(),
        port: h.port,
        resource_path: h.resource_path.clone(),
        search_string: h.search_string.clone(),
        request_interval: h.request_interval,
        failure_threshold: h.failure_threshold,
        inverted: h.inverted,
        disabled: h.disabled,
        validate_certs: h.validate_certificates,
        enable_sni: h.enable_sni,
        reuse_connection: h.reuse_connection,
        children: h.child_health_checks.clone(),
        health_threshold: h.health_threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempdir::Dir, PathBuf) {
        let d = tempdir::Dir::new();
        let p = d.0.join("c.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "policydns-config-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn zone_paths_are_relative_to_the_config_file() {
        let (d, p) = write("[[zone]]\norigin = \"example.test\"\nfile = \"e.zone\"\n");
        let c = Config::load(Some(&p), &Overrides::default()).unwrap();
        assert_eq!(c.zones[0].file, Some(d.0.join("e.zone")));
        assert_eq!(
            c.zones[0].origin,
            name::from_text("example.test.", None).unwrap()
        );
        assert!(c.default_listen);
    }

    #[test]
    fn command_line_listen_replaces_and_zones_add() {
        let (_d, p) = write(
            "[server]\nlisten=[\"127.0.0.1:1\"]\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n",
        );
        let cli = Overrides {
            listen: vec!["127.0.0.1:2".into()],
            zones: vec!["b.test.=b".into()],
            ..Overrides::default()
        };
        let c = Config::load(Some(&p), &cli).unwrap();
        assert_eq!(c.listen, vec!["127.0.0.1:2".parse().unwrap()]);
        assert_eq!(c.zones.len(), 2);
    }

    #[test]
    fn a_zone_file_and_route53_json_for_one_origin_make_one_zone() {
        let (d, p) = write(
            "[[zone]]\norigin = \"a.test.\"\nroute53 = [\"a.json\", \"b.json\"]\n[[zone]]\norigin = \"b.test.\"\nroute53 = \"c.json\"\n",
        );
        let cli = Overrides {
            zones: vec!["a.test.=a.zone".into()],
            route53: vec!["b.test=d.json".into()],
            ..Overrides::default()
        };
        let c = Config::load(Some(&p), &cli).unwrap();
        assert_eq!(c.zones.len(), 2);
        assert_eq!(c.zones[0].file, Some(PathBuf::from("a.zone")));
        assert_eq!(
            c.zones[0].route53,
            vec![d.0.join("a.json"), d.0.join("b.json")]
        );
        assert_eq!(c.zones[1].file, None);
        assert_eq!(
            c.zones[1].route53,
            vec![d.0.join("c.json"), PathBuf::from("d.json")]
        );
        let twice = Overrides {
            zones: vec!["a.test.=a.zone".into(), "a.test.=b.zone".into()],
            ..Overrides::default()
        };
        let e = Config::load(None, &twice).unwrap_err().to_string();
        assert!(e.contains("zone a.test. is configured twice"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let (_d, p) = write("[server]\nlisen = []\n");
        let e = Config::load(Some(&p), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("lisen"), "{e}");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let cli = Overrides {
            listen: vec!["localhost".into()],
            zones: vec!["nofile".into()],
            ..Overrides::default()
        };
        let e = Config::load(None, &cli).unwrap_err().to_string();
        assert!(e.contains("IP:PORT") && e.contains("ORIGIN=FILE"), "{e}");
    }

    #[test]
    fn empty_version_refuses_version_queries() {
        let (_d, p) =
            write("[server]\nversion = \"\"\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n");
        let c = Config::load(Some(&p), &Overrides::default()).unwrap();
        assert!(c.options.version.is_none());
    }
}
