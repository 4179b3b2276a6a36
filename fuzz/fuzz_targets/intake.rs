#![no_main]
//! Fuzz target: `billing_fuzz::checks::intake` (scripts/fuzz.sh intake SECONDS).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = billing_fuzz::checks::intake(data);
});
