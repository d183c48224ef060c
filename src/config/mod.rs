//! The TOML configuration and the command line's quick mode, validated into one typed
//! [`Config`]. Problems are reported with what to change, before anything is served; every
//! problem found is reported, not only the first.
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
//! cookies = true             # DNS cookies (RFC 7873/9018); cookie_secret = ["32 hex digits", …]
//! tcp_idle_timeout_secs = 10
//! tcp_max_connections = 1024
//! tcp_max_connections_per_network = 256   # per /24 (IPv4) or /56 (IPv6)
//!
//! [[zone]]
//! origin = "example.test."
//! file = "example.test.zone"   # relative to this config file
//! route53 = "records.json"     # and/or Route 53 JSON (a list, applied in order)
//! ```
//!
//! `docs/configuration.md` is the reference for every table and flag. The work is split by
//! what a part of the file describes: [`file`] (the tables as written), [`zones`] (zones,
//! transfers, TSIG keys), [`health`] (health checks), [`policy`] (CIDR collections, load
//! balancers, routing-policy record sets).

mod api;
mod file;
mod health;
mod policy;
mod views;
mod zones;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnetwork::IpNetwork;

use crate::policy::spec::RecordSetSpec;
use crate::snapshot::Options;

pub use api::ApiConfig;
pub use policy::{LoadBalancerConfig, TargetConfig};
pub use views::ViewSpec;
pub use zones::ZoneSpec;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    /// Every problem found, one per line. `zones` are the zones the configuration names, so
    /// that `check` can look at their files too.
    #[error("{}", problems.join("\n"))]
    Invalid {
        problems: Vec<String>,
        zones: Vec<ZoneSpec>,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Loaded to be looked at (`check`, `explain`), not served: nothing is written to the
    /// state directory (a signed zone without keys is signed with throwaway ones).
    pub dry_run: bool,
    pub listen: Vec<SocketAddr>,
    /// True when the listen addresses are the built-in defaults: a default address that cannot
    /// be bound (no IPv6 on the host) is skipped with a warning rather than fatal.
    pub default_listen: bool,
    pub udp_workers: usize,
    pub tcp_idle_timeout: Duration,
    /// TCP connections at once, in all and per client network.
    pub tcp_connections: crate::server::tcp::clients::ConnectionLimits,
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
    /// Where dnstap goes, if on (read at start only).
    pub dnstap: Option<crate::dnstap::Destination>,
    /// The file this came from, re-read on SIGHUP.
    pub source: Option<PathBuf>,
    pub tsig_keys: crate::transfer::tsig::KeyRing,
    /// Where secondary zones are kept.
    pub state_dir: Option<PathBuf>,
    /// Refuse to start when any zone fails to load (for CI pipelines); otherwise a zone that
    /// fails answers SERVFAIL and the others serve.
    pub strict: bool,
    /// Policy definitions as written, for carrying a zone's policy to policydns secondaries.
    pub raw_policy: RawPolicy,
    /// The Route 53 API, when it listens.
    pub api: Option<ApiConfig>,
    /// The API store's sequence number whose health checks and CIDR collections this holds.
    pub api_seq: u64,
    /// `[[view]]` tables in order; empty: one answer for everyone.
    pub views: Vec<ViewSpec>,
}

/// `[[health_check]]` and `[[load_balancer]]` tables as written (by id, by lowercase name
/// without the final dot), and Route 53 health-check objects as read (by id).
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub health_checks: BTreeMap<String, toml::Value>,
    pub load_balancers: BTreeMap<String, toml::Value>,
    pub route53_health_checks: BTreeMap<String, serde_json::Value>,
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
    /// `--dnstap PATH|unix:PATH`, replacing the file's `dnstap`.
    pub dnstap: Option<String>,
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
    /// `--strict`: refuse to start when a zone fails to load.
    pub strict: bool,
    /// `--api-listen ADDR`, replacing `[api] listen`.
    pub api_listen: Vec<String>,
    /// `--api-key AKID:SECRET`, added to `[[api.key]]`.
    pub api_keys: Vec<String>,
    /// `--allow-update CIDR|key:NAME`: who may send dynamic updates to the hosted zones.
    pub allow_update: Vec<String>,
    /// `--rrl RATE`: response-rate limiting at RATE answers per second per client network.
    pub rrl: Option<u32>,
    /// `--sign ORIGIN`: serve that zone signed, as `dnssec = true` does.
    pub sign: Vec<String>,
    /// What the Route 53 API's store adds (the running server passes it on reload).
    pub api: ApiInputs,
}

