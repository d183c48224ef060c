//! The change store's second door: dynamic updates (RFC 2136) handed over by the transfer side
//! (which checked their TSIG), allowed by `[api] allow_update`, applied by the committer in
//! the same order as the Route 53 API's changes, and answered once durable and served.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::commit::{Publisher, Store, Write};
use crate::transfer::update::UpdateJob;
use crate::transfer::Acl;
use crate::update;
use crate::wire::packet::rcode;
use crate::wire::{name, types};

/// Extended DNS Error "Other" (RFC 8914 §4.1), for refusals the text explains.
const EDE_OTHER: u16 = 0;

/// Takes updates off the door until the server stops; each is applied on its own task, so
/// updates that arrive together are committed together.
pub(super) async fn serve(
    store: Arc<Store>,
    publisher: Publisher,
    mut rx: mpsc::UnboundedReceiver<UpdateJob>,
) {
    while let Some(job) = rx.recv().await {
        let (store, publisher) = (store.clone(), publisher.clone());
        tokio::spawn(async move { handle(&store, &publisher, job).await });
    }
}

async fn handle(store: &Store, publisher: &Publisher, job: UpdateJob) {
    let peer = job.peer;
    // Refusals reach the log once per client every ten seconds, with the count left out.
    let refuse = |job: UpdateJob, rc: u16, ede: Option<(u16, String)>, why: &str| {
        if let Some(left_out) = crate::log_limit::admit(peer, "dynamic update refused") {
            let peer = peer.map_or_else(|| "?".to_string(), |p| p.to_string());
            tracing::warn!(%peer, left_out, "dynamic update refused: {why}");
        }
        job.answer(rc, ede);
    };
    let msg = match update::read(&job.packet) {
        Ok(m) => m,
        Err(e) => return refuse(job, rcode::FORMERR, None, &e.to_string()),
    };
    let zone_text = name::to_text(&msg.zone);
    if msg.zone_class != types::CLASS_IN {
        return refuse(job, rcode::NOTAUTH, None, "zone class is not IN");
    }
    let zone_id = store
        .lock()
        .state
        .zone_by_origin(&msg.zone)
        .map(|z| z.id.clone());
    let config = store.config.load();
    // A hosted zone, or a zone from the configuration's files that allows updates.
    let (target, acl, where_) = match zone_id {
        Some(id) => (
            Target::Hosted(id),
            config
                .api
                .as_ref()
                .map(|a| a.allow_update.clone())
                .unwrap_or_default(),
            "[api] allow_update",
        ),
        None => {
            let served = publisher
                .snapshot
                .load()
                .catalog
                .zone_by_origin(&msg.zone)
                .cloned();
            let spec = config.zones.iter().find(|z| z.origin == msg.zone);
            match (served, spec) {
                (Some(zone), Some(spec)) if !spec.allow_update.is_empty() => (
                    Target::File(zone),
                    spec.allow_update.clone(),
                    "its [[zone]] allow_update",
                ),
                (Some(_), _) => {
                    let text = format!("{zone_text} is served from a file and takes no dynamic updates: give its [[zone]] table allow_update, or edit the file and reload");
                    return refuse(job, rcode::REFUSED, Some((EDE_OTHER, text.clone())), &text);
                }
                (None, _) => {
                    return refuse(
                        job,
                        rcode::NOTAUTH,
                        None,
                        &format!("{zone_text} is not a zone served here"),
                    )
                }
            }
        }
    };
    let allowed = acl.iter().any(|a| match a {
        Acl::Key(k) => job.key.as_ref() == Some(k),
        Acl::Net(n) => peer.is_some_and(|p| n.contains(p) || v4(p).is_some_and(|v| n.contains(v))),
    });
    if !allowed {
        let text = match &job.key {
            Some(k) => format!(
                "key {} may not update {zone_text}: not in {where_}",
                name::to_text(k)
            ),
            None => format!("unsigned update of {zone_text} from an address not in {where_}"),
        };
        return refuse(
            job,
            rcode::REFUSED,
            Some((crate::answer::ede::PROHIBITED, text.clone())),
            &text,
        );
    }
    let by = match (&job.key, peer) {
        (Some(k), _) => format!("dynamic update (key {})", name::to_text(k)),
        (None, Some(p)) => format!("dynamic update from {p}"),
        (None, None) => "dynamic update".to_string(),
    };
    let write = match target {
        Target::Hosted(zone_id) => Write::Update {
            zone_id,
            prerequisites: msg.prerequisites,
            updates: msg.updates,
            by,
        },
        Target::File(zone) => Write::UpdateFile {
            origin: msg.zone,
            zone,
            prerequisites: msg.prerequisites,
            updates: msg.updates,
            by,
        },
    };
    drop(config);
    let written = store.write(write).await;
    match written {
        Ok(_) => job.answer(rcode::NOERROR, None),
        Err(e) => {
            let (rc, ede) = match e.dns {
                Some(r) => (r.rcode, r.ede),
                None if e.status == 404 => (rcode::NOTAUTH, None),
                None if e.status >= 500 => (rcode::SERVFAIL, None),
                None => (rcode::REFUSED, Some((EDE_OTHER, e.message.clone()))),
            };
            let why = match &ede {
                Some((_, t)) => format!("update of {zone_text} refused (rcode {rc}): {t}"),
                None => format!("update of {zone_text} refused (rcode {rc})"),
            };
            refuse(job, rc, ede, &why)
        }
    }
}

/// The zone an update changes.
enum Target {
    /// A hosted zone of the store, by id.
    Hosted(String),
    /// A zone served from a file, as served now.
    File(Arc<crate::zone::Zone>),
}

fn v4(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    }
}
