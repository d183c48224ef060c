//! Zone transfers and their control messages: AXFR (RFC 5936) and IXFR (RFC 1995) out, NOTIFY
//! (RFC 1996) in and out, TSIG (RFC 8945), and secondary zones pulled from a primary.
//!
//! The server hands this module only what the answer path does not take: transfer requests,
//! NOTIFY, and anything carrying a TSIG record. Those are few, so here allocation is fine; the
//! answer path stays as it was. The zone data comes from the same snapshot queries read.

pub mod client;
pub mod journal;
pub mod notify;
pub mod records;
pub mod reload;
pub mod secondary;
pub mod tsig;
pub mod update;
pub mod xfr;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use ipnetwork::IpNetwork;

use crate::answer;
use crate::snapshot::Snapshot;
use crate::wire::packet::{self, rcode, Parsed, HEADER_LEN, OPCODE_NOTIFY};
use crate::wire::Transport;
use crate::wire::{name, types};
use journal::Journal;
use tsig::{KeyRing, Rejection, ResponseSigner, Verified};
use xfr::MessageStream;

/// Who may transfer a zone: an address block, or any holder of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acl {
    Net(IpNetwork),
    /// Key name, lowercase wire form.
    Key(Vec<u8>),
}

/// An access-list entry that is none of the forms [`Acl::parse`] takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    #[error("allow-transfer {text:?}: {source}")]
    KeyName {
        text: String,
        source: name::NameError,
    },
    #[error(
        "allow-transfer {0:?}: expected an address, a CIDR block (10.0.0.0/8, ::1/128) or key:NAME"
    )]
    Form(String),
}

impl Acl {
    /// `CIDR`, a bare address, or `key:NAME`.
    pub fn parse(text: &str) -> Result<Acl, AclError> {
        if let Some(k) = text.strip_prefix("key:") {
            let wire = name::from_text(k.trim_end_matches('.'), Some(&[0])).map_err(|source| {
                AclError::KeyName {
                    text: text.to_string(),
                    source,
                }
            })?;
            return Ok(Acl::Key(name::to_lowercase(&wire)));
        }
        let net = text
            .parse::<IpNetwork>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNetwork::from))
            .map_err(|_| AclError::Form(text.to_string()))?;
        Ok(Acl::Net(net))
    }
}

/// Where a secondary zone comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primary {
    pub addr: SocketAddr,
    /// Key name (as configured) to sign requests with.
    pub key: Option<String>,
}

/// What a zone's transfers are allowed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneTransfer {
    pub allow: Vec<Acl>,
    pub notify: Vec<SocketAddr>,
    /// Set for a secondary zone.
    pub primary: Option<Primary>,
}

/// Transfer settings and histories, replaced as a whole on reload.
#[derive(Debug, Default)]
pub struct Settings {
    pub keys: KeyRing,
    /// By lowercase wire origin.
    pub zones: HashMap<Vec<u8>, ZoneTransfer>,
    /// A view's own zones, by view name and lowercase wire origin (a view's copy of a shared
    /// zone takes the shared zone's settings).
    pub view_zones: HashMap<(String, Vec<u8>), ZoneTransfer>,
    /// Where IXFR histories are kept across restarts (with the secondary zones).
    pub state_dir: Option<std::path::PathBuf>,
}

/// The transfer side of a running server.
#[derive(Default)]
pub struct Control {
    pub settings: ArcSwap<Settings>,
    /// IXFR history per zone (lowercase wire origin).
    pub journals: ArcSwap<HashMap<Vec<u8>, Arc<Journal>>>,
    /// Secondary zones wait on these: a NOTIFY from their primary wakes them.
    refresh: Mutex<HashMap<Vec<u8>, Arc<tokio::sync::Notify>>>,
    /// Woken when a secondary zone brought a routing policy: the server reloads its
    /// configuration to merge it (as on SIGHUP).
    pub reload: tokio::sync::Notify,
    /// Writes histories in the background for [`Control::set_journal_soon`].
    saver: Arc<Saver>,
    /// Where UPDATE messages go (`update`), once the change store is open.
    updates: arc_swap::ArcSwapOption<tokio::sync::mpsc::UnboundedSender<update::UpdateJob>>,
}