/// The Route 53 API store's part of the configuration: its health checks and CIDR
/// collections, probed and matched like the configuration's own.
#[derive(Debug, Clone, Default)]
pub struct ApiInputs {
    /// `list-health-checks` JSON.
    pub health_checks: Option<String>,
    /// Collection id → location → CIDR blocks.
    pub cidr_collections: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The store's sequence number these were read at.
    pub seq: u64,
}

/// Paths in the file are relative to the file's directory.
struct Base<'a>(&'a Path);

impl Base<'_> {
    fn join(&self, p: PathBuf) -> PathBuf {
        if p.is_relative() {
            self.0.join(p)
        } else {
            p
        }
    }
}

impl Config {
    /// Builds the configuration from an optional file and the command line.
    pub fn load(path: Option<&Path>, cli: &Overrides) -> Result<Config, ConfigError> {
        let file::Source {
            mut file,
            base,
            raw,
            problems,
        } = file::read(path)?;
        let base = Base(&base);
        let mut errors = problems;
        let s = std::mem::take(&mut file.server);

        let (listen, default_listen) = listen_addresses(s.listen.clone(), cli, &mut errors);
        let state_dir: Option<PathBuf> = cli
            .state_dir
            .as_ref()
            .map(PathBuf::from)
            .or_else(|| s.state_dir.clone().map(|g| base.join(g)));
        let views = views::views(std::mem::take(&mut file.view), &mut errors);
        let zones = zones::specs(
            std::mem::take(&mut file.zone),
            &base,
            cli,
            &views,
            &mut errors,
        );
        // The policy a primary sent with each secondary zone (saved beside the zone by the
        // transfer), merged as if it were written here.
        let mut fragment_checks =
            zones::merge_fragments(&mut file, &zones, &state_dir, &mut errors);
        if let Some(json) = &cli.api.health_checks {
            fragment_checks.push(("the API's health checks".to_string(), json.clone()));
        }
        for z in zones.iter().filter(|z| z.dnssec && state_dir.is_none()) {
            errors.push(format!(
                "zone {}: dnssec = true: its keys are kept in the state directory; set [server] state_dir or --state-dir",
                crate::wire::name::to_text(&z.origin)
            ));
        }
        let tsig_keys =
            zones::tsig_keys(std::mem::take(&mut file.tsig_key), cli, &zones, &mut errors);
        let api = api::api(
            std::mem::take(&mut file.api),
            &base,
            cli,
            state_dir.as_ref(),
            zones.iter().any(|z| !z.allow_update.is_empty()),
            &mut errors,
        );
        for z in zones.iter().filter(|z| !z.allow_update.is_empty()) {
            for a in &z.allow_update {
                if let crate::transfer::Acl::Key(k) = a {
                    if tsig_keys.get(k).is_none() {
                        errors.push(format!("zone {}: allow_update names key {} which is not defined (add --tsig-key NAME:hmac-sha256:SECRET or a [[tsig_key]] table)", crate::wire::name::to_text(&z.origin), crate::wire::name::to_text(k)));
                    }
                }
            }
        }
        for a in api.iter().flat_map(|a| &a.allow_update) {
            if let crate::transfer::Acl::Key(k) = a {
                if tsig_keys.get(k).is_none() {
                    errors.push(format!("[api] allow_update names key {} which is not defined (add --tsig-key NAME:hmac-sha256:SECRET or a [[tsig_key]] table)", crate::wire::name::to_text(k)));
                }
            }
        }
        if zones.is_empty() && api.is_none() {
            errors.push(
                "no zones to serve: add [[zone]] tables to the config, --zone ORIGIN=FILE or --route53 ORIGIN=FILE".into(),
            );
        }
        let options = answer_options(&s, cli, &mut errors);
        let tcp_connections = tcp_connection_limits(&s, &mut errors);
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

        let mut checks = health::checks(
            &file.health_check,
            &cli.health_checks,
            fragment_checks,
            &mut errors,
        );
        let cidr_collections = policy::cidr_collections(
            std::mem::take(&mut file.cidr_collection),
            &cli.cidr_collections,
            &cli.api.cidr_collections,
            &base,
            &mut errors,
        );
        let load_balancers = policy::load_balancers(
            std::mem::take(&mut file.load_balancer),
            &mut checks,
            &mut errors,
        );
        let record_sets = policy::record_sets(
            std::mem::take(&mut file.record_set),
            &zones,
            &checks.states,
            &cidr_collections,
            &mut errors,
        );
        views::check(
            &views,
            &zones,
            &record_sets,
            &load_balancers,
            &tsig_keys,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(ConfigError::Invalid {
                problems: errors,
                zones,
            });
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let udp_workers = match cli.udp_workers.or(s.udp_workers) {
            None | Some(0) => cores,
            Some(n) => n,
        };
        Ok(Config {
            dry_run: false,
            listen,
            default_listen,
            udp_workers,
            tcp_idle_timeout: Duration::from_secs(s.tcp_idle_timeout_secs.unwrap_or(10).max(1)),
            tcp_connections,
            options,
            zones,
            record_sets,
            health: checks.states,
            probes: checks.probes,
            calculated: checks.calculated,
            cidr_collections,
            load_balancers,
            geoip: cli
                .geoip
                .as_ref()
                .map(PathBuf::from)
                .or_else(|| s.geoip.map(|g| base.join(g))),
            status_listen,
            dnstap: cli.dnstap.clone().or(s.dnstap.clone()).map(|d| {
                match crate::dnstap::Destination::parse(&d) {
                    crate::dnstap::Destination::File(p) => {
                        crate::dnstap::Destination::File(if cli.dnstap.is_some() {
                            p
                        } else {
                            base.join(p)
                        })
                    }
                    crate::dnstap::Destination::Unix(p) => {
                        crate::dnstap::Destination::Unix(if cli.dnstap.is_some() {
                            p
                        } else {
                            base.join(p)
                        })
                    }
                }
            }),
            latency_map: cli
                .latency_map
                .as_ref()
                .map(PathBuf::from)
                .or_else(|| s.latency_map.map(|g| base.join(g))),
            source: path.map(Path::to_path_buf),
            tsig_keys,
            state_dir,
            strict: cli.strict || s.strict.unwrap_or(false),
            raw_policy: RawPolicy {
                health_checks: raw_tables(&raw, "health_check", "id"),
                load_balancers: raw_tables(&raw, "load_balancer", "name")
                    .into_iter()
                    .map(|(n, v)| (n.trim_end_matches('.').to_ascii_lowercase(), v))
                    .collect(),
                route53_health_checks: checks.route53_objects,
            },
            api,
            api_seq: cli.api.seq,
            views,
        })
    }
}

/// The listen addresses: the command line's, else the file's, else the defaults (and whether
/// they are the defaults).
fn listen_addresses(
    from_file: Option<Vec<String>>,
    cli: &Overrides,
    errors: &mut Vec<String>,
) -> (Vec<SocketAddr>, bool) {
    let (text, default_listen) = if !cli.listen.is_empty() {
        (cli.listen.clone(), false)
    } else if let Some(l) = from_file {
        (l, false)
    } else {
        (DEFAULT_LISTEN.iter().map(|s| s.to_string()).collect(), true)
    };
    let mut listen = Vec::new();
    for l in &text {
        match l.parse::<SocketAddr>() {
            Ok(a) if !listen.contains(&a) => listen.push(a),
            Ok(a) => errors.push(format!("listen address {a} is given twice")),
            Err(_) => errors.push(format!(
                "listen address {l:?} is not IP:PORT (IPv6 as [::1]:5353)"
            )),
        }
    }
    (listen, default_listen)
}

/// `[server]`'s answering choices.
fn answer_options(s: &file::ServerSection, cli: &Overrides, errors: &mut Vec<String>) -> Options {
    let edns_payload = s.edns_payload.unwrap_or(1232);
    if !(512..=4096).contains(&edns_payload) {
        errors.push(format!(
            "edns_payload {edns_payload} must be between 512 and 4096"
        ));
    }
    let nonempty = |v: &Option<String>| {
        v.clone()
            .filter(|s| !s.is_empty())
            .map(|s| s.into_bytes().into_boxed_slice())
    };
    let defaults = Options::default();
    Options {
        edns_payload,
        minimal_responses: s.minimal_responses.unwrap_or(false),
        version: match &s.version {
            Some(_) => nonempty(&s.version),
            None => defaults.version,
        },
        identity: nonempty(&s.identity),
        nsid: nonempty(&s.nsid),
        rrl: rrl_settings(s, cli, errors).map(std::sync::Arc::new),
        cookies: cookie_secrets(s, errors).map(std::sync::Arc::new),
    }
}

/// `[server] cookies` and `cookie_secret`: on by default (as in BIND), with a secret of this
/// process's own unless the operator names the ones a set of servers shares.
fn cookie_secrets(
    s: &file::ServerSection,
    errors: &mut Vec<String>,
) -> Option<crate::wire::cookie::Secrets> {
    if !s.cookies.unwrap_or(true) {
        return None;
    }
    let mut secrets = Vec::new();
    for (i, text) in s.cookie_secret.iter().enumerate() {
        match data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()) {
            Ok(b) if b.len() == 16 => secrets.push(<[u8; 16]>::try_from(b).expect("16 octets")),
            // The secret itself is never repeated in a message.
            _ => errors.push(format!(
                "cookie_secret #{}: must be 32 hexadecimal digits (128 bits), e.g. from `openssl rand -hex 16`",
                i + 1
            )),
        }
    }
    let mut secrets = secrets.into_iter();
    let current = secrets.next().unwrap_or_else(process_cookie_secret);
    Some(crate::wire::cookie::Secrets {
        current,
        previous: secrets.collect(),
    })
}

