#![no_main]
//! Fuzz target: see `kith::fuzzing::rules_file`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kith::fuzzing::rules_file(data));
