//! The running server as library code: what `policydns serve` and `policydns demo` start, and
//! what a reload does. It wires the parts together and owns their tasks — sockets
//! ([`crate::server`]), transfers and secondaries ([`crate::transfer`]), probes
//! ([`crate::health`]) and the status listener — around one swapped [`Snapshot`].

use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::health::report::Reports;
use crate::load;
use crate::server::{Listeners, Server};
use crate::snapshot::{Snapshot, ZoneState};
use crate::transfer::{reload, secondary, Control};
use crate::wire::name;

/// A server with everything it runs beside the sockets.
pub struct Service {
    pub server: Server,
    config: Config,
    reports: Arc<Reports>,
    probes: Vec<JoinHandle<()>>,
    secondaries: Vec<JoinHandle<()>>,
    status: Option<JoinHandle<()>>,
    /// The Route 53 API, when configured.
    pub api: Option<crate::api::Running>,
}

/// Where `config` listens, as the socket layer takes it.
pub fn listeners(config: &Config) -> Listeners {
    Listeners {
        addrs: config.listen.clone(),
        skip_unbindable: config.default_listen,
        udp_workers: config.udp_workers,
        tcp: crate::server::tcp::Limits {
            idle_timeout: config.tcp_idle_timeout,
            connections: config.tcp_connections,
        },
    }
}

impl Service {
    /// Binds the listeners, restores IXFR histories, sends the NOTIFYs a start calls for, and
    /// starts secondaries, probes and the status listener. Must run inside a tokio runtime.
    pub async fn start(config: Config, mut snapshot: Snapshot) -> anyhow::Result<Service> {
        // The API's hosted zones are served from the first answer on.
        let store = match &config.api {
            Some(_) => {
                let (store, committer) = crate::api::Store::open(Arc::new(config.clone()))?;
                crate::api::merge_zones(&store, &mut snapshot, None);
                Some((store, committer))
            }
            None => None,
        };
        let mut settings = load::transfer_settings(&config);
        if let Some((store, _)) = &store {
            store.transfer_settings(&mut settings);
        }
        let control = Arc::new(Control::new(settings));
        control.load_journals(&snapshot);
        let outcome = reload::apply(&control, None, &mut snapshot, |o| serial_policy(&config, o));
        if let Some(dest) = &config.dnstap {
            let identity = snapshot.options.identity.as_deref().unwrap_or(b"policydns");
            crate::dnstap::start(
                dest,
                identity,
                format!("policydns {}", env!("CARGO_PKG_VERSION")).as_bytes(),
            )
            .with_context(|| format!("dnstap output {dest}"))?;
            tracing::info!(%dest, "dnstap: logging every query and response");
        }
        let server = Server::start(&listeners(&config), snapshot, control)?;
        reload::act_on(&outcome);
        let reports = Arc::new(Reports::default());
        let api = match (store, &config.api) {
            (Some((store, committer)), Some(api_config)) => {
                let publisher = crate::api::Publisher {
                    snapshot: server.snapshot.clone(),
                    writer: server.writer.clone(),
                    control: server.control.clone(),
                };
                let reports = reports.clone();
                Some(crate::api::start(api_config, store, committer, publisher, reports).await?)
            }
            _ => None,
        };
        let mut service = Service {
            secondaries: start_secondaries(&config, &server),
            probes: spawn_probes(&config, &server.snapshot.load(), &reports),
            status: None,
            server,
            config,
            reports,
            api,
        };
        if let Some(addr) = service.config.status_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("status listener on {addr}"))?;
            tracing::info!(%addr, "status page at /, JSON at /zones and /health-checks, Prometheus at /metrics");
            service.status = Some(tokio::spawn(crate::status::serve(
                listener,
                service.server.snapshot.clone(),
                service.reports.clone(),
            )));
        }
        Ok(service)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the API's store adds to the configuration (health checks, CIDR collections).
    pub fn api_inputs(&self) -> crate::config::ApiInputs {
        self.api
            .as_ref()
            .map(|a| a.store.inputs())
            .unwrap_or_default()
    }

    /// Builds a new snapshot from `config` (or from the running configuration when the new one
    /// was refused) and publishes it: zones that fail keep their previous version, probes
    /// restart on the new health table, and NOTIFYs go out for changed serials.
    pub fn reload(&mut self, config: anyhow::Result<Config>) {
        let mut failed = config.is_err();
        match config {
            Ok(new) => {
                if new.listen != self.config.listen || new.udp_workers != self.config.udp_workers {
                    tracing::warn!("listen addresses and worker counts change only on restart");
                }
                self.config = new;
            }
            Err(e) => {
                tracing::error!("reload: config refused, keeping the running one: {e:#}");
            }
        }
        let config = &self.config;
        let server = &self.server;
        let control = &server.control;
        // Nobody else publishes (a secondary's transfer) while this reload builds.
        let writer = server.writer.clone();
        let guard = writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut settings = load::transfer_settings(config);
        if let Some(api) = &self.api {
            api.store.reconfigure(Arc::new(config.clone()));
            api.store.transfer_settings(&mut settings);
        }
        control.settings.store(Arc::new(settings));
        let current = server.snapshot.load_full();
        let mut built = load::build(config, Some(&current));
        if let Some(api) = &self.api {
            crate::api::merge_zones(&api.store, &mut built.snapshot, Some(&current));
        }
        let outcome = reload::apply(control, Some(&current), &mut built.snapshot, |o| {
            serial_policy(config, o)
        });
        for w in &built.warnings {
            tracing::warn!("{w}");
        }
        failed |= !built.failures.is_empty();
        crate::metrics::event(|e| {
            if failed {
                &e.reloads_failed
            } else {
                &e.reloads_ok
            }
        });
        for f in &built.failures {
            for p in &f.error.problems {
                tracing::error!(zone = %f.what, "reload failed: {p}");
            }
        }
        for r in built.snapshot.zone_reports.iter() {
            match r.state {
                ZoneState::Previous => {
                    tracing::error!(zone = %name::to_text(&r.origin), "reload failed: the previous version keeps serving")
                }
                ZoneState::Servfail if !r.problems.is_empty() => {
                    tracing::error!(zone = %name::to_text(&r.origin), "does not load: answers SERVFAIL until it does")
                }
                _ => {}
            }
        }
        for z in built.snapshot.catalog.zones() {
            tracing::info!(zone = %z.origin_text(), serial = z.serial, "zone serving");
        }
        // Probes write into the new snapshot's table from now on (the status listener reads
        // whichever snapshot is current and keeps running).
        self.probes.iter().for_each(|t| t.abort());
        self.probes = spawn_probes(config, &built.snapshot, &self.reports);
        server.swap(built.snapshot);
        drop(guard);
        reload::act_on(&outcome);
        self.secondaries.iter().for_each(|t| t.abort());
        self.secondaries = start_secondaries(config, server);
    }

    /// Stops every task and the sockets.
    pub async fn shutdown(self) {
        self.save_signatures();
        self.probes
            .iter()
            .chain(self.status.iter())
            .chain(self.secondaries.iter())
            .for_each(|t| t.abort());
        if let Some(api) = &self.api {
            api.stop();
        }
        self.server.shutdown().await;
        crate::dnstap::finish();
    }
}