/// A secret made once per process, so cookies stay valid across reloads.
fn process_cookie_secret() -> [u8; 16] {
    static SECRET: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    *SECRET.get_or_init(|| {
        use ring::rand::SecureRandom;
        let mut s = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut s)
            .expect("the system's random source");
        s
    })
}

/// `[server] tcp_max_connections*` and the prefix lengths that make a client network.
fn tcp_connection_limits(
    s: &file::ServerSection,
    errors: &mut Vec<String>,
) -> crate::server::tcp::clients::ConnectionLimits {
    let mut l = crate::server::tcp::clients::ConnectionLimits::default();
    l.max_total = s.tcp_max_connections.unwrap_or(l.max_total);
    if l.max_total == 0 {
        errors.push("tcp_max_connections must be at least 1".into());
    }
    // One network may hold a quarter of the slots unless told otherwise, and never more than
    // all of them.
    l.max_per_network = s
        .tcp_max_connections_per_network
        .unwrap_or(l.max_total.div_ceil(4).max(1))
        .min(l.max_total);
    if s.tcp_max_connections_per_network == Some(0) {
        errors.push("tcp_max_connections_per_network must be at least 1".into());
    }
    l.ipv4_prefix = s.tcp_ipv4_prefix_length.unwrap_or(l.ipv4_prefix);
    l.ipv6_prefix = s.tcp_ipv6_prefix_length.unwrap_or(l.ipv6_prefix);
    if l.ipv4_prefix > 32 || l.ipv6_prefix > 128 {
        errors.push(
            "tcp_ipv4_prefix_length is at most 32 and tcp_ipv6_prefix_length at most 128".into(),
        );
    }
    l
}

