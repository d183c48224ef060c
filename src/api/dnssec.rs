//! Route 53's DNSSEC operations on a hosted zone: key-signing keys created, activated,
//! deactivated and deleted (`CreateKeySigningKey` …), signing enabled and disabled
//! (`EnableHostedZoneDNSSEC`, `DisableHostedZoneDNSSEC`) and shown (`GetDNSSEC`), with
//! Route 53's rules and errors. The keys are this server's (ECDSA P-256, in the state
//! directory, `crate::dnssec::hosted`): the KMS key ARN a request names is kept as a label.
//! The zone itself is signed as it compiles (`load::hosted_zone`), after every change.

use super::commit::{Write, Written};
use super::error::ApiError;
use super::ids;
use super::ops::{bare_id, ok, Reply};
use super::prepare::{compile, Prepared, Served};
use super::xml::{self, document, leaf};
use super::Api;
use crate::config::Config;
use crate::dnssec::hosted;
use crate::dnssec::key::{SECURE_ENTRY_POINT, ZONE_KEY};
use crate::store::{ChangeInfo, Entry, Ksk, State, ZoneDnssec};

/// Route 53 allows two key-signing keys per hosted zone.
const MAX_KSKS: usize = 2;

/// What a DNSSEC request does to a hosted zone.
#[derive(Debug)]
pub enum DnssecOp {
    CreateKsk {
        name: String,
        kms_arn: String,
        active: bool,
    },
    Activate(String),
    Deactivate(String),
    DeleteKsk(String),
    Enable,
    Disable,
}

fn no_such_ksk(name: &str) -> ApiError {
    ApiError::new(
        404,
        "NoSuchKeySigningKey",
        format!("The specified key-signing key ({name}) doesn't exist."),
    )
}

fn in_use(message: String) -> ApiError {
    ApiError::new(400, "KeySigningKeyInUse", message)
}

