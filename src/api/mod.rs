//! Route 53's REST API (2013-04-01) on the running server, for the AWS CLI, boto3, octoDNS
//! and the other tools that speak it (docs/api.md).
//!
//! ```text
//! request ─ http (limits, SigV4) ─ ops (Route 53's shapes) ─ commit (group commit)
//!   ─ store::journal (fsync) ─ store::State ─ load::hosted_zone ─ snapshot ─ transfers/NOTIFY
//! ```
//!
//! A write is answered only after it is on disk and served; reads come from the store's state.

mod cidr;
pub mod commit;
mod dnssec;
mod error;
mod file_zones;
mod health;
mod http;
mod ids;
mod ops;
mod prepare;
pub mod sigv4;
mod test_answer;
mod update;
mod working;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;

pub use commit::{Committer, Publisher, Store};
pub use error::ApiError;

use crate::config::ApiConfig;
use crate::snapshot::Snapshot;
use crate::zone::Catalog;

/// What a request handler reaches.
pub struct Api {
    pub store: Arc<Store>,
    pub publisher: Publisher,
    /// What the probes found, for `GetHealthCheckStatus`.
    pub reports: Arc<crate::health::report::Reports>,
}

impl Api {
    fn keys(&self) -> Vec<sigv4::Key> {
        self.store
            .config
            .load()
            .api
            .as_ref()
            .map(|a| a.keys.clone())
            .unwrap_or_default()
    }
}

/// The API while it runs.
pub struct Running {
    pub store: Arc<Store>,
    pub listening: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn stop(&self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// Serves the store's hosted zones in `snapshot` beside the configured ones. A hosted zone
/// takes the place of a configured zone of the same name (the API refuses to create one, so
/// only a later edit of the configuration can cause this, and it is reported).
pub fn merge_zones(store: &Store, snapshot: &mut Snapshot, previous: Option<&Snapshot>) {
    file_zones::lay_updates(store, snapshot, previous);
    let hosted = store.zones();
    if hosted.is_empty() {
        return;
    }
    let mut zones = std::mem::take(&mut snapshot.catalog).into_zones();
    zones.retain(|z| {
        let shadowed = hosted.iter().any(|h| h.origin == z.origin);
        if shadowed {
            tracing::error!(zone = %z.origin_text(), "a hosted zone of the API has this name: it is served, the configured zone is not");
        }
        !shadowed
    });
    zones.extend(hosted);
    snapshot.catalog = Catalog::new(zones);
}

/// Binds the API's listeners and starts the committer. Must run inside a tokio runtime.
pub async fn start(
    config: &ApiConfig,
    store: Arc<Store>,
    committer: Committer,
    publisher: Publisher,
    reports: Arc<crate::health::report::Reports>,
) -> anyhow::Result<Running> {
    let tls = match &config.tls {
        None => None,
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
    };
    if config.name_servers_defaulted {
        tracing::warn!(
            name_servers = ?config.name_servers,
            "[api] name_servers is not set: new hosted zones name this host as their one name server; set it to your servers' names"
        );
    }
    let runtime = tokio::runtime::Handle::current();
    let p = publisher.clone();
    std::thread::Builder::new()
        .name("api-commit".into())
        .spawn(move || committer.run(p, runtime))
        .context("starting the API's commit thread")?;
    let mut tasks = Vec::new();
    // The store's second door: dynamic updates, handed over by the DNS listeners.
    let updates = publisher.control.open_updates();
    tasks.push(tokio::spawn(update::serve(
        store.clone(),
        publisher.clone(),
        updates,
    )));
    let api = Arc::new(Api {
        store: store.clone(),
        publisher,
        reports,
    });
    let mut listening = Vec::new();
    for addr in &config.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("API listener on {addr}"))?;
        let local = listener.local_addr()?;
        listening.push(local);
        tracing::info!(addr = %local, tls = tls.is_some(), "Route 53 API listening");
        tasks.push(tokio::spawn(http::serve(
            listener,
            api.clone(),
            tls.clone(),
            config.max_connections,
        )));
    }
    Ok(Running {
        store,
        listening,
        tasks,
    })
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("[api] tls_cert {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("[api] tls_cert {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("[api] tls_key {}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("[api] tls_cert and tls_key do not make a certificate")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
