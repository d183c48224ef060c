//! Any bytes as a control message (a transfer request, a NOTIFY, a TSIG-signed query), over
//! UDP and TCP: the transfer side must not panic, and every reply must decode and be framed
//! exactly (`policydns::fuzzing::check_transfer_request`, the property `tests/fuzz_smoke.rs`
//! checks too).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use policydns::fuzzing::{check_transfer_request, demo_snapshot, demo_transfer_control};
use policydns::snapshot::Snapshot;
use policydns::transfer::Control;

fn fixtures() -> &'static (Snapshot, Control) {
    static S: OnceLock<(Snapshot, Control)> = OnceLock::new();
    S.get_or_init(|| (demo_snapshot(), demo_transfer_control()))
}

fuzz_target!(|data: &[u8]| {
    let (snapshot, control) = fixtures();
    check_transfer_request(snapshot, control, data);
});
