//! A bounded, seeded fuzz run on the stable toolchain (proptest), as CI's stand-in for the
//! cargo-fuzz targets in `fuzz/` (which need libFuzzer and run by hand, see docs/design.md). The
//! properties are the same functions the fuzz targets call, in `policydns::fuzzing`: no
//! panic, responses decode, the ID is echoed, UDP stays within 4096 octets, TCP framing is
//! exact.

use policydns::fuzzing::{
    check_packet_answer, check_transfer_request, check_zone_parse, demo_snapshot,
    demo_transfer_control, DEMO_TRANSFER_KEY as KEY,
};
use policydns::snapshot::Snapshot;
use policydns::transfer::{tsig, Control};
use proptest::prelude::*;
use std::sync::OnceLock;

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(demo_snapshot)
}

/// Transfers allowed from loopback and to holders of `KEY`, for the demo zone.
fn control() -> &'static Control {
    static C: OnceLock<Control> = OnceLock::new();
    C.get_or_init(demo_transfer_control)
}

/// The answer path's property (`policydns::fuzzing::check_packet_answer`).
fn check_packet(data: &[u8]) {
    check_packet_answer(snapshot(), data);
}

/// The transfer side's property (`policydns::fuzzing::check_transfer_request`).
fn check_control(data: &[u8]) {
    check_transfer_request(snapshot(), control(), data);
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
        check_zone_parse(&text);
    }
}
