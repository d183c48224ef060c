//! Secondary zones: pulled from a primary with IXFR (AXFR the first time, or when the primary's
//! history does not reach our version), kept fresh by the SOA timers (RFC 1034 §4.3.5), woken
//! at once by a NOTIFY from the primary, and expired after SOA expire without a successful
//! refresh (then SERVFAIL, as BIND answers). Each transferred version is written to the state
//! directory as a zone file, so a restart serves at once.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Why a refresh of a secondary zone failed; the zone keeps serving what it had.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Pull(#[from] PullError),
    #[error("IXFR steps without a zone to apply them to")]
    NoZone,
    #[error("IXFR without steps")]
    NoSteps,
    #[error("IXFR removes a record we do not have")]
    MissingRecord,
    #[error("AXFR answered with something else")]
    NotFull,
    #[error("the transferred record {owner} has malformed RDATA: {source}")]
    BadRdata {
        owner: String,
        source: crate::zone::rdata::RdataError,
    },
    #[error("the transferred zone does not compile: {0}")]
    Compile(#[from] crate::zone::LoadError),
    #[error("policy records are incomplete")]
    IncompletePolicy,
    #[error("policy from the primary: {0}")]
    Policy(String),
    #[error("saving to {dir}: {source}")]
    Save {
        dir: PathBuf,
        source: std::io::Error,
    },
}

use arc_swap::ArcSwap;

use super::client::{self, PullError, Pulled};
use super::journal::{self, Change};
use super::records::{self, Rr};
use super::tsig::Key;
use super::Control;
use crate::snapshot::Snapshot;
use crate::wire::{name, types};
use crate::zone::{parse, Zone};

/// Timers before the first SOA is known (BIND's defaults for a zone never loaded).
const FIRST_RETRY: Duration = Duration::from_secs(15);
/// Floors, so a zone with tiny SOA timers does not hammer its primary.
const MIN_REFRESH: Duration = Duration::from_secs(1);

/// A secondary zone to keep.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// Lowercase wire form.
    pub origin: Vec<u8>,
    pub primary: SocketAddr,
    pub key: Option<Key>,
    pub state_dir: Option<PathBuf>,
}

/// The SOA timers (refresh, retry, expire) of SOA RDATA.
fn timers(soa_rdata: &[u8]) -> (Duration, Duration, Duration) {
    let n = soa_rdata.len();
    let at = |i: usize| {
        soa_rdata
            .get(n - 16 + 4 * i..n - 12 + 4 * i)
            .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()))
    };
    let s = |v: u32| Duration::from_secs(v as u64).max(MIN_REFRESH);
    (s(at(0)), s(at(1)), s(at(2)))
}

/// `<dir>/<origin><suffix>` (`example.test.zone`; the root is `root.zone`): where a zone's
/// copy, policy and IXFR history are kept.
pub fn state_path(dir: &Path, origin: &[u8], suffix: &str) -> PathBuf {
    let text = name::to_text(origin);
    let base = if text == "." {
        "root.".to_string()
    } else {
        text
    };
    dir.join(format!("{base}{suffix}"))
}

/// Where the zone is saved.
pub fn state_file(dir: &Path, origin: &[u8]) -> PathBuf {
    state_path(dir, origin, "zone")
}

/// The policy its primary sent with a zone, merged into the configuration on load (`config`).
pub fn policy_file(dir: &Path, origin: &[u8]) -> PathBuf {
    state_path(dir, origin, "policy.toml")
}

/// Writes the zone as a master file (RFC 3597 `\#` RDATA for all but addresses, so any type
/// round-trips exactly), whole or not at all (`durable::write`).
fn save(
    dir: &Path,
    origin: &[u8],
    soa: &Rr<'_>,
    records: &[Rr<'_>],
    primary: SocketAddr,
) -> std::io::Result<()> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir)?;
    let path = state_file(dir, origin);
    let mut text = String::with_capacity(64 * (records.len() + 1));
    let _ = writeln!(
        text,
        "; secondary zone {} transferred from {primary}, serial {}\n$ORIGIN .",
        name::to_text(origin),
        journal::soa_serial(&soa.rdata)
    );
    for rr in std::iter::once(soa).chain(records.iter()) {
        let _ = write!(
            text,
            "{} {} IN {} ",
            name::to_text(&rr.owner),
            rr.ttl,
            types::mnemonic(rr.rtype)
        );
        match (rr.rtype, rr.rdata.len()) {
            (types::A, 4) => {
                let _ = write!(
                    text,
                    "{}",
                    std::net::Ipv4Addr::from(<[u8; 4]>::try_from(&rr.rdata[..]).unwrap())
                );
            }
            (types::AAAA, 16) => {
                let _ = write!(
                    text,
                    "{}",
                    std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&rr.rdata[..]).unwrap())
                );
            }
            _ => {
                let _ = write!(
                    text,
                    "\\# {} {}",
                    rr.rdata.len(),
                    data_encoding::HEXUPPER.encode(&rr.rdata)
                );
            }
        }
        text.push('\n');
    }
    crate::durable::write(&path, text.as_bytes())
}

