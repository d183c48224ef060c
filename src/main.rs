//! The `policydns` command: `serve`, `check`, `explain`, `import route53`, `export route53`,
//! `dnssec` and `demo failover`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use policydns::config::{Config, ConfigError, Overrides};
use policydns::snapshot::ZoneState;
use policydns::{load, zone};

#[derive(Parser)]
#[command(
    name = "policydns",
    version,
    about = "Authoritative DNS with Route 53-style routing policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve zones over UDP and TCP (with no arguments: the demo zones in zones/ on port 5353).
    Serve(Source),
    /// Validate the configuration and zone files; print each problem as file:line: message.
    Check(Source),
    /// Convert records from another server into a policydns configuration and zone file.
    #[command(subcommand)]
    Import(Import),
    /// Write out what the Route 53 API's store holds, so nothing is locked in.
    #[command(subcommand)]
    Export(Export),
    /// Show how a name is answered for a client: the candidates, their health, where the
    /// client is, and the rule that decides (Route 53's TestDNSAnswer, with reasons).
    Explain(Explain),
    /// DNSSEC keys (keygen, status, ds) and zone files signed ahead of time (sign).
    #[command(subcommand)]
    Dnssec(cli::dnssec::Command),
    /// Demonstrations that run by themselves on loopback and exit.
    #[command(subcommand)]
    Demo(Demo),
}

#[derive(Subcommand)]
enum Demo {
    /// Two HTTP backends, a failover record set checked every second, the primary stopped and
    /// started again: prints what a DNS query gets back and when each flip happened.
    Failover {
        /// Where the demo's DNS server listens.
        #[arg(long, default_value = "127.0.0.1:5353")]
        listen: std::net::SocketAddr,
        /// Seconds the primary backend stays down.
        #[arg(long, default_value_t = 5)]
        down: u64,
    },
}

#[derive(Args)]
struct Explain {
    /// The name asked for.
    name: String,
    /// Record type, e.g. A.
    #[arg(value_name = "TYPE")]
    rtype: String,
    /// The resolver's address.
    #[arg(long, default_value = "127.0.0.1")]
    client: std::net::IpAddr,
    /// EDNS Client Subnet, ADDRESS/PREFIX.
    #[arg(long, value_name = "PREFIX")]
    ecs: Option<String>,
    /// Ask a running server through its Route 53 API (TestDNSAnswer) instead of loading the
    /// configuration here: its live health decides. Credentials from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    #[command(flatten)]
    source: Source,
}

#[derive(Subcommand)]
enum Export {
    /// A hosted zone of the API's store (read from --state-dir, beside a running server or
    /// not): as `aws route53 list-resource-record-sets` JSON, or (--format files) as the
    /// policydns.toml and zone file that `import route53` writes.
    Route53(ExportRoute53),
}

#[derive(Args)]
struct ExportRoute53 {
    /// The hosted zone's name (or its id).
    zone: String,
    /// The server's state directory.
    #[arg(long = "state-dir", value_name = "DIR")]
    state_dir: PathBuf,
    /// json (list-resource-record-sets output) or files (policydns.toml + zone file).
    #[arg(long, default_value = "json")]
    format: String,
}

#[derive(Subcommand)]
enum Import {
    /// Route 53 JSON (aws route53 list-resource-record-sets output, or change batches applied in
    /// order) → policydns.toml ([[record_set]] tables) + ORIGIN.zone (simple record sets).
    /// Without --out both are printed, each under a header line naming its file.
    Route53(ImportRoute53),
}

