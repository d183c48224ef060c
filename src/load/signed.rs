//! A zone file signed as it is loaded (`[[zone]] dnssec = true`): its records, then the
//! DNSKEY, CDS, CDNSKEY, NSEC and RRSIG records the signer makes with the zone's keys from
//! the state directory (made on first start), compiled together. What cannot be signed is a
//! load error naming the zone, so the zone keeps its previous version (or answers SERVFAIL)
//! while the other zones serve.

use std::path::Path;
use std::sync::Arc;

use super::kept::Kept;
use crate::dnssec::keyring::{KeyPolicy, Keyring, KeyringError, ZskEvent};
use crate::dnssec::sign::Validity;
use crate::dnssec::zone::{sign_reusing, Denial, Rr, ToSign};
use crate::wire::name;
use crate::zone::signed::PolicySigner;
use crate::zone::{parse, GroupInput, LoadError, ParseError, SoaSigner, Zone, APEX};

/// How long signatures made at load stay valid. A running server signs again well before
/// (`RESIGN_AFTER`), so a validator never sees one expire.
pub const VALIDITY_SECS: u32 = 14 * 86_400;

/// Signatures are made afresh by a reload this long after they were: half their validity.
pub const RESIGN_AFTER_SECS: u64 = VALIDITY_SECS as u64 / 2;

/// A reload keeps a signature only if it has longer than this to live: the weekly reload
/// that follows then replaces it before it expires.
pub const KEEP_FOR_SECS: u32 = RESIGN_AFTER_SECS as u32 + 3600;

/// Where a signed zone's keys are, and when it is signed.
#[derive(Clone, Copy)]
pub(super) struct Signing<'a> {
    pub(super) state_dir: Option<&'a Path>,
    /// Automatic ZSK rollover, if configured.
    pub(super) zsk_roll: Option<crate::dnssec::keyring::ZskRoll>,
    /// `check` or `explain`: keys are not made on disk.
    pub(super) dry_run: bool,
    /// Unix seconds.
    pub(super) now: u64,
}

/// Loads, signs and compiles the zone file `file` for `origin`, keeping what it can of the
/// version serving now (`previous`).
pub(super) fn load(
    origin: &[u8],
    file: &Path,
    groups: Vec<GroupInput>,
    previous: Option<&Zone>,
    denial: &Denial,
    signing: Signing<'_>,
) -> Result<(Zone, Vec<String>), LoadError> {
    let keys = zone_keys(origin, file, &signing)?;
    let records = parse::parse_file(file, origin)?;
    let cache = signing.cache(origin);
    compile_signed(
        origin,
        records,
        groups,
        previous,
        denial,
        keys,
        signing.now,
        file,
        cache.as_deref(),
    )
}

impl Signing<'_> {
    /// Where `origin`'s signatures are saved at shutdown (none for `check` and `explain`).
    pub(super) fn cache(&self, origin: &[u8]) -> Option<std::path::PathBuf> {
        let dir = Keyring::dir(self.state_dir?, origin).ok()?;
        (!self.dry_run).then(|| dir.join(SIGNATURE_CACHE))
    }
}

/// The file beside a zone's keys that holds its signatures between runs (`load::kept`).
pub const SIGNATURE_CACHE: &str = "signatures.bin";

