//! The `policydns` command: `serve`, `check`, `explain`, `import route53` and `demo failover`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use policydns::config::{Config, Overrides};
use policydns::server::Server;
use policydns::transfer::{reload, Control};
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
    /// Show how a name is answered for a client: the candidates, their health, where the
    /// client is, and the rule that decides (Route 53's TestDNSAnswer, with reasons).
    Explain(Explain),
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
    #[command(flatten)]
    source: Source,
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
    /// Serve health-check status (JSON at /health-checks, Prometheus at /metrics) on ADDR.
    #[arg(long, value_name = "ADDR")]
    status_listen: Option<String>,
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
}

/// Used when `serve` is given neither a config nor zones.
const DEMO_CONFIG: &str = "zones/policydns.toml";

impl Source {
    fn config(&self) -> anyhow::Result<Config> {
        let overrides = Overrides {
            listen: self.listen.clone(),
            zones: self.zone.clone(),
            udp_workers: self.udp_workers,
            geoip: self.geoip.clone(),
            latency_map: self.latency_map.clone(),
            health_checks: self.health_checks.clone(),
            status_listen: self.status_listen.clone(),
            route53: self.route53.clone(),
            cidr_collections: self.cidr_collection.clone(),
            allow_transfer: self.allow_transfer.clone(),
            tsig_keys: self.tsig_key.clone(),
            notify: self.notify.clone(),
            secondaries: self.secondary.clone(),
            state_dir: self.state_dir.clone(),
        };
        let no_zones = self.zone.is_empty() && self.route53.is_empty() && self.secondary.is_empty();
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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("POLICYDNS_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(src) => check(&src),
        Command::Serve(src) => serve(&src),
        Command::Import(Import::Route53(args)) => import_route53(&args),
        Command::Explain(args) => explain(&args),
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
    let config = args.source.config()?;
    let built = load::build(&config, None);
    if let Some((origin, e)) = built.failures.first() {
        anyhow::bail!("{origin} does not load:\n{e}");
    }
    let qtype = policydns::zone::types::from_mnemonic(&args.rtype)
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

fn check(src: &Source) -> anyhow::Result<ExitCode> {
    let config = src.config()?;
    let built = load::build(&config, None);
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    for (_, e) in &built.failures {
        for p in &e.problems {
            println!("{}", display_problem(p));
        }
    }
    if built.failures.is_empty() {
        for z in built.snapshot.catalog.zones() {
            if z.servfail {
                println!("{}: secondary zone, not transferred yet", z.origin_text());
                continue;
            }
            println!(
                "{}: serial {}, {} records, {} names",
                z.origin_text(),
                z.serial,
                z.record_count,
                z.nodes.len()
            );
        }
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

/// Zone-level problems (no SOA, ...) have no line: print them without `:0`.
fn display_problem(p: &zone::ParseError) -> String {
    if p.file == Path::new("") {
        p.message.clone()
    } else {
        p.to_string()
    }
}

fn serve(src: &Source) -> anyhow::Result<ExitCode> {
    let config = src.config()?;
    let built = load::build(&config, None);
    for w in &built.warnings {
        tracing::warn!("{w}");
    }
    if !built.failures.is_empty() {
        let lines: Vec<String> = built
            .failures
            .iter()
            .flat_map(|(_, e)| e.problems.iter().map(display_problem))
            .collect();
        anyhow::bail!("zones failed to load, not starting:\n{}", lines.join("\n"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tcp")
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(src, config, built.snapshot))?;
    Ok(ExitCode::SUCCESS)
}

async fn run(
    src: &Source,
    mut config: Config,
    snapshot: policydns::answer::Snapshot,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Handlers first: a signal that arrives once queries are answered must not kill us.
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let control = Arc::new(Control::new(load::transfer_settings(&config)));
    control.load_journals(&snapshot);
    let mut snapshot = snapshot;
    let outcome = reload::apply(&control, None, &mut snapshot, |o| serial_policy(&config, o));
    let server = Server::start_with(&config, snapshot, control.clone())?;
    report_transfer_outcome(&outcome);
    let mut secondaries = start_secondaries(&config, &server);
    for z in server.snapshot.load().catalog.zones() {
        if z.servfail {
            tracing::info!(zone = %z.origin_text(), "secondary zone: SERVFAIL until its first transfer");
        } else {
            tracing::info!(zone = %z.origin_text(), serial = z.serial, records = z.record_count, "zone loaded");
        }
    }
    tracing::info!(
        listen = ?server.listening,
        udp_workers_per_address = config.udp_workers,
        "serving"
    );
    let reports = Arc::new(policydns::health::status::Reports::default());
    let mut probes =
        policydns::health::spawn_configured(&config, &server.snapshot.load(), &reports);
    let mut status_task = None;
    if let Some(addr) = config.status_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("status listener on {addr}"))?;
        let snapshot = server.snapshot.clone();
        let states: policydns::health::status::States = Arc::new(move || {
            let snap = snapshot.load();
            snap.health_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), snap.check_healthy(i as u32)))
                .collect()
        });
        tracing::info!(%addr, "health-check status at /health-checks and /metrics");
        status_task = Some(tokio::spawn(policydns::health::status::serve(
            listener,
            reports.clone(),
            states,
        )));
    }
    loop {
        let why = tokio::select! {
            _ = hup.recv() => "SIGHUP",
            // A secondary zone arrived with its routing policy: merge it as a reload would.
            _ = control.reload.notified() => "secondary zone policy",
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        tracing::info!("reloading ({why})");
        {
            match src.config() {
                Ok(new) => {
                    if new.listen != config.listen || new.udp_workers != config.udp_workers {
                        tracing::warn!("listen addresses and worker counts change only on restart");
                    }
                    config = new;
                }
                Err(e) => {
                    tracing::error!("reload: config refused, keeping the running one: {e:#}");
                }
            }
            // Nobody else publishes (a secondary's transfer) while this reload builds.
            let writer = server.writer.clone();
            let guard = writer.lock().unwrap();
            control
                .settings
                .store(Arc::new(load::transfer_settings(&config)));
            let current = server.snapshot.load_full();
            let mut built = load::build(&config, Some(&current));
            let outcome = reload::apply(&control, Some(&current), &mut built.snapshot, |o| {
                serial_policy(&config, o)
            });
            for w in &built.warnings {
                tracing::warn!("{w}");
            }
            for (origin, e) in &built.failures {
                for p in &e.problems {
                    tracing::error!(zone = %origin, "reload failed, previous version keeps serving: {}", display_problem(p));
                }
            }
            for z in built.snapshot.catalog.zones() {
                tracing::info!(zone = %z.origin_text(), serial = z.serial, "zone serving");
            }
            // Probes write into the new snapshot's table from now on (the status listener
            // reads whichever snapshot is current and keeps running).
            probes.iter().for_each(|t| t.abort());
            probes = policydns::health::spawn_configured(&config, &built.snapshot, &reports);
            server.swap(built.snapshot);
            drop(guard);
            report_transfer_outcome(&outcome);
            secondaries.iter().for_each(|t| t.abort());
            secondaries = start_secondaries(&config, &server);
        }
    }
    tracing::info!("shutting down");
    probes
        .iter()
        .chain(status_task.iter())
        .chain(secondaries.iter())
        .for_each(|t| t.abort());
    server.shutdown().await;
    Ok(())
}

fn serial_policy(config: &Config, origin: &[u8]) -> reload::SerialPolicy {
    config
        .zones
        .iter()
        .find(|z| z.origin == origin)
        .map(|z| z.serial_policy)
        .unwrap_or_default()
}

/// Logs what a load meant for transfers and sends the NOTIFYs it calls for.
fn report_transfer_outcome(outcome: &reload::Outcome) {
    for (zone, why) in &outcome.refused {
        tracing::error!(zone = %zone, "{why}");
    }
    for (zone, old, new) in &outcome.renumbered {
        tracing::warn!(zone = %zone, "content changed without a serial bump: serial {old} → {new} by serial_policy");
    }
    for c in &outcome.changed {
        tracing::info!(zone = %policydns::zone::name::to_text(&c.origin), serial = c.serial, targets = c.notify.len(), "sending NOTIFY");
        policydns::transfer::notify::send_all(
            c.origin.clone(),
            c.serial,
            (c.soa_ttl, c.soa_rdata.clone()),
            &c.notify,
            None,
        );
    }
}

/// One task per secondary zone, publishing into the server's snapshot.
fn start_secondaries(config: &Config, server: &Server) -> Vec<tokio::task::JoinHandle<()>> {
    load::secondaries(config)
        .into_iter()
        .map(|s| {
            tracing::info!(zone = %policydns::zone::name::to_text(&s.origin), primary = %s.primary, "secondary zone");
            tokio::spawn(policydns::transfer::secondary::run(
                s,
                server.control.clone(),
                server.snapshot.clone(),
                server.writer.clone(),
            ))
        })
        .collect()
}

/// `import route53`: the same conversion `--route53` does at load time, written out as a
/// config and a zone file that load back to the same answers.
fn import_route53(args: &ImportRoute53) -> anyhow::Result<ExitCode> {
    use policydns::route53;
    use std::collections::BTreeMap;
    let origin_text = if args.origin.ends_with('.') {
        args.origin.clone()
    } else {
        format!("{}.", args.origin)
    };
    let origin = zone::name::to_lowercase(
        &zone::name::from_text(&origin_text, None)
            .map_err(|e| anyhow::anyhow!("--origin {:?}: {e}", args.origin))?,
    );
    let origin_text = zone::name::to_text(&origin);
    let fail = |problems: Vec<zone::ParseError>| {
        for p in &problems {
            eprintln!("{}", display_problem(p));
        }
        Ok(ExitCode::from(1))
    };
    let sets = match route53::read_files(&args.files) {
        Ok(s) => s,
        Err(problems) => return fail(problems),
    };
    let imported = match route53::convert(&sets, &origin, &[], route53::ConvertOptions::default()) {
        Ok(i) => i,
        Err(problems) => return fail(problems),
    };
    let mut cidr = BTreeMap::new();
    for spec in &args.cidr_collection {
        let (id, file) = spec
            .split_once('=')
            .filter(|(i, f)| !i.is_empty() && !f.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!("--cidr-collection {spec:?}: expected COLLECTION_ID=FILE")
            })?;
        let raw = route53::read_cidr_blocks(Path::new(file)).map_err(anyhow::Error::msg)?;
        let mut locations = BTreeMap::new();
        for (loc, blocks) in raw {
            let nets = blocks
                .iter()
                .map(|b| policydns::config::parse_block(b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("{file}: location {loc:?}: {e}"))?;
            locations.insert(loc, nets);
        }
        cidr.insert(id.to_string(), locations);
    }
    let missing: Vec<&str> = imported
        .cidr_collection_ids()
        .into_iter()
        .filter(|id| !cidr.contains_key(*id))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "IP-based record sets use CIDR collection {}: give --cidr-collection ID=BLOCKS.json with the output of aws route53 list-cidr-blocks --collection-id ID",
            missing.join(", ")
        );
    }
    let zone_name = format!("{}.zone", origin_text.trim_end_matches('.'));
    let toml = route53::config_toml(&imported, &origin, &zone_name, &cidr, &args.files);
    let zone_text = route53::zone_file_text(&imported, &origin, &args.files);
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