/// Histories waiting to be written, the newest per file, and whether the writer thread runs.
#[derive(Default)]
struct Saver {
    state: Mutex<SaverState>,
    wake: std::sync::Condvar,
}

#[derive(Default)]
struct SaverState {
    pending: HashMap<std::path::PathBuf, Arc<Journal>>,
    running: bool,
}

impl Saver {
    fn queue(self: &Arc<Self>, path: std::path::PathBuf, j: Arc<Journal>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.pending.insert(path, j);
        if !st.running {
            let me = self.clone();
            st.running = std::thread::Builder::new()
                .name("ixfr-history".into())
                .spawn(move || me.run())
                .is_ok();
        }
        self.wake.notify_one();
    }

    /// Writes what is queued, newest version of each file only, until the process ends.
    fn run(&self) {
        loop {
            let batch = {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                while st.pending.is_empty() {
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                std::mem::take(&mut st.pending)
            };
            for (path, j) in batch {
                if let Err(e) = crate::durable::write(&path, &j.encode()) {
                    tracing::warn!(file = %path.display(), "could not save the IXFR history: {e}");
                }
            }
        }
    }
}

impl Control {
    pub fn new(settings: Settings) -> Self {
        Control {
            settings: ArcSwap::from_pointee(settings),
            ..Default::default()
        }
    }

    pub fn journal(&self, origin: &[u8]) -> Option<Arc<Journal>> {
        self.journals.load().get(origin).cloned()
    }