#[derive(Args)]
struct ImportRoute53 {
    /// JSON files, applied in order.
    #[arg(required = true, value_name = "FILE.json")]
    files: Vec<PathBuf>,
    /// The hosted zone's name, e.g. example.com.
    #[arg(long)]
    origin: String,
    /// A CIDR collection the IP-based record sets use, as COLLECTION_ID=FILE with the output of
    /// aws route53 list-cidr-blocks (repeatable).
    #[arg(long = "cidr-collection", value_name = "ID=FILE")]
    cidr_collection: Vec<String>,
    /// The output of aws route53 list-health-checks: the checks are written as
    /// `[[health_check]]` tables, probed as Route 53 probes them (repeatable).
    #[arg(long = "health-checks", value_name = "FILE.json")]
    health_checks: Vec<PathBuf>,
    /// The output of aws route53 get-hosted-zone: a private hosted zone (PrivateZone: true) is
    /// served in an internal [[view]] named for its VPC.
    #[arg(long = "hosted-zone", value_name = "FILE.json")]
    hosted_zone: Option<PathBuf>,
    /// Who that view holds, as CIDR blocks (the VPCs'); repeatable. Default: the private
    /// address blocks (RFC 1918, fc00::/7) and loopback.
    #[arg(long = "view-clients", value_name = "CIDR")]
    view_clients: Vec<String>,
    /// Write DIR/policydns.toml and DIR/ORIGIN.zone instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With --out: replace files that exist.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct Source {
    /// TOML configuration file.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Address to listen on, UDP and TCP (repeatable; replaces the config's `listen`).
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Vec<String>,
    /// A zone to serve, as ORIGIN=FILE (repeatable; added to the config's zones).
    #[arg(long = "zone", value_name = "ORIGIN=FILE")]
    zone: Vec<String>,
    /// UDP worker threads per listen address (default: one per core).
    #[arg(long)]
    udp_workers: Option<usize>,
    /// GeoIP database (.mmdb) for geolocation, latency and geoproximity routing.
    #[arg(long, value_name = "FILE")]
    geoip: Option<String>,
    /// Route 53 health checks (`aws route53 list-health-checks` output), probed like
    /// `[[health_check]]` tables (repeatable).
    #[arg(long = "health-checks", value_name = "FILE.json")]
    health_checks: Vec<String>,
    /// Serve the status page (/), JSON (/zones, /health-checks) and Prometheus metrics
    /// (/metrics) on ADDR.
    #[arg(long, value_name = "ADDR")]
    status_listen: Option<String>,
    /// Log every query and response as dnstap to a file, or to a collector's socket with
    /// unix:PATH.
    #[arg(long, value_name = "PATH|unix:PATH")]
    dnstap: Option<String>,
    /// Latency map (lines of `CIDR REGION RTT_MS`) for latency routing.
    #[arg(long, value_name = "FILE")]
    latency_map: Option<String>,
    /// Route 53 JSON for a zone, as ORIGIN=FILE: list-resource-record-sets output or a change
    /// batch (repeatable; files of one zone apply in order; beside a --zone of the same origin,
    /// the zone file gives the apex SOA and NS).
    #[arg(long = "route53", value_name = "ORIGIN=FILE")]
    route53: Vec<String>,
    /// A CIDR collection for IP-based record sets, as COLLECTION_ID=FILE with the output of
    /// aws route53 list-cidr-blocks (repeatable).
    #[arg(long = "cidr-collection", value_name = "ID=FILE")]
    cidr_collection: Vec<String>,
    /// Who may transfer every zone (AXFR/IXFR): an address, a CIDR block, or key:NAME
    /// (repeatable; added to each zone's allow_transfer).
    #[arg(long = "allow-transfer", value_name = "CIDR|key:NAME")]
    allow_transfer: Vec<String>,
    /// A TSIG key, as NAME:hmac-sha256:BASE64SECRET (repeatable).
    #[arg(long = "tsig-key", value_name = "NAME:ALG:SECRET")]
    tsig_key: Vec<String>,
    /// A secondary to NOTIFY when a zone's serial changes (repeatable; every primary zone).
    #[arg(long = "notify", value_name = "ADDR:PORT")]
    notify: Vec<String>,
    /// Serve ORIGIN as a secondary of the primary at ADDR:PORT, optionally signing with a key
    /// (repeatable).
    #[arg(long = "secondary", value_name = "ORIGIN=ADDR:PORT[@KEY]")]
    secondary: Vec<String>,
    /// Where transferred zones are kept, so a restart serves at once.
    #[arg(long = "state-dir", value_name = "DIR")]
    state_dir: Option<String>,
    /// Refuse to start when any zone fails to load (without it, a zone that fails answers
    /// SERVFAIL and the others serve).
    #[arg(long)]
    strict: bool,
    /// Serve Route 53's API (SigV4, REST 2013-04-01) on ADDR (repeatable); needs --state-dir
    /// and --api-key. Without it nothing listens.
    #[arg(long = "api-listen", value_name = "ADDR")]
    api_listen: Vec<String>,
    /// An API key pair, as ACCESS_KEY_ID:SECRET_ACCESS_KEY (repeatable); requests must be
    /// signed with one of them.
    #[arg(long = "api-key", value_name = "AKID:SECRET")]
    api_key: Vec<String>,
    /// Who may change the API's hosted zones by dynamic update (RFC 2136): key:NAME (a
    /// --tsig-key) or an address block (repeatable). Without it updates are refused.
    #[arg(long = "allow-update", value_name = "key:NAME|CIDR")]
    allow_update: Vec<String>,
    /// Response-rate limiting: at most RATE alike UDP answers per second to one client network
    /// (window 15 s, slip 2, /24 and /56; the rest in [server] rrl_*). Off by default.
    #[arg(long = "rrl", value_name = "RATE")]
    rrl: Option<u32>,
    /// Serve zone ORIGIN signed (as `dnssec = true` in its [[zone]]); needs --state-dir for
    /// its keys (repeatable).
    #[arg(long = "sign", value_name = "ORIGIN")]
    sign: Vec<String>,
}

