//! Any bytes as a query, over UDP and TCP: the answer path must not panic, must stay within the
//! size it may use, and whatever it sends must be a DNS message hickory-proto can decode
//! (`policydns::fuzzing::check_packet_answer`, the property `tests/fuzz_smoke.rs` checks too).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use policydns::fuzzing::{check_packet_answer, demo_snapshot};
use policydns::snapshot::Snapshot;

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(demo_snapshot)
}

fuzz_target!(|data: &[u8]| {
    check_packet_answer(snapshot(), data);
});