    /// Replaces a zone's history, and writes it to the state directory when there is one.
    pub fn set_journal(&self, origin: &[u8], j: Journal) {
        if let Some(dir) = &self.settings.load().state_dir {
            let path = journal::file(dir, origin);
            let written = crate::durable::write(&path, &j.encode());
            if let Err(e) = written {
                tracing::warn!(file = %path.display(), "could not save the IXFR history: {e}");
            }
        }
        self.journals.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.insert(origin.to_vec(), Arc::new(j.clone()));
            m
        });
    }

    /// Replaces a zone's history at once, and has it written to the state directory soon, off
    /// the caller's path (the change store's commit). The saved history only spares
    /// secondaries a full transfer after a restart; one that lags the zone is dropped then
    /// ([`Control::load_journals`]), so a crash before it is written loses nothing served.
    pub fn set_journal_soon(&self, origin: &[u8], j: Journal) {
        let j = Arc::new(j);
        if let Some(dir) = &self.settings.load().state_dir {
            self.saver.queue(journal::file(dir, origin), j.clone());
        }
        self.journals.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.insert(origin.to_vec(), j.clone());
            m
        });
    }

    /// Reads the saved histories of the zones `snap` serves; a history that does not lead to a
    /// zone's serial (the zone changed while we were stopped) is dropped.
    pub fn load_journals(&self, snap: &Snapshot) {
        let Some(dir) = self.settings.load().state_dir.clone() else {
            return;
        };
        for z in snap.catalog.zones() {
            let Ok(bytes) = std::fs::read(journal::file(&dir, &z.origin)) else {
                continue;
            };
            match Journal::decode(&bytes) {
                Some(j) if j.last_serial() == Some(z.serial) => {
                    tracing::info!(zone = %z.origin_text(), steps = j.changes.len(), "IXFR history restored");
                    self.journals.rcu(|m| {
                        let mut m = HashMap::clone(m);
                        m.insert(z.origin.to_vec(), Arc::new(j.clone()));
                        m
                    });
                }
                _ => {
                    tracing::info!(zone = %z.origin_text(), "saved IXFR history does not lead to serial {}; starting a new one", z.serial)
                }
            }
        }
    }

    pub fn request_reload(&self) {
        self.reload.notify_one();
    }

    /// The wake-up a secondary zone's task waits on.
    pub fn refresh_handle(&self, origin: &[u8]) -> Arc<tokio::sync::Notify> {
        self.refresh
            .lock()
            .unwrap()
            .entry(origin.to_vec())
            .or_default()
            .clone()
    }

    fn wake(&self, origin: &[u8]) -> bool {
        match self.refresh.lock().unwrap().get(origin) {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        }
    }

    /// Answers a control message received over UDP into `out`; returns the length (0: none).
    pub fn respond_udp(
        &self,
        snap: &Snapshot,
        packet: &[u8],
        parsed: Parsed,
        peer: Option<IpAddr>,
        out: &mut [u8],
    ) -> usize {
        let reply = self.handle(snap, packet, parsed, peer, Transport::Udp, out.len());
        match reply {
            Some(r) if r.len() <= out.len() => {
                out[..r.len()].copy_from_slice(&r);
                r.len()
            }
            _ => 0,
        }
    }

    /// Answers a control message received over TCP: the framed messages to send, in order.
    pub fn respond_tcp(
        &self,
        snap: &Snapshot,
        packet: &[u8],
        parsed: Parsed,
        peer: Option<IpAddr>,
    ) -> Option<Vec<u8>> {
        self.handle(snap, packet, parsed, peer, Transport::Tcp, 65535)
    }

    fn handle(
        &self,
        snap: &Snapshot,
        packet: &[u8],
        parsed: Parsed,
        peer: Option<IpAddr>,
        transport: Transport,
        udp_room: usize,
    ) -> Option<Vec<u8>> {
        let (id, flags, q) = match &parsed {
            Parsed::Query(q) => (q.id, q.flags, q.clone()),
            Parsed::Error {
                id,
                flags,
                question: Some(q),
                ..
            } => (*id, *flags, q.clone()),
            _ => return None,
        };
        let mut req = Request::new(snap, packet, (id, flags, q), peer, transport, udp_room);
        let settings = self.settings.load();
        // RFC 8945 §5.2: a bad signature is answered NOTAUTH before anything else is looked at.
        req.verified = match req.verify(&settings.keys, packet) {
            Ok(v) => v,
            Err(reply) => return Some(reply),
        };
        if req.q.opcode == OPCODE_NOTIFY {
            return Some(self.notify_in(snap, &settings, &req));
        }
        if req.q.qtype != types::AXFR && req.q.qtype != types::IXFR {
            return req.signed_query(snap, packet, parsed, transport);
        }
        Some(self.transfer(snap, &settings, packet, &req))
    }

    /// AXFR or IXFR out, after the zone's access list.
    fn transfer(
        &self,
        snap: &Snapshot,
        settings: &Settings,
        packet: &[u8],
        req: &Request<'_>,
    ) -> Vec<u8> {
        let q = &req.q;
        let mut stream = req.stream(if req.framed { 65535 } else { req.udp_room });
        stream.opt = q.edns.map(|_| snap.options.edns_payload);
        let refuse = |mut stream: MessageStream, rc: u16, why: &str| {
            crate::metrics::event(|e| &e.transfers_out_refused);
            if let Some(left_out) = crate::log_limit::admit(req.peer, "transfer refused") {
                tracing::warn!(peer = %req.peer_text(), zone = %name::to_text(&req.qname), qtype = %types::mnemonic(q.qtype), left_out, "transfer refused: {why}");
            }
            if rc == rcode::REFUSED {
                stream.ede = Some(answer::ede::PROHIBITED);
            }
            stream.error(rc, false)
        };
        if q.qtype == types::AXFR && !req.framed {
            // RFC 5936 §4.2: AXFR is defined over TCP only; NSD and Knot say NOTIMP.
            return refuse(stream, rcode::NOTIMP, "AXFR over UDP");
        }
        if q.qclass != types::CLASS_IN {
            return refuse(stream, rcode::REFUSED, "class is not IN");
        }
        // A secondary is given the view its key or address matches (BIND's views).
        let view = req.view(snap);
        let Some(zone) = snap.catalog_in(view).zone_by_origin(&req.qname).cloned() else {
            return refuse(stream, rcode::NOTAUTH, "not a zone we serve");
        };
        // A view's copy has no IXFR history of its own: it is sent whole.
        let view_copy = view
            .map(|v| &snap.views.list[v])
            .filter(|v| v.own.iter().any(|z| Arc::ptr_eq(z, &zone)));
        let own_settings = view_copy.and_then(|v| {
            settings
                .view_zones
                .get(&(v.name.to_string(), req.qname.clone()))
        });
        if !req.allowed(settings, own_settings) {
            return refuse(
                stream,
                rcode::REFUSED,
                "not in the zone's allow-transfer list",
            );
        }
        if zone.servfail {
            return refuse(
                stream,
                rcode::SERVFAIL,
                "secondary zone has no current data (expired or never transferred)",
            );
        }
        // A policydns secondary asks for the policy records too.
        let full = has_edns_option(packet, records::FULL_OPTION);
        let lbs = &snap.inputs.load_balancers;
        if q.qtype == types::AXFR {
            crate::metrics::event(|e| &e.axfr_out);
            xfr::axfr(&mut stream, &zone, lbs, full);
            tracing::info!(peer = %req.peer_text(), zone = %zone.origin_text(), serial = zone.serial, messages = stream.messages() + 1, full, "AXFR out");
            return stream.finish();
        }
        // IXFR: the client's serial is in the SOA of the authority section (RFC 1995 §3).
        let Some(client_serial) = ixfr_client_serial(packet, q.question_end) else {
            return refuse(stream, rcode::FORMERR, "IXFR without the client's SOA");
        };
        crate::metrics::event(|e| &e.ixfr_out);
        if !journal::serial_gt(zone.serial, client_serial) {
            xfr::soa_only(&mut stream, &zone);
            return stream.finish();
        }
        let steps = self
            .journal(&req.qname)
            .filter(|_| view_copy.is_none())
            .and_then(|j| j.path(client_serial, zone.serial));
        match steps {
            Some(steps) => {
                xfr::ixfr(&mut stream, &zone, &steps, full);
                if !req.framed && (stream.messages() > 0 || stream.oversized) {
                    // Does not fit one datagram: our SOA tells the client to come over TCP.
                    let mut again = req.stream(req.udp_room);
                    again.opt = stream.opt;
                    xfr::soa_only(&mut again, &zone);
                    return again.finish();
                }
                tracing::info!(peer = %req.peer_text(), zone = %zone.origin_text(), from = client_serial, to = zone.serial, steps = steps.len(), "IXFR out");
                stream.finish()
            }
            None if req.framed => {
                xfr::axfr(&mut stream, &zone, lbs, full);
                tracing::info!(peer = %req.peer_text(), zone = %zone.origin_text(), from = client_serial, to = zone.serial, "IXFR out as a full zone: history does not reach the client's serial");
                stream.finish()
            }
            None => {
                xfr::soa_only(&mut stream, &zone);
                stream.finish()
            }
        }
    }

    /// A NOTIFY for one of our secondary zones, from its primary (by address or key).
    fn notify_in(&self, snap: &Snapshot, settings: &Settings, req: &Request<'_>) -> Vec<u8> {
        let stream = req.stream(4096);
        let qname = &req.qname[..];
        let zone_text = name::to_text(qname);
        let Some(primary) = settings.zones.get(qname).and_then(|z| z.primary.as_ref()) else {
            let rc = if snap.catalog.zone_by_origin(qname).is_some() {
                rcode::REFUSED
            } else {
                rcode::NOTAUTH
            };
            if let Some(left_out) = crate::log_limit::admit(req.peer, "NOTIFY refused") {
                tracing::warn!(peer = %req.peer_text(), zone = %zone_text, left_out, "NOTIFY refused: not a secondary zone here");
            }
            return stream.error(rc, false);
        };
        let from_primary = req
            .peer
            .is_some_and(|p| p == primary.addr.ip() || mapped_v4(p) == Some(primary.addr.ip()));
        let signed_by_primary_key = match (&primary.key, &req.verified) {
            (Some(k), Some(v)) => settings
                .keys
                .by_text(k)
                .is_some_and(|pk| pk.name == v.key.name),
            _ => false,
        };
        if req.q.qtype != types::SOA || !(from_primary || signed_by_primary_key) {
            if let Some(left_out) = crate::log_limit::admit(req.peer, "NOTIFY refused") {
                tracing::warn!(peer = %req.peer_text(), zone = %zone_text, primary = %primary.addr, left_out, "NOTIFY refused: not from the zone's primary");
            }
            return stream.error(rcode::REFUSED, false);
        }
        tracing::info!(peer = %req.peer_text(), zone = %zone_text, "NOTIFY received: refreshing");
        self.wake(qname);
        stream.finish()
    }
}