/// `[server] rrl_*` and `--rrl RATE`: off unless a rate is given.
fn rrl_settings(
    s: &file::ServerSection,
    cli: &Overrides,
    errors: &mut Vec<String>,
) -> Option<crate::server::rrl::RrlSettings> {
    let rate = cli.rrl.or(s.rrl_responses_per_second).filter(|&r| r > 0)?;
    let mut r = crate::server::rrl::RrlSettings::at_rate(rate);
    r.errors_per_second = s.rrl_errors_per_second.unwrap_or(rate);
    r.window = s.rrl_window.unwrap_or(r.window);
    r.slip = s.rrl_slip.unwrap_or(r.slip);
    r.ipv4_prefix = s.rrl_ipv4_prefix_length.unwrap_or(r.ipv4_prefix);
    r.ipv6_prefix = s.rrl_ipv6_prefix_length.unwrap_or(r.ipv6_prefix);
    if r.window == 0 || r.window > 3600 {
        errors.push(format!(
            "rrl_window {} must be between 1 and 3600 seconds",
            r.window
        ));
    }
    if r.slip > 10 {
        errors.push(format!(
            "rrl_slip {} must be between 0 (drop every limited answer) and 10",
            r.slip
        ));
    }
    if r.ipv4_prefix > 32 || r.ipv6_prefix > 128 {
        errors.push(
            "rrl_ipv4_prefix_length is at most 32 and rrl_ipv6_prefix_length at most 128".into(),
        );
    }
    for e in &s.rrl_exempt {
        match e.parse::<ipnetwork::IpNetwork>() {
            Ok(n) => r.exempt.push(n),
            Err(_) => errors.push(format!("rrl_exempt {e:?} is not an address or CIDR block")),
        }
    }
    Some(r)
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

#[cfg(test)]
mod tests;
