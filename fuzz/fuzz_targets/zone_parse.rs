//! Any text as a master file: parsing and compiling must end in a zone or an error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policydns::fuzzing::parse_and_compile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_and_compile(text);
    }
});
