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
use crate::policy::load_balancer::LoadBalancer;
use crate::wire::packet::hflags;
use crate::wire::types;
use crate::zone::{Zone, APEX, NONE};

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
    /// An Extended DNS Error (RFC 8914) for the first message's OPT, with its text.
    pub ede: Option<u16>,
    pub ede_text: String,
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
        // Room left for the TSIG record at the end of each signed message.
        let room = signer.as_ref().map_or(0, ResponseSigner::room);
        MessageStream {
            buf: Vec::with_capacity(64 * 1024),
            framed,
            limit: max_size.min(MAX_MESSAGE).saturating_sub(room).max(12 + 1),
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
            ede: None,
            ede_text: String::new(),
        }
    }

    pub fn messages(&self) -> usize {
        self.messages
    }

    /// What this message's records may fill: the limit, less our OPT in the first message.
    fn room(&self) -> usize {
        let opt = if self.opt.is_some() && self.messages == 0 {
            11 + if self.ede.is_some() {
                6 + self.ede_text.len()
            } else {
                0
            }
        } else {
            0
        };
        self.limit.saturating_sub(opt)
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
            self.buf.extend_from_slice(&[0; 4]);
            match self.ede {
                Some(code) => {
                    let text = self.ede_text.as_bytes();
                    self.buf
                        .extend_from_slice(&(6 + text.len() as u16).to_be_bytes());
                    self.buf.extend_from_slice(&15u16.to_be_bytes());
                    self.buf
                        .extend_from_slice(&(2 + text.len() as u16).to_be_bytes());
                    self.buf.extend_from_slice(&code.to_be_bytes());
                    self.buf.extend_from_slice(text);
                }
                None => self.buf.extend_from_slice(&[0, 0]),
            }
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
        if self.buf.is_empty() {
            self.begin();
        }
        let mark = self.buf.len();
        self.write(zone, node, rr);
        if self.buf.len() - self.start <= self.room() {
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
        if self.buf.len() - self.start > self.room() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parse;
    use hickory_proto::op::Message;
    use hickory_proto::rr::RecordType;

    fn zone(records: usize) -> Zone {
        let mut text = String::from(
            "$ORIGIN big.test.\n$TTL 60\n@ SOA ns hm 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n",
        );
        for i in 0..records {
            text.push_str(&format!("h{i}.sub A 10.0.{}.{}\n", i / 256, i % 256));
        }
        let recs =
            parse::parse_str(&text, b"\x03big\x04test\x00", std::path::Path::new("t")).unwrap();
        Zone::compile(b"\x03big\x04test\x00", recs).unwrap().0
    }

    /// A stream answering a `qtype` question for big.test.
    fn stream(qtype: u16, framed: bool, max_size: usize) -> MessageStream {
        let mut question = b"\x03big\x04test\x00".to_vec();
        question.extend_from_slice(&qtype.to_be_bytes());
        question.extend_from_slice(&types::CLASS_IN.to_be_bytes());
        MessageStream::new(1, 0, &question, framed, max_size, None)
    }

    fn frames(stream: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let len = u16::from_be_bytes([stream[at], stream[at + 1]]) as usize;
            out.push(Message::from_vec(&stream[at + 2..at + 2 + len]).expect("message decodes"));
            at += 2 + len;
        }
        out
    }

    #[test]
    fn a_large_zone_is_split_into_messages_that_decode_with_soa_at_both_ends() {
        let z = zone(20_000);
        let mut s = stream(types::AXFR, true, 65535);
        axfr(&mut s, &z, &[], false);
        let msgs = frames(&s.finish());
        assert!(msgs.len() > 1);
        let all: Vec<_> = msgs.iter().flat_map(|m| m.answers.iter()).collect();
        assert_eq!(all.len(), 20_000 + 2 + 2); // SOA, NS, A for ns, the hosts, SOA
        assert_eq!(all.first().unwrap().record_type(), RecordType::SOA);
        assert_eq!(all.last().unwrap().record_type(), RecordType::SOA);
        assert!(
            msgs[1..].iter().all(|m| m.queries.is_empty()),
            "question in the first message only"
        );
    }

    #[test]
    fn owner_names_are_compressed_through_the_tree() {
        let z = zone(2_000);
        let mut s = stream(types::AXFR, true, 65535);
        axfr(&mut s, &z, &[], false);
        let bytes = s.finish();
        // Each host record costs its own label, a pointer and the fixed fields: ~ 25 octets,
        // where a full owner name alone would take 20.
        assert!(bytes.len() < 2_000 * 27, "{} octets", bytes.len());
        let names: Vec<String> = frames(&bytes)
            .iter()
            .flat_map(|m| m.answers.iter().map(|r| r.name.to_ascii()))
            .collect();
        assert!(names.contains(&"h1999.sub.big.test.".to_string()));
    }

    #[test]
    fn a_udp_limit_keeps_one_message_and_flags_what_does_not_fit() {
        let z = zone(100);
        let mut s = stream(types::IXFR, false, 512);
        axfr(&mut s, &z, &[], false);
        assert!(s.messages() > 0, "100 records do not fit 512 octets");
        let mut one = stream(types::IXFR, false, 512);
        soa_only(&mut one, &z);
        assert_eq!(one.messages(), 0);
        assert!(one.finish().len() <= 512);
    }
}
