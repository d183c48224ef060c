//! `[api]` and `--api-listen` / `--api-key`: the Route 53 API listener (docs/api.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::file::ApiSection;
use super::{Base, Overrides};
use crate::api::sigv4::Key;
use crate::transfer::ZoneTransfer;

/// The Route 53 API's settings. Without a listen address nothing listens.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub listen: Vec<SocketAddr>,
    pub keys: Vec<Key>,
    /// The NS set given to new hosted zones (absolute names).
    pub name_servers: Vec<String>,
    /// True when `name_servers` is this host's name because none were configured.
    pub name_servers_defaulted: bool,
    /// Certificate chain and private key (PEM) for HTTPS; required off loopback.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Who may transfer, and whom to NOTIFY, for every hosted zone the API creates.
    pub transfer: ZoneTransfer,
    /// Open API connections at most; more are closed at once.
    pub max_connections: usize,
    /// Who may change the hosted zones by dynamic update (RFC 2136): key holders, address
    /// blocks. Empty: nobody.
    pub allow_update: Vec<crate::transfer::Acl>,
}

pub(super) fn api(
    section: Option<ApiSection>,
    base: &Base<'_>,
    cli: &Overrides,
    state_dir: Option<&PathBuf>,
    zone_updates: bool,
    errors: &mut Vec<String>,
) -> Option<ApiConfig> {
    let s = section.unwrap_or_default();
    let texts = if cli.api_listen.is_empty() {
        s.listen.clone().unwrap_or_default()
    } else {
        cli.api_listen.clone()
    };
    // Dynamic updates (a zone's allow_update, or [api] allow_update for hosted zones) are kept
    // in the change store too: it is opened for them without an HTTP listener.
    let updates_only = texts.is_empty()
        && (zone_updates || !s.allow_update.is_empty() || !cli.allow_update.is_empty());
    if texts.is_empty() && !updates_only {
        if !s.key.is_empty() || !cli.api_keys.is_empty() {
            errors.push("API keys are given but no API listen address: add [api] listen = [\"127.0.0.1:8053\"] or --api-listen 127.0.0.1:8053".into());
        }
        return None;
    }
    if updates_only && (!s.key.is_empty() || !cli.api_keys.is_empty()) {
        errors.push("API keys are given but no API listen address: add [api] listen = [\"127.0.0.1:8053\"] or --api-listen 127.0.0.1:8053".into());
    }
    let mut listen = Vec::new();
    for t in &texts {
        match t.parse::<SocketAddr>() {
            Ok(a) => listen.push(a),
            Err(_) => errors.push(format!(
                "API listen address {t:?} is not IP:PORT, e.g. 127.0.0.1:8053"
            )),
        }
    }
    let mut keys: Vec<Key> = s
        .key
        .into_iter()
        .map(|k| Key {
            access_key_id: k.access_key_id,
            secret_access_key: k.secret_access_key,
        })
        .collect();
    for k in &cli.api_keys {
        match k.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => keys.push(Key {
                access_key_id: id.to_string(),
                secret_access_key: secret.to_string(),
            }),
            // The value is a secret: never echo it.
            _ => errors.push("--api-key: expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".into()),
        }
    }
    if keys.is_empty() && !updates_only {
        errors.push("the API needs at least one key: [[api.key]] access_key_id = \"…\", secret_access_key = \"…\" or --api-key AKID:SECRET (every request is SigV4-verified)".into());
    }
    for (i, k) in keys.iter().enumerate() {
        if keys[..i].iter().any(|o| o.access_key_id == k.access_key_id) {
            errors.push(format!(
                "API access key id {} is given twice",
                k.access_key_id
            ));
        }
    }
    if state_dir.is_none() {
        errors.push(if updates_only {
            "dynamic updates are kept in the change store, which needs a state directory for its journal: [server] state_dir or --state-dir DIR (every accepted update is written there before it is acknowledged)".into()
        } else {
            "the API needs a state directory for its journal: [server] state_dir or --state-dir DIR (every accepted change is written there before it is acknowledged)".into()
        });
    }
    let tls = match (s.tls_cert, s.tls_key) {
        (Some(c), Some(k)) => Some((base.join(c), base.join(k))),
        (None, None) => None,
        _ => {
            errors.push("[api] tls_cert and tls_key are given together".into());
            None
        }
    };
    for a in &listen {
        if !a.ip().is_loopback() && tls.is_none() && !s.insecure {
            errors.push(format!(
                "API listen address {a} is not loopback: give [api] tls_cert and tls_key (PEM) to serve HTTPS, or write insecure = true to send keys' signatures and your records over plain HTTP"
            ));
        }
    }
    let mut name_servers = Vec::new();
    let name_servers_defaulted = s.name_servers.is_none();
    for n in s.name_servers.unwrap_or_else(default_name_servers) {
        match crate::wire::name::from_text(&n, None) {
            Ok(w) => name_servers.push(crate::wire::name::to_text(&w)),
            Err(e) => errors.push(format!("[api] name_servers {n:?}: {e}")),
        }
    }
    let transfer = super::zones::transfer_lists(&s.allow_transfer, &s.notify, "[api]", errors);
    let mut updaters = s.allow_update.clone();
    updaters.extend(cli.allow_update.iter().cloned());
    let allow_update =
        super::zones::transfer_lists(&updaters, &[], "[api] allow_update", errors).allow;
    Some(ApiConfig {
        listen,
        keys,
        name_servers,
        name_servers_defaulted,
        tls,
        transfer,
        max_connections: s.max_connections.unwrap_or(256).max(1),
        allow_update,
    })
}

/// This host's name, as the one name server of new hosted zones when none are configured.
fn default_name_servers() -> Vec<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    vec![format!("{host}.")]
}
