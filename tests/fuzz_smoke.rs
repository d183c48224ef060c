//! A bounded, seeded fuzz run on the stable toolchain (proptest), as CI's stand-in for the
//! cargo-fuzz targets in `fuzz/` (which need libFuzzer and run by hand, see README). Same
//! properties: no panic, responses decode, the ID is echoed, UDP stays within 4096 octets.

use hickory_proto::op::Message;
use policydns::answer::{respond, Snapshot, Transport, MAX_MESSAGE};
use policydns::fuzzing::{demo_snapshot, parse_and_compile};
use policydns::server::packet;
use policydns::transfer::{client, tsig, Acl, Control, Settings, ZoneTransfer};
use proptest::prelude::*;
use std::sync::OnceLock;

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(demo_snapshot)
}

fn check_packet(data: &[u8]) {
    let mut out = vec![0u8; MAX_MESSAGE];
    for t in [Transport::Udp, Transport::Tcp] {
        let n = respond(snapshot(), data, t, &mut out);
        if n == 0 {
            continue;
        }
        if t == Transport::Udp {
            assert!(n <= 4096);
        }
        Message::from_vec(&out[..n]).expect("response decodes");
        assert_eq!(&out[..2], &data[..2]);
    }
}

const KEY: &str = "k:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0";

/// Transfers allowed from loopback and to holders of `KEY`, for the demo zone.
fn control() -> &'static Control {
    static C: OnceLock<Control> = OnceLock::new();
    C.get_or_init(|| {
        let mut keys = tsig::KeyRing::default();
        let key = tsig::Key::parse_spec(KEY).unwrap();
        let key_name = key.name.clone();
        keys.insert(key);
        let zone = ZoneTransfer {
            allow: vec![Acl::parse("127.0.0.1").unwrap(), Acl::Key(key_name)],
            ..Default::default()
        };
        Control::new(Settings {
            keys,
            zones: [(b"\x07example\x04test\x00".to_vec(), zone)]
                .into_iter()
                .collect(),
            state_dir: None,
        })
    })
}

/// The transfer side: no panic, every message of a TCP stream and every UDP reply decodes,
/// and whatever a transfer client or TSIG reader is handed is read without a panic.
fn check_control(data: &[u8]) {
    let _ = tsig::find(data);
    let _ = client::answers(data);
    let peer = Some("127.0.0.1".parse().unwrap());
    if !packet::parse(data).is_control() {
        return;
    }
    let mut out = vec![0u8; 4096];
    let n = control().respond_udp(snapshot(), data, packet::parse(data), peer, &mut out);
    if n > 0 {
        Message::from_vec(&out[..n]).expect("UDP control reply decodes");
    }
    if let Some(stream) = control().respond_tcp(snapshot(), data, packet::parse(data), peer) {
        let mut at = 0;
        while at + 2 <= stream.len() {
            let len = u16::from_be_bytes([stream[at], stream[at + 1]]) as usize;
            let msg = &stream[at + 2..at + 2 + len];
            Message::from_vec(msg).expect("TCP control message decodes");
            assert_eq!(&msg[..2], &data[..2]);
            at += 2 + len;
        }
        assert_eq!(at, stream.len(), "framing covers the stream");
    }
}

/// A transfer request, NOTIFY or signed query for the demo zone, to mutate.
fn seed_control() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        prop::sample::select(vec![252u16, 251, 6, 1]),
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(|(id, qtype, notify, signed, serial)| {
            let opcode: u16 = if notify { 4 << 11 } else { 0 };
            let ixfr = qtype == 251;
            let mut p = id.to_be_bytes().to_vec();
            p.extend_from_slice(&opcode.to_be_bytes());
            p.extend_from_slice(&[0, 1, 0, 0, 0, ixfr as u8, 0, 0]);
            p.extend_from_slice(b"\x07example\x04test\x00");
            p.extend_from_slice(&qtype.to_be_bytes());
            p.extend_from_slice(&[0, 1]);
            if ixfr {
                p.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]);
                p.extend_from_slice(&serial.to_be_bytes());
                p.extend_from_slice(&[0; 16]);
            }
            if signed {
                tsig::sign_request(&tsig::Key::parse_spec(KEY).unwrap(), &mut p, tsig::now());
            }
            p
        })
}

/// A well-formed query for one of the interesting names, to mutate.
fn seed_query() -> impl Strategy<Value = Vec<u8>> {
    let names = prop::sample::select(vec![
        &b"\x03www\x07example\x04test\x00"[..],
        b"\x05alias\x07example\x04test\x00",
        b"\x01x\x04apps\x07example\x04test\x00",
        b"\x01x\x03lab\x07example\x04test\x00",
        b"\x04host\x03old\x07example\x04test\x00",
        b"\x04deep\x01a\x01b\x01c\x07example\x04test\x00",
        b"\x01q\x01w\x03new\x07example\x04test\x00",
        b"\x04loop\x03new\x07example\x04test\x00",
        b"\x07example\x04test\x00",
        b"\x07version\x04bind\x00",
    ]);
    (
        any::<u16>(),
        any::<u16>(),
        names,
        any::<u16>(),
        prop::option::of((
            any::<u16>(),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..24),
        )),
    )
        .prop_map(|(id, flags, name, qtype, opt)| {
            let mut p = id.to_be_bytes().to_vec();
            p.extend_from_slice(&(flags & 0x7FFF).to_be_bytes());
            p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8]);
            p.extend_from_slice(name);
            p.extend_from_slice(&qtype.to_be_bytes());
            p.extend_from_slice(&[0, 1]);
            if let Some((payload, ttl, rdata)) = opt {
                p.extend_from_slice(&[0, 0, 41]);
                p.extend_from_slice(&payload.to_be_bytes());
                p.extend_from_slice(&ttl.to_be_bytes());
                p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                p.extend_from_slice(&rdata);
            }
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        check_packet(&data);
    }

    #[test]
    fn mutated_queries_never_panic((q, flips) in (seed_query(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4))) {
        let mut q = q;
        for (i, v) in flips {
            let at = i.index(q.len());
            q[at] = v;
        }
        check_packet(&q);
    }

    #[test]
    fn truncated_queries_never_panic((q, cut) in (seed_query(), any::<prop::sample::Index>())) {
        let at = cut.index(q.len() + 1);
        check_packet(&q[..at]);
    }

    #[test]
    fn mutated_transfer_requests_never_panic((q, flips) in (seed_control(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4))) {
        let mut q = q;
        for (i, v) in flips {
            let at = i.index(q.len());
            q[at] = v;
        }
        check_control(&q);
    }

    #[test]
    fn truncated_transfer_requests_never_panic((q, cut) in (seed_control(), any::<prop::sample::Index>())) {
        let at = cut.index(q.len() + 1);
        check_control(&q[..at]);
    }

    #[test]
    fn random_bytes_never_panic_the_transfer_side(data in prop::collection::vec(any::<u8>(), 0..600)) {
        check_control(&data);
    }

    #[test]
    fn zone_text_never_panics(text in "(\\$TTL [0-9]{1,4}\n|@ SOA ns hm [0-9] 1 1 1 1\n|@ NS ns\n|[a-z*]{1,3}( [0-9]{1,3})? (IN )?(A|AAAA|CNAME|MX|TXT|DNAME|SRV|NS|TYPE[0-9]{1,5}) [ -~]{0,20}\n|\\(|\\)|;[a-z ]*\n|\"[a-z\\\\]{0,5}\"|\\\\# [0-9] [0-9A-F]{0,8}\n){0,12}") {
        let _ = parse_and_compile(&text);
    }
}