/// Checks `op` against the zone's DNSSEC: the new state to journal, and the zone compiled
/// with it. Keys a request needs are made (on disk, fsynced) before the entry is written; a key
/// no entry names is never used, and removed after the next commit of the zone.
pub(super) fn prepare(
    state: &State,
    config: &Config,
    zone_id: String,
    op: DnssecOp,
    now: i64,
) -> Result<Prepared, ApiError> {
    let zone = state
        .zones
        .get(&zone_id)
        .ok_or_else(|| ApiError::no_such_zone(&zone_id))?;
    let mut d = zone.dnssec.clone();
    let find = |d: &ZoneDnssec, name: &str| d.ksks.iter().position(|k| k.name == name);
    let mut created = None;
    match op {
        DnssecOp::CreateKsk {
            name,
            kms_arn,
            active,
        } => {
            if let Some(k) = d
                .ksks
                .iter()
                .find(|k| k.name == name || k.kms_arn == kms_arn)
            {
                return Err(ApiError::new(
                    409,
                    "KeySigningKeyAlreadyExists",
                    format!(
                        "The hosted zone has a key-signing key with this name or KMS key ARN already ({}).",
                        k.name
                    ),
                ));
            }
            if d.ksks.len() >= MAX_KSKS {
                return Err(ApiError::new(
                    400,
                    "TooManyKeySigningKeys",
                    format!("A hosted zone can have at most {MAX_KSKS} key-signing keys; delete one first."),
                ));
            }
            if zone.private_zone {
                return Err(private());
            }
            let dir = key_dir(config, &zone_id)?;
            let taken: Vec<u16> = d.ksks.iter().map(|k| k.key_tag).chain(d.zsk).collect();
            let key = hosted::make(&dir, SECURE_ENTRY_POINT, now as u64, &taken)
                .map_err(|e| ApiError::internal(format!("the key could not be made: {e}")))?;
            let ksk = Ksk {
                name,
                kms_arn,
                active,
                key_tag: key.key_tag(),
                created: now,
                last_modified: now,
            };
            created = Some(ksk.clone());
            d.ksks.push(ksk);
        }
        DnssecOp::Activate(name) | DnssecOp::Deactivate(name) if find(&d, &name).is_none() => {
            return Err(no_such_ksk(&name));
        }
        DnssecOp::Activate(name) => {
            let i = find(&d, &name).expect("checked above");
            if d.ksks[i].active {
                return Err(ApiError::new(
                    400,
                    "InvalidKeySigningKeyStatus",
                    format!("The key-signing key {name} is ACTIVE already."),
                ));
            }
            d.ksks[i].active = true;
            d.ksks[i].last_modified = now;
        }
        DnssecOp::Deactivate(name) => {
            let i = find(&d, &name).expect("checked above");
            if !d.ksks[i].active {
                return Err(ApiError::new(
                    400,
                    "InvalidKeySigningKeyStatus",
                    format!("The key-signing key {name} is INACTIVE already."),
                ));
            }
            if d.signing && d.active().count() == 1 {
                return Err(in_use(format!(
                    "{name} is the only active key-signing key of a zone served signed: disable DNSSEC signing first (DisableHostedZoneDNSSEC), or activate another key"
                )));
            }
            d.ksks[i].active = false;
            d.ksks[i].last_modified = now;
        }
        DnssecOp::DeleteKsk(name) => {
            let i = find(&d, &name).ok_or_else(|| no_such_ksk(&name))?;
            if d.ksks[i].active {
                return Err(ApiError::new(
                    400,
                    "InvalidKeySigningKeyStatus",
                    format!(
                        "The key-signing key {name} is ACTIVE: deactivate it before deleting it."
                    ),
                ));
            }
            d.ksks.remove(i);
        }
        DnssecOp::Enable => {
            if zone.private_zone {
                return Err(private());
            }
            if d.active().next().is_none() {
                return Err(ApiError::new(
                    400,
                    "KeySigningKeyWithActiveStatusNotFound",
                    "A key-signing key (KSK) with ACTIVE status wasn't found: create or activate one first.",
                ));
            }
            if d.zsk.is_none() {
                // The zone-signing key is the service's: made when signing is first enabled.
                let dir = key_dir(config, &zone_id)?;
                let taken: Vec<u16> = d.ksks.iter().map(|k| k.key_tag).collect();
                let key = hosted::make(&dir, ZONE_KEY, now as u64, &taken)
                    .map_err(|e| ApiError::internal(format!("the key could not be made: {e}")))?;
                d.zsk = Some(key.key_tag());
            }
            d.signing = true;
        }
        DnssecOp::Disable => {
            d.signing = false;
        }
    }
    let change = ChangeInfo {
        id: ids::change_id(),
        submitted_at: now,
        comment: None,
    };
    // A zone served unsigned before and after serves the same: nothing to compile.
    let served = if zone.dnssec.signing || d.signing {
        let mut after = zone.clone();
        after.serial = after.serial.wrapping_add(1);
        after.dnssec = d.clone();
        // Signed whole with the new keys (a request here is rare; the version serving now
        // may be signed by a key that is going).
        let compiled = compile(config, &after, None).map_err(|p| {
            ApiError::internal(format!("the zone could not be signed: {}", p.join("; ")))
        })?;
        Served::Zone(zone_id.clone(), after.origin(), compiled)
    } else {
        Served::Same
    };
    let written = match created {
        Some(ksk) => Written::Ksk(Box::new(ksk), change.clone()),
        None => Written::Change(change.clone()),
    };
    Ok(Prepared {
        plan: None,
        served,
        written,
        entry: Some(Entry::Dnssec {
            zone_id,
            dnssec: d,
            change,
        }),
    })
}

fn private() -> ApiError {
    ApiError::new(
        400,
        "InvalidArgument",
        "DNSSEC signing is not supported for private hosted zones.",
    )
}

fn key_dir(config: &Config, zone_id: &str) -> Result<std::path::PathBuf, ApiError> {
    let state_dir = config
        .state_dir
        .as_deref()
        .ok_or_else(|| ApiError::internal("the API needs a state directory"))?;
    hosted::dir(state_dir, zone_id).map_err(|e| ApiError::invalid_input(e.to_string()))
}

/// After a commit: the key files of `zone_id` the store no longer names (a deleted key, one
/// made for a request whose entry was never written, all of a deleted zone's) are removed, so
/// no secret outlives its key.
pub(super) fn sweep(config: &Config, state: &State, zone_id: &str) {
    let Ok(dir) = key_dir(config, zone_id) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let named: Vec<u16> = state
        .zones
        .get(zone_id)
        .map(|z| {
            z.dnssec
                .ksks
                .iter()
                .map(|k| k.key_tag)
                .chain(z.dnssec.zsk)
                .collect()
        })
        .unwrap_or_default();
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(tag) = file
            .to_str()
            .and_then(|n| n.strip_prefix('K'))
            .and_then(|n| n.get(..5))
            .and_then(|t| t.parse::<u16>().ok())
        else {
            continue;
        };
        if !named.contains(&tag) {
            if let Err(err) = std::fs::remove_file(e.path()) {
                tracing::warn!(file = %e.path().display(), "a key no longer used could not be removed: {err}");
            }
        }
    }
    if !state.zones.contains_key(zone_id) {
        // Its keys are gone (above); what is left is the saved signatures, public anyway.
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), "a deleted zone's key directory could not be removed: {err}");
        }
    }
}