/// One control message being answered: what every reply to it needs.
struct Request<'p> {
    id: u16,
    flags: u16,
    /// The question as sent.
    question: &'p [u8],
    q: packet::Query,
    /// Lowercase wire form.
    qname: Vec<u8>,
    peer: Option<IpAddr>,
    /// Over TCP: replies carry the two-octet length.
    framed: bool,
    /// What a UDP reply may take.
    udp_room: usize,
    now: u64,
    /// The request's valid TSIG, if it was signed.
    verified: Option<Verified>,
}

impl<'p> Request<'p> {
    /// A control message's request: its header (ID, flags), question and sender.
    fn new(
        snap: &Snapshot,
        packet: &'p [u8],
        (id, flags, q): (u16, u16, packet::Query),
        peer: Option<IpAddr>,
        transport: Transport,
        udp_room: usize,
    ) -> Self {
        Request {
            id,
            flags,
            question: &packet[HEADER_LEN..q.question_end],
            qname: name::to_lowercase(q.qname(packet)),
            peer,
            framed: transport == Transport::Tcp,
            // What a UDP reply may take: 512 octets, or the EDNS size both sides accept (RFC
            // 6891 §6.2.5).
            udp_room: q.edns.map_or(512, |e| {
                (e.payload.max(512).min(snap.options.edns_payload.max(512)) as usize).min(udp_room)
            }),
            now: tsig::now(),
            verified: None,
            q,
        }
    }