/// Used when `serve` is given neither a config nor zones.
const DEMO_CONFIG: &str = "zones/policydns.toml";

impl Source {
    fn config(&self) -> anyhow::Result<Config> {
        self.config_with(Default::default())
    }

    /// The configuration with the API's health checks (`list-health-checks` JSON) added.
    fn config_with(&self, api: policydns::config::ApiInputs) -> anyhow::Result<Config> {
        let overrides = Overrides {
            api,
            listen: self.listen.clone(),
            zones: self.zone.clone(),
            udp_workers: self.udp_workers,
            geoip: self.geoip.clone(),
            latency_map: self.latency_map.clone(),
            health_checks: self.health_checks.clone(),
            status_listen: self.status_listen.clone(),
            dnstap: self.dnstap.clone(),
            route53: self.route53.clone(),
            cidr_collections: self.cidr_collection.clone(),
            allow_transfer: self.allow_transfer.clone(),
            tsig_keys: self.tsig_key.clone(),
            notify: self.notify.clone(),
            secondaries: self.secondary.clone(),
            state_dir: self.state_dir.clone(),
            strict: self.strict,
            api_listen: self.api_listen.clone(),
            api_keys: self.api_key.clone(),
            allow_update: self.allow_update.clone(),
            rrl: self.rrl,
            sign: self.sign.clone(),
        };
        let no_zones = self.zone.is_empty()
            && self.route53.is_empty()
            && self.secondary.is_empty()
            && self.api_listen.is_empty();
        let path = match (&self.config, no_zones) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => {
                let demo = PathBuf::from(DEMO_CONFIG);
                anyhow::ensure!(
                    demo.exists(),
                    "no --config, --zone or --route53 given and {DEMO_CONFIG} does not exist here; run from the repository root or pass --zone ORIGIN=FILE"
                );
                Some(demo)
            }
            (None, false) => None,
        };
        Ok(Config::load(path.as_deref(), &overrides)?)
    }
}

/// The levels `POLICYDNS_LOG` takes, alone or as `TARGET=LEVEL`.
const LOG_LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// `POLICYDNS_LOG` checked before it is used: tracing reads an unknown word as a target name,
/// which would silence every line without a word.
fn log_filter(value: Option<&str>) -> Result<tracing_subscriber::EnvFilter, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok("info".into());
    };
    let wrong = |what: &str| {
        format!(
            "POLICYDNS_LOG={value:?}: {what} is not a log level; use one of {} (or TARGET=LEVEL, e.g. info,policydns::health=debug)",
            LOG_LEVELS.join(", ")
        )
    };
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        if !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(wrong(&format!("{level:?}")));
        }
    }
    tracing_subscriber::EnvFilter::try_new(value).map_err(|e| wrong(&e.to_string()))
}