/// `/2013-04-01/keysigningkey…` requests.
pub(super) async fn route_ksk(
    api: &Api,
    method: &str,
    rest: &[&str],
    body: &[u8],
) -> Result<Reply, ApiError> {
    match (method, rest) {
        ("POST", []) => create_ksk(api, body).await,
        ("POST", [zone, name, "activate"]) => {
            write(
                api,
                zone,
                DnssecOp::Activate(name.to_string()),
                "ActivateKeySigningKeyResponse",
            )
            .await
        }
        ("POST", [zone, name, "deactivate"]) => {
            write(
                api,
                zone,
                DnssecOp::Deactivate(name.to_string()),
                "DeactivateKeySigningKeyResponse",
            )
            .await
        }
        ("DELETE", [zone, name]) => {
            write(
                api,
                zone,
                DnssecOp::DeleteKsk(name.to_string()),
                "DeleteKeySigningKeyResponse",
            )
            .await
        }
        _ => Err(super::ops::unknown(
            method,
            &format!("/2013-04-01/keysigningkey/{}", rest.join("/")),
        )),
    }
}

pub(super) async fn enable(api: &Api, zone: &str) -> Result<Reply, ApiError> {
    write(
        api,
        zone,
        DnssecOp::Enable,
        "EnableHostedZoneDNSSECResponse",
    )
    .await
}

pub(super) async fn disable(api: &Api, zone: &str) -> Result<Reply, ApiError> {
    write(
        api,
        zone,
        DnssecOp::Disable,
        "DisableHostedZoneDNSSECResponse",
    )
    .await
}

async fn write(api: &Api, zone: &str, op: DnssecOp, response: &str) -> Result<Reply, ApiError> {
    let written = api
        .store
        .write(Write::Dnssec {
            zone_id: bare_id(zone, "hostedzone/").to_string(),
            op,
        })
        .await?;
    let mut body = String::new();
    if let Written::Change(c) | Written::Ksk(_, c) = &written {
        super::ops::change_info_xml(&mut body, c);
    }
    ok(document(response, &body))
}

async fn create_ksk(api: &Api, body: &[u8]) -> Result<Reply, ApiError> {
    let req = xml::parse(body, "CreateKeySigningKeyRequest")?;
    let field = |name: &str| {
        req.text_of(name)
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid_input(format!("{name} is required")))
    };
    let caller_reference = field("CallerReference")?;
    if caller_reference.is_empty() || caller_reference.chars().count() > 128 {
        return Err(ApiError::invalid_input(
            "CallerReference must be 1 to 128 characters",
        ));
    }
    let zone_id = bare_id(&field("HostedZoneId")?, "hostedzone/").to_string();
    let kms_arn = field("KeyManagementServiceArn")?;
    let name = field("Name")?;
    let status = field("Status")?;
    let valid_name = (3..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid_name {
        return Err(ApiError::new(
            400,
            "InvalidKeySigningKeyName",
            format!(
                "{name:?}: a key-signing key's name is 3 to 128 letters, digits and underscores"
            ),
        ));
    }
    // The ARN names a key in AWS KMS, which this server does not reach: it must look like
    // one, and is kept as the key's label.
    let arn_ok = kms_arn.starts_with("arn:") && kms_arn.contains(":kms:") && kms_arn.len() <= 1024;
    if !arn_ok {
        return Err(ApiError::new(
            400,
            "InvalidKMSArn",
            format!("{kms_arn:?} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"),
        ));
    }
    let active = match status.as_str() {
        "ACTIVE" => true,
        "INACTIVE" => false,
        other => {
            return Err(ApiError::new(
                400,
                "InvalidKeySigningKeyStatus",
                format!("Status {other:?}: ACTIVE or INACTIVE"),
            ))
        }
    };
    let written = api
        .store
        .write(Write::Dnssec {
            zone_id: zone_id.clone(),
            op: DnssecOp::CreateKsk {
                name: name.clone(),
                kms_arn,
                active,
            },
        })
        .await?;
    let Written::Ksk(ksk, change) = &written else {
        return Err(ApiError::internal("the key was not created"));
    };
    let mut out = String::new();
    super::ops::change_info_xml(&mut out, change);
    let config = api.store.config.load();
    let origin = {
        let inner = api.store.lock();
        let z = inner.state.zones.get(&zone_id);
        z.map(|z| z.origin()).unwrap_or_default()
    };
    ksk_xml(&mut out, "KeySigningKey", &config, &zone_id, &origin, ksk);
    Ok(Reply {
        status: 201,
        body: document("CreateKeySigningKeyResponse", &out),
        location: Some(format!(
            "https://route53.amazonaws.com/2013-04-01/keysigningkey/{zone_id}/{name}"
        )),
    })
}

