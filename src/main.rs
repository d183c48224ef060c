//! The `policydns` command: `serve` and `check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use policydns::config::{Config, Overrides};
use policydns::server::Server;
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
        };
        let path = match (&self.config, self.zone.is_empty()) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => {
                let demo = PathBuf::from(DEMO_CONFIG);
                anyhow::ensure!(
                    demo.exists(),
                    "no --config or --zone given and {DEMO_CONFIG} does not exist here; run from the repository root or pass --zone ORIGIN=FILE"
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
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("policydns: {e:#}");
            ExitCode::from(2)
        }
    }
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
    let server = Server::start(&config, snapshot)?;
    for z in server.snapshot.load().catalog.zones() {
        tracing::info!(zone = %z.origin_text(), serial = z.serial, records = z.record_count, "zone loaded");
    }
    tracing::info!(
        listen = ?server.listening,
        udp_workers_per_address = config.udp_workers,
        "serving"
    );
    loop {
        tokio::select! {
            _ = hup.recv() => {
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
                let current = server.snapshot.load_full();
                let built = load::build(&config, Some(&current));
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
                server.swap(built.snapshot);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}
