#![no_main]
//! Fuzz target: `billing_fuzz::checks::parser` (scripts/fuzz.sh parser SECONDS).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = billing_fuzz::checks::parser(data);
});
