#![no_main]
//! Fuzz target: `billing_fuzz::checks::verifier` (scripts/fuzz.sh verifier SECONDS).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = billing_fuzz::checks::verifier(data);
});
