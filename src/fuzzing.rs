//! Fixtures shared by the fuzz targets (`fuzz/`) and the stable-toolchain fuzz smoke test
//! (`tests/fuzz_smoke.rs`). Not part of the server.

use std::path::Path;
use std::sync::Arc;

use crate::answer::{Options, Snapshot};
use crate::zone::{name, parse, Catalog, LoadError, Zone};

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