impl Service {
    /// Saves the signatures of every zone this server signs beside its keys, so the next
    /// start signs only what changed or is due (`load::kept`); a zone whose file cannot be
    /// written is signed whole next time, and the log says why.
    fn save_signatures(&self) {
        let snapshot = self.server.snapshot.load();
        let now = crate::clock::unix_now() as u32;
        let views = snapshot.views.inputs();
        let zones = snapshot
            .catalog
            .zones()
            .iter()
            .chain(views.iter().flat_map(|v| v.own.iter()));
        let mut saved = std::collections::BTreeSet::new();
        for z in zones {
            let Some(path) = &z.signature_cache else {
                continue;
            };
            if !saved.insert(path.clone()) {
                continue; // a view's copy with the shared copy's keys: once is enough
            }
            match load::kept::Kept::save(z, path, now) {
                Ok(n) => {
                    tracing::info!(zone = %z.origin_text(), rrsets = n, file = %path.display(), "signatures saved for the next start")
                }
                Err(e) => {
                    tracing::warn!(zone = %z.origin_text(), file = %path.display(), "signatures not saved ({e}): the next start signs the zone whole")
                }
            }
        }
    }
}

/// When the next ZSK rollover step of a zone with `zsk_lifetime` is due, as an instant. A
/// step already past due after a load is one that failed (the log said why): tried again in
/// a minute, not in a tight loop.
fn next_key_event(config: &Config) -> Option<tokio::time::Instant> {
    let state_dir = config.state_dir.as_deref()?;
    let at = config
        .zones
        .iter()
        .filter(|z| z.dnssec)
        .filter_map(|z| {
            crate::dnssec::keyring::Keyring::next_zsk_event(state_dir, &z.origin, z.zsk_roll?)
        })
        .min()?;
    let now = crate::clock::unix_now();
    let wait = if at > now { at - now } else { 60 };
    Some(tokio::time::Instant::now() + std::time::Duration::from_secs(wait))
}

