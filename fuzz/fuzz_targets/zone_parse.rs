//! Any text as a master file: parsing and compiling must end in a zone or an error, never a
//! panic (`policydns::fuzzing::check_zone_parse`, the property `tests/fuzz_smoke.rs` checks too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use policydns::fuzzing::check_zone_parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_zone_parse(text);
    }
});