    fn peer_text(&self) -> String {
        self.peer.map_or_else(|| "?".to_string(), |p| p.to_string())
    }

    /// A reply stream of at most `room` octets per message, signed when the request was.
    fn stream(&self, room: usize) -> MessageStream {
        MessageStream::new(
            self.id,
            self.flags,
            self.question,
            self.framed,
            room,
            self.verified
                .as_ref()
                .map(|v| ResponseSigner::new(v, self.now)),
        )
    }

    /// The request's TSIG, verified; a malformed or rejected one gets its error reply
    /// (FORMERR, or NOTAUTH with BADKEY, BADSIG or a signed BADTIME).
    fn verify(&self, keys: &KeyRing, packet: &[u8]) -> Result<Option<Verified>, Vec<u8>> {
        let t = match tsig::find(packet) {
            Err(tsig::Malformed) => {
                return Err(MessageStream::new(
                    self.id,
                    self.flags,
                    self.question,
                    self.framed,
                    512,
                    None,
                )
                .error(rcode::FORMERR, false));
            }
            Ok(None) => return Ok(None),
            Ok(Some(t)) => t,
        };
        let (why, v) = match tsig::verify_request(keys, packet, &t, self.now) {
            Ok(v) => return Ok(Some(v)),
            Err(rejected) => rejected,
        };
        if let Some(left_out) = crate::log_limit::admit(self.peer, "TSIG rejected") {
            tracing::warn!(peer = %self.peer_text(), key = %name::to_text(&t.key), zone = %name::to_text(&self.qname), left_out, "TSIG rejected: {why:?}");
        }
        let stream =
            MessageStream::new(self.id, self.flags, self.question, self.framed, 65535, None);
        let mut msg = stream.error(rcode::NOTAUTH, false);
        let mut body = msg.split_off(if self.framed { 2 } else { 0 });
        match (why, v) {
            (Rejection::BadTime, Some(v)) => {
                ResponseSigner::bad_time(&v, self.now).sign(&mut body, 0);
            }
            (Rejection::BadKey, _) => {
                tsig::append_unsigned_error(&mut body, &t, tsig::BADKEY, self.now)
            }
            _ => tsig::append_unsigned_error(&mut body, &t, tsig::BADSIG, self.now),
        }
        Err(frame(self.framed, body))
    }