fn main() -> ExitCode {
    let filter = match log_filter(std::env::var("POLICYDNS_LOG").ok().as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("policydns: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(src) => check(&src),
        Command::Serve(src) => serve(&src),
        Command::Import(Import::Route53(args)) => import_route53(&args),
        Command::Explain(args) => explain(&args),
        Command::Export(Export::Route53(args)) => export_route53(&args),
        Command::Dnssec(cmd) => cli::dnssec::run(&cmd).map(|()| ExitCode::SUCCESS),
        Command::Demo(Demo::Failover { listen, down }) => demo_failover(listen, down),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("policydns: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn demo_failover(listen: std::net::SocketAddr, down: u64) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let mut out = std::io::stdout();
    runtime.block_on(policydns::demo::failover(
        listen,
        std::time::Duration::from_secs(down),
        &mut out,
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn explain(args: &Explain) -> anyhow::Result<ExitCode> {
    if let Some(url) = &args.server {
        return explain_remote(args, url);
    }
    // Looked at, not served: nothing written to the state directory.
    let config = Config {
        dry_run: true,
        ..args.source.config()?
    };
    let built = load::build(&config, None);
    if let Some(f) = built.failures.first() {
        anyhow::bail!("{} does not load:\n{}", f.what, f.error);
    }
    let qtype = policydns::wire::types::from_mnemonic(&args.rtype)
        .with_context(|| format!("unknown record type {:?}", args.rtype))?;
    let ecs = match &args.ecs {
        None => None,
        Some(text) => {
            let (addr, prefix) = text
                .split_once('/')
                .with_context(|| format!("--ecs {text:?}: expected ADDRESS/PREFIX"))?;
            Some((
                addr.parse()
                    .with_context(|| format!("--ecs address {addr:?}"))?,
                prefix
                    .parse()
                    .with_context(|| format!("--ecs prefix {prefix:?}"))?,
            ))
        }
    };
    print!(
        "{}",
        policydns::answer::explain::explain(&built.snapshot, &args.name, qtype, args.client, ecs)
    );
    Ok(ExitCode::SUCCESS)
}

/// `export route53`: a hosted zone of the store as Route 53 JSON or as policydns files.
fn export_route53(args: &ExportRoute53) -> anyhow::Result<ExitCode> {
    let (state, opened) = policydns::store::journal::Journal::read(&args.state_dir)?;
    if let Some(cut) = &opened.cut {
        eprintln!("warning: {cut}");
    }
    let want = policydns::store::key_name(&args.zone);
    let zone = state
        .zones
        .values()
        .find(|z| z.id == args.zone || z.origin() == want)
        .with_context(|| {
            format!(
                "no hosted zone {} in {} (it holds: {})",
                args.zone,
                args.state_dir.display(),
                state
                    .zones
                    .values()
                    .map(|z| z.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "ResourceRecordSets": zone.listed_record_sets()
    }))?;
    match args.format.as_str() {
        "json" => println!("{json}"),
        "files" => {
            // The same conversion `import route53` does, from the same JSON.
            let tmp = std::env::temp_dir().join(format!("policydns-export-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            let records = tmp.join("records.json");
            std::fs::write(&records, &json)?;
            let mut cidr = Vec::new();
            for c in state.cidr_collections.values() {
                let blocks: Vec<serde_json::Value> = c
                    .locations
                    .iter()
                    .flat_map(|(l, bs)| {
                        bs.iter()
                            .map(move |b| serde_json::json!({"CidrBlock": b, "LocationName": l}))
                    })
                    .collect();
                let f = tmp.join(format!("cidr-{}.json", c.id));
                std::fs::write(&f, serde_json::json!({ "CidrBlocks": blocks }).to_string())?;
                cidr.push(format!("{}={}", c.id, f.display()));
            }
            let result = policydns::route53::import(&policydns::route53::ImportSources {
                files: vec![records],
                origin: zone.name.clone(),
                cidr_collections: cidr,
                health_checks: Vec::new(),
                hosted_zone: None,
                view_clients: Vec::new(),
            });
            let _ = std::fs::remove_dir_all(&tmp);
            let files = result.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("# ---- policydns.toml ----");
            println!("{}", files.config_toml);
            println!("; ---- {} ----", files.zone_name);
            print!("{}", files.zone_text);
        }
        other => anyhow::bail!("--format {other:?}: json or files"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `explain --server URL`: the running server's own account, through TestDNSAnswer.
fn explain_remote(args: &Explain, url: &str) -> anyhow::Result<ExitCode> {
    use policydns::api::{sigv4, xml};
    let key = sigv4::Key {
        access_key_id: std::env::var("AWS_ACCESS_KEY_ID")
            .context("--server needs AWS_ACCESS_KEY_ID (one of the server's API keys)")?,
        secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY")
            .context("--server needs AWS_SECRET_ACCESS_KEY")?,
    };
    let url = url.trim_end_matches('/');
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let enc = |s: &str| sigv4::encode(s, false);
    let mut query = format!(
        "recordname={}&recordtype={}&resolverip={}",
        enc(&args.name),
        enc(&args.rtype.to_ascii_uppercase()),
        enc(&args.client.to_string())
    );
    if let Some(text) = &args.ecs {
        let (addr, prefix) = text
            .split_once('/')
            .with_context(|| format!("--ecs {text:?}: expected ADDRESS/PREFIX"))?;
        query.push_str(&format!(
            "&edns0clientsubnetip={}&edns0clientsubnetmask={}",
            enc(addr),
            enc(prefix)
        ));
    }
    let path = "/2013-04-01/testdnsanswer";
    let base = vec![("host".to_string(), host.clone().into_bytes())];
    let req = sigv4::Request {
        method: "GET",
        path,
        query: &query,
        headers: &base,
        body: b"",
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signed = sigv4::sign(&req, &key, &sigv4::ROUTE53, &sigv4::amz_date(now));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, body) = runtime.block_on(async {
        let mut r = reqwest::Client::new().get(format!("{url}{path}?{query}"));
        for (n, v) in &signed {
            r = r.header(n.as_str(), v.as_slice());
        }
        let resp = r.send().await.with_context(|| format!("{url}"))?;
        let status = resp.status().as_u16();
        anyhow::Ok((status, resp.bytes().await?))
    })?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap_or("");
        let message = text
            .split("<Message>")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap_or(&text);
        anyhow::bail!("{url}: HTTP {status} {code}: {message}");
    }
    let doc = xml::parse(&body, "TestDNSAnswerResponse")
        .map_err(|e| anyhow::anyhow!("{url}: {}", e.message))?;
    println!(
        "{}",
        doc.text_of("Explanation").unwrap_or_default().trim_end()
    );
    let data: Vec<&str> = doc
        .child("RecordData")
        .map(|d| d.children.iter().map(|c| c.text.as_str()).collect())
        .unwrap_or_default();
    println!(
        "server     {url}: {} {}",
        doc.text_of("ResponseCode").unwrap_or("?"),
        data.join(" ")
    );
    Ok(ExitCode::SUCCESS)
}

/// `check`: every problem in the configuration and in every zone's files, each as
/// `file:line: message`, then a line per zone. Exit status 0: no problem; 1: problems found;
/// 2: nothing could be checked (an unreadable configuration file, a bad command line).
fn check(src: &Source) -> anyhow::Result<ExitCode> {
    let config = match src.config() {
        Ok(c) => c,
        Err(e) => match e.downcast::<ConfigError>() {
            Ok(ConfigError::Invalid { problems, zones }) => {
                for p in &problems {
                    println!("{p}");
                }
                // The zone files can be checked still (without the record sets of the
                // configuration, which did not load).
                for spec in &zones {
                    if let Some(file) = &spec.file {
                        if let Err(e) = zone::Zone::load(&spec.origin, file) {
                            e.problems.iter().for_each(|p| println!("{p}"));
                        }
                    }
                }
                return Ok(ExitCode::from(1));
            }
            Ok(e @ ConfigError::Syntax { .. }) => {
                println!("{e}");
                return Ok(ExitCode::from(1));
            }
            Ok(e) => return Err(e.into()),
            Err(e) => return Err(e),
        },
    };
    let config = Config {
        dry_run: true,
        ..config
    };
    let built = load::build(&config, None);
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    for f in &built.failures {
        for p in &f.error.problems {
            println!("{p}");
        }
    }
    let snap = &built.snapshot;
    for report in snap.zone_reports.iter() {
        let z = match &report.view {
            None => snap.catalog.zone_by_origin(&report.origin),
            Some(v) => snap.views.own_zone(v, &report.origin),
        }
        .expect("every report's zone is built");
        let in_view = report
            .view
            .as_ref()
            .map(|v| format!(" (view {v})"))
            .unwrap_or_default();
        match report.state {
            ZoneState::Loaded | ZoneState::Previous => println!(
                "{}{in_view}: serial {}, {} records, {} names",
                z.origin_text(),
                z.serial,
                z.record_count,
                z.nodes.len()
            ),
            ZoneState::Secondary => println!(
                "{}: secondary zone, saved copy at serial {}",
                z.origin_text(),
                z.serial
            ),
            ZoneState::Servfail if report.problems.is_empty() => {
                println!("{}: secondary zone, not transferred yet", z.origin_text())
            }
            ZoneState::Servfail => println!(
                "{}: does not load ({} problems); it would answer SERVFAIL",
                z.origin_text(),
                report.problems.len()
            ),
        }
    }
    Ok(if built.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn serve(src: &Source) -> anyhow::Result<ExitCode> {
    let config = src.config()?;
    let built = load::build(&config, None);
    for w in &built.warnings {
        tracing::warn!("{w}");
    }
    if config.strict && !built.failures.is_empty() {
        let lines: Vec<String> = built
            .failures
            .iter()
            .flat_map(|f| f.error.problems.iter().map(|p| p.to_string()))
            .collect();
        anyhow::bail!(
            "zones failed to load, not starting (strict mode):\n{}",
            lines.join("\n")
        );
    }
    for f in &built.failures {
        for p in &f.error.problems {
            tracing::error!(zone = %f.what, "{p}");
        }
        tracing::error!(zone = %f.what, "does not load: answers SERVFAIL until it does (fix it and send SIGHUP)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tcp")
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(policydns::serve::run(
        config,
        built.snapshot,
        |api_checks| src.config_with(api_checks),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `import route53`: the same conversion `--route53` does at load time, written out as a
/// config and a zone file that load back to the same answers.
fn import_route53(args: &ImportRoute53) -> anyhow::Result<ExitCode> {
    use policydns::route53::{self, ImportError};
    let sources = route53::ImportSources {
        files: args.files.clone(),
        origin: args.origin.clone(),
        cidr_collections: args.cidr_collection.clone(),
        health_checks: args.health_checks.clone(),
        hosted_zone: args.hosted_zone.clone(),
        view_clients: args.view_clients.clone(),
    };
    let files = match route53::import(&sources) {
        Ok(f) => f,
        Err(ImportError::Records(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return Ok(ExitCode::from(1));
        }
        // The inputs do not convert (as opposed to a failure of this machine): exit 1, as
        // `check` does for what it finds.
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let route53::ImportedFiles {
        config_toml: toml,
        zone_name,
        zone_text,
        warnings,
    } = files;
    // What is written must load: the files are checked as `check` checks them first.
    let problems = check_import(&toml, &zone_name, &zone_text)?;
    if !problems.is_empty() {
        eprintln!("the converted files would not load; nothing written:");
        for p in &problems {
            eprintln!("{p}");
        }
        return Ok(ExitCode::from(1));
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    match &args.out {
        None => {
            println!("# ---- policydns.toml ----");
            println!("{toml}");
            println!("; ---- {zone_name} ----");
            print!("{zone_text}");
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let files = [
                (dir.join("policydns.toml"), toml),
                (dir.join(&zone_name), zone_text),
            ];
            if !args.force {
                if let Some((p, _)) = files.iter().find(|(p, _)| p.exists()) {
                    anyhow::bail!("{} exists; --force replaces it", p.display());
                }
            }
            for (p, text) in &files {
                std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
                println!("wrote {}", p.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The problems `check` would report for an import's files (each `file:line: message`, the
/// files named as the import writes them), found by loading them from a scratch directory.
fn check_import(toml: &str, zone_name: &str, zone_text: &str) -> anyhow::Result<Vec<String>> {
    let dir = std::env::temp_dir().join(format!("policydns-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let config_path = dir.join("policydns.toml");
    let written = std::fs::write(&config_path, toml)
        .and_then(|_| std::fs::write(dir.join(zone_name), zone_text));
    let problems = written.map_err(anyhow::Error::from).map(|_| {
        match Config::load(Some(&config_path), &Overrides::default()) {
            Err(ConfigError::Invalid { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect()
            }
            Err(e) => vec![e.to_string()],
            Ok(config) => load::build(&config, None)
                .failures
                .iter()
                .flat_map(|f| f.error.problems.iter().map(ToString::to_string))
                .collect(),
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    let scratch = dir.display().to_string();
    Ok(problems?
        .into_iter()
        .map(|p| p.replace(&format!("{scratch}/"), ""))
        .collect())
}
