//! Outgoing AXFR and IXFR (RFC 5936, RFC 1995) as a sequence of DNS messages, each as full as
//! 64 KiB allows, optionally TSIG-signed, framed for TCP.
//!
//! Owner names are compressed by walking the zone tree: a node's name is its first label and
//! then its parent's, so a record's owner is written as the labels of the nodes not yet in this
//! message and a pointer to the first one that is. The lookup is an array index per label; no
//! name is hashed or compared.

use std::sync::Arc;

use super::journal::Change;
use super::records::{self, Rr};
use super::tsig::ResponseSigner;
use crate::policy::elb::LoadBalancer;
use crate::server::packet::hflags;
use crate::zone::{types, Zone, APEX, NONE};

/// Room left for the TSIG record at the end of a signed message.
const TSIG_ROOM: usize = 512;
const MAX_MESSAGE: usize = 65535;

/// Messages of one transfer, built back to back into one buffer.
pub struct MessageStream {
    /// The messages, each preceded by its two-octet length when `framed`.
    pub buf: Vec<u8>,
    framed: bool,
    limit: usize,
    id: u16,
    flags: u16,
    /// QNAME, QTYPE, QCLASS as the client sent them; repeated in the first message only
    /// (RFC 5936 §2.2.1 lets later messages leave it out).
    question: Vec<u8>,
    messages: usize,
    start: usize,
    answers: u16,
    signer: Option<ResponseSigner>,
    // Name compression by zone node: valid for this message when `stamp[node] == generation`.
    generation: u32,
    stamp: Vec<u32>,
    offset: Vec<u16>,
    /// Over the size limit even alone: not sendable.
    pub oversized: bool,
    /// Our EDNS payload size, when the request had an OPT: the first message carries ours.
    pub opt: Option<u16>,
}

impl MessageStream {
    /// `request_flags` is the request's header flags (opcode and RD are echoed).
    pub fn new(
        id: u16,
        request_flags: u16,
        question: &[u8],
        framed: bool,
        max_size: usize,
        signer: Option<ResponseSigner>,
    ) -> Self {
        let room = if signer.is_some() { TSIG_ROOM } else { 0 };
        MessageStream {
            buf: Vec::with_capacity(64 * 1024),
            framed,
            limit: max_size.min(MAX_MESSAGE).saturating_sub(room).max(512),
            id,
            flags: hflags::QR
                | hflags::AA
                | (request_flags & (hflags::OPCODE_MASK | hflags::RD | hflags::CD)),
            question: question.to_vec(),
            messages: 0,
            start: 0,
            answers: 0,
            signer,
            generation: 0,
            stamp: Vec::new(),
            offset: Vec::new(),
            oversized: false,
            opt: None,
        }
    }

    pub fn messages(&self) -> usize {
        self.messages
    }

    fn begin(&mut self) {
        if self.framed {
            self.buf.extend_from_slice(&[0, 0]);
        }
        self.start = self.buf.len();
        self.buf.extend_from_slice(&self.id.to_be_bytes());
        self.buf.extend_from_slice(&self.flags.to_be_bytes());
        let qd: u16 = if self.messages == 0 { 1 } else { 0 };
        self.buf.extend_from_slice(&qd.to_be_bytes());
        self.buf.extend_from_slice(&[0; 6]);
        if qd == 1 {
            self.buf.extend_from_slice(&self.question);
        }
        self.answers = 0;
        self.generation += 1;
    }

    fn end(&mut self) {
        let s = self.start;
        self.buf[s + 6..s + 8].copy_from_slice(&self.answers.to_be_bytes());
        if let (Some(payload), 0) = (self.opt, self.messages) {
            // RFC 6891 §6.1.1: an OPT answers an OPT; before the TSIG, which must be last.
            self.buf.push(0);
            self.buf.extend_from_slice(&types::OPT.to_be_bytes());
            self.buf.extend_from_slice(&payload.to_be_bytes());
            self.buf.extend_from_slice(&[0; 6]);
            self.buf[s + 10..s + 12].copy_from_slice(&1u16.to_be_bytes());
        }
        if let Some(signer) = &mut self.signer {
            signer.sign(&mut self.buf, s);
        }
        if self.framed {
            let len = (self.buf.len() - s) as u16;
            self.buf[s - 2..s].copy_from_slice(&len.to_be_bytes());
        }
        self.messages += 1;
    }

    /// An error response (REFUSED, NOTAUTH, SERVFAIL...) as the only message.
    pub fn error(mut self, rcode: u16, authoritative: bool) -> Vec<u8> {
        if !authoritative {
            self.flags &= !hflags::AA;
        }
        self.flags = (self.flags & !0xF) | (rcode & 0xF);
        self.begin();
        self.end();
        self.buf
    }

