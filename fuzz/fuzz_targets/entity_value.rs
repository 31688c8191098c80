#![no_main]
//! Fuzz target: see `kith::fuzzing::entity_value`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kith::fuzzing::entity_value(data));
