#![no_main]
//! Fuzz target: see `kith::fuzzing::text_values`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kith::fuzzing::text_values(data));
