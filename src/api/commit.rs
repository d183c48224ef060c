//! The one writer of the change store: requests that change something queue here, and a thread
//! of its own takes everything queued at once (group commit), checks each request against the
//! state, writes the accepted ones to the journal with one fsync, publishes the zones they
//! touched, and only then answers. A request refused answers alone; the others of its group
//! go ahead.
//!
//! Lock order, kept by everyone: the server's `writer` (who publishes a snapshot), then the
//! store's state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, oneshot};

use super::error::ApiError;
use super::prepare::{compile, prepare, Served};
use super::working::{FileWorking, Spare, Working};
use crate::config::Config;
use crate::route53::Change;
use crate::snapshot::Snapshot;
use crate::store::journal::Journal;
use crate::store::{self, ChangeInfo, Entry, HostedZone, State};
use crate::transfer::{reload, Control};
use crate::zone::{Catalog, Zone};

/// Requests taken in one group commit at most.
const GROUP: usize = 512;

/// What a request asks the store to do.
#[derive(Debug)]
pub enum Write {
    CreateZone {
        name: String,
        caller_reference: String,
        comment: Option<String>,
        /// A private hosted zone's VPC.
        vpc: Option<crate::store::Vpc>,
    },
    Change {
        zone_id: String,
        comment: Option<String>,
        changes: Vec<Change>,
    },
    DeleteZone {
        zone_id: String,
    },
    /// A dynamic update of a zone served from a file, checked against `zone` (as served when
    /// it arrived) and the updates the store holds for it.
    UpdateFile {
        /// Lowercase wire form.
        origin: Vec<u8>,
        zone: Arc<Zone>,
        prerequisites: Vec<crate::update::UpdateRr>,
        updates: Vec<crate::update::UpdateRr>,
        by: String,
    },
    /// A dynamic update (RFC 2136), checked against the store in commit order.
    Update {
        zone_id: String,
        prerequisites: Vec<crate::update::UpdateRr>,
        updates: Vec<crate::update::UpdateRr>,
        /// Who sent it, for the change's comment.
        by: String,
    },
    Tags {
        zone_id: String,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    /// A DNSSEC request on a hosted zone (`api::dnssec`).
    Dnssec {
        zone_id: String,
        op: super::dnssec::DnssecOp,
    },
    /// Create (`id` none) or update a health check.
    PutHealthCheck {
        id: Option<String>,
        caller_reference: String,
        config: serde_json::Value,
        /// An update's `HealthCheckVersion`: it must be the current one.
        version: Option<i64>,
    },
    DeleteHealthCheck {
        id: String,
    },
    CreateCidr {
        name: String,
        caller_reference: String,
    },
    /// Location name → (PUT or not, blocks).
    ChangeCidr {
        id: String,
        version: Option<i64>,
        changes: Vec<(String, bool, Vec<String>)>,
    },
    DeleteCidr {
        id: String,
    },
}

/// What an accepted write did.
#[derive(Debug)]
pub enum Written {
    Zone(Box<HostedZone>, ChangeInfo),
    Change(ChangeInfo),
    /// A key-signing key created.
    Ksk(Box<store::Ksk>, ChangeInfo),
    Tags,
    /// The check, and whether it was created now (a repeated create returns the existing one).
    HealthCheck(Box<store::HealthCheck>, bool),
    Deleted,
    /// The collection, whether it was created now, and the change's id.
    Cidr(Box<store::CidrCollection>, bool, String),
    /// Accepted, and nothing changed (an update whose records were all there).
    Nothing,
}

/// An accepted write: what it did, and the sequence number of its journal entry.
#[derive(Debug)]
pub struct Done {
    pub written: Written,
    pub seq: u64,
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Done, ApiError>>,
}

/// Where published zones go: the running server's snapshot.
#[derive(Clone)]
pub struct Publisher {
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    pub writer: Arc<Mutex<()>>,
    pub control: Arc<Control>,
}

/// The store as the API reads it and the committer writes it.
pub struct Store {
    pub inner: Mutex<Inner>,
    pub config: ArcSwap<Config>,
    /// The store sequence number the served configuration holds the health checks and CIDR
    /// collections of (see [`Store::wait_applied`]).
    applied: std::sync::atomic::AtomicU64,
    queue: mpsc::UnboundedSender<Job>,
}

pub struct Inner {
    pub state: State,
    journal: Journal,
    /// The served version of each hosted zone, by id.
    pub compiled: BTreeMap<String, Arc<Zone>>,
}

impl Store {
    /// Opens the store in the config's state directory and compiles its hosted zones.
    /// Returns the store and the receiving end of its queue (for [`Store::run`]).
    pub fn open(config: Arc<Config>) -> anyhow::Result<(Arc<Store>, Committer)> {
        let dir = config
            .state_dir
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the API needs a state directory"))?;
        let (journal, state, opened) = Journal::open(&dir)?;
        if let Some(cut) = &opened.cut {
            tracing::error!("API journal damaged at its end (a crash while writing?): {cut}");
        }
        tracing::info!(
            hosted_zones = state.zones.len(),
            replayed = opened.replayed,
            "API store opened"
        );
        let mut compiled = BTreeMap::new();
        for zone in state.zones.values() {
            match compile(&config, zone, None) {
                Ok(z) => {
                    compiled.insert(zone.id.clone(), Arc::new(z));
                }
                // A zone the config no longer supports (a removed CIDR collection, say): it
                // answers SERVFAIL, as a file zone that fails, and says why.
                Err(problems) => {
                    for p in &problems {
                        tracing::error!(zone = %zone.name, "hosted zone does not compile: {p}");
                    }
                    compiled.insert(zone.id.clone(), Arc::new(Zone::placeholder(&zone.origin())));
                }
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Arc::new(Store {
            inner: Mutex::new(Inner {
                state,
                journal,
                compiled,
            }),
            applied: std::sync::atomic::AtomicU64::new(config.api_seq),
            config: ArcSwap::new(config),
            queue: tx,
        });
        Ok((
            store.clone(),
            Committer {
                store,
                rx,
                spares: Default::default(),
            },
        ))
    }

    /// Queues a write and waits for its outcome (durable and served when `Ok`).
    pub async fn write(&self, write: Write) -> Result<Written, ApiError> {
        self.write_seq(write).await.map(|d| d.written)
    }

    /// As [`Store::write`], with the journal entry's sequence number.
    pub async fn write_seq(&self, write: Write) -> Result<Done, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Job { write, reply: tx })
            .map_err(|_| ApiError::internal("the store is shutting down"))?;
        rx.await
            .map_err(|_| ApiError::internal("the store stopped before answering"))?
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hosted zones' served versions, for a snapshot being built.
    pub fn zones(&self) -> Vec<Arc<Zone>> {
        self.lock().compiled.values().cloned().collect()
    }

    /// Whether a hosted zone is served signed (then the server signs again weekly).
    pub fn any_signing(&self) -> bool {
        self.lock().state.zones.values().any(|z| z.dnssec.signing)
    }

    /// Recompiles every hosted zone against a new configuration (on reload; the caller holds
    /// the server's writer lock).
    pub fn reconfigure(&self, config: Arc<Config>) {
        let mut inner = self.lock();
        let mut compiled = BTreeMap::new();
        for zone in inner.state.zones.values() {
            let z = match compile(&config, zone, inner.compiled.get(&zone.id).map(|z| &**z)) {
                Ok(z) => Arc::new(z),
                Err(problems) => {
                    for p in &problems {
                        tracing::error!(zone = %zone.name, "hosted zone does not compile with the new configuration; keeping the version served: {p}");
                    }
                    match inner.compiled.get(&zone.id) {
                        Some(old) => old.clone(),
                        None => Arc::new(Zone::placeholder(&zone.origin())),
                    }
                }
            };
            compiled.insert(zone.id.clone(), z);
        }
        inner.compiled = compiled;
        self.applied
            .fetch_max(config.api_seq, std::sync::atomic::Ordering::SeqCst);
        self.config.store(config);
    }

    /// What the store adds to the configuration.
    pub fn inputs(&self) -> crate::config::ApiInputs {
        let inner = self.lock();
        crate::config::ApiInputs {
            health_checks: inner.state.health_checks_json(),
            cidr_collections: inner
                .state
                .cidr_collections
                .values()
                .map(|c| (c.id.clone(), c.locations.clone()))
                .collect(),
            seq: inner.state.seq,
        }
    }

    /// Waits (at most 10 s) until the served configuration holds what the store held at
    /// `seq`: a health check probing, a CIDR collection matching. A reload does this; if it
    /// fails the change stays durable and is served on the next one, and the caller is told
    /// so in the log.
    pub async fn wait_applied(&self, seq: u64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.applied.load(std::sync::atomic::Ordering::SeqCst) < seq {
            if tokio::time::Instant::now() > deadline {
                tracing::warn!(
                    seq,
                    "the API's change is durable but the reload that applies it has not finished"
                );
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// Adds each hosted zone's transfer settings (the `[api]` table's) to `settings`.
    pub fn transfer_settings(&self, settings: &mut crate::transfer::Settings) {
        let config = self.config.load();
        let Some(api) = &config.api else { return };
        for zone in self.lock().state.zones.values() {
            settings.zones.insert(zone.origin(), api.transfer.clone());
        }
    }
}

/// The committer's half: run it on a thread of its own.
pub struct Committer {
    store: Arc<Store>,
    rx: mpsc::UnboundedReceiver<Job>,
    /// Each hosted zone's previous version, for the next change to patch (`working`).
    spares: std::collections::HashMap<String, Spare>,
}

impl Committer {
    /// Takes queued writes in groups until every sender is gone.
    pub fn run(mut self, publisher: Publisher, runtime: tokio::runtime::Handle) {
        while let Some(first) = self.rx.blocking_recv() {
            let mut jobs = vec![first];
            while jobs.len() < GROUP {
                match self.rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let _enter = runtime.enter();
            self.group(jobs, &publisher);
        }
    }

    fn group(&mut self, jobs: Vec<Job>, publisher: &Publisher) {
        let store = &self.store;
        let guard = publisher.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut inner = store.lock();
        let config = store.config.load_full();
        let first_seq = inner.state.seq + 1;
        let mut entries: Vec<Entry> = Vec::new();
        let mut replies = Vec::new();
        // Zones whose served version changes: id → new version (None: deleted).
        let mut touched: BTreeMap<String, Option<(Vec<u8>, Arc<Zone>)>> = BTreeMap::new();
        let mut gone: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut reload_wanted = false;
        // Hosted zones whose record sets change, patched batch by batch.
        let mut working: BTreeMap<String, Working> = BTreeMap::new();
        // Zones served from files that updates change, by origin.
        let mut file_working: BTreeMap<Vec<u8>, FileWorking> = BTreeMap::new();
        for job in jobs {
            match prepare(&inner.state, &config, job.write) {
                Ok(mut p) => {
                    let Some(entry) = p.entry.take() else {
                        // Nothing to write (a repeated create): answered with the group, after
                        // what it refers to is on disk.
                        let seq = inner.state.seq;
                        replies.push((
                            job.reply,
                            Ok(Done {
                                written: p.written,
                                seq,
                            }),
                        ));
                        continue;
                    };
                    if let Served::Change {
                        zone_id,
                        origin,
                        rrsets,
                        serial,
                    } = &mut p.served
                    {
                        let w = working.entry(zone_id.clone()).or_insert_with(|| {
                            // A zone created earlier in this group is compiled whole.
                            let base = match touched.get(zone_id.as_str()) {
                                Some(_) => None,
                                None => inner.compiled.get(zone_id.as_str()).cloned(),
                            };
                            let spare = self.spares.remove(zone_id.as_str());
                            Working::new(origin.clone(), base, spare)
                        });
                        let (Some(state_zone), Some(plan)) =
                            (inner.state.zones.get(zone_id.as_str()), p.plan.as_ref())
                        else {
                            let _ = job.reply.send(Err(ApiError::no_such_zone(zone_id)));
                            continue;
                        };
                        let rrsets = std::mem::take(rrsets);
                        if let Err(e) = w.apply(&config, state_zone, plan, rrsets, *serial) {
                            let _ = job.reply.send(Err(e));
                            continue;
                        }
                    }
                    if let Served::FileZone {
                        origin,
                        rrsets,
                        serial,
                    } = &mut p.served
                    {
                        let w = file_working.entry(origin.clone()).or_insert_with(|| {
                            FileWorking::new(
                                publisher
                                    .snapshot
                                    .load()
                                    .catalog
                                    .zone_by_origin(origin)
                                    .cloned(),
                            )
                        });
                        if let Err(e) = w.apply(std::mem::take(rrsets), *serial) {
                            let _ = job.reply.send(Err(e));
                            continue;
                        }
                    }
                    let applied = match p.plan.take() {
                        Some(plan) => inner.state.apply_planned(&entry, plan),
                        None => inner.state.apply(&entry),
                    };
                    if let Err(e) = applied {
                        let _ = job.reply.send(Err(ApiError::internal(e.to_string())));
                        continue;
                    }
                    match p.served {
                        Served::Zone(id, origin, zone) => {
                            // Compiled whole from the state, which holds this group's earlier
                            // changes too (a DNSSEC call after a record change): it replaces
                            // their patched version.
                            working.remove(&id);
                            self.spares.remove(&id);
                            touched.insert(id, Some((origin, Arc::new(zone))));
                        }
                        Served::Gone(id, origin) => {
                            working.remove(&id);
                            self.spares.remove(&id);
                            touched.insert(id, None);
                            gone.insert(origin);
                        }
                        Served::Change { .. } | Served::FileZone { .. } => {}
                        Served::Same => {}
                        Served::Reload => reload_wanted = true,
                    }
                    entries.push(entry);
                    let seq = first_seq + entries.len() as u64 - 1;
                    replies.push((
                        job.reply,
                        Ok(Done {
                            written: p.written,
                            seq,
                        }),
                    ));
                }
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        if entries.is_empty() {
            for (reply, result) in replies {
                let _ = reply.send(result);
            }
            return;
        }
        let refs: Vec<&Entry> = entries.iter().collect();
        if let Err(e) = inner.journal.append(first_seq, &refs) {
            tracing::error!("API journal write failed; the group's changes are refused: {e}");
            // Back to what is on disk: nothing of this group was acknowledged.
            let dir = config.state_dir.clone().unwrap_or_default();
            match Journal::open(&dir) {
                Ok((journal, state, _)) => {
                    inner.journal = journal;
                    inner.state = state;
                }
                Err(e) => tracing::error!("API store cannot be reopened: {e}"),
            }
            for (reply, _) in replies {
                let _ = reply.send(Err(ApiError::internal(
                    "the change could not be written to disk; nothing was changed",
                )));
            }
            return;
        }
        // Durable: now served. Keys no entry names any more are removed.
        for entry in &entries {
            if let Entry::Dnssec { zone_id, .. } | Entry::DeleteZone { zone_id, .. } = entry {
                super::dnssec::sweep(&config, &inner.state, zone_id);
            }
        }
        let lbs = publisher.snapshot.load().inputs.load_balancers.clone();
        let mut steps = reload::Steps::new();
        for (id, w) in working {
            let origin = w.origin.clone();
            if let Some(done) = w.finish(&config, inner.state.zones.get(&id), &lbs) {
                if let Some(step) = done.step {
                    steps.insert(origin.clone(), step);
                }
                if let Some(spare) = done.spare {
                    self.spares.insert(id.clone(), spare);
                }
                touched.insert(id, Some((origin, done.zone)));
            }
        }
        let mut file_zones: Vec<Arc<Zone>> = Vec::new();
        for (origin, w) in file_working {
            if let Some((zone, step)) = w.finish(&lbs) {
                steps.insert(origin, step);
                file_zones.push(zone);
            }
        }
        let mut origins_changed: BTreeSet<Vec<u8>> = gone;
        for (id, v) in &touched {
            match v {
                Some((origin, zone)) => {
                    origins_changed.insert(origin.clone());
                    inner.compiled.insert(id.clone(), zone.clone());
                }
                None => {
                    inner.compiled.remove(id);
                }
            }
        }
        let file_origins: BTreeSet<Vec<u8>> =
            file_zones.iter().map(|z| z.origin.to_vec()).collect();
        origins_changed.extend(file_origins.iter().cloned());
        let served: Vec<Arc<Zone>> = touched
            .values()
            .filter_map(|v| v.as_ref().map(|(_, z)| z.clone()))
            .chain(file_zones)
            .collect();
        let api_transfer = config.api.as_ref().map(|a| a.transfer.clone());
        publish(
            publisher,
            &inner.state,
            api_transfer,
            &origins_changed,
            &file_origins,
            served,
            &steps,
        );
        if reload_wanted {
            // Health checks join the configuration's: probes start and stop with the reload.
            publisher.control.request_reload();
        }
        if inner.journal.wants_compaction() {
            let state = inner.state.clone();
            if let Err(e) = inner.journal.compact(&state) {
                tracing::error!("API journal compaction failed (the journal keeps growing): {e}");
            }
        }
        drop(inner);
        drop(guard);
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
    }
}

/// Replaces the changed hosted zones in the served snapshot, records their history and sends
/// NOTIFY, as a reload does for the zones it changed.
fn publish(
    publisher: &Publisher,
    state: &State,
    transfer: Option<crate::transfer::ZoneTransfer>,
    changed: &BTreeSet<Vec<u8>>,
    file_origins: &BTreeSet<Vec<u8>>,
    zones: Vec<Arc<Zone>>,
    steps: &reload::Steps,
) {
    let control = &publisher.control;
    let settings = control.settings.load_full();
    let mut next_settings = crate::transfer::Settings {
        keys: settings.keys.clone(),
        zones: settings.zones.clone(),
        view_zones: settings.view_zones.clone(),
        state_dir: settings.state_dir.clone(),
    };
    // Hosted zones take the [api] transfer settings; a zone from a file keeps its own.
    for origin in changed.difference(file_origins) {
        match (state.zone_by_origin(origin), &transfer) {
            (Some(_), Some(t)) => {
                next_settings.zones.insert(origin.clone(), t.clone());
            }
            _ => {
                next_settings.zones.remove(origin);
            }
        }
    }
    control.settings.store(Arc::new(next_settings));
    let current = publisher.snapshot.load_full();
    let mut all: Vec<Arc<Zone>> = current
        .catalog
        .zones()
        .iter()
        .filter(|z| !changed.contains(&z.origin[..]))
        .cloned()
        .collect();
    all.extend(zones);
    let mut next = current.with_catalog(Catalog::new(all));
    let outcome = reload::apply_with_steps(
        control,
        Some(&current),
        &mut next,
        |_| reload::SerialPolicy::Increment,
        steps,
    );
    publisher.snapshot.store(Arc::new(next));
    reload::act_on(&outcome);
}