/// `policydns serve`: starts the service and runs it until SIGTERM or SIGINT, reloading on
/// SIGHUP (and when a secondary zone brought a routing policy) with `reread` giving the new
/// configuration.
pub async fn run(
    config: Config,
    snapshot: Snapshot,
    reread: impl Fn(crate::config::ApiInputs) -> anyhow::Result<Config>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Handlers first: a signal that arrives once queries are answered must not kill us.
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut service = Service::start(config, snapshot).await?;
    for z in service.server.snapshot.load().catalog.zones() {
        if z.servfail {
            tracing::info!(zone = %z.origin_text(), "secondary zone: SERVFAIL until its first transfer");
        } else {
            tracing::info!(zone = %z.origin_text(), serial = z.serial, records = z.record_count, "zone loaded");
        }
    }
    tracing::info!(
        listen = ?service.server.listening,
        udp_workers_per_address = service.config.udp_workers,
        "serving"
    );
    let control = service.server.control.clone();
    let inputs = service.api_inputs();
    if inputs.health_checks.is_some() || !inputs.cidr_collections.is_empty() {
        // The API's health checks and CIDR collections join the configuration's.
        service.reload(reread(inputs));
    }
    // Signed zones are signed afresh (a reload) halfway through their signatures' validity,
    // so neither this server nor its secondaries ever serve an expired one.
    let resign_every = std::time::Duration::from_secs(load::signed::RESIGN_AFTER_SECS);
    let mut resign =
        tokio::time::interval_at(tokio::time::Instant::now() + resign_every, resign_every);
    loop {
        let any_signed = service.config.zones.iter().any(|z| z.dnssec)
            || service.api.as_ref().is_some_and(|a| a.store.any_signing());
        let key_event = next_key_event(&service.config);
        let why = tokio::select! {
            _ = hup.recv() => "SIGHUP",
            _ = resign.tick(), if any_signed => "signed zones: signatures renewed before they expire",
            _ = tokio::time::sleep_until(key_event.unwrap_or_else(tokio::time::Instant::now)), if key_event.is_some() => "a ZSK rollover step is due",
            // A secondary zone arrived with its routing policy: merge it as a reload would.
            _ = control.reload.notified() => "secondary zone policy",
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        tracing::info!("reloading ({why})");
        service.reload(reread(service.api_inputs()));
    }
    tracing::info!("shutting down");
    service.shutdown().await;
    Ok(())
}

/// Starts the probes of `config`'s probed checks, writing into `snapshot`'s health table (the
/// indices are the snapshot's).
pub fn spawn_probes(
    config: &Config,
    snapshot: &Snapshot,
    reports: &Arc<Reports>,
) -> Vec<JoinHandle<()>> {
    let health = &snapshot.inputs.health;
    let checks = config
        .probes
        .iter()
        .filter_map(|(id, p)| Some((health.index(id)?, id.clone(), p.clone())))
        .collect::<Vec<_>>();
    if !checks.is_empty() {
        tracing::info!(checks = checks.len(), "health checks probing");
    }
    crate::health::spawn(checks, health.table.clone(), reports.clone())
}

fn serial_policy(config: &Config, origin: &[u8]) -> reload::SerialPolicy {
    config
        .zones
        .iter()
        .find(|z| z.origin == origin)
        .map(|z| z.serial_policy)
        .unwrap_or_default()
}

/// One task per secondary zone, publishing into the server's snapshot.
fn start_secondaries(config: &Config, server: &Server) -> Vec<JoinHandle<()>> {
    load::secondaries(config)
        .into_iter()
        .map(|s| {
            tracing::info!(zone = %name::to_text(&s.origin), primary = %s.primary, "secondary zone");
            tokio::spawn(secondary::run(
                s,
                server.control.clone(),
                server.snapshot.clone(),
                server.writer.clone(),
            ))
        })
        .collect()
}
