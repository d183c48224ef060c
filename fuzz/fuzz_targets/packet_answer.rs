//! Any bytes as a query, over UDP and TCP: the answer path must not panic, must stay within the
//! size it may use, and whatever it sends must be a DNS message hickory-proto can decode.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use policydns::answer::{respond, Snapshot, Transport, MAX_MESSAGE};
use policydns::fuzzing::demo_snapshot;

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(demo_snapshot)
}

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; MAX_MESSAGE];
    for t in [Transport::Udp, Transport::Tcp] {
        let n = respond(snapshot(), data, t, &mut out);
        if n == 0 {
            continue;
        }
        if t == Transport::Udp {
            assert!(n <= 4096, "UDP response of {n} octets");
        }
        hickory_proto::op::Message::from_vec(&out[..n]).expect("our response decodes");
        assert_eq!(&out[..2], &data[..2], "ID echoed");
    }
});
