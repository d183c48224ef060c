//! UPDATE messages (RFC 2136) in: this module checks what the transfer side checks for every
//! control message (the TSIG signature, RFC 8945) and hands the update to the change store,
//! which applies it in its commit order beside the Route 53 API's changes and answers through
//! [`ReplyTo`] once the change is durable and served (`api::update`).
//!
//! A UDP worker never waits on that: it hands over the datagram and a way to answer it, and
//! goes on with its batch.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::tsig::ResponseSigner;
use super::xfr::MessageStream;
use super::{Control, Request};
use crate::snapshot::Snapshot;
use crate::wire::packet::{rcode, Parsed};
use crate::wire::Transport;

/// Where an update's answer goes.
pub enum ReplyTo {
    /// A datagram from the worker's socket to the client.
    Udp {
        socket: Arc<std::net::UdpSocket>,
        to: SocketAddr,
    },
    /// The TCP connection's task, which writes it.
    Tcp(oneshot::Sender<Vec<u8>>),
}

impl ReplyTo {
    pub fn send(self, reply: Vec<u8>) {
        match self {
            ReplyTo::Udp { socket, to } => {
                if let Err(e) = socket.send_to(&reply, to) {
                    tracing::debug!(%to, "UPDATE answer not sent: {e}");
                }
            }
            ReplyTo::Tcp(tx) => {
                let _ = tx.send(reply);
            }
        }
    }
}

/// What answering an update needs, kept from the request: its header, zone section and
/// signature.
pub struct Responder {
    id: u16,
    flags: u16,
    zone_section: Vec<u8>,
    framed: bool,
    room: usize,
    signer: Option<ResponseSigner>,
    /// Our EDNS payload size when the request had an OPT (the answer then carries EDE).
    opt: Option<u16>,
}

impl Responder {
    /// The answer: the zone section echoed (RFC 2136 §3.8), the rcode, and an Extended DNS
    /// Error with text when the request had EDNS; signed when the request was.
    pub fn reply(self, rc: u16, ede: Option<(u16, String)>) -> Vec<u8> {
        let mut stream = MessageStream::new(
            self.id,
            self.flags,
            &self.zone_section,
            self.framed,
            self.room,
            self.signer,
        );
        stream.opt = self.opt;
        if let Some((code, text)) = ede.filter(|_| self.opt.is_some()) {
            stream.ede = Some(code);
            stream.ede_text = text;
        }
        stream.error(rc, false)
    }
}

/// An update on its way to the change store.
pub struct UpdateJob {
    /// The whole message, as received.
    pub packet: Vec<u8>,
    pub peer: Option<IpAddr>,
    /// The key that signed it (lowercase wire name), if it was signed and verified.
    pub key: Option<Vec<u8>>,
    pub responder: Responder,
    pub reply_to: ReplyTo,
}

impl UpdateJob {
    /// Answers and sends.
    pub fn answer(self, rc: u16, ede: Option<(u16, String)>) {
        let reply = self.responder.reply(rc, ede);
        self.reply_to.send(reply);
    }
}

impl Control {
    /// Where updates go from now on (the change store's door).
    pub fn open_updates(&self) -> mpsc::UnboundedReceiver<UpdateJob> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.updates.store(Some(Arc::new(tx)));
        rx
    }

    /// A dynamic update: its signature checked here, then handed to the change store, which
    /// answers through `reply_to`. Without a change store (no state directory) it is refused.
    pub fn update(
        &self,
        snap: &Snapshot,
        packet: &[u8],
        parsed: Parsed,
        peer: Option<IpAddr>,
        transport: Transport,
        reply_to: ReplyTo,
    ) {
        let Parsed::Error {
            id,
            flags,
            question: Some(q),
            ..
        } = parsed
        else {
            return;
        };
        let framed = transport == Transport::Tcp;
        let req = Request::new(snap, packet, (id, flags, q), peer, transport, 4096);
        let settings = self.settings.load();
        let verified = match req.verify(&settings.keys, packet) {
            Ok(v) => v,
            Err(reply) => return reply_to.send(reply),
        };
        let responder = Responder {
            id,
            flags,
            zone_section: req.question.to_vec(),
            framed,
            room: if framed { 65535 } else { req.udp_room },
            signer: verified.as_ref().map(|v| ResponseSigner::new(v, req.now)),
            opt: req.q.edns.map(|_| snap.options.edns_payload),
        };
        let job = UpdateJob {
            packet: packet.to_vec(),
            peer,
            key: verified.as_ref().map(|v| v.key.name.clone()),
            responder,
            reply_to,
        };
        match self.updates.load().as_ref() {
            Some(door) => {
                if let Err(mpsc::error::SendError(job)) = door.send(job) {
                    job.answer(rcode::SERVFAIL, None);
                }
            }
            None => job.answer(
                rcode::REFUSED,
                Some((
                    crate::answer::ede::PROHIBITED,
                    "dynamic update needs the change store: start with --state-dir".into(),
                )),
            ),
        }
    }
}