/// `GetDNSSEC`: whether the zone is served signed, and its key-signing keys with the DS and
/// DNSKEY records to give the parent.
pub(super) fn get(api: &Api, zone: &str) -> Result<Reply, ApiError> {
    let zone_id = bare_id(zone, "hostedzone/").to_string();
    let (origin, d) = {
        let inner = api.store.lock();
        let z = inner
            .state
            .zones
            .get(&zone_id)
            .ok_or_else(|| ApiError::no_such_zone(&zone_id))?;
        (z.origin(), z.dnssec.clone())
    };
    let config = api.store.config.load();
    let mut out = String::from("<Status>");
    leaf(
        &mut out,
        "ServeSignature",
        if d.signing { "SIGNING" } else { "NOT_SIGNING" },
    );
    out.push_str("</Status><KeySigningKeys>");
    for k in &d.ksks {
        // A list's items are `member` elements in Route 53's XML.
        ksk_xml(&mut out, "member", &config, &zone_id, &origin, k);
    }
    out.push_str("</KeySigningKeys>");
    ok(document("GetDNSSECResponse", &out))
}

/// One `KeySigningKey` element: its key's DNSKEY, DS (SHA-256) and the rest of Route 53's
/// fields, read from the key file.
fn ksk_xml(
    out: &mut String,
    element: &str,
    config: &Config,
    zone_id: &str,
    origin: &[u8],
    k: &Ksk,
) {
    use data_encoding::{BASE64, HEXUPPER};
    out.push_str(&format!("<{element}>"));
    leaf(out, "Name", &k.name);
    leaf(out, "KmsArn", &k.kms_arn);
    leaf(out, "Flag", &SECURE_ENTRY_POINT.to_string());
    leaf(out, "SigningAlgorithmMnemonic", "ECDSAP256SHA256");
    leaf(
        out,
        "SigningAlgorithmType",
        &hosted::ALGORITHM.number().to_string(),
    );
    leaf(out, "DigestAlgorithmMnemonic", "SHA-256");
    leaf(out, "DigestAlgorithmType", "2");
    leaf(out, "KeyTag", &k.key_tag.to_string());
    let key = key_dir(config, zone_id)
        .ok()
        .and_then(|dir| hosted::load(&dir, k.key_tag, SECURE_ENTRY_POINT).ok());
    let zone_text = crate::wire::name::to_text(origin);
    if let Some(key) = &key {
        let dnskey = key.dnskey_rdata();
        let ds = key.ds_rdata(origin);
        let digest = HEXUPPER.encode(&ds[4..]);
        let public = BASE64.encode(&dnskey[4..]);
        leaf(out, "DigestValue", &digest);
        leaf(out, "PublicKey", &public);
        leaf(
            out,
            "DSRecord",
            &format!("{} {} 2 {digest}", k.key_tag, hosted::ALGORITHM.number()),
        );
        leaf(
            out,
            "DNSKEYRecord",
            &format!(
                "{SECURE_ENTRY_POINT} 3 {} {public}",
                hosted::ALGORITHM.number()
            ),
        );
    }
    let (status, message) = match (&key, k.active) {
        (None, _) => (
            "INTERNAL_FAILURE",
            format!("the key file of {} ({zone_text}) cannot be read", k.name),
        ),
        (Some(_), true) => ("ACTIVE", String::new()),
        (Some(_), false) => ("INACTIVE", String::new()),
    };
    leaf(out, "Status", status);
    if !message.is_empty() {
        leaf(out, "StatusMessage", &message);
    }
    leaf(out, "CreatedDate", &xml::timestamp(k.created));
    leaf(out, "LastModifiedDate", &xml::timestamp(k.last_modified));
    out.push_str(&format!("</{element}>"));
}