/// `origin`'s signing keys from the state directory, made on first use (throwaway ones for
/// `check` and `explain`), after any ZSK rollover event that is due; problems name `file`.
pub(super) fn zone_keys(
    origin: &[u8],
    file: &Path,
    signing: &Signing<'_>,
) -> Result<Vec<crate::dnssec::Key>, LoadError> {
    let &Signing {
        state_dir,
        zsk_roll,
        dry_run,
        now,
    } = signing;
    let zone_text = name::to_text(origin);
    let problem = |file: &Path, line: usize, message: String| LoadError {
        problems: vec![ParseError {
            file: file.to_path_buf(),
            line,
            message,
        }],
    };
    let Some(state_dir) = state_dir else {
        return Err(problem(
            file,
            0,
            format!("zone {zone_text}: dnssec = true needs a state directory for its keys"),
        ));
    };
    if let (Some(roll), false) = (zsk_roll, dry_run) {
        match Keyring::roll_zsk(state_dir, origin, roll, now) {
            Ok(events) => {
                for e in events {
                    match e {
                        ZskEvent::Published(tag, at) => {
                            tracing::info!(zone = %zone_text, key_tag = tag, signs_from = %crate::clock::rfc3339(at as i64), "ZSK rollover: a new ZSK is published (pre-publication); it signs from the first load after that time, in place of the old one")
                        }
                        ZskEvent::Switched { new, old } => {
                            tracing::info!(zone = %zone_text, key_tag = new, old_key_tag = old, "ZSK rollover: the new ZSK signs; the old one stays published, no longer signing")
                        }
                        ZskEvent::Retired(tag) => {
                            tracing::info!(zone = %zone_text, key_tag = tag, "ZSK rollover: the old ZSK is retired")
                        }
                    }
                }
            }
            Err(KeyringError::NoKeys(_)) => {}
            Err(e) => {
                return Err(problem(
                    file,
                    0,
                    format!("zone {zone_text}: ZSK rollover: {e}"),
                ))
            }
        }
    }
    let ring = match Keyring::open(state_dir, origin) {
        Ok(r) => r,
        Err(KeyringError::NoKeys(_)) if dry_run => {
            // `check` and `explain` sign with keys nobody keeps: the real ones are made when
            // the server starts.
            let key = crate::dnssec::Key::generate(
                KeyPolicy::default().algorithm,
                crate::dnssec::key::SECURE_ENTRY_POINT,
                now,
            )
            .map_err(|e| problem(file, 0, format!("zone {zone_text} is not signed: {e}")))?;
            Keyring {
                dir: Keyring::dir(state_dir, origin)
                    .map_err(|e| problem(file, 0, format!("zone {zone_text}: {e}")))?,
                keys: vec![key],
                files: Vec::new(),
            }
        }
        Err(KeyringError::NoKeys(_)) => {
            let r = Keyring::create(state_dir, origin, KeyPolicy::default(), now)
                .map_err(|e| problem(file, 0, format!("zone {zone_text} is not signed: {e}")))?;
            for k in r
                .keys
                .iter()
                .filter(|k| r.role(k) != crate::dnssec::keyring::Role::Zsk)
            {
                tracing::info!(
                    zone = %zone_text,
                    key_tag = k.key_tag(),
                    dir = %r.dir.display(),
                    "made the zone's DNSSEC key; give its parent the DS from `policydns dnssec ds`"
                );
            }
            r
        }
        Err(e) => {
            return Err(problem(
                file,
                0,
                format!("zone {zone_text} is not signed: {e}"),
            ))
        }
    };
    Ok(ring.at(now).keys)
}

/// Signs `records` (the zone's, routing-policy `groups` beside them) with `keys` and compiles
/// them, keeping `previous`'s signatures of unchanged RRsets; `source` names the zone's origin
/// in problems. A zone from a file and a Route 53 API hosted zone are signed by this one step.
#[allow(clippy::too_many_arguments)]
pub(super) fn compile_signed(
    origin: &[u8],
    records: Vec<parse::Record>,
    groups: Vec<GroupInput>,
    previous: Option<&Zone>,
    denial: &Denial,
    keys: Vec<crate::dnssec::Key>,
    now: u64,
    source: &Path,
    cache: Option<&Path>,
) -> Result<(Zone, Vec<String>), LoadError> {
    let zone_text = name::to_text(origin);
    let now32 = now as u32;
    let validity = validity_at(now32);
    let rrs: Vec<Rr> = records
        .iter()
        .map(|r| Rr {
            owner: r.owner.clone(),
            ttl: r.ttl,
            rtype: r.rtype,
            rdata: r.rdata.clone(),
        })
        .collect();
    let elsewhere: Vec<(Vec<u8>, u16)> =
        groups.iter().map(|g| (g.owner.clone(), g.rtype)).collect();
    let signing = SignInput {
        origin,
        cache,
        elsewhere: &elsewhere,
        keys: &keys,
        validity,
        denial,
    };
    let added = signing
        .records(&rrs, previous, now32, source)
        .map_err(|e| LoadError {
            problems: vec![ParseError {
                file: source.to_path_buf(),
                line: 0,
                message: format!("zone {zone_text} is not signed: {e}"),
            }],
        })?;
    let mut all = records;
    all.extend(added);
    let (mut zone, warnings) = Zone::compile_with_groups(origin, all, groups)?;
    zone.source = Some(source.to_path_buf());
    zone.signature_cache = cache.map(Arc::from);
    equip(&mut zone, origin, keys, validity, previous, now32);
    Ok((zone, warnings))
}

/// Signatures made at `now32`: from an hour back (for validators whose clocks run behind
/// ours) for [`VALIDITY_SECS`].
fn validity_at(now32: u32) -> Validity {
    Validity {
        inception: now32.saturating_sub(3600),
        expiration: now32.saturating_add(VALIDITY_SECS),
    }
}

/// What signing a zone's records takes, whether they come from its file or from a patched
/// version.
struct SignInput<'a> {
    origin: &'a [u8],
    /// Signatures saved by the last run, for a first load (no `previous`).
    cache: Option<&'a Path>,
    /// Routing-policy record sets: in the chain, signed apart.
    elsewhere: &'a [(Vec<u8>, u16)],
    keys: &'a [crate::dnssec::Key],
    validity: Validity,
    denial: &'a Denial,
}