fn touch(dir: &Path, origin: &[u8]) {
    let path = state_file(dir, origin);
    if let Ok(f) = std::fs::File::options().append(true).open(&path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Compiles transferred records into a zone.
fn compile(
    origin: &[u8],
    soa: &Rr<'_>,
    records: &[Rr<'_>],
    primary: SocketAddr,
) -> Result<Zone, RefreshError> {
    for r in std::iter::once(soa).chain(records.iter()) {
        crate::zone::rdata::check_wire(r.rtype, &r.rdata).map_err(|source| {
            RefreshError::BadRdata {
                owner: crate::wire::name::to_text(&r.owner),
                source,
            }
        })?;
    }
    let file: Arc<Path> = Arc::from(PathBuf::from(format!("transfer from {primary}")));
    let recs = std::iter::once(soa)
        .chain(records.iter())
        .enumerate()
        .map(|(i, r)| parse::Record {
            owner: r.owner.to_vec(),
            ttl: r.ttl,
            rtype: r.rtype,
            rdata: r.rdata.to_vec(),
            file: file.clone(),
            line: i + 1,
        })
        .collect();
    Ok(Zone::compile(origin, recs).map(|(z, _)| z)?)
}

/// Applies IXFR steps to a record list (sorted, as `records::collect` gives it).
fn apply_steps(
    mut current: Vec<Rr<'static>>,
    steps: &[Change],
) -> Result<Vec<Rr<'static>>, RefreshError> {
    for step in steps {
        for r in &step.removed {
            match current.binary_search(r) {
                Ok(i) => {
                    current.remove(i);
                }
                Err(_) => return Err(RefreshError::MissingRecord),
            }
        }
        for r in &step.added {
            if let Err(i) = current.binary_search(r) {
                current.insert(i, r.clone());
            }
        }
    }
    Ok(current)
}

/// Publishes a new version of one zone into the served snapshot.
fn install(snapshot: &ArcSwap<Snapshot>, writer: &Mutex<()>, zone: Zone) {
    let zone = Arc::new(zone);
    let _guard = writer.lock().unwrap();
    let current = snapshot.load_full();
    snapshot.store(Arc::new(
        current.with_catalog(current.catalog.with_zone(zone)),
    ));
}

/// Runs one secondary zone until the task is aborted.
pub async fn run(
    s: Secondary,
    control: Arc<Control>,
    snapshot: Arc<ArcSwap<Snapshot>>,
    writer: Arc<Mutex<()>>,
) {
    let text = name::to_text(&s.origin);
    let wake = control.refresh_handle(&s.origin);
    // The last successful refresh, for expiry: after a restart, when the saved copy was
    // last written or confirmed current.
    let saved_at = s.state_dir.as_deref().and_then(|d| {
        std::fs::metadata(state_file(d, &s.origin))
            .and_then(|m| m.modified())
            .ok()
    });
    let mut last_ok: Option<Instant> = saved_at.and_then(|t| {
        let age = SystemTime::now().duration_since(t).unwrap_or_default();
        Instant::now().checked_sub(age)
    });
    loop {
        let current = snapshot.load().catalog.zone_by_origin(&s.origin).cloned();
        let have = current.as_ref().filter(|z| !z.servfail);
        let result = refresh(&s, &control, &snapshot, &writer, have.map(|z| &**z)).await;
        let now_zone = snapshot.load().catalog.zone_by_origin(&s.origin).cloned();
        let soa = now_zone
            .as_ref()
            .filter(|z| !z.servfail)
            .map(|z| records::soa(z).rdata.to_vec());
        let (refresh_t, retry_t, expire_t) = soa
            .as_deref()
            .map_or((FIRST_RETRY, FIRST_RETRY, Duration::MAX), timers);
        let wait = match result {
            Ok(what) => {
                crate::metrics::event(|e| &e.refreshes_ok);
                last_ok = Some(Instant::now());
                if let Some(what) = what {
                    tracing::info!(zone = %text, primary = %s.primary, "{what}");
                }
                refresh_t
            }
            Err(e) => {
                crate::metrics::event(|e| &e.refreshes_failed);
                tracing::warn!(zone = %text, primary = %s.primary, "refresh failed: {e}; retrying in {}s", retry_t.as_secs());
                let expired = last_ok.is_some_and(|t| t.elapsed() >= expire_t);
                if expired && soa.is_some() {
                    tracing::error!(zone = %text, "zone expired: no successful refresh within SOA expire ({}s); answering SERVFAIL", expire_t.as_secs());
                    install(&snapshot, &writer, Zone::placeholder(&s.origin));
                }
                retry_t
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
    }
}

/// One refresh: SOA query, then a transfer if the primary is ahead. `Ok(Some(text))` says what
/// changed.
async fn refresh(
    s: &Secondary,
    control: &Control,
    snapshot: &ArcSwap<Snapshot>,
    writer: &Mutex<()>,
    have: Option<&Zone>,
) -> Result<Option<String>, RefreshError> {
    let theirs = client::soa_serial_of(s.primary, &s.origin, s.key.as_ref()).await?;
    if let Some(z) = have {
        if !journal::serial_gt(theirs, z.serial) {
            if let Some(dir) = &s.state_dir {
                touch(dir, &s.origin);
            }
            return Ok(None);
        }
    }
    let have_soa = have.map(|z| records::soa(z).into_owned());
    let lbs = snapshot.load().inputs.load_balancers.clone();
    let pulled = client::pull(s.primary, &s.origin, s.key.as_ref(), have_soa.as_ref()).await?;
    let (soa, list, how) = match pulled {
        Pulled::UpToDate => return Ok(None),
        Pulled::Full { soa, mut records } => {
            records.sort_unstable();
            records.dedup();
            let n = records.len();
            (soa, records, format!("AXFR: {} records", n + 1))
        }
        Pulled::Incremental(steps) => {
            let z = have.ok_or(RefreshError::NoZone)?;
            // Our full view (static renderings and policy records) is what the primary's
            // steps were computed against.
            let current = records::collect(z, &lbs);
            let soa = steps
                .last()
                .map(|c| c.new_soa.clone())
                .ok_or(RefreshError::NoSteps)?;
            let changes: usize = steps.iter().map(|c| c.removed.len() + c.added.len()).sum();
            match apply_steps(current, &steps) {
                Ok(applied) => (
                    soa,
                    applied,
                    format!("IXFR: {} steps, {changes} records changed", steps.len()),
                ),
                Err(e) => {
                    // Our copy and the primary's history disagree: take the whole zone.
                    tracing::warn!(zone = %name::to_text(&s.origin), "IXFR does not apply ({e}); transferring the whole zone");
                    match client::pull(s.primary, &s.origin, s.key.as_ref(), None).await? {
                        Pulled::Full { soa, mut records } => {
                            records.sort_unstable();
                            records.dedup();
                            let n = records.len();
                            (
                                soa,
                                records,
                                format!("AXFR after an IXFR that did not apply: {} records", n + 1),
                            )
                        }
                        _ => return Err(RefreshError::NotFull),
                    }
                }
            }
        }
    };
    let owner_fixed = Rr {
        owner: Cow::Owned(s.origin.clone()),
        ..soa
    };
    let serial = journal::soa_serial(&owner_fixed.rdata);
    if let Some(old) = have {
        // Our own history, so secondaries of ours can IXFR too.
        let before = records::collect(old, &lbs);
        let (removed, added) = journal::diff(&before, &list);
        let j = control
            .journal(&s.origin)
            .map(|j| (*j).clone())
            .unwrap_or_default();
        control.set_journal(
            &s.origin,
            j.with(Change {
                old_soa: records::soa(old).into_owned(),
                new_soa: owner_fixed.clone().into_owned(),
                removed,
                added,
            }),
        );
    }
    // The policy records, if the primary is a policydns and sent them.
    let policy_owner = records::policy_owner(&s.origin);
    let is_policy = |r: &Rr<'_>| r.rtype == types::POLICYDNS && *r.owner == *policy_owner;
    let policy_rdatas: Vec<&[u8]> = list
        .iter()
        .filter(|r| is_policy(r))
        .map(|r| &*r.rdata)
        .collect();
    let policy = if policy_rdatas.is_empty() {
        None
    } else {
        Some(records::policy_text(&policy_rdatas).ok_or(RefreshError::IncompletePolicy)?)
    };
    match (&s.state_dir, policy) {
        (Some(dir), Some(text)) => {
            // Served as the primary serves it: the record sets replace their static renderings,
            // and a reload merges the policy into the configuration (health checks start
            // probing here).
            let rendered = rendered_sets(&text)?;
            let rest: Vec<Rr<'static>> = list
                .into_iter()
                .filter(|r| !is_policy(r) && !rendered.contains(&(r.owner.to_vec(), r.rtype)))
                .collect();
            let saving = |source| RefreshError::Save {
                dir: dir.clone(),
                source,
            };
            save(dir, &s.origin, &owner_fixed, &rest, s.primary).map_err(saving)?;
            crate::durable::write(&policy_file(dir, &s.origin), text.as_bytes()).map_err(saving)?;
            control.request_reload();
            Ok(Some(format!(
                "serial {serial} received with its routing policy ({how}); reloading to serve it"
            )))
        }
        (dir, policy) => {
            if policy.is_some() {
                tracing::warn!(zone = %name::to_text(&s.origin), "the primary sent the zone's routing policy; without --state-dir it cannot be merged, so its static rendering is served");
            }
            let rest: Vec<Rr<'static>> = list.into_iter().filter(|r| !is_policy(r)).collect();
            let zone = compile(&s.origin, &owner_fixed, &rest, s.primary)?;
            let had_policy = dir
                .as_ref()
                .is_some_and(|d| policy_file(d, &s.origin).exists());
            if let Some(dir) = dir {
                if let Err(e) = save(dir, &s.origin, &owner_fixed, &rest, s.primary) {
                    tracing::warn!(dir = %dir.display(), "could not save the secondary zone: {e}");
                }
            }
            if had_policy {
                // The zone no longer has a policy: forget it and reload without it.
                let _ = std::fs::remove_file(policy_file(dir.as_ref().unwrap(), &s.origin));
                control.request_reload();
                return Ok(Some(format!(
                    "serial {serial} received without a routing policy ({how}); reloading"
                )));
            }
            install(snapshot, writer, zone);
            Ok(Some(format!("serial {serial} now served ({how})")))
        }
    }
}

/// The (owner, type) of every record set a policy text defines: their static renderings give
/// way to the policy.
fn rendered_sets(text: &str) -> Result<Vec<(Vec<u8>, u16)>, RefreshError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| RefreshError::Policy(e.to_string()))?;
    let mut out = Vec::new();
    for r in table
        .get("record_set")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let (Some(n), Some(t)) = (
            r.get("name").and_then(|v| v.as_str()),
            r.get("type").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        let owner = name::from_text(n.trim_end_matches('.'), Some(&[0]))
            .map_err(|e| RefreshError::Policy(format!("{n}: {e}")))?;
        let rtype =
            types::from_mnemonic(t).ok_or_else(|| RefreshError::Policy(format!("type {t}")))?;
        out.push((name::to_lowercase(&owner), rtype));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_come_from_the_soa_counters() {
        let mut rd = vec![0, 0];
        for v in [7u32, 3600, 600, 86400, 300] {
            rd.extend_from_slice(&v.to_be_bytes());
        }
        let (refresh, retry, expire) = timers(&rd);
        assert_eq!(
            (refresh.as_secs(), retry.as_secs(), expire.as_secs()),
            (3600, 600, 86400)
        );
    }

    #[test]
    fn state_files_are_named_for_the_zone() {
        let dir = Path::new("/s");
        assert_eq!(
            state_file(dir, b"\x07example\x04test\x00"),
            Path::new("/s/example.test.zone")
        );
        assert_eq!(state_file(dir, b"\x00"), Path::new("/s/root.zone"));
    }

    #[test]
    fn malformed_transferred_rdata_is_refused_as_a_saved_file_would_be() {
        use std::borrow::Cow;
        let origin = b"\x04test\x00".to_vec();
        let rr = |rtype: u16, rdata: &[u8]| Rr {
            owner: Cow::Owned(origin.clone()),
            rtype,
            ttl: 60,
            rdata: Cow::Owned(rdata.to_vec()),
        };
        let mut soa = b"\x02ns\x04test\x00\x02hm\x04test\x00".to_vec();
        soa.extend_from_slice(&[0; 20]);
        let ns = rr(types::NS, b"\x02ns\x04test\x00");
        let primary: SocketAddr = ([127, 0, 0, 1], 53).into();
        // An MX whose exchange runs past the end.
        let bad = rr(types::MX, b"\x00\x0a\x05mx");
        let err = compile(&origin, &rr(types::SOA, &soa), &[ns.clone(), bad], primary);
        assert!(matches!(err, Err(RefreshError::BadRdata { .. })));
        let good = rr(types::MX, b"\x00\x0a\x02mx\x04test\x00");
        assert!(compile(&origin, &rr(types::SOA, &soa), &[ns, good], primary).is_ok());
    }
}