    /// Appends one record, starting a new message when this one is full. `node` (with `zone`)
    /// lets the owner be compressed.
    pub fn push(&mut self, zone: Option<&Zone>, node: u32, rr: &Rr<'_>) {
        if self.messages == 0 && self.start == 0 && self.buf.is_empty() {
            self.begin();
        }
        let mark = self.buf.len();
        self.write(zone, node, rr);
        if self.buf.len() - self.start <= self.limit {
            self.answers += 1;
            return;
        }
        // Full: take the record back out (and forget names it placed) and send it in the next
        // message.
        self.buf.truncate(mark);
        self.generation += 1;
        if self.answers == 0 {
            self.oversized = true;
            return;
        }
        self.end();
        self.begin();
        self.write(zone, node, rr);
        if self.buf.len() - self.start > self.limit {
            self.oversized = true;
        }
        self.answers += 1;
    }

    /// Ends the last message; returns the stream.
    pub fn finish(mut self) -> Vec<u8> {
        if self.buf.is_empty() {
            self.begin();
        }
        self.end();
        self.buf
    }

    fn write(&mut self, zone: Option<&Zone>, node: u32, rr: &Rr<'_>) {
        match zone {
            Some(z) if node != NONE => self.owner_by_node(z, node),
            _ => self.buf.extend_from_slice(&rr.owner),
        }
        self.buf.extend_from_slice(&rr.rtype.to_be_bytes());
        self.buf.extend_from_slice(&types::CLASS_IN.to_be_bytes());
        self.buf.extend_from_slice(&rr.ttl.to_be_bytes());
        self.buf
            .extend_from_slice(&(rr.rdata.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(&rr.rdata);
    }

    fn owner_by_node(&mut self, zone: &Zone, node: u32) {
        if self.stamp.len() < zone.nodes.len() {
            self.stamp.resize(zone.nodes.len(), 0);
            self.offset.resize(zone.nodes.len(), 0);
        }
        if self.messages == 0 && self.stamp[APEX as usize] != self.generation {
            // The question's name is the apex, right after the header of the first message.
            self.stamp[APEX as usize] = self.generation;
            self.offset[APEX as usize] = 12;
        }
        let mut n = node;
        loop {
            if self.stamp[n as usize] == self.generation {
                let ptr = 0xC000 | self.offset[n as usize];
                self.buf.extend_from_slice(&ptr.to_be_bytes());
                return;
            }
            let at = self.buf.len() - self.start;
            let name = zone.name(zone.node(n));
            if n == APEX {
                self.buf.extend_from_slice(name);
            } else {
                let label = name[0] as usize;
                self.buf.extend_from_slice(&name[..1 + label]);
            }
            if at < 0x3FFF {
                self.stamp[n as usize] = self.generation;
                self.offset[n as usize] = at as u16;
            }
            if n == APEX {
                return;
            }
            n = zone.node(n).parent;
        }
    }
}

/// A full zone: SOA, every other record, SOA (RFC 5936 §2.2).
/// With `full`, the policy records too (`records`).
pub fn axfr(stream: &mut MessageStream, zone: &Zone, lbs: &[LoadBalancer], full: bool) {
    let soa = records::soa(zone);
    stream.push(Some(zone), APEX, &soa);
    records::for_each(zone, lbs, full, |node, rr| {
        stream.push(Some(zone), node, &rr)
    });
    stream.push(Some(zone), APEX, &soa);
}

/// The steps between the client's version and ours (RFC 1995 §4): our SOA, then per step the
/// old SOA and what left, the new SOA and what came, and our SOA again.
/// Without `full`, the policy records are left out of the steps.
pub fn ixfr(stream: &mut MessageStream, zone: &Zone, steps: &[Arc<Change>], full: bool) {
    let soa = records::soa(zone);
    stream.push(Some(zone), APEX, &soa);
    let keep = |r: &&Rr<'static>| full || r.rtype != types::POLICYDNS;
    for c in steps {
        stream.push(None, NONE, &c.old_soa);
        c.removed
            .iter()
            .filter(keep)
            .for_each(|r| stream.push(None, NONE, r));
        stream.push(None, NONE, &c.new_soa);
        c.added
            .iter()
            .filter(keep)
            .for_each(|r| stream.push(None, NONE, r));
    }
    stream.push(Some(zone), APEX, &soa);
}

/// Only our SOA: the client is up to date (RFC 1995 §2), or must come back over TCP.
pub fn soa_only(stream: &mut MessageStream, zone: &Zone) {
    stream.push(Some(zone), APEX, &records::soa(zone));
}
