//! Fixtures and properties shared by the fuzz targets (`fuzz/`) and the stable-toolchain fuzz
//! smoke test (`tests/fuzz_smoke.rs`). Not part of the server.
//!
//! Each property is stated once here, as a `check_*` function that panics with a message
//! saying what failed; the cargo-fuzz targets and the proptest run call the same functions.

use std::path::Path;
use std::sync::Arc;

use hickory_proto::op::Message;

use crate::answer::respond;
use crate::snapshot::{Options, Snapshot};
use crate::transfer::{client, tsig, Acl, Control, Settings, ZoneTransfer};
use crate::wire::{name, packet, Transport, MAX_MESSAGE};
use crate::zone::{parse, Catalog, LoadError, Zone};

/// The shipped demo zone plus a second zone, so chains cross zones.
pub fn demo_snapshot() -> Snapshot {
    let zones = [
        ("example.test.", include_str!("../zones/example.test.zone")),
        (
            "new.example.test.",
            "$TTL 60\n@ SOA ns1.example.test. hm 1 1 1 1 1\n@ NS ns1.example.test.\nhost A 192.0.2.71\n*.w CNAME host\nloop CNAME loop.new.example.test.\n",
        ),
    ];
    let zones = zones
        .iter()
        .map(|(origin, text)| Arc::new(compile(origin, text).expect("fixture zones load").0))
        .collect();
    Snapshot {
        catalog: Catalog::new(zones),
        options: Options {
            nsid: Some(b"fuzz".to_vec().into()),
            identity: Some(b"fuzz".to_vec().into()),
            ..Options::default()
        },
        ..Snapshot::default()
    }
}

fn compile(origin: &str, text: &str) -> Result<(Zone, Vec<String>), LoadError> {
    let o = name::from_text(origin, None).expect("valid origin");
    let recs = parse::parse_str(text, &o, Path::new("fuzz.zone"))?;
    Zone::compile(&o, recs)
}

/// Parses and compiles master-file text under `example.test.`. `$INCLUDE` is refused here so
/// that fuzz input cannot make the parser read files of this machine.
pub fn parse_and_compile(text: &str) -> Result<(), LoadError> {
    if text.to_ascii_uppercase().contains("$INCLUDE") {
        return Ok(());
    }
    compile("example.test.", text).map(|_| ())
}

/// The largest UDP response the answer path may send (our advertised EDNS payload ceiling).
pub const MAX_UDP_RESPONSE: usize = 4096;

/// Any bytes as a query, answered over UDP and over TCP from `snapshot`: the answer path must
/// not panic; when it answers, the response must decode with hickory-proto, echo the query's
/// ID, and over UDP be at most [`MAX_UDP_RESPONSE`] octets.
pub fn check_packet_answer(snapshot: &Snapshot, query: &[u8]) {
    let mut out = vec![0u8; MAX_MESSAGE];
    for t in [Transport::Udp, Transport::Tcp] {
        let n = respond(snapshot, query, t, &mut out);
        if n == 0 {
            continue;
        }
        if t == Transport::Udp {
            assert!(
                n <= MAX_UDP_RESPONSE,
                "UDP response of {n} octets (more than {MAX_UDP_RESPONSE})"
            );
        }
        if let Err(e) = Message::from_vec(&out[..n]) {
            panic!("our {t:?} response does not decode with hickory-proto: {e}");
        }
        assert_eq!(
            &out[..2],
            &query[..2],
            "{t:?} response does not echo the ID"
        );
    }
}

/// Any text as a master file under `example.test.`: parsing and compiling must end in a zone
/// or an error, never a panic.
pub fn check_zone_parse(text: &str) {
    let _ = parse_and_compile(text);
}

/// The TSIG key that [`demo_transfer_control`] accepts, as `name:algorithm:secret`.
pub const DEMO_TRANSFER_KEY: &str = "k:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0";

/// Transfer settings for the demo zone `example.test.`: transfers allowed from 127.0.0.1 and
/// to holders of [`DEMO_TRANSFER_KEY`].
pub fn demo_transfer_control() -> Control {
    let mut keys = tsig::KeyRing::default();
    let key = tsig::Key::parse_spec(DEMO_TRANSFER_KEY).expect("the demo key parses");
    let key_name = key.name.clone();
    keys.insert(key);
    let zone = ZoneTransfer {
        allow: vec![
            Acl::parse("127.0.0.1").expect("a valid ACL"),
            Acl::Key(key_name),
        ],
        ..Default::default()
    };
    Control::new(Settings {
        keys,
        zones: [(b"\x07example\x04test\x00".to_vec(), zone)]
            .into_iter()
            .collect(),
        view_zones: Default::default(),
        state_dir: None,
    })
}

/// Any bytes handed to the transfer side, from 127.0.0.1: the TSIG reader and the transfer
/// client's answer reader must not panic; for a control message (transfer request, NOTIFY),
/// a UDP reply must decode with hickory-proto, and a TCP reply must be a stream of exactly
/// framed messages that each decode and echo the request's ID.
pub fn check_transfer_request(snapshot: &Snapshot, control: &Control, request: &[u8]) {
    let _ = tsig::find(request);
    let _ = client::answers(request);
    let peer = Some("127.0.0.1".parse().expect("an address"));
    if !packet::parse(request).is_control() {
        return;
    }
    let mut out = vec![0u8; MAX_UDP_RESPONSE];
    let n = control.respond_udp(snapshot, request, packet::parse(request), peer, &mut out);
    if n > 0 {
        if let Err(e) = Message::from_vec(&out[..n]) {
            panic!("UDP control reply does not decode with hickory-proto: {e}");
        }
    }
    if let Some(stream) = control.respond_tcp(snapshot, request, packet::parse(request), peer) {
        let mut at = 0;
        while at + 2 <= stream.len() {
            let len = u16::from_be_bytes([stream[at], stream[at + 1]]) as usize;
            assert!(
                at + 2 + len <= stream.len(),
                "TCP frame at octet {at} claims {len} octets, the stream has {} left",
                stream.len() - at - 2
            );
            let msg = &stream[at + 2..at + 2 + len];
            if let Err(e) = Message::from_vec(msg) {
                panic!("TCP control message at octet {at} does not decode with hickory-proto: {e}");
            }
            assert_eq!(
                &msg[..2],
                &request[..2],
                "TCP control message at octet {at} does not echo the ID"
            );
            at += 2 + len;
        }
        assert_eq!(
            at,
            stream.len(),
            "TCP framing does not cover the stream exactly"
        );
    }
}
