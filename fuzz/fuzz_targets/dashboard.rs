#![no_main]
//! Fuzz target: `billing_fuzz::checks::dashboard` (scripts/fuzz.sh dashboard SECONDS).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = billing_fuzz::checks::dashboard(data);
});