impl SignInput<'_> {
    /// The records the signer adds to `rrs` (DNSKEY, CDS, CDNSKEY, the chain, RRSIGs), keeping
    /// `previous`'s signatures where its RRsets are unchanged and good, as records of `file`.
    fn records(
        &self,
        rrs: &[Rr],
        previous: Option<&Zone>,
        now32: u32,
        file: &Path,
    ) -> Result<Vec<parse::Record>, crate::dnssec::zone::SignError> {
        let kept = match (previous, self.cache) {
            (Some(p), _) => Kept::of(p, now32),
            (None, Some(c)) => Kept::read(c, now32).unwrap_or_default(),
            (None, None) => Kept::default(),
        };
        let reuse = |t: &ToSign<'_>| kept.lookup(t);
        let added = sign_reusing(
            self.origin,
            rrs,
            self.elsewhere,
            self.keys,
            self.validity,
            self.denial,
            &reuse,
        )?;
        Ok(as_records(added, file).collect())
    }
}

/// Signer records as zone-file records of `file` (no line).
fn as_records(rrs: Vec<Rr>, file: &Path) -> impl Iterator<Item = parse::Record> {
    let source: Arc<Path> = Arc::from(file);
    rrs.into_iter().map(move |r| parse::Record {
        owner: r.owner,
        ttl: r.ttl,
        rtype: r.rtype,
        rdata: r.rdata,
        file: source.clone(),
        line: 0,
    })
}

/// What a signed zone carries beside its records, once compiled: its NSEC or NSEC3 index, its
/// routing-policy members' signatures, and the signers for its SOA and for policy answers
/// (taking over from `previous` what it signed and is still good).
fn equip(
    zone: &mut Zone,
    origin: &[u8],
    keys: Vec<crate::dnssec::Key>,
    validity: Validity,
    previous: Option<&Zone>,
    now32: u32,
) {
    zone.index_nsec_chain();
    zone.index_nsec3_chain();
    let keys = zone_signing_keys(keys);
    let signer = origin.to_vec();
    zone.sign_members(|owner, rtype, ttl, rdatas| {
        keys.iter()
            .map(|k| crate::dnssec::sign::rrsig(k, &signer, owner, rtype, ttl, rdatas, validity))
            .collect()
    });
    zone.soa_signer = Some(soa_signer(origin, zone, keys.clone(), validity));
    // Answers that are not one member's records are signed when first given; those the
    // serving version signed are kept while good (a transfer's renderings included).
    let tags: Vec<u16> = keys.iter().map(|k| k.key_tag()).collect();
    let policy = PolicySigner::new(
        Box::new(move |owner, rtype, ttl, rdatas| {
            keys.iter()
                .map(|k| {
                    crate::dnssec::sign::rrsig(k, &signer, owner, rtype, ttl, rdatas, validity)
                })
                .collect()
        }),
        &tags,
        KEEP_FOR_SECS,
    );
    if let Some(prev) = previous.and_then(|p| p.policy_signer.as_deref()) {
        policy.inherit(prev, now32);
    }
    zone.policy_signer = Some(Arc::new(policy));
}

/// The keys that sign the zone's data: the ZSKs, or the combined keys when there are none.
fn zone_signing_keys(keys: Vec<crate::dnssec::Key>) -> Arc<Vec<crate::dnssec::Key>> {
    use crate::dnssec::key::ZONE_KEY;
    let keys: Vec<crate::dnssec::Key> = keys.into_iter().filter(|k| k.signing).collect();
    let split = keys.iter().any(|k| k.flags == ZONE_KEY);
    Arc::new(
        keys.into_iter()
            .filter(|k| !split || k.flags == ZONE_KEY)
            .collect(),
    )
}

/// Signs the zone's SOA again with its zone-signing keys (the SOA's TTL and the validity of
/// the load), for a reload that changes the serial served.
fn soa_signer(
    origin: &[u8],
    zone: &Zone,
    signers: Arc<Vec<crate::dnssec::Key>>,
    validity: Validity,
) -> SoaSigner {
    let ttl = zone
        .rrset(zone.node(APEX), crate::wire::types::SOA)
        .map_or(0, |s| s.ttl);
    let origin = origin.to_vec();
    SoaSigner(Arc::new(move |soa: &[u8]| {
        signers
            .iter()
            .map(|k| {
                crate::dnssec::sign::rrsig(
                    k,
                    &origin,
                    &origin,
                    crate::wire::types::SOA,
                    ttl,
                    &[soa.to_vec()],
                    validity,
                )
            })
            .collect()
    }))
}