    /// A signed ordinary query (a secondary's SOA check): answered as usual, then signed.
    fn signed_query(
        &self,
        snap: &Snapshot,
        packet: &[u8],
        parsed: Parsed,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let signer = self
            .verified
            .as_ref()
            .map(|v| ResponseSigner::new(v, self.now));
        let room = if self.framed { 65535 } else { self.udp_room };
        let mut out = vec![0u8; room];
        // Answered in the view its key (or address) places it in, as its transfers are: a
        // secondary's SOA check must see the serial of the copy it transfers.
        let view = self.view(snap);
        let n = answer::respond_in_view(
            snap,
            packet,
            parsed,
            transport,
            self.peer,
            view,
            &mut out[..room.saturating_sub(signer.as_ref().map_or(0, ResponseSigner::room))],
        );
        if n == 0 {
            return None;
        }
        out.truncate(n);
        if let Some(mut s) = signer {
            s.sign(&mut out, 0);
        }
        Some(frame(self.framed, out))
    }

    /// The view a request is served in: the first whose `match_clients` names its key or
    /// holds its address (BIND's views).
    fn view(&self, snap: &Snapshot) -> Option<usize> {
        if snap.views.is_empty() {
            return None;
        }
        let peer = self.peer.map(|p| mapped_v4(p).unwrap_or(p));
        let key = self.verified.as_ref().map(|v| v.key.name.as_slice());
        snap.views.place_signed(peer, key)
    }

    /// Whether the zone's allow-transfer list takes this peer or this request's key.
    fn allowed(&self, settings: &Settings, own: Option<&ZoneTransfer>) -> bool {
        own.or_else(|| settings.zones.get(&self.qname))
            .is_some_and(|z| {
                z.allow.iter().any(|a| match a {
                    Acl::Net(n) => self.peer.is_some_and(|p| {
                        n.contains(p) || mapped_v4(p).is_some_and(|v4| n.contains(v4))
                    }),
                    Acl::Key(k) => self.verified.as_ref().is_some_and(|v| &v.key.name == k),
                })
            })
    }
}

/// Whether the message's OPT record carries EDNS option `code`.
fn has_edns_option(msg: &[u8], code: u16) -> bool {
    let Some(opt) = tsig::find_opt_rdata(msg) else {
        return false;
    };
    let mut p = 0;
    while p + 4 <= opt.len() {
        let c = u16::from_be_bytes([opt[p], opt[p + 1]]);
        let len = u16::from_be_bytes([opt[p + 2], opt[p + 3]]) as usize;
        if c == code {
            return true;
        }
        p += 4 + len;
    }
    false
}

fn frame(framed: bool, body: Vec<u8>) -> Vec<u8> {
    if !framed {
        return body;
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn mapped_v4(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    }
}

/// The serial in the SOA record of an IXFR request's authority section.
fn ixfr_client_serial(packet: &[u8], question_end: usize) -> Option<u32> {
    let ns = u16::from_be_bytes(packet.get(8..10)?.try_into().ok()?);
    if ns == 0 {
        return None;
    }
    // Owner (usually a pointer to the question), then type, class, TTL, RDLENGTH.
    let mut pos = question_end;
    loop {
        let len = *packet.get(pos)?;
        if len & 0xC0 == 0xC0 {
            pos += 2;
            break;
        }
        pos += 1 + len as usize;
        if len == 0 {
            break;
        }
    }
    let rtype = u16::from_be_bytes(packet.get(pos..pos + 2)?.try_into().ok()?);
    if rtype != types::SOA {
        return None;
    }
    let rdlen = u16::from_be_bytes(packet.get(pos + 8..pos + 10)?.try_into().ok()?) as usize;
    let rdata = packet.get(pos + 10..pos + 10 + rdlen)?;
    if rdata.len() < 22 {
        return None;
    }
    // The names may be compressed, but the five counters always end the RDATA.
    Some(journal::soa_serial(rdata))
}
