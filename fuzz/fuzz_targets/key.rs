#![no_main]
//! Fuzz target: see `kith::fuzzing::key`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kith::fuzzing::key(data));
